//! The audit log: security-relevant events in the `audit_events` table.
//!
//! Rows hold the UTC time, the user, a hash of the session id, the reason, and the client's
//! address and user agent; never a token or a password. A failing write is logged and does
//! not fail the request it describes.
//!
//! Refusals of anonymous requests ([`AuditKind::is_coalesced`]) must not cost a durable write
//! each, or anyone could fill the disk: they are counted in memory, one entry per kind,
//! address and minute, and written as one row with a count when [`AuditLog::flush`] runs
//! (every few seconds, and at shutdown). Every row is deleted after the retention period.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

use crate::db::Database;
use crate::session::{ClientSummary, SessionId, SessionRecord};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    SignIn,
    SignInFailed,
    SignInThrottled,
    SignOut,
    Expired,
    ReuseDetected,
    FingerprintMismatch,
    CsrfRejected,
    /// The password was reset from the command line and every session ended.
    PasswordReset,
    /// The user changed their password; their other sessions ended.
    PasswordChanged,
    /// A password change was refused: the current password given was wrong.
    PasswordChangeFailed,
    /// A session was ended by its owner from another one, by an operator, or by the
    /// session limit (the reason says which).
    SessionEnded,
    /// A passkey was added to the account (its name in the reason).
    PasskeyRegistered,
    /// A passkey was removed from the account (its name in the reason).
    PasskeyRemoved,
    /// The account was disabled (its sessions ended) or enabled again.
    AccountDisabled,
    AccountEnabled,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignInThrottled => "sign_in_throttled",
            Self::SignOut => "sign_out",
            Self::Expired => "session_expired",
            Self::ReuseDetected => "token_reuse_revoked",
            Self::FingerprintMismatch => "fingerprint_mismatch",
            Self::CsrfRejected => "csrf_rejected",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::PasswordChangeFailed => "password_change_failed",
            Self::SessionEnded => "session_ended",
            Self::PasskeyRegistered => "passkey_registered",
            Self::PasskeyRemoved => "passkey_removed",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
        }
    }

    /// Refusals that anonymous traffic can cause at will: coalesced, never a row each.
    pub fn is_coalesced(self) -> bool {
        matches!(self, Self::CsrfRejected | Self::SignInThrottled)
    }
}

/// Above this many pending (kind, address, minute) entries, new addresses share one entry,
/// so a flood from many addresses costs bounded memory as well.
const MAX_PENDING: usize = 10_000;
/// The address recorded for the shared entry of [`MAX_PENDING`], and for unknown addresses.
const MANY_ADDRESSES: &str = "(many)";
const UNKNOWN_ADDRESS: &str = "(unknown)";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct PendingKey {
    kind: AuditKind,
    ip: String,
    /// The minute, as `2026-11-30T09:15Z`.
    bucket: String,
}

#[derive(Debug, Clone)]
struct Pending {
    first_at: OffsetDateTime,
    count: i64,
    reason: Option<String>,
    user_agent: Option<String>,
}

fn minute_bucket(now: OffsetDateTime) -> String {
    let (date, time) = (now.date(), now.time());
    format!("{date}T{:02}:{:02}Z", time.hour(), time.minute())
}

/// One event, filled in by whoever observed it.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    pub kind: AuditKind,
    pub user_id: Option<i64>,
    pub username: Option<&'a str>,
    pub session: Option<&'a SessionId>,
    pub reason: Option<&'a str>,
    pub client: Option<&'a ClientSummary>,
}

impl<'a> AuditEvent<'a> {
    pub fn new(kind: AuditKind) -> Self {
        Self {
            kind,
            user_id: None,
            username: None,
            session: None,
            reason: None,
            client: None,
        }
    }

    /// An event in a signed-in session: its user, the session, and the request's client.
    pub fn in_session(
        kind: AuditKind,
        record: &'a SessionRecord,
        client: &'a ClientSummary,
    ) -> Self {
        Self::new(kind)
            .user(record.user.id)
            .username(&record.user.username)
            .session(&record.id)
            .client(client)
    }

    pub fn user(mut self, id: i64) -> Self {
        self.user_id = Some(id);
        self
    }

    pub fn username(mut self, name: &'a str) -> Self {
        self.username = Some(name);
        self
    }

    pub fn session(mut self, id: &'a SessionId) -> Self {
        self.session = Some(id);
        self
    }

    pub fn reason(mut self, reason: &'a str) -> Self {
        self.reason = Some(reason);
        self
    }

    pub fn client(mut self, client: &'a ClientSummary) -> Self {
        self.client = Some(client);
        self
    }
}

