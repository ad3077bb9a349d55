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

/// What a directory listing says an entry is (`d_type`), without a `stat` when the file
/// system says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    Dir,
    /// Anything else that is known: a file, a link, a FIFO, a socket, a device.
    NotDir,
    /// The file system does not say (`DT_UNKNOWN`): `lstat` the entry to know.
    Unknown,
}

/// Call `f(name, inode, kind)` for every entry of the folder at `path` except `.` and `..`,
/// in the order the file system lists them, without allocating per entry (the names are
/// borrowed from the listing buffer). For folders of 100,000 entries, where `read_dir`'s
/// three allocations per entry dominate.
pub fn for_each_entry(path: &Path, mut f: impl FnMut(&[u8], u64, EntryKind)) -> io::Result<()> {
    let c = c_path(path)?;
    // SAFETY: c is a valid NUL-terminated path; the stream is closed below.
    let dirp = unsafe { libc::opendir(c.as_ptr()) };
    if dirp.is_null() {
        return Err(io::Error::last_os_error());
    }
    struct Close(*mut libc::DIR);
    impl Drop for Close {
        fn drop(&mut self) {
            // SAFETY: the stream opened above, closed once.
            unsafe { libc::closedir(self.0) };
        }
    }
    let _close = Close(dirp);
    loop {
        set_errno(0);
        // SAFETY: dirp is an open stream; the entry stays valid until the next readdir.
        let ent = unsafe { libc::readdir(dirp) };
        if ent.is_null() {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(0) | None => Ok(()),
                _ => Err(e),
            };
        }
        // SAFETY: readdir returned a valid entry with a NUL-terminated name.
        let (name, ino, ty) = unsafe {
            let ent = &*ent;
            (
                std::ffi::CStr::from_ptr(ent.d_name.as_ptr()).to_bytes(),
                ent.d_ino as u64,
                ent.d_type,
            )
        };
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match ty {
            libc::DT_DIR => EntryKind::Dir,
            libc::DT_UNKNOWN => EntryKind::Unknown,
            _ => EntryKind::NotDir,
        };
        f(name, ino, kind);
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_errno(v: i32) {
    // SAFETY: the thread's errno location is always valid.
    unsafe { *libc::__errno_location() = v };
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn set_errno(v: i32) {
    // SAFETY: the thread's errno location is always valid.
    unsafe { *libc::__error() = v };
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

    #[test]
    fn listing_names_every_entry_with_its_inode_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for i in 0..3000 {
            std::fs::write(dir.path().join(format!("f{i}.json")), b"").unwrap();
        }
        std::os::unix::fs::symlink("f1.json", dir.path().join("l.json")).unwrap();
        let mut seen = Vec::new();
        for_each_entry(dir.path(), |n, ino, k| {
            seen.push((String::from_utf8(n.to_vec()).unwrap(), ino, k))
        })
        .unwrap();
        seen.sort();
        let mut expected: Vec<(String, u64, bool)> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                use std::os::unix::fs::DirEntryExt;
                let is_dir = e.file_type().unwrap().is_dir();
                (e.file_name().into_string().unwrap(), e.ino(), is_dir)
            })
            .collect();
        expected.sort();
        assert_eq!(seen.len(), 3002);
        for ((n, ino, k), (en, eino, edir)) in seen.iter().zip(&expected) {
            assert_eq!((n, ino), (en, eino));
            if *k != EntryKind::Unknown {
                assert_eq!(*k == EntryKind::Dir, *edir, "{n}");
            }
        }
        assert!(for_each_entry(&dir.path().join("missing"), |_, _, _| {}).is_err());
    }
}
