//! The sessions a user can see and end, and the password change (SPEC §8, §3).
//!
//! Listing is passive; ending a session, signing out everywhere else and changing the
//! password are the user's activity (the authentication layer moves the idle deadline on
//! success). The last two are sensitive: they need a sign-in within `VIGIL_REAUTH_WITHIN`,
//! else `403 reauthentication_required`.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil::sessions::{PasswordChange, PasswordChanged, PasswordRule, SessionList, SessionsEnded};
use vigil::{ErrorCode, Problem};

use crate::audit::{AuditEvent, AuditKind};
use crate::http::auth::CurrentSession;
use crate::http::extract::AppJson;
use crate::http::problem::{refusal, ApiProblem};
use crate::session::cookies;
use crate::session::{ClientRequest, CredentialKind, EndReason};
use crate::state::AppState;

/// The routes, each documented where it is declared.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(revoke_others))
        .routes(routes!(end_one))
        .routes(routes!(change_password))
}

type Answer = Result<Response, ApiProblem>;

#[utoipa::path(get, path = "/api/sessions", tag = "sessions", responses(
    (status = 200, body = SessionList,
        description = "Every live session of the user, most recently active first, this one \
            marked `current`")))]
async fn list(State(state): State<AppState>, CurrentSession(auth): CurrentSession) -> Answer {
    let sessions = state.sessions.list(&auth).await?;
    Ok(Json(SessionList { sessions }).into_response())
}

#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The public id of one of the user's sessions")),
    responses((status = 200, body = SessionsEnded,
        description = "Ended; ending this very session signs out of it")))]
async fn end_one(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    Path(id): Path<String>,
    parts: Parts,
) -> Answer {
    let client = ClientRequest::of(&parts);
    let Some(ended) = state.sessions.end_one(&auth, &id, client).await? else {
        // Unknown, already ended, or another user's: the same answer for all three.
        return Err(Problem::new(
            ErrorCode::NotFound,
            "You have no live session with this id.",
        )
        .into());
    };
    let mut response = Json(SessionsEnded { ended: 1 }).into_response();
    if ended.id == auth.record.id && auth.credential == CredentialKind::Cookie {
        // Ending this very session is signing out of it.
        cookies::end_browser_session(response.headers_mut());
    }
    Ok(response)
}

#[utoipa::path(post, path = "/api/sessions/revoke-others", tag = "sessions", responses(
    (status = 200, body = SessionsEnded,
        description = "Every other session of the user ended (needs a recent sign-in)")))]
async fn revoke_others(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    parts: Parts,
) -> Answer {
    state.sessions.require_recent_sign_in(&auth)?;
    let user = auth.record.user.id;
    let ended = state
        .sessions
        .end_all_for_user(user, Some(&auth.record.id), EndReason::Revoked)
        .await?;
    let summary = ClientRequest::of(&parts).summary();
    state
        .sessions
        .audit_now(
            AuditEvent::in_session(AuditKind::SessionEnded, &auth.record, &summary)
                .reason("signed out everywhere else"),
        )
        .await;
    Ok(Json(SessionsEnded {
        ended: u32::try_from(ended).unwrap_or(u32::MAX),
    })
    .into_response())
}

#[utoipa::path(post, path = "/api/account/password", tag = "sessions",
    request_body(content = PasswordChange, content_type = "application/json"),
    responses((status = 200, body = PasswordChanged,
        description = "Changed (needs a recent sign-in); every other session of the user ended")))]
async fn change_password(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    parts: Parts,
    AppJson(change): AppJson<PasswordChange>,
) -> Answer {
    state.sessions.require_recent_sign_in(&auth)?;
    let user = &auth.record.user;
    if change.current_password.is_empty() {
        return Err(
            Problem::invalid_field("current_password", "Enter your current password.").into(),
        );
    }
    if let Some(rule) = PasswordRule::check(
        &change.new_password,
        &user.username,
        &change.current_password,
    ) {
        return Err(Problem::invalid_field("new_password", rule.message()).into());
    }
    // Guessing the current password from a borrowed session is guessing a password: the
    // sign-in limits count it.
    let client = ClientRequest::of(&parts);
    let address = client.address();
    if let Err(refused) = state.throttle.check(&user.username, address).await {
        let detail = "Too many wrong passwords. Wait before trying again.";
        return Err(refusal(refused, detail));
    }
    match state
        .users
        .verify(&user.username, &change.current_password)
        .await
    {
        Ok(Some(_)) => {}
        Ok(None) => {
            if let Err(err) = state.throttle.record_failure(&user.username, address).await {
                tracing::error!(error = %err, "a wrong current password could not be counted");
            }
            let summary = client.summary();
            state
                .sessions
                .audit_now(AuditEvent::in_session(
                    AuditKind::PasswordChangeFailed,
                    &auth.record,
                    &summary,
                ))
                .await;
            return Err(Problem::invalid_field(
                "current_password",
                "The current password is not correct.",
            )
            .into());
        }
        Err(err) => return Err(err.into()),
    }
    let key_version = state
        .users
        .set_password_of(user.id, &change.new_password)
        .await?;
    // This session goes on under the new local-copy key (its next answer hands it out).
    if let Some(version) = key_version {
        state.sessions.rekey(auth.record.clone(), version).await?;
    }
    // Whoever knew the old password is signed out everywhere; this session stays.
    let ended = state
        .sessions
        .end_all_for_user(user.id, Some(&auth.record.id), EndReason::PasswordChanged)
        .await?;
    let summary = client.summary();
    state
        .sessions
        .audit_now(AuditEvent::in_session(
            AuditKind::PasswordChanged,
            &auth.record,
            &summary,
        ))
        .await;
    Ok(Json(PasswordChanged {
        sessions_ended: u32::try_from(ended).unwrap_or(u32::MAX),
    })
    .into_response())
}
