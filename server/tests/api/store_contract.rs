//! The contract of `SessionStore`, one suite every store must pass (the model is
//! tower-sessions' shared store tests): the atomic count-and-create, the conditional
//! replace and its version order, signing in again in place, listing with ended records,
//! and retention. `store_contract!` instantiates it per store; a new store adds one line
//! below and starts from a failing suite.
//!
//! Each pass of `make test` runs every instantiation against real servers: `sqlite` always;
//! `database` is the configured database (SQLite, then Postgres in the shared passes);
//! `configured` the configured session store (the cached SQLite store, then Redis, then a
//! Redis Cluster).

use std::sync::Arc;

use time::{Duration, OffsetDateTime};
use vigil::{TimeoutPolicy, UserSummary};
use vigil_server::session::store::{
    Created, DatabaseSessionStore, NewSession, Replaced, SharedSessionStore,
};
use vigil_server::session::{ClientSummary, EndReason, SessionRecord};

use crate::helpers::{create_database, test_settings};

/// A store under test with what keeps it alive (its directory, its pool).
pub struct StoreUnderTest {
    pub store: SharedSessionStore,
    _dir: tempfile::TempDir,
    _db: vigil_server::db::Database,
}

async fn connect(
    dir: tempfile::TempDir,
    extra: &[(&str, &str)],
) -> (
    tempfile::TempDir,
    vigil_server::configuration::Settings,
    vigil_server::db::Database,
) {
    let settings = test_settings(dir.path(), extra);
    create_database(&settings).await;
    let db = vigil_server::db::connect(
        &settings.storage.database_url,
        settings.storage.store_timeout.unsigned_abs(),
    )
    .await
    .expect("the database answers and migrates");
    (dir, settings, db)
}

/// The embedded store without its cache: SQLite in a temporary directory, in every pass.
pub async fn sqlite() -> StoreUnderTest {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}/vigil.db", dir.path().display());
    let (dir, _settings, db) = connect(dir, &[("VIGIL_DATABASE_URL", &url)]).await;
    StoreUnderTest {
        store: Arc::new(DatabaseSessionStore::new(&db, None)),
        _dir: dir,
        _db: db,
    }
}

/// The database store on the configured database (Postgres in the shared passes).
pub async fn database() -> StoreUnderTest {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (dir, _settings, db) = connect(dir, &[]).await;
    StoreUnderTest {
        store: Arc::new(DatabaseSessionStore::new(&db, None)),
        _dir: dir,
        _db: db,
    }
}

/// The session store the server would build from the settings of this pass.
pub async fn configured() -> StoreUnderTest {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (dir, settings, db) = connect(dir, &[]).await;
    let redis = vigil_server::startup::redis(&settings).expect("redis settings");
    StoreUnderTest {
        store: vigil_server::startup::session_store(&settings, &db, redis.as_ref()),
        _dir: dir,
        _db: db,
    }
}

/// A user id no other test of the pass uses: the shared Redis outlives one test.
fn user(n: i64) -> UserSummary {
    let id = n * 1_000_000_000 + i64::from(rand_suffix());
    UserSummary {
        id,
        username: format!("user{id}"),
        display_name: "Contract".into(),
        role: Default::default(),
    }
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 10_000) * 10_000 + NEXT.fetch_add(1, Ordering::Relaxed) % 10_000
}

/// A session of `user` started at `now` under the default policy.
fn started(user: &UserSummary, now: OffsetDateTime) -> SessionRecord {
    SessionRecord::start(
        user,
        now,
        &TimeoutPolicy::default(),
        None,
        ClientSummary::default(),
        false,
        1,
    )
}

fn now() -> OffsetDateTime {
    // Whole seconds: every store keeps timestamps to the second or finer.
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("valid")
}

pub async fn creates_and_loads(s: StoreUnderTest) {
    let ada = user(1);
    let record = started(&ada, now());
    assert_eq!(
        s.store
            .create(NewSession::new(&record))
            .await
            .expect("create"),
        Created::Stored
    );
    let loaded = s
        .store
        .load(ada.id, &record.id)
        .await
        .expect("load")
        .expect("stored");
    assert_eq!(loaded.version, 0, "a new record is at version 0");
    assert_eq!(loaded.id, record.id);
    assert_eq!(loaded.user, ada);
    assert_eq!(loaded.idle_expires_at, record.idle_expires_at);
    let fresh = s
        .store
        .load_fresh(ada.id, &record.id)
        .await
        .expect("load")
        .expect("stored");
    assert_eq!(fresh.version, 0);
    assert!(
        s.store
            .load(ada.id + 1, &record.id)
            .await
            .expect("load")
            .is_none(),
        "a record is found under its own user only"
    );
}

