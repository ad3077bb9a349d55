//! `rmos demo`: seeds through the real pipeline, idempotent, resettable only when it is
//! demo data.

mod common;

use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::process::Output;

fn rmos(data: &Path, args: &[&str]) -> Output {
    common::rmos_cmd(data).args(args).output().unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)))
}

#[test]
fn demo_seeds_realistic_data_through_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = rmos(&data, &["demo", "--no-tui", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert!(report["runs_added"].as_u64().unwrap() >= 40);

    let recent = json(&rmos(
        &data,
        &["--json", "logs", "recent", "--limit", "500"],
    ));
    let entries = recent["entries"].as_array().unwrap();
    let days: BTreeSet<&str> = entries
        .iter()
        .map(|e| &e["created_at_utc"].as_str().unwrap()[..10])
        .collect();
    assert!(days.len() >= 15, "runs spread over many days: {days:?}");
    let statuses: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, BTreeSet::from(["BLOCKED", "ERROR", "OK"]));
    let risks: BTreeSet<&str> = entries
        .iter()
        .map(|e| e["risk_level"].as_str().unwrap())
        .collect();
    assert_eq!(
        risks,
        BTreeSet::from(["ERROR", "GREEN", "RED", "UNKNOWN", "YELLOW"])
    );

    let verify = rmos(&data, &["--json", "runs", "verify"]);
    assert_eq!(verify.status.code(), Some(0));
    let summary = json(&verify)["summary"].clone();
    assert_eq!(
        (
            summary["mismatch"].as_u64(),
            summary["invalid"].as_u64(),
            summary["placeholder"].as_u64()
        ),
        (Some(0), Some(0), Some(1))
    );
    assert_eq!(summary["ok"].as_u64().unwrap() as usize + 1, entries.len());

    let assets = json(&rmos(
        &data,
        &["--json", "advisory", "list", "--status", "all"],
    ));
    let mut states: HashMap<String, usize> = HashMap::new();
    for a in assets["assets"].as_array().unwrap() {
        *states
            .entry(a["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert!(
        states["pending"] > 0 && states["approved"] > 0 && states["rejected"] > 0,
        "{states:?}"
    );
    let types: BTreeSet<&str> = assets["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["asset_type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        BTreeSet::from(["EXPLANATION", "IMAGE", "SUGGESTION", "VALIDATION"])
    );
    assert_eq!(rmos(&data, &["audit", "verify"]).status.code(), Some(0));
    assert_eq!(
        json(&rmos(&data, &["--json", "snapshot", "list"]))["total"],
        3
    );
    assert!(json(&rmos(&data, &["--json", "snapshot", "baseline"]))["baseline"].is_object());
    assert_eq!(
        json(&rmos(&data, &["--json", "backup", "list"]))
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Lineage: a re-scoring that drifted from its parent and was re-scored again, a CAM
    // plan with the toolpath runs executing it, a workflow session of several runs.
    let demo_id = |n: usize| {
        format!(
            "run_{}",
            &rmos::hashing::sha256_text(&format!("rmos-demo-v1/{n}"))[..32]
        )
    };
    let children = |run: &str| json(&rmos(&data, &["--json", "runs", "children", run]));
    let rescored = children(&demo_id(1));
    assert_eq!(rescored["total"], 1, "{rescored}");
    let first = rescored["children"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The artifact itself (logs show --json keeps the reference's run-details shape).
    let artifact = |run: &str| -> Value {
        let shown = json(&rmos(&data, &["--json", "logs", "show", run]));
        serde_json::from_slice(&std::fs::read(shown["path"].as_str().unwrap()).unwrap()).unwrap()
    };
    let a = artifact(&first);
    assert_eq!(a["parent_run_id"].as_str(), Some(demo_id(1).as_str()));
    assert_eq!(a["drift_detected"], true, "{a}");
    assert_eq!(
        a["drift_summary"]["baseline_run_id"].as_str(),
        Some(demo_id(1).as_str())
    );
    let again = children(&first);
    assert_eq!(again["total"], 1, "re-scored again");
    let a = artifact(again["children"][0]["run_id"].as_str().unwrap());
    assert_eq!(a["drift_detected"], false, "the same inputs again: {a}");
    let plan = children(&demo_id(220));
    assert_eq!(plan["total"], 2, "{plan}");
    for c in plan["children"].as_array().unwrap() {
        assert_eq!(c["link"], "parent+plan");
        assert_eq!(c["mode"], "cam");
    }
    let session = json(&rmos(
        &data,
        &["--json", "sessions", "show", "ws_demo_rosette_01"],
    ));
    let session_runs = session["run_ids"].as_array().unwrap();
    assert_eq!(session_runs.len(), 4, "{session}");
    for r in session_runs {
        let a = artifact(r.as_str().unwrap());
        assert_eq!(a["workflow_session_id"], "ws_demo_rosette_01", "{a}");
    }
    let plan_run = artifact(plan["children"][0]["run_id"].as_str().unwrap());
    assert_eq!(
        plan_run["lineage"]["parent_plan_run_id"].as_str(),
        Some(demo_id(220).as_str())
    );

    // Seeding again adds nothing.
    let again = json(&rmos(&data, &["demo", "--no-tui", "--json"]));
    assert_eq!(
        (
            again["runs_added"].as_u64(),
            again["assets_added"].as_u64(),
            again["decisions_added"].as_u64()
        ),
        (Some(0), Some(0), Some(0))
    );
    let recent2 = json(&rmos(
        &data,
        &["--json", "logs", "recent", "--limit", "500"],
    ));
    assert_eq!(recent2["entries"].as_array().unwrap().len(), entries.len());
}

#[test]
fn fresh_resets_only_demo_data_and_asks_first() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert_eq!(rmos(&data, &["demo", "--no-tui"]).status.code(), Some(0));
    let out = rmos(&data, &["demo", "--fresh", "--no-tui"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no terminal and no --yes: refused"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    let out = rmos(&data, &["demo", "--fresh", "--yes", "--no-tui", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        json(&out)["runs_added"].as_u64().unwrap() >= 40,
        "reseeded from scratch"
    );
    assert_eq!(rmos(&data, &["audit", "verify"]).status.code(), Some(0));

    // A data root with other records is never touched.
    let reference = common::store_example_copy();
    for args in [
        &["demo", "--no-tui"][..],
        &["demo", "--fresh", "--yes", "--no-tui"][..],
    ] {
        let out = rmos(reference.path(), args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("not created by rmos demo")
                || String::from_utf8_lossy(&out.stderr).contains("did not create")
        );
    }
    assert_eq!(
        rmos(reference.path(), &["runs", "verify"]).status.code(),
        Some(0)
    );
}

#[test]
fn version_completions_and_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let v = rmos(dir.path(), &["--version"]);
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("rmos "));
    for shell in ["bash", "zsh", "fish"] {
        let out = rmos(dir.path(), &["completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("advisory"),
            "{shell}"
        );
    }
    let man = rmos(dir.path(), &["man"]);
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(
        text.contains(".TH rmos") && text.contains("logs"),
        "{}",
        &text[..200.min(text.len())]
    );
}
