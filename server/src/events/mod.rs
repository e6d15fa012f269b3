//! News of sessions for the pages that are open (SPEC §9.3): an ended session reaches every
//! screen of it within seconds, not at its next request.
//!
//! Every write that starts or ends a session is announced ([`AnnouncingStore`], in front of
//! the session store) on a [`NewsChannel`]: in this process with the embedded database,
//! through Redis pub/sub when sessions are kept there, so every instance hears every other.
//! Each instance's [`Hub`] holds its open event streams and tells each one what concerns it.
//!
//! What the channel says is only news: a stream that missed some (Redis was away, another
//! process wrote the database) catches up from the store, which stays the authority. The
//! hub checks its streams' sessions against the store after every gap in the news, and on a
//! timer: every second with the database (where the command line writes beside the server;
//! on SQLite a check of an unchanged session is a read of the shared write marks, on
//! Postgres a query per stream), every [`CHECK_SHARED_EVERY`] with Redis (where news is lost
//! only with the connection, which the hub notices).

mod announcing;
mod channel;
mod hub;

use serde::{Deserialize, Serialize};

pub use announcing::AnnouncingStore;
pub use channel::NewsChannel;
pub use hub::{Hub, Limits, Refused, Subscription};

use crate::session::EndReason;

/// How often the hub checks its streams' sessions against the embedded database.
pub const CHECK_DATABASE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How often it checks them against Redis, whose news it otherwise trusts.
pub const CHECK_SHARED_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// What one process tells the others about one user's sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct News {
    pub user_id: i64,
    /// The session that ended (its public id) and why; `None`: a session started.
    pub ended: Option<(String, EndReason)>,
}
