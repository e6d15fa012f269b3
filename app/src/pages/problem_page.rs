//! `/problems/{code}`: the page every problem `type` URI points at.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use vigil::ErrorCode;

#[component]
pub fn ProblemPage() -> impl IntoView {
    let params = use_params_map();
    let code = move || params.with(|p| p.get("code").and_then(|slug| ErrorCode::from_slug(&slug)));
    view! {
        <main class="problem-page">
            {move || match code() {
                Some(code) => {
                    let (for_people, for_clients) = code.resolution();
                    view! {
                        <article class="problem-card">
                            <p class="brand" aria-hidden="true">"Vigil"</p>
                            <h1>{code.title()}</h1>
                            <dl class="problem-facts">
                                <dt>"error_code"</dt>
                                <dd><code>{code.as_str()}</code></dd>
                                <dt>"HTTP status"</dt>
                                <dd>{code.status()}</dd>
                            </dl>
                            <h2>"What happened"</h2>
                            <p>{code.explanation()}</p>
                            <h2>"What to do"</h2>
                            <p>{for_people}</p>
                            <h2>"For API clients"</h2>
                            <p>{for_clients}</p>
                            <p><a href="/">"Back to Vigil"</a></p>
                        </article>
                    }
                    .into_any()
                }
                None => {
                    #[cfg(feature = "ssr")]
                    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                        response.set_status(http::StatusCode::NOT_FOUND);
                    }
                    view! {
                    <article class="problem-card">
                        <h1>"Unknown problem type"</h1>
                        <p>"Vigil has no problem of this type."</p>
                        <p><a href="/">"Back to Vigil"</a></p>
                    </article>
                    }
                    .into_any()
                }
            }}
        </main>
    }
}
