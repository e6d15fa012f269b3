//! The local copy of each user's work in localStorage: one encrypted entry per draft and
//! one for the settings, in the core's envelope (`vigil::preserved`).
//!
//! Storage may be disabled, full, or hold entries this page cannot read (another key,
//! altered, an older format). None of that may crash the app or lose what is on screen:
//! the machine keeps the work in memory and the page shows the problem. Unreadable entries
//! are set aside, never deleted.

use std::cell::RefCell;
use std::collections::HashMap;

use vigil::preserved::{user_prefix, Entry, Envelope, PreservedError, STORAGE_PREFIX};
use vigil::UserSummary;

use super::crypto::{self, Key};
use super::time::now_ms;

const LAST_USER_KEY: &str = "vigil.last-user";
const SET_ASIDE: &str = ".set-aside";
/// Earlier builds kept each user's whole workspace here, in plain text.
const LEGACY_PREFIX: &str = "vigil.preserved.";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageProblem {
    #[error("This browser does not allow Vigil to keep your work (storage is disabled). Your drafts stay in this tab and in your account.")]
    Unavailable,
    #[error("This browser's storage is full. Your drafts stay in this tab until they reach your account.")]
    Full,
    #[error("This browser cannot encrypt your work here, so none of it is kept in this browser. It stays in this tab and in your account.")]
    NoEncryption,
    #[error("Some work saved in this browser could not be used ({0}). It was set aside.")]
    SetAside(String),
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window().and_then(|w| w.local_storage().ok().flatten())
}

fn keys() -> Vec<String> {
    let Some(storage) = storage() else {
        return Vec::new();
    };
    let length = storage.length().unwrap_or(0);
    (0..length)
        .filter_map(|i| storage.key(i).ok().flatten())
        .collect()
}

