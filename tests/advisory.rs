//! Governance: advisory assets, review decisions with an audit chain, the attach gate.

mod common;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn rmos(data: &Path, reviewer: &str, args: &[&str]) -> Output {
    common::rmos_cmd(data)
        .args(args)
        .env("RMOS_REVIEWER", reviewer)
        .output()
        .unwrap()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A tiny valid PNG (2×3 pixels worth of header; enough for dimensions).
fn png(dir: &Path) -> std::path::PathBuf {
    let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
    b.extend(2u32.to_be_bytes());
    b.extend(3u32.to_be_bytes());
    b.extend([8, 6, 0, 0, 0, 0, 0, 0, 0]);
    let p = dir.join("rosette.png");
    std::fs::write(&p, b).unwrap();
    p
}

fn add(data: &Path, args: &[&str]) -> String {
    let mut a = vec!["--json", "advisory", "add"];
    a.extend(args);
    let out = rmos(data, "alice", &a);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    json_out(&out)["asset_id"].as_str().unwrap().to_owned()
}

#[test]
fn full_lifecycle_with_history_and_attach_gate() {
    let root = common::store_example_copy();
    let data = root.path();
    let img = add(
        data,
        &[
            "--type",
            "IMAGE",
            "--file",
            png(data).to_str().unwrap(),
            "--provider",
            "dalle",
            "--model",
            "dall-e-3",
            "--prompt",
            "A herringbone rosette!",
            "--confidence",
            "0.82",
        ],
    );
    let text = add(
        data,
        &[
            "--type",
            "explanation",
            "--text",
            "Chipload is low because the feed is conservative.",
            "--run",
            "run_5eed0000000000000000000000000002",
        ],
    );
    let show = json_out(&rmos(data, "alice", &["advisory", "show", &img, "--json"]));
    assert_eq!(
        (show["image_width"].as_u64(), show["image_height"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(show["status"], "pending");
    assert_eq!(show["approved_for_workflow"], false);
    assert_eq!(show["content_ok"], true);
    assert_eq!(show["prompt_hash"].as_str().unwrap().len(), 16);
    let list = json_out(&rmos(data, "alice", &["advisory", "list", "--json"]));
    assert_eq!(list["counts"]["pending"], 2);

    // The gate: a pending asset cannot be attached.
    let out = rmos(
        data,
        "alice",
        &[
            "advisory",
            "attach",
            &img,
            "--run",
            "run_5eed0000000000000000000000000006",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("only approved assets"), "{}", err(&out));

    // Approve with the hash that was reviewed; reject needs a reason.
    let hash = show["content_hash"].as_str().unwrap().to_owned();
    let out = rmos(
        data,
        "alice",
        &[
            "advisory",
            "approve",
            &img,
            "--note",
            "clean geometry",
            "--expect-hash",
            &hash,
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let out = rmos(data, "alice", &["advisory", "reject", &text]);
    assert_eq!(out.status.code(), Some(2), "clap requires --reason");
    let out = rmos(
        data,
        "alice",
        &["advisory", "reject", &text, "--reason", "meh"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(err(&out).contains("unknown reason"));
    let out = rmos(
        data,
        "alice",
        &[
            "advisory",
            "reject",
            &text,
            "--reason",
            "composition",
            "--note",
            "too vague",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));

    // Deciding again supersedes with a new record; nothing is edited.
    let out = rmos(data, "alice", &["advisory", "approve", &text]);
    assert_eq!(out.status.code(), Some(0));
    let hist =
        json_out(&rmos(data, "alice", &["advisory", "show", &text, "--json"]))["history"].clone();
    let decisions: Vec<&str> = hist
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["rejected", "approved"]);
    assert_eq!(hist[0]["reason"], "composition");
    assert_eq!(hist[1]["reviewer"], "alice");

    let list = json_out(&rmos(
        data,
        "alice",
        &["advisory", "list", "--status", "all", "--json"],
    ));
    let states: Vec<(&str, &str)> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["asset_id"].as_str().unwrap(),
                a["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        states.contains(&(img.as_str(), "approved"))
            && states.contains(&(text.as_str(), "approved")),
        "{states:?}"
    );

    // Attach: writes the reference's link file; the run's details list it; twice is a no-op.
    let out = rmos(
        data,
        "alice",
        &[
            "advisory",
            "attach",
            &img,
            "--run",
            "run_5eed0000000000000000000000000006",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    assert_eq!(json_out(&out)["attached"], true);
    let sha = json_out(&rmos(data, "alice", &["advisory", "show", &img, "--json"]));
    let sha = sha["content_hash"]
        .as_str()
        .or(sha["asset"]["content_hash"].as_str())
        .unwrap()
        .to_owned();
    let link = data.join(format!(
        "runs/rmos/2025-12-23/run_5eed0000000000000000000000000006_advisory_{sha}.json"
    ));
    let bytes = std::fs::read(&link).unwrap();
    let r: rmos::domain::AdvisoryInputRef = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(
        (r.advisory_id.as_str(), r.kind.as_str(), r.status.as_str()),
        (sha.as_str(), "advisory", "REVIEWED")
    );
    let keys: Vec<String> = serde_json::from_slice::<serde_json::Map<String, Value>>(&bytes)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys.len(),
        19,
        "every AdvisoryInputRef field is written, and the rmos asset: {keys:?}"
    );
    let details = json_out(&rmos(
        data,
        "alice",
        &[
            "logs",
            "show",
            "run_5eed0000000000000000000000000006",
            "--json",
        ],
    ));
    assert_eq!(details["advisory_inputs"][0]["advisory_id"], sha.as_str());
    let again = json_out(&rmos(
        data,
        "alice",
        &[
            "advisory",
            "attach",
            &img,
            "--run",
            "run_5eed0000000000000000000000000006",
            "--json",
        ],
    ));
    assert_eq!(again["attached"], false);
    // Runs stay verifiable (the link file is not an artifact).
    assert_eq!(
        rmos(data, "alice", &["runs", "verify"]).status.code(),
        Some(0)
    );

    let out = rmos(data, "alice", &["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_out(&out)["records"], 3);
}

#[test]
fn expect_hash_and_corrupted_content_refuse_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let id = add(
        data,
        &["--type", "SUGGESTION", "--text", "{\"ring_count\": 3}"],
    );
    let out = rmos(
        data,
        "alice",
        &["advisory", "approve", &id, "--expect-hash", &"a".repeat(64)],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err(&out).contains("changed since it was shown"),
        "{}",
        err(&out)
    );
    // Change the stored bytes behind rmos's back: flagged, never shown as valid.
    let show = json_out(&rmos(data, "alice", &["advisory", "show", &id, "--json"]));
    let blob = data.join(show["content_path"].as_str().unwrap());
    let mut perm = std::fs::metadata(&blob).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&blob, perm).unwrap();
    std::fs::write(&blob, b"{\"ring_count\": 30}").unwrap();
    let show = json_out(&rmos(data, "alice", &["advisory", "show", &id, "--json"]));
    assert_eq!(show["content_ok"], false);
    assert!(show["content_error"]
        .as_str()
        .unwrap()
        .contains("no longer matches"));
    let out = rmos(data, "alice", &["advisory", "approve", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("no longer matches its hash"));
    assert_eq!(
        json_out(&rmos(data, "alice", &["audit", "verify", "--json"]))["records"],
        0
    );
}

#[test]
fn reviewer_roles_are_enforced_once_configured() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let id = add(data, &["--type", "VALIDATION", "--text", "ok"]);
    std::fs::write(
        data.join("config.json"),
        r#"{"reviewers": {"alice": "reviewer", "bob": "viewer"}}"#,
    )
    .unwrap();
    for who in ["bob", "mallory"] {
        let out = rmos(data, who, &["advisory", "approve", &id]);
        assert_eq!(out.status.code(), Some(1), "{who}");
        let e = err(&out);
        assert!(
            e.contains("may not decide") && e.contains("config.json") && e.contains("\"reviewer\""),
            "{e}"
        );
    }
    assert_eq!(
        json_out(&rmos(data, "bob", &["advisory", "list", "--json"]))["counts"]["pending"],
        1,
        "viewers can read"
    );
    assert_eq!(
        rmos(data, "alice", &["advisory", "approve", &id])
            .status
            .code(),
        Some(0)
    );
}

fn sqlite(db: &Path, sql: &str) {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("sqlite3 CLI");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tampering_with_the_decision_chain_is_detected() {
    if Command::new("sqlite3").arg("-version").output().is_err() {
        common::skip::skip(
            common::skip::Needs::Tool,
            "the sqlite3 CLI is not installed",
        );
        return;
    }
    for tamper in [
        "UPDATE review_decisions SET decision = 'approved', reason = NULL WHERE seq = 2",
        "DELETE FROM review_decisions WHERE seq = 2",
        "UPDATE review_decisions SET seq = seq + 100 WHERE seq = 2; UPDATE review_decisions SET seq = 2 WHERE seq = 3; UPDATE review_decisions SET seq = 3 WHERE seq = 102",
        "DELETE FROM review_decisions WHERE seq = 3",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        let a = add(data, &["--type", "EXPLANATION", "--text", "one"]);
        let b = add(data, &["--type", "EXPLANATION", "--text", "two"]);
        assert_eq!(rmos(data, "alice", &["advisory", "approve", &a]).status.code(), Some(0));
        assert_eq!(rmos(data, "alice", &["advisory", "reject", &b, "--reason", "duplicate"]).status.code(), Some(0));
        assert_eq!(rmos(data, "alice", &["advisory", "approve", &b]).status.code(), Some(0));
        assert_eq!(rmos(data, "alice", &["audit", "verify"]).status.code(), Some(0));
        let db = data.join("rmos.db");
        // rmos refuses edits itself; a tamperer drops the guards first.
        let out = Command::new("sqlite3").arg(&db).arg("DELETE FROM review_decisions WHERE seq = 1").output().unwrap();
        assert!(!out.status.success(), "append-only triggers refuse edits");
        sqlite(&db, &format!("DROP TRIGGER review_decisions_append_only_update; DROP TRIGGER review_decisions_append_only_delete; {tamper}"));
        let out = rmos(data, "alice", &["audit", "verify", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{tamper}");
        let v = json_out(&out);
        assert_eq!(v["ok"], false);
        assert!(v["broken_at"]["seq"].as_i64().unwrap() <= 3, "{tamper}: {v}");
        assert!(err(&out).contains("BROKEN at record"));
    }
}

#[test]
fn import_reads_the_reference_asset_layout() {
    let dir = tempfile::tempdir().unwrap();
    let refdir = dir.path().join("advisory_assets/2025/12/23");
    std::fs::create_dir_all(&refdir).unwrap();
    let png_bytes = std::fs::read(png(dir.path())).unwrap();
    let png_hash = rmos::hashing::sha256_bytes(&png_bytes);
    std::fs::write(refdir.join("adv_0123456789ab_content.png"), &png_bytes).unwrap();
    std::fs::write(
        refdir.join("adv_0123456789ab.json"),
        format!(r#"{{"asset_id": "adv_0123456789ab", "asset_type": "image", "created_at_utc": "2025-12-23T18:00:00Z",
            "source": "ai_graphics", "provider": "dalle", "model": "dall-e-3", "prompt": "rosette",
            "content_hash": "{png_hash}", "confidence": 0.7, "warnings": [], "reviewed": true, "approved_for_workflow": true,
            "reviewed_by": "ross", "reviewed_at_utc": "2025-12-23T19:00:00Z", "review_note": "nice"}}"#),
    )
    .unwrap();
    // Content that does not match the hash its record claims is not imported.
    std::fs::write(refdir.join("adv_7a7a7a7a7a7a_content.png"), &png_bytes).unwrap();
    std::fs::write(
        refdir.join("adv_7a7a7a7a7a7a.json"),
        r#"{"asset_id": "adv_7a7a7a7a7a7a", "asset_type": "image", "created_at_utc": "2025-12-23T18:00:00Z",
            "content_hash": "0000000000000000000000000000000000000000000000000000000000000001",
            "reviewed": true, "approved_for_workflow": true, "reviewed_by": "ross"}"#,
    )
    .unwrap();
    std::fs::write(
        refdir.join("adv_ba9876543210.json"),
        r#"{"asset_id": "adv_ba9876543210", "asset_type": "pattern", "created_at_utc": "2025-12-23T18:05:00Z",
            "source": "ai_suggestion", "provider": "claude", "model": "m", "prompt": "pattern",
            "suggestion_data": {"pattern": "herringbone", "tiles": 24}, "reviewed": false, "approved_for_workflow": false}"#,
    )
    .unwrap();
    std::fs::write(refdir.join("adv_broken.json"), b"{not json").unwrap();
    let data = dir.path().join("data");
    let out = rmos(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "import",
            dir.path().join("advisory_assets").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "the broken file is reported");
    let v = json_out(&out);
    assert_eq!(v["imported"], 2, "{v}");
    let problems: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains("adv_broken.json")));
    assert!(problems
        .iter()
        .any(|p| p.contains("adv_7a7a7a7a7a7a.json") && p.contains("claims content_hash")));
    let img = json_out(&rmos(
        &data,
        "alice",
        &["advisory", "show", "adv_0123456789ab", "--json"],
    ));
    // The approval the file claims is recorded as the importer's decision (alice may
    // decide: no reviewers list), saying what the file claimed.
    assert_eq!(
        (
            img["asset_type"].as_str(),
            img["status"].as_str(),
            img["reviewer_id"].as_str()
        ),
        (Some("IMAGE"), Some("approved"), Some("alice"))
    );
    let note = img["review_note"].as_str().unwrap();
    assert!(
        note.contains("imported") && note.contains("\"ross\"") && note.contains("nice"),
        "{note}"
    );
    assert_eq!(img["content_ok"], true);
    let pat = json_out(&rmos(
        &data,
        "alice",
        &["advisory", "show", "adv_ba9876543210", "--json"],
    ));
    assert_eq!(
        (pat["asset_type"].as_str(), pat["status"].as_str()),
        (Some("PATTERN"), Some("pending"))
    );
    assert_eq!(
        rmos(&data, "alice", &["audit", "verify"]).status.code(),
        Some(0)
    );
    // Importing again adds nothing.
    let again = json_out(&rmos(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "import",
            dir.path().join("advisory_assets").to_str().unwrap(),
        ],
    ));
    assert_eq!(again["imported"], 0);
}

#[test]
fn huge_content_is_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A 5 GB sparse file: refused by its size, never read into memory.
    let huge = dir.path().join("huge.txt");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let out = rmos(
        &data,
        "alice",
        &[
            "advisory",
            "add",
            "--type",
            "EXPLANATION",
            "--file",
            huge.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("over the 64 MB limit"), "{}", err(&out));

    // A stored blob swapped for a huge file: flagged, decisions refused, nothing loaded.
    let id = add(
        &data,
        &["--type", "EXPLANATION", "--text", "raise the feed"],
    );
    let show = json_out(&rmos(&data, "alice", &["advisory", "show", &id, "--json"]));
    let blob = data.join(show["content_path"].as_str().unwrap());
    std::fs::remove_file(&blob).unwrap();
    std::fs::File::create(&blob)
        .unwrap()
        .set_len(5 << 30)
        .unwrap();
    let show = json_out(&rmos(&data, "alice", &["advisory", "show", &id, "--json"]));
    assert_eq!(show["content_ok"], false);
    assert!(
        show["content_error"]
            .as_str()
            .unwrap()
            .contains("over the 64 MB limit"),
        "{show}"
    );
    let out = rmos(&data, "alice", &["advisory", "approve", &id]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json_out(&rmos(&data, "alice", &["audit", "verify", "--json"]))["records"],
        0
    );
}

/// Two reviewers on one asset: a decision made after the asset was shown to the second is
/// not silently overridden; it is refused naming who decided what and when.
#[test]
fn a_decision_made_meanwhile_by_someone_else_is_not_overridden() {
    use rmos::store::advisory::{AdvisoryError, DecisionRequest, NewAsset, ReviewerPolicy};
    let dir = tempfile::tempdir().unwrap();
    let root = rmos::config::DataRoot::at(dir.path());
    let mut alice = root.open_advisory().unwrap();
    let mut bob = root.open_advisory().unwrap();
    let asset = alice
        .add(NewAsset {
            asset_type: Some(rmos::store::advisory::AssetType::Explanation),
            content: b"slow the feed".to_vec(),
            mime: "text/plain".into(),
            extension: "txt".into(),
            ..Default::default()
        })
        .unwrap();
    // Bob is shown the asset pending.
    let shown = bob.get(&asset.asset_id).unwrap();
    assert_eq!(shown.decision_seq, None);
    let policy = ReviewerPolicy::default();
    let req = |who: &'static str, approve: bool, seen: Option<i64>| DecisionRequest {
        reviewer: who,
        asset_id: &asset.asset_id,
        approve,
        reason: (!approve).then_some("other"),
        note: None,
        expect_hash: Some(&asset.content_hash),
        expect_previous: Some(seen),
    };
    let d = alice.decide(&policy, &req("alice", true, None)).unwrap();
    match bob.decide(&policy, &req("bob", false, shown.decision_seq)) {
        Err(e @ AdvisoryError::DecidedMeanwhile { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("approved by alice") && msg.contains("s ago"),
                "{msg}"
            );
        }
        other => panic!("bob must be told: {other:?}"),
    }
    assert_eq!(
        bob.history(&asset.asset_id).unwrap().len(),
        1,
        "nothing recorded"
    );
    // Shown the new state, bob may decide again.
    let now = bob.get(&asset.asset_id).unwrap();
    assert_eq!(now.decision_seq, Some(d.seq));
    bob.decide(&policy, &req("bob", false, now.decision_seq))
        .unwrap();
    assert_eq!(bob.get(&asset.asset_id).unwrap().state.as_str(), "rejected");
}

/// Two assets with the same bytes: a run's link (named by the content) holds one of them,
/// a second attach says which one it holds, and a lookup by the content is refused as
/// ambiguous rather than answered with either.
#[test]
fn assets_sharing_content_are_never_taken_for_each_other() {
    let root = common::store_example_copy();
    let data = root.path();
    let run = "run_5eed0000000000000000000000000006";
    let a = add(
        data,
        &[
            "--type",
            "EXPLANATION",
            "--text",
            "same words",
            "--provider",
            "p1",
        ],
    );
    let b = add(
        data,
        &[
            "--type",
            "EXPLANATION",
            "--text",
            "same words",
            "--provider",
            "p2",
        ],
    );
    for id in [&a, &b] {
        let out = rmos(data, "alice", &["advisory", "approve", id]);
        assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    }
    let out = rmos(data, "alice", &["advisory", "attach", &a, "--run", run]);
    assert_eq!(out.status.code(), Some(0), "{}", err(&out));
    let out = rmos(data, "alice", &["advisory", "attach", &b, "--run", run]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err(&out).contains(&format!("as asset {a}")),
        "names the asset the run links: {}",
        err(&out)
    );
    // The run's link names the content and the asset attached.
    let details = json_out(&rmos(data, "alice", &["--json", "logs", "show", run]));
    let link = &details["advisory_inputs"][0];
    assert_eq!(link["rmos_asset_id"], a.as_str());
    let sha = link["advisory_id"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    let out = rmos(data, "alice", &["advisory", "show", &sha]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        err(&out).contains("several assets") && err(&out).contains(&a) && err(&out).contains(&b),
        "{}",
        err(&out)
    );
}
