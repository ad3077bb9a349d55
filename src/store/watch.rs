//! Live watching of the runs folder (inotify through `notify`): one watch per partition
//! folder plus the runs folder itself, events reported as the partitions and files they
//! name, lost events as a call for a full pass. Any long-running reader (the console, a
//! watching indexer) drives it with its reconciler.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What the watcher saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Something changed under the runs root: files in these partitions (`None`: the
    /// partition folder itself).
    Changed(Vec<(String, Option<String>)>),
    /// Events were lost (overflow) or the watcher failed: compare every file.
    Full,
    /// A reader asks to have the index vouched for (`store::vouch`): answer with
    /// [`LiveWatch::answer`] once everything taken off the queue before it is indexed.
    Question(String),
}

/// What the live watcher (and the reconciler driving it) went through, shared with whoever
/// started the console (tests read it; the console does not need it).
#[derive(Debug, Default)]
pub struct WatchProbe {
    /// Notices that events were lost (the kernel's event queue overflowed).
    pub overflows: AtomicU64,
    /// Full passes run (every file compared), whatever asked for them.
    pub full_passes: AtomicU64,
    /// Passes after which the watches were brought in line with the folders found.
    pub synced: AtomicU64,
    /// While set, the watcher's event handler does not return, as behind a stalled reader:
    /// events pile up in the kernel's queue until it overflows.
    pub stall: AtomicBool,
}

/// A folder's inode number (None when it cannot be read).
fn inode(p: &std::path::Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| m.ino())
}

/// What these event paths name under the runs root: `(partition, Some(file))` for a file in
/// a partition, `(partition, None)` for a partition folder itself.
fn touched_paths(root: &std::path::Path, paths: &[PathBuf]) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for p in paths {
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let mut parts = rel.components();
        let Some(first) = parts.next() else { continue };
        let name = first.as_os_str().to_string_lossy().into_owned();
        if !crate::store::runs::is_partition_name(&name) {
            continue;
        }
        let file = match (parts.next(), parts.next()) {
            (Some(f), None) => Some(f.as_os_str().to_string_lossy().into_owned()),
            (None, _) => None,
            // Deeper paths are nothing rmos indexes.
            (Some(_), Some(_)) => continue,
        };
        if !out.iter().any(|o| o.0 == name && o.1 == file) {
            out.push((name, file));
        }
    }
    out
}

/// Live watching of the runs root: one non-recursive inotify watch on the root (partitions
/// appearing, moving, vanishing) and one per partition (files in it). Synced with the
/// partitions on disk after every pass, so one unreadable partition or an exhausted watch
/// limit costs live updates only where it applies; those partitions are still scanned
/// every second by the quick pass. rmos's own `_rmos` folder is not watched at all.
pub struct LiveWatch {
    root: PathBuf,
    /// Called on the watcher's thread with every change seen.
    on_event: Arc<dyn Fn(WatchEvent) + Send + Sync>,
    watcher: Option<notify::RecommendedWatcher>,
    /// The inode of the runs folder we watch (a folder deleted and created again between
    /// two passes is a new inode whose watch must be set again).
    root_watched: Option<u64>,
    /// Watched partitions and the inode each watch is on.
    watched: std::collections::HashMap<String, u64>,
    /// What the console was last told (sent again only when it changes).
    told: Option<String>,
    /// Start without a watcher (tests of the scanning fallback).
    disabled: bool,
    /// Answers readers' questions (`store::vouch`) while its folder is watched.
    responder: Option<crate::store::vouch::Responder>,
    /// Counts overflows; its stall switch holds the event handler.
    pub probe: Option<Arc<WatchProbe>>,
}

impl LiveWatch {
    /// A watch of the runs folder `root` (nothing is watched before the first
    /// [`LiveWatch::sync`]); `on_event` hears every change. `disabled`: never watch (tests
    /// of the scanning fallback).
    pub fn new(
        root: PathBuf,
        on_event: impl Fn(WatchEvent) + Send + Sync + 'static,
        disabled: bool,
    ) -> Self {
        LiveWatch {
            root,
            on_event: Arc::new(on_event),
            watcher: None,
            root_watched: None,
            watched: Default::default(),
            told: None,
            disabled,
            responder: None,
            probe: None,
        }
    }

