//! The header: the pages, who is signed in, the inactivity rule, and "Sign out".

use leptos::prelude::*;
use leptos_router::components::A;

use crate::actions;
use crate::session_context::{human_duration, use_session};

#[component]
pub fn TopBar() -> impl IntoView {
    let ctx = use_session();
    let name = move || {
        ctx.user.with(|u| {
            u.as_ref()
                .map(|u| u.display_name.clone())
                .unwrap_or_default()
        })
    };
    let rule = move || {
        ctx.policy.with(|p| {
            p.map(|p| {
                format!(
                    "Signs out after {} without activity",
                    human_duration(p.idle_timeout_secs)
                )
            })
            .unwrap_or_default()
        })
    };
    let is_admin = move || {
        ctx.user
            .with(|u| u.as_ref().is_some_and(|u| u.role == vigil::Role::Admin))
    };
    view! {
        <header class="top-bar">
            <p class="brand">"Vigil"</p>
            <nav class="main-nav" aria-label="Main">
                <A href="/" exact=true>"Drafts"</A>
                <A href="/sessions">"Sessions"</A>
                <A href="/account">"Account"</A>
                <Show when=is_admin>
                    <A href="/admin">"Admin"</A>
                </Show>
            </nav>
            <p class="session-rule">{rule}</p>
            <p class="signed-in-as">"Signed in as " <strong>{name}</strong></p>
            <button type="button" class="button" id="sign-out" on:click=move |_| actions::request_sign_out(ctx)>
                "Sign out"
            </button>
        </header>
    }
}
