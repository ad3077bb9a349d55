//! Crash safety: writers SIGKILLed at random points leave no partial artifact, an index
//! that reconciles to exactly the files, and an intact decision chain.
//!
//! `cargo test` runs short versions; `RMOS_LONG_TESTS=1 cargo test --test crash` runs the
//! documented counts (100 kills each).

mod common;

use rmos::config::DataRoot;
use rmos::filter::Filter;
use rmos::store::index::{ReconcileMode, RunIndex, RunQuery};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn kills() -> usize {
    if std::env::var_os("RMOS_LONG_TESTS").is_some() {
        100
    } else {
        12
    }
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1
}

#[test]
fn sigkilled_batch_scoring_leaves_only_complete_runs_and_a_consistent_index() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let batch = common::batch_file(dir.path(), 4000);
    let bin = env!("CARGO_BIN_EXE_rmos");
    let mut rng = Rng(seed());
    let n = kills();
    for _ in 0..n {
        let mut child = Command::new(bin)
            .arg("--data")
            .arg(&data)
            .args(["score", "--batch"])
            .arg(&batch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + rng.below(150)));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let verify = Command::new(bin)
        .arg("--data")
        .arg(&data)
        .args(["--json", "runs", "verify"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(verify.status.code(), Some(0), "{}", v["summary"]);
    let files = v["summary"]["ok"].as_u64().unwrap();
    assert!(files > 0, "the writers made progress");
    assert_eq!(v["summary"]["invalid"], 0);
    // A console or CLI reconciling afterwards sees exactly the files.
    let mut index = RunIndex::open(&DataRoot::at(&data)).unwrap();
    index.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    let mut q = RunQuery::new(Filter::default(), 100_000);
    q.include_invalid = true;
    let rows = index.query(&q).unwrap().runs;
    assert_eq!(rows.len() as u64, files);
    let ids: std::collections::HashSet<_> = rows.iter().map(|r| r.run_id.clone()).collect();
    assert_eq!(ids.len(), rows.len(), "every run indexed once");
    eprintln!("{n} kills, {files} complete runs, index consistent");
}

/// Entry point of the decision-writing child process.
#[test]
fn decision_child_entry() {
    let Some(data) = std::env::var_os("RMOS_CRASH_CHILD") else {
        return;
    };
    let root = DataRoot::at(Path::new(&data));
    let mut store = rmos::store::advisory::AdvisoryStore::open(&root).unwrap();
    let policy = rmos::store::advisory::ReviewerPolicy::default();
    let ids: Vec<String> = store
        .list(None, 100)
        .unwrap()
        .into_iter()
        .map(|a| a.asset_id)
        .collect();
    for i in 0.. {
        let id = &ids[i % ids.len()];
        let req = rmos::store::advisory::DecisionRequest {
            reviewer: "crash-test",
            asset_id: id,
            approve: i % 2 == 0,
            reason: Some("other"),
            note: Some("loop"),
            expect_hash: None,
            expect_previous: None,
        };
        store.decide(&policy, &req).unwrap();
    }
}

#[test]
fn sigkilled_reviewer_leaves_an_intact_decision_chain() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bin = env!("CARGO_BIN_EXE_rmos");
    for i in 0..4 {
        let out = Command::new(bin)
            .arg("--data")
            .arg(&data)
            .args([
                "advisory",
                "add",
                "--type",
                "EXPLANATION",
                "--text",
                &format!("asset {i}"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let mut rng = Rng(seed());
    let n = kills();
    for _ in 0..n {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "decision_child_entry",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env("RMOS_CRASH_CHILD", &data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + rng.below(120)));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let out = Command::new(bin)
        .arg("--data")
        .arg(&data)
        .args(["--json", "audit", "verify"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{v}");
    assert!(
        v["records"].as_u64().unwrap() > 0,
        "the reviewer made progress"
    );
    eprintln!("{n} kills, {} decisions, chain intact", v["records"]);
}
