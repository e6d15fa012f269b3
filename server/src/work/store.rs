//! Drafts, settings and idempotency keys in the database.
//!
//! Every change is one [`Operation`] applied in one transaction together with its
//! `Idempotency-Key`: the key's first [`Outcome`] is stored beside the change, so a repeat
//! with the same key and the same operation gets the first outcome again and changes
//! nothing, and a crash can never leave a change without its key (or a key without its
//! change). Outcomes are domain facts; the HTTP edge turns them into answers.
//!
//! Every write is conditional (`WHERE version = $expected`, `ON CONFLICT DO NOTHING`), so
//! concurrent requests are safe on Postgres at READ COMMITTED as well as on SQLite; two
//! requests racing with one key end with one change and one replayed answer.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use vigil::work::{DraftsPage, Precondition, Preferences, StoredDraft, WorkSnapshot, MAX_DRAFTS};

use crate::db::Database;

/// How long the answer to an `Idempotency-Key` is kept (SPEC §3 asks for at least 24 h).
pub const IDEMPOTENCY_RETENTION: Duration = Duration::hours(48);

/// How many answers one user's keys keep at most; beyond it the oldest is dropped first
/// (SPEC §9.1): a client inventing keys cannot grow the table without bound.
pub const MAX_KEYS_PER_USER: i64 = 1_000;

/// One change to a user's work (the core's [`WorkOp`], shared with the browser's outbox).
pub use vigil::work::WorkOp as Operation;

/// What makes two requests "the same" for an idempotency key.
fn fingerprint(operation: &Operation) -> String {
    hex::encode(Sha256::digest(
        serde_json::to_vec(operation).unwrap_or_default(),
    ))
}

/// What became of an operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Created, updated or submitted.
    Saved {
        draft: StoredDraft,
        created: bool,
    },
    Deleted,
    Settings {
        settings: Preferences,
    },
    /// The draft is not at the expected version (or exists when it should not).
    Conflict {
        current: StoredDraft,
    },
    /// The draft was submitted and can no longer change.
    ReadOnly {
        current: StoredDraft,
    },
    NotFound,
    TooManyDrafts,
}

/// What is kept of an outcome for its key: the answer's kind and the draft's id and version,
/// never its text (up to 256 KiB). A replay reads the draft again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kept {
    Saved {
        id: String,
        version: u64,
        created: bool,
    },
    Deleted,
    Settings {
        settings: Preferences,
    },
    Conflict {
        id: String,
    },
    ReadOnly {
        id: String,
    },
    NotFound,
    TooManyDrafts,
}

impl Kept {
    fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Saved { draft, created } => Self::Saved {
                id: draft.id.clone(),
                version: draft.version,
                created: *created,
            },
            Outcome::Deleted => Self::Deleted,
            Outcome::Settings { settings } => Self::Settings {
                settings: *settings,
            },
            Outcome::Conflict { current } => Self::Conflict {
                id: current.id.clone(),
            },
            Outcome::ReadOnly { current } => Self::ReadOnly {
                id: current.id.clone(),
            },
            Outcome::NotFound => Self::NotFound,
            Outcome::TooManyDrafts => Self::TooManyDrafts,
        }
    }
}

/// An outcome, and whether it was replayed for a repeated key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub outcome: Outcome,
    pub replayed: bool,
}

#[derive(Debug, Error)]
pub enum WorkError {
    #[error("the database is unavailable: {0}")]
    Store(#[from] sqlx::Error),
    #[error("a stored value could not be read: {0}")]
    Corrupt(String),
    /// The key was used before for a different operation.
    #[error("this Idempotency-Key was used for a different request")]
    KeyReused,
}

#[derive(Debug, Clone)]
pub struct WorkStore {
    db: Database,
}

type DraftRow = (String, String, String, i64, i64, Option<i64>);
/// A draft's row and its creation time, for the page cursor.
type PagedRow = (String, String, String, i64, i64, Option<i64>, i64);

/// What [`Cursor::decode`] reads, as a regular expression (for the OpenAPI document).
pub const CURSOR_PATTERN: &str =
    "^[0-9]{1,18}\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

/// Where a page of drafts ends: the last draft's creation time (unix milliseconds) and id,
/// `<created_at>.<id>`; clients send it back as they were given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    created_at: i64,
    id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at, self.id)
    }

    /// A cursor of the form this server makes ([`CURSOR_PATTERN`]); `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        let (created_at, id) = text.split_once('.')?;
        let digits =
            (1..=18).contains(&created_at.len()) && created_at.bytes().all(|b| b.is_ascii_digit());
        let created_at = created_at.parse().ok().filter(|_| digits)?;
        vigil::work::is_draft_id(id).then(|| Self {
            created_at,
            id: id.to_owned(),
        })
    }
}

