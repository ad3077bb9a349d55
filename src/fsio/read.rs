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
    let mut bytes = Vec::new();
    read_regular_into(path, limit, &mut bytes)?;
    Ok(bytes)
}

/// [`read_regular`] into `buf` (cleared first): a worker reading many files reuses one
/// allocation.
pub fn read_regular_into(path: &Path, limit: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    let file = open_regular(path)?;
    let len = file.metadata()?.len();
    read_at_most_into(file, Some(len), limit, buf)
}

/// Read at most `limit` bytes from `r`; more is an error of kind `FileTooLarge`.
pub fn read_at_most(r: impl Read, size_hint: Option<u64>, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    read_at_most_into(r, size_hint, limit, &mut bytes)?;
    Ok(bytes)
}

fn read_at_most_into(
    r: impl Read,
    size_hint: Option<u64>,
    limit: u64,
    bytes: &mut Vec<u8>,
) -> io::Result<()> {
    if let Some(len) = size_hint.filter(|&l| l > limit) {
        return Err(too_large(len, limit));
    }
    bytes.clear();
    // One byte over the size, so the read that finds the end needs no second allocation.
    bytes.reserve((size_hint.unwrap_or(0).min(limit) as usize).saturating_add(1));
    r.take(limit + 1).read_to_end(bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64, limit));
    }
    Ok(())
}

fn too_large(len: u64, limit: u64) -> io::Error {
    let size = if limit >= 1024 * 1024 {
        format!("{} MB", limit / (1024 * 1024))
    } else {
        format!("{limit}-byte")
    };
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!("{len} bytes or more, over the {size} limit rmos reads"),
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
    let hint = meta.is_file().then_some(meta.len());
    read_at_most(file, hint, limit)
}

/// Memory a parsed JSON document may take beyond its bytes: the file's size twice over,
/// plus this much (so small files are never refused).
pub const JSON_MEMORY_ALLOWANCE: u64 = 40 * 1024 * 1024;

/// What parsing costs, measured on this build (serde_json `Value` with ordered maps and
/// numbers kept as text): an element of an array (its slot with growth slack, a number's
/// text), an object (its ordered map and hash table), an object entry (key and value), an
/// array. Rounded up, so the estimate errs on the side of refusing.
const COST_ELEMENT: u64 = 112;
const COST_OBJECT: u64 = 384;
const COST_ENTRY: u64 = 96;
const COST_ARRAY: u64 = 32;

/// Refuse a JSON document whose parsed form would need far more memory than its size: one
/// pass over the bytes (no allocation beyond a nesting stack) estimates the parsed size and
/// compares it with `2 × size + 40 MB`. Ordinary records are far below (a 30 KB artifact
/// has a few hundred values); a 63 MB file of empty arrays (21 million values, gigabytes
/// parsed) is refused with the count. This keeps any accepted parse within about
/// 4 × the file size + 50 MB of peak memory.
pub fn check_json_budget(bytes: &[u8]) -> Result<(), JsonTooCostly> {
    let cost = json_parse_cost(bytes);
    let budget = 2 * bytes.len() as u64 + JSON_MEMORY_ALLOWANCE;
    if cost > budget {
        return Err(JsonTooCostly {
            bytes: bytes.len() as u64,
            cost,
            budget,
        });
    }
    Ok(())
}

/// A JSON document refused by [`check_json_budget`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the JSON ({bytes} bytes) would need about {} MB of memory to load, over the {} MB rmos allows for a file of that size (millions of tiny values): refused",
    cost / (1024 * 1024),
    budget / (1024 * 1024)
)]
pub struct JsonTooCostly {
    pub bytes: u64,
    /// The estimated parsed size, bytes.
    pub cost: u64,
    pub budget: u64,
}

/// Estimated bytes a parsed form of the JSON text takes (see [`check_json_budget`]).
/// Malformed text gives some estimate; the parser reports what is wrong afterwards.
pub fn json_parse_cost(bytes: &[u8]) -> u64 {
    // true = inside an object, false = inside an array
    let mut stack: Vec<bool> = Vec::new();
    let mut cost: u64 = COST_ELEMENT;
    let mut in_string = false;
    let mut escaped = false;
    let mut just_opened = false;
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
            b'{' => {
                cost += COST_OBJECT;
                stack.push(true);
                just_opened = true;
                continue;
            }
            b'[' => {
                cost += COST_ARRAY;
                stack.push(false);
                just_opened = true;
                continue;
            }
            b']' | b'}' => {
                stack.pop();
            }
            b',' => match stack.last() {
                Some(true) => cost += COST_ENTRY,
                _ => cost += COST_ELEMENT,
            },
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => {}
        }
        // The first member of a container (anything but its closing bracket).
        if just_opened {
            just_opened = false;
            if b != b']' && b != b'}' {
                match stack.last() {
                    Some(true) => cost += COST_ENTRY,
                    _ => cost += COST_ELEMENT,
                }
            }
        }
    }
    cost.saturating_add(bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_count_structure_outside_strings_only() {
        let base = |b: &[u8]| json_parse_cost(b) - b.len() as u64;
        assert_eq!(base(b"1"), COST_ELEMENT);
        assert_eq!(base(b"[]"), COST_ELEMENT + COST_ARRAY);
        assert_eq!(base(b"[1,2,3]"), 4 * COST_ELEMENT + COST_ARRAY);
        assert_eq!(base(b"[ 1 ]"), 2 * COST_ELEMENT + COST_ARRAY);
        assert_eq!(
            base(br#"{"a,b:[{": 1}"#),
            COST_ELEMENT + COST_OBJECT + COST_ENTRY
        );
        assert_eq!(base(br#"["\",[", 2]"#), 3 * COST_ELEMENT + COST_ARRAY);
        assert_eq!(base(b"{}"), COST_ELEMENT + COST_OBJECT);
    }

    #[test]
    fn budget_refuses_amplifying_documents_only() {
        let mut nested = b"[".to_vec();
        for _ in 0..2_000_000 {
            nested.extend_from_slice(b"[],");
        }
        nested.extend_from_slice(b"[]]");
        let err = check_json_budget(&nested).unwrap_err();
        assert!(err.to_string().contains("values"), "{err}");
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
