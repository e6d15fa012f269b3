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
