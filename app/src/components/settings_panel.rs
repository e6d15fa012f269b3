//! Settings that come back with the drafts: theme and text size.

use leptos::prelude::*;
use vigil::work::{TextSize, Theme};

use crate::actions;
use crate::session_context::use_session;

#[component]
pub fn SettingsPanel() -> impl IntoView {
    let ctx = use_session();
    let settings = ctx.settings;
    view! {
        <aside class="panel settings" aria-labelledby="settings-heading">
            <h2 id="settings-heading">"Settings"</h2>
            {choice_group(
                "Theme",
                "theme",
                Theme::ALL.map(|t| (t, t.as_str(), t.label())),
                Signal::derive(move || settings.get().theme),
                move |theme| {
                    let mut changed = settings.get_untracked();
                    changed.theme = theme;
                    actions::change_settings(changed);
                },
            )}
            {choice_group(
                "Text size",
                "text-size",
                TextSize::ALL.map(|t| (t, t.as_str(), t.label())),
                Signal::derive(move || settings.get().text_size),
                move |size| {
                    let mut changed = settings.get_untracked();
                    changed.text_size = size;
                    actions::change_settings(changed);
                },
            )}
        </aside>
    }
}

/// A fieldset of radio buttons, one per `(value, key, label)`, with ids `{name}-{key}`.
fn choice_group<T, const N: usize>(
    legend: &'static str,
    name: &'static str,
    options: [(T, &'static str, &'static str); N],
    current: Signal<T>,
    choose: impl Fn(T) + Copy + Send + Sync + 'static,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    view! {
        <fieldset>
            <legend>{legend}</legend>
            {options
                .into_iter()
                .map(|(value, key, label)| {
                    let id = format!("{name}-{key}");
                    view! {
                        <div class="choice">
                            <input
                                type="radio"
                                name=name
                                id=id.clone()
                                value=key
                                prop:checked=move || current.get() == value
                                on:change=move |_| choose(value)
                            />
                            <label for=id>{label}</label>
                        </div>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}
