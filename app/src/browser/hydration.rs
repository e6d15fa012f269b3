//! The page's hydration, and what must wait for it to end.
//!
//! Lazy routes hydrate once their wasm chunk has arrived, so hydration is a task that can
//! outlast the first effects. Whatever changes what a page renders (the session controller's
//! answer turns "Checking your session…" into the page) must wait until hydration has walked
//! the whole server-rendered page: a view changed before its chunk hydrates no longer matches
//! the HTML the server sent, and hydration gives up.

use std::cell::RefCell;

use leptos::prelude::*;

enum Hydration {
    Running(Vec<Box<dyn FnOnce()>>),
    Done,
}

thread_local! {
    static STATE: RefCell<Hydration> = const { RefCell::new(Hydration::Running(Vec::new())) };
}

/// Hydrates the server-rendered body with `app`, then runs what waited for it.
pub fn hydrate<F, N>(app: F)
where
    F: FnOnce() -> N + 'static,
    N: IntoView,
{
    // Not leptos' spawn_local: its executor is set up by the hydration this task starts.
    wasm_bindgen_futures::spawn_local(async move {
        let mounted = leptos::mount::hydrate_from_async(leptos::tachys::dom::body(), app).await;
        // The page lives as long as the document.
        mounted.forget();
        let waiting = STATE.with(|state| match state.replace(Hydration::Done) {
            Hydration::Running(waiting) => waiting,
            Hydration::Done => Vec::new(),
        });
        for run in waiting {
            run();
        }
    });
}

/// Runs `run` once the page has hydrated: now, if it has.
pub fn after_hydration(run: impl FnOnce() + 'static) {
    let run = STATE.with(|state| match &mut *state.borrow_mut() {
        Hydration::Running(waiting) => {
            waiting.push(Box::new(run));
            None
        }
        Hydration::Done => Some(run),
    });
    if let Some(run) = run {
        run();
    }
}
