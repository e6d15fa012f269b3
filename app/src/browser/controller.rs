//! The browser half of the timeout: turns the server's `SessionInfo` into one timer for the
//! next phase change, a countdown only while the warning shows, and a heartbeat that
//! reports activity at most once per interval.
//!
//! Deadlines come only from the server and are placed on the local clock relative to
//! `server_now`. The phase itself is computed by the core's pure `Deadlines::phase_at`.

use std::cell::RefCell;

use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;
use leptos::task::spawn_local;
use vigil::heartbeat::{self, HeartbeatClock};
use vigil::preserved::Workspace;
use vigil::{Deadlines, ErrorCode, ExpiryReason, Phase, Problem, SessionInfo};
use wasm_bindgen::JsCast;

use super::tabs::{self, TabMessage};
use super::time::{now, now_ms};
use super::{activity, preservation, refresh_lock};
use crate::api;
use crate::session_context::{ClientPhase, SessionContext, Tone};

/// How long typing may pause before the workspace is written to storage.
const SAVE_DEBOUNCE_MS: u32 = 400;
/// First and longest wait before retrying after the server could not be reached.
const RETRY_FIRST_MS: u32 = 1_000;
const RETRY_MAX_MS: u32 = 30_000;

#[derive(Default)]
struct Controller {
    ctx: Option<SessionContext>,
    deadlines: Option<Deadlines>,
    heartbeat_ms: u32,
    /// When activity was last reported to the server (ms).
    reported_ms: f64,
    phase_timer: Option<Timeout>,
    countdown: Option<Interval>,
    heartbeat: Option<Interval>,
    save_timer: Option<Timeout>,
    refreshing: bool,
    /// A retry after a network failure, and the wait before the next one.
    retry_timer: Option<Timeout>,
    retry_backoff_ms: u32,
    /// Whose workspace is in memory; saves go to this user's entry only.
    workspace_owner: Option<i64>,
    /// The element that had focus when the session expired, to return to afterwards.
    focus_before_expiry: Option<web_sys::HtmlElement>,
    /// A sign-out is under way (retried until the server confirms it).
    signing_out: bool,
    sign_out_retry: Option<Timeout>,
    sign_out_backoff_ms: u32,
}

thread_local! {
    static CONTROLLER: RefCell<Controller> = RefCell::new(Controller::default());
}

fn with<R>(f: impl FnOnce(&mut Controller) -> R) -> R {
    CONTROLLER.with(|c| f(&mut c.borrow_mut()))
}

fn ctx() -> Option<SessionContext> {
    with(|c| c.ctx)
}

/// Timers may be replaced from inside their own callback; release them after it returns.
fn release<T: 'static>(timer: Option<T>) {
    if let Some(timer) = timer {
        spawn_local(async move { drop(timer) });
    }
}

/// Starts the controller once, after hydration.
pub fn start(ctx: SessionContext) {
    let first = with(|c| {
        let first = c.ctx.is_none();
        c.ctx = Some(ctx);
        first
    });
    if !first {
        return;
    }
    activity::install(on_deliberate_activity);
    tabs::install(on_tab_message);
    install_lifecycle_listeners();
    // Persist every change of the workspace, debounced: a keystroke only restarts the
    // timer, and the workspace is read once, when the timer fires.
    Effect::new(move |_| {
        ctx.workspace.track();
        schedule_save();
    });
    if page_had_session_cookie() {
        check_session();
    } else {
        // Nothing to ask: without a cookie the answer could only be 401.
        signed_out(ctx);
    }
}

/// What the server saw when it rendered the page (`<meta name="vigil-session">`).
fn page_had_session_cookie() -> bool {
    let selector = format!("meta[name=\"{}\"]", crate::SESSION_META);
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector(&selector).ok().flatten())
        .and_then(|meta| meta.get_attribute("content"))
        .is_none_or(|content| content != "none")
}

/// Asks the server for the session state (passive: does not extend it).
pub fn check_session() {
    spawn_local(async {
        match api::session_info().await {
            Ok(info) => adopt(info),
            Err(err) => handle_problem(err.0, Retry::Check),
        }
    });
}

