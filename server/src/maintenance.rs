//! Housekeeping that runs beside the server: sweeping session records, audit rows,
//! idempotency keys and passkey ceremonies whose retention has passed, writing the coalesced audit counts, and
//! moving SQLite's write-ahead log into the database file. Each step keeps going through
//! transient errors; a failure is logged and retried on the next tick.

use std::time::Duration;

use crate::audit::AuditLog;
use crate::db::Database;
use crate::passkeys::Ceremonies;
use crate::session::SessionService;
use crate::work::WorkStore;

/// How often expired records and old audit rows are swept.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);
/// How often the coalesced refusal counts are written.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// How often SQLite's write-ahead log is moved into the database file: often enough that
/// the log stays a few megabytes under a full load of autosaves.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(250);

/// Removes what has outlived its retention, on the service's clock.
#[derive(Debug, Clone)]
pub struct Sweeper {
    sessions: SessionService,
    work: WorkStore,
    ceremonies: Ceremonies,
    audit_retention: time::Duration,
}

impl Sweeper {
    pub fn new(
        sessions: SessionService,
        work: WorkStore,
        ceremonies: Ceremonies,
        audit_retention: time::Duration,
    ) -> Self {
        Self {
            sessions,
            work,
            ceremonies,
            audit_retention,
        }
    }

    /// One pass; every part runs even when another fails.
    pub async fn sweep(&self) -> Result<(), SweepError> {
        let now = self.sessions.now();
        let records = self.sessions.store().delete_expired(now).await;
        let audit = self
            .sessions
            .audit()
            .delete_older_than(self.audit_retention, now)
            .await;
        let keys = self.work.delete_expired_keys(now).await;
        let ceremonies = self.ceremonies.delete_expired(now).await;
        match (records, audit, keys, ceremonies) {
            (Ok(records), Ok(rows), Ok(keys), Ok(ceremonies)) => {
                if records + rows + keys + ceremonies > 0 {
                    tracing::debug!(records, audit_rows = rows, keys, ceremonies, "swept");
                }
                Ok(())
            }
            (Err(e), _, _, _) => Err(SweepError(e.to_string())),
            (_, Err(e), _, _) => Err(SweepError(e.to_string())),
            (_, _, Err(e), _) => Err(SweepError(e.to_string())),
            (_, _, _, Err(e)) => Err(SweepError(e.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sweeping failed: {0}")]
pub struct SweepError(String);

/// A tick every `every` for a housekeeping loop; a tick missed while the work ran is
/// delayed, not made up in a burst.
fn ticks(every: Duration) -> tokio::time::Interval {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks
}

/// Sweeps every `every` until aborted.
pub fn spawn_sweeper(sweeper: Sweeper, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = ticks(every);
        loop {
            ticks.tick().await;
            if let Err(err) = sweeper.sweep().await {
                tracing::warn!(error = %err, "will retry");
            }
        }
    })
}

/// Writes the coalesced audit counts every `every` until aborted.
pub fn spawn_audit_flusher(audit: AuditLog, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = ticks(every);
        loop {
            ticks.tick().await;
            if let Err(err) = audit.flush().await {
                tracing::warn!(error = %err, "writing audit counts failed; will retry");
            }
        }
    })
}

/// Checkpoints SQLite's write-ahead log every `every` until aborted (nothing to do on
/// Postgres or an in-memory database: the task ends at once).
pub fn spawn_checkpointer(db: Database, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = ticks(every);
        loop {
            ticks.tick().await;
            match db.checkpoint().await {
                Ok(None) => return,
                Ok(Some(_)) => {}
                Err(err) => tracing::warn!(error = %err, "checkpoint failed; will retry"),
            }
        }
    })
}
