//! The session phase machine: Active → Warning → Expired, computed purely from the
//! deadlines and "now". Nothing here keeps state, so browser tabs, the server and tests all
//! agree on the phase at any instant.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

/// Why a session ends (or is about to).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryReason {
    /// No user activity for the idle timeout.
    Idle,
    /// The absolute lifetime since sign-in ran out; activity cannot extend it.
    Absolute,
}

impl ExpiryReason {
    /// The reason's wire name, as serde writes it (`idle`, `absolute`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Absolute => "absolute",
        }
    }
}

/// The instants that decide a session's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// When inactivity ends the session unless activity moves it later.
    pub idle_expires_at: OffsetDateTime,
    /// When the session ends whatever the activity: sign-in plus the absolute lifetime.
    pub absolute_expires_at: OffsetDateTime,
    /// How long before the effective deadline the warning shows.
    pub warning_before: Duration,
}

/// Where a session stands at one instant, as [`Deadlines::phase_at`] computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Nothing to show; the warning starts at `warn_at`.
    Active {
        /// When the warning will start: the effective deadline less the warning period.
        warn_at: OffsetDateTime,
    },
    /// The deadline is near: `remaining` until it passes for `reason`.
    Warning {
        /// Time left until `deadline`; always positive.
        remaining: Duration,
        /// The effective deadline: the earlier of the idle and absolute expiries.
        deadline: OffsetDateTime,
        /// Which rule `deadline` belongs to, so the warning can say whether activity helps.
        reason: ExpiryReason,
    },
    /// The session has ended.
    Expired {
        /// Which deadline passed.
        reason: ExpiryReason,
    },
}

impl Deadlines {
    /// The deadline that comes first, and which rule it belongs to. When both fall at the
    /// same instant the absolute limit is named, since activity could not have helped.
    pub fn effective(&self) -> (OffsetDateTime, ExpiryReason) {
        if self.absolute_expires_at <= self.idle_expires_at {
            (self.absolute_expires_at, ExpiryReason::Absolute)
        } else {
            (self.idle_expires_at, ExpiryReason::Idle)
        }
    }

    /// When the warning starts: the effective deadline less the warning period.
    pub fn warn_at(&self) -> OffsetDateTime {
        self.effective().0.saturating_sub(self.warning_before)
    }

    /// The phase at `now`: expired from the deadline on, warning from
    /// [`warn_at`](Self::warn_at) on, active before.
    pub fn phase_at(&self, now: OffsetDateTime) -> Phase {
        let (deadline, reason) = self.effective();
        let warn_at = self.warn_at();
        if now >= deadline {
            Phase::Expired { reason }
        } else if now >= warn_at {
            Phase::Warning {
                remaining: deadline - now,
                deadline,
                reason,
            }
        } else {
            Phase::Active { warn_at }
        }
    }

    /// The next instant at which `phase_at` changes kind, if any. Lets the browser sleep on a
    /// single timer instead of polling.
    pub fn next_transition(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        match self.phase_at(now) {
            Phase::Active { warn_at } => Some(warn_at),
            Phase::Warning { deadline, .. } => Some(deadline),
            Phase::Expired { .. } => None,
        }
    }

    /// Re-expresses server deadlines on a local clock that reads `local_now` while the
    /// server's read `server_now`, so a browser with a wrong clock still warns on time.
    /// Saturating: a skew of centuries (a broken clock, or a forged message from another
    /// tab) pins a deadline to the last representable instant instead of overflowing.
    pub fn shifted_for_skew(&self, server_now: OffsetDateTime, local_now: OffsetDateTime) -> Self {
        let skew = local_now - server_now;
        Self {
            idle_expires_at: self.idle_expires_at.saturating_add(skew),
            absolute_expires_at: self.absolute_expires_at.saturating_add(skew),
            warning_before: self.warning_before,
        }
    }
}

/// Formats a remaining duration as `mm:ss`, rounding up so "00:00" only shows at the end.
pub fn format_countdown(remaining: Duration) -> String {
    let millis = remaining.whole_milliseconds().max(0);
    let secs = (millis + 999) / 1000;
    format!("{:02}:{:02}", secs / 60, secs % 60)
}

