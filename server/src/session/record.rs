//! The session record: the server's authority on whether a session is alive.

use std::sync::OnceLock;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use vigil::{Deadlines, ExpiryReason, TimeoutPolicy, UserSummary};

use super::token::LEEWAY;

/// How long a superseded token stays acceptable after a rotation, for requests that were
/// already in flight.
pub const ROTATION_GRACE: Duration = Duration::seconds(10);

/// How long a record is kept after the last instant any of its tokens could still verify
/// (its absolute deadline plus the token leeway): clocks of several instances may differ.
pub const RETENTION_MARGIN: Duration = Duration::minutes(5);

/// Random bytes in a session id: 128 bits, as OWASP asks of session identifiers.
const ID_BYTES: usize = 16;

/// The secret key of a session record (the token's `sid`). Only ever created here from the
/// operating system's randomness or parsed from a verified token, never adopted from a
/// client.
#[derive(Debug, Clone)]
pub struct SessionId {
    secret: String,
    /// Derived on first use and kept with the id, so a cached record's copies do not hash
    /// it again on every session answer.
    public: OnceLock<String>,
}

impl SessionId {
    pub fn generate() -> Self {
        let mut bytes = [0u8; ID_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self::new(hex::encode(bytes))
    }

    /// Exactly the form [`generate`](Self::generate) makes: 32 lower-case hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let well_formed = text.len() == ID_BYTES * 2
            && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| Self::new(text.to_owned()))
    }

    fn new(secret: String) -> Self {
        Self {
            secret,
            public: OnceLock::new(),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.secret
    }

    /// A non-secret identifier for logs, audit rows and `SessionInfo::session_id`.
    pub fn public_id(&self) -> &str {
        self.public.get_or_init(|| {
            let digest = Sha256::digest(self.secret.as_bytes());
            hex::encode(&digest[..12])
        })
    }
}

/// One id whether or not its public form has been derived yet.
impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.secret == other.secret
    }
}

impl Eq for SessionId {}

impl std::hash::Hash for SessionId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.secret.hash(state);
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Signed out of itself.
    Logout,
    /// Ended by its owner from another of their sessions.
    Revoked,
    Idle,
    Absolute,
    /// An old token of it came back: closed as stolen.
    Reuse,
    /// The browser signed in again in place: a new session took its place.
    Replaced,
    /// The account's password changed (by its owner, or reset from the command line).
    PasswordChanged,
    /// Ended from the command line.
    Operator,
    /// The least recently active session, ended for a sign-in over the session limit.
    SessionLimit,
    /// The account was disabled.
    Disabled,
}

impl EndReason {
    /// A deadline ran out (rather than someone ending the session).
    pub fn is_expiry(self) -> bool {
        matches!(self, Self::Idle | Self::Absolute)
    }

    /// What the session's holder is told (`None`: nothing, as the holder itself signed in
    /// again and holds the new session).
    pub fn told(self) -> Option<vigil::events::EndedBecause> {
        use vigil::events::EndedBecause as Told;
        Some(match self {
            Self::Logout => Told::SignedOut,
            Self::Revoked => Told::SignedOutElsewhere,
            Self::Idle | Self::Absolute => Told::Expired,
            Self::Reuse => Told::TokenReuse,
            Self::Replaced => return None,
            Self::PasswordChanged => Told::PasswordChanged,
            Self::Operator => Told::Operator,
            Self::SessionLimit => Told::SessionLimit,
            Self::Disabled => Told::AccountDisabled,
        })
    }
}

