//! Passkeys in the browser: `navigator.credentials` with the server's JSON options, and the
//! sign-in ceremony (`vigil::client::passkey`) carried out.
//!
//! The options travel as WebAuthn's JSON and are read with `PublicKeyCredential`'s own
//! `parse…OptionsFromJSON`, the answer written with its `toJSON`: no base64 handling here,
//! and no JavaScript file of our own. A browser without them cannot use passkeys here
//! (`AuthenticatorFailure::Unsupported`), and the password path stays as it is.
//!
//! On the sign-in page the browser may also suggest a passkey among the username field's
//! autofill entries (conditional mediation): that request starts when the field is first
//! used and waits; pressing "Sign in with a passkey" aborts it first (a browser serves one
//! request at a time).

use std::cell::RefCell;

use js_sys::{Function, Object, Reflect, JSON};
use vigil::client::passkey::{AuthenticatorFailure, Purpose};
use vigil::client::{CeremonyCommand, CeremonyEvent, CeremonyState, PasskeyCeremony};
use vigil::passkeys::{PasskeyChallenge, SIGN_IN_OPTIONS_PATH, SIGN_IN_PATH};
use vigil::SessionInfo;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::http::{decode, fetch};

thread_local! {
    /// The autofill request waiting on the sign-in page, to abort before another.
    static AUTOFILL: RefCell<Option<web_sys::AbortController>> = const { RefCell::new(None) };
}

/// Whether this browser can suggest passkeys in autofill.
async fn autofill_available() -> bool {
    let Ok((class, available)) = credential_method("isConditionalMediationAvailable") else {
        return false;
    };
    let Some(promise) = available
        .call0(&class)
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return false;
    };
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn unsupported<T>(_: T) -> AuthenticatorFailure {
    AuthenticatorFailure::Unsupported
}

/// A static method of `PublicKeyCredential`, if this browser has it.
fn credential_method(name: &str) -> Result<(JsValue, Function), AuthenticatorFailure> {
    let window = web_sys::window().ok_or(AuthenticatorFailure::Unsupported)?;
    let class = Reflect::get(&window, &"PublicKeyCredential".into()).map_err(unsupported)?;
    let method = Reflect::get(&class, &name.into())
        .ok()
        .and_then(|m| m.dyn_into::<Function>().ok())
        .ok_or(AuthenticatorFailure::Unsupported)?;
    Ok((class, method))
}

/// What a `DOMException` from `navigator.credentials` means for the user.
fn failure(error: JsValue) -> AuthenticatorFailure {
    let name = Reflect::get(&error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" | "AbortError" => AuthenticatorFailure::Cancelled,
        "InvalidStateError" => AuthenticatorFailure::AlreadyRegistered,
        "SecurityError" | "NotSupportedError" => AuthenticatorFailure::Unsupported,
        "" => AuthenticatorFailure::Failed("unknown error".into()),
        other => AuthenticatorFailure::Failed(other.into()),
    }
}

/// `navigator.credentials.create` (`register`) or `.get` with the server's options
/// (`{"publicKey": {…}}`): the credential as `toJSON` writes it.
pub async fn ask(
    options: serde_json::Value,
    register: bool,
) -> Result<serde_json::Value, AuthenticatorFailure> {
    ask_with(options, register, None).await
}

