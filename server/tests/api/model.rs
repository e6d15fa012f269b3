//! A reference model of the session authority (SPEC §2 and §9.1), written apart from the
//! server's code: pure, on whole seconds, one user with several browsers. Given an
//! operation and the instant, it says the one answer the server must give (status and
//! `error_code`), which token the client holds afterwards, and what the session looks like.
//! `histories.rs` drives real servers with random histories and checks every answer here.
//!
//! The rules, as the model states them:
//! - a token verifies until its `exp` plus the leeway; past that only refresh and sign-out
//!   take it (`token_expired` elsewhere);
//! - an ended session answers `session_revoked`, or `session_expired` for a deadline; a
//!   deadline that passed is written down on first sight;
//! - a superseded generation is honoured for the grace window after it was superseded, and
//!   is reuse after that: the session ends (`session_revoked`);
//! - a refresh with the current, unexpired token inside the coalescing window changes
//!   nothing and issues nothing; otherwise it writes a new generation (one per refresh), and
//!   a token still in grace gets the current generation;
//! - activity moves the idle deadline (never past the absolute one) at most once per
//!   heartbeat interval; reads never move it;
//! - a sign-in from a browser whose cookie names a live session of the user replaces it in
//!   the same step: it never counts toward the limit, both deadlines start anew;
//! - ending another session (one or all) needs a sign-in within the step-up window.

use std::collections::BTreeMap;

/// Seconds a superseded token stays acceptable (`ROTATION_GRACE`).
pub const GRACE: i64 = 10;
/// Clock tolerance of a token's `exp` (`LEEWAY_SECS`).
pub const LEEWAY: i64 = 5;
/// How long a record outlives its absolute deadline (leeway and `RETENTION_MARGIN`).
pub const RETENTION: i64 = LEEWAY + 300;

/// The deployment's rules, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub idle: i64,
    pub absolute: i64,
    pub heartbeat: i64,
    pub reauth: i64,
    /// `VIGIL_MAX_SESSIONS_PER_USER` with the `refuse` policy.
    pub limit: Option<usize>,
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Logout,
    Revoked,
    Idle,
    Absolute,
    Reuse,
}

impl End {
    fn code(self) -> &'static str {
        match self {
            Self::Idle | Self::Absolute => "session_expired",
            Self::Logout | Self::Revoked | Self::Reuse => "session_revoked",
        }
    }
}

/// One session as the server must keep it.
#[derive(Debug, Clone)]
pub struct Session {
    pub created: i64,
    pub last_activity: i64,
    pub idle_deadline: i64,
    pub absolute_deadline: i64,
    pub generation: u64,
    pub rotated_at: Option<i64>,
    pub ended: Option<End>,
}

impl Session {
    fn state(&self, now: i64) -> Option<End> {
        self.ended.or(if now >= self.absolute_deadline {
            Some(End::Absolute)
        } else if now >= self.idle_deadline {
            Some(End::Idle)
        } else {
            None
        })
    }

    fn touch(&mut self, now: i64, policy: &Policy) {
        self.last_activity = now;
        self.idle_deadline = (now + policy.idle).min(self.absolute_deadline);
    }
}

/// What a token says (read from its claims by the checker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub sid: String,
    pub generation: u64,
    pub exp: i64,
}

/// The answer the server must give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// `200`; for a sign-in or a refresh, what the client must be handed.
    Ok(Handed),
    Problem(u16, &'static str),
}

/// The token a sign-in or refresh hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handed {
    /// Nothing new (the presented token stays current), or not a sign-in or refresh.
    Nothing,
    /// A token of a new session, generation 1.
    NewSession,
    /// A token of this session at this generation.
    Generation(String, u64),
}

fn problem(status: u16, code: &'static str) -> Expected {
    Expected::Problem(status, code)
}

/// The model's whole state: every session of the user, by id.
#[derive(Debug, Clone)]
pub struct Model {
    pub policy: Policy,
    pub now: i64,
    pub sessions: BTreeMap<String, Session>,
}

impl Model {
    pub fn new(policy: Policy, now: i64) -> Self {
        Self {
            policy,
            now,
            sessions: BTreeMap::new(),
        }
    }

    pub fn advance(&mut self, seconds: i64) {
        self.now += seconds;
    }

    /// Checks a token as every authenticated request does; ends the session where the rules
    /// say so (a deadline seen passed, reuse).
    fn authenticate(&mut self, token: &Token, allow_expired: bool) -> Result<String, Expected> {
        let now = self.now;
        let token_expired = now >= token.exp + LEEWAY;
        let Some(session) = self
            .sessions
            .get_mut(&token.sid)
            .filter(|s| now < s.absolute_deadline + RETENTION)
        else {
            return Err(if token_expired {
                problem(401, "session_expired")
            } else {
                problem(401, "session_not_found")
            });
        };
        if let Some(end) = session.state(now) {
            session.ended.get_or_insert(end);
            return Err(problem(401, end.code()));
        }
        if token.generation < session.generation {
            let in_grace = token.generation + 1 == session.generation
                && session.rotated_at.is_some_and(|at| now < at + GRACE);
            if !in_grace {
                session.ended = Some(End::Reuse);
                return Err(problem(401, "session_revoked"));
            }
        }
        if token_expired && !allow_expired {
            return Err(problem(401, "token_expired"));
        }
        Ok(token.sid.clone())
    }

    fn live(&self) -> impl Iterator<Item = (&String, &Session)> {
        let now = self.now;
        self.sessions
            .iter()
            .filter(move |(_, s)| s.state(now).is_none())
    }

