//! The scale-out path: the same prompts as JSONL in the conversational
//! formats Hugging Face TRL reads — prompt-completion for `SFTTrainer`,
//! prompt plus the gold SQL (passed to reward functions) for
//! `GRPOTrainer` — so a GPU cluster trains on exactly what glrl serves.

use glrl_dataset::Pair;
use glrl_query_generator::PromptBuilder;
use serde_json::{json, Value};

fn messages(builder: &PromptBuilder, p: &Pair) -> Value {
    let prompt = builder.build(&p.question, &[], Some(&p.id));
    Value::Array(
        prompt
            .messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect(),
    )
}

/// `{"id", "prompt": [messages], "completion": [assistant message]}`.
pub fn sft_record(builder: &PromptBuilder, p: &Pair) -> Value {
    json!({
        "id": p.id,
        "prompt": messages(builder, p),
        "completion": [{"role": "assistant", "content": PromptBuilder::target(&p.reasoning, &p.sql)}],
    })
}

/// `{"id", "prompt": [messages], "gold_sql", "difficulty"}`.
pub fn grpo_record(builder: &PromptBuilder, p: &Pair) -> Value {
    json!({
        "id": p.id,
        "prompt": messages(builder, p),
        "gold_sql": p.sql,
        "difficulty": p.difficulty,
    })
}
