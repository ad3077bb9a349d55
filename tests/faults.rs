//! A full disk and missing permissions: clear errors that say what to do, no partial file,
//! an index that catches up once the problem is fixed, a console that keeps running.
//!
//! The disk is a small tmpfs mounted for the test (needs root); permissions are tested as
//! the unprivileged user `nobody` (root bypasses them), through `setpriv`. Without root the
//! tests are skipped, and the end of `cargo test` lists them (`common::skip`); `.ci/run`
//! runs as root and sets `RMOS_REQUIRE_PRIVILEGED_TESTS=1`, which turns a skip into a
//! failure.

mod common;

use common::console::Console;
use common::skip::{skip, Needs};
use common::tmux::Tmux;
use rmos::tui::worker::ReconcileTiming;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether a privileged test can run here; records a skip (or fails when required) if not.
fn privileged(what: &str) -> bool {
    if is_root() {
        return true;
    }
    skip(Needs::Privilege, &format!("{what} needs root"));
    false
}

/// A small tmpfs, unmounted when dropped.
struct SmallDisk {
    _dir: tempfile::TempDir,
    mnt: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mnt = dir.path().join("disk");
        std::fs::create_dir(&mnt).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mnt)
            .output()
            .unwrap();
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).into_owned();
            skip(
                Needs::Privilege,
                &format!("cannot mount a tmpfs here: {}", why.trim()),
            );
            return None;
        }
        Some(SmallDisk { _dir: dir, mnt })
    }

    /// Fill what is left with a file at `path`.
    fn fill(&self, path: &Path) {
        let mut f = std::fs::File::create(path).unwrap();
        let block = vec![0u8; 64 * 1024];
        use std::io::Write;
        while f.write_all(&block).is_ok() {}
        let small = [0u8; 512];
        while f.write_all(&small).is_ok() {}
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).output();
    }
}

fn rmos(data: &Path, args: &[&str]) -> Output {
    common::rmos_cmd(data)
        .args(args)
        .env("RMOS_REVIEWER", "alice")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run_files(data: &Path) -> Vec<PathBuf> {
    let runs = data.join("runs/rmos");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&runs).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_dir() && !name.starts_with('_') {
            out.extend(
                common::artifact_files(&e.path())
                    .into_iter()
                    .filter(|p| !p.to_string_lossy().contains("_advisory_")),
            );
        }
    }
    out
}

fn staging_leftovers(data: &Path) -> usize {
    std::fs::read_dir(data.join("runs/rmos/_rmos/staging"))
        .map(|rd| rd.count())
        .unwrap_or(0)
}

