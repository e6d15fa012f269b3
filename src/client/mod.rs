//! The browser's decisions as a pure state machine (SPEC §1): events in, commands out.
//!
//! [`Client::handle`] takes one [`Event`] (a timer fired, the user did something, the
//! server answered, another tab spoke, the local copy was read) and returns the
//! [`Command`]s to carry out (set a timer, send a request, write the local copy, tell the
//! other tabs). It never touches a browser API, a clock or the network, so every rule is
//! tested natively, including across random interleavings of expiry, revocation, offline,
//! reload, a second tab and conflicts. The wasm side only executes commands, feeds events,
//! and shows what [`Client`]'s accessors describe.
//!
//! Two parts share the machine: the session (phase, deadlines, heartbeat, retries,
//! sign-out: `session.rs`) and the work (drafts, settings, the outbox of changes the
//! account has not acknowledged, conflicts: `work.rs`).

mod account;
pub mod passkey;
mod session;
mod work;

use serde::{Deserialize, Serialize};

use crate::passkeys::{PasskeyChallenge, PasskeyList, PasskeyRegistration, PasskeyView};
use crate::preserved::{Entry, LocalDraft, LocalSettings};
use crate::session_info::LocalKey;
use crate::sessions::{PasswordChange, PasswordChanged, SessionList, SessionView, SessionsEnded};
use crate::work::{DraftInput, Preferences, StoredDraft, WorkOp, WorkSnapshot};
use crate::{PolicyInfo, Problem, SessionInfo, UserSummary};

pub use account::{AccountAction, AccountMessage};
pub use passkey::{CeremonyCommand, CeremonyEvent, CeremonyState, PasskeyCeremony};
pub use session::ClientPhase;
pub use work::{Resolution, SaveStatus};

/// Milliseconds since the epoch on the browser's clock.
pub type Millis = i64;

/// Identifies a request so its answer finds what it was for.
pub type RequestId = u64;

/// The timers the machine uses; each is either armed once or not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Timer {
    /// The next phase change (warning, expiry).
    Phase,
    /// Once a second while the countdown shows.
    Countdown,
    /// Once per heartbeat interval: report activity if there was any.
    Heartbeat,
    /// Retrying a session request that could not reach the server.
    SessionRetry,
    /// Retrying a sign-out that could not reach the server.
    SignOutRetry,
    /// Typing paused: save to the account.
    Autosave,
    /// Typing paused: write the local copy.
    LocalSave,
    /// Retrying the outbox after the server could not be reached.
    WorkRetry,
    /// Opening the event stream again after it was lost.
    EventsRetry,
}

