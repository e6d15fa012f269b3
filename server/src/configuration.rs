//! Typed settings, parsed once from the environment (and `.env` when present).

use std::num::NonZeroU32;
use std::path::PathBuf;

use thiserror::Error;
use time::Duration;
use vigil::policy::MAX_TIMEOUT;
use vigil::{PolicyError, TimeoutPolicy};

use crate::http::client_address::{ProxyListError, TrustedProxies};
use crate::identity::throttle::{Rate, SignInLimits};
use crate::identity::users::HashingLimits;
use crate::redis_connection::RedisTarget;
use crate::session::SecretSource;
use crate::session::{LimitPolicy, SessionLimit, SessionPolicies, SessionRules};

/// Where the server runs: production refuses weak secrets and test hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Everything the server is configured with, in sections, each parsed by its own reader.
#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub sessions: SessionSettings,
    pub storage: StorageSettings,
    pub tokens: TokenSettings,
    pub sign_in: SignInSettings,
    pub network: NetworkSettings,
    /// How long audit rows are kept (`VIGIL_AUDIT_RETENTION`).
    pub audit_retention: Duration,
    /// Lets the end-to-end suite move the server clock forward (never in production).
    pub test_clock: bool,
}

/// The rules of a session.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// The policy of an ordinary session (what the sign-in page states).
    pub policy: TimeoutPolicy,
    /// Per-role and remember-me policies, the per-user limit and the step-up window.
    pub rules: SessionRules,
}

/// Where things are kept, and how long a store may take to answer.
#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Where session records (and, with Redis, the sign-in limits) live.
    pub session_store: SessionStoreChoice,
    /// The most any one call to the database or Redis may take before the request is
    /// answered `503 store_unavailable` (`VIGIL_STORE_TIMEOUT`).
    pub store_timeout: Duration,
    /// What every Redis key starts with (`VIGIL_REDIS_PREFIX`), so several deployments can
    /// share one Redis.
    pub redis_prefix: String,
}

/// What the access tokens are signed with and say about themselves.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub secret: SecretSource,
    pub issuer: String,
    pub audience: String,
}

/// How hard a sign-in may be tried, and how many password checks run at once.
#[derive(Debug, Clone)]
pub struct SignInSettings {
    pub limits: SignInLimits,
    /// How many password hashes run at once, and how many may wait.
    pub hashing: HashingLimits,
}

/// What the server accepts from the network.
#[derive(Debug, Clone)]
pub struct NetworkSettings {
    /// Proxies whose `X-Forwarded-For` names the client (`VIGIL_TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// How long a client may take to send its request headers, and its body.
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    /// Where the site is served (`VIGIL_LISTEN_ADDR`; without it `LEPTOS_SITE_ADDR`, or
    /// 127.0.0.1:3000).
    pub listen_addr: Option<std::net::SocketAddr>,
    /// Where `/metrics` is served instead of the main address (`VIGIL_METRICS_ADDR`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The address people reach the site at (`VIGIL_PUBLIC_URL`): the origin passkeys are
    /// bound to, and its host their relying party id.
    pub public_url: PublicUrl,
    /// How many event streams an instance holds, per user (`VIGIL_EVENTS_PER_USER`) and in
    /// all (`VIGIL_EVENTS_MAX`).
    pub events: crate::events::Limits,
}

/// `VIGIL_PUBLIC_URL`: an `https://` origin, or `http://localhost[:port]` in development.
/// Browsers offer passkeys only in a secure context, and bind each to the site's host, so
/// an IP address or a plain-HTTP host could register none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(url::Url);

impl PublicUrl {
    pub const DEFAULT: &'static str = "http://localhost:3000";

