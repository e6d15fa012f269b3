//! When a tab reports activity to the server: only if there was activity since the last
//! report, and only if no tab reported within the heartbeat interval. Pure, so the rule is
//! tested here rather than in a browser.

/// Times in milliseconds since the epoch, on the browser's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeartbeatClock {
    /// The last user activity seen in this tab.
    pub last_activity_ms: f64,
    /// The last report that covers this tab's activity (its own, or another tab's).
    pub covered_until_ms: f64,
    /// The last report by any tab.
    pub last_report_ms: f64,
}

/// Reports a little early rather than a whole interval late when tab timers drift.
const TOLERANCE: f64 = 0.9;

/// Whether a heartbeat at `now_ms` should report activity.
pub fn due(clock: &HeartbeatClock, now_ms: f64, interval_ms: f64) -> bool {
    clock.last_activity_ms > clock.covered_until_ms
        && now_ms - clock.last_report_ms >= interval_ms * TOLERANCE
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MINUTE: f64 = 60_000.0;

    #[test]
    fn reports_activity_once_the_interval_has_passed() {
        let clock = HeartbeatClock {
            last_activity_ms: 1_000.0,
            covered_until_ms: 0.0,
            last_report_ms: 0.0,
        };
        assert!(due(&clock, MINUTE, MINUTE));
        assert!(
            !due(&clock, MINUTE * 0.5, MINUTE),
            "another report within the interval"
        );
    }

    #[test]
    fn no_activity_no_report() {
        let clock = HeartbeatClock {
            last_activity_ms: 5_000.0,
            covered_until_ms: 6_000.0,
            last_report_ms: 0.0,
        };
        assert!(!due(&clock, 10.0 * MINUTE, MINUTE));
    }

    #[test]
    fn another_tabs_recent_report_holds_this_one_back() {
        let clock = HeartbeatClock {
            last_activity_ms: 100_000.0,
            covered_until_ms: 0.0,
            last_report_ms: 95_000.0,
        };
        assert!(!due(&clock, 100_500.0, MINUTE));
        assert!(due(&clock, 95_000.0 + MINUTE, MINUTE));
    }

    proptest! {
        /// However the tabs' heartbeats interleave, reports are never closer together than
        /// the tolerated interval when each report updates the shared time.
        #[test]
        fn reports_are_at_least_most_of_an_interval_apart(ticks in proptest::collection::vec(0.0f64..600_000.0, 1..200)) {
            let mut ticks = ticks;
            ticks.sort_by(|a, b| a.total_cmp(b));
            let mut last_report = f64::NEG_INFINITY;
            for now in ticks {
                let clock = HeartbeatClock { last_activity_ms: now, covered_until_ms: -1.0, last_report_ms: last_report };
                if due(&clock, now, MINUTE) {
                    prop_assert!(now - last_report >= MINUTE * 0.9);
                    last_report = now;
                }
            }
        }
    }
}
