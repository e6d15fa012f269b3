//! Whole interleavings: one user in two tabs of one browser, an account server with the
//! rules of the real one (versions, preconditions, idempotency keys, session deadlines),
//! another device editing behind their back, and a network that loses requests and
//! answers. After any sequence of typing, autosave, expiry, revocation, offline, reload,
//! signing in again and conflicts, once the network is back and the user has signed in
//! again:
//!
//! (a) no change the user made is lost: the account has it, or it is shown as a conflict;
//! (b) nothing is applied twice: every idempotency key changes the account at most once,
//!     every submit happens at most once;
//! (c) nothing is sent for another user;
//! (d) the phase rules hold: never "active" at or past the warning, never "warning" past
//!     the deadline or earlier than the warning period before it.

// The simulated server answers as the machine hears it: `Result<Answer, Problem>`.
#![allow(clippy::result_large_err)]

use std::collections::{BTreeMap, HashMap, VecDeque};

use proptest::prelude::*;

use super::super::*;
use super::{info, HEARTBEAT_MS, IDLE_MS, T0, WARNING_MS};
use crate::preserved::{draft_key, settings_key, user_prefix, Entry};
use crate::work::{Precondition, StoredDraft, WorkOp, WorkSnapshot};
use crate::{ErrorCode, ExpiryReason, Phase, Problem};

const ADA: i64 = 1;
const GRACE: i64 = 2;

/// The account server, as the real one behaves for one user with one session cookie.
#[derive(Debug, Default)]
struct Server {
    /// Per user, per draft id.
    drafts: BTreeMap<(i64, String), StoredDraft>,
    settings: HashMap<i64, crate::work::Preferences>,
    answers: HashMap<String, (WorkOp, Result<Answer, Problem>)>,
    applied: HashMap<String, u32>,
    submits: HashMap<String, u32>,
    /// Every session ever started; the browser's cookie names the last one.
    sessions: Vec<ServerSession>,
    /// Who made each draft (for rule c).
    creators: HashMap<String, i64>,
    /// Every text each draft ever had in the account (for rule a: a change acknowledged
    /// once may be changed again elsewhere later; it was not lost).
    history: HashMap<String, Vec<crate::work::DraftInput>>,
    violations: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct ServerSession {
    user: i64,
    last_activity: Millis,
    ended: Option<ErrorCode>,
}

fn refused(code: ErrorCode) -> Result<Answer, Problem> {
    let mut problem = Problem::new(code, "sim");
    if code == ErrorCode::SessionExpired {
        problem.reason = Some(ExpiryReason::Idle);
    }
    Err(problem)
}

impl Server {
    /// The session the browser's cookie names now.
    fn cookie(&self) -> Option<usize> {
        self.sessions.len().checked_sub(1)
    }

    fn current(&mut self) -> Option<&mut ServerSession> {
        self.sessions.last_mut()
    }

    fn session(
        &mut self,
        cookie: Option<usize>,
        now: Millis,
    ) -> Result<ServerSession, Result<Answer, Problem>> {
        let Some(session) = cookie.and_then(|c| self.sessions.get_mut(c)) else {
            return Err(refused(ErrorCode::Unauthenticated));
        };
        if session.ended.is_none() && now >= session.last_activity + IDLE_MS {
            session.ended = Some(ErrorCode::SessionExpired);
        }
        match session.ended {
            Some(code) => Err(refused(code)),
            None => Ok(*session),
        }
    }

    fn touch(&mut self, cookie: Option<usize>, now: Millis) {
        if let Some(session) = cookie.and_then(|c| self.sessions.get_mut(c)) {
            session.last_activity = now;
        }
    }

    fn sign_in(&mut self, user: i64, now: Millis) -> crate::SessionInfo {
        self.sessions.push(ServerSession {
            user,
            last_activity: now,
            ended: None,
        });
        info(user, now, now)
    }

