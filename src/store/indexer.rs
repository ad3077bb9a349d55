//! The headless indexer (`rmos index watch`): one per artifact host, keeping the run
//! catalog in line with this host's runs folder — the live watcher ([`LiveWatch`]) names
//! what changed, the catalog's reconcile reads it (a quick pass every second catches what
//! the watcher cannot see, a full pass now and then catches in-place edits). With a shared
//! database every pass that changed something is published under the host's name.
//!
//! It reports through a callback, one structured record per event (the command line
//! prints them as JSON lines on stderr), and stops between passes when `stop` is set
//! (SIGTERM). Nothing it writes depends on having run before: a restart, or a crash in
//! the middle of a pass, converges on the same rows.

use super::index::{IndexError, ReconcileMode};
use super::seam::RunCatalog;
use super::watch::{LiveWatch, WatchEvent};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often the indexer looks without being told.
#[derive(Debug, Clone)]
pub struct IndexerTiming {
    /// A quick pass at least this often (partitions the watcher cannot see).
    pub quick: Duration,
    /// A full pass (every file's size and time compared) this often.
    pub full: Duration,
    /// After a failure (the database unreachable), wait this long before trying again.
    pub retry: Duration,
}

impl Default for IndexerTiming {
    fn default() -> Self {
        IndexerTiming {
            quick: Duration::from_secs(1),
            full: Duration::from_secs(600),
            retry: Duration::from_secs(2),
        }
    }
}

/// Sleep up to `d`, waking early when `stop` is set.
fn nap(d: Duration, stop: &AtomicBool) {
    let until = Instant::now() + d;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50).min(until - Instant::now()));
    }
}

/// Run until `stop` is set. `open` opens the catalog (again after a failure); `log`
/// receives (level, event, fields) records.
pub fn run(
    mut open: impl FnMut() -> Result<Box<dyn RunCatalog>, IndexError>,
    runs_dir: PathBuf,
    timing: IndexerTiming,
    stop: &AtomicBool,
    log: &mut dyn FnMut(&str, &str, Value),
) {
    log(
        "info",
        "start",
        json!({"runs_folder": runs_dir.display().to_string()}),
    );
    while !stop.load(Ordering::Relaxed) {
        let catalog = match open() {
            Ok(c) => c,
            Err(e) => {
                log(
                    "error",
                    "open_failed",
                    json!({"error": e.to_string(), "retry_in_s": timing.retry.as_secs_f64()}),
                );
                nap(timing.retry, stop);
                continue;
            }
        };
        log("info", "opened", json!({"catalog": catalog.location()}));
        if let Err(e) = watch_loop(catalog, &runs_dir, &timing, stop, log) {
            log(
                "error",
                "pass_failed",
                json!({"error": e.to_string(), "retry_in_s": timing.retry.as_secs_f64()}),
            );
            nap(timing.retry, stop);
        }
    }
    log("info", "stopped", json!({}));
}

