//! The user's work as the server keeps it and the API carries it: drafts with versions and
//! settings. Shared by the server (which enforces the limits) and the browser (which checks
//! them before sending, and keeps an outbox of changes in these shapes).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where the work lives; each endpoint is declared here once.
pub const DRAFTS_PATH: &str = "/api/drafts";
pub const SETTINGS_PATH: &str = "/api/settings";

/// `/api/drafts/{id}`.
pub fn draft_path(id: &str) -> String {
    format!("{DRAFTS_PATH}/{id}")
}

/// `/api/drafts/{id}/submit`.
pub fn submit_path(id: &str) -> String {
    format!("{DRAFTS_PATH}/{id}/submit")
}

pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// Set on an answer replayed for a repeated `Idempotency-Key`.
pub const IDEMPOTENT_REPLAY_HEADER: &str = "idempotent-replayed";

/// Titles are at most this many characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Bodies are at most this many bytes of UTF-8.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// A user keeps at most this many drafts.
pub const MAX_DRAFTS: usize = 1000;
/// An `Idempotency-Key` is 1 to this many visible ASCII characters.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

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

/// The user's settings; they travel with the drafts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub theme: Theme,
    #[serde(default)]
    pub text_size: TextSize,
}

/// What the client sends for a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftInput {
    pub title: String,
    pub body: String,
}

/// Which limit a draft breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftLimit {
    TitleTooLong,
    BodyTooLarge,
}

impl DraftInput {
    pub fn check(&self) -> Result<(), DraftLimit> {
        if self.title.chars().count() > MAX_TITLE_CHARS {
            Err(DraftLimit::TitleTooLong)
        } else if self.body.len() > MAX_BODY_BYTES {
            Err(DraftLimit::BodyTooLarge)
        } else {
            Ok(())
        }
    }
}

impl DraftInput {
    pub fn is_blank(&self) -> bool {
        self.title.trim().is_empty() && self.body.trim().is_empty()
    }
}

/// What a draft write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precondition {
    /// `If-None-Match: *`: the draft must not exist yet.
    Absent,
    /// `If-Match: "<version>"`: the draft must be at this version.
    Version(u64),
}

/// One change to a user's work: what an `Idempotency-Key` stands for. The browser keeps
/// the ones the server has not acknowledged in its outbox; the server applies each once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkOp {
    PutDraft {
        id: String,
        input: DraftInput,
        precondition: Precondition,
    },
    DeleteDraft {
        id: String,
        version: u64,
    },
    SubmitDraft {
        id: String,
        version: u64,
    },
    PutSettings {
        settings: Settings,
    },
}

impl WorkOp {
    /// The draft it changes (none for settings).
    pub fn draft_id(&self) -> Option<&str> {
        match self {
            Self::PutDraft { id, .. }
            | Self::DeleteDraft { id, .. }
            | Self::SubmitDraft { id, .. } => Some(id),
            Self::PutSettings { .. } => None,
        }
    }
}

/// A draft as stored in the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDraft {
    pub id: String,
    pub title: String,
    pub body: String,
    /// Starts at 1; every accepted change adds one. The `ETag` is `"<version>"`.
    pub version: u64,
    #[serde(with = "crate::timestamp::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Set once the draft is submitted; it is read-only from then on.
    #[serde(default, with = "crate::timestamp::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
}

impl StoredDraft {
    pub fn is_submitted(&self) -> bool {
        self.submitted_at.is_some()
    }

    pub fn has_content(&self, input: &DraftInput) -> bool {
        self.title == input.title && self.body == input.body
    }
}

/// The answer to `DELETE /api/drafts` (delete all, step-up): how many drafts went.
/// Submitted drafts are records and stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftsDeleted {
    pub deleted: u32,
}

/// The answer to `GET /api/drafts`: everything in the account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkSnapshot {
    pub drafts: Vec<StoredDraft>,
    pub settings: Settings,
}

/// A draft id: a UUID the client made (so a create can be retried safely), in its
/// canonical lower-case hyphenated form.
pub fn is_draft_id(id: &str) -> bool {
    id.len() == 36
        && id.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        })
}

/// An `If-Match` / `ETag` value for a version: `"3"`.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version named by an `ETag` or `If-Match` value (`"3"` or `W/"3"`).
pub fn parse_etag(value: &str) -> Option<u64> {
    let value = value.trim();
    let value = value.strip_prefix("W/").unwrap_or(value);
    value
        .strip_prefix('"')?
        .strip_suffix('"')?
        .parse()
        .ok()
        .filter(|v| *v > 0)
}

/// Whether an `Idempotency-Key` has an acceptable form.
pub fn is_idempotency_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn draft_ids_are_canonical_uuids() {
        assert!(is_draft_id("0f8e6a2c-4b1d-4e8f-9a3b-2c1d0e9f8a7b"));
        assert!(!is_draft_id("0F8E6A2C-4B1D-4E8F-9A3B-2C1D0E9F8A7B"));
        assert!(!is_draft_id("0f8e6a2c4b1d4e8f9a3b2c1d0e9f8a7b"));
        assert!(!is_draft_id("../../etc/passwd"));
        assert!(!is_draft_id(""));
    }

    #[test]
    fn etags_round_trip_and_weak_ones_are_read() {
        assert_eq!(parse_etag(&etag(7)), Some(7));
        assert_eq!(parse_etag("W/\"12\""), Some(12));
        assert_eq!(parse_etag("12"), None);
        assert_eq!(parse_etag("\"0\""), None);
        assert_eq!(parse_etag("*"), None);
    }

    #[test]
    fn limits_name_what_they_refuse() {
        let ok = DraftInput {
            title: "t".repeat(MAX_TITLE_CHARS),
            body: "b".repeat(MAX_BODY_BYTES),
        };
        assert_eq!(ok.check(), Ok(()));
        let title = DraftInput {
            title: "é".repeat(MAX_TITLE_CHARS + 1),
            body: String::new(),
        };
        assert_eq!(title.check(), Err(DraftLimit::TitleTooLong));
        let body = DraftInput {
            title: String::new(),
            body: "é".repeat(MAX_BODY_BYTES / 2 + 1),
        };
        assert_eq!(body.check(), Err(DraftLimit::BodyTooLarge));
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(is_idempotency_key("3f2a-op-17"));
        assert!(!is_idempotency_key(""));
        assert!(!is_idempotency_key("has space"));
        assert!(!is_idempotency_key(&"k".repeat(256)));
    }

    proptest! {
        #[test]
        fn any_version_round_trips_through_its_etag(version in 1u64..) {
            prop_assert_eq!(parse_etag(&etag(version)), Some(version));
        }
    }
}
