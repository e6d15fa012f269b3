//! "Confirm it is you": a sensitive action (signing out everywhere else, changing the
//! password) needs a recent sign-in. The same in-place form as after a timeout; once the
//! password is confirmed the action goes ahead by itself.

use leptos::prelude::*;
use vigil::client::AccountAction;

use crate::actions;
use crate::components::modal::Modal;
use crate::components::reauth_form::ReauthForm;
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
    let cancel = Callback::new(move |()| actions::account(AccountAction::CancelStepUp));
    view! {
        <Modal id="step-up-modal" labelled_by="step-up-title" described_by="step-up-description" on_escape=cancel>
            <h2 id="step-up-title">"Confirm it is you"</h2>
            <p id="step-up-description">
                "This changes who can use your account, so it needs your password. "
                "Once you confirm it, the change goes ahead."
            </p>
            <ReauthForm
                input_id="step-up-password"
                submit_id="step-up-confirm"
                submit_label="Confirm"
                pending_label="Confirming…"
            >
                <button type="button" class="button" id="step-up-cancel" on:click=move |_| cancel.run(())>
                    "Cancel"
                </button>
            </ReauthForm>
        </Modal>
    }
}
