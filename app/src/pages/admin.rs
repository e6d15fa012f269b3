//! The administrators' page (SPEC §9.3): accounts with their live sessions (the rows of
//! `/sessions`), ending one or all of an account's sessions, disabling and enabling it. Each
//! change asks for the password when the sign-in is not recent, like the user's own
//! sensitive actions; the server decides who is an administrator (anyone else is told the
//! page is not for them).

use leptos::prelude::*;
use vigil::admin::{AdminUser, MAX_QUERY_LEN};
use vigil::client::AccountAction;
use vigil::Role;

use crate::actions;
use crate::components::frame::SignedInFrame;
use crate::pages::sessions::{AccountStatus, SessionRow};
use crate::session_context::use_session;

#[component]
pub fn AdminPage() -> impl IntoView {
    let ctx = use_session();
    let search = NodeRef::<leptos::html::Input>::new();
    // Every account, once the session is known to be live.
    Effect::new(move |_| {
        if ctx.phase.get().is_signed_in() && ctx.accounts.with_untracked(Option::is_none) {
            actions::account(AccountAction::LoadAccounts {
                query: String::new(),
            });
        }
    });
    let find = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let query = search
            .get_untracked()
            .map(|el| el.value())
            .unwrap_or_default();
        actions::account(AccountAction::LoadAccounts { query });
    };
    let more = move || ctx.accounts.with(|a| a.as_ref().is_some_and(|a| a.more));
    let none = move || {
        ctx.accounts
            .with(|a| a.as_ref().is_some_and(|a| a.users.is_empty()))
    };
    view! {
        <SignedInFrame>
            <main class="account-page" id="admin-page">
                <h1>"Administration"</h1>
                <p class="page-intro">
                    "Accounts and where they are signed in. Ending a session or disabling an "
                    "account takes effect at once: its open pages lock and say why, and its "
                    "unsent work waits for its next sign-in."
                </p>
                <form class="search-form" role="search" on:submit=find>
                    <label for="account-search">"Find accounts by username"</label>
                    <input id="account-search" type="search" autocomplete="off"
                        maxlength=MAX_QUERY_LEN.to_string() node_ref=search/>
                    <button type="submit" class="button" disabled=move || ctx.account_busy.get()>
                        "Search"
                    </button>
                </form>
                <AccountStatus/>
                <p class="hint" hidden=move || !none()>"No account matches."</p>
                <ul class="account-list" id="account-list">
                    <For
                        each=move || ctx.accounts.get().map(|a| a.users).unwrap_or_default()
                        key=|user| {
                            let sessions: Vec<_> = user
                                .sessions
                                .iter()
                                .map(|s| (s.id.clone(), s.last_active_at))
                                .collect();
                            (user.username.clone(), user.disabled, sessions)
                        }
                        children=move |user| view! { <AccountRow user/> }
                    />
                </ul>
                <p class="hint" hidden=move || !more()>
                    "More accounts match than are shown: narrow the search."
                </p>
            </main>
        </SignedInFrame>
    }
}

#[component]
fn AccountRow(user: AdminUser) -> impl IntoView {
    let ctx = use_session();
    let heading = format!("account-{}", user.username);
    let is_own = ctx
        .user
        .with_untracked(|u| u.as_ref().is_some_and(|u| u.username == user.username));
    let username = user.username.clone();
    let end_all = {
        let username = username.clone();
        move |_| {
            actions::account(AccountAction::EndAccountSessions {
                username: username.clone(),
            })
        }
    };
    let toggle = {
        let username = username.clone();
        let disable = !user.disabled;
        move |_| {
            actions::account(AccountAction::SetAccess {
                username: username.clone(),
                disable,
            })
        }
    };
    let others = user.sessions.iter().filter(|s| !s.current).count();
    let sessions = user.sessions.clone();
    view! {
        <li class="account-row" data-user=user.username.clone()>
            <h2 id=heading>
                {user.display_name.clone()} " "
                <span class="username">{format!("({})", user.username)}</span>
            </h2>
            <p class="account-badges">
                {(user.role == Role::Admin).then(|| view! { <span class="badge">"Administrator"</span> })}
                {user.disabled.then(|| view! { <span class="badge danger">"Disabled"</span> })}
                {is_own.then(|| view! { <span class="badge subtle">"You"</span> })}
            </p>
            {match sessions.is_empty() {
                true => view! { <p class="hint">"No live sessions."</p> }.into_any(),
                false => view! {
                    <ul class="session-list">
                        {sessions
                            .into_iter()
                            .map(|view| view! { <SessionRow view account=username.clone()/> })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
            }}
            <div class="account-actions">
                <button type="button" class="button danger"
                    aria-label=format!("End every session of {}", user.username)
                    disabled=move || ctx.account_busy.get() || others == 0
                    on:click=end_all>
                    {if is_own { "End my other sessions" } else { "End all sessions" }}
                </button>
                {(!is_own).then(|| view! {
                    <button type="button"
                        class=if user.disabled { "button" } else { "button danger" }
                        aria-label=format!(
                            "{} the account {}",
                            if user.disabled { "Enable" } else { "Disable" },
                            user.username
                        )
                        disabled=move || ctx.account_busy.get()
                        on:click=toggle>
                        {if user.disabled { "Enable account" } else { "Disable account" }}
                    </button>
                })}
            </div>
        </li>
    }
}
