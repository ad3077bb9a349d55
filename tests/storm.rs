//! Watcher storms: the live console under floods of filesystem changes. After each storm
//! the console's list must equal a fresh scan of the files: the same count, the same
//! newest rows in the same order, and an index holding exactly the files on disk.
//!
//! `cargo test` runs the storms at full size (10,000 files); `--nocapture` prints how long
//! the console took to settle after each.

mod common;

use common::console::{Console, Seen};
use rmos::domain::{RunArtifact, Timestamp};
use rmos::tui::worker::ReconcileTiming;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Storms run one at a time: they measure the console, and one of them takes every
/// inotify instance of the user away.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const SETTLE: Duration = Duration::from_secs(30);

fn template() -> RunArtifact {
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    RunArtifact::from_json_slice(&bytes).unwrap()
}

/// `n` artifacts as (partition, file name, bytes), spread over `days` partitions starting
/// at `first_day`, one second apart.
fn artifacts(tag: &str, n: usize, first_day: &str, days: usize) -> Vec<(String, String, Vec<u8>)> {
    let base = Timestamp::parse(&format!("{first_day}T00:00:00Z")).unwrap();
    let mut a = template();
    (0..n)
        .map(|i| {
            let day = i % days;
            let at = base.minus_seconds(-((day * 86_400 + i) as i64));
            a.run_id = format!("run_{tag}{i:06}");
            a.created_at_utc = at;
            (
                at.partition(),
                format!("{}.json", a.run_id),
                a.to_file_bytes(),
            )
        })
        .collect()
}

