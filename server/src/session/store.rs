//! The one small interface every session store implements, and the embedded SQLite store.
//!
//! What the rules of SPEC §2 need from a store, and what tower-sessions' stores lack, is a
//! conditional write: [`SessionStore::replace`] stores a record only if nobody wrote it since
//! it was read, so a rotation, a sign-out and an expiry can never overwrite one another. A
//! store also lists one user's records (to end them all) and keeps every record until its
//! [`SessionRecord::retain_until`], on the service's clock.
//!
//! Nothing that decides validity is cached in process memory: every verdict is read from
//! the store, which several processes may share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::SqlitePool;
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

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::Unavailable(err.to_string())
    }
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
    /// Stores a new record under its fresh id, at version 0.
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError>;
    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// One conditional write: stores `record` with its version advanced by one, only if the
    /// stored copy still has `record.version`.
    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError>;
    /// Every record of one user that is still kept, ended ones included.
    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError>;
    /// Deletes records whose retention has passed at `now`; returns how many.
    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

pub type SharedSessionStore = Arc<dyn SessionStore>;

fn encode(record: &SessionRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn decode(id: &str, version: i64, json: &str) -> Result<SessionRecord, StoreError> {
    let mut record: SessionRecord =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    record.id = SessionId::parse(id)
        .ok_or_else(|| StoreError::Corrupt(format!("the stored id `{id}` is malformed")))?;
    record.version = u64::try_from(version).unwrap_or_default();
    Ok(record)
}

/// The embedded store: one row per session in the `session_records` table, with the version,
/// the user and the retention beside the record so that the conditional write, listing a
/// user's sessions and sweeping are single indexed statements. Several processes may share
/// the file: SQLite serialises the writes and every read sees the last commit.
#[derive(Debug, Clone)]
pub struct SqliteSessionStore {
    pool: SqlitePool,
}

impl SqliteSessionStore {
    /// The store on a migrated database (see `db::connect`).
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl SessionStore for SqliteSessionStore {
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO session_records (id, user_id, version, retain_until, record) \
             VALUES (?, ?, 0, ?, ?)",
        )
        .bind(record.id.as_str())
        .bind(record.user.id)
        .bind(record.retain_until().unix_timestamp())
        .bind(encode(record)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        let row: Option<(i64, String)> =
            sqlx::query_as("SELECT version, record FROM session_records WHERE id = ?")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(version, json)| decode(id.as_str(), version, &json))
            .transpose()
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        let version = i64::try_from(record.version)
            .map_err(|_| StoreError::Corrupt("version out of range".into()))?;
        let done = sqlx::query(
            "UPDATE session_records SET version = version + 1, retain_until = ?, record = ? \
             WHERE id = ? AND version = ?",
        )
        .bind(record.retain_until().unix_timestamp())
        .bind(encode(record)?)
        .bind(record.id.as_str())
        .bind(version)
        .execute(&self.pool)
        .await?;
        Ok(if done.rows_affected() == 1 {
            Replaced::Written(record.version + 1)
        } else {
            Replaced::Conflict
        })
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let rows: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT id, version, record FROM session_records WHERE user_id = ? ORDER BY rowid",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|(id, version, json)| decode(id, *version, json))
            .collect()
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM session_records WHERE retain_until <= ?")
            .bind(now.unix_timestamp())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
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
    async fn create(&self, record: &SessionRecord) -> Result<(), StoreError> {
        self.count();
        self.inner.create(record).await
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.load(id).await
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
}
