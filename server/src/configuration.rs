//! Typed settings, parsed once from the environment (and `.env` when present).

use std::path::PathBuf;

use thiserror::Error;
use time::Duration;
use vigil::{PolicyError, TimeoutPolicy};

use crate::rate_limit::SignInLimits;
use crate::secret::SecretSource;

/// Where the server runs: production refuses weak secrets and test hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub environment: Environment,
    pub policy: TimeoutPolicy,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub secret: SecretSource,
    /// Lets the end-to-end suite move the server clock forward (never in production).
    pub test_clock: bool,
    pub issuer: String,
    pub audience: String,
    pub sign_in_limits: SignInLimits,
    /// Keep session records in process memory as well (write-through). Only for a store
    /// that no other instance writes: the embedded SQLite default.
    pub session_cache: bool,
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{name} is not a duration like `30m`, `45s` or `8h`: {source}")]
    Duration {
        name: &'static str,
        #[source]
        source: humantime::DurationError,
    },
    #[error("{name} is too large")]
    DurationOutOfRange { name: &'static str },
    #[error("the timeout policy is inconsistent: {0}")]
    Policy(#[from] PolicyError),
    #[error("VIGIL_ENV must be `development` or `production`, not `{0}`")]
    Environment(String),
    #[error("VIGIL_TEST_CLOCK cannot be enabled in production")]
    TestClockInProduction,
    #[error("VIGIL_JWT_SECRET and VIGIL_JWT_SECRET_FILE are both set; choose one")]
    TwoSecrets,
    #[error("{name} must be a whole number of attempts per minute, at least 1")]
    Limit { name: &'static str },
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
        let environment = match env.var("VIGIL_ENV").as_deref() {
            None | Some("development") | Some("dev") => Environment::Development,
            Some("production") | Some("prod") => Environment::Production,
            Some(other) => return Err(ConfigError::Environment(other.to_owned())),
        };
        let duration = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            match env.var(name) {
                None => Ok(default),
                Some(raw) => {
                    let std = humantime::parse_duration(raw.trim())
                        .map_err(|source| ConfigError::Duration { name, source })?;
                    Duration::try_from(std).map_err(|_| ConfigError::DurationOutOfRange { name })
                }
            }
        };
        let policy = TimeoutPolicy::new(
            duration("VIGIL_IDLE_TIMEOUT", TimeoutPolicy::DEFAULT_IDLE)?,
            duration("VIGIL_WARNING_BEFORE", TimeoutPolicy::DEFAULT_WARNING)?,
            duration("VIGIL_ABSOLUTE_TIMEOUT", TimeoutPolicy::DEFAULT_ABSOLUTE)?,
            duration("VIGIL_HEARTBEAT_INTERVAL", TimeoutPolicy::DEFAULT_HEARTBEAT)?,
        )?;
        let data_dir = PathBuf::from(env.var("VIGIL_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = env.var("VIGIL_DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("vigil.db").display())
        });
        let secret = match (
            env.var("VIGIL_JWT_SECRET"),
            env.var("VIGIL_JWT_SECRET_FILE"),
        ) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoSecrets),
            (Some(value), None) => SecretSource::Value(value),
            (None, Some(path)) => SecretSource::File(PathBuf::from(path)),
            (None, None) => SecretSource::Generated(data_dir.join("jwt-secret")),
        };
        let test_clock = matches!(
            env.var("VIGIL_TEST_CLOCK").as_deref(),
            Some("1") | Some("true") | Some("enabled")
        );
        if test_clock && environment == Environment::Production {
            return Err(ConfigError::TestClockInProduction);
        }
        let limit = |name: &'static str, default: std::num::NonZeroU32| match env.var(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse().map_err(|_| ConfigError::Limit { name }),
        };
        let defaults = SignInLimits::default();
        let sign_in_limits = SignInLimits {
            per_account: limit("VIGIL_SIGNIN_LIMIT_PER_ACCOUNT", defaults.per_account)?,
            per_ip: limit("VIGIL_SIGNIN_LIMIT_PER_IP", defaults.per_ip)?,
        };
        let session_cache = !matches!(
            env.var("VIGIL_SESSION_CACHE").as_deref(),
            Some("0") | Some("off") | Some("false")
        );
        Ok(Self {
            environment,
            sign_in_limits,
            session_cache,
            policy,
            database_url,
            data_dir,
            secret,
            test_clock,
            issuer: env.var("VIGIL_ISSUER").unwrap_or_else(|| "vigil".into()),
            audience: env.var("VIGIL_AUDIENCE").unwrap_or_else(|| "vigil".into()),
        })
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
        assert_eq!(settings.policy, TimeoutPolicy::default());
        assert_eq!(settings.environment, Environment::Development);
        assert!(settings.database_url.starts_with("sqlite://data/vigil.db"));
        assert!(matches!(settings.secret, SecretSource::Generated(_)));
        assert!(!settings.test_clock);
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
        assert_eq!(settings.policy.idle_timeout(), Duration::minutes(2));
        assert_eq!(settings.policy.warning_before(), Duration::seconds(45));
        assert_eq!(settings.policy.absolute_timeout(), Duration::minutes(90));
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
        ]));
        assert!(matches!(err, Err(ConfigError::TestClockInProduction)));
    }
}
