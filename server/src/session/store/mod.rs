//! The one small interface every session store implements, and the stores that implement it.
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

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;
use time::OffsetDateTime;

use super::record::{SessionId, SessionRecord};

mod cached;
mod database;
mod instrumented;
mod measured;
mod redis;
mod write_marks;

pub use cached::CachedSessionStore;
pub use database::DatabaseSessionStore;
pub use instrumented::InstrumentedStore;
pub use measured::MeasuredStore;
pub use redis::{Keys, RedisSessionStore};
pub use write_marks::WriteMarks;

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

/// A session to store, with what its creation is conditional on.
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    pub record: &'a SessionRecord,
    /// The most live sessions the user may have, this one included.
    pub limit: Option<u32>,
    /// This browser's session of the same user that the new one replaces, already ended.
    pub replacing: Option<&'a SessionRecord>,
}

impl<'a> NewSession<'a> {
    /// The record alone: no limit, replacing nothing.
    pub fn new(record: &'a SessionRecord) -> Self {
        Self {
            record,
            limit: None,
            replacing: None,
        }
    }

    pub fn within(self, limit: Option<u32>) -> Self {
        Self { limit, ..self }
    }

    pub fn replacing(self, replacing: Option<&'a SessionRecord>) -> Self {
        Self { replacing, ..self }
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
    /// Stores a new record under its fresh id, at version 0. With a limit, only while the
    /// user has fewer live sessions than that at the record's creation: counting and
    /// storing are one atomic step, so concurrent sign-ins never exceed it.
    ///
    /// A session it replaces (the browser signs in again in place), already marked ended,
    /// is written with a conditional write in the same atomic step, so it never counts
    /// toward the limit and is never left alive beside its replacement. If it changed since
    /// it was read nothing is stored ([`Created::Conflict`]).
    async fn create(&self, new: NewSession<'_>) -> Result<Created, StoreError>;
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