/// Takes the server's word for the session, schedules everything from it, and tells the
/// other tabs.
pub fn adopt(info: SessionInfo) {
    tabs::broadcast(&TabMessage::Session { info: info.clone() });
    apply(info);
}

fn on_tab_message(message: TabMessage) {
    match message {
        // Another tab reported activity or signed in again: its report covers ours too.
        TabMessage::Session { info } => {
            with(|c| c.reported_ms = c.reported_ms.max(now_ms()));
            apply(info);
        }
        TabMessage::SignedOut => {
            if let Some(ctx) = ctx() {
                signed_out(ctx);
            }
        }
    }
}

fn apply(info: SessionInfo) {
    let Some(ctx) = ctx() else { return };
    // A refresh usually brings the same user and policy: write and notify only on change.
    if ctx.user.with_untracked(|u| u.as_ref() != Some(&info.user)) {
        preservation::remember_user(&info.user);
        ctx.user.set(Some(info.user.clone()));
    }
    // The work shows only once this user holds a live session again.
    load_workspace_for(ctx, info.user.id);
    if ctx.policy.get_untracked() != Some(info.policy) {
        ctx.policy.set(Some(info.policy));
    }
    ctx.clear_notice("network");
    let retry = with(|c| {
        c.retry_backoff_ms = 0;
        c.retry_timer.take()
    });
    release(retry);
    let heartbeat_ms = (info.policy.heartbeat_secs.max(1) * 1000) as u32;
    let needs_heartbeat = with(|c| {
        c.deadlines = Some(info.local_deadlines(now()));
        c.reported_ms = c.reported_ms.max(now_ms());
        let changed = c.heartbeat_ms != heartbeat_ms || c.heartbeat.is_none();
        c.heartbeat_ms = heartbeat_ms;
        changed
    });
    if needs_heartbeat {
        let old = with(|c| {
            c.heartbeat
                .replace(Interval::new(heartbeat_ms, heartbeat_tick))
        });
        release(old);
    }
    evaluate();
    restore_focus();
}

/// Loads a user's preserved work into memory unless it is already there.
fn load_workspace_for(ctx: SessionContext, user_id: i64) {
    if with(|c| c.workspace_owner) == Some(user_id) {
        return;
    }
    let (workspace, saved_at) = match preservation::load(user_id) {
        Ok(Some((workspace, saved_at))) => (workspace, Some(saved_at)),
        Ok(None) => (Workspace::default(), None),
        Err(problem) => {
            ctx.notify("storage", Tone::Warning, problem.to_string());
            (Workspace::default(), None)
        }
    };
    with(|c| c.workspace_owner = Some(user_id));
    ctx.saved_at.set(saved_at);
    ctx.workspace.set(workspace);
    ctx.work_withheld.set(false);
}

fn schedule_save() {
    let Some(owner) = with(|c| c.workspace_owner) else {
        return;
    };
    let timer = Timeout::new(SAVE_DEBOUNCE_MS, move || {
        let Some(ctx) = ctx() else { return };
        // The owner may have signed out meanwhile: never write into another user's entry.
        if with(|c| c.workspace_owner) != Some(owner) {
            return;
        }
        let saved = ctx
            .workspace
            .with_untracked(|workspace| preservation::save(owner, workspace));
        match saved {
            Ok(saved_at) => {
                ctx.saved_at.set(Some(saved_at));
                ctx.clear_notice("storage");
            }
            Err(problem) => ctx.notify("storage", Tone::Warning, problem.to_string()),
        }
    });
    // Not inside the old timer's callback, so it can be cancelled right here.
    drop(with(|c| c.save_timer.replace(timer)));
}