thread_local! {
    /// The newest write asked for each storage key: an older one finishing its encryption
    /// later never overwrites it.
    static LATEST: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
    static WRITES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Reads and decrypts every entry of `user`. Entries that cannot be read are set aside;
/// the count of them, and any problem, is reported. Entries written under the `retired` key
/// (before a password change) are read with it and written again under `key`.
pub async fn load(
    user: i64,
    key: Option<&Key>,
    retired: Option<&Key>,
) -> (Vec<Entry>, Vec<StorageProblem>) {
    let Some(storage) = storage() else {
        return (Vec::new(), vec![StorageProblem::Unavailable]);
    };
    let Some(key) = key else {
        return (Vec::new(), vec![StorageProblem::NoEncryption]);
    };
    let mut entries = Vec::new();
    let mut stale = Vec::new();
    let mut unreadable = Vec::new();
    let prefix = user_prefix(user);
    let now = now_ms() as i64;
    for name in keys() {
        if !name.starts_with(&prefix) || name.ends_with(SET_ASIDE) {
            continue;
        }
        let Ok(Some(raw)) = storage.get_item(&name) else {
            continue;
        };
        match read(&raw, user, now, key, retired, &name).await {
            Ok((entry, false)) => entries.push(entry),
            Ok((entry, true)) => {
                stale.push(entry.clone());
                entries.push(entry);
            }
            Err(PreservedError::Expired) => {
                let _ = storage.remove_item(&name);
            }
            Err(problem) => {
                let _ = storage.set_item(&format!("{name}{SET_ASIDE}"), &raw);
                let _ = storage.remove_item(&name);
                unreadable.push(problem.to_string());
            }
        }
    }
    entries.extend(migrate_legacy(&storage, user, now));
    let mut problems = Vec::new();
    for entry in &stale {
        if let Err(problem) = store(user, entry, Some(key)).await {
            problems.push(problem);
        }
    }
    if let Some(first) = unreadable.first() {
        problems.push(StorageProblem::SetAside(first.clone()));
    }
    (entries, problems)
}

/// Earlier builds kept the whole workspace in plain text and nowhere else: its drafts come
/// over as new, unsaved drafts (so they reach the account), and the plain text is removed.
fn migrate_legacy(storage: &web_sys::Storage, user: i64, now: i64) -> Vec<Entry> {
    use vigil::preserved::{LocalDraft, LocalSettings};
    let name = format!("{LEGACY_PREFIX}v1.user-{user}");
    let Ok(Some(raw)) = storage.get_item(&name) else {
        return Vec::new();
    };
    let _ = storage.remove_item(&name);
    let Ok(old) = serde_json::from_slice::<serde_json::Value>(raw.as_bytes()) else {
        return Vec::new();
    };
    if old["user_id"].as_i64() != Some(user) {
        return Vec::new();
    }
    let mut entries = Vec::new();
    let drafts = old["workspace"]["drafts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (seq, draft) in drafts.iter().enumerate() {
        let text = |field: &str| draft[field].as_str().unwrap_or_default().to_owned();
        let mut local = LocalDraft::new(crypto::random_uuid(), now + seq as i64);
        local.local = vigil::work::DraftInput {
            title: text("title"),
            body: text("body"),
        };
        if local.local.is_blank() {
            continue;
        }
        local.dirty_seq = Some(seq as u64 + 1);
        local.revision = 1;
        local.touched_here = true;
        entries.push(Entry::Draft(Box::new(local)));
    }
    if let Ok(settings) = serde_json::from_value(old["workspace"]["settings"].clone()) {
        entries.push(Entry::Settings(LocalSettings {
            local: settings,
            dirty_seq: Some(drafts.len() as u64 + 1),
            revision: 1,
            touched_here: true,
            ..LocalSettings::default()
        }));
    }
    entries
}

/// One entry, decrypted; `true` when it was under the retired key.
async fn read(
    raw: &str,
    user: i64,
    now: i64,
    key: &Key,
    retired: Option<&Key>,
    name: &str,
) -> Result<(Entry, bool), PreservedError> {
    let envelope = Envelope::decode(raw, user, now)?;
    let (key, is_retired) = match retired {
        _ if envelope.key_version == key.version => (key, false),
        Some(retired) if envelope.key_version == retired.version => (retired, true),
        _ => return Err(PreservedError::UnknownKey),
    };
    let (nonce, sealed) = envelope.sealed()?;
    let plain = crypto::open(key, &nonce, &sealed, name)
        .await
        .map_err(|e| PreservedError::Corrupt(e.to_string()))?;
    Ok((Entry::from_json(&plain)?, is_retired))
}

/// Encrypts and writes one entry.
pub async fn store(user: i64, entry: &Entry, key: Option<&Key>) -> Result<(), StorageProblem> {
    let storage = storage().ok_or(StorageProblem::Unavailable)?;
    let key = key.ok_or(StorageProblem::NoEncryption)?;
    let name = entry.storage_key(user);
    let write = WRITES.with(|w| {
        w.set(w.get() + 1);
        w.get()
    });
    LATEST.with(|l| l.borrow_mut().insert(name.clone(), write));
    let (nonce, sealed) = crypto::seal(key, &entry.to_json(), &name)
        .await
        .map_err(|_| StorageProblem::NoEncryption)?;
    if LATEST.with(|l| l.borrow().get(&name) != Some(&write)) {
        return Ok(());
    }
    let envelope = Envelope::seal(user, key.version, now_ms() as i64, &nonce, &sealed);
    storage
        .set_item(&name, &envelope.encode())
        .map_err(|_| StorageProblem::Full)
}

pub fn remove_draft(user: i64, id: &str) {
    let name = vigil::preserved::draft_key(user, id);
    LATEST.with(|l| l.borrow_mut().remove(&name));
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&name);
    }
}

/// Removes everything kept for `user` (an explicit sign-out), old formats included.
pub fn purge(user: i64) {
    let Some(storage) = storage() else { return };
    let prefix = user_prefix(user);
    let legacy = format!("{LEGACY_PREFIX}v1.user-{user}");
    LATEST.with(|l| l.borrow_mut().retain(|name, _| !name.starts_with(&prefix)));
    for name in keys() {
        if name.starts_with(&prefix) || name.starts_with(&legacy) {
            let _ = storage.remove_item(&name);
        }
    }
}

/// Drops what has expired, for every user, without decrypting anything.
pub fn sweep() {
    let Some(storage) = storage() else { return };
    let now = now_ms() as i64;
    for name in keys() {
        if name.starts_with(STORAGE_PREFIX) {
            let expired = storage
                .get_item(&name)
                .ok()
                .flatten()
                .is_some_and(|raw| Envelope::is_expired(&raw, now));
            if expired {
                let _ = storage.remove_item(&name);
            }
        }
    }
}

/// Remembers who was signed in, so a reload onto an ended session can offer to sign the
/// same person in again. Holds no secret and nothing of their work.
pub fn remember_user(user: &UserSummary) {
    if let (Some(storage), Ok(json)) = (storage(), serde_json::to_string(user)) {
        let _ = storage.set_item(LAST_USER_KEY, &json);
    }
}

pub fn last_user() -> Option<UserSummary> {
    let raw = storage()?.get_item(LAST_USER_KEY).ok()??;
    serde_json::from_slice(raw.as_bytes()).ok()
}

pub fn forget_user() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(LAST_USER_KEY);
    }
}

/// Whether storage can be used at all (it may be disabled).
pub fn available() -> bool {
    storage().is_some()
}
