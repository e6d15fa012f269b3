//! The server's implementation of the app's `AuthBackend`: what each endpoint does once the
//! request reached it. Protected methods find the verified session in the request
//! extensions, put there by `auth::require_session`.

use std::sync::Arc;

use app::api::{AuthBackend, Credentials, Reply};
use async_trait::async_trait;
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue};
use time::OffsetDateTime;
use vigil::session_info::RefreshResponse;
use vigil::{ErrorCode, PolicyInfo, Problem, SessionInfo, TokenResponse, UserSummary};

use crate::audit::{AuditEvent, AuditKind};
use crate::auth::{deadline_headers, fingerprint};
use crate::cookies;
use crate::rate_limit::{RetryAfter, SignInLimiter};
use crate::session::{ClientRequest, SessionRecord};
use crate::session_service::{store_unavailable, Authenticated, CredentialKind, SessionService};
use crate::token::IssuedToken;
use crate::users::{UserError, UserRepository};

#[derive(Debug, Clone)]
pub struct VigilBackend {
    sessions: SessionService,
    users: UserRepository,
    limiter: Arc<SignInLimiter>,
}

type Result<T> = std::result::Result<Reply<T>, Problem>;

impl VigilBackend {
    pub fn new(
        sessions: SessionService,
        users: UserRepository,
        limiter: Arc<SignInLimiter>,
    ) -> Self {
        Self {
            sessions,
            users,
            limiter,
        }
    }

    async fn audit(&self, event: AuditEvent<'_>) {
        self.sessions
            .audit()
            .record(event, self.sessions.now())
            .await;
    }

    fn authenticated(request: &Parts) -> Option<&Authenticated> {
        request.extensions.get::<Authenticated>()
    }

    fn info(&self, record: &SessionRecord) -> SessionInfo {
        let policy = self.sessions.policy();
        let deadlines = record.deadlines(policy);
        SessionInfo {
            user: record.user.clone(),
            session_id: record.id.public_id(),
            created_at: record.created_at,
            last_activity_at: record.last_activity_at,
            idle_expires_at: record.idle_expires_at,
            absolute_expires_at: record.absolute_expires_at,
            warn_at: deadlines.warn_at(),
            server_now: self.sessions.now(),
            policy: (*policy).into(),
        }
    }

    fn headers_for(&self, record: &SessionRecord) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let deadlines = record.deadlines(self.sessions.policy());
        deadline_headers(&deadlines, self.sessions.now(), &mut headers);
        headers
    }

    fn cookie_headers(&self, record: &SessionRecord, token: &IssuedToken) -> HeaderMap {
        let mut headers = self.headers_for(record);
        let max_age = record.retain_until() - self.sessions.now();
        cookies::set_session_cookie(&mut headers, &token.token, max_age);
        headers
    }

    /// Validates the form of the credentials, then checks them; one answer for unknown users
    /// and wrong passwords.
    async fn sign_in(
        &self,
        request: &Parts,
        credentials: Credentials,
    ) -> std::result::Result<(SessionRecord, IssuedToken), Problem> {
        if credentials.username.trim().is_empty() {
            return Err(Problem::invalid_field("username", "Enter your username."));
        }
        if credentials.password.is_empty() {
            return Err(Problem::invalid_field("password", "Enter your password."));
        }
        let client = ClientRequest::of(request).summary();
        let ip = client.ip.as_deref().and_then(|ip| ip.parse().ok());
        if let Err(RetryAfter(seconds)) = self.limiter.check(&credentials.username, ip) {
            self.audit(
                AuditEvent::new(AuditKind::SignInThrottled)
                    .username(&credentials.username)
                    .client(&client),
            )
            .await;
            let mut problem = Problem::new(
                ErrorCode::RateLimited,
                "Too many sign-in attempts. Wait before trying again.",
            );
            problem.retry_after = Some(seconds);
            return Err(problem);
        }
        let user = match self
            .users
            .verify(&credentials.username, &credentials.password)
            .await
        {
            Ok(Some(user)) => user,
            Ok(None) => {
                self.audit(
                    AuditEvent::new(AuditKind::SignInFailed)
                        .username(&credentials.username)
                        .client(&client),
                )
                .await;
                return Err(Problem::new(
                    ErrorCode::InvalidCredentials,
                    "The username or password is not correct.",
                ));
            }
            Err(err) => return Err(user_store_problem(err)),
        };
        let (record, token) = self
            .sessions
            .start(
                &user.summary(),
                fingerprint(&request.headers),
                client.clone(),
            )
            .await
            .map_err(|e| e.to_problem(self.sessions.policy()))?;
        self.audit(
            AuditEvent::new(AuditKind::SignIn)
                .user(user.id)
                .username(user.username.as_str())
                .session(&record.id)
                .client(&client),
        )
        .await;
        Ok((record, token))
    }
}

