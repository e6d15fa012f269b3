//! The command line: `server` (or `server serve`) runs the site; `server user add NAME
//! --password-stdin` creates an account.

use std::io::Read;

use clap::{Parser, Subcommand};

use crate::configuration::Settings;
use crate::db;
use crate::users::{UserError, UserRepository, Username};

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
    #[error("could not read the password from standard input: {0}")]
    Stdin(#[from] std::io::Error),
}

pub async fn run_user_command(
    settings: &Settings,
    command: UserCommand,
) -> Result<String, CliError> {
    let UserCommand::Add {
        name,
        password_stdin: _,
        display_name,
        update,
    } = command;
    let username = Username::parse(&name)?;
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    let pool = db::connect(&settings.database_url).await?;
    let users = UserRepository::new(pool);
    match users.add(&username, &display_name, password).await {
        Ok(user) => Ok(format!(
            "created user `{}` (id {})",
            user.username.as_str(),
            user.id
        )),
        Err(UserError::Exists(_)) if update => {
            users.set_password(&username, password).await?;
            Ok(format!("updated the password of `{}`", username.as_str()))
        }
        Err(err) => Err(err.into()),
    }
}