    pub fn parse(raw: &str) -> Result<Self, ConfigError> {
        let url =
            url::Url::parse(raw.trim()).map_err(|_| ConfigError::PublicUrl(raw.to_owned()))?;
        let host = match url.host() {
            Some(url::Host::Domain(host)) => host.to_owned(),
            _ => return Err(ConfigError::PublicUrl(raw.to_owned())),
        };
        let secure = match url.scheme() {
            "https" => true,
            "http" => host == "localhost" || host.ends_with(".localhost"),
            _ => false,
        };
        let origin_only = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !secure || !origin_only || !url.username().is_empty() {
            return Err(ConfigError::PublicUrl(raw.to_owned()));
        }
        Ok(Self(url))
    }

    pub fn url(&self) -> &url::Url {
        &self.0
    }

    /// The relying party id: the host.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or("localhost")
    }
}

/// `VIGIL_SESSION_STORE`: `database` (the default: the database of `VIGIL_DATABASE_URL`),
/// `redis://…` / `rediss://…` (or `unix:///path/to/redis.sock`), or several URLs separated
/// by commas for the seed nodes of a Redis Cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionStoreChoice {
    Database,
    Redis(RedisTarget),
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{name} is not a duration like `30m`, `45s` or `8h`: {source}")]
    Duration {
        name: &'static str,
        #[source]
        source: humantime::DurationError,
    },
    #[error("{name} is too large (at most ten years)")]
    DurationOutOfRange { name: &'static str },
    #[error("the timeout policy is inconsistent: {0}")]
    Policy(#[from] PolicyError),
    #[error("VIGIL_ENV must be `development` or `production`, not `{0}`")]
    Environment(String),
    #[error("VIGIL_TEST_CLOCK cannot be enabled in production")]
    TestClockInProduction,
    #[error("VIGIL_JWT_SECRET and VIGIL_JWT_SECRET_FILE are both set; choose one")]
    TwoSecrets,
    #[error("{name} must be a whole number, at least 1")]
    Limit { name: &'static str },
    #[error("production requires VIGIL_JWT_SECRET or VIGIL_JWT_SECRET_FILE")]
    SecretMissingInProduction,
    #[error(
        "VIGIL_DATABASE_URL names a `{0}` database, which this build does not support; \
         use sqlite://PATH (the default is sqlite://data/vigil.db) or postgres://…"
    )]
    UnsupportedDatabase(String),
    #[error(
        "VIGIL_PUBLIC_URL must be the site's origin, https://host[:port] (or \
         http://localhost[:port] in development), not `{0}`"
    )]
    PublicUrl(String),
    #[error("VIGIL_TRUSTED_PROXIES: {0}")]
    TrustedProxies(#[from] ProxyListError),
    #[error(
        "VIGIL_SESSION_STORE must be `database`, a redis://, rediss:// or unix:// URL, or \
         several separated by commas (a Redis Cluster); `{0}` is not one of them"
    )]
    UnsupportedSessionStore(String),
    #[error("VIGIL_REDIS_PREFIX may hold only letters, digits and `-_.:` (at most 64)")]
    RedisPrefix,
    #[error("VIGIL_STORE_TIMEOUT must be between 10ms and 60s")]
    StoreTimeout,
    #[error("VIGIL_SESSION_LIMIT_POLICY must be `evict-oldest` or `refuse`, not `{0}`")]
    LimitPolicy(String),
    #[error("{name} must be an address with a port, like {example}")]
    Address {
        name: &'static str,
        example: &'static str,
    },
}

/// Reads a variable through a lookup function, so tests need not touch the process env.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<F: Fn(&str) -> Option<String>> Env for F {
    fn var(&self, name: &str) -> Option<String> {
        self(name)
    }
}

impl Settings {
    /// Loads `.env` (if any) and then the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_env(&ProcessEnv)
    }

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let vars = Vars(env);
        let environment = match env.var("VIGIL_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => return Err(ConfigError::Environment(other.to_owned())),
        };
        let test_clock = matches!(
            env.var("VIGIL_TEST_CLOCK").as_deref(),
            Some("1") | Some("true") | Some("enabled")
        );
        if test_clock && environment == Environment::Production {
            return Err(ConfigError::TestClockInProduction);
        }
        let storage = StorageSettings::read(&vars)?;
        Ok(Self {
            environment,
            sessions: SessionSettings::read(&vars)?,
            tokens: TokenSettings::read(&vars, environment, &storage.data_dir)?,
            storage,
            sign_in: SignInSettings::read(&vars)?,
            network: NetworkSettings::read(&vars)?,
            audit_retention: vars.duration("VIGIL_AUDIT_RETENTION", Duration::days(90))?,
            test_clock,
        })
    }
}

