//! The work half of the browser machine: the user's drafts and settings, saved to the
//! account and kept in this browser, and the outbox of changes the account has not
//! acknowledged.
//!
//! Every draft knows three things: what the user sees (`local`), what the account last
//! acknowledged (`server`), and the change sent but not yet answered (`sent`, with its
//! idempotency key). The outbox is simply every draft whose account copy lags behind, in
//! the order the user changed them; one change is in flight at a time. A sent change is
//! frozen: whatever happens (the session ends, the network drops, the page reloads) it is
//! sent again with the same key until an answer settles it, so the account applies it
//! exactly once. A conflict is never overwritten: the user keeps both versions and chooses.

use crate::preserved::{Entry, LocalDraft, LocalSettings, SentOp};
use crate::work::{DraftInput, Precondition, StoredDraft, WorkOp, WorkSnapshot};
use crate::{ErrorCode, Problem};

use super::{retry_wait_ms, Answer, Command, Millis, Out, Request, RequestId, Timer, UserAction};

/// Typing pauses this long before the work is saved to the account...
pub const AUTOSAVE_MS: Millis = 1_500;
/// ...and this long before it is written to this browser.
pub const LOCAL_SAVE_MS: Millis = 300;
/// Coming back to the page looks for changes made elsewhere at most this often.
const REFETCH_MS: Millis = 30_000;

/// Where the work is, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveStatus {
    /// The account has everything.
    Saved,
    /// Changes are on their way.
    Saving,
    /// Saved here; sent once the user has signed in again.
    WaitingForSignIn,
    /// Saved here; sent when the server can be reached.
    Offline,
    /// A change met a newer version from elsewhere: the user chooses.
    Conflict,
}

/// What the user chose after a conflict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Their version replaces the account's.
    KeepMine,
    /// The account's version replaces theirs.
    KeepTheirs,
    /// The account's version stays; theirs becomes a new draft with this id.
    KeepBoth {
        /// The id of the new draft (a UUID the page made).
        new_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Draft(String),
    Settings,
}

#[derive(Debug, Default)]
pub(crate) struct Work {
    tab: String,
    /// Whose work is in memory; changes are only ever sent for this user.
    owner: Option<i64>,
    local_loaded: bool,
    /// A snapshot that arrived before the local copy was read.
    pending_snapshot: Option<WorkSnapshot>,
    /// The account's snapshot has been merged since the session (re)started.
    synced: bool,
    fetching: Option<RequestId>,
    last_fetch: Millis,
    drafts: Vec<LocalDraft>,
    pub settings: LocalSettings,
    selected: Option<String>,
    next_seq: u64,
    key_seq: u64,
    in_flight: Option<(RequestId, Target)>,
    session_ended: bool,
    network_down: bool,
    offline: bool,
    backoff_ms: u32,
    unpersisted: Vec<Target>,
    local_save_armed: bool,
    pub last_saved: Option<Millis>,
    pub unreadable: usize,
}

fn content(draft: &StoredDraft) -> DraftInput {
    DraftInput {
        title: draft.title.clone(),
        body: draft.body.clone(),
    }
}

/// A refusal the account will repeat however often the change is sent.
fn is_final_refusal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::ValidationFailed | ErrorCode::PayloadTooLarge | ErrorCode::UnsupportedMediaType
    )
}

/// A refusal that says the session is over (or its token must be exchanged).
fn is_session_refusal(code: ErrorCode) -> bool {
    code.ends_session() || code == ErrorCode::TokenExpired
}

impl Work {
    pub fn set_tab(&mut self, tab: String) {
        self.tab = tab;
    }

    pub fn ready(&self) -> bool {
        self.owner.is_some() && self.local_loaded
    }

    pub fn unreachable(&self) -> bool {
        self.network_down
    }

    pub fn visible(&self) -> impl Iterator<Item = &LocalDraft> {
        self.drafts.iter().filter(|d| !d.deleted)
    }

