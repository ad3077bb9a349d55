//! Properties that must hold for any input, shared by the fuzz targets (`fuzz/`) and the
//! tests that replay their regression inputs (`tests/fuzz_regressions.rs`). Each function
//! panics when a property is violated and otherwise says what it checked, so a replay can
//! count that its inputs reached the property (not only the parser's refusal).

use crate::domain::RunArtifact;
use crate::filter::Filter;
use crate::hashing::canonical_json;
use serde_json::Value;
use std::path::Path;

/// What a property check did with its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Checked {
    /// The input was refused by the parser: only "no panic" was checked.
    Refused,
    /// The input parsed and the whole property held.
    Held,
    /// Canonical JSON only: the input holds a number beyond a double's range, written as
    /// the reference's `Infinity`; the property held with that literal restored.
    HeldWithInfinity,
}

/// Artifact bytes: parsing never panics; a parsed artifact writes back to bytes that parse
/// to the same artifact, and verification never panics.
pub fn artifact_round_trip(bytes: &[u8]) -> Checked {
    index_read_matches_full_load(bytes);
    let Ok(a) = RunArtifact::from_json_slice(bytes) else {
        return Checked::Refused;
    };
    let _ = crate::store::verify::verify_artifact(&a);
    let written = a.to_file_bytes();
    let back = RunArtifact::from_json_slice(&written).expect("what rmos writes parses");
    // Floats are rewritten in pydantic's style; compare through the canonical form.
    let c = |x: &RunArtifact| canonical_json(&serde_json::to_value(x).expect("serializes"));
    assert_eq!(c(&back), c(&a), "artifact changed through a write");
    assert_eq!(back.to_file_bytes(), written, "writing is stable");
    Checked::Held
}

/// The index's fast read of artifact bytes (`store::scan`) gives what the full load gives:
/// the same columns and verification, or the same refusal reason.
fn index_read_matches_full_load(bytes: &[u8]) {
    use crate::store::scan::{index_fields, IndexFields};
    let nowhere = Path::new(""); // no file name: no name check either way
    let full = crate::store::runs::parse_artifact(bytes, nowhere);
    let full = full.map(|a| IndexFields::from_artifact(&a));
    let fast = index_fields(bytes, nowhere);
    // A missing created_at_utc defaults to "now", which differs between two loads.
    let has_created = serde_json::from_slice::<Value>(bytes)
        .ok()
        .is_some_and(|v| v.get("created_at_utc").is_some());
    let mask = |r: Result<IndexFields, crate::store::runs::ArtifactError>| {
        r.map(|mut f| {
            if !has_created {
                f.created_us = 0;
                f.created_at.clear();
            }
            f
        })
    };
    assert_eq!(mask(fast), mask(full), "the index's fast read differs");
}

/// JSON: the canonical form parses back to a value with the same canonical form, and the
/// streaming canonicalizer (`hashing::stream`) gives that form straight from the bytes
/// (or refuses exactly what the parser refuses).
pub fn canonical_idempotent(bytes: &[u8]) -> Checked {
    let stream = crate::hashing::stream::canonical_json_bytes(bytes);
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        if let Ok(text) = stream {
            panic!("the streaming canonicalizer accepted what the parser refuses: {text}");
        }
        return Checked::Refused;
    };
    let once = canonical_json(&v);
    match &stream {
        Ok(text) => assert_eq!(text, &once, "streaming canonical text differs"),
        Err(e) => panic!("the streaming canonicalizer refused valid JSON: {e}"),
    }
    if let Ok(back) = serde_json::from_str::<Value>(&once) {
        assert_eq!(canonical_json(&back), once);
        return Checked::Held;
    }
    // One exception is inherent in the reference's form: a number literal too large for a
    // double becomes `Infinity` (as Python's `json.dumps` writes it), which is not JSON.
    // Only that is excused: with every bare `Infinity` token (outside strings) put back as
    // an overflowing literal, the text must parse to the same canonical form.
    let restored = restore_infinity(&once);
    let back = serde_json::from_str::<Value>(&restored).unwrap_or_else(|e| {
        panic!("canonical JSON does not parse ({e}), and not only for Infinity: {once}")
    });
    assert_eq!(canonical_json(&back), once);
    Checked::HeldWithInfinity
}

/// `text` with each `Infinity` outside string literals replaced by `1e999` (a literal too
/// large for a double, which canonicalizes back to `Infinity`).
fn restore_infinity(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if !in_string && rest.starts_with("Infinity") {
            out.push_str("1e999");
            rest = &rest["Infinity".len()..];
            continue;
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Filter text: parsing never panics; errors point inside the input; a parsed filter
/// prints to text that parses to the same filter; compiling and matching never panic.
pub fn filter_round_trip(text: &str) -> Checked {
    match Filter::parse(text) {
        Err(e) => {
            assert!(
                e.pos <= text.chars().count(),
                "error position outside the input"
            );
            Checked::Refused
        }
        Ok(f) => {
            let printed = f.to_string();
            let again = Filter::parse(&printed)
                .unwrap_or_else(|e| panic!("printed filter {printed:?} does not parse: {e}"));
            assert_eq!(again, f, "print/parse changed the filter");
            let now = chrono::DateTime::from_timestamp(1_766_534_400, 0).expect("valid time");
            let _ = crate::store::index::filter_sql(&f, now);
            let _ = f.matches(
                &crate::filter::MatchRow {
                    run_id: "run_x",
                    ..Default::default()
                },
                now,
            );
            Checked::Held
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
    if let Ok(name) = crate::store::backups::validate_backup_name(text) {
        inside(&name);
    }
}
