//! Domain errors become problems here, at the HTTP edge, and nowhere else: the session
//! service answers `AuthError`, never a `Problem`.

use vigil::{ErrorCode, Problem};

use super::ApiProblem;
use crate::identity::throttle::{Refusal, RetryAfter};
use crate::identity::users::UserError;
use crate::passkeys::PasskeyError;
use crate::session::AuthError;
use crate::work::WorkError;

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
            AuthError::Revoked(because) => Problem::session_revoked(*because),
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
    Problem::new(
        ErrorCode::StoreUnavailable,
        "The session store cannot be reached right now.",
    )
    .with_retry_after(STORE_RETRY_AFTER_SECS)
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Self {
        Self::from(&err)
    }
}

impl From<AuthError> for ApiProblem {
    fn from(err: AuthError) -> Self {
        match &err {
            AuthError::Store(e) => {
                ApiProblem::caused_by(Problem::from(&err), format!("session store: {e}"))
            }
            _ => Problem::from(err).into(),
        }
    }
}

impl From<WorkError> for ApiProblem {
    fn from(err: WorkError) -> Self {
        match err {
            WorkError::Store(e) => {
                ApiProblem::caused_by(store_unavailable(), format!("work store: {e}"))
            }
            WorkError::Corrupt(e) => ApiProblem::caused_by(
                Problem::new(ErrorCode::InternalError, "Stored work could not be read."),
                format!("stored work could not be read: {e}"),
            ),
            WorkError::KeyReused => Problem::invalid_field(
                "Idempotency-Key",
                "This Idempotency-Key was already used for a different request; use a new key \
                 for a new change.",
            )
            .into(),
        }
    }
}

impl From<UserError> for ApiProblem {
    fn from(err: UserError) -> Self {
        let problem = match &err {
            UserError::Busy => Problem::new(
                ErrorCode::Overloaded,
                "Too many sign-ins are being checked right now. Try again in a moment.",
            )
            .with_retry_after(1),
            UserError::Database(_) => store_unavailable(),
            _ => Problem::new(
                ErrorCode::InternalError,
                "The account could not be checked.",
            ),
        };
        ApiProblem::caused_by(problem, format!("user store: {err}"))
    }
}

impl From<PasskeyError> for ApiProblem {
    fn from(err: PasskeyError) -> Self {
        match err {
            PasskeyError::CeremonyExpired => Problem::new(
                ErrorCode::PasskeyCeremonyExpired,
                "This passkey request is unknown, was already answered, or is older than five \
                 minutes. Ask for new options.",
            )
            .into(),
            PasskeyError::Malformed(why) => Problem::invalid_field(
                "credential",
                format!("The credential is not WebAuthn's PublicKeyCredential JSON: {why}"),
            )
            .into(),
            PasskeyError::Rejected(why) => ApiProblem::caused_by(
                Problem::new(
                    ErrorCode::PasskeyRejected,
                    "The passkey was not accepted. Try again, or use your password.",
                ),
                format!("passkey refused: {why}"),
            ),
            PasskeyError::Unverified(why) => Problem::invalid_field(
                "credential",
                format!("The new passkey could not be verified: {why}"),
            )
            .into(),
            PasskeyError::Exists => Problem::new(
                ErrorCode::PasskeyExists,
                "This passkey is already registered. A passkey belongs to one account.",
            )
            .into(),
            PasskeyError::TooMany(_) => Problem::invalid_field(
                "passkeys",
                format!(
                    "An account holds at most {} passkeys. Remove one before adding another.",
                    vigil::passkeys::MAX_PASSKEYS
                ),
            )
            .into(),
            PasskeyError::Store(e) => {
                ApiProblem::caused_by(store_unavailable(), format!("passkey store: {e}"))
            }
            PasskeyError::Options(why) => ApiProblem::caused_by(
                Problem::new(
                    ErrorCode::InternalError,
                    "Passkey options could not be made.",
                ),
                format!("passkey options: {why}"),
            ),
        }
    }
}

/// The answer to a password check the sign-in limits refused: `429` with `Retry-After`, or
/// `503` when the limits cannot be read (fail closed). Sign-ins and the current password of a
/// password change share the limits, and so this answer; `detail` says which it was.
pub fn refusal(refusal: Refusal, detail: &str) -> ApiProblem {
    match refusal {
        Refusal::Wait(RetryAfter(seconds)) => Problem::new(ErrorCode::RateLimited, detail)
            .with_retry_after(seconds)
            .into(),
        Refusal::Unavailable(err) => {
            ApiProblem::caused_by(store_unavailable(), format!("the sign-in limits: {err}"))
        }
    }
}
