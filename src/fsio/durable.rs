//! Durable, create-only file writes.
//!
//! Every record rmos writes goes through [`create_new`]: the bytes land in a staging file on
//! the same filesystem, are fsynced, then moved into place with a rename that refuses to
//! replace an existing file (`renameat2(RENAME_NOREPLACE)`, or `link` + `unlink` where the
//! filesystem lacks it), and finally the directory entry is fsynced. A crash at any point
//! leaves either no file or the complete file at the destination — never a partial one —
//! and an existing file is never overwritten.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What went wrong in a create-only write.
#[derive(Debug)]
pub enum CreateError {
    /// The destination already exists; nothing was written.
    Exists,
    /// An I/O step failed; `op` says which, the staging file has been removed.
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique staging file name for this process.
fn staging_name(stem: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let short: String = stem.chars().take(40).collect();
    format!(".{short}.{}.{n}.{nanos:x}.tmp", std::process::id())
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CreateError + 'a {
    move |source| CreateError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Fsync a directory so a new entry in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Create `dir` (and parents) and fsync the parents of every level that was new.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut cur = dir;
    while !cur.is_dir() {
        missing.push(cur.to_path_buf());
        match cur.parent() {
            Some(p) if !p.as_os_str().is_empty() => cur = p,
            _ => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => {
                if let Some(parent) = d.parent() {
                    if !parent.as_os_str().is_empty() {
                        sync_dir(parent)?;
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && d.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))
}

/// Rename `from` to `to` unless `to` exists. Returns `Ok(false)` when `to` exists.
pub fn rename_noreplace(from: &Path, to: &Path) -> io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        let (f, t) = (cstr(from)?, cstr(to)?);
        // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them relative to cwd.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                f.as_ptr(),
                libc::AT_FDCWD,
                t.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EEXIST) => return Ok(false),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => {}
            _ => return Err(err),
        }
    }
    // Fallback: a hard link fails atomically when the target exists.
    match fs::hard_link(from, to) {
        Ok(()) => {
            fs::remove_file(from)?;
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Bytes written and fsynced to a staging file, ready to be moved into place.
/// Dropping it without [`Staged::commit`] removes the staging file.
pub struct Staged {
    tmp: PathBuf,
    committed: bool,
}

/// Write `bytes` to a fresh staging file in `staging_dir` and fsync it. `hint` names the
/// file for people looking at a leftover after a crash.
pub fn stage(staging_dir: &Path, hint: &str, bytes: &[u8]) -> Result<Staged, CreateError> {
    // Staging folders are rmos's own: one that is a link would send the bytes elsewhere
    // (and across filesystems the final rename fails).
    refuse_link(staging_dir).map_err(io_err("use staging directory", staging_dir))?;
    ensure_dir(staging_dir).map_err(io_err("create staging directory", staging_dir))?;
    let tmp = staging_dir.join(staging_name(hint));
    let staged = Staged {
        tmp,
        committed: false,
    };
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&staged.tmp)
        .map_err(io_err("create staging file", &staged.tmp))?;
    f.write_all(bytes)
        .map_err(io_err("write staging file", &staged.tmp))?;
    f.sync_all()
        .map_err(io_err("fsync staging file", &staged.tmp))?;
    Ok(staged)
}

impl Staged {
    /// Move the staged file to `dest` unless `dest` exists, then fsync `dest`'s directory.
    pub fn commit(mut self, dest: &Path) -> Result<(), CreateError> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        ensure_dir(parent).map_err(io_err("create directory", parent))?;
        match rename_noreplace(&self.tmp, dest) {
            Ok(true) => self.committed = true,
            Ok(false) => return Err(CreateError::Exists),
            Err(e) => {
                return Err(CreateError::Io {
                    op: "move into place",
                    path: dest.to_path_buf(),
                    source: e,
                })
            }
        }
        sync_dir(parent).map_err(io_err("fsync directory", parent))
    }
}

impl Staged {
    /// Move the staged file to `dest`, replacing it atomically (for records that are
    /// updated in place, never for run artifacts), then fsync the directory.
    pub fn replace(mut self, dest: &Path) -> io::Result<()> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        ensure_dir(parent)?;
        fs::rename(&self.tmp, dest)?;
        self.committed = true;
        sync_dir(parent)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Durably create `dest` with `bytes`, staging in `staging_dir` (same filesystem).
/// Fails with [`CreateError::Exists`] if `dest` exists; never replaces a file.
pub fn create_new(staging_dir: &Path, dest: &Path, bytes: &[u8]) -> Result<(), CreateError> {
    let hint = dest
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    stage(staging_dir, &hint, bytes)?.commit(dest)
}

/// An exclusive advisory lock on a file (`flock`), released on drop. Serializes writers
/// across processes where an invariant spans more than one file.
pub struct FileLock {
    file: File,
}

impl FileLock {
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        if let Some(parent) = path.parent() {
            ensure_dir(parent)?;
        }
        // O_NOFOLLOW: a lock file replaced by a symbolic link must not create or touch a
        // file wherever the link points.
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    link_error(path)
                } else {
                    e
                }
            })?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a regular file: it cannot serve as a lock",
                    path.display()
                ),
            ));
        }
        use std::os::fd::AsRawFd;
        loop {
            // SAFETY: the descriptor is owned by `file` and open for the call's duration.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(FileLock { file });
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: as above; unlocking an owned descriptor.
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

fn link_error(path: &Path) -> io::Error {
    let target = fs::read_link(path)
        .map(|t| format!(" (to {})", t.display()))
        .unwrap_or_default();
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is a symbolic link{target}: rmos never writes through links inside its data folders; replace it with a real folder or remove it",
            path.display()
        ),
    )
}

/// Refuse when `path` itself is a symbolic link (a missing path is fine).
pub fn refuse_link(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(link_error(path)),
        _ => Ok(()),
    }
}

/// Refuse when any part of `path` below `root` is a symbolic link: what rmos creates
/// inside a data folder stays inside it. (`root` itself may be a link the user chose.)
pub fn refuse_links_below(root: &Path, path: &Path) -> io::Result<()> {
    let Ok(rel) = path.strip_prefix(root) else {
        return refuse_link(path);
    };
    let mut cur = root.to_path_buf();
    for part in rel.components() {
        cur.push(part);
        refuse_link(&cur)?;
    }
    Ok(())
}

/// Largest record file rmos reads into memory (snapshots, backups, imported assets).
pub const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;

/// Read a whole regular file of at most [`MAX_READ_BYTES`] (no symbolic link followed, no
/// FIFO or device opened: see [`super::read::open_regular`]); a larger one is an error of
/// kind `FileTooLarge` saying so, found from its size before anything is read.
pub fn read_bounded(path: &Path) -> io::Result<Vec<u8>> {
    super::read::read_regular(path, MAX_READ_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_new_refuses_existing_and_keeps_content() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("p/a.json");
        create_new(&dir.path().join("_stage"), &dest, b"one").unwrap();
        let again = create_new(&dir.path().join("_stage"), &dest, b"two");
        assert!(matches!(again, Err(CreateError::Exists)));
        assert_eq!(fs::read(&dest).unwrap(), b"one");
        // No staging leftovers.
        assert_eq!(fs::read_dir(dir.path().join("_stage")).unwrap().count(), 0);
    }
}
