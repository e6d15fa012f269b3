//! The requests of the browser machine, carried out: the session endpoints through their
//! server functions, the work endpoints with `fetch`. Every request gets an answer: the
//! server's, or `network_error` when it could not be reached in time.

use vigil::admin;
use vigil::client::{Answer, Request};
use vigil::passkeys::{
    passkey_path, PasskeyChallenge, PasskeyList, PasskeyView, PASSKEYS_PATH,
    REGISTRATION_OPTIONS_PATH,
};
use vigil::sessions::{session_path, PASSWORD_PATH, REVOKE_OTHERS_PATH, SESSIONS_PATH};
use vigil::work::{
    draft_path, drafts_page_path, etag, submit_path, DraftsPage, Precondition, Preferences,
    StoredDraft, WorkOp, WorkSnapshot, DRAFTS_PATH, IDEMPOTENCY_KEY_HEADER, MAX_DRAFTS, MAX_PAGE,
    SETTINGS_PATH,
};
use vigil::{ErrorCode, Problem};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::api;

/// A request that takes longer than this is given up (and retried by the machine).
const TIMEOUT_MS: i32 = 30_000;

fn unreachable(detail: impl Into<String>) -> Box<Problem> {
    Box::new(Problem::new(ErrorCode::NetworkError, detail))
}

pub async fn send(request: Request) -> Result<Answer, Problem> {
    answer(request).await.map_err(|problem| *problem)
}

async fn answer(request: Request) -> Result<Answer, Box<Problem>> {
    match request {
        Request::CheckSession => api::session_info()
            .await
            .map(Answer::Session)
            .map_err(|e| Box::new(e.0)),
        Request::Refresh => api::refresh()
            .await
            .map(|r| Answer::Session(r.session))
            .map_err(|e| Box::new(e.0)),
        Request::Logout => api::logout()
            .await
            .map(|()| Answer::LoggedOut)
            .map_err(|e| Box::new(e.0)),
        Request::GetWork => whole_account().await.map(Answer::Snapshot),
        Request::Work { key, op } => work(&key, op).await,
        Request::ListSessions => {
            let text = fetch("GET", SESSIONS_PATH, None, &[]).await?;
            decode(&text).map(Answer::Sessions)
        }
        Request::EndSession { id } => {
            let text = fetch("DELETE", &session_path(&id), None, &[]).await?;
            decode(&text).map(Answer::SessionsEnded)
        }
        Request::RevokeOthers => {
            let text = fetch("POST", REVOKE_OTHERS_PATH, Some("{}".into()), &[]).await?;
            decode(&text).map(Answer::SessionsEnded)
        }
        Request::DeleteAllDrafts => {
            let text = fetch("DELETE", DRAFTS_PATH, None, &[]).await?;
            decode(&text).map(Answer::DraftsDeleted)
        }
        Request::ChangePassword(change) => {
            let body = serde_json::to_string(&change).unwrap_or_default();
            let text = fetch("POST", PASSWORD_PATH, Some(body), &[]).await?;
            decode(&text).map(Answer::PasswordChanged)
        }
        Request::ListPasskeys => {
            let text = fetch("GET", PASSKEYS_PATH, None, &[]).await?;
            decode::<PasskeyList>(&text).map(Answer::Passkeys)
        }
        Request::PasskeyOptions => {
            let text = fetch("POST", REGISTRATION_OPTIONS_PATH, Some("{}".into()), &[]).await?;
            decode::<PasskeyChallenge>(&text).map(Answer::PasskeyChallenge)
        }
        Request::RegisterPasskey(registration) => {
            let body = serde_json::to_string(&registration).unwrap_or_default();
            let text = fetch("POST", PASSKEYS_PATH, Some(body), &[]).await?;
            decode::<PasskeyView>(&text).map(Answer::PasskeyAdded)
        }
        Request::RemovePasskey { id } => {
            fetch("DELETE", &passkey_path(&id), None, &[]).await?;
            Ok(Answer::PasskeyRemoved)
        }
        Request::ListAccounts { query } => {
            let text = fetch("GET", &admin::users_path(&query), None, &[]).await?;
            decode(&text).map(Answer::Accounts)
        }
        Request::EndAccountSession { username, id } => {
            let path = admin::user_session_path(&username, &id);
            let text = fetch("DELETE", &path, None, &[]).await?;
            decode(&text).map(Answer::SessionsEnded)
        }
        Request::EndAccountSessions { username } => {
            let path = admin::user_sessions_path(&username);
            let text = fetch("DELETE", &path, None, &[]).await?;
            decode(&text).map(Answer::SessionsEnded)
        }
        Request::SetAccess { username, disable } => {
            let path = admin::user_access_path(&username, disable);
            let text = fetch("POST", &path, Some("{}".into()), &[]).await?;
            decode(&text).map(Answer::AccessChanged)
        }
    }
}

