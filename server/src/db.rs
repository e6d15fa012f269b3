//! The database of users, work and audit (and of sessions, with the embedded store):
//! SQLite by default, Postgres when several instances share it. Both run the same queries
//! through sqlx's `Any` driver (`$n` parameters, `RETURNING`, `ON CONFLICT`, which both
//! understand); only the migrations, and how a read-modify-write transaction begins, differ.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Any, AnyPool, Executor, Transaction};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DbError {
    #[error("VIGIL_DATABASE_URL is not a usable database URL: {0}")]
    Url(#[source] sqlx::Error),
    #[error("VIGIL_DATABASE_URL must start with sqlite:, postgres: or postgresql:")]
    Scheme,
    #[error("could not create the database directory {0}: {1}")]
    Directory(String, #[source] std::io::Error),
    #[error("could not open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("could not migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("could not read which migrations the database has: {0}")]
    Inspect(#[source] sqlx::Error),
    #[error("the database has migration {0}, which this build does not know: it is newer than this binary")]
    Newer(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(database_url: &str) -> Option<Self> {
        let scheme = database_url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Self::Sqlite),
            "postgres" | "postgresql" => Some(Self::Postgres),
            _ => None,
        }
    }
}

/// The pools of one database and which engine is behind them.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    /// Where every write goes. On a SQLite file, one connection of its own: SQLite admits
    /// one writer at a time, and writers queued for this connection take their turn in
    /// order as soon as it is free, where SQLite's busy handler would poll the lock with
    /// sleeps of 1, 2, 5 … ms (the long tail of autosaves under load). Otherwise the same
    /// pool as reads.
    writer: AnyPool,
    /// On a SQLite file, the connection that moves the write-ahead log into the database in
    /// the background ([`Database::checkpoint`]); the writer never does it itself.
    checkpointer: Option<AnyPool>,
    backend: Backend,
}

impl Database {
    /// For reads (and, on Postgres, everything).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For writes: statements that insert, update or delete, and transactions that do.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A transaction that reads and then writes, on the writer. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`), so a writer in another process (the command line)
    /// waits behind the busy timeout instead of failing when it upgrades; on Postgres the
    /// writes themselves are conditional.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// Moves what the write-ahead log holds into the SQLite file, without waiting for or
    /// holding up anyone (`PASSIVE`). SQLite would otherwise do it inside the commit that
    /// takes the log past 1,000 pages, copying and syncing megabytes while that request (and
    /// every writer queued behind it) waits: under a steady stream of autosaves, most of their
    /// slowest answers. `None` where there is nothing to do (Postgres, an in-memory database).
    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, sqlx::Error> {
        let Some(checkpointer) = &self.checkpointer else {
            return Ok(None);
        };
        let (busy, log, moved): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(checkpointer)
            .await?;
        Ok(Some(Checkpoint {
            busy: busy != 0,
            log_pages: log,
            moved_pages: moved,
        }))
    }

    /// Answers whether the database answers (for `/health/ready`).
    pub async fn check(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.close().await;
        }
        self.pool.close().await;
    }
}

/// What one background checkpoint found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Another checkpoint was running (this one did nothing).
    pub busy: bool,
    /// Pages in the write-ahead log.
    pub log_pages: i64,
    /// Of them, pages now in the database file.
    pub moved_pages: i64,
}

/// Which connections a pool holds: the writer leaves checkpoints to the background.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Reads,
    Writer,
}

/// The database file a SQLite URL names; `None` for Postgres or an in-memory database.
pub fn database_file(database_url: &str) -> Option<PathBuf> {
    if Backend::of(database_url) != Some(Backend::Sqlite) {
        return None;
    }
    let options = SqliteConnectOptions::from_str(database_url).ok()?;
    let memory = database_url.contains(":memory:") || database_url.contains("mode=memory");
    (!memory).then(|| options.get_filename().to_path_buf())
}

/// What [`inspect`] found, without changing anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    pub backend: Backend,
    /// The SQLite file [`connect`] would create at the first start, when there is none yet.
    pub missing_file: Option<PathBuf>,
    /// Migrations already applied, and those [`connect`] would apply.
    pub applied: usize,
    pub pending: usize,
}

/// The migrations this build applies to `backend`.
fn migrator(backend: Backend) -> sqlx::migrate::Migrator {
    match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    }
}

/// Reaches the database and reads which migrations it has, creating and migrating nothing
/// (`server check`): a SQLite file is opened read-only, and a missing one is reported.
pub async fn inspect(database_url: &str, timeout: Duration) -> Result<Inspection, DbError> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let backend = Backend::of(database_url).ok_or(DbError::Scheme)?;
    let known = migrator(backend);
    let url = match (backend, database_file(database_url)) {
        (Backend::Sqlite, Some(file)) if !file.exists() => {
            return Ok(Inspection {
                backend,
                missing_file: Some(file),
                applied: 0,
                pending: known.iter().count(),
            })
        }
        (Backend::Sqlite, Some(file)) => format!("sqlite://{}?mode=ro", file.display()),
        _ => database_url.to_owned(),
    };
    let options = AnyConnectOptions::from_str(&url).map_err(DbError::Url)?;
    let pool = open_pool(backend, &options, 1, timeout, Role::Reads).await?;
    let applied: Result<Vec<(i64,)>, sqlx::Error> =
        sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&pool)
            .await;
    pool.close().await;
    let applied = match applied {
        Ok(rows) => rows
            .into_iter()
            .map(|(version,)| version)
            .collect::<Vec<_>>(),
        // A database nothing was migrated in yet has no such table.
        Err(sqlx::Error::Database(err)) if err.message().contains("_sqlx_migrations") => Vec::new(),
        Err(err) => return Err(DbError::Inspect(err)),
    };
    if let Some(unknown) = applied
        .iter()
        .find(|version| !known.iter().any(|m| m.version == **version))
    {
        return Err(DbError::Newer(*unknown));
    }
    let pending = known
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count();
    Ok(Inspection {
        backend,
        missing_file: None,
        applied: applied.len(),
        pending,
    })
}

