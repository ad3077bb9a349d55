//! The `rmos` binary: exit codes, JSON output, human messages.

mod common;

use common::{read_json, store_example_copy};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn rmos(data: &Path, args: &[&str]) -> Output {
    common::rmos_cmd(data).args(args).output().unwrap()
}

fn rmos_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rmos"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn verify_classifies_the_reference_store() {
    let root = store_example_copy();
    let out = rmos(root.path(), &["runs", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = stdout_json(&out);
    assert_eq!(
        v["summary"],
        serde_json::json!({"ok": 6, "mismatch": 0, "placeholder": 2, "invalid": 0, "uncovered": 0, "duplicate": 0, "unreadable_partitions": 0})
    );
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    for r in results {
        let id = r["run_id"].as_str().unwrap();
        let want = match id {
            // completeness-guard substitute and the saw-lab store_artifact record
            "run_5eed0000000000000000000000000005" | "run_5eed0000000000000000000000000009" => {
                "placeholder"
            }
            _ => "ok",
        };
        assert_eq!(r["outcome"], want, "{id}");
        assert!(r["path"].as_str().unwrap().ends_with(&format!("{id}.json")));
    }
}

#[test]
fn verify_detects_tampering_and_invalid_files() {
    let root = store_example_copy();
    let part = root.path().join("runs/rmos/2025-12-23");
    let target = part.join("run_5eed0000000000000000000000000002.json");
    let text = std::fs::read_to_string(&target).unwrap();
    std::fs::write(
        &target,
        text.replacen("\"overall_score\": 91.25", "\"overall_score\": 99.25", 1),
    )
    .unwrap();
    std::fs::write(part.join("run_garbage.json"), b"not json").unwrap();
    std::fs::write(part.join("run_empty.json"), b"").unwrap();

    let out = rmos(root.path(), &["runs", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    assert_eq!(
        v["summary"],
        serde_json::json!({"ok": 5, "mismatch": 1, "placeholder": 2, "invalid": 2, "uncovered": 0, "duplicate": 0, "unreadable_partitions": 0})
    );
    let by_id = |id: &str| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_id("run_5eed0000000000000000000000000002")["outcome"],
        "mismatch"
    );
    assert!(by_id("run_garbage")["detail"]
        .as_str()
        .unwrap()
        .contains("malformed JSON"));
    assert!(by_id("run_empty")["detail"]
        .as_str()
        .unwrap()
        .contains("empty"));

    let human = rmos(root.path(), &["runs", "verify"]);
    assert_eq!(human.status.code(), Some(1));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("mismatch    run_5eed0000000000000000000000000002"),
        "{text}"
    );
    assert!(stderr(&human).contains("5 ok, 1 mismatch, 2 placeholder, 2 invalid"));
    // Verification never modifies files.
    assert_eq!(
        std::fs::read(part.join("run_garbage.json")).unwrap(),
        b"not json"
    );
}

#[test]
fn verify_on_an_empty_root_is_clean() {
    let dir = tempfile::tempdir().unwrap();
    let out = rmos(dir.path(), &["runs", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_json(&out)["results"], serde_json::json!([]));
}

#[test]
fn logs_show_matches_the_reference_api_body() {
    let root = store_example_copy();
    let api = read_json("api_responses.json");
    for id in [
        "run_5eed0000000000000000000000000002",
        "run_5eed0000000000000000000000000005",
    ] {
        let out = rmos(root.path(), &["logs", "show", id, "--json"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let got = stdout_json(&out);
        let want = &api[format!("/api/rmos/logs/{id}")]["body"];
        for (k, v) in want.as_object().unwrap() {
            assert_eq!(&got[k], v, "{id} key {k}");
        }
        let keys: Vec<&String> = got.as_object().unwrap().keys().collect();
        let want_keys: Vec<&String> = want.as_object().unwrap().keys().collect();
        assert_eq!(
            &keys[..want_keys.len()],
            &want_keys[..],
            "reference keys first, in order"
        );
    }
    let out = rmos(
        root.path(),
        &["logs", "show", "run_5eed0000000000000000000000000002"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("[OK]") && text.contains("adv_0a1b2c3d4e5f") && text.contains("(ok)"),
        "{text}"
    );
}

#[test]
fn logs_show_errors_name_the_cause() {
    let root = store_example_copy();
    let missing = rmos(root.path(), &["logs", "show", "run_missing000"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("run_missing000 not found"),
        "{}",
        stderr(&missing)
    );
    let traversal = rmos(root.path(), &["logs", "show", "../../etc/passwd"]);
    assert_eq!(traversal.status.code(), Some(2));
    assert!(
        stderr(&traversal).contains("path separator"),
        "{}",
        stderr(&traversal)
    );
}

#[test]
fn hash_json_and_text() {
    let out = rmos_stdin(
        &["hash", "json"],
        br#"{"b":1,"a":2,"c":{"z":1,"y":[3,2,1]}}"#,
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "cd3cfe8daa448c994a797ec91cc19f51f5ef90c852f8eb365487bb340e750cac"
    );
    let out = rmos_stdin(&["hash", "json", "-", "--json"], br#"{"x": 1e16}"#);
    assert_eq!(
        stdout_json(&out)["sha256"],
        "21d6bea42b17fd31195fc9fc560ab7d0494ba833cdd094be2836c21506e84464"
    );
    let out = rmos_stdin(&["hash", "text"], b"G21\nG90\nG0 X0 Y0 Z5\nM30\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "78baad71e552008dc05ac5df45822f1375cfc5cd411a313e4554491b19db39c5"
    );
}

#[test]
fn hash_refuses_bad_input_with_a_reason() {
    for (input, needle) in [
        (&b"{\"a\": "[..], "truncated JSON"),
        (&b"{a: 1}"[..], "malformed JSON"),
        (&b"   "[..], "empty"),
        (&b"\xff\xfe"[..], "not UTF-8"),
    ] {
        let out = rmos_stdin(&["hash", "json"], input);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let out = rmos_stdin(&["hash", "json"], deep.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("recursion limit"), "{}", stderr(&out));
    let out = rmos(
        Path::new("/nonexistent"),
        &["hash", "json", "/nonexistent/file.json"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/file.json"));
}

#[test]
fn usage_errors_exit_2() {
    let out = rmos(Path::new("."), &["runs", "frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn huge_file_in_a_partition_is_reported_not_read() {
    let root = store_example_copy();
    let huge = root.path().join("runs/rmos/2025-12-23/run_huge.json");
    // A sparse 100 MB file: cheap to create, far over the artifact size limit.
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    let out = rmos(root.path(), &["runs", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    let row = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["run_id"] == "run_huge")
        .unwrap()
        .clone();
    assert_eq!(row["outcome"], "invalid");
    assert!(
        row["detail"].as_str().unwrap().contains("over the"),
        "{row}"
    );
}

#[test]
fn logs_recent_lists_every_valid_run_of_a_reference_store() {
    let root = store_example_copy();
    let out = rmos(root.path(), &["logs", "recent", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = stdout_json(&out);
    let api = read_json("api_responses.json");
    assert_eq!(
        v["entries"],
        api["/api/rmos/logs/recent?limit=50"]["body"]["entries"]
    );
    assert_eq!(v["total"], 8);
    assert_eq!(v["next_cursor"], Value::Null);
    assert_eq!(v["filters_applied"]["mode"], Value::Null);

    let out = rmos(
        root.path(),
        &[
            "logs",
            "recent",
            "--mode",
            "ART_STUDIO",
            "--risk-level",
            "yellow",
            "--json",
        ],
    );
    let v = stdout_json(&out);
    let want = &api["/api/rmos/logs/recent?mode=ART_STUDIO&risk_level=yellow"]["body"];
    assert_eq!(v["entries"], want["entries"]);
    assert_eq!(v["filters_applied"]["mode"], "ART_STUDIO");
}

#[test]
fn logs_recent_pages_with_the_cursor() {
    let root = store_example_copy();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    // 8 runs in pages of 3: three pages; a cursor that never ends fails at the fifth.
    for page in 1.. {
        assert!(
            page <= 4,
            "the cursor walk does not end; seen so far: {seen:?}"
        );
        let mut args = vec!["logs", "recent", "--limit", "3", "--json"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c.as_str()]);
        }
        let v = stdout_json(&rmos(root.path(), &args));
        seen.extend(
            v["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["run_id"].as_str().unwrap().to_owned()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8);
    let bad = rmos(root.path(), &["logs", "recent", "--cursor", "garbage"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("invalid cursor"));
}

#[test]
fn logs_recent_filters_with_or_and_groups() {
    let root = store_example_copy();
    let ids = |filter: &str| -> Vec<String> {
        let v = stdout_json(&rmos(
            root.path(),
            &["logs", "recent", "--json", "--filter", filter],
        ));
        let mut ids: Vec<String> = v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["run_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let red = ids("risk:yellow");
    let blocked = ids("status:blocked");
    let mut either: Vec<String> = red.iter().chain(&blocked).cloned().collect();
    either.sort();
    either.dedup();
    assert!(!red.is_empty() && !blocked.is_empty());
    assert_eq!(ids("risk:yellow OR status:blocked"), either);
    let all = ids("");
    let neither: Vec<String> = all
        .iter()
        .filter(|i| !either.contains(i))
        .cloned()
        .collect();
    assert_eq!(ids("-(risk:yellow OR status:blocked)"), neither);
    // The filter is echoed back as given.
    let v = stdout_json(&rmos(
        root.path(),
        &[
            "logs",
            "recent",
            "--json",
            "--filter",
            "(risk:red OR status:blocked)",
        ],
    ));
    assert_eq!(
        v["filters_applied"]["filter"],
        serde_json::json!("(risk:red OR status:blocked)"),
        "{v}"
    );
    // A filter starting with '-' is a value, not an option.
    assert_eq!(ids("-status:ok"), ids("status:blocked,error"));
    let out = rmos(root.path(), &["logs", "recent", "--filter", "risk:red OR"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("both sides of OR"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn logs_show_explains_the_score_and_the_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // A scored run: the six components with weights, scores, buckets and the total.
    let design = data.join("design.json");
    std::fs::write(
        &design,
        r#"{"outer_diameter_mm": 120, "inner_diameter_mm": 90, "ring_params": [{"ring_index": 0, "width_mm": 4.5}]}"#,
    )
    .unwrap();
    let scored = stdout_json(&rmos(data, &["--json", "score", design.to_str().unwrap()]));
    let id = scored["run_id"].as_str().unwrap();
    let out = rmos(data, &["logs", "show", id]);
    let text = String::from_utf8(out.stdout).unwrap();
    let total = scored["result"]["score"].as_f64().unwrap();
    assert!(
        text.contains(&format!(
            "scoring   weighted {total:.2} (recorded {total:.2}"
        )),
        "{text}"
    );
    for (label, weight) in [
        ("chipload", "0.30"),
        ("heat", "0.25"),
        ("deflection", "0.20"),
        ("rim speed", "0.15"),
        ("geometry", "0.10"),
        ("channel", "0.10"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(label) && l.contains(weight)),
            "{label} {weight}: {text}"
        );
    }
    assert!(
        text.lines().all(|l| l == l.trim_end()),
        "no trailing spaces"
    );
    // A run executing a plan shows its lineage.
    let part = data.join("runs/rmos/2025-12-23");
    std::fs::create_dir_all(&part).unwrap();
    std::fs::copy(
        common::fixtures().join("examples/cam_run_with_attachments_and_lineage.json"),
        part.join("run_5eed000000000000000000000000000a.json"),
    )
    .unwrap();
    let out = rmos(
        data,
        &["logs", "show", "run_5eed000000000000000000000000000a"],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "plan      run_5eed0000000000000000000000000006 (lineage.parent_plan_run_id)"
        ),
        "{text}"
    );
}

#[test]
fn runs_diff_lists_what_changed_between_two_runs() {
    let root = store_example_copy();
    let (a, b) = (
        "run_5eed0000000000000000000000000001",
        "run_5eed0000000000000000000000000004",
    );
    let v = stdout_json(&rmos(root.path(), &["--json", "runs", "diff", a, b]));
    assert_eq!((v["a"].as_str(), v["b"].as_str()), (Some(a), Some(b)));
    let changes = v["changes"].as_array().unwrap();
    assert_eq!(v["count"], changes.len());
    let find = |path: &str, kind: &str| {
        changes
            .iter()
            .find(|c| c["path"] == path && c["kind"] == kind)
            .unwrap_or_else(|| panic!("{path} {kind} in {v}"))
    };
    let risk = find("decision.risk_level", "changed");
    assert_eq!(
        (&risk["a"], &risk["b"]),
        (&json!("YELLOW"), &json!("ERROR"))
    );
    assert_eq!(find("decision.warnings[]", "added")["b"], "scorer crashed");
    find("hashes.feasibility_sha256", "changed");
    // Human output: one line per change, long values whole.
    let out = rmos(root.path(), &["runs", "diff", a, b]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!("{a} → {b}: {} differences", changes.len())),
        "{text}"
    );
    assert!(text.contains("~ decision.risk_level"), "{text}");
    let hash_a = changes
        .iter()
        .find(|c| c["path"] == "hashes.feasibility_sha256")
        .unwrap()["a"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains(&hash_a), "the whole hash is shown: {text}");
    // A run against itself; a missing run; a hostile id.
    let same = stdout_json(&rmos(root.path(), &["--json", "runs", "diff", a, a]));
    assert_eq!(same["count"], 0);
    assert_eq!(
        rmos(root.path(), &["runs", "diff", a, "run_missing"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        rmos(root.path(), &["runs", "diff", a, "../etc/passwd"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn runs_children_lists_the_newest_runs_naming_a_parent_or_plan() {
    use rmos::domain::{RunArtifact, RunLineage, Timestamp};
    let root = store_example_copy();
    let runs = root.path().join("runs/rmos");
    let store = rmos::store::runs::RunStore::new(&runs);
    let (base, _) = store.get("run_5eed0000000000000000000000000001").unwrap();
    let child = |id: &str, at: &str, parent: Option<&str>, plan: Option<&str>| {
        let mut a: RunArtifact = base.clone();
        a.run_id = id.into();
        a.created_at_utc = Timestamp::parse(at).unwrap();
        a.parent_run_id = parent.map(Into::into);
        a.lineage = plan.map(|p| RunLineage {
            parent_plan_run_id: Some(p.into()),
        });
        a.tool_id = "saw\u{1b}[31m".into();
        store.put(&a).unwrap();
    };
    let p = "run_5eed0000000000000000000000000001";
    child("run_c1", "2025-12-24T08:00:00Z", Some(p), None);
    child("run_c2", "2025-12-24T09:00:00Z", None, Some(p));
    child("run_c3", "2025-12-25T10:00:00Z", Some(p), Some(p));
    child("run_orphan", "2025-12-25T11:00:00Z", Some("run_gone"), None);

    let v = stdout_json(&rmos(root.path(), &["--json", "runs", "children", p]));
    assert_eq!(
        (v["run_id"].as_str(), v["exists"].as_bool()),
        (Some(p), Some(true))
    );
    assert_eq!(v["total"], 3);
    let listed: Vec<(&str, &str)> = v["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["run_id"].as_str().unwrap(), c["link"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [
            ("run_c3", "parent+plan"),
            ("run_c2", "plan"),
            ("run_c1", "parent")
        ],
        "newest first, each with how it names the parent"
    );
    let c3 = &v["children"][0];
    assert_eq!(
        (c3["parent_run_id"].as_str(), c3["plan_run_id"].as_str()),
        (Some(p), Some(p))
    );
    // The limit cuts the list, never the count.
    let v = stdout_json(&rmos(
        root.path(),
        &["--json", "runs", "children", p, "--limit", "2"],
    ));
    assert_eq!(
        (v["total"].as_u64(), v["children"].as_array().unwrap().len()),
        (Some(3), 2)
    );
    // The reference's own lineage: its CAM run executes the plan run 6.
    let v = stdout_json(&rmos(
        root.path(),
        &[
            "--json",
            "runs",
            "children",
            "run_5eed0000000000000000000000000006",
        ],
    ));
    assert_eq!(v["total"], 1);
    assert_eq!(
        v["children"][0]["run_id"],
        "run_5eed000000000000000000000000000a"
    );
    assert_eq!(v["children"][0]["link"], "plan");
    // Human output: a header with the count, one line per child, terminal-safe.
    let out = rmos(root.path(), &["runs", "children", p, "--limit", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with(&format!(
            "{p}: 3 child runs (the newest 2 shown; --limit N for more)\n"
        )),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines().nth(1).unwrap().contains("run_c3  parent+plan"),
        "{text}"
    );
    assert!(
        !text.contains('\u{1b}'),
        "escapes are neutralized: {text:?}"
    );
    // No children: said so, success.
    let out = rmos(
        root.path(),
        &["runs", "children", "run_5eed0000000000000000000000000002"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "run_5eed0000000000000000000000000002: 0 child runs\n"
    );
    // A parent the store does not hold but runs still name: listed, with a note.
    let out = rmos(root.path(), &["--json", "runs", "children", "run_gone"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("run run_gone is not in the store"),
        "{}",
        stderr(&out)
    );
    let v = stdout_json(&out);
    assert_eq!(
        (v["exists"].as_bool(), v["total"].as_u64()),
        (Some(false), Some(1))
    );
    // Unknown run: exit 1 naming it; a hostile id or a bad limit: usage, exit 2.
    let out = rmos(root.path(), &["runs", "children", "run_missing"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("run run_missing not found"),
        "{}",
        stderr(&out)
    );
    for args in [
        &["runs", "children", "../etc/passwd"][..],
        &["runs", "children", p, "--limit", "0"],
    ] {
        assert_eq!(rmos(root.path(), args).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn runs_timeline_counts_what_logs_recent_lists() {
    let root = store_example_copy();
    let listed = |filter: &str| -> usize {
        stdout_json(&rmos(
            root.path(),
            &[
                "logs", "recent", "--json", "--limit", "500", "--filter", filter,
            ],
        ))["entries"]
            .as_array()
            .unwrap()
            .len()
    };
    for (filter, by) in [("", "risk"), ("risk:yellow OR status:blocked", "status")] {
        let mut args = vec!["--json", "runs", "timeline", "--buckets", "400", "--by", by];
        if !filter.is_empty() {
            args.extend(["--filter", filter]);
        }
        let v = stdout_json(&rmos(root.path(), &args));
        let bins = v["bins"].as_array().unwrap();
        assert_eq!(bins.len(), 400);
        let total: u64 = bins.iter().map(|b| b["total"].as_u64().unwrap()).sum();
        assert_eq!(total as usize, listed(filter), "{filter}");
        for b in bins {
            let layers: u64 = b["counts"]
                .as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum();
            assert_eq!(layers, b["total"].as_u64().unwrap());
        }
        // Buckets are consecutive days ending at the newest run's.
        let starts: Vec<i64> = bins
            .iter()
            .map(|b| b["start_us"].as_i64().unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[1] - w[0] == 86_400_000_000));
    }
    let v = stdout_json(&rmos(
        root.path(),
        &["--json", "runs", "timeline", "--buckets", "2"],
    ));
    assert_eq!(v["bins"][1]["start"], "2025-12-23");
    assert!(v["bins"][1]["counts"]["green"].as_u64().unwrap() > 0);
    let out = rmos(root.path(), &["runs", "timeline", "--bucket", "month"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn saved_filters_are_used_as_at_names() {
    let root = store_example_copy();
    let _ = std::fs::remove_dir_all(common::config_dir_for(root.path()));
    let out = rmos(root.path(), &["filters", "list"]);
    assert!(
        stderr(&out).contains("no saved filters"),
        "{}",
        stderr(&out)
    );
    let out = rmos(
        root.path(),
        &["filters", "save", "hot", "-(risk:green OR risk:yellow)"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = stdout_json(&rmos(root.path(), &["--json", "filters", "list"]));
    assert_eq!(v["filters"]["hot"], "-(risk:green OR risk:yellow)");
    let by_name = stdout_json(&rmos(
        root.path(),
        &["logs", "recent", "--json", "--filter", "@hot"],
    ));
    let inline = stdout_json(&rmos(
        root.path(),
        &[
            "logs",
            "recent",
            "--json",
            "--filter",
            "-(risk:green OR risk:yellow)",
        ],
    ));
    assert_eq!(by_name["entries"], inline["entries"]);
    assert_eq!(by_name["entries"].as_array().unwrap().len(), 2);
    // Unknown names and bad input are usage errors that say what to do.
    let out = rmos(root.path(), &["logs", "recent", "--filter", "@cold"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("rmos filters list"),
        "{}",
        stderr(&out)
    );
    let out = rmos(root.path(), &["filters", "save", "../x", "risk:red"]);
    assert_eq!(out.status.code(), Some(2));
    let out = rmos(root.path(), &["filters", "save", "x", "risk:red OR"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        rmos(root.path(), &["filters", "delete", "hot"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        rmos(root.path(), &["filters", "delete", "hot"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn logs_recent_filter_errors_show_the_position() {
    let root = store_example_copy();
    let out = rmos(
        root.path(),
        &["logs", "recent", "--filter", "risk:red rsk:red"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("column 10") && stderr(&out).contains("unknown filter key"),
        "{}",
        stderr(&out)
    );
    let out = rmos(root.path(), &["logs", "recent", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn db_and_index_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = rmos(dir.path(), &["db", "migrate", "--dry-run", "--json"]);
    let v = stdout_json(&out);
    assert!(v["applied"].as_array().unwrap().len() >= 3);
    let out = rmos(dir.path(), &["db", "migrate"]);
    assert_eq!(out.status.code(), Some(0));
    let out = rmos(dir.path(), &["db", "migrate", "--json"]);
    assert_eq!(stdout_json(&out)["applied"], serde_json::json!([]));
    let out = rmos(dir.path(), &["db", "status", "--json"]);
    let v = stdout_json(&out);
    assert!(v["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["state"] == "applied"));

    let root = store_example_copy();
    let out = rmos(root.path(), &["index", "rebuild", "--json"]);
    assert_eq!(stdout_json(&out)["parsed"], 8);
    let out = rmos(root.path(), &["index", "status", "--json"]);
    let v = stdout_json(&out);
    assert_eq!(
        (
            v["runs"].as_u64(),
            v["invalid"].as_u64(),
            v["partitions"].as_u64()
        ),
        (Some(8), Some(0), Some(2))
    );
    let out = rmos(root.path(), &["sessions", "list", "--json"]);
    assert_eq!(stdout_json(&out)["total"], 0);
    let out = rmos(root.path(), &["sessions", "show", "ws_nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ws_nope not found"));
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn score_single_records_a_verifiable_art_studio_run() {
    let dir = tempfile::tempdir().unwrap();
    let design = write(
        dir.path(),
        "d.json",
        r#"{"design": {"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_count": 3, "pattern_type": "herringbone"},
            "ctx": {"material_id": "default-ebony", "tool_id": "default-vbit"}, "workflow_mode": null}"#,
    );
    let out = rmos(dir.path(), &["score", design.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = stdout_json(&out);
    assert_eq!(v["result"]["score"], 83.64, "the reference's legacy vector");
    assert_eq!(v["result"]["risk_bucket"], "YELLOW");
    let run_id = v["run_id"].as_str().unwrap().to_owned();
    assert!(run_id.starts_with("run_") && run_id.len() == 36);

    let show = stdout_json(&rmos(dir.path(), &["logs", "show", &run_id, "--json"]));
    assert_eq!(show["mode"], "art_studio");
    assert_eq!(show["tool_id"], "default-vbit");
    assert_eq!(show["status"], "OK");
    assert_eq!(show["decision"]["risk_level"], "YELLOW");
    assert_eq!(show["feasibility"]["overall_score"], 83.64);
    assert_eq!(show["feasibility"]["risk_level"], "YELLOW");
    assert_eq!(show["meta"]["source"], "feasibility_single");
    assert_eq!(show["verify"]["outcome"], "ok");
    let verify = rmos(dir.path(), &["runs", "verify", "--json"]);
    assert_eq!(verify.status.code(), Some(0));
    assert_eq!(stdout_json(&verify)["summary"]["ok"], 1);
}

#[test]
fn score_dry_run_records_nothing_and_saw_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let design = write(
        dir.path(),
        "d.json",
        r#"{"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_params": []}"#,
    );
    let out = rmos(
        dir.path(),
        &["score", design.to_str().unwrap(), "--dry-run", "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout_json(&out)["run_id"], Value::Null);
    assert!(!dir.path().join("runs").exists(), "nothing written");

    let saw = write(
        dir.path(),
        "s.json",
        r#"{"design": {"outer_diameter_mm": 100, "inner_diameter_mm": 20}, "ctx": {"tool_id": "saw:blade_10in"}}"#,
    );
    let out = rmos(dir.path(), &["score", saw.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("saw engine not supported"),
        "{}",
        stderr(&out)
    );

    let bad = write(
        dir.path(),
        "b.json",
        r#"{"outer_diameter_mm": 100, "inner_diameter_mm": 20, "rings": 3}"#,
    );
    let out = rmos(dir.path(), &["score", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("unknown field \"rings\""),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn score_batch_reports_bad_lines_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let lines = [
        r#"{"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_params": []}"#,
        r#"{not json"#,
        r#"{"design": {"outer_diameter_mm": 110, "inner_diameter_mm": 100, "ring_count": 14, "pattern_type": "radial"}, "ctx": {"material_id": "default-ebony", "tool_id": "default-vbit"}, "workflow_mode": null}"#,
        "",
        r#"{"outer_diameter_mm": -5, "inner_diameter_mm": 20}"#,
    ];
    let file = write(dir.path(), "b.jsonl", &lines.join("\n"));
    let out = rmos(
        dir.path(),
        &["score", "--batch", file.to_str().unwrap(), "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed line makes the batch fail"
    );
    let err = stderr(&out);
    assert!(err.contains("line 2: malformed JSON"), "{err}");
    assert!(
        err.contains("line 5: outer_diameter_mm must be greater than 0"),
        "{err}"
    );
    assert!(
        err.contains("2 designs scored, 2 runs recorded, 2 failed"),
        "{err}"
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[2]["line"], 3);
    assert_eq!(
        rows[2]["result"]["score"], 62.27,
        "the reference's RED legacy vector"
    );
    // The RED design was recorded BLOCKED with the reference's reason.
    let id = rows[2]["run_id"].as_str().unwrap();
    let show = stdout_json(&rmos(dir.path(), &["logs", "show", id, "--json"]));
    assert_eq!(show["status"], "BLOCKED");
    assert_eq!(
        show["decision"]["block_reason"],
        "Risk level RED - operation blocked"
    );
    assert_eq!(show["meta"]["source"], "feasibility_batch");
    let recent = stdout_json(&rmos(
        dir.path(),
        &["logs", "recent", "--source", "feasibility_batch", "--json"],
    ));
    assert_eq!(recent["total"], 2);
}

#[test]
fn without_a_terminal_the_console_explains_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rmos"))
        .arg("--data")
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = stderr(&out);
    assert!(
        err.contains("needs a terminal") && err.contains("rmos logs recent"),
        "{err}"
    );
    assert!(!dir.path().join("rmos.db").exists(), "nothing is created");
}

#[test]
fn logs_recent_on_an_empty_store_says_how_to_get_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = rmos(dir.path(), &["logs", "recent"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("no runs in"), "{err}");
    assert!(err.contains("rmos demo"), "{err}");
    // With a filter, the message is about the filter, not the store.
    let o = rmos(dir.path(), &["logs", "recent", "--filter", "risk:RED"]);
    assert!(stderr(&o).contains("no runs match"), "{}", stderr(&o));
}

#[test]
fn empty_lists_say_so() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (&["backup", "list"][..], "no backups in"),
        (&["snapshot", "list"][..], "no snapshots"),
        (&["sessions", "list"][..], "no workflow sessions"),
    ] {
        let o = rmos(dir.path(), args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert!(all.contains(says), "{args:?}: {all}");
    }
}

/// Eight processes (index readers, the review queue, index status) and a console open a
/// fresh data root's database at one instant — all waiting at one gate that opens once
/// they are all there — so the creation, the WAL switch and the migrations race. Every process succeeds
/// and sees every run; the console shows them without an error. Three rounds.
#[test]
fn a_fresh_database_opened_by_eight_processes_and_a_console_at_once() {
    let commands: [&[&str]; 8] = [
        &["--json", "logs", "recent", "--limit", "50"],
        &["--json", "logs", "recent", "--limit", "50"],
        &["--json", "logs", "recent", "--limit", "50"],
        &["--json", "logs", "recent", "--limit", "50"],
        &["--json", "advisory", "list"],
        &["--json", "advisory", "list"],
        &["--json", "index", "status"],
        &["--json", "index", "status"],
    ];
    for round in 0..3 {
        let root = store_example_copy();
        assert!(!root.path().join("rmos.db").exists());
        let gate = common::gate::Gate::closed();
        let children: Vec<_> = commands
            .iter()
            .map(|args| {
                let direct = common::rmos_cmd(root.path());
                let mut c = Command::new("flock");
                c.arg("-s").arg(gate.path()).arg(direct.get_program());
                c.args(direct.get_args()).args(*args);
                for (k, v) in direct.get_envs() {
                    match v {
                        Some(v) => c.env(k, v),
                        None => c.env_remove(k),
                    };
                }
                c.stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let console = common::console::Console::start(root.path().to_path_buf());
        gate.open_when_waiting(commands.len());
        for (args, child) in commands.iter().zip(children) {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: rmos {args:?} failed: {}",
                stderr(&out)
            );
            let v = stdout_json(&out);
            if args.contains(&"recent") {
                assert_eq!(
                    v["entries"].as_array().map(Vec::len),
                    Some(8),
                    "round {round}: rmos {args:?} listed {v}\nstderr: {}",
                    stderr(&out)
                );
            }
        }
        console.wait(
            "the console to list the runs",
            std::time::Duration::from_secs(30),
            |s| s.count == Some(8),
        );
        let seen = console.now();
        assert!(
            seen.errors_shown.is_empty(),
            "round {round}: the console showed {:?}",
            seen.errors_shown
        );
        console.stop();
        let status = rmos(root.path(), &["--json", "index", "status"]);
        assert!(status.status.success(), "{}", stderr(&status));
    }
}
