//! The resource endpoints of SPEC §3 for the user's work: drafts and settings.
//!
//! Each handler reads the request (path, preconditions, idempotency key, JSON body),
//! refuses what is malformed with a precise problem, hands one [`Operation`] to the
//! [`WorkStore`], and turns its [`Outcome`] into the answer. Authentication, CSRF, JSON-only
//! bodies and moving the idle deadline on success happen in the layers around them.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::ETAG;
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil::work::{
    etag, DraftInput, DraftLimit, DraftsDeleted, Preferences, DEFAULT_PAGE,
    IDEMPOTENT_REPLAY_HEADER, MAX_PAGE,
};
use vigil::{ErrorCode, Problem};

use crate::http::auth::{CurrentSession, CurrentUser};
use crate::http::extract::{AppJson, DraftChange, DraftPath, Idempotency, WritePrecondition};
use crate::http::openapi::{self, CreateOnly, EntityTag, PageCursor};
use crate::http::problem::ApiProblem;
use crate::state::AppState;
use crate::work::{Applied, Cursor, Operation, Outcome};

/// The routes, each documented where it is declared.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, delete_all))
        .routes(routes!(put_draft, delete_draft))
        .routes(routes!(submit_draft))
        .routes(routes!(put_settings))
}

type Answer = Result<Response, ApiProblem>;

/// `GET /api/drafts`'s query: both optional, both checked here.
#[derive(Debug, Deserialize)]
struct PageQuery {
    limit: Option<String>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/drafts", tag = "work",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 200,
            description = "Drafts in the page (default 50, at most 200)"),
        ("cursor" = Option<PageCursor>, Query,
            description = "The `next_cursor` of the page before")),
    responses((status = 200, body = vigil::work::DraftsPage,
        description = "One page of the user's drafts (submitted ones included), newest first; \
            the settings with the first page; `next_cursor` while more follow")))]
async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Answer {
    let Query(query) = query.map_err(|rejection| {
        Problem::invalid_field(
            "query",
            format!("The query is not valid: {}", rejection.body_text()),
        )
    })?;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|limit| (1..=MAX_PAGE).contains(limit))
            .ok_or_else(|| {
                Problem::invalid_field("limit", format!("A page holds 1 to {MAX_PAGE} drafts."))
            })?,
    };
    let cursor = match query.cursor.as_deref() {
        None => None,
        Some(text) => Some(Cursor::decode(text).ok_or_else(|| {
            Problem::invalid_field(
                "cursor",
                "Send the next_cursor of the page before, as it was given.",
            )
        })?),
    };
    let page = state.work.page(user, limit, cursor.as_ref()).await?;
    Ok(Json(page).into_response())
}

/// Deletes every draft not submitted: sensitive, so it needs a recent sign-in (step-up).
#[utoipa::path(delete, path = "/api/drafts", tag = "work", responses(
    (status = 200, body = DraftsDeleted,
        description = "How many drafts were deleted (submitted ones stay)")))]
async fn delete_all(State(state): State<AppState>, CurrentSession(auth): CurrentSession) -> Answer {
    state.sessions.require_recent_sign_in(&auth)?;
    let deleted = state.work.delete_unsubmitted(auth.record.user.id).await?;
    Ok(Json(DraftsDeleted {
        deleted: u32::try_from(deleted).unwrap_or(u32::MAX),
    })
    .into_response())
}

#[utoipa::path(put, path = "/api/drafts/{id}", tag = "work",
    params(
        ("id" = openapi::DraftId, Path),
        ("If-Match" = Option<EntityTag>, Header,
            description = "The version the change is based on; required unless creating"),
        ("If-None-Match" = Option<CreateOnly>, Header),
        ("Idempotency-Key" = Option<openapi::IdempotencyKey>, Header)),
    request_body(content = DraftInput, content_type = "application/json"),
    responses(
        (status = 200, description = "Saved", body = vigil::work::StoredDraft),
        (status = 201, description = "Created", body = vigil::work::StoredDraft)))]
async fn put_draft(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    DraftPath(id): DraftPath,
    WritePrecondition(precondition): WritePrecondition,
    Idempotency(key): Idempotency,
    AppJson(input): AppJson<DraftInput>,
) -> Answer {
    input.check().map_err(draft_limit)?;
    let operation = Operation::PutDraft {
        id,
        input,
        precondition,
    };
    apply(&state, user, operation, key).await
}

