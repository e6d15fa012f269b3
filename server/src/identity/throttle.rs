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
//! The buckets live in this process for the embedded single-machine setup, and in Redis
//! when sessions do, so that every instance counts the same failures (each charge one
//! atomic script per bucket). Either way they are checked and charged on the injected
//! clock, so tests move time instead of waiting. With Redis unreachable, sign-in is
//! refused with `503 store_unavailable`: the limits fail closed.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};

use redis::Script;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use vigil::Clock;

use crate::redis_connection::RedisConnection;
use crate::session::store::StoreError;

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

impl RetryAfter {
    /// A wait in whole seconds, rounded up, at least one.
    fn of(wait: Duration) -> Self {
        let seconds = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
        Self(seconds.max(1).unsigned_abs())
    }
}

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
    /// Passkey ceremonies started from one address: each is stored for five minutes, so
    /// anonymous traffic may not start them without bound.
    Ceremonies(AddressKey),
}

impl Bucket {
    /// The bucket's Redis key: a digest, so no username or address is stored in clear and
    /// none can shape a key. Each bucket is one key, touched by one script: any slot will do.
    fn key(&self, prefix: &str) -> String {
        let mut digest = Sha256::new();
        match self {
            Self::AccountAndAddress(account, address) => {
                digest.update(b"pair\0");
                digest.update(account.as_bytes());
                digest.update(b"\0");
                digest.update(address.bytes());
            }
            Self::Address(address) => {
                digest.update(b"address\0");
                digest.update(address.bytes());
            }
            Self::Account(account) => {
                digest.update(b"account\0");
                digest.update(account.as_bytes());
            }
            Self::Ceremonies(address) => {
                digest.update(b"ceremonies\0");
                digest.update(address.bytes());
            }
        }
        format!("{prefix}:limit:{}", hex::encode(&digest.finalize()[..16]))
    }
}

impl AddressKey {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::V4(octets) => [&[4u8][..], octets].concat(),
            Self::V6Prefix64(prefix) => [&[6u8][..], prefix].concat(),
            Self::Unknown => vec![0],
        }
    }
}

/// Above this many buckets, forgiven ones are dropped at once rather than occasionally.
const PRUNE_ABOVE: usize = 50_000;

/// Advances a bucket's theoretical arrival time by one failure, atomically; the key lives
/// as long as the failures it holds (Redis' expiry is only clean-up: the arrival time
/// itself is compared with the instance's clock).
const CHARGE: &str = r"
local now = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tat < now then tat = now end
tat = tat + tonumber(ARGV[2])
redis.call('SET', KEYS[1], tat, 'PX', tat - now)
return tat
";

/// Where the arrival times are kept.
enum Arrivals {
    Memory(Mutex<HashMap<Bucket, OffsetDateTime>>),
    Redis {
        connection: RedisConnection,
        prefix: String,
        charge: Script,
    },
}

fn unix_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

fn from_unix_ms(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

impl Arrivals {
    async fn get(&self, bucket: &Bucket) -> Result<Option<OffsetDateTime>, StoreError> {
        match self {
            Self::Memory(buckets) => Ok(buckets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(bucket)
                .copied()),
            Self::Redis {
                connection, prefix, ..
            } => {
                let key = &bucket.key(prefix);
                let ms: Option<i64> = connection
                    .call("limit read", |mut c| async move {
                        redis::cmd("GET").arg(key).query_async(&mut c).await
                    })
                    .await?;
                Ok(ms.and_then(from_unix_ms))
            }
        }
    }

    async fn charge(
        &self,
        bucket: Bucket,
        interval: Duration,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        match self {
            Self::Memory(buckets) => {
                let mut buckets = buckets.lock().unwrap_or_else(PoisonError::into_inner);
                if buckets.len() > PRUNE_ABOVE {
                    buckets.retain(|_, tat| *tat > now);
                }
                let tat = buckets.entry(bucket).or_insert(now);
                *tat = (*tat).max(now) + interval;
                Ok(())
            }
            Self::Redis {
                connection,
                prefix,
                charge,
            } => {
                let key = &bucket.key(prefix);
                let interval_ms = (interval.whole_milliseconds() as i64).max(1);
                connection
                    .call("limit charge", |mut c| async move {
                        charge
                            .key(key)
                            .arg(unix_ms(now))
                            .arg(interval_ms)
                            .invoke_async::<i64>(&mut c)
                            .await
                    })
                    .await?;
                Ok(())
            }
        }
    }

    async fn forgive(&self, bucket: &Bucket) -> Result<(), StoreError> {
        match self {
            Self::Memory(buckets) => {
                buckets
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(bucket);
                Ok(())
            }
            Self::Redis {
                connection, prefix, ..
            } => {
                let key = &bucket.key(prefix);
                connection
                    .call("limit forgive", |mut c| async move {
                        redis::cmd("DEL").arg(key).query_async::<i64>(&mut c).await
                    })
                    .await?;
                Ok(())
            }
        }
    }
}

/// GCRA state: per bucket, the "theoretical arrival time" of the next failure. A bucket is
/// full when that lies more than one period ahead; it empties as time passes.
pub struct SignInThrottle {
    limits: SignInLimits,
    clock: Arc<dyn Clock>,
    arrivals: Arrivals,
}

impl std::fmt::Debug for SignInThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let place = match self.arrivals {
            Arrivals::Memory(_) => "memory",
            Arrivals::Redis { .. } => "redis",
        };
        f.debug_struct("SignInThrottle")
            .field("limits", &self.limits)
            .field("arrivals", &place)
            .finish_non_exhaustive()
    }
}

