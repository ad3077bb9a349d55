//! The date-partitioned run artifact store (`runs/rmos/YYYY-MM-DD/<run_id>.json`).
//!
//! Files are the record. Writes are durable and create-only: a run_id that exists in *any*
//! partition is refused, so an artifact is never overwritten nor duplicated across days
//! (the reference only checks the target partition). Reads tolerate everything the
//! reference writes; a file that does not parse or validate is reported with its path and
//! reason, never fatal and never touched.

use crate::domain::{AdvisoryInputRef, RunArtifact};
use crate::fsio::durable::{self, CreateError, FileLock};
use crate::text::shorten;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Largest artifact file rmos reads or writes. The reference keeps inline G-code under
/// ~200 KB by convention; anything near this limit belongs in an attachment.
pub const MAX_ARTIFACT_BYTES: u64 = 64 * 1024 * 1024;

/// Longest run_id rmos accepts (file names are limited to 255 bytes).
pub const MAX_RUN_ID_LEN: usize = 128;

/// Name of rmos's private directory inside the runs root. Like every `_`-prefixed directory
/// it is never a partition, for the reference as for rmos.
pub const PRIVATE_DIR: &str = "_rmos";

/// Errors of the run store. Every message names the run or file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("run_id {run_id} already exists in partition {partition} ({path}): artifacts are immutable, record a new run instead")]
    AlreadyExists {
        run_id: String,
        partition: String,
        path: PathBuf,
    },
    #[error("invalid run_id {shown}: {reason}")]
    InvalidRunId { shown: String, reason: String },
    #[error("run {run_id} not found in {root} (no partition holds {run_id}.json)")]
    NotFound { run_id: String, root: PathBuf },
    #[error("run {run_id} exists at {path} but is not a valid artifact: {reason}")]
    Invalid {
        run_id: String,
        path: PathBuf,
        reason: String,
    },
    #[error("artifact {run_id} would be {size} bytes, over the {limit}-byte limit: store large outputs (G-code, plans) as attachments")]
    TooLarge {
        run_id: String,
        size: u64,
        limit: u64,
    },
    #[error("cannot {op} {path}: {source}{}", crate::advice::io(.source))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl StoreError {
    /// The store itself cannot be written (full disk, read-only filesystem, missing
    /// permissions): every further write will fail the same way, so batch work stops.
    pub fn is_environmental(&self) -> bool {
        match self {
            StoreError::Io { source, .. } => matches!(
                source.raw_os_error(),
                Some(
                    libc::ENOSPC
                        | libc::EDQUOT
                        | libc::EROFS
                        | libc::EACCES
                        | libc::EPERM
                        | libc::EIO
                )
            ),
            _ => false,
        }
    }

    pub(crate) fn io<'a>(
        op: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(io::Error) -> StoreError + 'a {
        move |source| StoreError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The reference's file-name form of a run_id (`/` and `\` replaced by `_`).
pub fn safe_id(run_id: &str) -> String {
    run_id.replace(['/', '\\'], "_")
}

fn shown_id(id: &str) -> String {
    shorten(&format!("{id:?}"), 80)
}

/// Check a run_id before it is used to look a file up: nothing that could leave the
/// partition (separators, `..`, NUL, control characters), and a bounded length.
pub fn validate_lookup_id(run_id: &str) -> Result<(), StoreError> {
    let fail = |reason: &str| {
        Err(StoreError::InvalidRunId {
            shown: shown_id(run_id),
            reason: reason.to_owned(),
        })
    };
    if run_id.is_empty() {
        return fail("it is empty");
    }
    if run_id.len() > 200 {
        return fail(&format!("it is {} bytes long (at most 200)", run_id.len()));
    }
    if run_id.contains('\0') {
        return fail("it contains a NUL character");
    }
    if run_id.chars().any(|c| c.is_control()) {
        return fail("it contains control characters");
    }
    if run_id.contains(['/', '\\']) {
        return fail("it contains a path separator ('/' or '\\')");
    }
    if run_id.contains("..") || run_id.starts_with('.') {
        return fail("it contains '..' or starts with '.'");
    }
    Ok(())
}

