//! The sign-in page. It states how long inactivity may last (WCAG 2.2.6) in one sentence
//! above the form and the rest of the server's policy one step away, so the form and its
//! button fit the first screen, on a phone too.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use vigil::client::Notice;
use vigil::preserved::RETENTION;
use vigil::return_path::{after_sign_in, NEXT_PARAM};
use vigil::PolicyInfo;

use crate::actions::{self, SignInForm};
use crate::page_meta::page_policy;
use crate::session_context::{human_duration, use_session, ClientPhase, NoticeKey};

#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = use_session();
    // Rendered by the server and read back from the page by the browser (`page_meta`), so
    // stating it costs no request and hydrates as rendered.
    let policy = page_policy();
    // The fields are read when the form is submitted, not bound to signals: what someone
    // typed before the app finished loading is kept, never overwritten by hydration.
    let username = NodeRef::<leptos::html::Input>::new();
    let password = NodeRef::<leptos::html::Input>::new();
    let remember = NodeRef::<leptos::html::Input>::new();
    let form = SignInForm::new();
    let SignInForm { pending, error, .. } = form;
    // The form only works once the app is running: until then the button stays disabled,
    // so a press can never fall back to a plain form submission.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    #[cfg(feature = "hydrate")]
    crate::browser::loader::start_if_session_after_hydration(ctx);
    let navigate = use_navigate();
    // Back to the page that sent here (the server's `303` names it), never off this site.
    let query = use_query_map();
    let destination =
        move || after_sign_in(query.with_untracked(|q| q.get(NEXT_PARAM)).as_deref()).to_owned();

    // Someone already signed in (or with a session to resume) belongs in the app.
    Effect::new({
        let navigate = navigate.clone();
        move |_| {
            let phase = ctx.phase.get();
            if phase.is_signed_in() || phase.is_ended() {
                navigate(&destination(), Default::default());
            }
        }
    });

    let submit = {
        let navigate = navigate.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let navigate = navigate.clone();
            let value = |field: NodeRef<leptos::html::Input>| {
                field
                    .get_untracked()
                    .map(|el| el.value())
                    .unwrap_or_default()
            };
            let remembered = remember.get_untracked().is_some_and(|el| el.checked());
            let attempt = actions::sign_in(ctx, value(username), value(password), remembered);
            form.submit(attempt, move |succeeded| {
                if succeeded {
                    if let Some(el) = password.get_untracked() {
                        el.set_value("");
                    }
                    navigate(&destination(), Default::default());
                }
            });
        }
    };

    // No username or password: the passkey says who. What was typed stays as it was.
    let with_passkey = {
        let navigate = navigate.clone();
        move |_| {
            let navigate = navigate.clone();
            let remembered = remember.get_untracked().is_some_and(|el| el.checked());
            form.submit(
                actions::sign_in_with_passkey(ctx, remembered, false),
                move |succeeded| {
                    if succeeded {
                        navigate(&destination(), Default::default());
                    }
                },
            );
        }
    };

    // The browser's autofill may suggest a passkey: asked for once the field is first used
    // (never before the user acts), answered whenever they pick one.
    let offered = RwSignal::new(false);
    let offer_autofill = move || {
        if offered.get_untracked() || !hydrated.get_untracked() {
            return;
        }
        offered.set(true);
        let navigate = navigate.clone();
        let remembered = remember.get_untracked().is_some_and(|el| el.checked());
        leptos::task::spawn_local(async move {
            match actions::sign_in_with_passkey(ctx, remembered, true).await {
                Ok(()) => navigate(&destination(), Default::default()),
                Err(message) if message.is_empty() => {}
                Err(message) => error.set(Some(message)),
            }
        });
    };

    // The machine found the server unreachable, or its code could not be fetched.
    let unreachable = move || {
        let signed_out = matches!(ctx.phase.get(), ClientPhase::SignedOut);
        ctx.notices.with(|n| {
            n.iter().any(|n| match n.key {
                NoticeKey::Machine(Notice::Unreachable) => signed_out,
                NoticeKey::Loading => true,
                NoticeKey::Machine(_) => false,
            })
        })
    };
    // Someone filling in the form will need the session's code: fetch it meanwhile. The
    // username field is where the browser suggests passkeys.
    let focused = move |ev: leptos::ev::FocusEvent| {
        #[cfg(feature = "hydrate")]
        crate::browser::loader::preload();
        if event_target::<leptos::web_sys::HtmlElement>(&ev).id() == "username" {
            offer_autofill();
        }
    };

    view! {
        <main class="login-page">
            <section class="login-card" aria-labelledby="login-heading">
                <p class="brand" aria-hidden="true">"Vigil"</p>
                <h1 id="login-heading">"Sign in"</h1>
                <InactivityNotice policy/>
                <form class="login-form" method="post" on:submit=submit on:focusin=focused novalidate>
                    <Field name="username" label="Username" kind="text" autocomplete="username webauthn" node_ref=username/>
                    <Field name="password" label="Password" kind="password" autocomplete="current-password" node_ref=password/>
                    <div class="checkbox-row">
                        <input
                            id="remember"
                            name="remember"
                            type="checkbox"
                            aria-describedby="remember-disclosure"
                            node_ref=remember
                        />
                        <label for="remember">"Remember me on this device"</label>
                    </div>
                    <p class="form-error" role="alert" id="login-error">
                        {move || error.get()}
                    </p>
                    <button type="submit" class="button primary" disabled=move || pending.get() || !hydrated.get()>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                    <button type="button" class="button" id="passkey-sign-in"
                        disabled=move || pending.get() || !hydrated.get() on:click=with_passkey>
                        "Sign in with a passkey"
                    </button>
                </form>
                <Show when=unreachable>
                    <p class="notice warning" role="status">"Vigil cannot reach the server right now."</p>
                </Show>
                <PolicyDetails policy/>
            </section>
        </main>
    }
}