/// Recomputes the phase from the deadlines and the wall clock, and sets the one timer
/// for the next change. Safe to call at any time (late timers, waking from sleep).
pub fn evaluate() {
    let Some(ctx) = ctx() else { return };
    let Some(deadlines) = with(|c| c.deadlines) else {
        return;
    };
    let now = now();
    let phase = deadlines.phase_at(now);
    match phase {
        Phase::Active { .. } => {
            let old = with(|c| c.countdown.take());
            release(old);
            ctx.phase.set(ClientPhase::Active);
        }
        Phase::Warning {
            remaining, reason, ..
        } => {
            ctx.phase.set(ClientPhase::Warning {
                remaining_ms: remaining.whole_milliseconds() as i64,
                reason,
            });
            if with(|c| c.countdown.is_none()) {
                let countdown = Interval::new(1000, tick_countdown);
                with(|c| c.countdown = Some(countdown));
            }
        }
        Phase::Expired { reason } => {
            expire(reason);
            // The server decides: another tab may have extended the session meanwhile.
            check_session();
            return;
        }
    }
    if let Some(at) = deadlines.next_transition(now) {
        let wait_ms =
            ((at - now).whole_milliseconds().max(0) as u64 + 25).min(u32::MAX as u64) as u32;
        let old = with(|c| c.phase_timer.replace(Timeout::new(wait_ms, evaluate)));
        release(old);
    }
}

fn tick_countdown() {
    let Some(ctx) = ctx() else { return };
    let Some(deadlines) = with(|c| c.deadlines) else {
        return;
    };
    match deadlines.phase_at(now()) {
        Phase::Warning {
            remaining, reason, ..
        } => ctx.phase.set(ClientPhase::Warning {
            remaining_ms: remaining.whole_milliseconds() as i64,
            reason,
        }),
        _ => evaluate(),
    }
}

/// Once per heartbeat interval: report activity if there was any. The phase is evaluated
/// first, so a heartbeat that fires late (after a sleep past the deadline) shows the modal
/// instead of silently extending; it also catches a phase timer that fired late.
fn heartbeat_tick() {
    let Some(ctx) = ctx() else { return };
    activity::arm();
    evaluate();
    if !matches!(ctx.phase.get_untracked(), ClientPhase::Active) || !heartbeat_due() {
        return;
    }
    // However many tabs are open: one report per heartbeat interval in total. The rule is
    // checked again under the lock, where no other tab can be reporting.
    refresh_lock::with_lock(|| async {
        if heartbeat_due() {
            refresh(false).await;
        }
    });
}

fn heartbeat_due() -> bool {
    let (covered_until_ms, interval_ms) = with(|c| (c.reported_ms, f64::from(c.heartbeat_ms)));
    let clock = HeartbeatClock {
        last_activity_ms: activity::last_activity_ms(),
        covered_until_ms,
        last_report_ms: refresh_lock::last_report_ms(),
    };
    heartbeat::due(&clock, now_ms(), interval_ms)
}

fn on_deliberate_activity() {
    let Some(ctx) = ctx() else { return };
    if matches!(ctx.phase.get_untracked(), ClientPhase::Warning { .. }) {
        extend();
    }
}

/// Reports activity now ("Stay signed in", or a key pressed while the warning shows).
pub fn extend() {
    let Some(ctx) = ctx() else { return };
    if !ctx.phase.get_untracked().is_signed_in() {
        return;
    }
    spawn_local(refresh(false));
}

/// Asks the server to extend the session. `exchange` also runs outside a signed-in phase:
/// a check answered `token_expired` exchanges the token and thereby repeats the check.
async fn refresh(exchange: bool) {
    let Some(ctx) = ctx() else { return };
    if with(|c| c.refreshing) || !(exchange || ctx.phase.get_untracked().is_signed_in()) {
        return;
    }
    let started = now_ms();
    with(|c| {
        c.refreshing = true;
        c.reported_ms = started;
    });
    refresh_lock::set_last_report_ms(started);
    let result = api::refresh().await;
    with(|c| c.refreshing = false);
    match result {
        Ok(refreshed) => adopt(refreshed.session),
        // An exchanged token that is refused again is not retried a second time.
        Err(err) if exchange && err.code() == ErrorCode::TokenExpired => signed_out(ctx),
        Err(err) => handle_problem(err.0, Retry::Refresh),
    }
}

