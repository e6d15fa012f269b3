//! Notices about storage and connectivity, dismissible, announced politely.

use leptos::prelude::*;

use crate::session_context::{use_session, Tone};

#[component]
pub fn Notices() -> impl IntoView {
    let ctx = use_session();
    view! {
        <div class="notices" role="status" aria-live="polite">
            <For each=move || ctx.notices.get() key=|n| (n.key, n.text.clone()) let:notice>
                <div class=match notice.tone { Tone::Info => "notice info", Tone::Warning => "notice warning" } data-notice=notice.key.as_str()>
                    <p>{notice.text.clone()}</p>
                    <button
                        type="button"
                        class="button subtle"
                        aria-label="Dismiss notice"
                        on:click=move |_| ctx.clear_notice(notice.key)
                    >
                        "Dismiss"
                    </button>
                </div>
            </For>
        </div>
    }
}
