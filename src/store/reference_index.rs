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
