//! Where a ceremony's state waits between its two requests: in the session store's place —
//! the database with the embedded store, Redis when sessions are shared — so that any
//! instance can finish a ceremony another started. Each lives five minutes on the service's
//! clock and is taken once: the read deletes it, so two answers to one challenge never both
//! count.

use rand::RngCore;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::db::Database;
use crate::redis_connection::RedisConnection;
use crate::session::store::StoreError;

/// How long a ceremony may take, from its options to its answer.
pub const LIFETIME: Duration = Duration::minutes(5);

/// Which ceremony a state belongs to: an answer is only ever checked against its own kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// Signing in; no user yet.
    SignIn,
    /// Adding a passkey to this user's account.
    Registration { user_id: i64 },
}

impl CeremonyKind {
    fn tag(self) -> String {
        match self {
            Self::SignIn => "sign-in".into(),
            Self::Registration { user_id } => format!("registration:{user_id}"),
        }
    }
}

/// The store of ceremony states.
#[derive(Debug, Clone)]
pub enum Ceremonies {
    Database(Database),
    Redis {
        connection: RedisConnection,
        prefix: String,
    },
}

/// A ceremony's id as the client holds it: 256 random bits, base64url.
fn new_id() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps under: a digest of the id, so a read of the store cannot answer a
/// ceremony on anyone's behalf.
fn stored_key(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

impl Ceremonies {
    /// Keeps `state` for a ceremony of `kind` until `now` + [`LIFETIME`]; answers its id.
    pub async fn put(
        &self,
        kind: CeremonyKind,
        state: &str,
        now: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let id = new_id();
        let key = stored_key(&id);
        let expires_at = (now + LIFETIME).unix_timestamp();
        let tag = kind.tag();
        match self {
            Self::Database(db) => {
                sqlx::query(
                    "INSERT INTO passkey_ceremonies (id, kind, state, expires_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&key)
                .bind(&tag)
                .bind(state)
                .bind(expires_at)
                .execute(db.writer())
                .await?;
            }
            Self::Redis { connection, prefix } => {
                let key = &format!("{prefix}:ceremony:{key}");
                let value = &format!("{expires_at}\n{tag}\n{state}");
                // Redis lets it go on its own clock a little after ours would.
                let seconds = LIFETIME.whole_seconds() + 60;
                connection
                    .call("ceremony write", |mut c| async move {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(value)
                            .arg("EX")
                            .arg(seconds)
                            .query_async::<()>(&mut c)
                            .await
                    })
                    .await?;
            }
        }
        Ok(id)
    }

    /// The state of ceremony `id`, if it is of `kind` and has not expired at `now`. Taken
    /// either way: an answer to a wrong or stale ceremony spends it.
    pub async fn take(
        &self,
        id: &str,
        kind: CeremonyKind,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let key = stored_key(id);
        let stored: Option<(i64, String, String)> = match self {
            Self::Database(db) => sqlx::query_as(
                "DELETE FROM passkey_ceremonies WHERE id = $1 RETURNING expires_at, kind, state",
            )
            .bind(&key)
            .fetch_optional(db.writer())
            .await?,
            Self::Redis { connection, prefix } => {
                let key = &format!("{prefix}:ceremony:{key}");
                let value: Option<String> = connection
                    .call("ceremony take", |mut c| async move {
                        redis::cmd("GETDEL").arg(key).query_async(&mut c).await
                    })
                    .await?;
                value.and_then(|value| {
                    let mut parts = value.splitn(3, '\n');
                    let expires_at = parts.next()?.parse().ok()?;
                    let tag = parts.next()?.to_owned();
                    let state = parts.next()?.to_owned();
                    Some((expires_at, tag, state))
                })
            }
        };
        Ok(stored.and_then(|(expires_at, tag, state)| {
            (tag == kind.tag() && now.unix_timestamp() < expires_at).then_some(state)
        }))
    }

    /// Deletes the database's expired ceremonies (Redis expires its own).
    pub async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        match self {
            Self::Database(db) => Ok(sqlx::query(
                "DELETE FROM passkey_ceremonies WHERE expires_at <= $1",
            )
            .bind(now.unix_timestamp())
            .execute(db.writer())
            .await?
            .rows_affected()),
            Self::Redis { .. } => Ok(0),
        }
    }
}