/// Write files the way a writer does (a temp file on the same filesystem, then a rename
/// into place). Returns how long the writing took.
fn write_all(runs: &Path, files: &[(String, String, Vec<u8>)]) -> Duration {
    let tmp = runs.parent().unwrap().join("storm-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let started = Instant::now();
    for (partition, name, bytes) in files {
        let dir = runs.join(partition);
        if !dir.is_dir() {
            std::fs::create_dir_all(&dir).unwrap();
        }
        let t = tmp.join(name);
        std::fs::write(&t, bytes).unwrap();
        std::fs::rename(&t, dir.join(name)).unwrap();
    }
    started.elapsed()
}

/// A fresh scan, independent of the index: every artifact file, newest first (created
/// time, then run_id, both descending — the console's order).
fn fresh_scan(runs: &Path) -> Vec<(i64, String, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(runs) else {
        return out; // no runs folder: an empty store
    };
    for e in rd {
        let e = e.unwrap();
        let partition = e.file_name().to_string_lossy().into_owned();
        if partition.starts_with('_') || !e.file_type().unwrap().is_dir() {
            continue;
        }
        for f in std::fs::read_dir(e.path()).unwrap() {
            let f = f.unwrap();
            let name = f.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".json") {
                continue;
            }
            let a = RunArtifact::from_json_slice(&std::fs::read(f.path()).unwrap()).unwrap();
            out.push((
                a.created_at_utc.epoch_micros(),
                a.run_id,
                format!("{partition}/{name}"),
            ));
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    out
}

/// Every (partition/file) the console's index holds.
fn indexed(data: &Path) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(data.join("rmos.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT partition || '/' || file_name FROM run_index")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
    rows.map(Result::unwrap).collect()
}

/// The console matches a fresh scan: count, newest rows in order, and the index's files.
fn matches_scan(seen: &Seen, scan: &[(i64, String, String)]) -> bool {
    if scan.is_empty() {
        return seen.count == Some(0) && seen.rows.is_empty();
    }
    seen.count == Some(scan.len() as u64)
        && seen.rows.len() == seen.rows.len().min(scan.len())
        && !seen.rows.is_empty()
        && seen
            .rows
            .iter()
            .zip(scan.iter())
            .all(|(shown, (_, id, _))| shown == id)
}

/// What the store holds, kept by the test as it changes the files: partition/file →
/// (created time, run_id).
#[derive(Default)]
struct Model(std::collections::BTreeMap<String, (i64, String)>);

impl Model {
    fn add(&mut self, files: &[(String, String, Vec<u8>)]) {
        for (partition, name, bytes) in files {
            let a = RunArtifact::from_json_slice(bytes).unwrap();
            self.0.insert(
                format!("{partition}/{name}"),
                (a.created_at_utc.epoch_micros(), a.run_id),
            );
        }
    }

    fn remove_partition(&mut self, partition: &str) {
        let prefix = format!("{partition}/");
        self.0.retain(|k, _| !k.starts_with(&prefix));
    }

    /// Newest first, in the console's order.
    fn ordered(&self) -> Vec<(i64, String, String)> {
        let mut v: Vec<(i64, String, String)> = self
            .0
            .iter()
            .map(|(k, (t, id))| (*t, id.clone(), k.clone()))
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
        v
    }
}

/// Wait until the console shows what the model says (timed from `since`, the end of the
/// storm), then check the model against a fresh scan of the disk and the console's index
/// against the files.
fn assert_equals_fresh_scan(
    console: &Console,
    data: &Path,
    model: &Model,
    since: Instant,
    what: &str,
) -> Duration {
    let expected = model.ordered();
    console.wait(what, SETTLE, |s| matches_scan(s, &expected));
    let took = since.elapsed();
    let scan = fresh_scan(&data.join("runs/rmos"));
    assert_eq!(scan, expected, "{what}: the model is what the disk holds");
    let files: BTreeSet<String> = scan.iter().map(|(_, _, p)| p.clone()).collect();
    assert_eq!(
        indexed(data),
        files,
        "{what}: the index holds exactly the files"
    );
    assert!(
        matches_scan(&console.now(), &scan),
        "{what}: still matching"
    );
    eprintln!(
        "{what}: {} runs; the console matched a fresh scan {took:?} after the storm ended",
        scan.len()
    );
    took
}

/// A temp folder on tmpfs when there is one (a storm of 10,000 files in a second needs a
/// fast filesystem; this VM's disk creates about 2,000 files a second).
fn fast_tempdir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

fn seeded_root() -> (tempfile::TempDir, PathBuf, Model) {
    let dir = fast_tempdir();
    let data = dir.path().join("data");
    let runs = data.join("runs/rmos");
    std::fs::create_dir_all(&runs).unwrap();
    let seed = artifacts("seed", 200, "2025-03-01", 5);
    write_all(&runs, &seed);
    let mut model = Model::default();
    model.add(&seed);
    (dir, data, model)
}

#[test]
fn ten_thousand_files_in_a_second_then_a_partition_moved_in_then_one_deleted() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    let console = Console::start(data.clone());
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");

    // 10,000 files, over ten new partitions (newer than the seed), as fast as we can.
    let storm = artifacts("storm", 10_000, "2025-04-01", 10);
    let took = write_all(&runs, &storm);
    let end = Instant::now();
    model.add(&storm);
    eprintln!(
        "wrote 10,000 files in {took:?} ({:.0} files/s)",
        10_000.0 / took.as_secs_f64()
    );
    assert_equals_fresh_scan(&console, &data, &model, end, "10,000 files");

    // A whole partition prepared elsewhere on the same filesystem, moved in at once.
    let incoming = data.join("incoming");
    let moved = artifacts("moved", 1_500, "2025-05-01", 1);
    write_all(&incoming.join("runs"), &moved);
    std::fs::rename(incoming.join("runs/2025-05-01"), runs.join("2025-05-01")).unwrap();
    let end = Instant::now();
    model.add(&moved);
    assert_equals_fresh_scan(&console, &data, &model, end, "a partition moved in");

    // A partition moved out (renamed away) and one deleted.
    std::fs::rename(runs.join("2025-04-03"), incoming.join("2025-04-03")).unwrap();
    std::fs::remove_dir_all(runs.join("2025-04-05")).unwrap();
    let end = Instant::now();
    model.remove_partition("2025-04-03");
    model.remove_partition("2025-04-05");
    assert_equals_fresh_scan(
        &console,
        &data,
        &model,
        end,
        "partitions moved out and deleted",
    );

    // The whole runs folder deleted, then created again with new runs.
    std::fs::remove_dir_all(&runs).unwrap();
    let end = Instant::now();
    model.0.clear();
    assert_equals_fresh_scan(&console, &data, &model, end, "the runs folder deleted");
    std::fs::create_dir_all(&runs).unwrap();
    let again = artifacts("again", 300, "2025-08-01", 3);
    write_all(&runs, &again);
    let end = Instant::now();
    model.add(&again);
    assert_equals_fresh_scan(&console, &data, &model, end, "the runs folder recreated");
    console.stop();
}

/// Take every inotify instance this user may have (the kernel's
/// `fs.inotify.max_user_instances`), and keep taking any that another process (or an
/// earlier test's console shutting down) frees, until dropped.
struct InotifyHog {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn grab(fds: &mut Vec<i32>) {
    loop {
        // SAFETY: inotify_init1 has no memory preconditions; the fd is closed by the hog.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        if fd < 0 {
            return;
        }
        fds.push(fd);
        assert!(fds.len() < 100_000, "no inotify limit?");
    }
}

impl InotifyHog {
    fn take_all() -> InotifyHog {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut fds = Vec::new();
        grab(&mut fds);
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                grab(&mut fds);
                std::thread::sleep(Duration::from_millis(1));
            }
            for fd in fds {
                // SAFETY: fd came from inotify_init1 and is closed once.
                unsafe { libc::close(fd) };
            }
        });
        InotifyHog {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for InotifyHog {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn inotify_exhausted_falls_back_to_scanning_and_recovers() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    // An earlier test's console closes its watcher up to a pass after it stops.
    std::thread::sleep(Duration::from_millis(500));
    let hog = InotifyHog::take_all();
    let console = Console::start(data.clone());
    console.wait("the console to say it is scanning", SETTLE, |s| {
        s.watch_problem
            .as_deref()
            .is_some_and(|p| p.contains("live file watching unavailable"))
    });
    // Changes still arrive, by scanning.
    let blind = artifacts("blind", 3_000, "2025-04-01", 3);
    write_all(&runs, &blind);
    std::fs::remove_dir_all(runs.join("2025-03-02")).unwrap();
    let end = Instant::now();
    model.add(&blind);
    model.remove_partition("2025-03-02");
    assert_equals_fresh_scan(
        &console,
        &data,
        &model,
        end,
        "3,000 files, inotify exhausted",
    );

    // Instances free again: live watching comes back by itself.
    drop(hog);
    console.wait("live watching to come back", SETTLE, |s| {
        s.watch_problem.is_none()
    });
    let after = artifacts("after", 500, "2025-06-01", 1);
    write_all(&runs, &after);
    let end = Instant::now();
    model.add(&after);
    assert_equals_fresh_scan(&console, &data, &model, end, "500 files after recovery");
    console.stop();
}

#[test]
fn without_any_watcher_the_scan_alone_keeps_the_list_right() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    let console = Console::start_with(
        data.clone(),
        ReconcileTiming {
            quick: Duration::from_millis(200),
            no_watch: true,
            ..ReconcileTiming::default()
        },
    );
    console.wait("the scanning notice", SETTLE, |s| s.watch_problem.is_some());
    let poll = artifacts("poll", 2_000, "2025-04-01", 4);
    write_all(&runs, &poll);
    let end = Instant::now();
    model.add(&poll);
    assert_equals_fresh_scan(&console, &data, &model, end, "2,000 files, scanning only");
    std::fs::remove_dir_all(runs.join("2025-04-02")).unwrap();
    let end = Instant::now();
    model.remove_partition("2025-04-02");
    assert_equals_fresh_scan(
        &console,
        &data,
        &model,
        end,
        "a partition deleted, scanning only",
    );
    console.stop();
}

