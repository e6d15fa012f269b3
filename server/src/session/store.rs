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
//! write of a session (by this process, another server process on the same file, or the
//! command line) changes that session's [`WriteMarks`] mark, which every process checks
//! before trusting its copy.

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
    /// The session to replace changed since it was read; nothing was stored.
    Conflict,
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
    ///
    /// `replacing` is a session of the same user that this sign-in replaces (the browser
    /// signs in again in place), already marked ended: it is written with a conditional
    /// write in the same atomic step, so it never counts toward the limit and is never left
    /// alive beside its replacement. If it changed since it was read nothing is stored
    /// ([`Created::Conflict`]).
    async fn create(
        &self,
        record: &SessionRecord,
        limit: Option<u32>,
        replacing: Option<&SessionRecord>,
    ) -> Result<Created, StoreError>;
    /// The record of session `id` of user `user_id` (a store may keep one user's records
    /// together). May answer from a copy the store can prove current.
    async fn load(&self, user_id: i64, id: &SessionId)
        -> Result<Option<SessionRecord>, StoreError>;
    /// As [`load`](Self::load), read from the store itself past any copy: for a token
    /// ahead of the record read, and before writing an expiry down.
    async fn load_fresh(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.load(user_id, id).await
    }
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
    /// Changed around every write of a session, so caches of other processes let go of
    /// their copies of it.
    marks: Option<Arc<WriteMarks>>,
}

impl DatabaseSessionStore {
    /// The store on a migrated database (see `db::connect`), with the write marks beside
    /// the database file (`database` is its path; none for an in-memory database).
    pub fn new(db: &Database, database: Option<PathBuf>) -> Self {
        Self {
            db: db.clone(),
            marks: database.map(|path| Arc::new(WriteMarks::beside(&path))),
        }
    }

    /// The marks its caches watch.
    pub fn write_marks(&self) -> Option<Arc<WriteMarks>> {
        self.marks.clone()
    }

    /// Says "session `id` is being written" (before the write, so a copy read meanwhile is
    /// not trusted, and after it, so one read just before is not either). A mark that
    /// cannot change fails the write: fail closed.
    fn mark(&self, id: &SessionId) -> Result<(), StoreError> {
        self.marks.as_ref().map_or(Ok(()), |marks| marks.touch(id))
    }
}

/// The conditional write of one record: its version advanced by one, only from the version
/// it was read at.
fn update_statement<'q>(
    record: &'q SessionRecord,
    json: &'q str,
    version: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "UPDATE session_records SET version = version + 1, retain_until = $1, \
         live_until = $5, record = $2 WHERE id = $3 AND version = $4",
    )
    .bind(record.retain_until().unix_timestamp())
    .bind(json)
    .bind(record.id.as_str())
    .bind(version)
    .bind(record.live_until())
}

fn stored_version(record: &SessionRecord) -> Result<i64, StoreError> {
    i64::try_from(record.version).map_err(|_| StoreError::Corrupt("version out of range".into()))
}

/// A small file beside the database holding one mark per slot of session ids (the slot is
/// a prefix of the id, which is random): every write of a session changes its slot's mark
/// to a fresh random value, before and after the write. Every process that shares the
/// database maps the file; reading a mark is one atomic load from memory the operating
/// system keeps coherent between processes on one machine (no system call), cheap enough to
/// check on every request. A copy of a record taken under a mark is trusted only while the
/// mark is unchanged, so a rotation, an extension or an ending by any process (or the
/// command line) reaches every other process's next read of that session. Whatever cannot
/// be read counts as "changed".
#[derive(Debug)]
pub struct WriteMarks {
    path: PathBuf,
    file: Option<std::fs::File>,
    /// The file's marks, shared with every other process that maps them.
    map: Option<memmap2::MmapRaw>,
}

