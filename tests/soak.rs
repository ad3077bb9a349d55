//! Concurrency soak: four `rmos score --batch` processes, the console watching and two
//! reviewers deciding, all at once on one data root. Afterwards every run is indexed once,
//! nothing is lost, the console equals the files, and `rmos audit verify` passes.
//!
//! `cargo test` runs 4 × 250 designs and 40 decisions; `RMOS_LONG_TESTS=1 cargo test
//! --test soak -- --nocapture` runs 4 × 5,000 designs and 400 decisions.

mod common;

use common::console::Console;
use rmos::config::DataRoot;
use rmos::store::advisory::{AssetType, NewAsset};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var_os("RMOS_LONG_TESTS").is_some()
}

fn rmos(data: &Path, args: &[&str]) -> Output {
    common::rmos_cmd(data)
        .args(args)
        .env("RMOS_REVIEWER", "soak-reviewer")
        .output()
        .unwrap()
}

#[test]
fn four_scorers_a_console_and_two_reviewers_at_once_lose_nothing() {
    let (designs, assets) = if long() { (5_000, 400) } else { (250, 40) };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    // Assets waiting for review.
    let mut ids = Vec::new();
    {
        let store = DataRoot::at(&data).open_advisory().unwrap();
        for i in 0..assets {
            let a = store
                .add(NewAsset {
                    asset_type: Some(AssetType::Explanation),
                    content: format!("soak explanation {i}").into_bytes(),
                    mime: "text/plain".into(),
                    extension: "txt".into(),
                    ..Default::default()
                })
                .unwrap();
            ids.push(a.asset_id);
        }
    }

    // Four consoles on the one data root (several people on a shared host); two of them
    // watch the review queue while the others decide.
    let consoles: Vec<Console> = (0..4).map(|_| Console::start(data.clone())).collect();
    for c in &consoles[2..] {
        c.key(crossterm::event::KeyCode::Char('2'));
        c.wait("the queue", Duration::from_secs(60), |s| {
            s.queue_counts == Some((assets as u64, 0, 0))
        });
    }
    let started = Instant::now();
    let batch = common::batch_file(dir.path(), designs);
    let scorers: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_rmos"))
                .arg("--data")
                .arg(&data)
                .args(["score", "--batch"])
                .arg(&batch)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // The reviewer: one decision after another, each its own process, while they score.
    // Two reviewers, each deciding their half one process at a time, while they score:
    // their decisions interleave in one hash chain.
    let reviewers: Vec<_> = (0..2)
        .map(|r| {
            let (data, ids) = (data.clone(), ids.clone());
            std::thread::spawn(move || {
                let mut decided = HashMap::new();
                for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 2 == r) {
                    let out = if i % 3 == 2 {
                        rmos(
                            &data,
                            &["advisory", "reject", id, "--reason", "poor_quality"],
                        )
                    } else {
                        rmos(&data, &["advisory", "approve", id, "--note", "soak"])
                    };
                    assert!(
                        out.status.success(),
                        "decision on {id}: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    decided.insert(id.clone(), if i % 3 == 2 { "rejected" } else { "approved" });
                }
                decided
            })
        })
        .collect();
    for s in scorers {
        let out = s.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a scorer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut decided = HashMap::new();
    for r in reviewers {
        decided.extend(r.join().unwrap());
    }
    let busy = started.elapsed();
    let total = 4 * designs;

    // Every console settles on exactly the files and the decisions: the newest rows are
    // the index's newest, the queue's counts are the database's.
    let newest: Vec<String> = {
        let out = rmos(&data, &["--json", "logs", "recent", "--limit", "5"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["run_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (approved, rejected) = (
        decided.values().filter(|s| **s == "approved").count() as u64,
        decided.values().filter(|s| **s == "rejected").count() as u64,
    );
    let mut took = Duration::ZERO;
    for (i, console) in consoles.iter().enumerate() {
        let queue = i >= 2;
        took = took.max(console.wait(
            "every console to show every run and decision",
            Duration::from_secs(60),
            |s| {
                s.error.is_none()
                    && if queue {
                        s.queue_counts == Some((0, approved, rejected))
                    } else {
                        s.count == Some(total as u64) && s.rows.starts_with(&newest)
                    }
            },
        ));
    }
    for console in consoles {
        let errors = console.now().errors_shown;
        assert!(errors.is_empty(), "a console showed errors: {errors:?}");
        console.stop();
    }
    let files = common::artifact_files(&data.join("runs/rmos"))
        .into_iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "_rmos"))
        .count();
    assert_eq!(files, total, "every design became exactly one run file");

    // Indexed once each, nothing partial, the chain intact, every decision recorded.
    let conn = rusqlite::Connection::open(data.join("rmos.db")).unwrap();
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT run_id) FROM run_index WHERE valid = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, distinct), (total as i64, total as i64));
    let verify = rmos(&data, &["runs", "verify"]);
    assert_eq!(verify.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&verify.stderr).contains(&format!("{total} ok")));
    let audit = rmos(&data, &["--json", "audit", "verify"]);
    assert_eq!(audit.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    assert_eq!(v["records"], assets as u64);
    let store = DataRoot::at(&data).open_advisory().unwrap();
    for (id, state) in &decided {
        let a = store.get(id).unwrap();
        assert_eq!(
            a.approved_for_workflow,
            *state == "approved",
            "{id} should be {state}"
        );
        assert!(a.reviewed);
    }
    eprintln!(
        "soak: {total} runs from 4 scorers and {assets} decisions in {busy:?}; \
         all four consoles matched {took:?} after the checks began; index, verify and audit agree"
    );
}
