//! The command line: `server` (or `server serve`) runs the site; `server user add NAME
//! --password-stdin` creates an account (`--role admin` for an administrator), or with
//! `--update` resets its password and ends every session it has; `server session list
//! --user NAME` and `server session revoke --user NAME (--all | ID)` let an operator see and
//! end a user's sessions; `server user disable NAME` ends every session of the account and
//! refuses its sign-ins until `server user enable NAME`; `server check` validates the settings and reaches the database,
//! the session store and the site, as `serve` would, without serving.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use vigil::{Clock, Role, SystemClock};

use crate::administration::{set_access, AdminError};
use crate::audit::{AuditEvent, AuditKind, AuditLog};
use crate::configuration::{Environment, SessionStoreChoice, Settings};
use crate::db::{self, Database};
use crate::events::{AnnouncingStore, NewsChannel};
use crate::identity::users::{UserError, UserRepository, Username};
use crate::redis_connection::RedisSetupError;
use crate::session::store::{RedisSessionStore, SessionStore, SharedSessionStore};
use crate::session::{end_sessions_of, live_sessions_of, view_of};
use crate::session::{AuthError, EndReason};
use crate::session::{JwtSecret, SecretSource};
use crate::site::{self, SiteError};

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
    /// See and end a user's sessions.
    Session {
        #[command(subcommand)]
        command: SessionCommand,
    },
    /// Check the settings, the signing secret, the database, the session store and the
    /// site; exits non-zero naming what failed.
    Check,
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
        /// `user` (the default) or `admin`; with --update, changes the role of an existing
        /// account (its sessions end anyway).
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
    /// Disable an account: every session it has ends at once (open pages lock), and it
    /// cannot sign in (answered as wrong credentials) until enabled again.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// List the user's live sessions.
    List {
        #[arg(long)]
        user: String,
    },
    /// End one session (by the id `list` shows) or all of them.
    Revoke {
        #[arg(long)]
        user: String,
        /// End every live session of the user.
        #[arg(long, conflicts_with = "id")]
        all: bool,
        /// The session's id, as `session list` shows it.
        #[arg(required_unless_present = "all")]
        id: Option<String>,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| format!("`{raw}` is not a role: use `user` or `admin`"))
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
    #[error("the sessions could not all be ended: {0}")]
    Sessions(#[from] AuthError),
    #[error("there is no user `{0}`")]
    NoSuchUser(String),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("user `{0}` has no live session with the id `{1}`")]
    NoSuchSession(String, String),
    #[error("{0}\nthe check failed")]
    CheckFailed(String),
}

impl UserCommand {
    /// Whether the command reads a password from standard input.
    pub fn reads_password(&self) -> bool {
        matches!(self, Self::Add { .. })
    }
}

async fn open(settings: &Settings) -> Result<(Database, UserRepository), CliError> {
    let db = db::connect(
        &settings.storage.database_url,
        settings.storage.store_timeout.unsigned_abs(),
    )
    .await?;
    let users = UserRepository::new(&db, settings.sign_in.hashing);
    Ok((db, users))
}

/// The session store, its endings announced to the servers' open pages: through Redis when
/// the sessions are there (with the embedded database, the servers find them themselves).
fn session_store(settings: &Settings, db: &Database) -> Result<SharedSessionStore, CliError> {
    let redis = crate::startup::redis(settings)?;
    let store = crate::startup::session_store(settings, db, redis.as_ref());
    let news = NewsChannel::of(redis.as_ref(), &settings.storage.redis_prefix);
    Ok(Arc::new(AnnouncingStore::new(store, news)))
}

/// Runs a `user` command; `password` is what standard input held.
pub async fn run_user_command(
    settings: &Settings,
    command: UserCommand,
    password: &str,
) -> Result<String, CliError> {
    match command {
        UserCommand::Add {
            name,
            password_stdin: _,
            display_name,
            update,
            role,
        } => add_user(settings, &name, &display_name, password, update, role).await,
        UserCommand::Disable { name } => set_disabled(settings, &name, true).await,
        UserCommand::Enable { name } => set_disabled(settings, &name, false).await,
    }
}

