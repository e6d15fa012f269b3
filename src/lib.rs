//! Vigil core: the rules of an inactivity timeout, free of any framework or I/O.
//!
//! Both the browser (wasm32) and the server compile this crate, so the warning point, the
//! expiry reasons and the wire types can never drift apart between the two sides.

#![warn(missing_docs)]

pub mod admin;
pub mod boot;
pub mod claims;
pub mod client;
pub mod clock;
pub mod events;
pub mod heartbeat;
pub mod passkeys;
pub mod phase;
pub mod policy;
pub mod preserved;
pub mod problem;
pub mod return_path;
pub mod session_info;
pub mod sessions;
pub mod timestamp;
pub mod token;
pub mod work;

pub use clock::{Clock, ManualClock, SystemClock};
pub use phase::{Deadlines, ExpiryReason, Phase};
pub use policy::{PolicyError, TimeoutPolicy};
pub use problem::{ErrorCode, Problem};
pub use session_info::{PolicyInfo, Role, SessionInfo, TokenResponse, UserSummary};