/// Only reachable if the router lost its authentication layer: refuse, never serve.
fn no_session() -> Problem {
    Problem::new(
        ErrorCode::Unauthenticated,
        "This endpoint requires a session.",
    )
}

fn user_store_problem(err: UserError) -> Problem {
    tracing::error!(error = %err, "user store error");
    match err {
        UserError::Database(_) => store_unavailable(),
        _ => Problem::new(
            ErrorCode::InternalError,
            "The account could not be checked.",
        ),
    }
}

#[async_trait]
impl AuthBackend for VigilBackend {
    async fn login(&self, request: &Parts, credentials: Credentials) -> Result<SessionInfo> {
        let (record, token) = self.sign_in(request, credentials).await?;
        Ok(Reply::with_headers(
            self.info(&record),
            self.cookie_headers(&record, &token),
        ))
    }

    async fn token(&self, request: &Parts, credentials: Credentials) -> Result<TokenResponse> {
        let (record, token) = self.sign_in(request, credentials).await?;
        let body = TokenResponse {
            expires_in: expires_in(&token, self.sessions.now()),
            access_token: token.token,
            token_type: "Bearer".into(),
            session: self.info(&record),
        };
        Ok(Reply::with_headers(body, self.headers_for(&record)))
    }

    async fn refresh(&self, request: &Parts) -> Result<RefreshResponse> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        let (record, token) = self
            .sessions
            .refresh(auth, ClientRequest::of(request))
            .await
            .map_err(|e| e.to_problem(self.sessions.policy()))?;
        let session = self.info(&record);
        Ok(match auth.credential {
            CredentialKind::Cookie => Reply::with_headers(
                RefreshResponse {
                    session,
                    access_token: None,
                    token_type: None,
                    expires_in: None,
                },
                self.cookie_headers(&record, &token),
            ),
            CredentialKind::Bearer => Reply::with_headers(
                RefreshResponse {
                    session,
                    expires_in: Some(expires_in(&token, self.sessions.now())),
                    access_token: Some(token.token),
                    token_type: Some("Bearer".into()),
                },
                self.headers_for(&record),
            ),
        })
    }

    async fn logout(&self, request: &Parts) -> Result<()> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        self.sessions
            .logout(auth, ClientRequest::of(request))
            .await
            .map_err(|e| e.to_problem(self.sessions.policy()))?;
        let mut headers = HeaderMap::new();
        cookies::clear_session_cookie(&mut headers);
        // "cookies", not "storage": preserved drafts of other users live in storage.
        headers.insert(
            HeaderName::from_static("clear-site-data"),
            HeaderValue::from_static("\"cookies\""),
        );
        Ok(Reply::with_headers((), headers))
    }

    async fn session_info(&self, request: &Parts) -> Result<SessionInfo> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        Ok(Reply::new(self.info(&auth.record)))
    }

    async fn me(&self, request: &Parts) -> Result<UserSummary> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        Ok(Reply::new(auth.record.user.clone()))
    }

    fn policy(&self) -> PolicyInfo {
        (*self.sessions.policy()).into()
    }
}

fn expires_in(token: &IssuedToken, now: OffsetDateTime) -> i64 {
    (token.expires_at - now).whole_seconds().max(0)
}
