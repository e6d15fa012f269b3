//! What the user can ask of the session and the work. In the browser each becomes an event
//! of the machine; during server rendering there is nothing to do.

use leptos::prelude::*;
use vigil::client::{Resolution, UserAction};
use vigil::work::{DraftInput, Preferences};

use crate::session_context::SessionContext;
use crate::sign_in::{Proof, SignIn};

fn act(action: UserAction) {
    // Through the loader: no page refers to the machine's code, which stays in its chunk.
    #[cfg(feature = "hydrate")]
    crate::browser::loader::user(action);
    #[cfg(not(feature = "hydrate"))]
    let _ = action;
}

/// "Stay signed in": extend the session now.
pub fn stay_signed_in() {
    act(UserAction::StaySignedIn);
}

/// "Sign out": asks first when changes the account does not have would be discarded.
pub fn request_sign_out(ctx: SessionContext) {
    if ctx.waiting.get_untracked() > 0 {
        ctx.confirm_sign_out.set(true);
    } else {
        sign_out(ctx);
    }
}

/// Signs out; the local copy is discarded once the server has confirmed it.
pub fn sign_out(ctx: SessionContext) {
    ctx.confirm_sign_out.set(false);
    act(UserAction::SignOut);
}

/// A new, empty draft, opened in the editor.
pub fn new_draft() {
    act(UserAction::NewDraft { id: new_draft_id() });
}

fn new_draft_id() -> String {
    #[cfg(feature = "hydrate")]
    return crate::browser::crypto::random_uuid();
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

pub fn edit(id: String, input: DraftInput) {
    act(UserAction::Edit { id, input });
}

pub fn select(id: String) {
    act(UserAction::Select { id });
}

pub fn delete(id: String) {
    act(UserAction::Delete { id });
}

pub fn submit(id: String) {
    act(UserAction::Submit { id });
}

pub fn change_settings(settings: Preferences) {
    act(UserAction::ChangeSettings(settings));
}

/// After a conflict: keep mine, keep theirs, or keep both (mine as a new draft).
pub fn resolve(id: String, choice: Choice) {
    let resolution = match choice {
        Choice::Mine => Resolution::KeepMine,
        Choice::Theirs => Resolution::KeepTheirs,
        Choice::Both => Resolution::KeepBoth {
            new_id: new_draft_id(),
        },
    };
    act(UserAction::Resolve { id, resolution });
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Mine,
    Theirs,
    Both,
}

/// Something about the account: its sessions, its password.
pub fn account(action: vigil::client::AccountAction) {
    act(UserAction::Account(action));
}

/// Leaving a field: save now rather than after the pause.
pub fn flush() {
    act(UserAction::Flush);
}

/// Signs in from the sign-in page. Resolves to an error message for the form, or once the
/// session machine has the new session.
pub async fn sign_in(
    ctx: SessionContext,
    username: String,
    password: String,
    remember: bool,
) -> Result<(), String> {
    let attempt = SignIn {
        username,
        proof: Proof::Password(password),
        remember,
        same_user: None,
    };
    hand_to_machine(ctx, attempt).await
}

/// Signs in from the sign-in page with a passkey: the passkey says who. With `autofill`,
/// once the user picks one among the username field's suggestions (an empty message: none
/// was picked, nothing to say).
pub async fn sign_in_with_passkey(
    ctx: SessionContext,
    remember: bool,
    autofill: bool,
) -> Result<(), String> {
    let attempt = SignIn {
        username: String::new(),
        proof: Proof::Passkey { autofill },
        remember,
        same_user: None,
    };
    hand_to_machine(ctx, attempt).await
}

/// Signs in again inside the timeout modal (or to confirm an action), as the same user,
/// with the password or (`None`) a passkey of theirs.
pub async fn sign_in_again(ctx: SessionContext, password: Option<String>) -> Result<(), String> {
    let Some(user) = ctx.user.get_untracked() else {
        return Err("Sign in from the sign-in page.".into());
    };
    let attempt = SignIn {
        username: user.username,
        proof: password.map_or(Proof::Passkey { autofill: false }, Proof::Password),
        remember: false,
        same_user: Some(user.id),
    };
    hand_to_machine(ctx, attempt).await
}

/// The session machine sends the sign-in and takes in its session (`browser::loader`: its
/// code may still have to arrive). Never called during server rendering.
async fn hand_to_machine(_ctx: SessionContext, _attempt: SignIn) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    return crate::browser::loader::sign_in(_ctx, _attempt).await;
    #[cfg(not(feature = "hydrate"))]
    Err("Sign in from the browser.".into())
}

/// The state both sign-in forms share: the password field, one attempt at a time, and the
/// message of the last failure.
#[derive(Debug, Clone, Copy)]
pub struct SignInForm {
    pub password: RwSignal<String>,
    pub pending: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
}

impl SignInForm {
    pub fn new() -> Self {
        Self {
            password: RwSignal::new(String::new()),
            pending: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    /// Runs `attempt` unless one is under way. On success the password is cleared; either
    /// way `done` learns whether it succeeded.
    pub fn submit<F>(self, attempt: F, done: impl FnOnce(bool) + 'static)
    where
        F: std::future::Future<Output = Result<(), String>> + 'static,
    {
        if self.pending.get_untracked() {
            return;
        }
        self.pending.set(true);
        self.error.set(None);
        leptos::task::spawn_local(async move {
            let result = attempt.await;
            self.pending.set(false);
            let succeeded = result.is_ok();
            match result {
                Ok(()) => self.password.set(String::new()),
                Err(message) => self.error.set(Some(message)),
            }
            done(succeeded);
        });
    }
}

impl Default for SignInForm {
    fn default() -> Self {
        Self::new()
    }
}
