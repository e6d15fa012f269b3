//! The timeout modal: the session ended; here is what was kept; sign in again in place.

use leptos::prelude::*;
use vigil::events::EndedBecause;
use vigil::ExpiryReason;

use crate::actions;
use crate::components::modal::Modal;
use crate::components::reauth_form::ReauthForm;
use crate::session_context::{human_duration, use_session, ClientPhase};

#[component]
pub fn TimeoutModal() -> impl IntoView {
    let ctx = use_session();
    let ended = move || match ctx.phase.get() {
        ClientPhase::Ended { reason, told } => Some((reason, told)),
        _ => None,
    };
    view! {
        <Show when=move || ended().is_some()>
            <TimeoutDialog
                reason=Signal::derive(move || ended().and_then(|(reason, _)| reason))
                told=Signal::derive(move || ended().and_then(|(_, told)| told))
            />
        </Show>
    }
}

/// `reason`: the deadline that passed, or none when the session was ended elsewhere; `told`:
/// who or what ended it, when the server said so.
#[component]
fn TimeoutDialog(
    reason: Signal<Option<ExpiryReason>>,
    told: Signal<Option<EndedBecause>>,
) -> impl IntoView {
    let ctx = use_session();
    let why = move || {
        let policy = ctx.policy.get();
        match (reason.get(), told.get()) {
            (None, Some(told)) => told.message().to_owned(),
            (None, None) => "Your session was ended: you signed out on another device, or it \
                     was ended from your list of sessions."
                .to_owned(),
            (Some(ExpiryReason::Idle), _) => match policy {
                Some(p) => format!(
                    "You were signed out after {} without activity.",
                    human_duration(p.idle_timeout_secs)
                ),
                None => "You were signed out after a period without activity.".to_owned(),
            },
            (Some(ExpiryReason::Absolute), _) => match policy {
                Some(p) => format!(
                    "This session reached its limit of {}.",
                    human_duration(p.absolute_timeout_secs)
                ),
                None => "This session reached its time limit.".to_owned(),
            },
        }
    };
    let kept = move || {
        if ctx.work_withheld.get() {
            return "Nothing is lost. Your drafts and settings are kept safe; they come back \
                    when you sign in again."
                .to_owned();
        }
        let drafts = match ctx.drafts.with(|d| d.len()) {
            0 => "Your settings are".to_owned(),
            1 => "Your draft and settings are".to_owned(),
            n => format!("Your {n} drafts and settings are"),
        };
        match ctx.waiting.get() {
            0 => {
                let when = ctx
                    .saved_time()
                    .map(|time| format!(" (last saved at {time})"))
                    .unwrap_or_default();
                format!("Nothing is lost. {drafts} saved to your account{when}.")
            }
            waiting => {
                let changes = if waiting == 1 {
                    "1 change is".to_owned()
                } else {
                    format!("{waiting} changes are")
                };
                format!(
                    "Nothing is lost. {drafts} kept in this browser: {changes} waiting and will \
                     be saved to your account when you sign in again."
                )
            }
        }
    };
    view! {
        <Modal id="timeout-modal" labelled_by="timeout-title" described_by="timeout-description">
            <h2 id="timeout-title">"Your session has ended"</h2>
            <div id="timeout-description">
                <p>{why}</p>
                <p class="preserved" id="preserved-summary">{kept}</p>
            </div>
            <ReauthForm
                input_id="reauth-password"
                submit_id="sign-in-again"
                submit_label="Sign in again"
                pending_label="Signing in…"
            >
                <button type="button" class="button" id="modal-sign-out" on:click=move |_| actions::request_sign_out(ctx)>
                    "Sign out"
                </button>
            </ReauthForm>
        </Modal>
    }
}
