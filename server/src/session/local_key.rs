//! The key each user's local copies are encrypted under in the browser (AES-256-GCM).
//!
//! Derived, never stored: HKDF-SHA256 of the server's signing secret, the key version and
//! the user id. The same user gets the same key back on every sign-in (so what the browser
//! kept decrypts after signing in again), another user a different one, and nobody without
//! a session gets it at all: it travels only in authenticated answers, and the page keeps it
//! in memory.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use sha2::Sha256;
use vigil::session_info::{LocalKey, RetiredKey};

use crate::session::JwtSecret;

/// The version of a user's key before any password change (the derivation every earlier
/// build used): copies written then stay readable.
pub const FIRST_KEY_VERSION: u32 = 1;

/// Above this many keys the remembered ones start over (this bounds the memory).
const REMEMBERED_KEYS: usize = 100_000;

pub struct LocalKeys {
    hkdf: Hkdf<Sha256>,
    /// Keys already derived, by user and version: every session answer carries one, and
    /// deriving it is two HMACs, a formatted label and a base64 encoding.
    derived: RwLock<HashMap<(i64, u32), LocalKey>>,
}

impl std::fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKeys").finish_non_exhaustive()
    }
}

impl LocalKeys {
    pub fn new(secret: &JwtSecret) -> Self {
        Self {
            hkdf: Hkdf::<Sha256>::new(Some(b"vigil local copies"), secret.as_bytes()),
            derived: RwLock::default(),
        }
    }

    /// The user's key at `version` (a password change or reset moves it on), with the
    /// version before it, so that copies written under that one are read once more.
    pub fn for_user(&self, user_id: i64, version: u32) -> LocalKey {
        let derived = self.derived.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = derived.get(&(user_id, version)) {
            return key.clone();
        }
        drop(derived);
        let key = LocalKey {
            version,
            key: self.derive(user_id, version),
            retired: (version > FIRST_KEY_VERSION).then(|| RetiredKey {
                version: version - 1,
                key: self.derive(user_id, version - 1),
            }),
        };
        let mut derived = self.derived.write().unwrap_or_else(PoisonError::into_inner);
        if derived.len() >= REMEMBERED_KEYS {
            derived.clear();
        }
        derived.insert((user_id, version), key.clone());
        key
    }

    fn derive(&self, user_id: i64, version: u32) -> String {
        let mut key = [0u8; 32];
        let info = format!("vigil/local-copy/v{version}/user/{user_id}");
        // 32 bytes is far below HKDF-SHA256's limit of 8160: this cannot fail.
        let _ = self.hkdf.expand(info.as_bytes(), &mut key);
        STANDARD_NO_PAD.encode(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_user_gets_the_same_key_and_others_never_it() {
        let keys = LocalKeys::new(&JwtSecret::generate());
        assert_eq!(keys.for_user(1, 1), keys.for_user(1, 1));
        // Remembered or derived afresh, the same key.
        assert_eq!(keys.for_user(1, 1).key, keys.derive(1, 1));
        assert_ne!(keys.for_user(1, 1).key, keys.for_user(2, 1).key);
        let decoded = STANDARD_NO_PAD
            .decode(keys.for_user(1, 1).key)
            .unwrap_or_default();
        assert_eq!(decoded.len(), 32);
        // Another server secret, another key.
        let other = LocalKeys::new(&JwtSecret::generate());
        assert_ne!(keys.for_user(1, 1).key, other.for_user(1, 1).key);
        assert!(!format!("{keys:?}").contains(&keys.for_user(1, 1).key));
    }

    #[test]
    fn a_new_version_is_a_new_key_and_carries_the_one_before() {
        let keys = LocalKeys::new(&JwtSecret::generate());
        let first = keys.for_user(1, 1);
        assert_eq!(first.retired, None);
        let second = keys.for_user(1, 2);
        assert_ne!(second.key, first.key);
        let retired = second.retired.expect("the version before");
        assert_eq!((retired.version, retired.key), (1, first.key));
        assert!(!format!("{:?}", keys.for_user(1, 2)).contains(&second.key));
    }
}
