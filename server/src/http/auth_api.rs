//! The server's implementation of the app's `AuthBackend`: what each endpoint does once the
//! request reached it; signing in with a password or a passkey shares every step here. Protected methods find the verified session in the request
//! extensions, put there by `auth::require_session`.

use std::sync::Arc;

use app::api::{AuthBackend, Credentials, Reply};
use async_trait::async_trait;
use http::request::Parts;
use http::HeaderMap;
use serde::Serialize;
use time::OffsetDateTime;
use vigil::passkeys::PasskeySignIn;
use vigil::session_info::RefreshResponse;
use vigil::{ErrorCode, PolicyInfo, Problem, SessionInfo, TokenResponse, UserSummary};

use crate::audit::{AuditEvent, AuditKind};
use crate::http::auth::{credential, deadline_headers, fingerprint, no_session, presented_cookie};
use crate::http::problem::{self, ApiProblem};
use crate::identity::throttle::{Refusal, SignInThrottle};
use crate::identity::users::Username;
use crate::identity::users::{User, UserRepository};
use crate::passkeys::{PasskeyError, Passkeys};
use crate::session::cookies;
use crate::session::IssuedToken;
use crate::session::{Authenticated, CredentialKind, Refreshed, SessionService};
use crate::session::{ClientRequest, EndReason, SessionRecord};

#[derive(Debug, Clone)]
pub struct VigilBackend {
    sessions: SessionService,
    users: UserRepository,
    throttle: Arc<SignInThrottle>,
    passkeys: Passkeys,
}

type Result<T> = std::result::Result<Reply<T>, Problem>;

/// What a sign-in answers: the session (a browser, its cookie set) or a bearer token.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SignedIn {
    Session(SessionInfo),
    Token(TokenResponse),
}

/// How the user proved who they are, as the audit log tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignInMethod {
    Password,
    Passkey,
}

impl VigilBackend {
    pub fn new(
        sessions: SessionService,
        users: UserRepository,
        throttle: Arc<SignInThrottle>,
        passkeys: Passkeys,
    ) -> Self {
        Self {
            sessions,
            users,
            throttle,
            passkeys,
        }
    }

    fn authenticated(request: &Parts) -> Option<&Authenticated> {
        crate::http::auth::authenticated(request).map(AsRef::as_ref)
    }

    fn info(&self, record: &SessionRecord) -> SessionInfo {
        self.sessions.info(record)
    }

