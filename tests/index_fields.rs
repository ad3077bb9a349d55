//! The index's fast read of an artifact (`store::scan`) against the full load: for every
//! file — the reference's examples, artifacts with every field damaged in every way, byte
//! level damage, nesting at serde_json's limit — the same columns, the same verification
//! outcome, and for a refused file the same reason.

mod common;

use common::fixtures;
use proptest::prelude::*;
use rmos::hashing::sha256_json;
use rmos::store::runs::{parse_artifact, ArtifactError};
use rmos::store::scan::{fast_index_fields, index_fields, IndexFields};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What the index stored before the fast read existed.
fn full_load(bytes: &[u8], path: &Path) -> Result<IndexFields, ArtifactError> {
    parse_artifact(bytes, path).map(|a| IndexFields::from_artifact(&a))
}

/// Same outcome both ways; true when the file is valid.
fn same(bytes: &[u8], path: &Path) -> Result<bool, String> {
    let want = full_load(bytes, path);
    let got = index_fields(bytes, path);
    // A missing created_at_utc defaults to "now", which differs between two loads.
    let mask = |r: Result<IndexFields, ArtifactError>| {
        r.map(|mut f| {
            if !has_created_at(bytes) {
                f.created_us = 0;
                f.created_at.clear();
            }
            f
        })
    };
    // Every valid file takes the fast read (the full load is only for refusals).
    let fast = fast_index_fields(bytes, path).is_some();
    if want.is_ok() != fast {
        return Err(format!(
            "fast read taken: {fast}, full load {want:?}: {}",
            String::from_utf8_lossy(bytes)
        ));
    }
    let (want, got) = (mask(want), mask(got));
    if want != got {
        return Err(format!(
            "{}\nfull load {want:?}\nfast read {got:?}",
            String::from_utf8_lossy(bytes)
        ));
    }
    Ok(want.is_ok())
}

fn has_created_at(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get("created_at_utc").cloned())
        .is_some()
}

fn base() -> Value {
    let text = std::fs::read(fixtures().join("examples/cam_run_with_attachments_and_lineage.json"))
        .unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn path_of(v: &Value) -> PathBuf {
    let id = v["run_id"]
        .as_str()
        .unwrap_or("run_x")
        .replace(['/', '\\'], "_");
    PathBuf::from(format!("/nonexistent/2025-12-23/{id}.json"))
}

/// The artifact with a feasibility block and the hash that covers it.
fn with_feasibility(mut v: Value, feasibility: Value) -> Value {
    v["hashes"]["feasibility_sha256"] = json!(sha256_json(&feasibility));
    v["feasibility"] = feasibility;
    v
}

#[test]
fn every_fixture_artifact_reads_the_same() {
    let mut files = Vec::new();
    let mut stack = vec![fixtures()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                files.push(p);
            }
        }
    }
    let mut valid = 0;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        same(&bytes, f).unwrap();
        // Also under the name its run_id gives it (the examples are named for people).
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
            if v.get("run_id").and_then(Value::as_str).is_some()
                && same(&bytes, &path_of(&v)).unwrap()
            {
                valid += 1;
            }
        }
    }
    assert!(
        valid >= 10,
        "{valid} valid artifacts among {} files",
        files.len()
    );
}

