//! "Confirm it is you": a sensitive action (signing out everywhere else, changing the
//! password) needs a recent sign-in. The same in-place form as after a timeout; once the
//! password is confirmed the action goes ahead by itself.

use leptos::prelude::*;
use vigil::client::AccountAction;

use crate::actions::{self, SignInForm};
use crate::components::modal::Modal;
use crate::session_context::use_session;

#[component]
pub fn StepUpModal() -> impl IntoView {
    let ctx = use_session();
    view! {
        <Show when=move || ctx.step_up.get()>
            <StepUpDialog/>
        </Show>
    }
}

#[component]
fn StepUpDialog() -> impl IntoView {
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
    let cancel = Callback::new(move |()| actions::account(AccountAction::CancelStepUp));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        form.submit(
            actions::sign_in_again(ctx, password.get_untracked()),
            move |succeeded| {
                if !succeeded {
                    if let Some(el) = input.get_untracked() {
                        let _ = el.focus();
                    }
                }
            },
        );
    };
    let who = move || {
        ctx.user
            .get()
            .map(|u| (u.display_name, u.username))
            .unwrap_or_default()
    };
    view! {
        <Modal id="step-up-modal" labelled_by="step-up-title" described_by="step-up-description" on_escape=cancel>
            <h2 id="step-up-title">"Confirm it is you"</h2>
            <p id="step-up-description">
                "This changes who can use your account, so it needs your password. "
                "Once you confirm it, the change goes ahead."
            </p>
            <form class="reauth-form" on:submit=submit>
                <p class="reauth-user">
                    "Continue as " <strong>{move || who().0}</strong> " (" {move || who().1} ")"
                </p>
                <label for="step-up-password">"Password"</label>
                <input
                    id="step-up-password"
                    type="password"
                    autocomplete="current-password"
                    node_ref=input
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
                <p class="form-error" role="alert">{move || error.get()}</p>
                <div class="modal-actions">
                    <button type="submit" class="button primary" id="step-up-confirm" disabled=move || pending.get()>
                        {move || if pending.get() { "Confirming…" } else { "Confirm" }}
                    </button>
                    <button type="button" class="button" id="step-up-cancel" on:click=move |_| cancel.run(())>
                        "Cancel"
                    </button>
                </div>
            </form>
        </Modal>
    }
}