    pub fn selected(&self) -> Option<&str> {
        let visible = |id: &str| self.visible().any(|d| d.id == id);
        self.selected
            .as_deref()
            .filter(|id| visible(id))
            .or_else(|| self.visible().next().map(|d| d.id.as_str()))
    }

    pub fn waiting(&self) -> usize {
        self.drafts.iter().filter(|d| !d.is_saved()).count()
            + usize::from(!self.settings.is_saved())
    }

    /// `signed_in`: a live session whose work this is; `unreachable`: the session's own
    /// requests cannot reach the server either.
    pub fn status(&self, signed_in: bool, unreachable: bool) -> SaveStatus {
        if self.drafts.iter().any(|d| d.conflict.is_some()) {
            SaveStatus::Conflict
        } else if self.waiting() == 0 {
            SaveStatus::Saved
        } else if self.session_ended || !signed_in {
            SaveStatus::WaitingForSignIn
        } else if self.offline || self.network_down || unreachable {
            SaveStatus::Offline
        } else {
            SaveStatus::Saving
        }
    }

    fn find(&mut self, id: &str) -> Option<&mut LocalDraft> {
        self.drafts.iter_mut().find(|d| d.id == id)
    }

    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    fn next_key(&mut self) -> String {
        self.key_seq += 1;
        format!("{}-{}", self.tab, self.key_seq)
    }

    /// Loads `user`'s work unless it is already in memory.
    pub fn switch_owner(&mut self, user: i64, _now: Millis, out: &mut Out) {
        if self.owner == Some(user) {
            return;
        }
        self.clear(out);
        self.owner = Some(user);
        out.push(Command::LoadLocal { user });
    }

    fn clear(&mut self, out: &mut Out) {
        for timer in [Timer::Autosave, Timer::LocalSave, Timer::WorkRetry] {
            out.push(Command::CancelTimer(timer));
        }
        *self = Work {
            tab: std::mem::take(&mut self.tab),
            offline: self.offline,
            next_seq: self.next_seq,
            key_seq: self.key_seq,
            ..Work::default()
        };
    }

    pub fn signed_out(&mut self, out: &mut Out) {
        self.clear(out);
    }

    /// A live session for the owner: look at the account again, then send what waits.
    pub fn session_live(&mut self, now: Millis, out: &mut Out) {
        self.session_ended = false;
        self.synced = false;
        self.fetch(now, out);
    }

    pub fn session_ended(&mut self) {
        self.session_ended = true;
    }

    pub fn set_offline(&mut self, offline: bool) {
        self.offline = offline;
    }

    /// The way is clear again (online, a session answer): carry on.
    pub fn resume(&mut self, now: Millis, signed_in: bool, out: &mut Out) {
        if self.network_down {
            self.network_down = false;
            out.push(Command::CancelTimer(Timer::WorkRetry));
        }
        if self.synced {
            self.pump(now, signed_in, out);
        } else if signed_in {
            self.fetch(now, out);
        }
    }

    fn fetch(&mut self, now: Millis, out: &mut Out) {
        if self.owner.is_none() || self.fetching.is_some() {
            return;
        }
        self.last_fetch = now;
        self.fetching = Some(out.send(Request::GetWork));
    }

    /// Coming back to the page: changes made on another device show up.
    pub fn refetch(&mut self, now: Millis, out: &mut Out) {
        if now - self.last_fetch >= REFETCH_MS {
            self.refetch_now(now, out);
        }
    }

    /// The account's work changed by an action of this page (drafts deleted): read it again
    /// at once, unless a change is on its way (then the next return to the page reads it).
    pub fn refetch_now(&mut self, now: Millis, out: &mut Out) {
        if self.synced && self.in_flight.is_none() {
            self.synced = false;
            self.fetch(now, out);
        }
    }