/// Check a run_id for a new artifact: the lookup rules plus a conservative alphabet
/// (`A-Z a-z 0-9 _ - .`) and at most [`MAX_RUN_ID_LEN`] characters. Ids made by
/// [`new_run_id`] (`run_` + 32 hex) always pass.
pub fn validate_new_run_id(run_id: &str) -> Result<(), StoreError> {
    validate_lookup_id(run_id)?;
    if run_id.chars().count() > MAX_RUN_ID_LEN {
        return Err(StoreError::InvalidRunId {
            shown: shown_id(run_id),
            reason: format!("it is longer than {MAX_RUN_ID_LEN} characters"),
        });
    }
    if let Some(c) = run_id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(StoreError::InvalidRunId {
            shown: shown_id(run_id),
            reason: format!("character {c:?} is not allowed (use A-Z a-z 0-9 _ - .)"),
        });
    }
    Ok(())
}

/// A new run id in the reference's form: `run_` + 32 lower-case hex digits.
pub fn new_run_id() -> String {
    format!("run_{}", uuid::Uuid::new_v4().simple())
}

/// Does `run_id` have the form [`new_run_id`] generates (`run_` + 32 lower-case hex)?
pub fn is_generated_run_id(run_id: &str) -> bool {
    run_id.len() == 36
        && run_id.starts_with("run_")
        && run_id[4..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Is `name` a partition directory name (`YYYY-MM-DD`, a real date)?
pub fn is_partition_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.len() != 10 {
        return false;
    }
    // The usual shape, `YYYY-MM-DD`, without the format parser (a store lists hundreds
    // of these per command); anything else takes chrono's parse, which decides as before.
    let digit = |i: usize| b[i].is_ascii_digit();
    if b[4] == b'-' && b[7] == b'-' && [0, 1, 2, 3, 5, 6, 8, 9].into_iter().all(digit) {
        let n = |r: std::ops::Range<usize>| {
            b[r].iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        };
        return chrono::NaiveDate::from_ymd_opt(n(0..4) as i32, n(5..7), n(8..10)).is_some();
    }
    chrono::NaiveDate::parse_from_str(name, "%Y-%m-%d").is_ok()
}

/// Is `name` an artifact file name (not a link file, not hidden, not a temp file)?
pub fn is_artifact_file_name(name: &str) -> bool {
    name.ends_with(".json") && !name.starts_with('.') && !name.contains("_advisory_")
}

/// One artifact file found in a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    pub partition: String,
    pub path: PathBuf,
    /// File name without `.json` (the reference's safe run_id).
    pub stem: String,
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Inode number (a file replaced under the same name gets another).
    pub ino: u64,
}

/// A name in a partition that looks like an artifact, as the directory listing gives it
/// (no stat): the name (escaped when it is not UTF-8) and the inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionEntry {
    /// The file name (`<run_id>.json`), escaped when it is not UTF-8.
    pub name: String,
    /// The raw name when it is not UTF-8 (`name` is then only for display).
    pub raw: Option<std::ffi::OsString>,
    pub ino: u64,
}

/// A partition's artifact-like entries ([`RunStore::partition_listing`]).
#[derive(Debug, Default)]
pub struct Listing {
    names: String,
    items: Vec<ListItem>,
    /// The names that are not UTF-8: (escaped name, inode, raw name). Rare; looked up for
    /// the entries flagged [`ListItem::RAW`].
    raws: Vec<(String, u64, std::ffi::OsString)>,
}

#[derive(Debug)]
struct ListItem {
    /// The name is `names[start..end]` (`end` without the [`ListItem::RAW`] flag).
    start: u32,
    end: u32,
    ino: u64,
    /// Sort key (see [`Listing::sort`]).
    key: u64,
}

impl ListItem {
    /// Set in `end` when the name is not UTF-8 (its raw form is in `Listing::raws`).
    const RAW: u32 = 1 << 31;

    fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..(self.end & !Self::RAW) as usize
    }
}

impl Listing {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Put the entries in name order.
    pub fn sort(&mut self) {
        let names = self.names.as_bytes();
        // Names in a partition share a long prefix (`run_`, often more): each is first
        // compared by the eight bytes after the prefix they all share, as one integer (no
        // name holds a NUL byte, so zero padding keeps the order), and only on a tie byte
        // by byte.
        let first = self.items.first().map_or(&[][..], |i| &names[i.range()]);
        let shared = self.items.iter().fold(first.len(), |n, i| {
            first[..n]
                .iter()
                .zip(&names[i.range()])
                .take_while(|(a, b)| a == b)
                .count()
        });
        for i in &mut self.items {
            let rest = &names[i.range()][shared..];
            let mut k = [0u8; 8];
            let n = rest.len().min(8);
            k[..n].copy_from_slice(&rest[..n]);
            i.key = u64::from_be_bytes(k);
        }
        self.items.sort_unstable_by(|a, b| {
            a.key
                .cmp(&b.key)
                .then_with(|| names[a.range()].cmp(&names[b.range()]))
        });
        // The names laid out in the new order, so that walking the listing in order (the
        // merge with the index rows) reads memory front to back.
        let mut sorted = String::with_capacity(self.names.len());
        for i in &mut self.items {
            let start = sorted.len() as u32;
            sorted.push_str(&self.names[i.range()]);
            (i.start, i.end) = (start, sorted.len() as u32 | (i.end & ListItem::RAW));
        }
        self.names = sorted;
    }

    /// The `i`-th name (escaped when it is not UTF-8).
    pub fn name(&self, i: usize) -> &str {
        &self.names[self.items[i].range()]
    }

    pub fn ino(&self, i: usize) -> u64 {
        self.items[i].ino
    }

    /// The `i`-th entry as a [`PartitionEntry`].
    pub fn entry(&self, i: usize) -> PartitionEntry {
        let it = &self.items[i];
        PartitionEntry {
            name: self.name(i).to_owned(),
            raw: (it.end & ListItem::RAW != 0)
                .then(|| {
                    self.raws
                        .iter()
                        .find(|(escaped, ino, _)| *ino == it.ino && escaped == self.name(i))
                        .map(|(_, _, raw)| raw.clone())
                })
                .flatten(),
            ino: it.ino,
        }
    }
}

/// Why an artifact file is not a valid record; its text is the reason shown to the user
/// (and recorded for invalid files in the index).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArtifactError {
    /// The file cannot be read as a regular file of at most [`MAX_ARTIFACT_BYTES`] (with
    /// what is wrong: too large, a FIFO or link, permissions, I/O).
    #[error("{0}")]
    Unreadable(String),
    #[error("the file name {0} is not UTF-8: rename it to <run_id>.json")]
    NameNotUtf8(String),
    #[error("file is empty")]
    Empty,
    #[error(transparent)]
    TooCostly(#[from] crate::fsio::read::JsonTooCostly),
    /// Malformed, truncated or not the artifact schema (with the position).
    #[error("{0}")]
    Json(String),
    #[error("file name {stem}.json does not match its run_id {run_id}")]
    NameMismatch { stem: String, run_id: String },
}

/// Read and validate one artifact file.
pub fn read_artifact_file(path: &Path) -> Result<RunArtifact, ArtifactError> {
    let bytes = read_limited(path)?;
    parse_artifact(&bytes, path)
}

/// A file name that is not UTF-8, with its invalid bytes shown as `\xNN`.
pub fn escape_name(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Validate bytes as an artifact stored at `path` (its name must match the run_id).
pub fn parse_artifact(bytes: &[u8], path: &Path) -> Result<RunArtifact, ArtifactError> {
    if let Some(name) = path.file_name().filter(|n| n.to_str().is_none()) {
        return Err(ArtifactError::NameNotUtf8(escape_name(
            name.as_encoded_bytes(),
        )));
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ArtifactError::Empty);
    }
    crate::fsio::read::check_json_budget(bytes)?;
    let artifact = RunArtifact::from_json_slice(bytes)
        .map_err(|e| ArtifactError::Json(describe_json_error(&e)))?;
    if let Some(stem) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".json"))
    {
        if safe_id(&artifact.run_id) != stem {
            return Err(ArtifactError::NameMismatch {
                stem: stem.to_owned(),
                run_id: shorten(&artifact.run_id, 80),
            });
        }
    }
    Ok(artifact)
}

