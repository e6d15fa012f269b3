//! Sessions: the record the server keeps, the store it lives in, the tokens that point at
//! it, and the service that applies the rules of SPEC §2 to every request.

pub mod cookies;
pub mod devices;
pub mod local_key;
pub mod policies;
pub mod record;
pub mod secret;
pub mod service;
pub mod store;
pub mod token;

pub use record::{
    ClientAddress, ClientRequest, ClientSummary, EndReason, GenerationCheck, SessionId,
    SessionRecord, SessionState, Tombstone, ROTATION_GRACE,
};
pub use service::{AuthError, Authenticated, CredentialKind, SessionService};
pub use store::{Replaced, SessionStore, SharedSessionStore, StoreError};
