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
