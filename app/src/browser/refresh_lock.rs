//! One heartbeat stream for all tabs: a refresh for activity runs only in the tab holding
//! the Web Lock, and only if no tab reported activity within the heartbeat interval.
//!
//! The last report time is shared through localStorage. Where Web Locks are missing the
//! shared time alone decides (a race can then cost one extra refresh, never a missed one).

use std::future::Future;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const LOCK_NAME: &str = "vigil-heartbeat";
const LAST_REPORT_KEY: &str = "vigil.last-report";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

/// When any tab last reported activity to the server (ms since epoch).
pub fn last_report_ms() -> f64 {
    storage()
        .and_then(|s| s.get_item(LAST_REPORT_KEY).ok().flatten())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

pub fn set_last_report_ms(ms: f64) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(LAST_REPORT_KEY, &format!("{ms}"));
    }
}

/// Runs `report` under the heartbeat lock, unless another tab holds it right now.
pub fn with_lock<F, Fut>(report: F)
where
    F: FnOnce() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let locks = web_sys::window()
        .map(|w| JsValue::from(w.navigator()))
        .and_then(|n| Reflect::get(&n, &"locks".into()).ok())
        .filter(|l| !l.is_undefined() && !l.is_null());
    let request = locks
        .as_ref()
        .and_then(|l| Reflect::get(l, &"request".into()).ok())
        .and_then(|f| f.dyn_into::<Function>().ok());
    let (Some(locks), Some(request)) = (locks, request) else {
        wasm_bindgen_futures::spawn_local(report());
        return;
    };
    let options = Object::new();
    let _ = Reflect::set(&options, &"ifAvailable".into(), &JsValue::TRUE);
    let callback = Closure::once_into_js(move |lock: JsValue| -> Promise {
        if lock.is_null() {
            // Another tab is reporting at this moment.
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        wasm_bindgen_futures::future_to_promise(async move {
            report().await;
            Ok(JsValue::UNDEFINED)
        })
    });
    let _ = request.call3(&locks, &LOCK_NAME.into(), &options, &callback);
}