#[test]
fn full_disk_stops_a_batch_cleanly_and_the_index_catches_up_when_space_is_freed() {
    if !privileged("mounting a small tmpfs") {
        return;
    }
    let Some(disk) = SmallDisk::mount("8m") else {
        return;
    };
    let data = disk.mnt.join("data");
    let work = tempfile::tempdir().unwrap();
    let batch = common::batch_file(work.path(), 3000);
    // Leave about 3 MB for runs: the rest is held by a file we free later.
    let filler = disk.mnt.join("filler");
    std::fs::write(&filler, vec![0u8; 5 << 20]).unwrap();

    let out = rmos(&data, &["score", "--batch", batch.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(
        err.contains("the filesystem is full: free some space"),
        "{err}"
    );
    let stopped: usize = err
        .split("stopped at line ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no 'stopped at line N' in {err}"));
    assert!(err.contains(&format!("tail -n +{stopped} ")), "{err}");
    assert!(
        !err.contains(&format!("line {}:", stopped + 1)),
        "the batch stops at the first line the store refuses"
    );
    // Every line before the stop is a complete run; nothing partial anywhere.
    let files = run_files(&data);
    assert_eq!(files.len(), stopped - 1);
    assert!(files.len() > 100, "the disk held {} runs", files.len());
    assert_eq!(staging_leftovers(&data), 0);
    let verify = rmos(&data, &["runs", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", text(&verify.stdout));

    // No room for rmos.db on the full disk: listing still works, from an index in the
    // user's cache, and says so.
    let recent = rmos(&data, &["--json", "logs", "recent", "--limit", "500"]);
    let err = text(&recent.stderr);
    assert_eq!(recent.status.code(), Some(0), "{err}");
    assert!(
        err.contains("is full (or failing): the run index is kept in"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&recent.stdout).unwrap();
    assert_eq!(v["total"], files.len() as u64);

    // Space freed: the index catches up to exactly the files, the batch resumes.
    std::fs::remove_file(&filler).unwrap();
    let status = rmos(&data, &["--json", "index", "rebuild"]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status.stderr));
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v["parsed"], files.len() as u64);
    assert_eq!(v["invalid"], 0);
}

#[test]
fn full_disk_review_decisions_fail_clearly_and_the_chain_stays_valid() {
    if !privileged("mounting a small tmpfs") {
        return;
    }
    let Some(disk) = SmallDisk::mount("4m") else {
        return;
    };
    let data = disk.mnt.join("data");
    let mut ids = Vec::new();
    for i in 0..6 {
        let out = rmos(
            &data,
            &[
                "--json",
                "advisory",
                "add",
                "--type",
                "EXPLANATION",
                "--text",
                &format!("raise the feed rate, variant {i}"),
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ids.push(v["asset_id"].as_str().unwrap().to_owned());
    }
    let approve = |id: &str| rmos(&data, &["advisory", "approve", id]);
    assert!(approve(&ids[0]).status.success());

    // Fill the disk, including SQLite's spare room: decide until a decision is refused.
    let filler = disk.mnt.join("filler");
    disk.fill(&filler);
    let mut approved = vec![ids[0].clone()];
    let mut refused = 0;
    for id in &ids[1..] {
        let out = approve(id);
        if out.status.success() {
            approved.push(id.clone());
            disk.fill(&disk.mnt.join(format!("filler-{id}")));
        } else {
            let err = text(&out.stderr);
            assert!(
                err.contains("full") || err.contains("No space"),
                "a refused decision says the disk is full: {err}"
            );
            refused += 1;
        }
    }
    assert!(refused > 0, "a full disk refused no decision");

    // Space freed: the chain verifies and holds exactly the decisions that succeeded.
    for e in std::fs::read_dir(&disk.mnt).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("filler")
        {
            std::fs::remove_file(p).unwrap();
        }
    }
    let audit = rmos(&data, &["audit", "verify"]);
    assert_eq!(audit.status.code(), Some(0), "{}", text(&audit.stdout));
    let list = rmos(
        &data,
        &["--json", "advisory", "list", "--status", "approved"],
    );
    let v: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let mut got: Vec<String> = v
        .as_array()
        .or_else(|| v["assets"].as_array())
        .unwrap()
        .iter()
        .map(|a| a["asset_id"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    approved.sort();
    assert_eq!(got, approved);
}

/// A full disk with 60 runs and no room for `rmos.db`; `cache_on_disk` puts the user's
/// cache on the same full disk (else it is elsewhere, with room).
/// `None` (SKIPPED) where no tmpfs can be mounted.
fn full_disk_with_runs(cache_on_disk: bool) -> Option<(SmallDisk, rmos::config::DataRoot)> {
    let disk = SmallDisk::mount("4m")?;
    let data = disk.mnt.join("data");
    let work = tempfile::tempdir().unwrap();
    let out = rmos(
        &data,
        &[
            "score",
            "--batch",
            common::batch_file(work.path(), 60).to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut root = rmos::config::DataRoot::at(&data);
    root.cache_dir = if cache_on_disk {
        disk.mnt.join("cache")
    } else {
        work.keep().join("cache")
    };
    disk.fill(&disk.mnt.join("filler"));
    Some((disk, root))
}

#[test]
fn console_on_a_full_data_disk_lists_runs_from_an_index_in_the_cache() {
    if !privileged("mounting a small tmpfs") {
        return;
    }
    let Some((_disk, root)) = full_disk_with_runs(false) else {
        return;
    };
    let cache = root.cache_dir.clone();
    let console = Console::start_root(root, Default::default());
    let long = Duration::from_secs(15);
    console.wait("all 60 runs", long, |s| {
        s.count == Some(60) && !s.rows.is_empty()
    });
    console.wait("the note saying why the index is elsewhere", long, |s| {
        s.messages_shown
            .iter()
            .any(|m| m.contains("is full (or failing): the run index is kept in"))
    });
    assert!(
        console.now().errors_shown.is_empty(),
        "{:?}",
        console.now().errors_shown
    );
    console.stop();
    assert!(
        std::fs::read_dir(&cache).unwrap().count() > 0,
        "the index is in the cache"
    );
    let _ = std::fs::remove_dir_all(cache.parent().unwrap());
}

#[test]
fn console_on_a_full_disk_says_so_and_recovers_without_a_restart() {
    if !privileged("mounting a small tmpfs") {
        return;
    }
    // Nowhere to put an index: the console says why, and recovers once space is freed.
    let Some((disk, root)) = full_disk_with_runs(true) else {
        return;
    };
    let console = Console::start_root(
        root,
        ReconcileTiming {
            quick: Duration::from_millis(200),
            ..ReconcileTiming::default()
        },
    );
    let long = Duration::from_secs(15);
    console.wait("the console to say the disk is full", long, |s| {
        s.error
            .as_deref()
            .is_some_and(|e| e.contains("rmos.db") && (e.contains("full") || e.contains("I/O")))
    });
    std::fs::remove_file(disk.mnt.join("filler")).unwrap();
    console.wait("the runs once space is back", long, |s| {
        s.error.is_none() && s.count == Some(60) && !s.rows.is_empty()
    });
    console.stop();
}

// ---------------------------------------------------------------------------------------
// Permissions, as `nobody`.

const NOBODY: &str = "65534";

/// A data root owned by `nobody` with the demo's runs, and a copy of the binary `nobody`
/// can execute (the build folder may not be reachable for it).
struct NobodyRoot {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl NobodyRoot {
    fn new() -> NobodyRoot {
        Self::with_owner(true)
    }

    /// The demo data root, owned by `nobody` or (`false`) left to root, readable by all.
    /// `nobody`'s home is `<dir>/home`, its own.
    fn with_owner(nobody_owns_data: bool) -> NobodyRoot {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("rmos");
        std::fs::copy(env!("CARGO_BIN_EXE_rmos"), &bin).unwrap();
        let data = dir.path().join("data");
        let out = rmos(&data, &["demo", "--no-tui"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        std::fs::create_dir(dir.path().join("home")).unwrap();
        let owned = if nobody_owns_data {
            dir.path().to_path_buf()
        } else {
            dir.path().join("home")
        };
        let st = Command::new("chown")
            .args(["-R", &format!("{NOBODY}:{NOBODY}")])
            .arg(owned)
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        NobodyRoot { dir, bin }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
            ])
            .arg(&self.bin)
            .arg("--data")
            .arg(self.data())
            .args(args)
            .env("HOME", self.dir.path().join("home"))
            .env_remove("XDG_CACHE_HOME")
            .env("RMOS_REVIEWER", "alice")
            .output()
            .unwrap()
    }

    fn partitions(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(self.data().join("runs/rmos"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('_'))
            .collect();
        v.sort();
        v
    }
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn unreadable_partitions_and_files_are_reported_and_the_rest_still_works() {
    if !privileged("switching to the nobody user") {
        return;
    }
    let root = NobodyRoot::new();
    let total = run_files(&root.data()).len();
    let parts = root.partitions();
    let (locked, open) = (&parts[0], parts.last().unwrap());
    let locked_runs = common::artifact_files(locked).len();
    assert!(locked_runs > 0);
    chmod(locked, 0o000);
    let unreadable_file = common::artifact_files(open)[0].clone();
    chmod(&unreadable_file, 0o000);

    // verify: both named, with the reason and what to do; exit 1.
    let out = root.run(&["runs", "verify"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{}/  (partition)", locked.display())),
        "{stdout}"
    );
    assert!(stdout.contains("Permission denied"), "{stdout}");
    assert!(stdout.contains("ls -ld"), "{stdout}");
    assert!(
        stdout.contains(&unreadable_file.display().to_string()),
        "{stdout}"
    );
    let fine = stdout
        .lines()
        .filter(|l| l.starts_with("ok ") || l.starts_with("placeholder "))
        .count();
    assert_eq!(
        fine,
        total - locked_runs - 1,
        "every other run still verifies"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "1 invalid, 0 duplicate; 1 partition could not be read (its runs were not checked)"
        ),
        "{err}"
    );

    // The index: built from everything readable, the locked partition named.
    let out = root.run(&["--json", "index", "rebuild"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("cannot read partition {}", locked.display())),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["parsed"], (total - locked_runs) as u64);
    assert_eq!(v["invalid"], 1, "the unreadable file is listed as invalid");

    // Listing works (with the warning), and a run found elsewhere still opens.
    let out = root.run(&["--json", "logs", "recent", "--limit", "500"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning: cannot read partition"));
    let other = common::artifact_files(open)[1].clone();
    let id = other.file_stem().unwrap().to_str().unwrap();
    let out = root.run(&["logs", "show", id]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let id = unreadable_file.file_stem().unwrap().to_str().unwrap();
    let out = root.run(&["logs", "show", id]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains("Permission denied") && err.contains(id),
        "{err}"
    );

    // Fixed: everything is back, nothing was rewritten.
    chmod(locked, 0o755);
    chmod(&unreadable_file, 0o644);
    let out = root.run(&["--json", "index", "rebuild"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["parsed"], total as u64);
}

#[test]
fn read_only_folders_refuse_writes_clearly_and_leave_nothing_behind() {
    if !privileged("switching to the nobody user") {
        return;
    }
    let root = NobodyRoot::new();
    let before = run_files(&root.data()).len();
    let runs = root.data().join("runs/rmos");
    let design = root.dir.path().join("design.json");
    std::fs::write(
        &design,
        r#"{"outer_diameter_mm": 100, "inner_diameter_mm": 80, "ring_params": [{"ring_index": 0, "width_mm": 2.0}]}"#,
    )
    .unwrap();
    chmod(&design, 0o644);

    // The runs folder and today's partition read-only (the staging folder too).
    let today = runs.join(chrono::Utc::now().format("%Y-%m-%d").to_string());
    for d in [
        &runs,
        &today,
        &runs.join("_rmos"),
        &runs.join("_rmos/staging"),
    ] {
        if d.is_dir() {
            chmod(d, 0o555);
        }
    }
    let out = root.run(&["score", design.to_str().unwrap()]);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    assert!(err.contains("check the owner and mode"), "{err}");
    assert_eq!(
        run_files(&root.data()).len(),
        before,
        "nothing was recorded"
    );
    assert_eq!(staging_leftovers(&root.data()), 0);

    // A database nobody may write: the error names it and says what SQLite needs.
    for d in [
        &runs,
        &today,
        &runs.join("_rmos"),
        &runs.join("_rmos/staging"),
    ] {
        if d.is_dir() {
            chmod(d, 0o755);
        }
    }
    let out = root.run(&["index", "rebuild"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    chmod(&root.data(), 0o555);
    for f in ["rmos.db", "rmos.db-wal", "rmos.db-shm"] {
        let p = root.data().join(f);
        if p.exists() {
            chmod(&p, 0o444);
        }
    }
    let out = root.run(&["advisory", "approve", "adv_does_not_matter"]);
    let err = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("rmos.db"), "{err}");
    assert!(
        !err.contains("invalid asset"),
        "not blamed on the asset: {err}"
    );
    assert!(
        err.contains("read-only") || err.contains("must exist and be writable"),
        "{err}"
    );
    chmod(&root.data(), 0o755);
}

/// The real console in tmux (120×30), run as `nobody` on a [`NobodyRoot`], after
/// `prepare`. `None` (SKIPPED) without tmux outside CI.
fn nobody_console(root: &NobodyRoot, prepare: impl FnOnce()) -> Option<Tmux> {
    let name = root.dir.path().file_name().unwrap().to_string_lossy();
    let tmux = Tmux::new(&format!("faults-{name}"))?;
    prepare();
    tmux.start(
        120,
        30,
        &format!(
            "setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups env HOME={home} RMOS_REVIEWER=alice {bin} --data {data}",
            home = root.dir.path().join("home").display(),
            bin = root.bin.display(),
            data = root.data().display()
        ),
    );
    Some(tmux)
}

/// The real console in tmux, as `nobody`: an unreadable partition is named in the status
/// line and marked `[scanning]`; fixing the mode brings its runs back without a restart.
#[test]
fn console_as_nobody_names_an_unreadable_partition_and_recovers() {
    if !privileged("switching to the nobody user") {
        return;
    }
    let root = NobodyRoot::new();
    let parts = root.partitions();
    let locked = &parts[0];
    let Some(tmux) = nobody_console(&root, || chmod(locked, 0o000)) else {
        return;
    };
    let wait = |what: &str, cond: &dyn Fn(&str) -> bool| tmux.wait_screen(what, cond);
    let name = locked.file_name().unwrap().to_string_lossy().into_owned();
    let screen = wait("the unreadable partition to be named", &|s| {
        s.contains(&format!("cannot read partition {name}/")) && s.contains("[scanning]")
    });
    let count = |s: &str| -> u64 {
        let words: Vec<&str> = s.lines().next().unwrap_or("").split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[1] == "runs")
            .and_then(|w| w[0].parse().ok())
            .unwrap_or(0)
    };
    let before = count(&screen);
    assert!(before > 0, "{screen}");
    chmod(locked, 0o755);
    let locked_runs = common::artifact_files(locked).len() as u64;
    wait("the partition's runs to come back", &|s| {
        !s.contains("[scanning]")
            && !s.contains("cannot read partition")
            && count(s) == before + locked_runs
    });
    tmux.keys(&["q"]);
}

/// Someone with read access only (a shared host, a service account's data): the console
/// and the CLI browse everything, the run index lives in their own cache, decisions are
/// refused with the reason, and nothing in the data root changes.
#[test]
fn a_read_only_data_root_can_be_browsed_but_not_decided() {
    if !privileged("switching to the nobody user") {
        return;
    }
    let root = NobodyRoot::with_owner(false);
    let data = root.data();
    let runs = run_files(&data).len();
    let snapshot = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut v: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut stack = vec![d.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    v.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        v.sort();
        v
    };
    let before = snapshot(&data);

    let out = root.run(&["--json", "logs", "recent", "--limit", "500"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("is read-only for you: the run index is kept in"),
        "{err}"
    );
    assert!(
        err.contains(
            &root
                .dir
                .path()
                .join("home/.cache/rmos/index-")
                .display()
                .to_string()
        ),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], runs as u64, "every run is listed");

    let out = root.run(&["--json", "advisory", "list", "--status", "all"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let assets: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = assets
        .as_array()
        .or_else(|| assets["assets"].as_array())
        .unwrap()[0]["asset_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = root.run(&["advisory", "approve", &first]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("read-only for you"), "{err}");
    let out = root.run(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // The console: every run, marked read-only; the queue browses, deciding is refused.
    if let Some(tmux) = nobody_console(&root, || {}) {
        tmux.wait_screen("the runs, marked read-only", |s: &str| {
            s.lines()
                .next()
                .unwrap_or("")
                .contains(&format!("{runs} runs"))
                && s.contains("[read-only]")
        });
        tmux.keys(&["2"]);
        tmux.wait_screen("the queue, browsing", |s: &str| {
            s.contains("browsing as alice (read-only data root)") && s.contains("pending")
        });
        tmux.keys(&["a"]);
        tmux.wait_screen("approve refused", |s: &str| {
            s.contains("the data root is read-only for you: browse only")
        });
        tmux.keys(&["q"]);
    }

    assert!(
        before == snapshot(&data),
        "nothing in the data root changed"
    );
}
