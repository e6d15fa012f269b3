//! The one small interface every session store implements, and the embedded SQLite store.
//!
//! What the rules of SPEC §2 need from a store, and what tower-sessions' stores lack, is a
//! conditional write: [`SessionStore::replace`] stores a record only if nobody wrote it since
//! it was read, so a rotation, a sign-out and an expiry can never overwrite one another. A
//! store also lists one user's records (to end them all) and keeps every record until its
//! [`SessionRecord::retain_until`], on the service's clock.
//!
//! A copy of a record kept in process memory can only serve a verdict while the store can
//! invalidate it: [`CachedSessionStore`] in front of the embedded SQLite store, whose every
//! ending of a session (by this process, another server process on the same file, or the
//! command line) changes an invalidation mark that every process checks before trusting its
//! copies.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use async_trait::async_trait;

use crate::db::{Backend, Database};
use crate::metrics::{Metrics, StoreCall};
use thiserror::Error;
use time::OffsetDateTime;

use super::record::{SessionId, SessionRecord};

#[derive(Debug, Error)]
pub enum StoreError {
    /// The backend could not be reached or answered with an error.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read back.
    #[error("a stored session record is corrupt: {0}")]
    Corrupt(String),
}

impl From<crate::redis_connection::Unavailable> for StoreError {
    fn from(err: crate::redis_connection::Unavailable) -> Self {
        Self::Unavailable(err.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Unavailable(err.to_string())
    }
}

/// The outcome of creating a record under a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    Stored,
    /// The user already had `limit` live sessions; nothing was stored.
    LimitReached,
}

/// The outcome of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// Written; the record now has this version.
    Written(u64),
    /// Someone else wrote first (or the record is gone): reload and decide again.
    Conflict,
}

#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new record under its fresh id, at version 0. With a `limit`, only while the
    /// user has fewer live sessions than that at the record's creation: counting and
    /// storing are one atomic step, so concurrent sign-ins never exceed it.
    async fn create(
        &self,
        record: &SessionRecord,
        limit: Option<u32>,
    ) -> Result<Created, StoreError>;
    /// The record of session `id` of user `user_id` (a store may keep one user's records
    /// together).
    async fn load(&self, user_id: i64, id: &SessionId)
        -> Result<Option<SessionRecord>, StoreError>;
    /// One conditional write: stores `record` with its version advanced by one, only if the
    /// stored copy still has `record.version`.
    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError>;
    /// Every record of one user that is still kept, ended ones included.
    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError>;
    /// Deletes records whose retention has passed at `now`; returns how many.
    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Answers whether the store answers (for `/health/ready`).
    async fn check(&self) -> Result<(), StoreError>;
    /// How many sessions of all users are live at `now`, if the store can tell cheaply
    /// (for the `vigil_active_sessions` metric).
    async fn count_live(&self, _now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}

pub type SharedSessionStore = Arc<dyn SessionStore>;

