//! Several drafts, each with a title and a body: a list to pick from and an editor.

use leptos::prelude::*;
use vigil::preserved::{Draft, Workspace};

use crate::session_context::use_session;

/// A new id that never collides with drafts made in other tabs or sessions.
fn new_draft_id() -> String {
    #[cfg(feature = "hydrate")]
    {
        format!(
            "d{:x}{:06x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * 16_777_215.0) as u32
        )
    }
    #[cfg(not(feature = "hydrate"))]
    {
        "d0".to_owned()
    }
}

/// The open draft: the remembered one, else the first.
fn selected_id(workspace: &Workspace) -> Option<String> {
    workspace
        .selected
        .clone()
        .filter(|id| workspace.drafts.iter().any(|d| &d.id == id))
        .or_else(|| workspace.drafts.first().map(|d| d.id.clone()))
}

/// Focuses an element once the pending render has put it on the page.
fn focus_by_id(id: &'static str) {
    #[cfg(feature = "hydrate")]
    gloo_timers::callback::Timeout::new(0, move || {
        use wasm_bindgen::JsCast;
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    })
    .forget();
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}

#[component]
pub fn DraftsPanel() -> impl IntoView {
    let ctx = use_session();
    let workspace = ctx.workspace;
    let selected = Memo::new(move |_| workspace.with(selected_id));
    let ids = move || workspace.with(|w| w.drafts.iter().map(|d| d.id.clone()).collect::<Vec<_>>());
    let current = move |f: fn(&Draft) -> String| {
        let id = selected.get();
        workspace.with(|w| {
            w.drafts
                .iter()
                .find(|d| Some(&d.id) == id.as_ref())
                .map(f)
                .unwrap_or_default()
        })
    };
    let edit = move |apply: Box<dyn FnOnce(&mut Draft)>| {
        let id = selected.get_untracked();
        workspace.update(|w| {
            if let Some(draft) = w.drafts.iter_mut().find(|d| Some(&d.id) == id.as_ref()) {
                apply(draft);
            }
        });
    };
    let new_draft = move |_| {
        let id = new_draft_id();
        workspace.update(|w| {
            w.drafts.push(Draft {
                id: id.clone(),
                title: String::new(),
                body: String::new(),
            });
            w.selected = Some(id);
        });
        focus_by_id("draft-title");
    };
    let delete_draft = move |_| {
        let Some(id) = selected.get_untracked() else {
            return;
        };
        workspace.update(|w| {
            let index = w.drafts.iter().position(|d| d.id == id).unwrap_or(0);
            w.drafts.retain(|d| d.id != id);
            w.selected = w
                .drafts
                .get(index.min(w.drafts.len().saturating_sub(1)))
                .map(|d| d.id.clone());
        });
    };
    let saved_label = move || match ctx.saved_time() {
        Some(time) => format!("Saved in this browser at {time}"),
        None => "Changes are saved in this browser as you type".to_owned(),
    };

    view! {
        <nav class="panel draft-list" aria-labelledby="drafts-heading">
            <div class="panel-heading">
                <h2 id="drafts-heading">"Drafts"</h2>
                <button type="button" class="button" id="new-draft" on:click=new_draft>"New draft"</button>
            </div>
            <ul>
                <For each=ids key=|id| id.clone() let:id>
                    {
                        let id_for_title = id.clone();
                        let id_for_current = id.clone();
                        let title = move || workspace.with(|w| {
                            w.drafts
                                .iter()
                                .find(|d| d.id == id_for_title)
                                .map(|d| if d.title.trim().is_empty() { "Untitled draft".to_owned() } else { d.title.clone() })
                                .unwrap_or_default()
                        });
                        let is_current = move || selected.get().as_deref() == Some(id_for_current.as_str());
                        let id_for_click = id.clone();
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="draft-link"
                                    aria-current=move || is_current().then_some("true")
                                    on:click=move |_| workspace.update(|w| w.selected = Some(id_for_click.clone()))
                                >
                                    {title}
                                </button>
                            </li>
                        }
                    }
                </For>
            </ul>
        </nav>
        <section class="panel editor" aria-labelledby="editor-heading">
            <h2 id="editor-heading" class="visually-hidden">"Editor"</h2>
            <Show
                when=move || selected.get().is_some()
                fallback=move || view! {
                    <div class="empty-state">
                        <p>"No drafts yet. Start one; it is kept in this browser even if your session ends."</p>
                        <button type="button" class="button primary" on:click=new_draft>"Start a draft"</button>
                    </div>
                }
            >
                <label for="draft-title">"Title"</label>
                <input
                    id="draft-title"
                    type="text"
                    autocomplete="off"
                    prop:value=move || current(|d| d.title.clone())
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        edit(Box::new(move |d| d.title = value));
                    }
                />
                <label for="draft-body">"Text"</label>
                <textarea
                    id="draft-body"
                    rows="14"
                    prop:value=move || current(|d| d.body.clone())
                    on:input=move |ev| {
                        let value = event_target_value(&ev);
                        edit(Box::new(move |d| d.body = value));
                    }
                ></textarea>
                <div class="editor-footer">
                    <p class="save-status" id="save-status">{saved_label}</p>
                    <button type="button" class="button subtle" id="delete-draft" on:click=delete_draft>
                        "Delete draft"
                    </button>
                </div>
            </Show>
        </section>
    }
}
