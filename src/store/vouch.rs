//! Freshness on a shared host without listing: a command-line reader asks a running
//! watcher (an open console, `rmos index watch`) to vouch that the run index already holds
//! every change made to the runs folder before the question was asked.
//!
//! Why it is sound: a watcher reads every change through one inotify queue, in the order
//! the kernel saw them. The question is a file created (by rename) in the watched
//! `_rmos/sync/` folder, so its event is queued after the event of every file written
//! before it. A watcher answers once it has indexed everything taken off the queue up to the
//! question and finds itself watching every partition folder since before that folder's
//! last comparison (otherwise files may have arrived unseen); any lost event (an overflow)
//! drops the question with it, and the reader then looks for itself, as it does when no
//! watcher holds the shared lock, when the answer is "no", or when none comes in time.
//!
//! Files in `_rmos/sync/` (a sticky, world-writable folder, like /tmp, so everyone sharing
//! the data root can ask and answer; nothing in it is ever a record):
//! - `watchers.lock`: each watcher able to answer holds a shared `flock` on it; a reader
//!   that can take it exclusively knows no one is listening and does not wait;
//! - `TOKEN.req`: a question, holding the catalog it is about (a watcher keeping another
//!   index does not answer it);
//! - `TOKEN.ANSWERER.ack`: an answer, `ok` or `no: reason`.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The folder under the runs folder where questions and answers are exchanged.
pub fn sync_dir(runs_root: &Path) -> PathBuf {
    runs_root.join(crate::store::runs::PRIVATE_DIR).join("sync")
}

const LOCK_NAME: &str = "watchers.lock";
/// Questions and answers left behind (a reader killed while waiting) are removed after this.
const STALE: Duration = Duration::from_secs(60);
/// Longest question or answer file read.
const MAX_LEN: u64 = 4096;

/// What came back from asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A watcher vouched: the index is current for everything written before the question.
    Vouched,
    /// No watcher is listening (or the folder cannot be used): look for yourself.
    NoWatcher,
    /// A watcher answered that it cannot vouch (the reason), e.g. watching is degraded.
    Refused(String),
    /// No answer in time (a watcher busy with a long pass, or stopped).
    TimedOut,
}

/// A token naming one question: letters, digits and dashes only.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn read_small(path: &Path) -> io::Result<String> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    let mut s = String::new();
    f.take(MAX_LEN).read_to_string(&mut s)?;
    Ok(s)
}

/// Write `text` to `dir/name` atomically (a fresh temporary, renamed into place).
fn write_atomic(dir: &Path, name: &str, text: &str) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        std::fs::rename(&tmp, dir.join(name))
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Ask the watchers of `runs_root` to vouch for the catalog at `location`, waiting at most
/// `timeout` for an answer. Never fails: anything that goes wrong means "look for yourself".
pub fn ask(runs_root: &Path, location: &str, timeout: Duration) -> Answer {
    let dir = sync_dir(runs_root);
    // Questions are never written through a link leading out of the runs folder.
    if crate::fsio::durable::refuse_links_below(runs_root, &dir).is_err() {
        return Answer::NoWatcher;
    }
    // Is anyone listening? A watcher holds a shared lock; taking it exclusively means no.
    let Ok(lock) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir.join(LOCK_NAME))
    else {
        return Answer::NoWatcher;
    };
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Answer::NoWatcher;
    }
    drop(lock);
    let Some(inotify) = Inotify::watch(&dir) else {
        return Answer::NoWatcher;
    };
    let token = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    if write_atomic(&dir, &format!("{token}.req"), location).is_err() {
        return Answer::NoWatcher;
    }
    let started = Instant::now();
    let prefix = format!("{token}.");
    let answer = loop {
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            break Answer::TimedOut;
        }
        let names = inotify.wait(left);
        let mut got = None;
        for name in names {
            if name.starts_with(&prefix) && name.ends_with(".ack") {
                match read_small(&dir.join(&name)) {
                    Ok(text) if text.trim() == "ok" => {
                        got = Some(Answer::Vouched);
                        break;
                    }
                    Ok(text) => {
                        let reason = text.trim().strip_prefix("no:").unwrap_or(text.trim());
                        got = Some(Answer::Refused(reason.trim().to_owned()));
                    }
                    Err(_) => {}
                }
            }
        }
        if let Some(a) = got {
            break a;
        }
    };
    let _ = std::fs::remove_file(dir.join(format!("{token}.req")));
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if n.starts_with(&prefix) && n.ends_with(".ack") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    answer
}

