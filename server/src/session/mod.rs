//! Sessions: the record the server keeps, the store it lives in, the tokens that point at
//! it, and the service that applies the rules of SPEC §2 to every request.
//!
//! The outside sees this facade (and the stores, `store`, and the cookie, `cookies`, each a
//! facade of its own): one path for every item.

pub mod cookies;
mod devices;
mod local_key;
mod policies;
mod record;
mod secret;
mod service;
pub mod store;
mod token;

pub use devices::{masked_address, Device};
pub use local_key::{LocalKeys, FIRST_KEY_VERSION};
pub use policies::{LimitPolicy, SessionLimit, SessionPolicies, SessionRules};
pub use record::{
    ClientAddress, ClientRequest, ClientSummary, EndReason, GenerationCheck, SessionId,
    SessionRecord, SessionState, Tombstone, ROTATION_GRACE,
};
pub use secret::{JwtSecret, SecretError, SecretSource};
pub use service::{
    end_sessions_of, live_sessions_of, view_of, AuthError, Authenticated, CredentialKind,
    Presented, Refreshed, SessionService,
};
pub use token::{IssuedToken, TokenError, TokenService, TokenSubject};
