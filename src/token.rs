//! The access token: where a request carries it, and (with the `token` feature) how it is
//! checked.
//!
//! It lives in the core because every client can send anything here: the parsers are pure
//! functions the fuzz targets call directly, without the server around them. Only the server
//! (and the fuzz targets) enable `token`; the browser never sees a token and never pays for
//! the MAC.

/// The browser's session cookie: `__Host-` prefixed, Secure, HttpOnly, SameSite=Strict.
pub const SESSION_COOKIE: &str = "__Host-vigil-session";

/// The non-empty session token in one `Cookie` header value, if there is one.
pub fn find_session_cookie(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The token of an `Authorization: Bearer <token>` header value (scheme in any case);
/// `None` for any other scheme, or a bearer header without a token.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(feature = "token")]
pub use verify::{Rejected, TokenVerifier, HEADER_JSON, LEEWAY_SECS, MAX_TOKEN_LEN};

#[cfg(feature = "token")]
mod verify {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use hmac::digest::InvalidLength;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    use crate::claims::{Claims, ACCESS_TOKEN_TYPE};

    /// Clock tolerance for `nbf`, `iat` and `exp`, in seconds.
    pub const LEEWAY_SECS: i64 = 5;

    /// Far above any token this service issues; longer input is refused before decoding.
    pub const MAX_TOKEN_LEN: usize = 2048;

    /// The JOSE header of every token the server issues, byte for byte as its signer
    /// (`jsonwebtoken`) writes it, so the check can recognise it without parsing.
    pub const HEADER_JSON: &str = r#"{"typ":"JWT","alg":"HS256"}"#;

    /// Why a token was refused.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Rejected {
        /// Malformed, wrongly signed, wrong algorithm, type, issuer or audience, or from the
        /// future. Deliberately carries no detail.
        Invalid,
        /// Genuine, but past its own `exp`: its claims say which session to look at.
        Expired(Box<Claims>),
    }

    /// Checks HS256 access tokens under one key, issuer and audience.
    #[derive(Clone)]
    pub struct TokenVerifier {
        /// Keyed once; each check works on a copy.
        mac: Hmac<Sha256>,
        /// [`HEADER_JSON`], base64url: the first part of every token the server issues.
        header: String,
        issuer: String,
        audience: String,
    }

    impl std::fmt::Debug for TokenVerifier {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TokenVerifier")
                .field("issuer", &self.issuer)
                .field("audience", &self.audience)
                .finish_non_exhaustive()
        }
    }

    impl TokenVerifier {
        /// A verifier with `secret` as its HMAC-SHA256 key, accepting only tokens for `issuer`
        /// and `audience`.
        pub fn new(secret: &[u8], issuer: &str, audience: &str) -> Result<Self, InvalidLength> {
            Ok(Self {
                mac: Hmac::<Sha256>::new_from_slice(secret)?,
                header: URL_SAFE_NO_PAD.encode(HEADER_JSON),
                issuer: issuer.to_owned(),
                audience: audience.to_owned(),
            })
        }

        /// The claims of a genuine, current token at `now` (Unix seconds).
        pub fn verify(&self, token: &str, now: i64) -> Result<Claims, Rejected> {
            let claims = self.signed_claims(token).ok_or(Rejected::Invalid)?;
            self.admits(&claims, now)?;
            Ok(claims)
        }

        /// Whether the claims of a genuine token (one [`verify`](Self::verify) accepted
        /// before) admit it at `now`: meant for this service, and inside its time window.
        pub fn admits(&self, claims: &Claims, now: i64) -> Result<(), Rejected> {
            if claims.typ != ACCESS_TOKEN_TYPE
                || claims.iss != self.issuer
                || claims.aud != self.audience
            {
                return Err(Rejected::Invalid);
            }
            let latest = now.saturating_add(LEEWAY_SECS);
            if claims.nbf > latest || claims.iat > latest {
                return Err(Rejected::Invalid);
            }
            if now >= claims.exp.saturating_add(LEEWAY_SECS) {
                return Err(Rejected::Expired(Box::new(claims.clone())));
            }
            Ok(())
        }

        /// The claims of a token signed under this key, whatever they say; `None` for
        /// anything else. The header must name HS256 and nothing else, so no other
        /// algorithm (`none`, a public key) is ever considered; the signature is compared in
        /// constant time before the claims are read; every claim but `fph` is required.
        fn signed_claims(&self, token: &str) -> Option<Claims> {
            if token.len() > MAX_TOKEN_LEN {
                return None;
            }
            let (signed, signature) = token.rsplit_once('.')?;
            let (header, payload) = signed.split_once('.')?;
            // Every token the server issued has exactly this header: no need to read it.
            if header != self.header && !is_hs256_header(header) {
                return None;
            }
            let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
            let mut mac = self.mac.clone();
            mac.update(signed.as_bytes());
            mac.verify_slice(&signature).ok()?;
            let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
            serde_json::from_slice(&payload).ok()
        }
    }

    /// The header of an HS256 JWT written by someone else (another library version, the
    /// keys in another order): `alg` HS256, `typ` JWT or absent, and no other field.
    fn is_hs256_header(encoded: &str) -> bool {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct JoseHeader {
            alg: String,
            typ: Option<String>,
        }
        URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()
            .and_then(|json| serde_json::from_slice::<JoseHeader>(&json).ok())
            .is_some_and(|h| h.alg == "HS256" && h.typ.as_deref().is_none_or(|t| t == "JWT"))
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::{json, Value};

        const NOW: i64 = 1_775_037_600;
        const KEY: [u8; 32] = [7; 32];

        fn verifier() -> TokenVerifier {
            TokenVerifier::new(&KEY, "vigil", "vigil").unwrap_or_else(|_| unreachable!())
        }

        fn claims() -> Value {
            json!({
                "sub": "42", "sid": "s", "jti": "j", "gen": 3,
                "iat": NOW, "nbf": NOW, "exp": NOW + 1800,
                "iss": "vigil", "aud": "vigil", "typ": "access",
            })
        }

        /// Signs `claims` under `header` with `key`, as the server (or an attacker who knew
        /// the key) would.
        fn sign(header: &str, claims: &Value, key: &[u8]) -> String {
            let signed = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
            mac.update(signed.as_bytes());
            format!(
                "{signed}.{}",
                URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
            )
        }

        fn token() -> String {
            sign(HEADER_JSON, &claims(), &KEY)
        }

        #[test]
        fn a_genuine_token_is_read_and_an_expired_one_told_apart() {
            let claims = verifier().verify(&token(), NOW).expect("valid");
            assert_eq!((claims.sub.as_str(), claims.gen), ("42", 3));
            let later = NOW + 1800 + LEEWAY_SECS;
            assert!(matches!(
                verifier().verify(&token(), later),
                Err(Rejected::Expired(c)) if c.sid == "s"
            ));
            // Within the leeway it is still current.
            assert!(verifier().verify(&token(), later - 1).is_ok());
        }

        #[test]
        fn another_key_issuer_or_audience_and_the_future_are_refused() {
            let other_key = sign(HEADER_JSON, &claims(), &[9; 32]);
            assert_eq!(verifier().verify(&other_key, NOW), Err(Rejected::Invalid));
            for (issuer, audience) in [("vigil", "elsewhere"), ("elsewhere", "vigil")] {
                let verifier =
                    TokenVerifier::new(&KEY, issuer, audience).unwrap_or_else(|_| unreachable!());
                assert_eq!(verifier.verify(&token(), NOW), Err(Rejected::Invalid));
            }
            let early = NOW - LEEWAY_SECS - 1;
            assert_eq!(verifier().verify(&token(), early), Err(Rejected::Invalid));
        }

        #[test]
        fn only_an_hs256_header_is_accepted() {
            // The same claims, correctly MACed, under any other header: refused unread.
            for header in [
                r#"{"alg":"none","typ":"JWT"}"#,
                r#"{"alg":"HS512","typ":"JWT"}"#,
                r#"{"alg":"RS256","typ":"JWT"}"#,
                r#"{"alg":"hs256","typ":"JWT"}"#,
                r#"{"alg":"HS256","typ":"JWE"}"#,
                r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#,
                r#"{"alg":"HS256","alg":"none","typ":"JWT"}"#,
                r#"{"typ":"JWT"}"#,
                "not json",
            ] {
                let token = sign(header, &claims(), &KEY);
                assert_eq!(
                    verifier().verify(&token, NOW),
                    Err(Rejected::Invalid),
                    "{header}"
                );
            }
            for header in [
                HEADER_JSON,
                r#"{"alg":"HS256","typ":"JWT"}"#,
                r#"{"alg":"HS256"}"#,
            ] {
                let token = sign(header, &claims(), &KEY);
                assert!(verifier().verify(&token, NOW).is_ok(), "{header}");
            }
        }

        #[test]
        fn every_claim_but_the_fingerprint_is_required_and_checked() {
            for name in [
                "sub", "sid", "jti", "gen", "iat", "nbf", "exp", "iss", "aud", "typ",
            ] {
                let mut missing = claims();
                missing.as_object_mut().map(|c| c.remove(name));
                let token = sign(HEADER_JSON, &missing, &KEY);
                assert_eq!(
                    verifier().verify(&token, NOW),
                    Err(Rejected::Invalid),
                    "{name}"
                );
            }
            for (name, value) in [
                ("typ", json!("refresh")),
                ("iss", json!("other")),
                ("aud", json!("other")),
                ("aud", json!(["vigil"])),
                ("exp", json!(i64::MAX)),
            ] {
                let mut changed = claims();
                changed[name] = value.clone();
                let token = sign(HEADER_JSON, &changed, &KEY);
                let verdict = verifier().verify(&token, NOW);
                if name == "exp" {
                    // Saturating arithmetic: a far-future expiry is only far in the future.
                    assert!(verdict.is_ok(), "{name} {value}");
                } else {
                    assert_eq!(verdict, Err(Rejected::Invalid), "{name} {value}");
                }
            }
        }

        #[test]
        fn malformed_input_is_invalid_never_a_panic() {
            let issued = token();
            let (signed, signature) = issued.rsplit_once('.').unwrap_or_default();
            let cases = [
                String::new(),
                ".".into(),
                "..".into(),
                "a.b.c".into(),
                signed.to_owned(),
                format!("{signed}."),
                format!("{signed}.{signature}="),
                format!("{signed}.{}", &signature[1..]),
                format!("{signed}x.{signature}"),
                format!("{signed}.{signature}.{signature}"),
                format!("{issued}{}", "A".repeat(MAX_TOKEN_LEN)),
                issued.replace('.', ".."),
                "é.é.é".into(),
            ];
            for token in cases {
                assert_eq!(
                    verifier().verify(&token, NOW),
                    Err(Rejected::Invalid),
                    "{token}"
                );
            }
            // Extreme clocks saturate instead of overflowing.
            for now in [i64::MIN, i64::MAX] {
                let _ = verifier().verify(&issued, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        assert_eq!(
            find_session_cookie("a=1; __Host-vigil-session=tok ; b=2"),
            Some("tok")
        );
        assert_eq!(find_session_cookie("__Host-vigil-session="), None);
        assert_eq!(find_session_cookie("vigil-session=tok"), None);
        assert_eq!(find_session_cookie(""), None);
    }

    #[test]
    fn only_a_bearer_header_with_a_token_names_one() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("  bearer   abc  "), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        for refused in ["Basic abc", "Bearer", "Bearer   ", "", "Bearerabc"] {
            assert_eq!(bearer_token(refused), None, "{refused}");
        }
    }
}