impl From<ExpiryReason> for EndReason {
    fn from(reason: ExpiryReason) -> Self {
        match reason {
            ExpiryReason::Idle => Self::Idle,
            ExpiryReason::Absolute => Self::Absolute,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    pub reason: EndReason,
    #[serde(with = "vigil::timestamp::rfc3339")]
    pub at: OffsetDateTime,
}

/// Who the client looked like at sign-in, for the user's own review and the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSummary {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// The request a client made. Summarised only when something is recorded about it, so an
/// ordinary authenticated request allocates nothing for it.
#[derive(Debug, Clone, Copy)]
pub struct ClientRequest<'a> {
    pub headers: &'a http::HeaderMap,
    pub extensions: &'a http::Extensions,
}

impl<'a> ClientRequest<'a> {
    pub fn of(parts: &'a http::request::Parts) -> Self {
        Self {
            headers: &parts.headers,
            extensions: &parts.extensions,
        }
    }

    /// No request: for what the server does by itself (ending a session over the limit).
    pub fn none() -> ClientRequest<'static> {
        static HEADERS: std::sync::LazyLock<http::HeaderMap> =
            std::sync::LazyLock::new(http::HeaderMap::new);
        static EXTENSIONS: std::sync::LazyLock<http::Extensions> =
            std::sync::LazyLock::new(http::Extensions::new);
        ClientRequest {
            headers: &HEADERS,
            extensions: &EXTENSIONS,
        }
    }

    /// The user agent (shortened) and the peer address when the server knows it.
    pub fn summary(&self) -> ClientSummary {
        ClientSummary {
            user_agent: self
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(200).collect()),
            ip: self.address().map(|ip| ip.to_string()),
        }
    }

    /// The client's address as resolved by `http::client_address` (the peer, or the hop a
    /// trusted proxy named); the bare peer where that layer did not run.
    pub fn address(&self) -> Option<std::net::IpAddr> {
        self.extensions
            .get::<ClientAddress>()
            .map(|address| address.0)
            .or_else(|| {
                self.extensions
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|info| info.0.ip())
            })
    }
}

/// The client's address, in a request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub std::net::IpAddr);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    #[serde(skip, default = "SessionId::generate")]
    pub id: SessionId,
    /// Who signed in, as shown to them; kept with the session so reading it needs no user
    /// lookup.
    pub user: UserSummary,
    #[serde(with = "vigil::timestamp::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "vigil::timestamp::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    #[serde(with = "vigil::timestamp::rfc3339")]
    pub idle_expires_at: OffsetDateTime,
    #[serde(with = "vigil::timestamp::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    pub generation: u64,
    #[serde(default, with = "vigil::timestamp::rfc3339::option")]
    pub rotated_at: Option<OffsetDateTime>,
    pub fingerprint_hash: Option<String>,
    pub client: ClientSummary,
    /// Signed in with "remember me": the longer lifetime and a persistent cookie.
    #[serde(default)]
    pub remember: bool,
    /// The version of the user's local-copy key this session hands out (a password change
    /// moves it on; records of earlier builds had the first).
    #[serde(default = "first_key_version")]
    pub key_version: u32,
    pub ended: Option<Tombstone>,
    /// Bumped by the store on every write; a write succeeds only from the version it read.
    /// Kept by the store beside the record, not inside it.
    #[serde(skip)]
    pub version: u64,
}

fn first_key_version() -> u32 {
    crate::session::FIRST_KEY_VERSION
}

/// The verdict on a record at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Alive,
    /// A deadline passed; not yet written down as a tombstone.
    Expired(ExpiryReason),
    Ended(Tombstone),
}

/// How a presented token's generation relates to the record's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenerationCheck {
    Current,
    /// The token just replaced, still inside the grace window.
    InGrace,
    /// A replaced token outside the grace window: treat as stolen.
    Reused,
    /// A token newer than the record: the record was read stale (or a write was lost), so
    /// reload it. Never a sign of theft: only the server can sign a generation.
    Ahead,
}

impl SessionRecord {
    /// A copy for an in-process memory that hands out copies of it: its public id is derived
    /// first, so that none of those copies hashes the id again.
    pub fn copy_to_keep(&self) -> Self {
        self.id.public_id();
        self.clone()
    }

