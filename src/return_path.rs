//! Where the sign-in page sends someone once signed in: back to the page that needed the
//! session (the server's `303` to `/login?next=…` names it), and only ever to a page of this
//! site — a `next` naming another origin would make the sign-in page an open redirect.

/// The sign-in page's own path.
pub const SIGN_IN_PATH: &str = "/login";
/// The sign-in page's query parameter naming where to go back to.
pub const NEXT_PARAM: &str = "next";

/// The page to open after signing in: `next` when it is a path of this site (absolute,
/// not protocol-relative, no backslash or control character, not the sign-in page itself),
/// otherwise the workspace.
pub fn after_sign_in(next: Option<&str>) -> &str {
    next.filter(|path| is_own_page(path)).unwrap_or("/")
}

fn is_own_page(path: &str) -> bool {
    let page = path.split(['?', '#']).next().unwrap_or_default();
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && page != SIGN_IN_PATH
        && path.len() <= 2048
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pages_of_this_site_are_kept() {
        assert_eq!(after_sign_in(Some("/sessions")), "/sessions");
        assert_eq!(
            after_sign_in(Some("/account?tab=1#top")),
            "/account?tab=1#top"
        );
        assert_eq!(after_sign_in(None), "/");
    }

    #[test]
    fn anything_else_goes_to_the_workspace() {
        for next in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "evil",
            "",
            "/login",
            "/login?next=/x",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert_eq!(after_sign_in(Some(next)), "/", "{next:?}");
        }
    }

    proptest! {
        /// Whatever `next` holds, the answer is a path on this origin: a browser resolving it
        /// against the page's URL can never leave the site.
        #[test]
        fn never_leaves_the_site(next in ".{0,40}") {
            let target = after_sign_in(Some(&next));
            prop_assert!(target.starts_with('/'));
            prop_assert!(!target.starts_with("//"));
            prop_assert!(!target.contains('\\'));
            prop_assert!(!target.chars().any(char::is_control));
        }
    }
}