/// The environment, read as the settings' kinds of value.
struct Vars<'a>(&'a dyn Env);

impl Vars<'_> {
    fn var(&self, name: &str) -> Option<String> {
        self.0.var(name)
    }

    /// A human duration (`30m`, `45s`, `8h`), bounded so that no "now ± duration" can leave
    /// the calendar.
    fn duration(&self, name: &'static str, default: Duration) -> Result<Duration, ConfigError> {
        let Some(raw) = self.var(name) else {
            return Ok(default);
        };
        let std = humantime::parse_duration(raw.trim())
            .map_err(|source| ConfigError::Duration { name, source })?;
        Duration::try_from(std)
            .ok()
            .filter(|d| *d <= MAX_TIMEOUT)
            .ok_or(ConfigError::DurationOutOfRange { name })
    }

    /// A socket address, if set; `example` is shown when it is not one.
    fn address(
        &self,
        name: &'static str,
        example: &'static str,
    ) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.var(name)
            .map(|raw| {
                raw.trim()
                    .parse()
                    .map_err(|_| ConfigError::Address { name, example })
            })
            .transpose()
    }

    /// A count of things held at once (at least one).
    fn size(&self, name: &'static str, default: usize) -> Result<usize, ConfigError> {
        let default = NonZeroU32::try_from(u32::try_from(default).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        Ok(self.count(name, default)?.get() as usize)
    }

    /// A whole number, at least 1.
    fn count(&self, name: &'static str, default: NonZeroU32) -> Result<NonZeroU32, ConfigError> {
        match self.var(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Limit { name }),
        }
    }
}

impl SessionSettings {
    fn read(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let policy = TimeoutPolicy::new(
            vars.duration("VIGIL_IDLE_TIMEOUT", TimeoutPolicy::DEFAULT_IDLE)?,
            vars.duration("VIGIL_WARNING_BEFORE", TimeoutPolicy::DEFAULT_WARNING)?,
            vars.duration("VIGIL_ABSOLUTE_TIMEOUT", TimeoutPolicy::DEFAULT_ABSOLUTE)?,
            vars.duration("VIGIL_HEARTBEAT_INTERVAL", TimeoutPolicy::DEFAULT_HEARTBEAT)?,
        )?;
        let admin_idle = match vars.var("VIGIL_ADMIN_IDLE_TIMEOUT") {
            Some(_) => Some(vars.duration("VIGIL_ADMIN_IDLE_TIMEOUT", policy.idle_timeout())?),
            None => None,
        };
        let policies = SessionPolicies::new(
            policy,
            admin_idle,
            vars.duration(
                "VIGIL_REMEMBER_ABSOLUTE",
                SessionPolicies::DEFAULT_REMEMBER_ABSOLUTE,
            )?,
        )?;
        let limit_policy = match vars.var("VIGIL_SESSION_LIMIT_POLICY") {
            None => LimitPolicy::EvictOldest,
            Some(raw) => {
                LimitPolicy::parse(&raw).ok_or_else(|| ConfigError::LimitPolicy(raw.clone()))?
            }
        };
        let limit = match vars.var("VIGIL_MAX_SESSIONS_PER_USER") {
            None => None,
            Some(_) => Some(SessionLimit {
                max: vars
                    .count("VIGIL_MAX_SESSIONS_PER_USER", NonZeroU32::MIN)?
                    .get(),
                policy: limit_policy,
            }),
        };
        let rules = SessionRules {
            policies,
            limit,
            reauth_within: vars
                .duration("VIGIL_REAUTH_WITHIN", SessionRules::DEFAULT_REAUTH_WITHIN)?,
        };
        Ok(Self { policy, rules })
    }
}

