//! Starting, checking, extending and ending sessions: the rules of SPEC §2 applied to a
//! token and the stored record on every request.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use vigil::claims::Claims;
use vigil::{Clock, ErrorCode, ExpiryReason, Problem, SessionInfo, TimeoutPolicy, UserSummary};

use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::session::store::{Replaced, SessionStore, SharedSessionStore, StoreError};
use crate::session::token::{IssuedToken, TokenError, TokenService, TokenSubject};
use crate::session::{
    ClientRequest, ClientSummary, EndReason, GenerationCheck, SessionId, SessionRecord,
    SessionState,
};
use crate::work::local_key::LocalKeys;

/// How the client presented its token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// The `__Host-` cookie of a browser.
    Cookie,
    /// `Authorization: Bearer` from an API client.
    Bearer,
}

/// A request whose token and session record both checked out.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub record: SessionRecord,
    pub claims: Claims,
    pub credential: CredentialKind,
}

/// What a request presented.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub token: &'a str,
    pub credential: CredentialKind,
    pub fingerprint: Option<&'a str>,
    pub client: ClientRequest<'a>,
}

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("no credentials")]
    Unauthenticated,
    #[error("credentials not valid")]
    Invalid,
    #[error("session expired ({0:?})")]
    Expired(ExpiryReason),
    #[error("token expired")]
    TokenExpired,
    #[error("session revoked")]
    Revoked,
    #[error("session not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("token signing failed")]
    Signing,
    /// Too many concurrent writers on one session; the client may retry.
    #[error("the session is being changed concurrently")]
    Contended,
}

impl AuthError {
    pub fn to_problem(&self, policy: &TimeoutPolicy) -> Problem {
        match self {
            Self::Unauthenticated => Problem::new(
                ErrorCode::Unauthenticated,
                "Sign in, or send a bearer token in the Authorization header.",
            ),
            Self::Invalid => Problem::new(
                ErrorCode::SessionInvalid,
                "The presented credentials could not be verified.",
            ),
            Self::Expired(reason) => {
                let limit = match reason {
                    ExpiryReason::Idle => policy.idle_timeout(),
                    ExpiryReason::Absolute => policy.absolute_timeout(),
                };
                Problem::session_expired(*reason, limit.whole_seconds())
            }
            Self::TokenExpired => Problem::new(
                ErrorCode::TokenExpired,
                "The access token expired; refresh it and retry the request once.",
            ),
            Self::Revoked => {
                Problem::new(ErrorCode::SessionRevoked, "This session has been ended.")
            }
            Self::NotFound => Problem::new(
                ErrorCode::SessionNotFound,
                "There is no record of this session.",
            ),
            Self::Store(_) | Self::Contended => store_unavailable(),
            Self::Signing => {
                Problem::new(ErrorCode::InternalError, "The token could not be signed.")
            }
        }
    }
}

/// Seconds a client should wait before retrying when the store is down.
pub const STORE_RETRY_AFTER_SECS: u64 = 5;

pub fn store_unavailable() -> Problem {
    let mut problem = Problem::new(
        ErrorCode::StoreUnavailable,
        "The session store cannot be reached right now.",
    );
    problem.retry_after = Some(STORE_RETRY_AFTER_SECS);
    problem
}

/// Hashes a client fingerprint so the raw value is never stored or put in a token.
pub fn fingerprint_hash(fingerprint: &str) -> String {
    hex::encode(Sha256::digest(fingerprint.as_bytes()))
}

#[derive(Clone)]
pub struct SessionService {
    store: SharedSessionStore,
    tokens: Arc<TokenService>,
    local_keys: LocalKeys,
    clock: Arc<dyn Clock>,
    policy: TimeoutPolicy,
    audit: AuditLog,
}

