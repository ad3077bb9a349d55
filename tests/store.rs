//! The run store: durable create-only writes, cross-partition immutability, reads of the
//! reference's tree, the completeness guard and orchestration, hostile input, races and
//! crashes.

mod common;

use common::{fixtures, read_json, store_example_copy};
use rmos::domain::{JsonMap, RunArtifact, RunStatus, Timestamp};
use rmos::hashing::sha256_json;
use rmos::scoring::runs::{
    create_art_studio_feasibility_run, create_art_studio_snapshot_run, create_run_from_feasibility,
    normalize_risk_level, RunOptions,
};
use rmos::store::guard::{validate_and_persist, PersistRequest};
use rmos::store::runs::{read_artifact_file, RunStore, StoreError};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn example(name: &str) -> RunArtifact {
    let bytes = std::fs::read(fixtures().join("examples").join(name)).unwrap();
    RunArtifact::from_json_slice(&bytes).unwrap()
}

fn artifact(run_id: &str, created: &str) -> RunArtifact {
    let mut a = example("red_blocked_art_studio_run.json");
    a.run_id = run_id.to_owned();
    a.created_at_utc = Timestamp::parse(created).unwrap();
    a
}

fn obj(v: Value) -> JsonMap {
    v.as_object().unwrap().clone()
}

/// All regular files below `dir`, relative, sorted (to prove nothing was written).
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    for p in common::artifact_files(dir) {
        out.push(p.strip_prefix(dir).unwrap().display().to_string());
    }
    out
}

#[test]
fn put_writes_reference_format_in_created_date_partition() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path().join("runs/rmos"));
    let a = artifact("run_0001", "2025-12-23T23:30:00-05:00");
    let path = store.put(&a).unwrap();
    assert_eq!(path, dir.path().join("runs/rmos/2025-12-23/run_0001.json"));
    assert_eq!(std::fs::read(&path).unwrap(), a.to_file_bytes());
    let (back, from) = store.get("run_0001").unwrap();
    assert_eq!(from, path);
    assert_eq!(back, a);
    // No staging leftovers, nothing else in the partition.
    assert_eq!(
        std::fs::read_dir(dir.path().join("runs/rmos/_rmos/staging"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
}

#[test]
fn run_id_is_unique_across_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    store
        .put(&artifact("run_dup", "2025-12-22T10:00:00Z"))
        .unwrap();
    let original = std::fs::read(dir.path().join("2025-12-22/run_dup.json")).unwrap();
    for created in ["2025-12-22T11:00:00Z", "2025-12-24T10:00:00Z"] {
        let err = store.put(&artifact("run_dup", created)).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::AlreadyExists { .. }), "{msg}");
        assert!(
            msg.contains("2025-12-22") && msg.contains("immutable"),
            "{msg}"
        );
    }
    assert!(!dir.path().join("2025-12-24").join("run_dup.json").exists());
    assert_eq!(
        std::fs::read(dir.path().join("2025-12-22/run_dup.json")).unwrap(),
        original
    );
}

#[test]
fn existing_reference_run_is_refused() {
    let root = store_example_copy();
    let store = RunStore::new(root.path().join("runs/rmos"));
    let err = store
        .put(&artifact(
            "run_5eed0000000000000000000000000002",
            "2026-01-01T00:00:00Z",
        ))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyExists { ref partition, .. } if partition == "2025-12-23")
    );
}

