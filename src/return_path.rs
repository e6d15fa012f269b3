//! Where the sign-in page sends someone once signed in: back to the page that needed the
//! session (the server's `303` to `/login?next=…` names it), and only ever to a page of this
//! site — a `next` naming another origin would make the sign-in page an open redirect.

/// The sign-in page's own path.
pub const SIGN_IN_PATH: &str = "/login";
/// The pages anyone may open without a session: signing in, and the problem explanations
/// (a prefix). Every other page needs one.
pub const PUBLIC_PAGES: [&str; 2] = [SIGN_IN_PATH, "/problems/"];
/// The sign-in page's query parameter naming where to go back to.
pub const NEXT_PARAM: &str = "next";

/// Longer return paths are not kept (a proxy's header buffer is not the place to find out).
pub const MAX_LEN: usize = 2048;

/// Whether the page at `path` needs a session.
pub fn needs_session(path: &str) -> bool {
    path != SIGN_IN_PATH && !path.starts_with(PUBLIC_PAGES[1])
}

/// The page to open after signing in: `next` when it is plainly a path of this site,
/// otherwise the workspace.
pub fn after_sign_in(next: Option<&str>) -> &str {
    next.filter(|path| is_own_page(path)).unwrap_or("/")
}

/// Absolute, and nothing a URL parser could turn into another origin or another path: no
/// `//` (protocol-relative, also once `.` segments are resolved), no `.` or `..` segment, no
/// escaped dot, slash or backslash, no backslash or control character; not the sign-in page.
fn is_own_page(path: &str) -> bool {
    let page = path.split(['?', '#']).next().unwrap_or_default();
    let lower = page.to_ascii_lowercase();
    path.starts_with('/')
        && path.len() <= MAX_LEN
        && !page.contains("//")
        && !page
            .split('/')
            .any(|segment| segment == "." || segment == "..")
        && !["%2e", "%2f", "%5c"]
            .iter()
            .any(|escaped| lower.contains(escaped))
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && page != SIGN_IN_PATH
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
            "/.//evil.example",
            "/..//evil.example",
            "/%2e//evil.example",
            "/%2E%2E/x",
            "/a/../login",
            "/a//b",
            "/%2f%2fevil.example",
        ] {
            assert_eq!(after_sign_in(Some(next)), "/", "{next:?}");
        }
    }

    proptest! {
        /// Whatever `next` holds, a browser resolving the answer against one of this site's
        /// pages stays on the site, on a path that does not start with `//` (which `pushState`
        /// would read as another origin).
        #[test]
        fn never_leaves_the_site(next in prop_oneof![".{0,40}", "/[./%2eEfF5cC\\\\a-z?#]{0,24}"]) {
            let target = after_sign_in(Some(&next));
            let base = url::Url::parse("https://vigil.example/sessions/x").unwrap();
            let resolved = base.join(target).unwrap();
            prop_assert_eq!(resolved.origin(), base.origin());
            prop_assert!(!resolved.path().starts_with("//"), "{} -> {}", next, resolved);
            prop_assert!(!target.chars().any(char::is_control));
        }
    }
}