impl std::fmt::Debug for SessionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl SessionService {
    pub fn new(
        store: SharedSessionStore,
        tokens: TokenService,
        clock: Arc<dyn Clock>,
        policy: TimeoutPolicy,
        audit: AuditLog,
        local_keys: LocalKeys,
    ) -> Self {
        Self {
            store,
            tokens: Arc::new(tokens),
            local_keys,
            clock,
            policy,
            audit,
        }
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    pub fn policy(&self) -> &TimeoutPolicy {
        &self.policy
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn store(&self) -> &SharedSessionStore {
        &self.store
    }

    /// The session as its holder sees it (`SessionInfo` of SPEC §3), as of now.
    pub fn info(&self, record: &SessionRecord) -> SessionInfo {
        let deadlines = record.deadlines(&self.policy);
        SessionInfo {
            user: record.user.clone(),
            session_id: record.id.public_id(),
            created_at: record.created_at,
            last_activity_at: record.last_activity_at,
            idle_expires_at: record.idle_expires_at,
            absolute_expires_at: record.absolute_expires_at,
            warn_at: deadlines.warn_at(),
            server_now: self.clock.now(),
            policy: self.policy.into(),
            local_key: Some(self.local_keys.for_user(record.user.id)),
        }
    }

    /// Ends every live session of a user (a password reset); returns how many were ended.
    pub async fn end_all_for_user(
        &self,
        user_id: i64,
        reason: EndReason,
    ) -> Result<usize, AuthError> {
        end_sessions_of(self.store.as_ref(), user_id, reason, self.clock.now()).await
    }

    /// A token lives for the idle timeout, and never past the session's absolute limit (the
    /// record's retention relies on it).
    fn token_lifetime(&self, record: &SessionRecord, now: OffsetDateTime) -> Duration {
        self.policy
            .idle_timeout()
            .min(record.absolute_expires_at - now)
            .max(Duration::ZERO)
    }

    fn issue(&self, record: &SessionRecord, now: OffsetDateTime) -> Result<IssuedToken, AuthError> {
        let subject = TokenSubject {
            user_id: record.user.id,
            session_id: &record.id,
            generation: record.generation,
            fingerprint_hash: record.fingerprint_hash.as_deref(),
        };
        self.tokens
            .issue(&subject, now, self.token_lifetime(record, now))
            .map_err(|_| AuthError::Signing)
    }

    /// Starts a new session (always under a fresh id) for a user who just proved who they are.
    pub async fn start(
        &self,
        user: &UserSummary,
        fingerprint: Option<&str>,
        client: ClientSummary,
    ) -> Result<(SessionRecord, IssuedToken), AuthError> {
        let now = self.clock.now();
        let record = SessionRecord::start(
            user,
            now,
            &self.policy,
            fingerprint.map(fingerprint_hash),
            client,
        );
        self.store.create(&record).await?;
        let token = self.issue(&record, now)?;
        Ok((record, token))
    }

    /// Checks a presented token against its signature and its session record.
    ///
    /// `allow_expired_token` is for the refresh endpoint: a token past its own `exp` may
    /// still be exchanged while its session lives.
    pub async fn authenticate(
        &self,
        presented: Presented<'_>,
        allow_expired_token: bool,
    ) -> Result<Authenticated, AuthError> {
        let now = self.clock.now();
        let client = presented.client;
        let (claims, token_expired) = match self.tokens.verify(presented.token, now) {
            Ok(claims) => (claims, false),
            Err(TokenError::Expired(claims)) => (*claims, true),
            Err(_) => return Err(AuthError::Invalid),
        };
        let id = SessionId::parse(&claims.sid).ok_or(AuthError::Invalid)?;
        let user_id: i64 = claims.sub.parse().map_err(|_| AuthError::Invalid)?;
        // A record past its retention counts as gone, whether or not a sweep (or Redis'
        // expiry, on Redis' clock) has removed it yet: the answer never depends on when
        // the store last cleaned up.
        let loaded = self.store.load(user_id, &id).await?;
        let Some(mut record) = loaded.filter(|r| r.retain_until() > now) else {
            // Records are kept until every token they issued is past its `exp` and the
            // leeway (past the absolute deadline): a genuine token whose record is gone
            // belongs to a session whose lifetime ran out.
            return Err(if token_expired {
                AuthError::Expired(ExpiryReason::Absolute)
            } else {
                AuthError::NotFound
            });
        };
        if record.check_generation(claims.gen, now) == GenerationCheck::Ahead {
            // A stale read (a replica, a cache) or a lost write: read again. What is still
            // behind the token after that is taken as current, never as reuse.
            record = self
                .store
                .load(user_id, &id)
                .await?
                .ok_or(AuthError::NotFound)?;
        }
        if record.user.id != user_id {
            return Err(AuthError::Invalid);
        }
        if let Some(expected) = record.fingerprint_hash.as_deref() {
            let given = presented
                .fingerprint
                .map(fingerprint_hash)
                .unwrap_or_default();
            if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
                self.record_event(AuditKind::FingerprintMismatch, &record, None, client)
                    .await;
                return Err(AuthError::Invalid);
            }
        }
        let record = self.check_alive(record, now, client).await?;
        if record.check_generation(claims.gen, now) == GenerationCheck::Reused {
            self.revoke_for_reuse(record, client).await?;
            return Err(AuthError::Revoked);
        }
        if token_expired && !allow_expired_token {
            return Err(AuthError::TokenExpired);
        }
        Ok(Authenticated {
            record,
            claims,
            credential: presented.credential,
        })
    }

    async fn record_event(
        &self,
        kind: AuditKind,
        record: &SessionRecord,
        reason: Option<&str>,
        client: ClientRequest<'_>,
    ) {
        let summary = client.summary();
        let mut event = AuditEvent::new(kind)
            .user(record.user.id)
            .session(&record.id)
            .client(&summary);
        if let Some(reason) = reason {
            event = event.reason(reason);
        }
        self.audit.record(event, self.clock.now()).await;
    }

    async fn revoke_for_reuse(
        &self,
        record: SessionRecord,
        client: ClientRequest<'_>,
    ) -> Result<(), AuthError> {
        tracing::warn!(session = %record.id.public_id(), "superseded token reused; session revoked");
        self.record_event(AuditKind::ReuseDetected, &record, Some("reuse"), client)
            .await;
        self.end(record, EndReason::Reuse).await
    }

    /// The record if it is alive; otherwise the reason, with an expiry written down as a
    /// tombstone so later requests keep getting the same answer.
    async fn check_alive(
        &self,
        record: SessionRecord,
        now: OffsetDateTime,
        client: ClientRequest<'_>,
    ) -> Result<SessionRecord, AuthError> {
        match record.state_at(now) {
            SessionState::Alive => Ok(record),
            SessionState::Ended(tombstone) => Err(ended_error(tombstone.reason)),
            SessionState::Expired(reason) => {
                self.record_event(AuditKind::Expired, &record, Some(reason.as_str()), client)
                    .await;
                self.end(record, reason.into()).await?;
                Err(AuthError::Expired(reason))
            }
        }
    }

    /// Writes a tombstone, retrying on conflict; the first reason written stands.
    async fn end(&self, record: SessionRecord, reason: EndReason) -> Result<(), AuthError> {
        end_record(self.store.as_ref(), record, reason, self.clock.now()).await
    }

    /// Extends the session (user activity) and rotates its token, with one conditional write.
    ///
    /// Writes are coalesced: within one heartbeat interval of the last recorded activity the
    /// record is left as it is (the idle deadline lags by at most that interval) and a token
    /// for the current generation is handed out. Concurrent refreshes of one token therefore
    /// produce exactly one new generation, and every one of them answers with a valid token.
    pub async fn refresh(
        &self,
        auth: &Authenticated,
        client: ClientRequest<'_>,
    ) -> Result<(SessionRecord, IssuedToken), AuthError> {
        let mut record = auth.record.clone();
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let now = self.clock.now();
            record = self.check_alive(record, now, client).await?;
            let recent = now - record.last_activity_at < self.policy.heartbeat_interval();
            match record.check_generation(auth.claims.gen, now) {
                GenerationCheck::Reused => {
                    self.revoke_for_reuse(record, client).await?;
                    return Err(AuthError::Revoked);
                }
                // Someone rotated a moment ago (another tab, a concurrent request).
                GenerationCheck::InGrace => return self.current_token(record, now),
                GenerationCheck::Current if recent => return self.current_token(record, now),
                GenerationCheck::Current | GenerationCheck::Ahead => {}
            }
            let mut next = record.clone();
            next.touch(now, &self.policy);
            next.rotate(auth.claims.gen, now);
            match self.store.replace(&next).await? {
                Replaced::Written(version) => {
                    next.version = version;
                    let token = self.issue(&next, now)?;
                    return Ok((next, token));
                }
                Replaced::Conflict => {
                    record = self
                        .store
                        .load(record.user.id, &record.id)
                        .await?
                        .ok_or(AuthError::NotFound)?;
                }
            }
        }
        Err(AuthError::Contended)
    }

