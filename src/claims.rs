//! The access token's claims, as [`crate::token`] reads them and the server's token service
//! writes them; shared so tests and tools can read tokens they were given.

use serde::{Deserialize, Serialize};

/// The `typ` claim of an access token, so no other token kind can stand in for one.
pub const ACCESS_TOKEN_TYPE: &str = "access";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The session id (the store key).
    pub sid: String,
    /// The token's own id.
    pub jti: String,
    /// The session's token generation when this token was issued.
    pub gen: u64,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    pub typ: String,
    /// Hash of the client fingerprint given at sign-in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fph: Option<String>,
}
