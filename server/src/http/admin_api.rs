//! The administrators' endpoints (SPEC §9.3): accounts with their live sessions, ending one
//! or all of an account's sessions, disabling and enabling it.
//!
//! [`Administrator`] admits a session signed in as an administrator whose account is still
//! one *now* (read again at each request: a role taken away, or an account disabled, counts
//! at once; a role given counts from the next sign-in, which gives the session the
//! administrators' timeouts); anyone else is answered `404 not_found`, as if the endpoint did not exist. Every
//! change needs a recent sign-in (step-up, `403 reauthentication_required`) and is audited
//! with the administrator's name. What is done is the command line's own
//! ([`crate::administration`]); ended sessions reach their open pages (`/api/events`) with
//! "An administrator ended this session" or "An administrator disabled your account".

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil::admin::{AccessChanged, AdminUserList, MAX_QUERY_LEN};
use vigil::sessions::SessionsEnded;
use vigil::{ErrorCode, Problem, Role};

use crate::administration::{self, AdminError};
use crate::audit::{AuditEvent, AuditKind};
use crate::http::auth::CurrentSession;
use crate::http::problem::ApiProblem;
use crate::identity::users::User;
use crate::session::{Authenticated, ClientRequest, EndReason};
use crate::state::AppState;

/// The routes, each documented where it is declared.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(end_all))
        .routes(routes!(end_one))
        .routes(routes!(disable))
        .routes(routes!(enable))
}

type Answer = Result<Response, ApiProblem>;

/// The signed-in administrator: the verified session, and the account as it is now.
pub struct Administrator {
    pub auth: Arc<Authenticated>,
    pub account: User,
}

impl Administrator {
    /// Refuses a change unless the sign-in is recent.
    fn step_up(&self, state: &AppState) -> Result<(), ApiProblem> {
        Ok(state.sessions.require_recent_sign_in(&self.auth)?)
    }

    /// The audit's reason for what this administrator did.
    fn by(&self) -> String {
        format!("by administrator {}", self.account.username.as_str())
    }

    /// Audits `kind` done to the account `user` from this request, for `reason`.
    async fn audit(
        &self,
        state: &AppState,
        kind: AuditKind,
        user: &User,
        reason: &str,
        parts: &Parts,
    ) {
        let summary = ClientRequest::of(parts).summary();
        state
            .sessions
            .audit_now(
                AuditEvent::new(kind)
                    .user(user.id)
                    .username(user.username.as_str())
                    .reason(reason)
                    .client(&summary),
            )
            .await;
    }
}

/// What anyone but an administrator is told: the same as for a path that does not exist.
fn not_for_you() -> ApiProblem {
    Problem::new(ErrorCode::NotFound, "No API endpoint has this path.").into()
}

impl FromRequestParts<AppState> for Administrator {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiProblem> {
        let CurrentSession(auth) = CurrentSession::from_request_parts(parts, state).await?;
        // An administrator at sign-in (the session has the administrators' timeouts) and
        // still one now (a role taken away counts at once; one given counts from the next
        // sign-in).
        if auth.record.user.role != Role::Admin {
            return Err(not_for_you());
        }
        match state.users.find(auth.record.user.id).await? {
            Some(account) if account.role == Role::Admin && !account.disabled => {
                Ok(Self { auth, account })
            }
            _ => Err(not_for_you()),
        }
    }
}

impl From<AdminError> for ApiProblem {
    fn from(err: AdminError) -> Self {
        match err {
            AdminError::User(err) => err.into(),
            AdminError::Sessions(err) | AdminError::NotAllEnded(err) => err.into(),
            AdminError::NoSuchUser(_) => Problem::new(
                ErrorCode::NotFound,
                "There is no account with this username.",
            )
            .into(),
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct Search {
    /// Only usernames containing this (at most 64 characters).
    q: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(Search),
    responses((status = 200, body = AdminUserList,
        description = "Accounts in username order (at most 100; `more` when others match), each \
            with its live sessions; administrators only, anyone else is answered 404")))]
async fn list(
    State(state): State<AppState>,
    admin: Administrator,
    Query(search): Query<Search>,
) -> Answer {
    let query = search.q.unwrap_or_default();
    if query.chars().count() > MAX_QUERY_LEN {
        return Err(Problem::invalid_field(
            "q",
            format!("Search with at most {MAX_QUERY_LEN} characters."),
        )
        .into());
    }
    if !vigil::work::is_storable(&query) {
        // No username holds one, and Postgres refuses the text outright.
        return Err(
            Problem::invalid_field("q", "A search cannot hold a NUL character (U+0000).").into(),
        );
    }
    let (users, more) = administration::accounts(
        &state.users,
        state.sessions.store().as_ref(),
        &query,
        state.sessions.now(),
        &admin.auth.record.id,
    )
    .await?;
    Ok(Json(AdminUserList { users, more }).into_response())
}

#[utoipa::path(delete, path = "/api/admin/users/{username}/sessions", tag = "admin",
    params(("username" = String, Path, description = "The account's username")),
    responses((status = 200, body = SessionsEnded,
        description = "Every live session of the account ended (the administrator's own one \
            excepted); needs a recent sign-in")))]