/// More events than the kernel queues: the watcher reports an overflow and the console
/// rescans everything. As root the test shrinks the queue of the console's inotify
/// instance (`fs.inotify.max_queued_events`, read when an instance is created) to 64
/// events so the overflow is certain; otherwise the default queue (16,384) gets a flood.
#[test]
fn an_overflowing_event_queue_ends_in_a_full_rescan() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    /// Puts the system-wide setting back, whatever happens.
    struct Restore(Option<String>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(v) = self.0.take() {
                let _ = std::fs::write(KNOB, v.trim());
            }
        }
    }
    const KNOB: &str = "/proc/sys/fs/inotify/max_queued_events";
    let default_queue = std::fs::read_to_string(KNOB).unwrap_or_default();
    let mut restore = Restore(None);
    if std::fs::write(KNOB, "64").is_ok() {
        restore.0 = Some(default_queue);
    } else {
        eprintln!("note: cannot shrink the inotify queue (not root): flooding the default one");
    }
    let console = Console::start(data.clone());
    console.wait("the console to start watching", SETTLE, |s| {
        s.count.is_some()
    });
    std::thread::sleep(Duration::from_millis(300)); // the watcher exists after the first pass
    drop(restore);
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");
    // Created, written and closed in place: three events apiece.
    let flood = artifacts("flood", 8_000, "2025-07-01", 2);
    let started = Instant::now();
    for (partition, name, bytes) in &flood {
        let dir = runs.join(partition);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let end = Instant::now();
    eprintln!("wrote 8,000 files in place in {:?}", end - started);
    model.add(&flood);
    assert_equals_fresh_scan(&console, &data, &model, end, "an overflowing event queue");
    console.stop();
}

