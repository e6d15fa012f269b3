//! The account page: change the password (step-up). Every other session of the account is
//! signed out by the change; this one stays.

use leptos::prelude::*;
use vigil::client::{AccountAction, AccountMessage};
use vigil::sessions::{PasswordChange, MIN_PASSWORD_CHARS};

use crate::actions;
use crate::components::frame::SignedInFrame;
use crate::pages::sessions::AccountStatus;
use crate::session_context::use_session;

#[component]
pub fn AccountPage() -> impl IntoView {
    let ctx = use_session();
    let current = NodeRef::<leptos::html::Input>::new();
    let new = NodeRef::<leptos::html::Input>::new();
    // A change that went through clears the form.
    Effect::new(move |previous: Option<u32>| {
        let changes = ctx.password_changes.get();
        if previous.is_some_and(|p| p != changes) {
            for field in [current, new] {
                if let Some(el) = field.get_untracked() {
                    el.set_value("");
                }
            }
        }
        changes
    });
    let field_error = move |name: &'static str| {
        move || match ctx.account_message.get() {
            Some(AccountMessage::Failed {
                text,
                field: Some(field),
            }) if field == name => text,
            _ => String::new(),
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = |field: NodeRef<leptos::html::Input>| {
            field
                .get_untracked()
                .map(|el| el.value())
                .unwrap_or_default()
        };
        actions::account(AccountAction::ChangePassword(PasswordChange {
            current_password: value(current),
            new_password: value(new),
        }));
    };
    let name = move || ctx.user.get().map(|u| u.username).unwrap_or_default();
    // Deleting every draft is asked twice: once here, and (unless the sign-in is recent)
    // once more with the password.
    let confirming = RwSignal::new(false);
    let unsubmitted = move || {
        ctx.drafts
            .with(|d| d.iter().filter(|d| d.submitted_ms.is_none()).count())
    };
    view! {
        <SignedInFrame>
            <main class="account-page" id="account-page">
                <h1>"Your account"</h1>
                <p class="page-intro">"Signed in as " <strong>{name}</strong> "."</p>
                <section aria-labelledby="password-heading">
                    <h2 id="password-heading">"Change your password"</h2>
                    <p class="hint" id="password-hint">
                        {format!("At least {MIN_PASSWORD_CHARS} characters, not your username. ")}
                        "Changing it signs out every other device; this one stays signed in."
                    </p>
                    <AccountStatus/>
                    <form class="password-form" on:submit=submit novalidate>
                        <label for="current-password">"Current password"</label>
                        <input id="current-password" type="password" autocomplete="current-password"
                            aria-describedby="current-password-error" node_ref=current/>
                        <p class="form-error" id="current-password-error">{field_error("current_password")}</p>
                        <label for="new-password">"New password"</label>
                        <input id="new-password" type="password" autocomplete="new-password"
                            aria-describedby="password-hint new-password-error" node_ref=new/>
                        <p class="form-error" id="new-password-error">{field_error("new_password")}</p>
                        <button type="submit" class="button primary" id="change-password"
                            disabled=move || ctx.account_busy.get()>
                            {move || if ctx.account_busy.get() { "Changing…" } else { "Change password" }}
                        </button>
                    </form>
                </section>
                <section aria-labelledby="delete-heading" class="danger-zone">
                    <h2 id="delete-heading">"Delete all drafts"</h2>
                    <p class="hint">
                        "Deletes every draft that is not submitted, here and in your account. "
                        "Submitted drafts stay. This cannot be undone."
                    </p>
                    <Show
                        when=move || confirming.get()
                        fallback=move || view! {
                            <button type="button" class="button danger" id="delete-all-drafts"
                                disabled=move || ctx.account_busy.get()
                                on:click=move |_| confirming.set(true)>
                                "Delete all drafts…"
                            </button>
                        }
                    >
                        <p class="confirm-question" id="delete-question">
                            {move || match unsubmitted() {
                                1 => "Delete your 1 draft that is not submitted?".to_owned(),
                                n => format!("Delete your {n} drafts that are not submitted?"),
                            }}
                        </p>
                        <div class="modal-actions">
                            <button type="button" class="button danger" id="confirm-delete-all"
                                aria-describedby="delete-question"
                                on:click=move |_| {
                                    confirming.set(false);
                                    actions::account(AccountAction::DeleteAllDrafts);
                                }>
                                "Delete them"
                            </button>
                            <button type="button" class="button" id="keep-drafts"
                                on:click=move |_| confirming.set(false)>
                                "Keep them"
                            </button>
                        </div>
                    </Show>
                </section>
            </main>
        </SignedInFrame>
    }
}
