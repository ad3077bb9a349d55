//! The reference's run index, `<runs>/_index.json`, rewritten from the artifact files.
//!
//! The reference (luthiers-toolbox, `services/api/app/rmos/runs_v2/store.py`) reads this file
//! for its lists and counts and rebuilds it only when it is empty, so runs another writer
//! adds stay out of those lists. `export` writes the entry its `rebuild_index` writes for
//! every artifact (`_extract_index_meta`), keeps whatever else an existing entry of a run
//! that still exists holds (the reference's soft-delete tombstones and advisory rollups,
//! which its own rebuild would drop), formats the file as its `_write_json_file` does
//! (`json.dumps(indent=2, ensure_ascii=False)`) and replaces it atomically.

use crate::domain::RunArtifact;
use crate::fsio::durable::{self, FileLock};
use crate::hashing::python_json_dumps_indent2_utf8;
use crate::store::runs::{read_artifact_file, RunStore, StoreError, PRIVATE_DIR};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// The file name of the reference's index in the runs folder.
pub const REFERENCE_INDEX: &str = "_index.json";

/// What `export` did.
#[derive(Debug, Default, Serialize)]
pub struct ReferenceIndexExport {
    /// Entries written (one per readable artifact).
    pub entries: u64,
    /// Entries that kept keys of the previous file (tombstones, rollups).
    pub merged: u64,
    /// Entries of the previous file dropped because their run has no readable file.
    pub dropped: u64,
    /// Artifact files not indexed, with the reason.
    pub skipped: Vec<String>,
}

/// The entry the reference's `_extract_index_meta` makes for an artifact.
pub fn reference_entry(a: &RunArtifact) -> Map<String, Value> {
    let lineage = match &a.lineage {
        Some(l) => json!({"parent_plan_run_id": l.parent_plan_run_id}),
        None => match a.meta.get("parent_plan_run_id") {
            Some(v) if crate::hashing::py_truthy(v) => json!({"parent_plan_run_id": v}),
            _ => Value::Null,
        },
    };
    let created = a.created_at_utc.to_isoformat();
    let mut m = Map::new();
    m.insert("run_id".into(), json!(a.run_id));
    m.insert("created_at_utc".into(), json!(created));
    m.insert("event_type".into(), json!(a.event_type));
    m.insert(
        "status".into(),
        serde_json::to_value(a.status).expect("status serializes"),
    );
    m.insert("workflow_session_id".into(), json!(a.workflow_session_id));
    m.insert("tool_id".into(), json!(a.tool_id));
    m.insert("mode".into(), json!(a.mode));
    m.insert("partition".into(), json!(a.created_at_utc.partition()));
    m.insert("meta".into(), Value::Object(a.meta.clone()));
    m.insert("lineage".into(), lineage);
    m
}

/// Rewrite `_index.json` in the runs folder from the artifact files, under the lock rmos
/// processes share for it (`_rmos/reference_index.lock`).
pub fn export(store: &RunStore) -> Result<ReferenceIndexExport, StoreError> {
    let root = store.root();
    let path = root.join(REFERENCE_INDEX);
    let private = root.join(PRIVATE_DIR);
    durable::refuse_links_below(root, &private.join("staging"))
        .map_err(StoreError::io("write in", &private))?;
    let lock_path = private.join("reference_index.lock");
    let _lock = FileLock::acquire(&lock_path).map_err(StoreError::io("lock", &lock_path))?;
    let mut report = ReferenceIndexExport::default();
    let mut index = Map::new();
    for partition in store.partitions()? {
        for file in store.partition_files(&partition)? {
            match read_artifact_file(&file.path) {
                Ok(a) => {
                    index.insert(a.run_id.clone(), Value::Object(reference_entry(&a)));
                }
                Err(reason) => report
                    .skipped
                    .push(format!("{}: {reason}", file.path.display())),
            }
        }
    }
    // Merge what the previous file knew about runs that still exist.
    let previous: Map<String, Value> = match durable::read_bounded(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => Map::new(),
    };
    for (run_id, old) in previous {
        match (index.get_mut(&run_id), old) {
            (Some(Value::Object(new)), Value::Object(old)) => {
                let mut kept = false;
                for (k, v) in old {
                    if !new.contains_key(&k) {
                        new.insert(k, v);
                        kept = true;
                    }
                }
                report.merged += u64::from(kept);
            }
            (Some(_), _) => {}
            (None, _) => report.dropped += 1,
        }
    }
    report.entries = index.len() as u64;
    let text = python_json_dumps_indent2_utf8(&Value::Object(index));
    let staged = durable::stage(&private.join("staging"), "_index", text.as_bytes()).map_err(
        |e| match e {
            durable::CreateError::Io { op, path, source } => StoreError::Io { op, path, source },
            durable::CreateError::Exists => StoreError::Io {
                op: "stage",
                path: path.clone(),
                source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            },
        },
    )?;
    staged
        .replace(&path)
        .map_err(StoreError::io("replace", &path))?;
    Ok(report)
}

