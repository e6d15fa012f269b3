//! The timeout modal: the session ended; here is what was kept; sign in again in place.

use leptos::prelude::*;
use vigil::ExpiryReason;

use crate::actions::{self, SignInForm};
use crate::components::modal::Modal;
use crate::session_context::{human_duration, use_session, ClientPhase};

#[component]
pub fn TimeoutModal() -> impl IntoView {
    let ctx = use_session();
    let reason = move || match ctx.phase.get() {
        ClientPhase::Expired { reason } => Some(reason),
        _ => None,
    };
    view! {
        <Show when=move || reason().is_some()>
            <TimeoutDialog reason=Signal::derive(move || reason().unwrap_or(ExpiryReason::Idle))/>
        </Show>
    }
}

#[component]
fn TimeoutDialog(reason: Signal<ExpiryReason>) -> impl IntoView {
    let ctx = use_session();
    let form = SignInForm::new();
    let SignInForm {
        password,
        pending,
        error,
    } = form;
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(el) = input.get() {
            let _ = el.focus();
        }
    });

    let why = move || {
        let policy = ctx.policy.get();
        match reason.get() {
            ExpiryReason::Idle => match policy {
                Some(p) => format!(
                    "You were signed out after {} without activity.",
                    human_duration(p.idle_timeout_secs)
                ),
                None => "You were signed out after a period without activity.".to_owned(),
            },
            ExpiryReason::Absolute => match policy {
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
            return "Nothing is lost. Your drafts and settings are kept in this browser; they \
                    come back when you sign in again."
                .to_owned();
        }
        let drafts = ctx.workspace.with(|w| w.drafts.len());
        let drafts = match drafts {
            0 => "Your settings are".to_owned(),
            1 => "Your draft and settings are".to_owned(),
            n => format!("Your {n} drafts and settings are"),
        };
        let when = ctx
            .saved_time()
            .map(|time| format!(" (last saved at {time})"))
            .unwrap_or_default();
        format!("Nothing is lost. {drafts} kept in this browser{when}; they come back when you sign in again.")
    };
    let who = move || {
        ctx.user
            .get()
            .map(|u| (u.display_name, u.username))
            .unwrap_or_default()
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        form.submit(
            actions::sign_in_again(password.get_untracked()),
            move |succeeded| {
                if !succeeded {
                    if let Some(el) = input.get_untracked() {
                        let _ = el.focus();
                    }
                }
            },
        );
    };

    view! {
        <Modal id="timeout-modal" labelled_by="timeout-title" described_by="timeout-description">
            <h2 id="timeout-title">"Your session has ended"</h2>
            <div id="timeout-description">
                <p>{why}</p>
                <p class="preserved" id="preserved-summary">{kept}</p>
            </div>
            <form class="reauth-form" on:submit=submit>
                <p class="reauth-user">
                    "Continue as " <strong>{move || who().0}</strong> " (" {move || who().1} ")"
                </p>
                <label for="reauth-password">"Password"</label>
                <input
                    id="reauth-password"
                    type="password"
                    autocomplete="current-password"
                    node_ref=input
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
                <p class="form-error" role="alert">{move || error.get()}</p>
                <div class="modal-actions">
                    <button type="submit" class="button primary" id="sign-in-again" disabled=move || pending.get()>
                        {move || if pending.get() { "Signing in…" } else { "Sign in again" }}
                    </button>
                    <button type="button" class="button" id="modal-sign-out" on:click=move |_| actions::request_sign_out(ctx)>
                        "Sign out"
                    </button>
                </div>
            </form>
        </Modal>
    }
}
