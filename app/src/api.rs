//! The HTTP API of SPEC §3 as server functions at fixed JSON paths.
//!
//! Each body is a thin adapter: it takes the server's [`AuthBackend`] from context, hands it
//! the request, and copies the headers it returns (cookies, deadlines) onto the response.
//! Authentication of the protected endpoints happens before these run, in one server layer.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::{Json, JsonEncoding, Post};
use server_fn::error::{FromServerFnError, ServerFnErrorErr};
use vigil::session_info::RefreshResponse;
use vigil::{ErrorCode, PolicyInfo, Problem, TokenResponse, UserSummary};

#[cfg(feature = "ssr")]
pub use backend::{AuthBackend, Reply};

/// A problem response as a server-function error: the body is exactly the RFC 9457 object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(transparent)]
#[error(transparent)]
pub struct ApiError(pub Problem);

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self(problem)
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let problem = match value {
            ServerFnErrorErr::Request(detail) => Problem::new(ErrorCode::NetworkError, detail),
            // On the server these mean the request body was unreadable; in the browser, that
            // the response was.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(detail) | ServerFnErrorErr::Args(detail) => {
                validation_problem(&detail)
            }
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::MissingArg(field) => Problem::new(
                ErrorCode::ValidationFailed,
                format!("The field `{field}` is required."),
            )
            .with_field(field),
            other => Problem::new(ErrorCode::InternalError, other.to_string()),
        };
        Self(problem)
    }
}

/// Turns a JSON decoding message into a `validation_failed` problem naming the field.
#[cfg(feature = "ssr")]
fn validation_problem(detail: &str) -> Problem {
    let field = detail
        .split_once("field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(field, _)| field.to_owned())
        .unwrap_or_else(|| "body".to_owned());
    Problem::new(
        ErrorCode::ValidationFailed,
        format!("The request body is not valid: {detail}"),
    )
    .with_field(field)
}

/// Answers that are a session, as JSON: a session is written by
/// [`vigil::SessionInfo::to_json`] (the body of every session poll, without the serializer's
/// escaping scan) and read with serde; a refresh answer (the session and, for bearer clients,
/// a token) is read by [`RefreshResponse::from_json`].
pub struct SessionEncoding;

impl server_fn::ContentType for SessionEncoding {
    const CONTENT_TYPE: &'static str = JsonEncoding::CONTENT_TYPE;
}

impl server_fn::FormatType for SessionEncoding {
    const FORMAT_TYPE: server_fn::Format = JsonEncoding::FORMAT_TYPE;
}

impl server_fn::Encodes<vigil::SessionInfo> for SessionEncoding {
    type Error = serde_json::Error;

    fn encode(output: &vigil::SessionInfo) -> Result<server_fn::Bytes, Self::Error> {
        match output.to_json() {
            Some(json) => Ok(json.into()),
            // The same refusal serde gives (a timestamp RFC 3339 cannot express).
            None => <JsonEncoding as server_fn::Encodes<_>>::encode(output),
        }
    }
}

impl server_fn::Decodes<vigil::SessionInfo> for SessionEncoding {
    type Error = serde_json::Error;

    fn decode(bytes: server_fn::Bytes) -> Result<vigil::SessionInfo, Self::Error> {
        <JsonEncoding as server_fn::Decodes<_>>::decode(bytes)
    }
}

impl server_fn::Encodes<RefreshResponse> for SessionEncoding {
    type Error = serde_json::Error;

    fn encode(output: &RefreshResponse) -> Result<server_fn::Bytes, Self::Error> {
        <JsonEncoding as server_fn::Encodes<_>>::encode(output)
    }
}

impl server_fn::Decodes<RefreshResponse> for SessionEncoding {
    type Error = serde_json::Error;

    /// Without serde's flattening (see [`RefreshResponse::from_json`]).
    fn decode(bytes: server_fn::Bytes) -> Result<RefreshResponse, Self::Error> {
        RefreshResponse::from_json(&bytes)
    }
}

/// A session answer in a POST body.
pub type SessionJson = Post<SessionEncoding>;

/// In the OpenAPI document: the body of the endpoints that take no arguments, an empty
/// object (or no body at all).
#[cfg(feature = "ssr")]
#[derive(utoipa::ToSchema)]
pub struct Empty {}

/// In the OpenAPI document: the answer of an endpoint with nothing to say, JSON `null`.
#[cfg(feature = "ssr")]
pub struct Nothing;

#[cfg(feature = "ssr")]
impl utoipa::PartialSchema for Nothing {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Null)
            .into()
    }
}

