//! A remote OpenAI-compatible server (vLLM, llama.cpp server, TGI) as a
//! [`Generator`]: a GPU fleet serves the large model while glrl replicas
//! stay stateless. Candidates through `n` (topped up with further
//! requests when a server returns fewer), log-probabilities through
//! `logprobs`, grammars passed through (`grammar` for llama.cpp,
//! `guided_grammar` for vLLM), a timeout per request and retries with
//! exponential backoff on connection errors, 429 and 5xx.

use crate::backend::{Completion, Generator, Request};
use crate::generate::{FinishReason, LogitsProcessor};
use crate::tokenizer::chatml;
use crate::ModelError;
use serde_json::{json, Value};
use std::time::Duration;

/// Which endpoint to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// `/v1/completions` with the ChatML prompt built here: the same prompt
    /// text as the local backend, and the assistant prefix is honoured.
    #[default]
    Completions,
    /// `/v1/chat/completions`: the server applies its own chat template.
    Chat,
}

impl std::str::FromStr for Api {
    type Err = String;
    fn from_str(s: &str) -> Result<Api, String> {
        match s {
            "completions" => Ok(Api::Completions),
            "chat" => Ok(Api::Chat),
            _ => Err(format!("unknown API '{s}' (completions, chat)")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// e.g. `http://127.0.0.1:8000` (with or without `/v1`).
    pub base_url: String,
    /// The served model's name (`model` field); servers with one model
    /// usually accept anything.
    pub model: String,
    pub api: Api,
    pub api_key: Option<String>,
    pub timeout: Duration,
    /// Attempts after the first one.
    pub retries: u32,
    pub backoff: Duration,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            base_url: "http://127.0.0.1:8000".into(),
            model: "default".into(),
            api: Api::Completions,
            api_key: None,
            timeout: Duration::from_secs(120),
            retries: 3,
            backoff: Duration::from_millis(250),
        }
    }
}

pub struct Remote {
    config: RemoteConfig,
    client: reqwest::blocking::Client,
}

fn rerr(msg: impl Into<String>) -> ModelError {
    ModelError::Remote(msg.into())
}

impl Remote {
    pub fn new(config: RemoteConfig) -> Result<Remote, ModelError> {
        if !config.base_url.starts_with("http://") && !config.base_url.starts_with("https://") {
            return Err(rerr(format!(
                "remote URL '{}' must start with http:// or https://",
                config.base_url
            )));
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| rerr(format!("cannot build the HTTP client: {e}")))?;
        Ok(Remote { config, client })
    }

    fn url(&self, path: &str) -> String {
        let base = self.config.base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}/v1/{path}")
    }

    fn body(&self, req: &Request, n: usize, seed: u64) -> (String, Value) {
        let mut body = json!({
            "model": self.config.model,
            "n": n,
            "max_tokens": req.max_new_tokens,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "seed": seed,
        });
        if req.top_k > 0 {
            body["top_k"] = json!(req.top_k);
        }
        if !req.stop.is_empty() {
            body["stop"] = json!(req.stop);
        }
        if let Some(g) = &req.grammar {
            body["grammar"] = json!(g);
            body["guided_grammar"] = json!(g);
        }
        match self.config.api {
            Api::Completions => {
                let mut prompt = chatml(&req.messages, true);
                prompt.push_str(&req.assistant_prefix);
                body["prompt"] = json!(prompt);
                body["logprobs"] = json!(1);
                ("completions".into(), body)
            }
            Api::Chat => {
                let mut msgs: Vec<Value> = req
                    .messages
                    .iter()
                    .map(|m| json!({"role": m.role, "content": m.content}))
                    .collect();
                if !req.assistant_prefix.is_empty() {
                    msgs.push(json!({"role": "assistant", "content": req.assistant_prefix}));
                }
                body["messages"] = json!(msgs);
                body["logprobs"] = json!(true);
                ("chat/completions".into(), body)
            }
        }
    }

    /// POST with retries; returns the parsed JSON.
    fn post(&self, path: &str, body: &Value) -> Result<Value, ModelError> {
        let url = self.url(path);
        let mut delay = self.config.backoff;
        let mut last = String::new();
        for attempt in 0..=self.config.retries {
            if attempt > 0 {
                std::thread::sleep(delay);
                delay *= 2;
            }
            let mut rb = self.client.post(&url).json(body);
            if let Some(k) = &self.config.api_key {
                rb = rb.bearer_auth(k);
            }
            match rb.send() {
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().unwrap_or_default();
                    if status.is_success() {
                        return serde_json::from_str(&text).map_err(|e| {
                            rerr(format!(
                                "{url} answered with invalid JSON ({e}): {}",
                                clip(&text)
                            ))
                        });
                    }
                    last = format!("{url} answered {status}: {}", clip(&text));
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(rerr(last));
                    }
                }
                Err(e) if e.is_timeout() => {
                    last = format!("{url} did not answer within {:?}", self.config.timeout)
                }
                Err(e) => last = format!("cannot reach {url}: {e}"),
            }
        }
        Err(rerr(format!(
            "{last} (gave up after {} attempts)",
            self.config.retries + 1
        )))
    }
}