pub async fn replaces_only_from_the_version_read(s: StoreUnderTest) {
    let ada = user(2);
    let t0 = now();
    let record = started(&ada, t0);
    s.store
        .create(NewSession::new(&record))
        .await
        .expect("create");
    let read = s
        .store
        .load(ada.id, &record.id)
        .await
        .expect("load")
        .expect("stored");
    let mut first = read.clone();
    first.touch(t0 + Duration::minutes(1), &TimeoutPolicy::default());
    assert_eq!(
        s.store.replace(&first).await.expect("replace"),
        Replaced::Written(1)
    );
    // A second writer that read version 0 too loses, and writes nothing.
    let mut second = read.clone();
    second.end(EndReason::Logout, t0 + Duration::minutes(1));
    assert_eq!(
        s.store.replace(&second).await.expect("replace"),
        Replaced::Conflict
    );
    let stored = s
        .store
        .load_fresh(ada.id, &record.id)
        .await
        .expect("load")
        .expect("kept");
    assert_eq!(stored.version, 1);
    assert!(
        stored.ended.is_none(),
        "the losing write left nothing behind"
    );
    assert_eq!(stored.last_activity_at, t0 + Duration::minutes(1));
    // Versions only move forward, one a write.
    let mut third = stored.clone();
    third.rotate(0, t0 + Duration::minutes(2));
    assert_eq!(
        s.store.replace(&third).await.expect("replace"),
        Replaced::Written(2)
    );
    assert_eq!(
        s.store
            .load(ada.id, &record.id)
            .await
            .expect("load")
            .expect("kept")
            .version,
        2
    );
    // A record nobody stored cannot be replaced into existence.
    let ghost = started(&ada, t0);
    assert_eq!(
        s.store.replace(&ghost).await.expect("replace"),
        Replaced::Conflict
    );
    assert!(s
        .store
        .load(ada.id, &ghost.id)
        .await
        .expect("load")
        .is_none());
}

pub async fn counts_and_creates_in_one_step(s: StoreUnderTest) {
    let ada = user(3);
    let t0 = now();
    let limit = Some(3);
    let attempts = (0..12).map(|_| {
        let store = s.store.clone();
        let record = started(&ada, t0);
        tokio::spawn(async move { store.create(NewSession::new(&record).within(limit)).await })
    });
    let mut stored = 0;
    for attempt in attempts {
        match attempt.await.expect("task").expect("create") {
            Created::Stored => stored += 1,
            Created::LimitReached => {}
            Created::Conflict => panic!("nothing was being replaced"),
        }
    }
    assert_eq!(stored, 3, "concurrent sign-ins never exceed the limit");
    assert_eq!(s.store.for_user(ada.id).await.expect("list").len(), 3);
    // An ended session no longer counts.
    let mut one = s.store.for_user(ada.id).await.expect("list").remove(0);
    one.end(EndReason::Logout, t0);
    assert!(matches!(
        s.store.replace(&one).await.expect("end"),
        Replaced::Written(_)
    ));
    let next = started(&ada, t0);
    assert_eq!(
        s.store
            .create(NewSession::new(&next).within(limit))
            .await
            .expect("create"),
        Created::Stored
    );
    let over = started(&ada, t0);
    assert_eq!(
        s.store
            .create(NewSession::new(&over).within(limit))
            .await
            .expect("create"),
        Created::LimitReached
    );
    assert!(s
        .store
        .load(ada.id, &over.id)
        .await
        .expect("load")
        .is_none());
    // Without a limit, nothing is counted.
    assert_eq!(
        s.store
            .create(NewSession::new(&over))
            .await
            .expect("create"),
        Created::Stored
    );
}

