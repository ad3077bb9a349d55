//! The storage seam (`store::seam`): the command line and the console reach the
//! databases through these traits only, so what they promise is tested through them —
//! on trait objects, as a second backend would be used.

use rmos::config::DataRoot;
use rmos::store::advisory::{AssetType, NewAsset};
use rmos::store::index::ReconcileMode;
use rmos::store::seam::{ChangeFeed, Changes};
use rmos::store::sessions::NewSession;
use rmos::store::ArtifactKey;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const POLL: Duration = Duration::from_millis(20);

fn explanation(text: &str) -> NewAsset {
    NewAsset {
        asset_type: Some(AssetType::Explanation),
        content: text.as_bytes().to_vec(),
        mime: "text/plain".into(),
        extension: "txt".into(),
        ..Default::default()
    }
}

/// Poll until something changes or a second passes.
fn next_change(feed: &mut dyn ChangeFeed) -> Changes {
    for _ in 0..50 {
        let c = feed.next(POLL);
        if c.any() {
            return c;
        }
    }
    Changes::default()
}

#[test]
fn the_change_feed_reports_other_processes_commits_and_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let root = DataRoot::at(&dir.path().join("data"));
    let reviews = root.reviews().unwrap();
    reviews.add(explanation("first")).unwrap();
    let own_mark = Arc::new(Mutex::new(None));
    let mut feed = root.change_feed(None, POLL, own_mark.clone());
    assert_eq!(feed.next(POLL), Changes::default(), "nothing changed yet");

    // An asset added by another connection is a review change.
    root.reviews().unwrap().add(explanation("second")).unwrap();
    let c = next_change(&mut *feed);
    assert!(c.review && !c.runs, "{c:?}");

    // Runs indexed by another process are a runs change ...
    let runs_dir = root.runs_dir.join("2025-01-02");
    std::fs::create_dir_all(&runs_dir).unwrap();
    let artifact = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/store_example/runs/rmos/2025-12-23/run_5eed0000000000000000000000000002.json"),
    )
    .unwrap();
    std::fs::write(
        runs_dir.join("run_5eed0000000000000000000000000002.json"),
        artifact,
    )
    .unwrap();
    let mut catalog = root.catalog().unwrap();
    std::thread::sleep(Duration::from_millis(5)); // a new reconcile mark
    catalog.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    let c = next_change(&mut *feed);
    assert!(c.runs && !c.review, "{c:?}");

    // ... unless this process made it itself (its own mark).
    std::fs::remove_file(runs_dir.join("run_5eed0000000000000000000000000002.json")).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    catalog.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    *own_mark.lock().unwrap() = catalog.change_mark();
    assert_eq!(next_change(&mut *feed), Changes::default());
}

#[test]
fn sessions_round_trip_through_the_seam() {
    let dir = tempfile::tempdir().unwrap();
    let root = DataRoot::at(dir.path());
    let sessions = root.sessions().unwrap();
    let s = sessions
        .create(NewSession {
            workflow_type: "rosette".into(),
            current_step: "design".into(),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(sessions.get(&s.session_id).unwrap().current_step, "design");
    assert_eq!(sessions.list(None, Some("rosette"), 10).unwrap().len(), 1);
    assert!(sessions.get("ws_missing").is_err());
}

#[test]
fn artifact_keys_name_files_inside_a_partition_only() {
    assert!(ArtifactKey::new("2025-12-24", "run_1.json").is_well_formed());
    for (p, f) in [
        ("2025-12-24", "../run_1.json"),
        ("..", "run_1.json"),
        ("2025-12-24", "run_1_advisory_adv_x.json"),
        ("2025-12-24", ".hidden.json"),
        ("2025-12-24", "a/b.json"),
        ("not-a-date", "run_1.json"),
    ] {
        assert!(!ArtifactKey::new(p, f).is_well_formed(), "{p}/{f}");
    }
    let dir = tempfile::tempdir().unwrap();
    let store = DataRoot::at(dir.path()).run_store();
    let err = store
        .read_bytes(&ArtifactKey::new("2025-12-24", "../../etc/passwd"))
        .unwrap_err();
    assert!(
        err.to_string().contains("not an artifact file name"),
        "{err}"
    );
}
