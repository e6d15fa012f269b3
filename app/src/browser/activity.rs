//! The activity tracker: passive listeners that cost a timestamp write per raw event.
//!
//! Pointer motion, scrolling and the wheel only record the time. Deliberate interaction
//! (keys, clicks, touches) additionally calls the controller's hook, which extends the
//! session only while the warning is showing.

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AddEventListenerOptions;

use super::time::now_ms;

thread_local! {
    static LAST_ACTIVITY: Cell<f64> = const { Cell::new(0.0) };
    static ON_DELIBERATE: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
}

/// Events that only show presence.
const PASSIVE_EVENTS: [&str; 4] = ["mousemove", "pointermove", "scroll", "wheel"];
/// Events that show intent.
const DELIBERATE_EVENTS: [&str; 3] = ["keydown", "pointerdown", "touchstart"];

pub fn last_activity_ms() -> f64 {
    LAST_ACTIVITY.with(Cell::get)
}

/// Installs the listeners once for the page's lifetime.
pub fn install(on_deliberate: impl Fn() + 'static) {
    ON_DELIBERATE.with(|hook| *hook.borrow_mut() = Some(Box::new(on_deliberate)));
    if INSTALLED.with(|installed| installed.replace(true)) {
        return;
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let options = AddEventListenerOptions::new();
    options.set_passive(true);
    // Scroll does not bubble; capture sees scrolling in any element.
    options.set_capture(true);

    let record = Closure::<dyn Fn()>::new(|| LAST_ACTIVITY.with(|t| t.set(now_ms())));
    for event in PASSIVE_EVENTS {
        let _ = window.add_event_listener_with_callback_and_add_event_listener_options(
            event,
            record.as_ref().unchecked_ref(),
            &options,
        );
    }
    record.forget();

    let deliberate = Closure::<dyn Fn()>::new(|| {
        LAST_ACTIVITY.with(|t| t.set(now_ms()));
        ON_DELIBERATE.with(|hook| {
            if let Some(hook) = hook.borrow().as_ref() {
                hook();
            }
        });
    });
    for event in DELIBERATE_EVENTS {
        let _ = window.add_event_listener_with_callback_and_add_event_listener_options(
            event,
            deliberate.as_ref().unchecked_ref(),
            &options,
        );
    }
    deliberate.forget();
}
