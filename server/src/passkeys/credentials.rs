//! The passkeys each account holds, in the database beside the accounts (SQLite or Postgres):
//! one row per credential, with webauthn-rs' record of it (public key, sign counter, backup
//! flags) as JSON, the owner's WebAuthn user handle, and the name and times people see.

use time::OffsetDateTime;
use vigil::passkeys::PasskeyView;
use webauthn_rs::prelude::{Passkey, Uuid};

use crate::db::Database;
use crate::session::store::StoreError;

/// A passkey as stored, found by its credential id.
#[derive(Debug, Clone)]
pub struct StoredPasskey {
    pub id: String,
    pub user_id: i64,
    /// The user handle the authenticator keeps beside the credential.
    pub user_handle: Uuid,
    pub passkey: Passkey,
    /// The sign counter as it was read: a use is recorded only from this value.
    pub read_count: i64,
}

#[derive(Debug, Clone)]
pub struct Credentials {
    db: Database,
}

/// The longest credential id WebAuthn allows is 1,023 bytes: 1,364 base64url characters.
const MAX_ID_CHARS: usize = 1_364;

/// Whether `id` could name a passkey at all (base64url, bounded): anything else is answered
/// without asking the store.
pub fn is_credential_id(id: &str) -> bool {
    (1..=MAX_ID_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A credential id as the API and the table name it: base64url without padding.
pub fn credential_id(raw: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("a stored passkey: {what}"))
}

fn time_of(seconds: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(corrupt)
}

type ViewRow = (String, String, i64, Option<i64>, i64);

fn view_of(
    (id, name, created_at, last_used_at, backed_up): ViewRow,
) -> Result<PasskeyView, StoreError> {
    Ok(PasskeyView {
        id,
        name,
        created_at: time_of(created_at)?,
        last_used_at: last_used_at.map(time_of).transpose()?,
        backed_up: backed_up != 0,
    })
}

/// webauthn-rs' record of a credential as the table keeps it: the record as JSON (its
/// documented way to persist it), and beside it the sign counter and whether the credential is
/// backed up, which the record keeps to itself but the table needs to query.
struct Recorded {
    json: String,
    count: i64,
    backed_up: bool,
}

impl Recorded {
    fn of(passkey: &Passkey) -> Result<Self, StoreError> {
        let value = serde_json::to_value(passkey).map_err(corrupt)?;
        let count = value["cred"]["counter"].as_i64().unwrap_or(0);
        let backed_up = value["cred"]["backup_state"].as_bool().unwrap_or(false);
        Ok(Self {
            json: value.to_string(),
            count,
            backed_up,
        })
    }
}

impl Credentials {
    pub fn new(db: &Database) -> Self {
        Self { db: db.clone() }
    }

    /// The user's passkeys, newest first.
    pub async fn list(&self, user_id: i64) -> Result<Vec<PasskeyView>, StoreError> {
        let rows: Vec<ViewRow> = sqlx::query_as(
            "SELECT id, name, created_at, last_used_at, backed_up FROM passkeys \
             WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(view_of).collect()
    }

    /// The credential ids the user already holds (so an authenticator is not asked to
    /// register one of them twice).
    pub async fn ids_of(&self, user_id: i64) -> Result<Vec<Vec<u8>>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(self.db.pool())
            .await?;
        use base64::Engine;
        rows.into_iter()
            .map(|(id,)| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(id)
                    .map_err(corrupt)
            })
            .collect()
    }

    /// The user's WebAuthn handle: the one their passkeys already carry, else a new one.
    pub async fn handle_of(&self, user_id: i64) -> Result<Uuid, StoreError> {
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT user_handle FROM passkeys WHERE user_id = $1 ORDER BY created_at, id LIMIT 1",
        )
        .bind(user_id)
        .fetch_optional(self.db.pool())
        .await?;
        match stored {
            Some(handle) => Uuid::parse_str(&handle).map_err(corrupt),
            None => Ok(Uuid::new_v4()),
        }
    }

    /// The passkey with this credential id, whoever holds it.
    pub async fn find(&self, raw_id: &[u8]) -> Result<Option<StoredPasskey>, StoreError> {
        let id = credential_id(raw_id);
        let row: Option<(i64, String, String, i64)> = sqlx::query_as(
            "SELECT user_id, user_handle, credential, sign_count FROM passkeys WHERE id = $1",
        )
        .bind(&id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|(user_id, handle, credential, read_count)| {
            Ok(StoredPasskey {
                id: id.clone(),
                user_id,
                user_handle: Uuid::parse_str(&handle).map_err(corrupt)?,
                passkey: serde_json::from_str(&credential).map_err(corrupt)?,
                read_count,
            })
        })
        .transpose()
    }

    /// Stores a new passkey; `None` if its credential id is already registered (to anyone).
    pub async fn insert(
        &self,
        user_id: i64,
        user_handle: Uuid,
        name: &str,
        passkey: &Passkey,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyView>, StoreError> {
        let id = credential_id(passkey.cred_id());
        let Recorded {
            json,
            count,
            backed_up,
        } = Recorded::of(passkey)?;
        let inserted = sqlx::query(
            "INSERT INTO passkeys (id, user_id, user_handle, name, credential, created_at, \
             backed_up, sign_count) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(user_id)
        .bind(user_handle.to_string())
        .bind(name)
        .bind(json)
        .bind(now.unix_timestamp())
        .bind(i64::from(backed_up))
        .bind(count)
        .execute(self.db.writer())
        .await?
        .rows_affected();
        Ok((inserted == 1).then(|| PasskeyView {
            id,
            name: name.to_owned(),
            created_at: now,
            last_used_at: None,
            backed_up,
        }))
    }

    /// Records a sign-in with the passkey: when, and its counter and backup flags as the
    /// authenticator now reports them; only if nobody recorded one since it was read (`false`
    /// otherwise: two answers checked against the same counter, of which one must lose).
    pub async fn used(
        &self,
        stored: &StoredPasskey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let Recorded {
            json,
            count,
            backed_up,
        } = Recorded::of(&stored.passkey)?;
        let updated = sqlx::query(
            "UPDATE passkeys SET last_used_at = $1, credential = $2, backed_up = $3, \
             sign_count = $4 WHERE id = $5 AND sign_count = $6",
        )
        .bind(now.unix_timestamp())
        .bind(json)
        .bind(i64::from(backed_up))
        .bind(count)
        .bind(&stored.id)
        .bind(stored.read_count)
        .execute(self.db.writer())
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Removes every passkey of every account (the end-to-end suite's reset).
    pub async fn forget_everything(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM passkeys")
            .execute(self.db.writer())
            .await?;
        Ok(())
    }

    /// Removes one of the user's passkeys; its name if there was one to remove.
    pub async fn remove(&self, user_id: i64, id: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar(
                "DELETE FROM passkeys WHERE id = $1 AND user_id = $2 RETURNING name",
            )
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.db.writer())
            .await?,
        )
    }
}
