//! A directory held open, and `lstat` of names relative to it (`fstatat`): looking up
//! many entries of one directory walks only the relative part of each path, which
//! matters when a command checks every partition of a store.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// What `lstat` says about an entry (a link is not followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryStat {
    pub is_dir: bool,
    pub is_file: bool,
    pub size: u64,
    pub mtime_ns: i64,
    pub ino: u64,
}

/// An open directory (`O_DIRECTORY | O_NOFOLLOW`: the path itself must not be a link).
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

fn c_path(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

impl Dir {
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = c_path(path)?;
        // SAFETY: c is a valid NUL-terminated path; the returned fd is owned here.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a freshly opened descriptor nobody else owns.
        Ok(Dir {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// `lstat` of `rel` (a relative path below this directory); `Ok(None)` when it does
    /// not exist.
    pub fn stat(&self, rel: &Path) -> io::Result<Option<EntryStat>> {
        if rel.is_absolute() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "expected a path relative to the directory",
            ));
        }
        let c = c_path(rel)?;
        // SAFETY: an all-zero stat is a valid value to be overwritten by fstatat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the fd is open for the lifetime of self; c is NUL-terminated; st is a
        // valid out-pointer.
        let rc = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                &mut st,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::NotFound => Ok(None),
                _ => Err(e),
            };
        }
        let kind = st.st_mode & libc::S_IFMT;
        Ok(Some(EntryStat {
            is_dir: kind == libc::S_IFDIR,
            is_file: kind == libc::S_IFREG,
            size: st.st_size as u64,
            mtime_ns: (st.st_mtime as i64)
                .saturating_mul(1_000_000_000)
                .saturating_add(st.st_mtime_nsec as i64),
            ino: st.st_ino as u64,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn stat_relative_to_an_open_directory_agrees_with_lstat() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("p")).unwrap();
        std::fs::write(dir.path().join("p/a.json"), b"{}").unwrap();
        std::os::unix::fs::symlink("a.json", dir.path().join("p/l.json")).unwrap();
        let d = Dir::open(dir.path()).unwrap();
        let s = d.stat(Path::new("p/a.json")).unwrap().unwrap();
        let m = std::fs::symlink_metadata(dir.path().join("p/a.json")).unwrap();
        assert!(s.is_file && !s.is_dir);
        assert_eq!((s.size, s.ino), (2, m.ino()));
        assert_eq!(s.mtime_ns, m.mtime() * 1_000_000_000 + m.mtime_nsec());
        let link = d.stat(Path::new("p/l.json")).unwrap().unwrap();
        assert!(!link.is_file && !link.is_dir, "a link is not followed");
        assert!(d.stat(Path::new("p")).unwrap().unwrap().is_dir);
        assert_eq!(d.stat(Path::new("p/missing.json")).unwrap(), None);
        assert!(d.stat(Path::new("/etc/passwd")).is_err());
        // The directory itself must not be a link.
        std::os::unix::fs::symlink(dir.path().join("p"), dir.path().join("q")).unwrap();
        assert!(Dir::open(&dir.path().join("q")).is_err());
    }
}
