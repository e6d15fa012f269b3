//! Passkeys (SPEC §9.2): registering them on an account, and the ceremony that signs in
//! with one. What a sign-in then does (the limits, the session, the audit) is the HTTP
//! edge's, exactly as for a password.
//!
//! webauthn-rs checks every answer (the challenge, the origin and relying party, the
//! signature, user verification, the sign counter); this module keeps what lies between the
//! two requests of a ceremony ([`Ceremonies`]) and the credentials ([`Credentials`]).
//! Sign-in is usernameless: the options name no user, and the authenticator's answer names
//! its credential and the user handle stored beside it, which must agree with ours.

mod ceremonies;
mod credentials;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use time::OffsetDateTime;
use vigil::passkeys::{PasskeyChallenge, PasskeyView};
use vigil::UserSummary;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

pub use ceremonies::{Ceremonies, CeremonyKind, LIFETIME};
pub use credentials::{credential_id, is_credential_id, Credentials, StoredPasskey};

use crate::configuration::PublicUrl;
use crate::session::store::StoreError;

#[derive(Debug, Error)]
pub enum PasskeyError {
    /// The ceremony is unknown, was already answered, or is older than [`LIFETIME`].
    #[error("the passkey ceremony is unknown, finished or expired")]
    CeremonyExpired,
    /// The answer is not WebAuthn's JSON of the expected kind.
    #[error("the passkey's answer is not a WebAuthn credential: {0}")]
    Malformed(String),
    /// A sign-in the answer does not prove: unknown passkey, another user's, or a check of
    /// webauthn-rs failed.
    #[error("the passkey was refused: {0}")]
    Rejected(String),
    /// A registration whose answer does not verify.
    #[error("the new passkey could not be verified: {0}")]
    Unverified(String),
    /// The credential is already registered, to this account or another.
    #[error("the passkey is already registered")]
    Exists,
    /// The account holds as many passkeys as it may.
    #[error("the account holds {0} passkeys already")]
    TooMany(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// webauthn-rs could not make options (a fault of ours, not the client's).
    #[error("passkey options could not be made: {0}")]
    Options(String),
}

#[derive(Debug, Error)]
#[error("passkeys cannot be offered for VIGIL_PUBLIC_URL: {0}")]
pub struct PasskeySetupError(#[source] WebauthnError);

/// What a registration keeps between its two requests: the challenge's state and the user
/// handle the authenticator was given.
#[derive(Serialize, Deserialize)]
struct RegistrationState {
    handle: Uuid,
    state: PasskeyRegistration,
}

/// The passkey service: the relying party, its ceremonies and the stored credentials.
#[derive(Clone)]
pub struct Passkeys {
    webauthn: Arc<Webauthn>,
    ceremonies: Ceremonies,
    credentials: Credentials,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("ceremonies", &self.ceremonies)
            .finish_non_exhaustive()
    }
}

fn state_text(state: &impl Serialize) -> Result<String, PasskeyError> {
    serde_json::to_string(state).map_err(|e| PasskeyError::Options(e.to_string()))
}

/// A stored state that no longer reads is a ceremony that cannot be finished.
fn read_state<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, PasskeyError> {
    serde_json::from_str(text).map_err(|e| {
        tracing::error!(error = %e, "a stored passkey ceremony could not be read");
        PasskeyError::CeremonyExpired
    })
}

impl Passkeys {
    /// Passkeys bound to `public_url`'s origin, ceremonies kept in `ceremonies`.
    pub fn new(
        public_url: &PublicUrl,
        ceremonies: Ceremonies,
        credentials: Credentials,
    ) -> Result<Self, PasskeySetupError> {
        let webauthn = WebauthnBuilder::new(public_url.host(), public_url.url())
            .and_then(|builder| {
                builder
                    .rp_name("Vigil")
                    .timeout(LIFETIME.unsigned_abs())
                    .build()
            })
            .map_err(PasskeySetupError)?;
        Ok(Self {
            webauthn: Arc::new(webauthn),
            ceremonies,
            credentials,
        })
    }

    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    pub fn ceremonies(&self) -> &Ceremonies {
        &self.ceremonies
    }