/// A draft beyond what the account keeps: which field, and the limit.
fn draft_limit(limit: DraftLimit) -> Problem {
    match limit {
        DraftLimit::TitleTooLong => Problem::invalid_field(
            "title",
            format!(
                "A title has at most {} characters.",
                vigil::work::MAX_TITLE_CHARS
            ),
        ),
        DraftLimit::BodyTooLarge => Problem::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "A draft's text is at most {} KiB.",
                vigil::work::MAX_BODY_BYTES / 1024
            ),
        )
        .with_field("body"),
        DraftLimit::Unstorable(field) => Problem::invalid_field(
            field,
            "The text holds a NUL character (U+0000), which cannot be stored. Remove it and \
             try again.",
        ),
    }
}

#[utoipa::path(delete, path = "/api/drafts/{id}", tag = "work",
    params(
        ("id" = openapi::DraftId, Path),
        ("If-Match" = EntityTag, Header, description = "The version the change is based on"),
        ("Idempotency-Key" = Option<openapi::IdempotencyKey>, Header)),
    responses((status = 204, description = "Deleted")))]
async fn delete_draft(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    DraftChange { id, version, key }: DraftChange,
) -> Answer {
    apply(&state, user, Operation::DeleteDraft { id, version }, key).await
}

#[utoipa::path(post, path = "/api/drafts/{id}/submit", tag = "work",
    params(
        ("id" = openapi::DraftId, Path),
        ("If-Match" = EntityTag, Header, description = "The version the change is based on"),
        ("Idempotency-Key" = Option<openapi::IdempotencyKey>, Header)),
    responses((status = 200, body = vigil::work::StoredDraft,
        description = "Submitted: the draft is read-only from now on")))]
async fn submit_draft(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    DraftChange { id, version, key }: DraftChange,
) -> Answer {
    apply(&state, user, Operation::SubmitDraft { id, version }, key).await
}

#[utoipa::path(put, path = "/api/settings", tag = "work",
    params(("Idempotency-Key" = Option<openapi::IdempotencyKey>, Header)),
    request_body(content = Preferences, content_type = "application/json"),
    responses((status = 200, description = "Saved", body = Preferences)))]
async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Idempotency(key): Idempotency,
    AppJson(settings): AppJson<Preferences>,
) -> Answer {
    apply(&state, user, Operation::PutSettings { settings }, key).await
}

async fn apply(state: &AppState, user: i64, operation: Operation, key: Option<String>) -> Answer {
    let applied = state
        .work
        .apply(user, operation, key.as_deref(), state.clock.now())
        .await?;
    answer(applied)
}

/// The answer for an outcome; the same for the first request and for a replay.
fn answer(Applied { outcome, replayed }: Applied) -> Answer {
    let mut response = match outcome {
        Outcome::Saved { draft, created } => {
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            let tag = etag(draft.version);
            let mut response = (status, Json(draft)).into_response();
            if let Ok(value) = HeaderValue::from_str(&tag) {
                response.headers_mut().insert(ETAG, value);
            }
            response
        }
        Outcome::Deleted => StatusCode::NO_CONTENT.into_response(),
        Outcome::Settings { settings } => Json(settings).into_response(),
        Outcome::Conflict { current } => {
            return Err(Problem::edit_conflict(
                format!(
                    "The draft is at version {} now, not the one this change was based on. \
                     Nothing was overwritten.",
                    current.version
                ),
                current,
            )
            .into())
        }
        Outcome::ReadOnly { current } => {
            return Err(Problem::draft_submitted(
                "The draft was submitted and can no longer change. Nothing was overwritten.",
                current,
            )
            .into())
        }
        Outcome::NotFound => {
            return Err(Problem::new(ErrorCode::NotFound, "There is no draft with this id.").into())
        }
        Outcome::TooManyDrafts => {
            return Err(Problem::invalid_field(
                "drafts",
                format!(
                    "An account keeps at most {} drafts; delete some first.",
                    vigil::work::MAX_DRAFTS
                ),
            )
            .into())
        }
    };
    if replayed {
        response.headers_mut().insert(
            HeaderName::from_static(IDEMPOTENT_REPLAY_HEADER),
            HeaderValue::from_static("true"),
        );
    }
    Ok(response)
}
