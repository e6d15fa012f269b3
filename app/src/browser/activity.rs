//! The activity tracker: passive listeners that cost a timestamp write per raw event.
//!
//! Pointer motion and the wheel only record the time. These listeners fire once and are
//! re-armed by [`arm`] at each heartbeat: the heartbeat only needs to know that there was
//! activity since its last report, so the first motion of an interval costs one timestamp
//! and every further motion costs nothing at all (no listener is left to run). Deliberate
//! interaction (keys, clicks, touches) also records the time and calls the controller's hook,
//! which extends the session only while the warning is showing.
//!
//! Only what the user does counts. Scrolling is seen through what scrolls (the wheel, a
//! touch, a key, a press on the scrollbar), never through the `scroll` event, which the page
//! fires as well when it scrolls itself: the router scrolls to the top of every page it
//! opens, and that must not extend a session nobody is using. Likewise a `pointermove` that
//! moved nothing is the browser updating what lies under a still pointer.

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AddEventListenerOptions;

/// The one listener every armed motion event calls.
type MotionListener = Closure<dyn Fn(web_sys::Event)>;

thread_local! {
    static ON_DELIBERATE: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
    static RECORD_MOTION: RefCell<Option<MotionListener>> = const { RefCell::new(None) };
    /// When the armed motion listener last fired (ms since the epoch).
    static LAST_MOTION: Cell<f64> = const { Cell::new(0.0) };
}

/// Events that only show presence (`pointermove` covers mouse, pen and touch motion).
const PASSIVE_EVENTS: [&str; 2] = ["pointermove", "wheel"];
/// Events that show intent.
const DELIBERATE_EVENTS: [&str; 3] = ["keydown", "pointerdown", "touchstart"];

/// The last pointer motion or wheel (the deliberate kind reaches the machine as
/// events of its own).
pub fn last_motion_ms() -> f64 {
    LAST_MOTION.get()
}

/// (Re-)arms the one-shot motion listeners. Adding a listener that is still armed is a no-op.
pub fn arm() {
    arm_for(&PASSIVE_EVENTS);
}

fn arm_for(events: &[&str]) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let options = AddEventListenerOptions::new();
    options.set_passive(true);
    options.set_capture(true);
    options.set_once(true);
    RECORD_MOTION.with(|record| {
        if let Some(record) = record.borrow().as_ref() {
            for event in events {
                let _ = window.add_event_listener_with_callback_and_add_event_listener_options(
                    event,
                    record.as_ref().unchecked_ref(),
                    &options,
                );
            }
        }
    });
}

/// Records motion, unless the pointer did not move: the browser sends such a `pointermove`
/// itself when the page changes under a still pointer (after signing in, say, as the
/// workspace replaces the sign-in form), and that is not the user. Its one-shot listener is
/// armed again for the next.
fn record_motion(event: web_sys::Event) {
    let still = event.type_() == "pointermove"
        && event
            .dyn_ref::<web_sys::MouseEvent>()
            .is_some_and(|pointer| pointer.movement_x() == 0 && pointer.movement_y() == 0);
    if still {
        arm_for(&["pointermove"]);
    } else {
        LAST_MOTION.set(js_sys::Date::now());
    }
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
    // Capture: a listener inside the page that stops an event cannot hide it.
    options.set_capture(true);

    let record = Closure::<dyn Fn(web_sys::Event)>::new(record_motion);
    RECORD_MOTION.with(|r| *r.borrow_mut() = Some(record));
    arm();

    let deliberate = Closure::<dyn Fn()>::new(|| {
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
