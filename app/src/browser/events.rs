//! The event stream (`GET /api/events`, SPEC §9.3), one per browser: the tab holding the
//! `vigil-events` Web Lock opens it and hands what it hears to its machine, which tells the
//! other tabs what the server bears out. When that tab goes away the browser grants the lock
//! to a waiting tab, which opens its own. Where Web Locks are missing, each tab opens one.
//!
//! The machine decides when the stream is wanted and when to try again; this only carries
//! it out, and reports a stream that closed or could not open as lost.

use std::cell::RefCell;

use js_sys::{Function, Object, Promise, Reflect};
use vigil::events::{ServerEvent, EVENTS_PATH};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const LOCK_NAME: &str = "vigil-events";
const EVENT_NAMES: [&str; 3] = ["ready", "session_ended", "sessions_changed"];

#[derive(Default)]
struct Stream {
    /// Each `open` is one attempt; a late lock grant of an earlier one lets go at once.
    attempt: u32,
    wanted: bool,
    source: Option<web_sys::EventSource>,
    /// The stream's listeners, kept while it is open and let go with it.
    listeners: Vec<Closure<dyn Fn(web_sys::MessageEvent)>>,
    failed: Option<Closure<dyn Fn()>>,
    /// Lets go of the lock (resolves the promise the held lock waits on).
    release: Option<Function>,
    /// Stops waiting for the lock.
    waiting: Option<web_sys::AbortController>,
}

thread_local! {
    static STREAM: RefCell<Stream> = RefCell::new(Stream::default());
    /// Takes the rejection of a wait for the lock that was given up.
    static IGNORE: Closure<dyn FnMut(JsValue)> = Closure::new(|_: JsValue| {});
}

/// Opens the stream once this tab holds the lock; `heard` gets each event, `lost` is called
/// once if the stream closes or cannot open.
pub fn open(heard: fn(ServerEvent), lost: fn()) {
    let attempt = STREAM.with(|s| {
        let mut s = s.borrow_mut();
        s.attempt += 1;
        s.wanted = true;
        s.attempt
    });
    let start = move || connect(attempt, heard, lost);
    let Some((locks, request)) = super::refresh_lock::web_locks() else {
        start();
        return;
    };
    let abort = web_sys::AbortController::new().ok();
    let options = Object::new();
    if let Some(abort) = &abort {
        let _ = Reflect::set(&options, &"signal".into(), &abort.signal());
    }
    STREAM.with(|s| s.borrow_mut().waiting = abort);
    let granted = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        let current = STREAM.with(|s| {
            let mut s = s.borrow_mut();
            s.waiting = None;
            s.wanted && s.attempt == attempt
        });
        if !current {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        let held = Promise::new(&mut |resolve, _reject| {
            STREAM.with(|s| s.borrow_mut().release = Some(resolve));
        });
        start();
        held
    });
    let waited = request.call3(&locks, &LOCK_NAME.into(), &options, &granted);
    // An aborted wait rejects; nothing is owed to anyone then.
    if let Ok(promise) = waited.and_then(|p| p.dyn_into::<Promise>()) {
        IGNORE.with(|ignore| {
            let _ = promise.catch(ignore);
        });
    }
}

/// Closes the stream and lets go of the lock (or stops waiting for it).
pub fn close() {
    let (source, release, waiting, listeners) = STREAM.with(|s| {
        let mut s = s.borrow_mut();
        s.wanted = false;
        let listeners = (std::mem::take(&mut s.listeners), s.failed.take());
        (
            s.source.take(),
            s.release.take(),
            s.waiting.take(),
            listeners,
        )
    });
    if let Some(source) = source {
        source.close();
    }
    // Let go once this turn is over: `close` may run inside one of them.
    leptos::task::spawn_local(async move { drop(listeners) });
    if let Some(waiting) = waiting {
        waiting.abort();
    }
    if let Some(release) = release {
        let _ = release.call0(&JsValue::UNDEFINED);
    }
}

fn connect(attempt: u32, heard: fn(ServerEvent), lost: fn()) {
    let Ok(source) = web_sys::EventSource::new(EVENTS_PATH) else {
        return give_up(attempt, lost);
    };
    let listeners: Vec<_> = EVENT_NAMES
        .into_iter()
        .map(|name| {
            let listener = Closure::<dyn Fn(web_sys::MessageEvent)>::new(
                move |event: web_sys::MessageEvent| {
                    let data = event.data().as_string().unwrap_or_default();
                    if let Some(event) = ServerEvent::parse(name, &data) {
                        heard(event);
                    }
                },
            );
            let _ =
                source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            listener
        })
        .collect();
    // The browser would reconnect by itself, at its own pace and without the machine
    // knowing: the stream is closed instead, and the machine decides.
    let failed = Closure::<dyn Fn()>::new(move || give_up(attempt, lost));
    source.set_onerror(Some(failed.as_ref().unchecked_ref()));
    STREAM.with(|s| {
        let mut s = s.borrow_mut();
        if s.wanted && s.attempt == attempt {
            s.source = Some(source);
            s.listeners = listeners;
            s.failed = Some(failed);
        } else {
            // Closed before it was kept: nothing calls these any more.
            source.close();
        }
    });
}

/// The stream of `attempt` is over: closed here, the lock let go, the machine told once.
fn give_up(attempt: u32, lost: fn()) {
    let current = STREAM.with(|s| s.borrow().wanted && s.borrow().attempt == attempt);
    if current {
        close();
        lost();
    }
}
