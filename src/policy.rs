//! The timeout policy: how long inactivity may last, when to warn, and how often to report
//! activity. Invalid combinations are refused at construction, so the rest of the code can
//! rely on them.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Duration;

/// WCAG 2.2.1 (Timing Adjustable): people get at least 20 seconds to ask for more time.
pub const MIN_WARNING_SECS: i64 = 20;

/// The longest any timeout may be: long enough for every sensible policy (remember-me
/// sessions last weeks), short enough that "now + timeout" can never leave the calendar.
pub const MAX_TIMEOUT: Duration = Duration::days(366 * 10);

/// A checked timeout policy: every duration in one second ..= ten years, the warning at least
/// 20 seconds and before the idle timeout, idle within the absolute lifetime, and heartbeats
/// frequent enough that an active user is never warned. Deserializing checks it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "crate::session_info::PolicyInfo",
    into = "crate::session_info::PolicyInfo"
)]
pub struct TimeoutPolicy {
    idle_timeout: Duration,
    warning_before: Duration,
    absolute_timeout: Duration,
    heartbeat_interval: Duration,
}

/// Why [`TimeoutPolicy::new`] refused a combination; durations are in whole seconds.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    /// The named duration is under one second.
    #[error("{0} must be at least one second")]
    TooShort(&'static str),
    /// The named duration is over [`MAX_TIMEOUT`].
    #[error("{0} must be at most ten years")]
    TooLong(&'static str),
    /// The warning period (seconds) is under [`MIN_WARNING_SECS`].
    #[error("the warning must give at least {MIN_WARNING_SECS} seconds to respond, not {0}s (WCAG 2.2.1)")]
    WarningTooShort(i64),
    /// The warning would start at or before the moment the idle timer starts.
    #[error("the warning ({warning}s) must come before the idle timeout ({idle}s)")]
    WarningNotBeforeIdle {
        /// The warning period.
        warning: i64,
        /// The idle timeout.
        idle: i64,
    },
    /// Idle expiry could never come first, so it would be meaningless.
    #[error("the idle timeout ({idle}s) cannot exceed the absolute lifetime ({absolute}s)")]
    IdleExceedsAbsolute {
        /// The idle timeout.
        idle: i64,
        /// The absolute lifetime.
        absolute: i64,
    },
    /// A heartbeat might not arrive before the warning, so an active user could be warned.
    #[error(
        "the heartbeat interval ({heartbeat}s) must be shorter than the time before the warning \
         ({before_warning}s), or an active user would be warned"
    )]
    HeartbeatTooSlow {
        /// The heartbeat interval.
        heartbeat: i64,
        /// The idle timeout less the warning period.
        before_warning: i64,
    },
}

impl TimeoutPolicy {
    /// Idle timeout when none is configured.
    pub const DEFAULT_IDLE: Duration = Duration::minutes(30);
    /// Warning period when none is configured.
    pub const DEFAULT_WARNING: Duration = Duration::minutes(5);
    /// Absolute lifetime when none is configured: a working day.
    pub const DEFAULT_ABSOLUTE: Duration = Duration::hours(8);
    /// Heartbeat interval when none is configured.
    pub const DEFAULT_HEARTBEAT: Duration = Duration::seconds(60);

    /// The policy, if the combination is valid; otherwise the first rule it breaks.
    pub fn new(
        idle_timeout: Duration,
        warning_before: Duration,
        absolute_timeout: Duration,
        heartbeat_interval: Duration,
    ) -> Result<Self, PolicyError> {
        for (name, value) in [
            ("the idle timeout", idle_timeout),
            ("the warning period", warning_before),
            ("the absolute lifetime", absolute_timeout),
            ("the heartbeat interval", heartbeat_interval),
        ] {
            if value < Duration::SECOND {
                return Err(PolicyError::TooShort(name));
            }
            if value > MAX_TIMEOUT {
                return Err(PolicyError::TooLong(name));
            }
        }
        if warning_before < Duration::seconds(MIN_WARNING_SECS) {
            return Err(PolicyError::WarningTooShort(warning_before.whole_seconds()));
        }
        if warning_before >= idle_timeout {
            return Err(PolicyError::WarningNotBeforeIdle {
                warning: warning_before.whole_seconds(),
                idle: idle_timeout.whole_seconds(),
            });
        }
        if idle_timeout > absolute_timeout {
            return Err(PolicyError::IdleExceedsAbsolute {
                idle: idle_timeout.whole_seconds(),
                absolute: absolute_timeout.whole_seconds(),
            });
        }
        let before_warning = idle_timeout - warning_before;
        if heartbeat_interval >= before_warning {
            return Err(PolicyError::HeartbeatTooSlow {
                heartbeat: heartbeat_interval.whole_seconds(),
                before_warning: before_warning.whole_seconds(),
            });
        }
        Ok(Self {
            idle_timeout,
            warning_before,
            absolute_timeout,
            heartbeat_interval,
        })
    }

