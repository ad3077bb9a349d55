//! The last target of `cargo test` (targets run in name order; the library has no doc
//! tests): one line saying which tests of this run were skipped and why, from the records
//! `common::skip` left. Not a test itself (`harness = false`): it prints and exits 0; the
//! skips that must not happen already failed their own tests.

mod common;

use std::time::{Duration, SystemTime};

fn main() {
    let dir = common::skip::run_dir();
    let mut records: Vec<(String, String)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            for line in text.lines() {
                let (test, why) = line.split_once('\t').unwrap_or((line, "?"));
                records.push((test.to_owned(), why.to_owned()));
            }
        }
    }
    records.sort();
    records.dedup();
    let _ = std::fs::remove_dir_all(&dir);
    // Records of runs that never reached this target (a single `--test`, an interrupted
    // run) are dropped after a day.
    if let Some(parent) = dir.parent() {
        for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > Duration::from_secs(86_400));
            if old {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    if records.is_empty() {
        println!("skipped tests: none");
        return;
    }
    let n = records.len();
    let list: Vec<String> = records
        .iter()
        .map(|(test, why)| format!("{test} ({why})"))
        .collect();
    println!("skipped tests: {n} — {}", list.join("; "));
}
