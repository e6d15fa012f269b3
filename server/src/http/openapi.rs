//! The OpenAPI 3.1 document of the HTTP API, served at `GET /api/openapi.json` and made
//! from the code: the resource endpoints are documented where they are routed
//! (`utoipa-axum`), the auth server functions beside their declarations in `app::api`.
//!
//! What every operation shares is added here from the same rules the layers apply, so the
//! document cannot promise what the stack does otherwise: security and the 401 answers from
//! [`access_for`] (the authentication layer's classification), the CSRF, media-type and
//! size refusals from [`is_state_changing`], and each operation's own problems from
//! [`own_problems`]. Every problem answer lists the `error_code` values it can carry.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::Method;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::{Link, LinkBuilder};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder};
use utoipa::openapi::security::{SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::OpenApi;
use vigil::problem::PROBLEM_CONTENT_TYPE;
use vigil::work::{IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAY_HEADER};
use vigil::ErrorCode;

use crate::http::auth::{access_for, Access, IDLE_EXPIRES_HEADER, WARNING_HEADER};
use crate::http::problem::{is_state_changing, REQUEST_ID_HEADER};
use crate::session::cookies::SESSION_COOKIE;
use crate::state::AppState;

const COOKIE_SCHEME: &str = "session_cookie";
const BEARER_SCHEME: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vigil",
        description = "Secure sessions with an inactivity timeout that never loses the user's \
            work. Browsers sign in with `/api/auth/login` (the token travels in an HttpOnly \
            cookie); API clients with `/api/auth/token` and send `Authorization: Bearer`. \
            Reading (`session-info`, `me`, `GET`) never extends a session; changes do. Every \
            error is an RFC 9457 problem whose `type` is a page explaining it."
    ),
    paths(
        app::api::login,
        app::api::token,
        app::api::refresh,
        app::api::logout,
        app::api::session_info,
        app::api::me,
        app::api::policy,
    ),
    components(schemas(
        vigil::Problem,
        vigil::ErrorCode,
        DraftId,
        EntityTag,
        IdempotencyKey,
        PageCursor,
        CreateOnly
    )),
    tags(
        (name = "auth", description = "Signing in and out, and the session's state"),
        (name = "work", description = "Drafts and settings, saved to the account"),
        (name = "sessions", description = "The sessions a user can see and end, and the password"),
        (name = "admin", description = "Administrators: accounts, their sessions, disabling"),
        (name = "operations", description = "Health, metrics and this document"),
    )
)]
struct ApiDoc;

/// A draft id in the document: the pattern [`vigil::work::is_draft_id`] checks.
pub struct DraftId;

/// An `If-Match` or `ETag` value in the document: what [`vigil::work::parse_etag`] reads.
pub struct EntityTag;

/// An `Idempotency-Key` in the document: what [`vigil::work::is_idempotency_key`] accepts.
pub struct IdempotencyKey;

/// A page cursor of `GET /api/drafts` in the document: what [`crate::work::Cursor`] reads.
pub struct PageCursor;

macro_rules! pattern_schema {
    ($name:ident, $pattern:expr, $example:expr, $description:expr) => {
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some($pattern))
                    .examples([$example])
                    .description(Some($description))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

pattern_schema!(
    DraftId,
    vigil::work::DRAFT_ID_PATTERN,
    "0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b",
    "A lower-case UUID the client made, so a create can be retried safely"
);
pattern_schema!(
    EntityTag,
    vigil::work::ETAG_PATTERN,
    "\"1\"",
    "A draft version as its ETag gives it: `\"3\"` (or weak, `W/\"3\"`)"
);
pattern_schema!(
    PageCursor,
    crate::work::CURSOR_PATTERN,
    "1780000000000.0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b",
    "The `next_cursor` of the page before, sent back as it was given"
);
pattern_schema!(
    IdempotencyKey,
    vigil::work::IDEMPOTENCY_KEY_PATTERN,
    "2b9c1e6f-autosave-17",
    "1 to 255 visible ASCII characters; a repeat with the same key and request gets the \
     first answer again (kept 24 h)"
);

/// `If-None-Match` on a draft in the document: only `*` (create, never overwrite).
pub struct CreateOnly;

impl utoipa::PartialSchema for CreateOnly {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["*"]))
            .description(Some("`*`: create the draft; refused (412) if it exists"))
            .into()
    }
}

