//! Accounts: usernames and Argon2id password hashes in the database.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use thiserror::Error;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use vigil::{Role, UserSummary};

use crate::db::Database;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: Username,
    pub display_name: String,
    pub role: Role,
    /// The version of the user's local-copy key: moved on by every password change or
    /// reset, so copies written after it cannot be read with a key handed out before.
    pub key_version: u32,
    /// Disabled by an operator or an administrator: it cannot sign in.
    pub disabled: bool,
}

/// The columns of [`USER_COLUMNS`].
type UserRow = (i64, String, String, String, i64, Option<i64>);
/// The password hash, then the columns of [`USER_COLUMNS`].
type CheckedRow = (String, i64, String, String, String, i64, Option<i64>);
const USER_COLUMNS: &str = "id, username, display_name, role, key_version, disabled_at";

impl User {
    /// The user as a row of `users` gives it.
    fn stored(row: UserRow) -> Self {
        let (id, username, display_name, role, version, disabled_at) = row;
        Self {
            id,
            username: Username(username),
            display_name,
            // An unknown role grants nothing beyond an ordinary user's.
            role: Role::parse(&role).unwrap_or_default(),
            key_version: key_version(version),
            disabled: disabled_at.is_some(),
        }
    }

    pub fn summary(&self) -> UserSummary {
        UserSummary {
            id: self.id,
            username: self.username.as_str().to_owned(),
            display_name: self.display_name.clone(),
            role: self.role,
        }
    }
}

/// A username: 1–64 characters of letters, digits, `.`, `_` or `-`, stored lower-case; not
/// dots alone (browsers resolve `.` and `..` away in a path such as the administrators').
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let name = raw.trim().to_lowercase();
        let valid = !name.is_empty()
            && name.chars().count() <= 64
            && !name.chars().all(|c| c == '.')
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if valid {
            Ok(Self(name))
        } else {
            Err(UserError::InvalidUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Passwords must be long enough to be worth hashing, and bounded to cap hashing cost.
pub fn validate_password(password: &str) -> Result<(), UserError> {
    let len = password.chars().count();
    if (8..=1024).contains(&len) {
        Ok(())
    } else {
        Err(UserError::InvalidPassword)
    }
}

#[derive(Debug, Error)]
pub enum UserError {
    #[error("usernames are 1–64 letters, digits, `.`, `_` or `-`, and not dots alone")]
    InvalidUsername,
    #[error("passwords must be 8 to 1024 characters long")]
    InvalidPassword,
    #[error("the user `{0}` already exists")]
    Exists(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    /// Too many passwords are being hashed or waiting to be: try again shortly.
    #[error("too many sign-ins are being checked at once")]
    Busy,
}

/// How many Argon2 computations may run at once, and how many may wait for a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    pub concurrent: usize,
    pub queued: usize,
}

impl Default for HashingLimits {
    fn default() -> Self {
        Self {
            concurrent: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queued: 32,
        }
    }
}

/// Argon2 is slow and takes 19 MiB per hash by design. Running every sign-in's hash at
/// once would let a burst of requests exhaust memory and starve the other requests, so
/// hashes take turns, and beyond a bounded queue a sign-in is refused at once (503).
#[derive(Debug)]
pub struct HashingGate {
    turns: Semaphore,
    in_flight: AtomicUsize,
    capacity: usize,
}

impl HashingGate {
    pub fn new(limits: HashingLimits) -> Self {
        let concurrent = limits.concurrent.max(1);
        Self {
            turns: Semaphore::new(concurrent),
            in_flight: AtomicUsize::new(0),
            capacity: concurrent + limits.queued,
        }
    }

    /// Runs `work` on the blocking pool when its turn comes.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, UserError> {
        struct InFlight<'a>(&'a AtomicUsize);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.capacity {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(UserError::Busy);
        }
        let _in_flight = InFlight(&self.in_flight);
        let _turn = self
            .turns
            .acquire()
            .await
            .map_err(|e| UserError::Hashing(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| UserError::Hashing(e.to_string()))
    }
}

#[derive(Debug, Clone)]
pub struct UserRepository {
    db: Database,
    hashing: Arc<HashingGate>,
}

fn hash_password(password: &str) -> Result<String, UserError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| UserError::Hashing(e.to_string()))
}