    /// How long a session may go without activity before it expires.
    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }
    /// How long before expiry the warning shows (at least [`MIN_WARNING_SECS`]).
    pub fn warning_before(&self) -> Duration {
        self.warning_before
    }
    /// How long a session may last from sign-in, whatever the activity.
    pub fn absolute_timeout(&self) -> Duration {
        self.absolute_timeout
    }
    /// How often an active browser reports activity to the server.
    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }
}

impl Default for TimeoutPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Self::DEFAULT_IDLE,
            warning_before: Self::DEFAULT_WARNING,
            absolute_timeout: Self::DEFAULT_ABSOLUTE,
            heartbeat_interval: Self::DEFAULT_HEARTBEAT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let policy = TimeoutPolicy::default();
        assert_eq!(policy.idle_timeout(), Duration::minutes(30));
        assert_eq!(policy.warning_before(), Duration::minutes(5));
        assert_eq!(policy.absolute_timeout(), Duration::hours(8));
        assert_eq!(policy.heartbeat_interval(), Duration::seconds(60));
        assert!(TimeoutPolicy::new(
            policy.idle_timeout(),
            policy.warning_before(),
            policy.absolute_timeout(),
            policy.heartbeat_interval()
        )
        .is_ok());
    }

    #[test]
    fn refuses_a_warning_that_is_not_before_the_deadline() {
        let err = TimeoutPolicy::new(
            Duration::minutes(5),
            Duration::minutes(5),
            Duration::hours(1),
            Duration::seconds(10),
        );
        assert!(matches!(err, Err(PolicyError::WarningNotBeforeIdle { .. })));
    }

    #[test]
    fn refuses_an_idle_timeout_longer_than_the_absolute_lifetime() {
        let err = TimeoutPolicy::new(
            Duration::hours(2),
            Duration::minutes(5),
            Duration::hours(1),
            Duration::seconds(10),
        );
        assert!(matches!(err, Err(PolicyError::IdleExceedsAbsolute { .. })));
    }

    #[test]
    fn refuses_a_heartbeat_that_would_let_active_users_be_warned() {
        let err = TimeoutPolicy::new(
            Duration::minutes(2),
            Duration::minutes(1),
            Duration::hours(1),
            Duration::minutes(1),
        );
        assert!(matches!(err, Err(PolicyError::HeartbeatTooSlow { .. })));
    }

    #[test]
    fn the_warning_leaves_at_least_twenty_seconds_to_respond() {
        let err = TimeoutPolicy::new(
            Duration::minutes(2),
            Duration::seconds(19),
            Duration::hours(1),
            Duration::seconds(10),
        );
        assert_eq!(err, Err(PolicyError::WarningTooShort(19)));
        assert!(TimeoutPolicy::new(
            Duration::minutes(2),
            Duration::seconds(20),
            Duration::hours(1),
            Duration::seconds(10),
        )
        .is_ok());
    }

    #[test]
    fn refuses_zero_durations() {
        let err = TimeoutPolicy::new(
            Duration::minutes(2),
            Duration::ZERO,
            Duration::hours(1),
            Duration::seconds(1),
        );
        assert_eq!(err, Err(PolicyError::TooShort("the warning period")));
    }

    #[test]
    fn refuses_timeouts_that_would_leave_the_calendar() {
        // "9000y" once made every sign-in panic computing the absolute deadline.
        let err = TimeoutPolicy::new(
            Duration::minutes(30),
            Duration::minutes(5),
            Duration::days(365 * 9000),
            Duration::seconds(60),
        );
        assert_eq!(err, Err(PolicyError::TooLong("the absolute lifetime")));
        assert!(TimeoutPolicy::new(
            Duration::minutes(30),
            Duration::minutes(5),
            MAX_TIMEOUT,
            Duration::seconds(60),
        )
        .is_ok());
    }
}
