//! Domain errors become problems here, at the HTTP edge, and nowhere else: the session
//! service answers `AuthError`, never a `Problem`.

use vigil::{ErrorCode, Problem};

use crate::session::AuthError;

impl From<&AuthError> for Problem {
    fn from(err: &AuthError) -> Self {
        match err {
            AuthError::Unauthenticated => Problem::new(
                ErrorCode::Unauthenticated,
                "Sign in, or send a bearer token in the Authorization header.",
            ),
            AuthError::Invalid => Problem::new(
                ErrorCode::SessionInvalid,
                "The presented credentials could not be verified.",
            ),
            AuthError::Expired(reason, limit) => Problem::session_expired(*reason, *limit),
            AuthError::TokenExpired => Problem::new(
                ErrorCode::TokenExpired,
                "The access token expired; refresh it and retry the request once.",
            ),
            AuthError::Revoked => {
                Problem::new(ErrorCode::SessionRevoked, "This session has been ended.")
            }
            AuthError::NotFound => Problem::new(
                ErrorCode::SessionNotFound,
                "There is no record of this session.",
            ),
            AuthError::Store(_) | AuthError::Contended => store_unavailable(),
            AuthError::Signing => {
                Problem::new(ErrorCode::InternalError, "The token could not be signed.")
            }
            AuthError::LimitReached => Problem::new(
                ErrorCode::SessionLimitReached,
                "This account is signed in on as many devices as allowed. Sign out on one of \
                 them first.",
            ),
            AuthError::ReauthenticationRequired => Problem::new(
                ErrorCode::ReauthenticationRequired,
                "Enter your password again to confirm this action.",
            ),
        }
    }
}

/// Seconds a client should wait before retrying when the store is down.
pub const STORE_RETRY_AFTER_SECS: u64 = 5;

pub fn store_unavailable() -> Problem {
    let mut problem = Problem::new(
        ErrorCode::StoreUnavailable,
        "The session store cannot be reached right now.",
    );
    problem.retry_after = Some(STORE_RETRY_AFTER_SECS);
    problem
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Self {
        Self::from(&err)
    }
}
