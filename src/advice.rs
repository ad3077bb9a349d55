//! What to do about an operating-system or SQLite failure.
//!
//! Error messages name the thing that failed (a path, a database) and the system's reason;
//! the functions here add the next step for the failures a person can fix: a full disk, a
//! read-only filesystem, missing permissions, a damaged index. They return a fragment
//! starting with " — " (or nothing), appended to a message by the error types.

use std::io;

/// Advice for an I/O error, or "" when there is nothing better to say than the reason.
pub fn io(e: &io::Error) -> &'static str {
    match e.raw_os_error() {
        Some(libc::ENOSPC) => {
            " — the filesystem is full: free some space and run the command again (nothing partial was kept)"
        }
        Some(libc::EDQUOT) => {
            " — your disk quota is used up: free some space and run the command again (nothing partial was kept)"
        }
        Some(libc::EROFS) => {
            " — the filesystem is mounted read-only: use --data to work on a writable copy"
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            " — check the owner and mode of that path (ls -ld), or use --data to work on a copy you own"
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            " — too many open files: raise the limit (ulimit -n) and run again"
        }
        Some(libc::EIO) => " — the device reported an I/O error: check the disk (dmesg)",
        _ => "",
    }
}

/// Advice for a SQLite error on the index database `rmos.db`.
pub fn sqlite(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(C::DiskFull) => {
            " — the filesystem holding the database is full: free some space and run again (the run files are not affected; the index catches up from them)"
        }
        Some(C::ReadOnly) => {
            " — the database is read-only: SQLite needs write access to rmos.db and its folder (for rmos.db-wal and rmos.db-shm); check ownership, or use --data"
        }
        Some(C::CannotOpen) => {
            " — the data root must exist and be writable (SQLite creates rmos.db-wal beside it); choose another with --data"
        }
        Some(C::PermissionDenied) => {
            " — check the owner and mode of rmos.db and its folder, or use --data"
        }
        Some(C::DatabaseCorrupt) | Some(C::NotADatabase) => {
            " — the index database is damaged: `rmos index rebuild` recreates it from the run files (review decisions live in the same file: keep a copy first)"
        }
        Some(C::SystemIoFailure) => {
            " — the disk reported an I/O error (or is full): check free space and dmesg"
        }
        Some(C::DatabaseBusy) | Some(C::DatabaseLocked) => {
            " — another rmos process held the database too long: run again"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixable_failures_get_a_next_step() {
        let full = io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(io(&full).contains("free some space"));
        let denied = io::Error::from_raw_os_error(libc::EACCES);
        assert!(io(&denied).contains("ls -ld"));
        let other = io::Error::from_raw_os_error(libc::EINVAL);
        assert_eq!(io(&other), "");
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        assert!(sqlite(&full).contains("full"));
        let corrupt = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            None,
        );
        assert!(sqlite(&corrupt).contains("rmos index rebuild"));
    }
}