fn clip(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// The choices of a completions or chat response, in `index` order.
fn parse(v: &Value, api: Api, prefix: &str) -> Result<Vec<Completion>, ModelError> {
    let choices = v["choices"].as_array().ok_or_else(|| {
        rerr(format!(
            "response without choices: {}",
            clip(&v.to_string())
        ))
    })?;
    let mut out: Vec<(u64, Completion)> = Vec::with_capacity(choices.len());
    for (i, c) in choices.iter().enumerate() {
        let (text, logprobs) = match api {
            Api::Completions => (
                c["text"].as_str(),
                c["logprobs"]["token_logprobs"].as_array().map(|a| {
                    a.iter()
                        .filter_map(Value::as_f64)
                        .map(|x| x as f32)
                        .collect::<Vec<_>>()
                }),
            ),
            Api::Chat => (
                c["message"]["content"].as_str(),
                c["logprobs"]["content"].as_array().map(|a| {
                    a.iter()
                        .filter_map(|t| t["logprob"].as_f64())
                        .map(|x| x as f32)
                        .collect::<Vec<_>>()
                }),
            ),
        };
        let text =
            text.ok_or_else(|| rerr(format!("choice without text: {}", clip(&c.to_string()))))?;
        let finish = match c["finish_reason"].as_str() {
            Some("length") => FinishReason::Length,
            _ => FinishReason::Stop,
        };
        out.push((
            c["index"].as_u64().unwrap_or(i as u64),
            Completion {
                text: format!("{prefix}{text}"),
                logprobs: logprobs.unwrap_or_default(),
                finish,
            },
        ));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, c)| c).collect())
}

impl Generator for Remote {
    fn describe(&self) -> String {
        format!("remote {} ({})", self.config.base_url, self.config.model)
    }

    fn complete(
        &self,
        req: &Request,
        processor: Option<&mut dyn LogitsProcessor>,
    ) -> Result<Vec<Completion>, ModelError> {
        if processor.is_some() && req.grammar.is_none() {
            return Err(rerr(
                "a remote server cannot run a local logits processor; pass the constraint as a grammar",
            ));
        }
        let n = req.n.max(1);
        let mut out = Vec::with_capacity(n);
        // A server samples all choices alike: the greedy one is its own request.
        if req.greedy_first && n > 1 && req.temperature > 0.0 {
            let greedy = Request {
                n: 1,
                temperature: 0.0,
                greedy_first: false,
                ..req.clone()
            };
            let rest = Request {
                n: n - 1,
                greedy_first: false,
                ..req.clone()
            };
            let mut out = self.complete(&greedy, None)?;
            out.extend(self.complete(&rest, None)?);
            return Ok(out);
        }
        // Servers that ignore `n` return one choice: ask again, each time
        // with another seed, until there are n.
        for round in 0..n {
            let want = n - out.len();
            let (path, body) = self.body(req, want, req.seed.wrapping_add(round as u64 * 1_000));
            let v = self.post(&path, &body)?;
            let got = parse(&v, self.config.api, &req.assistant_prefix)?;
            if got.is_empty() {
                return Err(rerr(format!("{} returned no choices", self.url(&path))));
            }
            out.extend(got.into_iter().take(want));
            if out.len() >= n {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_apis_in_index_order() {
        let v = json!({"choices": [
            {"index": 1, "text": " 2", "finish_reason": "length", "logprobs": {"token_logprobs": [-0.5]}},
            {"index": 0, "text": " 1", "finish_reason": "stop", "logprobs": {"token_logprobs": [-0.1, -0.2]}}
        ]});
        let c = parse(&v, Api::Completions, "SELECT").unwrap();
        assert_eq!(c[0].text, "SELECT 1");
        assert_eq!(c[0].logprobs, vec![-0.1, -0.2]);
        assert_eq!(c[1].finish, FinishReason::Length);
        let v = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
            "finish_reason": "stop", "logprobs": {"content": [{"token": "hi", "logprob": -0.3}]}}]});
        let c = parse(&v, Api::Chat, "").unwrap();
        assert_eq!(
            (c[0].text.as_str(), c[0].logprobs.as_slice()),
            ("hi", &[-0.3f32][..])
        );
        assert!(parse(&json!({"error": "x"}), Api::Chat, "").is_err());
    }

    #[test]
    fn unreachable_servers_fail_clearly_after_retries() {
        // A port nothing listens on: connection refused at once.
        let r = Remote::new(RemoteConfig {
            base_url: "http://127.0.0.1:9/v1".into(),
            retries: 2,
            backoff: Duration::from_millis(1),
            ..RemoteConfig::default()
        })
        .unwrap();
        let err = r
            .complete(&Request::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot reach http://127.0.0.1:9/v1/completions"),
            "{err}"
        );
        assert!(err.contains("3 attempts"), "{err}");
        assert!(Remote::new(RemoteConfig {
            base_url: "localhost:8000".into(),
            ..RemoteConfig::default()
        })
        .is_err());
    }
}
