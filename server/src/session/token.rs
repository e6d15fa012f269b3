//! Access tokens: HS256 JWTs with the algorithm pinned and every registered claim required.
//!
//! Time claims are checked here against the injected clock rather than by the JWT library,
//! so the expiry rules are testable and a token that merely ran out (`token_expired`) is told
//! apart from one that is not genuine (`session_invalid`).
//!
//! Tokens are signed by `jsonwebtoken` and checked here: every request presents one, and a
//! service that only accepts HS256 can check them in a fraction of the library's time (the
//! header this service writes is recognised without parsing it; the key schedule of the MAC
//! is done once; the claims are parsed once).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use sha2::Sha256;
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use vigil::claims::{Claims, ACCESS_TOKEN_TYPE};

use crate::session::secret::JwtSecret;
use crate::session::SessionId;

/// Clock tolerance for `nbf` and `exp`.
pub const LEEWAY: Duration = Duration::seconds(5);

/// Far above any token this service issues; longer input is refused before decoding.
const MAX_TOKEN_LEN: usize = 2048;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, wrongly signed, wrong algorithm, type, issuer or audience. Deliberately
    /// carries no detail.
    #[error("the token is not valid")]
    Invalid,
    /// Genuine, but past its own `exp`.
    #[error("the token has expired")]
    Expired(Box<Claims>),
    #[error("the token could not be signed")]
    Signing,
    #[error("the signing key is not usable: {0}")]
    Key(String),
}

#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
    pub expires_at: OffsetDateTime,
}

/// What a token is issued for.
#[derive(Debug, Clone)]
pub struct TokenSubject<'a> {
    pub user_id: i64,
    pub session_id: &'a SessionId,
    pub generation: u64,
    pub fingerprint_hash: Option<&'a str>,
}