impl utoipa::ToSchema for CreateOnly {}

/// `GET /api/openapi.json`.
#[utoipa::path(get, path = "/api/openapi.json", tag = "operations",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json")))]
pub async fn serve_document(State(state): State<AppState>) -> Response {
    Json(to_json(&document(
        super::api(&state.settings).into_openapi(),
    )))
    .into_response()
}

/// The document as JSON. utoipa 5 writes the link members `operationId` and `requestBody`
/// in snake case; they are renamed here so tools can follow the links.
pub fn to_json(doc: &Document) -> serde_json::Value {
    let mut json = serde_json::to_value(doc).unwrap_or_default();
    let responses = json["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.values_mut())
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|operation| operation.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut());
    for response in responses {
        let links = response.get_mut("links").and_then(|l| l.as_object_mut());
        for link in links.into_iter().flat_map(|l| l.values_mut()) {
            if let Some(link) = link.as_object_mut() {
                for (from, to) in [
                    ("operation_id", "operationId"),
                    ("operation_ref", "operationRef"),
                    ("request_body", "requestBody"),
                ] {
                    if let Some(value) = link.remove(from) {
                        link.insert(to.into(), value);
                    }
                }
            }
        }
    }
    json
}

/// The whole document: the routes' own paths, the auth endpoints, and what they share.
pub fn document(routes: Document) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.merge(routes);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        COOKIE_SCHEME,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION_COOKIE,
            "The browser's session: HttpOnly, Secure, SameSite=Strict, set by /api/auth/login",
        ))),
    );
    components.add_security_scheme(
        BEARER_SCHEME,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some(
                    "The access token of /api/auth/token or /api/auth/refresh",
                ))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in [
            (Method::GET, &mut item.get),
            (Method::PUT, &mut item.put),
            (Method::POST, &mut item.post),
            (Method::DELETE, &mut item.delete),
            (Method::PATCH, &mut item.patch),
        ] {
            if let Some(operation) = operation {
                shared(&method, path, operation);
            }
        }
    }
    doc
}

/// Adds to one operation what the layers around every handler bring.
fn shared(method: &Method, path: &str, operation: &mut Operation) {
    // An optional header or body is absent, never JSON `null` (which the derive would allow).
    for parameter in operation.parameters.iter_mut().flatten() {
        if let Some(schema) = parameter.schema.take() {
            parameter.schema = Some(not_null(schema));
        }
    }
    if let Some(body) = &mut operation.request_body {
        for content in body.content.values_mut() {
            if let Some(schema) = content.schema.take() {
                content.schema = Some(not_null(schema));
            }
        }
    }
    let secured = matches!(access_for(method, path), Access::Session { .. });
    if secured {
        operation.security = Some(vec![
            SecurityRequirement::new::<_, [&str; 0], &str>(COOKIE_SCHEME, []),
            SecurityRequirement::new::<_, [&str; 0], &str>(BEARER_SCHEME, []),
        ]);
    }
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for (status, code) in problems(method, path, operation) {
        let codes = by_status.entry(status).or_default();
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let idempotent = operation
        .parameters
        .iter()
        .flatten()
        .any(|p| p.name.eq_ignore_ascii_case(IDEMPOTENCY_KEY_HEADER));
    let responses = &mut operation.responses.responses;
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response {
            response
                .headers
                .insert(REQUEST_ID_HEADER.into(), request_id_header());
            if idempotent && status.starts_with('2') {
                response.headers.insert(
                    IDEMPOTENT_REPLAY_HEADER.into(),
                    header(
                        string(""),
                        "`true` when this answers an earlier request with the same key",
                    ),
                );
            }
            if carries(response, "StoredDraft") {
                response.headers.insert(
                    http::header::ETAG.as_str().into(),
                    header(string(""), "The draft's version, for the next If-Match"),
                );
            }
            if secured && status.starts_with('2') {
                response.headers.insert(
                    IDLE_EXPIRES_HEADER.as_str().into(),
                    header(
                        string("date-time"),
                        "The session's idle deadline (RFC 3339)",
                    ),
                );
                response.headers.insert(
                    WARNING_HEADER.as_str().into(),
                    header(
                        integer(),
                        "Present once the deadline is within the warning period: seconds left",
                    ),
                );
            }
        }
    }
    for (status, codes) in by_status {
        responses.insert(status.to_string(), problem_response(status, &codes).into());
    }
    for (status, name, link) in links(method, path) {
        if let Some(RefOr::T(response)) = responses.get_mut(status) {
            response.links.insert(name.into(), link.into());
        }
    }
}

