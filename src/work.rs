//! The user's work as the server keeps it and the API carries it: drafts with versions and
//! settings. Shared by the server (which enforces the limits) and the browser (which checks
//! them before sending, and keeps an outbox of changes in these shapes).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Where the work lives; each endpoint is declared here once.
pub const DRAFTS_PATH: &str = "/api/drafts";
/// `GET` and `PUT`: the user's settings.
pub const SETTINGS_PATH: &str = "/api/settings";

/// `/api/drafts/{id}`.
pub fn draft_path(id: &str) -> String {
    format!("{DRAFTS_PATH}/{id}")
}

/// `/api/drafts/{id}/submit`.
pub fn submit_path(id: &str) -> String {
    format!("{DRAFTS_PATH}/{id}/submit")
}

/// The request header naming a change, so a retried request is applied once.
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

/// The colour scheme the user chose.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    /// Follow the operating system's light or dark preference; the default.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// Every theme, in the order the settings page offers them.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The theme's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// The theme's name on the settings page.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "Match system",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }
}

/// The text size the user chose.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextSize {
    /// The app's usual size; the default.
    #[default]
    Normal,
    /// Larger text throughout the app.
    Large,
}

impl TextSize {
    /// Every size, in the order the settings page offers them.
    pub const ALL: [TextSize; 2] = [TextSize::Normal, TextSize::Large];

    /// The size's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TextSize::Normal => "normal",
            TextSize::Large => "large",
        }
    }

    /// The size's name on the settings page.
    pub fn label(self) -> &'static str {
        match self {
            TextSize::Normal => "Normal",
            TextSize::Large => "Large",
        }
    }
}

/// The user's settings (`/api/settings`); they travel with the drafts. Named apart from the
/// server's configuration `Settings`; the document keeps calling them `Settings`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Settings))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Preferences {
    /// The colour scheme; the default when the member is missing.
    #[serde(default)]
    pub theme: Theme,
    /// The text size; the default when the member is missing.
    #[serde(default)]
    pub text_size: TextSize,
}

/// What the client sends for a draft.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftInput {
    /// At most [`MAX_TITLE_CHARS`] characters; may be empty.
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub title: String,
    /// At most 256 KiB of UTF-8 (a limit in bytes, which JSON Schema cannot state: a longer
    /// body is `413 payload_too_large`).
    pub body: String,
}

/// Which limit a draft breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftLimit {
    /// The title is over [`MAX_TITLE_CHARS`] characters.
    TitleTooLong,
    /// The body is over [`MAX_BODY_BYTES`] bytes.
    BodyTooLarge,
    /// Text no store can hold (a NUL character: Postgres refuses it in text), named by
    /// its field, so it is refused before it reaches a store.
    Unstorable(&'static str),
}

/// Whether every store can hold this text as it is (Postgres refuses the NUL character).
pub fn is_storable(text: &str) -> bool {
    !text.contains('\0')
}

impl DraftInput {
    /// The first limit the draft breaks, if any.
    pub fn check(&self) -> Result<(), DraftLimit> {
        if self.title.chars().count() > MAX_TITLE_CHARS {
            Err(DraftLimit::TitleTooLong)
        } else if self.body.len() > MAX_BODY_BYTES {
            Err(DraftLimit::BodyTooLarge)
        } else if !is_storable(&self.title) {
            Err(DraftLimit::Unstorable("title"))
        } else if !is_storable(&self.body) {
            Err(DraftLimit::Unstorable("body"))
        } else {
            Ok(())
        }
    }
}