/// A file rewritten in place (same inode: its folder's mtime does not change) in a
/// partition the index considers settled is still picked up at once, from the watcher's
/// event naming it — not only by the five-minute full pass.
#[test]
fn a_file_rewritten_in_place_in_a_settled_partition_is_seen_at_once() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    let console = Console::start(data.clone());
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");
    std::thread::sleep(Duration::from_millis(2_500)); // past the folders' settle window
                                                      // The oldest run, rewritten as the newest.
    let oldest = model.ordered().last().unwrap().clone();
    let path = runs.join(&oldest.2);
    let mut a = RunArtifact::from_json_slice(&std::fs::read(&path).unwrap()).unwrap();
    a.created_at_utc = Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
    let bytes = a.to_file_bytes();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        f.write_all(&bytes).unwrap();
    }
    let end = Instant::now();
    model.0.insert(
        oldest.2.clone(),
        (a.created_at_utc.epoch_micros(), a.run_id.clone()),
    );
    let took = assert_equals_fresh_scan(&console, &data, &model, end, "a file rewritten in place");
    assert!(
        took < Duration::from_secs(5),
        "seen from the watcher, not a periodic full pass ({took:?})"
    );
    console.stop();
}

/// The runs folder and a partition deleted and created again between two passes: new
/// inodes, whose watches are set again — live updates keep coming (not only the scan).
#[test]
fn folders_recreated_between_passes_are_watched_again() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    // A slow periodic pass (30 s): what arrives quickly arrives through the watcher.
    let console = Console::start_with(
        data.clone(),
        ReconcileTiming {
            quick: Duration::from_secs(30),
            ..ReconcileTiming::default()
        },
    );
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");
    // Replace the whole runs folder at once (a restore from backup, say).
    let fresh = data.join("runs/rmos-new");
    // The same partition names as before (2025-03-01…), new folders.
    let restored = artifacts("restored", 50, "2025-03-01", 2);
    write_all(&fresh, &restored);
    std::fs::rename(&runs, data.join("runs/rmos-old")).unwrap();
    std::fs::rename(&fresh, &runs).unwrap();
    let end = Instant::now();
    model.0.clear();
    model.add(&restored);
    assert_equals_fresh_scan(&console, &data, &model, end, "the runs folder replaced");
    std::thread::sleep(Duration::from_millis(300)); // the watches are synced after a pass
                                                    // Into an existing partition name (a new folder) and into a brand-new partition (seen
                                                    // through the watch on the new runs folder): both through the watcher.
    for (what, first_day) in [
        ("files into a replaced partition", "2025-03-01"),
        ("a new partition in the replaced folder", "2025-10-01"),
    ] {
        let more = artifacts(&first_day.replace('-', ""), 20, first_day, 1);
        write_all(&runs, &more);
        let end = Instant::now();
        model.add(&more);
        let took = assert_equals_fresh_scan(&console, &data, &model, end, what);
        assert!(
            took < Duration::from_secs(10),
            "{what}: seen through the watcher, not the 30 s pass ({took:?})"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    console.stop();
}