    /// A request that carries `cookie` (the one the browser had when it sent it).
    fn handle(
        &mut self,
        cookie: Option<usize>,
        request: &Request,
        now: Millis,
    ) -> Result<Answer, Problem> {
        let session = match self.session(cookie, now) {
            Ok(session) => session,
            Err(refusal) => return refusal,
        };
        match request {
            Request::CheckSession => Ok(Answer::Session(info(
                session.user,
                now,
                session.last_activity,
            ))),
            Request::Refresh => {
                self.touch(cookie, now);
                Ok(Answer::Session(info(session.user, now, now)))
            }
            Request::Logout => {
                if let Some(s) = cookie.and_then(|c| self.sessions.get_mut(c)) {
                    s.ended = Some(ErrorCode::SessionRevoked);
                }
                Ok(Answer::LoggedOut)
            }
            Request::GetWork => Ok(Answer::Snapshot(WorkSnapshot {
                drafts: self
                    .drafts
                    .iter()
                    .filter(|((user, _), _)| *user == session.user)
                    .map(|(_, d)| d.clone())
                    .collect(),
                settings: self
                    .settings
                    .get(&session.user)
                    .copied()
                    .unwrap_or_default(),
            })),
            Request::Work { key, op } => {
                if let Some(id) = op.draft_id() {
                    let creator = *self.creators.entry(id.to_owned()).or_insert(session.user);
                    if creator != session.user {
                        self.violations
                            .push(format!("{id} sent for user {}", session.user));
                    }
                }
                self.touch(cookie, now);
                if let Some((earlier, answer)) = self.answers.get(key) {
                    if earlier != op {
                        self.violations
                            .push(format!("key {key} reused for another change"));
                    }
                    return answer.clone();
                }
                let answer = self.apply(session.user, op, now);
                if let (WorkOp::PutDraft { id, input, .. }, Ok(_)) = (op, &answer) {
                    self.history
                        .entry(id.clone())
                        .or_default()
                        .push(input.clone());
                }
                *self.applied.entry(key.clone()).or_default() += 1;
                self.answers
                    .insert(key.clone(), (op.clone(), answer.clone()));
                answer
            }
            // The simulation's users never open their account page: one session each.
            Request::ListSessions => Ok(Answer::Sessions(crate::sessions::SessionList {
                sessions: Vec::new(),
            })),
            Request::EndSession { .. } => Err(Problem::new(ErrorCode::NotFound, "no such session")),
            Request::RevokeOthers => Ok(Answer::SessionsEnded(crate::sessions::SessionsEnded {
                ended: 0,
            })),
            Request::DeleteAllDrafts => Ok(Answer::DraftsDeleted(crate::work::DraftsDeleted {
                deleted: 0,
            })),
            Request::ChangePassword(_) => {
                Ok(Answer::PasswordChanged(crate::sessions::PasswordChanged {
                    sessions_ended: 0,
                }))
            }
            // …nor add passkeys.
            Request::ListPasskeys => Ok(Answer::Passkeys(crate::passkeys::PasskeyList {
                passkeys: Vec::new(),
            })),
            Request::PasskeyOptions
            | Request::RegisterPasskey(_)
            | Request::RemovePasskey { .. } => {
                Err(Problem::new(ErrorCode::NotFound, "no passkeys here"))
            }
            // …nor are they administrators.
            Request::ListAccounts { .. }
            | Request::EndAccountSession { .. }
            | Request::EndAccountSessions { .. }
            | Request::SetAccess { .. } => {
                Err(Problem::new(ErrorCode::NotFound, "not an administrator"))
            }
        }
    }