    fn create(&mut self) -> Result<(), String> {
        if self.disabled {
            return Err("disabled for this session".into());
        }
        if self.watcher.is_some() {
            return Ok(());
        }
        let on_event = self.on_event.clone();
        let root = self.root.clone();
        let questions = crate::store::vouch::sync_dir(&root);
        let probe = self.probe.clone();
        let handler = move |res: notify::Result<notify::Event>| {
            if let Some(p) = &probe {
                while p.stall.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            let req = match res {
                // Opening or reading a folder or file changes nothing; the passes open
                // every watched folder themselves, so these would start pass after pass.
                // (A close after writing is a change: kept.)
                Ok(notify::Event {
                    kind: notify::EventKind::Access(a),
                    ..
                }) if a != notify::event::AccessKind::Close(notify::event::AccessMode::Write) => {
                    return;
                }
                Ok(ev) if ev.need_rescan() => {
                    if let Some(p) = &probe {
                        p.overflows.fetch_add(1, Ordering::Relaxed);
                    }
                    WatchEvent::Full
                }
                // rmos's own folder in the runs folder (questions, reference index files)
                // holds no runs: its changes start no pass.
                Ok(ev)
                    if !ev.paths.is_empty()
                        && ev.paths.iter().all(|p| {
                            p.strip_prefix(&root)
                                .ok()
                                .and_then(|r| r.components().next())
                                == Some(std::path::Component::Normal(
                                    crate::store::runs::PRIVATE_DIR.as_ref(),
                                ))
                        })
                        && !ev.paths.iter().any(|p| p.parent() == Some(&questions)) =>
                {
                    return;
                }
                Ok(ev) if ev.paths.iter().any(|p| p.parent() == Some(&questions)) => {
                    // A question is a file renamed into the folder; anything else there
                    // (answers, temporaries, the lock) is no event for anyone. A rename
                    // inside the folder is also reported as one event naming both ends:
                    // the question was already told by its own "moved to" event.
                    use notify::event::{ModifyKind, RenameMode};
                    if ev.kind == notify::EventKind::Modify(ModifyKind::Name(RenameMode::Both)) {
                        return;
                    }
                    for p in &ev.paths {
                        let token = (p.parent() == Some(&questions))
                            .then(|| p.file_name()?.to_str()?.strip_suffix(".req"))
                            .flatten();
                        if let Some(t) = token {
                            on_event(WatchEvent::Question(t.to_owned()));
                        }
                    }
                    return;
                }
                Ok(ev) => WatchEvent::Changed(touched_paths(&root, &ev.paths)),
                Err(_) => WatchEvent::Full,
            };
            on_event(req);
        };
        let w = notify::recommended_watcher(handler).map_err(|e| e.to_string())?;
        self.watcher = Some(w);
        Ok(())
    }

    /// Whether this watch can vouch for the index (given a pass that found no partition
    /// outside the watched ones): watching, the runs folder and every partition watched,
    /// and questions arriving. `Err` says why not.
    pub fn can_vouch(&self) -> Result<(), String> {
        if self.watcher.is_none() || self.root_watched.is_none() {
            return Err("the runs folder is not watched".into());
        }
        if let Some(why) = &self.told {
            return Err(why.clone());
        }
        if self.responder.is_none() {
            return Err("questions are not watched".into());
        }
        Ok(())
    }

    /// Answer a reader's question (see [`WatchEvent::Question`]) about the catalog at
    /// `location`, and clear out questions and answers their readers left behind.
    pub fn answer(&self, token: &str, location: &str, verdict: Result<(), String>) {
        if let Some(r) = &self.responder {
            r.answer(token, location, verdict);
            r.sweep();
        }
    }

    /// The partitions watched now (their file changes arrive as events).
    pub fn watched_partitions(&self) -> std::collections::HashMap<String, u64> {
        self.watched.clone()
    }

    /// Bring the watches in line with `partitions` (the folders on disk). Returns the new
    /// status when it changed since the last call: `Some(None)` when everything is watched
    /// again, `Some(Some(what))` describing what is not watched.
    ///
    /// `recheck`: look up the folder of every watched partition again (a folder replaced
    /// under its name needs a new watch). Without it only partitions not watched yet are
    /// looked at; callers pass it after a full pass or events on folders, which is how a
    /// folder swapped in the runs folder shows (the runs folder itself is always checked).
    ///
    /// `renew`: partitions named by events on folders (deleted, created, moved): watched
    /// afresh whatever their folder's inode says (a folder removed and made again often
    /// gets the same inode number back, and its old watch is gone).
    pub fn sync(
        &mut self,
        partitions: &[String],
        recheck: bool,
        renew: &std::collections::HashSet<String>,
    ) -> Option<Option<String>> {
        use notify::{RecursiveMode, Watcher};
        let status = if !self.root.is_dir() {
            // Nothing to watch yet: the quick pass notices the root appearing.
            self.root_watched = None;
            self.watched.clear();
            None
        } else {
            match self.create() {
                Err(e) => Some(format!(
                    "live file watching unavailable ({e}); scanning every second instead \
                     (raise fs.inotify.max_user_instances to fix)"
                )),
                Ok(()) => {
                    let w = self.watcher.as_mut().expect("created above");
                    let mut failed: Vec<(String, String, bool)> = Vec::new();
                    let root_ino = inode(&self.root);
                    if root_ino != self.root_watched {
                        // New (or first) runs folder: everything is watched afresh.
                        self.watched.clear();
                        self.root_watched = None;
                        self.responder = None;
                        match w.watch(&self.root, RecursiveMode::NonRecursive) {
                            Ok(()) => self.root_watched = root_ino,
                            Err(e) => {
                                failed.push((String::new(), e.to_string(), is_watch_limit(&e)))
                            }
                        }
                    }
                    let on_disk: std::collections::HashSet<&String> = partitions.iter().collect();
                    let gone: Vec<String> = self
                        .watched
                        .keys()
                        .filter(|p| !on_disk.contains(p))
                        .cloned()
                        .collect();
                    for p in gone {
                        // Usually gone with the folder; a folder moved away keeps its watch.
                        let _ = w.unwatch(&self.root.join(&p));
                        self.watched.remove(&p);
                    }
                    // Folder inodes looked up relative to the open runs folder (one short
                    // path walk each: this runs after every pass, over every partition).
                    let root_dir = crate::fsio::dir::Dir::open(&self.root).ok();
                    for p in partitions {
                        if renew.contains(p) {
                            self.watched.remove(p);
                        }
                        if !recheck && self.watched.contains_key(p) {
                            continue;
                        }
                        let dir = self.root.join(p);
                        let ino = match &root_dir {
                            Some(r) => r
                                .stat(std::path::Path::new(p))
                                .ok()
                                .flatten()
                                .filter(|s| s.is_dir)
                                .map(|s| s.ino),
                            None => inode(&dir),
                        };
                        if ino.is_some() && self.watched.get(p).copied() == ino {
                            continue;
                        }
                        match w.watch(&dir, RecursiveMode::NonRecursive) {
                            Ok(()) => {
                                if let Some(ino) = ino {
                                    self.watched.insert(p.clone(), ino);
                                }
                            }
                            Err(e) => {
                                self.watched.remove(p);
                                failed.push((p.clone(), e.to_string(), is_watch_limit(&e)));
                            }
                        }
                    }
                    if self.responder.as_ref().is_some_and(|r| !r.dir().is_dir()) {
                        // Its folder was removed (and its watch with it): start again.
                        self.responder = None;
                    }
                    if self.responder.is_none() && self.root_watched.is_some() {
                        // Questions are answered only while they arrive through this
                        // watcher's queue (behind the changes they ask about).
                        self.responder = crate::store::vouch::Responder::start(&self.root)
                            .ok()
                            .filter(|r| w.watch(r.dir(), RecursiveMode::NonRecursive).is_ok());
                    }
                    match failed.as_slice() {
                        [] => None,
                        [(p, e, limit), rest @ ..] => Some(format!(
                            "live watching unavailable for {}{} ({e}); scanned every second instead{}",
                            if p.is_empty() { "the runs folder".to_owned() } else { format!("{p}/") },
                            if rest.is_empty() { String::new() } else { format!(" and {} more partitions", rest.len()) },
                            if *limit {
                                " (raise fs.inotify.max_user_watches to fix)"
                            } else {
                                ""
                            }
                        )),
                    }
                }
            }
        };
        if status == self.told {
            return None;
        }
        self.told = status.clone();
        Some(status)
    }
}

/// Readers' questions (`store::vouch`) a watcher has taken off its queue, answered after
/// the pass that follows them: shared by every driver of a [`LiveWatch`].
#[derive(Debug, Default)]
pub struct Questions {
    pending: Vec<String>,
    /// Passes in a row that could not vouch yet (a partition only just watched).
    unvouched: u32,
}

impl Questions {
    /// Take a question (the same one told twice counts once).
    pub fn push(&mut self, token: String) {
        if !self.pending.contains(&token) {
            self.pending.push(token);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// After a pass (`pass_ok`: it succeeded) that began with `watched_at_start` watched:
    /// answer every pending question about the catalog at `location`, or, when the index
    /// cannot be vouched for yet and fewer than three passes have tried, say that one more
    /// pass should run at once (true).
    pub fn after_pass(
        &mut self,
        watch: &LiveWatch,
        watched_at_start: &std::collections::HashMap<String, u64>,
        location: &str,
        pass_ok: bool,
    ) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        let verdict = if pass_ok {
            vouch_verdict(watch, watched_at_start)
        } else {
            Err("the last pass failed".to_owned())
        };
        if verdict.is_err() && self.unvouched < 2 {
            self.unvouched += 1;
            return true;
        }
        for t in self.pending.drain(..) {
            watch.answer(&t, location, verdict.clone());
        }
        self.unvouched = 0;
        false
    }
}

/// Whether the index can be vouched for after a pass that began with `watched_at_start`
/// watched (partition → folder inode): the watch complete, and every partition watched
/// now already watched, on the same folder, before the pass compared it.
pub fn vouch_verdict(
    watch: &LiveWatch,
    watched_at_start: &std::collections::HashMap<String, u64>,
) -> Result<(), String> {
    watch.can_vouch()?;
    let now = watch.watched_partitions();
    match now
        .iter()
        .find(|(p, ino)| watched_at_start.get(*p) != Some(ino))
    {
        Some((p, _)) => Err(format!("partition {p}/ has only just been watched")),
        None => Ok(()),
    }
}

/// Whether a watch failed for the kernel's limits (inotify reports too many watches as
/// ENOSPC and too many instances as EMFILE), which raising the limit fixes.
fn is_watch_limit(e: &notify::Error) -> bool {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => matches!(io.raw_os_error(), Some(libc::ENOSPC | libc::EMFILE)),
        _ => false,
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn watch_limits_are_told_apart_by_error_code() {
        let io = |code| notify::Error::io(std::io::Error::from_raw_os_error(code));
        assert!(is_watch_limit(&io(libc::ENOSPC)));
        assert!(is_watch_limit(&io(libc::EMFILE)));
        assert!(!is_watch_limit(&io(libc::EACCES)));
        assert!(is_watch_limit(&notify::Error::new(
            notify::ErrorKind::MaxFilesWatch
        )));
        assert!(!is_watch_limit(&notify::Error::path_not_found()));
    }
}
