//! The reactive state every component reads: a mirror of the browser machine
//! (`vigil::client::Client`), written only by the browser controller after each event.

use leptos::prelude::*;
use vigil::client::{AccountMessage, SaveStatus};
use vigil::preserved::LocalDraft;
use vigil::sessions::SessionView;
use vigil::work::Preferences;
use vigil::{PolicyInfo, UserSummary};

pub use vigil::client::ClientPhase;

/// A message shown above the workspace until it is resolved or dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// One notice per key: a newer one replaces it.
    pub key: NoticeKey,
    pub text: String,
    pub tone: Tone,
}

/// Which notice it is: one of the session machine's, or the page's own while the machine's
/// code cannot be loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKey {
    Machine(vigil::client::Notice),
    Loading,
}

impl NoticeKey {
    /// The page's name for it (`data-notice`), which the end-to-end tests find it by.
    pub fn as_str(self) -> &'static str {
        use vigil::client::Notice;
        match self {
            Self::Machine(Notice::Unreachable) => "network",
            Self::Machine(Notice::SignOutPending) => "sign-out",
            Self::Machine(Notice::LocalUnreadable) => "storage",
            Self::Loading => "loading",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Warning,
}

/// One draft as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftView {
    pub id: String,
    pub title: String,
    pub body: String,
    /// When it was submitted (ms since the epoch); read-only from then on.
    pub submitted_ms: Option<f64>,
    /// Submit was pressed and is on its way: read-only already.
    pub submitting: bool,
    /// The account's version after a conflict: the user chooses.
    pub conflict: Option<ConflictView>,
    /// Why the account refused the last change for good (a limit).
    pub rejected: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictView {
    pub title: String,
    pub body: String,
    pub submitted: bool,
}

impl DraftView {
    pub fn of(draft: &LocalDraft) -> Self {
        let submitted_ms = draft
            .server
            .as_ref()
            .and_then(|s| s.submitted_at)
            .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as f64);
        Self {
            id: draft.id.clone(),
            title: draft.local.title.clone(),
            body: draft.local.body.clone(),
            submitted_ms,
            submitting: draft.submit_requested,
            conflict: draft.conflict.as_ref().map(|c| ConflictView {
                title: c.title.clone(),
                body: c.body.clone(),
                submitted: c.is_submitted(),
            }),
            rejected: draft.rejected.clone(),
        }
    }

    pub fn read_only(&self) -> bool {
        self.submitted_ms.is_some() || self.submitting
    }

    pub fn is_blank(&self) -> bool {
        self.title.trim().is_empty() && self.body.trim().is_empty()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SessionContext {
    pub phase: RwSignal<ClientPhase>,
    pub user: RwSignal<Option<UserSummary>>,
    pub policy: RwSignal<Option<PolicyInfo>>,
    pub drafts: RwSignal<Vec<DraftView>>,
    pub selected: RwSignal<Option<String>>,
    pub settings: RwSignal<Preferences>,
    pub status: RwSignal<SaveStatus>,
    /// Changes the account does not have yet.
    pub waiting: RwSignal<usize>,
    /// When the account last acknowledged a change (ms since the epoch).
    pub last_saved: RwSignal<Option<f64>>,
    pub notices: RwSignal<Vec<Notice>>,
    /// The "discard unsaved changes?" question is open.
    pub confirm_sign_out: RwSignal<bool>,
    /// The page was opened onto an ended session: the user's work stays hidden (not even
    /// blurred) until the same user has signed in again.
    pub work_withheld: RwSignal<bool>,
    pub signing_out: RwSignal<bool>,
    /// The signed-in user's work has been loaded.
    pub work_ready: RwSignal<bool>,
    /// The user's live sessions, once loaded.
    pub sessions: RwSignal<Option<Vec<SessionView>>>,
    /// The user's passkeys, once loaded.
    pub passkeys: RwSignal<Option<Vec<vigil::passkeys::PasskeyView>>>,
    /// Administrators: the accounts the last search found, once loaded.
    pub accounts: RwSignal<Option<vigil::admin::AdminUserList>>,
    pub account_message: RwSignal<Option<AccountMessage>>,
    pub account_busy: RwSignal<bool>,
    /// A sensitive action waits for the user to confirm their password.
    pub step_up: RwSignal<bool>,
    /// Counts password changes, so the form clears its fields after each.
    pub password_changes: RwSignal<u32>,
    /// The session machine shows this page: its code is here and has caught up with what
    /// the server rendered. Until then the page is the server's rendering, and text fields
    /// take no input (this browser may hold a newer copy of the work than the page shows).
    pub live: RwSignal<bool>,
}

impl SessionContext {
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(ClientPhase::Checking),
            user: RwSignal::new(None),
            policy: RwSignal::new(None),
            drafts: RwSignal::new(Vec::new()),
            selected: RwSignal::new(None),
            settings: RwSignal::new(Preferences::default()),
            status: RwSignal::new(SaveStatus::Saved),
            waiting: RwSignal::new(0),
            last_saved: RwSignal::new(None),
            notices: RwSignal::new(Vec::new()),
            confirm_sign_out: RwSignal::new(false),
            work_withheld: RwSignal::new(false),
            signing_out: RwSignal::new(false),
            work_ready: RwSignal::new(false),
            sessions: RwSignal::new(None),
            passkeys: RwSignal::new(None),
            accounts: RwSignal::new(None),
            account_message: RwSignal::new(None),
            account_busy: RwSignal::new(false),
            step_up: RwSignal::new(false),
            password_changes: RwSignal::new(0),
            live: RwSignal::new(false),
        }
    }