    /// `POST /api/auth/login` from a browser that holds `cookie` (if any).
    pub fn sign_in(&mut self, cookie: Option<&Token>, new_sid: Option<&str>) -> Expected {
        let replacing = cookie.and_then(|token| self.authenticate(token, true).ok());
        let now = self.now;
        let counted = self
            .live()
            .filter(|(sid, _)| Some(*sid) != replacing.as_ref())
            .count();
        if self.policy.limit.is_some_and(|limit| counted >= limit) {
            return problem(409, "session_limit_reached");
        }
        if let Some(old) = replacing.and_then(|sid| self.sessions.get_mut(&sid)) {
            old.ended = Some(End::Logout);
        }
        let absolute_deadline = now + self.policy.absolute;
        if let Some(sid) = new_sid {
            self.sessions.insert(
                sid.to_owned(),
                Session {
                    created: now,
                    last_activity: now,
                    idle_deadline: (now + self.policy.idle).min(absolute_deadline),
                    absolute_deadline,
                    generation: 1,
                    rotated_at: None,
                    ended: None,
                },
            );
        }
        Expected::Ok(Handed::NewSession)
    }

    /// `POST /api/auth/refresh`.
    pub fn refresh(&mut self, token: &Token) -> Expected {
        let sid = match self.authenticate(token, true) {
            Ok(sid) => sid,
            Err(refused) => return refused,
        };
        let (now, policy) = (self.now, self.policy);
        let Some(session) = self.sessions.get_mut(&sid) else {
            return problem(401, "session_not_found");
        };
        if token.generation < session.generation {
            return Expected::Ok(Handed::Generation(sid, session.generation));
        }
        let recent = now - session.last_activity < policy.heartbeat;
        if recent && token.exp > now {
            return Expected::Ok(Handed::Nothing);
        }
        session.touch(now, &policy);
        session.generation = session.generation.max(token.generation) + 1;
        session.rotated_at = Some(now);
        Expected::Ok(Handed::Generation(sid, session.generation))
    }

    /// A passive read (`session-info`, `GET /api/drafts`): the idle deadline the answer
    /// states, on success.
    pub fn read(&mut self, token: &Token) -> (Expected, Option<i64>) {
        match self.authenticate(token, false) {
            Ok(sid) => (
                Expected::Ok(Handed::Nothing),
                self.sessions.get(&sid).map(|s| s.idle_deadline),
            ),
            Err(refused) => (refused, None),
        }
    }

    /// A change the user made (`PUT /api/settings`): activity, coalesced.
    pub fn change(&mut self, token: &Token) -> Expected {
        let sid = match self.authenticate(token, false) {
            Ok(sid) => sid,
            Err(refused) => return refused,
        };
        self.activity(&sid);
        Expected::Ok(Handed::Nothing)
    }

    /// A request the endpoint itself refuses (`status`, `code`) once the session checked
    /// out: the session's verdict first, and no activity.
    pub fn refused(&mut self, token: &Token, status: u16, code: &'static str) -> Expected {
        match self.authenticate(token, false) {
            Ok(_) => problem(status, code),
            Err(refused) => refused,
        }
    }

    /// Every state-changing request that succeeded is the user's activity: the idle
    /// deadline moves, at most once per heartbeat interval, and never for an ended session.
    fn activity(&mut self, sid: &str) {
        let (now, policy) = (self.now, self.policy);
        if let Some(session) = self.sessions.get_mut(sid) {
            if session.state(now).is_none() && now - session.last_activity >= policy.heartbeat {
                session.touch(now, &policy);
            }
        }
    }

    /// `POST /api/auth/logout`.
    pub fn logout(&mut self, token: &Token) -> Expected {
        match self.authenticate(token, true) {
            Ok(sid) => {
                if let Some(session) = self.sessions.get_mut(&sid) {
                    session.ended = Some(End::Logout);
                }
                Expected::Ok(Handed::Nothing)
            }
            Err(refused) => refused,
        }
    }

    fn recent_sign_in(&self, sid: &str) -> bool {
        self.sessions
            .get(sid)
            .is_some_and(|s| self.now - s.created <= self.policy.reauth)
    }

    /// `POST /api/sessions/revoke-others` (step-up).
    pub fn revoke_others(&mut self, token: &Token) -> Expected {
        let sid = match self.authenticate(token, false) {
            Ok(sid) => sid,
            Err(refused) => return refused,
        };
        if !self.recent_sign_in(&sid) {
            return problem(403, "reauthentication_required");
        }
        let now = self.now;
        for (other, session) in self.sessions.iter_mut() {
            if *other != sid && session.state(now).is_none() {
                session.ended = Some(End::Revoked);
            }
        }
        self.activity(&sid);
        Expected::Ok(Handed::Nothing)
    }

    /// `DELETE /api/sessions/{target}`: one's own is signing out; another's needs step-up.
    pub fn end_one(&mut self, token: &Token, target: &str) -> Expected {
        let sid = match self.authenticate(token, false) {
            Ok(sid) => sid,
            Err(refused) => return refused,
        };
        let now = self.now;
        if self
            .sessions
            .get(target)
            .is_none_or(|s| s.state(now).is_some())
        {
            return problem(404, "not_found");
        }
        let end = if target == sid {
            End::Logout
        } else if self.recent_sign_in(&sid) {
            End::Revoked
        } else {
            return problem(403, "reauthentication_required");
        };
        if let Some(session) = self.sessions.get_mut(target) {
            session.ended = Some(end);
        }
        self.activity(&sid);
        Expected::Ok(Handed::Nothing)
    }
}
