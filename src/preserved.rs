//! The preserved-data envelope: what the browser keeps in localStorage so that a timeout
//! never costs the user their work.
//!
//! Entries are scoped per user, carry a schema version, the time they were saved and an
//! expiry. Decoding refuses corrupt, foreign, outdated and expired entries with a reason the
//! app can show instead of crashing.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::{Duration, OffsetDateTime};

pub const SCHEMA_VERSION: u32 = 1;

/// How long preserved work is kept without being saved again.
pub const RETENTION: Duration = Duration::hours(24);

/// The localStorage key holding one user's work.
pub fn storage_key(user_id: i64) -> String {
    format!("vigil.preserved.v{SCHEMA_VERSION}.user-{user_id}")
}

/// Prefix shared by every user's entry.
pub const STORAGE_KEY_PREFIX: &str = "vigil.preserved.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub id: String,
    pub title: String,
    pub body: String,
}

impl Draft {
    pub fn is_blank(&self) -> bool {
        self.title.trim().is_empty() && self.body.trim().is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Match system",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSize {
    #[default]
    Normal,
    Large,
}

impl TextSize {
    pub const ALL: [TextSize; 2] = [TextSize::Normal, TextSize::Large];

    pub fn as_str(self) -> &'static str {
        match self {
            TextSize::Normal => "normal",
            TextSize::Large => "large",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TextSize::Normal => "Normal",
            TextSize::Large => "Large",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub theme: Theme,
    #[serde(default)]
    pub text_size: TextSize,
}

/// Everything preserved for one user.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Workspace {
    pub drafts: Vec<Draft>,
    pub settings: Settings,
    /// The draft that was open, so the user returns to the same place.
    #[serde(default)]
    pub selected: Option<String>,
}

impl Workspace {
    /// Drafts with any content: what signing out would discard.
    pub fn unsent_drafts(&self) -> usize {
        self.drafts.iter().filter(|d| !d.is_blank()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.drafts.is_empty() && self.settings == Settings::default()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub schema_version: u32,
    pub user_id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub saved_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub workspace: Workspace,
}

/// Why a stored entry could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PreservedError {
    #[error("the saved work could not be read ({0})")]
    Corrupt(String),
    #[error("the saved work was written by an incompatible version ({0})")]
    UnsupportedVersion(u32),
    #[error("the saved work belongs to another account")]
    ForeignUser,
    #[error("the saved work expired")]
    Expired,
}

impl Envelope {
    pub fn new(user_id: i64, workspace: Workspace, now: OffsetDateTime) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            user_id,
            saved_at: now,
            expires_at: now + RETENTION,
            workspace,
        }
    }

    pub fn encode(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an entry for `user_id`, refusing anything that is not exactly theirs and current.
    pub fn decode(raw: &str, user_id: i64, now: OffsetDateTime) -> Result<Self, PreservedError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let version: Version =
            serde_json::from_str(raw).map_err(|e| PreservedError::Corrupt(e.to_string()))?;
        if version.schema_version != SCHEMA_VERSION {
            return Err(PreservedError::UnsupportedVersion(version.schema_version));
        }
        let envelope: Envelope =
            serde_json::from_str(raw).map_err(|e| PreservedError::Corrupt(e.to_string()))?;
        if envelope.user_id != user_id {
            return Err(PreservedError::ForeignUser);
        }
        if now >= envelope.expires_at {
            return Err(PreservedError::Expired);
        }
        Ok(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 08:00 UTC);

    fn workspace() -> Workspace {
        Workspace {
            drafts: vec![
                Draft {
                    id: "d1".into(),
                    title: "Letter".into(),
                    body: "Dear…".into(),
                },
                Draft {
                    id: "d2".into(),
                    title: " ".into(),
                    body: "".into(),
                },
            ],
            settings: Settings {
                theme: Theme::Dark,
                text_size: TextSize::Large,
            },
            selected: Some("d1".into()),
        }
    }

    #[test]
    fn round_trips_for_its_owner() {
        let raw = Envelope::new(7, workspace(), NOW).encode();
        let back = Envelope::decode(&raw, 7, NOW + Duration::hours(23));
        assert_eq!(back.map(|e| e.workspace), Ok(workspace()));
    }

    #[test]
    fn never_hands_one_users_work_to_another() {
        let raw = Envelope::new(7, workspace(), NOW).encode();
        assert_eq!(
            Envelope::decode(&raw, 8, NOW),
            Err(PreservedError::ForeignUser)
        );
    }

    #[test]
    fn expires_after_the_retention_period() {
        let raw = Envelope::new(7, workspace(), NOW).encode();
        assert_eq!(
            Envelope::decode(&raw, 7, NOW + RETENTION),
            Err(PreservedError::Expired)
        );
    }

    #[test]
    fn reports_corrupt_and_outdated_entries() {
        assert!(matches!(
            Envelope::decode("{not json", 7, NOW),
            Err(PreservedError::Corrupt(_))
        ));
        assert!(matches!(
            Envelope::decode(r#"{"schema_version":1,"user_id":"x"}"#, 7, NOW),
            Err(PreservedError::Corrupt(_))
        ));
        assert_eq!(
            Envelope::decode(r#"{"schema_version":99}"#, 7, NOW),
            Err(PreservedError::UnsupportedVersion(99))
        );
    }

    #[test]
    fn counts_only_drafts_with_content_as_unsent() {
        assert_eq!(workspace().unsent_drafts(), 1);
        assert!(Workspace::default().is_empty());
    }

    #[test]
    fn keys_are_scoped_per_user() {
        assert_ne!(storage_key(1), storage_key(2));
        assert!(storage_key(1).starts_with(STORAGE_KEY_PREFIX));
    }
}
