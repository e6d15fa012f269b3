//! Access tokens: HS256 JWTs with the algorithm pinned and every registered claim required.
//!
//! Time claims are checked here against the injected clock rather than by the JWT library,
//! so the expiry rules are testable and a token that merely ran out (`token_expired`) is told
//! apart from one that is not genuine (`session_invalid`).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use thiserror::Error;
use time::{Duration, OffsetDateTime};
use vigil::claims::{Claims, ACCESS_TOKEN_TYPE};

use crate::session::secret::JwtSecret;
use crate::session::SessionId;

/// Clock tolerance for `nbf` and `exp`.
pub const LEEWAY: Duration = Duration::seconds(5);

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
    decoding: DecodingKey,
    validation: Validation,
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
    pub fn new(secret: &JwtSecret, issuer: &str, audience: &str) -> Self {
        // Only HS256: `Validation::new` accepts exactly the algorithm it is given.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
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
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        let claims = data.claims;
        if claims.typ != ACCESS_TOKEN_TYPE {
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
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-04-01 10:00 UTC);

    fn service() -> TokenService {
        let secret = JwtSecret::new(vec![7u8; 32]).expect("32 bytes");
        TokenService::new(&secret, "vigil", "vigil")
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
        );
        let issued = issue(&other);
        assert_eq!(
            service().verify(&issued.token, NOW),
            Err(TokenError::Invalid)
        );
        let foreign = TokenService::new(
            &JwtSecret::new(vec![7u8; 32]).expect("32"),
            "vigil",
            "elsewhere",
        );
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
}
