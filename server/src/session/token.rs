//! Access tokens: HS256 JWTs with the algorithm pinned and every registered claim required.
//!
//! Time claims are checked against the injected clock rather than by the JWT library, so
//! the expiry rules are testable and a token that merely ran out (`token_expired`) is told
//! apart from one that is not genuine (`session_invalid`).
//!
//! Tokens are signed by `jsonwebtoken` and checked by the core's [`TokenVerifier`]: every
//! request presents one, and a check that only accepts HS256 takes a fraction of the
//! library's time (the header this service writes is recognised without parsing it, the MAC
//! is keyed once, the claims are parsed once). The check is in the core so the fuzz targets
//! reach it without the server around it. A token presented again (every request of a
//! session presents the same one until it rotates) is recognised by its exact text and only
//! its time window is checked again.

use std::sync::{Arc, PoisonError, RwLock};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use vigil::claims::{Claims, ACCESS_TOKEN_TYPE};
use vigil::token::{Rejected, TokenVerifier};

use crate::session::JwtSecret;
use crate::session::SessionId;

/// Clock tolerance for `nbf` and `exp`.
pub const LEEWAY: Duration = Duration::seconds(vigil::token::LEEWAY_SECS);

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

impl From<Rejected> for TokenError {
    fn from(rejected: Rejected) -> Self {
        match rejected {
            Rejected::Invalid => Self::Invalid,
            Rejected::Expired(claims) => Self::Expired(claims),
        }
    }
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

pub struct TokenService {
    encoding: EncodingKey,
    verifier: TokenVerifier,
    verified: Verified,
    issuer: String,
    audience: String,
}

/// Above this many remembered tokens the memory starts over (tokens are short-lived).
const REMEMBERED_TOKENS: usize = 50_000;

/// Tokens whose signature this process checked, with their claims, by their exact text:
/// the MAC, two base64 decodings and the claims' JSON were most of an authenticated
/// request's extra time. Only tokens that verified are kept, so nobody can fill it with
/// text of their choosing; what a token admits at `now` is still checked on every request.
#[derive(Default)]
struct Verified {
    tokens: RwLock<foldhash::HashMap<Box<str>, Arc<Claims>>>,
}

impl Verified {
    fn get(&self, token: &str) -> Option<Arc<Claims>> {
        let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
        tokens.get(token).cloned()
    }

    fn remember(&self, token: &str, claims: &Arc<Claims>) {
        let mut tokens = self.tokens.write().unwrap_or_else(PoisonError::into_inner);
        if tokens.len() >= REMEMBERED_TOKENS {
            tokens.clear();
        }
        tokens.insert(token.into(), Arc::clone(claims));
    }
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
        let verifier = TokenVerifier::new(secret.as_bytes(), issuer, audience)
            .map_err(|err| TokenError::Key(err.to_string()))?;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            verifier,
            verified: Verified::default(),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// Signs an access token binding `subject`'s user, session, generation and fingerprint
    /// hash, with a fresh random `jti`, this service's issuer and audience, and type
    /// `access`. It is valid from `now` (`iat` = `nbf`) until `now + lifetime` (`exp`), in
    /// whole Unix seconds; the caller keeps `lifetime` within the session's absolute deadline.
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

    /// The claims of `token` if it is admitted at `now` (whole seconds): signed with HS256
    /// under this key, every claim but `fph` present, type `access`, this issuer and audience,
    /// `nbf` and `iat` no later than `now` + [`LEEWAY`], and `now` before `exp` + [`LEEWAY`].
    /// A genuine token past that is [`TokenError::Expired`], carrying its claims; anything
    /// else is [`TokenError::Invalid`]. A token verified before is recognised by its exact
    /// text and only its time window is checked again. Whether its session lives and its
    /// generation is current is for the session record to say.
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Arc<Claims>, TokenError> {
        let now = now.unix_timestamp();
        if let Some(claims) = self.verified.get(token) {
            self.verifier.admits(&claims, now)?;
            return Ok(claims);
        }
        let claims = Arc::new(self.verifier.verify(token, now)?);
        self.verified.remember(token, &claims);
        Ok(claims)
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
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

    #[test]
    fn a_token_checked_before_is_still_held_to_its_time_window() {
        let service = service();
        let issued = issue(&service);
        let first = service.verify(&issued.token, NOW).expect("valid");
        let again = service.verify(&issued.token, NOW).expect("valid");
        assert!(Arc::ptr_eq(&first, &again), "recognised, not checked again");
        assert!(matches!(
            service.verify(&issued.token, NOW + Duration::minutes(31)),
            Err(TokenError::Expired(_))
        ));
        assert_eq!(
            service.verify(&issued.token, NOW - Duration::minutes(5)),
            Err(TokenError::Invalid)
        );
        // Only the exact text is recognised: anything else is checked in full.
        let (signed, _) = issued.token.rsplit_once('.').expect("three parts");
        let forged = format!("{signed}.{}", "A".repeat(43));
        assert_eq!(service.verify(&forged, NOW), Err(TokenError::Invalid));
    }

    /// The core recognises this service's header without parsing it: the signer must write
    /// exactly the bytes the core expects.
    #[test]
    fn issued_tokens_carry_the_header_the_check_expects() {
        let issued = issue(&service());
        let header = issued.token.split('.').next().unwrap_or_default();
        let expected =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vigil::token::HEADER_JSON);
        assert_eq!(header, expected);
    }
}
