//! The session half of the browser machine: the phase shown (active, warning, ended), one
//! timer for the next change, a heartbeat that reports activity at most once per interval
//! across tabs, retries that never sign anyone out, and a sign-out that is only shown once
//! the server confirmed it.
//!
//! Deadlines come only from the server and are placed on the local clock relative to its
//! `server_now`; the phase itself is the core's pure `Deadlines::phase_at`.

use time::OffsetDateTime;

use super::work::Work;
use super::{
    retry_wait_ms, Answer, Command, Event, Millis, Out, Request, RequestId, TabMessage, Timer,
    UserAction,
};
use crate::events::{EndedBecause, ServerEvent};
use crate::heartbeat::{self, HeartbeatClock};
use crate::{
    Deadlines, ErrorCode, ExpiryReason, Phase, PolicyInfo, Problem, SessionInfo, UserSummary,
};

/// Timers fire a little after the instant they wait for, so the phase has changed.
const TIMER_SLACK_MS: Millis = 25;
/// An event stream open this long before it was lost is reopened after the shortest pause.
const STREAM_LASTED_MS: Millis = 30_000;

/// What the page shows about the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClientPhase {
    /// Not yet known (also what the server renders).
    #[default]
    Checking,
    /// No session: never signed in here, or signed out.
    SignedOut,
    /// Signed in, no warning due.
    Active,
    /// The deadline is near: the countdown shows.
    Warning {
        /// Time left until the deadline, in milliseconds.
        remaining_ms: i64,
        /// Which deadline it is, so the page can say whether activity helps.
        reason: ExpiryReason,
    },
    /// The session ended: for a deadline, or (`reason: None`) because it was ended
    /// elsewhere (signed out on another device, revoked).
    Ended {
        /// The deadline that passed; `None` when the session was ended elsewhere.
        reason: Option<ExpiryReason>,
        /// Why, when the server said so unasked (the event stream): who or what ended it.
        told: Option<EndedBecause>,
    },
}

impl ClientPhase {
    /// A session is live here (active or warning): work can be sent.
    pub fn is_signed_in(&self) -> bool {
        matches!(self, Self::Active | Self::Warning { .. })
    }

    /// The session ended; the page offers to sign in again.
    pub fn is_ended(&self) -> bool {
        matches!(self, Self::Ended { .. })
    }
}

/// What a request that failed to reach the server was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Check,
    Refresh,
}

/// What an answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Check,
    /// `exchange`: a check answered `token_expired`; the refresh repeats it.
    Refresh {
        exchange: bool,
    },
    Logout,
}

#[derive(Debug, Default)]
pub(crate) struct Session {
    pub phase: ClientPhase,
    pub user: Option<UserSummary>,
    pub policy: Option<PolicyInfo>,
    /// On the local clock.
    pub deadlines: Option<Deadlines>,
    heartbeat_ms: Millis,
    heartbeat_running: bool,
    countdown_running: bool,
    /// Deliberate activity seen in this tab, and the last motion the heartbeat read.
    last_activity: Millis,
    motion: Millis,
    /// Activity up to here is covered by a report (this tab's or another's).
    reported: Millis,
    pending: Vec<(RequestId, Purpose)>,
    heartbeat_lock: LockState,
    retry_backoff_ms: u32,
    retry: Option<Retry>,
    sign_out_backoff_ms: u32,
    pub signing_out: bool,
    pub sign_out_failed: bool,
    pub unreachable: bool,
    pub offline: bool,
    pub withheld: bool,
    last_user: Option<UserSummary>,
    has_key: bool,
    /// The public id of the session this tab holds, as the server last said.
    session_id: Option<String>,
    events: Stream,
    events_backoff_ms: u32,
    /// When the open stream said it was ready.
    events_ready_at: Option<Millis>,
    /// What the event stream said ended the session, until the check it prompted decides:
    /// the stream is news, the server's answer to this browser's own request the verdict.
    told: Option<EndedBecause>,
    told_check: Option<RequestId>,
    /// Back from the back-forward cache: the page stays hidden until this check answers
    /// (whatever it says), so a session that ended meanwhile never shows its work.
    pub restoring: Option<RequestId>,
}