#[cfg(feature = "ssr")]
impl utoipa::ToSchema for Nothing {}

#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// Not blank.
    #[cfg_attr(feature = "ssr", schema(pattern = "\\S"))]
    pub username: String,
    #[cfg_attr(feature = "ssr", schema(min_length = 1))]
    pub password: String,
    /// "Remember me": a longer lifetime and a cookie that outlives the browser.
    #[serde(default)]
    pub remember: bool,
}

/// Never prints the password, so credentials can be logged or put in an error safely.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("remember", &self.remember)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Credentials;

    #[test]
    fn debug_output_never_shows_the_password() {
        let credentials = Credentials {
            username: "ada".into(),
            password: "correct horse battery".into(),
            remember: false,
        };
        let shown = format!("{credentials:?}");
        assert!(shown.contains("ada") && !shown.contains("horse"), "{shown}");
    }
}

/// Browser sign-in: sets the session cookie and returns the session.
#[cfg_attr(feature = "ssr", utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body(content = Credentials, content_type = "application/json"),
    responses((status = 200, description = "Signed in: the session, and its token in the `__Host-vigil-session` cookie (Set-Cookie)", body = vigil::SessionInfo))))]
#[server(prefix = "/api", endpoint = "auth/login", input = Json, output = SessionJson)]
pub async fn login(
    username: String,
    password: String,
    #[server(default)] remember: bool,
) -> Result<vigil::SessionInfo, ApiError> {
    let credentials = Credentials {
        username,
        password,
        remember,
    };
    backend::call(|b, parts| b.login(parts, credentials)).await
}

/// API-client sign-in: returns a bearer token and sets no cookie.
#[cfg_attr(feature = "ssr", utoipa::path(post, path = "/api/auth/token", tag = "auth",
    request_body(content = Credentials, content_type = "application/json"),
    responses((status = 200, description = "Signed in: a bearer token and the session (no cookie; `remember` is ignored)", body = TokenResponse))))]
#[server(prefix = "/api", endpoint = "auth/token", input = Json, output = Json)]
pub async fn token(username: String, password: String) -> Result<TokenResponse, ApiError> {
    let credentials = Credentials {
        username,
        password,
        remember: false,
    };
    backend::call(|b, parts| b.token(parts, credentials)).await
}

/// Extends the session (moves the idle deadline) and rotates the token.
#[cfg_attr(feature = "ssr", utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    request_body(content = Option<Empty>, content_type = "application/json"),
    responses((status = 200, description = "Extended: the session, and a new token (bearer clients in `access_token`, browsers in the cookie)", body = RefreshResponse))))]
#[server(prefix = "/api", endpoint = "auth/refresh", input = Json, output = SessionJson)]
pub async fn refresh() -> Result<RefreshResponse, ApiError> {
    backend::call(|b, parts| b.refresh(parts)).await
}

/// Ends the session and clears the cookie.
#[cfg_attr(feature = "ssr", utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    request_body(content = Option<Empty>, content_type = "application/json"),
    responses((status = 200, description = "Signed out: the cookie is cleared (with Clear-Site-Data: \"cookies\")", body = inline(Nothing)))))]
#[server(prefix = "/api", endpoint = "auth/logout", input = Json, output = Json)]
pub async fn logout() -> Result<(), ApiError> {
    backend::call(|b, parts| b.logout(parts)).await
}

/// Reads the session state. Passive: never moves the idle deadline.
#[cfg_attr(feature = "ssr", utoipa::path(post, path = "/api/auth/session-info", tag = "auth",
    request_body(content = Option<Empty>, content_type = "application/json"),
    responses((status = 200, description = "The session and its deadlines (never extends them)", body = vigil::SessionInfo))))]
