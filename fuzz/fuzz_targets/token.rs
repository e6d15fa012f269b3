//! The access-token check (`vigil::token::TokenVerifier`), on whatever a client sends as a
//! bearer token or cookie, and on tokens signed with the right key whose header and claims
//! are the fuzzer's (what only someone holding the key could send): never a panic, and never
//! a verdict the rules do not allow.
#![no_main]

use std::sync::LazyLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use vigil::claims::ACCESS_TOKEN_TYPE;
use vigil::token::{Rejected, TokenVerifier, LEEWAY_SECS};

const KEY: [u8; 32] = [0x5a; 32];
const NOW: i64 = 1_780_000_000;

static VERIFIER: LazyLock<Option<TokenVerifier>> =
    LazyLock::new(|| TokenVerifier::new(&KEY, "vigil", "vigil").ok());

fn sign(header: &[u8], payload: &[u8]) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&KEY) else {
        return signed;
    };
    mac.update(signed.as_bytes());
    format!(
        "{signed}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fuzz_target!(|data: &[u8]| {
    let Some(verifier) = VERIFIER.as_ref() else {
        return;
    };
    // As sent: without the key nothing verifies.
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(verifier.verify(text, NOW), Err(Rejected::Invalid));
    }
    // Signed: header, then claims, split at the first NUL byte.
    let (header, payload) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&br#"{"typ":"JWT","alg":"HS256"}"#[..], data),
    };
    match verifier.verify(&sign(header, payload), NOW) {
        Ok(claims) => {
            assert_eq!(claims.typ, ACCESS_TOKEN_TYPE);
            assert_eq!(
                (claims.iss.as_str(), claims.aud.as_str()),
                ("vigil", "vigil")
            );
            assert!(claims.nbf <= NOW + LEEWAY_SECS && claims.iat <= NOW + LEEWAY_SECS);
            assert!(NOW < claims.exp.saturating_add(LEEWAY_SECS));
        }
        Err(Rejected::Expired(claims)) => {
            assert!(NOW >= claims.exp.saturating_add(LEEWAY_SECS));
        }
        Err(Rejected::Invalid) => {}
    }
});
