//! The store in the database: SQLite (embedded, the default) or Postgres.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::{decode, encode, Created, NewSession, Replaced, SessionStore, StoreError, WriteMarks};
use crate::db::{Backend, Database};
use crate::session::{SessionId, SessionRecord};

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

#[async_trait]
impl SessionStore for DatabaseSessionStore {
    async fn create(&self, new: NewSession<'_>) -> Result<Created, StoreError> {
        let (record, limit, replacing) = (new.record, new.limit, new.replacing);
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
