//! Signing in with a passkey as the browser runs it (SPEC §9.2): events in, commands out,
//! like the rest of the browser machine. (Adding a passkey is an action of the account:
//! `account.rs`, with the step-up it needs.)
//!
//! The options are fetched only when the user acts, never ahead: a form or a timeout modal
//! left open overnight still works. They go to the authenticator (`navigator.credentials`),
//! and its answer is sent once, naming the ceremony of those options. One ceremony at a
//! time: every command and event carries its attempt number, and whatever arrives for an
//! attempt that is over (cancelled, or replaced by the next) is ignored, so a late answer can
//! never sign anyone in or register anything. A cancelled or failed ceremony says so and
//! leaves the password path as it was: the machine never touches the form's fields.

use crate::passkeys::{PasskeyChallenge, PasskeySignIn};
use crate::{ErrorCode, Problem};

/// Whose sign-in it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purpose {
    /// The user the page already names (the timeout modal, the step-up dialog), whose
    /// passkey alone may answer; `None` on the sign-in page.
    pub expected: Option<String>,
    /// "Remember me on this device", as the form says.
    pub remember: bool,
}

/// Why the authenticator gave no credential (the `DOMException` of `navigator.credentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthenticatorFailure {
    /// The user closed the prompt, or it timed out (`NotAllowedError`, `AbortError`).
    Cancelled,
    /// The device already holds one of the account's passkeys (`InvalidStateError`).
    AlreadyRegistered,
    /// This browser or page cannot use passkeys (no `PublicKeyCredential`, `SecurityError`,
    /// `NotSupportedError`).
    Unsupported,
    /// Anything else, as the browser named it.
    Failed(String),
}

/// What happened, for [`PasskeyCeremony::handle`].
#[derive(Debug, Clone, PartialEq)]
pub enum CeremonyEvent {
    /// The user chose the passkey button.
    Start(Purpose),
    /// The user went another way (the dialog closed, the password was used).
    Cancel,
    /// The server answered the options request of `attempt`.
    Options {
        /// The attempt it answers.
        attempt: u32,
        /// The options, or why there are none.
        answer: Result<PasskeyChallenge, Problem>,
    },
    /// The authenticator answered `attempt`: the credential's JSON, or why there is none.
    Authenticator {
        /// The attempt it answers.
        attempt: u32,
        /// `PublicKeyCredential.toJSON()`, or the failure.
        answer: Result<serde_json::Value, AuthenticatorFailure>,
    },
    /// The server answered the credential of `attempt` (the wasm side keeps what a success
    /// carries: the session, or the new passkey).
    Finished {
        /// The attempt it answers.
        attempt: u32,
        /// Whether it was accepted.
        answer: Result<(), Problem>,
    },
}

/// What the wasm side carries out; each answers with the event of the same attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum CeremonyCommand {
    /// `POST /api/auth/passkey/options`.
    FetchOptions {
        /// Names the answer.
        attempt: u32,
    },
    /// Hand `options` to `navigator.credentials.get`.
    AskAuthenticator {
        /// Names the answer.
        attempt: u32,
        /// WebAuthn's options, as the server gave them.
        options: serde_json::Value,
    },
    /// `POST /api/auth/passkey` with this body.
    SignIn {
        /// Names the answer.
        attempt: u32,
        /// The answer to the server's challenge.
        body: PasskeySignIn,
    },
}

/// Where the ceremony is, for the page to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CeremonyState {
    /// Nothing under way; the passkey button is enabled.
    Idle,
    /// Under way; the button says so and is disabled (the password path stays usable).
    Busy,
    /// Over, refused or cancelled: the sentence to show beside the button.
    Failed(String),
    /// Accepted.
    Succeeded,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Idle,
    Options,
    Authenticator { ceremony: String },
    Verifying,
    Failed(String),
    Succeeded,
}

/// One passkey button's ceremonies.
#[derive(Debug, Clone)]
pub struct PasskeyCeremony {
    attempt: u32,
    purpose: Option<Purpose>,
    step: Step,
}