/// The event stream as this tab asked for it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Stream {
    #[default]
    Closed,
    /// Asked for (held by this tab, or waited for while another tab holds it).
    Open,
    /// Lost; asked for again when [`Timer::EventsRetry`] fires.
    Retrying,
}

/// This tab's part in the cross-tab heartbeat lock: at most one request for it at a time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum LockState {
    #[default]
    Idle,
    Requested,
    /// Held until the answer to this report arrives.
    Reporting(RequestId),
}

impl Session {
    fn in_flight(&self, purpose: Purpose) -> bool {
        self.pending.iter().any(|(_, p)| *p == purpose)
    }

    fn refreshing(&self) -> bool {
        self.pending
            .iter()
            .any(|(_, p)| matches!(p, Purpose::Refresh { .. }))
    }

    fn send(&mut self, purpose: Purpose, request: Request, out: &mut Out) -> RequestId {
        let id = out.send(request);
        self.pending.push((id, purpose));
        id
    }
}

fn instant(ms: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn millis(at: OffsetDateTime) -> Millis {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// One event of the session's (`Client::handle` routes the work's and the account's
/// elsewhere).
pub(super) fn handle(s: &mut Session, w: &mut Work, event: Event, out: &mut Out) {
    match event {
        Event::Started {
            now,
            cookie,
            tab,
            last_user,
        } => {
            w.set_tab(tab);
            s.last_user = last_user;
            if cookie {
                check(s, out);
            } else {
                // Nothing to ask: without a cookie the answer could only be 401.
                signed_out(s, w, now, out);
            }
        }
        Event::SignedIn { now, info } => adopt(s, w, info, now, false, out),
        Event::Answered { now, id, answer } => {
            if let Some(index) = s.pending.iter().position(|(pending, _)| *pending == id) {
                let (_, purpose) = s.pending.remove(index);
                // The check the news prompted: whatever it says settles the news.
                if s.told_check == Some(id) {
                    s.told_check = None;
                }
                if s.restoring == Some(id) {
                    s.restoring = None;
                }
                answered(s, w, purpose, answer, now, out);
                if s.heartbeat_lock == LockState::Reporting(id) {
                    s.heartbeat_lock = LockState::Idle;
                    out.push(Command::ReleaseHeartbeatLock);
                }
            }
        }
        Event::TimerFired { now, timer } => match timer {
            Timer::Phase => evaluate(s, w, now, out),
            Timer::Countdown => {
                s.countdown_running = false;
                evaluate(s, w, now, out);
            }
            Timer::Heartbeat => heartbeat_tick(s, w, now, s.motion, out),
            Timer::SessionRetry => match s.retry.take() {
                Some(Retry::Check) => check(s, out),
                Some(Retry::Refresh) => refresh(s, true, now, out),
                None => {}
            },
            Timer::SignOutRetry => {
                if s.signing_out {
                    s.send(Purpose::Logout, Request::Logout, out);
                }
            }
            Timer::EventsRetry => {
                if s.events == Stream::Retrying {
                    s.events = Stream::Closed;
                    // A stream refused or cut may mean the session is over: the server
                    // says. Not at once: a stream cut because this browser has just signed
                    // in again may be lost before the new cookie arrives.
                    check(s, out);
                    open_events(s, out);
                }
            }
            // The work's own.
            Timer::Autosave | Timer::LocalSave | Timer::WorkRetry => {}
        },
        Event::Pushed { now, event } => match event {
            ServerEvent::Ready => s.events_ready_at = Some(now),
            // Signing out here ends it too: that is no news.
            ServerEvent::SessionEnded { reason } if s.phase.is_signed_in() && !s.signing_out => {
                s.told = Some(reason);
                // Asked even if a check is on its way: that one may have been answered
                // before the ending.
                s.told_check = Some(s.send(Purpose::Check, Request::CheckSession, out));
            }
            // The account's (routed there), or news of a session already over here.
            ServerEvent::SessionEnded { .. } | ServerEvent::SessionsChanged => {}
        },
        Event::EventsLost { now } => {
            if s.events == Stream::Open && s.phase.is_signed_in() {
                s.events = Stream::Retrying;
                // A stream that lasted starts the backoff again; one closed at once (a busy
                // instance, a limit) does not.
                if s.events_ready_at
                    .take()
                    .is_some_and(|ready| now - ready >= STREAM_LASTED_MS)
                {
                    s.events_backoff_ms = 0;
                }
                let wait = retry_wait_ms(&mut s.events_backoff_ms, None);
                out.timer(Timer::EventsRetry, now + i64::from(wait));
            }
        }
        Event::Heartbeat { now, motion } => heartbeat_tick(s, w, now, motion, out),
        Event::HeartbeatLock { now, last_report } => {
            let report = if heartbeat_due(s, now, last_report) {
                out.push(Command::RecordReport { at: now });
                send_refresh(s, false, now, out)
            } else {
                None
            };
            if let Some(id) = report {
                s.heartbeat_lock = LockState::Reporting(id);
            } else {
                s.heartbeat_lock = LockState::Idle;
                out.push(Command::ReleaseHeartbeatLock);
            }
        }
        Event::Activity { now } => {
            s.last_activity = s.last_activity.max(now);
            if matches!(s.phase, ClientPhase::Warning { .. }) {
                refresh(s, false, now, out);
            }
        }
        Event::Returned { now } => {
            // Coming back is not activity: re-evaluate first, so a return after the
            // deadline shows the modal instead of silently extending.
            evaluate(s, w, now, out);
            if s.phase.is_signed_in() {
                w.refetch(now, out);
            }
        }
        Event::Restored { now } => {
            evaluate(s, w, now, out);
            if s.phase.is_signed_in() {
                // The page was frozen: an ending it missed (in another tab, elsewhere) is
                // the server's to say before anything of the work shows again.
                s.restoring = Some(s.send(Purpose::Check, Request::CheckSession, out));
                w.refetch(now, out);
            }
        }
        Event::Connectivity { now, online } => {
            s.offline = !online;
            w.set_offline(!online);
            if online {
                if s.retry.is_some() {
                    out.push(Command::CancelTimer(Timer::SessionRetry));
                    handle(
                        s,
                        w,
                        Event::TimerFired {
                            now,
                            timer: Timer::SessionRetry,
                        },
                        out,
                    );
                }
                w.resume(now, s.phase.is_signed_in(), out);
            }
        }
        Event::Tab { now, message } => match message {
            TabMessage::Session(info) => {
                // Another tab's report covers activity here too.
                s.reported = s.reported.max(now);
                adopt(s, w, *info, now, true, out);
                // Tab messages carry no key: this user's comes from the server.
                if !s.has_key && !s.in_flight(Purpose::Check) {
                    check(s, out);
                }
            }
            TabMessage::SignedOut => signed_out(s, w, now, out),
            TabMessage::Ended { session, because } => {
                if s.phase.is_signed_in() && s.session_id.as_deref() == Some(session.as_str()) {
                    s.told = Some(because);
                    end(s, w, None, out);
                }
            }
            // The account's (routed there).
            TabMessage::SessionsChanged => {}
        },
        Event::User { now, action } => user_action(s, w, action, now, out),
        // The work's and the account's own.
        Event::LocalLoaded { .. } | Event::Leaving { .. } | Event::Authenticator { .. } => {}
    }
}

/// Whether this answer is to a request of the session's.
pub(super) fn owns(s: &Session, id: RequestId) -> bool {
    s.pending.iter().any(|(pending, _)| *pending == id)
}

/// A refusal the work or the account met that is the session's to sort out (it ended, or
/// its token must be exchanged, or the server cannot be reached).
pub(super) fn refused(s: &mut Session, w: &mut Work, problem: Problem, now: Millis, out: &mut Out) {
    handle_problem(s, w, problem, Retry::Check, now, out);
}

fn user_action(s: &mut Session, w: &mut Work, action: UserAction, now: Millis, out: &mut Out) {
    match action {
        UserAction::StaySignedIn => refresh(s, false, now, out),
        UserAction::SignOut => {
            if !s.signing_out && s.user.is_some() {
                s.signing_out = true;
                s.sign_out_failed = false;
                s.send(Purpose::Logout, Request::Logout, out);
            }
        }
        // Signing out: the work on screen is no longer changed (it is about to go).
        UserAction::Select { .. } | UserAction::Flush => {
            w.user_action(action, now, s.phase.is_signed_in(), out)
        }
        _ if s.signing_out => {}
        other => w.user_action(other, now, s.phase.is_signed_in(), out),
    }
}

fn check(s: &mut Session, out: &mut Out) {
    if !s.in_flight(Purpose::Check) {
        if s.phase == ClientPhase::SignedOut {
            s.phase = ClientPhase::Checking;
        }
        s.send(Purpose::Check, Request::CheckSession, out);
    }
}

/// Takes the server's word for the session and schedules everything from it.
fn adopt(
    s: &mut Session,
    w: &mut Work,
    mut info: SessionInfo,
    now: Millis,
    from_tab: bool,
    out: &mut Out,
) {
    let was_ended = s.phase.is_ended();
    if s.user.as_ref().is_some_and(|user| user.id != info.user.id) {
        // Another user signed in (in another tab): nothing of the previous user stays, not
        // their key (the new user's work would be encrypted under it) nor their work.
        s.has_key = false;
        s.withheld = true;
        out.push(Command::UseKey(None));
        w.signed_out(out);
    }
    if s.user.as_ref() != Some(&info.user) {
        out.push(Command::RememberUser(info.user.clone()));
        s.user = Some(info.user.clone());
    }
    if let Some(key) = info.local_key.take() {
        s.has_key = true;
        out.push(Command::UseKey(Some(key)));
    }
    // The work shows only once this user holds a live session (and the key) again.
    if s.has_key {
        s.withheld = false;
        w.switch_owner(info.user.id, now, out);
    }
    s.policy = Some(info.policy);
    if s.session_id
        .as_ref()
        .is_some_and(|id| *id != info.session_id)
    {
        // The stream was opened with the previous session's cookie: it would go on hearing
        // that session (another user's, say) and nothing of this one.
        close_events(s, out);
    }
    s.session_id = Some(info.session_id.clone());
    s.unreachable = false;
    s.retry_backoff_ms = 0;
    if s.retry.take().is_some() {
        out.push(Command::CancelTimer(Timer::SessionRetry));
    }
    s.deadlines = Some(info.local_deadlines(instant(now)));
    s.reported = s.reported.max(now);
    let heartbeat_ms = info.policy.heartbeat_secs.max(1) * 1000;
    if !s.heartbeat_running || s.heartbeat_ms != heartbeat_ms {
        s.heartbeat_ms = heartbeat_ms;
        s.heartbeat_running = true;
        out.timer(Timer::Heartbeat, now + heartbeat_ms);
    }
    if !from_tab {
        out.push(Command::Broadcast(TabMessage::Session(Box::new(info))));
    }
    if s.told_check.is_none() {
        // News of an ending the server's answer since has not borne out (a session this
        // browser has already replaced).
        s.told = None;
    }
    evaluate(s, w, now, out);
    if s.phase.is_signed_in() {
        open_events(s, out);
    }
    // A refusal of the work (an exchanged token, say) is over: carry on.
    w.resume(now, s.phase.is_signed_in(), out);
    if was_ended && s.phase.is_signed_in() {
        out.push(Command::RestoreFocus);
    }
}

/// Recomputes the phase from the deadlines and the clock, and sets the one timer for the
/// next change. Safe to call at any time (late timers, waking from sleep).
fn evaluate(s: &mut Session, w: &mut Work, now: Millis, out: &mut Out) {
    let Some(deadlines) = s.deadlines else {
        return;
    };
    match deadlines.phase_at(instant(now)) {
        Phase::Active { warn_at } => {
            if s.countdown_running {
                s.countdown_running = false;
                out.push(Command::CancelTimer(Timer::Countdown));
            }
            set_phase(s, w, ClientPhase::Active, now, out);
            out.timer(Timer::Phase, millis(warn_at) + TIMER_SLACK_MS);
        }
        Phase::Warning {
            remaining,
            deadline,
            reason,
        } => {
            set_phase(
                s,
                w,
                ClientPhase::Warning {
                    remaining_ms: remaining.whole_milliseconds() as i64,
                    reason,
                },
                now,
                out,
            );
            if !s.countdown_running {
                s.countdown_running = true;
                out.timer(Timer::Countdown, now + 1000);
            }
            out.timer(Timer::Phase, millis(deadline) + TIMER_SLACK_MS);
        }
        Phase::Expired { reason } => {
            end(s, w, Some(reason), out);
            // The server decides: another tab may have extended the session meanwhile.
            check(s, out);
        }
    }
}

fn set_phase(s: &mut Session, w: &mut Work, phase: ClientPhase, now: Millis, out: &mut Out) {
    let became_live = !s.phase.is_signed_in() && phase.is_signed_in();
    s.phase = phase;
    if became_live {
        w.session_live(now, out);
    }
}

/// The session ended (a deadline passed, or it was ended elsewhere): stop its timers, keep
/// the work, offer to sign in again.
fn end(s: &mut Session, w: &mut Work, reason: Option<ExpiryReason>, out: &mut Out) {
    if s.phase.is_ended() {
        return;
    }
    out.push(Command::CaptureFocus);
    for timer in [Timer::Phase, Timer::Countdown, Timer::Heartbeat] {
        out.push(Command::CancelTimer(timer));
    }
    s.countdown_running = false;
    s.heartbeat_running = false;
    s.deadlines = None;
    close_events(s, out);
    s.phase = ClientPhase::Ended {
        reason,
        told: s.told.take(),
    };
    w.session_ended();
}

/// Asks for the event stream, once while the session lives here.
fn open_events(s: &mut Session, out: &mut Out) {
    if s.events == Stream::Closed && s.phase.is_signed_in() {
        s.events = Stream::Open;
        out.push(Command::OpenEvents);
    }
}

fn close_events(s: &mut Session, out: &mut Out) {
    out.push(Command::CancelTimer(Timer::EventsRetry));
    if std::mem::take(&mut s.events) == Stream::Open {
        out.push(Command::CloseEvents);
    }
}

/// Once per heartbeat interval: report activity if there was any. The phase is evaluated
/// first, so a heartbeat that fires late (after a sleep past the deadline) shows the modal
/// instead of silently extending.
fn heartbeat_tick(s: &mut Session, w: &mut Work, now: Millis, motion: Millis, out: &mut Out) {
    s.motion = s.motion.max(motion);
    out.push(Command::ArmMotion);
    evaluate(s, w, now, out);
    if s.heartbeat_running {
        out.timer(Timer::Heartbeat, now + s.heartbeat_ms);
    }
    // However many tabs are open: one report per interval in total, decided under a lock.
    if s.phase == ClientPhase::Active
        && s.heartbeat_lock == LockState::Idle
        && heartbeat_due(s, now, 0)
    {
        s.heartbeat_lock = LockState::Requested;
        out.push(Command::TryHeartbeatLock);
    }
}

fn heartbeat_due(s: &Session, now: Millis, last_report: Millis) -> bool {
    let clock = HeartbeatClock {
        last_activity_ms: s.last_activity.max(s.motion) as f64,
        covered_until_ms: s.reported as f64,
        last_report_ms: last_report.max(0) as f64,
    };
    s.phase == ClientPhase::Active && heartbeat::due(&clock, now as f64, s.heartbeat_ms as f64)
}

/// Asks the server to extend the session, unless a refresh is already on its way.
/// `exchange` also runs outside a signed-in phase: a check answered `token_expired`
/// exchanges the token and thereby repeats the check.
fn refresh(s: &mut Session, exchange: bool, now: Millis, out: &mut Out) {
    send_refresh(s, exchange, now, out);
}

/// [`refresh`], saying which request carries it.
fn send_refresh(s: &mut Session, exchange: bool, now: Millis, out: &mut Out) -> Option<RequestId> {
    if s.refreshing() || !(exchange || s.phase.is_signed_in()) {
        return None;
    }
    s.reported = now;
    Some(s.send(Purpose::Refresh { exchange }, Request::Refresh, out))
}

fn answered(
    s: &mut Session,
    w: &mut Work,
    purpose: Purpose,
    answer: Result<Answer, Problem>,
    now: Millis,
    out: &mut Out,
) {
    match (purpose, answer) {
        (Purpose::Logout, Ok(_)) => signed_out_here(s, w, now, out),
        (Purpose::Logout, Err(problem)) => {
            if problem.error_code.ends_session() {
                signed_out_here(s, w, now, out);
            } else {
                // Never show "signed out" while the session may still be valid.
                s.sign_out_failed = true;
                let wait = retry_wait_ms(&mut s.sign_out_backoff_ms, problem.retry_after);
                out.timer(Timer::SignOutRetry, now + i64::from(wait));
            }
        }
        (_, Ok(Answer::Session(info))) => adopt(s, w, info, now, false, out),
        (_, Ok(_)) => {}
        (Purpose::Refresh { exchange: true }, Err(problem))
            if problem.error_code == ErrorCode::TokenExpired =>
        {
            // An exchanged token refused again is not retried a second time.
            session_gone(s, w, problem, now, out);
        }
        (purpose, Err(problem)) => {
            let retry = match purpose {
                Purpose::Check => Retry::Check,
                _ => Retry::Refresh,
            };
            handle_problem(s, w, problem, retry, now, out);
        }
    }
}

/// Reacts to a refusal from the server, or to not reaching it.
fn handle_problem(
    s: &mut Session,
    w: &mut Work,
    problem: Problem,
    retry: Retry,
    now: Millis,
    out: &mut Out,
) {
    match problem.error_code {
        // The token ran out while the session lives: exchange it, which repeats the check.
        ErrorCode::TokenExpired => refresh(s, true, now, out),
        code if code.ends_session() => session_gone(s, w, problem, now, out),
        _ => {
            s.unreachable = true;
            s.retry = Some(retry);
            let wait = retry_wait_ms(&mut s.retry_backoff_ms, problem.retry_after);
            out.timer(Timer::SessionRetry, now + i64::from(wait));
        }
    }
}

/// The session is over on the server. Whoever was working here is offered a way back in,
/// with their unsaved changes waiting; with nobody to offer it to, the page is signed out.
fn session_gone(s: &mut Session, w: &mut Work, problem: Problem, now: Millis, out: &mut Out) {
    let reason = match problem.error_code {
        ErrorCode::SessionExpired => Some(problem.reason.unwrap_or(ExpiryReason::Idle)),
        _ => None,
    };
    // The server's own word on why, else what the event stream said.
    s.told = problem.ended_because.or(s.told);
    if let (Some(because), Some(session), true) =
        (s.told, s.session_id.clone(), s.phase.is_signed_in())
    {
        // Borne out by the server: the other tabs holding this session lock without asking.
        out.push(Command::Broadcast(TabMessage::Ended { session, because }));
    }
    if s.user.is_none() {
        // A page opened onto an ended session: the last user may sign in again, and sees
        // nothing of their work until they have (it stays encrypted without the key).
        match (problem.error_code, s.last_user.clone()) {
            (ErrorCode::SessionExpired | ErrorCode::SessionRevoked, Some(user)) => {
                s.withheld = true;
                s.user = Some(user);
            }
            _ => return signed_out(s, w, now, out),
        }
    }
    end(s, w, reason, out);
}

/// Signed out by this tab, confirmed by the server: discard this user's local copy.
fn signed_out_here(s: &mut Session, w: &mut Work, now: Millis, out: &mut Out) {
    if let Some(user) = &s.user {
        out.push(Command::PurgeLocal { user: user.id });
    }
    out.push(Command::ForgetUser);
    out.push(Command::Broadcast(TabMessage::SignedOut));
    s.last_user = None;
    signed_out(s, w, now, out);
}

/// The session is gone for good (or never existed): forget it in this tab. The local copy
/// stays for its owner until it expires.
fn signed_out(s: &mut Session, w: &mut Work, _now: Millis, out: &mut Out) {
    close_events(s, out);
    for timer in [
        Timer::Phase,
        Timer::Countdown,
        Timer::Heartbeat,
        Timer::SessionRetry,
        Timer::SignOutRetry,
    ] {
        out.push(Command::CancelTimer(timer));
    }
    out.push(Command::UseKey(None));
    // Answers to requests already sent are ignored from now on, so a report's answer will
    // not let go of the lock: let go now. A lock still asked for is let go when granted.
    let heartbeat_lock = match s.heartbeat_lock {
        LockState::Reporting(_) => {
            out.push(Command::ReleaseHeartbeatLock);
            LockState::Idle
        }
        other => other,
    };
    *s = Session {
        phase: ClientPhase::SignedOut,
        last_user: s.last_user.take(),
        offline: s.offline,
        heartbeat_lock,
        ..Session::default()
    };
    w.signed_out(out);
}
