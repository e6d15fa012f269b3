//! The wasm entry point: hydrates the server-rendered page.

// Leptos view types nest deeply; release builds (without erase_components) need headroom.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Readable panics in the console while developing; release builds abort on panic and
    // leave the hook (and the formatting it pulls in) out of the wasm.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    // Lazy routes (app/src/lib.rs) hydrate once their wasm chunk has arrived, so hydration
    // runs as a task rather than in one synchronous pass, and the session starts after it.
    app::browser::hydration::hydrate(app::App);
}
