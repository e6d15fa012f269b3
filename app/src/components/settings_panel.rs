//! Settings that come back with the drafts: theme and text size.

use leptos::prelude::*;
use vigil::preserved::{TextSize, Theme};

use crate::session_context::use_session;

#[component]
pub fn SettingsPanel() -> impl IntoView {
    let ctx = use_session();
    let workspace = ctx.workspace;
    let theme = move || workspace.with(|w| w.settings.theme);
    let text_size = move || workspace.with(|w| w.settings.text_size);
    view! {
        <aside class="panel settings" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            <fieldset>
                <legend>"Theme"</legend>
                {Theme::ALL
                    .into_iter()
                    .map(|option| {
                        let id = format!("theme-{}", option.as_str());
                        view! {
                            <div class="choice">
                                <input
                                    type="radio"
                                    name="theme"
                                    id=id.clone()
                                    value=option.as_str()
                                    prop:checked=move || theme() == option
                                    on:change=move |_| workspace.update(|w| w.settings.theme = option)
                                />
                                <label for=id>{option.label()}</label>
                            </div>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <fieldset>
                <legend>"Text size"</legend>
                {[(TextSize::Normal, "normal", "Normal"), (TextSize::Large, "large", "Large")]
                    .into_iter()
                    .map(|(option, key, label)| {
                        let id = format!("text-size-{key}");
                        view! {
                            <div class="choice">
                                <input
                                    type="radio"
                                    name="text-size"
                                    id=id.clone()
                                    value=key
                                    prop:checked=move || text_size() == option
                                    on:change=move |_| workspace.update(|w| w.settings.text_size = option)
                                />
                                <label for=id>{label}</label>
                            </div>
                        }
                    })
                    .collect_view()}
            </fieldset>
        </aside>
    }
}
