//! The wasm side of the browser machine (`vigil::client`): it feeds the machine events
//! (timers, the user, answers, other tabs, the local copy, the page's lifecycle), carries out
//! the commands it returns, and mirrors its state into the page's signals. Every decision
//! is the machine's.

use std::cell::RefCell;
use std::collections::HashMap;

use gloo_timers::callback::Timeout;
use leptos::task::spawn_local;
use vigil::client::{
    Client, ClientPhase, Command, Event, Notice as MachineNotice, Timer, UserAction,
};
use vigil::session_info::LocalKey;
use wasm_bindgen::JsCast;

use super::crypto::{self, Key};
use super::local_copy::{self, StorageProblem};
use super::time::now_ms;
use super::{activity, http, refresh_lock, tabs};
use crate::session_context::{set_if_changed, DraftView, NoticeKey, SessionContext, Tone};

#[derive(Default)]
struct Shell {
    client: Client,
    ctx: Option<SessionContext>,
    timers: HashMap<Timer, Timeout>,
    /// The user's key as the server gave it, and imported for use.
    local_key: Option<LocalKey>,
    key: Option<Key>,
    /// The element that had focus when the session ended, to return to afterwards.
    focus: Option<web_sys::HtmlElement>,
    /// Events raised while a step runs, handled right after it.
    queued: Vec<Event>,
    busy: bool,
    /// The server's answers the page was rendered from (`vigil::boot`), each given once to
    /// the machine's first request for it instead of asking again.
    boot_session: Option<vigil::SessionInfo>,
    boot_work: Option<vigil::work::WorkSnapshot>,
    /// The page shows the server's record until the machine has caught up with it (the
    /// session taken, the local copy read): the user's actions meanwhile wait here, since
    /// the machine could not yet find the drafts they change.
    catching_up: bool,
    held: Vec<UserAction>,
}

thread_local! {
    static SHELL: RefCell<Shell> = RefCell::new(Shell::default());
}

impl Shell {
    /// The page's record as the answer to `request`, the first time it is asked.
    fn answer_from_boot(
        &mut self,
        request: &vigil::client::Request,
    ) -> Option<vigil::client::Answer> {
        use vigil::client::{Answer, Request};
        match request {
            Request::CheckSession => self.boot_session.take().map(Answer::Session),
            Request::GetWork => self.boot_work.take().map(Answer::Snapshot),
            _ => None,
        }
    }
}

fn with<R>(f: impl FnOnce(&mut Shell) -> R) -> R {
    SHELL.with(|s| f(&mut s.borrow_mut()))
}

fn now() -> i64 {
    now_ms() as i64
}

/// Starts the machine once (`loader` decides when).
pub fn start(ctx: SessionContext) {
    let first = with(|s| s.ctx.replace(ctx).is_none());
    if !first {
        return;
    }
    if let Some(boot) = crate::page_meta::page_boot() {
        // The record waited in the page since the server wrote it (at most since the page
        // was asked for, which is what `performance.now()` counts from).
        let boot = boot.aged(super::time::since_page_start_ms() as i64);
        with(|s| {
            s.boot_session = Some(boot.session);
            s.boot_work = Some(boot.work);
            s.catching_up = true;
        });
    }
    local_copy::sweep();
    if !local_copy::available() {
        ctx.notify(
            NoticeKey::Machine(MachineNotice::LocalUnreadable),
            Tone::Warning,
            StorageProblem::Unavailable.to_string(),
        );
    }
    activity::install(activity);
    install_lifecycle_listeners();
    dispatch(Event::Started {
        now: now(),
        cookie: crate::page_meta::page_had_session_cookie(),
        tab: crypto::random_uuid(),
        last_user: local_copy::last_user(),
    });
}

/// What the user did.
pub fn user(action: UserAction) {
    let held = with(|s| {
        if s.catching_up {
            s.held.push(action.clone());
        }
        s.catching_up
    });
    if !held {
        dispatch(Event::User { now: now(), action });
    }
}

/// The user did something the machine's own listeners did not see.
pub fn activity() {
    dispatch(Event::Activity { now: now() });
}

/// What another tab said (anything else written to the channel is ignored).
pub fn tab_message(raw: &str) {
    if let Some(message) = tabs::TabMessage::decode(raw) {
        dispatch(Event::Tab {
            now: now(),
            message,
        });
    }
}

/// Signs in through a form (the sign-in page, or the modal as the same user) and takes the
/// session in; the message for the form if the server refused.
pub async fn sign_in(attempt: crate::sign_in::SignIn) -> Result<(), String> {
    let info = attempt.send().await?;
    dispatch(Event::SignedIn { now: now(), info });
    Ok(())
}

