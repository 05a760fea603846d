"""GRPO of Qwen2.5-Coder-7B with TRL, the scale-out twin of `glrl train grpo`.

Reward: execution of the candidate's SQL (after </think>) on the demo
database against the gold query's rows (multiset, column order free) plus
a small format term; glrl's Reward Evaluator stays the reference scorer
(`glrl eval`), this keeps the cluster job free of a Rust toolchain.

    pip install "trl>=0.25" peft transformers datasets pyyaml
    glrl train export --out data && glrl demo-db --out demo/erp.db
    accelerate launch recipes/trl/grpo.py recipes/trl/grpo.yaml
"""
import re
import sqlite3
import sys
from collections import Counter

import yaml
from datasets import load_dataset
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer

cfg = yaml.safe_load(open(sys.argv[1]))
db = sqlite3.connect(f"file:{cfg['database']}?mode=ro", uri=True)


def rows(sql):
    try:
        cur = db.execute(sql)
        return Counter(tuple(sorted(map(str, r))) for r in cur.fetchmany(10000))
    except sqlite3.Error:
        return None


def sql_of(text):
    after = text.split("</think>", 1)[1] if "</think>" in text else ""
    return after.strip().strip("`").removeprefix("sql").strip().rstrip(";")


def execution_reward(completions, gold_sql, **_):
    out = []
    for c, gold in zip(completions, gold_sql):
        text = c[0]["content"] if isinstance(c, list) else c
        sql = sql_of(text)
        fmt = 0.1 if re.match(r"^<think>.+</think>\s*(SELECT|WITH)", text, re.S) else 0.0
        got, want = rows(sql) if sql else None, rows(gold)
        out.append(fmt + (0.9 if got is not None and got == want else 0.0))
    return out


tok = AutoTokenizer.from_pretrained(cfg["model_name_or_path"])
model = AutoModelForCausalLM.from_pretrained(cfg["model_name_or_path"], torch_dtype="bfloat16")
model = PeftModel.from_pretrained(model, cfg["sft_adapter"], is_trainable=True)
data = load_dataset("json", data_files=cfg["data_files"], split="train")
args = GRPOConfig(
    output_dir=cfg["output_dir"],
    learning_rate=cfg["learning_rate"],
    beta=cfg["beta"],
    epsilon=cfg["epsilon"],
    num_generations=cfg["num_generations"],
    temperature=cfg["temperature"],
    max_completion_length=cfg["max_completion_length"],
    max_steps=cfg["max_steps"],
    per_device_train_batch_size=cfg["per_device_train_batch_size"],
    gradient_accumulation_steps=cfg["gradient_accumulation_steps"],
    bf16=cfg["bf16"],
    seed=cfg["seed"],
    logging_steps=cfg["logging_steps"],
    save_steps=cfg["save_steps"],
    report_to="none",
)
GRPOTrainer(model=model, args=args, train_dataset=data, reward_funcs=[execution_reward],
            processing_class=tok).train()
model.save_pretrained(cfg["output_dir"])
