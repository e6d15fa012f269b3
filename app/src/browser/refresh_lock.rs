//! One heartbeat stream for all tabs: a refresh for activity runs only in the tab holding
//! the Web Lock, and only if no tab reported activity within the heartbeat interval.
//!
//! The last report time is shared through localStorage, whose writes reach other tabs'
//! processes a little later; the lock is held until the report is answered, so the next
//! tab decides long after the time was written. Where Web Locks are missing the shared
//! time alone decides (a race can then cost one extra refresh, never a missed one).

use std::cell::RefCell;

use js_sys::{Function, Promise, Reflect};
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

thread_local! {
    /// Resolves the promise the held lock waits on; set while this tab holds it.
    static RELEASE: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Asks for the heartbeat lock, waiting while another tab holds it, and runs `granted`
/// once it is this tab's. The lock stays held until [`release`]: the browser grants it to
/// one tab at a time, so no tab decides while another's report is still on its way.
pub fn acquire<F>(granted: F)
where
    F: FnOnce() + 'static,
{
    let Some((locks, request)) = web_locks() else {
        granted();
        return;
    };
    let callback = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        let held = Promise::new(&mut |resolve, _reject| {
            RELEASE.with(|r| *r.borrow_mut() = Some(resolve));
        });
        granted();
        held
    });
    let _ = request.call2(&locks, &LOCK_NAME.into(), &callback);
}

/// `navigator.locks` and its `request`, where the browser has them.
pub(super) fn web_locks() -> Option<(JsValue, Function)> {
    let locks = web_sys::window()
        .map(|w| JsValue::from(w.navigator()))
        .and_then(|n| Reflect::get(&n, &"locks".into()).ok())
        .filter(|l| !l.is_undefined() && !l.is_null())?;
    let request = Reflect::get(&locks, &"request".into())
        .ok()?
        .dyn_into::<Function>()
        .ok()?;
    Some((locks, request))
}

/// Lets go of the heartbeat lock if this tab holds it.
pub fn release() {
    if let Some(resolve) = RELEASE.with(|r| r.borrow_mut().take()) {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    }
}
