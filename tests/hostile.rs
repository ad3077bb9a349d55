//! Hostile data in a runs directory: the reference's sidecar files, symlinks out of the
//! data root, folders that are not partitions, deep nesting, huge strings.

mod common;

use rmos::config::DataRoot;
use rmos::filter::Filter;
use rmos::store::index::{ReconcileMode, RunQuery};
use std::path::Path;

fn all_ids(root: &Path) -> Vec<String> {
    let mut index = DataRoot::at(root).open_index().unwrap();
    index.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    let mut q = RunQuery::new(Filter::default(), 1000);
    q.include_invalid = true;
    index
        .query(&q)
        .unwrap()
        .runs
        .into_iter()
        .map(|r| r.run_id)
        .collect()
}

#[test]
fn reference_sidecars_are_ignored_and_only_the_run_index_gains_entries() {
    let root = common::store_example_copy();
    let runs = root.path().join("runs/rmos");
    let sidecars = [
        "_index.json",
        "_advisory_lookup.json",
        "_attachment_meta.json",
        "_attachment_recent.json",
        "_audit/deletes.jsonl",
    ];
    let before: Vec<Vec<u8>> = sidecars
        .iter()
        .map(|s| std::fs::read(runs.join(s)).unwrap())
        .collect();
    let ids = all_ids(root.path());
    assert_eq!(
        ids.len(),
        8,
        "sidecars and link files are not runs: {ids:?}"
    );
    let store = rmos::store::RunStore::new(&runs);
    let mut a = store.get("run_5eed0000000000000000000000000002").unwrap().0;
    a.run_id = "run_new_after_sidecars".into();
    a.advisory_inputs.clear();
    store.put(&a).unwrap();
    for (s, b) in sidecars.iter().zip(before) {
        if *s == "_index.json" {
            // The reference's run index is the one sidecar rmos keeps current: the new
            // run's entry is added, every entry that was there stays exactly as it was.
            let old: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&b).unwrap();
            let new: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&std::fs::read(runs.join(s)).unwrap()).unwrap();
            assert_eq!(new.len(), old.len() + 1);
            for (id, entry) in &old {
                assert_eq!(&new[id], entry, "{id} untouched");
            }
            assert_eq!(
                new["run_new_after_sidecars"]["run_id"],
                "run_new_after_sidecars"
            );
            continue;
        }
        assert_eq!(std::fs::read(runs.join(s)).unwrap(), b, "{s} untouched");
    }
}

#[cfg(unix)]
#[test]
fn symlinks_out_of_the_data_root_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    let secret_dir = outside.path().join("2025-01-01");
    std::fs::create_dir_all(&secret_dir).unwrap();
    let example = common::fixtures().join("examples/red_blocked_art_studio_run.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&example).unwrap()).unwrap();
    v["run_id"] = "run_outside".into();
    std::fs::write(secret_dir.join("run_outside.json"), v.to_string()).unwrap();

    let root = common::store_example_copy();
    let runs = root.path().join("runs/rmos");
    std::os::unix::fs::symlink(&secret_dir, runs.join("2025-01-01")).unwrap();
    std::os::unix::fs::symlink(
        secret_dir.join("run_outside.json"),
        runs.join("2025-12-23/run_outside.json"),
    )
    .unwrap();
    // The linked file is listed as an invalid entry saying why (nothing is hidden); its
    // content is never read, and the linked folder is no partition.
    let mut index = DataRoot::at(root.path()).open_index().unwrap();
    index.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    let mut q = RunQuery::new(Filter::default(), 1000);
    q.include_invalid = true;
    let rows = index.query(&q).unwrap().runs;
    let linked: Vec<_> = rows.iter().filter(|r| r.run_id == "run_outside").collect();
    assert_eq!(
        linked.len(),
        1,
        "listed once, from the link in 2025-12-23 only"
    );
    assert!(!linked[0].valid);
    assert!(
        linked[0]
            .error
            .as_deref()
            .unwrap_or("")
            .contains("symbolic link"),
        "{:?}",
        linked[0].error
    );
    assert_eq!(linked[0].partition, "2025-12-23");
    match rmos::store::RunStore::new(&runs).get("run_outside") {
        Err(rmos::store::StoreError::Invalid { reason, .. }) => {
            assert!(reason.contains("symbolic link"), "{reason}")
        }
        other => panic!("the symlink must not be followed: {other:?}"),
    }
}

#[test]
fn folders_that_are_not_partitions_are_ignored() {
    let root = common::store_example_copy();
    let runs = root.path().join("runs/rmos");
    for name in ["2025-13-45", "backup", "2025-12-23.old", "..hidden"] {
        std::fs::create_dir_all(runs.join(name)).unwrap();
        std::fs::copy(
            common::fixtures().join("examples/red_blocked_art_studio_run.json"),
            runs.join(name)
                .join("run_0f3c2a9e7b5d4c1e8a6f2b3d4e5f6a7b.json"),
        )
        .unwrap();
    }
    assert_eq!(all_ids(root.path()).len(), 8);
}

#[test]
fn deep_nesting_and_huge_strings_are_reported_or_handled() {
    let root = common::store_example_copy();
    let part = root.path().join("runs/rmos/2025-12-23");
    let example = common::fixtures().join("examples/red_blocked_art_studio_run.json");
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&example).unwrap()).unwrap();
    // A 1 MB warning string: valid, listed, searchable.
    v["run_id"] = "run_bigstring".into();
    v["decision"]["warnings"] = serde_json::json!(["x".repeat(1_000_000)]);
    std::fs::write(part.join("run_bigstring.json"), v.to_string()).unwrap();
    // 10,000 levels of nesting in meta: refused with a reason, not a crash.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let text = v
        .to_string()
        .replacen("\"meta\":{", &format!("\"meta\":{{\"deep\":{deep},"), 1);
    assert!(text.contains("\"deep\""));
    std::fs::write(
        part.join("run_deep.json"),
        text.replace("run_bigstring", "run_deep"),
    )
    .unwrap();
    let mut index = DataRoot::at(root.path()).open_index().unwrap();
    index.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    let big = index.find("run_bigstring").unwrap().unwrap();
    assert!(big.valid && big.warnings[0].len() == 1_000_000);
    let deep = index.find("run_deep").unwrap().unwrap();
    assert!(!deep.valid);
    assert!(deep.error.unwrap().contains("recursion limit"));
}