    /// A new live session for `user`, signed in at `now`: a fresh random id, generation 1,
    /// the absolute deadline fixed at `now` plus the policy's absolute lifetime (nothing moves
    /// it later), and the idle deadline at `now` plus the idle timeout, never past the
    /// absolute one.
    pub fn start(
        user: &UserSummary,
        now: OffsetDateTime,
        policy: &TimeoutPolicy,
        fingerprint_hash: Option<String>,
        client: ClientSummary,
        remember: bool,
        key_version: u32,
    ) -> Self {
        let absolute_expires_at = now + policy.absolute_timeout();
        Self {
            id: SessionId::generate(),
            user: user.clone(),
            created_at: now,
            last_activity_at: now,
            idle_expires_at: (now + policy.idle_timeout()).min(absolute_expires_at),
            absolute_expires_at,
            generation: 1,
            rotated_at: None,
            fingerprint_hash,
            client,
            remember,
            key_version,
            ended: None,
            version: 0,
        }
    }

    /// The verdict at `now`. A tombstone wins over the deadlines (an ended session stays
    /// ended, for its recorded reason); otherwise a deadline has passed from its instant on
    /// (`now >= deadline`), and when both have, the absolute one is named, since no activity
    /// could have saved the session.
    pub fn state_at(&self, now: OffsetDateTime) -> SessionState {
        if let Some(tombstone) = self.ended {
            return SessionState::Ended(tombstone);
        }
        if now >= self.absolute_expires_at {
            SessionState::Expired(ExpiryReason::Absolute)
        } else if now >= self.idle_expires_at {
            SessionState::Expired(ExpiryReason::Idle)
        } else {
            SessionState::Alive
        }
    }

    /// Records user activity: the idle deadline moves, the absolute one never does.
    pub fn touch(&mut self, now: OffsetDateTime, policy: &TimeoutPolicy) {
        self.last_activity_at = now;
        self.idle_expires_at = (now + policy.idle_timeout()).min(self.absolute_expires_at);
    }

    /// Moves to a generation newer than the record's and than any token presented for it,
    /// so generations only ever move forward.
    pub fn rotate(&mut self, presented: u64, now: OffsetDateTime) {
        self.generation = self.generation.max(presented).saturating_add(1);
        self.rotated_at = Some(now);
    }

    /// How a token of generation `presented` stands at `now`. Only the record's generation
    /// is current; the one just before it is tolerated for [`ROTATION_GRACE`] after the last
    /// rotation (requests already in flight); any older one, or that one after the grace, is
    /// a replaced token presented again. A newer one means the record was read stale.
    pub fn check_generation(&self, presented: u64, now: OffsetDateTime) -> GenerationCheck {
        if presented > self.generation {
            GenerationCheck::Ahead
        } else if presented == self.generation {
            GenerationCheck::Current
        } else if presented.saturating_add(1) == self.generation
            && self.rotated_at.is_some_and(|at| now < at + ROTATION_GRACE)
        {
            GenerationCheck::InGrace
        } else {
            GenerationCheck::Reused
        }
    }

    /// Ends the session for `reason` at `now` by writing its tombstone. The first end wins:
    /// a record already ended keeps its reason and time, and nothing brings it back.
    pub fn end(&mut self, reason: EndReason, now: OffsetDateTime) {
        if self.ended.is_none() {
            self.ended = Some(Tombstone { reason, at: now });
        }
    }

    pub fn deadlines(&self, policy: &TimeoutPolicy) -> Deadlines {
        Deadlines {
            idle_expires_at: self.idle_expires_at,
            absolute_expires_at: self.absolute_expires_at,
            warning_before: policy.warning_before(),
        }
    }

    /// Until when the session counts as live (towards the per-user limit), in unix seconds
    /// rounded up; 0 once it ended.
    pub fn live_until(&self) -> i64 {
        if self.ended.is_some() {
            return 0;
        }
        let until = self.idle_expires_at.min(self.absolute_expires_at);
        until.unix_timestamp() + i64::from(until.nanosecond() > 0)
    }

