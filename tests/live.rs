//! Several people on one data root: every console notices what other processes commit to
//! the shared database — runs indexed elsewhere, decisions, new assets — within a second,
//! and a decision made meanwhile by someone else is never silently overridden.

mod common;

use common::console::Console;
use crossterm::event::KeyCode;
use rmos::config::DataRoot;
use rmos::store::advisory::{AssetType, NewAsset};
use rmos::tui::worker::ReconcileTiming;
use std::path::Path;
use std::time::Duration;

/// Generous bound for "within a second" on a loaded 2-core machine: the tests wait for a
/// condition and fail with what was seen; the latency itself is a benchmark.
const WITHIN: Duration = Duration::from_secs(20);

fn rmos(data: &Path, who: &str, args: &[&str]) -> std::process::Output {
    common::rmos_cmd(data)
        .args(args)
        .env("RMOS_REVIEWER", who)
        .output()
        .unwrap()
}

/// A console whose own reconciler never looks at the disk again after its first pass: what
/// it learns afterwards can only come from other processes' commits.
fn blind_console(data: &Path) -> Console {
    Console::start_with(
        data.to_path_buf(),
        ReconcileTiming {
            quick: Duration::from_secs(3600),
            full: Duration::from_secs(3600),
            no_watch: true,
            ..ReconcileTiming::default()
        },
    )
}

#[test]
fn consoles_show_runs_another_process_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let batch = common::batch_file(dir.path(), 5);
    let out = rmos(&data, "x", &["score", "--batch", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let a = blind_console(&data);
    let b = blind_console(&data);
    for c in [&a, &b] {
        c.wait("the first 5 runs", WITHIN, |s| s.count == Some(5));
    }
    // Another process writes 20 runs and indexes them (its own reconcile): both consoles,
    // whose reconcilers find nothing new themselves, follow the shared index.
    let batch = common::batch_file(dir.path(), 20);
    let out = rmos(&data, "x", &["score", "--batch", batch.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let out = rmos(&data, "x", &["logs", "recent"]);
    assert_eq!(out.status.code(), Some(0));
    let newest = {
        let out = rmos(&data, "x", &["--json", "logs", "recent", "--limit", "1"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["entries"][0]["run_id"].as_str().unwrap().to_owned()
    };
    for c in [&a, &b] {
        c.wait("25 runs and the newest on screen", WITHIN, |s| {
            s.count == Some(25) && s.rows.first() == Some(&newest)
        });
    }
    a.stop();
    b.stop();
}

fn add_assets(data: &Path, n: usize) -> Vec<String> {
    let store = DataRoot::at(data).open_advisory().unwrap();
    (0..n)
        .map(|i| {
            store
                .add(NewAsset {
                    asset_type: Some(AssetType::Explanation),
                    content: format!("advice {i}").into_bytes(),
                    mime: "text/plain".into(),
                    extension: "txt".into(),
                    ..Default::default()
                })
                .unwrap()
                .asset_id
        })
        .collect()
}

#[test]
fn a_decision_elsewhere_shows_in_every_queue_and_is_not_decided_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = add_assets(&data, 5);
    let bob = blind_console(&data);
    bob.key(KeyCode::Char('2'));
    bob.wait("bob's queue", WITHIN, |s| {
        s.queue_counts == Some((5, 0, 0)) && s.queue_ids.len() == 5
    });
    // Bob opens the approve dialog on his selected asset (once its preview is loaded: a
    // decision waits for the content to be shown); alice approves it meanwhile.
    let mut opened = false;
    for _ in 0..100 {
        bob.key(KeyCode::Char('a'));
        if bob
            .wait_up_to(Duration::from_millis(200), |s| s.dialog_open)
            .is_some()
        {
            opened = true;
            break;
        }
    }
    assert!(opened, "bob's dialog never opened: {:?}", bob.now());
    let shown = bob.now().queue_selected.expect("a selected asset");
    let out = rmos(&data, "alice", &["advisory", "approve", &shown]);
    assert_eq!(out.status.code(), Some(0));
    bob.wait("alice's decision in bob's queue", WITHIN, |s| {
        s.queue_counts == Some((4, 1, 0)) && !s.queue_ids.contains(&shown)
    });
    // Bob confirms the dialog he opened before: refused, naming alice; nothing recorded.
    bob.key(KeyCode::Char('y'));
    bob.wait("the refusal", WITHIN, |s| {
        s.errors_shown
            .iter()
            .any(|e| e.contains("approved by alice") && e.contains("after it was shown to you"))
    });
    let history = rmos(&data, "x", &["--json", "advisory", "show", &shown]);
    let v: serde_json::Value = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(v["history"].as_array().unwrap().len(), 1, "{v}");
    // A new asset added elsewhere shows too.
    let more = add_assets(&data, 1);
    bob.wait("the new asset", WITHIN, |s| {
        s.queue_counts == Some((5, 1, 0)) && s.queue_ids.contains(&more[0])
    });
    assert!(ids.iter().all(|i| i != &more[0]));
    bob.stop();
}
