//! Which rules a session lives by (SPEC §8): the timeout policy of each kind of session, the
//! per-user limit, and how recent a sign-in a sensitive action needs.

use time::Duration;
use vigil::{PolicyError, Role, TimeoutPolicy};

use super::record::SessionRecord;

/// The timeout policy of every kind of session, fixed at start-up: the configured one, a
/// shorter idle timeout for administrators (`VIGIL_ADMIN_IDLE_TIMEOUT`), and a longer
/// absolute lifetime with "remember me" (`VIGIL_REMEMBER_ABSOLUTE`). Each is validated like
/// the base policy, so a session can never get an inconsistent one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicies {
    /// Indexed by `[admin as usize][remember as usize]`.
    policies: [[TimeoutPolicy; 2]; 2],
}

impl SessionPolicies {
    pub const DEFAULT_REMEMBER_ABSOLUTE: Duration = Duration::days(30);

    pub fn new(
        base: TimeoutPolicy,
        admin_idle: Option<Duration>,
        remember_absolute: Duration,
    ) -> Result<Self, PolicyError> {
        let with = |idle: Duration, absolute: Duration| {
            TimeoutPolicy::new(
                idle,
                base.warning_before(),
                absolute,
                base.heartbeat_interval(),
            )
        };
        let admin_idle = admin_idle
            .unwrap_or(base.idle_timeout())
            .min(base.idle_timeout());
        // "Remember me" lengthens the lifetime; it never shortens it.
        let remembered = remember_absolute.max(base.absolute_timeout());
        Ok(Self {
            policies: [
                [base, with(base.idle_timeout(), remembered)?],
                [
                    with(admin_idle, base.absolute_timeout())?,
                    with(admin_idle, remembered)?,
                ],
            ],
        })
    }

    /// Everyone gets `base`.
    pub fn uniform(base: TimeoutPolicy) -> Self {
        Self {
            policies: [[base; 2]; 2],
        }
    }

    pub fn base(&self) -> &TimeoutPolicy {
        &self.policies[0][0]
    }

    pub fn for_session(&self, role: Role, remember: bool) -> &TimeoutPolicy {
        &self.policies[usize::from(role == Role::Admin)][usize::from(remember)]
    }

    /// The policy a record lives by.
    pub fn of(&self, record: &SessionRecord) -> &TimeoutPolicy {
        self.for_session(record.user.role, record.remember)
    }
}

/// What a sign-in beyond the per-user limit does (`VIGIL_SESSION_LIMIT_POLICY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitPolicy {
    /// End the least recently active session; it answers `session_revoked`.
    EvictOldest,
    /// Refuse the sign-in with `409 session_limit_reached`.
    Refuse,
}

impl LimitPolicy {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "evict-oldest" => Some(Self::EvictOldest),
            "refuse" => Some(Self::Refuse),
            _ => None,
        }
    }
}

/// At most `max` live sessions per user (`VIGIL_MAX_SESSIONS_PER_USER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimit {
    pub max: u32,
    pub policy: LimitPolicy,
}

/// The rules beyond timeouts that the service applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionRules {
    pub policies: SessionPolicies,
    pub limit: Option<SessionLimit>,
    /// How recent a sign-in must be for a sensitive action (`VIGIL_REAUTH_WITHIN`).
    pub reauth_within: Duration,
}

impl SessionRules {
    pub const DEFAULT_REAUTH_WITHIN: Duration = Duration::minutes(5);

    /// The base policy for everyone, no limit, the default step-up window.
    pub fn uniform(base: TimeoutPolicy) -> Self {
        Self {
            policies: SessionPolicies::uniform(base),
            limit: None,
            reauth_within: Self::DEFAULT_REAUTH_WITHIN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_get_the_shorter_idle_timeout_and_remember_me_the_longer_lifetime() {
        let base = TimeoutPolicy::default();
        let policies = SessionPolicies::new(
            base,
            Some(Duration::minutes(10)),
            SessionPolicies::DEFAULT_REMEMBER_ABSOLUTE,
        )
        .expect("consistent");
        assert_eq!(policies.for_session(Role::User, false), &base);
        assert_eq!(
            policies.for_session(Role::Admin, false).idle_timeout(),
            Duration::minutes(10)
        );
        assert_eq!(
            policies.for_session(Role::Admin, false).absolute_timeout(),
            base.absolute_timeout()
        );
        let remembered = policies.for_session(Role::User, true);
        assert_eq!(remembered.absolute_timeout(), Duration::days(30));
        assert_eq!(remembered.idle_timeout(), base.idle_timeout());
        assert_eq!(
            policies.for_session(Role::Admin, true).idle_timeout(),
            Duration::minutes(10)
        );
    }

    #[test]
    fn an_admin_timeout_can_only_shorten_and_must_leave_room_for_the_warning() {
        let base = TimeoutPolicy::default();
        let longer = SessionPolicies::new(base, Some(Duration::hours(2)), Duration::days(1))
            .expect("consistent");
        assert_eq!(
            longer.for_session(Role::Admin, false).idle_timeout(),
            base.idle_timeout()
        );
        assert!(SessionPolicies::new(base, Some(Duration::minutes(4)), Duration::days(1)).is_err());
    }
}
