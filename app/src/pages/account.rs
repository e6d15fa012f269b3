//! The account page: the account's passkeys (adding and removing them is step-up), change
//! the password (step-up; every other session of the account is signed out by the change,
//! this one stays), delete every draft.

use leptos::prelude::*;
use vigil::client::{AccountAction, AccountMessage};
use vigil::sessions::{PasswordChange, MIN_PASSWORD_CHARS};

use crate::actions;
use crate::components::frame::SignedInFrame;
use crate::pages::sessions::{time_label, AccountStatus};
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
                <AccountStatus/>
                <Passkeys/>
                <section aria-labelledby="password-heading">
                    <h2 id="password-heading">"Change your password"</h2>
                    <p class="hint" id="password-hint">
                        {format!("At least {MIN_PASSWORD_CHARS} characters, not your username. ")}
                        "Changing it signs out every other device; this one stays signed in."
                    </p>
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

/// The account's passkeys: each with when it was added and last used, a way to remove it,
/// and a named one to add. The browser asks for the passkey when "Add" is pressed.
#[component]
fn Passkeys() -> impl IntoView {
    let ctx = use_session();
    Effect::new(move |_| {
        if ctx.phase.get().is_signed_in() && ctx.passkeys.with(Option::is_none) {
            actions::account(AccountAction::LoadPasskeys);
        }
    });
    let name = NodeRef::<leptos::html::Input>::new();
    let name_error = move || match ctx.account_message.get() {
        Some(AccountMessage::Failed {
            text,
            field: Some(field),
        }) if field == "passkey_name" => text,
        _ => String::new(),
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = name
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        actions::account(AccountAction::AddPasskey { name });
    };
    // A passkey that was added clears the name.
    Effect::new(move |previous: Option<usize>| {
        let count = ctx.passkeys.with(|p| p.as_ref().map_or(0, Vec::len));
        if previous.is_some_and(|p| count > p) {
            if let Some(el) = name.get_untracked() {
                el.set_value("");
            }
        }
        count
    });
    let rows = move || {
        ctx.passkeys.get().unwrap_or_default().into_iter().map(|passkey| {
            let id = passkey.id.clone();
            let used = passkey
                .last_used_at
                .map_or_else(|| "Not used yet".to_owned(), |at| format!("Last used {}", time_label(at)));
            let label = format!("Remove the passkey “{}”", passkey.name);
            view! {
                <li class="passkey-row">
                    <div>
                        <strong class="passkey-name">{passkey.name.clone()}</strong>
                        <p class="hint">
                            {format!("Added {}", time_label(passkey.created_at))} " · " {used}
                            {passkey.backed_up.then_some(" · Synced")}
                        </p>
                    </div>
                    <button type="button" class="button" aria-label=label
                        disabled=move || ctx.account_busy.get()
                        on:click=move |_| actions::account(AccountAction::RemovePasskey { id: id.clone() })>
                        "Remove"
                    </button>
                </li>
            }
        }).collect_view()
    };
    let none = move || ctx.passkeys.with(|p| p.as_ref().is_some_and(Vec::is_empty));
    view! {
        <section aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            <p class="hint" id="passkeys-hint">
                "Sign in with your fingerprint, face or device PIN instead of your password, "
                "here and when your session times out. Adding or removing one asks who you are first."
            </p>
            <p class="hint" hidden=move || !none()>"You have no passkeys yet."</p>
            <ul class="passkey-list" id="passkey-list">{rows}</ul>
            <form class="passkey-form" on:submit=add novalidate>
                <label for="passkey-name">"Name of the new passkey"</label>
                <input id="passkey-name" type="text" maxlength="64" placeholder="Laptop"
                    aria-describedby="passkeys-hint passkey-name-error" node_ref=name/>
                <p class="form-error" id="passkey-name-error">{name_error}</p>
                <button type="submit" class="button primary" id="add-passkey"
                    disabled=move || ctx.account_busy.get()>
                    "Add a passkey"
                </button>
            </form>
        </section>
    }
}
