//! What the browser keeps of the user's work between page loads, and how.
//!
//! Each draft, and the settings, is one localStorage entry, so tabs editing different drafts
//! never overwrite each other. An entry holds the user's own text, the last version the
//! account acknowledged, and the change that was sent but not yet acknowledged (the
//! outbox), so that nothing the user did is lost at the moment a session ends, across a
//! reload, or offline.
//!
//! Entries are encrypted (AES-GCM, by the browser) under a per-user key that the server
//! hands over only in authenticated answers; only their envelope — whose they are, when
//! they were saved, when they expire — is readable. Decoding refuses corrupt, foreign,
//! outdated and expired entries with a reason the app can show instead of crashing.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::Duration;

use crate::work::{DraftInput, Preferences, StoredDraft, WorkOp};

/// Version 1 kept plain JSON of the whole workspace; version 2 is per entry and encrypted.
pub const SCHEMA_VERSION: u32 = 2;

/// How long preserved work is kept without being saved again.
pub const RETENTION: Duration = Duration::days(7);

/// Prefix shared by every entry of every user.
pub const STORAGE_PREFIX: &str = "vigil.v2.";

/// The prefix of one user's entries.
pub fn user_prefix(user_id: i64) -> String {
    format!("{STORAGE_PREFIX}u{user_id}.")
}

/// The storage key of one draft's entry.
pub fn draft_key(user_id: i64, draft_id: &str) -> String {
    format!("{}draft.{draft_id}", user_prefix(user_id))
}

/// The storage key of the settings entry.
pub fn settings_key(user_id: i64) -> String {
    format!("{}settings", user_prefix(user_id))
}

/// A change sent to the account but not acknowledged: it is sent again, with the same
/// idempotency key, until an answer says what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentOp {
    /// The idempotency key the change is sent with, every time it is sent.
    pub key: String,
    /// The change itself.
    pub op: WorkOp,
}

/// One draft as this browser keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalDraft {
    /// The draft's id, the same here and in the account (made in the browser).
    pub id: String,
    /// What the user sees and last typed.
    pub local: DraftInput,
    /// The account's copy as last acknowledged; `None` until it was first saved there.
    pub server: Option<StoredDraft>,
    /// The outbox entry for this draft.
    pub sent: Option<SentOp>,
    /// Submit was pressed and is not done yet.
    pub submit_requested: bool,
    /// Deleted here, not yet in the account.
    pub deleted: bool,
    /// Orders unsaved changes across drafts: older changes are sent first.
    pub dirty_seq: Option<u64>,
    /// The account's version after a `412 edit_conflict`: the user chooses.
    pub conflict: Option<StoredDraft>,
    /// Why the account refused the last change for good (a limit), if it did.
    pub rejected: Option<String>,
    /// Bumped on every change here; the newer copy wins when two tabs wrote one draft.
    pub revision: u64,
    /// Orders drafts in the list (ms since the epoch when it was made here).
    pub created_ms: i64,
    /// Changed by the user of this page since it was loaded. A page writes only such
    /// entries: another tab may hold newer changes of the others.
    #[serde(skip)]
    pub touched_here: bool,
}

impl LocalDraft {
    /// An empty draft made here at `created_ms`, not yet in the account.
    pub fn new(id: String, created_ms: i64) -> Self {
        Self {
            id,
            local: DraftInput {
                title: String::new(),
                body: String::new(),
            },
            server: None,
            sent: None,
            submit_requested: false,
            deleted: false,
            dirty_seq: None,
            conflict: None,
            rejected: None,
            revision: 0,
            created_ms,
            touched_here: false,
        }
    }

    /// A clean copy of what the account holds.
    pub fn from_server(draft: StoredDraft) -> Self {
        let created_ms = (draft.updated_at.unix_timestamp_nanos() / 1_000_000) as i64;
        Self {
            local: DraftInput {
                title: draft.title.clone(),
                body: draft.body.clone(),
            },
            ..Self::new(draft.id.clone(), created_ms)
        }
        .with_server(draft)
    }

    fn with_server(mut self, draft: StoredDraft) -> Self {
        self.server = Some(draft);
        self
    }

    /// The account has everything the user did to this draft.
    pub fn is_saved(&self) -> bool {
        self.sent.is_none()
            && !self.deleted
            && !self.submit_requested
            && self
                .server
                .as_ref()
                .is_some_and(|s| s.title == self.local.title && s.body == self.local.body)
    }

