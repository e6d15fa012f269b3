//! The resource endpoints of SPEC §3 for the user's work: drafts and settings.
//!
//! Each handler reads the request (path, preconditions, idempotency key, JSON body),
//! refuses what is malformed with a precise problem, hands one [`Operation`] to the
//! [`WorkStore`], and turns its [`Outcome`] into the answer. Authentication, CSRF, JSON-only
//! bodies and moving the idle deadline on success happen in the layers around them.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::{ETAG, IF_MATCH, IF_NONE_MATCH};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use vigil::work::{
    etag, is_draft_id, is_idempotency_key, parse_etag, DraftInput, DraftLimit, DraftsDeleted,
    Settings, DEFAULT_PAGE, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAY_HEADER, MAX_PAGE,
};
use vigil::{ErrorCode, Problem};

use crate::http::auth::{CurrentSession, CurrentUser};
use crate::http::openapi::{CreateOnly, DraftId, EntityTag, IdempotencyKey, PageCursor};
use crate::http::problem::{store_unavailable, ApiProblem};
use crate::state::AppState;
use crate::work::{Applied, Cursor, Operation, Outcome, Precondition, WorkError};

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
    let page = state
        .work
        .page(user, limit, cursor.as_ref())
        .await
        .map_err(work_problem)?;
    Ok(Json(page).into_response())
}

/// Deletes every draft not submitted: sensitive, so it needs a recent sign-in (step-up).
#[utoipa::path(delete, path = "/api/drafts", tag = "work", responses(
    (status = 200, body = DraftsDeleted,
        description = "How many drafts were deleted (submitted ones stay)")))]
async fn delete_all(State(state): State<AppState>, CurrentSession(auth): CurrentSession) -> Answer {
    state.sessions.require_recent_sign_in(&auth)?;
    let deleted = state
        .work
        .delete_unsubmitted(auth.record.user.id)
        .await
        .map_err(work_problem)?;
    Ok(Json(DraftsDeleted {
        deleted: u32::try_from(deleted).unwrap_or(u32::MAX),
    })
    .into_response())
}

#[utoipa::path(put, path = "/api/drafts/{id}", tag = "work",
    params(
        ("id" = DraftId, Path),
        ("If-Match" = Option<EntityTag>, Header,
            description = "The version the change is based on; required unless creating"),
        ("If-None-Match" = Option<CreateOnly>, Header),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header)),
    request_body(content = DraftInput, content_type = "application/json"),
    responses(
        (status = 200, description = "Saved", body = vigil::work::StoredDraft),
        (status = 201, description = "Created", body = vigil::work::StoredDraft)))]
async fn put_draft(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Json<DraftInput>, JsonRejection>,
) -> Answer {
    let id = draft_id(id)?;
    let Json(input) = body.map_err(json_problem)?;
    match input.check() {
        Ok(()) => {}
        Err(DraftLimit::TitleTooLong) => {
            return Err(Problem::invalid_field(
                "title",
                format!(
                    "A title has at most {} characters.",
                    vigil::work::MAX_TITLE_CHARS
                ),
            )
            .into())
        }
        Err(DraftLimit::BodyTooLarge) => {
            let mut problem = Problem::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "A draft's text is at most {} KiB.",
                    vigil::work::MAX_BODY_BYTES / 1024
                ),
            );
            problem.field = Some("body".into());
            return Err(problem.into());
        }
        Err(DraftLimit::Unstorable(field)) => {
            return Err(Problem::invalid_field(
                field,
                "The text holds a NUL character (U+0000), which cannot be stored. Remove it \
                 and try again.",
            )
            .into())
        }
    }
    let precondition = match (headers.get(IF_NONE_MATCH), headers.contains_key(IF_MATCH)) {
        (Some(value), false) if value.as_bytes() == b"*" => Precondition::Absent,
        (Some(_), true) => {
            return Err(Problem::invalid_field(
                "If-None-Match",
                "Send If-None-Match: * to create or If-Match to update, not both.",
            )
            .into())
        }
        (Some(_), false) => {
            return Err(Problem::invalid_field(
                "If-None-Match",
                "If-None-Match: * creates a draft; no other value is understood here.",
            )
            .into())
        }
        (None, _) => Precondition::Version(if_match(&headers)?),
    };
    let operation = Operation::PutDraft {
        id,
        input,
        precondition,
    };
    apply(&state, user, operation, &headers).await
}

#[utoipa::path(delete, path = "/api/drafts/{id}", tag = "work",
    params(
        ("id" = DraftId, Path),
        ("If-Match" = EntityTag, Header, description = "The version the change is based on"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header)),
    responses((status = 204, description = "Deleted")))]
async fn delete_draft(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let operation = Operation::DeleteDraft {
        id: draft_id(id)?,
        version: if_match(&headers)?,
    };
    apply(&state, user, operation, &headers).await
}

#[utoipa::path(post, path = "/api/drafts/{id}/submit", tag = "work",
    params(
        ("id" = DraftId, Path),
        ("If-Match" = EntityTag, Header, description = "The version the change is based on"),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header)),
    responses((status = 200, body = vigil::work::StoredDraft,
        description = "Submitted: the draft is read-only from now on")))]
