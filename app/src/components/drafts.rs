//! Several drafts, each with a title and a body: a list to pick from and an editor, the
//! status line that says where the work is, submitting, and choosing after a conflict.

use leptos::prelude::*;
use vigil::client::SaveStatus;
use vigil::work::{DraftInput, MAX_TITLE_CHARS};

use crate::actions::{self, Choice};
use crate::session_context::{use_session, ConflictView, DraftView, SessionContext};

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

fn title_of(draft: &DraftView) -> String {
    if draft.title.trim().is_empty() {
        "Untitled draft".to_owned()
    } else {
        draft.title.clone()
    }
}

/// Where the work is, in words.
fn status_text(ctx: SessionContext) -> String {
    let waiting = ctx.waiting.get();
    let changes = if waiting == 1 {
        "1 change".to_owned()
    } else {
        format!("{waiting} changes")
    };
    match ctx.status.get() {
        SaveStatus::Saved => match ctx.saved_time() {
            Some(time) => format!("Saved to your account at {time}"),
            None => "Saved to your account".to_owned(),
        },
        SaveStatus::Saving => "Saving to your account…".to_owned(),
        SaveStatus::WaitingForSignIn => format!(
            "Saved in this browser — {changes} will be saved to your account when you sign in again"
        ),
        SaveStatus::Offline => "Offline — saved in this browser".to_owned(),
        SaveStatus::Conflict => {
            "A draft was changed elsewhere — choose which version to keep".to_owned()
        }
    }
}

#[component]
pub fn DraftsPanel() -> impl IntoView {
    let ctx = use_session();
    let ids = move || {
        ctx.drafts
            .with(|d| d.iter().map(|d| d.id.clone()).collect::<Vec<_>>())
    };
    let new_draft = move |_| {
        actions::new_draft();
        focus_by_id("draft-title");
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
                        let draft = {
                            let id = id.clone();
                            move || ctx.drafts.with(|d| d.iter().find(|d| d.id == id).cloned())
                        };
                        let draft_for_badge = draft.clone();
                        let is_current = {
                            let id = id.clone();
                            move || ctx.selected.get().as_deref() == Some(id.as_str())
                        };
                        let label = move || draft().map(|d| title_of(&d)).unwrap_or_default();
                        let badge = move || draft_for_badge().and_then(|d| {
                            if d.conflict.is_some() {
                                Some("Changed elsewhere")
                            } else if d.submitted_ms.is_some() {
                                Some("Submitted")
                            } else if d.submitting {
                                Some("Submitting…")
                            } else {
                                None
                            }
                        });
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="draft-link"
                                    aria-current=move || is_current().then_some("true")
                                    on:click=move |_| actions::select(id.clone())
                                >
                                    <span class="draft-link-title">{label}</span>
                                    {move || badge().map(|b| view! { <span class="badge">{b}</span> })}
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
                when=move || ctx.current_draft().is_some()
                fallback=move || view! {
                    <div class="empty-state">
                        <p>"No drafts yet. Start one; it is saved to your account as you type, and kept in this browser if your session ends."</p>
                        <button type="button" class="button primary" on:click=new_draft>"Start a draft"</button>
                    </div>
                }
            >
                <Editor/>
            </Show>
            <p class="save-status" id="save-status" role="status">{move || status_text(ctx)}</p>
        </section>
    }
}

