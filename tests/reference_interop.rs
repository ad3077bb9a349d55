//! rmos and the reference (luthiers-toolbox) on the same data: every test here is built from
//! behaviour captured by running the reference's own code (tests/fixtures/reference_behaviour/,
//! see its README for how each file was produced).

mod common;

use common::{copy_tree, fixtures};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn rmos(data: &Path, args: &[&str]) -> Output {
    common::rmos_cmd(data).args(args).output().unwrap()
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

fn behaviour(rel: &str) -> std::path::PathBuf {
    fixtures().join("reference_behaviour").join(rel)
}

fn read_behaviour(rel: &str) -> Value {
    let p = behaviour(rel);
    serde_json::from_slice(&std::fs::read(&p).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A data root whose runs folder holds the runs the reference wrote in one capture.
fn root_with_runs(capture: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(
        &behaviour(capture).join("runs"),
        &dir.path().join("runs/rmos"),
    );
    dir
}

// ---- item 2: hashes that never covered the feasibility block ----

#[test]
fn runs_the_reference_wrote_with_an_uncovering_hash_are_uncovered_not_mismatched() {
    let facts = read_behaviour("uncovered/facts.json");
    let root = root_with_runs("uncovered");
    let out = rmos(root.path(), &["runs", "verify", "--json"]);
    // Not an integrity failure: exit 0.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    let results = v["results"].as_array().unwrap();
    let persisted: Vec<&str> = facts["persist_run_artifact"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    let mut uncovered = 0;
    for fact in facts["facts"].as_array().unwrap() {
        let id = fact["run_id"].as_str().unwrap();
        let r = results.iter().find(|r| r["run_id"] == id).unwrap();
        let placeholder = fact["feasibility_sha256"]
            .as_str()
            .unwrap()
            .bytes()
            .all(|b| b == b'0');
        let want = if fact["covers"] == true {
            "ok"
        } else if placeholder {
            "placeholder"
        } else {
            uncovered += 1;
            "uncovered"
        };
        assert_eq!(r["outcome"], want, "{id}: {r}");
        if want == "uncovered" {
            let detail = r["detail"].as_str().unwrap();
            let why = if persisted.contains(&id) {
                "persist_run_artifact"
            } else {
                "convert_v1_to_v2"
            };
            assert!(detail.contains(why), "{id}: {detail}");
        }
    }
    assert!(uncovered >= 3, "the capture holds both kinds");
    assert_eq!(v["summary"]["uncovered"], uncovered);
    assert_eq!(v["summary"]["mismatch"], 0);

    // The human listing names the outcome and the reason; the summary counts it.
    let human = rmos(root.path(), &["runs", "verify"]);
    assert_eq!(human.status.code(), Some(0));
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("uncovered   run_0808e7c86c14445a"), "{text}");
    assert!(text.contains("convert_v1_to_v2"), "{text}");
    assert!(String::from_utf8_lossy(&human.stderr).contains(&format!("{uncovered} uncovered")));

    // The index and the filter language agree with verify.
    let listed = rmos(
        root.path(),
        &[
            "logs",
            "recent",
            "--json",
            "--limit",
            "500",
            "--filter",
            "verify:uncovered",
        ],
    );
    assert_eq!(
        listed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    for fact in facts["facts"].as_array().unwrap() {
        let id = fact["run_id"].as_str().unwrap();
        let r = results.iter().find(|r| r["run_id"] == id).unwrap();
        assert_eq!(
            listed.contains(id),
            r["outcome"] == "uncovered",
            "{id}: {listed}"
        );
    }
}

#[test]
fn an_edited_run_of_another_shape_is_still_a_mismatch() {
    let root = root_with_runs("uncovered");
    // The persist_run_artifact record, edited to a RED decision: no reference writer makes
    // that shape with an uncovering hash, so it is tampering.
    let part = root.path().join("runs/rmos/2026-12-01");
    let file = part.join("run_a833ea3655e142658d1cc27615024379.json");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replacen("\"risk_level\": \"GREEN\"", "\"risk_level\": \"RED\"", 1),
    )
    .unwrap();
    // A v2-id run whose feasibility was edited.
    let edited =
        std::fs::read_to_string(fixtures().join("examples/red_blocked_art_studio_run.json"))
            .unwrap();
    let mut doc: Value = serde_json::from_str(&edited).unwrap();
    let id = doc["run_id"].as_str().unwrap().to_owned();
    doc["feasibility"]["edited"] = Value::Bool(true);
    let date = &doc["created_at_utc"].as_str().unwrap()[..10];
    let dir = root.path().join("runs/rmos").join(date);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(format!("{id}.json")),
        serde_json::to_vec_pretty(&doc).unwrap(),
    )
    .unwrap();

    let out = rmos(root.path(), &["runs", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = stdout_json(&out);
    let outcome = |rid: &str| {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["run_id"] == rid)
            .unwrap()["outcome"]
            .clone()
    };
    assert_eq!(outcome("run_a833ea3655e142658d1cc27615024379"), "mismatch");
    assert_eq!(outcome(&id), "mismatch");
    assert_eq!(outcome("run_0808e7c86c14445a"), "uncovered");
    assert_eq!(v["summary"]["mismatch"], 2);
}

// ---- item 3: every bound of the design models, at its edge on both sides ----

#[test]
fn every_design_bound_accepts_and_refuses_what_the_reference_model_does() {
    use rmos::domain::design::Design;
    let doc = read_behaviour("design_bounds.json");
    let cases = doc["cases"].as_array().unwrap();
    // Each bound is probed just inside and just outside (both ends where there are two).
    assert_eq!(cases.len(), 22);
    for c in cases {
        let got = Design::from_json(&c["document"]);
        let accepted = c["accepted"].as_bool().unwrap();
        assert_eq!(
            got.is_ok(),
            accepted,
            "{} {} = {}: rmos {:?}, reference {}",
            c["form"],
            c["field"],
            c["value"],
            got.as_ref().err(),
            c["reference_error"]
        );
        if let Err(e) = got {
            // The refusal names the field.
            let field = c["field"].as_str().unwrap();
            assert!(e.to_string().contains(field), "{e}");
        }
    }
}

#[test]
fn a_legacy_design_with_inner_diameter_zero_scores_as_the_reference_does() {
    let doc = read_behaviour("design_bounds.json");
    let want = &doc["scored_inner_zero"];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("d.json");
    let body =
        serde_json::json!({"design": want["design"], "ctx": want["ctx"], "workflow_mode": null});
    std::fs::write(&input, body.to_string()).unwrap();
    let out = rmos(dir.path(), &["score", input.to_str().unwrap(), "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    assert_eq!(v["result"]["score"], want["result"]["score"]);
    assert_eq!(v["result"]["risk_bucket"], want["result"]["risk_bucket"]);
    assert_eq!(v["result"]["warnings"], want["result"]["warnings"]);
}

// ---- item 4: the Art Studio summary of a design with no rings ----

#[test]
fn the_recorded_summary_uses_the_reference_wrappers_defaults_for_zero() {
    let cases = read_behaviour("no_rings_summary.json");
    for case in cases.as_array().unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("d.json");
        let body = serde_json::json!({
            "design": case["design"],
            "ctx": {"material_id": "default-ebony", "tool_id": "default-vbit"},
            "workflow_mode": "design_first",
        });
        std::fs::write(&input, body.to_string()).unwrap();
        let out = rmos(dir.path(), &["score", input.to_str().unwrap(), "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = stdout_json(&out);
        assert_eq!(
            v["result"]["estimated_cut_time_seconds"], case["scorer_estimated_cut_time_seconds"],
            "the scorer itself gives the raw value"
        );
        let run_id = v["run_id"].as_str().unwrap();
        let show = stdout_json(&rmos(dir.path(), &["logs", "show", run_id, "--json"]));
        let want = &case["summary"];
        for key in [
            "overall_score",
            "risk_bucket",
            "material_efficiency",
            "estimated_cut_time_min",
            "warnings",
        ] {
            assert_eq!(
                show["feasibility"][key], want[key],
                "{key} of {}",
                case["design"]
            );
        }
    }
}

// ---- item 5: logs recent's limit, cursor and filters_applied against the reference's API ----

fn api(key: &str) -> Value {
    let all = common::read_json("api_responses.json");
    if let Some(v) = all.get(key) {
        return v.clone();
    }
    all["_filter_semantics_checks"][key].clone()
}

fn store_example() -> tempfile::TempDir {
    common::store_example_copy()
}

#[test]
fn limit_has_the_reference_apis_range() {
    let root = store_example();
    // The reference: 1..=500, outside it HTTP 422 naming the bound.
    assert_eq!(api("/api/rmos/logs/recent?limit=501")["status_code"], 422);
    assert_eq!(
        api("/api/rmos/logs/recent?limit=501")["detail"][0]["ctx"]["le"],
        500
    );
    assert_eq!(
        api("/api/rmos/logs/recent?limit=0")["detail"][0]["ctx"]["ge"],
        1
    );
    let ok = rmos(root.path(), &["--json", "logs", "recent", "--limit", "500"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(stdout_json(&ok)["total"], 8);
    for bad in ["501", "0"] {
        let out = rmos(root.path(), &["--json", "logs", "recent", "--limit", bad]);
        assert_eq!(out.status.code(), Some(2), "--limit {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--limit") && err.contains("1..=500"), "{err}");
    }
}

#[test]
fn an_unreadable_cursor_is_an_error_where_the_reference_ignores_it() {
    // The reference answers a garbage cursor with the first page (store_api.py ignores a
    // cursor it cannot parse); rmos refuses it (exit 2), which README lists as a difference.
    let garbage = api("/api/rmos/logs/recent/v2?cursor=garbage");
    assert_eq!(garbage["status_code"], 200);
    assert_eq!(garbage["run_ids"].as_array().unwrap().len(), 8);
    let root = store_example();
    let out = rmos(
        root.path(),
        &["--json", "logs", "recent", "--cursor", "garbage"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cursor"));
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(
        readme.contains("An unreadable `--cursor`"),
        "README lists the difference"
    );
}

#[test]
fn filters_applied_has_the_reference_keys_and_always_the_filter_key() {
    let reference = api("/api/rmos/logs/recent?mode=ART_STUDIO&risk_level=yellow");
    let body = reference.get("body").unwrap_or(&reference);
    let mut want: Vec<String> = body["filters_applied"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    want.push("filter".into());
    want.sort();
    let root = store_example();
    for args in [
        &[
            "--json",
            "logs",
            "recent",
            "--mode",
            "ART_STUDIO",
            "--risk-level",
            "yellow",
        ][..],
        &["--json", "logs", "recent"][..],
        &["--json", "logs", "recent", "--filter", "risk:yellow"][..],
    ] {
        let v = stdout_json(&rmos(root.path(), args));
        let mut got: Vec<String> = v["filters_applied"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        got.sort();
        assert_eq!(got, want, "{args:?}");
        for key in ["mode", "tool_id", "risk_level", "status", "source"] {
            if args.contains(&"--mode") {
                assert_eq!(
                    v["filters_applied"][key], body["filters_applied"][key],
                    "{key}"
                );
            }
        }
    }
}

// ---- item 9: backup write, byte for byte the reference's writer ----

/// Lay out a settings folder as the capture did.
fn settings_from(inputs: &Value, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, v) in inputs.as_object().unwrap() {
        match v {
            Value::Object(files) => {
                std::fs::create_dir_all(dir.join(name)).unwrap();
                for (f, body) in files {
                    std::fs::write(dir.join(name).join(f), body.as_str().unwrap()).unwrap();
                }
            }
            Value::String(body) => std::fs::write(dir.join(name), body).unwrap(),
            other => panic!("{other}"),
        }
    }
}

#[test]
fn backup_write_is_byte_identical_to_the_reference_writer() {
    let captured = read_behaviour("backup_writer.json");
    for (case, c) in captured.as_object().unwrap() {
        let dir = tempfile::tempdir().unwrap();
        let settings = dir.path().join("settings");
        settings_from(&c["inputs"], &settings);
        let data = dir.path().join("data");
        let out = rmos(
            &data,
            &["backup", "write", "--from", settings.to_str().unwrap()],
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let backups = data.join("cam/backups");
        let written: Vec<_> = std::fs::read_dir(&backups)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("cam_settings_"))
            .collect();
        assert_eq!(written.len(), 1, "{case}");
        let got = std::fs::read_to_string(written[0].path()).unwrap();

        // The clock differs: take rmos's timestamp into the reference's text.
        let reference = c["written"].as_str().unwrap();
        let stamp = |t: &str| t.lines().nth(1).unwrap().to_owned();
        assert!(stamp(&got).starts_with("  \"timestamp\": \"20"), "{got}");
        let mut want = reference.replacen(&stamp(reference), &stamp(&got), 1);
        // Posts come in the folder's listing order, for the reference as for rmos; this
        // folder was made anew, so list it to know the order both would give.
        let posts_dir = settings.join("posts");
        if posts_dir.is_dir() {
            let listed: Vec<String> = std::fs::read_dir(&posts_dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
                .collect();
            // (The reference's text holds `Infinity`, which is not JSON: read its lines.)
            let in_reference = posts_lines(reference);
            let mut theirs = in_reference.clone();
            let mut ours = listed.clone();
            theirs.sort();
            ours.sort();
            assert_eq!(ours, theirs, "{case}: the same posts are listed");
            if listed.len() > 1 {
                let block = |names: &[String]| {
                    names
                        .iter()
                        .map(|n| format!("      \"{n}\""))
                        .collect::<Vec<_>>()
                        .join(",\n")
                };
                want = want.replacen(&block(&in_reference), &block(&listed), 1);
            }
        }
        assert_eq!(got, want, "{case}");
    }
}

/// The names in the `"posts": [...]` block of a backup's text (one per line).
fn posts_lines(text: &str) -> Vec<String> {
    let mut lines = text.lines().skip_while(|l| !l.contains("\"posts\": ["));
    if lines
        .next()
        .is_some_and(|l| l.ends_with("[]") || l.ends_with("[],"))
    {
        return Vec::new();
    }
    lines
        .take_while(|l| !l.trim_start().starts_with(']'))
        .map(|l| l.trim().trim_end_matches(',').trim_matches('"').to_owned())
        .collect()
}

// ---- item 8: snapshot import keeps created_at_utc and the full feasibility summary ----

#[test]
fn snapshot_import_stores_what_the_reference_stores() {
    let captured = read_behaviour("snapshot_import.json");
    assert_eq!(captured["status_code"], 200);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("snap.json");
    std::fs::write(&input, captured["request"]["snapshot"].to_string()).unwrap();
    let data = dir.path().join("data");
    let out = rmos(
        &data,
        &["--json", "snapshot", "import", input.to_str().unwrap()],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    let ours = v["run_id"].as_str().unwrap().to_owned();
    // Same warning as the reference's response (the document's fingerprint is wrong).
    assert_eq!(v["warnings"], captured["response"]["warnings"]);

    // The stored file, byte for byte apart from the run id.
    let theirs_run: Value = serde_json::from_str(captured["run_file"].as_str().unwrap()).unwrap();
    let theirs = theirs_run["run_id"].as_str().unwrap();
    let stored =
        std::fs::read_to_string(data.join("art_studio/snapshots/snap_imported01.json")).unwrap();
    let want = captured["stored_file"]
        .as_str()
        .unwrap()
        .replace(theirs, &ours);
    assert_eq!(stored, want);

    // What GET returns.
    let shown = stdout_json(&rmos(
        &data,
        &["--json", "snapshot", "show", "snap_imported01"],
    ));
    let mut want_body = captured["get_body"].clone();
    want_body["run_id"] = Value::String(ours.clone());
    assert_eq!(shown, want_body);

    // The import run records the same feasibility and hash.
    let run = stdout_json(&rmos(&data, &["--json", "logs", "show", &ours]));
    assert_eq!(run["feasibility"], theirs_run["feasibility"]);
    assert_eq!(
        run["hashes"]["feasibility_sha256"],
        theirs_run["hashes"]["feasibility_sha256"]
    );
    assert_eq!(run["meta"], theirs_run["meta"]);
}

// ---- item 10: snapshot total and the baseline route (deliberate differences) ----

#[test]
fn snapshot_total_and_baseline_differ_from_the_reference_as_readme_says() {
    let captured = read_behaviour("snapshot_list.json");
    // The reference counts the unreadable file in `total` and its GET /baseline is
    // shadowed by GET /{snapshot_id}.
    assert_eq!(captured["list"]["total"], 2);
    assert_eq!(captured["list"]["listed_ids"].as_array().unwrap().len(), 1);
    assert_eq!(captured["get_baseline"]["status_code"], 404);

    let dir = tempfile::tempdir().unwrap();
    let snaps = dir.path().join("art_studio/snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    std::fs::copy(
        fixtures().join("store_example/art_studio/snapshots/snap_5eed00000000.json"),
        snaps.join("snap_5eed00000000.json"),
    )
    .unwrap();
    std::fs::write(snaps.join("snap_broken.json"), "{not json").unwrap();
    let set = rmos(dir.path(), &["snapshot", "baseline", "snap_5eed00000000"]);
    assert_eq!(
        set.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let list = stdout_json(&rmos(dir.path(), &["--json", "snapshot", "list"]));
    // rmos: total = the snapshots listed; the unreadable file is counted apart.
    assert_eq!(list["total"], 1);
    assert_eq!(list["invalid_files"], 1);
    let baseline = rmos(dir.path(), &["--json", "snapshot", "baseline"]);
    assert_eq!(baseline.status.code(), Some(0));
    assert_eq!(
        stdout_json(&baseline)["baseline"]["snapshot_id"],
        "snap_5eed00000000"
    );

    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains("counts unreadable snapshot files in `total`"));
    assert!(readme.contains("`GET /snapshots/baseline` is shadowed"));
}

// ---- item 7: advisory import keeps what the reference's asset files hold ----

fn rmos_as(data: &Path, reviewer: &str, args: &[&str]) -> Output {
    common::rmos_cmd(data)
        .env("RMOS_REVIEWER", reviewer)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn advisory_import_keeps_every_field_of_the_reference_files() {
    let captured = read_behaviour("advisory_assets.json");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("advisory_assets");
    for (rel, text) in captured["files"].as_object().unwrap() {
        let p = tree.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text.as_str().unwrap()).unwrap();
    }
    let data = dir.path().join("data");
    let import = |who: &str| {
        rmos_as(
            &data,
            who,
            &["--json", "advisory", "import", tree.to_str().unwrap()],
        )
    };
    let out = import("alice");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);
    assert_eq!(report["imported"], 4, "{report}");
    assert_eq!(report["problems"], serde_json::json!([]));

    for (id, want) in captured["get_asset"].as_object().unwrap() {
        let shown = stdout_json(&rmos_as(
            &data,
            "alice",
            &["--json", "advisory", "show", id],
        ));
        // Content verified against the file's content_hash.
        assert_eq!(shown["content_hash"], want["content_hash"], "{id}");
        assert_eq!(shown["content_ok"], true, "{id}");
        for key in ["rating", "is_favorite", "cost_usd", "meta"] {
            assert_eq!(shown[key], want[key], "{id} {key}");
        }
        let status = match (
            want["reviewed"].as_bool(),
            want["approved_for_workflow"].as_bool(),
        ) {
            (Some(false), _) => "pending",
            (_, Some(true)) => "approved",
            _ => "rejected",
        };
        assert_eq!(shown["status"], status, "{id}");
        if want["reviewed"] == true {
            // The decision is the importer's; the note records, marked as imported, who
            // the file says reviewed it and when, with its free-text reason and note.
            let note = shown["review_note"].as_str().unwrap();
            assert!(
                note.starts_with("imported from a reference asset file"),
                "{note}"
            );
            if want["reviewed_by"].is_null() {
                assert!(
                    note.contains("without naming a reviewer")
                        && note.contains("with no review time"),
                    "{note}"
                );
            }
            // And in structured form, marked as imported, exactly as the file states it
            // (null where it names no reviewer or time).
            let last = shown["history"].as_array().unwrap().last().unwrap().clone();
            for key in [
                "reviewed_by",
                "reviewed_at_utc",
                "rejection_reason",
                "review_note",
            ] {
                assert_eq!(last["imported"][key], want[key], "{id} imported {key}");
            }
            for key in [
                "reviewed_by",
                "reviewed_at_utc",
                "rejection_reason",
                "review_note",
            ] {
                if let Some(s) = want[key].as_str() {
                    let s = s.replace("+00:00", "Z");
                    assert!(note.contains(&s), "{id}: {key} {s:?} not in {note:?}");
                }
            }
        }
    }

    // Importing again changes nothing and says so.
    let again = import("alice");
    assert_eq!(again.status.code(), Some(0));
    let v = stdout_json(&again);
    assert_eq!(
        (v["imported"].clone(), v["present"].clone()),
        (0.into(), 4.into())
    );
    let human = rmos_as(
        &data,
        "alice",
        &["advisory", "import", tree.to_str().unwrap()],
    );
    assert!(String::from_utf8_lossy(&human.stderr).contains("4 already imported, left unchanged"));
    assert_eq!(
        rmos_as(&data, "alice", &["audit", "verify"]).status.code(),
        Some(0)
    );
    // A rating the reference's model refuses (ge=1, le=5) is a problem, and nothing of
    // that file is imported.
    let bad = tree.join("2026/11/02/adv_000000000a09.json");
    let mut doc: Value = serde_json::from_str(
        captured["files"]["2026/11/02/adv_000000000a04.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    doc["asset_id"] = "adv_000000000a09".into();
    doc["rating"] = 6.into();
    std::fs::write(&bad, doc.to_string()).unwrap();
    std::fs::copy(
        tree.join("2026/11/02/adv_000000000a04_content.bin"),
        tree.join("2026/11/02/adv_000000000a09_content.bin"),
    )
    .unwrap();
    let out = import("alice");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout_json(&out)["problems"][0]
        .as_str()
        .unwrap()
        .contains("rating"));
    assert_eq!(
        rmos_as(&data, "alice", &["advisory", "show", "adv_000000000a09"])
            .status
            .code(),
        Some(1)
    );
    // The imported reviewer is covered by the record's hash: editing it breaks the chain.
    {
        let db = rusqlite::Connection::open(data.join("rmos.db")).unwrap();
        db.execute_batch(
            "DROP TRIGGER review_decisions_append_only_update;
             UPDATE review_decisions SET imported_json = replace(imported_json, 'maria', 'mallory');",
        )
        .unwrap();
    }
    let v = rmos_as(&data, "alice", &["audit", "verify"]);
    assert_eq!(v.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&v.stderr).contains("BROKEN at record 1"));
}

// ---- item 1: the reference's _index.json, rewritten from the files ----

#[test]
fn export_reference_writes_the_index_the_reference_rebuilds_and_keeps_its_tombstones() {
    let captured = read_behaviour("index/index_rebuild.json");
    let rmos_run = captured["rmos_run_id"].as_str().unwrap();
    // The problem: with a non-empty _index.json the reference never sees a run rmos wrote.
    let stale: Vec<&str> = captured["listed_with_stale_index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!stale.contains(&rmos_run));
    let healed: Vec<&str> = captured["listed_after_rebuild"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(healed.contains(&rmos_run));

    let root = common::store_example_copy();
    let runs = root.path().join("runs/rmos");
    copy_tree(&behaviour("index/rmos_run"), &runs);
    let out = rmos(root.path(), &["--json", "index", "export-reference"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);

    let text = std::fs::read_to_string(runs.join("_index.json")).unwrap();
    let ours: serde_json::Map<String, Value> = serde_json::from_str(&text).unwrap();
    let rebuilt: serde_json::Map<String, Value> =
        serde_json::from_str(captured["rebuilt_index_text"].as_str().unwrap()).unwrap();
    let before = captured["index_before"].as_object().unwrap();
    let mut a: Vec<&String> = ours.keys().collect();
    let mut b: Vec<&String> = rebuilt.keys().collect();
    a.sort();
    b.sort();
    assert_eq!(a, b, "the same runs as the reference's rebuild");
    let mut merged = 0;
    for (id, want) in &rebuilt {
        let mut want = want.as_object().unwrap().clone();
        // rmos keeps what the previous file held beyond the rebuilt entry (the reference's
        // own rebuild drops it: a soft-deleted run would come back).
        if let Some(Value::Object(old)) = before.get(id) {
            let mut kept = false;
            for (k, v) in old {
                if !want.contains_key(k) {
                    want.insert(k.clone(), v.clone());
                    kept = true;
                }
            }
            merged += usize::from(kept);
        }
        assert_eq!(ours[id], Value::Object(want), "{id}");
    }
    assert!(merged > 0, "the example store has a tombstone and a rollup");
    assert_eq!(report["merged"], merged);
    // The reference's writer format: two-space indent, no final newline, UTF-8 as is.
    assert!(text.starts_with("{\n  \"run_") && !text.ends_with('\n'));

    // Running it again gives the same file.
    let again = rmos(root.path(), &["index", "export-reference"]);
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(runs.join("_index.json")).unwrap(),
        text
    );
}

#[test]
fn a_run_rmos_writes_into_a_reference_tree_gets_the_entry_the_reference_put_writes() {
    use rmos::store::reference_index::reference_put_entry;
    let captured = read_behaviour("index/put_entries.json");
    let entries = captured["entries"].as_object().unwrap();
    // The entry shape, run by run, as the reference's put() wrote it for the same files.
    for (file, path) in [
        (
            "run_e27415b153134b77aa18d17119bafd12.json",
            behaviour("index/rmos_run/2026-12-01/run_e27415b153134b77aa18d17119bafd12.json"),
        ),
        (
            "cam_run_with_attachments_and_lineage.json",
            fixtures().join("examples/cam_run_with_attachments_and_lineage.json"),
        ),
    ] {
        let a: rmos::domain::RunArtifact =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(captured["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == file));
        assert_eq!(
            Value::Object(reference_put_entry(&a)),
            entries[&a.run_id],
            "{file}"
        );
    }

    // rmos writing a run into a reference tree adds that entry to its _index.json and
    // keeps everything else (tombstones, rollups) as it was.
    let root = common::store_example_copy();
    let index_path = root.path().join("runs/rmos/_index.json");
    let before: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let input = root.path().join("d.json");
    std::fs::write(&input, r#"{"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_count": 3, "pattern_type": "herringbone"}"#).unwrap();
    let out = rmos(root.path(), &["--json", "score", input.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run_id = stdout_json(&out)["run_id"].as_str().unwrap().to_owned();
    let after: serde_json::Map<String, Value> =
        serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    assert_eq!(after.len(), before.len() + 1);
    for (id, entry) in &before {
        assert_eq!(&after[id], entry, "{id} untouched");
    }
    let shown = stdout_json(&rmos(root.path(), &["--json", "logs", "show", &run_id]));
    let file = shown["path"].as_str().unwrap();
    let a = rmos::store::runs::read_artifact_file(Path::new(file)).unwrap();
    assert_eq!(after[&run_id], Value::Object(reference_put_entry(&a)));
    let keys: Vec<&String> = after[&run_id].as_object().unwrap().keys().collect();
    let want: Vec<&String> = entries["run_e27415b153134b77aa18d17119bafd12"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        keys, want,
        "same keys in the same order as the reference's entry for an rmos score run"
    );

    // A runs folder without the reference's index gets none.
    let plain = tempfile::tempdir().unwrap();
    let out = rmos(plain.path(), &["--json", "score", input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!plain.path().join("runs/rmos/_index.json").exists());
}

// ---- item 6: decisions written back into the reference's asset files, export ----

/// The reference's `AdvisoryAsset` as its store reads a file (`model_validate_json`, unknown
/// keys ignored, defaults for missing ones) and hands it out (`model_dump_json`): the
/// model's keys in the model's order. `keys`: that order, taken from what the reference's
/// `get_asset` returned in the capture. `None` when the model would refuse the file.
fn reference_view(text: &str, keys: &[String]) -> Option<Value> {
    let doc: Value = serde_json::from_str(text).ok()?;
    let o = doc.as_object()?;
    for k in ["asset_type", "provider", "model", "prompt", "content_hash"] {
        o.get(k)?.as_str()?;
    }
    if !["image", "suggestion", "analysis", "pattern"].contains(&o["asset_type"].as_str()?) {
        return None;
    }
    if let Some(s) = o.get("source") {
        if !["ai_graphics", "ai_analysis", "ai_suggestion"].contains(&s.as_str()?) {
            return None;
        }
    }
    let mut out = serde_json::Map::new();
    for k in keys {
        let default = match k.as_str() {
            "source" => Value::from("ai_graphics"),
            "warnings" => Value::Array(vec![]),
            "meta" => Value::Object(Default::default()),
            "reviewed" | "approved_for_workflow" | "is_favorite" => Value::Bool(false),
            _ => Value::Null,
        };
        out.insert(k.clone(), o.get(k).cloned().unwrap_or(default));
    }
    Some(Value::Object(out))
}

fn model_keys(get_asset: &Value) -> Vec<String> {
    get_asset
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// Write the reference's asset tree of advisory_assets.json under `root`.
fn reference_tree(root: &Path) {
    let captured = read_behaviour("advisory_assets.json");
    for (rel, text) in captured["files"].as_object().unwrap() {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text.as_str().unwrap()).unwrap();
    }
}

/// The asset files (not content files) of a tree: id → path.
fn asset_files(root: &Path) -> std::collections::BTreeMap<String, std::path::PathBuf> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with("adv_")
                && name.ends_with(".json")
                && !name.contains("_content")
            {
                out.insert(name.trim_end_matches(".json").to_owned(), p);
            }
        }
    }
    out
}

fn ok_out(o: &Output) -> &Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The reference's state and decision for an asset (its loader view) next to rmos's.
fn assert_same_review(id: &str, view: &Value, shown: &Value) {
    let status = shown["status"].as_str().unwrap();
    let (reviewed, approved) = match status {
        "pending" => (false, false),
        "approved" => (true, true),
        _ => (true, false),
    };
    assert_eq!(view["reviewed"], reviewed, "{id}: {view}");
    assert_eq!(view["approved_for_workflow"], approved, "{id}: {view}");
    let Some(d) = shown["history"].as_array().unwrap().last() else {
        assert_eq!(view["reviewed_by"], Value::Null, "{id}");
        return;
    };
    // An imported decision is written as the file stated it; one made in rmos as rmos's.
    let (by, at, reason, note) = match d.get("imported") {
        Some(i) => (
            i["reviewed_by"].clone(),
            i["reviewed_at_utc"].clone(),
            i["rejection_reason"].clone(),
            i["review_note"].clone(),
        ),
        None => (
            d["reviewer"].clone(),
            d["decided_at"].clone(),
            d["reason"].clone(),
            d["note"].clone(),
        ),
    };
    assert_eq!(view["reviewed_by"], by, "{id}");
    assert_eq!(view["reviewed_at_utc"], at, "{id}");
    assert_eq!(view["rejection_reason"], reason, "{id}");
    assert_eq!(view["review_note"], note, "{id}");
}

#[test]
fn the_reference_store_loads_and_lists_what_rmos_wrote_as_captured() {
    let cap = read_behaviour("advisory_writeback.json");
    let keys = model_keys(&cap["get_asset"]);
    let files = cap["after_rmos"].as_object().unwrap();
    for (id, got) in cap["get_asset"].as_object().unwrap() {
        let (rel, text) = files
            .iter()
            .find(|(rel, _)| rel.ends_with(&format!("/{id}.json")))
            .unwrap();
        let text = text.as_str().unwrap();
        // The reproduced loader view is what the reference's get_asset returned...
        let view = reference_view(text, &keys).unwrap_or_else(|| panic!("{rel} refused"));
        assert_eq!(&view, got, "{rel}");
        assert!(view
            .as_object()
            .unwrap()
            .keys()
            .eq(got.as_object().unwrap().keys()));
        // ...and every file rmos wrote is exactly the reference's own dump of it (two-space
        // indent, model order, UTF-8, no final newline), so its rewrite changes nothing else.
        assert_eq!(serde_json::to_string_pretty(&view).unwrap(), text, "{rel}");
        // The reference finds the content file the asset names, with the hash it claims.
        let content = files[view["content_uri"].as_str().unwrap()]
            .as_str()
            .unwrap();
        assert_eq!(
            rmos::hashing::sha256_bytes(content.as_bytes()),
            view["content_hash"].as_str().unwrap(),
            "{rel}"
        );
        assert_eq!(cap["content_found"][id], true);
        // What rmos showed for it at that moment is what the reference reads.
        assert_same_review(id, &view, &cap["rmos_show"][id]);
    }
    // Its lists filter by the fields rmos wrote.
    let lists = &cap["list_assets"];
    let mut views: Vec<(String, Value)> = cap["get_asset"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    let ids = |f: &dyn Fn(&Value) -> bool| -> Vec<String> {
        let mut v: Vec<String> = views
            .iter()
            .filter(|(_, a)| f(a))
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    };
    let sorted = |v: &Value| -> Vec<String> {
        let mut v: Vec<String> = serde_json::from_value(v.clone()).unwrap();
        v.sort();
        v
    };
    assert_eq!(sorted(&lists["all"]).len(), 6);
    assert_eq!(sorted(&lists["pending"]), ids(&|a| a["reviewed"] == false));
    assert_eq!(
        sorted(&lists["approved"]),
        ids(&|a| a["approved_for_workflow"] == true)
    );
    assert_eq!(
        sorted(&lists["reviewed_not_approved"]),
        ids(&|a| a["reviewed"] == true && a["approved_for_workflow"] == false)
    );
    assert_eq!(cap["count_pending_review"], 1);
    // The reference rewrites a file rmos wrote as its own dump: same form, its change only.
    for (rel, text) in cap["after_reference"].as_object().unwrap() {
        let text = text.as_str().unwrap();
        let view = reference_view(text, &keys).unwrap();
        assert_eq!(serde_json::to_string_pretty(&view).unwrap(), text, "{rel}");
        let before = reference_view(files[rel].as_str().unwrap(), &keys).unwrap();
        let changed: Vec<&String> = keys
            .iter()
            .filter(|k| view[k.as_str()] != before[k.as_str()])
            .collect();
        assert!(
            !changed.is_empty() && changed.len() <= 6,
            "{rel}: {changed:?}"
        );
    }
}

/// Write a file as the reference's update_asset does after changing `set` (its loader
/// view with the change, dumped in its form; behaviour pinned by the test above).
fn reference_update(path: &Path, keys: &[String], set: &[(&str, Value)]) {
    let mut view = reference_view(&std::fs::read_to_string(path).unwrap(), keys).unwrap();
    for (k, v) in set {
        view[*k] = v.clone();
    }
    std::fs::write(path, serde_json::to_string_pretty(&view).unwrap()).unwrap();
}

#[test]
fn reference_and_rmos_writing_one_asset_store_show_the_same_states_and_decisions() {
    let keys = model_keys(&read_behaviour("advisory_writeback.json")["get_asset"]);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The data root is a reference tree: its asset store is data/advisory_assets.
    let tree = data.join("advisory_assets");
    reference_tree(&tree);
    let run = |args: &[&str]| rmos_as(&data, "alice", args);
    ok_out(&run(&["advisory", "import"]));
    ok_out(&run(&[
        "advisory",
        "approve",
        "adv_000000000a04",
        "--note",
        "good spacing",
    ]));
    ok_out(&run(&[
        "advisory",
        "reject",
        "adv_000000000a02",
        "--reason",
        "wrong_style",
        "--note",
        "too modern, ü",
    ]));
    let s_file = dir.path().join("s.json");
    std::fs::write(&s_file, r#"{"ring_count": 4, "note": "Schön"}"#).unwrap();
    let id_of = |o: &Output| String::from_utf8_lossy(&ok_out(o).stdout).trim().to_owned();
    let new_s = id_of(&run(&[
        "advisory",
        "add",
        "--type",
        "SUGGESTION",
        "--json-file",
        s_file.to_str().unwrap(),
        "--provider",
        "stub",
        "--model",
        "stub-1",
        "--prompt",
        "four rings",
    ]));
    let new_v = id_of(&run(&[
        "advisory",
        "add",
        "--type",
        "VALIDATION",
        "--text",
        "rings fit the soundhole",
        "--source",
        "rmos_check",
    ]));
    ok_out(&run(&["advisory", "approve", &new_s]));
    let export = stdout_json(ok_out(&run(&["--json", "advisory", "export", "--all"])));
    assert_eq!(export["written"].as_array().unwrap().len(), 2, "{export}");
    assert_eq!(export["unchanged"], 4, "{export}");

    let agree = |expect: usize| {
        let files = asset_files(&tree);
        assert_eq!(files.len(), expect);
        for (id, path) in &files {
            let view = reference_view(&std::fs::read_to_string(path).unwrap(), &keys)
                .unwrap_or_else(|| panic!("the reference would refuse {}", path.display()));
            let shown = stdout_json(ok_out(&run(&["--json", "advisory", "show", id])));
            assert_same_review(id, &view, &shown);
            for f in shown["reference_files"].as_array().unwrap() {
                assert_eq!(f["error"], Value::Null, "{id}: {f}");
            }
        }
    };
    agree(6);
    // Exporting again writes nothing.
    let again = stdout_json(ok_out(&run(&["--json", "advisory", "export", "--all"])));
    assert_eq!(
        (
            again["written"].as_array().unwrap().len(),
            again["unchanged"].clone()
        ),
        (0, 6.into())
    );

    // The reference writes: it reviews rmos's pending asset and rates one rmos approved.
    let files = asset_files(&tree);
    reference_update(
        &files[&new_v],
        &keys,
        &[
            ("reviewed", true.into()),
            ("approved_for_workflow", false.into()),
            ("reviewed_by", "maria".into()),
            ("reviewed_at_utc", "2026-12-01T08:30:00.250000Z".into()),
            ("rejection_reason", "Not what the soundhole needs".into()),
            ("review_note", "ask again".into()),
        ],
    );
    reference_update(&files["adv_000000000a04"], &keys, &[("rating", 4.into())]);
    // rmos brings both in on the next import; unchanged files stay as they are.
    let imp = stdout_json(ok_out(&run(&["--json", "advisory", "import"])));
    assert_eq!(
        (
            imp["imported"].clone(),
            imp["updated"].clone(),
            imp["present"].clone()
        ),
        (0.into(), 2.into(), 4.into()),
        "{imp}"
    );
    let shown = stdout_json(&run(&["--json", "advisory", "show", &new_v]));
    assert_eq!(shown["status"], "rejected");
    let last = shown["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["imported"]["reviewed_by"], "maria");
    assert_eq!(
        last["imported"]["reviewed_at_utc"],
        "2026-12-01T08:30:00.250000Z"
    );
    assert_eq!(
        last["imported"]["rejection_reason"],
        "Not what the soundhole needs"
    );
    assert_eq!(
        last["reviewer"], "alice",
        "the chain records who imported it"
    );
    assert_eq!(
        stdout_json(&run(&["--json", "advisory", "show", "adv_000000000a04"]))["rating"],
        4
    );
    agree(6);
    let third = stdout_json(ok_out(&run(&["--json", "advisory", "import"])));
    assert_eq!(
        (third["updated"].clone(), third["present"].clone()),
        (0.into(), 6.into())
    );
    // A decision made in rmos now lands in the file the reference rewrote (its rating kept).
    ok_out(&run(&[
        "advisory",
        "reject",
        "adv_000000000a04",
        "--reason",
        "duplicate",
    ]));
    agree(6);
    let view = reference_view(
        &std::fs::read_to_string(&files["adv_000000000a04"]).unwrap(),
        &keys,
    )
    .unwrap();
    assert_eq!(
        (view["rating"].clone(), view["rejection_reason"].clone()),
        (4.into(), "duplicate".into())
    );
    ok_out(&run(&["audit", "verify"]));
}

#[test]
fn a_write_back_keeps_every_other_key_and_the_reference_form() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("ref");
    reference_tree(&tree);
    let data = dir.path().join("data");
    // A key the reference's model does not know (a newer reference, a tool) is kept too.
    let path = tree.join("2026/11/02/adv_000000000a04.json");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut doc: Value = serde_json::from_str(&original).unwrap();
    doc.as_object_mut().unwrap().insert(
        "x_extra".into(),
        serde_json::from_str::<Value>(r#"{"k": 1.50}"#).unwrap(),
    );
    let with_extra = serde_json::to_string_pretty(&doc).unwrap();
    std::fs::write(&path, &with_extra).unwrap();
    ok_out(&rmos_as(
        &data,
        "alice",
        &["advisory", "import", tree.to_str().unwrap()],
    ));
    let o = ok_out(&rmos_as(
        &data,
        "bob",
        &[
            "--json",
            "advisory",
            "reject",
            "adv_000000000a04",
            "--reason",
            "artifacts",
            "--note",
            "blurry",
        ],
    ))
    .stdout
    .clone();
    let d: Value = serde_json::from_slice(&o).unwrap();
    assert_eq!(d["written_back"][0]["error"], Value::Null, "{d}");
    let after = std::fs::read_to_string(&path).unwrap();
    let a: Value = serde_json::from_str(&after).unwrap();
    let b: Value = serde_json::from_str(&with_extra).unwrap();
    for (k, v) in b.as_object().unwrap() {
        if ![
            "reviewed",
            "approved_for_workflow",
            "reviewed_by",
            "reviewed_at_utc",
            "review_note",
            "rejection_reason",
        ]
        .contains(&k.as_str())
        {
            assert_eq!(&a[k], v, "{k} changed");
        }
    }
    assert!(
        a.as_object()
            .unwrap()
            .keys()
            .eq(b.as_object().unwrap().keys()),
        "key order kept"
    );
    assert_eq!(a["reviewed"], true);
    assert_eq!(a["approved_for_workflow"], false);
    assert_eq!(a["reviewed_by"], "bob");
    assert_eq!(a["rejection_reason"], "artifacts");
    assert_eq!(a["review_note"], "blurry");
    assert_eq!(a["reviewed_at_utc"], d["decided_at"]);
    assert_eq!(
        serde_json::to_string(&a["x_extra"]["k"]).unwrap(),
        "1.50",
        "number text kept"
    );
    assert_eq!(
        serde_json::to_string_pretty(&a).unwrap(),
        after,
        "the reference's form"
    );
    // Nothing left behind in the folder but the reference's own files.
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("adv_")), "{names:?}");
}

#[test]
fn a_review_recorded_in_the_reference_since_refuses_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("ref");
    reference_tree(&tree);
    let data = dir.path().join("data");
    let keys = model_keys(&read_behaviour("advisory_writeback.json")["get_asset"]);
    ok_out(&rmos_as(
        &data,
        "alice",
        &["advisory", "import", tree.to_str().unwrap()],
    ));
    let path = tree.join("2026/11/02/adv_000000000a04.json");
    reference_update(
        &path,
        &keys,
        &[
            ("reviewed", true.into()),
            ("approved_for_workflow", true.into()),
            ("reviewed_by", "jon".into()),
            ("reviewed_at_utc", "2026-12-01T09:00:00Z".into()),
        ],
    );
    let before = std::fs::read(&path).unwrap();
    let o = rmos_as(
        &data,
        "alice",
        &[
            "advisory",
            "reject",
            "adv_000000000a04",
            "--reason",
            "other",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("now says approved by \"jon\" at 2026-12-01T09:00:00Z")
            && err.contains("nothing was recorded")
            && err.contains("rmos advisory import"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the file is not clobbered"
    );
    let shown = stdout_json(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "show", "adv_000000000a04"],
    ));
    assert_eq!(
        (
            shown["status"].clone(),
            shown["history"].as_array().unwrap().len()
        ),
        ("pending".into(), 0)
    );
    // Importing brings the reference's review in; then rmos may decide again.
    ok_out(&rmos_as(
        &data,
        "alice",
        &["advisory", "import", tree.to_str().unwrap()],
    ));
    ok_out(&rmos_as(
        &data,
        "alice",
        &[
            "advisory",
            "reject",
            "adv_000000000a04",
            "--reason",
            "other",
        ],
    ));
    let a: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        (a["reviewed_by"].clone(), a["approved_for_workflow"].clone()),
        ("alice".into(), false.into())
    );
}

#[test]
fn a_failed_write_back_keeps_the_decision_says_so_and_export_retries() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("ref");
    reference_tree(&tree);
    let data = dir.path().join("data");
    ok_out(&rmos_as(
        &data,
        "alice",
        &["advisory", "import", tree.to_str().unwrap()],
    ));
    let path = tree.join("2026/11/02/adv_000000000a04.json");
    let text = std::fs::read(&path).unwrap();
    // The file is gone for a moment (moved away by someone).
    std::fs::rename(&path, dir.path().join("away.json")).unwrap();
    let o = rmos_as(&data, "alice", &["advisory", "approve", "adv_000000000a04"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("approved adv_000000000a04 by alice")
            && err.contains("the decision is recorded in rmos")
            && err.contains(&path.display().to_string())
            && err.contains("rmos advisory export --asset adv_000000000a04"),
        "{err}"
    );
    let shown = stdout_json(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "show", "adv_000000000a04"],
    ));
    assert_eq!(shown["status"], "approved", "the chain is the record");
    assert!(shown["reference_files"][0]["error"]
        .as_str()
        .unwrap()
        .contains("was not updated"));
    let to = tree.to_str().unwrap();
    // Exporting everything does not bring back a file that is gone (the reference may have
    // deleted the asset); it says how to.
    let all = rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "export", "--all", "--to", to],
    );
    assert_eq!(all.status.code(), Some(1));
    let problems = stdout_json(&all)["problems"].to_string();
    assert!(
        problems.contains("is gone from the reference's store"),
        "{problems}"
    );
    assert!(!path.exists());
    // Back in place: export writes the decision, then has nothing more to do.
    std::fs::write(&path, &text).unwrap();
    let e = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "export",
            "--asset",
            "adv_000000000a04",
            "--to",
            to,
        ],
    )));
    assert_eq!(e["written"].as_array().unwrap().len(), 1, "{e}");
    let a: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        (a["approved_for_workflow"].clone(), a["reviewed_by"].clone()),
        (true.into(), "alice".into())
    );
    let shown = stdout_json(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "show", "adv_000000000a04"],
    ));
    assert_eq!(shown["reference_files"][0]["error"], Value::Null);
    let e = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "export",
            "--asset",
            "adv_000000000a04",
            "--to",
            to,
        ],
    )));
    assert_eq!(
        (
            e["written"].as_array().unwrap().len(),
            e["unchanged"].clone()
        ),
        (0, 1.into())
    );
    // Gone again: asked for by id, it is written anew, with the decision.
    std::fs::remove_file(&path).unwrap();
    let e = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "export",
            "--asset",
            "adv_000000000a04",
            "--to",
            to,
        ],
    )));
    assert_eq!(e["written"].as_array().unwrap().len(), 1, "{e}");
    let a: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        (a["approved_for_workflow"].clone(), a["reviewed_by"].clone()),
        (true.into(), "alice".into())
    );
}