#[test]
fn damaged_fields_read_the_same() {
    let b = base();
    let keys: Vec<String> = b.as_object().unwrap().keys().cloned().collect();
    let replacements = [
        json!(null),
        json!(5),
        json!(-1.5),
        json!("x"),
        json!(""),
        json!([]),
        json!(["a", 1]),
        json!({}),
        json!({"a": 1}),
        json!(true),
    ];
    let mut valid = 0;
    let mut checked = 0;
    let mut check = |v: &Value| {
        let bytes = serde_json::to_vec_pretty(v).unwrap();
        if same(&bytes, &path_of(v)).unwrap() {
            valid += 1;
        }
        checked += 1;
    };
    check(&b);
    for k in &keys {
        let mut v = b.clone();
        v.as_object_mut().unwrap().shift_remove(k);
        check(&v);
        for r in &replacements {
            let mut v = b.clone();
            v[k] = r.clone();
            check(&v);
        }
    }
    for (block, fields) in [
        (
            "decision",
            &["risk_level", "score", "block_reason", "warnings", "details"][..],
        ),
        (
            "hashes",
            &["feasibility_sha256", "toolpaths_sha256", "gcode_sha256"][..],
        ),
        ("outputs", &["gcode_text", "opplan_json", "gcode_path"][..]),
    ] {
        for f in fields {
            let mut v = b.clone();
            v[block].as_object_mut().unwrap().shift_remove(*f);
            check(&v);
            for r in &replacements {
                let mut v = b.clone();
                v[block][*f] = r.clone();
                check(&v);
            }
        }
    }
    // Values the validators refuse or rewrite.
    for (ptr, val) in [
        ("/decision/score", json!(100.5)),
        ("/decision/score", json!(100)),
        ("/decision/score", json!(-0.0)),
        ("/decision/risk_level", json!("  ")),
        ("/decision/risk_level", json!("banana")),
        ("/hashes/feasibility_sha256", json!("0".repeat(64))),
        ("/hashes/feasibility_sha256", json!("é".repeat(64))),
        ("/hashes/feasibility_sha256", json!("a".repeat(63))),
        ("/status", json!("ok")),
        ("/created_at_utc", json!("yesterday")),
        ("/event_type", json!("x")),
        ("/explanation_status", json!("DONE")),
        (
            "/advisory_inputs",
            json!([{"advisory_id": "a", "kind": "bogus"}]),
        ),
        ("/advisory_inputs", json!([{"advisory_id": "a"}])),
        ("/attachments", json!([{"sha256": "x"}])),
        ("/meta", json!({"source": 0, "workflow": [1]})),
        ("/meta", json!({"source": "", "workflow": {"a": 1}})),
        ("/meta", json!({"source": 1.50})),
        ("/run_id", json!("run/with\\slashes")),
        ("/run_id", json!("another_name")),
        ("/drift_detected", json!("yes")),
        ("/errors", json!(["a", 1])),
        ("/manufacturing_candidates", json!({"a": 1})),
        (
            "/manufacturing_candidates",
            json!([{"a": [1, {"b": null}]}]),
        ),
        (
            "/outputs/opplan_json",
            json!({"ops": [1.0, 2e-7, 18446744073709551616u128]}),
        ),
        ("/request_summary", json!({"b": 1, "a": {"d": 1, "c": 2}})),
        // Lineage: the parent and the plan are indexed; hostile values either way.
        (
            "/parent_run_id",
            json!("run_5eed0000000000000000000000000001"),
        ),
        ("/parent_run_id", json!("p".repeat(300_000))),
        (
            "/parent_run_id",
            json!("\u{0}\u{1b}[31mred\u{7}\r\n\u{202e}é"),
        ),
        ("/parent_run_id", json!(12)),
        ("/parent_run_id", json!(["run_a"])),
        ("/parent_run_id", json!({"run_id": "run_a"})),
        (
            "/lineage",
            json!({"parent_plan_run_id": "\u{1b}]52;c;x\u{7}"}),
        ),
        (
            "/lineage",
            json!({"parent_plan_run_id": "q".repeat(300_000)}),
        ),
        ("/lineage", json!({"parent_plan_run_id": 7})),
        (
            "/lineage",
            json!({"parent_plan_run_id": null, "extra": [1, {"a": 2}]}),
        ),
        ("/lineage", json!({"other": "run_b"})),
        ("/lineage", json!({})),
    ] {
        let mut v = b.clone();
        *v.pointer_mut(ptr).unwrap() = val;
        check(&v);
    }
    // Feasibility blocks: verified, mismatched, placeholder, every number shape.
    let feasibility = json!({
        "z": [1, 1.0, -0.0, 1e-7, 1e16, 123456789012345678901234567890u128, 0.30000000000000004],
        "a": {"é": "Palé — ébène", "\u{1}": "\u{7f}\u{2028}", "b": [[[]]], "a": {}},
        "score": 95.0,
    });
    let v = with_feasibility(b.clone(), feasibility.clone());
    check(&v);
    let mut mismatched = v.clone();
    mismatched["feasibility"]["score"] = json!(95);
    check(&mismatched);
    let mut placeholder = v.clone();
    placeholder["hashes"]["feasibility_sha256"] = json!("0".repeat(64));
    check(&placeholder);
    assert!(valid >= 60, "{valid} of {checked} variants valid");
    assert!(checked - valid >= 100, "{} refused", checked - valid);
}

