//! A modal dialog frame: `alertdialog` with `aria-modal`, focus kept inside, and Escape
//! handled (it never signs anyone out).

use leptos::prelude::*;

#[component]
pub fn Modal(
    id: &'static str,
    labelled_by: &'static str,
    described_by: &'static str,
    /// Called on Escape; without it Escape does nothing.
    #[prop(optional)]
    on_escape: Option<Callback<()>>,
    children: Children,
) -> impl IntoView {
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            if let Some(cb) = on_escape {
                cb.run(());
            }
        }
        "Tab" => trap_focus(&ev, id),
        _ => {}
    };
    view! {
        <div class="modal-backdrop">
            <div
                class="modal"
                id=id
                role="alertdialog"
                aria-modal="true"
                aria-labelledby=labelled_by
                aria-describedby=described_by
                on:keydown=on_keydown
            >
                {children()}
            </div>
        </div>
    }
}

/// Keeps Tab and Shift+Tab cycling through the dialog's own controls.
#[cfg(feature = "hydrate")]
fn trap_focus(ev: &leptos::ev::KeyboardEvent, dialog_id: &str) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(dialog) = document.get_element_by_id(dialog_id) else {
        return;
    };
    let Ok(nodes) = dialog.query_selector_all(
        "button:not([disabled]), input:not([disabled]), textarea, select, a[href], [tabindex]:not([tabindex='-1'])",
    ) else {
        return;
    };
    let focusable: Vec<web_sys::HtmlElement> = (0..nodes.length())
        .filter_map(|i| nodes.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = document.active_element();
    let inside = active.as_ref().is_some_and(|a| dialog.contains(Some(a)));
    let at = |el: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>())
    };
    if ev.shift_key() && (at(first) || !inside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (at(last) || !inside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

#[cfg(not(feature = "hydrate"))]
fn trap_focus(_ev: &leptos::ev::KeyboardEvent, _dialog_id: &str) {}