/// A one-line description of a serde_json error with its position.
pub fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "malformed JSON",
        Category::Eof => "truncated JSON",
        Category::Data => "schema violation",
        Category::Io => "read error",
    };
    format!("{what}: {e}")
}

/// Read an artifact file of at most [`MAX_ARTIFACT_BYTES`]: a regular file only (a symbolic
/// link, FIFO, socket or device in a partition is refused, never opened in a way that could
/// block or leave the data root). The error is the reason shown to the user.
pub fn read_limited(path: &Path) -> Result<Vec<u8>, ArtifactError> {
    crate::fsio::read::read_regular(path, MAX_ARTIFACT_BYTES).map_err(|e| read_reason(&e))
}

/// [`read_limited`] into a reused buffer (cleared first).
pub fn read_limited_into(path: &Path, buf: &mut Vec<u8>) -> Result<(), ArtifactError> {
    crate::fsio::read::read_regular_into(path, MAX_ARTIFACT_BYTES, buf).map_err(|e| read_reason(&e))
}

fn read_reason(e: &io::Error) -> ArtifactError {
    ArtifactError::Unreadable(match e.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::FileTooLarge => format!("file {e}"),
        _ => format!("cannot read: {e}{}", crate::advice::io(e)),
    })
}

/// Where an artifact file is in a run store: its partition (`YYYY-MM-DD`) and file name.
/// Indexes, backends and views pass keys; only the store turns one into a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactKey {
    pub partition: String,
    pub file_name: String,
}

impl ArtifactKey {
    pub fn new(partition: impl Into<String>, file_name: impl Into<String>) -> ArtifactKey {
        ArtifactKey {
            partition: partition.into(),
            file_name: file_name.into(),
        }
    }

    /// Whether the key names an artifact file inside a partition (no traversal, no
    /// hidden or advisory link files).
    pub fn is_well_formed(&self) -> bool {
        is_partition_name(&self.partition)
            && is_artifact_file_name(&self.file_name)
            && !self.file_name.contains(['/', '\\'])
    }
}

/// The run artifact store rooted at a runs directory (`<data>/runs/rmos` or `$RMOS_RUNS_DIR`).
#[derive(Debug, Clone)]
pub struct RunStore {
    root: PathBuf,
}