    fn headers_for(&self, record: &SessionRecord) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let deadlines = record.deadlines(self.sessions.policy_of(record));
        deadline_headers(&deadlines, self.sessions.now(), &mut headers);
        headers
    }

    /// With "remember me" the cookie outlives the browser (as long as the record can answer
    /// for it); otherwise it is a browser-session cookie, gone when the browser closes.
    fn cookie_headers(&self, record: &SessionRecord, token: &IssuedToken) -> HeaderMap {
        let mut headers = self.headers_for(record);
        let max_age = record
            .remember
            .then(|| record.retain_until() - self.sessions.now());
        cookies::set_session_cookie(&mut headers, &token.token, max_age);
        headers
    }

    /// The live session this browser's cookie names, if any.
    async fn live_here(&self, request: &Parts) -> Option<SessionRecord> {
        let presented = presented_cookie(request)?;
        let current = self.sessions.authenticate(presented, true).await.ok()?;
        Some(current.record)
    }

    /// Signing in again (after a timeout, or to confirm a sensitive action) from a browser
    /// whose cookie still names a live session of the same user replaces that session: one
    /// device, one session. This is that session, if there is one.
    async fn replaceable(&self, request: &Parts, user_id: i64) -> Option<SessionRecord> {
        self.live_here(request)
            .await
            .filter(|record| record.user.id == user_id)
    }

    /// The user whose live session this browser's cookie names, if it names one.
    async fn signed_in_here(&self, request: &Parts) -> Option<UserSummary> {
        self.live_here(request).await.map(|record| record.user)
    }

    /// Validates the form of the credentials, then checks them; one answer for unknown users
    /// and wrong passwords. A browser's sign-in (`replace`) replaces the session its cookie
    /// names, if it is the same user's.
    async fn sign_in(
        &self,
        request: &Parts,
        credentials: Credentials,
        replace: bool,
    ) -> std::result::Result<(SessionRecord, IssuedToken), Problem> {
        if credentials.username.trim().is_empty() {
            return Err(Problem::invalid_field("username", "Enter your username."));
        }
        if credentials.password.is_empty() {
            return Err(Problem::invalid_field("password", "Enter your password."));
        }
        if !vigil::work::is_storable(&credentials.username) {
            // No account has such a name, and no store could record the attempt.
            return Err(Problem::invalid_field(
                "username",
                "A username cannot hold a NUL character (U+0000).",
            ));
        }
        self.admit(request, &credentials.username).await?;
        let user = match self
            .users
            .verify(&credentials.username, &credentials.password)
            .await
        {
            Ok(Some(user)) => user,
            Ok(None) => {
                self.count_failure(request, &credentials.username, SignInMethod::Password)
                    .await;
                return Err(Problem::new(
                    ErrorCode::InvalidCredentials,
                    "The username or password is not correct.",
                ));
            }
            Err(err) => return Err(ApiProblem::from(err).into_logged()),
        };
        self.forgive(request, &credentials.username).await;
        self.start_session(
            request,
            &user,
            credentials.remember,
            replace,
            SignInMethod::Password,
        )
        .await
    }

    /// Signs in with a passkey's answer (SPEC §9.2) the way a password signs in: the same
    /// limits, session start and answers. Signing in again in place never changes who is
    /// signed in: the passkey must be the named user's or, without a name, that of the user
    /// whose live session this browser's cookie names.
    pub async fn passkey_sign_in(
        &self,
        request: &Parts,
        body: PasskeySignIn,
    ) -> std::result::Result<Reply<SignedIn>, ApiProblem> {
        let credential = Passkeys::assertion(body.credential)?;
        let expected = match body.username.as_deref() {
            Some(name) => Some(Username::parse(name).map_err(|_| {
                Problem::invalid_field("username", "This is not a username anybody could hold.")
            })?),
            None if !body.token => self
                .signed_in_here(request)
                .await
                .and_then(|user| Username::parse(&user.username).ok()),
            None => None,
        };
        let passkey = self.passkeys.identify(&credential).await?;
        let owner = match &passkey {
            Some(passkey) => self.users.find(passkey.user_id).await?,
            None => None,
        }
        // A disabled account signs in no more with a passkey than with a password.
        .filter(|owner| !owner.disabled)
        .filter(|owner| expected.as_ref().is_none_or(|name| *name == owner.username));
        // Whose limits the attempt counts against: the passkey's owner, else the name the
        // client expected, else the address alone.
        let account = owner
            .as_ref()
            .map(|owner| owner.username.as_str())
            .or(expected.as_ref().map(Username::as_str))
            .unwrap_or_default()
            .to_owned();
        self.admit(request, &account).await?;
        let passkey = passkey.filter(|_| owner.is_some());
        let now = self.sessions.now();
        match self
            .passkeys
            .verify(&body.ceremony, &credential, passkey, now)
            .await
        {
            Ok(_) => {}
            Err(err @ PasskeyError::Rejected(_)) => {
                self.count_failure(request, &account, SignInMethod::Passkey)
                    .await;
                return Err(err.into());
            }
            Err(err) => return Err(err.into()),
        }
        let Some(user) = owner else {
            // `verify` refuses a passkey without an owner.
            return Err(PasskeyError::Rejected("no owner".into()).into());
        };
        self.forgive(request, &account).await;
        let (record, token) = self
            .start_session(
                request,
                &user,
                body.remember,
                !body.token,
                SignInMethod::Passkey,
            )
            .await?;
        Ok(match body.token {
            true => {
                let Reply { body, headers } = self.token_reply(&record, token);
                Reply::with_headers(SignedIn::Token(body), headers)
            }
            false => {
                let Reply { body, headers } = self.cookie_reply(&record, &token);
                Reply::with_headers(SignedIn::Session(body), headers)
            }
        })
    }

    /// May an attempt to sign in as `username` from this request's address be checked at
    /// all? Passwords and passkeys share the limits (SPEC §2, §9.2).
    async fn admit(&self, request: &Parts, username: &str) -> std::result::Result<(), Problem> {
        let client = ClientRequest::of(request);
        let Err(refusal) = self.throttle.check(username, client.address()).await else {
            return Ok(());
        };
        if matches!(refusal, Refusal::Wait(_)) {
            self.sessions
                .audit_now(
                    AuditEvent::new(AuditKind::SignInThrottled)
                        .username(username)
                        .client(&client.summary()),
                )
                .await;
        }
        let detail = "Too many failed sign-in attempts. Wait before trying again.";
        Err(problem::refusal(refusal, detail).into_logged())
    }

    /// Counts a failed attempt against the limits, and audits it.
    async fn count_failure(&self, request: &Parts, username: &str, method: SignInMethod) {
        let client = ClientRequest::of(request);
        let summary = client.summary();
        if let Err(err) = self
            .throttle
            .record_failure(username, client.address())
            .await
        {
            // Refuse the attempt as the failure it was; the next one finds the limits
            // unreadable too, and is refused with 503.
            tracing::error!(error = %err, "a failed sign-in could not be counted");
        }
        let failed = AuditEvent::new(AuditKind::SignInFailed)
            .username(username)
            .client(&summary);
        self.sessions
            .audit_now(match method {
                SignInMethod::Password => failed,
                SignInMethod::Passkey => failed.reason("passkey"),
            })
            .await;
    }

    /// A successful sign-in forgives this address's failures for the account.
    async fn forgive(&self, request: &Parts, username: &str) {
        let address = ClientRequest::of(request).address();
        if let Err(err) = self.throttle.record_success(username, address).await {
            // Only forgiveness is lost: the owner may meet a limit their earlier typos
            // filled, which empties by itself.
            tracing::warn!(error = %err, "a successful sign-in could not clear its failures");
        }
    }

    /// Starts a session for a user whose credentials were just checked. A browser's sign-in
    /// (`replace`) replaces the session its cookie names, if it is the same user's: one
    /// device, one session, never counted against the limit.
    async fn start_session(
        &self,
        request: &Parts,
        user: &User,
        remember: bool,
        replace: bool,
        method: SignInMethod,
    ) -> std::result::Result<(SessionRecord, IssuedToken), Problem> {
        let client = ClientRequest::of(request).summary();
        let replacing = match replace {
            true => self.replaceable(request, user.id).await,
            false => None,
        };
        let (record, token) = self
            .sessions
            .start(
                &user.summary(),
                fingerprint(&request.headers),
                client.clone(),
                remember,
                user.key_version,
                replacing.clone(),
            )
            .await
            .map_err(Problem::from)?;
        // An account disabled while this sign-in was checked: the disabling read the
        // sessions after marking the account, so this one, stored before that read, was
        // ended by it, or this read sees the mark.
        let disabled = self.users.is_disabled(user.id).await;
        if !matches!(disabled, Ok(false)) {
            // Not handed out: ended at once (and refused as a disabled account is, or as
            // the store's failure).
            if let Err(err) = self.sessions.end(record, EndReason::Disabled).await {
                // Never handed out; it ends by itself at its idle deadline.
                tracing::error!(error = %err, "a sign-in of a disabled account could not be ended");
            }
            return Err(match disabled {
                Err(err) => ApiProblem::from(err).into_logged(),
                _ => Problem::new(
                    ErrorCode::InvalidCredentials,
                    "The username or password is not correct.",
                ),
            });
        }
        if let Some(replaced) = &replacing {
            self.sessions
                .audit_now(
                    AuditEvent::in_session(AuditKind::SignOut, replaced, &client)
                        .reason("replaced by a new sign-in"),
                )
                .await;
        }
        let signed_in = AuditEvent::in_session(AuditKind::SignIn, &record, &client);
        self.sessions
            .audit_now(match method {
                SignInMethod::Password => signed_in,
                SignInMethod::Passkey => signed_in.reason("passkey"),
            })
            .await;
        Ok((record, token))
    }

    /// A browser's sign-in answer: the session, its cookie and deadline headers.
    fn cookie_reply(&self, record: &SessionRecord, token: &IssuedToken) -> Reply<SessionInfo> {
        Reply::with_headers(self.info(record), self.cookie_headers(record, token))
    }

    /// An API client's sign-in answer: the bearer token and the session.
    fn token_reply(&self, record: &SessionRecord, token: IssuedToken) -> Reply<TokenResponse> {
        let body = TokenResponse {
            expires_in: expires_in(&token, self.sessions.now()),
            access_token: token.token,
            token_type: "Bearer".into(),
            session: self.info(record),
        };
        Reply::with_headers(body, self.headers_for(record))
    }
}

