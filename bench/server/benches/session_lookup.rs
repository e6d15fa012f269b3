//! Session lookup latency against how many sessions a store holds: 1,000 stored sessions
//! side by side with 1,000,000, for each store (SQLite, Postgres, Redis), alternating rounds
//! in one run. Every verdict reads the store, so a lookup that slowed with the number of
//! sessions would slow every request.
//!
//! Records are made as sign-in makes them (ten sessions per user) and written in bulk; each
//! round then times 20,000 lookups of random stored sessions through the store's own
//! `load`, one at a time. The small and the large set live in separate databases (SQLite
//! files, Postgres databases) or separate Redis servers (started here, on Unix sockets), so
//! the small one is measured at its own size. Postgres comes from `VIGIL_BENCH_POSTGRES`
//! (`make bench` starts a private one); without it, Postgres is left out and says so.

// A benchmark that cannot set up stops with the reason: `expect` says it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::seq::SliceRandom;
use time::OffsetDateTime;
use vigil::{TimeoutPolicy, UserSummary};
use vigil_server::db::{self, Database};
use vigil_server::redis_connection::{RedisConnection, RedisTarget};
use vigil_server::session::store::SessionStore;
use vigil_server::session::store::{DatabaseSessionStore, Keys, RedisSessionStore};
use vigil_server::session::{ClientSummary, SessionId, SessionRecord};

const SMALL: usize = 1_000;
const LARGE: usize = 1_000_000;
const SESSIONS_PER_USER: usize = 10;
const LOOKUPS: usize = 20_000;
const ROUNDS: usize = 3;
const BATCH: usize = 1_000;

/// Records as sign-in makes them, with ids and users to look them up by.
fn records(count: usize) -> Vec<SessionRecord> {
    let now = OffsetDateTime::now_utc();
    let policy = TimeoutPolicy::default();
    (0..count)
        .map(|i| {
            let user = UserSummary {
                id: (i / SESSIONS_PER_USER) as i64 + 1,
                username: format!("user{}", i / SESSIONS_PER_USER),
                display_name: "Bench User".into(),
                role: Default::default(),
            };
            let client = ClientSummary {
                user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0".into()),
                ip: Some("198.51.100.7".into()),
            };
            SessionRecord::start(&user, now, &policy, None, client, false, 1)
        })
        .collect()
}

async fn fill_database(db: &Database, records: &[SessionRecord]) {
    for chunk in records.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO session_records (id, user_id, version, retain_until, record) VALUES ",
        );
        for i in 0..chunk.len() {
            let n = i * 4;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "(${}, ${}, 0, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4
            ));
        }
        let mut query = sqlx::query(&sql);
        for record in chunk {
            query = query
                .bind(record.id.as_str().to_owned())
                .bind(record.user.id)
                .bind(record.retain_until().unix_timestamp())
                .bind(serde_json::to_string(record).expect("json"));
        }
        query.execute(db.writer()).await.expect("bulk insert");
    }
}

async fn fill_redis(socket: &Path, keys: &Keys, records: &[SessionRecord]) {
    let client = redis::Client::open(format!("unix://{}", socket.display())).expect("url");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    for chunk in records.chunks(BATCH) {
        let mut pipe = redis::pipe();
        for record in chunk {
            let key = keys.record(record.user.id, record.id.as_str());
            let retain = record.retain_until().unix_timestamp();
            let json = serde_json::to_string(record).expect("json");
            pipe.cmd("HSET")
                .arg(&key)
                .arg("v")
                .arg(0)
                .arg("r")
                .arg(json)
                .ignore();
            pipe.cmd("EXPIREAT").arg(&key).arg(retain).ignore();
            pipe.cmd("ZADD")
                .arg(keys.index(record.user.id))
                .arg(retain)
                .arg(record.id.as_str())
                .ignore();
        }
        let () = pipe.query_async(&mut connection).await.expect("bulk write");
    }
}

/// A Redis of the bench's own, on a Unix socket, holding only what the bench writes.
struct LocalRedis {
    child: Child,
    socket: PathBuf,
}