impl StorageSettings {
    fn read(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(vars.var("VIGIL_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = vars.var("VIGIL_DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("vigil.db").display())
        });
        check_database_scheme(&database_url)?;
        let session_store = session_store(vars.var("VIGIL_SESSION_STORE").as_deref())?;
        let store_timeout = vars.duration("VIGIL_STORE_TIMEOUT", Duration::seconds(2))?;
        if !(Duration::milliseconds(10)..=Duration::minutes(1)).contains(&store_timeout) {
            return Err(ConfigError::StoreTimeout);
        }
        let redis_prefix = vars
            .var("VIGIL_REDIS_PREFIX")
            .unwrap_or_else(|| "vigil".into());
        let prefix_ok = !redis_prefix.is_empty()
            && redis_prefix.len() <= 64
            && redis_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
        if !prefix_ok {
            return Err(ConfigError::RedisPrefix);
        }
        Ok(Self {
            data_dir,
            database_url,
            session_store,
            store_timeout,
            redis_prefix,
        })
    }
}

impl TokenSettings {
    fn read(
        vars: &Vars<'_>,
        environment: Environment,
        data_dir: &std::path::Path,
    ) -> Result<Self, ConfigError> {
        let secret = match (
            vars.var("VIGIL_JWT_SECRET"),
            vars.var("VIGIL_JWT_SECRET_FILE"),
        ) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
            (Some(value), None) => SecretSource::Value(value),
            (None, Some(path)) => SecretSource::File(PathBuf::from(path)),
            (None, None) if environment == Environment::Production => {
                return Err(ConfigError::SecretMissingInProduction)
            }
            (None, None) => SecretSource::Generated(data_dir.join("jwt-secret")),
        };
        Ok(Self {
            secret,
            issuer: vars.var("VIGIL_ISSUER").unwrap_or_else(|| "vigil".into()),
            audience: vars.var("VIGIL_AUDIENCE").unwrap_or_else(|| "vigil".into()),
        })
    }
}

impl SignInSettings {
    fn read(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        let defaults = SignInLimits::default();
        let limits = SignInLimits {
            per_account_and_address: Rate::per_minute(vars.count(
                "VIGIL_SIGNIN_LIMIT_PER_ACCOUNT",
                defaults.per_account_and_address.failures,
            )?),
            per_address: Rate::per_minute(
                vars.count("VIGIL_SIGNIN_LIMIT_PER_IP", defaults.per_address.failures)?,
            ),
            per_account: Rate::per_hour(vars.count(
                "VIGIL_SIGNIN_LIMIT_PER_ACCOUNT_HOURLY",
                defaults.per_account.failures,
            )?),
        };
        let hashing_defaults = HashingLimits::default();
        let hashing = HashingLimits {
            concurrent: match vars.var("VIGIL_HASH_CONCURRENCY") {
                None => hashing_defaults.concurrent,
                Some(_) => vars.count("VIGIL_HASH_CONCURRENCY", NonZeroU32::MIN)?.get() as usize,
            },
            queued: match vars.var("VIGIL_HASH_QUEUE") {
                None => hashing_defaults.queued,
                Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Limit {
                    name: "VIGIL_HASH_QUEUE",
                })?,
            },
        };
        Ok(Self { limits, hashing })
    }
}

