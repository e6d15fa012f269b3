//! The one small interface every session store implements.
//!
//! Records are kept in tower-sessions' format (a `Record` whose data holds the Vigil session
//! under one key), so the SQLite default is tower-sessions-sqlx-store's own table and the
//! shared store for several instances can be tower-sessions' Redis store. What those stores
//! lack is a conditional write; [`SessionStore::replace`] adds it, so a rotation, a sign-out
//! and an expiry can never overwrite one another. Nothing that decides validity is cached in
//! process memory.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use sqlx::SqlitePool;
use thiserror::Error;
use tower_sessions::session::Record;
use tower_sessions::session_store::ExpiredDeletion;
use tower_sessions::SessionStore as _;
use tower_sessions_sqlx_store::SqliteStore;

use crate::session::{SessionId, SessionRecord};

const RECORD_KEY: &str = "vigil.session";

#[derive(Debug, Error)]
pub enum StoreError {
    /// The backend could not be reached or answered with an error.
    #[error("the session store is unavailable: {0}")]
    Unavailable(String),
    /// A stored record could not be read back.
    #[error("a stored session record is corrupt: {0}")]
    Corrupt(String),
}

impl From<tower_sessions::session_store::Error> for StoreError {
    fn from(err: tower_sessions::session_store::Error) -> Self {
        use tower_sessions::session_store::Error;
        match err {
            Error::Backend(e) => Self::Unavailable(e),
            Error::Encode(e) | Error::Decode(e) => Self::Corrupt(e),
        }
    }
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
    /// Stores a new record under a fresh id (the store may replace the id on collision).
    async fn create(&self, record: &mut SessionRecord) -> Result<(), StoreError>;
    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError>;
    /// One conditional write: stores `record` with its version advanced by one, only if the
    /// stored copy still has `record.version`.
    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError>;
    /// Deletes records whose retention has passed.
    async fn delete_expired(&self) -> Result<(), StoreError>;
}

pub type SharedSessionStore = Arc<dyn SessionStore>;

fn to_record(record: &SessionRecord) -> Result<Record, StoreError> {
    let value = serde_json::to_value(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Record {
        id: record.id.id(),
        data: HashMap::from([(RECORD_KEY.to_owned(), value)]),
        expiry_date: record.retain_until(),
    })
}

