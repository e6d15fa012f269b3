//! One session, many tabs: what one tab learns about the session, the others hear at once.
//!
//! Messages travel on a BroadcastChannel; where that is missing, through the `storage`
//! event of a localStorage key. Only session facts travel (the server's `SessionInfo`
//! without the local key, or "signed out"), never a token or a key.

use std::cell::RefCell;

pub use vigil::client::TabMessage;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

const CHANNEL: &str = "vigil-session";
const FALLBACK_KEY: &str = "vigil.tab-message";

thread_local! {
    static CHANNEL_HANDLE: RefCell<Option<web_sys::BroadcastChannel>> = const { RefCell::new(None) };
}

/// Listens for messages from other tabs of this origin, handed on as they arrived: the
/// machine reads them (`TabMessage::decode`), so this listener carries none of its code.
pub fn install(on_message: impl Fn(String) + 'static) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_message = std::rc::Rc::new(on_message);
    if let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) {
        let handler = on_message.clone();
        let listener =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                if let Some(raw) = event.data().as_string() {
                    handler(raw);
                }
            });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        listener.forget();
        CHANNEL_HANDLE.with(|c| *c.borrow_mut() = Some(channel));
        return;
    }
    let listener =
        Closure::<dyn Fn(web_sys::StorageEvent)>::new(move |event: web_sys::StorageEvent| {
            if event.key().as_deref() == Some(FALLBACK_KEY) {
                if let Some(raw) = event.new_value() {
                    on_message(raw);
                }
            }
        });
    let _ = window.add_event_listener_with_callback("storage", listener.as_ref().unchecked_ref());
    listener.forget();
}

/// Tells the other tabs. Never echoed back to this one.
pub fn broadcast(message: &TabMessage) {
    let raw = message.encode();
    let sent = CHANNEL_HANDLE.with(|c| {
        c.borrow()
            .as_ref()
            .map(|channel| channel.post_message(&JsValue::from_str(&raw)).is_ok())
            .unwrap_or(false)
    });
    if !sent {
        if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
            // A changing value, so repeating the same message still fires the event.
            let stamped = format!("{raw}\n{}", js_sys::Date::now());
            let _ = storage.set_item(FALLBACK_KEY, &stamped);
        }
    }
}
