//! The workspace: drafts and settings, with the toast and modals of the session around it.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::components::drafts::DraftsPanel;
use crate::components::notices::Notices;
use crate::components::settings_panel::SettingsPanel;
use crate::components::sign_out_dialog::SignOutDialog;
use crate::components::timeout_modal::TimeoutModal;
use crate::components::top_bar::TopBar;
use crate::components::warning_toast::WarningToast;
use crate::session_context::{use_session, ClientPhase};

#[component]
pub fn WorkspacePage() -> impl IntoView {
    let ctx = use_session();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if ctx.phase.get() == ClientPhase::SignedOut {
            navigate("/login", Default::default());
        }
    });
    let theme = move || ctx.settings.get().theme.as_str();
    let size = move || ctx.settings.get().text_size.as_str();
    let blocked = move || ctx.phase.get().is_ended() || ctx.confirm_sign_out.get();
    let ready = move || {
        !matches!(
            ctx.phase.get(),
            ClientPhase::Checking | ClientPhase::SignedOut
        )
    };
    view! {
        <Show
            when=ready
            fallback=|| view! { <div class="checking" role="status">"Checking your session…"</div> }
        >
            <div class="theme-root" data-theme=theme data-text-size=size>
                <div class="app-shell" inert=blocked aria-hidden=move || blocked().then_some("true")>
                    <TopBar/>
                    <Notices/>
                    <Show
                        when=move || !ctx.work_withheld.get()
                        fallback=|| view! {
                            <main class="workspace withheld" id="workspace">
                                <p>"Your work is kept safe. Sign in again to see it."</p>
                            </main>
                        }
                    >
                        <main class="workspace" id="workspace">
                            <DraftsPanel/>
                            <SettingsPanel/>
                        </main>
                    </Show>
                </div>
                <WarningToast/>
                <TimeoutModal/>
                <SignOutDialog/>
            </div>
        </Show>
    }
}
