//! The session machine's code arrives when a page first needs it.
//!
//! The sign-in page is where every first visit lands, and someone signed out needs none of
//! the machine there: its timers, the outbox, the local copy, the decoders of every answer.
//! In a split build (`cargo leptos --split`) that code is a wasm chunk of its own, fetched
//! when the machine starts: on the pages that show a session, after hydration (and on the
//! sign-in page when the page came with a session cookie), when someone signs in, when the
//! user does something, or when another tab tells this one about the session. Until then
//! nothing of it is downloaded.
//!
//! A page the server rendered from the live session (`vigil::boot`) already shows what the
//! machine's first answers would: there the machine starts on the user's first interaction
//! or [`START_AFTER_MS`] after hydration, whichever comes first, so the page's first load is
//! what it needs to paint and to hydrate (the chunk is most of the signed-in pages' code).
//! It starts at once when the warning is near, so nothing of the warning's timing waits.
//!
//! Everything the page asks of the machine from here goes through one queue that the chunk
//! drains in order, so a message that arrives while the chunk is on its way is neither lost
//! nor overtaken. A chunk that cannot be fetched (offline) is asked for again with a
//! growing pause, and the page says the server cannot be reached meanwhile.

use std::cell::{Cell, RefCell};

use futures_channel::oneshot;
use leptos::task::spawn_local;

use super::{controller, hydration, tabs};
use crate::page_meta::page_had_session_cookie;
use crate::session_context::{NoticeKey, SessionContext, Tone};
use crate::sign_in::SignIn;

/// What the page asks of the machine.
enum Call {
    /// Sign in (the sign-in page, or again in the modal), then answer how it went.
    SignIn(SignIn, oneshot::Sender<Result<(), String>>),
    /// A message from another tab, as it arrived.
    Tab(String),
    /// Something the user did before the machine's code was here.
    User(vigil::client::UserAction),
    /// The interaction that started the machine, which its own listeners were not yet
    /// there to count.
    Activity,
}

/// On a page rendered from the live session, the machine starts this long after hydration
/// at the latest. Long enough that the page's first load ends without it; short against
/// anything the machine times (the heartbeat, the warning: see [`START_AT_ONCE_WITHIN_MS`]).
pub const START_AFTER_MS: u32 = 5_000;

/// A page whose warning is due sooner than this starts its machine at once: the wait above
/// and a slow network's fetch of the chunk still end before the warning is due.
const START_AT_ONCE_WITHIN_MS: i64 = 30_000;

thread_local! {
    static CALLS: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
    static LISTENING: Cell<bool> = const { Cell::new(false) };
    /// A run is fetching the code (or waiting to try again): it drains the queue when it
    /// gets through, so no second one is started meanwhile.
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    /// The machine's entry for the user's actions, set by its chunk once it is here.
    static USER: Cell<Option<fn(vigil::client::UserAction)>> = const { Cell::new(None) };
    /// The session's toast and dialogs, set by the machine's chunk, which carries their code.
    static DIALOGS: Cell<Option<fn() -> leptos::prelude::AnyView>> = const { Cell::new(None) };
    /// The page's session context, for calls made outside a component.
    static CONTEXT: Cell<Option<SessionContext>> = const { Cell::new(None) };
}

/// Hands what the user did to the machine: at once when its code is here, otherwise queued
/// and the machine started.
pub fn user(action: vigil::client::UserAction) {
    if let Some(user) = USER.get() {
        return user(action);
    }
    CALLS.with(|calls| calls.borrow_mut().push(Call::User(action)));
    if let Some(ctx) = CONTEXT.get() {
        spawn_local(run(ctx));
    }
}

/// The session's toast and dialogs, once the machine's code is here.
pub fn session_dialogs() -> Option<leptos::prelude::AnyView> {
    DIALOGS.get().map(|dialogs| dialogs())
}

/// On a page that shows the session: once it has hydrated, listens to the other tabs and
/// starts the machine.
pub fn start_after_hydration(ctx: SessionContext) {
    hydration::after_hydration(move || {
        prepare(ctx);
        // A page that asked something of the machine already (the sessions page its list)
        // needs it now.
        let asked = CALLS.with(|calls| !calls.borrow().is_empty());
        if !asked && rendered_from_session_far_from_warning() {
            start_on_interaction_or_after(ctx, START_AFTER_MS);
        } else {
            spawn_local(run(ctx));
        }
    });
}

/// The page shows the live session the server rendered it from, and its warning is not near.
fn rendered_from_session_far_from_warning() -> bool {
    crate::page_meta::page_first_view()
        .is_some_and(|view| view.warning_in_ms > START_AT_ONCE_WITHIN_MS)
}

