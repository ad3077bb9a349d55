//! Reading files that came from outside: bounded in size, bounded in memory, and never a
//! trap.
//!
//! Anyone who can write a data root (or hand over a folder to import) chooses what rmos
//! reads. So every read of such a file here:
//! - opens the path without following a final symbolic link (`O_NOFOLLOW`) and without
//!   blocking (`O_NONBLOCK`: a FIFO named like a record would otherwise wait forever), then
//!   checks with `fstat` on the open descriptor that it is a regular file — a FIFO, socket,
//!   device or directory is refused with what it is;
//! - refuses a file over the caller's limit from its size, before reading, and never reads
//!   more than the limit even if the file grows meanwhile;
//! - (for JSON) estimates what the parsed document would cost in memory before parsing
//!   ([`check_json_budget`]), so a small file of millions of tiny values (`[[],[],…]`)
//!   cannot make rmos allocate gigabytes.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Open `path` for reading if, and only if, it is a regular file reached without following
/// a symbolic link. Errors say what the path is instead.
pub fn open_regular(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link: not followed (records must be regular files)",
            ),
            Some(libc::ENXIO) => io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a socket or a FIFO without a writer, not a regular file: not read",
            ),
            _ => e,
        })?;
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        let what = if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO (named pipe)"
        } else if t.is_socket() {
            "a socket"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {what}, not a regular file: not read"),
        ));
    }
    // A regular file never blocks; clear the flag so reads behave as usual.
    use std::os::fd::AsRawFd;
    // SAFETY: fcntl on a descriptor owned by `file`, open for the duration of the calls.
    unsafe {
        let fd = file.as_raw_fd();
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// The whole content of a regular file of at most `limit` bytes (see [`open_regular`]).
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    read_at_most(file, Some(len), limit)
}

/// Read at most `limit` bytes from `r`; more is an error of kind `FileTooLarge`.
pub fn read_at_most(r: impl Read, size_hint: Option<u64>, limit: u64) -> io::Result<Vec<u8>> {
    if let Some(len) = size_hint.filter(|&l| l > limit) {
        return Err(too_large(len, limit));
    }
    let mut bytes = Vec::with_capacity(size_hint.unwrap_or(0).min(limit) as usize);
    r.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

fn too_large(len: u64, limit: u64) -> io::Error {
    let shown = if len > limit {
        format!("over {limit} bytes")
    } else {
        format!("{len} bytes")
    };
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "{shown}, over the {} MB limit rmos reads",
            limit / (1024 * 1024)
        ),
    )
}

/// A file the user named on the command line (or `-`): symbolic links are followed (the
/// user chose the path) and pipes are read (`<(cmd)`), but a directory is refused and at
/// most `limit` bytes are read.
pub fn read_user_input(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is a directory: name a file",
        ));
    }
    let hint = meta.is_file().then(|| meta.len());
    read_at_most(file, hint, limit)
}

/// Memory a parsed JSON document may take beyond its bytes: the file's size three times
/// over, plus this much (so small files are never refused).
pub const JSON_MEMORY_ALLOWANCE: u64 = 40 * 1024 * 1024;

/// What one parsed JSON value costs at most (the `Value` itself, its slot in the parent
/// container with growth slack, the key of an object entry, the number's text).
const BYTES_PER_VALUE: u64 = 160;

/// Refuse a JSON document whose parsed form would need far more memory than its size:
/// counts the values (one pass, no allocation) and compares `values × 160 bytes` with
/// `3 × size + 40 MB`. Ordinary records are nowhere near (a 30 KB artifact has a few
/// hundred values); a 63 MB file of empty arrays (21 million values, several GB parsed) is
/// refused with the count. Keeps a parse within about 4× the file size + 50 MB.
pub fn check_json_budget(bytes: &[u8]) -> Result<(), String> {
    let values = count_json_values(bytes);
    let cost = values.saturating_mul(BYTES_PER_VALUE);
    let budget = 3 * bytes.len() as u64 + JSON_MEMORY_ALLOWANCE;
    if cost > budget {
        return Err(format!(
            "the JSON holds {values} values in {} bytes; parsing it would need about {} MB of memory (limit {} MB): refused",
            bytes.len(),
            cost / (1024 * 1024),
            budget / (1024 * 1024)
        ));
    }
    Ok(())
}

/// Count the values of a JSON text (containers, scalars and object keys) without parsing
/// it: separators and openers outside strings. Malformed text gives some count; the parser
/// reports what is wrong with it afterwards.
pub fn count_json_values(bytes: &[u8]) -> u64 {
    let mut n: u64 = 1;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            // Each opener starts a first element; each comma another; each colon a value
            // after its key (the key counted by the comma or opener before it).
            b'[' | b'{' | b',' | b':' => n += 1,
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_values_outside_strings_only() {
        assert_eq!(count_json_values(b"1"), 1);
        assert_eq!(count_json_values(b"[]"), 2);
        assert_eq!(count_json_values(b"[1,2,3]"), 4);
        assert_eq!(count_json_values(br#"{"a,b:[{": 1}"#), 3);
        assert_eq!(count_json_values(br#"["\",[", 2]"#), 3);
    }

    #[test]
    fn budget_refuses_amplifying_documents_only() {
        let mut nested = b"[".to_vec();
        for _ in 0..2_000_000 {
            nested.extend_from_slice(b"[],");
        }
        nested.extend_from_slice(b"[]]");
        let err = check_json_budget(&nested).unwrap_err();
        assert!(err.contains("values"), "{err}");
        // An ordinary record with a long toolpath passes.
        let points: Vec<String> = (0..50_000)
            .map(|i| format!("[{}.125, {}.5, -1.75]", i, i * 2))
            .collect();
        let doc = format!("{{\"toolpath\": [{}]}}", points.join(", "));
        check_json_budget(doc.as_bytes()).unwrap();
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("run_x.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid path; mkfifo creates a FIFO or fails.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let err = read_regular(&fifo, 1024).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        let link = dir.path().join("link.json");
        std::fs::write(dir.path().join("real.json"), b"{}").unwrap();
        std::os::unix::fs::symlink(dir.path().join("real.json"), &link).unwrap();
        let err = read_regular(&link, 1024).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        let err = read_regular(dir.path(), 1024).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b' '; 2048]).unwrap();
        let err = read_regular(&big, 1024).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::FileTooLarge);
    }
}