    fn apply(&mut self, user: i64, op: &WorkOp, now: Millis) -> Result<Answer, Problem> {
        let conflict = |current: &StoredDraft| {
            let mut problem = Problem::new(ErrorCode::EditConflict, "sim");
            problem.current = Some(Box::new(current.clone()));
            Err(problem)
        };
        let changeable = |found: Option<&StoredDraft>, version: u64| match found {
            None => Err(refused(ErrorCode::NotFound)),
            Some(d) if d.is_submitted() || d.version != version => Err(conflict(d)),
            Some(d) => Ok(d.clone()),
        };
        match op {
            WorkOp::PutDraft {
                id,
                input,
                precondition: Precondition::Absent,
            } => {
                let key = (user, id.clone());
                if let Some(current) = self.drafts.get(&key) {
                    return conflict(current);
                }
                let draft = StoredDraft {
                    id: id.clone(),
                    title: input.title.clone(),
                    body: input.body.clone(),
                    version: 1,
                    updated_at: super::at(now),
                    submitted_at: None,
                };
                self.drafts.insert(key, draft.clone());
                Ok(Answer::Saved(draft))
            }
            WorkOp::PutDraft {
                id,
                input,
                precondition: Precondition::Version(v),
            } => {
                let key = (user, id.clone());
                match changeable(self.drafts.get(&key), *v) {
                    Err(refusal) => refusal,
                    Ok(mut draft) => {
                        draft.title = input.title.clone();
                        draft.body = input.body.clone();
                        draft.version += 1;
                        self.drafts.insert(key, draft.clone());
                        Ok(Answer::Saved(draft))
                    }
                }
            }
            WorkOp::DeleteDraft { id, version } => {
                let key = (user, id.clone());
                match changeable(self.drafts.get(&key), *version) {
                    Err(refusal) => refusal,
                    Ok(_) => {
                        self.drafts.remove(&key);
                        Ok(Answer::Deleted)
                    }
                }
            }
            WorkOp::SubmitDraft { id, version } => {
                let key = (user, id.clone());
                match changeable(self.drafts.get(&key), *version) {
                    Err(refusal) => refusal,
                    Ok(mut draft) => {
                        draft.version += 1;
                        draft.submitted_at = Some(super::at(now));
                        *self.submits.entry(id.clone()).or_default() += 1;
                        self.drafts.insert(key, draft.clone());
                        Ok(Answer::Saved(draft))
                    }
                }
            }
            WorkOp::PutSettings { settings } => {
                self.settings.insert(user, *settings);
                Ok(Answer::Settings(*settings))
            }
        }
    }
}

/// One tab: its machine, its timers, its requests on the way.
#[derive(Debug)]
struct Tab {
    client: Client,
    timers: HashMap<Timer, Millis>,
    /// Requests on their way, with the cookie they carry.
    requests: VecDeque<(RequestId, Request, Option<usize>)>,
    online: bool,
    /// What the user last typed in each draft of this tab, and whether submit was pressed.
    typed: BTreeMap<String, crate::work::DraftInput>,
    submitted: Vec<String>,
    generation: u32,
}

#[derive(Debug)]
struct World {
    now: Millis,
    server: Server,
    tabs: Vec<Tab>,
    /// localStorage: what is stored is serialised (the browser also encrypts it).
    storage: BTreeMap<String, Vec<u8>>,
    last_user: Option<crate::UserSummary>,
    last_report: Millis,
    /// The heartbeat Web Lock: which tab holds it, and the tabs waiting for it in order.
    lock: Option<usize>,
    lock_queue: VecDeque<usize>,
    /// The tab holding the event stream (as the Web Lock grants it), and those waiting.
    stream: Option<usize>,
    stream_queue: VecDeque<usize>,
    violations: Vec<String>,
    counter: u32,
}

#[derive(Debug, Clone)]
enum Action {
    Type {
        tab: usize,
        slot: usize,
    },
    Submit {
        tab: usize,
        slot: usize,
    },
    Deliver {
        tab: usize,
    },
    LoseAnswer {
        tab: usize,
    },
    DropRequest {
        tab: usize,
    },
    Advance {
        ms: Millis,
    },
    Expire,
    Revoke,
    /// The stream says the session ended, whether or not it did.
    StaleNews,
    Offline {
        tab: usize,
    },
    Online {
        tab: usize,
    },
    Reload {
        tab: usize,
    },
    SignInAgain {
        tab: usize,
    },
    OtherDevice {
        slot: usize,
    },
    Resolve {
        tab: usize,
        slot: usize,
        keep: u8,
    },
    /// Sign out here (confirming that unsaved changes are discarded), then the other user
    /// signs in on the same browser.
    SwitchUser {
        tab: usize,
    },
}

fn action() -> impl Strategy<Value = Action> {
    let tab = 0usize..2;
    let slot = 0usize..3;
    prop_oneof![
        6 => (tab.clone(), slot.clone()).prop_map(|(tab, slot)| Action::Type { tab, slot }),
        1 => (tab.clone(), slot.clone()).prop_map(|(tab, slot)| Action::Submit { tab, slot }),
        6 => tab.clone().prop_map(|tab| Action::Deliver { tab }),
        1 => tab.clone().prop_map(|tab| Action::LoseAnswer { tab }),
        1 => tab.clone().prop_map(|tab| Action::DropRequest { tab }),
        4 => (100i64..40_000).prop_map(|ms| Action::Advance { ms }),
        1 => Just(Action::Expire),
        1 => Just(Action::Revoke),
        1 => Just(Action::StaleNews),
        1 => tab.clone().prop_map(|tab| Action::Offline { tab }),
        1 => tab.clone().prop_map(|tab| Action::Online { tab }),
        1 => tab.clone().prop_map(|tab| Action::Reload { tab }),
        2 => tab.clone().prop_map(|tab| Action::SignInAgain { tab }),
        1 => slot.clone().prop_map(|slot| Action::OtherDevice { slot }),
        1 => (tab.clone(), slot, 0u8..3).prop_map(|(tab, slot, keep)| Action::Resolve { tab, slot, keep }),
        1 => tab.prop_map(|tab| Action::SwitchUser { tab }),
    ]
}

/// Each tab writes in drafts of its own (one person, two tabs, different documents); each
/// user has their own.
fn draft_id(user: i64, tab: usize, slot: usize) -> String {
    format!("00000000-0000-4000-800{user}-0000000{tab}000{slot}")
}

impl World {
    fn new() -> Self {
        let mut world = World {
            now: T0,
            server: Server::default(),
            tabs: Vec::new(),
            storage: BTreeMap::new(),
            last_user: None,
            last_report: 0,
            lock: None,
            lock_queue: VecDeque::new(),
            stream: None,
            stream_queue: VecDeque::new(),
            violations: Vec::new(),
            counter: 0,
        };
        let info = world.server.sign_in(ADA, T0);
        for _ in 0..2 {
            world.tabs.push(Tab {
                client: Client::new(),
                timers: HashMap::new(),
                requests: VecDeque::new(),
                online: true,
                typed: BTreeMap::new(),
                submitted: Vec::new(),
                generation: 0,
            });
        }
        for tab in 0..2 {
            world.start(tab);
        }
        // The first tab signed in through the form; both load the session.
        world.feed(0, Event::SignedIn { now: T0, info });
        world.settle();
        world
    }