/// How long inactivity may last (WCAG 2.2.6), in one sentence above the form; the rest of
/// the policy is in [`PolicyDetails`], so the form fits the first screen.
#[component]
fn InactivityNotice(policy: Option<PolicyInfo>) -> impl IntoView {
    view! {
        <p class="disclosure" id="timeout-disclosure">
            {match policy {
                Some(p) => view! {
                    "For your security you are signed out after "
                    <strong>{human_duration(p.idle_timeout_secs)}</strong>
                    " without activity; your work is kept."
                }.into_any(),
                None => "You are signed out after a period without activity; your work is kept."
                    .into_any(),
            }}
        </p>
    }
}

/// The policy in full, one step away below the form: the warning, the absolute limit, how
/// long drafts are kept in this browser, and what "Remember me" changes (the checkbox's
/// description).
#[component]
fn PolicyDetails(policy: Option<PolicyInfo>) -> impl IntoView {
    let retention = human_duration(RETENTION.whole_seconds());
    view! {
        <details class="policy-details" id="policy-details">
            <summary>"Time limits and your drafts"</summary>
            {policy.map(|p| view! {
                <p>
                    "You will be warned " {human_duration(p.warning_secs)}
                    " before an inactive session ends and can stay signed in with one click. However active you are, you are signed out after "
                    {human_duration(p.absolute_timeout_secs)} "."
                </p>
            })}
            <p>
                "Your drafts and settings are saved to your account, and kept encrypted in this browser for "
                {retention}
                " in case your session ends before they reach it."
            </p>
            {policy.and_then(|p| p.remember_absolute_secs.map(|secs| view! {
                <p id="remember-disclosure">
                    "With “Remember me”, this browser stays signed in for up to "
                    {human_duration(secs)}
                    ", even after it is closed; you are still signed out after "
                    {human_duration(p.idle_timeout_secs)}
                    " without activity. Without it, closing the browser signs you out."
                </p>
            }))}
        </details>
    }
}

/// One labelled, required field of the sign-in form, named as password managers expect.
#[component]
fn Field(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    node_ref: NodeRef<leptos::html::Input>,
) -> impl IntoView {
    view! {
        <label for=name>{label}</label>
        <input id=name name=name type=kind autocomplete=autocomplete required node_ref=node_ref/>
    }
}
