//! Words shown to people for problems the server returned.

use vigil::{ErrorCode, Problem};

pub fn sign_in_error(problem: &Problem) -> String {
    match problem.error_code {
        ErrorCode::InvalidCredentials => {
            "That username and password do not match. Check them and try again.".into()
        }
        ErrorCode::ValidationFailed => match problem.field.as_deref() {
            Some("username") => "Enter your username.".into(),
            Some("password") => "Enter your password.".into(),
            _ => "Check the form and try again.".into(),
        },
        ErrorCode::RateLimited => "Too many attempts. Wait a moment, then try again.".into(),
        ErrorCode::SessionLimitReached => {
            "This account is already signed in on as many devices as allowed. Sign out on one \
             of them (its Sessions page lists them all), then sign in here again."
                .into()
        }
        ErrorCode::NetworkError => {
            "Vigil cannot be reached. Check your connection and try again.".into()
        }
        ErrorCode::StoreUnavailable => {
            "Signing in is briefly unavailable. Try again in a few seconds.".into()
        }
        _ => format!("Signing in failed: {}", problem.title),
    }
}
