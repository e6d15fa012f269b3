//! The session payloads shared by server and browser. Times are RFC 3339 UTC on the wire.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::phase::Deadlines;
use crate::policy::{PolicyError, TimeoutPolicy};

/// The signed-in user, as answers and the session's record show them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user's database id (the token's `sub`).
    pub id: i64,
    /// The name signed in with.
    pub username: String,
    /// The name the app greets the user by.
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
    /// An ordinary user; the default.
    #[default]
    User,
    /// Sessions get the administrators' idle timeout (`VIGIL_ADMIN_IDLE_TIMEOUT`), never longer
    /// than an ordinary user's.
    Admin,
}

impl Role {
    /// The role's name on the wire, in the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Admin => "admin",
        }
    }

    /// The role a name stands for (surrounding blanks ignored); `None` for any other name.
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
    /// Inactivity that ends a session, in seconds.
    pub idle_timeout_secs: i64,
    /// How long before expiry the warning shows, in seconds.
    pub warning_secs: i64,
    /// The longest a session lasts from sign-in, in seconds.
    pub absolute_timeout_secs: i64,
    /// How often an active browser reports activity, in seconds.
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
    /// Which version of the user's key this is; stored beside each entry it encrypts. A
    /// password change or reset moves it on.
    pub version: u32,
    /// 32 bytes, base64 without padding.
    pub key: String,
    /// The version before, while copies encrypted under it may remain in the browser: they
    /// are read with it once and written again under the current key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired: Option<RetiredKey>,
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKey")
            .field("version", &self.version)
            .field("retired", &self.retired)
            .finish_non_exhaustive()
    }
}

/// A user's previous local-copy key, only for reading what was written under it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetiredKey {
    /// Which version of the user's key this was.
    pub version: u32,
    /// 32 bytes, base64 without padding.
    pub key: String,
}

impl std::fmt::Debug for RetiredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetiredKey")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// A session's state as the server sees it: the answer to every session poll, sign-in and
/// refresh.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Whose session it is.
    pub user: UserSummary,
    /// A public identifier of the session (not the secret session id).
    pub session_id: String,
    /// When the user signed in.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The last activity the server counted; the idle deadline runs from it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// When the session ends without further activity.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub idle_expires_at: OffsetDateTime,
    /// When the session ends whatever the activity.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub absolute_expires_at: OffsetDateTime,
    /// When the warning starts: the earlier deadline less the warning period.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub warn_at: OffsetDateTime,
    /// The server's clock when it answered, so the browser can correct for clock skew.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub server_now: OffsetDateTime,
    /// The policy this session lives by (it depends on role and "remember me").
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

impl SessionInfo {
    /// This answer as JSON, byte for byte what `serde_json` writes for it (the tests hold
    /// the two to that), written directly: it is the body of every session poll, and the
    /// serializer's escaping scan over its 20 keys and six timestamps, none of which can
    /// need escaping, was a quarter of that request's cost in the process. `None` where
    /// `serde_json` would fail: a timestamp RFC 3339 cannot express.
    pub fn to_json(&self) -> Option<Vec<u8>> {
        let mut out = json::Out(Vec::with_capacity(640));
        let user = &self.user;
        out.raw("{\"user\":{\"id\":");
        out.int(user.id);
        out.raw(",\"username\":");
        out.string(&user.username);
        out.raw(",\"display_name\":");
        out.string(&user.display_name);
        out.raw(",\"role\":\"");
        out.raw(user.role.as_str());
        out.raw("\"},\"session_id\":");
        out.string(&self.session_id);
        for (key, at) in [
            (",\"created_at\":\"", self.created_at),
            ("\",\"last_activity_at\":\"", self.last_activity_at),
            ("\",\"idle_expires_at\":\"", self.idle_expires_at),
            ("\",\"absolute_expires_at\":\"", self.absolute_expires_at),
            ("\",\"warn_at\":\"", self.warn_at),
            ("\",\"server_now\":\"", self.server_now),
        ] {
            out.raw(key);
            out.bytes(crate::timestamp::Formatted::new(at)?.as_bytes());
        }
        let policy = &self.policy;
        out.raw("\",\"policy\":{\"idle_timeout_secs\":");
        out.int(policy.idle_timeout_secs);
        out.raw(",\"warning_secs\":");
        out.int(policy.warning_secs);
        out.raw(",\"absolute_timeout_secs\":");
        out.int(policy.absolute_timeout_secs);
        out.raw(",\"heartbeat_secs\":");
        out.int(policy.heartbeat_secs);
        if let Some(secs) = policy.remember_absolute_secs {
            out.raw(",\"remember_absolute_secs\":");
            out.int(secs);
        }
        out.raw("}");
        if let Some(key) = &self.local_key {
            out.raw(",\"local_key\":{\"version\":");
            out.int(key.version);
            out.raw(",\"key\":");
            out.string(&key.key);
            if let Some(retired) = &key.retired {
                out.raw(",\"retired\":{\"version\":");
                out.int(retired.version);
                out.raw(",\"key\":");
                out.string(&retired.key);
                out.raw("}");
            }
            out.raw("}");
        }
        out.raw("}");
        Some(out.0)
    }
}