#[test]
fn get_merges_advisory_link_files_like_the_reference() {
    let root = store_example_copy();
    let store = RunStore::new(root.path().join("runs/rmos"));
    let (a, _) = store.get("run_5eed0000000000000000000000000002").unwrap();
    let ids: Vec<&str> = a
        .advisory_inputs
        .iter()
        .map(|r| r.advisory_id.as_str())
        .collect();
    // The AdvisoryInputRef link is merged; the RunAdvisoryLinkV1 file (run_run_…) is not.
    assert_eq!(ids, ["adv_0a1b2c3d4e5f"]);
    assert_eq!(a.advisory_inputs[0].engine_id.as_deref(), Some("claude"));
    // Soft-deleted (tombstoned in _index.json) runs are still files, and still readable.
    assert!(store.get("run_5eed0000000000000000000000000004").is_ok());
    // The hard-deleted run is gone.
    assert!(matches!(
        store.get("run_5eed0000000000000000000000000003"),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn get_reads_the_newest_partition_whose_file_loads() {
    // The same run_id in three day folders (the reference allows it across partitions):
    // `get` takes the newest copy that parses, as the reference's `get()` does, and says
    // which file was unreadable when none parses.
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs/rmos");
    let id = "run_same_id_in_three_days";
    for (day, score) in [
        ("2025-01-01", 10.0),
        ("2025-01-02", 20.0),
        ("2025-01-03", 30.0),
    ] {
        let mut a = artifact(id, &format!("{day}T10:00:00Z"));
        a.decision.score = Some(score);
        std::fs::create_dir_all(runs.join(day)).unwrap();
        std::fs::write(runs.join(day).join(format!("{id}.json")), a.to_file_bytes()).unwrap();
    }
    // Folders that are not partitions are never looked in.
    std::fs::create_dir_all(runs.join("2025-13-01")).unwrap();
    std::fs::write(runs.join("2025-13-01").join(format!("{id}.json")), b"{}").unwrap();
    let store = RunStore::new(runs.clone());
    let (a, path) = store.get(id).unwrap();
    assert_eq!(
        (
            a.decision.score,
            path.parent().unwrap().ends_with("2025-01-03")
        ),
        (Some(30.0), true)
    );

    // The newest copy broken: the next older one is read.
    std::fs::write(
        runs.join("2025-01-03").join(format!("{id}.json")),
        b"{not json",
    )
    .unwrap();
    let (a, path) = store.get(id).unwrap();
    assert_eq!(
        (
            a.decision.score,
            path.parent().unwrap().ends_with("2025-01-02")
        ),
        (Some(20.0), true)
    );

    // None loads: the error names the newest broken file.
    for day in ["2025-01-01", "2025-01-02"] {
        std::fs::write(runs.join(day).join(format!("{id}.json")), b"[]").unwrap();
    }
    match store.get(id) {
        Err(StoreError::Invalid { path, .. }) => {
            assert!(path.parent().unwrap().ends_with("2025-01-03"), "{path:?}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // A partition that is a link to elsewhere is not followed.
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let mut a = artifact("run_behind_a_link", "2025-02-01T10:00:00Z");
    a.decision.score = Some(1.0);
    std::fs::write(outside.join("run_behind_a_link.json"), a.to_file_bytes()).unwrap();
    std::os::unix::fs::symlink(&outside, runs.join("2025-02-01")).unwrap();
    assert!(matches!(
        store.get("run_behind_a_link"),
        Err(StoreError::NotFound { .. })
    ));
    assert!(!store
        .partitions()
        .unwrap()
        .contains(&"2025-02-01".to_owned()));
}

#[test]
fn invalid_files_are_reported_never_fatal_never_touched() {
    let root = store_example_copy();
    let runs = root.path().join("runs/rmos");
    let bad = runs.join("2025-12-23/run_broken.json");
    std::fs::write(&bad, b"{\"run_id\": \"run_broken\", ").unwrap();
    let store = RunStore::new(&runs);
    match store.get("run_broken") {
        Err(StoreError::Invalid { reason, path, .. }) => {
            assert!(reason.contains("truncated JSON"), "{reason}");
            assert_eq!(path, bad);
        }
        other => panic!("{other:?}"),
    }
    assert!(read_artifact_file(&bad).is_err());
    assert_eq!(
        std::fs::read(&bad).unwrap(),
        b"{\"run_id\": \"run_broken\", "
    );
    // A put cannot clobber it either.
    assert!(matches!(
        store.put(&artifact("run_broken", "2025-12-23T00:00:00Z")),
        Err(StoreError::AlreadyExists { .. })
    ));
}

#[test]
fn hostile_run_ids_are_refused_and_nothing_is_written() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("data/runs/rmos");
    let store = RunStore::new(&root);
    let long = "r".repeat(10_000);
    for (id, needle) in [
        ("../escape", "separator"),
        ("a/b", "separator"),
        ("a\\b", "separator"),
        ("..", "'..'"),
        ("run..x", "'..'"),
        ("run\0nul", "NUL"),
        ("", "empty"),
        (long.as_str(), "bytes long"),
        ("run x", "not allowed"),
        ("run\u{1b}[2J", "control"),
    ] {
        let err = store
            .put(&artifact(id, "2025-12-23T00:00:00Z"))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, StoreError::InvalidRunId { .. }),
            "{id:?}: {msg}"
        );
        assert!(msg.contains(needle), "{id:?}: {msg}");
        assert!(
            msg.len() < 300,
            "the message stays readable for a 10,000-char id"
        );
        assert!(!msg.contains('\u{1b}'), "the id is shown escaped");
        // Lookups refuse anything that could leave a partition; a space is merely absent.
        assert!(
            matches!(
                store.get(id),
                Err(StoreError::InvalidRunId { .. } | StoreError::NotFound { .. })
            ),
            "{id:?}"
        );
    }
    assert!(tree(outer.path()).is_empty(), "{:?}", tree(outer.path()));
}

#[test]
fn oversized_artifact_is_refused_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let mut a = artifact("run_big", "2025-12-23T00:00:00Z");
    a.outputs.gcode_text = Some("G1 X1\n".repeat(12 * 1024 * 1024));
    let err = store.put(&a).unwrap_err();
    assert!(matches!(err, StoreError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("attachments"));
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn completeness_guard_persists_the_reference_substitute() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let mut req = PersistRequest::new("run_guarded".into(), "router", "vbit60", RunStatus::Ok);
    req.request_summary = obj(json!({"keys": ["design"]}));
    req.decision_score = Some(50.0);
    req.meta = obj(json!({"source": "caller"}));
    let a = validate_and_persist(&store, req).unwrap();
    let want = example("completeness_guard_blocked_run.json");
    assert_eq!(a.status, RunStatus::Blocked);
    assert_eq!(a.decision, want.decision);
    assert_eq!(a.hashes, want.hashes);
    assert_eq!(a.meta, want.meta);
    assert_eq!(a.request_summary, want.request_summary);
    let (stored, _) = store.get("run_guarded").unwrap();
    assert_eq!(stored, a);
}

#[test]
fn guard_uses_a_hash_carried_in_feasibility() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let mut req = PersistRequest::new("run_carried".into(), "router", "t", RunStatus::Ok);
    req.feasibility = obj(json!({"hash": "ab".repeat(32)}));
    req.risk_level = Some("green".into());
    let a = validate_and_persist(&store, req).unwrap();
    assert_eq!(a.status, RunStatus::Ok);
    assert_eq!(a.hashes.feasibility_sha256, "ab".repeat(32));
    assert_eq!(a.decision.risk_level, "GREEN");
}

#[test]
fn art_studio_run_reproduces_reference_example_a() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let want = example("red_blocked_art_studio_run.json");
    let feasibility = obj(json!({
        "overall_score": 42.0, "risk_bucket": "RED", "material_efficiency": 18.97,
        "estimated_cut_time_min": 5.0, "warnings": ["Heat: High heat generation; coolant required"]
    }));
    let opts = RunOptions {
        meta: obj(json!({"source": "feasibility_single"})),
        created_at: Some(want.created_at_utc),
        run_id: Some(want.run_id.clone()),
        ..Default::default()
    };
    let a = create_art_studio_feasibility_run(
        &store,
        want.request_summary.clone(),
        feasibility,
        "rosette",
        opts,
    )
    .unwrap();
    assert_eq!(a, want);
    let written = std::fs::read(
        dir.path()
            .join("2025-12-23")
            .join(format!("{}.json", want.run_id)),
    )
    .unwrap();
    assert_eq!(
        written,
        std::fs::read(fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap()
    );
}

#[test]
fn status_derivation_and_risk_normalization() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let run = |f: Value| {
        create_run_from_feasibility(
            &store,
            "router",
            "t",
            JsonMap::new(),
            obj(f),
            RunOptions::default(),
        )
        .unwrap()
    };
    let red = run(json!({"risk_level": "RED", "score": 10}));
    assert_eq!(
        (red.status, red.decision.block_reason.as_deref()),
        (
            RunStatus::Blocked,
            Some("Risk level RED - operation blocked")
        )
    );
    let err = run(json!({"risk_level": "ERROR"}));
    assert_eq!(
        (err.status, err.decision.block_reason.as_deref()),
        (RunStatus::Error, Some("Feasibility evaluation error"))
    );
    let lower = run(json!({"risk_level": "red"}));
    assert_eq!(
        (lower.status, lower.decision.risk_level.as_str()),
        (RunStatus::Ok, "RED"),
        "case-sensitive, as the reference"
    );
    let missing = run(json!({"score": 70}));
    assert_eq!(missing.decision.risk_level, "UNKNOWN");
    let via_decision = run(json!({"risk_level": "", "decision": {"risk_level": "YELLOW"}}));
    assert_eq!(via_decision.decision.risk_level, "YELLOW");
    let blank = run(json!({"risk_level": null, "decision": {"risk_level": null}}));
    assert_eq!(blank.status, RunStatus::Blocked, "guard substitute");
    assert_eq!(blank.decision.risk_level, "ERROR");
    assert_eq!(
        red.hashes.feasibility_sha256,
        sha256_json(&json!({"risk_level": "RED", "score": 10}))
    );

    let vectors =
        read_json("store_example/operations_log.json")["normalize_risk_level_vectors"].clone();
    for (input, want) in [
        (None, "None"),
        (Some(json!("green")), "'green'"),
        (Some(json!(" Yellow ")), "' Yellow '"),
        (Some(json!("RiskBucket.RED")), "'RiskBucket.RED'"),
        (Some(json!(5)), "5"),
        (Some(json!("")), "''"),
        (Some(json!("foo.bar.Baz")), "'foo.bar.Baz'"),
    ] {
        assert_eq!(
            normalize_risk_level(input.as_ref()),
            vectors[want].as_str().unwrap(),
            "{want}"
        );
    }
}

#[test]
fn snapshot_run_without_feasibility_is_ok_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let snap = obj(
        json!({"snapshot_id": "snap_1", "design_fingerprint": "494a84eba98ce3d1", "created_at_utc": "2025-12-23T00:00:00+00:00"}),
    );
    let opts = RunOptions {
        meta: obj(json!({"operation": "export"})),
        ..Default::default()
    };
    let a = create_art_studio_snapshot_run(&store, &snap, "default-vbit", opts).unwrap();
    assert_eq!(a.status, RunStatus::Ok);
    assert_eq!(a.decision.risk_level, "UNKNOWN");
    assert_eq!(a.mode, "art_studio");
    assert_eq!(
        Value::Object(a.meta.clone()),
        json!({"workflow": "snapshot", "operation": "export"})
    );
    assert_eq!(
        Value::Object(a.request_summary.clone()),
        json!({"snapshot_id": "snap_1", "name": null, "created_at_utc": "2025-12-23T00:00:00+00:00", "design_fingerprint": "494a84eba98ce3d1", "has_feasibility": false})
    );
    assert_eq!(a.source().as_deref(), Some("snapshot"));
}