/// Where an answer leads: a saved draft can be changed again, submitted or deleted with the
/// id and the ETag it came with; a listed session can be ended. (What a client does next,
/// and what the stateful phase of a contract test follows.)
fn links(method: &Method, path: &str) -> Vec<(&'static str, &'static str, Link)> {
    let draft = |operation: &str| {
        LinkBuilder::new()
            .operation_id(operation)
            .parameter("path.id", "$response.body#/id")
            .parameter("header.If-Match", "$response.header.ETag")
            .build()
    };
    match (method.as_str(), path) {
        ("PUT", "/api/drafts/{id}") => ["200", "201"]
            .into_iter()
            .flat_map(|status| {
                [
                    (status, "update", draft("put_draft")),
                    (status, "submit", draft("submit_draft")),
                    (status, "delete", draft("delete_draft")),
                ]
            })
            .collect(),
        ("GET", "/api/sessions") => vec![(
            "200",
            "end",
            LinkBuilder::new()
                .operation_id("end_one")
                .parameter("path.id", "$response.body#/sessions/0/id")
                .build(),
        )],
        _ => Vec::new(),
    }
}

/// Every problem one operation can answer, with its status.
fn problems(method: &Method, path: &str, operation: &Operation) -> Vec<(u16, ErrorCode)> {
    use ErrorCode::*;
    let mut found = Vec::new();
    if path.starts_with("/api/") && is_state_changing(method) {
        found.extend([
            (403, CsrfRejected),
            (413, PayloadTooLarge),
            (415, UnsupportedMediaType),
        ]);
    }
    if let Access::Session {
        accepts_expired_token,
        ..
    } = access_for(method, path)
    {
        found.extend([
            (401, Unauthenticated),
            (401, SessionInvalid),
            (401, SessionExpired),
            (401, SessionRevoked),
            (401, SessionNotFound),
            (503, StoreUnavailable),
        ]);
        if !accepts_expired_token {
            found.push((401, TokenExpired));
        }
    }
    if operation.request_body.is_some() {
        // 400 for a body that is not JSON at all, 422 for one with a wrong field.
        found.extend([(400, ValidationFailed), (422, ValidationFailed)]);
    }
    let parameters = operation.parameters.iter().flatten();
    if parameters
        .clone()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Header))
    {
        found.push((422, ValidationFailed));
    }
    found.extend(own_problems(method, path).iter().copied());
    found
}