pub(super) fn encode(record: &SessionRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn decode(id: &str, version: i64, json: &str) -> Result<SessionRecord, StoreError> {
    let mut record: SessionRecord =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    record.id = SessionId::parse(id)
        .ok_or_else(|| StoreError::Corrupt(format!("the stored id `{id}` is malformed")))?;
    record.version = u64::try_from(version).unwrap_or_default();
    Ok(record)
}

/// The store in the database (SQLite by default, or Postgres): one row per session in the
/// `session_records` table, with the version, the user and the retention beside the record
/// so that the conditional write, listing a user's sessions and sweeping are single indexed
/// statements. Several processes may share it: every read sees the last commit.
#[derive(Debug, Clone)]
pub struct DatabaseSessionStore {
    db: Database,
    /// Changed whenever a session ends, so caches of other processes let go of their copies.
    ends: Option<Arc<EndMark>>,
}

impl DatabaseSessionStore {
    /// The store on a migrated database (see `db::connect`), with the end mark beside the
    /// database file (`database` is its path; none for an in-memory database).
    pub fn new(db: &Database, database: Option<PathBuf>) -> Self {
        Self {
            db: db.clone(),
            ends: database.map(|path| Arc::new(EndMark::beside(&path))),
        }
    }

    /// The mark its caches watch.
    pub fn end_mark(&self) -> Option<Arc<EndMark>> {
        self.ends.clone()
    }
}

/// A small file beside the database whose contents change (to a fresh random value) after
/// every write that ends a session. Every process that shares the database maps it; reading
/// it is one atomic load from memory the operating system keeps coherent between processes
/// on one machine (no system call): cheap enough to check on every request. Whatever cannot
/// be read counts as "changed".
#[derive(Debug)]
pub struct EndMark {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// The file's eight bytes, shared with every other process that maps them.
    map: Option<memmap2::MmapRaw>,
}

/// The mark's size: one `u64`, at the start of a page-aligned mapping.
const MARK_LEN: usize = std::mem::size_of::<u64>();

impl EndMark {
    fn beside(database: &std::path::Path) -> Self {
        let mut name = database.file_name().unwrap_or_default().to_os_string();
        name.push(".session-ends");
        let path = database.with_file_name(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| {
                tracing::warn!(path = %path.display(), error = %err, "no session end mark: records are not cached");
            })
            .ok();
        let mut mark = Self {
            path,
            file,
            map: None,
        };
        if mark.file_len() < MARK_LEN as u64 {
            let _ = mark.touch();
        }
        mark.map = mark.file.as_ref().and_then(|file| {
            (mark.file_len() >= MARK_LEN as u64)
                .then(|| memmap2::MmapOptions::new().len(MARK_LEN).map_raw(file))
                .and_then(|mapped| {
                    mapped
                        .map_err(|err| {
                            tracing::warn!(path = %mark.path.display(), error = %err, "the session end mark cannot be mapped: records are not cached");
                        })
                        .ok()
                })
        });
        mark
    }

    fn file_len(&self) -> u64 {
        self.file
            .as_ref()
            .and_then(|file| file.metadata().ok())
            .map_or(0, |meta| meta.len())
    }

    fn shared(&self) -> Option<&std::sync::atomic::AtomicU64> {
        let map = self.map.as_ref()?;
        let at = map.as_ptr();
        if map.len() < MARK_LEN || !at.cast::<u64>().is_aligned() {
            return None;
        }
        // SAFETY: the mapping is at least eight bytes long and aligned (checked above), it
        // lives as long as `self`, and it is only ever accessed atomically here; other
        // processes write it with aligned eight-byte stores (this code, or `pwrite`), which
        // the page cache makes visible to every mapping. The file is never truncated by
        // Vigil (an outsider truncating it would end the process with SIGBUS, as it would
        // any program that maps files).
        Some(unsafe { std::sync::atomic::AtomicU64::from_ptr(at.cast::<u64>().cast_mut()) })
    }

    /// The current mark; `None` when it cannot be read (then nothing cached is trusted).
    pub fn read(&self) -> Option<u64> {
        self.shared()
            .map(|mark| u64::from_le(mark.load(std::sync::atomic::Ordering::Acquire)))
    }

    /// Says "a session ended": a value no reader has seen, written in place.
    pub fn touch(&self) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let value: u64 = rand::random();
        if let Some(mark) = self.shared() {
            mark.store(value.to_le(), std::sync::atomic::Ordering::Release);
            return Ok(());
        }
        match &self.file {
            Some(file) => file.write_all_at(&value.to_le_bytes(), 0).map_err(|err| {
                tracing::error!(path = %self.path.display(), error = %err, "could not write the session end mark");
                StoreError::Unavailable(format!("the session end mark cannot be written: {err}"))
            }),
            // Without a mark nothing is cached, so there is nothing to invalidate.
            None => Ok(()),
        }
    }
}

#[async_trait]
impl SessionStore for DatabaseSessionStore {
    async fn create(
        &self,
        record: &SessionRecord,
        limit: Option<u32>,
    ) -> Result<Created, StoreError> {
        let json = encode(record)?;
        let insert = |sql| {
            sqlx::query(sql)
                .bind(record.id.as_str())
                .bind(record.user.id)
                .bind(record.retain_until().unix_timestamp())
                .bind(record.live_until())
                .bind(json.as_str())
        };
        let Some(limit) = limit else {
            insert(
                "INSERT INTO session_records (id, user_id, version, retain_until, live_until, \
                 record) VALUES ($1, $2, 0, $3, $4, $5)",
            )
            .execute(self.db.writer())
            .await?;
            return Ok(Created::Stored);
        };
        // One statement counts and inserts. SQLite runs it under its single write lock;
        // Postgres runs it after taking the user's advisory lock, held to the commit.
        let limited = insert(
            "INSERT INTO session_records (id, user_id, version, retain_until, live_until, \
             record) SELECT $1, $2, 0, $3, $4, $5 WHERE (SELECT COUNT(*) FROM \
             session_records WHERE user_id = $2 AND live_until > $6) < $7",
        )
        .bind(record.created_at.unix_timestamp())
        .bind(i64::from(limit));
        let mut transaction = self.db.writer().begin().await?;
        if self.db.backend() == Backend::Postgres {
            // The function returns `void`, which the `Any` driver cannot decode.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(record.user.id)
                .execute(&mut *transaction)
                .await?;
        }
        let done = limited.execute(&mut *transaction).await?;
        transaction.commit().await?;
        Ok(if done.rows_affected() == 1 {
            Created::Stored
        } else {
            Created::LimitReached
        })
    }