    fn start(&mut self, tab: usize) {
        let t = &mut self.tabs[tab];
        t.generation += 1;
        let name = format!("t{tab}g{}", t.generation);
        let event = Event::Started {
            now: self.now,
            cookie: true,
            tab: name,
            last_user: self.last_user.clone(),
        };
        self.feed(tab, event);
    }

    /// Feeds an event and carries out everything that follows, across tabs.
    fn feed(&mut self, tab: usize, event: Event) {
        let mut queue = VecDeque::from([(tab, event)]);
        while let Some((tab, event)) = queue.pop_front() {
            let commands = self.tabs[tab].client.handle(event);
            self.check_phase(tab);
            for command in commands {
                self.execute(tab, command, &mut queue);
            }
        }
    }

    fn execute(&mut self, tab: usize, command: Command, queue: &mut VecDeque<(usize, Event)>) {
        let now = self.now;
        match command {
            Command::SetTimer { timer, at } => {
                self.tabs[tab].timers.insert(timer, at);
            }
            Command::CancelTimer(timer) => {
                self.tabs[tab].timers.remove(&timer);
            }
            Command::Send { id, request } => {
                let cookie = self.server.cookie();
                self.tabs[tab].requests.push_back((id, request, cookie));
            }
            Command::TryHeartbeatLock => {
                if self.lock.is_none() {
                    self.grant_lock(tab, queue);
                } else {
                    self.lock_queue.push_back(tab);
                }
            }
            Command::ReleaseHeartbeatLock => {
                if self.lock != Some(tab) {
                    self.violations.push(format!(
                        "tab {tab} let go of a lock held by {:?}",
                        self.lock
                    ));
                }
                self.release_lock(tab, queue);
            }
            Command::RecordReport { at } => {
                // One report per interval across the tabs (a tenth early at most).
                if self.last_report > 0 && (at - self.last_report) * 10 < HEARTBEAT_MS * 9 {
                    self.violations.push(format!(
                        "tab {tab} reported at {at}, {} ms after the last report",
                        at - self.last_report
                    ));
                }
                self.last_report = at;
            }
            Command::OpenEvents => {
                if self.stream.is_none() {
                    self.stream = Some(tab);
                } else if self.stream != Some(tab) && !self.stream_queue.contains(&tab) {
                    self.stream_queue.push_back(tab);
                }
            }
            Command::CloseEvents => self.close_stream(tab),
            Command::ArmMotion
            | Command::UseKey(_)
            | Command::CaptureFocus
            | Command::RestoreFocus
            | Command::CreatePasskey { .. } => {}
            Command::Broadcast(message) => {
                for other in 0..self.tabs.len() {
                    if other != tab {
                        queue.push_back((
                            other,
                            Event::Tab {
                                now,
                                message: message.clone(),
                            },
                        ));
                    }
                }
            }
            Command::LoadLocal { user } => {
                let prefix = user_prefix(user);
                let entries = self
                    .storage
                    .iter()
                    .filter(|(key, _)| key.starts_with(&prefix))
                    .filter_map(|(_, bytes)| Entry::from_json(bytes).ok())
                    .collect();
                queue.push_back((
                    tab,
                    Event::LocalLoaded {
                        now,
                        user,
                        entries,
                        unreadable: 0,
                    },
                ));
            }
            Command::Store { user, entry } => {
                let key = match &entry {
                    Entry::Draft(d) => draft_key(user, &d.id),
                    Entry::Settings(_) => settings_key(user),
                };
                self.storage.insert(key, entry.to_json());
            }
            Command::RemoveDraft { user, id } => {
                self.storage.remove(&draft_key(user, &id));
            }
            Command::PurgeLocal { user } => {
                let prefix = user_prefix(user);
                self.storage.retain(|key, _| !key.starts_with(&prefix));
                // The user confirmed signing out: what the account did not have is
                // discarded by their choice, in every tab.
                for t in &mut self.tabs {
                    t.typed.clear();
                    t.submitted.clear();
                }
            }
            Command::RememberUser(user) => self.last_user = Some(user),
            Command::ForgetUser => self.last_user = None,
        }
    }