impl LocalRedis {
    async fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("dir");
        let socket = dir.join("redis.sock");
        let redis = Self {
            child: Command::new("redis-server")
                .args(["--port", "0", "--save", "", "--appendonly", "no"])
                .arg("--unixsocket")
                .arg(&socket)
                .arg("--dir")
                .arg(dir)
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server (make stores installs it)"),
            socket,
        };
        let client =
            redis::Client::open(format!("unix://{}", redis.socket.display())).expect("url");
        for _ in 0..200 {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
                {
                    return redis;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start");
    }
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One store at one size, and what to look up in it.
struct Subject {
    store: Arc<dyn SessionStore>,
    lookups: Vec<(i64, SessionId)>,
    p99: Vec<Duration>,
    p50: Vec<Duration>,
}

impl Subject {
    fn new(store: Arc<dyn SessionStore>, records: &[SessionRecord]) -> Self {
        let mut rng = rand::thread_rng();
        let lookups = (0..LOOKUPS)
            .map(|_| {
                let record = records.choose(&mut rng).expect("records");
                (record.user.id, record.id.clone())
            })
            .collect();
        Self {
            store,
            lookups,
            p99: Vec::new(),
            p50: Vec::new(),
        }
    }

    async fn round(&mut self) {
        let mut times = Vec::with_capacity(self.lookups.len());
        for (user, id) in &self.lookups {
            let started = Instant::now();
            let found = self.store.load(*user, id).await.expect("lookup");
            times.push(started.elapsed());
            assert!(found.is_some(), "every looked-up session is stored");
        }
        times.sort_unstable();
        self.p50.push(times[times.len() / 2]);
        self.p99.push(times[times.len() * 99 / 100]);
    }
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

async fn compare(name: &str, mut small: Subject, mut large: Subject) {
    for _ in 0..ROUNDS {
        small.round().await;
        large.round().await;
    }
    let (small_p99, large_p99) = (median(&small.p99), median(&large.p99));
    println!(
        "  {name:<9} {SMALL:>9} sessions: p50 {:>7.1} µs  p99 {:>7.1} µs",
        micros(median(&small.p50)),
        micros(small_p99)
    );
    println!(
        "  {name:<9} {LARGE:>9} sessions: p50 {:>7.1} µs  p99 {:>7.1} µs",
        micros(median(&large.p50)),
        micros(large_p99)
    );
    println!(
        "  {name:<9} p99 ratio {LARGE} / {SMALL}: {:.2}",
        micros(large_p99) / micros(small_p99)
    );
}

async fn database(url: &str, records: &[SessionRecord]) -> Subject {
    let db = db::connect(url, Duration::from_secs(30)).await.expect("db");
    fill_database(&db, records).await;
    Subject::new(Arc::new(DatabaseSessionStore::new(&db, None)), records)
}

async fn redis_subject(dir: &Path, records: &[SessionRecord]) -> (Subject, LocalRedis) {
    let redis = LocalRedis::start(dir).await;
    let keys = Keys::new("bench");
    fill_redis(&redis.socket, &keys, records).await;
    let target = RedisTarget::Single(format!("unix://{}", redis.socket.display()));
    let connection = RedisConnection::new(&target, Duration::from_secs(5)).expect("redis");
    let store = RedisSessionStore::new(connection, "bench");
    (Subject::new(Arc::new(store), records), redis)
}

async fn create_postgres_database(base: &str, name: &str) -> String {
    use sqlx::Connection;
    let mut admin = sqlx::PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("the bench Postgres answers");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin)
        .await
        .expect("drop");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create");
    format!("{base}/{name}")
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let small = records(SMALL);
    let large = records(LARGE);
    println!(
        "Session lookup: {LOOKUPS} random lookups a round, {ROUNDS} rounds alternating \
         {SMALL} and {LARGE} stored sessions ({SESSIONS_PER_USER} per user); medians of the rounds"
    );

    let sqlite = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    let a = database(&sqlite("small.db"), &small).await;
    let b = database(&sqlite("large.db"), &large).await;
    compare("SQLite", a, b).await;

    match std::env::var("VIGIL_BENCH_POSTGRES") {
        Ok(base) => {
            let a = database(
                &create_postgres_database(&base, "lookup_small").await,
                &small,
            )
            .await;
            let b = database(
                &create_postgres_database(&base, "lookup_large").await,
                &large,
            )
            .await;
            compare("Postgres", a, b).await;
        }
        Err(_) => {
            println!("  Postgres  left out: VIGIL_BENCH_POSTGRES is not set (make bench sets it)")
        }
    }

    let (a, _small_redis) = redis_subject(&dir.path().join("redis-small"), &small).await;
    let (b, _large_redis) = redis_subject(&dir.path().join("redis-large"), &large).await;
    compare("Redis", a, b).await;
    println!("  (took {:.0} s)", started.elapsed().as_secs_f64());
}
