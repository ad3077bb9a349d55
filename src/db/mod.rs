//! The SQLite database under the data root (`rmos.db`): connection setup and migrations.
//!
//! WAL mode so readers never block the writer, a busy timeout so concurrent rmos processes
//! wait for each other instead of failing, and pending migrations applied on open.

pub mod migrate;

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Advice for a failed open: the specific one when SQLite says why, else the usual cause.
fn open_advice(e: &rusqlite::Error) -> &'static str {
    match crate::advice::sqlite(e) {
        "" => " — the data root must exist and be writable; choose another with --data",
        specific => specific,
    }
}

/// Errors opening or preparing the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {source}{}", open_advice(.source))]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the data root {path}: {source}{}", crate::advice::io(.source))]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path}: {source}")]
    Migration {
        path: PathBuf,
        #[source]
        source: migrate::MigrationError,
    },
    #[error("database {path}: {source}{}", crate::advice::sqlite(.source))]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

/// How long a connection waits for another process's write lock.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Open a connection with rmos's settings, without migrating.
pub fn connect(path: &Path) -> Result<Connection, DbError> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|source| DbError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
    }
    let open = |source| DbError::Open {
        path: path.to_path_buf(),
        source,
    };
    let conn = Connection::open(path).map_err(open)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(open)?;
    conn.pragma_update(None, "cache_size", -16_000)
        .map_err(open)?;
    // Sorts (CREATE INDEX at a million rows) spill to temporary files instead of memory:
    // this keeps a rebuild's footprint near the cache size (37 MB instead of 120 MB).
    conn.pragma_update(None, "temp_store", "FILE")
        .map_err(open)?;
    Ok(conn)
}

/// Open the database and apply pending migrations.
///
/// Several processes (or the console's workers) may open a fresh database at the same
/// moment; switching it to WAL and creating the schema then contend for locks in ways the
/// busy timeout does not always cover, so a busy/locked failure is retried for up to
/// [`BUSY_TIMEOUT`].
pub fn open(path: &Path) -> Result<Connection, DbError> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match try_open(path) {
            Err(e) if is_busy(&e) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn try_open(path: &Path) -> Result<Connection, DbError> {
    let mut conn = connect(path)?;
    migrate::migrate(&mut conn, &migrate::embedded(), false).map_err(|source| {
        DbError::Migration {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(conn)
}

fn is_busy(e: &DbError) -> bool {
    let sql = match e {
        DbError::Open { source, .. } | DbError::Sql { source, .. } => Some(source),
        DbError::Migration {
            source: migrate::MigrationError::Failed { source, .. },
            ..
        } => Some(source),
        DbError::Migration {
            source: migrate::MigrationError::Bookkeeping(source),
            ..
        } => Some(source),
        _ => None,
    };
    sql.and_then(|s| s.sqlite_error_code()).is_some_and(|c| {
        matches!(
            c,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        )
    })
}
