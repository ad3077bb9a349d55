//! Rosette snapshots and CAM backups: id validation vectors, lifecycle, never overwriting,
//! traversal refusal, concurrent writers.

mod common;

use common::read_json;
use rmos::domain::design::{Design, RosetteParamSpec};
use rmos::scoring::snapshots;
use rmos::store::backups::BackupStore;
use rmos::store::snapshots::{
    validate_snapshot_id, FileStoreError, MetadataPatch, SnapshotMetadata, SnapshotStore,
};
use rmos::store::RunStore;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn spec(v: Value) -> RosetteParamSpec {
    match Design::from_json(&v).unwrap() {
        Design::Spec(s) => s,
        Design::Legacy(_) => panic!("spec expected"),
    }
}

fn stores(root: &Path) -> (SnapshotStore, RunStore) {
    (
        SnapshotStore::new(root.join("art_studio/snapshots")),
        RunStore::new(root.join("runs/rmos")),
    )
}

#[test]
fn snapshot_id_validation_matches_the_vectors() {
    let doc = read_json("feasibility_vectors.json");
    let vectors = doc["snapshot_id_validation_vectors"].as_array().unwrap();
    assert!(vectors.len() >= 10);
    for v in vectors {
        let input = v["input"].as_str().unwrap();
        match validate_snapshot_id(input) {
            Ok(n) => {
                assert!(v["valid"].as_bool().unwrap(), "{input:?} should be refused");
                assert_eq!(n, v["normalized"].as_str().unwrap());
            }
            Err(e) => {
                assert!(!v["valid"].as_bool().unwrap(), "{input:?} should pass: {e}");
                assert_eq!(e, v["error"].as_str().unwrap(), "{input:?}");
            }
        }
    }
}

#[test]
fn export_records_a_run_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let (snaps, runs) = stores(dir.path());
    let s = spec(
        json!({"outer_diameter_mm": 118, "inner_diameter_mm": 98, "ring_params": [
        {"ring_index": 0, "width_mm": 2.0, "pattern_type": "SOLID"},
        {"ring_index": 1, "width_mm": 4.5, "pattern_type": "MOSAIC", "tile_length_mm": 3.0}]}),
    );
    let meta = SnapshotMetadata {
        name: Some("Herringbone test".into()),
        tags: vec!["demo".into()],
        ..Default::default()
    };
    let w = snapshots::export(&snaps, &runs, &s, Some("snap_fixed"), meta.clone(), true).unwrap();
    assert_eq!(
        w.snapshot.design_fingerprint, "60d62e7ad15dcee7",
        "the vectors' fingerprint of this design"
    );
    assert_eq!(w.snapshot.metadata.source.as_deref(), Some("manual"));
    let run_id = w.run_id.clone().unwrap();
    let (run, _) = runs.get(&run_id).unwrap();
    assert_eq!(run.mode, "art_studio");
    assert_eq!(run.tool_id, "default-vbit");
    assert_eq!(run.status, rmos::domain::RunStatus::Ok);
    assert_eq!(
        Value::Object(run.meta.clone()),
        json!({"workflow": "snapshot", "operation": "export"})
    );
    assert_eq!(run.request_summary["snapshot_id"], "snap_fixed");
    assert_eq!(run.request_summary["name"], "Herringbone test");
    assert_eq!(run.request_summary["has_feasibility"], true);
    // The stored file loads back and carries the run id.
    assert_eq!(snaps.get("snap_fixed").unwrap(), w.snapshot);
    let before = std::fs::read(dir.path().join("art_studio/snapshots/snap_fixed.json")).unwrap();
    let again = snapshots::export(&snaps, &runs, &s, Some("snap_fixed"), meta, true).unwrap_err();
    assert!(matches!(again, FileStoreError::Exists { .. }), "{again}");
    assert_eq!(
        std::fs::read(dir.path().join("art_studio/snapshots/snap_fixed.json")).unwrap(),
        before
    );
    assert_eq!(runs.partitions().unwrap().len(), 1);
    let runs_written: usize = runs
        .partitions()
        .unwrap()
        .iter()
        .map(|p| runs.partition_files(p).unwrap().len())
        .sum();
    assert_eq!(runs_written, 1, "a refused export records no run");
}

