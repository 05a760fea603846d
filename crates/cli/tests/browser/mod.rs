//! A headless Chromium driven over the DevTools protocol on a pipe
//! (`--remote-debugging-pipe`: commands in on fd 3, replies out on fd 4,
//! each a JSON message ended by a NUL byte).
//!
//! Why not `--dump-dom` with `--virtual-time-budget`: virtual time does not
//! wait for a streamed response body. The page was dumped as soon as the
//! stream's headers arrived, before its events, whenever the server wrote
//! them a moment later (a loaded CI machine). Here the test waits in real
//! time, with a deadline, for what the page must show.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How long one protocol call may take before the browser counts as hung.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Browser {
    child: Child,
    commands: std::io::PipeWriter,
    replies: Receiver<Value>,
    next_id: u64,
    session: String,
}

impl Browser {
    /// Starts Chromium on `url` and attaches to its page.
    pub fn open(chromium: &Path, profile: &Path, url: &str) -> Result<Browser, String> {
        let (child_in, commands) = std::io::pipe().map_err(|e| e.to_string())?;
        let (replies_out, child_out) = std::io::pipe().map_err(|e| e.to_string())?;
        let (fd_in, fd_out) = (child_in.as_raw_fd(), child_out.as_raw_fd());
        let mut cmd = Command::new(chromium);
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            "--window-size=1280,900",
            "--remote-debugging-pipe",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe calls between fork and exec. The
        // pipe ends are first moved above fd 10 so that placing one on fd 3
        // cannot overwrite the other; dup2 leaves 3 and 4 open across exec.
        unsafe {
            cmd.pre_exec(move || {
                let a = libc::fcntl(fd_in, libc::F_DUPFD, 10);
                let b = libc::fcntl(fd_out, libc::F_DUPFD, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("start {}: {e}", chromium.display()))?;
        // The child holds its own copies now; ours would keep the pipes open.
        drop((child_in, child_out));
        let (tx, replies) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut from = BufReader::new(replies_out);
            let mut buf = Vec::new();
            while from.read_until(0, &mut buf).is_ok_and(|n| n > 0) {
                buf.pop_if(|b| *b == 0);
                if let Ok(v) = serde_json::from_slice::<Value>(&buf) {
                    if tx.send(v).is_err() {
                        break;
                    }
                }
                buf.clear();
            }
        });
        let mut b = Browser {
            child,
            commands,
            replies,
            next_id: 0,
            session: String::new(),
        };
        let deadline = Instant::now() + CALL_TIMEOUT;
        let target = loop {
            let targets = b.call("Target.getTargets", json!({}), false)?;
            let page = targets["targetInfos"]
                .as_array()
                .and_then(|t| t.iter().find(|t| t["type"] == "page"))
                .and_then(|t| t["targetId"].as_str())
                .map(str::to_string);
            match page {
                Some(id) => break id,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                None => return Err("Chromium opened no page".into()),
            }
        };
        let attached = b.call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
            false,
        )?;
        b.session = attached["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no session in {attached}"))?
            .to_string();
        Ok(b)
    }

    /// One command; events that arrive before its reply are passed over.
    fn call(&mut self, method: &str, params: Value, on_page: bool) -> Result<Value, String> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if on_page {
            msg["sessionId"] = json!(self.session);
        }
        let mut bytes = serde_json::to_vec(&msg).map_err(|e| e.to_string())?;
        bytes.push(0);
        self.commands
            .write_all(&bytes)
            .map_err(|e| format!("{method}: Chromium is gone: {e}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.replies.recv_timeout(left) {
                Ok(v) if v["id"] == id => {
                    return match v.get("error") {
                        Some(e) => Err(format!("{method}: {e}")),
                        None => Ok(v["result"].clone()),
                    }
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => return Err(format!("{method}: no reply")),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(format!("{method}: Chromium closed its pipe"))
                }
            }
        }
    }

    /// The value of a JavaScript expression on the page.
    pub fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
            true,
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("{expression}: {e}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Waits until `condition` (a JavaScript expression) is true on the page.
    pub fn wait_for(&mut self, condition: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.eval(condition)? == json!(true) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("not true after {timeout:?}: {condition}"))
    }

    /// The page as HTML, as `--dump-dom` would print it.
    pub fn dom(&mut self) -> Result<String, String> {
        self.eval("document.documentElement.outerHTML")?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| "the page has no document".into())
    }

    /// A PNG of the viewport; returns its size in bytes.
    pub fn screenshot(&mut self, path: &Path) -> Result<usize, String> {
        use base64::Engine;
        let r = self.call("Page.captureScreenshot", json!({"format": "png"}), true)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap_or_default())
            .map_err(|e| e.to_string())?;
        std::fs::write(path, &png).map_err(|e| e.to_string())?;
        Ok(png.len())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.call("Browser.close", json!({}), false);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