fn expire(reason: ExpiryReason) {
    let Some(ctx) = ctx() else { return };
    if ctx.phase.get_untracked().is_expired() {
        return;
    }
    let focused = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    let timers = with(|c| {
        c.focus_before_expiry = focused;
        (c.phase_timer.take(), c.countdown.take(), c.heartbeat.take())
    });
    release(Some(timers));
    ctx.phase.set(ClientPhase::Expired { reason });
}

/// What to repeat after the server could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    Check,
    Refresh,
}

/// Reacts to a refusal from the server, or to not reaching it.
fn handle_problem(problem: Problem, retry: Retry) {
    let Some(ctx) = ctx() else { return };
    match problem.error_code {
        ErrorCode::SessionExpired => {
            let reason = problem.reason.unwrap_or(ExpiryReason::Idle);
            if ctx.user.get_untracked().is_none() {
                // A reload onto an expired session: offer the same person a way back in,
                // and show nothing of their work until they have signed in again.
                match preservation::last_user() {
                    Some(user) => {
                        ctx.work_withheld.set(true);
                        ctx.user.set(Some(user));
                    }
                    None => return signed_out(ctx),
                }
            }
            expire(reason);
        }
        // The token ran out while the session lives: exchange it, which repeats the check.
        ErrorCode::TokenExpired => spawn_local(refresh(true)),
        ErrorCode::NetworkError
        | ErrorCode::StoreUnavailable
        | ErrorCode::RateLimited
        | ErrorCode::InternalError
        | ErrorCode::Unknown => {
            ctx.notify(
                "network",
                Tone::Warning,
                "Vigil cannot reach the server right now. Your work is saved in this browser; we will keep trying.",
            );
            schedule_retry(retry, problem.retry_after);
        }
        _ => signed_out(ctx),
    }
}

/// Tries again with exponential backoff (or the server's Retry-After); a failed network
/// never signs anyone out.
fn schedule_retry(retry: Retry, retry_after_secs: Option<u64>) {
    let wait_ms = with(|c| retry_wait_ms(&mut c.retry_backoff_ms, retry_after_secs));
    let timer = Timeout::new(wait_ms, move || match retry {
        Retry::Check => check_session(),
        Retry::Refresh => spawn_local(refresh(true)),
    });
    let old = with(|c| c.retry_timer.replace(timer));
    release(old);
}

/// The session is gone for good (or never existed): forget it in this tab. Preserved work
/// stays in storage for its owner until it expires.
fn signed_out(ctx: SessionContext) {
    let timers = with(|c| {
        c.deadlines = None;
        c.workspace_owner = None;
        c.signing_out = false;
        c.sign_out_backoff_ms = 0;
        (
            c.phase_timer.take(),
            c.countdown.take(),
            c.heartbeat.take(),
            c.save_timer.take(),
            c.sign_out_retry.take(),
        )
    });
    release(Some(timers));
    ctx.clear_notice("sign-out");
    ctx.work_withheld.set(false);
    ctx.workspace.set(Workspace::default());
    ctx.saved_at.set(None);
    ctx.user.set(None);
    ctx.phase.set(ClientPhase::SignedOut);
}

/// Signs in again as the same user, inside the timeout modal.
pub async fn sign_in_again(password: String) -> Result<(), String> {
    let Some(ctx) = ctx() else {
        return Err("The page is still loading.".into());
    };
    let Some(user) = ctx.user.get_untracked() else {
        return Err("Sign in from the sign-in page.".into());
    };
    match api::login(user.username.clone(), password).await {
        Ok(info) if info.user.id == user.id => {
            adopt(info);
            Ok(())
        }
        Ok(_) => Err("That is a different account.".into()),
        Err(err) => Err(crate::messages::sign_in_error(&err.0)),
    }
}

