//! AES-256-GCM through WebCrypto for the local copy, under the per-user key the server
//! hands over in authenticated answers. The key is imported as non-extractable and kept in
//! this page's memory only; storage only ever sees ciphertext.

use js_sys::{Array, Object, Uint8Array};
use vigil::session_info::LocalKey;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AesGcmParams, CryptoKey, SubtleCrypto};

/// A nonce per encryption: 96 random bits, as AES-GCM wants.
const NONCE_BYTES: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("this browser offers no encryption here (WebCrypto needs a secure page)")]
    Unavailable,
    #[error("the key could not be used")]
    BadKey,
    #[error("the data could not be encrypted")]
    Encrypt,
    #[error("the data could not be decrypted (another key, or altered)")]
    Decrypt,
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.subtle())
        .ok_or(CryptoError::Unavailable)
}

/// A key ready for use, with the version stored beside what it encrypts.
#[derive(Debug, Clone)]
pub struct Key {
    pub version: u32,
    key: CryptoKey,
}

/// Imports the server's key for this page's memory.
pub async fn import(local: &LocalKey) -> Result<Key, CryptoError> {
    import_raw(local.version, &local.key).await
}

/// Imports the key before the current one, only to read what was written under it.
pub async fn import_retired(local: &LocalKey) -> Option<Key> {
    let retired = local.retired.as_ref()?;
    import_raw(retired.version, &retired.key).await.ok()
}

async fn import_raw(version: u32, encoded: &str) -> Result<Key, CryptoError> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(encoded)
        .map_err(|_| CryptoError::BadKey)?;
    let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
    let promise = subtle()?
        .import_key_with_str(
            "raw",
            &Uint8Array::from(raw.as_slice()),
            "AES-GCM",
            false,
            &usages,
        )
        .map_err(|_| CryptoError::BadKey)?;
    let key = JsFuture::from(promise)
        .await
        .map_err(|_| CryptoError::BadKey)?
        .dyn_into::<CryptoKey>()
        .map_err(|_| CryptoError::BadKey)?;
    Ok(Key { version, key })
}

fn params(nonce: &[u8], bound_to: &str) -> AesGcmParams {
    let params = AesGcmParams::new("AES-GCM", &Uint8Array::from(nonce));
    // The ciphertext only decrypts under the storage key it was written to, so entries
    // cannot be swapped between drafts or users.
    params.set_additional_data(&Uint8Array::from(bound_to.as_bytes()));
    params
}

fn random_nonce() -> Result<[u8; NONCE_BYTES], CryptoError> {
    let mut nonce = [0u8; NONCE_BYTES];
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .ok_or(CryptoError::Unavailable)?
        .get_random_values_with_u8_array(&mut nonce)
        .map_err(|_| CryptoError::Unavailable)?;
    Ok(nonce)
}

async fn bytes(promise: js_sys::Promise, error: CryptoError) -> Result<Vec<u8>, CryptoError> {
    let buffer = JsFuture::from(promise).await.map_err(|_| error.clone())?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Encrypts `plain` for the storage key `bound_to`: the nonce and the ciphertext.
pub async fn seal(
    key: &Key,
    plain: &[u8],
    bound_to: &str,
) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let nonce = random_nonce()?;
    let params: Object = params(&nonce, bound_to).into();
    let promise = subtle()?
        .encrypt_with_object_and_u8_array(&params, &key.key, plain)
        .map_err(|_| CryptoError::Encrypt)?;
    Ok((nonce.to_vec(), bytes(promise, CryptoError::Encrypt).await?))
}

/// Decrypts what [`seal`] made for `bound_to`.
pub async fn open(
    key: &Key,
    nonce: &[u8],
    sealed: &[u8],
    bound_to: &str,
) -> Result<Vec<u8>, CryptoError> {
    let params: Object = params(nonce, bound_to).into();
    let promise = subtle()?
        .decrypt_with_object_and_u8_array(&params, &key.key, sealed)
        .map_err(|_| CryptoError::Decrypt)?;
    bytes(promise, CryptoError::Decrypt).await
}

/// A fresh random UUID (a new draft's id).
pub fn random_uuid() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| {
            // Not a secure page: Math.random is enough for an id (never for a key).
            let hex: String = (0..32)
                .map(|_| format!("{:x}", (js_sys::Math::random() * 16.0) as u8))
                .collect();
            format!(
                "{}-{}-4{}-a{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[13..16],
                &hex[17..20],
                &hex[20..32]
            )
        })
}
