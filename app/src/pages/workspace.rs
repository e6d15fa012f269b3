//! The workspace: drafts and settings.

use leptos::prelude::*;

use crate::components::drafts::DraftsPanel;
use crate::components::frame::SignedInFrame;
use crate::components::settings_panel::SettingsPanel;
use crate::session_context::use_session;

#[component]
pub fn WorkspacePage() -> impl IntoView {
    let ctx = use_session();
    view! {
        <SignedInFrame>
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
        </SignedInFrame>
    }
}