const DRAFT_COLUMNS: &str = "id, title, body, version, updated_at, submitted_at";

fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn draft((id, title, body, version, updated_at, submitted_at): DraftRow) -> StoredDraft {
    StoredDraft {
        id,
        title,
        body,
        version: u64::try_from(version).unwrap_or_default(),
        updated_at: from_millis(updated_at),
        submitted_at: submitted_at.map(from_millis),
    }
}

fn version(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl WorkStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// One page of the user's drafts, newest first (by creation: a draft changed meanwhile
    /// neither moves nor repeats), after `after` if given; the settings with the first page.
    pub async fn page(
        &self,
        user_id: i64,
        limit: usize,
        after: Option<&Cursor>,
    ) -> Result<DraftsPage, WorkError> {
        let fetch = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
        let rows: Vec<PagedRow> = match after {
            None => {
                sqlx::query_as(&format!(
                    "SELECT {DRAFT_COLUMNS}, created_at FROM drafts WHERE user_id = $1 \
                     ORDER BY created_at DESC, id DESC LIMIT $2"
                ))
                .bind(user_id)
                .bind(fetch)
                .fetch_all(self.db.pool())
                .await?
            }
            Some(cursor) => {
                sqlx::query_as(&format!(
                    "SELECT {DRAFT_COLUMNS}, created_at FROM drafts WHERE user_id = $1 \
                     AND (created_at < $2 OR (created_at = $2 AND id < $3)) \
                     ORDER BY created_at DESC, id DESC LIMIT $4"
                ))
                .bind(user_id)
                .bind(cursor.created_at)
                .bind(&cursor.id)
                .bind(fetch)
                .fetch_all(self.db.pool())
                .await?
            }
        };
        let more = rows.len() > limit;
        let mut drafts = Vec::with_capacity(rows.len().min(limit));
        let mut last = None;
        for (id, title, body, version, updated_at, submitted_at, created_at) in
            rows.into_iter().take(limit)
        {
            last = Some(Cursor {
                created_at,
                id: id.clone(),
            });
            drafts.push(draft((id, title, body, version, updated_at, submitted_at)));
        }
        let settings = match after {
            None => Some(self.settings(user_id).await?),
            Some(_) => None,
        };
        Ok(DraftsPage {
            drafts,
            settings,
            next_cursor: last.filter(|_| more).map(|cursor| cursor.encode()),
        })
    }

    /// Everything in the account, drafts oldest first: what the browser's machine gathers
    /// from the pages of `GET /api/drafts` (`WorkSnapshot`), read here for a page the server
    /// renders with it (`vigil::boot`).
    pub async fn snapshot(&self, user_id: i64) -> Result<WorkSnapshot, WorkError> {
        // The pages' order reversed: by creation, then id (an account holds at most
        // MAX_DRAFTS, so one statement reads them all).
        let rows: Vec<DraftRow> = sqlx::query_as(&format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE user_id = $1 \
             ORDER BY created_at ASC, id ASC"
        ))
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(WorkSnapshot {
            drafts: rows.into_iter().map(draft).collect(),
            settings: self.settings(user_id).await?,
        })
    }

    async fn settings(&self, user_id: i64) -> Result<Preferences, WorkError> {
        let settings: Option<String> =
            sqlx::query_scalar("SELECT settings FROM user_settings WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(self.db.pool())
                .await?;
        match settings {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| WorkError::Corrupt(e.to_string()))
            }
            None => Ok(Preferences::default()),
        }
    }

    /// Applies `operation` for the user, once per idempotency key.
    pub async fn apply(
        &self,
        user_id: i64,
        operation: Operation,
        key: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Applied, WorkError> {
        let fingerprint = fingerprint(&operation);
        if let Some(key) = key {
            if let Some(earlier) = self.earlier(user_id, key, &fingerprint).await? {
                return Ok(earlier);
            }
        }
        let mut tx = self.db.begin_write().await?;
        let outcome = apply_in(&mut tx, user_id, operation, now).await?;
        if let Some(key) = key {
            let stored = sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, outcome, created_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, key) DO NOTHING",
            )
            .bind(user_id)
            .bind(key)
            .bind(&fingerprint)
            .bind(
                serde_json::to_string(&Kept::of(&outcome))
                    .map_err(|e| WorkError::Corrupt(e.to_string()))?,
            )
            .bind(millis(now))
            .execute(&mut *tx)
            .await?;
            if stored.rows_affected() == 0 {
                // A request with the same key got there first: its answer stands, and
                // whatever this one did is undone.
                tx.rollback().await?;
                return self
                    .earlier(user_id, key, &fingerprint)
                    .await?
                    .ok_or_else(|| WorkError::Corrupt("an idempotency key vanished".into()));
            }
        }
        if key.is_some() {
            // Drops the user's oldest answers beyond the bound (an indexed range, at most
            // one row past it on each write).
            sqlx::query(
                "DELETE FROM idempotency_keys WHERE user_id = $1 AND (created_at, key) < \
                 (SELECT created_at, key FROM idempotency_keys WHERE user_id = $1 \
                 ORDER BY created_at DESC, key DESC LIMIT 1 OFFSET $2)",
            )
            .bind(user_id)
            .bind(MAX_KEYS_PER_USER - 1)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Applied {
            outcome,
            replayed: false,
        })
    }

    /// The first answer given for `key`, if there was one.
    async fn earlier(
        &self,
        user_id: i64,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<Applied>, WorkError> {
        let earlier: Option<(String, String)> = sqlx::query_as(
            "SELECT fingerprint, outcome FROM idempotency_keys WHERE user_id = $1 AND key = $2",
        )
        .bind(user_id)
        .bind(key)
        .fetch_optional(self.db.pool())
        .await?;
        let Some((earlier_fingerprint, outcome)) = earlier else {
            return Ok(None);
        };
        if earlier_fingerprint != fingerprint {
            return Err(WorkError::KeyReused);
        }
        let kept = match serde_json::from_str::<Kept>(&outcome) {
            Ok(kept) => kept,
            // Kept whole by an earlier build (within the retention): what it held.
            Err(err) => serde_json::from_str::<Outcome>(&outcome)
                .map(|whole| Kept::of(&whole))
                .map_err(|_| WorkError::Corrupt(err.to_string()))?,
        };
        let mut conn = self.db.pool().acquire().await?;
        let outcome = match kept {
            // The draft as it is now: the same as first answered unless it changed since
            // (then the newer version, so the client does not build on a stale one); a
            // draft deleted since is answered as gone.
            Kept::Saved { id, created, .. } => match find(&mut conn, user_id, &id).await? {
                Some(draft) => Outcome::Saved { draft, created },
                None => Outcome::NotFound,
            },
            Kept::Conflict { id } | Kept::ReadOnly { id } => {
                refusal(&mut conn, user_id, &id).await?
            }
            Kept::Deleted => Outcome::Deleted,
            Kept::Settings { settings } => Outcome::Settings { settings },
            Kept::NotFound => Outcome::NotFound,
            Kept::TooManyDrafts => Outcome::TooManyDrafts,
        };
        Ok(Some(Applied {
            outcome,
            replayed: true,
        }))
    }

    /// Deletes every draft of the user that is not submitted (submitted ones are records);
    /// returns how many.
    pub async fn delete_unsubmitted(&self, user_id: i64) -> Result<u64, WorkError> {
        let done = sqlx::query("DELETE FROM drafts WHERE user_id = $1 AND submitted_at IS NULL")
            .bind(user_id)
            .execute(self.db.writer())
            .await?;
        Ok(done.rows_affected())
    }

    /// Empties every account's work (the end-to-end suite's reset between tests).
    pub async fn forget_everything(&self) -> Result<(), WorkError> {
        let mut tx = self.db.writer().begin().await?;
        for table in ["drafts", "user_settings", "idempotency_keys"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the answers of keys older than the retention; returns how many.
    pub async fn delete_expired_keys(&self, now: OffsetDateTime) -> Result<u64, WorkError> {
        let done = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(millis(now - IDEMPOTENCY_RETENTION))
            .execute(self.db.writer())
            .await?;
        Ok(done.rows_affected())
    }
}

async fn find(
    conn: &mut AnyConnection,
    user_id: i64,
    id: &str,
) -> Result<Option<StoredDraft>, WorkError> {
    let row: Option<DraftRow> = sqlx::query_as(&format!(
        "SELECT {DRAFT_COLUMNS} FROM drafts WHERE user_id = $1 AND id = $2"
    ))
    .bind(user_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(draft))
}

/// Why a conditional write changed nothing: the draft is gone, submitted, or elsewhere.
/// Runs a conditional update of one draft, whose last three parameters are the user, the
/// draft and the version the change is based on: the draft it saved, or why it saved none.
async fn saved_or_refused<'q>(
    conn: &mut AnyConnection,
    user_id: i64,
    id: &'q str,
    expected: u64,
    update: sqlx::query::QueryAs<'q, sqlx::Any, DraftRow, sqlx::any::AnyArguments<'q>>,
) -> Result<Outcome, WorkError> {
    let written = update
        .bind(user_id)
        .bind(id)
        .bind(version(expected))
        .fetch_optional(&mut *conn)
        .await?;
    match written {
        Some(row) => Ok(Outcome::Saved {
            draft: draft(row),
            created: false,
        }),
        None => refusal(conn, user_id, id).await,
    }
}

async fn refusal(conn: &mut AnyConnection, user_id: i64, id: &str) -> Result<Outcome, WorkError> {
    Ok(match find(conn, user_id, id).await? {
        None => Outcome::NotFound,
        Some(current) if current.is_submitted() => Outcome::ReadOnly { current },
        Some(current) => Outcome::Conflict { current },
    })
}

async fn apply_in(
    conn: &mut AnyConnection,
    user_id: i64,
    operation: Operation,
    now: OffsetDateTime,
) -> Result<Outcome, WorkError> {
    let at = millis(now);
    Ok(match operation {
        Operation::PutDraft {
            id,
            input,
            precondition: Precondition::Absent,
        } => {
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM drafts WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await?;
            if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_DRAFTS {
                return Ok(match find(conn, user_id, &id).await? {
                    Some(current) => Outcome::Conflict { current },
                    None => Outcome::TooManyDrafts,
                });
            }
            let created = sqlx::query(
                "INSERT INTO drafts (user_id, id, title, body, version, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 1, $5, $5) ON CONFLICT (user_id, id) DO NOTHING",
            )
            .bind(user_id)
            .bind(&id)
            .bind(&input.title)
            .bind(&input.body)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            if created.rows_affected() == 0 {
                return refusal(conn, user_id, &id).await;
            }
            Outcome::Saved {
                draft: StoredDraft {
                    id,
                    title: input.title,
                    body: input.body,
                    version: 1,
                    updated_at: from_millis(at),
                    submitted_at: None,
                },
                created: true,
            }
        }
        Operation::PutDraft {
            id,
            input,
            precondition: Precondition::Version(expected),
        } => {
            let sql = format!(
                "UPDATE drafts SET title = $1, body = $2, version = version + 1, updated_at = $3 \
                 WHERE user_id = $4 AND id = $5 AND version = $6 AND submitted_at IS NULL \
                 RETURNING {DRAFT_COLUMNS}"
            );
            let updated = sqlx::query_as(&sql)
                .bind(&input.title)
                .bind(&input.body)
                .bind(at);
            saved_or_refused(conn, user_id, &id, expected, updated).await?
        }
        Operation::DeleteDraft {
            id,
            version: expected,
        } => {
            let deleted = sqlx::query(
                "DELETE FROM drafts \
                 WHERE user_id = $1 AND id = $2 AND version = $3 AND submitted_at IS NULL",
            )
            .bind(user_id)
            .bind(&id)
            .bind(version(expected))
            .execute(&mut *conn)
            .await?;
            if deleted.rows_affected() == 1 {
                Outcome::Deleted
            } else {
                refusal(conn, user_id, &id).await?
            }
        }
        Operation::SubmitDraft {
            id,
            version: expected,
        } => {
            let sql = format!(
                "UPDATE drafts SET version = version + 1, updated_at = $1, submitted_at = $1 \
                 WHERE user_id = $2 AND id = $3 AND version = $4 AND submitted_at IS NULL \
                 RETURNING {DRAFT_COLUMNS}"
            );
            let submitted = sqlx::query_as(&sql).bind(at);
            saved_or_refused(conn, user_id, &id, expected, submitted).await?
        }
        Operation::PutSettings { settings } => {
            let json =
                serde_json::to_string(&settings).map_err(|e| WorkError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO user_settings (user_id, settings, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings, \
                 updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(json)
            .bind(at)
            .execute(&mut *conn)
            .await?;
            Outcome::Settings { settings }
        }
    })
}
