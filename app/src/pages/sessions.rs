//! Where the user is signed in (SPEC §8): every live session with its device, a masked
//! address and when it was last active; "Sign out" for each other one, and "Sign out
//! everywhere else" (which asks for the password when the sign-in is not recent).

use leptos::prelude::*;
use vigil::client::{AccountAction, AccountMessage};
use vigil::sessions::SessionView;

use crate::actions;
use crate::components::frame::SignedInFrame;
use crate::session_context::use_session;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let ctx = use_session();
    // Loaded once the session is known to be live (and again after each change).
    Effect::new(move |_| {
        if ctx.phase.get().is_signed_in() && ctx.sessions.with(Option::is_none) {
            actions::account(AccountAction::LoadSessions);
        }
    });
    let others = move || {
        ctx.sessions.with(|s| {
            s.as_ref()
                .map_or(0, |s| s.iter().filter(|v| !v.current).count())
        })
    };
    view! {
        <SignedInFrame>
            <main class="account-page" id="sessions-page">
                <h1>"Where you are signed in"</h1>
                <p class="page-intro">
                    "These are the devices and browsers signed in to your account now. If you do not "
                    "recognise one, sign it out and change your password."
                </p>
                <AccountStatus/>
                <Show
                    when=move || ctx.sessions.with(Option::is_some)
                    fallback=move || view! {
                        <p class="loading" role="status">
                            {move || if ctx.account_busy.get() { "Loading your sessions…" } else { "" }}
                        </p>
                        <button type="button" class="button" id="reload-sessions"
                            hidden=move || ctx.account_busy.get()
                            on:click=move |_| actions::account(AccountAction::LoadSessions)>
                            "Show my sessions"
                        </button>
                    }
                >
                    <ul class="session-list" id="session-list">
                        <For
                            each=move || ctx.sessions.get().unwrap_or_default()
                            key=|view| (view.id.clone(), view.last_active_at)
                            children=move |view| view! { <SessionRow view/> }
                        />
                    </ul>
                    <button
                        type="button"
                        class="button danger"
                        id="revoke-others"
                        disabled=move || ctx.account_busy.get() || others() == 0
                        on:click=move |_| actions::account(AccountAction::RevokeOthers)
                    >
                        "Sign out everywhere else"
                    </button>
                </Show>
            </main>
        </SignedInFrame>
    }
}

/// One live session. Its button signs it out: the user's own (`account` unset), or, on the
/// administrators' page, one of that account's.
#[component]
pub fn SessionRow(view: SessionView, #[prop(optional)] account: Option<String>) -> impl IntoView {
    let ctx = use_session();
    let created = time_label(view.created_at);
    let active = time_label(view.last_active_at);
    let id = view.id.clone();
    let label = match &account {
        None => format!("Sign out {}", view.device),
        Some(username) => format!("End the session of {username} on {}", view.device),
    };
    let end = move || match account.clone() {
        None => AccountAction::EndSession { id: id.clone() },
        Some(username) => AccountAction::EndAccountSession {
            username,
            id: id.clone(),
        },
    };
    view! {
        <li class="session-row" class:current=view.current data-session=view.id.clone()>
            <div class="session-device">
                <strong>{view.device.clone()}</strong>
                {view.current.then(|| view! { <span class="badge">"This device"</span> })}
                {view.remembered.then(|| view! { <span class="badge subtle">"Remembered"</span> })}
            </div>
            <p class="session-details">
                "Signed in " {created} " · last active " {active}
                {view.address.clone().map(|a| format!(" · from {a}"))}
            </p>
            {(!view.current).then(|| view! {
                <button
                    type="button"
                    class="button"
                    aria-label=label.clone()
                    disabled=move || ctx.account_busy.get()
                    on:click=move |_| actions::account(end())
                >
                    "Sign out"
                </button>
            })}
        </li>
    }
}

/// The outcome of the last account action: polite when it worked, an alert when it did
/// not (a field-specific one is shown by its field instead). Both take room only while
/// they say something (`main.css`).
#[component]
pub fn AccountStatus() -> impl IntoView {
    let ctx = use_session();
    let done = move || match ctx.account_message.get() {
        Some(AccountMessage::Done(text)) => text,
        _ => String::new(),
    };
    let failed = move || match ctx.account_message.get() {
        Some(AccountMessage::Failed { text, field: None }) => text,
        _ => String::new(),
    };
    view! {
        <p class="account-status" role="status" id="account-status">{done}</p>
        <p class="form-error account-error" role="alert" id="account-error">{failed}</p>
    }
}

pub(crate) fn time_label(at: time::OffsetDateTime) -> String {
    #[cfg(feature = "hydrate")]
    return crate::browser::time::local_date_time_label(
        (at.unix_timestamp_nanos() / 1_000_000) as f64,
    );
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = at;
        String::new()
    }
}