impl NetworkSettings {
    fn read(vars: &Vars<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_addr: vars.address("VIGIL_LISTEN_ADDR", "127.0.0.1:3000")?,
            trusted_proxies: TrustedProxies::parse(
                &vars.var("VIGIL_TRUSTED_PROXIES").unwrap_or_default(),
            )?,
            header_read_timeout: vars
                .duration("VIGIL_HEADER_READ_TIMEOUT", Duration::seconds(10))?,
            body_read_timeout: vars.duration("VIGIL_BODY_READ_TIMEOUT", Duration::seconds(30))?,
            metrics_addr: vars.address("VIGIL_METRICS_ADDR", "127.0.0.1:9464")?,
            public_url: PublicUrl::parse(
                &vars
                    .var("VIGIL_PUBLIC_URL")
                    .unwrap_or_else(|| PublicUrl::DEFAULT.into()),
            )?,
            events: {
                let defaults = crate::events::Limits::default();
                crate::events::Limits {
                    per_user: vars.size("VIGIL_EVENTS_PER_USER", defaults.per_user)?,
                    per_instance: vars.size("VIGIL_EVENTS_MAX", defaults.per_instance)?,
                }
            },
        })
    }
}

fn session_store(raw: Option<&str>) -> Result<SessionStoreChoice, ConfigError> {
    let raw = match raw.map(str::trim) {
        None | Some("") | Some("database") => return Ok(SessionStoreChoice::Database),
        Some(raw) => raw,
    };
    let urls: Vec<String> = raw.split(',').map(|u| u.trim().to_owned()).collect();
    for url in &urls {
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if !matches!(scheme, "redis" | "rediss" | "redis+unix" | "unix") {
            return Err(ConfigError::UnsupportedSessionStore(shown_scheme(scheme)));
        }
    }
    Ok(SessionStoreChoice::Redis(
        match <[String; 1]>::try_from(urls) {
            Ok([url]) => RedisTarget::Single(url),
            Err(urls) => RedisTarget::Cluster(urls),
        },
    ))
}

/// A URL's scheme, fit to show in an error: never more of the URL than that.
fn shown_scheme(scheme: &str) -> String {
    if !scheme.is_empty()
        && scheme.len() <= 20
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        scheme.to_owned()
    } else {
        "unrecognised".to_owned()
    }
}

