//! RFC 9457 problem details and Vigil's error codes.
//!
//! Each code has one page at [`ErrorCode::type_uri`] that the app serves; its title,
//! explanation and resolution steps live here so the server response, the page and the
//! browser's handling all read the same source.

use serde::{Deserialize, Serialize};

use crate::phase::ExpiryReason;
use crate::work::StoredDraft;

/// Media type of every error body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// The `error_code` of a problem: what went wrong, and so what the client should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request carried no credentials at all.
    Unauthenticated,
    /// Sign-in refused: the username and password do not match an account.
    InvalidCredentials,
    /// The token is not genuine, or was presented by another client than the one that
    /// signed in.
    SessionInvalid,
    /// The session passed its idle or absolute deadline; `reason` says which.
    SessionExpired,
    /// The access token ran out but its session lives: refresh it.
    TokenExpired,
    /// The session was ended on purpose: signed out, revoked, or closed on token reuse.
    SessionRevoked,
    /// A genuine token whose session the server has no record of.
    SessionNotFound,
    /// A state-changing request from another site.
    CsrfRejected,
    /// Too many sign-in attempts for the account or the address; see `retry_after`.
    RateLimited,
    /// An unreadable body (400) or a field with the wrong form (422, see `field`).
    ValidationFailed,
    /// The session store cannot be reached; requests are refused rather than let through.
    StoreUnavailable,
    /// A body over the size limit.
    PayloadTooLarge,
    /// A state-changing request whose body is not `application/json`.
    UnsupportedMediaType,
    /// Too many sign-ins are being checked at once; the client may retry shortly.
    Overloaded,
    /// `If-Match` names a version of a draft that is no longer current.
    EditConflict,
    /// A change to a draft that was submitted (submitted drafts are read-only).
    DraftSubmitted,
    /// A sensitive action needs a sign-in within `VIGIL_REAUTH_WITHIN`.
    ReauthenticationRequired,
    /// Sign-in refused: the user already has as many sessions as allowed.
    SessionLimitReached,
    /// No API endpoint at that path.
    NotFound,
    /// The endpoint exists but not for that method (state-changing endpoints are POST only).
    MethodNotAllowed,
    /// A passkey ceremony that is unknown, already finished, or older than five minutes.
    PasskeyCeremonyExpired,
    /// The passkey's answer did not verify, or names no passkey of the expected user.
    PasskeyRejected,
    /// The authenticator's passkey is already registered.
    PasskeyExists,
    /// An unexpected server fault; still answered as a problem, never a bare 500.
    InternalError,
    /// Never sent by the server: the browser could not reach it.
    NetworkError,
    /// A code this build does not know (a newer server); treated like `internal_error`.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// Every code but [`Unknown`](Self::Unknown), which stands for codes this build does not
    /// know.
    pub const ALL: [ErrorCode; 25] = [
        Self::Unauthenticated,
        Self::InvalidCredentials,
        Self::SessionInvalid,
        Self::SessionExpired,
        Self::TokenExpired,
        Self::SessionRevoked,
        Self::SessionNotFound,
        Self::CsrfRejected,
        Self::RateLimited,
        Self::ValidationFailed,
        Self::StoreUnavailable,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Overloaded,
        Self::EditConflict,
        Self::DraftSubmitted,
        Self::ReauthenticationRequired,
        Self::SessionLimitReached,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::PasskeyCeremonyExpired,
        Self::PasskeyRejected,
        Self::PasskeyExists,
        Self::InternalError,
        Self::NetworkError,
    ];

    /// The code as it is written on the wire (`snake_case`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::SessionInvalid => "session_invalid",
            Self::SessionExpired => "session_expired",
            Self::TokenExpired => "token_expired",
            Self::SessionRevoked => "session_revoked",
            Self::SessionNotFound => "session_not_found",
            Self::CsrfRejected => "csrf_rejected",
            Self::RateLimited => "rate_limited",
            Self::ValidationFailed => "validation_failed",
            Self::StoreUnavailable => "store_unavailable",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Overloaded => "overloaded",
            Self::EditConflict => "edit_conflict",
            Self::DraftSubmitted => "draft_submitted",
            Self::ReauthenticationRequired => "reauthentication_required",
            Self::SessionLimitReached => "session_limit_reached",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PasskeyCeremonyExpired => "passkey_ceremony_expired",
            Self::PasskeyRejected => "passkey_rejected",
            Self::PasskeyExists => "passkey_exists",
            Self::InternalError => "internal_error",
            Self::NetworkError => "network_error",
            Self::Unknown => "unknown",
        }
    }

    /// The session behind the request is over (or there was none): signing in again is
    /// the way on. `token_expired` is not among them: its session lives.
    pub fn ends_session(self) -> bool {
        matches!(
            self,
            Self::Unauthenticated
                | Self::SessionInvalid
                | Self::SessionExpired
                | Self::SessionRevoked
                | Self::SessionNotFound
        )
    }

    /// The code a problem page's path segment (or its wire name) names; `None` if none does.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|code| code.slug() == slug || code.as_str() == slug)
    }

    /// The path segment of the problem page: the code with hyphens.
    pub fn slug(self) -> String {
        self.as_str().replace('_', "-")
    }

    /// The problem `type`: a page of this app explaining the code.
    pub fn type_uri(self) -> String {
        format!("/problems/{}", self.slug())
    }

    /// The HTTP status. `validation_failed` is 400 for unreadable bodies; 422 is chosen
    /// per response for well-formed bodies with invalid fields.
    pub fn status(self) -> u16 {
        match self {
            Self::Unauthenticated
            | Self::InvalidCredentials
            | Self::SessionInvalid
            | Self::SessionExpired
            | Self::TokenExpired
            | Self::SessionRevoked
            | Self::SessionNotFound
            | Self::PasskeyRejected => 401,
            Self::CsrfRejected | Self::ReauthenticationRequired => 403,
            Self::SessionLimitReached | Self::DraftSubmitted | Self::PasskeyExists => 409,
            Self::PasskeyCeremonyExpired => 400,
            Self::RateLimited => 429,
            Self::ValidationFailed => 400,
            Self::StoreUnavailable | Self::Overloaded => 503,
            Self::PayloadTooLarge => 413,
            Self::EditConflict => 412,
            Self::UnsupportedMediaType => 415,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::InternalError | Self::Unknown => 500,
            Self::NetworkError => 0,
        }
    }

    /// A short human summary: the problem's `title` and the heading of its page.
    pub fn title(self) -> &'static str {
        match self {
            Self::Unauthenticated => "Sign-in required",
            Self::InvalidCredentials => "Wrong username or password",
            Self::SessionInvalid => "Session credentials are not valid",
            Self::SessionExpired => "Session expired",
            Self::TokenExpired => "Access token expired",
            Self::SessionRevoked => "Session ended",
            Self::SessionNotFound => "Session not found",
            Self::CsrfRejected => "Cross-site request refused",
            Self::RateLimited => "Too many sign-in attempts",
            Self::ValidationFailed => "The request is not valid",
            Self::StoreUnavailable => "Session service temporarily unavailable",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "JSON required",
            Self::Overloaded => "Server busy",
            Self::EditConflict => "Changed elsewhere",
            Self::DraftSubmitted => "Draft already submitted",
            Self::ReauthenticationRequired => "Confirm it is you",
            Self::SessionLimitReached => "Too many sessions",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::PasskeyCeremonyExpired => "Passkey request expired",
            Self::PasskeyRejected => "Passkey not accepted",
            Self::PasskeyExists => "Passkey already registered",
            Self::InternalError | Self::Unknown => "Unexpected server error",
            Self::NetworkError => "The server could not be reached",
        }
    }

    /// What happened, in plain words, for the problem page.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::Unauthenticated => {
                "The request carried no credentials: no session cookie and no Authorization header."
            }
            Self::InvalidCredentials => {
                "The username and password did not match an account. For your protection Vigil \
                 does not say which of the two was wrong."
            }
            Self::SessionInvalid => {
                "The credentials could not be verified: the token is malformed, its signature or \
                 claims are wrong, or it was presented by a different client than the one that \
                 signed in."
            }
            Self::SessionExpired => {
                "The session ended on the server because there was no activity for the idle \
                 timeout (reason \"idle\"), or because it reached its absolute lifetime (reason \
                 \"absolute\"). Drafts kept in this browser are not lost."
            }
            Self::TokenExpired => {
                "The access token's own lifetime ran out, but the session behind it is still \
                 alive."
            }
            Self::SessionRevoked => {
                "The session was ended deliberately: signed out, revoked by an administrator, or \
                 closed because an old token was reused after it had been replaced."
            }
            Self::SessionNotFound => {
                "The token is genuine, but the server has no record of its session: it was \
                 swept long ago or never existed on this deployment."
            }
            Self::CsrfRejected => {
                "A state-changing request came from another site. Vigil only accepts such \
                 requests from its own pages."
            }
            Self::RateLimited => {
                "There were too many sign-in attempts for this account or from this address in a \
                 short time."
            }
            Self::ValidationFailed => {
                "The request body could not be read as JSON, or a field is missing or has the \
                 wrong form. The response names the field."
            }
            Self::StoreUnavailable => {
                "The session store could not be reached, so Vigil cannot check sessions right \
                 now. It refuses rather than letting requests through unchecked."
            }
            Self::PayloadTooLarge => {
                "The request body is larger than this endpoint accepts. Nothing was changed."
            }
            Self::UnsupportedMediaType => {
                "A request that changes something must send its body as JSON \
                 (Content-Type: application/json). Other types, such as the text/plain a \
                 cross-site form can send, are refused before anything is read."
            }
            Self::Overloaded => {
                "Vigil checks passwords with a deliberately slow hash and only a few at a time. \
                 Too many sign-ins are waiting right now; nothing was decided about yours."
            }
            Self::EditConflict => {
                "The draft was changed since the version this change was based on: on another \
                 device or in another tab. Nothing was overwritten; the answer carries the \
                 current draft in `current`."
            }
            Self::DraftSubmitted => {
                "The draft was submitted, here or on another device, and a submitted draft can \
                 no longer change. Nothing was overwritten; the answer carries the submitted \
                 draft in `current`."
            }
            Self::ReauthenticationRequired => {
                "This action can change who has access to the account (changing the password, \
                 signing out other devices, deleting every draft), so it needs a recent sign-in. \
                 The last one was too long ago. Nothing was changed."
            }
            Self::SessionLimitReached => {
                "The account is already signed in on as many devices as this deployment allows, \
                 and it is set to refuse new sign-ins rather than end the oldest session."
            }
            Self::NotFound => {
                "There is no API endpoint at this path, or no resource with this id that you \
                 can see."
            }
            Self::MethodNotAllowed => {
                "The endpoint exists, but not for this HTTP method. Nothing changes state \
                 through a GET: the session endpoints take POST, and drafts take GET, PUT, \
                 DELETE and POST as documented."
            }
            Self::PasskeyCeremonyExpired => {
                "A passkey's answer is accepted only for the request it answers, once, within \
                 five minutes. This one was already used, is older than that, or was never \
                 issued. Nothing was changed."
            }
            Self::PasskeyRejected => {
                "The passkey's answer could not be verified: it is not registered with this \
                 account, it was made for another site, or the device did not confirm it was \
                 you. Nothing was changed."
            }
            Self::PasskeyExists => {
                "This device's passkey is already registered, to this account or another. A \
                 passkey belongs to one account."
            }
            Self::InternalError | Self::Unknown => {
                "Something went wrong on the server that Vigil did not anticipate."
            }
            Self::NetworkError => {
                "The browser could not reach the server. Your work stays saved in this browser."
            }
        }
    }

    /// Resolution steps: first for a person in the browser, then for an API client.
    pub fn resolution(self) -> (&'static str, &'static str) {
        match self {
            Self::Unauthenticated => (
                "Sign in.",
                "Obtain a token from POST /api/auth/token and send it as Authorization: Bearer.",
            ),
            Self::InvalidCredentials => (
                "Check the username and password and try again.",
                "Do not retry automatically with the same credentials.",
            ),
            Self::SessionInvalid => (
                "Sign in again.",
                "Discard the token and obtain a new one; send the same X-Client-Fingerprint on \
                 every request if you gave one at sign-in.",
            ),
            Self::SessionExpired => (
                "Sign in again; your drafts come back after you do.",
                "Obtain a new token. The reason member says which limit passed and \
                 session_timeout gives it in seconds.",
            ),
            Self::TokenExpired => (
                "Nothing to do: the app refreshes and retries for you.",
                "Call POST /api/auth/refresh, then retry the request once with the new token.",
            ),
            Self::SessionRevoked => (
                "Sign in again. If you did not sign out yourself, change your password.",
                "Discard the token; obtain a new one.",
            ),
            Self::SessionNotFound => ("Sign in again.", "Discard the token; obtain a new one."),
            Self::CsrfRejected => (
                "Use Vigil from its own address rather than through another site.",
                "Send state-changing requests same-origin, or without cookies using a bearer token.",
            ),
            Self::RateLimited => (
                "Wait a moment before trying again.",
                "Wait for the number of seconds in the Retry-After header.",
            ),
            Self::ValidationFailed => (
                "Correct the highlighted field.",
                "Send a JSON body with the fields named in the documentation; field names the \
                 one at fault.",
            ),
            Self::StoreUnavailable => (
                "Wait a moment; your work is kept in this browser meanwhile.",
                "Retry after the number of seconds in the Retry-After header.",
            ),
            Self::PayloadTooLarge => (
                "Shorten the text and try again.",
                "Send a smaller body; the documentation gives each endpoint's limit.",
            ),
            Self::UnsupportedMediaType => (
                "Use the app's own buttons and forms.",
                "Send the body as JSON with Content-Type: application/json.",
            ),
            Self::Overloaded => (
                "Wait a moment and sign in again.",
                "Retry after the number of seconds in the Retry-After header.",
            ),
            Self::EditConflict => (
                "Choose which version to keep, or keep both; nothing is lost.",
                "Fetch the current version (it is in `current`), merge, and send again with \
                 If-Match naming its version.",
            ),
            Self::DraftSubmitted => (
                "Start a new draft if you want to change what you submitted; the submitted one \
                 stays as it was.",
                "Do not resend the change: read the submitted draft in `current`, and create a \
                 new draft (PUT with If-None-Match: *) for further changes.",
            ),
            Self::ReauthenticationRequired => (
                "Enter your password when asked; the action then goes ahead.",
                "Sign in again (POST /api/auth/token or /api/auth/login) and repeat the request \
                 with the new credentials.",
            ),
            Self::SessionLimitReached => (
                "Sign out on another device (Sessions page), or ask an administrator to end one \
                 of your sessions, then sign in again.",
                "End a session with DELETE /api/sessions/{id} from a signed-in client, or reuse \
                 an existing token.",
            ),
            Self::NotFound => (
                "Check the address.",
                "Check the path against the endpoint table in the documentation.",
            ),
            Self::MethodNotAllowed => (
                "Use the app's own buttons and forms.",
                "Use the method the documentation names, with Content-Type: application/json.",
            ),
            Self::PasskeyCeremonyExpired => (
                "Choose the passkey button again; your work is kept.",
                "Ask for new options (the options endpoint) and answer them within five minutes.",
            ),
            Self::PasskeyRejected => (
                "Try again with a passkey of this account, or use your password.",
                "Do not retry the same answer; start a new ceremony.",
            ),
            Self::PasskeyExists => (
                "Use it to sign in; remove it from its account first to register it here.",
                "List the account's passkeys with GET /api/account/passkeys.",
            ),
            Self::InternalError | Self::Unknown => (
                "Try again; if it persists, report the request id shown.",
                "Retry with backoff and report the request_id.",
            ),
            Self::NetworkError => (
                "Check your connection; Vigil retries by itself.",
                "Retry with backoff.",
            ),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// In the OpenAPI document: the codes the server sends (not the browser's own
/// `network_error`, nor `unknown`, which stands for a code a newer server might add).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        let sent = Self::ALL
            .into_iter()
            .filter(|code| *code != Self::NetworkError)
            .map(Self::as_str);
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(sent))
            .description(Some(
                "What went wrong; `type` is the URI of a page that explains it and what to do.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

/// An RFC 9457 problem details object with Vigil's extension members.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error_code}: {detail}")]
pub struct Problem {
    /// The `type` member: the URI of the page explaining the code ([`ErrorCode::type_uri`]).
    #[serde(rename = "type")]
    pub type_uri: String,
    /// The code's title, the same for every occurrence.
    pub title: String,
    /// The HTTP status, repeated in the body.
    pub status: u16,
    /// What went wrong this time, in words.
    pub detail: String,
    /// The request path the problem is about; filled in by the server when it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// When the server answered, RFC 3339 in UTC; filled in by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// The request's id, to find it in the server's logs; `None` if the request had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What went wrong, as a code clients can act on.
    pub error_code: ErrorCode,
    /// `session_expired`: which limit passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<ExpiryReason>,
    /// `session_expired`: the limit that passed, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_timeout: Option<i64>,
    /// `session_revoked`: who or what ended the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_because: Option<crate::events::EndedBecause>,
    /// `validation_failed`: the field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `rate_limited`, `store_unavailable` and `overloaded`: seconds to wait (also in
    /// `Retry-After`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    /// `edit_conflict`: the draft as it is now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Box<StoredDraft>>,
}

impl Problem {
    /// A problem for `code` with its own type, title and status, and no extension members.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            type_uri: code.type_uri(),
            title: code.title().to_owned(),
            status: code.status(),
            detail: detail.into(),
            instance: None,
            timestamp: None,
            request_id: None,
            error_code: code,
            reason: None,
            session_timeout: None,
            ended_because: None,
            field: None,
            retry_after: None,
            current: None,
        }
    }

    /// `401 session_expired` naming the deadline that passed and its length in seconds.
    pub fn session_expired(reason: ExpiryReason, timeout_secs: i64) -> Self {
        let detail = match reason {
            ExpiryReason::Idle => "The session ended after a period of inactivity.",
            ExpiryReason::Absolute => "The session reached its maximum lifetime.",
        };
        Self {
            reason: Some(reason),
            session_timeout: Some(timeout_secs),
            ..Self::new(ErrorCode::SessionExpired, detail)
        }
    }

    /// `401 session_revoked`: the session was ended on purpose; `because` says by whom or
    /// what, when the server knows.
    pub fn session_revoked(because: Option<crate::events::EndedBecause>) -> Self {
        Self {
            ended_because: because,
            ..Self::new(ErrorCode::SessionRevoked, "This session has been ended.")
        }
    }

    /// A field-level validation failure on a readable body (422).
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            status: 422,
            field: Some(field.into()),
            ..Self::new(ErrorCode::ValidationFailed, detail)
        }
    }

    /// `412 edit_conflict`, carrying the draft as it is now.
    pub fn edit_conflict(detail: impl Into<String>, current: StoredDraft) -> Self {
        Self {
            current: Some(Box::new(current)),
            ..Self::new(ErrorCode::EditConflict, detail)
        }
    }

    /// A change refused because the draft was submitted; `current` is the submitted draft.
    pub fn draft_submitted(detail: impl Into<String>, current: StoredDraft) -> Self {
        Self {
            current: Some(Box::new(current)),
            ..Self::new(ErrorCode::DraftSubmitted, detail)
        }
    }

    /// Overrides the code's usual status, where one code covers several (400 or 422).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Names the member of the request the problem is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Tells the client when to try again (the `Retry-After` header and member).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_rfc9457_members_and_extensions() {
        let problem = Problem::session_expired(ExpiryReason::Idle, 1800);
        let json = serde_json::to_value(&problem).unwrap_or_default();
        assert_eq!(json["type"], "/problems/session-expired");
        assert_eq!(json["status"], 401);
        assert_eq!(json["error_code"], "session_expired");
        assert_eq!(json["reason"], "idle");
        assert_eq!(json["session_timeout"], 1800);
        assert!(json.get("field").is_none());
    }

    #[test]
    fn every_code_round_trips_through_its_slug_and_json() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_slug(&code.slug()), Some(code));
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert!(!code.explanation().is_empty());
        }
    }

    #[test]
    fn unknown_codes_from_a_newer_server_do_not_fail_decoding() {
        let body = r#"{"type":"/problems/x","title":"x","status":418,"detail":"x","error_code":"brand_new"}"#;
        let problem: Problem = serde_json::from_str(body)
            .unwrap_or_else(|_| Problem::new(ErrorCode::InternalError, ""));
        assert_eq!(problem.error_code, ErrorCode::Unknown);
        assert_eq!(problem.status, 418);
    }
}