pub async fn replaces_a_session_in_the_same_step(s: StoreUnderTest) {
    let ada = user(4);
    let t0 = now();
    let old = started(&ada, t0);
    s.store
        .create(NewSession::new(&old).within(Some(1)))
        .await
        .expect("create");
    let read = s
        .store
        .load(ada.id, &old.id)
        .await
        .expect("load")
        .expect("stored");
    let mut ended = read.clone();
    ended.end(EndReason::Logout, t0);
    // At the limit, the replacement still goes in: the session it replaces does not count.
    let new = started(&ada, t0);
    assert_eq!(
        s.store
            .create(
                NewSession::new(&new)
                    .within(Some(1))
                    .replacing(Some(&ended))
            )
            .await
            .expect("create"),
        Created::Stored
    );
    let old_now = s
        .store
        .load_fresh(ada.id, &old.id)
        .await
        .expect("load")
        .expect("kept");
    assert!(
        old_now.ended.is_some(),
        "the replaced session ended in the same step"
    );
    assert_eq!(old_now.version, 1);
    assert!(s.store.load(ada.id, &new.id).await.expect("load").is_some());
    // Replacing from a version that moved meanwhile stores nothing.
    let stale = started(&ada, t0);
    assert_eq!(
        s.store
            .create(NewSession::new(&stale).replacing(Some(&ended)))
            .await
            .expect("create"),
        Created::Conflict
    );
    assert!(s
        .store
        .load(ada.id, &stale.id)
        .await
        .expect("load")
        .is_none());
}

pub async fn lists_a_users_records_ended_ones_included(s: StoreUnderTest) {
    let (ada, bob) = (user(5), user(6));
    let t0 = now();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let record = started(&ada, t0);
        s.store
            .create(NewSession::new(&record))
            .await
            .expect("create");
        ids.push(record.id);
    }
    s.store
        .create(NewSession::new(&started(&bob, t0)))
        .await
        .expect("create");
    let mut ended = s
        .store
        .load(ada.id, &ids[1])
        .await
        .expect("load")
        .expect("stored");
    ended.end(EndReason::Revoked, t0);
    s.store.replace(&ended).await.expect("end");
    let listed = s.store.for_user(ada.id).await.expect("list");
    let mut listed_ids: Vec<_> = listed.iter().map(|r| r.id.clone()).collect();
    listed_ids.sort_by_key(|id| id.as_str().to_owned());
    ids.sort_by_key(|id| id.as_str().to_owned());
    assert_eq!(listed_ids, ids, "every record of the user, and only hers");
    let tombstone = listed
        .iter()
        .find(|r| r.id == ended.id)
        .and_then(|r| r.ended)
        .expect("the ended record is listed with its tombstone");
    assert_eq!(tombstone.reason, EndReason::Revoked);
    assert!(s.store.for_user(user(7).id).await.expect("list").is_empty());
}

pub async fn keeps_records_until_their_retention(s: StoreUnderTest) {
    let ada = user(8);
    let t0 = now();
    // Started long enough ago that its retention has passed by now, on every clock.
    let old = started(&ada, t0 - Duration::days(400));
    assert!(old.retain_until() < t0);
    let kept = started(&ada, t0);
    s.store.create(NewSession::new(&old)).await.expect("create");
    s.store
        .create(NewSession::new(&kept))
        .await
        .expect("create");
    s.store.delete_expired(t0).await.expect("sweep");
    assert!(
        s.store
            .load_fresh(ada.id, &old.id)
            .await
            .expect("load")
            .is_none(),
        "a record past its retention is gone after a sweep"
    );
    let listed = s.store.for_user(ada.id).await.expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        listed[0].id, kept.id,
        "a record within its retention is kept"
    );
    s.store.check().await.expect("the store answers");
}

/// Instantiates the suite for one store: `store_contract!(name, constructor)`.
macro_rules! store_contract {
    ($name:ident, $make:path) => {
        mod $name {
            #[tokio::test]
            async fn creates_and_loads() {
                super::creates_and_loads($make().await).await;
            }
            #[tokio::test]
            async fn replaces_only_from_the_version_read() {
                super::replaces_only_from_the_version_read($make().await).await;
            }
            #[tokio::test]
            async fn counts_and_creates_in_one_step() {
                super::counts_and_creates_in_one_step($make().await).await;
            }
            #[tokio::test]
            async fn replaces_a_session_in_the_same_step() {
                super::replaces_a_session_in_the_same_step($make().await).await;
            }
            #[tokio::test]
            async fn lists_a_users_records_ended_ones_included() {
                super::lists_a_users_records_ended_ones_included($make().await).await;
            }
            #[tokio::test]
            async fn keeps_records_until_their_retention() {
                super::keeps_records_until_their_retention($make().await).await;
            }
        }
    };
}

store_contract!(sqlite_store, super::sqlite);
store_contract!(database_store, super::database);
store_contract!(configured_store, super::configured);