fn watch_loop(
    mut catalog: Box<dyn RunCatalog>,
    runs_dir: &std::path::Path,
    timing: &IndexerTiming,
    stop: &AtomicBool,
    log: &mut dyn FnMut(&str, &str, Value),
) -> Result<(), IndexError> {
    let (tx, rx) = mpsc::channel::<WatchEvent>();
    let mut watch = LiveWatch::new(
        runs_dir.to_path_buf(),
        move |ev| {
            let _ = tx.send(ev);
        },
        false,
    );
    let mut mode = ReconcileMode::Quick;
    let mut last_full = Instant::now();
    let mut established: HashSet<(String, u64)> = HashSet::new();
    let mut touched: HashSet<String> = HashSet::new();
    let mut files: HashMap<String, HashSet<String>> = HashMap::new();
    // Readers' questions (`store::vouch`), answered after the pass that follows them.
    let mut questions = super::watch::Questions::default();
    loop {
        let started = Instant::now();
        if !files.is_empty() {
            let s = catalog.reconcile_files(&files)?;
            files.clear();
            if s.changed() {
                log(
                    "info",
                    "indexed",
                    json!({"added_or_changed": s.added_or_changed, "removed": s.removed,
                           "invalid": s.invalid, "ms": started.elapsed().as_millis() as u64, "from": "watch"}),
                );
            }
        }
        let watched_now = watch.watched_partitions();
        let watched: HashSet<String> = watched_now.keys().cloned().collect();
        let skip: HashSet<String> = if mode == ReconcileMode::Quick {
            watched_now
                .iter()
                .filter(|(p, ino)| established.contains(&((*p).clone(), **ino)))
                .map(|(p, _)| p.clone())
                .collect()
        } else {
            HashSet::new()
        };
        // After a full pass or events on folders, every watch is checked against its folder.
        let recheck = mode == ReconcileMode::Full || !touched.is_empty();
        let renew = touched.clone();
        let result = catalog.reconcile_watched(mode, &touched, &watched, &skip, &mut |_| {});
        let mut stats = match result {
            Ok(s) => s,
            Err(e) => {
                questions.after_pass(&watch, &watched_now, &catalog.location(), false);
                return Err(e);
            }
        };
        touched.clear();
        established = watched_now.iter().map(|(p, i)| (p.clone(), *i)).collect();
        if stats.changed() || mode == ReconcileMode::Full {
            log(
                "info",
                if mode == ReconcileMode::Full {
                    "full_pass"
                } else {
                    "indexed"
                },
                json!({"files_seen": stats.files_seen, "parsed": stats.parsed,
                       "added_or_changed": stats.added_or_changed, "removed": stats.removed,
                       "invalid": stats.invalid, "partitions": stats.partitions_scanned,
                       "ms": started.elapsed().as_millis() as u64}),
            );
        }
        for (p, why) in &stats.unreadable {
            log(
                "warn",
                "unreadable_partition",
                json!({"partition": p, "error": why}),
            );
        }
        if mode == ReconcileMode::Full {
            last_full = Instant::now();
        }
        if let Some(status) = watch.sync(
            &std::mem::take(&mut stats.partitions_on_disk),
            recheck,
            &renew,
        ) {
            match status {
                Some(what) => log("warn", "watch_degraded", json!({"detail": what})),
                None => log("info", "watching", json!({})),
            }
        }
        // A folder watched afresh is compared once more before quick passes trust it.
        established.retain(|(p, _)| !renew.contains(p));
        mode = ReconcileMode::Quick;
        let again = !questions.is_empty()
            && questions.after_pass(&watch, &watched_now, &catalog.location(), true);
        // Wait for events (or the quick pass), then take everything that arrived.
        let deadline = Instant::now() + timing.quick;
        let mut got_any = again;
        while !stop.load(Ordering::Relaxed) && !again {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = if got_any {
                // Events come in bursts: a moment more gathers the rest of the burst.
                Duration::from_millis(30)
            } else {
                left.min(Duration::from_millis(200))
            };
            match rx.recv_timeout(wait) {
                Ok(WatchEvent::Full) => {
                    mode = ReconcileMode::Full;
                    got_any = true;
                }
                Ok(WatchEvent::Changed(paths)) => {
                    for (p, f) in paths {
                        match f {
                            Some(f) => {
                                files.entry(p).or_default().insert(f);
                            }
                            None => {
                                touched.insert(p);
                            }
                        }
                    }
                    got_any = true;
                }
                Ok(WatchEvent::Question(t)) => {
                    // A reader is waiting: no gathering of a burst.
                    questions.push(t);
                    while let Ok(ev) = rx.try_recv() {
                        match ev {
                            WatchEvent::Full => mode = ReconcileMode::Full,
                            WatchEvent::Question(t) => questions.push(t),
                            WatchEvent::Changed(paths) => {
                                for (p, f) in paths {
                                    match f {
                                        Some(f) => {
                                            files.entry(p).or_default().insert(f);
                                        }
                                        None => {
                                            touched.insert(p);
                                        }
                                    }
                                }
                            }
                        }
                    }
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if got_any || Instant::now() >= deadline {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        if last_full.elapsed() >= timing.full {
            mode = ReconcileMode::Full;
        }
    }
}
