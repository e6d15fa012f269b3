//! Deletes session records whose retention has passed, continuously, and keeps going
//! through transient store errors.

use std::time::Duration;

use crate::session_store::SharedSessionStore;

pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

pub fn spawn(store: SharedSessionStore, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(err) = store.delete_expired().await {
                tracing::warn!(error = %err, "sweeping expired sessions failed; will retry");
            }
        }
    })
}
