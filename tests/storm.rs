//! Watcher storms: the live console under floods of filesystem changes. After each storm
//! the console's list must equal a fresh scan of the files: the same count, the same
//! newest rows in the same order, and an index holding exactly the files on disk.
//!
//! `cargo test` runs the storms at full size (10,000 files); `--nocapture` prints how long
//! the console took to settle after each (printed, never asserted: waits are bounded by
//! [`SETTLE`] and fail with what the console showed). Nothing here changes the host: the
//! overflow comes from a stalled event reader (not a smaller system-wide queue), and the
//! exhausted inotify instances are those of a user namespace of the test's own.

mod common;

use common::console::{Console, Seen};
use rmos::domain::{RunArtifact, Timestamp};
use rmos::tui::worker::ReconcileTiming;
use rmos::tui::worker::WatchProbe;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Storms run one at a time: each floods the machine's two cores on its own.
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

/// A data root holding 200 runs over five partitions, whose folder times are set an hour
/// back: the index sees them as settled from its first pass (a quick pass skips them).
fn seeded_root() -> (tempfile::TempDir, PathBuf, Model) {
    let dir = fast_tempdir();
    let data = dir.path().join("data");
    let runs = data.join("runs/rmos");
    std::fs::create_dir_all(&runs).unwrap();
    let seed = artifacts("seed", 200, "2025-03-01", 5);
    write_all(&runs, &seed);
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    for e in std::fs::read_dir(&runs).unwrap() {
        std::fs::File::open(e.unwrap().path())
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
    }
    let mut model = Model::default();
    model.add(&seed);
    (dir, data, model)
}

/// A console whose periodic passes are far off (a quick pass every `quick`, a full one
/// every five minutes), with a probe on its watcher; returns once the first pass has set
/// the watches.
fn probed_console(data: &Path, quick: Duration) -> (Console, Arc<WatchProbe>) {
    let probe = Arc::new(WatchProbe::default());
    let console = Console::start_with(
        data.to_path_buf(),
        ReconcileTiming {
            quick,
            probe: Some(probe.clone()),
            ..ReconcileTiming::default()
        },
    );
    wait_for_probe("the first pass to set the watches", &probe, |p| {
        p.synced.load(Ordering::Relaxed) >= 1
    });
    (console, probe)
}