async fn end_all(
    State(state): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    parts: Parts,
) -> Answer {
    admin.step_up(&state)?;
    let user = administration::account(&state.users, &username).await?;
    let ended = state
        .sessions
        .end_all_for_user(user.id, Some(&admin.auth.record.id), EndReason::Operator)
        .await?;
    let reason = format!("all {ended} ended {}", admin.by());
    admin
        .audit(&state, AuditKind::SessionEnded, &user, &reason, &parts)
        .await;
    Ok(Json(SessionsEnded {
        ended: u32::try_from(ended).unwrap_or(u32::MAX),
    })
    .into_response())
}

#[utoipa::path(delete, path = "/api/admin/users/{username}/sessions/{id}", tag = "admin",
    params(("username" = String, Path, description = "The account's username"),
        ("id" = String, Path, description = "The public id of one of its live sessions")),
    responses((status = 200, body = SessionsEnded,
        description = "The session ended; needs a recent sign-in")))]
async fn end_one(
    State(state): State<AppState>,
    admin: Administrator,
    Path((username, id)): Path<(String, String)>,
    parts: Parts,
) -> Answer {
    admin.step_up(&state)?;
    let user = administration::account(&state.users, &username).await?;
    let Some(record) = state.sessions.live_session(user.id, &id).await? else {
        return Err(Problem::new(
            ErrorCode::NotFound,
            "This account has no live session with this id.",
        )
        .into());
    };
    if record.id == admin.auth.record.id {
        return Err(Problem::invalid_field(
            "id",
            "This is the session you are using: sign out instead.",
        )
        .into());
    }
    state
        .sessions
        .end(record.clone(), EndReason::Operator)
        .await?;
    let summary = ClientRequest::of(&parts).summary();
    let reason = admin.by();
    state
        .sessions
        .audit_now(
            AuditEvent::in_session(AuditKind::SessionEnded, &record, &summary).reason(&reason),
        )
        .await;
    Ok(Json(SessionsEnded { ended: 1 }).into_response())
}

#[utoipa::path(post, path = "/api/admin/users/{username}/disable", tag = "admin",
    params(("username" = String, Path, description = "The account's username")),
    responses((status = 200, body = AccessChanged,
        description = "Disabled: every session of the account ended, and its sign-ins are \
            answered like wrong credentials until it is enabled; needs a recent sign-in. An \
            administrator cannot disable their own account")))]
async fn disable(
    State(state): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    parts: Parts,
) -> Answer {
    set_access(state, admin, username, parts, true).await
}

#[utoipa::path(post, path = "/api/admin/users/{username}/enable", tag = "admin",
    params(("username" = String, Path, description = "The account's username")),
    responses((status = 200, body = AccessChanged,
        description = "Enabled again: it can sign in; needs a recent sign-in")))]
async fn enable(
    State(state): State<AppState>,
    admin: Administrator,
    Path(username): Path<String>,
    parts: Parts,
) -> Answer {
    set_access(state, admin, username, parts, false).await
}

async fn set_access(
    state: AppState,
    admin: Administrator,
    username: String,
    parts: Parts,
    disable: bool,
) -> Answer {
    admin.step_up(&state)?;
    let user = administration::account(&state.users, &username).await?;
    if disable && user.id == admin.account.id {
        return Err(Problem::invalid_field(
            "username",
            "You cannot disable your own account: ask another administrator.",
        )
        .into());
    }
    let set = administration::set_access(
        &state.users,
        state.sessions.store().as_ref(),
        &user.username,
        disable,
        state.sessions.now(),
    )
    .await?;
    let kind = match disable {
        true => AuditKind::AccountDisabled,
        false => AuditKind::AccountEnabled,
    };
    admin.audit(&state, kind, &user, &admin.by(), &parts).await;
    let ended = set.ended?;
    for _ in 0..ended {
        state.sessions.metrics().session_ended(EndReason::Disabled);
    }
    Ok(Json(AccessChanged {
        username: user.username.as_str().to_owned(),
        disabled: disable,
        sessions_ended: u32::try_from(ended).unwrap_or(u32::MAX),
    })
    .into_response())
}
