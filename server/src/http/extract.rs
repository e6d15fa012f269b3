//! What a handler reads from a request besides the session, as extractors: a handler's
//! signature states what it needs, and a malformed request is refused with a precise
//! problem before the handler runs (axum's `AppJson` pattern).

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::Json;
use http::header::{IF_MATCH, IF_NONE_MATCH};
use http::HeaderMap;
use vigil::work::{is_draft_id, is_idempotency_key, parse_etag, IDEMPOTENCY_KEY_HEADER};
use vigil::{ErrorCode, Problem};

use crate::http::problem::ApiProblem;
use vigil::work::Precondition;

/// A JSON body of type `T`; anything else is refused naming the field and why (`422` for
/// JSON of the wrong shape, `400` for what is not JSON).
pub struct AppJson<T>(pub T);

impl<S, T> FromRequest<S> for AppJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiProblem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_problem(&rejection).into()),
        }
    }
}

/// A body that is not the expected JSON: which field, and why.
fn json_problem(rejection: &JsonRejection) -> Problem {
    let detail = rejection.body_text();
    let (status, field) = match rejection {
        JsonRejection::JsonDataError(_) => (422, field_named(&detail)),
        _ => (400, "body".to_owned()),
    };
    Problem::new(
        ErrorCode::ValidationFailed,
        format!("The request body is not valid: {detail}"),
    )
    .with_status(status)
    .with_field(field)
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

/// The `{id}` of a draft's path: a lower-case UUID the client made.
pub struct DraftPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for DraftPath {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) if is_draft_id(&id) => Ok(Self(id)),
            _ => Err(Problem::invalid_field(
                "id",
                "A draft id is a lower-case UUID made by the client, like \
                 0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b.",
            )
            .into()),
        }
    }
}

/// `If-Match`: the version a change is based on. Required: without it a change could
/// silently overwrite one made elsewhere (`428` when it is missing).
pub struct IfMatch(pub u64);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if_match(&parts.headers).map(Self)
    }
}

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

/// What a `PUT` of a draft is conditional on: `If-None-Match: *` creates, `If-Match`
/// updates; never both, and one of them is required.
pub struct WritePrecondition(pub Precondition);

impl<S: Send + Sync> FromRequestParts<S> for WritePrecondition {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
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
            (None, _) => Precondition::Version(if_match(headers)?),
        };
        Ok(Self(precondition))
    }
}

/// The optional `Idempotency-Key` of a change: the same key again replays the first answer.
pub struct Idempotency(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get(IDEMPOTENCY_KEY_HEADER) {
            None => Ok(Self(None)),
            Some(value) => value
                .to_str()
                .ok()
                .filter(|key| is_idempotency_key(key))
                .map(|key| Self(Some(key.to_owned())))
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
}

/// A change to a draft that exists (deleting, submitting): its id, the version it is based
/// on and its idempotency key, refused in that order.
pub struct DraftChange {
    pub id: String,
    pub version: u64,
    pub key: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for DraftChange {
    type Rejection = ApiProblem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let DraftPath(id) = DraftPath::from_request_parts(parts, state).await?;
        let IfMatch(version) = IfMatch::from_request_parts(parts, state).await?;
        let Idempotency(key) = Idempotency::from_request_parts(parts, state).await?;
        Ok(Self { id, version, key })
    }
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
