//! The SQLite database under the data root (`rmos.db`): connection setup and migrations.
//!
//! WAL mode so readers never block the writer, a busy timeout so concurrent rmos processes
//! wait for each other instead of failing, and pending migrations applied on open.

pub mod migrate;

use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// Errors opening or preparing the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {source} (the data root must exist and be writable; choose another with --data)")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the data root {path}: {source}")]
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
    #[error("database {path}: {source}")]
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
    conn.pragma_update(None, "temp_store", "MEMORY")
        .map_err(open)?;
    conn.pragma_update(None, "cache_size", -16_000)
        .map_err(open)?;
    Ok(conn)
}

/// Open the database and apply pending migrations.
pub fn open(path: &Path) -> Result<Connection, DbError> {
    let mut conn = connect(path)?;
    migrate::migrate(&mut conn, &migrate::embedded(), false).map_err(|source| {
        DbError::Migration {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(conn)
}
