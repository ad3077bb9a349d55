//! Properties that must hold for any input, shared by the fuzz targets (`fuzz/`) and the
//! tests that replay their regression inputs (`tests/fuzz_regressions.rs`). Each function
//! panics when a property is violated and returns normally otherwise.

use crate::domain::RunArtifact;
use crate::filter::Filter;
use crate::hashing::canonical_json;
use serde_json::Value;
use std::path::Path;

/// Artifact bytes: parsing never panics; a parsed artifact writes back to bytes that parse
/// to the same artifact, and verification never panics.
pub fn artifact_round_trip(bytes: &[u8]) {
    let Ok(a) = RunArtifact::from_json_slice(bytes) else {
        return;
    };
    let _ = crate::store::verify::verify_artifact(&a);
    let written = a.to_file_bytes();
    let back = RunArtifact::from_json_slice(&written).expect("what rmos writes parses");
    // Floats are rewritten in pydantic's style; compare through the canonical form.
    let c = |x: &RunArtifact| canonical_json(&serde_json::to_value(x).expect("serializes"));
    assert_eq!(c(&back), c(&a), "artifact changed through a write");
    assert_eq!(back.to_file_bytes(), written, "writing is stable");
}

/// JSON: the canonical form parses back to a value with the same canonical form.
pub fn canonical_idempotent(bytes: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return;
    };
    let once = canonical_json(&v);
    // One exception is inherent in the reference's form: a number literal too large for a
    // double becomes `Infinity` (as Python's `json.dumps` writes it), which is not JSON.
    match serde_json::from_str::<Value>(&once) {
        Ok(back) => assert_eq!(canonical_json(&back), once),
        Err(_) => assert!(
            once.contains("Infinity"),
            "canonical JSON does not parse: {once}"
        ),
    }
}

/// Filter text: parsing never panics; errors point inside the input; a parsed filter
/// prints to text that parses to the same filter; compiling and matching never panic.
pub fn filter_round_trip(text: &str) {
    match Filter::parse(text) {
        Err(e) => assert!(
            e.pos <= text.chars().count(),
            "error position outside the input"
        ),
        Ok(f) => {
            let printed = f.to_string();
            let again = Filter::parse(&printed)
                .unwrap_or_else(|e| panic!("printed filter {printed:?} does not parse: {e}"));
            assert_eq!(again, f, "print/parse changed the filter");
            let now = chrono::DateTime::from_timestamp(1_766_534_400, 0).expect("valid time");
            let _ = f.to_sql(now);
            let _ = f.matches(
                &crate::filter::MatchRow {
                    run_id: "run_x",
                    ..Default::default()
                },
                now,
            );
        }
    }
}

/// Ids and names: whatever a validator accepts names a file directly inside its folder.
pub fn ids_stay_inside(text: &str) {
    let base = Path::new("/data/runs/rmos/2025-12-23");
    let inside = |name: &str| {
        assert!(
            !name.is_empty() && !name.contains(['/', '\\', '\0']),
            "{name:?}"
        );
        assert!(
            name != "." && name != ".." && !name.starts_with('.'),
            "{name:?}"
        );
        let p = base.join(name);
        assert_eq!(p.parent(), Some(base), "{name:?} escapes its folder");
    };
    if crate::store::runs::validate_lookup_id(text).is_ok() {
        inside(&format!("{}.json", crate::store::runs::safe_id(text)));
        inside(&crate::store::runs::safe_id(text));
    }
    if crate::store::runs::validate_new_run_id(text).is_ok() {
        inside(text);
    }
    if let Ok(id) = crate::store::snapshots::validate_snapshot_id(text) {
        inside(&id);
    }
    if let Ok(name) = crate::store::snapshots::validate_backup_name(text) {
        inside(&name);
    }
}
