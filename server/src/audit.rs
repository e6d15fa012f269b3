//! The audit log: security-relevant events in the `audit_events` table.
//!
//! Rows hold the UTC time, the user, a hash of the session id, the reason, and the client's
//! address and user agent; never a token or a password. A failing write is logged and does
//! not fail the request it describes.

use sqlx::SqlitePool;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::session::{ClientSummary, SessionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    SignIn,
    SignInFailed,
    SignInThrottled,
    SignOut,
    Expired,
    ReuseDetected,
    FingerprintMismatch,
    CsrfRejected,
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
        }
    }
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
}

#[derive(Debug, Clone)]
pub struct AuditLog {
    pool: SqlitePool,
}

impl AuditLog {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub async fn record(&self, event: AuditEvent<'_>, now: OffsetDateTime) {
        let at = now.format(&Rfc3339).unwrap_or_default();
        let client = event.client.cloned().unwrap_or_default();
        let result = sqlx::query(
            "INSERT INTO audit_events (at, event, user_id, username, session_hash, reason, ip, user_agent) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(at)
        .bind(event.kind.as_str())
        .bind(event.user_id)
        .bind(event.username.map(|u| u.chars().take(64).collect::<String>()))
        .bind(event.session.map(SessionId::public_id))
        .bind(event.reason)
        .bind(client.ip)
        .bind(client.user_agent)
        .execute(&self.pool)
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
            "SELECT at, event, user_id, username, session_hash, reason, ip, user_agent \
             FROM audit_events ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }
}
