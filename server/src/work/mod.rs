//! The user's work in the account: drafts and settings, changed once per idempotency key.

mod store;

pub use store::{Applied, Cursor, Operation, Outcome, WorkError, WorkStore, CURSOR_PATTERN};
