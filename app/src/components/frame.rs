//! What every signed-in page shares: the top bar, the notices, and the toast and dialogs of
//! the session around the page's own content. It sends someone signed out to the sign-in
//! page, and keeps the page inert while a dialog asks something.
//!
//! The toast and the dialogs open only on the session machine's word (a warning, an ended
//! session, a step-up, changes waiting at a sign-out), so their code travels with the
//! machine's ([`session_dialogs`], handed over by the loader) and they are part of the page
//! from when the machine shows it: a page's first load is then what it needs to paint and
//! to hydrate (the workspace's 10 KB less, `make size`).

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::components::notices::Notices;
use crate::components::sign_out_dialog::SignOutDialog;
use crate::components::step_up_modal::StepUpModal;
use crate::components::timeout_modal::TimeoutModal;
use crate::components::top_bar::TopBar;
use crate::components::warning_toast::WarningToast;
use crate::session_context::{use_session, ClientPhase};

#[component]
pub fn SignedInFrame(children: ChildrenFn) -> impl IntoView {
    let ctx = use_session();
    // Here rather than where the context is made: the record's reader then travels with
    // the signed-in pages' code, not with the sign-in page's.
    ctx.adopt(crate::page_meta::page_first_view());
    #[cfg(feature = "hydrate")]
    crate::browser::loader::start_after_hydration(ctx);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if ctx.phase.get() == ClientPhase::SignedOut {
            navigate("/login", Default::default());
        }
    });
    let theme = move || ctx.settings.get().theme.as_str();
    let size = move || ctx.settings.get().text_size.as_str();
    let blocked =
        move || ctx.phase.get().is_ended() || ctx.confirm_sign_out.get() || ctx.step_up.get();
    let ready = move || {
        !matches!(
            ctx.phase.get(),
            ClientPhase::Checking | ClientPhase::SignedOut
        )
    };
    #[cfg(feature = "hydrate")]
    let dialogs = move || {
        ctx.live
            .get()
            .then(crate::browser::loader::session_dialogs)
            .flatten()
    };
    #[cfg(not(feature = "hydrate"))]
    let dialogs = || None::<AnyView>;
    view! {
        <Show
            when=ready
            // The page's one `main` until the page itself shows.
            fallback=|| view! {
                <main class="checking">
                    <p role="status">"Checking your session…"</p>
                </main>
            }
        >
            <div class="theme-root" data-theme=theme data-text-size=size>
                <div
                    class="app-shell"
                    inert=blocked
                    aria-hidden=move || blocked().then_some("true")
                    data-locked=move || ctx.phase.get().is_ended().then_some("")
                    // The session machine shows the page (before: the server's rendering).
                    data-live=move || ctx.live.get().then_some("")
                >
                    <TopBar/>
                    <Notices/>
                    {children()}
                </div>
                {dialogs}
            </div>
        </Show>
    }
}

/// The session's toast and dialogs, for the machine's chunk to hand to the frame.
pub fn session_dialogs() -> AnyView {
    view! {
        <WarningToast/>
        <TimeoutModal/>
        <StepUpModal/>
        <SignOutDialog/>
    }
    .into_any()
}