    pub fn local_loaded(
        &mut self,
        user: i64,
        entries: Vec<Entry>,
        unreadable: usize,
        now: Millis,
        signed_in: bool,
        out: &mut Out,
    ) {
        if self.owner != Some(user) {
            return;
        }
        for entry in entries {
            match entry {
                Entry::Draft(draft) => match self.find(&draft.id) {
                    Some(mine) if mine.revision >= draft.revision => {}
                    Some(mine) => *mine = *draft,
                    None => self.drafts.push(*draft),
                },
                Entry::Settings(settings) => {
                    if settings.revision > self.settings.revision {
                        self.settings = settings;
                    }
                }
            }
        }
        // Later changes here are ordered after everything loaded.
        let loaded_seq = self
            .drafts
            .iter()
            .filter_map(|d| d.dirty_seq)
            .chain(self.settings.dirty_seq)
            .max()
            .unwrap_or(0);
        self.next_seq = self.next_seq.max(loaded_seq);
        self.drafts.sort_by_key(|d| d.created_ms);
        self.unreadable = unreadable;
        self.local_loaded = true;
        if let Some(snapshot) = self.pending_snapshot.take() {
            self.merge(snapshot, out);
        }
        self.pump(now, signed_in, out);
    }

    /// Brings the account's snapshot into the local copy. What the user changed here and the
    /// account does not have yet stays; everything else follows the account.
    fn merge(&mut self, snapshot: WorkSnapshot, out: &mut Out) {
        let order: Vec<String> = snapshot.drafts.iter().map(|d| d.id.clone()).collect();
        for theirs in snapshot.drafts {
            match self.find(&theirs.id) {
                None => self.drafts.push(LocalDraft::from_server(theirs)),
                Some(mine) => {
                    let clean = mine.dirty_seq.is_none()
                        && !mine.deleted
                        && mine.sent.is_none()
                        && mine.conflict.is_none();
                    let same_edit = mine.sent.is_none()
                        && !mine.deleted
                        && mine.local == content(&theirs)
                        && !mine.submit_requested;
                    if clean || same_edit {
                        mine.local = content(&theirs);
                        mine.server = Some(theirs);
                        mine.dirty_seq = None;
                        mine.revision += 1;
                    }
                    // Otherwise the pending change goes out against the version it was based
                    // on, and a newer one elsewhere comes back as a conflict to resolve.
                }
            }
        }
        let mut gone = Vec::new();
        for mine in &mut self.drafts {
            if order.contains(&mine.id) || mine.server.is_none() || mine.sent.is_some() {
                continue;
            }
            // Deleted elsewhere: keep it only if the user changed it here.
            if mine.dirty_seq.is_none() || mine.deleted {
                gone.push(mine.id.clone());
            } else {
                mine.server = None;
            }
        }
        for id in gone {
            self.remove(&id, out);
        }
        if self.settings.sent.is_none() && self.settings.dirty_seq.is_none() {
            self.settings.local = snapshot.settings;
            self.settings.server = Some(snapshot.settings);
        }
        let position = |id: &str| order.iter().position(|o| o == id).unwrap_or(usize::MAX);
        self.drafts.sort_by_key(|d| (position(&d.id), d.created_ms));
        self.synced = true;
        // What merely follows the account is not written here: another tab may hold newer
        // changes of the same entry, and the account has this anyway.
    }

    /// Forgets a draft; its entry here goes too if this page's user changed it (otherwise
    /// another tab may still hold changes in it, and it expires on its own).
    fn remove(&mut self, id: &str, out: &mut Out) {
        let touched = self.drafts.iter().any(|d| d.id == id && d.touched_here);
        self.drafts.retain(|d| d.id != id);
        self.unpersisted
            .retain(|t| *t != Target::Draft(id.to_owned()));
        if let (Some(user), true) = (self.owner, touched) {
            out.push(Command::RemoveDraft {
                user,
                id: id.to_owned(),
            });
        }
    }

