//! What administrators see and do (SPEC §9.3): accounts with their live sessions, ending
//! one or all of an account's sessions, disabling and enabling an account. The endpoints
//! and their payloads, shared by server and browser.
//!
//! Only an account whose role is `admin` now (read again at each request, not as it was at
//! sign-in) gets answers; anyone else is told there is no such endpoint (`404 not_found`),
//! so the administrators' surface is not shown to those who cannot use it. Every change is
//! behind step-up, like the user's own sensitive actions.

use serde::{Deserialize, Serialize};

use crate::sessions::SessionView;
use crate::Role;

/// `GET`: accounts and their live sessions (`?q=` narrows to usernames containing it).
pub const ADMIN_USERS_PATH: &str = "/api/admin/users";
/// At most this many accounts in one answer, in username order; `more` says there are others.
pub const ADMIN_LIST_LIMIT: usize = 100;
/// The longest `q` taken (a username is at most 64 characters).
pub const MAX_QUERY_LEN: usize = 64;

/// `GET` with a search: the accounts whose username contains `query`.
pub fn users_path(query: &str) -> String {
    match query.trim() {
        "" => ADMIN_USERS_PATH.to_owned(),
        query => format!("{ADMIN_USERS_PATH}?q={}", encoded(query)),
    }
}

/// `DELETE`: every live session of the account.
pub fn user_sessions_path(username: &str) -> String {
    format!("{ADMIN_USERS_PATH}/{}/sessions", encoded(username))
}

/// `DELETE`: one live session of the account, by its public id.
pub fn user_session_path(username: &str, public_id: &str) -> String {
    format!("{}/{}", user_sessions_path(username), encoded(public_id))
}

/// `POST`: disable the account (`true`) or enable it again.
pub fn user_access_path(username: &str, disable: bool) -> String {
    let verb = if disable { "disable" } else { "enable" };
    format!("{ADMIN_USERS_PATH}/{}/{verb}", encoded(username))
}

/// Percent-encoded but for RFC 3986's unreserved characters (usernames may be any letters).
fn encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One account as an administrator sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    /// The name it signs in with.
    pub username: String,
    /// The name it is shown with.
    pub display_name: String,
    /// `admin` or `user`.
    pub role: Role,
    /// Disabled: it cannot sign in, and has no live sessions.
    pub disabled: bool,
    /// Its live sessions, most recently active first, as its owner sees them on
    /// `/sessions` (`current` marks the administrator's own).
    pub sessions: Vec<SessionView>,
}

/// The answer of `GET /api/admin/users`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUserList {
    /// In username order, at most [`ADMIN_LIST_LIMIT`].
    pub users: Vec<AdminUser>,
    /// More accounts match than were listed: narrow the search.
    pub more: bool,
}

/// The answer of disabling or enabling an account.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessChanged {
    /// The account.
    pub username: String,
    /// The account's state now.
    pub disabled: bool,
    /// How many of its sessions this ended (disabling ends them all).
    pub sessions_ended: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_is_percent_encoded_and_an_empty_one_is_left_out() {
        assert_eq!(users_path("  "), "/api/admin/users");
        assert_eq!(users_path("gra"), "/api/admin/users?q=gra");
        assert_eq!(users_path("a b&c"), "/api/admin/users?q=a%20b%26c");
        assert_eq!(
            user_access_path("grace", true),
            "/api/admin/users/grace/disable"
        );
        assert_eq!(
            user_session_path("grace", "abc"),
            "/api/admin/users/grace/sessions/abc"
        );
        assert_eq!(
            user_sessions_path("zoë"),
            "/api/admin/users/zo%C3%AB/sessions"
        );
    }
}
