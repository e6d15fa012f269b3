//! How soon an ending reaches the open pages, and what idle event streams cost (`make
//! bench`, bench/endings.sh; SPEC §9.3).
//!
//! Delay: one user holds N sessions, each with its event stream open on one of the three
//! instances in turn (as browsers behind a sticky balancer would be spread); another session
//! of the user signs out everywhere else through instance 3. The delay of each stream is from
//! that request leaving the client to the stream's `session_ended` arriving: what a page
//! waits for before it checks with the server and shows the modal (that check is one more
//! `session-info` round trip, well under a millisecond here). Rounds of N = 1, 10 and 100;
//! p50, p99 and the maximum over every stream of every round.
//!
//! Idle cost: instance 1 alone, first with no stream, then holding 1,000 open streams that
//! only receive the 20 s keep-alive: its resident memory, CPU time and context switches
//! (wake-ups) per second over the same window, read from /proc.
//!
//! Settings (environment): ENDINGS_PORT (haproxy's port; the instances listen on +11..+13),
//! ENDINGS_PASSWORD (of the accounts ends0…ends10), ENDINGS_PID (instance 1's pid file),
//! ENDINGS_IDLE_SECONDS (40, the window of each idle reading).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

type Http = Client<HttpConnector, Full<Bytes>>;
type StreamHttp = Client<HttpConnector, Empty<Bytes>>;

const COOKIE: &str = "__Host-vigil-session";
/// No stream may take longer than this to hear of its ending; past it the run fails.
const HEARD_WITHIN: Duration = Duration::from_secs(30);

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Bench {
    http: Http,
    streams: StreamHttp,
    port: u16,
    password: String,
}

impl Bench {
    fn instance(&self, n: usize) -> String {
        format!("http://127.0.0.1:{}", self.port + 10 + n as u16)
    }

    /// Signs `username` in through instance `n`; its session cookie.
    async fn sign_in(&self, n: usize, username: &str) -> Result<String, String> {
        let body = json!({"username": username, "password": self.password}).to_string();
        let request = Request::post(format!("{}/api/auth/login", self.instance(n)))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix(&format!("{COOKIE}=")))
            .and_then(|v| v.split(';').next())
            .map(str::to_owned);
        let _ = response.into_body().collect().await;
        cookie
            .filter(|_| status.is_success())
            .ok_or_else(|| format!("signing in {username} through instance {n}: {status}"))
    }

    /// Opens the event stream of `cookie`'s session on instance `n`, read up to `ready`.
    async fn listen(&self, n: usize, cookie: &str) -> Result<Incoming, String> {
        let request = Request::get(format!("{}/api/events", self.instance(n)))
            .header("cookie", format!("{COOKIE}={cookie}"))
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .streams
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("a stream on instance {n}: {}", response.status()));
        }
        let mut body = response.into_body();
        match next_event(&mut body).await.as_deref() {
            Some("ready") => Ok(body),
            other => Err(format!("a stream opened with {other:?}")),
        }
    }

    async fn revoke_others(&self, n: usize, cookie: &str) -> Result<(), String> {
        let request = Request::post(format!("{}/api/sessions/revoke-others", self.instance(n)))
            .header("content-type", "application/json")
            .header("cookie", format!("{COOKIE}={cookie}"))
            .body(Full::new(Bytes::from_static(b"{}")))
            .map_err(|e| e.to_string())?;
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let _ = response.into_body().collect().await;
        status
            .is_success()
            .then_some(())
            .ok_or_else(|| format!("sign out everywhere else: {status}"))
    }

    async fn sign_out(&self, n: usize, cookie: &str) {
        let request = Request::post(format!("{}/api/auth/logout", self.instance(n)))
            .header("content-type", "application/json")
            .header("cookie", format!("{COOKIE}={cookie}"))
            .body(Full::new(Bytes::from_static(b"{}")));
        if let Ok(request) = request {
            if let Ok(response) = self.http.request(request).await {
                let _ = response.into_body().collect().await;
            }
        }
    }

    /// One round: `n` streams of one user, spread over the instances, ended at once; the
    /// delay of each, in milliseconds.
    async fn round(&self, n: usize) -> Result<Vec<f64>, String> {
        let mut sessions = Vec::with_capacity(n);
        for i in 0..n {
            let instance = i % 3 + 1;
            sessions.push((instance, self.sign_in(instance, "ends0").await?));
        }
        let mut streams = Vec::with_capacity(n);
        for (instance, cookie) in &sessions {
            streams.push(self.listen(*instance, cookie).await?);
        }
        let ender = self.sign_in(3, "ends0").await?;
        let waiting: Vec<_> = streams
            .into_iter()
            .map(|mut body| {
                tokio::spawn(async move {
                    let heard = tokio::time::timeout(HEARD_WITHIN, async {
                        let mut seen = Vec::new();
                        while let Some(event) = next_event(&mut body).await {
                            if event == "session_ended" {
                                return Ok(Instant::now());
                            }
                            seen.push(event);
                        }
                        Err(format!("a stream closed after {seen:?} without its ending"))
                    })
                    .await;
                    heard.unwrap_or_else(|_| Err("a stream never heard of its ending".into()))
                })
            })
            .collect();
        let sent = Instant::now();
        self.revoke_others(3, &ender).await?;
        let mut delays = Vec::with_capacity(n);
        for heard in waiting {
            match heard.await {
                Ok(Ok(at)) => delays.push(at.duration_since(sent).as_secs_f64() * 1000.0),
                Ok(Err(why)) => return Err(why),
                Err(_) => return Err("a listener failed".into()),
            }
        }
        self.sign_out(3, &ender).await;
        Ok(delays)
    }
}