#[test]
fn reference_snapshot_file_loads() {
    let snaps = SnapshotStore::new(common::fixtures().join("store_example/art_studio/snapshots"));
    let s = snaps.get("snap_5eed00000000").unwrap();
    assert_eq!(s.metadata.tags, ["demo"]);
    assert_eq!(
        s.run_id.as_deref(),
        Some("run_5eed0000000000000000000000000008")
    );
    let (list, invalid) = snaps.list(Some("demo"), 10, 0).unwrap();
    assert_eq!((list.len(), invalid), (1, 0));
}

#[test]
fn import_recomputes_the_fingerprint_and_marks_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let (snaps, runs) = stores(dir.path());
    let mut doc: Value = serde_json::from_slice(
        &std::fs::read(
            common::fixtures().join("store_example/art_studio/snapshots/snap_5eed00000000.json"),
        )
        .unwrap(),
    )
    .unwrap();
    doc["design_fingerprint"] = json!("0000000000000000");
    doc["snapshot_id"] = json!("");
    let w = snapshots::import(&snaps, &runs, &doc).unwrap();
    assert_eq!(w.warnings, ["Design fingerprint mismatch: expected 0000000000000000, computed 60d62e7ad15dcee7. Using computed fingerprint."]);
    assert!(w.snapshot.snapshot_id.starts_with("snap_") && w.snapshot.snapshot_id.len() == 17);
    assert_eq!(w.snapshot.metadata.source.as_deref(), Some("import"));
    let (run, _) = runs.get(w.run_id.as_deref().unwrap()).unwrap();
    assert_eq!(run.meta["operation"], "import");
}

#[test]
fn list_update_baseline_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (snaps, runs) = stores(dir.path());
    let s = spec(json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20}));
    // The listing is newest first by file time: the three files get times a minute apart
    // (set, not waited for).
    let base = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for (n, (id, tag)) in [("a1", "x"), ("b2", "y"), ("c3", "x")]
        .into_iter()
        .enumerate()
    {
        let meta = SnapshotMetadata {
            tags: vec![tag.into()],
            ..Default::default()
        };
        snapshots::export(&snaps, &runs, &s, Some(id), meta, false).unwrap();
        let file = dir.path().join(format!("art_studio/snapshots/{id}.json"));
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(base + std::time::Duration::from_secs(60 * n as u64))
            .unwrap();
    }
    let ids = |v: Vec<rmos::store::snapshots::Snapshot>| {
        v.into_iter().map(|s| s.snapshot_id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(snaps.list(None, 10, 0).unwrap().0),
        ["c3", "b2", "a1"],
        "newest first"
    );
    assert_eq!(ids(snaps.list(Some("x"), 10, 0).unwrap().0), ["c3", "a1"]);
    assert_eq!(ids(snaps.list(None, 1, 1).unwrap().0), ["b2"]);
    let u = snaps
        .update_metadata(
            "a1",
            MetadataPatch {
                name: Some("renamed".into()),
                tags: Some(vec![]),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(u.metadata.name.as_deref(), Some("renamed"));
    assert!(snaps
        .update_metadata(
            "a1",
            MetadataPatch {
                notes: Some("n".repeat(5000)),
                ..Default::default()
            }
        )
        .is_err());
    snaps.set_baseline("a1", true).unwrap();
    snaps.set_baseline("b2", true).unwrap();
    assert_eq!(
        snaps.baseline().unwrap().unwrap().snapshot_id,
        "b2",
        "one baseline at a time"
    );
    assert!(!snaps.get("a1").unwrap().baseline);
    snaps.delete("b2").unwrap();
    assert!(matches!(
        snaps.get("b2"),
        Err(FileStoreError::NotFound { .. })
    ));
    assert!(snaps.baseline().unwrap().is_none());
    assert!(matches!(
        snaps.delete("b2"),
        Err(FileStoreError::NotFound { .. })
    ));
}

#[test]
fn traversal_ids_are_refused_everywhere() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("data");
    let (snaps, runs) = stores(&root);
    std::fs::write(outer.path().join("victim.json"), b"{}").unwrap();
    let s = spec(json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20}));
    let ids = [
        "../victim",
        "..\\victim",
        "a/b",
        "/etc/passwd",
        "a.b",
        "..",
        ".",
        "",
        "a\0b",
    ];
    for id in ids {
        assert!(
            matches!(snaps.get(id), Err(FileStoreError::InvalidId(_))),
            "{id}"
        );
        assert!(
            matches!(snaps.delete(id), Err(FileStoreError::InvalidId(_))),
            "{id}"
        );
        assert!(
            matches!(
                snapshots::export(
                    &snaps,
                    &runs,
                    &s,
                    Some(id),
                    SnapshotMetadata::default(),
                    false
                ),
                Err(FileStoreError::InvalidId(_))
            ),
            "{id}"
        );
    }
    let backups = BackupStore::new(root.join("cam/backups"));
    let names = [
        "../../victim.json",
        "../victim",
        "x/y.json",
        "..",
        ".",
        "",
        "/etc/passwd",
        "backup\0.json",
        "../data/cam/backups/x.json",
    ];
    assert_eq!(
        (ids.len(), names.len()),
        (9, 9),
        "RELIABILITY.md counts them"
    );
    for name in names {
        assert!(
            matches!(backups.show(name), Err(FileStoreError::InvalidId(_))),
            "{name}"
        );
        assert!(
            matches!(backups.delete(name), Err(FileStoreError::InvalidId(_))),
            "{name}"
        );
    }
    assert!(outer.path().join("victim.json").exists());
}