/// The entry the reference's `put()` writes (`RunStoreV2._update_index_from_artifact`):
/// the rebuild entry merged with `index_meta.extract_and_normalize_from_artifact` — the
/// run's `meta` keys flattened in, `kind`/`event_type` from the event type, `tool_kind` from
/// the mode, `tool_id`, `material_id` promoted when missing, and the id-like keys turned
/// into strings as Python's `str()` does.
pub fn reference_put_entry(a: &RunArtifact) -> Map<String, Value> {
    let mut entry = reference_entry(a);
    let mut norm = a.meta.clone();
    let missing =
        |m: &Map<String, Value>, k: &str| !m.get(k).is_some_and(crate::hashing::py_truthy);
    if !a.event_type.is_empty() {
        if missing(&norm, "kind") {
            norm.insert("kind".into(), json!(a.event_type));
        }
        if missing(&norm, "event_type") {
            norm.insert("event_type".into(), json!(a.event_type));
        }
    }
    for (key, value) in [
        ("tool_kind", Some(&a.mode)),
        ("tool_id", Some(&a.tool_id)),
        ("material_id", a.material_id.as_ref()),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            if missing(&norm, key) {
                norm.insert(key.into(), json!(v));
            }
        }
    }
    for key in [
        "kind",
        "event_type",
        "session_id",
        "batch_label",
        "tool_kind",
        "tool_id",
        "material_id",
        "parent_artifact_id",
        "parent_batch_spec_artifact_id",
        "parent_batch_plan_artifact_id",
        "parent_batch_decision_artifact_id",
        "parent_batch_toolpaths_artifact_id",
        "parent_batch_execution_artifact_id",
    ] {
        if let Some(v) = norm.get_mut(key) {
            if !v.is_null() && !v.is_string() {
                *v = Value::String(py_str(v));
            }
        }
    }
    for (k, v) in norm {
        entry.insert(k, v);
    }
    entry
}

/// Python's `str()` of a value `json.loads` produced.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of a value `json.loads` produced (printable text; other characters
/// escaped as Python does for the common cases).
fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(_) => crate::hashing::canonical_json(v),
        Value::String(s) => {
            let q = if s.contains('\'') && !s.contains('"') {
                '"'
            } else {
                '\''
            };
            let mut out = String::from(q);
            for c in s.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c == q => {
                        out.push('\\');
                        out.push(c);
                    }
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                        out.push_str(&format!("\\x{:02x}", c as u32))
                    }
                    c => out.push(c),
                }
            }
            out.push(q);
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// After rmos wrote `a` into the runs folder at `root`: when the folder holds the
/// reference's `_index.json` (a shared reference tree), add the run's entry as the
/// reference's `put()` would, merged into the file under the shared lock and replaced
/// atomically. A folder without that file is left alone (rmos-only data roots get none).
/// An unreadable index is left for the reference, which rebuilds an unreadable or empty
/// index from the files on its next list.
pub(crate) fn add_after_put(root: &std::path::Path, a: &RunArtifact) -> std::io::Result<()> {
    let path = root.join(REFERENCE_INDEX);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(());
    }
    let private = root.join(PRIVATE_DIR);
    durable::refuse_links_below(root, &private.join("staging"))?;
    let _lock = FileLock::acquire(&private.join("reference_index.lock"))?;
    let Ok(Value::Object(mut index)) =
        serde_json::from_slice::<Value>(&durable::read_bounded(&path)?)
    else {
        return Ok(());
    };
    let mut entry = reference_put_entry(a);
    if let Some(Value::Object(old)) = index.get(&a.run_id) {
        for (k, v) in old {
            entry.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    index.insert(a.run_id.clone(), Value::Object(entry));
    let text = python_json_dumps_indent2_utf8(&Value::Object(index));
    let staged = durable::stage(&private.join("staging"), "_index", text.as_bytes()).map_err(
        |e| match e {
            durable::CreateError::Io { source, .. } => source,
            durable::CreateError::Exists => std::io::ErrorKind::AlreadyExists.into(),
        },
    )?;
    staged.replace(&path)
}