/// Ends the session and discards this user's preserved work, once the server has confirmed
/// that the session is over. Until then nothing is discarded and nobody is shown as signed
/// out: a failed request is reported and retried with backoff.
pub fn sign_out() {
    let Some(ctx) = ctx() else { return };
    if with(|c| std::mem::replace(&mut c.signing_out, true)) {
        return;
    }
    ctx.clear_notice("sign-out");
    spawn_local(attempt_sign_out());
}

/// How a sign-out request went.
enum SignOutOutcome {
    /// The session is over on the server (ended now, or already).
    Ended,
    /// The server could not be asked, or could not answer: the session may still be valid.
    NotYet(Option<u64>),
}

async fn attempt_sign_out() {
    let Some(ctx) = ctx() else { return };
    let outcome = match api::logout().await {
        Ok(()) => SignOutOutcome::Ended,
        Err(err) if err.code() == ErrorCode::TokenExpired => match api::refresh().await {
            Ok(_) => match api::logout().await {
                Ok(()) => SignOutOutcome::Ended,
                Err(err) => sign_out_outcome(&err.0),
            },
            Err(err) => sign_out_outcome(&err.0),
        },
        Err(err) => sign_out_outcome(&err.0),
    };
    match outcome {
        SignOutOutcome::Ended => {
            let (owner, retry) = with(|c| {
                c.signing_out = false;
                c.sign_out_backoff_ms = 0;
                (c.workspace_owner, c.sign_out_retry.take())
            });
            release(retry);
            ctx.clear_notice("sign-out");
            if let Some(owner) = owner {
                preservation::purge(owner);
            }
            preservation::forget_user();
            tabs::broadcast(&TabMessage::SignedOut);
            signed_out(ctx);
        }
        SignOutOutcome::NotYet(retry_after) => {
            ctx.notify(
                "sign-out",
                Tone::Warning,
                "You are still signed in: Vigil could not reach the server to sign you out. \
                 It keeps trying; do not leave this computer until it says you are signed out.",
            );
            let wait_ms = with(|c| retry_wait_ms(&mut c.sign_out_backoff_ms, retry_after));
            let timer = Timeout::new(wait_ms, || spawn_local(attempt_sign_out()));
            let old = with(|c| c.sign_out_retry.replace(timer));
            release(old);
        }
    }
}

fn sign_out_outcome(problem: &Problem) -> SignOutOutcome {
    match problem.error_code {
        // No valid session is left behind (and the server removed the cookie).
        ErrorCode::Unauthenticated
        | ErrorCode::SessionInvalid
        | ErrorCode::SessionExpired
        | ErrorCode::SessionRevoked
        | ErrorCode::SessionNotFound
        | ErrorCode::TokenExpired => SignOutOutcome::Ended,
        _ => SignOutOutcome::NotYet(problem.retry_after),
    }
}

/// The wait before the next retry: the backoff doubles from one second up to thirty, and a
/// server's `Retry-After` (at most five minutes) is honoured when it asks for longer.
fn retry_wait_ms(backoff_ms: &mut u32, retry_after_secs: Option<u64>) -> u32 {
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

fn restore_focus() {
    if let Some(element) = with(|c| c.focus_before_expiry.take()) {
        // After the modal has gone and the page behind it is no longer inert.
        Timeout::new(30, move || {
            let _ = element.focus();
        })
        .forget();
    }
}

/// Coming back to the tab is not activity: re-evaluate first, so a return after the
/// deadline shows the modal rather than silently extending.
fn install_lifecycle_listeners() {
    use wasm_bindgen::closure::Closure;
    let Some(window) = web_sys::window() else {
        return;
    };
    let reevaluate = Closure::<dyn Fn()>::new(|| {
        let hidden = web_sys::window()
            .and_then(|w| w.document())
            .map(|d| d.hidden())
            .unwrap_or(false);
        if !hidden {
            evaluate();
        }
    });
    for event in ["focus", "pageshow"] {
        let _ = window.add_event_listener_with_callback(event, reevaluate.as_ref().unchecked_ref());
    }
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            reevaluate.as_ref().unchecked_ref(),
        );
    }
    reevaluate.forget();
}