/// What the machine asks the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `session-info`: passive.
    CheckSession,
    /// `refresh`: extends and rotates.
    Refresh,
    /// `logout`: ends the session on the server; shown as signed out only once it answers.
    Logout,
    /// `GET /api/drafts`: passive.
    GetWork,
    /// A change from the outbox, with its idempotency key.
    Work {
        /// Sent as `Idempotency-Key`, the same on every retry of this change.
        key: String,
        /// The change, frozen as it was first sent.
        op: WorkOp,
    },
    /// `GET /api/sessions`: passive.
    ListSessions,
    /// `DELETE /api/sessions/{id}`.
    EndSession {
        /// The public id of the session to end.
        id: String,
    },
    /// `POST /api/sessions/revoke-others` (step-up).
    RevokeOthers,
    /// `POST /api/account/password` (step-up).
    ChangePassword(PasswordChange),
    /// `DELETE /api/drafts`: every draft not submitted (step-up).
    DeleteAllDrafts,
    /// `GET /api/account/passkeys`: passive.
    ListPasskeys,
    /// `POST /api/account/passkeys/options` (step-up).
    PasskeyOptions,
    /// `POST /api/account/passkeys` (step-up).
    RegisterPasskey(PasskeyRegistration),
    /// `DELETE /api/account/passkeys/{id}` (step-up).
    RemovePasskey {
        /// The passkey's id.
        id: String,
    },
    /// `GET /api/admin/users?q=`: passive.
    ListAccounts {
        /// Part of a username; empty for every account.
        query: String,
    },
    /// `DELETE /api/admin/users/{username}/sessions/{id}` (step-up).
    EndAccountSession {
        /// The account's username.
        username: String,
        /// The session's public id.
        id: String,
    },
    /// `DELETE /api/admin/users/{username}/sessions` (step-up).
    EndAccountSessions {
        /// The account's username.
        username: String,
    },
    /// `POST /api/admin/users/{username}/disable` or `enable` (step-up).
    SetAccess {
        /// The account's username.
        username: String,
        /// Disable (`true`) or enable.
        disable: bool,
    },
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The session's state: the answer to a check or a refresh.
    Session(SessionInfo),
    /// The server ended the session as asked.
    LoggedOut,
    /// Everything in the account, to merge with the local copy.
    Snapshot(WorkSnapshot),
    /// A draft saved, created or submitted.
    Saved(StoredDraft),
    /// A draft was deleted.
    Deleted,
    /// The settings as the account now holds them.
    Settings(Preferences),
    /// The user's live sessions.
    Sessions(SessionList),
    /// How many sessions an end or a sign-out-elsewhere ended.
    SessionsEnded(SessionsEnded),
    /// The password was changed; other sessions ended with it.
    PasswordChanged(PasswordChanged),
    /// How many drafts a delete-all removed.
    DraftsDeleted(crate::work::DraftsDeleted),
    /// The user's passkeys.
    Passkeys(PasskeyList),
    /// Options for registering a passkey.
    PasskeyChallenge(PasskeyChallenge),
    /// A passkey was registered.
    PasskeyAdded(PasskeyView),
    /// A passkey was removed.
    PasskeyRemoved,
    /// Administrators: accounts and their sessions.
    Accounts(crate::admin::AdminUserList),
    /// Administrators: an account was disabled or enabled.
    AccessChanged(crate::admin::AccessChanged),
}

/// What tabs of one browser tell each other. Never a token or a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TabMessage {
    /// The server's latest word on the session (after sign-in, refresh or a check), without
    /// the local key.
    Session(Box<SessionInfo>),
    /// The user signed out in another tab.
    SignedOut,
    /// The server told another tab that session `session` (its public id) ended, and why
    /// (that tab's check confirmed it).
    Ended {
        /// The session that ended: a tab holding another (signed in again since) goes on.
        session: String,
        /// Why.
        because: crate::events::EndedBecause,
    },
    /// A session of the user started or ended (the event stream told another tab).
    SessionsChanged,
}

impl TabMessage {
    /// The text to post to the other tabs.
    pub fn encode(&self) -> String {
        // Strings, numbers and an enum tag: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads what another tab sent (any page of this origin can write there); `None` for
    /// anything else. The storage-event fallback appends a line with a stamp, ignored here.
    pub fn decode(raw: &str) -> Option<Self> {
        let json = raw.split('\n').next().unwrap_or(raw);
        serde_json::from_slice(json.as_bytes()).ok()
    }
}

/// What the user does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserAction {
    /// "Stay signed in" (or a deliberate key, click or touch while the warning shows).
    StaySignedIn,
    /// Sign out, confirmed if there were changes the account does not have.
    SignOut,
    /// A new, empty draft with an id the page made (a UUID).
    NewDraft {
        /// The new draft's id.
        id: String,
    },
    /// The user typed: the draft's title and body are now `input`.
    Edit {
        /// The draft typed in.
        id: String,
        /// Its whole title and body after the change.
        input: DraftInput,
    },
    /// Delete a draft (at once if the account never had it).
    Delete {
        /// The draft to delete.
        id: String,
    },
    /// Submit a draft; it is read-only once the account accepted.
    Submit {
        /// The draft to submit.
        id: String,
    },
    /// Show this draft in the editor.
    Select {
        /// The draft to show.
        id: String,
    },
    /// New settings, in full.
    ChangeSettings(Preferences),
    /// Settle a conflict on a draft.
    Resolve {
        /// The draft in conflict.
        id: String,
        /// Which version the user keeps.
        resolution: Resolution,
    },
    /// Leaving a field: save now rather than after the pause.
    Flush,
    /// Something about the account: its sessions, its password.
    Account(AccountAction),
}

