//! Sign-in throttling that never locks out the owner (SPEC §2).
//!
//! Only failed sign-ins count, in three GCRA buckets:
//! - strict, per account and client address: one address guessing one account;
//! - per client address, whatever the account: one address spraying many accounts;
//! - slower, per account from anywhere: many addresses guessing one account. It refuses
//!   only addresses that have themselves failed for this account recently, so the owner
//!   signing in from an address that has not been failing is never refused because
//!   somebody else guessed.
//!
//! IPv6 clients are counted per /64, since one host usually holds a whole /64.
//!
//! The buckets live in this process (the embedded single-machine setup); they are checked
//! and charged on the injected clock, so tests move time instead of waiting.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};
use vigil::Clock;

/// A number of failures allowed per period: the burst, refilled evenly over the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub failures: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    pub const fn per_minute(failures: NonZeroU32) -> Self {
        Self {
            failures,
            per: Duration::MINUTE,
        }
    }

    pub const fn per_hour(failures: NonZeroU32) -> Self {
        Self {
            failures,
            per: Duration::HOUR,
        }
    }

    /// The time one failure takes to be forgiven.
    fn emission_interval(&self) -> Duration {
        self.per / self.failures.get()
    }
}

const fn nonzero(n: u32) -> NonZeroU32 {
    match NonZeroU32::new(n) {
        Some(n) => n,
        None => NonZeroU32::MIN,
    }
}

/// The three limits of the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimits {
    /// Failures for one account from one address (`VIGIL_SIGNIN_LIMIT_PER_ACCOUNT`).
    pub per_account_and_address: Rate,
    /// Failures from one address, any account (`VIGIL_SIGNIN_LIMIT_PER_IP`).
    pub per_address: Rate,
    /// Failures for one account from anywhere (`VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY`).
    pub per_account: Rate,
}

impl Default for SignInLimits {
    fn default() -> Self {
        Self {
            per_account_and_address: Rate::per_minute(nonzero(5)),
            per_address: Rate::per_minute(nonzero(30)),
            per_account: Rate::per_hour(nonzero(100)),
        }
    }
}

/// Too many failures: wait this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// What the limits count an address as: itself for IPv4, its /64 for IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressKey {
    V4([u8; 4]),
    V6Prefix64([u8; 8]),
    /// The server could not tell (no peer address, as in in-process tests).
    Unknown,
}

impl AddressKey {
    pub fn of(ip: Option<IpAddr>) -> Self {
        match ip.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V4(v4)) => Self::V4(v4.octets()),
            Some(IpAddr::V6(v6)) => {
                let mut prefix = [0u8; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                Self::V6Prefix64(prefix)
            }
            None => Self::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Bucket {
    AccountAndAddress(String, AddressKey),
    Address(AddressKey),
    Account(String),
}

/// Above this many buckets, forgiven ones are dropped at once rather than occasionally.
const PRUNE_ABOVE: usize = 50_000;

/// GCRA state: per bucket, the "theoretical arrival time" of the next failure. A bucket is
/// full when that lies more than one period ahead; it empties as time passes.
pub struct SignInThrottle {
    limits: SignInLimits,
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<Bucket, OffsetDateTime>>,
}

impl std::fmt::Debug for SignInThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInThrottle")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn normalise(username: &str) -> String {
    username.trim().to_lowercase()
}

impl SignInThrottle {
    pub fn new(limits: SignInLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn rate(&self, bucket: &Bucket) -> Rate {
        match bucket {
            Bucket::AccountAndAddress(..) => self.limits.per_account_and_address,
            Bucket::Address(_) => self.limits.per_address,
            Bucket::Account(_) => self.limits.per_account,
        }
    }

    /// How long until `bucket` takes another failure (zero when it can now).
    fn wait(
        &self,
        buckets: &HashMap<Bucket, OffsetDateTime>,
        bucket: &Bucket,
        now: OffsetDateTime,
    ) -> Duration {
        let rate = self.rate(bucket);
        let Some(tat) = buckets.get(bucket) else {
            return Duration::ZERO;
        };
        // Full when a further failure would arrive more than one period ahead.
        let allowed_from = *tat - rate.per + rate.emission_interval();
        (allowed_from - now).max(Duration::ZERO)
    }

    /// May this sign-in attempt be checked at all? Refusals do not count as failures.
    pub fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), RetryAfter> {
        let now = self.clock.now();
        let account = normalise(username);
        let address = AddressKey::of(ip);
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let pair = Bucket::AccountAndAddress(account.clone(), address);
        let mut wait = self
            .wait(&buckets, &Bucket::Address(address), now)
            .max(self.wait(&buckets, &pair, now));
        // Someone is guessing this account from many places: hold back only the addresses
        // that took part.
        let this_address_failed = buckets.get(&pair).is_some_and(|tat| *tat > now);
        if this_address_failed {
            wait = wait.max(self.wait(&buckets, &Bucket::Account(account), now));
        }
        if wait > Duration::ZERO {
            let seconds = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
            Err(RetryAfter(seconds.max(1) as u64))
        } else {
            Ok(())
        }
    }