    /// Marks an entry for the next (debounced) write of the local copy.
    fn touch(&mut self, target: Target) {
        if !self.unpersisted.contains(&target) {
            self.unpersisted.push(target);
        }
    }

    fn arm_local_save(&mut self, now: Millis, out: &mut Out) {
        if !self.local_save_armed {
            self.local_save_armed = true;
            out.timer(Timer::LocalSave, now + LOCAL_SAVE_MS);
        }
    }

    /// Writes every touched entry now.
    fn flush_local(&mut self, out: &mut Out) {
        let Some(user) = self.owner else {
            self.unpersisted.clear();
            return;
        };
        if self.local_save_armed {
            self.local_save_armed = false;
            out.push(Command::CancelTimer(Timer::LocalSave));
        }
        for target in std::mem::take(&mut self.unpersisted) {
            let entry = match &target {
                Target::Draft(id) => match self.drafts.iter().find(|d| &d.id == id) {
                    Some(draft) if draft.touched_here => Entry::Draft(Box::new(draft.clone())),
                    _ => continue,
                },
                Target::Settings if self.settings.touched_here => {
                    Entry::Settings(self.settings.clone())
                }
                Target::Settings => continue,
            };
            out.push(Command::Store { user, entry });
        }
    }

    /// The page is going away: write what the debounce still holds.
    pub fn leaving(&mut self, out: &mut Out) {
        self.flush_local(out);
    }

    pub fn timer(&mut self, timer: Timer, now: Millis, signed_in: bool, out: &mut Out) {
        match timer {
            Timer::LocalSave => {
                self.local_save_armed = false;
                self.flush_local(out);
            }
            Timer::Autosave => self.pump(now, signed_in, out),
            Timer::WorkRetry => {
                self.network_down = false;
                if self.synced {
                    self.pump(now, signed_in, out);
                } else if signed_in {
                    self.fetch(now, out);
                }
            }
            _ => {}
        }
    }

    pub fn user_action(&mut self, action: UserAction, now: Millis, signed_in: bool, out: &mut Out) {
        if self.owner.is_none() {
            return;
        }
        match action {
            UserAction::NewDraft { id } => {
                if self.drafts.iter().any(|d| d.id == id) {
                    return;
                }
                let mut draft = LocalDraft::new(id.clone(), now);
                draft.dirty_seq = Some(self.seq());
                draft.revision = 1;
                draft.touched_here = true;
                self.drafts.push(draft);
                self.selected = Some(id.clone());
                self.changed(Target::Draft(id), now, out);
            }
            UserAction::Edit { id, input } => {
                let seq = self.next_seq + 1;
                let Some(draft) = self.find(&id) else { return };
                if draft.deleted
                    || draft.is_submitted()
                    || draft.submit_requested
                    || draft.local == input
                {
                    return;
                }
                draft.local = input;
                draft.revision += 1;
                draft.rejected = None;
                draft.touched_here = true;
                if draft.dirty_seq.is_none() {
                    draft.dirty_seq = Some(seq);
                    self.next_seq = seq;
                }
                self.changed(Target::Draft(id), now, out);
            }
            UserAction::Delete { id } => {
                let seq = self.next_seq + 1;
                let Some(draft) = self.find(&id) else { return };
                draft.touched_here = true;
                if draft.server.is_none() && draft.sent.is_none() {
                    self.remove(&id, out);
                    return;
                }
                draft.deleted = true;
                draft.conflict = None;
                draft.revision += 1;
                draft.dirty_seq.get_or_insert(seq);
                self.next_seq = self.next_seq.max(seq);
                self.persist_now(Target::Draft(id), out);
                self.pump(now, signed_in, out);
            }
            UserAction::Submit { id } => {
                let seq = self.next_seq + 1;
                let Some(draft) = self.find(&id) else { return };
                if draft.deleted || draft.is_submitted() {
                    return;
                }
                draft.submit_requested = true;
                draft.touched_here = true;
                draft.revision += 1;
                draft.dirty_seq.get_or_insert(seq);
                self.next_seq = self.next_seq.max(seq);
                self.persist_now(Target::Draft(id), out);
                self.pump(now, signed_in, out);
            }
            UserAction::Select { id } => self.selected = Some(id),
            UserAction::ChangeSettings(settings) => {
                if self.settings.local == settings {
                    return;
                }
                let seq = self.seq();
                self.settings.local = settings;
                self.settings.touched_here = true;
                self.settings.revision += 1;
                self.settings.dirty_seq.get_or_insert(seq);
                self.changed(Target::Settings, now, out);
            }
            UserAction::Resolve { id, resolution } => {
                self.resolve(id, resolution, now, signed_in, out)
            }
            UserAction::Flush => self.pump(now, signed_in, out),
            UserAction::StaySignedIn | UserAction::SignOut | UserAction::Account(_) => {}
        }
    }

