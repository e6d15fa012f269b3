//! Vigil's user interface: pages, components and browser services.

// Leptos view types nest deeply; release builds (without erase_components) need headroom.
#![recursion_limit = "256"]

pub mod actions;
pub mod api;
#[cfg(feature = "hydrate")]
pub mod browser;
pub mod components;
pub mod messages;
pub mod pages;
pub mod session_context;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::pages::login::LoginPage;
use crate::pages::problem_page::ProblemPage;
use crate::pages::workspace::WorkspacePage;
use crate::session_context::SessionContext;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let session = SessionContext::new();
    provide_context(session);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| crate::browser::controller::start(session));

    view! {
        <Stylesheet id="leptos" href="/pkg/vigil.css"/>
        <Title text="Vigil"/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("") view=WorkspacePage/>
                <Route path=path!("login") view=LoginPage/>
                <Route path=path!("problems/:code") view=ProblemPage/>
            </Routes>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <div class="problem-page">
            <article class="problem-card">
                <h1>"Page not found"</h1>
                <p><a href="/">"Back to Vigil"</a></p>
            </article>
        </div>
    }
}
