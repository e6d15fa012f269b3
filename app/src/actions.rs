//! What the user can ask of the session. In the browser these go to the controller; during
//! server rendering there is nothing to do.

use leptos::prelude::*;

use crate::session_context::SessionContext;

/// "Stay signed in": extend the session now.
pub fn stay_signed_in() {
    #[cfg(feature = "hydrate")]
    crate::browser::controller::extend();
}

/// "Sign out": asks first when unsent drafts would be discarded.
pub fn request_sign_out(ctx: SessionContext) {
    if ctx.workspace.with_untracked(|w| w.unsent_drafts()) > 0 {
        ctx.confirm_sign_out.set(true);
    } else {
        sign_out(ctx);
    }
}

/// Signs out and discards this user's preserved work.
pub fn sign_out(ctx: SessionContext) {
    ctx.confirm_sign_out.set(false);
    #[cfg(feature = "hydrate")]
    crate::browser::controller::sign_out();
}

/// Signs in from the sign-in page. Resolves to an error message for the form.
pub async fn sign_in(username: String, password: String) -> Result<(), String> {
    let result = crate::api::login(username, password).await;
    match result {
        Ok(_info) => {
            #[cfg(feature = "hydrate")]
            crate::browser::controller::adopt(_info);
            Ok(())
        }
        Err(err) => Err(crate::messages::sign_in_error(&err.0)),
    }
}

/// Signs in again inside the timeout modal, as the same user.
pub async fn sign_in_again(password: String) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        crate::browser::controller::sign_in_again(password).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = password;
        Err("Signing in needs JavaScript.".to_owned())
    }
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