    fn grant_lock(&mut self, tab: usize, queue: &mut VecDeque<(usize, Event)>) {
        self.lock = Some(tab);
        queue.push_back((
            tab,
            Event::HeartbeatLock {
                now: self.now,
                last_report: self.last_report,
            },
        ));
    }

    /// The browser lets go of a tab's lock when the tab asks, or when its page goes away.
    fn release_lock(&mut self, tab: usize, queue: &mut VecDeque<(usize, Event)>) {
        self.lock_queue.retain(|waiting| *waiting != tab);
        if self.lock == Some(tab) {
            self.lock = None;
            if let Some(next) = self.lock_queue.pop_front() {
                self.grant_lock(next, queue);
            }
        }
    }

    /// The tab's stream closes (or its wait for one ends); the next waiting tab opens its.
    fn close_stream(&mut self, tab: usize) {
        self.stream_queue.retain(|waiting| *waiting != tab);
        if self.stream == Some(tab) {
            self.stream = self.stream_queue.pop_front();
        }
    }

    /// The server's news reaches the tab holding the stream, if it is online.
    fn push(&mut self, event: crate::events::ServerEvent) {
        if let Some(holder) = self.stream.filter(|holder| self.tabs[*holder].online) {
            let now = self.now;
            self.feed(holder, Event::Pushed { now, event });
        }
    }

    fn check_phase(&mut self, tab: usize) {
        let client = &self.tabs[tab].client;
        let Some(deadlines) = client.deadlines() else {
            return;
        };
        let phase = deadlines.phase_at(super::at(self.now));
        let ok = match (client.phase(), phase) {
            (ClientPhase::Active, Phase::Active { .. }) => true,
            (
                ClientPhase::Warning { remaining_ms, .. },
                Phase::Warning { .. } | Phase::Expired { .. },
            ) => *remaining_ms > 0 && *remaining_ms <= WARNING_MS,
            // Timers run late (a sleep, a busy page): the next one corrects the phase.
            (ClientPhase::Active, _) => self.tabs[tab]
                .timers
                .get(&Timer::Phase)
                .is_some_and(|at| *at <= self.now + 25),
            (ClientPhase::Warning { .. }, Phase::Active { .. }) => false,
            _ => true,
        };
        if !ok {
            self.violations.push(format!(
                "tab {tab} shows {:?} at {} against {phase:?}",
                client.phase(),
                self.now - T0
            ));
        }
    }

    /// The oldest request of `tab` goes to the server (or not), and its answer back (or
    /// not).
    fn deliver(&mut self, tab: usize, reaches: bool, answer_arrives: bool) {
        let Some((id, request, cookie)) = self.tabs[tab].requests.pop_front() else {
            return;
        };
        let online = self.tabs[tab].online;
        let answer = if online && reaches {
            let answer = self.server.handle(cookie, &request, self.now);
            if answer_arrives {
                answer
            } else {
                refused(ErrorCode::NetworkError)
            }
        } else {
            refused(ErrorCode::NetworkError)
        };
        self.feed(
            tab,
            Event::Answered {
                now: self.now,
                id,
                answer,
            },
        );
    }

    /// Time passes; due timers fire in order.
    fn advance(&mut self, ms: Millis) {
        let until = self.now + ms;
        loop {
            let next = self
                .tabs
                .iter()
                .enumerate()
                .flat_map(|(tab, t)| t.timers.iter().map(move |(timer, at)| (*at, tab, *timer)))
                .filter(|(at, _, _)| *at <= until)
                .min_by_key(|(at, tab, timer)| (*at, *tab, format!("{timer:?}")));
            let Some((at, tab, timer)) = next else { break };
            self.now = self.now.max(at);
            self.tabs[tab].timers.remove(&timer);
            let event = match timer {
                Timer::Heartbeat => Event::Heartbeat {
                    now: self.now,
                    motion: 0,
                },
                timer => Event::TimerFired {
                    now: self.now,
                    timer,
                },
            };
            self.feed(tab, event);
        }
        self.now = until;
    }

    /// The tab's user signs in again in it (the modal's form).
    fn sign_in_again(&mut self, tab: usize) {
        let info = self.server.sign_in(self.user_of(tab), self.now);
        let now = self.now;
        self.feed(tab, Event::SignedIn { now, info });
    }

