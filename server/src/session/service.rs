//! Starting, checking, extending and ending sessions: the rules of SPEC §2 applied to a
//! token and the stored record on every request.

use std::future::Future;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use vigil::claims::Claims;
use vigil::sessions::SessionView;
use vigil::{Clock, ExpiryReason, SessionInfo, TimeoutPolicy, UserSummary};

use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::metrics::Metrics;
use crate::session::store::{
    Created, NewSession, Replaced, SessionStore, SharedSessionStore, StoreError,
};
use crate::session::LocalKeys;
use crate::session::{masked_address, Device};
use crate::session::{
    ClientRequest, ClientSummary, EndReason, GenerationCheck, SessionId, SessionRecord,
    SessionState, Tombstone,
};
use crate::session::{IssuedToken, TokenError, TokenService, TokenSubject};
use crate::session::{LimitPolicy, SessionRules};

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
    pub claims: Arc<Claims>,
    pub credential: CredentialKind,
    /// The instant of the verdict: what the request is answered as of (one clock read).
    pub at: OffsetDateTime,
}

/// The answer to a refresh.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub record: SessionRecord,
    /// A token of the record's current generation; `None` when the presented token is
    /// still the current one (nothing was written).
    pub token: Option<IssuedToken>,
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
    /// A deadline passed; the timeout that ran out, in seconds, travels with it.
    #[error("session expired ({0:?})")]
    Expired(ExpiryReason, i64),
    #[error("token expired")]
    TokenExpired,
    /// Ended on purpose; why, as its holder is told.
    #[error("session revoked")]
    Revoked(Option<vigil::events::EndedBecause>),
    #[error("session not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("token signing failed")]
    Signing,
    /// Too many concurrent writers on one session; the client may retry.
    #[error("the session is being changed concurrently")]
    Contended,
    /// The user has as many sessions as allowed and the policy is to refuse.
    #[error("the session limit is reached")]
    LimitReached,
    /// A sensitive action, and the sign-in is older than the step-up window.
    #[error("a recent sign-in is required")]
    ReauthenticationRequired,
}

/// Hashes a client fingerprint so the raw value is never stored or put in a token.
pub fn fingerprint_hash(fingerprint: &str) -> String {
    hex::encode(Sha256::digest(fingerprint.as_bytes()))
}

/// The timeout that ran out, for `session_expired`'s `session_timeout`.
fn expired(reason: ExpiryReason, policy: &TimeoutPolicy) -> AuthError {
    let limit = match reason {
        ExpiryReason::Idle => policy.idle_timeout(),
        ExpiryReason::Absolute => policy.absolute_timeout(),
    };
    AuthError::Expired(reason, limit.whole_seconds())
}

