//! What administrators and operators do to other people's accounts (SPEC §9.3, OWASP ASVS
//! 5.0 7.4.2 and 7.4.5): see accounts with their live sessions, end those sessions, disable
//! and enable accounts. The command line (`server user disable`) and the administrators'
//! API (`http::admin_api`) both come here, so the two cannot drift apart.

use thiserror::Error;
use time::OffsetDateTime;
use vigil::admin::{AdminUser, ADMIN_LIST_LIMIT};

use crate::identity::users::{User, UserError, UserRepository, Username};
use crate::session::store::SessionStore;
use crate::session::{end_sessions_of, live_sessions_of, view_of, AuthError, EndReason, SessionId};

#[derive(Debug, Error)]
pub enum AdminError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("the sessions could not all be ended: {0}")]
    Sessions(#[from] AuthError),
    #[error("there is no user `{0}`")]
    NoSuchUser(String),
    #[error("the account is disabled, but its sessions could not all be ended (do it again): {0}")]
    NotAllEnded(AuthError),
}

/// What a change of access did. The mark holds even when ending the sessions failed: the
/// caller audits the change either way, then reports `ended`'s failure so it is done again.
pub struct AccessSet {
    pub user_id: i64,
    /// How many sessions this ended (none when enabling).
    pub ended: Result<usize, AdminError>,
}

/// Accounts whose username contains `query` (all with an empty one), in username order,
/// each with its live sessions as of `now` (`current` marks `asking`); and whether more
/// matched than [`ADMIN_LIST_LIMIT`].
pub async fn accounts(
    users: &UserRepository,
    store: &dyn SessionStore,
    query: &str,
    now: OffsetDateTime,
    asking: &SessionId,
) -> Result<(Vec<AdminUser>, bool), AdminError> {
    let mut found = users.search(query, ADMIN_LIST_LIMIT + 1).await?;
    let more = found.len() > ADMIN_LIST_LIMIT;
    found.truncate(ADMIN_LIST_LIMIT);
    let mut listed = Vec::with_capacity(found.len());
    for user in found {
        let sessions = live_sessions_of(store, user.id, now)
            .await?
            .iter()
            .map(|record| view_of(record, Some(asking)))
            .collect();
        listed.push(admin_view(user, sessions));
    }
    Ok((listed, more))
}

fn admin_view(user: User, sessions: Vec<vigil::sessions::SessionView>) -> AdminUser {
    AdminUser {
        username: user.username.as_str().to_owned(),
        display_name: user.display_name,
        role: user.role,
        disabled: user.disabled,
        sessions,
    }
}

/// The account named `username`, or [`AdminError::NoSuchUser`].
pub async fn account(users: &UserRepository, username: &str) -> Result<User, AdminError> {
    let no_such_user = || AdminError::NoSuchUser(username.to_owned());
    let name = Username::parse(username).map_err(|_| no_such_user())?;
    let id = users.id_of(&name).await?.ok_or_else(no_such_user)?;
    users.find(id).await?.ok_or_else(no_such_user)
}

/// Disables an account and ends every session it has (`disable`), or enables it again.
///
/// Marked first, then its sessions read and ended: a sign-in checked meanwhile either
/// stored its session before that read (and it is ended here) or sees the mark (the
/// sign-in reads it again after storing its session).
pub async fn set_access(
    users: &UserRepository,
    store: &dyn SessionStore,
    username: &Username,
    disable: bool,
    now: OffsetDateTime,
) -> Result<AccessSet, AdminError> {
    let user_id = users
        .set_disabled(username, disable, now)
        .await?
        .ok_or_else(|| AdminError::NoSuchUser(username.as_str().to_owned()))?;
    let ended = match disable {
        true => end_sessions_of(store, user_id, EndReason::Disabled, now, |_| true)
            .await
            .map_err(AdminError::NotAllEnded),
        false => Ok(0),
    };
    Ok(AccessSet { user_id, ended })
}