/// Something that happened, for [`Client::handle`]. `now` is always the browser's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The page started. `cookie`: the page request carried a session cookie. `tab`: a
    /// random id of this page, for idempotency keys. `last_user`: who was signed in here
    /// before (no secret), to offer them a way back in.
    Started {
        /// When it happened.
        now: Millis,
        /// Whether the page request carried a session cookie.
        cookie: bool,
        /// A random id of this page, for idempotency keys.
        tab: String,
        /// Who was signed in here before, if anyone (no secret).
        last_user: Option<UserSummary>,
    },
    /// The server answered a request (or it could not be reached: `network_error`).
    Answered {
        /// When the answer arrived.
        now: Millis,
        /// The request, as [`Command::Send`] named it.
        id: RequestId,
        /// The answer, or the problem the server (or the network) gave.
        answer: Result<Answer, Problem>,
    },
    /// Signed in through a form: the sign-in page, or the modal as the same user.
    SignedIn {
        /// When the sign-in was answered.
        now: Millis,
        /// The session it started.
        info: SessionInfo,
    },
    /// A timer set by [`Command::SetTimer`] went off.
    TimerFired {
        /// When it fired.
        now: Millis,
        /// Which timer.
        timer: Timer,
    },
    /// The heartbeat timer fired; `motion` is the last pointer, scroll or wheel activity.
    Heartbeat {
        /// When it fired.
        now: Millis,
        /// When the pointer, scroll or wheel last moved (on the same clock).
        motion: Millis,
    },
    /// This tab holds the heartbeat lock (until it sends [`Command::ReleaseHeartbeatLock`]);
    /// `last_report` is when any tab last reported.
    HeartbeatLock {
        /// When the lock was granted.
        now: Millis,
        /// When any tab last reported activity.
        last_report: Millis,
    },
    /// A deliberate key press, click or touch.
    Activity {
        /// When it happened.
        now: Millis,
    },
    /// The page became visible or got focus.
    Returned {
        /// When it happened.
        now: Millis,
    },
    /// The page came back from the back-forward cache (it was hidden as it went in): it
    /// stays hidden until the server has said whether its session lives
    /// ([`Client::restoring`]).
    Restored {
        /// When it happened.
        now: Millis,
    },
    /// The browser went online or offline.
    Connectivity {
        /// When it changed.
        now: Millis,
        /// `true` once the network is back.
        online: bool,
    },
    /// Another tab of this browser spoke.
    Tab {
        /// When the message arrived.
        now: Millis,
        /// What it said.
        message: TabMessage,
    },
    /// The local copy of `user` was read and decrypted (entries that could not be read are
    /// reported in `unreadable`).
    LocalLoaded {
        /// When the read finished.
        now: Millis,
        /// Whose copy it is (the user's id).
        user: i64,
        /// The entries that could be read and decrypted.
        entries: Vec<Entry>,
        /// How many entries could not be read.
        unreadable: usize,
    },
    /// The user did something.
    User {
        /// When it happened.
        now: Millis,
        /// What the user did.
        action: UserAction,
    },
    /// The page is going away (hidden for good, or reloaded): write what is not written yet.
    Leaving {
        /// When it happened.
        now: Millis,
    },
    /// The event stream (`GET /api/events`) said something.
    Pushed {
        /// When it arrived.
        now: Millis,
        /// What it said.
        event: crate::events::ServerEvent,
    },
    /// The event stream opened by [`Command::OpenEvents`] closed or could not open.
    EventsLost {
        /// When it was lost.
        now: Millis,
    },
    /// The authenticator answered [`Command::CreatePasskey`] of `attempt`.
    Authenticator {
        /// When it answered.
        now: Millis,
        /// The attempt it answers.
        attempt: u32,
        /// `PublicKeyCredential.toJSON()`, or why there is none.
        answer: Result<serde_json::Value, passkey::AuthenticatorFailure>,
    },
}