/// Slots of session ids: a write invalidates the copies of about one in this many sessions.
const MARK_SLOTS: usize = 4096;
/// The hex digits of a session id that choose its slot (16^3 = `MARK_SLOTS`).
const SLOT_DIGITS: usize = 3;
/// The marks' size: one `u64` a slot, at the start of a page-aligned mapping.
const MARKS_LEN: usize = MARK_SLOTS * std::mem::size_of::<u64>();

impl WriteMarks {
    fn beside(database: &std::path::Path) -> Self {
        let mut name = database.file_name().unwrap_or_default().to_os_string();
        name.push(".session-writes");
        let path = database.with_file_name(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|err| {
                tracing::warn!(path = %path.display(), error = %err, "no session write marks: records are not cached");
            })
            .ok();
        let mut marks = Self {
            path,
            file,
            map: None,
        };
        if marks.file_len() < MARKS_LEN as u64 {
            // Only ever grown, never truncated (another process may have it mapped).
            if let Some(file) = &marks.file {
                if let Err(err) = file.set_len(MARKS_LEN as u64) {
                    tracing::warn!(path = %marks.path.display(), error = %err, "the session write marks cannot be sized: records are not cached");
                }
            }
        }
        marks.map = marks.file.as_ref().and_then(|file| {
            (marks.file_len() >= MARKS_LEN as u64)
                .then(|| memmap2::MmapOptions::new().len(MARKS_LEN).map_raw(file))
                .and_then(|mapped| {
                    mapped
                        .map_err(|err| {
                            tracing::warn!(path = %marks.path.display(), error = %err, "the session write marks cannot be mapped: records are not cached");
                        })
                        .ok()
                })
        });
        marks
    }

    fn file_len(&self) -> u64 {
        self.file
            .as_ref()
            .and_then(|file| file.metadata().ok())
            .map_or(0, |meta| meta.len())
    }

    fn slot(id: &SessionId) -> usize {
        id.as_str()
            .get(..SLOT_DIGITS)
            .and_then(|digits| usize::from_str_radix(digits, 16).ok())
            .unwrap_or(0)
            % MARK_SLOTS
    }

    fn shared(&self, slot: usize) -> Option<&std::sync::atomic::AtomicU64> {
        let map = self.map.as_ref()?;
        if map.len() < MARKS_LEN || slot >= MARK_SLOTS {
            return None;
        }
        // In bounds: checked above.
        let at = map.as_ptr().wrapping_add(slot * std::mem::size_of::<u64>());
        if !at.cast::<u64>().is_aligned() {
            return None;
        }
        // SAFETY: the mapping is `MARKS_LEN` bytes long and the slot's eight bytes lie inside
        // it, aligned (checked above); it lives as long as `self`, and it is only ever
        // accessed atomically here; other processes write it with aligned eight-byte stores
        // (this code, or `pwrite`), which the page cache makes visible to every mapping. The
        // file is never truncated by Vigil (an outsider truncating it would end the process
        // with SIGBUS, as it would any program that maps files).
        Some(unsafe { std::sync::atomic::AtomicU64::from_ptr(at.cast::<u64>().cast_mut()) })
    }

    /// The current mark of `id`'s slot; `None` when it cannot be read (then no copy of the
    /// session is trusted).
    pub fn read(&self, id: &SessionId) -> Option<u64> {
        self.shared(Self::slot(id))
            .map(|mark| u64::from_le(mark.load(std::sync::atomic::Ordering::Acquire)))
    }

