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
    #[error("the database {path} was {what} while rmos was running; nothing was written to it since. Restart rmos (a console keeps showing what it had read)")]
    Replaced { path: PathBuf, what: &'static str },
}

/// The databases this process has opened, with the file each was (device, inode).
///
/// SQLite keeps one lock and shared-memory record per database *file* in a process. If
/// the file is deleted or replaced while connections are open, a new connection would
/// open another file under the same name and share its `-shm` with the old connections
/// under a separate record: it finds no other process's lock on that `-shm`, resets it,
/// and the old connections crash on their next read (SIGBUS). So a process never opens
/// a database whose file changed, or reappears under a name it had, until it forgets the
/// name ([`forget`], for a deliberate reset such as `rmos demo --fresh`).
static OPENED: std::sync::Mutex<Vec<(PathBuf, u64, u64)>> = std::sync::Mutex::new(Vec::new());

fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Refuse to open `path` if this process opened another file under that name before.
fn check_same_file(path: &Path) -> Result<(), DbError> {
    let opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    let Some((_, dev, ino)) = opened.iter().find(|(p, _, _)| p == path) else {
        return Ok(());
    };
    let what = match file_id(path) {
        Some(id) if id == (*dev, *ino) => return Ok(()),
        Some(_) => "replaced by another file",
        None => "deleted",
    };
    Err(DbError::Replaced {
        path: path.to_path_buf(),
        what,
    })
}

fn remember(path: &Path) {
    if let Some((dev, ino)) = file_id(path) {
        let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
        if !opened.iter().any(|(p, _, _)| p == path) {
            opened.push((path.to_path_buf(), dev, ino));
        }
    }
}

/// Forget that this process opened `path` (its connections are closed and the file is
/// about to be deleted on purpose): the next open may create it afresh.
pub fn forget(path: &Path) {
    let mut opened = OPENED.lock().unwrap_or_else(|e| e.into_inner());
    opened.retain(|(p, _, _)| p != path);
}

/// How long a connection waits for another process's write lock.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Open a connection with rmos's settings, without migrating.
pub fn connect(path: &Path) -> Result<Connection, DbError> {
    check_same_file(path)?;
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
    // Checked again now that the file exists (it may have been replaced meanwhile).
    check_same_file(path)?;
    remember(path);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database deleted or replaced under an open connection is never opened again by
    /// the same process (that would reset the `-shm` the old connection still maps: a
    /// SIGBUS on its next read); a deliberate reset forgets the name first.
    #[test]
    fn a_database_removed_or_replaced_while_open_is_not_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/rmos.db");
        let first = open(&path).unwrap();
        first
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert!(connect(&path).is_ok(), "the same file opens again");

        std::fs::remove_file(&path).unwrap();
        let err = connect(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DbError::Replaced {
                    what: "deleted",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("Restart rmos"), "{err}");
        assert!(!path.exists(), "no new database was created");

        std::fs::write(&path, b"").unwrap();
        let err = open(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DbError::Replaced {
                    what: "replaced by another file",
                    ..
                }
            ),
            "{err}"
        );
        // The old connection still reads what it had.
        let n: i64 = first
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);

        drop(first);
        std::fs::remove_file(&path).unwrap();
        forget(&path);
        assert!(
            open(&path).is_ok(),
            "after forgetting, a fresh database is created"
        );
    }
}