/// The open draft.
#[component]
fn Editor() -> impl IntoView {
    let ctx = use_session();
    let current = move || ctx.current_draft();
    let field =
        move |f: fn(&DraftView) -> String| move || current().map(|d| f(&d)).unwrap_or_default();
    let read_only = move || current().is_none_or(|d| d.read_only() || d.conflict.is_some());
    // Typing waits for the machine, which may hold a newer copy than the page shows.
    let fixed = move || read_only() || !ctx.live.get();
    // What typing into one of the two fields does: that field of the current draft changes.
    let typing = move |set: fn(&mut DraftInput, String)| {
        move |ev: leptos::ev::Event| {
            let Some(draft) = ctx.current_draft() else {
                return;
            };
            let mut input = DraftInput {
                title: draft.title,
                body: draft.body,
            };
            set(&mut input, event_target_value(&ev));
            actions::edit(draft.id, input);
        }
    };
    let with_id = move |act: fn(String)| {
        move |_| {
            if let Some(id) = ctx.selected.get_untracked() {
                act(id);
            }
        }
    };
    let submitted = move || {
        current().and_then(|d| {
            if d.submitted_ms.is_some() {
                Some("Submitted — this draft is read-only now.".to_owned())
            } else if d.submitting {
                Some(
                    "Submitting… it is read-only, and is sent as soon as your session allows."
                        .to_owned(),
                )
            } else {
                None
            }
        })
    };
    view! {
        {move || current().and_then(|d| d.conflict.clone().map(|theirs| view! { <ConflictChoice id=d.id.clone() mine_title=d.title.clone() mine_body=d.body.clone() theirs=theirs/> }))}
        <label for="draft-title">"Title"</label>
        <input
            id="draft-title"
            type="text"
            autocomplete="off"
            maxlength=MAX_TITLE_CHARS.to_string()
            prop:value=field(|d| d.title.clone())
            readonly=fixed
            on:input=typing(|d, value| d.title = value)
            on:blur=move |_| actions::flush()
        />
        <label for="draft-body">"Text"</label>
        <textarea
            id="draft-body"
            rows="14"
            prop:value=field(|d| d.body.clone())
            readonly=fixed
            on:input=typing(|d, value| d.body = value)
            on:blur=move |_| actions::flush()
        ></textarea>
        {move || current().and_then(|d| d.rejected).map(|why| view! { <p class="form-error" role="alert">{why}</p> })}
        {move || submitted().map(|text| view! { <p class="submitted-note" id="submitted-note">{text}</p> })}
        <div class="editor-footer">
            <button
                type="button"
                class="button primary"
                id="submit-draft"
                disabled=read_only
                on:click=with_id(actions::submit)
            >
                "Submit"
            </button>
            <button type="button" class="button subtle" id="delete-draft" disabled=move || current().is_some_and(|d| d.read_only()) on:click=with_id(actions::delete)>
                "Delete draft"
            </button>
        </div>
    }
}

/// Both versions side by side; nothing is overwritten until the user chooses.
#[component]
fn ConflictChoice(
    id: String,
    mine_title: String,
    mine_body: String,
    theirs: ConflictView,
) -> impl IntoView {
    let choose = move |id: String, choice: Choice| move |_| actions::resolve(id.clone(), choice);
    let can_keep_mine = !theirs.submitted;
    view! {
        <div class="conflict" role="group" aria-labelledby="conflict-title" id="conflict">
            <h3 id="conflict-title">"This draft was changed elsewhere"</h3>
            <p>
                {if theirs.submitted {
                    "It was submitted from another device or tab. Your version is kept: save it as a new draft, or keep the submitted one."
                } else {
                    "It was changed on another device or in another tab while you were editing. Nothing was overwritten: choose which version to keep, or keep both."
                }}
            </p>
            <div class="versions">
                <section aria-labelledby="mine-heading" class="version" id="version-mine">
                    <h4 id="mine-heading">"Your version"</h4>
                    <p class="version-title">{mine_title}</p>
                    <pre class="version-body">{mine_body}</pre>
                </section>
                <section aria-labelledby="theirs-heading" class="version" id="version-theirs">
                    <h4 id="theirs-heading">"In your account"</h4>
                    <p class="version-title">{theirs.title}</p>
                    <pre class="version-body">{theirs.body}</pre>
                </section>
            </div>
            <div class="modal-actions">
                {can_keep_mine.then(|| view! {
                    <button type="button" class="button primary" id="keep-mine" on:click=choose(id.clone(), Choice::Mine)>"Keep mine"</button>
                })}
                <button type="button" class="button" id="keep-theirs" on:click=choose(id.clone(), Choice::Theirs)>"Keep the account's"</button>
                <button type="button" class="button" id="keep-both" on:click=choose(id, Choice::Both)>"Keep both"</button>
            </div>
        </div>
    }
}
