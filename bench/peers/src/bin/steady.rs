//! A constant-rate load generator: requests leave on a fixed schedule whatever the answers
//! take (open loop), so a slow answer cannot hold back the ones behind it as it does in a
//! closed-loop tool like wrk. Latency counts from the moment a request left (tokio's timer
//! has millisecond granularity: counting from the due instant would measure the timer).
//!
//! `steady <base-url> <cookie> <rate/s> <seconds> read <path>` POSTs `{}` to `path`;
//! `steady <base-url> <cookie> <rate/s> <seconds> autosave` saves drafts as a browser's
//! outbox does: `PUT /api/drafts/{id}` naming the version it is based on (If-Match), never
//! two saves of one draft in flight.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Drafts the autosaves take turns on.
const DRAFTS: usize = 400;

#[derive(Clone)]
enum Load {
    Read(String),
    Autosave(Arc<Mutex<Vec<Draft>>>),
}

#[derive(Clone, Default)]
struct Draft {
    version: Option<u64>,
    in_flight: bool,
}

fn usage() -> ! {
    eprintln!("usage: steady <base-url> <cookie> <rate/s> <seconds> (read <path> | autosave)");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, cookie, rate, seconds, mode, rest @ ..] = args.as_slice() else {
        usage()
    };
    let (Ok(rate), Ok(seconds)) = (rate.parse::<u32>(), seconds.parse::<u64>()) else {
        usage()
    };
    let load = match (mode.as_str(), rest) {
        ("read", [path]) => Load::Read(path.clone()),
        ("autosave", []) => Load::Autosave(Arc::new(Mutex::new(vec![Draft::default(); DRAFTS]))),
        _ => usage(),
    };
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let total = u64::from(rate) * seconds;
    let interval = Duration::from_secs(1) / rate;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut skipped = 0u64;
    let mut next_draft = 0usize;
    for n in 0..total {
        let due = start + interval * u32::try_from(n).unwrap_or(u32::MAX);
        tokio::time::sleep_until(due.into()).await;
        let request = match &load {
            Load::Read(path) => Request::post(format!("{base}{path}"))
                .header("content-type", "application/json")
                .header("cookie", cookie)
                .body(Full::new(Bytes::from_static(b"{}"))),
            Load::Autosave(drafts) => {
                let mut drafts = drafts.lock().unwrap_or_else(|e| e.into_inner());
                let Some(index) = (0..DRAFTS)
                    .map(|k| (next_draft + k) % DRAFTS)
                    .find(|&i| !drafts[i].in_flight)
                else {
                    skipped += 1;
                    continue;
                };
                next_draft = index + 1;
                drafts[index].in_flight = true;
                let builder = Request::put(format!(
                    "{base}/api/drafts/00000000-0000-4000-8998-{index:012}"
                ))
                .header("content-type", "application/json")
                .header("cookie", cookie);
                let builder = match drafts[index].version {
                    Some(version) => builder.header("if-match", format!("\"{version}\"")),
                    None => builder.header("if-none-match", "*"),
                };
                builder.body(Full::new(Bytes::from(format!(
                    r#"{{"title":"Steady","body":"typed {n}"}}"#
                ))))
            }
        };
        let Ok(request) = request else { usage() };
        let client = client.clone();
        let load = load.clone();
        let sent = Instant::now();
        tasks.push(tokio::spawn(async move {
            let answer = match client.request(request).await {
                Ok(response) => {
                    let ok = response.status().is_success();
                    let body = response.into_body().collect().await.map(|b| b.to_bytes());
                    body.ok().filter(|_| ok)
                }
                Err(_) => None,
            };
            let latency = sent.elapsed();
            if let Load::Autosave(drafts) = &load {
                // The answer names the draft and its new version (the next save's If-Match).
                let saved = answer.as_ref().and_then(|body| {
                    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
                    let id = value["id"]
                        .as_str()?
                        .rsplit('-')
                        .next()?
                        .parse::<usize>()
                        .ok()?;
                    Some((id, value["version"].as_u64()?))
                });
                let mut drafts = drafts.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((id, version)) = saved {
                    if let Some(draft) = drafts.get_mut(id) {
                        draft.version = Some(version);
                        draft.in_flight = false;
                    }
                }
            }
            (latency, answer.is_some())
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0u64;
    for task in tasks {
        match task.await {
            Ok((latency, true)) => latencies.push(latency),
            _ => failed += 1,
        }
    }
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1);
        latencies.get(i).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    let achieved = latencies.len() as f64 / start.elapsed().as_secs_f64();
    println!(
        "p50 {:6.2} ms   p99 {:6.2} ms   max {:7.2} ms   ({} answered, {achieved:.0}/s; failed {failed}, not sent {skipped})",
        at(0.5),
        at(0.99),
        at(1.0),
        latencies.len()
    );
    if failed > 0 || skipped > 0 {
        std::process::exit(1);
    }
}