/// The moment a screen reader should hear about the countdown: once a minute, then at 60,
/// 30 and 10 seconds. Returns the seconds to announce, constant between announcements, so a
/// live region bound to it speaks at that calm cadence rather than every second.
pub fn announcement_point(remaining: Duration) -> i64 {
    let secs = (remaining.whole_milliseconds().max(0) + 999) / 1000;
    let secs = secs as i64;
    match secs {
        s if s > 60 => (s + 59) / 60 * 60,
        s if s > 30 => 60,
        s if s > 10 => 30,
        s if s > 0 => 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

    fn deadlines(idle_in: Duration, absolute_in: Duration, warning: Duration) -> Deadlines {
        Deadlines {
            idle_expires_at: T0 + idle_in,
            absolute_expires_at: T0 + absolute_in,
            warning_before: warning,
        }
    }

    fn rank(phase: &Phase) -> u8 {
        match phase {
            Phase::Active { .. } => 0,
            Phase::Warning { .. } => 1,
            Phase::Expired { .. } => 2,
        }
    }

    #[test]
    fn walks_through_active_warning_expired() {
        let d = deadlines(
            Duration::minutes(30),
            Duration::hours(8),
            Duration::minutes(5),
        );
        assert_eq!(
            d.phase_at(T0),
            Phase::Active {
                warn_at: T0 + Duration::minutes(25)
            }
        );
        assert_eq!(
            d.phase_at(T0 + Duration::minutes(26)),
            Phase::Warning {
                remaining: Duration::minutes(4),
                deadline: T0 + Duration::minutes(30),
                reason: ExpiryReason::Idle
            }
        );
        assert_eq!(
            d.phase_at(T0 + Duration::minutes(30)),
            Phase::Expired {
                reason: ExpiryReason::Idle
            }
        );
    }

    #[test]
    fn next_transition_points_at_the_warning_then_the_deadline() {
        let d = deadlines(
            Duration::minutes(30),
            Duration::hours(8),
            Duration::minutes(5),
        );
        assert_eq!(d.next_transition(T0), Some(T0 + Duration::minutes(25)));
        assert_eq!(
            d.next_transition(T0 + Duration::minutes(25)),
            Some(T0 + Duration::minutes(30))
        );
        assert_eq!(d.next_transition(T0 + Duration::minutes(31)), None);
    }

    #[test]
    fn skew_moves_deadlines_onto_the_local_clock() {
        let d = deadlines(
            Duration::minutes(30),
            Duration::hours(8),
            Duration::minutes(5),
        );
        let fast_local = T0 + Duration::minutes(10);
        let local = d.shifted_for_skew(T0, fast_local);
        assert_eq!(local.idle_expires_at, T0 + Duration::minutes(40));
        let remaining = |phase| match phase {
            Phase::Warning { remaining, .. } => Some(remaining),
            _ => None,
        };
        let four_minutes = Some(Duration::minutes(4));
        assert_eq!(
            remaining(local.phase_at(fast_local + Duration::minutes(26))),
            four_minutes
        );
        assert_eq!(
            remaining(d.phase_at(T0 + Duration::minutes(26))),
            four_minutes
        );
    }

    #[test]
    fn absurd_deadlines_and_skews_saturate_instead_of_overflowing() {
        // A fuzzed tab message: the server's clock in year 226, the absolute deadline in 9818.
        let far = OffsetDateTime::from_unix_timestamp(247_650_000_000).expect("year 9818");
        let ancient = OffsetDateTime::from_unix_timestamp(-55_000_000_000).expect("year 226");
        let d = Deadlines {
            idle_expires_at: T0,
            absolute_expires_at: far,
            warning_before: Duration::seconds(i64::MAX),
        };
        let local = d.shifted_for_skew(ancient, T0);
        assert!(local.absolute_expires_at >= far);
        assert!(matches!(local.phase_at(T0), Phase::Warning { .. }));
        let earlier = d.shifted_for_skew(T0, ancient);
        assert!(earlier.idle_expires_at < T0);
        assert!(matches!(
            d.phase_at(T0 - Duration::days(1)),
            Phase::Warning { .. }
        ));
    }

    #[test]
    fn countdown_is_minutes_and_seconds_rounded_up() {
        assert_eq!(format_countdown(Duration::minutes(5)), "05:00");
        assert_eq!(format_countdown(Duration::milliseconds(299_001)), "05:00");
        assert_eq!(format_countdown(Duration::seconds(61)), "01:01");
        assert_eq!(format_countdown(Duration::milliseconds(1)), "00:01");
        assert_eq!(format_countdown(Duration::ZERO), "00:00");
        assert_eq!(format_countdown(Duration::seconds(-3)), "00:00");
    }

    #[test]
    fn announcements_come_once_a_minute_then_at_60_30_10() {
        let point = |s: i64| announcement_point(Duration::seconds(s));
        assert_eq!(point(300), 300);
        assert_eq!(point(299), 300);
        assert_eq!(point(241), 300);
        assert_eq!(point(240), 240);
        assert_eq!(point(61), 120);
        assert_eq!(point(60), 60);
        assert_eq!(point(31), 60);
        assert_eq!(point(30), 30);
        assert_eq!(point(11), 30);
        assert_eq!(point(10), 10);
        assert_eq!(point(1), 10);
        assert_eq!(point(0), 0);
        let distinct: std::collections::BTreeSet<i64> = (0..=300).map(point).collect();
        assert_eq!(distinct.len(), 8, "{distinct:?}");
    }

    fn secs(range: std::ops::Range<i64>) -> impl Strategy<Value = Duration> {
        range.prop_map(Duration::seconds)
    }

    proptest! {
        /// Without activity (fixed deadlines) the phase never moves backwards in time.
        #[test]
        fn phase_only_moves_forward(
            idle in secs(60..100_000),
            absolute in secs(60..100_000),
            warning in secs(1..60),
            a in secs(-200_000..200_000),
            b in secs(-200_000..200_000),
        ) {
            let d = deadlines(idle, absolute, warning);
            let (earlier, later) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(rank(&d.phase_at(T0 + earlier)) <= rank(&d.phase_at(T0 + later)));
        }

        /// The warning starts exactly the warning period before the idle deadline.
        #[test]
        fn warning_starts_exactly_warning_before_the_idle_deadline(
            idle in secs(60..100_000),
            warning in secs(1..60),
        ) {
            let d = deadlines(idle, idle + Duration::hours(9), warning);
            let warn_at = T0 + idle - warning;
            prop_assert_eq!(d.warn_at(), warn_at);
            let active_just_before = matches!(d.phase_at(warn_at - Duration::NANOSECOND), Phase::Active { .. });
            prop_assert!(active_just_before);
            let is_warning_with_full_period = matches!(
                d.phase_at(warn_at),
                Phase::Warning { remaining, reason: ExpiryReason::Idle, .. } if remaining == warning
            );
            prop_assert!(is_warning_with_full_period);
        }

        /// When the absolute deadline comes first it decides the warning and the expiry.
        #[test]
        fn absolute_deadline_wins_over_idle(
            absolute in secs(60..100_000),
            extra in secs(0..100_000),
            warning in secs(1..60),
            probe in secs(0..200_000),
        ) {
            let d = deadlines(absolute + extra, absolute, warning);
            prop_assert_eq!(d.effective(), (T0 + absolute, ExpiryReason::Absolute));
            match d.phase_at(T0 + probe) {
                Phase::Expired { reason } => {
                    prop_assert!(probe >= absolute);
                    prop_assert_eq!(reason, ExpiryReason::Absolute);
                }
                Phase::Warning { reason, deadline, .. } => {
                    prop_assert_eq!(reason, ExpiryReason::Absolute);
                    prop_assert_eq!(deadline, T0 + absolute);
                }
                Phase::Active { .. } => {
                    let before_warning = probe < absolute - warning;
                    prop_assert!(before_warning);
                }
            }
        }
    }
}