/// Feeds one event, then carries out what it asked for and shows the result. Events that
/// arrive while a step runs wait for it.
pub fn dispatch(event: Event) {
    let running = with(|s| {
        if s.busy {
            s.queued.push(event.clone());
            true
        } else {
            s.busy = true;
            false
        }
    });
    if running {
        return;
    }
    let mut next = Some(event);
    while let Some(event) = next {
        let commands = with(|s| s.client.handle(event));
        for command in commands {
            execute(command);
        }
        next = with(|s| {
            if s.queued.is_empty() {
                None
            } else {
                Some(s.queued.remove(0))
            }
        });
    }
    with(|s| s.busy = false);
    show();
}

fn execute(command: Command) {
    match command {
        Command::SetTimer { timer, at } => {
            let wait = (at - now()).clamp(0, i64::from(u32::MAX)) as u32;
            let handle = Timeout::new(wait, move || {
                // This timer's own closure is running: release it only afterwards.
                if let Some(fired) = with(|s| s.timers.remove(&timer)) {
                    spawn_local(async move { drop(fired) });
                }
                let event = match timer {
                    Timer::Heartbeat => Event::Heartbeat {
                        now: now(),
                        motion: activity::last_motion_ms() as i64,
                    },
                    timer => Event::TimerFired { now: now(), timer },
                };
                dispatch(event);
            });
            if let Some(old) = with(|s| s.timers.insert(timer, handle)) {
                old.cancel();
            }
        }
        Command::CancelTimer(timer) => {
            if let Some(old) = with(|s| s.timers.remove(&timer)) {
                old.cancel();
            }
        }
        Command::Send { id, request } => {
            if let Some(answer) = with(|s| s.answer_from_boot(&request)) {
                // Taken in this same step (`dispatch` drains the queue before showing
                // anything).
                let event = Event::Answered {
                    now: now(),
                    id,
                    answer: Ok(answer),
                };
                return with(|s| s.queued.push(event));
            }
            spawn_local(async move {
                let answer = http::send(request).await;
                dispatch(Event::Answered {
                    now: now(),
                    id,
                    answer,
                });
            })
        }
        Command::TryHeartbeatLock => refresh_lock::acquire(|| {
            dispatch(Event::HeartbeatLock {
                now: now(),
                last_report: refresh_lock::last_report_ms() as i64,
            });
        }),
        Command::ReleaseHeartbeatLock => refresh_lock::release(),
        Command::RecordReport { at } => refresh_lock::set_last_report_ms(at as f64),
        Command::ArmMotion => activity::arm(),
        Command::Broadcast(message) => tabs::broadcast(&message),
        Command::UseKey(key) => {
            with(|s| {
                if s.local_key != key {
                    s.key = None;
                    s.local_key = key;
                }
            });
        }
        Command::LoadLocal { user } => spawn_local(async move {
            let key = current_key().await;
            let retired = match with(|s| s.local_key.clone()) {
                Some(local) => crypto::import_retired(&local).await,
                None => None,
            };
            let (entries, problems) = local_copy::load(user, key.as_ref(), retired.as_ref()).await;
            report(&problems);
            let unreadable = problems
                .iter()
                .filter(|p| matches!(p, StorageProblem::SetAside(_)))
                .count();
            dispatch(Event::LocalLoaded {
                now: now(),
                user,
                entries,
                unreadable,
            });
        }),
        Command::Store { user, entry } => spawn_local(async move {
            let key = current_key().await;
            match local_copy::store(user, &entry, key.as_ref()).await {
                Ok(()) => ctx_clear(NoticeKey::Machine(MachineNotice::LocalUnreadable)),
                Err(problem) => report(&[problem]),
            }
        }),
        Command::RemoveDraft { user, id } => local_copy::remove_draft(user, &id),
        Command::PurgeLocal { user } => local_copy::purge(user),
        Command::RememberUser(user) => local_copy::remember_user(&user),
        Command::ForgetUser => local_copy::forget_user(),
        Command::CaptureFocus => {
            let focused = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.active_element())
                .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
            with(|s| s.focus = focused);
        }
        Command::OpenEvents => super::events::open(
            |event| dispatch(Event::Pushed { now: now(), event }),
            || dispatch(Event::EventsLost { now: now() }),
        ),
        Command::CloseEvents => super::events::close(),
        Command::CreatePasskey { attempt, options } => spawn_local(async move {
            let answer = super::passkeys::ask(options, true).await;
            dispatch(Event::Authenticator {
                now: now(),
                attempt,
                answer,
            });
        }),
        Command::RestoreFocus => {
            if let Some(element) = with(|s| s.focus.take()) {
                // After the modal has gone and the page behind it is no longer inert.
                Timeout::new(30, move || {
                    let _ = element.focus();
                })
                .forget();
            }
        }
    }
}

