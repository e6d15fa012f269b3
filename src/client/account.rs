//! The account half of the browser machine (SPEC §8, §9.2): the list of the user's sessions,
//! ending one or all others, changing the password, and the account's passkeys. A sensitive
//! action the server refuses with `reauthentication_required` waits while the user confirms
//! who they are in the sign-in modal; after that sign-in it is sent again, once.
//!
//! Adding a passkey is three steps: the options (step-up), the authenticator
//! ([`Command::CreatePasskey`], answered by [`Event::Authenticator`](super::Event)), the
//! registration (step-up again). A confirmation asked for at either request starts it over
//! from fresh options, so nothing waits on a challenge that may have expired.

use super::passkey::{failure_text, problem_text, AuthenticatorFailure};
use super::{Answer, Command, Millis, Out, Request, RequestId};
use crate::admin::AdminUserList;
use crate::passkeys::{name_problem, PasskeyRegistration, PasskeyView};
use crate::sessions::{PasswordChange, PasswordRule, SessionView};
use crate::{ErrorCode, Problem};

/// What the user asks of their account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountAction {
    /// Load the user's live sessions for the sessions page.
    LoadSessions,
    /// End the session with this public id.
    EndSession {
        /// The public id of the session to end.
        id: String,
    },
    /// Sign out everywhere else (step-up).
    RevokeOthers,
    /// Change the password (step-up).
    ChangePassword(PasswordChange),
    /// Delete every draft that is not submitted (step-up).
    DeleteAllDrafts,
    /// Load the user's passkeys for the account page.
    LoadPasskeys,
    /// Add a passkey called `name` (step-up).
    AddPasskey {
        /// What the user calls it.
        name: String,
    },
    /// Remove the passkey with this id (step-up).
    RemovePasskey {
        /// The passkey's id.
        id: String,
    },
    /// Administrators: the accounts whose username contains `query`, with their sessions.
    LoadAccounts {
        /// Part of a username; empty for every account.
        query: String,
    },
    /// Administrators: end one session of an account (step-up).
    EndAccountSession {
        /// The account's username.
        username: String,
        /// The session's public id.
        id: String,
    },
    /// Administrators: end every session of an account (step-up).
    EndAccountSessions {
        /// The account's username.
        username: String,
    },
    /// Administrators: disable an account (ending its sessions) or enable it (step-up).
    SetAccess {
        /// The account's username.
        username: String,
        /// Disable (`true`) or enable.
        disable: bool,
    },
    /// Not now: the confirmation of a sensitive action was dismissed.
    CancelStepUp,
}

impl AccountAction {
    /// Only reads: what the page shows stays, and nothing of it is announced.
    fn reads(&self) -> bool {
        matches!(
            self,
            Self::LoadSessions | Self::LoadPasskeys | Self::LoadAccounts { .. }
        )
    }
}

/// The outcome of the last action, for the page to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountMessage {
    /// It worked; the text says what happened.
    Done(String),
    /// Refused; `field` names the form field at fault.
    Failed {
        /// What went wrong, as a sentence.
        text: String,
        /// The form field at fault, if it is one.
        field: Option<String>,
    },
}

/// What an account answer asks of the rest of the machine.
#[derive(Debug, Default)]
pub(crate) struct Followup {
    /// A refusal for the session to deal with (it ended, or the token needs exchanging).
    pub problem: Option<Problem>,
    /// The account's work changed: read it again.
    pub refetch_work: bool,
}

