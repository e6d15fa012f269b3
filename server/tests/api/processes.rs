//! Real server processes (the `server` binary) on private ports, for what must be checked
//! across process boundaries: several processes on one SQLite file share nothing but the
//! file and its write marks. Requests go over TCP, one connection each, through a small
//! hand-written HTTP/1.1 client (answers read with `httparse`, already in the tree through
//! hyper): enabling hyper's client features for the tests instead would change hyper's
//! feature set and rebuild it and everything above it (axum, Leptos, the server).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::TestResponse;

/// One running `server` process.
pub struct ServerProcess {
    binary: PathBuf,
    child: Option<Child>,
    pub addr: SocketAddr,
    env: Vec<(String, String)>,
    log: PathBuf,
}

/// A port nobody listens on right now (the kernel's choice; released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

/// The environment every process of a test shares: its data directory (the SQLite file and
/// the write marks beside it), a test clock, and `settings`.
pub fn environment(dir: &Path, settings: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("VIGIL_DATA_DIR".into(), dir.display().to_string()),
        ("VIGIL_TEST_CLOCK".into(), "1".into()),
        ("RUST_LOG".into(), "warn".into()),
    ];
    env.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    env
}

impl ServerProcess {
    /// Starts a process and waits until it answers `/health/live`.
    pub async fn start(env: &[(String, String)], log: PathBuf) -> Self {
        Self::start_binary(env!("CARGO_BIN_EXE_server").into(), env, log).await
    }

    /// As [`ServerProcess::start`], with the server binary at `binary` (a release's layout).
    pub async fn start_binary(binary: PathBuf, env: &[(String, String)], log: PathBuf) -> Self {
        let mut process = Self {
            binary,
            child: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            env: env.to_vec(),
            log,
        };
        process.spawn().await;
        process
    }

    async fn spawn(&mut self) {
        self.addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("a log file");
        let child = Command::new(&self.binary)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("VIGIL_LISTEN_ADDR", self.addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the server binary starts");
        self.child = Some(child);
        for _ in 0..400 {
            if let Ok(live) = self.send(Method::GET, "/health/live", None, &[]).await {
                if live.status == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!(
            "the server process did not come up on {}:\n{log}",
            self.addr
        );
    }

    /// Stops the process (SIGKILL: nothing is flushed on the way out) and starts it again
    /// with the same environment.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One request over a connection of its own.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> std::io::Result<TestResponse> {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str("Content-Type: application/json\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        if let Some(body) = body {
            stream.write_all(body.as_bytes()).await?;
        }
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        parse(&raw).ok_or_else(|| std::io::Error::other("an unreadable HTTP answer"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads an HTTP/1.1 answer: status, headers, and a body sized by `Content-Length`, chunked,
/// or running to the end of the connection.
fn parse(raw: &[u8]) -> Option<TestResponse> {
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(head_len) = response.parse(raw).ok()? else {
        return None;
    };
    let status = StatusCode::from_u16(response.code?).ok()?;
    let mut headers = HeaderMap::new();
    for field in response.headers.iter() {
        headers.append(
            HeaderName::from_bytes(field.name.as_bytes()).ok()?,
            HeaderValue::from_bytes(field.value).ok()?,
        );
    }
    let rest = &raw[head_len..];
    let chunked = headers
        .get(http::header::TRANSFER_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
    let bytes = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Some(TestResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

/// Runs a command of the server binary (`user add`, …) with `env`, `input` on its standard
/// input; panics with its output when it fails.
pub fn command(env: &[(String, String)], args: &[&str], input: &str) {
    let output = run_command(env, args, input);
    assert!(
        output.status.success(),
        "server {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs a command of the server binary and answers how it ended and what it printed.
pub fn run_command(env: &[(String, String)], args: &[&str], input: &str) -> std::process::Output {
    run_binary(Path::new(env!("CARGO_BIN_EXE_server")), env, args, input)
}

/// As [`run_command`], with the server binary at `binary`.
pub fn run_binary(
    binary: &Path,
    env: &[(String, String)],
    args: &[&str],
    input: &str,
) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary runs");
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).expect("input");
    }
    child.wait_with_output().expect("it ends")
}
