//! What the server tells an open page, unasked, over `GET /api/events` (SPEC §9.3): that its
//! session ended and why, or that the user's list of sessions changed.
//!
//! The stream is news, never a verdict: a page that misses it (blocked, offline) learns the
//! same from its next request, and nothing the stream says extends or ends anything.

use serde::{Deserialize, Serialize};

/// The event stream's path.
pub const EVENTS_PATH: &str = "/api/events";

/// Why a session ended, as its holder is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EndedBecause {
    /// Signed out (in another tab of this browser, or by another client holding the token).
    SignedOut,
    /// Ended by its owner from another of their sessions ("sign out everywhere else", or
    /// the sessions page).
    SignedOutElsewhere,
    /// The account's password was changed (by its owner, or reset by an operator).
    PasswordChanged,
    /// Ended by an operator (the command line).
    Operator,
    /// The account was disabled.
    AccountDisabled,
    /// The user signed in once more than the session limit allows, and this was their least
    /// recently active session.
    SessionLimit,
    /// An old token of it was presented again: it was closed as stolen.
    TokenReuse,
    /// Its idle or absolute deadline passed.
    Expired,
}

impl EndedBecause {
    /// The sentence the sign-in-again modal shows.
    pub fn message(self) -> &'static str {
        match self {
            Self::SignedOut => "You signed out.",
            Self::SignedOutElsewhere => "You were signed out from another device.",
            Self::PasswordChanged => "Your password was changed.",
            Self::Operator => "An administrator ended this session.",
            Self::AccountDisabled => "An administrator disabled your account.",
            Self::SessionLimit => {
                "You signed in on another device, which ended this, your least recently used \
                 session."
            }
            Self::TokenReuse => {
                "This session was ended because its sign-in was used from somewhere else."
            }
            Self::Expired => "Your session timed out.",
        }
    }
}

/// One event of the stream: its SSE `event` name and its JSON `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerEvent {
    /// The stream is open and listening: anything that ends the session from now on is told.
    Ready,
    /// This session ended; the stream closes after it.
    SessionEnded {
        /// Why.
        reason: EndedBecause,
    },
    /// A session of this user started or ended (the sessions page lists them again).
    SessionsChanged,
}

/// The body of `session_ended`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SessionEndedData {
    /// Why the session ended.
    pub reason: EndedBecause,
}

impl ServerEvent {
    /// The SSE `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::SessionEnded { .. } => "session_ended",
            Self::SessionsChanged => "sessions_changed",
        }
    }

    /// The SSE `data` field (JSON).
    pub fn data(&self) -> String {
        match self {
            Self::SessionEnded { reason } => {
                serde_json::to_string(&SessionEndedData { reason: *reason })
                    .unwrap_or_else(|_| "{}".into())
            }
            Self::Ready | Self::SessionsChanged => "{}".into(),
        }
    }

    /// Reads an event back from its name and data; `None` for names this build does not know
    /// (a newer server) and for data that does not read.
    pub fn parse(name: &str, data: &str) -> Option<Self> {
        match name {
            "ready" => Some(Self::Ready),
            "sessions_changed" => Some(Self::SessionsChanged),
            "session_ended" => serde_json::from_str::<SessionEndedData>(data)
                .ok()
                .map(|data| Self::SessionEnded {
                    reason: data.reason,
                }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_reads_back_from_its_name_and_data() {
        let reasons = [
            EndedBecause::SignedOut,
            EndedBecause::SignedOutElsewhere,
            EndedBecause::PasswordChanged,
            EndedBecause::Operator,
            EndedBecause::AccountDisabled,
            EndedBecause::SessionLimit,
            EndedBecause::TokenReuse,
            EndedBecause::Expired,
        ];
        let events = reasons
            .into_iter()
            .map(|reason| ServerEvent::SessionEnded { reason })
            .chain([ServerEvent::Ready, ServerEvent::SessionsChanged]);
        for event in events {
            assert_eq!(ServerEvent::parse(event.name(), &event.data()), Some(event));
        }
        assert_eq!(
            ServerEvent::SessionEnded {
                reason: EndedBecause::PasswordChanged
            }
            .data(),
            r#"{"reason":"password_changed"}"#
        );
    }

    #[test]
    fn unknown_names_and_unreadable_data_are_ignored() {
        assert_eq!(ServerEvent::parse("party", "{}"), None);
        assert_eq!(ServerEvent::parse("session_ended", "{}"), None);
        assert_eq!(
            ServerEvent::parse("session_ended", r#"{"reason":"moon"}"#),
            None
        );
    }
}