/// What an operation refuses for reasons of its own.
fn own_problems(method: &Method, path: &str) -> &'static [(u16, ErrorCode)] {
    use ErrorCode::*;
    const SIGN_IN: &[(u16, ErrorCode)] = &[
        (401, InvalidCredentials),
        (409, SessionLimitReached),
        (429, RateLimited),
        (503, Overloaded),
        (503, StoreUnavailable),
    ];
    // A change to one draft: it may not exist, have moved on, or lack If-Match (428).
    const DRAFT_CHANGE: &[(u16, ErrorCode)] = &[
        (404, NotFound),
        (409, DraftSubmitted),
        (412, EditConflict),
        (428, ValidationFailed),
    ];
    match (method.as_str(), path) {
        ("POST", "/api/auth/login" | "/api/auth/token") => SIGN_IN,
        ("PUT" | "DELETE", "/api/drafts/{id}") | ("POST", "/api/drafts/{id}/submit") => {
            DRAFT_CHANGE
        }
        ("DELETE", "/api/drafts") | ("POST", "/api/sessions/revoke-others") => {
            &[(403, ReauthenticationRequired)]
        }
        ("GET", "/api/drafts") => &[(422, ValidationFailed)],
        ("DELETE", "/api/sessions/{id}") => &[(403, ReauthenticationRequired), (404, NotFound)],
        ("POST", "/api/account/password") => &[
            (403, ReauthenticationRequired),
            (429, RateLimited),
            (503, Overloaded),
        ],
        ("GET", "/health/ready") => &[(503, StoreUnavailable)],
        ("POST", "/api/auth/passkey/options") => &[(429, RateLimited), (503, StoreUnavailable)],
        ("POST", "/api/auth/passkey") => &[
            (400, PasskeyCeremonyExpired),
            (401, PasskeyRejected),
            (409, SessionLimitReached),
            (429, RateLimited),
            (503, StoreUnavailable),
        ],
        ("POST", "/api/account/passkeys/options") => {
            &[(403, ReauthenticationRequired), (422, ValidationFailed)]
        }
        ("POST", "/api/account/passkeys") => &[
            (400, PasskeyCeremonyExpired),
            (403, ReauthenticationRequired),
            (409, PasskeyExists),
        ],
        ("DELETE", "/api/account/passkeys/{id}") => {
            &[(403, ReauthenticationRequired), (404, NotFound)]
        }
        // Anyone but an administrator is told there is no such endpoint.
        ("GET", "/api/admin/users") => &[(404, NotFound), (422, ValidationFailed)],
        ("DELETE", "/api/admin/users/{username}/sessions/{id}")
        | ("POST", "/api/admin/users/{username}/disable") => &[
            (403, ReauthenticationRequired),
            (404, NotFound),
            (422, ValidationFailed),
        ],
        ("DELETE", "/api/admin/users/{username}/sessions")
        | ("POST", "/api/admin/users/{username}/enable") => {
            &[(403, ReauthenticationRequired), (404, NotFound)]
        }
        _ => &[],
    }
}

/// One status's problem answer: a `Problem` whose `error_code` is one of `codes`.
fn problem_response(status: u16, codes: &[ErrorCode]) -> utoipa::openapi::Response {
    let listed: Vec<String> = codes
        .iter()
        .map(|c| format!("`{}` ({})", c.as_str(), c.title()))
        .collect();
    let narrowed = ObjectBuilder::new().property(
        "error_code",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(codes.iter().map(|c| c.as_str()))),
    );
    let schema = utoipa::openapi::schema::AllOfBuilder::new()
        .item(Ref::from_schema_name("Problem"))
        .item(narrowed);
    let mut response = ResponseBuilder::new()
        .description(format!("A problem: {}", listed.join(", ")))
        .content(
            PROBLEM_CONTENT_TYPE,
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .header(REQUEST_ID_HEADER, request_id_header());
    if status == 401 {
        response = response.header(
            "WWW-Authenticate",
            header(string(""), "The RFC 6750 challenge"),
        );
    }
    if matches!(status, 429 | 503) {
        response = response.header(
            "Retry-After",
            header(integer(), "Seconds to wait before trying again"),
        );
    }
    response.build()
}

/// `schema` without the `null` that `Option` adds.
fn not_null(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::OneOf(one_of)) => {
            let is_null = |item: &RefOr<Schema>| matches!(item, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
            let mut rest: Vec<_> = one_of.items.into_iter().filter(|i| !is_null(i)).collect();
            if rest.len() == 1 {
                return rest.remove(0);
            }
            let one_of = rest
                .into_iter()
                .fold(utoipa::openapi::schema::OneOfBuilder::new(), |b, item| {
                    b.item(item)
                });
            RefOr::T(Schema::OneOf(one_of.build()))
        }
        RefOr::T(Schema::Object(mut object)) => {
            if let SchemaType::Array(types) = &object.schema_type {
                let types: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                object.schema_type = match types.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::Array(types),
                };
            }
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

fn request_id_header() -> utoipa::openapi::header::Header {
    header(
        string(""),
        "The request's id (the client's when it is a short safe token), also in problems",
    )
}

/// Whether a response's body is the component schema `name`.
fn carries(response: &utoipa::openapi::Response, name: &str) -> bool {
    let wanted = format!("#/components/schemas/{name}");
    response
        .content
        .values()
        .any(|c| matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location == wanted))
}

fn header(schema: ObjectBuilder, description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(schema)
        .description(Some(description))
        .build()
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer)
}

fn string(format: &str) -> ObjectBuilder {
    let builder = ObjectBuilder::new().schema_type(Type::String);
    match format {
        "date-time" => builder.format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        ))),
        _ => builder,
    }
}