impl RunStore {
    /// A store over `root`. Nothing is created until the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RunStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn private_dir(&self) -> PathBuf {
        self.root.join(PRIVATE_DIR)
    }

    /// Partition names, ascending. A missing root is an empty store.
    pub fn partitions(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut unknown = Vec::new();
        let listed = crate::fsio::dir::for_each_entry(&self.root, |name, _, kind| {
            let Ok(name) = std::str::from_utf8(name) else {
                return;
            };
            if !is_partition_name(name) {
                return;
            }
            // Symlinked partitions are not followed: the data root must not reach outside.
            match kind {
                crate::fsio::dir::EntryKind::Dir => out.push(name.to_owned()),
                crate::fsio::dir::EntryKind::Unknown => unknown.push(name.to_owned()),
                crate::fsio::dir::EntryKind::NotDir => {}
            }
        });
        match listed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StoreError::Io {
                    op: "list",
                    path: self.root.clone(),
                    source,
                })
            }
        }
        // A file system that does not say what an entry is: ask (never following a link).
        for name in unknown {
            if fs::symlink_metadata(self.root.join(&name)).is_ok_and(|m| m.is_dir()) {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }

    pub fn partition_dir(&self, partition: &str) -> PathBuf {
        self.root.join(partition)
    }

    /// Artifact files of one partition, sorted by name. Link files, hidden and temp files
    /// are skipped; symlinks are not followed.
    pub fn partition_files(&self, partition: &str) -> Result<Vec<ArtifactFile>, StoreError> {
        let mut out: Vec<ArtifactFile> = self
            .partition_entries(partition)?
            .iter()
            .map(|e| self.stat_entry(partition, e, self.entry_path(partition, e)))
            .collect();
        out.sort_by(|a, b| a.stem.cmp(&b.stem));
        Ok(out)
    }

    /// The artifact-like names of one partition, sorted, from the directory listing alone:
    /// no file is stat-ed (the inode comes with the listing), so a partition of 100,000
    /// files is listed in milliseconds. See [`RunStore::partition_files`] for sizes.
    pub fn partition_entries(&self, partition: &str) -> Result<Vec<PartitionEntry>, StoreError> {
        let mut l = self.partition_listing(partition)?;
        l.sort();
        Ok((0..l.len()).map(|i| l.entry(i)).collect())
    }

    /// The artifact-like entries of one partition, held compactly (one buffer for all
    /// names, no allocation per entry: comparing a folder of 100,000 files with the index
    /// needs only this), in the order the file system lists them ([`Listing::sort`]). Folders are left out. A name that is not UTF-8 is kept under
    /// an escaped form (it then reads as an invalid entry saying so), never skipped:
    /// nothing in a partition is hidden. FIFOs, sockets, devices and symbolic links named
    /// like artifacts are kept too; reading them is refused with what they are (see
    /// `read_limited`).
    pub fn partition_listing(&self, partition: &str) -> Result<Listing, StoreError> {
        use crate::fsio::dir::{for_each_entry, EntryKind};
        use std::os::unix::ffi::OsStrExt;
        let dir = self.partition_dir(partition);
        let mut l = Listing::default();
        // Room for every entry up front (the folder's size bounds its names; pages never
        // touched cost no memory): no copying as the listing grows.
        if let Ok(m) = fs::metadata(&dir) {
            let size = m.len().min(64 << 20) as usize;
            l.names.reserve(size);
            l.items.reserve(size / 24);
        }
        let listed = for_each_entry(&dir, |raw, ino, kind| {
            let escaped;
            let (name, raw) = match std::str::from_utf8(raw) {
                Ok(n) => (n, None),
                Err(_) => {
                    escaped = escape_name(raw);
                    (
                        escaped.as_str(),
                        Some(std::ffi::OsStr::from_bytes(raw).to_owned()),
                    )
                }
            };
            if !is_artifact_file_name(name) {
                return;
            }
            let is_dir = match kind {
                EntryKind::Dir => true,
                EntryKind::NotDir => false,
                EntryKind::Unknown => fs::symlink_metadata(dir.join(std::ffi::OsStr::from_bytes(
                    raw.as_ref().map_or(name.as_bytes(), |r| r.as_bytes()),
                )))
                .map(|m| m.is_dir())
                .unwrap_or(false),
            };
            if is_dir {
                return;
            }
            let start = l.names.len() as u32;
            l.names.push_str(name);
            let mut end = l.names.len() as u32;
            if let Some(r) = raw {
                l.raws.push((name.to_owned(), ino, r));
                end |= ListItem::RAW;
            }
            l.items.push(ListItem {
                start,
                end,
                ino,
                key: 0,
            });
        });
        match listed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Listing::default()),
            Err(e) => {
                return Err(StoreError::Io {
                    op: "list",
                    path: dir,
                    source: e,
                })
            }
        }
        Ok(l)
    }

    /// Size, modification time and inode of one entry (`lstat`: a link is not followed).
    pub fn stat_entry(&self, partition: &str, e: &PartitionEntry, path: PathBuf) -> ArtifactFile {
        use std::os::unix::fs::MetadataExt;
        let (size, mtime_ns, ino) = match fs::symlink_metadata(&path) {
            Ok(m) => (m.len(), mtime_ns(&m), m.ino()),
            Err(_) => (0, 0, e.ino),
        };
        ArtifactFile {
            partition: partition.to_owned(),
            path,
            stem: e.name.trim_end_matches(".json").to_owned(),
            size,
            mtime_ns,
            ino,
        }
    }

    /// The path of an entry of `partition`.
    pub fn entry_path(&self, partition: &str, e: &PartitionEntry) -> PathBuf {
        let dir = self.partition_dir(partition);
        match &e.raw {
            Some(raw) => dir.join(raw),
            None => dir.join(&e.name),
        }
    }

    /// Every partition holding a file named `<run_id>.json`, newest partition first.
    /// Every partition must be checked (a write's uniqueness depends on it): a partition
    /// that cannot be checked is an error.
    pub fn locate_all(&self, run_id: &str) -> Result<Vec<(String, PathBuf)>, StoreError> {
        let mut found = Vec::new();
        match self.probe(run_id, |p, path| {
            found.push((p, path));
            false
        })? {
            None => Ok(found),
            Some(unchecked) => Err(unchecked),
        }
    }

    /// Look for `<run_id>.json` in every partition, newest first, calling `found` with each
    /// partition holding it until `found` returns true (stop). Returns the first partition
    /// that could not be checked (permissions), if any: callers use what was found elsewhere.
    fn probe(
        &self,
        run_id: &str,
        mut found: impl FnMut(String, PathBuf) -> bool,
    ) -> Result<Option<StoreError>, StoreError> {
        validate_lookup_id(run_id)?;
        let name = format!("{}.json", safe_id(run_id));
        let mut unchecked = None;
        let partitions = self.partitions()?;
        if partitions.is_empty() {
            return Ok(unchecked);
        }
        // One open of the root, then a short relative lookup per partition.
        let root =
            crate::fsio::dir::Dir::open(&self.root).map_err(StoreError::io("list", &self.root))?;
        for p in partitions.into_iter().rev() {
            let rel = Path::new(&p).join(&name);
            let path = self.root.join(&rel);
            match root.stat(&rel) {
                Ok(Some(_)) => {
                    if found(p, path) {
                        break;
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    unchecked.get_or_insert(StoreError::Io {
                        op: "check",
                        path,
                        source: e,
                    });
                }
            }
        }
        Ok(unchecked)
    }

    /// Load a run as the reference's `get()` does: the newest partition whose file parses,
    /// with the partition's advisory link files merged into `advisory_inputs`.
    /// Returns the artifact and the path it came from. The lookup stops at that partition:
    /// a run of a recent day costs a few lookups, not one per day folder of the store.
    pub fn get(&self, run_id: &str) -> Result<(RunArtifact, PathBuf), StoreError> {
        let mut loaded = None;
        let mut first_invalid = None;
        let unchecked = self.probe(run_id, |partition, path| match read_artifact_file(&path) {
            Ok(mut artifact) => {
                self.merge_advisory_links(&partition, &mut artifact);
                loaded = Some((artifact, path));
                true
            }
            Err(reason) => {
                first_invalid.get_or_insert((path, reason.to_string()));
                false
            }
        })?;
        if let Some(found) = loaded {
            return Ok(found);
        }
        match (first_invalid, unchecked) {
            (Some((path, reason)), _) => Err(StoreError::Invalid {
                run_id: run_id.to_owned(),
                path,
                reason,
            }),
            // Not found where we could look; maybe where we could not.
            (None, Some(e)) => Err(e),
            (None, None) => Err(StoreError::NotFound {
                run_id: run_id.to_owned(),
                root: self.root.clone(),
            }),
        }
    }

    /// Where `key` is on disk (for messages; callers read through the store).
    pub fn path_of(&self, key: &ArtifactKey) -> PathBuf {
        self.partition_dir(&key.partition).join(&key.file_name)
    }

    /// The bytes of the artifact file `key` names (bounded, never through a link), for
    /// copying a record as it is on disk.
    pub fn read_bytes(&self, key: &ArtifactKey) -> Result<Vec<u8>, ArtifactError> {
        if !key.is_well_formed() {
            return Err(ArtifactError::Unreadable(
                "not an artifact file name".into(),
            ));
        }
        read_limited(&self.path_of(key))
    }

    /// Load one artifact by key, with its advisory links merged.
    pub fn load_key(&self, key: &ArtifactKey) -> Result<(RunArtifact, PathBuf), (PathBuf, String)> {
        self.load(&key.partition, &key.file_name)
    }

    /// Load one artifact file by partition and file name, with its advisory links merged.
    pub fn load(
        &self,
        partition: &str,
        file_name: &str,
    ) -> Result<(RunArtifact, PathBuf), (PathBuf, String)> {
        let path = self.partition_dir(partition).join(file_name);
        if !is_partition_name(partition)
            || !is_artifact_file_name(file_name)
            || file_name.contains(['/', '\\'])
        {
            return Err((path, "not an artifact file name".into()));
        }
        match read_artifact_file(&path) {
            Ok(mut a) => {
                self.merge_advisory_links(partition, &mut a);
                Ok((a, path))
            }
            Err(reason) => Err((path, reason.to_string())),
        }
    }

    /// Advisory link files of a run in one partition (`<run>_advisory_<adv>.json`), parsed;
    /// files that do not parse are skipped, as the reference does.
    pub fn advisory_links(&self, partition: &str, run_id: &str) -> Vec<AdvisoryInputRef> {
        let prefix = format!("{}_advisory_", safe_id(run_id));
        let dir = self.partition_dir(partition);
        // The whole partition is listed (as the reference's glob does); only the matching
        // names are kept, so a day of thousands of runs costs no allocation per entry.
        let mut names: Vec<String> = Vec::new();
        let listed = crate::fsio::dir::for_each_entry(&dir, |name, _, kind| {
            if kind == crate::fsio::dir::EntryKind::Dir
                || !name.starts_with(prefix.as_bytes())
                || !name.ends_with(b".json")
            {
                return;
            }
            if let Ok(name) = std::str::from_utf8(name) {
                names.push(name.to_owned());
            }
        });
        if listed.is_err() {
            return Vec::new();
        }
        names.sort();
        names
            .into_iter()
            .filter_map(|n| {
                // Regular files only, bounded: a link, FIFO or folder is refused by the read.
                let bytes = read_limited(&dir.join(n)).ok()?;
                serde_json::from_slice::<AdvisoryInputRef>(&bytes).ok()
            })
            .collect()
    }

    fn merge_advisory_links(&self, partition: &str, artifact: &mut RunArtifact) {
        for link in self.advisory_links(partition, &artifact.run_id) {
            if !artifact
                .advisory_inputs
                .iter()
                .any(|a| a.advisory_id == link.advisory_id)
            {
                artifact.advisory_inputs.push(link);
            }
        }
    }

    /// Durably persist a new artifact in the partition of its `created_at_utc`.
    /// Refused when the run_id exists in any partition. Returns the file path.
    pub fn put(&self, artifact: &RunArtifact) -> Result<PathBuf, StoreError> {
        self.put_checked(artifact, true)
    }

    /// [`RunStore::put`] for a run_id [`new_run_id`] has just generated (122 random bits):
    /// it cannot exist in another partition, so the cross-partition scan — one `stat` per
    /// day folder, which would make every write slower as the store ages — is skipped.
    /// A clash in the target partition is still refused by the no-replace rename. Ids that
    /// do not have the generated form get the full check.
    pub fn put_fresh(&self, artifact: &RunArtifact) -> Result<PathBuf, StoreError> {
        self.put_checked(artifact, !is_generated_run_id(&artifact.run_id))
    }

    fn put_checked(
        &self,
        artifact: &RunArtifact,
        scan_partitions: bool,
    ) -> Result<PathBuf, StoreError> {
        validate_new_run_id(&artifact.run_id)?;
        let bytes = artifact.to_file_bytes();
        if bytes.len() as u64 > MAX_ARTIFACT_BYTES {
            return Err(StoreError::TooLarge {
                run_id: artifact.run_id.clone(),
                size: bytes.len() as u64,
                limit: MAX_ARTIFACT_BYTES,
            });
        }
        let partition = artifact.created_at_utc.partition();
        let dest = self
            .root
            .join(&partition)
            .join(format!("{}.json", artifact.run_id));
        let private = self.private_dir();
        // Nothing is written through a symbolic link inside the runs folder: a linked
        // `_rmos` or partition would put the record (or the lock) somewhere else.
        for part in [private.join("staging"), self.partition_dir(&partition)] {
            durable::refuse_links_below(&self.root, &part)
                .map_err(StoreError::io("write in", &part))?;
        }
        let staged = durable::stage(&private.join("staging"), &artifact.run_id, &bytes)
            .map_err(|e| create_error(e, artifact, &partition, &dest))?;
        // The uniqueness check spans partitions, so check-and-rename is serialized across
        // processes. Staging (the slow fsync of the data) happens outside the lock.
        let lock_path = private.join("put.lock");
        let _lock = if scan_partitions {
            Some(FileLock::acquire(&lock_path).map_err(StoreError::io("lock", &lock_path))?)
        } else {
            None
        };
        if let Some((p, path)) = scan_partitions
            .then(|| self.locate_all(&artifact.run_id))
            .transpose()?
            .and_then(|found| found.into_iter().next())
        {
            return Err(StoreError::AlreadyExists {
                run_id: artifact.run_id.clone(),
                partition: p,
                path,
            });
        }
        staged
            .commit(&dest)
            .map_err(|e| create_error(e, artifact, &partition, &dest))?;
        // The run is recorded. In a reference tree its `_index.json` gets the entry too, so
        // the reference's index-backed lists show the run; if that fails the run stays
        // recorded and `rmos index export-reference` rewrites the index from the files.
        let _ = super::reference_index::add_after_put(&self.root, artifact);
        Ok(dest)
    }
}