    /// The account holds this draft as submitted: it can no longer be edited.
    pub fn is_submitted(&self) -> bool {
        self.server.as_ref().is_some_and(StoredDraft::is_submitted)
    }
}

/// The settings as this browser keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LocalSettings {
    /// What the user sees and last chose.
    pub local: Preferences,
    /// The account's copy as last acknowledged; `None` until it was first saved there.
    pub server: Option<Preferences>,
    /// The outbox entry for the settings.
    pub sent: Option<SentOp>,
    /// Set while there are unsaved changes; orders them with the drafts' (older first).
    pub dirty_seq: Option<u64>,
    /// Bumped on every change here; the newer copy wins when two tabs wrote the settings.
    pub revision: u64,
    /// As [`LocalDraft::touched_here`].
    #[serde(skip)]
    pub touched_here: bool,
}

impl LocalSettings {
    /// The account has every change the user made to the settings.
    pub fn is_saved(&self) -> bool {
        self.sent.is_none() && self.dirty_seq.is_none()
    }
}

/// One encrypted entry as stored. Only the envelope is readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Always [`SCHEMA_VERSION`] when written; anything else is refused on reading.
    pub schema_version: u32,
    /// Whose entry it is; another user's is refused on reading.
    pub user_id: i64,
    /// Which version of the user's key encrypted it.
    pub key_version: u32,
    /// Milliseconds since the epoch.
    pub saved_at: i64,
    /// Milliseconds since the epoch; from then on the entry is dropped unread.
    pub expires_at: i64,
    /// The AES-GCM nonce, base64 (no padding).
    pub iv: String,
    /// The AES-GCM ciphertext, base64 (no padding).
    pub data: String,
}

/// Why a stored entry could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PreservedError {
    /// Not JSON of the expected shape, or not base64; carries the parser's message.
    #[error("the saved work could not be read ({0})")]
    Corrupt(String),
    /// Written under another schema version (the one given), e.g. version 1's plain JSON.
    #[error("the saved work was written by an incompatible version ({0})")]
    UnsupportedVersion(u32),
    /// Stored for another user than the one signed in.
    #[error("the saved work belongs to another account")]
    ForeignUser,
    /// Past its `expires_at`: kept longer than [`RETENTION`] without being saved again.
    #[error("the saved work expired")]
    Expired,
    /// Encrypted under a key version the account no longer has (it rotates with the password).
    #[error("the saved work was locked with a key this account no longer has")]
    UnknownKey,
}

impl Envelope {
    /// The envelope of a freshly encrypted entry, saved at `now_ms` and kept for [`RETENTION`].
    pub fn seal(user_id: i64, key_version: u32, now_ms: i64, iv: &[u8], ciphertext: &[u8]) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            user_id,
            key_version,
            saved_at: now_ms,
            expires_at: now_ms + RETENTION.whole_milliseconds() as i64,
            iv: STANDARD_NO_PAD.encode(iv),
            data: STANDARD_NO_PAD.encode(ciphertext),
        }
    }

    /// The entry as stored, in JSON.
    pub fn encode(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads an entry for `user_id`, refusing anything that is not exactly theirs and current.
    pub fn decode(raw: &str, user_id: i64, now_ms: i64) -> Result<Self, PreservedError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let version: Version = serde_json::from_slice(raw.as_bytes())
            .map_err(|e| PreservedError::Corrupt(e.to_string()))?;
        if version.schema_version != SCHEMA_VERSION {
            return Err(PreservedError::UnsupportedVersion(version.schema_version));
        }
        let envelope: Envelope = serde_json::from_slice(raw.as_bytes())
            .map_err(|e| PreservedError::Corrupt(e.to_string()))?;
        if envelope.user_id != user_id {
            return Err(PreservedError::ForeignUser);
        }
        if now_ms >= envelope.expires_at {
            return Err(PreservedError::Expired);
        }
        Ok(envelope)
    }

    /// The nonce and the ciphertext.
    pub fn sealed(&self) -> Result<(Vec<u8>, Vec<u8>), PreservedError> {
        let decode = |text: &str| {
            STANDARD_NO_PAD
                .decode(text)
                .map_err(|e| PreservedError::Corrupt(e.to_string()))
        };
        Ok((decode(&self.iv)?, decode(&self.data)?))
    }

    /// Whether the entry may be dropped without reading it: expired (a sweep at start-up).
    pub fn is_expired(raw: &str, now_ms: i64) -> bool {
        #[derive(Deserialize)]
        struct Expiry {
            expires_at: i64,
        }
        serde_json::from_slice::<Expiry>(raw.as_bytes()).is_ok_and(|e| now_ms >= e.expires_at)
    }
}