    /// Something the user typed: written here after a short pause, sent after a longer one.
    fn changed(&mut self, target: Target, now: Millis, out: &mut Out) {
        self.touch(target);
        self.arm_local_save(now, out);
        out.timer(Timer::Autosave, now + AUTOSAVE_MS);
    }

    fn persist_now(&mut self, target: Target, out: &mut Out) {
        self.touch(target);
        self.flush_local(out);
    }

    fn resolve(
        &mut self,
        id: String,
        resolution: Resolution,
        now: Millis,
        signed_in: bool,
        out: &mut Out,
    ) {
        let seq = self.next_seq + 1;
        let Some(draft) = self.find(&id) else { return };
        let Some(theirs) = draft.conflict.take() else {
            return;
        };
        draft.revision += 1;
        draft.deleted = false;
        draft.touched_here = true;
        let mine = draft.local.clone();
        let mut extra = None;
        match resolution {
            // A submitted draft cannot change: "mine" can only live on as a new draft.
            Resolution::KeepMine if !theirs.is_submitted() => {
                draft.server = Some(theirs);
                draft.dirty_seq.get_or_insert(seq);
            }
            Resolution::KeepMine | Resolution::KeepTheirs => {
                draft.local = content(&theirs);
                draft.server = Some(theirs);
                draft.dirty_seq = None;
                draft.submit_requested = false;
            }
            Resolution::KeepBoth { new_id } => {
                draft.local = content(&theirs);
                draft.server = Some(theirs);
                draft.dirty_seq = None;
                let mut copy = LocalDraft::new(new_id, now);
                copy.local = mine;
                copy.revision = 1;
                copy.touched_here = true;
                copy.dirty_seq = Some(seq);
                // A submit pressed for "mine" goes with it.
                copy.submit_requested = std::mem::take(&mut draft.submit_requested);
                extra = Some(copy);
            }
        }
        self.next_seq = self.next_seq.max(seq);
        self.touch(Target::Draft(id));
        if let Some(copy) = extra {
            self.selected = Some(copy.id.clone());
            self.touch(Target::Draft(copy.id.clone()));
            self.drafts.push(copy);
        }
        self.flush_local(out);
        self.pump(now, signed_in, out);
    }

    /// Sends the oldest change the account does not have yet, if nothing is in flight.
    fn pump(&mut self, now: Millis, signed_in: bool, out: &mut Out) {
        let Some(_) = self.owner else { return };
        if !signed_in
            || self.session_ended
            || !self.synced
            || self.in_flight.is_some()
            || self.network_down
            || self.offline
        {
            return;
        }
        loop {
            let next_draft = self
                .drafts
                .iter()
                .filter(|d| {
                    d.dirty_seq.is_some() || d.sent.is_some() || d.submit_requested || d.deleted
                })
                .filter(|d| d.conflict.is_none() && d.rejected.is_none())
                .min_by_key(|d| d.dirty_seq.unwrap_or(0))
                .map(|d| (d.dirty_seq.unwrap_or(0), d.id.clone()));
            let settings_seq = (self.settings.dirty_seq.is_some() || self.settings.sent.is_some())
                .then(|| self.settings.dirty_seq.unwrap_or(0));
            let target = match (next_draft, settings_seq) {
                (Some((draft_seq, id)), Some(settings_seq)) if draft_seq <= settings_seq => {
                    Target::Draft(id)
                }
                (_, Some(_)) => Target::Settings,
                (Some((_, id)), None) => Target::Draft(id),
                (None, None) => return,
            };
            match self.next_op(&target, out) {
                Some(sent) => {
                    let id = out.send(Request::Work {
                        key: sent.key,
                        op: sent.op,
                    });
                    self.in_flight = Some((id, target));
                    let _ = now;
                    return;
                }
                None => continue,
            }
        }
    }