    pub fn notify(&self, key: NoticeKey, tone: Tone, text: impl Into<String>) {
        let text = text.into();
        let notice = Notice { key, text, tone };
        if self.notices.with_untracked(|n| n.contains(&notice)) {
            return;
        }
        self.notices.update(|notices| {
            notices.retain(|n| n.key != key);
            notices.push(notice);
        });
    }

    pub fn clear_notice(&self, key: NoticeKey) {
        if self
            .notices
            .with_untracked(|n| n.iter().any(|n| n.key == key))
        {
            self.notices
                .update(|notices| notices.retain(|n| n.key != key));
        }
    }

    /// When the work was last saved to the account, as a time of day in the user's locale.
    /// `None` before the first save, and always during server rendering.
    pub fn saved_time(&self) -> Option<String> {
        let saved_at = self.last_saved.get()?;
        #[cfg(feature = "hydrate")]
        return Some(crate::browser::time::local_time_label(saved_at));
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = saved_at;
            None
        }
    }

    /// The draft shown in the editor.
    pub fn current_draft(&self) -> Option<DraftView> {
        let selected = self.selected.get();
        self.drafts.with(|drafts| {
            drafts
                .iter()
                .find(|d| Some(&d.id) == selected.as_ref())
                .cloned()
        })
    }
}

/// What a page rendered from its live session shows before its machine runs
/// (`vigil::boot`): what the machine will show once it has taken the same record as its
/// first answers.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstView {
    pub user: UserSummary,
    pub policy: PolicyInfo,
    /// Oldest first, the first selected.
    pub drafts: Vec<DraftView>,
    pub settings: Preferences,
    /// How long after the record was written the warning is due.
    pub warning_in_ms: i64,
}

impl FirstView {
    /// The view of the server's record, through the machine's own mapping of a draft.
    pub fn of(boot: &vigil::boot::Boot) -> Self {
        let session = &boot.session;
        Self {
            warning_in_ms: i64::try_from(
                (session.warn_at - session.server_now).whole_milliseconds(),
            )
            .unwrap_or(i64::MAX),
            user: session.user.clone(),
            policy: session.policy,
            drafts: boot
                .work
                .drafts
                .iter()
                .map(|draft| DraftView::of(&LocalDraft::from_server(draft.clone())))
                .collect(),
            settings: boot.work.settings,
        }
    }
}

impl SessionContext {
    /// Shows the page's first view. Only before anything else has been shown: a page that
    /// has its session already (navigated to within the app) keeps it.
    pub fn adopt(&self, view: Option<FirstView>) {
        let Some(view) = view else { return };
        if self.phase.get_untracked() != ClientPhase::Checking || self.live.get_untracked() {
            return;
        }
        self.selected.set(view.drafts.first().map(|d| d.id.clone()));
        self.drafts.set(view.drafts);
        self.settings.set(view.settings);
        self.policy.set(Some(view.policy));
        self.user.set(Some(view.user));
        self.work_ready.set(true);
        self.phase.set(ClientPhase::Active);
    }
}

impl Default for SessionContext {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_session() -> SessionContext {
    expect_context::<SessionContext>()
}

/// Sets a signal only when the value differs, so nothing re-renders for an unchanged one.
pub fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if signal.with_untracked(|current| *current != value) {
        signal.set(value);
    }
}

/// "30 minutes", "1 hour 30 minutes", "45 seconds": durations as people say them.
pub fn human_duration(total_secs: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let (days, hours, minutes, seconds) = (
        total_secs / 86_400,
        total_secs % 86_400 / 3600,
        total_secs % 3600 / 60,
        total_secs % 60,
    );
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(plural(days, "day"));
    }
    if hours > 0 {
        parts.push(plural(hours, "hour"));
    }
    if minutes > 0 {
        parts.push(plural(minutes, "minute"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(plural(seconds, "second"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(1800), "30 minutes");
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(5400), "1 hour 30 minutes");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(60), "1 minute");
        assert_eq!(human_duration(7 * 86_400), "7 days");
    }
}
