//! Asks before an explicit sign-out discards unsent drafts.

use leptos::prelude::*;

use crate::actions;
use crate::components::modal::Modal;
use crate::session_context::use_session;

#[component]
pub fn SignOutDialog() -> impl IntoView {
    let ctx = use_session();
    view! {
        <Show when=move || ctx.confirm_sign_out.get()>
            <ConfirmSignOut/>
        </Show>
    }
}

#[component]
fn ConfirmSignOut() -> impl IntoView {
    let ctx = use_session();
    let keep = NodeRef::<leptos::html::Button>::new();
    Effect::new(move |_| {
        if let Some(el) = keep.get() {
            let _ = el.focus();
        }
    });
    let count = move || ctx.waiting.get();
    let cancel = Callback::new(move |_| ctx.confirm_sign_out.set(false));
    view! {
        <Modal id="sign-out-dialog" labelled_by="sign-out-title" described_by="sign-out-description" on_escape=cancel>
            <h2 id="sign-out-title">"Discard unsaved changes?"</h2>
            <p id="sign-out-description">
                {move || match count() {
                    1 => "One change has not reached your account yet. Signing out removes it from this browser. This cannot be undone.".to_owned(),
                    n => format!("{n} changes have not reached your account yet. Signing out removes them from this browser. This cannot be undone."),
                }}
            </p>
            <div class="modal-actions">
                <button type="button" class="button primary" id="keep-drafts" node_ref=keep on:click=move |_| cancel.run(())>
                    "Keep working"
                </button>
                <button type="button" class="button danger" id="confirm-sign-out" on:click=move |_| actions::sign_out(ctx)>
                    "Sign out and discard"
                </button>
            </div>
        </Modal>
    }
}