    /// Records user activity (a change the user made): the idle deadline moves, the token
    /// stays. Coalesced like a refresh: within one heartbeat interval of the last recorded
    /// activity nothing is written. An ended session is never brought back.
    pub async fn record_activity(
        &self,
        mut record: SessionRecord,
    ) -> Result<SessionRecord, AuthError> {
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let now = self.clock.now();
            let recent = now - record.last_activity_at < self.policy.heartbeat_interval();
            if recent || record.state_at(now) != SessionState::Alive {
                return Ok(record);
            }
            let mut next = record.clone();
            next.touch(now, &self.policy);
            match self.store.replace(&next).await? {
                Replaced::Written(version) => {
                    next.version = version;
                    return Ok(next);
                }
                Replaced::Conflict => match self.store.load(record.user.id, &record.id).await? {
                    Some(fresh) => record = fresh,
                    None => return Ok(record),
                },
            }
        }
        Err(AuthError::Contended)
    }

    fn current_token(
        &self,
        record: SessionRecord,
        now: OffsetDateTime,
    ) -> Result<(SessionRecord, IssuedToken), AuthError> {
        let token = self.issue(&record, now)?;
        Ok((record, token))
    }

    /// Ends the session; its tombstone refuses the token from now on, on every instance.
    pub async fn logout(
        &self,
        auth: &Authenticated,
        client: ClientRequest<'_>,
    ) -> Result<(), AuthError> {
        self.end(auth.record.clone(), EndReason::Logout).await?;
        self.record_event(AuditKind::SignOut, &auth.record, None, client)
            .await;
        Ok(())
    }
}