    /// How long the record must be kept: its tombstone has to outlive every token for it,
    /// so an ended session keeps answering `session_expired` or `session_revoked` (never
    /// `session_not_found`) after restarts and sweeps. No token outlives the absolute
    /// deadline (see `SessionService::token_lifetime`), and a token verifies until its
    /// `exp` plus the leeway.
    pub fn retain_until(&self) -> OffsetDateTime {
        self.absolute_expires_at + LEEWAY + RETENTION_MARGIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-02-02 09:00 UTC);

    fn record() -> SessionRecord {
        let user = UserSummary {
            id: 1,
            username: "ada".into(),
            display_name: "Ada".into(),
            role: Default::default(),
        };
        SessionRecord::start(
            &user,
            T0,
            &TimeoutPolicy::default(),
            None,
            ClientSummary::default(),
            false,
            1,
        )
    }

    #[test]
    fn idle_then_absolute_expiry() {
        let policy = TimeoutPolicy::default();
        let mut r = record();
        assert_eq!(r.state_at(T0 + Duration::minutes(29)), SessionState::Alive);
        assert_eq!(
            r.state_at(T0 + Duration::minutes(30)),
            SessionState::Expired(ExpiryReason::Idle)
        );
        // Constant activity cannot outlive the absolute limit.
        let mut now = T0;
        while now < T0 + Duration::hours(9) {
            r.touch(now, &policy);
            now += Duration::minutes(10);
        }
        assert_eq!(r.idle_expires_at, r.absolute_expires_at);
        assert_eq!(
            r.state_at(T0 + Duration::hours(8)),
            SessionState::Expired(ExpiryReason::Absolute)
        );
    }

    #[test]
    fn a_tombstone_wins_over_deadlines_and_keeps_the_first_reason() {
        let mut r = record();
        r.end(EndReason::Logout, T0);
        r.end(EndReason::Reuse, T0);
        assert!(matches!(
            r.state_at(T0 + Duration::hours(9)),
            SessionState::Ended(Tombstone {
                reason: EndReason::Logout,
                ..
            })
        ));
    }

    #[test]
    fn superseded_tokens_are_honoured_only_within_the_grace_window() {
        let mut r = record();
        r.rotate(1, T0);
        assert_eq!(r.check_generation(2, T0), GenerationCheck::Current);
        assert_eq!(
            r.check_generation(1, T0 + Duration::seconds(9)),
            GenerationCheck::InGrace
        );
        assert_eq!(
            r.check_generation(1, T0 + Duration::seconds(10)),
            GenerationCheck::Reused
        );
        r.rotate(2, T0);
        assert_eq!(r.check_generation(1, T0), GenerationCheck::Reused);
    }

    #[test]
    fn a_newer_generation_than_the_record_is_a_stale_read_not_reuse() {
        let mut r = record();
        assert_eq!(r.check_generation(2, T0), GenerationCheck::Ahead);
        assert_eq!(r.check_generation(u64::MAX, T0), GenerationCheck::Ahead);
        // Rotating from a stale record still moves past every generation seen.
        r.rotate(5, T0);
        assert_eq!(r.generation, 6);
        assert_eq!(r.check_generation(5, T0), GenerationCheck::InGrace);
    }

    #[test]
    fn the_record_outlives_every_token_it_issued() {
        let r = record();
        assert!(r.retain_until() >= r.absolute_expires_at + LEEWAY + Duration::SECOND);
    }

    #[test]
    fn session_ids_round_trip_and_have_a_public_form() {
        let id = SessionId::generate();
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.public_id().len(), 24);
        assert!(!id.public_id().contains(id.as_str()));
        assert_ne!(SessionId::generate(), id);
        assert_eq!(SessionId::parse("not an id"), None);
        assert_eq!(SessionId::parse(&id.as_str().to_uppercase()), None);
        assert_eq!(SessionId::parse(&id.as_str()[1..]), None);
    }
}