#[test]
fn backups_get_unique_names_and_never_disclose_paths() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("cam");
    std::fs::create_dir_all(settings.join("posts")).unwrap();
    std::fs::write(settings.join("posts/grbl.json"), b"{}").unwrap();
    std::fs::write(settings.join("machines.json"), br#"{"m1": {"x": 600}}"#).unwrap();
    std::fs::write(settings.join("tools.json"), b"{broken").unwrap();
    let store = BackupStore::new(dir.path().join("cam/backups"));
    let names: Vec<String> = (0..3)
        .map(|_| store.write(BackupStore::gather(&settings)).unwrap().name)
        .collect();
    let unique: std::collections::HashSet<_> = names.iter().collect();
    assert_eq!(
        unique.len(),
        3,
        "same-second writes get distinct names: {names:?}"
    );
    let list = store.list().unwrap();
    assert_eq!(list.len(), 3);
    let content = store.show(&list[0].name).unwrap();
    assert_eq!(content["version"], "1.0");
    assert_eq!(content["settings"]["posts"], json!(["grbl"]));
    assert_eq!(
        content["settings"]["tools"],
        json!({"error": "parse_failed"})
    );
    store.delete(&list[0].name).unwrap();
    assert_eq!(store.list().unwrap().len(), 2);

    let out = Command::new(env!("CARGO_BIN_EXE_rmos"))
        .arg("--data")
        .arg(dir.path())
        .args(["backup", "write", "--json"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains(&dir.path().display().to_string()),
        "no absolute path in output: {text}"
    );
    assert!(text.contains("cam_settings_"));
}

#[test]
fn concurrent_processes_export_and_delete_leaving_only_valid_files() {
    let dir = tempfile::tempdir().unwrap();
    let design = dir.path().join("d.json");
    std::fs::write(&design, br#"{"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_params": [{"ring_index": 0, "width_mm": 3}]}"#).unwrap();
    let bin = env!("CARGO_BIN_EXE_rmos");
    // Every command's outcome, as (worker, step, command, id, exit code, stderr).
    type Outcome = (usize, usize, &'static str, String, Option<i32>, String);
    let children: Vec<_> = (0..4)
        .map(|w| {
            let (dir, design) = (dir.path().to_path_buf(), design.clone());
            std::thread::spawn(move || {
                let mut outcomes: Vec<Outcome> = Vec::new();
                for i in 0..10 {
                    let id = format!("s{}", i % 5); // contested ids across workers
                    let out = Command::new(bin)
                        .arg("--data")
                        .arg(&dir)
                        .args(["snapshot", "export"])
                        .arg(&design)
                        .args(["--id", &id, "--no-feasibility"])
                        .output()
                        .unwrap();
                    let err = String::from_utf8_lossy(&out.stderr).into_owned();
                    outcomes.push((w, i, "export", id.clone(), out.status.code(), err));
                    if (i + w) % 3 == 0 {
                        let out = Command::new(bin)
                            .arg("--data")
                            .arg(&dir)
                            .args(["snapshot", "delete", &id])
                            .output()
                            .unwrap();
                        let err = String::from_utf8_lossy(&out.stderr).into_owned();
                        outcomes.push((w, i, "delete", id.clone(), out.status.code(), err));
                    }
                }
                outcomes
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = children
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    // Each command either did its work (exit 0) or was refused for the contested id's
    // state: an export of an id that exists, a delete of one that does not. Nothing else
    // (a crash, an I/O error, a lock failure) is acceptable.
    let mut exported = 0;
    let mut deleted = 0;
    for (w, i, what, id, code, err) in &outcomes {
        let refused_for_state = match *what {
            "export" => err.contains("already exists"),
            _ => err.contains("not found") || err.contains("no snapshot"),
        };
        match code {
            Some(0) if *what == "export" => exported += 1,
            Some(0) => deleted += 1,
            Some(_) if refused_for_state => {}
            _ => panic!("worker {w} step {i}: {what} {id} ended {code:?}: {err}"),
        }
    }
    assert_eq!(outcomes.iter().filter(|o| o.2 == "export").count(), 40);
    assert!(
        exported >= 5 && deleted >= 1,
        "the contested ids were exported and deleted: {exported} exports, {deleted} deletes succeeded"
    );
    let snaps = SnapshotStore::new(dir.path().join("art_studio/snapshots"));
    let (list, invalid) = snaps.list(None, 100, 0).unwrap();
    assert_eq!(
        invalid, 0,
        "every remaining file is a complete, valid snapshot"
    );
    let mut files = 0;
    for entry in std::fs::read_dir(dir.path().join("art_studio/snapshots")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".json") || name == ".lock" || name == ".staging",
            "stray file {name}"
        );
        files += usize::from(name.ends_with(".json"));
    }
    // What remains is what the successful commands leave: ids 0–4, each present iff its
    // last successful command was an export. The list holds exactly the files.
    assert_eq!(list.len(), files, "the listing holds every snapshot file");
    assert!(
        exported - deleted == files,
        "{exported} successful exports − {deleted} successful deletes = {files} files"
    );
    for s in &list {
        assert!(s.run_id.is_some(), "{} records its run", s.snapshot_id);
    }
    let verify = Command::new(bin)
        .arg("--data")
        .arg(dir.path())
        .args(["--json", "runs", "verify"])
        .output()
        .unwrap();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let v: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(
        v["summary"]["ok"].as_u64(),
        Some(exported as u64),
        "one verified run per successful export: {}",
        v["summary"]
    );
}

fn cli(data: &Path, args: &[&str]) -> std::process::Output {
    common::rmos_cmd(data).args(args).output().unwrap()
}

fn cli_json(data: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend(args);
    let out = cli(data, &a);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn snapshot_and_backup_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let design = data.join("d.json");
    std::fs::write(&design, br#"{"outer_diameter_mm": 118, "inner_diameter_mm": 98, "ring_params": [{"ring_index": 0, "width_mm": 2.0}, {"ring_index": 1, "width_mm": 4.5, "pattern_type": "MOSAIC", "tile_length_mm": 3.0}]}"#).unwrap();
    let e = cli_json(
        data,
        &[
            "snapshot",
            "export",
            design.to_str().unwrap(),
            "--id",
            "snap_cli",
            "--name",
            "CLI test",
            "--tag",
            "a",
            "--tag",
            "b",
        ],
    );
    assert_eq!(e["snapshot_id"], "snap_cli");
    assert_eq!(e["feasibility"]["risk_bucket"], "YELLOW");
    let run = e["run_id"].as_str().unwrap().to_owned();
    assert_eq!(
        cli_json(data, &["logs", "show", &run])["meta"]["workflow"],
        "snapshot"
    );
    let again = cli(
        data,
        &[
            "snapshot",
            "export",
            design.to_str().unwrap(),
            "--id",
            "snap_cli",
        ],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    assert_eq!(
        cli_json(data, &["snapshot", "list", "--tag", "b"])["total"],
        1
    );
    assert_eq!(
        cli_json(data, &["snapshot", "list", "--tag", "zzz"])["total"],
        0
    );
    assert_eq!(
        cli_json(data, &["snapshot", "show", "snap_cli"])["metadata"]["name"],
        "CLI test"
    );
    let u = cli_json(
        data,
        &[
            "snapshot",
            "update",
            "snap_cli",
            "--name",
            "Renamed",
            "--clear-tags",
        ],
    );
    assert_eq!(
        (
            u["metadata"]["name"].as_str(),
            u["metadata"]["tags"].as_array().unwrap().len()
        ),
        (Some("Renamed"), 0)
    );
    assert!(cli_json(data, &["snapshot", "baseline"])["baseline"].is_null());
    assert_eq!(
        cli_json(data, &["snapshot", "baseline", "snap_cli"])["baseline"]["baseline"],
        true
    );
    assert_eq!(
        cli_json(data, &["snapshot", "baseline"])["baseline"]["snapshot_id"],
        "snap_cli"
    );
    // Import the exported document under a new id.
    let mut doc = cli_json(data, &["snapshot", "show", "snap_cli"]);
    doc["snapshot_id"] = Value::Null;
    let f = data.join("import.json");
    std::fs::write(&f, doc.to_string()).unwrap();
    let imported = cli_json(data, &["snapshot", "import", f.to_str().unwrap()]);
    assert_eq!(imported["warnings"], serde_json::json!([]));
    assert_eq!(imported["snapshot"]["metadata"]["source"], "import");
    let bad = cli(data, &["snapshot", "show", "../../etc/passwd"]);
    assert_eq!(bad.status.code(), Some(2));
    assert_eq!(
        cli_json(data, &["snapshot", "delete", "snap_cli"])["deleted"],
        true
    );
    assert_eq!(
        cli(data, &["snapshot", "show", "snap_cli"]).status.code(),
        Some(1)
    );

    let w = cli_json(data, &["backup", "write"]);
    let name = w["name"].as_str().unwrap().to_owned();
    assert_eq!(
        cli_json(data, &["backup", "list"])[0]["name"],
        name.as_str()
    );
    assert_eq!(cli_json(data, &["backup", "show", &name])["version"], "1.0");
    assert_eq!(
        cli(data, &["backup", "show", "../x.json"]).status.code(),
        Some(2)
    );
    assert_eq!(
        cli_json(data, &["backup", "delete", &name])["deleted"],
        true
    );
    assert_eq!(cli_json(data, &["backup", "list"]), serde_json::json!([]));
}

#[test]
fn huge_snapshot_and_backup_files_are_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let root = rmos::config::DataRoot::at(data);
    std::fs::create_dir_all(&root.snapshots_dir).unwrap();
    std::fs::create_dir_all(&root.backups_dir).unwrap();
    // 5 GB sparse files where a snapshot and a backup would be.
    for p in [
        root.snapshots_dir.join("snap_huge.json"),
        root.backups_dir.join("cam_backup_huge.json"),
    ] {
        std::fs::File::create(&p).unwrap().set_len(5 << 30).unwrap();
    }
    for args in [
        &["snapshot", "show", "snap_huge"][..],
        &["backup", "show", "cam_backup_huge.json"][..],
    ] {
        let out = cli(data, args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("over the 64 MB limit"), "{args:?}: {err}");
    }
    // Listings go on around them.
    assert!(cli(data, &["snapshot", "list"]).status.success());
    assert!(cli(data, &["backup", "list"]).status.success());
}