/// SQLite and Postgres are built in. A URL of any other kind is refused by its scheme
/// alone, so a password in it is never echoed, and never becomes part of a file name.
fn check_database_scheme(url: &str) -> Result<(), ConfigError> {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    if crate::db::Backend::of(url).is_some() {
        Ok(())
    } else {
        Err(ConfigError::UnsupportedDatabase(shown_scheme(scheme)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    #[test]
    fn defaults_follow_the_spec() {
        let settings = Settings::from_env(&env(&[])).expect("defaults are valid");
        assert_eq!(settings.sessions.policy, TimeoutPolicy::default());
        assert_eq!(settings.environment, Environment::Development);
        assert!(settings
            .storage
            .database_url
            .starts_with("sqlite://data/vigil.db"));
        assert!(matches!(settings.tokens.secret, SecretSource::Generated(_)));
        assert!(!settings.test_clock);
    }

    #[test]
    fn the_public_url_is_a_secure_origin_with_a_host_name() {
        let default = Settings::from_env(&env(&[])).expect("defaults are valid");
        assert_eq!(default.network.public_url.host(), "localhost");
        for good in [
            "https://vigil.example.com",
            "https://vigil.example.com:8443/",
            "http://localhost:3100",
            "http://app.localhost",
        ] {
            assert!(PublicUrl::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "http://vigil.example.com",
            "https://127.0.0.1",
            "http://[::1]:3000",
            "https://vigil.example.com/app",
            "https://user@vigil.example.com",
            "ftp://vigil.example.com",
            "vigil.example.com",
        ] {
            let refused = Settings::from_env(&env(&[("VIGIL_PUBLIC_URL", bad)]));
            assert!(matches!(refused, Err(ConfigError::PublicUrl(_))), "{bad}");
        }
    }

    #[test]
    fn parses_human_durations() {
        let settings = Settings::from_env(&env(&[
            ("VIGIL_IDLE_TIMEOUT", "2m"),
            ("VIGIL_WARNING_BEFORE", "45s"),
            ("VIGIL_ABSOLUTE_TIMEOUT", "1h 30m"),
            ("VIGIL_HEARTBEAT_INTERVAL", "10s"),
        ]))
        .expect("valid");
        assert_eq!(
            settings.sessions.policy.idle_timeout(),
            Duration::minutes(2)
        );
        assert_eq!(
            settings.sessions.policy.warning_before(),
            Duration::seconds(45)
        );
        assert_eq!(
            settings.sessions.policy.absolute_timeout(),
            Duration::minutes(90)
        );
    }

    #[test]
    fn rejects_nonsense_with_the_variable_named() {
        let err = Settings::from_env(&env(&[("VIGIL_IDLE_TIMEOUT", "soon")]));
        assert!(
            matches!(
                err,
                Err(ConfigError::Duration {
                    name: "VIGIL_IDLE_TIMEOUT",
                    ..
                })
            ),
            "{err:?}"
        );
        let err = Settings::from_env(&env(&[("VIGIL_WARNING_BEFORE", "40m")]));
        assert!(matches!(err, Err(ConfigError::Policy(_))));
        let err = Settings::from_env(&env(&[
            ("VIGIL_ENV", "production"),
            ("VIGIL_TEST_CLOCK", "1"),
            ("VIGIL_JWT_SECRET", "x"),
        ]));
        assert!(matches!(err, Err(ConfigError::TestClockInProduction)));
    }

    #[test]
    fn refuses_durations_that_would_overflow_the_calendar() {
        // Once accepted, then every sign-in panicked computing the absolute deadline.
        for name in [
            "VIGIL_ABSOLUTE_TIMEOUT",
            "VIGIL_IDLE_TIMEOUT",
            "VIGIL_AUDIT_RETENTION",
        ] {
            let err = Settings::from_env(&env(&[(name, "9000y")]));
            assert!(
                matches!(err, Err(ConfigError::DurationOutOfRange { name: n }) if n == name),
                "{name}: {err:?}"
            );
        }
    }

    #[test]
    fn reads_the_session_rules() {
        let settings = Settings::from_env(&env(&[
            ("VIGIL_ADMIN_IDLE_TIMEOUT", "10m"),
            ("VIGIL_REMEMBER_ABSOLUTE", "7d"),
            ("VIGIL_REAUTH_WITHIN", "2m"),
            ("VIGIL_MAX_SESSIONS_PER_USER", "3"),
            ("VIGIL_SESSION_LIMIT_POLICY", "refuse"),
            ("VIGIL_METRICS_ADDR", "127.0.0.1:9464"),
        ]))
        .expect("valid");
        let rules = settings.sessions.rules;
        assert_eq!(
            rules
                .policies
                .for_session(vigil::Role::Admin, false)
                .idle_timeout(),
            Duration::minutes(10)
        );
        assert_eq!(
            rules
                .policies
                .for_session(vigil::Role::User, true)
                .absolute_timeout(),
            Duration::days(7)
        );
        assert_eq!(rules.reauth_within, Duration::minutes(2));
        assert_eq!(
            rules.limit,
            Some(SessionLimit {
                max: 3,
                policy: LimitPolicy::Refuse
            })
        );
        assert!(settings.network.metrics_addr.is_some());
        let defaults = Settings::from_env(&env(&[])).expect("valid").sessions.rules;
        assert_eq!(defaults.limit, None);
        assert_eq!(defaults.reauth_within, Duration::minutes(5));
        assert!(matches!(
            Settings::from_env(&env(&[("VIGIL_SESSION_LIMIT_POLICY", "lru")])),
            Err(ConfigError::LimitPolicy(_))
        ));
        assert!(matches!(
            Settings::from_env(&env(&[("VIGIL_MAX_SESSIONS_PER_USER", "0")])),
            Err(ConfigError::Limit { .. })
        ));
        // An admin timeout that leaves no room for the warning is refused at start-up.
        assert!(matches!(
            Settings::from_env(&env(&[("VIGIL_ADMIN_IDLE_TIMEOUT", "4m")])),
            Err(ConfigError::Policy(_))
        ));
    }

    #[test]
    fn production_needs_a_secret() {
        let err = Settings::from_env(&env(&[("VIGIL_ENV", "production")]));
        assert!(matches!(err, Err(ConfigError::SecretMissingInProduction)));
    }

    #[test]
    fn refuses_a_database_this_build_cannot_open_without_echoing_it() {
        let err = Settings::from_env(&env(&[(
            "VIGIL_DATABASE_URL",
            "mysql://user:secret@db.example:3306/vigil",
        )]));
        let message = err.map(|_| ()).map_err(|e| e.to_string());
        assert!(
            matches!(&message, Err(m) if m.contains("`mysql`") && !m.contains("secret")),
            "{message:?}"
        );
        assert!(Settings::from_env(&env(&[(
            "VIGIL_DATABASE_URL",
            "postgres://user:secret@db.example:5432/vigil"
        )]))
        .is_ok());
        assert!(Settings::from_env(&env(&[("VIGIL_DATABASE_URL", "/tmp/x.db")])).is_err());
        assert!(Settings::from_env(&env(&[("VIGIL_DATABASE_URL", "sqlite::memory:")])).is_ok());
    }

    #[test]
    fn reads_the_session_store_without_echoing_a_url() {
        let store = |raw: &str| {
            Settings::from_env(&env(&[("VIGIL_SESSION_STORE", raw)]))
                .map(|s| s.storage.session_store)
        };
        assert_eq!(
            Settings::from_env(&env(&[]))
                .expect("valid")
                .storage
                .session_store,
            SessionStoreChoice::Database
        );
        assert_eq!(
            store("redis://:pw@cache:6379/0").expect("valid"),
            SessionStoreChoice::Redis(RedisTarget::Single("redis://:pw@cache:6379/0".into()))
        );
        assert_eq!(
            store("redis://a:7000, redis://b:7001").expect("valid"),
            SessionStoreChoice::Redis(RedisTarget::Cluster(vec![
                "redis://a:7000".into(),
                "redis://b:7001".into()
            ]))
        );
        let message = store("memcached://user:secret@cache").map_err(|e| e.to_string());
        assert!(
            matches!(&message, Err(m) if m.contains("`memcached`") && !m.contains("secret")),
            "{message:?}"
        );
        assert!(store("redis://a, nonsense").is_err());
    }

    #[test]
    fn the_redis_prefix_cannot_carry_a_hash_tag_and_the_store_timeout_is_bounded() {
        let with = |name: &str, raw: &str| Settings::from_env(&env(&[(name, raw)]));
        assert!(matches!(
            with("VIGIL_REDIS_PREFIX", "a{b}"),
            Err(ConfigError::RedisPrefix)
        ));
        assert!(matches!(
            with("VIGIL_REDIS_PREFIX", ""),
            Err(ConfigError::RedisPrefix)
        ));
        assert_eq!(
            with("VIGIL_REDIS_PREFIX", "staging:vigil")
                .expect("valid")
                .storage
                .redis_prefix,
            "staging:vigil"
        );
        assert!(matches!(
            with("VIGIL_STORE_TIMEOUT", "0s"),
            Err(ConfigError::StoreTimeout)
        ));
        assert_eq!(
            with("VIGIL_STORE_TIMEOUT", "500ms")
                .expect("valid")
                .storage
                .store_timeout,
            Duration::milliseconds(500)
        );
    }

    #[test]
    fn reads_trusted_proxies_and_names_a_bad_entry() {
        let settings = Settings::from_env(&env(&[("VIGIL_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]))
            .expect("valid");
        assert!(settings
            .network
            .trusted_proxies
            .contains("10.1.2.3".parse().expect("ip")));
        let err = Settings::from_env(&env(&[("VIGIL_TRUSTED_PROXIES", "10.0.0.0/33")]));
        assert!(matches!(err, Err(ConfigError::TrustedProxies(_))));
    }
}
