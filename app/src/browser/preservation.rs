//! Keeps each user's drafts and settings in localStorage, through the core envelope.
//!
//! Storage may be disabled, full, or hold data this build cannot read. None of that may
//! crash the app or lose what is on screen: the caller keeps the workspace in memory and
//! shows the returned problem.

use gloo_storage::{LocalStorage, Storage};
use vigil::preserved::{storage_key, Envelope, PreservedError, Workspace};
use vigil::UserSummary;

use super::time::now;

const LAST_USER_KEY: &str = "vigil.last-user";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageProblem {
    #[error("This browser does not allow Vigil to keep your work (storage is disabled). Your drafts stay in this tab only.")]
    Unavailable,
    #[error(
        "This browser's storage is full. Your drafts stay in this tab until you free some space."
    )]
    Full,
    #[error("Saved work in this browser could not be used ({0}). It was set aside and you start with an empty workspace.")]
    SetAside(PreservedError),
}

fn available() -> bool {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .is_some()
}

/// Loads the user's preserved workspace. Unusable entries are moved aside, not deleted.
pub fn load(user_id: i64) -> Result<Option<(Workspace, f64)>, StorageProblem> {
    if !available() {
        return Err(StorageProblem::Unavailable);
    }
    let key = storage_key(user_id);
    let Ok(raw) = LocalStorage::raw().get_item(&key) else {
        return Err(StorageProblem::Unavailable);
    };
    let Some(raw) = raw else {
        return Ok(None);
    };
    match Envelope::decode(&raw, user_id, now()) {
        Ok(envelope) => {
            let saved_ms = (envelope.saved_at.unix_timestamp_nanos() / 1_000_000) as f64;
            Ok(Some((envelope.workspace, saved_ms)))
        }
        Err(PreservedError::Expired) => {
            LocalStorage::delete(&key);
            Ok(None)
        }
        Err(problem) => {
            let aside = format!("{key}.set-aside");
            let _ = LocalStorage::raw().set_item(&aside, &raw);
            LocalStorage::delete(&key);
            Err(StorageProblem::SetAside(problem))
        }
    }
}

/// Writes the workspace; returns the save time in ms.
pub fn save(user_id: i64, workspace: &Workspace) -> Result<f64, StorageProblem> {
    if !available() {
        return Err(StorageProblem::Unavailable);
    }
    let saved_at = now();
    let envelope = Envelope::new(user_id, workspace.clone(), saved_at);
    LocalStorage::raw()
        .set_item(&storage_key(user_id), &envelope.encode())
        .map_err(|_| StorageProblem::Full)?;
    Ok((saved_at.unix_timestamp_nanos() / 1_000_000) as f64)
}

/// Removes the user's preserved work (an explicit sign-out).
pub fn purge(user_id: i64) {
    if available() {
        LocalStorage::delete(storage_key(user_id));
    }
}

/// Remembers who was signed in, so a reload onto an expired session can offer to sign the
/// same person in again. Holds no secret.
pub fn remember_user(user: &UserSummary) {
    if available() {
        let _ = LocalStorage::set(LAST_USER_KEY, user);
    }
}

pub fn last_user() -> Option<UserSummary> {
    if available() {
        LocalStorage::get(LAST_USER_KEY).ok()
    } else {
        None
    }
}

pub fn forget_user() {
    if available() {
        LocalStorage::delete(LAST_USER_KEY);
    }
}