impl Default for PasskeyCeremony {
    fn default() -> Self {
        Self {
            attempt: 0,
            purpose: None,
            step: Step::Idle,
        }
    }
}

impl PasskeyCeremony {
    /// What the page shows.
    pub fn state(&self) -> CeremonyState {
        match &self.step {
            Step::Idle => CeremonyState::Idle,
            Step::Options | Step::Authenticator { .. } | Step::Verifying => CeremonyState::Busy,
            Step::Failed(text) => CeremonyState::Failed(text.clone()),
            Step::Succeeded => CeremonyState::Succeeded,
        }
    }

    /// The current attempt's number (what its commands carry).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    fn fail(&mut self, text: String) -> Vec<CeremonyCommand> {
        self.step = Step::Failed(text);
        Vec::new()
    }

    /// One event; the commands to carry out.
    pub fn handle(&mut self, event: CeremonyEvent) -> Vec<CeremonyCommand> {
        match event {
            CeremonyEvent::Start(purpose) => {
                if self.state() == CeremonyState::Busy {
                    return Vec::new();
                }
                self.attempt = self.attempt.wrapping_add(1);
                self.purpose = Some(purpose);
                self.step = Step::Options;
                vec![CeremonyCommand::FetchOptions {
                    attempt: self.attempt,
                }]
            }
            CeremonyEvent::Cancel => {
                if self.state() == CeremonyState::Busy {
                    // Whatever the attempt still brings is ignored from now on.
                    self.attempt = self.attempt.wrapping_add(1);
                }
                self.step = Step::Idle;
                Vec::new()
            }
            CeremonyEvent::Options { attempt, .. }
            | CeremonyEvent::Authenticator { attempt, .. }
            | CeremonyEvent::Finished { attempt, .. }
                if attempt != self.attempt =>
            {
                Vec::new()
            }
            CeremonyEvent::Options { answer, .. } => {
                if self.step != Step::Options {
                    return Vec::new();
                }
                match answer {
                    Ok(challenge) => {
                        self.step = Step::Authenticator {
                            ceremony: challenge.ceremony,
                        };
                        vec![CeremonyCommand::AskAuthenticator {
                            attempt: self.attempt,
                            options: challenge.options,
                        }]
                    }
                    Err(problem) => self.fail(problem_text(&problem, false)),
                }
            }
            CeremonyEvent::Authenticator { answer, .. } => {
                let Step::Authenticator { ceremony } = &self.step else {
                    return Vec::new();
                };
                let ceremony = ceremony.clone();
                let credential = match answer {
                    Ok(credential) => credential,
                    Err(failure) => return self.fail(failure_text(&failure)),
                };
                let Some(Purpose { expected, remember }) = self.purpose.clone() else {
                    return self.fail(failure_text(&AuthenticatorFailure::Cancelled));
                };
                self.step = Step::Verifying;
                vec![CeremonyCommand::SignIn {
                    attempt: self.attempt,
                    body: PasskeySignIn {
                        ceremony,
                        credential,
                        remember,
                        token: false,
                        username: expected,
                    },
                }]
            }
            CeremonyEvent::Finished { answer, .. } => {
                if self.step != Step::Verifying {
                    return Vec::new();
                }
                match answer {
                    Ok(()) => {
                        self.step = Step::Succeeded;
                        Vec::new()
                    }
                    Err(problem) => self.fail(problem_text(&problem, false)),
                }
            }
        }
    }
}

/// The sentence for an authenticator that gave no credential.
pub fn failure_text(failure: &AuthenticatorFailure) -> String {
    match failure {
        AuthenticatorFailure::Cancelled => {
            "The passkey was not used. Try again, or use your password.".into()
        }
        AuthenticatorFailure::AlreadyRegistered => {
            "This device already holds a passkey for your account.".into()
        }
        AuthenticatorFailure::Unsupported => {
            "This browser cannot use a passkey here. Use your password.".into()
        }
        AuthenticatorFailure::Failed(what) => {
            format!("The passkey could not be used ({what}). Try again, or use your password.")
        }
    }
}

