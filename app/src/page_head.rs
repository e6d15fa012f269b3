//! What each page's `<head>` says about it: a title of its own (WCAG 2.4.2) and a short
//! description (search results, link previews). The server writes both from the path; the
//! browser sets them again as the router moves between pages, without leptos_meta in the
//! browser (its code would be loaded by every page).

use leptos::prelude::*;
use vigil::ErrorCode;

/// One page's title and description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageHead {
    name: &'static str,
    pub description: &'static str,
}

impl PageHead {
    /// The head of the page at `path`, as the server writes it into the page.
    pub fn of(path: &str) -> Self {
        Self::routed(path).unwrap_or_else(|| {
            match path.strip_prefix("/problems/").map(ErrorCode::from_slug) {
                Some(Some(code)) => Self::new(code.title(), code.explanation()),
                Some(None) => {
                    Self::new("Unknown problem type", "Vigil has no problem of this type.")
                }
                None => Self::new(
                    "Page not found",
                    "There is no page at this address in Vigil.",
                ),
            }
        })
    }

    /// The pages the router moves between, whose head the browser sets on every navigation
    /// ([`FollowRoute`]). Problem pages are not among them: nothing in the app links to one
    /// (they are the `type` of API problems, opened directly), so their head is always the
    /// one the server wrote.
    pub fn routed(path: &str) -> Option<Self> {
        Some(match path.trim_end_matches('/') {
            "" => Self::new(
                "Drafts",
                "Your drafts and settings, saved to your account as you write.",
            ),
            "/login" => Self::new(
                "Sign in",
                "Sign in to Vigil to write drafts that are kept safe even when your session ends.",
            ),
            "/sessions" => Self::new(
                "Where you are signed in",
                "The devices and browsers signed in to your Vigil account, and a way to sign them out.",
            ),
            "/account" => Self::new(
                "Your account",
                "Change your Vigil password or delete your drafts.",
            ),
            "/admin" => Self::new(
                "Administration",
                "Vigil's accounts and where they are signed in: end their sessions, disable an account.",
            ),
            _ => return None,
        })
    }

    const fn new(name: &'static str, description: &'static str) -> Self {
        Self { name, description }
    }

    pub fn title(&self) -> String {
        format!("{} · Vigil", self.name)
    }
}

/// A page's title while the session's warning shows: the time left first, so a hidden
/// tab's title says it ("(0:42) Drafts · Vigil"). Rounded up, as the countdown is.
pub fn with_countdown(title: &str, remaining_ms: i64) -> String {
    let secs = (remaining_ms.max(0) + 999) / 1000;
    format!("({}:{:02}) {title}", secs / 60, secs % 60)
}

/// Keeps the document's title and description those of the page shown, as the router moves
/// between pages.
#[component]
pub fn FollowRoute() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let location = leptos_router::hooks::use_location();
        Effect::new(move |_| {
            let Some(head) = PageHead::routed(&location.pathname.get()) else {
                return;
            };
            let Some(document) = web_sys::window().and_then(|window| window.document()) else {
                return;
            };
            let title = head.title();
            if document.title() != title {
                document.set_title(&title);
            }
            if let Ok(Some(meta)) = document.query_selector("meta[name=\"description\"]") {
                let _ = meta.set_attribute("content", head.description);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::PageHead;

    #[test]
    fn a_warning_puts_the_time_left_before_the_title() {
        assert_eq!(
            super::with_countdown("Drafts · Vigil", 41_200),
            "(0:42) Drafts · Vigil"
        );
        assert_eq!(super::with_countdown("A", 60_000), "(1:00) A");
        assert_eq!(super::with_countdown("A", -5), "(0:00) A");
    }

    #[test]
    fn every_page_has_a_title_of_its_own() {
        let title = |path| PageHead::of(path).title();
        assert_eq!(title("/login"), "Sign in · Vigil");
        assert_eq!(title("/"), "Drafts · Vigil");
        assert_eq!(title("/sessions/"), "Where you are signed in · Vigil");
        assert_eq!(title("/account"), "Your account · Vigil");
        assert_eq!(title("/admin"), "Administration · Vigil");
        assert_eq!(
            title("/problems/session-expired"),
            "Session expired · Vigil"
        );
        assert_eq!(
            title("/problems/no-such-thing"),
            "Unknown problem type · Vigil"
        );
        assert_eq!(title("/nowhere"), "Page not found · Vigil");
    }

    #[test]
    fn every_page_has_a_short_description_of_its_own() {
        let paths = [
            "/",
            "/login",
            "/sessions",
            "/account",
            "/admin",
            "/problems/x",
            "/nowhere",
        ];
        let descriptions = paths.map(|path| PageHead::of(path).description);
        // Search results show about 150 characters.
        assert!(
            descriptions.iter().all(|d| (20..=150).contains(&d.len())),
            "{descriptions:?}"
        );
        let distinct: std::collections::BTreeSet<_> = descriptions.iter().collect();
        assert_eq!(distinct.len(), descriptions.len());
    }
}