/// Disables an account and ends its sessions, or enables it again; audited either way.
async fn set_disabled(settings: &Settings, name: &str, disabled: bool) -> Result<String, CliError> {
    let username = Username::parse(name)?;
    let (db, users) = open(settings).await?;
    let now = SystemClock.now();
    let store = session_store(settings, &db)?;
    let set = set_access(&users, store.as_ref(), &username, disabled, now).await?;
    let kind = match disabled {
        true => AuditKind::AccountDisabled,
        false => AuditKind::AccountEnabled,
    };
    AuditLog::new(&db)
        .record(
            AuditEvent::new(kind)
                .user(set.user_id)
                .username(username.as_str())
                .reason("command line"),
            now,
        )
        .await;
    let ended = set.ended?;
    Ok(match disabled {
        true => format!(
            "disabled `{}` and ended its {ended} session(s)",
            username.as_str()
        ),
        false => format!("enabled `{}`", username.as_str()),
    })
}

async fn add_user(
    settings: &Settings,
    name: &str,
    display_name: &str,
    password: &str,
    update: bool,
    role: Option<Role>,
) -> Result<String, CliError> {
    let username = Username::parse(name)?;
    let password = password.trim_end_matches(['\r', '\n']);
    let (db, users) = open(settings).await?;
    match users
        .add(&username, display_name, password, role.unwrap_or_default())
        .await
    {
        Ok(user) => Ok(format!(
            "created {} `{}` (id {})",
            user.role.as_str(),
            user.username.as_str(),
            user.id
        )),
        Err(UserError::Exists(_)) if update => {
            users.set_password(&username, password).await?;
            if let Some(role) = role {
                users.set_role(&username, role).await?;
            }
            // A reset means the old password may be known to someone else: nobody stays
            // signed in with it.
            let Some(user_id) = users.id_of(&username).await? else {
                return Ok(format!("updated the password of `{}`", username.as_str()));
            };
            let now = SystemClock.now();
            let store = session_store(settings, &db)?;
            let ended = end_sessions_of(
                store.as_ref(),
                user_id,
                EndReason::PasswordChanged,
                now,
                |_| true,
            )
            .await?;
            AuditLog::new(&db)
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

/// Runs a `session` command; answers what to print.
pub async fn run_session_command(
    settings: &Settings,
    command: SessionCommand,
) -> Result<String, CliError> {
    let (SessionCommand::List { user } | SessionCommand::Revoke { user, .. }) = &command;
    let username = Username::parse(user)?;
    let (db, users) = open(settings).await?;
    let user_id = users
        .id_of(&username)
        .await?
        .ok_or_else(|| CliError::NoSuchUser(username.as_str().to_owned()))?;
    let store = session_store(settings, &db)?;
    let now = SystemClock.now();
    match command {
        SessionCommand::List { .. } => {
            let live = live_sessions_of(store.as_ref(), user_id, now).await?;
            let time = |t: time::OffsetDateTime| vigil::timestamp::format(t).unwrap_or_default();
            let mut out = format!(
                "{} live session(s) of `{}`\n{:<24}  {:<20}  {:<20}  {:<20}  {:<16}  DEVICE",
                live.len(),
                username.as_str(),
                "ID",
                "CREATED",
                "LAST ACTIVE",
                "IDLE UNTIL",
                "ADDRESS"
            );
            for record in &live {
                let view = view_of(record, None);
                out.push_str(&format!(
                    "\n{:<24}  {:<20}  {:<20}  {:<20}  {:<16}  {}{}",
                    view.id,
                    time(view.created_at),
                    time(view.last_active_at),
                    time(record.idle_expires_at),
                    view.address.as_deref().unwrap_or("-"),
                    view.device,
                    if view.remembered { " (remembered)" } else { "" },
                ));
            }
            Ok(out)
        }
        SessionCommand::Revoke { all, id, .. } => {
            let only = if all { None } else { id.as_deref() };
            let ended = end_sessions_of(
                store.as_ref(),
                user_id,
                EndReason::Operator,
                now,
                |record| only.is_none_or(|id| record.id.public_id() == id),
            )
            .await?;
            if let (Some(id), 0) = (only, ended) {
                return Err(CliError::NoSuchSession(
                    username.as_str().to_owned(),
                    id.to_owned(),
                ));
            }
            AuditLog::new(&db)
                .record(
                    AuditEvent::new(AuditKind::SessionEnded)
                        .user(user_id)
                        .username(username.as_str())
                        .reason("by an operator"),
                    now,
                )
                .await;
            Ok(format!(
                "ended {ended} session(s) of `{}`",
                username.as_str()
            ))
        }
    }
}

/// `server check`: each part `serve` needs, in the order it needs them, one line each
/// (`ok` or `FAILED` and why), changing nothing: no database file or secret is created and
/// no migration applied (it says which the first start would). Answers the report, or the
/// report as the error when a part failed.
pub async fn run_check(
    settings: &Settings,
    site: Result<leptos::config::LeptosOptions, SiteError>,
) -> Result<String, CliError> {
    let mut report = Vec::new();
    let mut failed = false;
    let mut line = |part: &str, outcome: Result<String, String>| {
        failed |= outcome.is_err();
        report.push(match outcome {
            Ok(detail) => format!("ok      {part}: {detail}"),
            Err(why) => format!("FAILED  {part}: {why}"),
        });
    };
    line(
        "settings",
        Ok(format!(
            "{} environment, idle timeout {}s, absolute {}s",
            match settings.environment {
                Environment::Production => "production",
                Environment::Development => "development",
            },
            settings.sessions.policy.idle_timeout().whole_seconds(),
            settings.sessions.policy.absolute_timeout().whole_seconds(),
        )),
    );
    let production = settings.environment == Environment::Production;
    line(
        "signing secret",
        match &settings.tokens.secret {
            SecretSource::Generated(path) if !path.exists() => Ok(format!(
                "none yet: development makes one at {} at the first start",
                path.display()
            )),
            source => JwtSecret::load(source, production)
                .map(|_| "loaded".to_owned())
                .map_err(|err| err.to_string()),
        },
    );
    let timeout = settings.storage.store_timeout.unsigned_abs();
    let database = db::inspect(&settings.storage.database_url, timeout).await;
    line(
        "database",
        match &database {
            Ok(found) => Ok(match &found.missing_file {
                Some(file) => format!(
                    "{:?}, none yet at {}: the first start creates it",
                    found.backend,
                    file.display()
                ),
                None => format!(
                    "{:?}, answering; {} migrations applied, {} to apply at start",
                    found.backend, found.applied, found.pending
                ),
            }),
            Err(err) => Err(err.to_string()),
        },
    );
    line(
        "session store",
        match &settings.storage.session_store {
            SessionStoreChoice::Database if database.is_ok() => Ok("in the database".into()),
            SessionStoreChoice::Database => Err("in the database, which did not answer".into()),
            SessionStoreChoice::Redis(_) => match crate::startup::redis(settings) {
                Ok(Some(connection)) => {
                    RedisSessionStore::new(connection, &settings.storage.redis_prefix)
                        .check()
                        .await
                        .map(|()| "Redis, answering".to_owned())
                        .map_err(|err| format!("Redis: {err}"))
                }
                Ok(None) => Err("Redis is not configured".into()),
                Err(err) => Err(format!("Redis: {err}")),
            },
        },
    );
    line(
        "site",
        site.and_then(|options| {
            let files = site::check(&options)?;
            Ok(format!(
                "{} ({} files named by this build, all present)",
                options.site_root,
                files.len()
            ))
        })
        .map_err(|err| err.to_string()),
    );
    let report = report.join("\n");
    if failed {
        Err(CliError::CheckFailed(report))
    } else {
        Ok(report)
    }
}