impl Followup {
    fn problem(problem: Problem) -> Self {
        Self {
            problem: Some(problem),
            refetch_work: false,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Account {
    /// The user's live sessions, once loaded.
    pub sessions: Option<Vec<SessionView>>,
    pub message: Option<AccountMessage>,
    /// The action in flight.
    pending: Option<(RequestId, AccountAction)>,
    /// A sensitive action waiting for the user to confirm their password.
    pub step_up: Option<AccountAction>,
    /// Sent again after a confirmation: not asked for a second time.
    replayed: bool,
    /// Bumped when the password changed, so the form clears its fields.
    pub password_changes: u32,
    /// The user's passkeys, once loaded.
    pub passkeys: Option<Vec<PasskeyView>>,
    /// Administrators: the accounts found by the last search, once loaded.
    pub accounts: Option<AdminUserList>,
    /// Administrators: the search the accounts on screen answer (read again after a change).
    accounts_query: String,
    /// A passkey being added, while the authenticator is asked: its ceremony and name.
    adding: Option<Adding>,
    /// Numbers the authenticator's prompts, so a late answer to one that is over is ignored.
    attempt: u32,
}

#[derive(Debug)]
struct Adding {
    attempt: u32,
    ceremony: String,
    name: String,
}

impl Account {
    pub fn busy(&self) -> bool {
        self.pending.is_some() || self.adding.is_some()
    }

    pub fn owns(&self, id: RequestId) -> bool {
        self.pending
            .as_ref()
            .is_some_and(|(pending, _)| *pending == id)
    }

    pub fn action(&mut self, action: AccountAction, signed_in: bool, out: &mut Out) {
        match action {
            AccountAction::CancelStepUp => {
                if self.step_up.take().is_some() {
                    self.message = Some(AccountMessage::Failed {
                        text: "Nothing was changed: the action needs your password.".into(),
                        field: None,
                    });
                }
            }
            _ if !signed_in => {}
            AccountAction::AddPasskey { name } => match name_problem(&name) {
                Some(text) => {
                    self.message = Some(AccountMessage::Failed {
                        text: text.into(),
                        field: Some("passkey_name".into()),
                    })
                }
                None => self.send(AccountAction::AddPasskey { name }, false, out),
            },
            AccountAction::ChangePassword(change) => {
                // What the server would refuse is said at once, without a request.
                let (field, text) = if change.current_password.is_empty() {
                    (
                        "current_password",
                        "Enter your current password.".to_owned(),
                    )
                } else if let Some(rule) =
                    PasswordRule::check(&change.new_password, "", &change.current_password)
                {
                    ("new_password", rule.message())
                } else {
                    return self.send(AccountAction::ChangePassword(change), false, out);
                };
                self.message = Some(AccountMessage::Failed {
                    text,
                    field: Some(field.into()),
                });
            }
            action => self.send(action, false, out),
        }
    }

    fn send(&mut self, action: AccountAction, replay: bool, out: &mut Out) {
        if self.busy() {
            return;
        }
        let request = match &action {
            AccountAction::LoadSessions => Request::ListSessions,
            AccountAction::EndSession { id } => Request::EndSession { id: id.clone() },
            AccountAction::RevokeOthers => Request::RevokeOthers,
            AccountAction::ChangePassword(change) => Request::ChangePassword(change.clone()),
            AccountAction::DeleteAllDrafts => Request::DeleteAllDrafts,
            AccountAction::LoadPasskeys => Request::ListPasskeys,
            AccountAction::AddPasskey { .. } => Request::PasskeyOptions,
            AccountAction::RemovePasskey { id } => Request::RemovePasskey { id: id.clone() },
            AccountAction::LoadAccounts { query } => {
                self.accounts_query = query.trim().to_owned();
                Request::ListAccounts {
                    query: self.accounts_query.clone(),
                }
            }
            AccountAction::EndAccountSession { username, id } => Request::EndAccountSession {
                username: username.clone(),
                id: id.clone(),
            },
            AccountAction::EndAccountSessions { username } => Request::EndAccountSessions {
                username: username.clone(),
            },
            AccountAction::SetAccess { username, disable } => Request::SetAccess {
                username: username.clone(),
                disable: *disable,
            },
            AccountAction::CancelStepUp => return,
        };
        if !action.reads() {
            self.message = None;
        }
        self.replayed = replay;
        let id = out.send(request);
        self.pending = Some((id, action));
    }

    /// The accounts on screen, read again after an administrator's change.
    fn reload_accounts(&mut self, out: &mut Out) {
        let query = self.accounts_query.clone();
        self.send(AccountAction::LoadAccounts { query }, false, out);
    }

    /// A session of the user started or ended somewhere: a list on screen is read again.
    pub fn sessions_changed(&mut self, signed_in: bool, out: &mut Out) {
        if signed_in && self.sessions.is_some() {
            self.send(AccountAction::LoadSessions, false, out);
        }
    }

    /// The authenticator answered: the new passkey is registered, or the page says why not.
    pub fn authenticator(
        &mut self,
        attempt: u32,
        answer: Result<serde_json::Value, AuthenticatorFailure>,
        signed_in: bool,
        out: &mut Out,
    ) {
        if self.adding.as_ref().is_none_or(|a| a.attempt != attempt) {
            return;
        }
        let Some(Adding { ceremony, name, .. }) = self.adding.take() else {
            return;
        };
        match answer {
            Ok(credential) if signed_in => {
                let registration = PasskeyRegistration {
                    ceremony,
                    name: name.clone(),
                    credential,
                };
                self.replayed = false;
                let id = out.send(Request::RegisterPasskey(registration));
                self.pending = Some((id, AccountAction::AddPasskey { name }));
            }
            // The session ended meanwhile: the modal is showing; nothing is registered.
            Ok(_) => {}
            Err(failure) => {
                self.message = Some(AccountMessage::Failed {
                    text: failure_text(&failure),
                    field: None,
                });
            }
        }
    }

    /// A fresh sign-in happened: the action waiting for it goes again, once.
    pub fn signed_in(&mut self, out: &mut Out) {
        if let Some(action) = self.step_up.take() {
            self.send(action, true, out);
        } else if self.sessions.is_some() && self.pending.is_none() {
            // The list names this device's session, which a sign-in replaced.
            self.send(AccountAction::LoadSessions, false, out);
        }
    }

    /// The answer to the action in flight. A problem that ends the session is handed back
    /// for the session to deal with (the action is dropped: the user sees the modal).
    pub fn answered(
        &mut self,
        answer: Result<Answer, Problem>,
        _now: Millis,
        out: &mut Out,
    ) -> Followup {
        let Some((_, action)) = self.pending.take() else {
            return Followup::default();
        };
        match answer {
            Ok(Answer::DraftsDeleted(deleted)) => {
                self.message = Some(AccountMessage::Done(match deleted.deleted {
                    0 => "There were no drafts to delete.".into(),
                    1 => "Deleted 1 draft.".into(),
                    n => format!("Deleted {n} drafts."),
                }));
                // The work on screen learns it from the account, like any change elsewhere.
                return Followup {
                    problem: None,
                    refetch_work: true,
                };
            }
            Ok(Answer::Sessions(list)) => self.sessions = Some(list.sessions),
            Ok(Answer::Passkeys(list)) => self.passkeys = Some(list.passkeys),
            Ok(Answer::Accounts(list)) => self.accounts = Some(list),
            Ok(Answer::AccessChanged(changed)) => {
                let text = match (changed.disabled, changed.sessions_ended) {
                    (false, _) => format!("{} can sign in again.", changed.username),
                    (true, 0) => format!("{} is disabled.", changed.username),
                    (true, 1) => format!("{} is disabled; its 1 session ended.", changed.username),
                    (true, n) => {
                        format!("{} is disabled; its {n} sessions ended.", changed.username)
                    }
                };
                self.message = Some(AccountMessage::Done(text));
                self.reload_accounts(out);
            }
            Ok(Answer::SessionsEnded(ended))
                if matches!(
                    action,
                    AccountAction::EndAccountSession { .. }
                        | AccountAction::EndAccountSessions { .. }
                ) =>
            {
                self.message = Some(AccountMessage::Done(match ended.ended {
                    0 => "There were no sessions to end.".into(),
                    1 => "Ended 1 session.".into(),
                    n => format!("Ended {n} sessions."),
                }));
                self.reload_accounts(out);
            }
            Ok(Answer::PasskeyChallenge(challenge)) => {
                if let AccountAction::AddPasskey { name } = action {
                    self.attempt = self.attempt.wrapping_add(1);
                    out.push(Command::CreatePasskey {
                        attempt: self.attempt,
                        options: challenge.options,
                    });
                    self.adding = Some(Adding {
                        attempt: self.attempt,
                        ceremony: challenge.ceremony,
                        name,
                    });
                }
            }
            Ok(Answer::PasskeyAdded(view)) => {
                self.message = Some(AccountMessage::Done(format!(
                    "The passkey “{}” was added. You can sign in with it.",
                    view.name
                )));
                self.send(AccountAction::LoadPasskeys, false, out);
            }
            Ok(Answer::PasskeyRemoved) => {
                self.message = Some(AccountMessage::Done("The passkey was removed.".into()));
                self.send(AccountAction::LoadPasskeys, false, out);
            }
            Ok(Answer::SessionsEnded(ended)) => {
                let text = match (&action, ended.ended) {
                    (AccountAction::EndSession { .. }, _) => "The session was signed out.".into(),
                    (_, 0) => "There were no other sessions to sign out.".into(),
                    (_, 1) => "Signed out 1 other session.".into(),
                    (_, n) => format!("Signed out {n} other sessions."),
                };
                self.message = Some(AccountMessage::Done(text));
                self.send(AccountAction::LoadSessions, false, out);
            }
            Ok(Answer::PasswordChanged(changed)) => {
                self.password_changes += 1;
                let others = match changed.sessions_ended {
                    0 => String::new(),
                    1 => " Your 1 other session was signed out.".into(),
                    n => format!(" Your {n} other sessions were signed out."),
                };
                self.message = Some(AccountMessage::Done(format!(
                    "Your password was changed.{others}"
                )));
                if self.sessions.is_some() {
                    self.send(AccountAction::LoadSessions, false, out);
                }
            }
            Ok(_) => {}
            Err(problem) if problem.error_code == ErrorCode::ReauthenticationRequired => {
                if self.replayed {
                    self.message = Some(AccountMessage::Failed {
                        text: problem.detail,
                        field: None,
                    });
                } else {
                    self.step_up = Some(action);
                }
            }
            Err(problem) if problem.error_code.ends_session() => return Followup::problem(problem),
            Err(problem) if problem.error_code == ErrorCode::TokenExpired => {
                // The session lives; the page's own check exchanges the token. Try again.
                self.message = Some(AccountMessage::Failed {
                    text: "That did not go through; try again.".into(),
                    field: None,
                });
                return Followup::problem(problem);
            }
            Err(problem) if matches!(action, AccountAction::AddPasskey { .. }) => {
                let field =
                    (problem.field.as_deref() == Some("name")).then(|| "passkey_name".into());
                self.message = Some(AccountMessage::Failed {
                    text: problem_text(&problem, true),
                    field,
                });
            }
            Err(problem) if matches!(action, AccountAction::RemovePasskey { .. }) => {
                let text = match problem.error_code {
                    ErrorCode::NotFound => "That passkey had already been removed.".into(),
                    _ => problem_text(&problem, true),
                };
                self.message = Some(AccountMessage::Failed { text, field: None });
                self.send(AccountAction::LoadPasskeys, false, out);
            }
            Err(problem) if matches!(action, AccountAction::LoadAccounts { .. }) => {
                let text = match problem.error_code {
                    ErrorCode::NotFound => "Only administrators can see this page.".into(),
                    _ => refusal_text(&problem),
                };
                self.message = Some(AccountMessage::Failed { text, field: None });
            }
            Err(problem)
                if matches!(
                    action,
                    AccountAction::EndAccountSession { .. }
                        | AccountAction::EndAccountSessions { .. }
                        | AccountAction::SetAccess { .. }
                ) =>
            {
                let text = match problem.error_code {
                    ErrorCode::NotFound => "That account or session is gone already.".into(),
                    _ => refusal_text(&problem),
                };
                self.message = Some(AccountMessage::Failed { text, field: None });
                self.reload_accounts(out);
            }
            Err(problem) => {
                let text = match problem.error_code {
                    ErrorCode::NotFound => {
                        self.send(AccountAction::LoadSessions, false, out);
                        "That session had already ended.".to_owned()
                    }
                    _ => refusal_text(&problem),
                };
                self.message = Some(AccountMessage::Failed {
                    text,
                    field: problem.field,
                });
            }
        }
        Followup::default()
    }

    /// The session ended or the user signed out: nothing of the account stays on screen.
    pub fn reset(&mut self) {
        *self = Self {
            password_changes: self.password_changes,
            ..Self::default()
        };
    }
}

/// What the page says of a refused account action: the server's words, or that it could not
/// be reached.
fn refusal_text(problem: &Problem) -> String {
    match problem.error_code {
        ErrorCode::NetworkError => {
            "Vigil could not reach the server. Nothing was changed; try again.".into()
        }
        _ => problem.detail.clone(),
    }
}
