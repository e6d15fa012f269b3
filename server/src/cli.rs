//! The command line: `server` (or `server serve`) runs the site; `server user add NAME
//! --password-stdin` creates an account, or with `--update` resets its password and ends
//! every session it has.

use clap::{Parser, Subcommand};
use vigil::{Clock, SystemClock};

use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::configuration::Settings;
use crate::db;
use crate::identity::users::{UserError, UserRepository, Username};
use crate::redis_connection::RedisSetupError;
use crate::session::service::end_sessions_of;
use crate::session::{AuthError, EndReason};

#[derive(Debug, Parser)]
#[command(
    name = "server",
    about = "Vigil: secure sessions that never lose your work"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site (the default).
    Serve,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        name: String,
        /// Read the password from standard input (required: never pass it as an argument).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// The name shown in the app (defaults to NAME).
        #[arg(long, default_value = "")]
        display_name: String,
        /// If the account exists, set its password instead of failing.
        #[arg(long)]
        update: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] crate::configuration::ConfigError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    SessionStore(#[from] RedisSetupError),
    #[error("the password was changed, but its sessions could not all be ended: {0}")]
    Sessions(#[from] AuthError),
}

impl UserCommand {
    /// Whether the command reads a password from standard input.
    pub fn reads_password(&self) -> bool {
        matches!(self, Self::Add { .. })
    }
}

/// Runs a `user` command; `password` is what standard input held.
pub async fn run_user_command(
    settings: &Settings,
    command: UserCommand,
    password: &str,
) -> Result<String, CliError> {
    let UserCommand::Add {
        name,
        password_stdin: _,
        display_name,
        update,
    } = command;
    let username = Username::parse(&name)?;
    let password = password.trim_end_matches(['\r', '\n']);
    let db = db::connect(
        &settings.database_url,
        settings.store_timeout.unsigned_abs(),
    )
    .await?;
    let users = UserRepository::new(db.pool().clone(), settings.hashing);
    match users.add(&username, &display_name, password).await {
        Ok(user) => Ok(format!(
            "created user `{}` (id {})",
            user.username.as_str(),
            user.id
        )),
        Err(UserError::Exists(_)) if update => {
            users.set_password(&username, password).await?;
            // A reset means the old password may be known to someone else: nobody stays
            // signed in with it.
            let Some(user_id) = users.id_of(&username).await? else {
                return Ok(format!("updated the password of `{}`", username.as_str()));
            };
            let now = SystemClock.now();
            let redis = crate::startup::redis(settings)?;
            let store = crate::startup::session_store(settings, &db, redis.as_ref());
            let ended = end_sessions_of(store.as_ref(), user_id, EndReason::Revoked, now).await?;
            AuditLog::new(db.pool().clone())
                .record(
                    AuditEvent::new(AuditKind::PasswordReset)
                        .user(user_id)
                        .username(username.as_str())
                        .reason("user add --update"),
                    now,
                )
                .await;
            Ok(format!(
                "updated the password of `{}` and ended its {ended} session(s)",
                username.as_str()
            ))
        }
        Err(err) => Err(err.into()),
    }
}
