//! The session store, announcing each session that starts or ends.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{News, NewsChannel};
use crate::session::store::{
    Created, NewSession, Replaced, SessionStore, SharedSessionStore, StoreError,
};
use crate::session::{SessionId, SessionRecord};

/// Announces, after the write landed, every session created (and the one it replaced) and
/// every record written with its tombstone: every path that ends a session ends it with a
/// conditional write of the tombstone, so none is missed and none is told twice.
#[derive(Debug)]
pub struct AnnouncingStore {
    inner: SharedSessionStore,
    channel: NewsChannel,
}

impl AnnouncingStore {
    pub fn new(inner: SharedSessionStore, channel: NewsChannel) -> Self {
        Self { inner, channel }
    }
}

fn ending(record: &SessionRecord) -> Option<News> {
    let tombstone = record.ended?;
    Some(News {
        user_id: record.user.id,
        ended: Some((record.id.public_id().to_owned(), tombstone.reason)),
    })
}

#[async_trait]
impl SessionStore for AnnouncingStore {
    async fn create(&self, new: NewSession<'_>) -> Result<Created, StoreError> {
        let created = self.inner.create(new).await?;
        if created == Created::Stored {
            if let Some(news) = new.replacing.and_then(ending) {
                self.channel.publish(&news).await;
            }
            let started = News {
                user_id: new.record.user.id,
                ended: None,
            };
            self.channel.publish(&started).await;
        }
        Ok(created)
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
        let replaced = self.inner.replace(record).await?;
        if let (Replaced::Written(_), Some(news)) = (replaced, ending(record)) {
            self.channel.publish(&news).await;
        }
        Ok(replaced)
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