/// What the wasm side carries out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Arm a timer for `at`, replacing one already set for it.
    SetTimer {
        /// Which timer.
        timer: Timer,
        /// When to fire it, on the browser's clock.
        at: Millis,
    },
    /// Disarm a timer; nothing happens if it is not set.
    CancelTimer(Timer),
    /// Send a request; its answer comes back as [`Event::Answered`] with the same id.
    Send {
        /// Names the answer.
        id: RequestId,
        /// What to send.
        request: Request,
    },
    /// Ask for the cross-tab heartbeat lock, waiting while another tab holds it; answered
    /// by [`Event::HeartbeatLock`] once this tab has it.
    TryHeartbeatLock,
    /// Let go of the heartbeat lock: the report made under it has been answered (or none
    /// was due). Holding it that long keeps every other tab from deciding on a shared
    /// report time that may not have reached it yet.
    ReleaseHeartbeatLock,
    /// Tell the other tabs when activity was last reported.
    RecordReport {
        /// When, on the browser's clock.
        at: Millis,
    },
    /// Re-arm the one-shot motion listeners.
    ArmMotion,
    /// Tell the other tabs.
    Broadcast(TabMessage),
    /// The key for this user's local copy (or none: forget it).
    UseKey(Option<LocalKey>),
    /// Read and decrypt `user`'s local copy.
    LoadLocal {
        /// Whose copy to read.
        user: i64,
    },
    /// Write one entry of `user`'s local copy (encrypted).
    Store {
        /// Whose copy it is.
        user: i64,
        /// The entry, in plaintext; the wasm side encrypts it.
        entry: Entry,
    },
    /// Remove one draft's entry from `user`'s local copy.
    RemoveDraft {
        /// Whose copy it is.
        user: i64,
        /// The draft's id.
        id: String,
    },
    /// Remove everything kept for `user` (an explicit sign-out).
    PurgeLocal {
        /// Whose copy to remove.
        user: i64,
    },
    /// Remember who is signed in (no secret), to offer them a way back after a reload.
    RememberUser(UserSummary),
    /// Forget who was signed in here (an explicit sign-out).
    ForgetUser,
    /// Remember which element has focus; give it back later.
    CaptureFocus,
    /// Give focus back to the element captured before (the session came back).
    RestoreFocus,
    /// Open the event stream: in whichever tab of this browser holds its lock, which tells
    /// the others what it hears; [`Event::Pushed`] as it speaks, [`Event::EventsLost`] if
    /// it closes.
    OpenEvents,
    /// Close it (and let another tab's wait for it go on).
    CloseEvents,
    /// Hand registration options to `navigator.credentials.create`; answered by
    /// [`Event::Authenticator`] with the same attempt.
    CreatePasskey {
        /// Names the answer.
        attempt: u32,
        /// WebAuthn's options, as the server gave them.
        options: serde_json::Value,
    },
}

/// A notice the page shows until it is resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Notice {
    /// The server cannot be reached; work is kept here and retried.
    Unreachable,
    /// A sign-out could not reach the server: still signed in, still trying.
    SignOutPending,
    /// Parts of the local copy could not be read.
    LocalUnreadable,
}

/// The machine.
#[derive(Debug, Default)]
pub struct Client {
    session: session::Session,
    work: work::Work,
    account: account::Account,
    next_request: RequestId,
}

/// Collects commands during one step.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub commands: Vec<Command>,
    next_request: RequestId,
}

impl Out {
    pub fn push(&mut self, command: Command) {
        self.commands.push(command);
    }

    pub fn send(&mut self, request: Request) -> RequestId {
        self.next_request += 1;
        let id = self.next_request;
        self.commands.push(Command::Send { id, request });
        id
    }

