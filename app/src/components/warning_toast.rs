//! The warning toast: non-modal, a live mm:ss countdown, "Stay signed in" and "Sign out".
//! Screen readers hear a separate, calm announcement, not every second.

use leptos::prelude::*;
use time::Duration;
use vigil::phase::{announcement_point, format_countdown};
use vigil::ExpiryReason;

use crate::actions;
use crate::session_context::{human_duration, use_session, ClientPhase};

#[component]
pub fn WarningToast() -> impl IntoView {
    let ctx = use_session();
    let warning = move || match ctx.phase.get() {
        ClientPhase::Warning {
            remaining_ms,
            reason,
        } => Some((remaining_ms, reason)),
        _ => None,
    };
    let countdown = move || {
        warning()
            .map(|(ms, _)| format_countdown(Duration::milliseconds(ms)))
            .unwrap_or_default()
    };
    let reason = move || warning().map(|(_, r)| r).unwrap_or(ExpiryReason::Idle);
    // A hidden tab says it too: its title carries the countdown while the warning shows.
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        Effect::new(move |_| {
            let Some(base) = crate::page_head::PageHead::routed(&location.pathname.get()) else {
                return;
            };
            let Some(document) = web_sys::window().and_then(|w| w.document()) else {
                return;
            };
            let title = match warning() {
                Some((ms, _)) => crate::page_head::with_countdown(&base.title(), ms),
                None => base.title(),
            };
            if document.title() != title {
                document.set_title(&title);
            }
        });
    }
    let announcement = Memo::new(move |_| {
        warning().map(|(ms, reason)| (announcement_point(Duration::milliseconds(ms)), reason))
    });
    let spoken = move || {
        announcement.get().map(|(secs, reason)| {
            let when = human_duration(secs);
            match reason {
                ExpiryReason::Idle => format!(
                    "Your session ends in about {when} because of inactivity. Press Stay signed in to continue."
                ),
                ExpiryReason::Absolute => format!(
                    "Your session reaches its time limit in about {when}. It cannot be extended; your work is saved, and you will need to sign in again."
                ),
            }
        })
    };
    view! {
        <div class="live-announcer visually-hidden" aria-live="polite" id="warning-announcement">
            {spoken}
        </div>
        <Show when=move || warning().is_some()>
            <div class="toast" role="region" aria-labelledby="toast-title" id="session-warning">
                <p class="toast-title" id="toast-title">
                    {move || match reason() {
                        ExpiryReason::Idle => "Still there?",
                        ExpiryReason::Absolute => "Session time limit",
                    }}
                </p>
                <p class="toast-body">
                    {move || match reason() {
                        ExpiryReason::Idle => "You will be signed out because of inactivity in ",
                        ExpiryReason::Absolute => "This session reaches its time limit in ",
                    }}
                    <span class="countdown" id="countdown" aria-hidden="true">{countdown}</span>
                    "."
                </p>
                <Show when=move || reason() == ExpiryReason::Absolute>
                    <p class="toast-body" id="absolute-note">
                        "This limit cannot be extended. Your work is saved; sign in again to go on."
                    </p>
                </Show>
                <div class="toast-actions">
                    <Show when=move || reason() == ExpiryReason::Idle>
                        <button type="button" class="button primary" id="stay-signed-in" on:click=move |_| actions::stay_signed_in()>
                            "Stay signed in"
                        </button>
                    </Show>
                    <button type="button" class="button" id="toast-sign-out" on:click=move |_| actions::request_sign_out(ctx)>
                        "Sign out"
                    </button>
                </div>
            </div>
        </Show>
    }
}