    async fn load(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT version, record FROM session_records WHERE id = $1 AND user_id = $2",
        )
        .bind(id.as_str())
        .bind(user_id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|(version, json)| decode(id.as_str(), version, &json))
            .transpose()
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        let version = i64::try_from(record.version)
            .map_err(|_| StoreError::Corrupt("version out of range".into()))?;
        // An ending is announced before it is written (if the mark cannot change, the
        // session is not ended: fail closed) and again after (copies taken in between go).
        let ends = self.ends.as_ref().filter(|_| record.ended.is_some());
        if let Some(ends) = ends {
            ends.touch()?;
        }
        let done = sqlx::query(
            "UPDATE session_records SET version = version + 1, retain_until = $1, \
             live_until = $5, record = $2 WHERE id = $3 AND version = $4",
        )
        .bind(record.retain_until().unix_timestamp())
        .bind(encode(record)?)
        .bind(record.id.as_str())
        .bind(version)
        .bind(record.live_until())
        .execute(self.db.writer())
        .await?;
        if done.rows_affected() != 1 {
            return Ok(Replaced::Conflict);
        }
        if let Some(ends) = ends {
            ends.touch()?;
        }
        Ok(Replaced::Written(record.version + 1))
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let rows: Vec<(String, i64, String)> =
            sqlx::query_as("SELECT id, version, record FROM session_records WHERE user_id = $1")
                .bind(user_id)
                .fetch_all(self.db.pool())
                .await?;
        rows.iter()
            .map(|(id, version, json)| decode(id, *version, json))
            .collect()
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM session_records WHERE retain_until <= $1")
            .bind(now.unix_timestamp())
            .execute(self.db.writer())
            .await?;
        Ok(done.rows_affected())
    }

    async fn check(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(self.db.pool()).await?;
        Ok(())
    }

    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM session_records WHERE live_until > $1")
                .bind(now.unix_timestamp())
                .fetch_one(self.db.pool())
                .await?;
        Ok(Some(u64::try_from(count).unwrap_or_default()))
    }
}

/// Counts the writes that reach a store: the figure behind "at most one write per heartbeat
/// interval per session".
#[derive(Debug)]
pub struct CountingStore<S> {
    inner: S,
    writes: AtomicU64,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            writes: AtomicU64::new(0),
        }
    }

    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    fn count(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for CountingStore<S> {
    async fn create(
        &self,
        record: &SessionRecord,
        limit: Option<u32>,
    ) -> Result<Created, StoreError> {
        self.count();
        self.inner.create(record, limit).await
    }

    async fn load(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(user_id, id).await
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        self.count();
        self.inner.replace(record).await
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.for_user(user_id).await
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.delete_expired(now).await
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.inner.check().await
    }

    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        self.inner.count_live(now).await
    }
}

/// Above this many cached records the cache starts over (records are small; this bounds it).
const CACHE_CAPACITY: usize = 100_000;

/// Copies of records in process memory, in front of a store that can invalidate them: every
/// read first checks the store's [`EndMark`]; when it changed since the copies were taken
/// (a session ended anywhere) they are all dropped. A copy that is merely older than the
/// store (a rotation or an extension elsewhere) can never decide wrongly: a newer token
/// generation makes the service read again, and every write is conditional on the version.
#[derive(Debug)]
pub struct CachedSessionStore<S> {
    inner: S,
    mark: Arc<EndMark>,
    records: RwLock<Cached>,
}

#[derive(Debug, Default)]
struct Cached {
    /// The mark the copies were taken under.
    mark: Option<u64>,
    records: foldhash::HashMap<SessionId, SessionRecord>,
}

impl<S> CachedSessionStore<S> {
    pub fn new(inner: S, mark: Arc<EndMark>) -> Self {
        Self {
            inner,
            mark,
            records: RwLock::default(),
        }
    }

    fn cached(&self, id: &SessionId) -> Option<SessionRecord> {
        let current = self.mark.read();
        let cached = self.records.read().unwrap_or_else(PoisonError::into_inner);
        match current {
            Some(mark) if cached.mark == Some(mark) => cached.records.get(id).cloned(),
            _ => None,
        }
    }