fn normalise(username: &str) -> String {
    username.trim().to_lowercase()
}

/// Why a sign-in may not be checked now.
#[derive(Debug)]
pub enum Refusal {
    /// Too many failures: wait this long.
    Wait(RetryAfter),
    /// The shared limits cannot be read: fail closed.
    Unavailable(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(err: StoreError) -> Self {
        Self::Unavailable(err)
    }
}

impl SignInThrottle {
    /// Limits kept in this process.
    pub fn new(limits: SignInLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            arrivals: Arrivals::Memory(Mutex::new(HashMap::new())),
        }
    }

    /// Limits kept in Redis under `prefix`, shared by every instance that uses it.
    pub fn shared(
        limits: SignInLimits,
        clock: Arc<dyn Clock>,
        connection: RedisConnection,
        prefix: &str,
    ) -> Self {
        Self {
            limits,
            clock,
            arrivals: Arrivals::Redis {
                connection,
                prefix: prefix.to_owned(),
                charge: Script::new(CHARGE),
            },
        }
    }

    fn rate(&self, bucket: &Bucket) -> Rate {
        match bucket {
            Bucket::AccountAndAddress(..) => self.limits.per_account_and_address,
            Bucket::Address(_) | Bucket::Ceremonies(_) => self.limits.per_address,
            Bucket::Account(_) => self.limits.per_account,
        }
    }

    /// How long until a bucket whose arrival time is `tat` takes another failure (zero
    /// when it can now).
    fn wait(&self, bucket: &Bucket, tat: Option<OffsetDateTime>, now: OffsetDateTime) -> Duration {
        let rate = self.rate(bucket);
        let Some(tat) = tat else {
            return Duration::ZERO;
        };
        // Full when a further failure would arrive more than one period ahead.
        let allowed_from = tat - rate.per + rate.emission_interval();
        (allowed_from - now).max(Duration::ZERO)
    }