async fn work(key: &str, op: WorkOp) -> Result<Answer, Box<Problem>> {
    let idempotency = (IDEMPOTENCY_KEY_HEADER, key.to_owned());
    match op {
        WorkOp::PutDraft {
            id,
            input,
            precondition,
        } => {
            let condition = match precondition {
                Precondition::Absent => ("if-none-match", "*".to_owned()),
                Precondition::Version(v) => ("if-match", etag(v)),
            };
            let body = serde_json::to_string(&input).unwrap_or_default();
            let text = fetch(
                "PUT",
                &draft_path(&id),
                Some(body),
                &[idempotency, condition],
            )
            .await?;
            decode::<StoredDraft>(&text).map(Answer::Saved)
        }
        WorkOp::DeleteDraft { id, version } => {
            let condition = ("if-match", etag(version));
            fetch("DELETE", &draft_path(&id), None, &[idempotency, condition]).await?;
            Ok(Answer::Deleted)
        }
        WorkOp::SubmitDraft { id, version } => {
            let condition = ("if-match", etag(version));
            let text = fetch("POST", &submit_path(&id), None, &[idempotency, condition]).await?;
            decode::<StoredDraft>(&text).map(Answer::Saved)
        }
        WorkOp::PutSettings { settings } => {
            let body = serde_json::to_string(&settings).unwrap_or_default();
            let text = fetch("PUT", SETTINGS_PATH, Some(body), &[idempotency]).await?;
            decode::<Preferences>(&text).map(Answer::Settings)
        }
    }
}

/// The account comes in pages, newest first; the machine gets it whole, in the order the
/// drafts were made, or not at all (a part would read as drafts deleted elsewhere).
async fn whole_account() -> Result<WorkSnapshot, Box<Problem>> {
    let mut snapshot = WorkSnapshot::default();
    let mut cursor: Option<String> = None;
    // An account holds at most MAX_DRAFTS: more pages than that is a fault.
    for _ in 0..=MAX_DRAFTS / MAX_PAGE + 1 {
        let text = fetch("GET", &drafts_page_path(cursor.as_deref()), None, &[]).await?;
        let page: DraftsPage = decode(&text)?;
        if let Some(settings) = page.settings {
            snapshot.settings = settings;
        }
        snapshot.drafts.extend(page.drafts);
        cursor = page.next_cursor;
        if cursor.is_none() {
            snapshot.drafts.reverse();
            return Ok(snapshot);
        }
    }
    Err(Box::new(Problem::new(
        ErrorCode::InternalError,
        "the account's drafts did not end after as many pages as an account can fill",
    )))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Box<Problem>> {
    serde_json::from_slice(text.as_bytes()).map_err(|e| {
        Box::new(Problem::new(
            ErrorCode::InternalError,
            format!("unreadable answer: {e}"),
        ))
    })
}

/// One JSON request: the body text of a 2xx answer, else the problem.
pub(crate) async fn fetch(
    method: &str,
    path: &str,
    body: Option<String>,
    headers: &[(&str, String)],
) -> Result<String, Box<Problem>> {
    let window = web_sys::window().ok_or_else(|| unreachable("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let header_map = web_sys::Headers::new().map_err(|_| unreachable("headers"))?;
    let _ = header_map.set("accept", "application/json");
    if let Some(body) = &body {
        let _ = header_map.set("content-type", "application/json");
        init.set_body(&JsValue::from_str(body));
    }
    for (name, value) in headers {
        let _ = header_map.set(name, value);
    }
    init.set_headers(&header_map);
    // Given up after the timeout; the timer goes when this function returns.
    let _deadline = web_sys::AbortController::new().ok().map(|controller| {
        init.set_signal(Some(&controller.signal()));
        gloo_timers::callback::Timeout::new(TIMEOUT_MS as u32, move || controller.abort())
    });
    let response = JsFuture::from(window.fetch_with_str_and_init(path, &init))
        .await
        .map_err(|_| unreachable("The server could not be reached."))?
        .dyn_into::<web_sys::Response>()
        .map_err(|_| unreachable("no response"))?;
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    if response.ok() {
        return Ok(text);
    }
    Err(Box::new(
        serde_json::from_slice::<Problem>(text.as_bytes()).unwrap_or_else(|_| {
            let mut problem = Problem::new(
                ErrorCode::Unknown,
                format!("The server answered {}.", response.status()),
            );
            problem.status = response.status();
            problem
        }),
    ))
}