// ---------------------------------------------------------------------------------------
// Races and crashes. Child processes are this test binary re-run with RMOS_TEST_CHILD set,
// running the ignored `child_process` harness (not a test of its own).

fn spawn_child(mode: &str, root: &Path, extra: &str) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("RMOS_TEST_CHILD", mode)
        .env("RMOS_TEST_ROOT", root)
        .env("RMOS_TEST_ARG", extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Printed by the "loop" child after its first complete put.
const FIRST_WRITE: &str = "FIRST-WRITE-DONE";

/// The child processes of the race and crash tests; started by them, never on its own.
#[test]
#[ignore = "child process of eight_processes_race_on_one_run_id and sigkilled_writer_never_leaves_partial_artifacts"]
fn child_process() {
    let mode = std::env::var("RMOS_TEST_CHILD").expect(
        "not a test: the child process of the race and crash tests, started by them with RMOS_TEST_CHILD",
    );
    let store = RunStore::new(std::env::var("RMOS_TEST_ROOT").unwrap());
    let arg = std::env::var("RMOS_TEST_ARG").unwrap();
    match mode.as_str() {
        "race" => {
            // Wait at the gate (the test opens it once all are there) so all writers collide.
            common::gate::wait_at(Path::new(&arg));
            let day = 10 + (std::process::id() % 18);
            let result = store.put(&artifact(
                "run_contested",
                &format!("2025-12-{day}T00:00:00Z"),
            ));
            match result {
                Ok(_) => println!("RESULT ok"),
                Err(StoreError::AlreadyExists { .. }) => println!("RESULT exists"),
                Err(e) => println!("RESULT error {e}"),
            }
        }
        "loop" => {
            use std::io::Write;
            for i in 0.. {
                let id = format!("run_{}_{i:06}", std::process::id());
                store.put(&artifact(&id, "2025-12-23T12:00:00Z")).unwrap();
                if i == 0 {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{FIRST_WRITE}").unwrap();
                    out.flush().unwrap();
                }
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn eight_threads_race_on_one_run_id() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let barrier = std::sync::Barrier::new(8);
    let results: Vec<Result<_, StoreError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (store, barrier) = (&store, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    store.put(&artifact(
                        "run_contested",
                        &format!("2025-12-{:02}T00:00:00Z", 10 + i),
                    ))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let exists = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::AlreadyExists { .. })))
        .count();
    assert_eq!((ok, exists), (1, 7), "{results:?}");
    let found = store.locate_all("run_contested").unwrap();
    assert_eq!(found.len(), 1);
    assert!(read_artifact_file(&found[0].1).is_ok());
}

#[test]
fn eight_processes_race_on_one_run_id() {
    let dir = tempfile::tempdir().unwrap();
    let gate = common::gate::Gate::closed();
    let gate_path = gate.path().to_str().unwrap().to_owned();
    let children: Vec<_> = (0..8)
        .map(|_| spawn_child("race", dir.path(), &gate_path))
        .collect();
    gate.open_when_waiting(8);
    let outputs: Vec<String> = children
        .into_iter()
        .map(|c| String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap())
        .collect();
    let ok = outputs.iter().filter(|o| o.contains("RESULT ok")).count();
    let exists = outputs
        .iter()
        .filter(|o| o.contains("RESULT exists"))
        .count();
    assert_eq!((ok, exists), (1, 7), "{outputs:?}");
    let store = RunStore::new(dir.path());
    let found = store.locate_all("run_contested").unwrap();
    assert_eq!(found.len(), 1);
    assert!(read_artifact_file(&found[0].1).is_ok());
}

/// A writer killed with SIGKILL at random points never leaves a partial or invalid file
/// inside a partition (staging leftovers live in `_rmos/staging`, outside partitions).
/// Each kill comes 0–8 ms after the child reported its first complete write (start-up is
/// never what gets killed); the seed is printed and `RMOS_CRASH_SEED` replays it.
#[test]
fn sigkilled_writer_never_leaves_partial_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let store = RunStore::new(dir.path());
    let staging = dir.path().join("_rmos/staging");
    let mut rng = common::kill::Rng::from_env("sigkilled_writer_never_leaves_partial_artifacts");
    let seed = rng.seed;
    let kills = 60;
    let mut mid_write = 0;
    for _ in 0..kills {
        let before = common::kill::names(&staging);
        let mut child = spawn_child("loop", dir.path(), "");
        common::kill::wait_for_marker(&mut child, FIRST_WRITE);
        std::thread::sleep(Duration::from_micros(rng.below(8_000)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(libc::SIGKILL),
            "the writer was still writing when killed (seed {seed}): {status}"
        );
        if common::kill::names(&staging)
            .difference(&before)
            .next()
            .is_some()
        {
            mid_write += 1; // its staged file is still there: killed between stage and commit
        }
    }
    let mut valid = 0;
    for p in store.partitions().unwrap() {
        for entry in std::fs::read_dir(store.partition_dir(&p)).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(
                name.ends_with(".json") && !name.starts_with('.'),
                "stray file in a partition (seed {seed}): {name}"
            );
            read_artifact_file(&path).unwrap_or_else(|e| panic!("{name} (seed {seed}): {e}"));
            valid += 1;
        }
    }
    assert!(
        valid >= kills,
        "every child wrote at least once before its kill (seed {seed}): {valid} files"
    );
    eprintln!(
        "{kills} kills ({mid_write} with a staged file left: mid-write), {valid} complete artifacts, no partial file (seed {seed})"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    /// The compact listing a folder comparison uses names exactly the artifact-like files
    /// (never a folder, a hidden file or an advisory file), in the same order as sorting
    /// the names, whatever prefixes they share and however long they are.
    #[test]
    fn a_partition_listing_is_every_artifact_name_in_order(
        names in proptest::collection::btree_set("run_(day0{0,12})?[a-c0-9_]{0,14}", 0..60),
        prefix_all in proptest::bool::ANY,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("2031-01-01");
        std::fs::create_dir_all(&part).unwrap();
        let mut expected = Vec::new();
        for n in &names {
            let n = if prefix_all { format!("run_sharedprefix_{n}") } else { n.clone() };
            let file = format!("{n}.json");
            std::fs::write(part.join(&file), b"{}").unwrap();
            expected.push(file);
        }
        std::fs::create_dir(part.join("folder.json")).unwrap();
        std::fs::write(part.join(".hidden.json"), b"").unwrap();
        std::fs::write(part.join("x_advisory_y.json"), b"").unwrap();
        expected.sort();
        let got: Vec<String> = RunStore::new(dir.path())
            .partition_entries("2031-01-01")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        proptest::prop_assert_eq!(got, expected);
    }
}
