//! The in-place sign-in both dialogs use — after a timeout, and to confirm a sensitive
//! action: "Continue as …", the password (focused at once, and again after a failure) or
//! "Use a passkey", one attempt at a time, and the dialog's own second button. The user is
//! named, never asked for (WCAG 2.2 3.3.7/3.3.8): a hidden username field tells password
//! managers whose password to fill, and a failed attempt keeps whatever was typed but the
//! password.

use leptos::prelude::*;
use vigil::UserSummary;

use crate::actions::{self, SignInForm};
use crate::session_context::use_session;

#[component]
pub fn ReauthForm(
    /// The password field's id.
    input_id: &'static str,
    /// The submit button's id and its labels, at rest and while signing in.
    submit_id: &'static str,
    submit_label: &'static str,
    pending_label: &'static str,
    /// The dialog's other button.
    children: Children,
) -> impl IntoView {
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
    let name = move || {
        ctx.user
            .with(|u| u.as_ref().map(|u| u.display_name.clone()))
    };
    let aside = move || ctx.user.with(|u| u.as_ref().and_then(username_aside));
    let refocus = move |succeeded: bool| {
        if !succeeded {
            if let Some(el) = input.get_untracked() {
                let _ = el.focus();
            }
        }
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        form.submit(
            actions::sign_in_again(ctx, Some(password.get_untracked())),
            refocus,
        );
    };
    // The passkey is asked for when the button is pressed: nothing here expires meanwhile.
    let use_passkey = move |_| form.submit(actions::sign_in_again(ctx, None), |_| {});
    let username = move || ctx.user.with(|u| u.as_ref().map(|u| u.username.clone()));
    let passkey_id = format!("{submit_id}-passkey");
    view! {
        <form class="reauth-form" on:submit=submit>
            <p class="reauth-user">
                "Continue as " <strong>{name}</strong> {aside}
            </p>
            <input type="text" name="username" autocomplete="username" class="visually-hidden"
                tabindex="-1" aria-hidden="true" readonly prop:value=username/>
            <label for=input_id>"Password"</label>
            <input
                id=input_id
                type="password"
                autocomplete="current-password"
                node_ref=input
                prop:value=move || password.get()
                on:input=move |ev| password.set(event_target_value(&ev))
            />
            <p class="form-error" role="alert">{move || error.get()}</p>
            <div class="modal-actions">
                <button type="submit" class="button primary" id=submit_id disabled=move || pending.get()>
                    {move || if pending.get() { pending_label } else { submit_label }}
                </button>
                <button type="button" class="button" id=passkey_id disabled=move || pending.get()
                    on:click=use_passkey>
                    "Use a passkey"
                </button>
                {children()}
            </div>
        </form>
    }
}

/// " (ada)" after the display name, which says whose password is asked for, unless the
/// display name already is the username.
fn username_aside(user: &UserSummary) -> Option<String> {
    (user.display_name != user.username).then(|| format!(" ({})", user.username))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(username: &str, display_name: &str) -> UserSummary {
        UserSummary {
            id: 1,
            username: username.into(),
            display_name: display_name.into(),
            role: Default::default(),
        }
    }

    #[test]
    fn the_username_is_named_once() {
        assert_eq!(
            username_aside(&user("ada", "Ada Lovelace")).as_deref(),
            Some(" (ada)")
        );
        assert_eq!(username_aside(&user("alice", "alice")), None);
    }
}