    fn user_of(&self, tab: usize) -> i64 {
        self.tabs[tab].client.user().map_or(ADA, |u| u.id)
    }

    fn type_in(&mut self, tab: usize, slot: usize) {
        let id = draft_id(self.user_of(tab), tab, slot);
        let client = &self.tabs[tab].client;
        if !client.work_ready()
            || client.work_withheld()
            || client.user().is_none()
            || client.signing_out()
        {
            return;
        }
        let read_only = client
            .drafts()
            .any(|d| d.id == id && (d.is_submitted() || d.submit_requested));
        if read_only || self.tabs[tab].submitted.contains(&id) {
            return;
        }
        // Each key press is deliberate activity, which the heartbeat reports.
        self.feed(tab, Event::Activity { now: self.now });
        let client = &self.tabs[tab].client;
        if !client.drafts().any(|d| d.id == id) {
            if self.tabs[tab].typed.contains_key(&id) {
                // Deleted elsewhere and not re-created: nothing to type in.
                return;
            }
            self.feed(
                tab,
                Event::User {
                    now: self.now,
                    action: UserAction::NewDraft { id: id.clone() },
                },
            );
        }
        let Some(current) = self.tabs[tab]
            .client
            .drafts()
            .find(|d| d.id == id)
            .map(|d| d.local.clone())
        else {
            return;
        };
        // What shows is what the user last typed, unless the account acknowledged that and
        // then took a newer version from elsewhere.
        if let Some(typed) = self.tabs[tab].typed.get(&id) {
            let acknowledged = self
                .server
                .history
                .get(&id)
                .is_some_and(|h| h.contains(typed));
            if current != *typed && !acknowledged {
                self.violations
                    .push(format!("tab {tab} lost typing in {id}: {current:?}"));
            }
        }
        self.counter += 1;
        let input = crate::work::DraftInput {
            title: format!("title {slot}"),
            body: format!("{} v{}", current.body, self.counter),
        };
        self.tabs[tab].typed.insert(id.clone(), input.clone());
        self.feed(
            tab,
            Event::User {
                now: self.now,
                action: UserAction::Edit { id, input },
            },
        );
    }

    fn run(&mut self, action: Action) {
        match action {
            Action::Type { tab, slot } => self.type_in(tab, slot),
            Action::Submit { tab, slot } => {
                let id = draft_id(self.user_of(tab), tab, slot);
                let exists = self.tabs[tab]
                    .client
                    .drafts()
                    .any(|d| d.id == id && d.conflict.is_none());
                let client = &self.tabs[tab].client;
                if exists && client.work_ready() && !client.work_withheld() && !client.signing_out()
                {
                    if !self.tabs[tab].submitted.contains(&id) {
                        self.tabs[tab].submitted.push(id.clone());
                    }
                    self.feed(
                        tab,
                        Event::User {
                            now: self.now,
                            action: UserAction::Submit { id },
                        },
                    );
                }
            }
            Action::Deliver { tab } => self.deliver(tab, true, true),
            Action::LoseAnswer { tab } => self.deliver(tab, true, false),
            Action::DropRequest { tab } => self.deliver(tab, false, false),
            Action::Advance { ms } => self.advance(ms),
            Action::Expire => {
                let now = self.now;
                if let Some(session) = self.server.current() {
                    session.last_activity = now - IDLE_MS;
                }
            }
            Action::Revoke => {
                if let Some(session) = self.server.current() {
                    session.ended.get_or_insert(ErrorCode::SessionRevoked);
                    self.push(crate::events::ServerEvent::SessionEnded {
                        reason: crate::events::EndedBecause::SignedOutElsewhere,
                    });
                }
            }
            Action::StaleNews => {
                // News the tab must not take on trust: its own check decides.
                self.push(crate::events::ServerEvent::SessionEnded {
                    reason: crate::events::EndedBecause::Expired,
                });
            }
            Action::Offline { tab } | Action::Online { tab } => {
                let online = matches!(action, Action::Online { .. });
                self.tabs[tab].online = online;
                let now = self.now;
                self.feed(tab, Event::Connectivity { now, online });
            }
            Action::Reload { tab } => {
                self.feed(tab, Event::Leaving { now: self.now });
                self.close_stream(tab);
                let mut granted = VecDeque::new();
                self.release_lock(tab, &mut granted);
                let t = &mut self.tabs[tab];
                t.client = Client::new();
                t.timers.clear();
                t.requests.clear();
                self.start(tab);
                for (other, event) in granted {
                    self.feed(other, event);
                }
            }
            Action::SignInAgain { tab } => {
                let phase = self.tabs[tab].client.phase().clone();
                if phase.is_ended() || phase == ClientPhase::SignedOut {
                    self.sign_in_again(tab);
                }
            }
            Action::SwitchUser { tab } => {
                if !self.tabs[tab].client.phase().is_signed_in() {
                    return;
                }
                let other = if self.user_of(tab) == ADA { GRACE } else { ADA };
                self.feed(
                    tab,
                    Event::User {
                        now: self.now,
                        action: UserAction::SignOut,
                    },
                );
                while self.tabs[tab].client.signing_out() && !self.tabs[tab].requests.is_empty() {
                    self.deliver(tab, true, true);
                }
                if self.tabs[tab].client.phase() != &ClientPhase::SignedOut {
                    return;
                }
                let info = self.server.sign_in(other, self.now);
                self.feed(
                    tab,
                    Event::SignedIn {
                        now: self.now,
                        info,
                    },
                );
            }
            Action::OtherDevice { slot } => {
                let tab = slot % 2;
                let user = self.server.sessions.last().map_or(ADA, |s| s.user);
                let id = draft_id(user, tab, slot);
                self.counter += 1;
                if let Some(draft) = self.server.drafts.get_mut(&(user, id.clone())) {
                    if !draft.is_submitted() {
                        draft.body = format!("elsewhere {}", self.counter);
                        draft.version += 1;
                        let content = crate::work::DraftInput {
                            title: draft.title.clone(),
                            body: draft.body.clone(),
                        };
                        self.server
                            .history
                            .entry(id.clone())
                            .or_default()
                            .push(content);
                    }
                }
            }
            Action::Resolve { tab, slot, keep } => {
                let id = draft_id(self.user_of(tab), tab, slot);
                let conflict = self.tabs[tab]
                    .client
                    .drafts()
                    .find(|d| d.id == id)
                    .and_then(|d| d.conflict.clone());
                if let Some(theirs) = conflict {
                    self.resolve(tab, id, theirs, keep);
                }
            }
        }
    }

