//! Passkeys (SPEC §9.2): the endpoints and their payloads, shared by server and browser.
//!
//! A WebAuthn ceremony is two requests: the options (a challenge the server keeps for five
//! minutes under a `ceremony` id, used once), then the authenticator's answer to them. The
//! options and the answer are WebAuthn's own JSON (`PublicKeyCredentialCreationOptions` /
//! `…RequestOptions` wrapped in `publicKey`, and `PublicKeyCredential`), carried here as they
//! are: the browser hands them to `navigator.credentials` and back without reading them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// `POST`: a challenge to sign in with a passkey (usernameless: any of the user's passkeys).
pub const SIGN_IN_OPTIONS_PATH: &str = "/api/auth/passkey/options";
/// `POST`: sign in with the authenticator's answer.
pub const SIGN_IN_PATH: &str = "/api/auth/passkey";
/// `GET`: the user's passkeys; `POST`: register one (step-up).
pub const PASSKEYS_PATH: &str = "/api/account/passkeys";
/// `POST`: a challenge to register a passkey (step-up).
pub const REGISTRATION_OPTIONS_PATH: &str = "/api/account/passkeys/options";

/// `DELETE`: remove the passkey with this id (step-up).
pub fn passkey_path(id: &str) -> String {
    format!("{PASSKEYS_PATH}/{id}")
}

/// The most passkeys one account may hold (each is offered to every registration, and a
/// script with a confirmed session could otherwise add them without end).
pub const MAX_PASSKEYS: usize = 20;

/// The longest name a passkey may be given, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The answer of both options endpoints: what to hand to `navigator.credentials`, and the
/// ceremony its answer must name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyChallenge {
    /// Names this ceremony when it is finished; valid for five minutes, once.
    pub ceremony: String,
    /// WebAuthn's options, `{"publicKey": {…}}` (and `mediation` for sign-in).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub options: serde_json::Value,
}

/// The body of `POST /api/auth/passkey`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeySignIn {
    /// The `ceremony` of the options this answers.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub ceremony: String,
    /// WebAuthn's `PublicKeyCredential` (an assertion), as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
    /// Keep the browser signed in after it closes (as `remember` of a password sign-in).
    #[serde(default)]
    pub remember: bool,
    /// Answer with a bearer token (as `/api/auth/token`) instead of setting the cookie.
    #[serde(default)]
    pub token: bool,
    /// The user the client expects (the timeout modal names one): a passkey of anyone
    /// else is refused, so signing in again in place never changes who is signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// The body of `POST /api/account/passkeys`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRegistration {
    /// The `ceremony` of the options this answers.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub ceremony: String,
    /// What the user calls it ("Laptop", "Phone"): 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// WebAuthn's `PublicKeyCredential` (an attestation), as JSON.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub credential: serde_json::Value,
}

/// One passkey as its owner sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyView {
    /// What `DELETE /api/account/passkeys/{id}` takes (the credential id, base64url).
    pub id: String,
    /// What the user called it.
    pub name: String,
    /// When it was registered.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last sign-in with it; `None` if it was never used.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339::option", default)]
    pub last_used_at: Option<OffsetDateTime>,
    /// The authenticator copies it elsewhere (a synced passkey), as it last said.
    pub backed_up: bool,
}

/// The answer of `GET /api/account/passkeys`, newest first.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyList {
    /// Every passkey of the user.
    pub passkeys: Vec<PasskeyView>,
}

/// Why a passkey name is refused, if it is.
pub fn name_problem(name: &str) -> Option<&'static str> {
    let trimmed = name.trim();
    if trimmed.is_empty() {
        Some("Give the passkey a name, like “Laptop”.")
    } else if trimmed.chars().count() > MAX_NAME_CHARS {
        Some("A passkey's name is at most 64 characters.")
    } else if trimmed.chars().any(char::is_control) {
        Some("A passkey's name cannot hold control characters.")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_visible_text() {
        assert_eq!(name_problem("Laptop"), None);
        assert_eq!(name_problem("  Phone  "), None);
        assert!(name_problem("   ").is_some());
        assert!(name_problem(&"x".repeat(65)).is_some());
        assert_eq!(name_problem(&"é".repeat(64)), None);
        assert!(name_problem("a\u{0}b").is_some());
    }

    #[test]
    fn a_view_round_trips_with_and_without_a_last_use() {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
        for last_used_at in [None, Some(at)] {
            let view = PasskeyView {
                id: "AbC".into(),
                name: "Laptop".into(),
                created_at: at,
                last_used_at,
                backed_up: true,
            };
            let json = serde_json::to_string(&view).expect("json");
            assert_eq!(serde_json::from_str::<PasskeyView>(&json).ok(), Some(view));
        }
    }
}
