//! What a signed-in page starts from: the server's answers to the browser machine's first two
//! questions (the session, and everything in the account), as they stood when it rendered the
//! page.
//!
//! The server renders the page with them, so the workspace paints with the user's drafts
//! before any script has run, and writes them into the page, so the browser hydrates from the
//! same values (the same markup) and its machine later takes them as the answers to its first
//! `CheckSession` and `GetWork`, deciding exactly as if they had come over the network. Only a
//! live session with an unexpired token gets one; any other page starts as before, with the
//! machine asking.

use serde::{Deserialize, Serialize};

use crate::session_info::SessionInfo;
use crate::work::WorkSnapshot;

/// The `id` of the page's `<script type="application/json">` that carries [`Boot::to_script`].
pub const BOOT_ELEMENT_ID: &str = "vigil-boot";

/// The session and the account as the page was rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boot {
    /// What `POST /api/auth/session-info` answered.
    pub session: SessionInfo,
    /// What the pages of `GET /api/drafts` hold, oldest draft first.
    pub work: WorkSnapshot,
}

impl Boot {
    /// JSON safe inside a `<script>` element: `<` (which could open `</script>` or
    /// `<!--` inside a string) is written as `\u003c`. Outside strings JSON has no `<`, and
    /// inside them the escape reads back as the same character, so [`Boot::from_script`] gives
    /// back the same value.
    pub fn to_script(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_default()
            .replace('<', "\\u003c")
    }

    /// Reads what [`Boot::to_script`] wrote; `None` for anything else.
    pub fn from_script(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// This record read `age_ms` after the server wrote it: the server's clock moved on as
    /// well, so the machine's estimate of the clock difference stays right however long the
    /// record waited in the page. (An overestimate makes the browser warn early, never late.)
    pub fn aged(mut self, age_ms: i64) -> Self {
        self.session.server_now += time::Duration::milliseconds(age_ms.max(0));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::work::StoredDraft;
    use crate::{PolicyInfo, Role, UserSummary};
    use proptest::prelude::*;
    use time::OffsetDateTime;

    fn boot(title: String, body: String) -> Boot {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        Boot {
            session: SessionInfo {
                user: UserSummary {
                    id: 7,
                    username: "ada".into(),
                    display_name: "Ada </script>".into(),
                    role: Role::User,
                },
                session_id: "s1".into(),
                created_at: at,
                last_activity_at: at,
                idle_expires_at: at,
                absolute_expires_at: at,
                warn_at: at,
                server_now: at,
                policy: PolicyInfo {
                    idle_timeout_secs: 1800,
                    warning_secs: 300,
                    absolute_timeout_secs: 28_800,
                    heartbeat_secs: 60,
                    remember_absolute_secs: None,
                },
                local_key: None,
            },
            work: WorkSnapshot {
                drafts: vec![StoredDraft {
                    id: "d1".into(),
                    title,
                    body,
                    version: 1,
                    updated_at: at,
                    submitted_at: None,
                }],
                settings: Default::default(),
            },
        }
    }

    proptest! {
        #[test]
        fn what_the_page_carries_reads_back_and_never_closes_its_element(
            title in any::<String>(),
            body in "(</script>|<!--|<|>|&|\u{2028}|[a-z ])*",
        ) {
            let boot = boot(title, body);
            let script = boot.to_script();
            prop_assert!(!script.contains('<'));
            prop_assert_eq!(Boot::from_script(&script), Some(boot));
        }
    }

    #[test]
    fn an_aged_record_moves_the_servers_clock_on() {
        let boot = boot(String::new(), String::new());
        let at = boot.session.server_now;
        assert_eq!(
            boot.clone().aged(1500).session.server_now,
            at + time::Duration::milliseconds(1500)
        );
        assert_eq!(boot.aged(-5).session.server_now, at);
    }

    #[test]
    fn anything_else_is_no_record() {
        for text in ["", "{}", "null", "{\"session\":1}"] {
            assert_eq!(Boot::from_script(text), None, "{text}");
        }
    }
}
