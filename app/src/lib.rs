//! Vigil's user interface: pages, components and browser services.

// Leptos view types nest deeply; builds without erase_components (a plain `cargo build`)
// need headroom.
#![recursion_limit = "256"]

pub mod actions;
pub mod api;
#[cfg(feature = "hydrate")]
pub mod browser;
pub mod components;
pub mod content_security;
pub mod messages;
pub mod page_head;
pub mod page_meta;
pub mod pages;
pub mod session_context;
pub mod sign_in;

use leptos::prelude::*;
use leptos_meta::HashedStylesheet;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;
#[cfg(feature = "split")]
use leptos_router::{lazy_route, Lazy, LazyRoute};

use crate::page_head::{FollowRoute, PageHead};
use crate::page_meta::{POLICY_META, SESSION_META};
use crate::pages::account::AccountPage;
use crate::pages::admin::AdminPage;
use crate::pages::login::LoginPage;
use crate::pages::problem_page::ProblemPage;
use crate::pages::sessions::SessionsPage;
use crate::pages::workspace::WorkspacePage;
use crate::session_context::SessionContext;

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let (session, path) = page_request_setup(&options);
    let head = PageHead::of(&path);
    let policy = page_meta::page_policy().map(|policy| page_meta::encode_policy(&policy));
    let boot = page_meta::page_boot_script().map(|record| {
        view! { <script type="application/json" id=vigil::boot::BOOT_ELEMENT_ID inner_html=record></script> }
    });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <meta name="description" content=head.description/>
                <meta name=SESSION_META content=session/>
                <meta name=POLICY_META content=policy/>
                {boot}
                // The SVG is the icon browsers use; declaring the ICO by its sizes (not "any") keeps
                // Chromium from fetching both.
                <link rel="icon" href="/favicon.ico" sizes="48x48"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The stylesheet's name carries its content hash (cargo-leptos `hash-files`),
                // so the server can let browsers keep it for good.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <title>{head.title()}</title>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// On the server: sets the page's Content-Security-Policy (with the nonce of its inline
/// scripts) and tells whether a session cookie came with the request, and the page's path.
fn page_request_setup(_options: &LeptosOptions) -> (&'static str, String) {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>();
        if let (Some(nonce), Some(response)) = (
            leptos::nonce::use_nonce(),
            use_context::<leptos_axum::ResponseOptions>(),
        ) {
            let reload_port = std::env::var("LEPTOS_WATCH").is_ok().then(|| {
                _options
                    .reload_external_port
                    .unwrap_or(_options.reload_port)
            });
            if let Ok(value) =
                http::HeaderValue::from_str(&content_security::page_policy(&nonce, reload_port))
            {
                response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
            }
        }
        let has_cookie = parts.as_ref().is_some_and(|parts| {
            parts
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| vigil::token::find_session_cookie(v).is_some())
        });
        let path = parts
            .map(|parts| parts.uri.path().to_owned())
            .unwrap_or_default();
        (if has_cookie { "cookie" } else { "none" }, path)
    }
    #[cfg(not(feature = "ssr"))]
    ("cookie", String::new())
}

/// A page's view for its route: lazy (its own wasm chunk, declared by `lazy_page!`) in a split
/// build, the page component itself otherwise.
#[cfg(feature = "split")]
macro_rules! page {
    ($route:ident, $page:ident) => {
        Lazy::<$route>::new()
    };
}
#[cfg(not(feature = "split"))]
macro_rules! page {
    ($route:ident, $page:ident) => {
        $page
    };
}

#[component]
pub fn App() -> impl IntoView {
    // The session machine starts when a page that shows the session asks for it
    // (`browser::loader`).
    provide_context(SessionContext::new());

    view! {
        <Router>
            <FollowRoute/>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("") view={page!(WorkspaceRoute, WorkspacePage)}/>
                <Route path=path!("login") view=LoginPage/>
                <Route path=path!("sessions") view={page!(SessionsRoute, SessionsPage)}/>
                <Route path=path!("account") view={page!(AccountRoute, AccountPage)}/>
                <Route path=path!("admin") view={page!(AdminRoute, AdminPage)}/>
                <Route path=path!("problems/:code") view={page!(ProblemRoute, ProblemPage)}/>
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
        <main class="problem-page">
            <article class="problem-card">
                <h1>"Page not found"</h1>
                <p><a href="/">"Back to Vigil"</a></p>
            </article>
        </main>
    }
}

/// Declares a route whose page code is compiled into its own wasm chunk (`cargo leptos
/// --split`): the browser fetches it only when it shows that page, so the sign-in page, the
/// one every first visit lands on, loads without the workspace, sessions, account, administration and problem
/// pages. The server renders all pages as before; hydration waits for the chunk.
#[cfg(feature = "split")]
macro_rules! lazy_page {
    ($($route:ident => $page:ident),* $(,)?) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

#[cfg(feature = "split")]
lazy_page! {
    WorkspaceRoute => WorkspacePage,
    SessionsRoute => SessionsPage,
    AccountRoute => AccountPage,
    AdminRoute => AdminPage,
    ProblemRoute => ProblemPage,
}