/// As [`ask`]; with `autofill`, a conditional request that the signal can abort.
async fn ask_with(
    options: serde_json::Value,
    register: bool,
    autofill: Option<web_sys::AbortSignal>,
) -> Result<serde_json::Value, AuthenticatorFailure> {
    let parse = match register {
        true => "parseCreationOptionsFromJSON",
        false => "parseRequestOptionsFromJSON",
    };
    let (class, parse) = credential_method(parse)?;
    let json = JSON::parse(&options["publicKey"].to_string()).map_err(unsupported)?;
    let public_key = parse
        .call1(&class, &json)
        .map_err(|e| AuthenticatorFailure::Failed(format!("{:?}", e.as_string())))?;
    let request = Object::new();
    Reflect::set(&request, &"publicKey".into(), &public_key).map_err(unsupported)?;
    if let Some(signal) = autofill {
        Reflect::set(&request, &"mediation".into(), &"conditional".into()).map_err(unsupported)?;
        Reflect::set(&request, &"signal".into(), &signal).map_err(unsupported)?;
    }
    let navigator = web_sys::window()
        .ok_or(AuthenticatorFailure::Unsupported)?
        .navigator();
    let credentials = Reflect::get(&navigator, &"credentials".into()).map_err(unsupported)?;
    let call = match register {
        true => "create",
        false => "get",
    };
    let call = Reflect::get(&credentials, &call.into())
        .ok()
        .and_then(|m| m.dyn_into::<Function>().ok())
        .ok_or(AuthenticatorFailure::Unsupported)?;
    let promise = call
        .call1(&credentials, &request)
        .map_err(failure)?
        .dyn_into::<js_sys::Promise>()
        .map_err(unsupported)?;
    let credential = JsFuture::from(promise).await.map_err(failure)?;
    if credential.is_null() || credential.is_undefined() {
        return Err(AuthenticatorFailure::Cancelled);
    }
    let to_json = Reflect::get(&credential, &"toJSON".into())
        .ok()
        .and_then(|m| m.dyn_into::<Function>().ok())
        .ok_or(AuthenticatorFailure::Unsupported)?;
    let json = to_json.call0(&credential).map_err(failure)?;
    let text = JSON::stringify(&json)
        .ok()
        .and_then(|t| t.as_string())
        .ok_or(AuthenticatorFailure::Unsupported)?;
    serde_json::from_str(&text).map_err(|e| AuthenticatorFailure::Failed(e.to_string()))
}

/// Signs in with a passkey, start to finish: the session the server answers, or the
/// sentence for the form. With `autofill`, the request waits for the user to pick a
/// passkey among the username field's suggestions; an empty sentence means it was
/// aborted or is not offered, and nothing needs saying.
pub async fn sign_in(purpose: Purpose, autofill: bool) -> Result<SessionInfo, String> {
    let previous = AUTOFILL.with(|a| a.borrow_mut().take());
    if let Some(previous) = previous {
        previous.abort();
    }
    let signal = match autofill {
        false => None,
        true => {
            if !autofill_available().await {
                return Err(String::new());
            }
            let controller = web_sys::AbortController::new().map_err(|_| String::new())?;
            let signal = controller.signal();
            AUTOFILL.with(|a| *a.borrow_mut() = Some(controller));
            Some(signal)
        }
    };
    let mut ceremony = PasskeyCeremony::default();
    let mut commands = ceremony.handle(CeremonyEvent::Start(purpose));
    let mut session = None;
    while let Some(command) = commands.pop() {
        let event = match command {
            CeremonyCommand::FetchOptions { attempt } => {
                let answer = fetch("POST", SIGN_IN_OPTIONS_PATH, Some("{}".into()), &[])
                    .await
                    .and_then(|text| decode::<PasskeyChallenge>(&text))
                    .map_err(|problem| *problem);
                if signal.is_some() && answer.is_err() {
                    // The suggestion is not offered this time; the button still works.
                    return Err(String::new());
                }
                CeremonyEvent::Options { attempt, answer }
            }
            CeremonyCommand::AskAuthenticator { attempt, options } => {
                let answer = ask_with(options, false, signal.clone()).await;
                if signal.is_some() && answer.is_err() {
                    // Nobody asked for the suggestion: aborted for the button's request, the
                    // page going, or no passkey here. Nothing to say.
                    return Err(String::new());
                }
                CeremonyEvent::Authenticator { attempt, answer }
            }
            CeremonyCommand::SignIn { attempt, body } => {
                let body = serde_json::to_string(&body).unwrap_or_default();
                let answer = fetch("POST", SIGN_IN_PATH, Some(body), &[])
                    .await
                    .and_then(|text| decode::<SessionInfo>(&text))
                    .map(|info| session = Some(info))
                    .map_err(|problem| *problem);
                CeremonyEvent::Finished { attempt, answer }
            }
        };
        commands = ceremony.handle(event);
    }
    match (ceremony.state(), session) {
        (CeremonyState::Succeeded, Some(info)) => Ok(info),
        (CeremonyState::Failed(text), _) => Err(text),
        _ => Err("Signing in with the passkey was interrupted. Try again.".into()),
    }
}