/// Wait (up to [`SETTLE`]) until `cond` holds for the probe.
fn wait_for_probe(what: &str, probe: &WatchProbe, cond: impl Fn(&WatchProbe) -> bool) {
    let deadline = Instant::now() + SETTLE;
    while !cond(probe) {
        assert!(
            Instant::now() < deadline,
            "timed out after {SETTLE:?} waiting for {what}: {probe:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Rewrite a file in place (same inode: its folder's time does not change).
fn rewrite_in_place(path: &Path, bytes: &[u8]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// The oldest run of the model rewritten as the newest (created 2030): returns its path
/// under the runs folder and the new bytes, and updates the model.
fn oldest_made_newest(runs: &Path, model: &mut Model) -> (PathBuf, Vec<u8>) {
    let oldest = model.ordered().last().unwrap().clone();
    let path = runs.join(&oldest.2);
    let mut a = RunArtifact::from_json_slice(&std::fs::read(&path).unwrap()).unwrap();
    a.created_at_utc = Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
    model.0.insert(
        oldest.2.clone(),
        (a.created_at_utc.epoch_micros(), a.run_id.clone()),
    );
    (path, a.to_file_bytes())
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

/// The kernel's per-user limit on inotify instances, in the user namespace this process
/// runs in (`/proc/sys/user/max_inotify_instances`, settable by the namespace's owner).
const INSTANCES: &str = "/proc/sys/user/max_inotify_instances";

/// No inotify instance to be had: the console says it is scanning, still follows every
/// change, and goes back to live watching by itself once instances can be had again.
///
/// Run in a user namespace of its own (`unshare --user --map-root-user`), where the
/// limit is lowered to 0 for this process only; the host's limit and other processes'
/// instances are untouched.
#[test]
fn inotify_exhausted_falls_back_to_scanning_and_recovers() {
    let _serial = serial();
    let out = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "inotify_exhausted_in_a_user_namespace",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("RMOS_STORM_CHILD", "1")
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            common::skip::skip(
                common::skip::Needs::UserNamespace,
                &format!("cannot run unshare: {e}"),
            );
            return;
        }
    };
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    eprintln!("{stderr}");
    if out.status.code() == Some(77) || stderr.starts_with("unshare:") {
        let why = stderr
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("?")
            .to_owned();
        common::skip::skip(
            common::skip::Needs::UserNamespace,
            &format!("no user namespace with its own inotify limit here: {why}"),
        );
        return;
    }
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child in its user namespace failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
}

/// The body of [`inotify_exhausted_falls_back_to_scanning_and_recovers`], in its user
/// namespace.
#[test]
#[ignore = "runs inside a user namespace, started by inotify_exhausted_falls_back_to_scanning_and_recovers"]
fn inotify_exhausted_in_a_user_namespace() {
    assert!(
        std::env::var_os("RMOS_STORM_CHILD").is_some(),
        "not a test: started by inotify_exhausted_falls_back_to_scanning_and_recovers in a user namespace"
    );
    let normal = std::fs::read_to_string(INSTANCES).unwrap();
    if let Err(e) = std::fs::write(INSTANCES, "0") {
        eprintln!("cannot lower {INSTANCES} in this namespace: {e}");
        std::process::exit(77);
    }
    // SAFETY: inotify_init1 has no memory preconditions; the fd is closed at once.
    let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
    if fd >= 0 {
        unsafe { libc::close(fd) };
        eprintln!("{INSTANCES} = 0 does not limit this namespace (an older kernel?)");
        std::process::exit(77);
    }

    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
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

    // Instances to be had again: live watching comes back by itself.
    std::fs::write(INSTANCES, normal.trim()).unwrap();
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
/// compares every file. The console's event reader is stalled (its handler held by the
/// probe) while more events than the queue holds (`fs.inotify.max_queued_events`, read,
/// never changed) are made, so the overflow is certain. Then a file in a settled partition
/// is rewritten in place: its event is lost, its folder's time does not change, and the
/// periodic passes are minutes away — only the full pass answering the overflow can show
/// it.
#[test]
fn an_overflowing_event_queue_ends_in_a_full_rescan() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    let queue: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (console, probe) = probed_console(&data, Duration::from_secs(600));
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");
    assert_eq!(probe.full_passes.load(Ordering::Relaxed), 0, "{probe:?}");

    probe.stall.store(true, Ordering::Relaxed);
    // Written in place in a watched partition: created, modified and closed, three events
    // apiece — half again as many events as the queue holds.
    let n = queue / 2 + 1_000;
    let flood = artifacts("flood", n, "2025-03-03", 1);
    let started = Instant::now();
    for (partition, name, bytes) in &flood {
        std::fs::write(runs.join(partition).join(name), bytes).unwrap();
    }
    let (path, bytes) = oldest_made_newest(&runs, &mut model);
    assert!(
        !path.starts_with(runs.join("2025-03-03")),
        "not the flooded partition: {}",
        path.display()
    );
    rewrite_in_place(&path, &bytes);
    let end = Instant::now();
    eprintln!(
        "wrote {n} files in place in {:?} (event queue: {queue})",
        end - started
    );
    model.add(&flood);
    probe.stall.store(false, Ordering::Relaxed);
    assert_equals_fresh_scan(&console, &data, &model, end, "an overflowing event queue");
    let (overflows, full) = (
        probe.overflows.load(Ordering::Relaxed),
        probe.full_passes.load(Ordering::Relaxed),
    );
    eprintln!("{overflows} overflow notice(s), {full} full pass(es)");
    assert!(overflows >= 1, "the queue overflowed: {probe:?}");
    assert!(
        (1..=overflows).contains(&full),
        "each full pass answered an overflow (coalesced): {probe:?}"
    );
    console.stop();
}

/// A file rewritten in place (same inode: its folder's time does not change) in a
/// partition the index considers settled is picked up from the watcher's event naming it:
/// the periodic passes are minutes away, and no full pass runs.
#[test]
fn a_file_rewritten_in_place_in_a_settled_partition_is_seen_at_once() {
    let _serial = serial();
    let (_dir, data, mut model) = seeded_root();
    let runs = data.join("runs/rmos");
    let (console, probe) = probed_console(&data, Duration::from_secs(600));
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");
    let (path, bytes) = oldest_made_newest(&runs, &mut model);
    rewrite_in_place(&path, &bytes);
    let end = Instant::now();
    assert_equals_fresh_scan(&console, &data, &model, end, "a file rewritten in place");
    assert_eq!(
        (
            probe.overflows.load(Ordering::Relaxed),
            probe.full_passes.load(Ordering::Relaxed)
        ),
        (0, 0),
        "seen from the watcher's event, not a full pass: {probe:?}"
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
    // Periodic passes minutes away: what arrives within SETTLE arrives through the watcher.
    let (console, probe) = probed_console(&data, Duration::from_secs(600));
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");
    // Replace the whole runs folder at once (a restore from backup, say).
    let fresh = data.join("runs/rmos-new");
    // The same partition names as before (2025-03-01…), new folders.
    let restored = artifacts("restored", 50, "2025-03-01", 2);
    write_all(&fresh, &restored);
    let synced = probe.synced.load(Ordering::Relaxed);
    std::fs::rename(&runs, data.join("runs/rmos-old")).unwrap();
    std::fs::rename(&fresh, &runs).unwrap();
    let end = Instant::now();
    model.0.clear();
    model.add(&restored);
    assert_equals_fresh_scan(&console, &data, &model, end, "the runs folder replaced");
    // Into an existing partition name (a new folder) and into a brand-new partition (seen
    // through the watch on the new runs folder): both through the watcher.
    for (what, first_day) in [
        ("files into a replaced partition", "2025-03-01"),
        ("a new partition in the replaced folder", "2025-10-01"),
    ] {
        // A pass since the last change has set the watches on the new folders.
        wait_for_probe("the watches to follow the new folders", &probe, |p| {
            p.synced.load(Ordering::Relaxed) > synced
        });
        let more = artifacts(&first_day.replace('-', ""), 20, first_day, 1);
        let synced_before = probe.synced.load(Ordering::Relaxed);
        write_all(&runs, &more);
        let end = Instant::now();
        model.add(&more);
        assert_equals_fresh_scan(&console, &data, &model, end, what);
        wait_for_probe("the pass after the change to sync", &probe, |p| {
            p.synced.load(Ordering::Relaxed) > synced_before
        });
    }
    assert_eq!(
        probe.full_passes.load(Ordering::Relaxed),
        0,
        "no full pass: every change came through the watcher: {probe:?}"
    );
    console.stop();
}

/// An idle console runs no pass: its own passes open the watched folders, and those
/// opens must not count as changes (they did: a pass every ~60 ms, forever). With the
/// periodic passes minutes away, the pass count stays where the start left it while the
/// console sits idle for a second (an observation window, not a latency bound).
#[test]
fn an_idle_console_runs_no_passes() {
    let _serial = serial();
    let (_dir, data, model) = seeded_root();
    let (console, probe) = probed_console(&data, Duration::from_secs(600));
    assert_equals_fresh_scan(&console, &data, &model, Instant::now(), "seeded store");
    let after_start = probe.synced.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        probe.synced.load(Ordering::Relaxed),
        after_start,
        "passes ran with nothing changed: {probe:?}"
    );
    console.stop();
}