/// An inotify instance watching one folder for names moved into it.
struct Inotify {
    fd: i32,
}

impl Inotify {
    fn watch(dir: &Path) -> Option<Inotify> {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: plain system calls on a descriptor owned by the returned value.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return None;
        }
        let me = Inotify { fd };
        let wd = unsafe {
            libc::inotify_add_watch(
                fd,
                path.as_ptr(),
                libc::IN_MOVED_TO | libc::IN_ONLYDIR | libc::IN_DONT_FOLLOW,
            )
        };
        (wd >= 0).then_some(me)
    }

    /// Names moved into the folder, waiting up to `timeout` for the first.
    fn wait(&self, timeout: Duration) -> Vec<String> {
        let mut pfd = libc::pollfd {
            fd: self.fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
            return Vec::new();
        }
        let mut buf = [0u8; 8192];
        // SAFETY: reading into a buffer we own, of the length given.
        let n = unsafe { libc::read(self.fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return Vec::new();
        }
        let mut names = Vec::new();
        let mut at = 0usize;
        let head = std::mem::size_of::<libc::inotify_event>();
        while at + head <= n as usize {
            // SAFETY: the kernel wrote whole events; read_unaligned copes with alignment.
            let ev: libc::inotify_event =
                unsafe { std::ptr::read_unaligned(buf[at..].as_ptr().cast()) };
            let name_end = (at + head + ev.len as usize).min(n as usize);
            let raw = &buf[at + head..name_end];
            let raw = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
            names.push(String::from_utf8_lossy(raw).into_owned());
            at = name_end;
        }
        names
    }
}

impl Drop for Inotify {
    fn drop(&mut self) {
        // SAFETY: closing the descriptor this value owns.
        unsafe { libc::close(self.fd) };
    }
}

/// Whether two catalog locations name the same catalog (a path may be spelled two ways).
fn same_catalog(a: &str, b: &str) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// The watcher's side: holds the shared lock while it can answer.
pub struct Responder {
    dir: PathBuf,
    _lock: File,
    /// Names this answerer's files (several watchers may answer one question).
    id: String,
}

