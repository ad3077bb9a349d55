//! The run artifact model against real files written by the reference.

mod common;

use common::{artifact_files, fixtures, read_json};
use rmos::domain::{RunArtifact, RunStatus};
use rmos::store::runs::{is_artifact_file_name, is_partition_name, parse_artifact};
use rmos::store::verify::{verify_artifact, VerifyOutcome};
use serde_json::{json, Value};
use std::path::Path;

fn reference_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = artifact_files(&fixtures().join("store_example/runs/rmos"))
        .into_iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            is_artifact_file_name(name)
                && is_partition_name(p.parent().unwrap().file_name().unwrap().to_str().unwrap())
        })
        .collect();
    assert_eq!(files.len(), 8);
    files.extend(artifact_files(&fixtures().join("examples")));
    files
}

#[test]
fn every_reference_artifact_parses() {
    let files = reference_files();
    assert!(files.len() >= 11, "{files:?}");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let a = RunArtifact::from_json_slice(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(a.run_id.starts_with("run_"));
    }
}

/// Files rmos writes are byte-identical to what pydantic wrote for the same artifact:
/// declaration order, every key, 2-space indent, pydantic floats, no trailing newline.
#[test]
fn reference_files_round_trip_byte_for_byte() {
    for path in reference_files() {
        let bytes = std::fs::read(&path).unwrap();
        let a = RunArtifact::from_json_slice(&bytes).unwrap();
        let written = a.to_file_bytes();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(bytes).unwrap(),
            "{}",
            path.display()
        );
    }
}

#[test]
fn legacy_converted_runs_parse_and_round_trip() {
    let doc = read_json("repo_fixtures/legacy_v1_runs_converted_to_v2.json");
    let runs = doc["artifacts"].as_array().unwrap();
    assert_eq!(runs.len(), 39);
    for r in runs {
        let text = serde_json::to_string(r).unwrap();
        let a: RunArtifact =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", r["run_id"]));
        let back: Value = serde_json::from_slice(&a.to_file_bytes()).unwrap();
        assert_eq!(
            rmos::hashing::canonical_json(&back),
            rmos::hashing::canonical_json(r)
        );
    }
}

#[test]
fn store_example_verify_outcomes() {
    for path in reference_files() {
        let a = RunArtifact::from_json_slice(&std::fs::read(&path).unwrap()).unwrap();
        let (outcome, _) = verify_artifact(&a);
        let want = if a.hashes.feasibility_sha256.chars().all(|c| c == '0') {
            VerifyOutcome::Placeholder
        } else {
            VerifyOutcome::Ok
        };
        assert_eq!(outcome, want, "{}", path.display());
    }
}

fn base() -> Value {
    let text = std::fs::read_to_string(fixtures().join("examples/red_blocked_art_studio_run.json"))
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn parse(v: &Value) -> Result<RunArtifact, String> {
    RunArtifact::from_json_slice(serde_json::to_string(v).unwrap().as_bytes())
        .map_err(|e| e.to_string())
}

#[test]
fn validators_match_the_reference() {
    let mut v = base();
    v["status"] = json!("ok");
    assert!(
        parse(&v).unwrap_err().contains("unknown variant"),
        "status is case-sensitive"
    );

    for blank in ["", "   "] {
        let mut v = base();
        v["decision"]["risk_level"] = json!(blank);
        assert!(parse(&v).unwrap_err().contains("blank"));
    }
    let mut v = base();
    v["decision"]["risk_level"] = json!(" green ");
    assert_eq!(
        parse(&v).unwrap().decision.risk_level,
        " GREEN ",
        "upper-cased, not stripped"
    );
    v["decision"]["risk_level"] = json!("banana");
    assert_eq!(parse(&v).unwrap().decision.risk_level, "BANANA");

    for bad in [-0.1, 100.5] {
        let mut v = base();
        v["decision"]["score"] = json!(bad);
        assert!(parse(&v).unwrap_err().contains("out of range"));
    }
    let mut v = base();
    v["decision"]["score"] = json!(100);
    assert_eq!(parse(&v).unwrap().decision.score, Some(100.0));

    let mut v = base();
    v["hashes"]["feasibility_sha256"] = json!("abc");
    assert!(parse(&v).unwrap_err().contains("64 characters"));

    let mut v = base();
    v["created_at_utc"] = json!("2025-12-23T18:30:00+02:00");
    let a = parse(&v).unwrap();
    assert_eq!(a.created_at_utc.to_pydantic(), "2025-12-23T18:30:00+02:00");
    assert_eq!(a.created_at_utc.partition(), "2025-12-23");

    // Unknown keys are ignored and required keys are required.
    let mut v = base();
    v["payload"] = json!({"dropped": true});
    assert!(parse(&v).is_ok());
    v.as_object_mut().unwrap().remove("decision");
    assert!(parse(&v).unwrap_err().contains("missing field `decision`"));
}

#[test]
fn minimal_artifact_gets_reference_defaults() {
    let v = json!({
        "run_id": "run_min", "mode": "router", "tool_id": "t", "status": "OK",
        "decision": {"risk_level": "green"},
        "hashes": {"feasibility_sha256": "0".repeat(64)}
    });
    let a = parse(&v).unwrap();
    assert_eq!(a.status, RunStatus::Ok);
    assert_eq!(a.decision.risk_level, "GREEN");
    assert_eq!(a.event_type, "unknown");
    let written: Value = serde_json::from_slice(&a.to_file_bytes()).unwrap();
    let keys: Vec<&str> = written
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys.len(), 39, "every key is written");
    assert_eq!(
        &keys[..6],
        [
            "run_id",
            "created_at_utc",
            "request_id",
            "mode",
            "tool_id",
            "status"
        ]
    );
    assert_eq!(written["advisory_inputs"], json!([]));
    assert_eq!(written["outputs"]["gcode_text"], Value::Null);
}

#[test]
fn file_name_must_match_run_id() {
    let path = Path::new("/x/2025-12-23/run_other.json");
    let bytes = std::fs::read(fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    use rmos::store::runs::ArtifactError;
    match parse_artifact(&bytes, path).unwrap_err() {
        e @ ArtifactError::NameMismatch { .. } => {
            assert!(e.to_string().contains("does not match"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parse_artifact(b"", path).unwrap_err(), ArtifactError::Empty);
    let e = parse_artifact(b"{\"run_id\": ", path).unwrap_err();
    assert!(
        matches!(&e, ArtifactError::Json(m) if m.contains("truncated JSON")),
        "{e:?}"
    );
    let e = parse_artifact(b"[1,2]", path).unwrap_err();
    assert!(
        matches!(&e, ArtifactError::Json(m) if m.contains("schema violation")),
        "{e:?}"
    );
}
