//! Copies of records in process memory, trusted only under their write marks.

use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{Created, NewSession, Replaced, SessionStore, StoreError, WriteMarks};
use crate::session::{SessionId, SessionRecord};

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
    async fn create(&self, new: NewSession<'_>) -> Result<Created, StoreError> {
        let created = self.inner.create(new).await;
        if let Some(old) = new.replacing {
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