/// The imported key, importing the server's on first use.
async fn current_key() -> Option<Key> {
    if let Some(key) = with(|s| s.key.clone()) {
        return Some(key);
    }
    let local = with(|s| s.local_key.clone())?;
    let key = crypto::import(&local).await.ok()?;
    with(|s| {
        // Still the key the machine uses (not replaced meanwhile).
        (s.local_key.as_ref() == Some(&local)).then(|| s.key = Some(key.clone()))
    })?;
    Some(key)
}

fn ctx() -> Option<SessionContext> {
    with(|s| s.ctx)
}

fn ctx_clear(key: NoticeKey) {
    if let Some(ctx) = ctx() {
        ctx.clear_notice(key);
    }
}

fn report(problems: &[StorageProblem]) {
    if let (Some(ctx), Some(problem)) = (ctx(), problems.first()) {
        let key = NoticeKey::Machine(MachineNotice::LocalUnreadable);
        ctx.notify(key, Tone::Warning, problem.to_string());
    }
}

/// What the page shows, read from the machine in one go.
struct View {
    phase: vigil::client::ClientPhase,
    user: Option<vigil::UserSummary>,
    policy: Option<vigil::PolicyInfo>,
    withheld: bool,
    signing_out: bool,
    ready: bool,
    settings: vigil::work::Preferences,
    status: vigil::client::SaveStatus,
    waiting: usize,
    last_saved: Option<f64>,
    selected: Option<String>,
    drafts: Vec<DraftView>,
    notices: Vec<MachineNotice>,
    sessions: Option<Vec<vigil::sessions::SessionView>>,
    passkeys: Option<Vec<vigil::passkeys::PasskeyView>>,
    accounts: Option<vigil::admin::AdminUserList>,
    account_message: Option<vigil::client::AccountMessage>,
    account_busy: bool,
    step_up: bool,
    password_changes: u32,
    restoring: bool,
}

/// Mirrors the machine into the page's signals, changing only what changed. The machine is
/// read first and let go before any signal is set: effects may dispatch again.
fn show() {
    let Some(ctx) = ctx() else { return };
    if !caught_up() {
        // A restored page waits for nothing more than the server's word: shown unless
        // its session ended (the lock comes with the next mirror).
        let settled = with(|s| !s.client.restoring() && !s.client.phase().is_ended());
        if settled && !FROZEN.get() {
            set_restoring(false);
        }
        return;
    }
    let view = with(|s| {
        let client = &s.client;
        View {
            phase: client.phase().clone(),
            user: client.user().cloned(),
            policy: client.policy(),
            withheld: client.work_withheld(),
            signing_out: client.signing_out(),
            ready: client.work_ready(),
            settings: *client.settings(),
            status: client.save_status(),
            waiting: client.waiting(),
            last_saved: client.last_saved().map(|ms| ms as f64),
            selected: client.selected().map(str::to_owned),
            drafts: client.drafts().map(DraftView::of).collect(),
            notices: client.notices(),
            sessions: client.sessions().map(<[_]>::to_vec),
            passkeys: client.passkeys().map(<[_]>::to_vec),
            accounts: client.accounts().cloned(),
            account_message: client.account_message().cloned(),
            account_busy: client.account_busy(),
            step_up: client.step_up_required(),
            password_changes: client.password_changes(),
            restoring: client.restoring(),
        }
    });
    set_if_changed(ctx.phase, view.phase);
    set_if_changed(ctx.user, view.user);
    set_if_changed(ctx.policy, view.policy);
    set_if_changed(ctx.work_withheld, view.withheld);
    set_if_changed(ctx.signing_out, view.signing_out);
    set_if_changed(ctx.work_ready, view.ready);
    set_if_changed(ctx.settings, view.settings);
    set_if_changed(ctx.status, view.status);
    set_if_changed(ctx.waiting, view.waiting);
    set_if_changed(ctx.last_saved, view.last_saved);
    set_if_changed(ctx.selected, view.selected);
    set_if_changed(ctx.drafts, view.drafts);
    set_if_changed(ctx.sessions, view.sessions);
    set_if_changed(ctx.passkeys, view.passkeys);
    set_if_changed(ctx.accounts, view.accounts);
    set_if_changed(ctx.account_message, view.account_message);
    set_if_changed(ctx.account_busy, view.account_busy);
    set_if_changed(ctx.step_up, view.step_up);
    set_if_changed(ctx.password_changes, view.password_changes);
    set_if_changed(ctx.live, true);
    // After the phase: an ended session's lock is in place before the page may show.
    if !view.restoring && !FROZEN.get() {
        set_restoring(false);
    }
    for notice in [MachineNotice::Unreachable, MachineNotice::SignOutPending] {
        let key = NoticeKey::Machine(notice);
        if view.notices.contains(&notice) {
            ctx.notify(key, Tone::Warning, notice_text(notice));
        } else {
            ctx.clear_notice(key);
        }
    }
}

