//! Passkeys (SPEC §9.2): signing in with one, and the account's list of them.
//!
//! A passkey sign-in is a sign-in like a password's: the same limits (a refused passkey
//! counts as a failed attempt against its owner, or against the address alone when it names
//! nobody), the same session start (a browser's replaces the session its cookie names), the
//! same answers (cookie, or token with `"token": true`). Adding and removing a passkey are
//! sensitive: each request needs a sign-in within `VIGIL_REAUTH_WITHIN`.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil::passkeys::{
    name_problem, PasskeyChallenge, PasskeyList, PasskeyRegistration, PasskeySignIn, PasskeyView,
};
use vigil::{ErrorCode, Problem};

use crate::audit::{AuditEvent, AuditKind};
use crate::http::auth::CurrentSession;
use crate::http::auth_api::SignedIn;
use crate::http::extract::AppJson;
use crate::http::problem::{refusal, ApiProblem};
use crate::passkeys::PasskeyError;
use crate::session::ClientRequest;
use crate::state::AppState;

/// The routes, each documented where it is declared.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign_in_options))
        .routes(routes!(sign_in))
        .routes(routes!(list, register))
        .routes(routes!(registration_options))
        .routes(routes!(remove))
}

type Answer = Result<Response, ApiProblem>;

#[utoipa::path(post, path = "/api/auth/passkey/options", tag = "auth", responses(
    (status = 200, body = PasskeyChallenge,
        description = "Options for `navigator.credentials.get` (any passkey of this site), and \
            the ceremony the answer must name within five minutes")))]
async fn sign_in_options(State(state): State<AppState>, parts: Parts) -> Answer {
    // Each ceremony is stored until it expires: an address starts them at a bounded rate.
    let address = ClientRequest::of(&parts).address();
    if let Err(refused) = state.throttle.start_ceremony(address).await {
        let detail = "Too many passkey sign-ins were started. Wait before trying again.";
        return Err(refusal(refused, detail));
    }
    let challenge = state.passkeys.sign_in_options(state.clock.now()).await?;
    Ok(Json(challenge).into_response())
}

#[utoipa::path(post, path = "/api/auth/passkey", tag = "auth",
    request_body(content = PasskeySignIn, content_type = "application/json"),
    responses((status = 200, body = SignedIn,
        description = "Signed in: the session (its cookie set), or with `\"token\": true` a \
            bearer token as `/api/auth/token` answers")))]
async fn sign_in(
    State(state): State<AppState>,
    parts: Parts,
    AppJson(body): AppJson<PasskeySignIn>,
) -> Answer {
    let reply = state.backend.passkey_sign_in(&parts, body).await?;
    Ok((reply.headers, Json(reply.body)).into_response())
}

#[utoipa::path(get, path = "/api/account/passkeys", tag = "sessions", responses(
    (status = 200, body = PasskeyList, description = "The user's passkeys, newest first")))]
async fn list(State(state): State<AppState>, CurrentSession(auth): CurrentSession) -> Answer {
    let passkeys = state
        .passkeys
        .credentials()
        .list(auth.record.user.id)
        .await
        .map_err(PasskeyError::from)?;
    Ok(Json(PasskeyList { passkeys }).into_response())
}

#[utoipa::path(post, path = "/api/account/passkeys/options", tag = "sessions", responses(
    (status = 200, body = PasskeyChallenge,
        description = "Options for `navigator.credentials.create` (needs a recent sign-in), \
            and the ceremony the answer must name within five minutes")))]
async fn registration_options(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
) -> Answer {
    state.sessions.require_recent_sign_in(&auth)?;
    let challenge = state
        .passkeys
        .registration_options(&auth.record.user, state.clock.now())
        .await?;
    Ok(Json(challenge).into_response())
}

#[utoipa::path(post, path = "/api/account/passkeys", tag = "sessions",
    request_body(content = PasskeyRegistration, content_type = "application/json"),
    responses((status = 201, body = PasskeyView,
        description = "Registered (needs a recent sign-in)")))]
async fn register(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    parts: Parts,
    AppJson(body): AppJson<PasskeyRegistration>,
) -> Answer {
    state.sessions.require_recent_sign_in(&auth)?;
    if let Some(problem) = name_problem(&body.name) {
        return Err(Problem::invalid_field("name", problem).into());
    }
    let user = &auth.record.user;
    let view = state
        .passkeys
        .register(
            user,
            &body.ceremony,
            &body.name,
            body.credential,
            state.clock.now(),
        )
        .await?;
    let client = ClientRequest::of(&parts).summary();
    state
        .sessions
        .audit_now(
            AuditEvent::in_session(AuditKind::PasskeyRegistered, &auth.record, &client)
                .reason(&view.name),
        )
        .await;
    Ok((http::StatusCode::CREATED, Json(view)).into_response())
}

#[utoipa::path(delete, path = "/api/account/passkeys/{id}", tag = "sessions",
    params(("id" = String, Path, description = "The id of one of the user's passkeys")),
    responses((status = 204, description = "Removed (needs a recent sign-in)")))]
async fn remove(
    State(state): State<AppState>,
    CurrentSession(auth): CurrentSession,
    Path(id): Path<String>,
    parts: Parts,
) -> Answer {
    state.sessions.require_recent_sign_in(&auth)?;
    let user = &auth.record.user;
    let known = crate::passkeys::is_credential_id(&id);
    let removed = match known {
        true => state
            .passkeys
            .credentials()
            .remove(user.id, &id)
            .await
            .map_err(PasskeyError::from)?,
        false => None,
    };
    let Some(name) = removed else {
        // Unknown, malformed, or another user's: the same answer for all three.
        return Err(Problem::new(ErrorCode::NotFound, "You have no passkey with this id.").into());
    };
    let client = ClientRequest::of(&parts).summary();
    state
        .sessions
        .audit_now(
            AuditEvent::in_session(AuditKind::PasskeyRemoved, &auth.record, &client).reason(&name),
        )
        .await;
    Ok(http::StatusCode::NO_CONTENT.into_response())
}