/// A hash of nothing in particular, verified against when the username is unknown so that
/// "no such user" costs the same time as "wrong password".
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password("vigil-dummy-password").unwrap_or_default())
}

fn verify_hash(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

impl UserRepository {
    pub fn new(db: &Database, hashing: HashingLimits) -> Self {
        Self {
            db: db.clone(),
            hashing: Arc::new(HashingGate::new(hashing)),
        }
    }

    /// The account's id, if it exists.
    pub async fn id_of(&self, username: &Username) -> Result<Option<i64>, UserError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(username.as_str())
                .fetch_optional(self.db.pool())
                .await?,
        )
    }

    /// The account with this id, if it exists (a passkey names its owner by id).
    pub async fn find(&self, id: i64) -> Result<Option<User>, UserError> {
        let row: Option<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(row.map(User::stored))
    }

    /// Up to `limit` accounts whose username contains `query` (every account for an empty
    /// one), in username order. Usernames are stored lowercase, so the search is too.
    pub async fn search(&self, query: &str, limit: usize) -> Result<Vec<User>, UserError> {
        let escaped: String = query
            .trim()
            .to_lowercase()
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let rows: Vec<UserRow> = sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username LIKE $1 ESCAPE '\\' \
             ORDER BY username LIMIT $2"
        ))
        .bind(format!("%{escaped}%"))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows.into_iter().map(User::stored).collect())
    }

    /// Disables the account (`disabled`: at `now`) or enables it again; its id, if it
    /// exists. The caller ends a disabled account's sessions.
    pub async fn set_disabled(
        &self,
        username: &Username,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<Option<i64>, UserError> {
        Ok(
            sqlx::query_scalar(
                "UPDATE users SET disabled_at = $1 WHERE username = $2 RETURNING id",
            )
            .bind(disabled.then(|| now.unix_timestamp()))
            .bind(username.as_str())
            .fetch_optional(self.db.writer())
            .await?,
        )
    }

    /// Enables every account (the end-to-end suite's reset).
    pub async fn enable_everyone(&self) -> Result<(), UserError> {
        sqlx::query("UPDATE users SET disabled_at = NULL WHERE disabled_at IS NOT NULL")
            .execute(self.db.writer())
            .await?;
        Ok(())
    }

    /// Whether the account is disabled now (`false` for an account that does not exist).
    pub async fn is_disabled(&self, id: i64) -> Result<bool, UserError> {
        let disabled_at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT disabled_at FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        Ok(disabled_at.flatten().is_some())
    }

    /// Every account's id (the end-to-end suite's reset).
    pub async fn ids(&self) -> Result<Vec<i64>, UserError> {
        Ok(sqlx::query_scalar("SELECT id FROM users ORDER BY id")
            .fetch_all(self.db.pool())
            .await?)
    }

    pub async fn add(
        &self,
        username: &Username,
        display_name: &str,
        password: &str,
        role: Role,
    ) -> Result<User, UserError> {
        validate_password(password)?;
        let password = password.to_owned();
        let hash = self.hashing.run(move || hash_password(&password)).await??;
        let display_name = if display_name.trim().is_empty() {
            username.as_str().to_owned()
        } else {
            display_name.trim().to_owned()
        };
        let result: Result<i64, _> = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, created_at, role) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(username.as_str())
        .bind(&display_name)
        .bind(&hash)
        .bind(OffsetDateTime::now_utc().unix_timestamp())
        .bind(role.as_str())
        .fetch_one(self.db.writer())
        .await;
        match result {
            Ok(id) => Ok(User {
                id,
                username: username.clone(),
                display_name,
                role,
                key_version: crate::session::FIRST_KEY_VERSION,
                disabled: false,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(UserError::Exists(username.as_str().to_owned()))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn set_password(
        &self,
        username: &Username,
        password: &str,
    ) -> Result<bool, UserError> {
        validate_password(password)?;
        let password = password.to_owned();
        let hash = self.hashing.run(move || hash_password(&password)).await??;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, key_version = key_version + 1 \
             WHERE username = $2",
        )
        .bind(&hash)
        .bind(username.as_str())
        .execute(self.db.writer())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets the password of the account with this id (a change by its owner); the new
    /// version of its local-copy key, `None` if there is no such account.
    pub async fn set_password_of(
        &self,
        user_id: i64,
        password: &str,
    ) -> Result<Option<u32>, UserError> {
        validate_password(password)?;
        let password = password.to_owned();
        let hash = self.hashing.run(move || hash_password(&password)).await??;
        let version: Option<i64> = sqlx::query_scalar(
            "UPDATE users SET password_hash = $1, key_version = key_version + 1 \
             WHERE id = $2 RETURNING key_version",
        )
        .bind(&hash)
        .bind(user_id)
        .fetch_optional(self.db.writer())
        .await?;
        Ok(version.map(key_version))
    }

    /// Gives the account a role; answers whether it exists.
    pub async fn set_role(&self, username: &Username, role: Role) -> Result<bool, UserError> {
        let done = sqlx::query("UPDATE users SET role = $1 WHERE username = $2")
            .bind(role.as_str())
            .bind(username.as_str())
            .execute(self.db.writer())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Checks a username and password. Unknown users, wrong passwords and disabled accounts
    /// take the same path and get the same answer.
    pub async fn verify(&self, username: &str, password: &str) -> Result<Option<User>, UserError> {
        let row: Option<CheckedRow> = match Username::parse(username) {
            Ok(name) => {
                sqlx::query_as(&format!(
                    "SELECT password_hash, {USER_COLUMNS} FROM users WHERE username = $1"
                ))
                .bind(name.as_str())
                .fetch_optional(self.db.pool())
                .await?
            }
            Err(_) => None,
        };
        let hash = row
            .as_ref()
            .map(|(hash, ..)| hash.clone())
            .unwrap_or_else(|| dummy_hash().to_owned());
        let password = password.to_owned();
        let matches = self
            .hashing
            .run(move || verify_hash(&hash, &password))
            .await?;
        Ok(match row {
            Some((_, id, username, display_name, role, version, disabled_at)) if matches => Some(
                User::stored((id, username, display_name, role, version, disabled_at)),
            )
            .filter(|user| !user.disabled),
            _ => None,
        })
    }
}

/// A stored key version; out of range reads as the first.
fn key_version(stored: i64) -> u32 {
    u32::try_from(stored).unwrap_or(crate::session::FIRST_KEY_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_checked() {
        assert_eq!(
            Username::parse(" Ada ").map(|u| u.0).ok(),
            Some("ada".to_owned())
        );
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse(&"x".repeat(65)).is_err());
        assert!(Username::parse("..").is_err());
        assert!(Username::parse(".").is_err());
        assert!(Username::parse("a.b").is_ok());
    }

    #[test]
    fn hashes_verify_only_the_right_password() {
        let hash = hash_password("correct horse").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_hash(&hash, "correct horse"));
        assert!(!verify_hash(&hash, "wrong horse"));
        assert!(!verify_hash("garbage", "correct horse"));
    }

    #[tokio::test]
    async fn hashing_takes_turns_and_refuses_beyond_the_queue() {
        let gate = Arc::new(HashingGate::new(HashingLimits {
            concurrent: 1,
            queued: 1,
        }));
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let first = tokio::spawn({
            let gate = gate.clone();
            async move {
                gate.run(move || {
                    let _ = started.send(());
                    let _ = held.recv();
                })
                .await
            }
        });
        let _ = running.await;
        // One may wait for its turn; the next is refused at once.
        let second = tokio::spawn({
            let gate = gate.clone();
            async move { gate.run(|| 2).await }
        });
        while gate.in_flight.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(gate.run(|| 3).await, Err(UserError::Busy)));
        let _ = release.send(());
        assert!(matches!(first.await, Ok(Ok(()))));
        assert!(matches!(second.await, Ok(Ok(2))));
        // Turns free up again.
        assert!(matches!(gate.run(|| 4).await, Ok(4)));
    }
}