fn from_record(record: Record) -> Result<SessionRecord, StoreError> {
    let value = record
        .data
        .get(RECORD_KEY)
        .cloned()
        .ok_or_else(|| StoreError::Corrupt("the record has no Vigil session".into()))?;
    let mut session: SessionRecord =
        serde_json::from_value(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    session.id = SessionId::from_id(record.id);
    Ok(session)
}

/// tower-sessions-sqlx-store's SQLite store, with the conditional write done in a
/// `BEGIN IMMEDIATE` transaction on the same table, so it holds across processes.
#[derive(Debug, Clone)]
pub struct SqliteSessionStore {
    inner: SqliteStore,
    pool: SqlitePool,
    table: &'static str,
}

impl SqliteSessionStore {
    pub const TABLE: &'static str = "sessions";

    /// Opens the store on `pool`, creating its table when missing.
    pub async fn new(pool: SqlitePool) -> Result<Self, StoreError> {
        let inner = SqliteStore::new(pool.clone())
            .with_table_name(Self::TABLE)
            .map_err(StoreError::Unavailable)?;
        inner.migrate().await?;
        Ok(Self {
            inner,
            pool,
            table: Self::TABLE,
        })
    }
}

#[async_trait]
impl SessionStore for SqliteSessionStore {
    async fn create(&self, record: &mut SessionRecord) -> Result<(), StoreError> {
        let mut stored = to_record(record)?;
        self.inner.create(&mut stored).await?;
        record.id = SessionId::from_id(stored.id);
        Ok(())
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        match self.inner.load(&id.id()).await? {
            Some(record) => from_record(record).map(Some),
            None => Ok(None),
        }
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as(&format!("SELECT data FROM {} WHERE id = ?", self.table))
                .bind(record.id.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((blob,)) = row else {
            return Ok(Replaced::Conflict);
        };
        let stored: Record =
            rmp_serde::from_slice(&blob).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if from_record(stored)?.version != record.version {
            return Ok(Replaced::Conflict);
        }
        let mut next = record.clone();
        next.version += 1;
        let encoded = rmp_serde::to_vec(&to_record(&next)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(&format!(
            "UPDATE {} SET data = ?, expiry_date = ? WHERE id = ?",
            self.table
        ))
        .bind(encoded)
        .bind(next.retain_until())
        .bind(record.id.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Replaced::Written(next.version))
    }

    async fn delete_expired(&self) -> Result<(), StoreError> {
        Ok(self.inner.delete_expired().await?)
    }
}

/// Counts the writes that reach a store: the figure behind "at most one write per heartbeat
/// interval per session".
#[derive(Debug)]
pub struct CountingStore<S> {
    inner: S,
    writes: std::sync::atomic::AtomicU64,
}

impl<S> CountingStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            writes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn writes(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count(&self) {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for CountingStore<S> {
    async fn create(&self, record: &mut SessionRecord) -> Result<(), StoreError> {
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

    async fn delete_expired(&self) -> Result<(), StoreError> {
        self.inner.delete_expired().await
    }
}

/// A write-through cache of records in front of a store that only this process writes
/// (the embedded SQLite default). Every write goes through it, and a cached copy is only
/// ever replaced by a newer version, so it answers exactly as the store would. It must be
/// switched off when the store is shared by several instances.
#[derive(Debug)]
pub struct CachedSessionStore<S> {
    inner: S,
    records: std::sync::RwLock<HashMap<SessionId, SessionRecord>>,
}

/// Above this many cached records the cache starts over (records are small; this bounds it).
const CACHE_CAPACITY: usize = 100_000;

impl<S> CachedSessionStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            records: std::sync::RwLock::new(HashMap::new()),
        }
    }

    fn cached(&self, id: &SessionId) -> Option<SessionRecord> {
        self.records
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
    }

    /// Keeps `record` unless a newer version is already cached.
    fn remember(&self, record: &SessionRecord) {
        let mut records = self
            .records
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if records.len() >= CACHE_CAPACITY && !records.contains_key(&record.id) {
            records.clear();
        }
        match records.get(&record.id) {
            Some(cached) if cached.version >= record.version => {}
            _ => {
                records.insert(record.id.clone(), record.clone());
            }
        }
    }

    fn forget(&self, id: &SessionId) {
        self.records
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(id);
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for CachedSessionStore<S> {
    async fn create(&self, record: &mut SessionRecord) -> Result<(), StoreError> {
        self.inner.create(record).await?;
        self.remember(record);
        Ok(())
    }

    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError> {
        if let Some(record) = self.cached(id) {
            return Ok(Some(record));
        }
        let loaded = self.inner.load(id).await?;
        if let Some(record) = &loaded {
            self.remember(record);
        }
        Ok(loaded)
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        match self.inner.replace(record).await {
            Ok(Replaced::Written(version)) => {
                let mut written = record.clone();
                written.version = version;
                self.remember(&written);
                Ok(Replaced::Written(version))
            }
            outcome => {
                // Lost a race or failed: the next read goes to the store.
                self.forget(&record.id);
                outcome
            }
        }
    }

    async fn delete_expired(&self) -> Result<(), StoreError> {
        let now = time::OffsetDateTime::now_utc();
        self.records
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|_, record| record.retain_until() > now);
        self.inner.delete_expired().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ClientSummary;
    use time::macros::datetime;
    use vigil::{TimeoutPolicy, UserSummary};

    fn record(version: u64) -> SessionRecord {
        let user = UserSummary {
            id: 1,
            username: "ada".into(),
            display_name: "Ada".into(),
        };
        let mut record = SessionRecord::start(
            &user,
            datetime!(2026-01-01 00:00 UTC),
            &TimeoutPolicy::default(),
            None,
            ClientSummary::default(),
        );
        record.version = version;
        record
    }

    #[test]
    fn the_cache_never_goes_back_to_an_older_version() {
        let cache = CachedSessionStore::new(());
        let newer = record(5);
        let mut older = newer.clone();
        older.version = 4;
        older.generation = 99;
        cache.remember(&newer);
        cache.remember(&older);
        assert_eq!(cache.cached(&newer.id).map(|r| r.version), Some(5));
        let mut newest = newer.clone();
        newest.version = 6;
        cache.remember(&newest);
        assert_eq!(cache.cached(&newer.id).map(|r| r.version), Some(6));
        cache.forget(&newer.id);
        assert!(cache.cached(&newer.id).is_none());
    }
}
