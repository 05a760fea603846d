//! The remote backend against a real OpenAI-compatible server:
//! llama-cpp-python's server (llama.cpp, built by
//! scripts/fetch-llama-cpp.sh, which .ci/run calls) serving the same
//! SmolLM2 GGUF on loopback, started and stopped by the test.

mod common;

use glrl_model::backend::{Generator, Request};
use glrl_model::generate::FinishReason;
use glrl_model::remote::{Api, Remote, RemoteConfig};
use glrl_model::tokenizer::ChatMessage;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start() -> Option<(Server, String)> {
    let model = common::embedded()?;
    let Some(py) = common::llama_cpp_python() else {
        eprintln!("SKIPPED: llama-cpp-python is not built; run scripts/fetch-llama-cpp.sh");
        return None;
    };
    let port = free_port();
    let child = Command::new(py)
        .args([
            "-m",
            "llama_cpp.server",
            "--host",
            "127.0.0.1",
            "--n_threads",
            "2",
            "--n_ctx",
            "2048",
        ])
        .arg("--port")
        .arg(port.to_string())
        .arg("--model")
        .arg(&model)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start llama_cpp.server");
    let mut server = Server(child);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        // A server that died (a build for instructions this CPU lacks
        // dies of SIGILL at model load) is said at once, not after 90 s.
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!(
                "llama_cpp.server exited ({status}) before listening; \
                 rebuild it for this CPU with scripts/fetch-llama-cpp.sh"
            );
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((server, url));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("llama_cpp.server did not listen on {url} within 90 s");
}

fn ask(q: &str) -> Request {
    Request {
        messages: vec![
            ChatMessage::new("system", "You write SQLite SQL."),
            ChatMessage::new("user", q),
        ],
        max_new_tokens: 24,
        ..Request::default()
    }
}

#[test]
fn remote_server_candidates_logprobs_grammar_and_errors() {
    let Some((_server, url)) = start() else {
        return;
    };
    let remote = Remote::new(RemoteConfig {
        base_url: format!("{url}/v1"),
        ..RemoteConfig::default()
    })
    .unwrap();
    assert!(remote.describe().contains(&url));

    // Greedy, with the assistant turn pre-filled: the text keeps the prefix,
    // one log-prob per generated token.
    let req = Request {
        assistant_prefix: "SELECT".into(),
        ..ask("Count the rows of table PROJECTS.")
    };
    let c = remote.complete(&req, None).unwrap();
    assert_eq!(c.len(), 1);
    assert!(
        c[0].text.starts_with("SELECT") && c[0].text.len() > 6,
        "{:?}",
        c[0].text
    );
    assert!(!c[0].logprobs.is_empty() && c[0].logprobs.iter().all(|l| *l <= 0.0));

    // Candidates: n of them even though this server answers one per call.
    let req = Request {
        n: 3,
        temperature: 1.0,
        seed: 5,
        ..ask("Name a color.")
    };
    let c = remote.complete(&req, None).unwrap();
    assert_eq!(c.len(), 3);

    // Length limit is reported as such.
    let req = Request {
        max_new_tokens: 3,
        ..ask("Write a long essay about databases.")
    };
    assert_eq!(
        remote.complete(&req, None).unwrap()[0].finish,
        FinishReason::Length
    );

    // A grammar constrains the output (llama.cpp GBNF).
    let req = Request {
        grammar: Some(r#"root ::= "SELECT COUNT(*) FROM " [A-Z_]+ ";""#.into()),
        max_new_tokens: 20,
        ..ask("Count the suppliers.")
    };
    let text = &remote.complete(&req, None).unwrap()[0].text;
    let rest = text
        .strip_prefix("SELECT COUNT(*) FROM ")
        .unwrap_or_else(|| panic!("{text:?}"));
    assert!(
        rest.trim_end_matches(';')
            .chars()
            .all(|ch| ch.is_ascii_uppercase() || ch == '_'),
        "{text:?}"
    );

    // The chat endpoint works too.
    let chat = Remote::new(RemoteConfig {
        base_url: url.clone(),
        api: Api::Chat,
        ..RemoteConfig::default()
    })
    .unwrap();
    let c = chat.complete(&ask("Say hello."), None).unwrap();
    assert!(!c[0].text.is_empty());

    // A request the server rejects (longer than its context) is an error
    // that carries the server's answer.
    let req = ask(&"word ".repeat(3000));
    let err = remote.complete(&req, None).unwrap_err().to_string();
    assert!(err.contains("answered"), "{err}");
}
