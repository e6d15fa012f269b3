//! One sign-in attempt, as the sign-in page and the timeout modal both send it: below both
//! the actions and the browser's machine, which hands it to the server.

/// How the user proves who they are.
#[derive(Debug)]
pub enum Proof {
    Password(String),
    /// A passkey, through the browser's own prompt (or, `autofill`, among the username
    /// field's suggestions).
    Passkey {
        autofill: bool,
    },
}

/// One sign-in attempt.
#[derive(Debug)]
pub struct SignIn {
    /// Who signs in; empty for a passkey on the sign-in page (the passkey says who).
    pub username: String,
    pub proof: Proof,
    pub remember: bool,
    /// Signing in again inside the modal: the account must be this one.
    pub same_user: Option<i64>,
}

impl SignIn {
    /// Asks the server: the session it answers, or the message for the form.
    pub async fn send(self) -> Result<vigil::SessionInfo, String> {
        let answer = match self.proof {
            Proof::Password(password) => crate::api::login(self.username, password, self.remember)
                .await
                .map_err(|err| crate::messages::sign_in_error(&err.0)),
            Proof::Passkey { autofill } => passkey(self.username, self.remember, autofill).await,
        };
        match answer {
            Ok(info) if self.same_user.is_none_or(|id| id == info.user.id) => Ok(info),
            Ok(_) => Err("That is a different account.".into()),
            Err(message) => Err(message),
        }
    }
}

/// A passkey ceremony, in the browser (the server renders no sign-in).
async fn passkey(
    username: String,
    remember: bool,
    autofill: bool,
) -> Result<vigil::SessionInfo, String> {
    #[cfg(feature = "hydrate")]
    return crate::browser::passkeys::sign_in(
        vigil::client::passkey::Purpose {
            expected: (!username.is_empty()).then_some(username),
            remember,
        },
        autofill,
    )
    .await;
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (username, remember, autofill);
        Err("Sign in from the browser.".into())
    }
}