impl Responder {
    /// Start answering for `runs_root`: the folder is created (sticky, world-writable) when
    /// missing and the shared lock taken.
    pub fn start(runs_root: &Path) -> io::Result<Responder> {
        let dir = sync_dir(runs_root);
        // Neither `_rmos` nor `sync` may be a link leading out of the runs folder.
        crate::fsio::durable::refuse_links_below(runs_root, &dir)?;
        if !dir.is_dir() {
            crate::fsio::durable::ensure_dir(&dir)?;
            use std::os::unix::fs::PermissionsExt;
            // Best effort: on a data root shared by several accounts, everyone must be
            // able to ask and answer (and, the folder being sticky, remove only their own).
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777));
        }
        let lock_path = dir.join(LOCK_NAME);
        let lock = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o666)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&lock_path)
        {
            Ok(f) => f,
            // Made by another account without write access for us: reading is enough.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&lock_path)?,
            Err(e) => return Err(e),
        };
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_SH) } != 0 {
            return Err(io::Error::last_os_error());
        }
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = format!(
            "{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Ok(Responder {
            dir,
            _lock: lock,
            id,
        })
    }

    /// The folder the watcher must watch for questions.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The question's token when `path` is a question in our folder.
    pub fn question(&self, path: &Path) -> Option<String> {
        if path.parent()? != self.dir {
            return None;
        }
        let token = path.file_name()?.to_str()?.strip_suffix(".req")?;
        is_token(token).then(|| token.to_owned())
    }

    /// Answer question `token` about the catalog at `location`: `Ok(())` vouches, an error
    /// says why not. A question about another catalog, or one already withdrawn, is left
    /// alone.
    pub fn answer(&self, token: &str, location: &str, verdict: Result<(), String>) {
        if !is_token(token) {
            return;
        }
        match read_small(&self.dir.join(format!("{token}.req"))) {
            Ok(asked) if same_catalog(&asked, location) => {}
            _ => return,
        }
        let text = match verdict {
            Ok(()) => "ok".to_owned(),
            Err(why) => format!("no: {}", why.replace('\n', " ")),
        };
        let _ = write_atomic(&self.dir, &format!("{token}.{}.ack", self.id), &text);
    }

    /// Remove questions and answers older than a minute (their reader is gone).
    pub fn sweep(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for e in rd.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            if !(name.ends_with(".req") || name.ends_with(".ack") || name.ends_with(".tmp")) {
                continue;
            }
            let old = e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_listening_is_known_at_once() {
        let d = tempfile::tempdir().unwrap();
        let t = Instant::now();
        assert_eq!(
            ask(d.path(), "x", Duration::from_secs(5)),
            Answer::NoWatcher
        );
        // The folder exists but no one holds the lock.
        let r = Responder::start(d.path()).unwrap();
        drop(r);
        assert_eq!(
            ask(d.path(), "x", Duration::from_secs(5)),
            Answer::NoWatcher
        );
        assert!(t.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_question_is_answered_and_cleaned_up() {
        let d = tempfile::tempdir().unwrap();
        let r = Responder::start(d.path()).unwrap();
        let dir = r.dir().to_path_buf();
        let answerer = std::thread::spawn(move || {
            // Poll for the question the way a watcher's event would name it.
            let until = Instant::now() + Duration::from_secs(5);
            while Instant::now() < until {
                for e in std::fs::read_dir(&dir).unwrap().flatten() {
                    if let Some(tok) = r.question(&e.path()) {
                        r.answer(&tok, "other catalog", Ok(()));
                        r.answer(&tok, "cat", Ok(()));
                        return r;
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            panic!("no question seen");
        });
        assert_eq!(
            ask(d.path(), "cat", Duration::from_secs(5)),
            Answer::Vouched
        );
        let r = answerer.join().unwrap();
        let left: Vec<_> = std::fs::read_dir(r.dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != LOCK_NAME)
            .collect();
        assert!(left.is_empty(), "left behind: {left:?}");
    }

    #[test]
    fn a_refusal_and_silence_are_reported() {
        let d = tempfile::tempdir().unwrap();
        let r = Responder::start(d.path()).unwrap();
        // Silence: the watcher holds the lock but never answers.
        let t = Instant::now();
        assert_eq!(
            ask(d.path(), "cat", Duration::from_millis(80)),
            Answer::TimedOut
        );
        assert!(t.elapsed() >= Duration::from_millis(80));
        let dir = r.dir().to_path_buf();
        let answerer = std::thread::spawn(move || loop {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                if let Some(tok) = r.question(&e.path()) {
                    r.answer(&tok, "cat", Err("watch degraded".into()));
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        });
        assert_eq!(
            ask(d.path(), "cat", Duration::from_secs(5)),
            Answer::Refused("watch degraded".into())
        );
        answerer.join().unwrap();
    }

    #[test]
    fn a_linked_private_folder_is_neither_used_nor_written_through() {
        let d = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), d.path().join("_rmos")).unwrap();
        assert!(Responder::start(d.path()).is_err());
        assert_eq!(
            ask(d.path(), "x", Duration::from_secs(1)),
            Answer::NoWatcher
        );
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    }

    #[test]
    fn hostile_names_are_not_questions() {
        let d = tempfile::tempdir().unwrap();
        let r = Responder::start(d.path()).unwrap();
        for bad in ["../x.req", "a b.req", ".req", "x.req.tmp"] {
            assert_eq!(r.question(&r.dir().join(bad)), None, "{bad}");
        }
        assert_eq!(r.question(&d.path().join("x.req")), None);
        assert_eq!(r.question(&r.dir().join("12-34.req")), Some("12-34".into()));
    }
}