    /// Says "session `id` is being written": a value no reader has seen, in its slot.
    pub fn touch(&self, id: &SessionId) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let value: u64 = rand::random();
        let slot = Self::slot(id);
        if let Some(mark) = self.shared(slot) {
            mark.store(value.to_le(), std::sync::atomic::Ordering::Release);
            return Ok(());
        }
        let offset = (slot * std::mem::size_of::<u64>()) as u64;
        match &self.file {
            Some(file) => file
                .write_all_at(&value.to_le_bytes(), offset)
                .map_err(|err| {
                    tracing::error!(path = %self.path.display(), error = %err, "could not write a session write mark");
                    StoreError::Unavailable(format!("the session write marks cannot be written: {err}"))
                }),
            // Without marks nothing is cached, so there is nothing to invalidate.
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
        replacing: Option<&SessionRecord>,
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
        if limit.is_none() && replacing.is_none() {
            insert(
                "INSERT INTO session_records (id, user_id, version, retain_until, live_until, \
                 record) VALUES ($1, $2, 0, $3, $4, $5)",
            )
            .execute(self.db.writer())
            .await?;
            return Ok(Created::Stored);
        }
        let replaced = replacing
            .map(|old| Ok::<_, StoreError>((old, encode(old)?, stored_version(old)?)))
            .transpose()?;
        if let Some((old, _, _)) = &replaced {
            self.mark(&old.id)?;
        }
        // One transaction ends the replaced session, then counts and inserts. SQLite runs
        // it under its single write lock; Postgres after taking the user's advisory lock,
        // held to the commit.
        let mut transaction = self.db.writer().begin().await?;
        if self.db.backend() == Backend::Postgres {
            // The function returns `void`, which the `Any` driver cannot decode.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
                .bind(record.user.id)
                .execute(&mut *transaction)
                .await?;
        }
        if let Some((old, old_json, version)) = &replaced {
            let done = update_statement(old, old_json, *version)
                .execute(&mut *transaction)
                .await?;
            if done.rows_affected() != 1 {
                transaction.rollback().await?;
                return Ok(Created::Conflict);
            }
        }
        // The replaced session counts no more: it was ended above.
        let done = match limit {
            Some(limit) => {
                insert(
                    "INSERT INTO session_records (id, user_id, version, retain_until, \
                     live_until, record) SELECT $1, $2, 0, $3, $4, $5 WHERE (SELECT COUNT(*) \
                     FROM session_records WHERE user_id = $2 AND live_until > $6) < $7",
                )
                .bind(record.created_at.unix_timestamp())
                .bind(i64::from(limit))
                .execute(&mut *transaction)
                .await?
            }
            None => {
                insert(
                    "INSERT INTO session_records (id, user_id, version, retain_until, \
                     live_until, record) VALUES ($1, $2, 0, $3, $4, $5)",
                )
                .execute(&mut *transaction)
                .await?
            }
        };
        if done.rows_affected() != 1 {
            transaction.rollback().await?;
            return Ok(Created::LimitReached);
        }
        transaction.commit().await?;
        if let Some((old, _, _)) = &replaced {
            self.mark(&old.id)?;
        }
        Ok(Created::Stored)
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
        let version = stored_version(record)?;
        let json = encode(record)?;
        self.mark(&record.id)?;
        let done = update_statement(record, &json, version)
            .execute(self.db.writer())
            .await?;
        self.mark(&record.id)?;
        if done.rows_affected() != 1 {
            return Ok(Replaced::Conflict);
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
        replacing: Option<&SessionRecord>,
    ) -> Result<Created, StoreError> {
        self.count();
        self.inner.create(record, limit, replacing).await
    }

    async fn load(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(user_id, id).await
    }

    async fn load_fresh(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load_fresh(user_id, id).await
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

/// Copies of records in process memory, in front of a store that can invalidate them: each
/// copy is kept with the [`WriteMarks`] mark of its session as it was before the copy was
/// read, and is answered only while that mark is unchanged. Every write of a session, by any
/// process, changes the mark, so a copy never decides on a record that was rotated, extended
/// or ended since: the next read goes to the store. This process's own writes are not kept
/// (their mark changes as they land); the next read takes a copy again.
#[derive(Debug)]
pub struct CachedSessionStore<S> {
    inner: S,
    marks: Arc<WriteMarks>,
    records: RwLock<foldhash::HashMap<SessionId, (u64, SessionRecord)>>,
}

impl<S> CachedSessionStore<S> {
    pub fn new(inner: S, marks: Arc<WriteMarks>) -> Self {
        Self {
            inner,
            marks,
            records: RwLock::default(),
        }
    }

    fn cached(&self, id: &SessionId) -> Option<SessionRecord> {
        let mark = self.marks.read(id)?;
        let records = self.records.read().unwrap_or_else(PoisonError::into_inner);
        match records.get(id) {
            Some((taken, record)) if *taken == mark => Some(record.clone()),
            _ => None,
        }
    }

    /// Keeps `record`, read after its mark was `mark`.
    fn remember(&self, record: &SessionRecord, mark: Option<u64>) {
        let Some(mark) = mark else {
            return;
        };
        let mut records = self.records.write().unwrap_or_else(PoisonError::into_inner);
        if records.len() >= CACHE_CAPACITY {
            records.clear();
        }
        records.insert(record.id.clone(), (mark, record.copy_to_keep()));
    }

    fn forget(&self, id: &SessionId) {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

impl<S: SessionStore> CachedSessionStore<S> {
    /// Reads the store and keeps the copy. The mark is read before the record: a write
    /// landing in between changes it again, so the copy is never trusted past that write.
    async fn read_through(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let mark = self.marks.read(id);
        let loaded = self.inner.load(user_id, id).await?;
        match &loaded {
            Some(record) => self.remember(record, mark),
            None => self.forget(id),
        }
        Ok(loaded)
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for CachedSessionStore<S> {
    async fn create(
        &self,
        record: &SessionRecord,
        limit: Option<u32>,
        replacing: Option<&SessionRecord>,
    ) -> Result<Created, StoreError> {
        let created = self.inner.create(record, limit, replacing).await;
        if let Some(old) = replacing {
            self.forget(&old.id);
        }
        created
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
        self.read_through(user_id, id).await
    }

    async fn load_fresh(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.read_through(user_id, id).await
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        let outcome = self.inner.replace(record).await;
        self.forget(&record.id);
        outcome
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.for_user(user_id).await
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (_, record)| record.retain_until() > now);
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
        replacing: Option<&SessionRecord>,
    ) -> Result<Created, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.create(record, limit, replacing).await;
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

    async fn load_fresh(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.load_fresh(user_id, id).await;
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

    fn id(hex: &str) -> SessionId {
        SessionId::parse(hex).expect("a session id")
    }

    #[test]
    fn a_write_marked_by_one_process_is_seen_by_every_other() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let database = dir.path().join("vigil.db");
        // Two sets of marks on one file: what two processes sharing the database each map.
        let (one, other) = (WriteMarks::beside(&database), WriteMarks::beside(&database));
        let session = id("abc00000000000000000000000000001");
        let neighbour = id("abc00000000000000000000000000002");
        let elsewhere = id("00100000000000000000000000000003");
        let before = one.read(&session).expect("a fresh mark is readable");
        let far = other.read(&elsewhere).expect("readable");
        assert_eq!(other.read(&session), Some(before));
        one.touch(&session).expect("touch");
        let after = other.read(&session).expect("readable");
        assert_ne!(after, before, "the other mapping sees the change at once");
        assert_eq!(one.read(&session), Some(after));
        assert_eq!(other.read(&neighbour), Some(after), "one slot, one mark");
        assert_eq!(other.read(&elsewhere), Some(far), "other slots keep theirs");
        // A write through the file (a process that could not map it) is seen as well.
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.path().join("vigil.db.session-writes"))
            .expect("open");
        let offset = (WriteMarks::slot(&session) * 8) as u64;
        file.write_all_at(&7u64.to_le_bytes(), offset)
            .expect("write");
        assert_eq!(one.read(&session), Some(7));
    }

    #[test]
    fn marks_that_cannot_be_kept_trust_nothing() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let marks = WriteMarks::beside(&dir.path().join("missing").join("vigil.db"));
        let session = id("abc00000000000000000000000000001");
        assert_eq!(marks.read(&session), None);
        assert!(
            marks.touch(&session).is_ok(),
            "nothing cached, nothing to invalidate"
        );
    }
}
