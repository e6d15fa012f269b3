//! One sign-in attempt, as the sign-in page and the timeout modal both send it: below both
//! the actions and the browser's machine, which hands it to the server.

/// One sign-in attempt.
#[derive(Debug)]
pub struct SignIn {
    pub username: String,
    pub password: String,
    pub remember: bool,
    /// Signing in again inside the modal: the account must be this one.
    pub same_user: Option<i64>,
}

impl SignIn {
    /// Asks the server: the session it answers, or the message for the form.
    pub async fn send(self) -> Result<vigil::SessionInfo, String> {
        match crate::api::login(self.username, self.password, self.remember).await {
            Ok(info) if self.same_user.is_none_or(|id| id == info.user.id) => Ok(info),
            Ok(_) => Err("That is a different account.".into()),
            Err(err) => Err(crate::messages::sign_in_error(&err.0)),
        }
    }
}