/// Starts the machine on the first pointer, key, touch or focus, or after `wait_ms`.
fn start_on_interaction_or_after(ctx: SessionContext, wait_ms: u32) {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    let started = std::rc::Rc::new(Cell::new(false));
    let start = move |interaction: bool| {
        if !started.replace(true) {
            if interaction {
                CALLS.with(|calls| calls.borrow_mut().push(Call::Activity));
            }
            spawn_local(run(ctx));
        }
    };
    if let Some(window) = web_sys::window() {
        let start = start.clone();
        let on_interaction = Closure::<dyn Fn()>::new(move || start(true));
        let options = web_sys::AddEventListenerOptions::new();
        options.set_once(true);
        options.set_passive(true);
        options.set_capture(true);
        for event in ["pointerdown", "keydown", "touchstart", "focusin"] {
            let _ = window.add_event_listener_with_callback_and_add_event_listener_options(
                event,
                on_interaction.as_ref().unchecked_ref(),
                &options,
            );
        }
        // Once per page, for the page's lifetime.
        on_interaction.forget();
    }
    gloo_timers::callback::Timeout::new(wait_ms, move || start(false)).forget();
}

/// On the sign-in page: the machine starts at once only when the page came with a session
/// cookie (someone signed in belongs in the workspace); otherwise it waits for a sign-in or
/// another tab.
pub fn start_if_session_after_hydration(ctx: SessionContext) {
    hydration::after_hydration(move || {
        prepare(ctx);
        if page_had_session_cookie() {
            spawn_local(run(ctx));
        }
    });
}

/// Has the machine sign in (the sign-in page, or again in the modal as the same user).
/// Resolves to the message for the form, or once the machine has the new session, so the
/// page it leads to finds it.
pub async fn sign_in(ctx: SessionContext, attempt: SignIn) -> Result<(), String> {
    let (reply, answer) = oneshot::channel();
    CALLS.with(|calls| calls.borrow_mut().push(Call::SignIn(attempt, reply)));
    run(ctx).await;
    answer
        .await
        .unwrap_or_else(|_| Err("Signing in was interrupted. Please try again.".into()))
}

/// Fetches the machine's code ahead of a sign-in (someone is filling in the form), so the
/// sign-in does not wait for it.
pub fn preload() {
    #[cfg(feature = "split")]
    spawn_local(async {
        let _ = __preload_session_machine().await;
    });
}

/// Once per page: the tab listener, which hands messages on without reading them (reading
/// them takes the machine's code).
fn prepare(ctx: SessionContext) {
    CONTEXT.set(Some(ctx));
    let first = !LISTENING.replace(true);
    if !first {
        return;
    }
    tabs::install(move |raw| {
        CALLS.with(|calls| calls.borrow_mut().push(Call::Tab(raw)));
        spawn_local(run(ctx));
    });
}

/// Starts the machine (once) and hands it every queued call, fetching its code first if
/// need be; retried with a growing pause while the code cannot be fetched. Returns at once
/// when another run is under way: that one hands over what was queued.
async fn run(ctx: SessionContext) {
    if RUNNING.replace(true) {
        return;
    }
    let mut backoff_ms = 0;
    loop {
        #[cfg(feature = "split")]
        let result = session_machine(ctx).await;
        #[cfg(not(feature = "split"))]
        let result = session_machine(ctx);
        match result {
            Ok(()) => {
                RUNNING.set(false);
                ctx.clear_notice(NoticeKey::Loading);
                return;
            }
            Err(_) => {
                ctx.notify(
                    NoticeKey::Loading,
                    Tone::Warning,
                    "Vigil cannot reach the server right now. It will keep trying.",
                );
                let pause_ms = vigil::client::retry_wait_ms(&mut backoff_ms, None);
                gloo_timers::future::TimeoutFuture::new(pause_ms).await;
            }
        }
    }
}

/// The code fetch failed; it is tried again. (An unsplit build has nothing to fetch.)
#[derive(Debug)]
#[cfg_attr(not(feature = "split"), allow(dead_code))]
struct Unavailable;

#[cfg(feature = "split")]
impl From<leptos::wasm_split::SplitLoaderError> for Unavailable {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        Self
    }
}

/// The one entry into the machine's chunk.
#[cfg_attr(
    feature = "split",
    leptos::wasm_split::wasm_split(
        vigil_session_machine,
        wasm_split_path = ::leptos::wasm_split,
        preload(#[doc(hidden)] __preload_session_machine),
        fallible
    )
)]
fn session_machine(ctx: SessionContext) -> Result<(), Unavailable> {
    DIALOGS.set(Some(crate::components::frame::session_dialogs));
    controller::start(ctx);
    USER.set(Some(controller::user));
    let calls = CALLS.with(|calls| std::mem::take(&mut *calls.borrow_mut()));
    for call in calls {
        match call {
            Call::SignIn(attempt, reply) => spawn_local(async move {
                let _ = reply.send(controller::sign_in(attempt).await);
            }),
            Call::Tab(raw) => controller::tab_message(&raw),
            Call::User(action) => controller::user(action),
            Call::Activity => controller::activity(),
        }
    }
    Ok(())
}