    /// The change to send for `target`, frozen with its key and written here first; `None`
    /// when the target turned out to need nothing (it is then marked clean).
    fn next_op(&mut self, target: &Target, out: &mut Out) -> Option<SentOp> {
        let key = self.next_key();
        match target {
            Target::Settings => {
                if self.settings.sent.is_none() {
                    if self.settings.server == Some(self.settings.local) {
                        self.settings.dirty_seq = None;
                        return None;
                    }
                    self.settings.sent = Some(SentOp {
                        key,
                        op: WorkOp::PutSettings {
                            settings: self.settings.local,
                        },
                    });
                    self.persist_now(Target::Settings, out);
                }
                self.settings.sent.clone()
            }
            Target::Draft(id) => {
                let draft = self.drafts.iter_mut().find(|d| &d.id == id)?;
                if draft.sent.is_none() {
                    let op = match (&draft.server, draft.deleted) {
                        (None, true) => {
                            let id = id.clone();
                            self.remove(&id, out);
                            return None;
                        }
                        (Some(server), true) => WorkOp::DeleteDraft {
                            id: id.clone(),
                            version: server.version,
                        },
                        (Some(server), false) if server.is_submitted() => {
                            draft.dirty_seq = None;
                            draft.submit_requested = false;
                            return None;
                        }
                        (server, false)
                            if server.as_ref().map(content).as_ref() != Some(&draft.local) =>
                        {
                            WorkOp::PutDraft {
                                id: id.clone(),
                                input: draft.local.clone(),
                                precondition: server.as_ref().map_or(Precondition::Absent, |s| {
                                    Precondition::Version(s.version)
                                }),
                            }
                        }
                        (Some(server), false) if draft.submit_requested => WorkOp::SubmitDraft {
                            id: id.clone(),
                            version: server.version,
                        },
                        _ => {
                            draft.dirty_seq = None;
                            return None;
                        }
                    };
                    draft.sent = Some(SentOp { key, op });
                    let sent = draft.sent.clone();
                    self.persist_now(target.clone(), out);
                    return sent;
                }
                draft.sent.clone()
            }
        }
    }

    pub fn answered(
        &mut self,
        id: RequestId,
        answer: Result<Answer, Problem>,
        now: Millis,
        signed_in: bool,
        out: &mut Out,
    ) -> Option<Problem> {
        if self.fetching == Some(id) {
            self.fetching = None;
            match answer {
                Ok(Answer::Snapshot(snapshot)) => {
                    self.network_down = false;
                    self.backoff_ms = 0;
                    if self.local_loaded {
                        self.merge(snapshot, out);
                        self.pump(now, signed_in, out);
                    } else {
                        self.pending_snapshot = Some(snapshot);
                    }
                }
                Ok(_) => {}
                Err(problem) => return self.trouble(problem, now, out),
            }
            return None;
        }
        let (_, target) = self.in_flight.take_if(|(pending, _)| *pending == id)?;
        match (target, answer) {
            (target, Err(problem))
                if !is_final_refusal(problem.error_code)
                    && !matches!(
                        problem.error_code,
                        ErrorCode::EditConflict | ErrorCode::DraftSubmitted | ErrorCode::NotFound
                    ) =>
            {
                // Not applied, or not known to be: the same change goes again, same key.
                let _ = target;
                return self.trouble(problem, now, out);
            }
            (Target::Settings, answer) => self.settled_settings(answer, now),
            (Target::Draft(id), answer) => self.settled_draft(&id, answer, now, out),
        }
        self.network_down = false;
        self.backoff_ms = 0;
        self.flush_local(out);
        self.pump(now, signed_in, out);
        None
    }