#[derive(Clone)]
pub struct SessionService {
    store: SharedSessionStore,
    tokens: Arc<TokenService>,
    local_keys: Arc<LocalKeys>,
    clock: Arc<dyn Clock>,
    rules: SessionRules,
    audit: AuditLog,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for SessionService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService")
            .field("store", &self.store)
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

impl SessionService {
    pub fn new(
        store: SharedSessionStore,
        tokens: TokenService,
        clock: Arc<dyn Clock>,
        rules: SessionRules,
        audit: AuditLog,
        local_keys: LocalKeys,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            store,
            tokens: Arc::new(tokens),
            local_keys: Arc::new(local_keys),
            clock,
            rules,
            audit,
            metrics,
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Records an audit event now (a failing write is logged, never the request's failure).
    pub async fn audit_now(&self, event: AuditEvent<'_>) {
        self.audit.record(event, self.clock.now()).await;
    }

    /// The policy of an ordinary session: what the sign-in page states.
    pub fn policy(&self) -> &TimeoutPolicy {
        self.rules.policies.base()
    }

    /// The policy of a session of this role, with or without "remember me".
    pub fn policy_for(&self, role: vigil::Role, remember: bool) -> &TimeoutPolicy {
        self.rules.policies.for_session(role, remember)
    }

    /// The policy `record` lives by (its role, "remember me").
    pub fn policy_of(&self, record: &SessionRecord) -> &TimeoutPolicy {
        self.rules.policies.of(record)
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn store(&self) -> &SharedSessionStore {
        &self.store
    }

    /// The session as its holder sees it (`SessionInfo` of SPEC §3), as of now.
    pub fn info(&self, record: &SessionRecord) -> SessionInfo {
        self.info_at(record, self.clock.now())
    }

    /// The session as of `now`.
    pub fn info_at(&self, record: &SessionRecord, now: OffsetDateTime) -> SessionInfo {
        let policy = self.policy_of(record);
        let deadlines = record.deadlines(policy);
        SessionInfo {
            user: record.user.clone(),
            session_id: record.id.public_id().to_owned(),
            created_at: record.created_at,
            last_activity_at: record.last_activity_at,
            idle_expires_at: record.idle_expires_at,
            absolute_expires_at: record.absolute_expires_at,
            warn_at: deadlines.warn_at(),
            server_now: now,
            policy: (*policy).into(),
            local_key: Some(self.local_keys.for_user(record.user.id, record.key_version)),
        }
    }

    /// Ends every live session of a user but `keep` (a password change: all but the one
    /// that made it); returns how many were ended.
    pub async fn end_all_for_user(
        &self,
        user_id: i64,
        keep: Option<&SessionId>,
        reason: EndReason,
    ) -> Result<usize, AuthError> {
        let now = self.clock.now();
        let ended = end_sessions_of(self.store.as_ref(), user_id, reason, now, |record| {
            Some(&record.id) != keep
        })
        .await?;
        for _ in 0..ended {
            self.metrics.session_ended(reason);
        }
        Ok(ended)
    }

    /// The user's live sessions as they see them, most recently active first.
    pub async fn list(&self, auth: &Authenticated) -> Result<Vec<SessionView>, AuthError> {
        let live = live_sessions_of(self.store.as_ref(), auth.record.user.id, self.now()).await?;
        Ok(live
            .iter()
            .map(|record| view_of(record, Some(&auth.record.id)))
            .collect())
    }

    /// The user's live session with this public id, if there is one.
    pub async fn live_session(
        &self,
        user_id: i64,
        public_id: &str,
    ) -> Result<Option<SessionRecord>, AuthError> {
        Ok(live_sessions_of(self.store.as_ref(), user_id, self.now())
            .await?
            .into_iter()
            .find(|r| r.id.public_id() == public_id))
    }

    /// Ends the user's live session with this public id; `None` when the user has no such
    /// session (another user's id included).
    pub async fn end_one(
        &self,
        auth: &Authenticated,
        public_id: &str,
        client: ClientRequest<'_>,
    ) -> Result<Option<SessionRecord>, AuthError> {
        let Some(record) = self.live_session(auth.record.user.id, public_id).await? else {
            return Ok(None);
        };
        let reason = if record.id == auth.record.id {
            EndReason::Logout
        } else {
            // Ending someone else's session is as sensitive as ending them all.
            self.require_recent_sign_in(auth)?;
            EndReason::Revoked
        };
        self.end(record.clone(), reason).await?;
        self.record_event(
            AuditKind::SessionEnded,
            &record,
            Some("by its owner"),
            client,
        )
        .await;
        Ok(Some(record))
    }

    /// Refuses a sensitive action unless this session's sign-in is recent (step-up).
    pub fn require_recent_sign_in(&self, auth: &Authenticated) -> Result<(), AuthError> {
        if self.clock.now() - auth.record.created_at <= self.rules.reauth_within {
            Ok(())
        } else {
            Err(AuthError::ReauthenticationRequired)
        }
    }

    /// A token lives for the idle timeout, and never past the session's absolute limit (the
    /// record's retention relies on it).
    fn token_lifetime(&self, record: &SessionRecord, now: OffsetDateTime) -> Duration {
        self.policy_of(record)
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

    /// Starts a new session (always under a fresh id) for a user who just proved who they
    /// are, within the per-user limit: beyond it the least recently active session ends, or
    /// the sign-in is refused, as configured.
    ///
    /// `replacing` is this browser's live session of the same user (signing in again in
    /// place, or to confirm a sensitive action): it ends in the same atomic step, so it never
    /// counts toward the limit and no other device is evicted or refused because of it.
    pub async fn start(
        &self,
        user: &UserSummary,
        fingerprint: Option<&str>,
        client: ClientSummary,
        remember: bool,
        key_version: u32,
        mut replacing: Option<SessionRecord>,
    ) -> Result<(SessionRecord, IssuedToken), AuthError> {
        let now = self.clock.now();
        let record = SessionRecord::start(
            user,
            now,
            self.rules.policies.for_session(user.role, remember),
            fingerprint.map(fingerprint_hash),
            client,
            remember,
            key_version,
        );
        let limit = self.rules.limit;
        for _ in 0..MAX_WRITE_ATTEMPTS {
            let ended = replacing
                .as_ref()
                .filter(|old| old.user.id == user.id && old.state_at(now) == SessionState::Alive)
                .map(|old| {
                    let mut old = old.clone();
                    old.end(EndReason::Replaced, now);
                    old
                });
            match self
                .store
                .create(
                    NewSession::new(&record)
                        .within(limit.map(|l| l.max))
                        .replacing(ended.as_ref()),
                )
                .await?
            {
                Created::Stored => {
                    self.metrics.session_started();
                    if ended.is_some() {
                        self.metrics.session_ended(EndReason::Replaced);
                    }
                    let token = self.issue(&record, now)?;
                    return Ok((record, token));
                }
                Created::Conflict => {
                    // The replaced session moved on (another tab refreshed it): end the
                    // newest version of it instead.
                    replacing = match replacing {
                        Some(old) => self.store.load_fresh(old.user.id, &old.id).await?,
                        None => None,
                    };
                }
                Created::LimitReached => match limit.map(|l| l.policy) {
                    Some(LimitPolicy::EvictOldest) => {
                        self.evict_oldest(user.id, limit.map_or(1, |l| l.max), now)
                            .await?;
                    }
                    _ => return Err(AuthError::LimitReached),
                },
            }
        }
        Err(AuthError::Contended)
    }

    /// Ends the least recently active live sessions of a user so that one more fits under
    /// `max`. Concurrent sign-ins may each end one; the store's count decides who gets in.
    async fn evict_oldest(
        &self,
        user_id: i64,
        max: u32,
        now: OffsetDateTime,
    ) -> Result<(), AuthError> {
        let live = live_sessions_of(self.store.as_ref(), user_id, now).await?;
        let excess = (live.len() + 1).saturating_sub(max as usize).max(1);
        for record in live.into_iter().rev().take(excess) {
            tracing::info!(session = %record.id.public_id(), "session limit reached; the oldest session ends");
            self.record_event(
                AuditKind::SessionEnded,
                &record,
                Some("session limit"),
                ClientRequest::none(),
            )
            .await;
            self.end(record, EndReason::SessionLimit).await?;
        }
        Ok(())
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
            Err(TokenError::Expired(claims)) => (Arc::new(*claims), true),
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
                expired(ExpiryReason::Absolute, self.policy())
            } else {
                AuthError::NotFound
            });
        };
        if record.check_generation(claims.gen, now) == GenerationCheck::Ahead {
            // A stale read (a replica, a cache) or a lost write: read again. What is still
            // behind the token after that is taken as current, never as reuse.
            record = self
                .store
                .load_fresh(user_id, &id)
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
                Box::pin(self.record_event(AuditKind::FingerprintMismatch, &record, None, client))
                    .await;
                return Err(AuthError::Invalid);
            }
        }
        let record = self.check_alive(record, now, client).await?;
        if record.check_generation(claims.gen, now) == GenerationCheck::Reused {
            Box::pin(self.revoke_for_reuse(record, client)).await?;
            return Err(AuthError::Revoked(EndReason::Reuse.told()));
        }
        if token_expired && !allow_expired_token {
            return Err(AuthError::TokenExpired);
        }
        Ok(Authenticated {
            record,
            claims,
            credential: presented.credential,
            at: now,
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
        let mut event = AuditEvent::in_session(kind, record, &summary);
        if let Some(reason) = reason {
            event = event.reason(reason);
        }
        self.audit_now(event).await;
    }

    async fn revoke_for_reuse(
        &self,
        record: SessionRecord,
        client: ClientRequest<'_>,
    ) -> Result<(), AuthError> {
        tracing::warn!(session = %record.id.public_id(), "superseded token reused; session revoked");
        self.metrics.reuse_detected();
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
            SessionState::Ended(tombstone) => {
                Err(ended_error(tombstone.reason, self.policy_of(&record)))
            }
            // Boxed: the rare path's writes would otherwise make every verdict's future (moved
            // on each request) several times larger.
            SessionState::Expired(_) => Box::pin(self.end_if_expired(record, now, client)).await,
        }
    }

    /// An expiry is written down only if the record, read again from the store itself,
    /// still shows it: the copy that looked expired may be older than activity elsewhere.
    async fn end_if_expired(
        &self,
        record: SessionRecord,
        now: OffsetDateTime,
        client: ClientRequest<'_>,
    ) -> Result<SessionRecord, AuthError> {
        let fresh = self
            .store
            .load_fresh(record.user.id, &record.id)
            .await?
            .ok_or(AuthError::NotFound)?;
        let reason = match fresh.state_at(now) {
            SessionState::Alive => return Ok(fresh),
            SessionState::Ended(tombstone) => {
                return Err(ended_error(tombstone.reason, self.policy_of(&fresh)))
            }
            SessionState::Expired(reason) => reason,
        };
        let error = expired(reason, self.policy_of(&fresh));
        match end_record(self.store.as_ref(), fresh, reason.into(), now).await? {
            Ending::Wrote(ended) => {
                self.metrics.session_ended(reason.into());
                self.record_event(AuditKind::Expired, &ended, Some(reason.as_str()), client)
                    .await;
                Err(error)
            }
            Ending::AlreadyEnded(tombstone, ended) => {
                Err(ended_error(tombstone.reason, self.policy_of(&ended)))
            }
            Ending::StillAlive(alive) => Ok(alive),
            // Swept meanwhile: it had expired, as read a moment ago.
            Ending::Gone => Err(error),
        }
    }

    /// Writes a tombstone, retrying on conflict; the first reason written stands.
    pub async fn end(&self, record: SessionRecord, reason: EndReason) -> Result<(), AuthError> {
        if let Ending::Wrote(_) =
            end_record(self.store.as_ref(), record, reason, self.clock.now()).await?
        {
            self.metrics.session_ended(reason);
        }
        Ok(())
    }

    /// Extends the session (user activity) and rotates its token, with one conditional write.
    ///
    /// Writes of activity are coalesced, never rotations (SPEC §9.1): within one heartbeat
    /// interval of the last recorded activity a refresh with the current, unexpired token
    /// writes nothing and hands out no token ([`Refreshed::token`] is `None`: the presented
    /// one stays current); otherwise it writes a new generation. A refresh with the token
    /// that was current until a moment ago (inside the grace window: another tab, a
    /// concurrent request won) gets a token of the generation the winner wrote. Concurrent
    /// refreshes of one token therefore produce exactly one new generation, and every one of
    /// them answers with a valid token.
    pub async fn refresh(
        &self,
        auth: &Authenticated,
        client: ClientRequest<'_>,
    ) -> Result<Refreshed, AuthError> {
        let outcome = conditional_write(
            self.store.as_ref(),
            auth.record.clone(),
            |record| async move {
                let now = self.clock.now();
                let record = self.check_alive(record, now, client).await?;
                let policy = *self.policy_of(&record);
                let recent = now - record.last_activity_at < policy.heartbeat_interval();
                let token_live = auth.claims.exp > now.unix_timestamp();
                match record.check_generation(auth.claims.gen, now) {
                    GenerationCheck::Reused => {
                        self.revoke_for_reuse(record, client).await?;
                        return Err(AuthError::Revoked(EndReason::Reuse.told()));
                    }
                    // Someone rotated a moment ago (another tab, a concurrent request).
                    GenerationCheck::InGrace => {
                        return self.current_token(record, now).map(Attempt::Answer)
                    }
                    GenerationCheck::Current if recent && token_live => {
                        return Ok(Attempt::Answer(Refreshed {
                            record,
                            token: None,
                        }))
                    }
                    GenerationCheck::Current | GenerationCheck::Ahead => {}
                }
                let mut next = record;
                next.touch(now, &policy);
                next.rotate(auth.claims.gen, now);
                Ok(Attempt::Write(next))
            },
        )
        .await?;
        match outcome {
            Outcome::Answer(refreshed) => Ok(refreshed),
            Outcome::Written(next) => {
                self.metrics.refreshed();
                // Issued as of the rotation, which `touch` wrote down as the last activity.
                let token = self.issue(&next, next.last_activity_at)?;
                Ok(Refreshed {
                    record: next,
                    token: Some(token),
                })
            }
            Outcome::Vanished(_) => Err(AuthError::NotFound),
        }
    }

    /// Moves this session on to the user's new local-copy key (after a password change): its
    /// answers hand out that key from now on, with the one before for the copies under it.
    pub async fn rekey(&self, record: SessionRecord, key_version: u32) -> Result<(), AuthError> {
        conditional_write(self.store.as_ref(), record, |record| async move {
            Ok(
                if record.key_version >= key_version || record.ended.is_some() {
                    Attempt::Answer(())
                } else {
                    Attempt::Write(SessionRecord {
                        key_version,
                        ..record
                    })
                },
            )
        })
        .await?;
        Ok(())
    }

    /// Records user activity (a change the user made): the idle deadline moves, the token
    /// stays. Coalesced like a refresh: within one heartbeat interval of the last recorded
    /// activity nothing is written. An ended session is never brought back.
    pub async fn record_activity(&self, record: SessionRecord) -> Result<SessionRecord, AuthError> {
        let outcome = conditional_write(self.store.as_ref(), record, |record| async move {
            let now = self.clock.now();
            let policy = *self.policy_of(&record);
            let recent = now - record.last_activity_at < policy.heartbeat_interval();
            if recent || record.state_at(now) != SessionState::Alive {
                return Ok(Attempt::Answer(record));
            }
            let mut next = record;
            next.touch(now, &policy);
            Ok(Attempt::Write(next))
        })
        .await?;
        Ok(match outcome {
            Outcome::Answer(record) | Outcome::Vanished(record) => record,
            Outcome::Written(next) => {
                self.metrics.extended();
                next
            }
        })
    }

    /// A token of the record's current generation, for a client whose token was
    /// superseded a moment ago.
    fn current_token(
        &self,
        record: SessionRecord,
        now: OffsetDateTime,
    ) -> Result<Refreshed, AuthError> {
        let token = self.issue(&record, now)?;
        Ok(Refreshed {
            record,
            token: Some(token),
        })
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

/// What one look at the freshest record decided.
// Lives for one step of the loop and is moved once: boxing the record would cost an
// allocation on every write for nothing.
#[allow(clippy::large_enum_variant)]
enum Attempt<T> {
    /// Nothing (more) to write: the answer.
    Answer(T),
    /// Store this successor of the record, only if nobody wrote the record meanwhile.
    Write(SessionRecord),
}

/// How a conditional write ended.
enum Outcome<T> {
    /// `decide` answered without (another) write.
    Answer(T),
    /// The successor was stored; it carries its new version.
    Written(SessionRecord),
    /// The record is gone from the store (swept): the last copy seen.
    Vanished(SessionRecord),
}

/// The compare-and-set loop every change of an existing session goes through: `decide`
/// looks at the record and answers or asks for a write; when another writer got there first,
/// the record is read again past every cache and `decide` looks again. A write that keeps
/// losing gives up as [`AuthError::Contended`] rather than spin.
async fn conditional_write<T, F>(
    store: &dyn SessionStore,
    mut record: SessionRecord,
    mut decide: impl FnMut(SessionRecord) -> F,
) -> Result<Outcome<T>, AuthError>
where
    F: Future<Output = Result<Attempt<T>, AuthError>>,
{
    let (user_id, id) = (record.user.id, record.id.clone());
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let mut next = match decide(record.clone()).await? {
            Attempt::Answer(answer) => return Ok(Outcome::Answer(answer)),
            Attempt::Write(next) => next,
        };
        match store.replace(&next).await? {
            Replaced::Written(version) => {
                next.version = version;
                return Ok(Outcome::Written(next));
            }
            Replaced::Conflict => match store.load_fresh(user_id, &id).await? {
                Some(fresh) => record = fresh,
                None => return Ok(Outcome::Vanished(record)),
            },
        }
    }
    Err(AuthError::Contended)
}

/// What became of an attempt to end a session.
#[derive(Debug)]
enum Ending {
    /// This call wrote the tombstone.
    Wrote(SessionRecord),
    /// Someone else ended it first; the first reason stands.
    AlreadyEnded(Tombstone, SessionRecord),
    /// An expiry that a fresher record no longer shows (activity elsewhere): not ended.
    StillAlive(SessionRecord),
    /// The record is gone from the store (swept after its retention): nothing to end.
    Gone,
}

/// Writes a tombstone with one conditional write; the first reason written stands, and an
/// expiry is written only while the freshest record still shows it.
async fn end_record(
    store: &dyn SessionStore,
    record: SessionRecord,
    reason: EndReason,
    now: OffsetDateTime,
) -> Result<Ending, AuthError> {
    let outcome = conditional_write(store, record, |record| async move {
        Ok(match record.state_at(now) {
            SessionState::Ended(tombstone) => {
                Attempt::Answer(Ending::AlreadyEnded(tombstone, record))
            }
            SessionState::Alive if reason.is_expiry() => {
                Attempt::Answer(Ending::StillAlive(record))
            }
            SessionState::Alive | SessionState::Expired(_) => {
                let mut ended = record;
                ended.end(reason, now);
                Attempt::Write(ended)
            }
        })
    })
    .await?;
    Ok(match outcome {
        Outcome::Answer(ending) => ending,
        Outcome::Written(ended) => Ending::Wrote(ended),
        Outcome::Vanished(_) => Ending::Gone,
    })
}

/// A session as its owner (or an operator) sees it; `current` is the session asking, if any.
pub fn view_of(record: &SessionRecord, current: Option<&SessionId>) -> SessionView {
    let device = Device::of(record.client.user_agent.as_deref());
    SessionView {
        id: record.id.public_id().to_owned(),
        device: device.summary(),
        browser: device.browser,
        os: device.os,
        address: record.client.ip.as_deref().and_then(masked_address),
        created_at: record.created_at,
        last_active_at: record.last_activity_at,
        current: Some(&record.id) == current,
        remembered: record.remember,
    }
}

/// The user's sessions live at `now`, most recently active first. Also used by the command
/// line, which has a store but no running service.
pub async fn live_sessions_of(
    store: &dyn SessionStore,
    user_id: i64,
    now: OffsetDateTime,
) -> Result<Vec<SessionRecord>, AuthError> {
    let mut live: Vec<SessionRecord> = store
        .for_user(user_id)
        .await?
        .into_iter()
        .filter(|r| r.state_at(now) == SessionState::Alive)
        .collect();
    live.sort_by_key(|r| std::cmp::Reverse(r.last_activity_at));
    Ok(live)
}

/// Ends the user's live sessions that `select` picks, as of `now`; returns how many this
/// call ended. Also used by the command line.
pub async fn end_sessions_of(
    store: &dyn SessionStore,
    user_id: i64,
    reason: EndReason,
    now: OffsetDateTime,
    select: impl Fn(&SessionRecord) -> bool,
) -> Result<usize, AuthError> {
    let mut ended = 0;
    for record in live_sessions_of(store, user_id, now).await? {
        if select(&record) {
            if let Ending::Wrote(_) = end_record(store, record, reason, now).await? {
                ended += 1;
            }
        }
    }
    Ok(ended)
}

fn ended_error(reason: EndReason, policy: &TimeoutPolicy) -> AuthError {
    match reason {
        EndReason::Idle => expired(ExpiryReason::Idle, policy),
        EndReason::Absolute => expired(ExpiryReason::Absolute, policy),
        EndReason::Logout
        | EndReason::Revoked
        | EndReason::Reuse
        | EndReason::Replaced
        | EndReason::PasswordChanged
        | EndReason::Operator
        | EndReason::SessionLimit
        | EndReason::Disabled => AuthError::Revoked(reason.told()),
    }
}