/// Whether the machine has caught up with the record the page was rendered from: its work
/// loaded, or the session no longer live (then the page shows what the machine decided).
/// The actions the user took meanwhile are handed over then, in order.
fn caught_up() -> bool {
    let held = with(|s| {
        let settled = s.client.work_ready()
            || matches!(
                s.client.phase(),
                ClientPhase::SignedOut | ClientPhase::Ended { .. }
            );
        if s.catching_up && settled {
            s.catching_up = false;
            std::mem::take(&mut s.held)
        } else {
            Vec::new()
        }
    });
    if !held.is_empty() {
        // `show` runs again at the end of these.
        for action in held {
            dispatch(Event::User { now: now(), action });
        }
        return false;
    }
    !with(|s| s.catching_up)
}

/// Whether a `pagehide`/`pageshow` is the page going into, or coming back from, the
/// back-forward cache.
fn persisted(event: &web_sys::Event) -> bool {
    js_sys::Reflect::get(event, &wasm_bindgen::JsValue::from_str("persisted"))
        .ok()
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
}

/// Hides the app (`RESTORING_ATTRIBUTE`, `main.css`) or shows it again. Set on the element
/// itself, not through a signal: the page is frozen right after `pagehide`.
fn set_restoring(hidden: bool) {
    let shell = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(".app-shell").ok().flatten());
    if let Some(shell) = shell {
        let _ = match hidden {
            true => shell.set_attribute(RESTORING_ATTRIBUTE, ""),
            false => shell.remove_attribute(RESTORING_ATTRIBUTE),
        };
    }
}

/// On the app's shell while a page restored from the back-forward cache waits for the
/// server's word on its session.
const RESTORING_ATTRIBUTE: &str = "data-restoring";

thread_local! {
    /// Gone into the back-forward cache and not back yet: nothing answered meanwhile shows
    /// the page again.
    static FROZEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn notice_text(notice: MachineNotice) -> &'static str {
    match notice {
        MachineNotice::Unreachable => {
            "Vigil cannot reach the server right now. Your work is saved in this browser; we will keep trying."
        }
        MachineNotice::SignOutPending => {
            "You are still signed in: Vigil could not reach the server to sign you out. It keeps \
             trying; do not leave this computer until it says you are signed out."
        }
        // Reported with its reason when the local copy was read.
        MachineNotice::LocalUnreadable => "Some work saved in this browser could not be used.",
    }
}

/// Coming back to the tab is not activity: the machine re-evaluates first, so a return
/// after the deadline shows the modal rather than silently extending. Going away writes
/// what the local copy has not written yet.
fn install_lifecycle_listeners() {
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else {
        return;
    };
    let returned = Closure::<dyn Fn()>::new(|| {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .map(|d| d.hidden())
            .unwrap_or(false);
        if hidden {
            dispatch(Event::Leaving { now: now() });
        } else {
            dispatch(Event::Returned { now: now() });
        }
    });
    let _ = window.add_event_listener_with_callback("focus", returned.as_ref().unchecked_ref());
    // Back from the back-forward cache: hidden as it went in (below), and kept hidden until
    // the server says the session lives (`show` lets go of it). Any other page show is a
    // return like focus.
    let shown = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
        if persisted(&event) {
            FROZEN.set(false);
            dispatch(Event::Restored { now: now() });
        } else {
            dispatch(Event::Returned { now: now() });
        }
    });
    let _ = window.add_event_listener_with_callback("pageshow", shown.as_ref().unchecked_ref());
    shown.forget();
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            returned.as_ref().unchecked_ref(),
        );
    }
    returned.forget();
    let leaving = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
        // Into the back-forward cache: hidden now, while nobody sees it, so that coming
        // back never paints work whose session may have ended meanwhile.
        dispatch(Event::Leaving { now: now() });
        if persisted(&event) {
            FROZEN.set(true);
            set_restoring(true);
        }
    });
    let _ = window.add_event_listener_with_callback("pagehide", leaving.as_ref().unchecked_ref());
    leaving.forget();
    for (event, online) in [("online", true), ("offline", false)] {
        let changed =
            Closure::<dyn Fn()>::new(move || dispatch(Event::Connectivity { now: now(), online }));
        let _ = window.add_event_listener_with_callback(event, changed.as_ref().unchecked_ref());
        changed.forget();
    }
}
