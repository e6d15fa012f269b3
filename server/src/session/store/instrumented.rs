//! Test and benchmark support: a store that counts what reaches the one it wraps and fails
//! on demand. The API tests use it to prove "at most one write per heartbeat interval" and
//! the answers to an unavailable store; `benches/store_writes.rs` prints its counts. Never
//! part of the served stack.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Created, NewSession, Replaced, SessionStore, SharedSessionStore, StoreError};
use crate::session::{SessionId, SessionRecord};

#[derive(Debug)]
pub struct InstrumentedStore {
    inner: SharedSessionStore,
    writes: AtomicU64,
    sweeps: AtomicU64,
    failing: AtomicBool,
    /// A user whose sessions cannot be listed (0: none).
    failing_user: AtomicI64,
}

impl InstrumentedStore {
    pub fn new(inner: SharedSessionStore) -> Self {
        Self {
            inner,
            writes: AtomicU64::new(0),
            sweeps: AtomicU64::new(0),
            failing: AtomicBool::new(false),
            failing_user: AtomicI64::new(0),
        }
    }

    /// Creations and conditional writes that reached the store so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Retention sweeps asked of the store so far.
    pub fn sweeps(&self) -> u64 {
        self.sweeps.load(Ordering::SeqCst)
    }

    /// While set, every call fails as an unreachable store does.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// While set, listing this user's sessions fails (the rest of the store answers): an
    /// outage in the middle of ending them.
    pub fn set_failing_user(&self, user_id: Option<i64>) {
        self.failing_user
            .store(user_id.unwrap_or(0), Ordering::SeqCst);
    }

    fn reach(&self, counter: Option<&AtomicU64>) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("injected failure".into()));
        }
        if let Some(counter) = counter {
            counter.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for InstrumentedStore {
    async fn create(&self, new: NewSession<'_>) -> Result<Created, StoreError> {
        self.reach(Some(&self.writes))?;
        self.inner.create(new).await
    }

    async fn load(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.reach(None)?;
        self.inner.load(user_id, id).await
    }

    async fn load_fresh(
        &self,
        user_id: i64,
        id: &SessionId,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.reach(None)?;
        self.inner.load_fresh(user_id, id).await
    }

    async fn replace(&self, record: &SessionRecord) -> Result<Replaced, StoreError> {
        self.reach(Some(&self.writes))?;
        self.inner.replace(record).await
    }

    async fn for_user(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        self.reach(None)?;
        if self.failing_user.load(Ordering::SeqCst) == user_id {
            return Err(StoreError::Unavailable("injected failure".into()));
        }
        self.inner.for_user(user_id).await
    }

    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.reach(Some(&self.sweeps))?;
        self.inner.delete_expired(now).await
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.reach(None)?;
        self.inner.check().await
    }

    async fn count_live(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        self.reach(None)?;
        self.inner.count_live(now).await
    }
}