#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    /// Keyed once; each check works on a copy.
    mac: Hmac<Sha256>,
    /// The first part of every token this service issues (HS256, JWT), base64url.
    header: String,
    issuer: String,
    audience: String,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    pub fn new(secret: &JwtSecret, issuer: &str, audience: &str) -> Result<Self, TokenError> {
        let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .map_err(|err| TokenError::Key(err.to_string()))?;
        let header = serde_json::to_vec(&Header::new(Algorithm::HS256))
            .map_err(|err| TokenError::Key(err.to_string()))?;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            mac,
            header: URL_SAFE_NO_PAD.encode(header),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    pub fn issue(
        &self,
        subject: &TokenSubject<'_>,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<IssuedToken, TokenError> {
        let expires_at = now + lifetime;
        let claims = Claims {
            sub: subject.user_id.to_string(),
            sid: subject.session_id.as_str().to_owned(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            gen: subject.generation,
            iat: now.unix_timestamp(),
            nbf: now.unix_timestamp(),
            exp: expires_at.unix_timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            typ: ACCESS_TOKEN_TYPE.to_owned(),
            fph: subject.fingerprint_hash.map(str::to_owned),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Signing)?;
        Ok(IssuedToken {
            token,
            claims,
            expires_at,
        })
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        let claims = self.signed_claims(token).ok_or(TokenError::Invalid)?;
        if claims.typ != ACCESS_TOKEN_TYPE
            || claims.iss != self.issuer
            || claims.aud != self.audience
        {
            return Err(TokenError::Invalid);
        }
        let now = now.unix_timestamp();
        if claims.nbf > now + LEEWAY.whole_seconds() || claims.iat > now + LEEWAY.whole_seconds() {
            return Err(TokenError::Invalid);
        }
        if now >= claims.exp.saturating_add(LEEWAY.whole_seconds()) {
            return Err(TokenError::Expired(Box::new(claims)));
        }
        Ok(claims)
    }

    /// The claims of a token this service signed, whatever they say; `None` for anything
    /// else. The header must name HS256 and nothing else, so no other algorithm (`none`, a
    /// public key) is ever considered; the signature is compared in constant time before the
    /// claims are read; every claim but `fph` is required.
    fn signed_claims(&self, token: &str) -> Option<Claims> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        let (signed, signature) = token.rsplit_once('.')?;
        let (header, payload) = signed.split_once('.')?;
        // Every token this service issued has exactly this header: no need to read it.
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

    /// Signs and verifies a throwaway token, so a broken key or crypto backend stops the
    /// server at start-up rather than at the first sign-in.
    pub fn self_test(&self, now: OffsetDateTime) -> Result<(), TokenError> {
        let sid = SessionId::generate();
        let subject = TokenSubject {
            user_id: 0,
            session_id: &sid,
            generation: 0,
            fingerprint_hash: None,
        };
        let issued = self.issue(&subject, now, Duration::minutes(1))?;
        let claims = self.verify(&issued.token, now)?;
        if claims.sid == sid.as_str() {
            Ok(())
        } else {
            Err(TokenError::Invalid)
        }
    }
}

/// The header of an HS256 JWT written by someone else (another library version, the keys
/// in another order): `alg` HS256, `typ` JWT or absent, and no other field.
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
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-04-01 10:00 UTC);

    fn service() -> TokenService {
        let secret = JwtSecret::new(vec![7u8; 32]).expect("32 bytes");
        TokenService::new(&secret, "vigil", "vigil").expect("a usable key")
    }

    fn issue(service: &TokenService) -> IssuedToken {
        let sid = SessionId::generate();
        service
            .issue(
                &TokenSubject {
                    user_id: 42,
                    session_id: &sid,
                    generation: 3,
                    fingerprint_hash: None,
                },
                NOW,
                Duration::minutes(30),
            )
            .expect("signs")
    }

    #[test]
    fn verifies_its_own_tokens() {
        let service = service();
        let issued = issue(&service);
        let claims = service.verify(&issued.token, NOW).expect("valid");
        assert_eq!(claims.sub, "42");
        assert_eq!(claims.gen, 3);
        assert!(service.self_test(NOW).is_ok());
    }

    #[test]
    fn expired_tokens_are_told_apart_from_invalid_ones() {
        let service = service();
        let issued = issue(&service);
        let later = NOW + Duration::minutes(31);
        assert!(matches!(
            service.verify(&issued.token, later),
            Err(TokenError::Expired(_))
        ));
        let mut tampered = issued.token.clone();
        tampered.push('x');
        assert_eq!(service.verify(&tampered, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn refuses_tokens_signed_with_another_key_or_for_another_audience() {
        let other = TokenService::new(
            &JwtSecret::new(vec![9u8; 32]).expect("32"),
            "vigil",
            "vigil",
        )
        .expect("a usable key");
        let issued = issue(&other);
        assert_eq!(
            service().verify(&issued.token, NOW),
            Err(TokenError::Invalid)
        );
        let foreign = TokenService::new(
            &JwtSecret::new(vec![7u8; 32]).expect("32"),
            "vigil",
            "elsewhere",
        )
        .expect("a usable key");
        let issued = issue(&foreign);
        assert_eq!(
            service().verify(&issued.token, NOW),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn refuses_tokens_from_the_future() {
        let service = service();
        let issued = issue(&service);
        assert_eq!(
            service.verify(&issued.token, NOW - Duration::minutes(5)),
            Err(TokenError::Invalid)
        );
    }

    /// Re-signs `claims` under `header` with the test key, as an attacker who knew it would.
    fn forge(header: &str, claims: &serde_json::Value, key: &[u8]) -> String {
        let signed = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
        mac.update(signed.as_bytes());
        format!(
            "{signed}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn claims_of(issued: &IssuedToken) -> serde_json::Value {
        serde_json::to_value(&issued.claims).expect("claims serialize")
    }

    #[test]
    fn only_an_hs256_header_is_accepted() {
        let service = service();
        let claims = claims_of(&issue(&service));
        let key = [7u8; 32];
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
            let token = forge(header, &claims, &key);
            assert_eq!(
                service.verify(&token, NOW),
                Err(TokenError::Invalid),
                "{header}"
            );
        }
        let ours = serde_json::to_string(&Header::new(Algorithm::HS256)).expect("header");
        for header in [
            ours.as_str(),
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"alg":"HS256"}"#,
        ] {
            assert!(
                service.verify(&forge(header, &claims, &key), NOW).is_ok(),
                "{header}"
            );
        }
    }

    #[test]
    fn every_claim_but_the_fingerprint_is_required_and_checked() {
        let service = service();
        let claims = claims_of(&issue(&service));
        let header = serde_json::to_string(&Header::new(Algorithm::HS256)).expect("header");
        let key = [7u8; 32];
        for name in [
            "sub", "sid", "jti", "gen", "iat", "nbf", "exp", "iss", "aud", "typ",
        ] {
            let mut missing = claims.clone();
            missing.as_object_mut().expect("object").remove(name);
            let token = forge(&header, &missing, &key);
            assert_eq!(
                service.verify(&token, NOW),
                Err(TokenError::Invalid),
                "{name}"
            );
        }
        for (name, value) in [("typ", "refresh"), ("iss", "other"), ("aud", "other")] {
            let mut changed = claims.clone();
            changed[name] = serde_json::json!(value);
            let token = forge(&header, &changed, &key);
            assert_eq!(
                service.verify(&token, NOW),
                Err(TokenError::Invalid),
                "{name}"
            );
        }
        let mut listed = claims.clone();
        listed["aud"] = serde_json::json!(["vigil"]);
        let token = forge(&header, &listed, &key);
        assert_eq!(service.verify(&token, NOW), Err(TokenError::Invalid));
    }

    #[test]
    fn malformed_input_is_invalid_never_a_panic() {
        let service = service();
        let issued = issue(&service).token;
        let (signed, signature) = issued.rsplit_once('.').expect("three parts");
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
                service.verify(&token, NOW),
                Err(TokenError::Invalid),
                "{token}"
            );
        }
    }
}