#[test]
fn export_of_rmos_assets_is_idempotent_with_the_cli_contract() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("exported");
    let to = out.to_str().unwrap();
    let id = String::from_utf8_lossy(
        &ok_out(&rmos_as(
            &data,
            "alice",
            &[
                "advisory",
                "add",
                "--type",
                "EXPLANATION",
                "--text",
                "why five rings",
            ],
        ))
        .stdout,
    )
    .trim()
    .to_owned();
    let first = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "export", "--asset", &id, "--to", to],
    )));
    assert_eq!(first["written"].as_array().unwrap().len(), 1);
    let files = asset_files(&out);
    let text = std::fs::read_to_string(&files[&id]).unwrap();
    let keys = model_keys(&read_behaviour("advisory_writeback.json")["get_asset"]);
    let view = reference_view(&text, &keys).expect("the reference's model loads it");
    assert_eq!(
        view["asset_type"], "analysis",
        "the reference has no explanation type"
    );
    assert_eq!(view["meta"]["rmos"]["asset_type"], "EXPLANATION");
    assert_eq!(view["reviewed"], false);
    let before = std::fs::read(&files[&id]).unwrap();
    let second = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "export", "--asset", &id, "--to", to],
    )));
    assert_eq!(
        (
            second["written"].as_array().unwrap().len(),
            second["unchanged"].clone()
        ),
        (0, 1.into())
    );
    assert_eq!(std::fs::read(&files[&id]).unwrap(), before);
    // A decision now follows the asset into the store it was exported to.
    ok_out(&rmos_as(&data, "alice", &["advisory", "approve", &id]));
    let a: Value = serde_json::from_slice(&std::fs::read(&files[&id]).unwrap()).unwrap();
    assert_eq!(a["approved_for_workflow"], true);
    // Imported into another rmos, it comes back as the explanation it is.
    let other = dir.path().join("other");
    ok_out(&rmos_as(&other, "alice", &["advisory", "import", to]));
    let shown = stdout_json(&rmos_as(
        &other,
        "alice",
        &["--json", "advisory", "show", &id],
    ));
    assert_eq!(
        (
            shown["asset_type"].clone(),
            shown["status"].clone(),
            shown["content_ok"].clone()
        ),
        ("EXPLANATION".into(), "approved".into(), true.into())
    );
    // Exit codes: an unknown asset is a failure, a missing choice a usage error.
    assert_eq!(
        rmos_as(
            &data,
            "alice",
            &["advisory", "export", "--asset", "adv_nope", "--to", to]
        )
        .status
        .code(),
        Some(1)
    );
    assert_eq!(
        rmos_as(&data, "alice", &["advisory", "export", "--to", to])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        rmos_as(
            &data,
            "alice",
            &["advisory", "export", "--all", "--asset", &id]
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn importing_again_follows_what_changed_in_the_reference() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("ref");
    reference_tree(&tree);
    let data = dir.path().join("data");
    let keys = model_keys(&read_behaviour("advisory_writeback.json")["get_asset"]);
    let t = tree.to_str().unwrap();
    let import = || {
        stdout_json(&rmos_as(
            &data,
            "alice",
            &["--json", "advisory", "import", t],
        ))
    };
    import();
    // rmos rejects a02 (written back); then the reference's reviewer approves it.
    ok_out(&rmos_as(
        &data,
        "alice",
        &[
            "advisory",
            "reject",
            "adv_000000000a02",
            "--reason",
            "composition",
        ],
    ));
    let a02 = tree.join("2026/11/02/adv_000000000a02.json");
    reference_update(
        &a02,
        &keys,
        &[
            ("approved_for_workflow", true.into()),
            ("reviewed_by", "jon".into()),
            ("reviewed_at_utc", "2026-12-02T10:00:00Z".into()),
            ("rejection_reason", Value::Null),
            ("review_note", "on second look, fine".into()),
        ],
    );
    // The reference clears the review of a01; and replaces a03's content.
    let a01 = tree.join("2026/11/02/adv_000000000a01.json");
    reference_update(
        &a01,
        &keys,
        &[
            ("reviewed", false.into()),
            ("reviewed_by", Value::Null),
            ("reviewed_at_utc", Value::Null),
        ],
    );
    let a03 = tree.join("2026/11/02/adv_000000000a03.json");
    reference_update(&a03, &keys, &[("content_hash", "ab".repeat(32).into())]);
    let r = import();
    assert_eq!(
        (r["updated"].clone(), r["present"].clone()),
        (2.into(), 1.into()),
        "{r}"
    );
    let problems = r["problems"].to_string();
    assert!(
        problems.contains("adv_000000000a03") && problems.contains("keeps one content"),
        "{problems}"
    );
    let notes = r["notes"].to_string();
    // The reference's reviewer saw rmos's rejection (it was in the file): theirs follows it.
    assert!(
        notes.contains("adv_000000000a02: approved by alice on import")
            && !notes.contains("replaces"),
        "{notes}"
    );
    assert!(
        notes.contains("adv_000000000a01: the file no longer records a review"),
        "{notes}"
    );
    let shown = stdout_json(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "show", "adv_000000000a02"],
    ));
    let h = shown["history"].as_array().unwrap();
    assert_eq!(
        h.len(),
        3,
        "imported, rmos's rejection, the reference's approval"
    );
    assert_eq!(
        (
            shown["status"].clone(),
            h[2]["imported"]["reviewed_by"].clone()
        ),
        ("approved".into(), "jon".into())
    );
    assert_eq!(h[1]["reviewer"], "alice");
    // a01 stays rejected in rmos; exporting writes that back into the cleared file.
    assert_eq!(
        stdout_json(&rmos_as(
            &data,
            "alice",
            &["--json", "advisory", "show", "adv_000000000a01"]
        ))["status"],
        "rejected"
    );
    let e = stdout_json(&rmos_as(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "export",
            "--asset",
            "adv_000000000a01",
            "--to",
            t,
        ],
    ));
    assert_eq!(e["written"].as_array().unwrap().len(), 1, "{e}");
    let v = reference_view(&std::fs::read_to_string(&a01).unwrap(), &keys).unwrap();
    assert_eq!(
        (v["reviewed"].clone(), v["reviewed_by"].clone()),
        (true.into(), "maria".into())
    );
    // Nothing changed since: importing is a no-op (a03 is still refused).
    let r = import();
    assert_eq!(
        (r["updated"].clone(), r["present"].clone()),
        (0.into(), 3.into()),
        "{r}"
    );
}