    fn resolve(&mut self, tab: usize, id: String, theirs: StoredDraft, keep: u8) {
        let resolution = match keep {
            0 if !theirs.is_submitted() => Resolution::KeepMine,
            1 => Resolution::KeepTheirs,
            _ => {
                self.counter += 1;
                let new_id = format!("00000000-0000-4000-9000-{:012}", self.counter);
                Resolution::KeepBoth { new_id }
            }
        };
        let mine = self.tabs[tab].typed.get(&id).cloned();
        match (&resolution, mine) {
            (Resolution::KeepMine, _) => {}
            (Resolution::KeepTheirs, _) => {
                let theirs_content = crate::work::DraftInput {
                    title: theirs.title.clone(),
                    body: theirs.body.clone(),
                };
                self.tabs[tab].typed.insert(id.clone(), theirs_content);
            }
            (Resolution::KeepBoth { new_id }, Some(mine)) => {
                self.tabs[tab].typed.insert(new_id.clone(), mine);
                self.tabs[tab].typed.insert(
                    id.clone(),
                    crate::work::DraftInput {
                        title: theirs.title.clone(),
                        body: theirs.body.clone(),
                    },
                );
            }
            (Resolution::KeepBoth { .. }, None) => {}
        }
        // A submit the user pressed stays with their version.
        let pressed = self.tabs[tab].submitted.contains(&id);
        let submitted = &mut self.tabs[tab].submitted;
        match &resolution {
            Resolution::KeepMine => {}
            Resolution::KeepTheirs => submitted.retain(|s| s != &id),
            Resolution::KeepBoth { new_id } => {
                submitted.retain(|s| s != &id);
                if pressed {
                    submitted.push(new_id.clone());
                }
            }
        }
        if theirs.is_submitted() && !submitted.contains(&id) {
            submitted.push(id.clone());
        }
        self.feed(
            tab,
            Event::User {
                now: self.now,
                action: UserAction::Resolve { id, resolution },
            },
        );
    }