/// Opens the database (creating a SQLite file and its directory on first use) and brings
/// its schema up to date. `timeout` bounds waiting for a connection and, on Postgres, every
/// statement, so an engine that stops answering makes requests fail instead of hang.
pub async fn connect(database_url: &str, timeout: Duration) -> Result<Database, DbError> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
    let backend = Backend::of(database_url).ok_or(DbError::Scheme)?;
    let url = match backend {
        Backend::Sqlite => sqlite_url(database_url)?,
        Backend::Postgres => database_url.to_owned(),
    };
    let options = AnyConnectOptions::from_str(&url).map_err(DbError::Url)?;
    let connections = match backend {
        Backend::Sqlite => 8,
        Backend::Postgres => 16,
    };
    let pool = open_pool(backend, &options, connections, timeout, Role::Reads).await?;
    migrator(backend).run(&pool).await?;
    // An in-memory database exists once per connection: it cannot have a writer apart.
    let (writer, checkpointer) =
        if backend == Backend::Sqlite && database_file(database_url).is_some() {
            (
                open_pool(backend, &options, 1, timeout, Role::Writer).await?,
                Some(open_pool(backend, &options, 1, timeout, Role::Reads).await?),
            )
        } else {
            (pool.clone(), None)
        };
    Ok(Database {
        pool,
        writer,
        checkpointer,
        backend,
    })
}

async fn open_pool(
    backend: Backend,
    options: &AnyConnectOptions,
    connections: u32,
    timeout: Duration,
    role: Role,
) -> Result<AnyPool, DbError> {
    AnyPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                match backend {
                    Backend::Sqlite => {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        if role == Role::Writer {
                            // Checkpoints run in the background (`Database::checkpoint`); a
                            // log that grew large under load shrinks back once moved.
                            conn.execute(
                                "PRAGMA wal_autocheckpoint = 0; \
                                 PRAGMA journal_size_limit = 67108864;",
                            )
                            .await?;
                        }
                    }
                    Backend::Postgres => {
                        let ms = timeout.as_millis().max(1);
                        conn.execute(format!("SET statement_timeout = {ms}").as_str())
                            .await?;
                    }
                }
                Ok(())
            })
        })
        .connect_with(options.clone())
        .await
        .map_err(DbError::Connect)
}

/// The URL with the file created when missing, and its directory made.
fn sqlite_url(database_url: &str) -> Result<String, DbError> {
    let options = SqliteConnectOptions::from_str(database_url).map_err(DbError::Url)?;
    let path = options.get_filename();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| DbError::Directory(dir.display().to_string(), e))?;
    }
    Ok(if database_url.contains("mode=") {
        database_url.to_owned()
    } else if database_url.contains('?') {
        format!("{database_url}&mode=rwc")
    } else {
        format!("{database_url}?mode=rwc")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `rows` rows of about a page each through the writer, one commit each.
    async fn write_pages(db: &Database, rows: usize) {
        sqlx::query("CREATE TABLE IF NOT EXISTS filler (body TEXT NOT NULL)")
            .execute(db.writer())
            .await
            .expect("table");
        let body = "x".repeat(4000);
        for _ in 0..rows {
            sqlx::query("INSERT INTO filler (body) VALUES ($1)")
                .bind(&body)
                .execute(db.writer())
                .await
                .expect("insert");
        }
    }

    async fn checkpoint_file(db: &Database) -> Checkpoint {
        db.checkpoint()
            .await
            .expect("checkpoint")
            .expect("a SQLite file")
    }

    #[tokio::test]
    async fn sqlite_commits_leave_the_log_to_the_background_checkpoint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("vigil.db").display());
        let db = connect(&url, Duration::from_secs(5))
            .await
            .expect("database");
        // Past the 1,000 pages at which a commit would have checkpointed by itself.
        write_pages(&db, 1_200).await;
        let first = checkpoint_file(&db).await;
        assert!(!first.busy);
        assert!(first.log_pages > 1_000, "{first:?}");
        assert_eq!(first.moved_pages, first.log_pages, "{first:?}");
        // Moved once, the log starts over with the next commit.
        write_pages(&db, 10).await;
        let second = checkpoint_file(&db).await;
        assert!(second.log_pages < 100, "{second:?}");
        assert_eq!(second.moved_pages, second.log_pages);
    }

    #[tokio::test]
    async fn an_in_memory_database_has_nothing_to_checkpoint() {
        let db = connect("sqlite::memory:", Duration::from_secs(5))
            .await
            .expect("database");
        assert_eq!(db.checkpoint().await.expect("checkpoint"), None);
    }
}
