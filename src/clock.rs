//! Time as a dependency, so every deadline rule can be tested without waiting.

use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// A source of "now". Server code never calls `OffsetDateTime::now_utc()` directly.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Clones share the same instant.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward (or backward, for a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Puts the clock at `to`, in either direction.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// An [`OffsetClock`] was asked to leave the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the clock cannot be moved that far")]
pub struct ClockOutOfRange;

/// The system clock shifted by an adjustable offset, or stopped at an instant.
///
/// The end-to-end suite runs the real server and fast-forwards the browser with a fake
/// clock; this clock lets the server jump forward by the same amount while time still flows.
/// The model checker stops the clocks of several server processes at one instant
/// ([`freeze`](Self::freeze)) and moves them together, so that its whole-second rules hold.
#[derive(Debug, Clone, Default)]
pub struct OffsetClock {
    state: Arc<Mutex<OffsetState>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct OffsetState {
    offset: Duration,
    /// Where time stands still, if it was stopped.
    frozen: Option<OffsetDateTime>,
}

impl OffsetState {
    fn base(&self) -> OffsetDateTime {
        self.frozen.unwrap_or_else(OffsetDateTime::now_utc)
    }
}

impl OffsetClock {
    /// The system clock with no offset and not frozen.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock by `by`, unless that would take it past year 9999 (or before year 1):
    /// then nothing changes.
    pub fn advance(&self, by: Duration) -> Result<(), ClockOutOfRange> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let next = state.offset.checked_add(by).ok_or(ClockOutOfRange)?;
        state.base().checked_add(next).ok_or(ClockOutOfRange)?;
        state.offset = next;
        Ok(())
    }

    /// Stops time at `at`: from now on the clock moves only when advanced.
    pub fn freeze(&self, at: OffsetDateTime) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        *state = OffsetState {
            offset: Duration::ZERO,
            frozen: Some(at),
        };
    }

    /// How far the clock is shifted from its base (the system time, or the frozen instant).
    pub fn offset(&self) -> Duration {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .offset
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> OffsetDateTime {
        let state = *self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.base() + state.offset
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told_and_clones_share_it() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let other = clock.clone();
        assert_eq!(clock.now(), datetime!(2026-01-01 00:00 UTC));
        other.advance(Duration::minutes(5));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:05 UTC));
        clock.set(datetime!(2026-02-01 00:00 UTC));
        assert_eq!(other.now(), datetime!(2026-02-01 00:00 UTC));
    }

    #[test]
    fn offset_clock_runs_ahead_of_the_system_clock() {
        let clock = OffsetClock::new();
        assert_eq!(clock.advance(Duration::hours(2)), Ok(()));
        let ahead = clock.now() - OffsetDateTime::now_utc();
        assert!(ahead > Duration::minutes(119) && ahead <= Duration::hours(2));
    }

    #[test]
    fn a_frozen_offset_clock_moves_only_when_advanced() {
        let clock = OffsetClock::new();
        clock.freeze(datetime!(2026-03-01 12:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-03-01 12:00 UTC));
        assert_eq!(clock.advance(Duration::seconds(30)), Ok(()));
        assert_eq!(clock.clone().now(), datetime!(2026-03-01 12:00:30 UTC));
    }

    #[test]
    fn offset_clock_refuses_to_leave_the_calendar() {
        // Once a huge advance made every later request panic.
        let clock = OffsetClock::new();
        assert_eq!(
            clock.advance(Duration::days(365 * 9000)),
            Err(ClockOutOfRange)
        );
        assert_eq!(clock.advance(Duration::MAX), Err(ClockOutOfRange));
        assert_eq!(clock.offset(), Duration::ZERO);
        let _ = clock.now();
    }
}
