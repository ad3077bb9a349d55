//! The reconciler driver: keeps the index in line with the files, pass by pass, driven by
//! the live watcher's events, a quick timer and a slow full-pass timer.

use crate::config::DataRoot;
use crate::store::index::ReconcileMode;
use crate::store::watch::{LiveWatch, WatchEvent, WatchProbe};
use crate::tui::msg::Msg;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// Shortest time from one pass's start to the next pass driven by watcher events.
const MIN_EVENT_PASS: Duration = Duration::from_millis(250);

/// Requests to the reconciler.
#[derive(Debug)]
pub enum ReconcileReq {
    /// Something changed under the runs root: files in these partitions (empty when the
    /// event named none, e.g. a partition folder itself).
    Changed(Vec<(String, Option<String>)>),
    /// The watcher lost events (overflow) or failed: compare every file.
    Full,
    /// The user asked for a full rescan.
    Rescan,
    /// A reader asks to have the index vouched for (`store::vouch`).
    Question(String),
}

/// Timing of the reconciler.
#[derive(Debug, Clone)]
pub struct ReconcileTiming {
    /// Quick pass (changed partitions) this often even without watcher events.
    pub quick: Duration,
    /// Full pass this often.
    pub full: Duration,
    /// Wait this long after a watcher event for the burst to settle.
    pub debounce: Duration,
    /// Do not watch at all: scanning only (tests of the fallback).
    pub no_watch: bool,
    /// How often the shared databases are checked for other processes' commits.
    pub shared_poll: Duration,
    /// Counters and a stall switch for tests of the watcher.
    pub probe: Option<Arc<WatchProbe>>,
}

impl Default for ReconcileTiming {
    fn default() -> Self {
        ReconcileTiming {
            quick: Duration::from_secs(1),
            full: Duration::from_secs(300),
            debounce: Duration::from_millis(60),
            no_watch: false,
            shared_poll: Duration::from_millis(250),
            probe: None,
        }
    }
}

