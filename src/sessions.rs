//! The sessions a user can see and end, and the account's password (SPEC §8): the endpoints
//! and their payloads, shared by server and browser.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `GET`: the user's live sessions.
pub const SESSIONS_PATH: &str = "/api/sessions";
/// `POST`: sign out everywhere else (step-up).
pub const REVOKE_OTHERS_PATH: &str = "/api/sessions/revoke-others";
/// `POST`: change the password (step-up).
pub const PASSWORD_PATH: &str = "/api/account/password";

/// `DELETE`: end the session with this public id.
pub fn session_path(public_id: &str) -> String {
    format!("{SESSIONS_PATH}/{public_id}")
}

/// One live session as its owner sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// The public id (never the secret one): what `DELETE /api/sessions/{id}` takes.
    pub id: String,
    /// "Firefox 133 on Linux", from the user agent at sign-in.
    pub device: String,
    /// The browser's name and major version; `None` when the user agent does not say.
    pub browser: Option<String>,
    /// The operating system; `None` when the user agent does not say.
    pub os: Option<String>,
    /// The address it signed in from with its last part hidden (`203.0.113.x`).
    pub address: Option<String>,
    /// When it signed in.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Its last activity the server counted.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub last_active_at: OffsetDateTime,
    /// The session of the request that asked.
    pub current: bool,
    /// Signed in with "remember me".
    pub remembered: bool,
}

/// The answer of `GET /api/sessions`: most recently active first, this one included.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    /// Every live session of the user.
    pub sessions: Vec<SessionView>,
}

/// The answer of `DELETE /api/sessions/{id}` and `POST /api/sessions/revoke-others`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsEnded {
    /// How many sessions were ended.
    pub ended: u32,
}

/// The body of `POST /api/account/password`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChange {
    /// The password now in use, checked again before anything changes.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub current_password: String,
    /// 8 to 1024 characters, neither the username nor the current password.
    #[cfg_attr(feature = "openapi", schema(min_length = 8, max_length = 1024))]
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChange { .. }")
    }
}

/// The answer of a password change: how many other sessions it ended.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordChanged {
    /// How many of the user's other sessions were ended; this one stays.
    pub sessions_ended: u32,
}

/// Why a new password is refused, checked the same way in the browser (before sending) and
/// on the server (which decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    TooShort,
    /// More than [`MAX_PASSWORD_CHARS`] characters.
    TooLong,
    /// The username again (ignoring ASCII case and surrounding blanks).
    SameAsUsername,
    /// The current password again.
    SameAsCurrent,
}

/// The fewest characters (not bytes) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters (not bytes) a new password may have.
pub const MAX_PASSWORD_CHARS: usize = 1024;

impl PasswordRule {
    /// The first rule `new` breaks, if any.
    pub fn check(new: &str, username: &str, current: &str) -> Option<Self> {
        let len = new.chars().count();
        if len < MIN_PASSWORD_CHARS {
            Some(Self::TooShort)
        } else if len > MAX_PASSWORD_CHARS {
            Some(Self::TooLong)
        } else if new.trim().eq_ignore_ascii_case(username.trim()) {
            Some(Self::SameAsUsername)
        } else if new == current {
            Some(Self::SameAsCurrent)
        } else {
            None
        }
    }

    /// What to tell the user, as a sentence.
    pub fn message(self) -> String {
        match self {
            Self::TooShort => format!("Use at least {MIN_PASSWORD_CHARS} characters."),
            Self::TooLong => format!("Use at most {MAX_PASSWORD_CHARS} characters."),
            Self::SameAsUsername => "The password cannot be your username.".into(),
            Self::SameAsCurrent => "Choose a password different from the current one.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_name_the_first_broken_one() {
        assert_eq!(
            PasswordRule::check("short", "ada", "x"),
            Some(PasswordRule::TooShort)
        );
        assert_eq!(
            PasswordRule::check("adalovelace", "AdaLovelace", "x"),
            Some(PasswordRule::SameAsUsername)
        );
        assert_eq!(
            PasswordRule::check("the same one", "ada", "the same one"),
            Some(PasswordRule::SameAsCurrent)
        );
        assert_eq!(
            PasswordRule::check(&"x".repeat(1025), "ada", "y"),
            Some(PasswordRule::TooLong)
        );
        assert_eq!(PasswordRule::check("a new secret", "ada", "old one!"), None);
    }

    #[test]
    fn the_password_body_never_shows_in_logs() {
        let body = PasswordChange {
            current_password: "hunter22".into(),
            new_password: "hunter23".into(),
        };
        assert!(!format!("{body:?}").contains("hunter"));
    }
}