    /// Options for adding a passkey to `user`'s account. The passkey must be discoverable
    /// (sign-in names no user), and none the user holds is registered twice.
    pub async fn registration_options(
        &self,
        user: &UserSummary,
        now: OffsetDateTime,
    ) -> Result<PasskeyChallenge, PasskeyError> {
        let handle = self.credentials.handle_of(user.id).await?;
        let held = self.credentials.ids_of(user.id).await?;
        if held.len() >= vigil::passkeys::MAX_PASSKEYS {
            return Err(PasskeyError::TooMany(held.len()));
        }
        let (options, state) = self
            .webauthn
            .start_passkey_registration(handle, &user.username, &user.display_name, Some(held))
            .map_err(|e| PasskeyError::Options(e.to_string()))?;
        let mut options =
            serde_json::to_value(options).map_err(|e| PasskeyError::Options(e.to_string()))?;
        // webauthn-rs asks only for what every authenticator can do; a passkey here signs in
        // without a username, so it has to be a resident (discoverable) credential.
        if let Some(selection) = options["publicKey"]["authenticatorSelection"].as_object_mut() {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let state = state_text(&RegistrationState { handle, state })?;
        let ceremony = self
            .ceremonies
            .put(CeremonyKind::Registration { user_id: user.id }, &state, now)
            .await?;
        Ok(PasskeyChallenge { ceremony, options })
    }

    /// Finishes adding a passkey named `name` to `user`'s account.
    pub async fn register(
        &self,
        user: &UserSummary,
        ceremony: &str,
        name: &str,
        credential: serde_json::Value,
        now: OffsetDateTime,
    ) -> Result<PasskeyView, PasskeyError> {
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential)
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let kind = CeremonyKind::Registration { user_id: user.id };
        let stored = self.ceremonies.take(ceremony, kind, now).await?;
        let RegistrationState { handle, state } =
            read_state(&stored.ok_or(PasskeyError::CeremonyExpired)?)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|e| PasskeyError::Unverified(e.to_string()))?;
        self.credentials
            .insert(user.id, handle, name.trim(), &passkey, now)
            .await?
            .ok_or(PasskeyError::Exists)
    }

    /// Options for signing in with any passkey of this site.
    pub async fn sign_in_options(
        &self,
        now: OffsetDateTime,
    ) -> Result<PasskeyChallenge, PasskeyError> {
        let (options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| PasskeyError::Options(e.to_string()))?;
        let mut options =
            serde_json::to_value(options).map_err(|e| PasskeyError::Options(e.to_string()))?;
        // The browser chooses how to ask (a button, or the autofill suggestion).
        if let Some(options) = options.as_object_mut() {
            options.remove("mediation");
        }
        let ceremony = self
            .ceremonies
            .put(CeremonyKind::SignIn, &state_text(&state)?, now)
            .await?;
        Ok(PasskeyChallenge { ceremony, options })
    }

    /// Reads a sign-in's answer.
    pub fn assertion(credential: serde_json::Value) -> Result<PublicKeyCredential, PasskeyError> {
        serde_json::from_value(credential).map_err(|e| PasskeyError::Malformed(e.to_string()))
    }

    /// The registered passkey an answer names, if its user handle agrees with ours. Nothing
    /// is verified yet: this says whose sign-in limits the attempt counts against.
    pub async fn identify(
        &self,
        credential: &PublicKeyCredential,
    ) -> Result<Option<StoredPasskey>, PasskeyError> {
        let handle = credential
            .get_user_unique_id()
            .and_then(|bytes| Uuid::from_slice(bytes).ok());
        let stored = self
            .credentials
            .find(credential.get_credential_id())
            .await?;
        Ok(stored.filter(|stored| Some(stored.user_handle) == handle))
    }

    /// Finishes a sign-in ceremony with the passkey `identify` found (`None`: refused, the
    /// ceremony spent all the same). On success the passkey's use is recorded.
    pub async fn verify(
        &self,
        ceremony: &str,
        credential: &PublicKeyCredential,
        passkey: Option<StoredPasskey>,
        now: OffsetDateTime,
    ) -> Result<StoredPasskey, PasskeyError> {
        let stored = self
            .ceremonies
            .take(ceremony, CeremonyKind::SignIn, now)
            .await?;
        let state: DiscoverableAuthentication =
            read_state(&stored.ok_or(PasskeyError::CeremonyExpired)?)?;
        let mut passkey = passkey
            .ok_or_else(|| PasskeyError::Rejected("no such passkey of the expected user".into()))?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(credential, state, &passkey.passkey)
            .map_err(|e| PasskeyError::Rejected(e.to_string()))?;
        passkey.passkey.update_credential(&result);
        if !self.credentials.used(&passkey, now).await? {
            return Err(PasskeyError::Rejected(
                "another answer of this passkey was recorded at the same moment".into(),
            ));
        }
        Ok(passkey)
    }
}
