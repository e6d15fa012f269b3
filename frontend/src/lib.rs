//! The wasm entry point: hydrates the server-rendered page.

// Leptos view types nest deeply; builds without erase_components (a plain `cargo build`)
// need headroom.
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

/// Room in the read-only data for `cargo leptos --split`. The splitter lays the data out
/// again, each chunk's part after the main module's, and aligning each part can make the
/// whole a few bytes longer than the linker's layout; when it is, the splitter keeps *all*
/// of the data in the main module (every page's texts downloaded up front). Nothing uses
/// these bytes, so the splitter places them in no module: they only make room, and cost
/// nothing in what the browser downloads.
#[used]
static SPLIT_LAYOUT_ROOM: [u8; 1024] = [0x5a; 1024];