/// Start the reconciler and its filesystem watcher. Returns the request channel.
pub fn spawn_reconciler(
    root: DataRoot,
    out: UnboundedSender<Msg>,
    timing: ReconcileTiming,
    own_mark: Arc<std::sync::Mutex<Option<String>>>,
) -> mpsc::Sender<ReconcileReq> {
    let (tx, rx) = mpsc::channel::<ReconcileReq>();
    let watcher_tx = tx.clone();
    std::thread::Builder::new()
        .name("rmos-reconcile".into())
        .spawn(move || {
            // Until the index opens (a full disk, a permission problem), say why and retry.
            let mut index = loop {
                match root.catalog() {
                    Ok(i) => break i,
                    Err(e) => {
                        if out.send(Msg::ReconcileFailed(e.to_string())).is_err() {
                            return;
                        }
                        match rx.recv_timeout(timing.quick) {
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                            _ => continue,
                        }
                    }
                }
            };
            let runs_root: PathBuf = root.runs_dir.clone();
            let mut watch = LiveWatch::new(
                runs_root.clone(),
                {
                    let tx = watcher_tx.clone();
                    move |ev| {
                        let _ = tx.send(match ev {
                            WatchEvent::Changed(paths) => ReconcileReq::Changed(paths),
                            WatchEvent::Full => ReconcileReq::Full,
                            WatchEvent::Question(t) => ReconcileReq::Question(t),
                        });
                    }
                },
                timing.no_watch,
            );
            watch.probe = timing.probe.clone();
            let mut last_full = Instant::now();
            let mut mode = ReconcileMode::Quick;
            let mut touched: HashSet<String> = HashSet::new();
            // Watches (partition, folder inode) set before the partition's last comparison:
            // every change there arrives as an event, so quick passes leave those folders
            // out. A partition whose watch is new (a file may have arrived just before it)
            // is compared once more first.
            let mut established: HashSet<(String, u64)> = HashSet::new();
            let mut event_pass = false;
            let mut folder_events = false;
            // Files the watcher named: read alone, whatever the size of their partition.
            let mut touched_files: std::collections::HashMap<String, HashSet<String>> =
                std::collections::HashMap::new();
            // Counted again only after a pass that changed something.
            let mut invalid_total: Option<u64> = None;
            // Commits by other processes (a CLI indexing the same root, another console,
            // `index rebuild`) reach the console through the database watch
            // (`spawn_db_watch`), whatever this reconciler is doing.
            // The first pass always counts as a change: the list on screen may have been
            // read before commits that this connection already saw when it opened.
            let mut first_pass = true;
            // Readers' questions taken off the queue, answered after the next pass; and how
            // many passes in a row have not been able to vouch for them yet.
            let mut questions = crate::store::watch::Questions::default();
            loop {
                let started = Instant::now();
                let mut last_progress = Instant::now();
                let watched_now = watch.watched_partitions();
                let watched: HashSet<String> = watched_now.keys().cloned().collect();
                let mut from_events = false;
                if !touched_files.is_empty() {
                    // A name in a partition that is not watched (yet) is left to the pass
                    // below, which compares that whole folder.
                    match index.reconcile_files(&touched_files) {
                        Ok(s) => from_events = s.changed(),
                        Err(_) => touched.extend(touched_files.keys().cloned()),
                    }
                    touched_files.clear();
                }
                // Folder events (the runs folder swapped, a partition moved) say nothing about
                // files: such a pass compares every folder whose time changed.
                let skip: HashSet<String> =
                    if event_pass || mode == ReconcileMode::Quick && !folder_events {
                        watched_now
                            .iter()
                            .filter(|(p, ino)| established.contains(&((*p).clone(), **ino)))
                            .map(|(p, _)| p.clone())
                            .collect()
                    } else {
                        HashSet::new()
                    };
                // After a full pass or events on folders, every watch is checked against
                // its folder (a partition folder replaced under its name).
                let recheck = mode == ReconcileMode::Full || folder_events || !touched.is_empty();
                let renew = touched.clone();
                let result = index.reconcile_watched(mode, &touched, &watched, &skip, &mut |p| {
                    if last_progress.elapsed() > Duration::from_millis(100)
                        || p.partitions_done == p.partitions_total
                    {
                        last_progress = Instant::now();
                        let _ = out.send(Msg::Reconcile(p.clone()));
                    }
                });
                let mut partitions = None;
                let pass_ok = result.is_ok();
                let sent = match result {
                    Ok(mut stats) => {
                        // Every partition watched at the start of this pass has now been
                        // compared since its watch was set (or was already).
                        established = watched_now
                            .iter()
                            .map(|(p, ino)| (p.clone(), *ino))
                            .collect();
                        touched.clear();
                        let changed = stats.changed() || first_pass;
                        first_pass = false;
                        partitions = Some(std::mem::take(&mut stats.partitions_on_disk));
                        if changed || invalid_total.is_none() {
                            invalid_total = Some(index.invalid_count().unwrap_or(0));
                        }
                        if mode == ReconcileMode::Full {
                            last_full = Instant::now();
                            if let Some(p) = &timing.probe {
                                p.full_passes.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        if stats.changed() && started.elapsed() > Duration::from_secs(5) {
                            index.optimize();
                        }
                        let unreadable = stats
                            .unreadable
                            .iter()
                            .map(|(p, why)| format!("cannot read partition {p}/: {why}"))
                            .collect();
                        if stats.changed() || from_events {
                            *own_mark.lock().expect("mark lock") = index.change_mark();
                        }
                        out.send(Msg::ReconcileDone {
                            changed: changed || from_events,
                            invalid_total: invalid_total.unwrap_or(0),
                            unreadable,
                        })
                    }
                    Err(e) => out.send(Msg::ReconcileFailed(e.to_string())),
                };
                if sent.is_err() {
                    return; // the console is gone
                }
                // Watches follow the partitions this pass found (none to go by after a
                // failed pass: the watches stay as they are).
                if let Some(p) = partitions {
                    let status = watch.sync(&p, recheck, &renew);
                    // A folder watched afresh is compared once more before quick passes
                    // trust it.
                    established.retain(|(p, _)| !renew.contains(p));
                    if let Some(probe) = &timing.probe {
                        probe.synced.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(status) = status {
                        if out.send(Msg::WatchStatus(status)).is_err() {
                            return;
                        }
                    }
                }
                // Everything taken off the queue before the questions is indexed now. A
                // partition that was not watched before this pass compared it may have had
                // a file arrive unseen: one more pass (now watched) settles that.
                let again = !questions.is_empty()
                    && questions.after_pass(&watch, &watched_now, &index.location(), pass_ok);
                // Wait for a change, a request or the next periodic pass.
                event_pass = false;
                folder_events = false;
                let next = if again {
                    Err(mpsc::RecvTimeoutError::Timeout)
                } else {
                    rx.recv_timeout(timing.quick)
                };
                mode = match next {
                    Ok(req) => {
                        // Only events that all name files may leave the folders out: an event
                        // on a folder (the runs folder swapped, a partition moved) says
                        // nothing about which files changed.
                        let mut files_only = true;
                        let mut m = ReconcileMode::Quick;
                        let mut take = |req: ReconcileReq| match req {
                            ReconcileReq::Changed(paths) => {
                                files_only &= !paths.is_empty();
                                for (partition, file) in paths {
                                    match file {
                                        Some(f)
                                            if crate::store::runs::is_artifact_file_name(&f) =>
                                        {
                                            touched_files.entry(partition).or_default().insert(f);
                                        }
                                        // Link files and temporaries change no row.
                                        Some(_) => {}
                                        None => {
                                            files_only = false;
                                            touched.insert(partition);
                                        }
                                    }
                                }
                            }
                            ReconcileReq::Full | ReconcileReq::Rescan => {
                                files_only = false;
                                m = ReconcileMode::Full;
                            }
                            ReconcileReq::Question(t) => questions.push(t),
                        };
                        // Let a burst of events settle, then run once for all of them; under
                        // a steady stream, at most one pass per MIN_EVENT_PASS (new runs still
                        // show within a second, and the cost no longer follows the rate). A
                        // reader waiting on a question cuts the wait short.
                        let wait = timing
                            .debounce
                            .max(MIN_EVENT_PASS.saturating_sub(started.elapsed()));
                        let until = Instant::now() + wait;
                        let mut asked = matches!(req, ReconcileReq::Question(_));
                        take(req);
                        while !asked {
                            let left = until.saturating_duration_since(Instant::now());
                            if left.is_zero() {
                                break;
                            }
                            match rx.recv_timeout(left) {
                                Ok(more) => {
                                    asked = matches!(more, ReconcileReq::Question(_));
                                    take(more);
                                }
                                Err(_) => break,
                            }
                        }
                        while let Ok(more) = rx.try_recv() {
                            take(more);
                        }
                        event_pass = files_only;
                        folder_events = !files_only;
                        m
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if last_full.elapsed() > timing.full && !again {
                            ReconcileMode::Full
                        } else {
                            ReconcileMode::Quick
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                };
            }
        })
        .expect("spawn reconciler");
    tx
}