/// How often a write is retried after losing a race before giving up.
const MAX_WRITE_ATTEMPTS: usize = 8;

/// Writes a tombstone with one conditional write, re-reading on conflict; the first reason
/// written stands.
async fn end_record(
    store: &dyn SessionStore,
    mut record: SessionRecord,
    reason: EndReason,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    for _ in 0..MAX_WRITE_ATTEMPTS {
        if record.ended.is_some() {
            return Ok(());
        }
        record.end(reason, now);
        match store.replace(&record).await? {
            Replaced::Written(_) => return Ok(()),
            Replaced::Conflict => match store.load(record.user.id, &record.id).await? {
                Some(fresh) => record = fresh,
                None => return Ok(()),
            },
        }
    }
    Err(AuthError::Contended)
}

/// Ends every live session of a user as of `now`; returns how many were ended. Also used by
/// the command line, which has a store but no running service.
pub async fn end_sessions_of(
    store: &dyn SessionStore,
    user_id: i64,
    reason: EndReason,
    now: OffsetDateTime,
) -> Result<usize, AuthError> {
    let mut ended = 0;
    for record in store.for_user(user_id).await? {
        if record.state_at(now) == SessionState::Alive {
            end_record(store, record, reason, now).await?;
            ended += 1;
        }
    }
    Ok(ended)
}

fn ended_error(reason: EndReason) -> AuthError {
    match reason {
        EndReason::Idle => AuthError::Expired(ExpiryReason::Idle),
        EndReason::Absolute => AuthError::Expired(ExpiryReason::Absolute),
        EndReason::Logout | EndReason::Revoked | EndReason::Reuse => AuthError::Revoked,
    }
}
