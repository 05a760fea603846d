//! Generation on the real embedded model: greedy equals the reference
//! greedy path, sampling is reproducible under a seed, candidates share
//! the prompt, the logits-processor hook constrains output, stop tokens and
//! sequences end candidates, and tokens stream as they are chosen.

use candle_core::Device;
mod common;

use glrl_model::generate::{
    generate, Candidate, FinishReason, GenerateOptions, LogitsProcessor, NoProcessor,
};
use glrl_model::llama::{greedy, Llama};
use glrl_model::tokenizer::{chatml, ChatMessage, Tokenizer};
use std::sync::OnceLock;

fn model() -> Option<&'static (Llama, Tokenizer)> {
    let path = common::embedded()?;
    static M: OnceLock<(Llama, Tokenizer)> = OnceLock::new();
    Some(M.get_or_init(|| {
        (
            Llama::from_gguf_file(&path, &Device::Cpu).unwrap(),
            Tokenizer::from_gguf_file(&path).unwrap(),
        )
    }))
}

fn prompt(tok: &Tokenizer, q: &str) -> Vec<u32> {
    tok.encode(&chatml(&[ChatMessage::new("user", q)], true))
        .unwrap()
}

#[test]
fn greedy_sampling_and_stops() {
    let Some((m, tok)) = model() else { return };
    let ids = prompt(
        tok,
        "Write a SQL query that counts the rows of table PROJECTS.",
    );
    let opts = GenerateOptions {
        max_new_tokens: 12,
        ..GenerateOptions::default()
    };
    let mut streamed = Vec::new();
    let g = generate(m, &ids, &opts, &mut NoProcessor, &mut |c, t| {
        streamed.push((c, t))
    })
    .unwrap();
    assert_eq!(g[0].tokens, greedy(m, &ids, 12, None).unwrap());
    assert_eq!(g[0].finish, FinishReason::Length);
    assert!(g[0].logprobs.iter().all(|l| l.is_finite() && *l <= 0.0));
    assert_eq!(
        streamed.iter().map(|(_, t)| *t).collect::<Vec<_>>(),
        g[0].tokens
    );

    // Seeded sampling: reproducible, and the candidates differ.
    let s = GenerateOptions {
        max_new_tokens: 10,
        temperature: 1.0,
        top_p: 0.95,
        top_k: 50,
        seed: 3,
        n: 3,
        ..GenerateOptions::default()
    };
    let a = generate(m, &ids, &s, &mut NoProcessor, &mut |_, _| {}).unwrap();
    let b = generate(m, &ids, &s, &mut NoProcessor, &mut |_, _| {}).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.len(), 3);
    let distinct: std::collections::HashSet<&Vec<u32>> =
        a.iter().map(|c: &Candidate| &c.tokens).collect();
    assert!(
        distinct.len() >= 2,
        "three samples at T=1 should not all agree"
    );

    // The chat end token stops a candidate.
    let stop = GenerateOptions {
        max_new_tokens: 200,
        stop_tokens: tok.token_id("<|im_end|>").into_iter().collect(),
        ..GenerateOptions::default()
    };
    let c = generate(m, &ids, &stop, &mut NoProcessor, &mut |_, _| {}).unwrap();
    assert_eq!(
        c[0].finish,
        FinishReason::Stop,
        "{}",
        tok.decode(&c[0].tokens, false).unwrap()
    );
    // A stop sequence ends it and is left out.
    let seq = g[0].tokens[2..4].to_vec();
    let opts = GenerateOptions {
        max_new_tokens: 12,
        stop_sequences: vec![seq],
        ..GenerateOptions::default()
    };
    let d = generate(m, &ids, &opts, &mut NoProcessor, &mut |_, _| {}).unwrap();
    assert_eq!(d[0].tokens, g[0].tokens[..2].to_vec());
    assert_eq!(d[0].finish, FinishReason::Stop);
}

/// Allows digits, spaces and commas only.
struct DigitsOnly {
    allowed: Vec<bool>,
}

impl LogitsProcessor for DigitsOnly {
    fn process(&mut self, _: usize, _: &[u32], logits: &mut [f32]) {
        for (l, ok) in logits.iter_mut().zip(&self.allowed) {
            if !ok {
                *l = f32::NEG_INFINITY;
            }
        }
    }
}

#[test]
fn the_logits_hook_constrains_output() {
    let Some((m, tok)) = model() else { return };
    let allowed: Vec<bool> = (0..tok.vocab_size() as u32)
        .map(|id| {
            tok.decode(&[id], false).is_ok_and(|s| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_digit() || c == ' ' || c == ',')
            })
        })
        .collect();
    let ids = prompt(tok, "List some prime numbers.");
    let opts = GenerateOptions {
        max_new_tokens: 10,
        temperature: 0.8,
        seed: 1,
        n: 2,
        ..GenerateOptions::default()
    };
    for c in generate(
        m,
        &ids,
        &opts,
        &mut DigitsOnly {
            allowed: allowed.clone(),
        },
        &mut |_, _| {},
    )
    .unwrap()
    {
        let text = tok.decode(&c.tokens, false).unwrap();
        assert!(
            !text.is_empty()
                && text
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || ch == ' ' || ch == ','),
            "{text:?}"
        );
    }
}

/// The local backend's streamed text pieces, per candidate, concatenate
/// to the completion's text (assistant prefix included), and they come
/// while generation runs: the first piece of candidate 0 arrives before
/// the last token is chosen (shown by more pieces than candidates).
#[test]
fn local_backend_streams_text_that_adds_up_to_the_completion() {
    use glrl_model::backend::{Generator, Local, Request};
    let Some(path) = common::embedded() else {
        return;
    };
    let local = Local::new(
        Llama::from_gguf_file(&path, &Device::Cpu).unwrap(),
        Tokenizer::from_gguf_file(&path).unwrap(),
        "test",
    );
    let req = Request {
        messages: vec![ChatMessage::new(
            "user",
            "Write a SQL query over the table SRM_COMPANIES (Company_Code, Country) that lists the companies in Germany. Café, naïve.",
        )],
        assistant_prefix: "SELECT".into(),
        n: 3,
        max_new_tokens: 24,
        temperature: 0.9,
        seed: 11,
        greedy_first: true,
        ..Request::default()
    };
    let mut pieces: Vec<(usize, String)> = Vec::new();
    let out = local
        .complete_streaming(&req, None, &mut |c, t| pieces.push((c, t.to_string())))
        .unwrap();
    assert_eq!(out.len(), 3);
    for (i, c) in out.iter().enumerate() {
        let streamed: String = pieces
            .iter()
            .filter(|(k, _)| *k == i)
            .map(|(_, t)| t.as_str())
            .collect();
        assert_eq!(streamed, c.text, "candidate {i}");
        assert!(c.text.starts_with("SELECT"));
    }
    assert!(pieces.len() > 3 * 2, "{} pieces", pieces.len());
    // Without a listener the completions are the same.
    assert_eq!(local.complete(&req, None).unwrap(), out);
}