/// The name of the next event on a stream (`None` once it closes); comments are skipped.
async fn next_event(body: &mut Incoming) -> Option<String> {
    let mut text = String::new();
    loop {
        if let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            if let Some(name) = block.lines().find_map(|l| l.strip_prefix("event:")) {
                return Some(name.trim().to_owned());
            }
            continue;
        }
        let frame = body.frame().await?.ok()?;
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What /proc says of a process: resident kB, CPU ticks, and the context switches of each
/// of its threads by thread id.
fn reading(pid: u32) -> Option<(u64, u64, HashMap<String, u64>)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let mut switches = HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let text = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let count = text
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
        switches.insert(task.file_name().to_string_lossy().into_owned(), count);
    }
    Some((rss, ticks, switches))
}

/// Resident MiB at the end, CPU ms per second and wake-ups (context switches of the threads
/// alive at both ends of the window) per second over `window`.
async fn idle_reading(pid: u32, window: Duration) -> Result<(f64, f64, f64), String> {
    let (_, ticks0, switches0) = reading(pid).ok_or("instance 1 cannot be read")?;
    tokio::time::sleep(window).await;
    let (rss, ticks1, switches1) = reading(pid).ok_or("instance 1 cannot be read")?;
    let woke: u64 = switches1
        .iter()
        .filter_map(|(tid, after)| Some(after.saturating_sub(*switches0.get(tid)?)))
        .sum();
    let secs = window.as_secs_f64();
    // Linux reports CPU time in clock ticks of 10 ms.
    Ok((
        rss as f64 / 1024.0,
        ticks1.saturating_sub(ticks0) as f64 * 10.0 / secs,
        woke as f64 / secs,
    ))
}

#[tokio::main]
async fn main() {
    if let Err(why) = run().await {
        eprintln!("endings: {why}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let bench = Bench {
        http: Client::builder(TokioExecutor::new()).build_http(),
        streams: Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http(),
        port: env("ENDINGS_PORT", 3700),
        password: env("ENDINGS_PASSWORD", String::from("endings passphrase")),
    };
    println!("From an ending to every open page's stream (three instances, Redis pub/sub):");
    println!("  streams  rounds  samples     p50 ms     p99 ms     max ms");
    for (n, rounds) in [(1usize, 40usize), (10, 10), (100, 4)] {
        let mut delays = Vec::new();
        for _ in 0..rounds {
            delays.extend(bench.round(n).await?);
        }
        delays.sort_by(f64::total_cmp);
        println!(
            "  {n:>7}  {rounds:>6}  {:>7}  {:>9.1}  {:>9.1}  {:>9.1}",
            delays.len(),
            percentile(&delays, 50.0),
            percentile(&delays, 99.0),
            delays.last().copied().unwrap_or(0.0)
        );
    }

    let pid_file = env(
        "ENDINGS_PID",
        String::from("target/endings-cluster/instance-1.pid"),
    );
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .map_err(|e| format!("{pid_file}: {e}"))?
        .trim()
        .parse()
        .map_err(|e| format!("{pid_file}: {e}"))?;
    let window = Duration::from_secs(env("ENDINGS_IDLE_SECONDS", 40));
    let without = idle_reading(pid, window).await?;
    // 1,000 streams: ten accounts, ten sessions each, ten streams per session (as tabs
    // would hold if each opened its own).
    let mut held = Vec::with_capacity(1000);
    for user in 1..=10 {
        for _ in 0..10 {
            let cookie = bench.sign_in(1, &format!("ends{user}")).await?;
            for _ in 0..10 {
                held.push(bench.listen(1, &cookie).await?);
            }
        }
    }
    let with = idle_reading(pid, window).await?;
    println!(
        "What 1,000 idle streams cost instance 1 ({} s windows, keep-alive every 20 s):",
        window.as_secs()
    );
    println!("                     resident MiB   CPU ms/s   wake-ups/s");
    println!(
        "  no stream          {:>12.1}  {:>9.2}  {:>11.1}",
        without.0, without.1, without.2
    );
    println!(
        "  1,000 streams      {:>12.1}  {:>9.2}  {:>11.1}",
        with.0, with.1, with.2
    );
    println!(
        "  per stream         {:>9.1} KiB",
        (with.0 - without.0) * 1024.0 / 1000.0
    );
    drop(held);
    Ok(())
}
