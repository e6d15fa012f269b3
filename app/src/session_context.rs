//! The reactive session state every component reads. Only the browser controller writes it.

use leptos::prelude::*;
use vigil::preserved::Workspace;
use vigil::{ExpiryReason, PolicyInfo, UserSummary};

/// What the page shows about the session. `Active`, `Warning` and `Expired` mirror
/// [`vigil::Phase`]; `Checking` and `SignedOut` are the browser's own states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientPhase {
    /// Not yet asked the server (also what the server renders).
    Checking,
    SignedOut,
    Active,
    Warning {
        remaining_ms: i64,
        reason: ExpiryReason,
    },
    Expired {
        reason: ExpiryReason,
    },
}

impl ClientPhase {
    pub fn is_signed_in(&self) -> bool {
        matches!(self, Self::Active | Self::Warning { .. })
    }

    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired { .. })
    }
}

/// A message shown above the workspace until it is resolved or dismissed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// One notice per key: a newer one replaces it.
    pub key: &'static str,
    pub text: String,
    pub tone: Tone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Warning,
}

#[derive(Debug, Clone, Copy)]
pub struct SessionContext {
    pub phase: RwSignal<ClientPhase>,
    pub user: RwSignal<Option<UserSummary>>,
    pub policy: RwSignal<Option<PolicyInfo>>,
    pub workspace: RwSignal<Workspace>,
    /// When the workspace was last written to this browser's storage (ms since epoch).
    pub saved_at: RwSignal<Option<f64>>,
    pub notices: RwSignal<Vec<Notice>>,
    /// The "discard unsent drafts?" question is open.
    pub confirm_sign_out: RwSignal<bool>,
    /// The page was opened onto an ended session: the user's work stays hidden (not even
    /// blurred) until the same user has signed in again.
    pub work_withheld: RwSignal<bool>,
}

impl SessionContext {
    pub fn new() -> Self {
        Self {
            phase: RwSignal::new(ClientPhase::Checking),
            user: RwSignal::new(None),
            policy: RwSignal::new(None),
            workspace: RwSignal::new(Workspace::default()),
            saved_at: RwSignal::new(None),
            notices: RwSignal::new(Vec::new()),
            confirm_sign_out: RwSignal::new(false),
            work_withheld: RwSignal::new(false),
        }
    }

    pub fn notify(&self, key: &'static str, tone: Tone, text: impl Into<String>) {
        let text = text.into();
        self.notices.update(|notices| {
            notices.retain(|n| n.key != key);
            notices.push(Notice { key, text, tone });
        });
    }

    /// When the workspace was last saved in this browser, as a time of day in the user's
    /// locale. `None` before the first save, and always during server rendering.
    pub fn saved_time(&self) -> Option<String> {
        let saved_at = self.saved_at.get()?;
        #[cfg(feature = "hydrate")]
        return Some(crate::browser::time::local_time_label(saved_at));
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = saved_at;
            None
        }
    }

    pub fn clear_notice(&self, key: &'static str) {
        if self
            .notices
            .with_untracked(|n| n.iter().any(|n| n.key == key))
        {
            self.notices
                .update(|notices| notices.retain(|n| n.key != key));
        }
    }
}

impl Default for SessionContext {
    fn default() -> Self {
        Self::new()
    }
}

pub fn use_session() -> SessionContext {
    expect_context::<SessionContext>()
}

/// "30 minutes", "1 hour 30 minutes", "45 seconds": durations as people say them.
pub fn human_duration(total_secs: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let (hours, minutes, seconds) = (total_secs / 3600, total_secs % 3600 / 60, total_secs % 60);
    let mut parts = Vec::new();
    if hours > 0 {
        parts.push(plural(hours, "hour"));
    }
    if minutes > 0 {
        parts.push(plural(minutes, "minute"));
    }
    if seconds > 0 || parts.is_empty() {
        parts.push(plural(seconds, "second"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(1800), "30 minutes");
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(5400), "1 hour 30 minutes");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(60), "1 minute");
    }
}