#[server(prefix = "/api", endpoint = "auth/session-info", input = Json, output = SessionJson)]
pub async fn session_info() -> Result<vigil::SessionInfo, ApiError> {
    backend::call(|b, parts| b.session_info(parts)).await
}

/// The signed-in user. Passive.
#[cfg_attr(feature = "ssr", utoipa::path(post, path = "/api/auth/me", tag = "auth",
    request_body(content = Option<Empty>, content_type = "application/json"),
    responses((status = 200, description = "The signed-in user (never extends the session)", body = UserSummary))))]
#[server(prefix = "/api", endpoint = "auth/me", input = Json, output = Json)]
pub async fn me() -> Result<UserSummary, ApiError> {
    backend::call(|b, parts| b.me(parts)).await
}

/// The timeout policy, public, so the sign-in page can state it before anyone signs in.
#[cfg_attr(feature = "ssr", utoipa::path(post, path = "/api/auth/policy", tag = "auth",
    request_body(content = Option<Empty>, content_type = "application/json"),
    responses((status = 200, description = "The timeout policy", body = PolicyInfo))))]
#[server(prefix = "/api", endpoint = "auth/policy", input = Json, output = Json)]
pub async fn policy() -> Result<PolicyInfo, ApiError> {
    backend::call(|b, _parts| Box::pin(async move { Ok(Reply::new(b.policy())) })).await
}

#[cfg(feature = "ssr")]
mod backend {
    use super::{ApiError, Credentials};
    use http::request::Parts;
    use http::HeaderMap;
    use leptos::prelude::*;
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use vigil::session_info::RefreshResponse;
    use vigil::{ErrorCode, PolicyInfo, Problem, SessionInfo, TokenResponse, UserSummary};

    /// A response body plus the headers the server wants on it.
    #[derive(Debug)]
    pub struct Reply<T> {
        pub body: T,
        pub headers: HeaderMap,
    }

    impl<T> Reply<T> {
        pub fn new(body: T) -> Self {
            Self {
                body,
                headers: HeaderMap::new(),
            }
        }

        pub fn with_headers(body: T, headers: HeaderMap) -> Self {
            Self { body, headers }
        }
    }

    pub type BackendResult<T> = Result<Reply<T>, Problem>;

    /// The server-side authentication service behind the server functions. The server
    /// implements it; protected methods find the verified session in the request extensions.
    #[async_trait::async_trait]
    pub trait AuthBackend: Send + Sync + 'static {
        async fn login(
            &self,
            request: &Parts,
            credentials: Credentials,
        ) -> BackendResult<SessionInfo>;
        async fn token(
            &self,
            request: &Parts,
            credentials: Credentials,
        ) -> BackendResult<TokenResponse>;
        async fn refresh(&self, request: &Parts) -> BackendResult<RefreshResponse>;
        async fn logout(&self, request: &Parts) -> BackendResult<()>;
        async fn session_info(&self, request: &Parts) -> BackendResult<SessionInfo>;
        async fn me(&self, request: &Parts) -> BackendResult<UserSummary>;
        fn policy(&self) -> PolicyInfo;
    }

    type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// Runs one backend call with the request parts and applies the returned headers.
    pub(super) async fn call<T, F>(f: F) -> Result<T, ApiError>
    where
        F: for<'a> FnOnce(&'a dyn AuthBackend, &'a Parts) -> BoxFuture<'a, BackendResult<T>>,
    {
        let missing = |what: &str| {
            ApiError(Problem::new(
                ErrorCode::InternalError,
                format!("The server is missing its {what}."),
            ))
        };
        let backend = use_context::<Arc<dyn AuthBackend>>()
            .ok_or_else(|| missing("authentication service"))?;
        // Shared by the server's dispatcher; a copy where a function is called another way.
        let parts = use_context::<Arc<Parts>>()
            .or_else(|| use_context::<Parts>().map(Arc::new))
            .ok_or_else(|| missing("request context"))?;
        let reply = f(backend.as_ref(), &parts).await.map_err(ApiError)?;
        if !reply.headers.is_empty() {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                for (name, value) in reply.headers.iter() {
                    response.append_header(name.clone(), value.clone());
                }
            }
        }
        Ok(reply.body)
    }
}