/// What an entry holds once decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// One draft.
    Draft(Box<LocalDraft>),
    /// The user's settings.
    Settings(LocalSettings),
}

impl Entry {
    /// The plaintext that is encrypted, in JSON.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a decrypted plaintext; anything unreadable is [`PreservedError::Corrupt`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, PreservedError> {
        serde_json::from_slice(bytes).map_err(|e| PreservedError::Corrupt(e.to_string()))
    }

    /// Where this entry is stored for `user_id`: [`draft_key`] or [`settings_key`].
    pub fn storage_key(&self, user_id: i64) -> String {
        match self {
            Self::Draft(draft) => draft_key(user_id, &draft.id),
            Self::Settings(_) => settings_key(user_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn sealed() -> String {
        Envelope::seal(7, 1, NOW, &[1; 12], b"ciphertext").encode()
    }

    #[test]
    fn round_trips_for_its_owner_and_keeps_the_payload_opaque() {
        let raw = sealed();
        assert!(!raw.contains("ciphertext"));
        let envelope = Envelope::decode(&raw, 7, NOW + 1000).expect("decodes");
        assert_eq!(envelope.sealed(), Ok((vec![1; 12], b"ciphertext".to_vec())));
    }

    #[test]
    fn never_hands_one_users_work_to_another() {
        assert_eq!(
            Envelope::decode(&sealed(), 8, NOW),
            Err(PreservedError::ForeignUser)
        );
    }

    #[test]
    fn expires_after_seven_days() {
        let raw = sealed();
        let week = RETENTION.whole_milliseconds() as i64;
        assert!(Envelope::decode(&raw, 7, NOW + week - 1).is_ok());
        assert_eq!(
            Envelope::decode(&raw, 7, NOW + week),
            Err(PreservedError::Expired)
        );
        assert!(Envelope::is_expired(&raw, NOW + week));
        assert!(!Envelope::is_expired("{not json", NOW + week));
    }

    #[test]
    fn reports_corrupt_and_outdated_entries() {
        assert!(matches!(
            Envelope::decode("{not json", 7, NOW),
            Err(PreservedError::Corrupt(_))
        ));
        assert!(matches!(
            Envelope::decode(r#"{"schema_version":2,"user_id":"x"}"#, 7, NOW),
            Err(PreservedError::Corrupt(_))
        ));
        assert_eq!(
            Envelope::decode(r#"{"schema_version":1}"#, 7, NOW),
            Err(PreservedError::UnsupportedVersion(1))
        );
    }

    #[test]
    fn keys_are_scoped_per_user() {
        assert_ne!(draft_key(1, "a"), draft_key(2, "a"));
        assert!(draft_key(1, "a").starts_with(&user_prefix(1)));
        assert!(settings_key(1).starts_with(STORAGE_PREFIX));
        assert!(!draft_key(11, "a").starts_with(&user_prefix(1)));
    }

    #[test]
    fn entries_round_trip() {
        let entry = Entry::Draft(Box::new(LocalDraft::new("d".into(), NOW)));
        assert_eq!(Entry::from_json(&entry.to_json()), Ok(entry));
        assert!(Entry::from_json(b"nope").is_err());
    }

    /// The fuzz target starts from these: they must stay readable as the types change, or
    /// the fuzzer would start from nothing.
    #[test]
    fn the_fuzz_seeds_are_entries_and_envelopes() {
        for seed in [
            include_str!("../fuzz/seeds/local_copy/entry-draft"),
            include_str!("../fuzz/seeds/local_copy/entry-settings"),
        ] {
            assert!(Entry::from_json(seed.as_bytes()).is_ok(), "{seed}");
        }
        let envelope = include_str!("../fuzz/seeds/local_copy/envelope");
        assert!(Envelope::decode(envelope, 1, 1_780_000_000_000).is_ok());
    }
}