async fn submit_draft(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let operation = Operation::SubmitDraft {
        id: draft_id(id)?,
        version: if_match(&headers)?,
    };
    apply(&state, user, operation, &headers).await
}

#[utoipa::path(put, path = "/api/settings", tag = "work",
    params(("Idempotency-Key" = Option<IdempotencyKey>, Header)),
    request_body(content = Settings, content_type = "application/json"),
    responses((status = 200, description = "Saved", body = Settings)))]
async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    body: Result<Json<Settings>, JsonRejection>,
) -> Answer {
    let Json(settings) = body.map_err(json_problem)?;
    apply(&state, user, Operation::PutSettings { settings }, &headers).await
}

fn draft_id(id: String) -> Result<String, ApiProblem> {
    if is_draft_id(&id) {
        Ok(id)
    } else {
        Err(Problem::invalid_field(
            "id",
            "A draft id is a lower-case UUID made by the client, like \
             0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b.",
        )
        .into())
    }
}

/// The version a change is based on. Required: without it a change could silently
/// overwrite one made elsewhere.
fn if_match(headers: &HeaderMap) -> Result<u64, ApiProblem> {
    match headers
        .get(IF_MATCH)
        .map(|v| v.to_str().ok().and_then(parse_etag))
    {
        Some(Some(version)) => Ok(version),
        Some(None) => Err(Problem::invalid_field(
            "If-Match",
            "If-Match names the version the change is based on, like \"3\" (the draft's ETag).",
        )
        .into()),
        None => Err(Problem::invalid_field(
            "If-Match",
            "Say which version this change is based on with If-Match (or create with \
             If-None-Match: *).",
        )
        .with_status(428)
        .into()),
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiProblem> {
    match headers.get(IDEMPOTENCY_KEY_HEADER) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .filter(|key| is_idempotency_key(key))
            .map(Some)
            .ok_or_else(|| {
                Problem::invalid_field(
                    "Idempotency-Key",
                    format!(
                        "An Idempotency-Key is 1 to {} visible ASCII characters.",
                        vigil::work::MAX_IDEMPOTENCY_KEY
                    ),
                )
                .into()
            }),
    }
}

async fn apply(state: &AppState, user: i64, operation: Operation, headers: &HeaderMap) -> Answer {
    let key = idempotency_key(headers)?;
    let applied = state
        .work
        .apply(user, operation, key, state.clock.now())
        .await
        .map_err(work_problem)?;
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

fn work_problem(err: WorkError) -> ApiProblem {
    match err {
        WorkError::Store(e) => {
            tracing::error!(error = %e, "work store unavailable");
            store_unavailable().into()
        }
        WorkError::Corrupt(e) => {
            tracing::error!(error = %e, "stored work could not be read");
            Problem::new(ErrorCode::InternalError, "Stored work could not be read.").into()
        }
        WorkError::KeyReused => Problem::invalid_field(
            "Idempotency-Key",
            "This Idempotency-Key was already used for a different request; use a new key \
             for a new change.",
        )
        .into(),
    }
}

/// A body that is not the expected JSON: which field, and why.
pub(crate) fn json_problem(rejection: JsonRejection) -> ApiProblem {
    let detail = rejection.body_text();
    let (status, field) = match &rejection {
        JsonRejection::JsonDataError(_) => (422, field_named(&detail)),
        _ => (400, "body".to_owned()),
    };
    let mut problem = Problem::new(
        ErrorCode::ValidationFailed,
        format!("The request body is not valid: {detail}"),
    )
    .with_status(status);
    problem.field = Some(field);
    problem.into()
}

/// The field a decoding message names: `…: missing field `title` at …` or
/// `…: theme: unknown variant …` (axum prefixes the path of the failing field).
fn field_named(detail: &str) -> String {
    let rest = detail
        .split_once("target type: ")
        .map_or(detail, |(_, rest)| rest);
    if let Some((_, after)) = rest.split_once("field `") {
        if let Some((field, _)) = after.split_once('`') {
            return field.to_owned();
        }
    }
    rest.split_once(": ")
        .map(|(path, _)| path)
        .filter(|path| {
            !path.is_empty()
                && path
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
        })
        .unwrap_or("body")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::field_named;

    #[test]
    fn names_the_field_a_decoding_error_is_about() {
        assert_eq!(
            field_named("Failed to deserialize the JSON body into the target type: missing field `title` at line 1 column 2"),
            "title"
        );
        assert_eq!(
            field_named("Failed to deserialize the JSON body into the target type: theme: unknown variant `pink`, expected one of `system`, `light`, `dark` at line 1 column 15"),
            "theme"
        );
        assert_eq!(
            field_named("Failed to deserialize the JSON body into the target type: title: invalid type: integer `5`, expected a string at line 1 column 11"),
            "title"
        );
        assert_eq!(
            field_named("Failed to parse the request body as JSON"),
            "body"
        );
    }
}