impl DraftInput {
    /// Neither title nor body has anything but blanks: nothing worth keeping.
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
    /// Create or change a draft (`PUT /api/drafts/{id}`).
    PutDraft {
        /// The draft's id, a UUID the client made.
        id: String,
        /// The title and body the draft should have.
        input: DraftInput,
        /// The version the client based the change on, or that the draft must be new.
        precondition: Precondition,
    },
    /// Delete a draft that is not submitted (`DELETE /api/drafts/{id}`).
    DeleteDraft {
        /// The draft's id.
        id: String,
        /// The version the client last saw; any other is a conflict.
        version: u64,
    },
    /// Submit a draft, making it read-only (`POST /api/drafts/{id}/submit`).
    SubmitDraft {
        /// The draft's id.
        id: String,
        /// The version the client last saw; any other is a conflict.
        version: u64,
    },
    /// Replace the settings (`PUT /api/settings`); the last write wins.
    PutSettings {
        /// The settings in full.
        settings: Preferences,
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDraft {
    /// The draft's id, a UUID the client made (see [`is_draft_id`]).
    pub id: String,
    /// At most [`MAX_TITLE_CHARS`] characters.
    pub title: String,
    /// At most [`MAX_BODY_BYTES`] bytes of UTF-8.
    pub body: String,
    /// Starts at 1; every accepted change adds one. The `ETag` is `"<version>"`.
    pub version: u64,
    /// When the account last accepted a change to it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::timestamp::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Set once the draft is submitted; it is read-only from then on.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    #[serde(default, with = "crate::timestamp::rfc3339::option")]
    pub submitted_at: Option<OffsetDateTime>,
}

impl StoredDraft {
    /// The draft was submitted and can no longer change.
    pub fn is_submitted(&self) -> bool {
        self.submitted_at.is_some()
    }

    /// Whether the account's copy has exactly this title and body (versions aside).
    pub fn has_content(&self, input: &DraftInput) -> bool {
        self.title == input.title && self.body == input.body
    }
}

/// The answer to `DELETE /api/drafts` (delete all, step-up): how many drafts went.
/// Submitted drafts are records and stay.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftsDeleted {
    /// How many drafts were deleted.
    pub deleted: u32,
}

/// Everything in the account: every page of `GET /api/drafts`, drafts in the order they were
/// made, and the settings.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkSnapshot {
    /// Every draft, oldest first.
    pub drafts: Vec<StoredDraft>,
    /// The user's settings.
    pub settings: Preferences,
}

/// Drafts in a page of `GET /api/drafts` unless `?limit=` says otherwise.
pub const DEFAULT_PAGE: usize = 50;
/// The most drafts one page holds.
pub const MAX_PAGE: usize = 200;

/// One page of `GET /api/drafts`: drafts newest first (by creation, so a draft changed while
/// the pages are read neither moves nor repeats), the settings on the first page, and the
/// opaque cursor of the next page while there is one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DraftsPage {
    /// This page's drafts, newest first.
    pub drafts: Vec<StoredDraft>,
    /// The settings; on the first page only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Preferences>,
    /// The cursor of the next page; `None` on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The path of the page after `cursor`, as large as pages go.
pub fn drafts_page_path(cursor: Option<&str>) -> String {
    match cursor {
        Some(cursor) => format!("{DRAFTS_PATH}?limit={MAX_PAGE}&cursor={cursor}"),
        None => format!("{DRAFTS_PATH}?limit={MAX_PAGE}"),
    }
}

/// [`is_draft_id`] as a regular expression, for the OpenAPI document.
pub const DRAFT_ID_PATTERN: &str = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
/// What [`parse_etag`] reads, as a regular expression: a version of 1 to 19 digits (any
/// version a draft can reach), weak or strong.
pub const ETAG_PATTERN: &str = "^(W/)?\"[1-9][0-9]{0,18}\"$";
/// What [`is_idempotency_key`] accepts, as a regular expression.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";

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

/// The version named by an `ETag` or `If-Match` value (`"3"` or `W/"3"`): exactly
/// [`ETAG_PATTERN`], so the document and the server agree on every input.
pub fn parse_etag(value: &str) -> Option<u64> {
    let value = value.strip_prefix("W/").unwrap_or(value);
    let digits = value.strip_prefix('"')?.strip_suffix('"')?;
    let canonical = (1..=19).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    canonical.then(|| digits.parse().ok()).flatten()
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
        // Exactly the documented grammar: no padding, sign, leading zero or 20th digit.
        for refused in [
            " \"3\"",
            "\"03\"",
            "\"+3\"",
            "\"3 \"",
            "w/\"3\"",
            "\"18446744073709551615\"",
        ] {
            assert_eq!(parse_etag(refused), None, "{refused}");
        }
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
        /// The patterns the OpenAPI document states describe what the validators accept.
        #[test]
        fn what_the_documented_patterns_describe_is_accepted(
            id in proptest::string::string_regex(DRAFT_ID_PATTERN.trim_matches(['^', '$'])).unwrap_or_else(|e| panic!("{e}")),
            tag in proptest::string::string_regex(ETAG_PATTERN.trim_matches(['^', '$'])).unwrap_or_else(|e| panic!("{e}")),
            key in proptest::string::string_regex(IDEMPOTENCY_KEY_PATTERN.trim_matches(['^', '$'])).unwrap_or_else(|e| panic!("{e}")),
        ) {
            prop_assert!(is_draft_id(&id), "{}", id);
            prop_assert!(parse_etag(&tag).is_some(), "{}", tag);
            prop_assert!(is_idempotency_key(&key), "{}", key);
        }

        #[test]
        fn any_version_round_trips_through_its_etag(version in 1u64..=9_999_999_999_999_999_999) {
            prop_assert_eq!(parse_etag(&etag(version)), Some(version));
        }
    }
}