#[test]
fn a_changed_review_waits_for_someone_who_may_decide() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("ref");
    reference_tree(&tree);
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("config.json"),
        r#"{"reviewers": {"alice": "reviewer", "bob": "viewer"}}"#,
    )
    .unwrap();
    let keys = model_keys(&read_behaviour("advisory_writeback.json")["get_asset"]);
    let t = tree.to_str().unwrap();
    let import =
        |who: &str| stdout_json(&rmos_as(&data, who, &["--json", "advisory", "import", t]));
    import("alice");
    reference_update(
        &tree.join("2026/11/02/adv_000000000a04.json"),
        &keys,
        &[
            ("reviewed", true.into()),
            ("approved_for_workflow", true.into()),
            ("reviewed_by", "jon".into()),
        ],
    );
    let r = import("bob");
    assert!(
        r["notes"]
            .to_string()
            .contains("left pending because bob may not decide"),
        "{r}"
    );
    let status = || {
        stdout_json(&rmos_as(
            &data,
            "bob",
            &["--json", "advisory", "show", "adv_000000000a04"],
        ))["status"]
            .clone()
    };
    assert_eq!(status(), "pending");
    let r = import("alice");
    assert_eq!(r["updated"], 1, "{r}");
    assert_eq!(status(), "approved");
}

