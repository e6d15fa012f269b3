//! The store latency histogram, around whichever store is configured.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Created, NewSession, Replaced, SessionStore, SharedSessionStore, StoreError};
use crate::metrics::{Metrics, StoreCall};
use crate::session::{SessionId, SessionRecord};

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
    async fn create(&self, new: NewSession<'_>) -> Result<Created, StoreError> {
        let since = Instant::now();
        let outcome = self.inner.create(new).await;
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