    pub fn timer(&mut self, timer: Timer, at: Millis) {
        self.commands.push(Command::SetTimer { timer, at });
    }
}

/// First and longest wait before retrying after the server could not be reached.
const RETRY_FIRST_MS: u32 = 1_000;
const RETRY_MAX_MS: u32 = 30_000;

/// The wait before the next retry: the backoff doubles from one second up to thirty, and a
/// server's `Retry-After` (at most five minutes) is honoured when it asks for longer. The
/// machine's retries and the page's loader share it.
pub fn retry_wait_ms(backoff_ms: &mut u32, retry_after_secs: Option<u64>) -> u32 {
    *backoff_ms = if *backoff_ms == 0 {
        RETRY_FIRST_MS
    } else {
        (*backoff_ms * 2).min(RETRY_MAX_MS)
    };
    retry_after_secs
        .map(|s| (s.min(300) as u32) * 1000)
        .unwrap_or(0)
        .max(*backoff_ms)
}

impl Client {
    /// A machine before the page started: no session known yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one event; returns what to do.
    pub fn handle(&mut self, event: Event) -> Vec<Command> {
        let mut out = Out {
            commands: Vec::new(),
            next_request: self.next_request,
        };
        let user = self.session.user.as_ref().map(|u| u.id);
        self.route(event, &mut out);
        // Signed out, or another user signed in (in another tab): nothing of the account
        // on screen stays, nor a sensitive action waiting to be confirmed.
        let switched =
            user.is_some_and(|was| self.session.user.as_ref().is_some_and(|u| u.id != was));
        if switched || (!self.session.phase.is_signed_in() && !self.session.phase.is_ended()) {
            self.account.reset();
        }
        self.next_request = out.next_request;
        out.commands
    }

    /// Each event to the part it concerns: the work's timers, its local copy and the page
    /// leaving to the work; account actions to the account; answers to whoever asked; the
    /// rest to the session. A refusal the work or the account met that is about the
    /// session goes on to the session.
    fn route(&mut self, event: Event, out: &mut Out) {
        let (s, w, a) = (&mut self.session, &mut self.work, &mut self.account);
        let signed_in = s.phase.is_signed_in();
        match event {
            Event::TimerFired {
                now,
                timer: timer @ (Timer::Autosave | Timer::LocalSave | Timer::WorkRetry),
            } => w.timer(timer, now, signed_in, out),
            Event::LocalLoaded {
                now,
                user,
                entries,
                unreadable,
            } => w.local_loaded(user, entries, unreadable, now, signed_in, out),
            Event::Leaving { .. } => w.leaving(out),
            Event::User {
                action: UserAction::Account(action),
                ..
            } => a.action(action, signed_in, out),
            Event::Answered { now, id, answer } if !session::owns(s, id) && a.owns(id) => {
                let followup = a.answered(answer, now, out);
                if let Some(problem) = followup.problem {
                    session::refused(s, w, problem, now, out);
                }
                if followup.refetch_work && s.phase.is_signed_in() {
                    w.refetch_now(now, out);
                }
            }
            Event::Answered { now, id, answer } if !session::owns(s, id) => {
                if let Some(problem) = w.answered(id, answer, now, signed_in, out) {
                    session::refused(s, w, problem, now, out);
                }
            }
            Event::SignedIn { .. } => {
                session::handle(s, w, event, out);
                a.signed_in(out);
            }
            Event::Authenticator {
                attempt, answer, ..
            } => a.authenticator(attempt, answer, signed_in, out),
            Event::Pushed {
                event: crate::events::ServerEvent::SessionsChanged,
                ..
            } => {
                out.push(Command::Broadcast(TabMessage::SessionsChanged));
                a.sessions_changed(signed_in, out);
            }
            Event::Tab {
                message: TabMessage::SessionsChanged,
                ..
            } => a.sessions_changed(signed_in, out),
            event => session::handle(s, w, event, out),
        }
    }

    /// What the page shows about the session.
    pub fn phase(&self) -> &ClientPhase {
        &self.session.phase
    }