    /// Everything settles: the network is back, the user signs in again where needed, every
    /// request is answered and every save timer has run.
    fn settle(&mut self) {
        for tab in 0..self.tabs.len() {
            if !self.tabs[tab].online {
                self.tabs[tab].online = true;
                self.feed(
                    tab,
                    Event::Connectivity {
                        now: self.now,
                        online: true,
                    },
                );
            }
        }
        for _ in 0..400 {
            let mut busy = false;
            for tab in 0..self.tabs.len() {
                let phase = self.tabs[tab].client.phase().clone();
                if phase.is_ended() {
                    self.sign_in_again(tab);
                    busy = true;
                }
                while !self.tabs[tab].requests.is_empty() {
                    self.deliver(tab, true, true);
                    busy = true;
                }
            }
            let pending_timer = self
                .tabs
                .iter()
                .flat_map(|t| t.timers.iter())
                .any(|(timer, _)| {
                    matches!(
                        timer,
                        Timer::Autosave
                            | Timer::LocalSave
                            | Timer::WorkRetry
                            | Timer::SessionRetry
                            | Timer::SignOutRetry
                    )
                });
            if pending_timer {
                // Keep the session alive meanwhile, as an active user would.
                let cookie = self.server.cookie();
                self.server.touch(cookie, self.now);
                self.advance(1_000);
                busy = true;
            }
            if !busy {
                return;
            }
        }
        self.violations.push("never settled".into());
    }

    fn check(&mut self) {
        // Every report lets go of the heartbeat lock once it is answered.
        if let Some(tab) = self.lock {
            self.violations.push(format!(
                "tab {tab} still holds the heartbeat lock after settling"
            ));
        }
        // (b) once.
        for (key, count) in &self.server.applied {
            if *count > 1 {
                self.violations
                    .push(format!("key {key} applied {count} times"));
            }
        }
        for (id, count) in &self.server.submits {
            if *count > 1 {
                self.violations
                    .push(format!("{id} submitted {count} times"));
            }
        }
        // (c)
        self.violations.append(&mut self.server.violations);
        // (a) nothing lost.
        for tab in 0..self.tabs.len() {
            let client = &self.tabs[tab].client;
            if client.user().is_none() {
                continue;
            }
            let user = client.user().map_or(ADA, |u| u.id);
            for (id, typed) in &self.tabs[tab].typed {
                let shown = client.drafts().find(|d| &d.id == id);
                let account = self.server.drafts.get(&(user, id.clone()));
                let in_account = account
                    .is_some_and(|d| d.title == typed.title && d.body == typed.body)
                    || self
                        .server
                        .history
                        .get(id)
                        .is_some_and(|h| h.contains(typed));
                let as_conflict = shown.is_some_and(|d| d.conflict.is_some() && d.local == *typed);
                if !(in_account || as_conflict) {
                    self.violations.push(format!(
                        "tab {tab}: {id} typed {typed:?}, account has {account:?}, shown {shown:?}"
                    ));
                }
            }
            if client.waiting() > client.drafts().filter(|d| d.conflict.is_some()).count() {
                self.violations
                    .push(format!("tab {tab} still waits: {:?}", client.save_status()));
            }
        }
    }
}

fn run_world(actions: Vec<Action>) -> (World, Vec<String>) {
    let mut world = World::new();
    for action in actions {
        world.run(action);
    }
    world.settle();
    world.check();
    // Then the user resolves every conflict by keeping their own text, and all of it
    // reaches the account.
    for tab in 0..world.tabs.len() {
        let conflicts: Vec<(String, StoredDraft)> = world.tabs[tab]
            .client
            .drafts()
            .filter_map(|d| d.conflict.clone().map(|c| (d.id.clone(), c)))
            .collect();
        for (id, theirs) in conflicts {
            world.resolve(tab, id, theirs, 0);
        }
    }
    world.settle();
    world.check();
    let violations = std::mem::take(&mut world.violations);
    (world, violations)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn nothing_is_lost_doubled_or_misdirected(actions in proptest::collection::vec(action(), 1..120)) {
        let (_, violations) = run_world(actions);
        prop_assert!(violations.is_empty(), "{violations:#?}");
    }
}

#[test]
fn a_quiet_session_saves_everything() {
    let (world, violations) = run_world(vec![
        Action::Type { tab: 0, slot: 0 },
        Action::Type { tab: 1, slot: 1 },
        Action::Advance { ms: 2_000 },
    ]);
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(world.server.drafts.len(), 2);
}

#[test]
fn after_switching_users_nothing_of_the_first_is_sent_for_the_second() {
    let (world, violations) = run_world(vec![
        Action::Type { tab: 0, slot: 0 },
        Action::Advance { ms: 2_000 },
        Action::Deliver { tab: 0 },
        Action::Type { tab: 0, slot: 1 },
        Action::SwitchUser { tab: 1 },
        Action::Deliver { tab: 0 },
        Action::Deliver { tab: 0 },
        Action::Type { tab: 0, slot: 2 },
        Action::Advance { ms: 2_000 },
    ]);
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(world.server.drafts.keys().any(|(user, _)| *user == GRACE));
    assert!(world
        .server
        .drafts
        .keys()
        .all(|(user, id)| id.contains(&format!("-800{user}-"))));
}