/// Text-level cases a `Value` cannot express: duplicate fields and keys, escapes, lone
/// surrogates, overflowing floats, nesting at the limit.
#[test]
fn raw_text_cases_read_the_same() {
    let b = base();
    let text = serde_json::to_string_pretty(&b).unwrap();
    let path = path_of(&b);
    let feas_at = text.find("\"feasibility\": {").unwrap() + "\"feasibility\": {".len();
    let insert_feas = |s: &str| format!("{}{s}{}", &text[..feas_at], &text[feas_at..]);
    let mut cases = vec![
        // Duplicate top-level field (refused), duplicate key inside a block (last wins).
        text.replacen(
            "\"mode\": \"cam\",",
            "\"mode\": \"cam\", \"mode\": \"saw\",",
            1,
        ),
        insert_feas("\"risk_level\": \"RED\","),
        insert_feas("\"x\": \"\\ud800\","),
        insert_feas("\"x\": \"\\ud83d\\ude00\\u00e9\\n\","),
        insert_feas("\"x\": 1e400, \"y\": -1e400, \"w\": 1e-400,"),
        insert_feas("\"x\": NaN,"),
        insert_feas("\"x\": 01,"),
        text.replacen("\"keys\": [", "\"keys\": [\"\\udc00\",", 1),
        text.replacen("\"meta\": {", "\"meta\": {\"source\": \"\\u0041pi\",", 1),
        text.replacen("\"run_id\": \"run_", "\"run_id\": \"\\u0072un_", 1),
        // Escapes and damage in the lineage fields the index keeps.
        text.replacen(
            "\"parent_run_id\": null",
            "\"parent_run_id\": \"\\u0000\\u001b[2J\\ud83d\\ude00\"",
            1,
        ),
        text.replacen(
            "\"parent_run_id\": null",
            "\"parent_run_id\": \"\\ud800\"",
            1,
        ),
        text.replacen(
            "\"parent_run_id\": null",
            "\"parent_run_id\": \"a\", \"parent_run_id\": \"b\"",
            1,
        ),
        text.replacen(
            "\"parent_plan_run_id\": \"",
            "\"parent_plan_run_id\": \"x\", \"parent_plan_run_id\": \"",
            1,
        ),
        text.replacen(
            "\"parent_plan_run_id\": \"",
            "\"parent_plan_run_id\": \"\\u001b\\u0007",
            1,
        ),
        text.replacen(
            "\"gcode_text\": null",
            "\"gcode_text\": \"G0\\nG1 \\ud800\"",
            1,
        ),
        text.replacen(
            "\"gcode_text\": null",
            "\"gcode_text\": \"G0\\nG1 X1\\n\"",
            1,
        ),
        format!("{text}\n\n"),
        format!("{text}x"),
        format!("\u{feff}{text}"),
        String::new(),
        "   ".into(),
        text[..text.len() / 2].into(),
    ];
    // Nesting at serde_json's limit inside each JSON block.
    for depth in [120, 124, 125, 126, 127, 128] {
        let nest = |d: usize| format!("{}{}", "[".repeat(d), "]".repeat(d));
        cases.push(insert_feas(&format!("\"deep\": {},", nest(depth))));
        cases.push(text.replacen(
            "\"details\": {}",
            &format!("\"details\": {{\"deep\": {}}}", nest(depth)),
            1,
        ));
        cases.push(text.replacen(
            "\"opplan_json\": null",
            &format!("\"opplan_json\": {{\"deep\": {}}}", nest(depth)),
            1,
        ));
        cases.push(text.replacen(
            "\"manufacturing_candidates\": null",
            &format!("\"manufacturing_candidates\": {}", nest(depth)),
            1,
        ));
        cases.push(text.replacen(
            "\"meta\": {",
            &format!("\"meta\": {{\"deep\": {},", nest(depth)),
            1,
        ));
        cases.push(text.replacen(
            "\"request_summary\": {",
            &format!("\"request_summary\": {{\"deep\": {},", nest(depth)),
            1,
        ));
    }
    let mut valid = 0;
    for c in &cases {
        if same(c.as_bytes(), &path).unwrap() {
            valid += 1;
        }
    }
    assert!(
        valid >= 20 && valid < cases.len(),
        "{valid} of {} valid",
        cases.len()
    );
    // A file name that is not the run_id's, and one that is not UTF-8.
    same(text.as_bytes(), Path::new("/x/2025-12-23/other.json")).unwrap();
    use std::os::unix::ffi::OsStrExt;
    let odd = Path::new(std::ffi::OsStr::from_bytes(b"/x/2025-12-23/run_\xff.json"));
    same(text.as_bytes(), odd).unwrap();
}

/// A large document: the memory-budget scan still applies above the size where it
/// cannot fail.
#[test]
fn large_files_keep_the_memory_budget() {
    let b = base();
    let mut v = b.clone();
    v["outputs"]["gcode_text"] = json!("G1 X1 Y1\n".repeat(40_000));
    let bytes = serde_json::to_vec_pretty(&v).unwrap();
    assert!(same(&bytes, &path_of(&v)).unwrap());
    // Dense valid JSON stays below the 200 estimated bytes per byte the fast read relies
    // on to skip the scan for files under ~205 KB.
    for unit in [
        "{},",
        "[],",
        "{\"\":{}},",
        "[{}],",
        "0,",
        "\"\",",
        "[[{}]],",
        "{\"\":0},",
    ] {
        let doc = format!("[{}0]", unit.repeat(10_000));
        let cost = rmos::fsio::read::json_parse_cost(doc.as_bytes());
        assert!(
            cost <= 200 * doc.len() as u64,
            "{unit}: {cost} for {}",
            doc.len()
        );
        assert!(serde_json::from_str::<Value>(&doc).is_ok());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    /// Byte-level damage anywhere in an artifact: the same outcome and reason.
    #[test]
    fn damaged_bytes_read_the_same(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(b"{}[]\",:\\ 0-.eu\x00\xff".to_vec())), 1..3),
        compact in any::<bool>(),
    ) {
        let b = base();
        let mut bytes = if compact { serde_json::to_vec(&b).unwrap() } else { serde_json::to_vec_pretty(&b).unwrap() };
        for (at, op, byte) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, byte),
                _ => bytes[i] = byte,
            }
        }
        if let Err(e) = same(&bytes, &path_of(&b)) {
            return Err(TestCaseError::fail(e));
        }
    }
}