    /// Counts a failed sign-in against every bucket it belongs to.
    pub fn record_failure(&self, username: &str, ip: Option<IpAddr>) {
        let now = self.clock.now();
        let account = normalise(username);
        let address = AddressKey::of(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, tat| *tat > now);
        }
        for bucket in [
            Bucket::AccountAndAddress(account.clone(), address),
            Bucket::Address(address),
            Bucket::Account(account),
        ] {
            let interval = self.rate(&bucket).emission_interval();
            let tat = buckets.entry(bucket).or_insert(now);
            *tat = (*tat).max(now) + interval;
        }
    }

    /// A correct password forgives this address's failures for the account.
    pub fn record_success(&self, username: &str, ip: Option<IpAddr>) {
        let pair = Bucket::AccountAndAddress(normalise(username), AddressKey::of(ip));
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&pair);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil::ManualClock;

    fn throttle(limits: SignInLimits) -> (SignInThrottle, ManualClock) {
        let clock = ManualClock::new(time::macros::datetime!(2026-03-01 09:00 UTC));
        (SignInThrottle::new(limits, Arc::new(clock.clone())), clock)
    }

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    fn fail(t: &SignInThrottle, user: &str, from: Option<IpAddr>, times: usize) {
        for _ in 0..times {
            assert!(t.check(user, from).is_ok());
            t.record_failure(user, from);
        }
    }

    #[test]
    fn successes_never_count() {
        let (t, _) = throttle(SignInLimits::default());
        for _ in 0..100 {
            assert!(t.check("ada", ip("198.51.100.1")).is_ok());
            t.record_success("ada", ip("198.51.100.1"));
        }
    }

    #[test]
    fn one_address_guessing_one_account_is_slowed_then_forgiven() {
        let (t, clock) = throttle(SignInLimits::default());
        let attacker = ip("198.51.100.66");
        fail(&t, "Ada", attacker, 5);
        let refused = t.check("ada", attacker);
        assert!(
            matches!(refused, Err(RetryAfter(s)) if (1..=12).contains(&s)),
            "{refused:?}"
        );
        // The owner, elsewhere, is not affected.
        assert!(t.check("ada", ip("203.0.113.5")).is_ok());
        // One failure is forgiven every 12 seconds.
        clock.advance(Duration::seconds(12));
        assert!(t.check("ada", attacker).is_ok());
    }

    #[test]
    fn many_addresses_guessing_one_account_never_lock_out_a_clean_address() {
        let limits = SignInLimits {
            per_account: Rate::per_hour(nonzero(10)),
            ..SignInLimits::default()
        };
        let (t, _) = throttle(limits);
        for i in 0..10 {
            fail(&t, "ada", ip(&format!("198.51.100.{i}")), 1);
        }
        // The account's bucket is full: the addresses that failed are held back...
        assert!(t.check("ada", ip("198.51.100.3")).is_err());
        // ...and the owner at home is not.
        assert!(t.check("ada", ip("203.0.113.5")).is_ok());
        // A new address that fails once joins the held-back ones.
        t.record_failure("ada", ip("192.0.2.1"));
        assert!(t.check("ada", ip("192.0.2.1")).is_err());
    }

    #[test]
    fn one_address_spraying_many_accounts_is_slowed() {
        let (t, _) = throttle(SignInLimits::default());
        let sprayer = ip("198.51.100.9");
        for i in 0..30 {
            fail(&t, &format!("user{i}"), sprayer, 1);
        }
        assert!(t.check("somebody-else", sprayer).is_err());
        assert!(t.check("somebody-else", ip("198.51.100.10")).is_ok());
    }

    #[test]
    fn ipv6_addresses_count_per_64() {
        let (t, _) = throttle(SignInLimits::default());
        for i in 0..5 {
            fail(&t, "ada", ip(&format!("2001:db8:1:2::{i:x}")), 1);
        }
        assert!(t.check("ada", ip("2001:db8:1:2:ffff::1")).is_err());
        assert!(t.check("ada", ip("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn a_success_forgives_the_address_for_that_account() {
        let (t, _) = throttle(SignInLimits::default());
        let home = ip("203.0.113.5");
        fail(&t, "ada", home, 4);
        t.record_success("ada", home);
        fail(&t, "ada", home, 5);
    }
}
