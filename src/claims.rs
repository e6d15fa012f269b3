//! The access token's claims, as [`crate::token`] reads them and the server's token service
//! writes them; shared so tests and tools can read tokens they were given.

use serde::{Deserialize, Serialize};

/// The `typ` claim of an access token, so no other token kind can stand in for one.
pub const ACCESS_TOKEN_TYPE: &str = "access";

/// What an access token asserts: whose session it is, which generation, and its time window.
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
    /// Issued at, Unix seconds; refused if later than now plus the leeway.
    pub iat: i64,
    /// Not before, Unix seconds (the issue instant); refused if later than now plus the leeway.
    pub nbf: i64,
    /// Expires at, Unix seconds; past it (plus the leeway) the token is expired, not invalid.
    pub exp: i64,
    /// Issuer; must match the server's configured issuer.
    pub iss: String,
    /// Audience; must match the server's configured audience.
    pub aud: String,
    /// Token kind; must be [`ACCESS_TOKEN_TYPE`].
    pub typ: String,
    /// Hash of the client fingerprint given at sign-in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fph: Option<String>,
}