/// The sentence for a server's refusal during a ceremony.
pub fn problem_text(problem: &Problem, register: bool) -> String {
    match problem.error_code {
        ErrorCode::PasskeyRejected => {
            "That passkey was not accepted. Try another, or use your password.".into()
        }
        ErrorCode::PasskeyCeremonyExpired => "The passkey took too long. Try again.".into(),
        ErrorCode::PasskeyExists => "This passkey is already registered.".into(),
        ErrorCode::RateLimited => "Too many attempts. Wait a moment, then try again.".into(),
        ErrorCode::ReauthenticationRequired => {
            "Confirm it is you, then add the passkey again.".into()
        }
        ErrorCode::SessionLimitReached => {
            "This account is already signed in on as many devices as allowed. Sign out on one \
             of them, then sign in here again."
                .into()
        }
        ErrorCode::NetworkError => {
            "Vigil cannot be reached. Check your connection and try again.".into()
        }
        ErrorCode::StoreUnavailable | ErrorCode::Overloaded => {
            "Passkeys are briefly unavailable. Try again in a few seconds.".into()
        }
        ErrorCode::ValidationFailed
            if matches!(problem.field.as_deref(), Some("name" | "passkeys")) =>
        {
            problem.detail.clone()
        }
        code if register && code.ends_session() => {
            "Your session ended. Sign in again, then add the passkey.".into()
        }
        _ if register => format!("The passkey could not be added: {}", problem.title),
        _ => format!("Signing in with the passkey failed: {}", problem.title),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn challenge(ceremony: &str) -> PasskeyChallenge {
        PasskeyChallenge {
            ceremony: ceremony.into(),
            options: json!({"publicKey": {"challenge": ceremony}}),
        }
    }

    fn sign_in() -> Purpose {
        Purpose {
            expected: Some("ada".into()),
            remember: false,
        }
    }

    #[test]
    fn a_sign_in_fetches_options_when_asked_and_sends_one_answer_naming_them() {
        let mut c = PasskeyCeremony::default();
        assert_eq!(c.state(), CeremonyState::Idle);
        let fetch = c.handle(CeremonyEvent::Start(sign_in()));
        assert_eq!(fetch, vec![CeremonyCommand::FetchOptions { attempt: 1 }]);
        assert_eq!(c.state(), CeremonyState::Busy);
        let ask = c.handle(CeremonyEvent::Options {
            attempt: 1,
            answer: Ok(challenge("c1")),
        });
        assert!(matches!(
            &ask[..],
            [CeremonyCommand::AskAuthenticator { attempt: 1, .. }]
        ));
        let send = c.handle(CeremonyEvent::Authenticator {
            attempt: 1,
            answer: Ok(json!({"id": "k"})),
        });
        let [CeremonyCommand::SignIn { body, .. }] = &send[..] else {
            panic!("one sign-in: {send:?}");
        };
        assert_eq!(body.ceremony, "c1");
        assert_eq!(body.username.as_deref(), Some("ada"));
        assert!(!body.token);
        // The same answer again sends nothing more.
        assert!(c
            .handle(CeremonyEvent::Authenticator {
                attempt: 1,
                answer: Ok(json!({"id": "k"})),
            })
            .is_empty());
        c.handle(CeremonyEvent::Finished {
            attempt: 1,
            answer: Ok(()),
        });
        assert_eq!(c.state(), CeremonyState::Succeeded);
    }

    #[test]
    fn a_cancelled_prompt_says_so_and_the_button_works_again() {
        let mut c = PasskeyCeremony::default();
        c.handle(CeremonyEvent::Start(sign_in()));
        c.handle(CeremonyEvent::Options {
            attempt: 1,
            answer: Ok(challenge("c1")),
        });
        c.handle(CeremonyEvent::Authenticator {
            attempt: 1,
            answer: Err(AuthenticatorFailure::Cancelled),
        });
        assert_eq!(
            c.state(),
            CeremonyState::Failed(failure_text(&AuthenticatorFailure::Cancelled))
        );
        assert_eq!(
            c.handle(CeremonyEvent::Start(sign_in())),
            vec![CeremonyCommand::FetchOptions { attempt: 2 }]
        );
    }

    #[test]
    fn refusals_are_explained() {
        let refused = Problem::new(ErrorCode::PasskeyRejected, "no");
        assert!(problem_text(&refused, false).contains("not accepted"));
        let ended = Problem::new(ErrorCode::SessionExpired, "ended");
        assert!(problem_text(&ended, true).contains("session ended"));
        let name = Problem::invalid_field("name", "Too long.");
        assert_eq!(problem_text(&name, true), "Too long.");
        assert!(
            failure_text(&AuthenticatorFailure::Failed("UnknownError".into()))
                .contains("UnknownError")
        );
    }

    /// An event of any attempt near the current one, with any outcome.
    fn event() -> impl Strategy<Value = CeremonyEvent> {
        let attempt = 0u32..4;
        prop_oneof![
            any::<bool>().prop_map(|remember| CeremonyEvent::Start(Purpose {
                expected: None,
                remember,
            })),
            Just(CeremonyEvent::Cancel),
            (attempt.clone(), any::<bool>(), 0u8..3).prop_map(|(attempt, ok, n)| {
                CeremonyEvent::Options {
                    attempt,
                    answer: if ok {
                        Ok(challenge(&format!("c{attempt}-{n}")))
                    } else {
                        Err(Problem::new(ErrorCode::NetworkError, "offline"))
                    },
                }
            }),
            (attempt.clone(), any::<bool>()).prop_map(|(attempt, ok)| {
                CeremonyEvent::Authenticator {
                    attempt,
                    answer: if ok {
                        Ok(json!({"id": attempt}))
                    } else {
                        Err(AuthenticatorFailure::Cancelled)
                    },
                }
            }),
            (attempt, any::<bool>()).prop_map(|(attempt, ok)| CeremonyEvent::Finished {
                attempt,
                answer: if ok {
                    Ok(())
                } else {
                    Err(Problem::new(ErrorCode::PasskeyRejected, "no"))
                },
            }),
        ]
    }

    proptest! {
        /// Whatever arrives in whatever order: an answer is sent only for the current
        /// attempt, at most once per attempt, naming the ceremony of that attempt's options
        /// (never one of an attempt that is over); a new attempt starts only when none is
        /// under way; and every ceremony ends idle, failed or succeeded, never stuck.
        #[test]
        fn answers_are_sent_once_for_the_live_attempt_only(
            events in proptest::collection::vec(event(), 0..40)
        ) {
            let mut c = PasskeyCeremony::default();
            let mut options_of: std::collections::HashMap<u32, String> = Default::default();
            let mut sent: std::collections::HashSet<u32> = Default::default();
            for event in events {
                let busy = c.state() == CeremonyState::Busy;
                let before = c.attempt();
                if let CeremonyEvent::Options { attempt, answer: Ok(challenge) } = &event {
                    if *attempt == before && matches!(c.step, Step::Options) {
                        options_of.insert(*attempt, challenge.ceremony.clone());
                    }
                }
                let is_start = matches!(event, CeremonyEvent::Start(_));
                for command in c.handle(event) {
                    match command {
                        CeremonyCommand::FetchOptions { attempt, .. } => {
                            prop_assert!(is_start && !busy);
                            prop_assert_eq!(attempt, before.wrapping_add(1));
                        }
                        CeremonyCommand::AskAuthenticator { attempt, .. } => {
                            prop_assert_eq!(attempt, before);
                        }
                        CeremonyCommand::SignIn { attempt, body } => {
                            prop_assert_eq!(attempt, before);
                            prop_assert!(sent.insert(attempt), "sent twice");
                            prop_assert_eq!(Some(&body.ceremony), options_of.get(&attempt));
                        }
                    }
                }
            }
            // Going another way always frees the button.
            c.handle(CeremonyEvent::Cancel);
            prop_assert_eq!(c.state(), CeremonyState::Idle);
        }
    }
}