// ---- item 6: exported content in the reference's attachment store (its blob browser) ----

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Every file under `root`, relative, sorted.
fn files_under(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

fn file_identity(p: &Path) -> (u64, i64, i64) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(p).unwrap();
    (m.ino(), m.mtime(), m.mtime_nsec())
}

/// A data root holding the capture's three assets (the same bytes, so the same hashes);
/// returns their ids by the capture's names.
fn blob_assets(data: &Path, cap: &Value) -> std::collections::BTreeMap<String, String> {
    let hex = &cap["content_hex"];
    let dir = data.parent().unwrap();
    std::fs::write(dir.join("ring.png"), unhex(hex["image"].as_str().unwrap())).unwrap();
    std::fs::write(
        dir.join("s.json"),
        unhex(hex["suggestion"].as_str().unwrap()),
    )
    .unwrap();
    let text = String::from_utf8(unhex(hex["explanation"].as_str().unwrap())).unwrap();
    let add = |args: &[&str]| {
        let mut all = vec!["advisory", "add"];
        all.extend_from_slice(args);
        String::from_utf8_lossy(&ok_out(&rmos_as(data, "alice", &all)).stdout)
            .trim()
            .to_owned()
    };
    let png = dir.join("ring.png");
    let sug = dir.join("s.json");
    [
        (
            "image",
            add(&["--type", "IMAGE", "--file", png.to_str().unwrap()]),
        ),
        (
            "explanation",
            add(&["--type", "EXPLANATION", "--text", &text]),
        ),
        (
            "suggestion",
            add(&["--type", "SUGGESTION", "--json-file", sug.to_str().unwrap()]),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[test]
fn the_reference_blob_browser_resolves_what_rmos_exported() {
    let cap = read_behaviour("blob_store.json");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = blob_assets(&data, &cap);
    for (k, id) in &ids {
        let shown = stdout_json(&rmos_as(
            &data,
            "alice",
            &["--json", "advisory", "show", id],
        ));
        assert_eq!(shown["content_hash"], cap["content_hash"][k], "{k}");
    }
    let report = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "export", "--all"],
    )));
    let store = data.join("run_attachments");
    assert_eq!(
        report["blob_store"].as_str().map(Path::new),
        Some(store.as_path()),
        "the default is the data root's run_attachments"
    );
    // Exactly the files the reference's own writer makes for these bytes (no extension,
    // no metadata beside them, no staging leftovers) ...
    let made = files_under(&store);
    let expected: Vec<String> = serde_json::from_value(cap["reference_put_files"].clone()).unwrap();
    assert_eq!(made, expected);
    let mut written: Vec<String> = report["blobs_written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            Path::new(p.as_str().unwrap())
                .strip_prefix(&data)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    written.sort();
    let mut cap_written: Vec<String> =
        serde_json::from_value(cap["rmos_export"]["blobs_written"].clone()).unwrap();
    cap_written.sort();
    assert_eq!(written, cap_written);
    assert_eq!(cap["reference_put_bytes_equal_rmos"], true);
    // ... which the reference's blob router served, byte for byte, from what rmos wrote.
    for k in ids.keys() {
        let sha = cap["content_hash"][k].as_str().unwrap();
        let got = &cap["download"][k];
        assert_eq!(got["status"], 200, "{k}");
        assert_eq!(got["body_sha256"], sha, "{k}");
        assert_eq!(cap["verify_attachment"][k]["ok"], true, "{k}");
        let rel = cap["reference_put_into_empty_store"][k]["path"]
            .as_str()
            .unwrap();
        let bytes = std::fs::read(store.join(rel)).unwrap();
        assert_eq!(
            bytes,
            unhex(cap["content_hex"][k].as_str().unwrap()),
            "{k}: rmos wrote the asset's content under its hash"
        );
        assert_eq!(Some(bytes.len() as u64), got["body_size"].as_u64(), "{k}");
    }
    assert_eq!(
        cap["download"]["image"]["headers"]["content-type"],
        "image/png"
    );
    assert_eq!(cap["download_unknown"]["status"], 404);
    // A run link rmos writes names the content by its SHA-256, as the reference's links
    // do: its run-scoped blob browser lists it and serves the exported bytes.
    let run = "run_5eed0000000000000000000000000001";
    copy_tree(
        &fixtures().join("store_example/runs/rmos"),
        &data.join("runs/rmos"),
    );
    ok_out(&rmos_as(
        &data,
        "alice",
        &["advisory", "approve", &ids["image"]],
    ));
    ok_out(&rmos_as(
        &data,
        "alice",
        &["advisory", "attach", &ids["image"], "--run", run],
    ));
    let sha = cap["content_hash"]["image"].as_str().unwrap();
    let link = data
        .join("runs/rmos/2025-12-22")
        .join(format!("{run}_advisory_{sha}.json"));
    let link: Value = serde_json::from_slice(&std::fs::read(link).unwrap()).unwrap();
    assert_eq!(link["advisory_id"].as_str(), Some(sha));
    let scoped = &cap["run_scoped"];
    assert_eq!(scoped["list"]["ok"][0]["advisory_id"], sha);
    assert_eq!(scoped["download_by_content_hash"]["status"], 200);
    assert_eq!(scoped["download_by_content_hash"]["sha256"], sha);
    assert_eq!(scoped["download_by_asset_id"]["status"], 404);
    // rmos resolves the link's key too: `advisory show` by the content hash.
    let out = rmos_as(&data, "alice", &["advisory", "show", sha, "--json"]);
    let shown: Value = serde_json::from_slice(&ok_out(&out).stdout).unwrap();
    assert_eq!(
        shown["asset"]["asset_id"]
            .as_str()
            .or(shown["asset_id"].as_str()),
        Some(ids["image"].as_str())
    );
}

