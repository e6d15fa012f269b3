//! The session payloads shared by server and browser. Times are RFC 3339 UTC on the wire.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::phase::Deadlines;
use crate::policy::{PolicyError, TimeoutPolicy};

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// Records written before roles existed are of ordinary users.
    #[serde(default)]
    pub role: Role,
}

/// What a user may do, and which idle policy their sessions get (SPEC §8).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[default]
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "user" => Some(Self::User),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// The policy as the browser learns it; the browser has no timing constants of its own.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    pub idle_timeout_secs: i64,
    pub warning_secs: i64,
    pub absolute_timeout_secs: i64,
    pub heartbeat_secs: i64,
    /// The lifetime a "remember me" sign-in gets; stated on the sign-in page (only the
    /// public policy carries it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remember_absolute_secs: Option<i64>,
}

impl From<TimeoutPolicy> for PolicyInfo {
    fn from(policy: TimeoutPolicy) -> Self {
        Self {
            idle_timeout_secs: policy.idle_timeout().whole_seconds(),
            warning_secs: policy.warning_before().whole_seconds(),
            absolute_timeout_secs: policy.absolute_timeout().whole_seconds(),
            heartbeat_secs: policy.heartbeat_interval().whole_seconds(),
            remember_absolute_secs: None,
        }
    }
}

impl TryFrom<PolicyInfo> for TimeoutPolicy {
    type Error = PolicyError;

    fn try_from(info: PolicyInfo) -> Result<Self, Self::Error> {
        TimeoutPolicy::new(
            Duration::seconds(info.idle_timeout_secs),
            Duration::seconds(info.warning_secs),
            Duration::seconds(info.absolute_timeout_secs),
            Duration::seconds(info.heartbeat_secs),
        )
    }
}

/// The key a user's local copies are encrypted under (AES-256-GCM), derived by the server
/// and handed over only in authenticated answers. The browser holds it in memory only.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalKey {
    /// Which derivation made it; stored beside each entry it encrypts.
    pub version: u32,
    /// 32 bytes, base64 without padding.
    pub key: String,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: UserSummary,
    /// A public identifier of the session (not the secret session id).
    pub session_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub idle_expires_at: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub warn_at: OffsetDateTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub server_now: OffsetDateTime,
    pub policy: PolicyInfo,
    /// The key of this user's local copies; absent where it must not travel (between tabs
    /// through storage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_key: Option<LocalKey>,
}

impl SessionInfo {
    /// The deadlines in server time.
    pub fn deadlines(&self) -> Deadlines {
        Deadlines {
            idle_expires_at: self.idle_expires_at,
            absolute_expires_at: self.absolute_expires_at,
            warning_before: Duration::seconds(self.policy.warning_secs),
        }
    }

    /// The deadlines on a local clock that reads `local_now` as this response arrives.
    pub fn local_deadlines(&self, local_now: OffsetDateTime) -> Deadlines {
        self.deadlines()
            .shifted_for_skew(self.server_now, local_now)
    }
}

/// The answer to an API client's sign-in or refresh.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    pub session: SessionInfo,
}

/// The answer to `refresh`: the new session state, and a new token only for bearer clients
/// (browsers get theirs in the cookie).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResponse {
    #[serde(flatten)]
    pub session: SessionInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn sample() -> SessionInfo {
        let now = datetime!(2026-05-01 12:00 UTC);
        SessionInfo {
            user: UserSummary {
                id: 1,
                username: "ada".into(),
                display_name: "Ada".into(),
                role: Default::default(),
            },
            session_id: "abc".into(),
            created_at: now,
            last_activity_at: now,
            idle_expires_at: now + Duration::minutes(30),
            absolute_expires_at: now + Duration::hours(8),
            warn_at: now + Duration::minutes(25),
            server_now: now,
            policy: TimeoutPolicy::default().into(),
            local_key: None,
        }
    }

    #[test]
    fn times_are_rfc3339_on_the_wire_and_round_trip() {
        let info = sample();
        let json = serde_json::to_value(&info).unwrap_or_default();
        assert_eq!(json["idle_expires_at"], "2026-05-01T12:30:00Z");
        assert_eq!(json["policy"]["heartbeat_secs"], 60);
        let back: Option<SessionInfo> = serde_json::from_value(json).ok();
        assert_eq!(back, Some(info));
    }

    #[test]
    fn refresh_response_is_session_info_plus_optional_token() {
        let body = RefreshResponse {
            session: sample(),
            access_token: None,
            token_type: None,
            expires_in: None,
        };
        let json = serde_json::to_value(&body).unwrap_or_default();
        assert_eq!(json["session_id"], "abc");
        assert!(json.get("access_token").is_none());
    }

    #[test]
    fn policy_info_converts_back_to_a_validated_policy() {
        let info = PolicyInfo::from(TimeoutPolicy::default());
        assert_eq!(TimeoutPolicy::try_from(info), Ok(TimeoutPolicy::default()));
        let broken = PolicyInfo {
            warning_secs: 4000,
            ..info
        };
        assert!(TimeoutPolicy::try_from(broken).is_err());
    }
}