    /// May this sign-in attempt be checked at all? Refusals do not count as failures.
    pub async fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), Refusal> {
        let now = self.clock.now();
        let account = normalise(username);
        let address = AddressKey::of(ip);
        let pair = Bucket::AccountAndAddress(account.clone(), address);
        let by_address = Bucket::Address(address);
        let by_account = Bucket::Account(account);
        let (pair_tat, address_tat, account_tat) = tokio::try_join!(
            self.arrivals.get(&pair),
            self.arrivals.get(&by_address),
            self.arrivals.get(&by_account),
        )?;
        let mut wait = self
            .wait(&by_address, address_tat, now)
            .max(self.wait(&pair, pair_tat, now));
        // Someone is guessing this account from many places: hold back only the addresses
        // that took part.
        let this_address_failed = pair_tat.is_some_and(|tat| tat > now);
        if this_address_failed {
            wait = wait.max(self.wait(&by_account, account_tat, now));
        }
        if wait > Duration::ZERO {
            Err(Refusal::Wait(RetryAfter::of(wait)))
        } else {
            Ok(())
        }
    }

    /// Counts a failed sign-in against every bucket it belongs to.
    pub async fn record_failure(
        &self,
        username: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let account = normalise(username);
        let address = AddressKey::of(ip);
        let charges = [
            Bucket::AccountAndAddress(account.clone(), address),
            Bucket::Address(address),
            Bucket::Account(account),
        ]
        .map(|bucket| {
            let interval = self.rate(&bucket).emission_interval();
            self.arrivals.charge(bucket, interval, now)
        });
        let [a, b, c] = charges;
        tokio::try_join!(a, b, c).map(|_| ())
    }

    /// May this address start another passkey ceremony? Each one counts, at the rate of
    /// failed sign-ins from one address (`VIGIL_SIGNIN_LIMIT_PER_IP`).
    pub async fn start_ceremony(&self, ip: Option<IpAddr>) -> Result<(), Refusal> {
        let now = self.clock.now();
        let bucket = Bucket::Ceremonies(AddressKey::of(ip));
        let tat = self.arrivals.get(&bucket).await?;
        let wait = self.wait(&bucket, tat, now);
        if wait > Duration::ZERO {
            return Err(Refusal::Wait(RetryAfter::of(wait)));
        }
        let interval = self.rate(&bucket).emission_interval();
        self.arrivals.charge(bucket, interval, now).await?;
        Ok(())
    }

    /// A correct password forgives this address's failures for the account.
    pub async fn record_success(
        &self,
        username: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), StoreError> {
        let pair = Bucket::AccountAndAddress(normalise(username), AddressKey::of(ip));
        self.arrivals.forgive(&pair).await
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

    async fn fail(t: &SignInThrottle, user: &str, from: Option<IpAddr>, times: usize) {
        for _ in 0..times {
            assert!(t.check(user, from).await.is_ok());
            t.record_failure(user, from).await.expect("in memory");
        }
    }

    #[tokio::test]
    async fn successes_never_count() {
        let (t, _) = throttle(SignInLimits::default());
        for _ in 0..100 {
            assert!(t.check("ada", ip("198.51.100.1")).await.is_ok());
            t.record_success("ada", ip("198.51.100.1"))
                .await
                .expect("in memory");
        }
    }

    #[tokio::test]
    async fn one_address_guessing_one_account_is_slowed_then_forgiven() {
        let (t, clock) = throttle(SignInLimits::default());
        let attacker = ip("198.51.100.66");
        fail(&t, "Ada", attacker, 5).await;
        let refused = t.check("ada", attacker).await;
        assert!(
            matches!(refused, Err(Refusal::Wait(RetryAfter(s))) if (1..=12).contains(&s)),
            "{refused:?}"
        );
        // The owner, elsewhere, is not affected.
        assert!(t.check("ada", ip("203.0.113.5")).await.is_ok());
        // One failure is forgiven every 12 seconds.
        clock.advance(Duration::seconds(12));
        assert!(t.check("ada", attacker).await.is_ok());
    }

    #[tokio::test]
    async fn many_addresses_guessing_one_account_never_lock_out_a_clean_address() {
        let limits = SignInLimits {
            per_account: Rate::per_hour(nonzero(10)),
            ..SignInLimits::default()
        };
        let (t, _) = throttle(limits);
        for i in 0..10 {
            fail(&t, "ada", ip(&format!("198.51.100.{i}")), 1).await;
        }
        // The account's bucket is full: the addresses that failed are held back...
        assert!(t.check("ada", ip("198.51.100.3")).await.is_err());
        // ...and the owner at home is not.
        assert!(t.check("ada", ip("203.0.113.5")).await.is_ok());
        // A new address that fails once joins the held-back ones.
        t.record_failure("ada", ip("192.0.2.1"))
            .await
            .expect("in memory");
        assert!(t.check("ada", ip("192.0.2.1")).await.is_err());
    }

    #[tokio::test]
    async fn one_address_spraying_many_accounts_is_slowed() {
        let (t, _) = throttle(SignInLimits::default());
        let sprayer = ip("198.51.100.9");
        for i in 0..30 {
            fail(&t, &format!("user{i}"), sprayer, 1).await;
        }
        assert!(t.check("somebody-else", sprayer).await.is_err());
        assert!(t.check("somebody-else", ip("198.51.100.10")).await.is_ok());
    }

    #[tokio::test]
    async fn ipv6_addresses_count_per_64() {
        let (t, _) = throttle(SignInLimits::default());
        for i in 0..5 {
            fail(&t, "ada", ip(&format!("2001:db8:1:2::{i:x}")), 1).await;
        }
        assert!(t.check("ada", ip("2001:db8:1:2:ffff::1")).await.is_err());
        assert!(t.check("ada", ip("2001:db8:1:3::1")).await.is_ok());
    }

    #[tokio::test]
    async fn a_success_forgives_the_address_for_that_account() {
        let (t, _) = throttle(SignInLimits::default());
        let home = ip("203.0.113.5");
        fail(&t, "ada", home, 4).await;
        t.record_success("ada", home).await.expect("in memory");
        fail(&t, "ada", home, 5).await;
    }
}