fn create_error(e: CreateError, a: &RunArtifact, partition: &str, dest: &Path) -> StoreError {
    match e {
        CreateError::Exists => StoreError::AlreadyExists {
            run_id: a.run_id.clone(),
            partition: partition.to_owned(),
            path: dest.to_path_buf(),
        },
        CreateError::Io { op, path, source } => StoreError::Io { op, path, source },
    }
}

/// Modification time of a file in nanoseconds since the epoch (0 when unknown).
pub fn mtime_ns(m: &fs::Metadata) -> i64 {
    use std::os::unix::fs::MetadataExt;
    m.mtime()
        .saturating_mul(1_000_000_000)
        .saturating_add(m.mtime_nsec())
}

#[cfg(test)]
mod partition_name_tests {
    use super::is_partition_name;
    use proptest::prelude::*;

    /// The fast path decides exactly as the format parser it stands in front of.
    fn by_parser(name: &str) -> bool {
        name.len() == 10 && chrono::NaiveDate::parse_from_str(name, "%Y-%m-%d").is_ok()
    }

    #[test]
    fn usual_and_unusual_names() {
        for (name, ok) in [
            ("2025-01-31", true),
            ("2024-02-29", true),
            ("2025-02-29", false),
            ("2025-13-01", false),
            ("2025-00-10", false),
            ("0000-01-01", true),
            ("2025-1-011", false),
            ("_rmos", false),
            ("2025-01-3a", false),
            ("2025/01/31", false),
        ] {
            assert_eq!(is_partition_name(name), ok, "{name}");
            assert_eq!(by_parser(name), ok, "{name}");
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_format_parser(name in "[0-9+ -]{8,12}") {
            prop_assert_eq!(is_partition_name(&name), by_parser(&name));
        }

        #[test]
        fn agrees_on_dates_shaped_names(y in 0u32..10000, m in 0u32..14, d in 0u32..33) {
            let name = format!("{y:04}-{m:02}-{d:02}");
            prop_assert_eq!(is_partition_name(&name), by_parser(&name));
        }
    }
}