    /// Keeps `record` (read or written under `mark`) unless a newer version is cached.
    fn remember(&self, record: &SessionRecord, mark: Option<u64>) {
        let mut cached = self.records.write().unwrap_or_else(PoisonError::into_inner);
        if cached.mark != mark || cached.records.len() >= CACHE_CAPACITY {
            cached.records.clear();
            cached.mark = mark;
        }
        if mark.is_none() {
            return;
        }
        match cached.records.get(&record.id) {
            Some(copy) if copy.version >= record.version => {}
            _ => {
                cached
                    .records
                    .insert(record.id.clone(), record.copy_to_keep());
            }
        }
    }

    fn forget(&self, id: &SessionId) {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .records
            .remove(id);
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for CachedSessionStore<S> {
    async fn create(
        &self,
        record: &SessionRecord,
        limit: Option<u32>,
    ) -> Result<Created, StoreError> {
        let mark = self.mark.read();
        let created = self.inner.create(record, limit).await?;
        if created == Created::Stored {
            self.remember(record, mark);
        }
        Ok(created)
    }

    async fn load(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(record) = self.cached(id) {
            // Looked up under its user, like every store does.
            return Ok(Some(record).filter(|r| r.user.id == user_id));
        }
        // Read the mark before the record: a session ending in between changes the mark
        // again, so the copy is never trusted past it.
        let mark = self.mark.read();
        let loaded = self.inner.load(user_id, id).await?;
        if let Some(record) = &loaded {
            self.remember(record, mark);
        }
        Ok(loaded)
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        let mark = self.mark.read();
        match self.inner.replace(record).await {
            Ok(Replaced::Written(version)) if record.ended.is_none() => {
                let mut written = record.clone();
                written.version = version;
                self.remember(&written, mark);
                Ok(Replaced::Written(version))
            }
            outcome => {
                // An ending (the mark changed anyway), a lost race or a failure: the next
                // read goes to the store.
                self.forget(&record.id);
                outcome
            }
        }
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.for_user(user_id).await
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .records
            .retain(|_, record| record.retain_until() > now);
        self.inner.delete_expired(now).await
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.inner.check().await
    }

    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        self.inner.count_live(now).await
    }
}

/// Times every call for the `vigil_store_latency_seconds` histogram.
#[derive(Debug)]
pub struct MeasuredStore {
    inner: SharedSessionStore,
    metrics: Arc<Metrics>,
}

impl MeasuredStore {
    pub fn new(inner: SharedSessionStore, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }
}

#[async_trait]
impl SessionStore for MeasuredStore {
    async fn create(
        &self,
        record: &SessionRecord,
        limit: Option<u32>,
    ) -> Result<Created, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.create(record, limit).await;
        self.metrics.store_call(StoreCall::Create, since);
        outcome
    }

    async fn load(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.load(user_id, id).await;
        self.metrics.store_call(StoreCall::Load, since);
        outcome
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.replace(record).await;
        self.metrics.store_call(StoreCall::Replace, since);
        outcome
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.for_user(user_id).await;
        self.metrics.store_call(StoreCall::ForUser, since);
        outcome
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.delete_expired(now).await;
        self.metrics.store_call(StoreCall::DeleteExpired, since);
        outcome
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.inner.check().await
    }

    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        self.inner.count_live(now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ending_marked_by_one_process_is_seen_by_every_other() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = dir.path().join("vigil.db");
        // Two marks on one file: what two processes sharing the database each map.
        let (one, other) = (EndMark::beside(&database), EndMark::beside(&database));
        let before = one.read().expect("a fresh mark is readable");
        assert_eq!(other.read(), Some(before));
        one.touch().expect("touch");
        let after = other.read().expect("readable");
        assert_ne!(after, before, "the other mapping sees the change at once");
        assert_eq!(one.read(), Some(after));
        // A write through the file (a process that could not map it) is seen as well.
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("vigil.db.session-ends"))
            .expect("open");
        file.write_all_at(&7u64.to_le_bytes(), 0).expect("write");
        assert_eq!(one.read(), Some(7));
    }

    #[test]
    fn a_mark_that_cannot_be_kept_trusts_nothing() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mark = EndMark::beside(&dir.path().join("missing").join("vigil.db"));
        assert_eq!(mark.read(), None);
        assert!(
            mark.touch().is_ok(),
            "nothing cached, nothing to invalidate"
        );
    }
}
