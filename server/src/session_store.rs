//! The one small interface every session store implements.
//!
//! The default backend is any `tower_sessions::SessionStore` (SQLite via
//! tower-sessions-sqlx-store today, the Redis store when Vigil runs as several instances).
//! Nothing that decides validity is cached in process memory.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;
use tower_sessions::session::Record;
use tower_sessions::session_store::ExpiredDeletion;

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

#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug + 'static {
    /// Stores a new record; the store may replace its id to avoid a collision.
    async fn create(&self, record: &mut SessionRecord) -> Result<(), StoreError>;
    async fn load(&self, id: &SessionId) -> Result<Option<SessionRecord>, StoreError>;
    async fn save(&self, record: &SessionRecord) -> Result<(), StoreError>;
    /// Deletes records whose retention has passed.
    async fn delete_expired(&self) -> Result<(), StoreError>;
}

pub type SharedSessionStore = Arc<dyn SessionStore>;

/// Adapts any tower-sessions store.
#[derive(Debug, Clone)]
pub struct TowerSessionStore<S> {
    inner: S,
}

impl<S> TowerSessionStore<S> {
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

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

#[async_trait]
impl<S> SessionStore for TowerSessionStore<S>
where
    S: tower_sessions::SessionStore + ExpiredDeletion + std::fmt::Debug,
{
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

    async fn save(&self, record: &SessionRecord) -> Result<(), StoreError> {
        Ok(self.inner.save(&to_record(record)?).await?)
    }

    async fn delete_expired(&self) -> Result<(), StoreError> {
        Ok(self.inner.delete_expired().await?)
    }
}