/// Writing JSON text directly, as `serde_json` writes it.
mod json {
    pub struct Out(pub Vec<u8>);

    impl Out {
        /// Text that is JSON already.
        pub fn raw(&mut self, text: &str) {
            self.bytes(text.as_bytes());
        }

        /// Bytes that are JSON text already.
        pub fn bytes(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }

        pub fn int(&mut self, n: impl itoa::Integer) {
            self.raw(itoa::Buffer::new().format(n));
        }

        /// A string value: as it is when nothing in it needs escaping (the usual case,
        /// checked without stopping early so the check runs in wide steps), otherwise
        /// through `serde_json`'s escaping.
        pub fn string(&mut self, text: &str) {
            let needs_escape = text.bytes().fold(false, |any, b| {
                any | (b < 0x20) | (b == b'"') | (b == b'\\')
            });
            if needs_escape {
                // Writing to a Vec cannot fail, and a `str` always serializes.
                let _ = serde_json::to_writer(&mut self.0, text);
            } else {
                self.0.push(b'"');
                self.raw(text);
                self.0.push(b'"');
            }
        }
    }
}

/// The answer to an API client's sign-in or refresh.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The signed access token, to send as `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires (refresh before then).
    pub expires_in: i64,
    /// The session the token belongs to.
    pub session: SessionInfo,
}

/// The answer to `refresh`: the new session state, and a new token only for bearer clients
/// (browsers get theirs in the cookie).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshResponse {
    /// The session after the refresh.
    #[serde(flatten)]
    pub session: SessionInfo,
    /// The new access token; bearer clients only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// `Bearer` when there is a token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Seconds until the new token expires, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
}

