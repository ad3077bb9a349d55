//! The SQLite database under the data root (`rmos.db`): connection setup and migrations.
//!
//! WAL mode so readers never block the writer, a busy timeout so concurrent rmos processes
//! wait for each other instead of failing, and pending migrations applied on open.

pub mod migrate;
pub mod pg;

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
    #[error("database {source}")]
    Link { source: std::io::Error },
    #[error("no database at {path} yet (it is created by the first command that writes there)")]
    Missing { path: PathBuf },
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
    // A database file replaced by a link would have rmos migrate (and switch to WAL)
    // whatever SQLite file the link points to.
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        crate::fsio::durable::refuse_link(Path::new(&p))
            .map_err(|source| DbError::Link { source })?;
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
            Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Open an existing database for reading only (no migration, nothing created). A WAL
/// database whose `-shm` file cannot be created (a read-only folder, no writer running)
/// is opened as immutable, which is exact while nobody writes it.
pub fn open_read_only(path: &Path) -> Result<Connection, DbError> {
    use rusqlite::OpenFlags;
    let fail = |source| DbError::Open {
        path: path.to_path_buf(),
        source,
    };
    if !path.exists() {
        return Err(DbError::Missing {
            path: path.to_path_buf(),
        });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let probe = |c: &Connection| {
        c.query_row("SELECT COUNT(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
    };
    let conn = Connection::open_with_flags(path, flags).map_err(fail)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
    if probe(&conn).is_ok() {
        return Ok(conn);
    }
    drop(conn);
    let mut uri = String::from("file:");
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'/' | b'-' | b'_' | b'.' | b'~' => uri.push(*b as char),
            b if b.is_ascii_alphanumeric() => uri.push(*b as char),
            b => uri.push_str(&format!("%{b:02X}")),
        }
    }
    uri.push_str("?immutable=1");
    let conn = Connection::open_with_flags(&uri, flags).map_err(fail)?;
    probe(&conn).map_err(fail)?;
    Ok(conn)
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

impl DbError {
    /// SQLite's error code, when SQLite is what failed.
    fn sqlite_code(&self) -> Option<rusqlite::ErrorCode> {
        let source = match self {
            DbError::Open { source, .. } | DbError::Sql { source, .. } => source,
            DbError::Migration {
                source:
                    migrate::MigrationError::Failed { source, .. }
                    | migrate::MigrationError::Bookkeeping(source),
                ..
            } => source,
            _ => return None,
        };
        source.sqlite_error_code()
    }

    /// The database could not be opened or written for lack of space (or a failing disk:
    /// SQLite reports a -shm it cannot grow as an I/O error).
    pub fn is_out_of_space(&self) -> bool {
        use rusqlite::ErrorCode as C;
        matches!(self.sqlite_code(), Some(C::DiskFull | C::SystemIoFailure))
    }

    /// Another connection holds the database (migration, WAL switch): worth a retry.
    fn is_busy(&self) -> bool {
        use rusqlite::ErrorCode as C;
        matches!(
            self.sqlite_code(),
            Some(C::DatabaseBusy | C::DatabaseLocked)
        )
    }
}