    /// The server could not take the change now: retried later, or, when the refusal is
    /// about the session, returned for the session to sort out.
    fn trouble(&mut self, problem: Problem, now: Millis, out: &mut Out) -> Option<Problem> {
        if is_session_refusal(problem.error_code) {
            return Some(problem);
        }
        self.network_down = true;
        let wait = retry_wait_ms(&mut self.backoff_ms, problem.retry_after);
        out.timer(Timer::WorkRetry, now + i64::from(wait));
        None
    }

    fn settled_settings(&mut self, answer: Result<Answer, Problem>, now: Millis) {
        let sent = self.settings.sent.take();
        match answer {
            Ok(Answer::Settings(settings)) => {
                self.settings.server = Some(settings);
                self.last_saved = Some(now);
            }
            Ok(_) => {}
            Err(_) => {
                // Refused for good (it cannot be: settings are two choices); stop sending.
                if let Some(SentOp {
                    op: WorkOp::PutSettings { settings },
                    ..
                }) = sent
                {
                    self.settings.server = Some(settings);
                }
            }
        }
        if self.settings.server == Some(self.settings.local) {
            self.settings.dirty_seq = None;
        }
        self.touch(Target::Settings);
    }

    fn settled_draft(
        &mut self,
        id: &str,
        answer: Result<Answer, Problem>,
        now: Millis,
        out: &mut Out,
    ) {
        let Some(draft) = self.drafts.iter_mut().find(|d| d.id == id) else {
            return;
        };
        let sent = draft.sent.take();
        let op = sent.map(|s| s.op);
        match answer {
            Ok(Answer::Saved(stored)) => {
                accept(draft, stored);
                self.last_saved = Some(now);
            }
            Ok(Answer::Deleted) => {
                self.last_saved = Some(now);
                self.remove(id, out);
                return;
            }
            Ok(_) => {}
            Err(problem) => match (problem.error_code, problem.current, op) {
                (ErrorCode::EditConflict | ErrorCode::DraftSubmitted, Some(current), op) => {
                    let current = *current;
                    let already = match &op {
                        Some(WorkOp::PutDraft { input, .. }) => content(&current) == *input,
                        Some(WorkOp::SubmitDraft { .. }) => current.is_submitted(),
                        _ => false,
                    };
                    if already {
                        // The account already has exactly this (an answer lost on the way).
                        accept(draft, current);
                        self.last_saved = Some(now);
                    } else {
                        draft.conflict = Some(current);
                        draft.deleted = false;
                    }
                }
                (ErrorCode::NotFound, _, Some(WorkOp::DeleteDraft { .. })) => {
                    self.remove(id, out);
                    return;
                }
                (ErrorCode::NotFound, _, _) => {
                    // Deleted elsewhere: what the user wrote here is created again.
                    draft.server = None;
                }
                (_, _, _) => {
                    draft.rejected = Some(problem.detail);
                }
            },
        }
        self.touch(Target::Draft(id.to_owned()));
    }
}

/// The account acknowledged `stored` for this draft.
fn accept(draft: &mut LocalDraft, stored: StoredDraft) {
    if stored.is_submitted() {
        draft.submit_requested = false;
    }
    let saved = stored.title == draft.local.title && stored.body == draft.local.body;
    draft.server = Some(stored);
    draft.revision += 1;
    if saved && !draft.submit_requested && !draft.deleted {
        draft.dirty_seq = None;
    }
}
