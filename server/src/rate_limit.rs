//! Sign-in throttling per account and per client address (GCRA via the `governor` crate).
//!
//! The limits guard password guessing; they decide nothing about whether a session is
//! valid, so keeping them per process is acceptable even with several instances.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts allowed per minute (the burst), replenished evenly over the minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    pub per_account: NonZeroU32,
    pub per_ip: NonZeroU32,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_account: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            per_ip: NonZeroU32::new(30).unwrap_or(NonZeroU32::MIN),
        }
    }
}

pub struct SignInLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl std::fmt::Debug for SignInLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLimiter").finish_non_exhaustive()
    }
}

/// Too many attempts: wait this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl SignInLimiter {
    pub fn new(limits: SignInLimits) -> Self {
        Self {
            per_account: RateLimiter::keyed(Quota::per_minute(limits.per_account)),
            per_ip: RateLimiter::keyed(Quota::per_minute(limits.per_ip)),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one sign-in attempt for the account (and address, when known).
    pub fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), RetryAfter> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.per_account.retain_recent();
            self.per_ip.retain_recent();
        }
        let now = self.clock.now();
        let wait = |not_until: governor::NotUntil<_>| {
            RetryAfter(not_until.wait_time_from(now).as_secs().max(1))
        };
        if let Some(ip) = ip {
            self.per_ip.check_key(&ip).map_err(wait)?;
        }
        let account = username.trim().to_lowercase();
        self.per_account.check_key(&account).map_err(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(account: u32, ip: u32) -> SignInLimits {
        SignInLimits {
            per_account: NonZeroU32::new(account).unwrap_or(NonZeroU32::MIN),
            per_ip: NonZeroU32::new(ip).unwrap_or(NonZeroU32::MIN),
        }
    }

    #[test]
    fn limits_each_account_separately_and_case_insensitively() {
        let limiter = SignInLimiter::new(limits(3, 100));
        for _ in 0..3 {
            assert!(limiter.check("Ada", None).is_ok());
        }
        let refused = limiter.check("ada", None);
        assert!(
            matches!(refused, Err(RetryAfter(s)) if (1..=60).contains(&s)),
            "{refused:?}"
        );
        assert!(limiter.check("grace", None).is_ok());
    }

    #[test]
    fn limits_each_address_across_accounts() {
        let limiter = SignInLimiter::new(limits(100, 2));
        let ip: IpAddr = [10, 0, 0, 7].into();
        assert!(limiter.check("a", Some(ip)).is_ok());
        assert!(limiter.check("b", Some(ip)).is_ok());
        assert!(limiter.check("c", Some(ip)).is_err());
        assert!(limiter.check("c", Some([10, 0, 0, 8].into())).is_ok());
    }
}