#[async_trait]
impl AuthBackend for VigilBackend {
    async fn login(&self, request: &Parts, credentials: Credentials) -> Result<SessionInfo> {
        let (record, token) = self.sign_in(request, credentials, true).await?;
        Ok(self.cookie_reply(&record, &token))
    }

    async fn token(&self, request: &Parts, credentials: Credentials) -> Result<TokenResponse> {
        let (record, token) = self.sign_in(request, credentials, false).await?;
        Ok(self.token_reply(&record, token))
    }

    async fn refresh(&self, request: &Parts) -> Result<RefreshResponse> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        let Refreshed { record, token } = self
            .sessions
            .refresh(auth, ClientRequest::of(request))
            .await
            .map_err(Problem::from)?;
        let session = self.info(&record);
        Ok(match auth.credential {
            // Without a new token the cookie the browser holds stays current.
            CredentialKind::Cookie => Reply::with_headers(
                RefreshResponse {
                    session,
                    access_token: None,
                    token_type: None,
                    expires_in: None,
                },
                match &token {
                    Some(token) => self.cookie_headers(&record, token),
                    None => self.headers_for(&record),
                },
            ),
            CredentialKind::Bearer => {
                let now = self.sessions.now();
                let (access_token, expires_in) = match token {
                    Some(token) => (token.token.clone(), expires_in(&token, now)),
                    // The presented token is still the current one: handed back as it is.
                    None => {
                        let (presented, _) = credential(&request.headers).map_err(Problem::from)?;
                        let left = auth.claims.exp - now.unix_timestamp();
                        (presented.to_owned(), left.max(0))
                    }
                };
                Reply::with_headers(
                    RefreshResponse {
                        session,
                        expires_in: Some(expires_in),
                        access_token: Some(access_token),
                        token_type: Some("Bearer".into()),
                    },
                    self.headers_for(&record),
                )
            }
        })
    }

    async fn logout(&self, request: &Parts) -> Result<()> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        self.sessions
            .logout(auth, ClientRequest::of(request))
            .await
            .map_err(Problem::from)?;
        let mut headers = HeaderMap::new();
        cookies::end_browser_session(&mut headers);
        Ok(Reply::with_headers((), headers))
    }

    async fn session_info(&self, request: &Parts) -> Result<SessionInfo> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        // Nothing waits between the verdict and this answer: its instant is the answer's.
        Ok(Reply::new(self.sessions.info_at(&auth.record, auth.at)))
    }

    async fn me(&self, request: &Parts) -> Result<UserSummary> {
        let auth = Self::authenticated(request).ok_or_else(no_session)?;
        Ok(Reply::new(auth.record.user.clone()))
    }

    fn policy(&self) -> PolicyInfo {
        let remembered = self
            .sessions
            .policy_for(vigil::Role::User, true)
            .absolute_timeout();
        PolicyInfo {
            remember_absolute_secs: Some(remembered.whole_seconds()),
            ..(*self.sessions.policy()).into()
        }
    }
}

fn expires_in(token: &IssuedToken, now: OffsetDateTime) -> i64 {
    (token.expires_at - now).whole_seconds().max(0)
}