impl RefreshResponse {
    /// Reads the answer as serde's flattening does, in two passes over the bytes (the session,
    /// then the token fields, each pass skipping the other's keys). Flattening buffers every
    /// key before reading the session from the buffer, which would compile a third reader of
    /// the session's twenty fields into the browser beside the two it needs anyway.
    pub fn from_json(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        #[derive(Deserialize)]
        struct Token {
            #[serde(default)]
            access_token: Option<String>,
            #[serde(default)]
            token_type: Option<String>,
            #[serde(default)]
            expires_in: Option<i64>,
        }
        let session = serde_json::from_slice(bytes)?;
        let token: Token = serde_json::from_slice(bytes)?;
        Ok(Self {
            session,
            access_token: token.access_token,
            token_type: token.token_type,
            expires_in: token.expires_in,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
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
    fn the_direct_json_is_what_serde_writes_for_the_sample() {
        let mut info = sample();
        assert_eq!(info.to_json(), serde_json::to_vec(&info).ok());
        info.local_key = Some(LocalKey {
            version: 2,
            key: "k".repeat(43),
            retired: Some(RetiredKey {
                version: 1,
                key: "r".repeat(43),
            }),
        });
        info.policy.remember_absolute_secs = Some(2_592_000);
        info.user.display_name = "Ada \"the\" \\ Countess\n\u{7f}é".into();
        assert_eq!(info.to_json(), serde_json::to_vec(&info).ok());
    }

    #[test]
    fn the_direct_json_refuses_what_serde_refuses() {
        let mut info = sample();
        info.warn_at = datetime!(-0001-12-31 23:00 UTC);
        assert!(serde_json::to_vec(&info).is_err());
        assert_eq!(info.to_json(), None);
    }

    fn arbitrary_time() -> impl Strategy<Value = OffsetDateTime> {
        // Years 0000 to 9999, with and without fractions of a second, and a few offsets.
        (
            -62_167_219_200i64..253_402_300_800,
            0u32..1_000_000_000,
            0u8..4,
            -1439i32..1440,
        )
            .prop_map(|(secs, nanos, shape, offset)| {
                let at =
                    OffsetDateTime::from_unix_timestamp(secs).unwrap_or(OffsetDateTime::UNIX_EPOCH);
                match shape {
                    0 => at,
                    1 => at.replace_nanosecond(nanos).unwrap_or(at),
                    2 => at
                        .replace_millisecond((nanos / 1_000_000) as u16)
                        .unwrap_or(at),
                    _ => time::UtcOffset::from_whole_seconds(offset * 60)
                        .ok()
                        .and_then(|o| at.checked_to_offset(o))
                        .unwrap_or(at),
                }
            })
    }

    fn arbitrary_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z0-9 \"\\\\\u{0}-\u{1f}\u{7f}é€😀]{0,40}"
        ]
    }

    fn arbitrary_info() -> impl Strategy<Value = SessionInfo> {
        (
            (
                any::<i64>(),
                arbitrary_text(),
                arbitrary_text(),
                any::<bool>(),
                arbitrary_text(),
            ),
            proptest::collection::vec(arbitrary_time(), 6),
            (
                any::<i64>(),
                any::<i64>(),
                any::<i64>(),
                any::<i64>(),
                any::<Option<i64>>(),
            ),
            proptest::option::of((
                any::<u32>(),
                arbitrary_text(),
                proptest::option::of((any::<u32>(), arbitrary_text())),
            )),
        )
            .prop_map(
                |((id, username, display_name, admin, session_id), times, p, key)| SessionInfo {
                    user: UserSummary {
                        id,
                        username,
                        display_name,
                        role: if admin { Role::Admin } else { Role::User },
                    },
                    session_id,
                    created_at: times[0],
                    last_activity_at: times[1],
                    idle_expires_at: times[2],
                    absolute_expires_at: times[3],
                    warn_at: times[4],
                    server_now: times[5],
                    policy: PolicyInfo {
                        idle_timeout_secs: p.0,
                        warning_secs: p.1,
                        absolute_timeout_secs: p.2,
                        heartbeat_secs: p.3,
                        remember_absolute_secs: p.4,
                    },
                    local_key: key.map(|(version, key, retired)| LocalKey {
                        version,
                        key,
                        retired: retired.map(|(version, key)| RetiredKey { version, key }),
                    }),
                },
            )
    }

    proptest! {
        #[test]
        fn the_direct_json_is_byte_for_byte_what_serde_writes(info in arbitrary_info()) {
            prop_assert_eq!(info.to_json(), serde_json::to_vec(&info).ok());
        }

        #[test]
        fn a_refresh_answer_reads_as_serde_reads_it(
            info in arbitrary_info(),
            token in proptest::option::of(("[ -~]{0,12}", -3i64..1_000_000)),
        ) {
            let body = RefreshResponse {
                session: info,
                access_token: token.as_ref().map(|(text, _)| text.clone()),
                token_type: token.as_ref().map(|_| "Bearer".to_owned()),
                expires_in: token.map(|(_, secs)| secs),
            };
            let json = serde_json::to_vec(&body).unwrap_or_default();
            let by_serde = serde_json::from_slice::<RefreshResponse>(&json).ok();
            prop_assert_eq!(RefreshResponse::from_json(&json).ok(), by_serde.clone());
            prop_assert_eq!(by_serde, Some(body));
        }
    }

    #[test]
    fn a_refresh_answer_refuses_what_serde_refuses() {
        for json in [
            &br#"{"session_id":"abc"}"#[..],
            br#"{"access_token":7}"#,
            b"[]",
            b"{",
        ] {
            assert!(RefreshResponse::from_json(json).is_err());
            assert!(serde_json::from_slice::<RefreshResponse>(json).is_err());
        }
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