    /// Who is signed in (or was, while the session shows as ended); `None` when signed out.
    pub fn user(&self) -> Option<&UserSummary> {
        self.session.user.as_ref()
    }

    /// The policy of the current session, once the server has told it.
    pub fn policy(&self) -> Option<PolicyInfo> {
        self.session.policy
    }

    /// The page was opened onto an ended session: show nothing of the work until the same
    /// user has signed in again.
    pub fn work_withheld(&self) -> bool {
        self.session.withheld
    }

    /// A sign-out was sent and not yet confirmed: the page shows it is signing out.
    pub fn signing_out(&self) -> bool {
        self.session.signing_out
    }

    /// The notices to show now, in a fixed order.
    pub fn notices(&self) -> Vec<Notice> {
        let mut notices = Vec::new();
        if self.session.unreachable || self.work.unreachable() {
            notices.push(Notice::Unreachable);
        }
        if self.session.sign_out_failed {
            notices.push(Notice::SignOutPending);
        }
        if self.work.unreadable > 0 {
            notices.push(Notice::LocalUnreadable);
        }
        notices
    }

    /// The drafts to show, in order (deleted ones are gone from view).
    pub fn drafts(&self) -> impl Iterator<Item = &LocalDraft> {
        self.work.visible()
    }

    /// The draft shown in the editor: the one chosen, or the first if it is gone or none was.
    pub fn selected(&self) -> Option<&str> {
        self.work.selected()
    }

    /// The user's settings as they see them (saved to the account or not).
    pub fn settings(&self) -> &Preferences {
        &self.work.settings.local
    }

    /// The settings as the local copy keeps them: with the account's copy and the change not
    /// yet acknowledged.
    pub fn local_settings(&self) -> &LocalSettings {
        &self.work.settings
    }

    /// How many changes the account does not have yet.
    pub fn waiting(&self) -> usize {
        self.work.waiting()
    }

    /// Where the work is, for the status line.
    pub fn save_status(&self) -> SaveStatus {
        let signed_in = self.session.phase.is_signed_in() && !self.session.withheld;
        self.work.status(signed_in, self.session.unreachable)
    }

    /// When the account last acknowledged a change.
    pub fn last_saved(&self) -> Option<Millis> {
        self.work.last_saved
    }

    /// Whether the work of the signed-in user has been loaded.
    pub fn work_ready(&self) -> bool {
        self.work.ready()
    }

    /// The user's live sessions, once loaded (`UserAction::Account(LoadSessions)`).
    pub fn sessions(&self) -> Option<&[SessionView]> {
        self.account.sessions.as_deref()
    }

    /// The outcome of the last account action.
    pub fn account_message(&self) -> Option<&AccountMessage> {
        self.account.message.as_ref()
    }

    /// Administrators: the accounts found, once loaded (`AccountAction::LoadAccounts`).
    pub fn accounts(&self) -> Option<&crate::admin::AdminUserList> {
        self.account.accounts.as_ref()
    }

    /// The user's passkeys, once loaded (`UserAction::Account(LoadPasskeys)`).
    pub fn passkeys(&self) -> Option<&[PasskeyView]> {
        self.account.passkeys.as_deref()
    }

    /// An account action is on its way.
    pub fn account_busy(&self) -> bool {
        self.account.busy()
    }

    /// A sensitive action waits for the user to confirm their password.
    pub fn step_up_required(&self) -> bool {
        self.account.step_up.is_some() && self.session.phase.is_signed_in()
    }

    /// How many times the password was changed here (the form clears on each).
    pub fn password_changes(&self) -> u32 {
        self.account.password_changes
    }

    /// Back from the back-forward cache, and the server has not yet said whether the
    /// session lives: nothing of the page may show.
    pub fn restoring(&self) -> bool {
        self.session.restoring.is_some()
    }

    /// The deadlines on the local clock, while a session is known.
    pub fn deadlines(&self) -> Option<crate::Deadlines> {
        self.session.deadlines
    }
}

#[cfg(test)]
mod tests;