/// A stored event, as read back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditRow {
    pub at: String,
    pub event: String,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub session_hash: Option<String>,
    pub reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    db: Database,
    pending: Arc<Mutex<HashMap<PendingKey, Pending>>>,
}

impl AuditLog {
    pub fn new(db: &Database) -> Self {
        Self {
            db: db.clone(),
            pending: Arc::default(),
        }
    }

    /// Records an event: coalesced kinds in memory, every other kind as its own row.
    pub async fn record(&self, event: AuditEvent<'_>, now: OffsetDateTime) {
        if event.kind.is_coalesced() {
            self.count_refusal(&event, now);
        } else {
            self.insert(event, now).await;
        }
    }

    fn count_refusal(&self, event: &AuditEvent<'_>, now: OffsetDateTime) {
        let client = event.client.cloned().unwrap_or_default();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let mut key = PendingKey {
            kind: event.kind,
            ip: client.ip.unwrap_or_else(|| UNKNOWN_ADDRESS.to_owned()),
            bucket: minute_bucket(now),
        };
        if pending.len() >= MAX_PENDING && !pending.contains_key(&key) {
            key.ip = MANY_ADDRESSES.to_owned();
        }
        let entry = pending.entry(key).or_insert_with(|| Pending {
            first_at: now,
            count: 0,
            reason: event.reason.map(str::to_owned),
            user_agent: client.user_agent,
        });
        entry.count += 1;
    }

    /// Writes the coalesced refusals counted so far: one row per kind, address and minute,
    /// added to the row of an earlier flush in the same minute. Returns the rows written.
    pub async fn flush(&self) -> Result<usize, sqlx::Error> {
        let pending =
            std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner));
        let rows = pending.len();
        let mut unwritten = Vec::new();
        let mut result = Ok(rows);
        for (key, entry) in pending {
            let written = sqlx::query(
                "INSERT INTO audit_events (at, event, ip, user_agent, reason, count, bucket) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (event, ip, bucket) WHERE bucket IS NOT NULL \
                 DO UPDATE SET count = audit_events.count + excluded.count",
            )
            .bind(vigil::timestamp::format(entry.first_at).unwrap_or_default())
            .bind(key.kind.as_str())
            .bind(&key.ip)
            .bind(&entry.user_agent)
            .bind(&entry.reason)
            .bind(entry.count)
            .bind(&key.bucket)
            .execute(self.db.writer())
            .await;
            if let Err(err) = written {
                unwritten.push((key, entry));
                result = Err(err);
            }
        }
        if !unwritten.is_empty() {
            // Kept for the next flush rather than lost.
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            for (key, entry) in unwritten {
                pending
                    .entry(key)
                    .and_modify(|p| p.count += entry.count)
                    .or_insert(entry);
            }
        }
        result
    }

    /// Deletes rows older than `retention` before `now`; returns how many.
    pub async fn delete_older_than(
        &self,
        retention: Duration,
        now: OffsetDateTime,
    ) -> Result<u64, sqlx::Error> {
        let cutoff = vigil::timestamp::format(
            (now - retention)
                .replace_nanosecond(0)
                .unwrap_or(now - retention),
        )
        .unwrap_or_default();
        let done = sqlx::query("DELETE FROM audit_events WHERE at < $1")
            .bind(cutoff)
            .execute(self.db.writer())
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert(&self, event: AuditEvent<'_>, now: OffsetDateTime) {
        let at = vigil::timestamp::format(now).unwrap_or_default();
        let client = event.client.cloned().unwrap_or_default();
        let result = sqlx::query(
            "INSERT INTO audit_events (at, event, user_id, username, session_hash, reason, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(at)
        .bind(event.kind.as_str())
        .bind(event.user_id)
        .bind(event.username.map(|u| u.chars().take(64).collect::<String>()))
        .bind(event.session.map(SessionId::public_id))
        .bind(event.reason)
        .bind(client.ip)
        .bind(client.user_agent)
        .execute(self.db.writer())
        .await;
        match result {
            Ok(_) => tracing::info!(event = event.kind.as_str(), reason = event.reason, "audit"),
            Err(err) => {
                tracing::error!(event = event.kind.as_str(), error = %err, "audit write failed")
            }
        }
    }

    /// The newest events first.
    pub async fn recent(&self, limit: i64) -> Result<Vec<AuditRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT at, event, user_id, username, session_hash, reason, ip, user_agent, count \
             FROM audit_events ORDER BY id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.db.pool())
        .await
    }
}