#[test]
fn exporting_blobs_again_writes_nothing_and_the_store_can_be_chosen() {
    let cap = read_behaviour("blob_store.json");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = blob_assets(&data, &cap);
    ok_out(&rmos_as(&data, "alice", &["advisory", "export", "--all"]));
    let store = data.join("run_attachments");
    let before: Vec<_> = files_under(&store)
        .iter()
        .map(|f| (f.clone(), file_identity(&store.join(f))))
        .collect();
    let again = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &["--json", "advisory", "export", "--all"],
    )));
    assert_eq!(again["blobs_written"], serde_json::json!([]));
    assert_eq!(again["blobs_present"], 3);
    assert_eq!(again["problems"], serde_json::json!([]));
    let after: Vec<_> = files_under(&store)
        .iter()
        .map(|f| (f.clone(), file_identity(&store.join(f))))
        .collect();
    assert_eq!(before, after, "no blob rewritten");
    // The reference's own writer leaves a blob that is there alone, too.
    assert_eq!(cap["reference_put_into_rmos_store_rewrote"], false);
    // --blobs DIR chooses the store; --no-blobs leaves it alone.
    let other = dir.path().join("elsewhere");
    let one = stdout_json(ok_out(&rmos_as(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "export",
            "--asset",
            &ids["suggestion"],
            "--blobs",
            other.to_str().unwrap(),
        ],
    )));
    assert_eq!(one["blobs_written"].as_array().unwrap().len(), 1);
    assert_eq!(
        files_under(&other),
        vec![cap["reference_put_into_empty_store"]["suggestion"]["path"]
            .as_str()
            .unwrap()
            .to_owned()]
    );
    let data2 = dir.path().join("data2");
    blob_assets(&data2, &cap);
    let none = stdout_json(ok_out(&rmos_as(
        &data2,
        "alice",
        &["--json", "advisory", "export", "--all", "--no-blobs"],
    )));
    assert_eq!(none["blob_store"], Value::Null);
    assert!(!data2.join("run_attachments").exists());
    assert_eq!(
        rmos_as(
            &data2,
            "alice",
            &["advisory", "export", "--all", "--no-blobs", "--blobs", "x"]
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn a_blob_whose_bytes_do_not_hash_to_its_name_is_reported_and_left_alone() {
    let cap = read_behaviour("blob_store.json");
    let bad = &cap["corrupted"];
    // The reference serves such a blob as it is and only its verify call notices.
    assert_eq!(bad["download"]["status"], 200);
    assert_eq!(bad["download"]["body_sha256"], bad["written_bytes_sha256"]);
    assert_eq!(bad["verify_attachment"]["error"], "hash_mismatch");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let ids = blob_assets(&data, &cap);
    ok_out(&rmos_as(&data, "alice", &["advisory", "export", "--all"]));
    let k = bad["asset"].as_str().unwrap();
    let rel = cap["reference_put_into_empty_store"][k]["path"]
        .as_str()
        .unwrap();
    let path = data.join("run_attachments").join(rel);
    let edited = bad["written_bytes"].as_str().unwrap().as_bytes();
    assert_eq!(
        rmos::hashing::sha256_bytes(edited),
        bad["written_bytes_sha256"].as_str().unwrap()
    );
    std::fs::write(&path, edited).unwrap();
    let o = rmos_as(&data, "alice", &["--json", "advisory", "export", "--all"]);
    assert_eq!(o.status.code(), Some(1), "a problem fails the export");
    let report = stdout_json(&o);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    let p = problems[0].as_str().unwrap();
    assert!(p.starts_with(&ids[k]), "{p}");
    assert!(p.contains(&path.display().to_string()), "{p}");
    assert!(
        p.contains(bad["written_bytes_sha256"].as_str().unwrap()),
        "{p}"
    );
    assert!(p.contains("move it away"), "{p}");
    assert_eq!(report["blobs_present"], 2);
    assert_eq!(std::fs::read(&path).unwrap(), edited, "never rewritten");
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("not exported"), "{text}");
}

/// A folder of the reference's asset store replaced by a symbolic link: export writes
/// nothing through it (the file would land outside the store), and says so.
#[test]
fn export_writes_nothing_through_a_linked_folder_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let text = dir.path().join("e.txt");
    std::fs::write(&text, "explained").unwrap();
    ok_out(&rmos_as(
        &data,
        "alice",
        &[
            "advisory",
            "add",
            "--type",
            "EXPLANATION",
            "--file",
            text.to_str().unwrap(),
        ],
    ));
    let store = dir.path().join("ref_assets");
    std::fs::create_dir_all(&store).unwrap();
    let year = chrono::Utc::now().format("%Y").to_string();
    std::os::unix::fs::symlink(&outside, store.join(&year)).unwrap();
    let out = rmos_as(
        &data,
        "alice",
        &[
            "--json",
            "advisory",
            "export",
            "--all",
            "--to",
            store.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        0,
        "nothing was written outside the store"
    );
}

/// Import takes a content file only when it is the asset's without doubt: a record with
/// two content files is reported and not imported; a record that claims no content_hash
/// (nothing ties its review to the bytes) comes in pending, its review not taken.
#[test]
fn import_refuses_content_it_cannot_vouch_for() {
    let captured = read_behaviour("advisory_assets.json");
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("advisory_assets");
    for (rel, text) in captured["files"].as_object().unwrap() {
        let p = tree.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text.as_str().unwrap()).unwrap();
    }
    let day = tree.join("2026/11/02");
    let first = day.join("adv_000000000a01.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&first).unwrap()).unwrap();
    doc.as_object_mut().unwrap().remove("content_hash");
    std::fs::write(&first, serde_json::to_vec(&doc).unwrap()).unwrap();
    std::fs::write(day.join("adv_000000000a02_content.txt"), b"another").unwrap();
    let out = rmos_as(
        &dir.path().join("data"),
        "alice",
        &["--json", "advisory", "import", tree.to_str().unwrap()],
    );
    let report = stdout_json(&out);
    assert_eq!(report["imported"], 3, "{report}");
    let problems = report["problems"].to_string();
    assert!(problems.contains("several content files"), "{problems}");
    // The record without a content_hash comes in, its review does not.
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("adv_000000000a01") && notes.contains("claims no content_hash"),
        "{notes}"
    );
    let shown = stdout_json(&rmos_as(
        &dir.path().join("data"),
        "alice",
        &["--json", "advisory", "show", "adv_000000000a01"],
    ));
    assert_eq!(shown["status"], "pending", "{shown}");
}
