//! Exporting and importing rosette design snapshots: scoring the design (Art Studio
//! defaults), recording the snapshot run, then creating the file in the snapshot store —
//! the order the reference uses, with the file created only once the run is recorded.

use crate::domain::design::{Design, RosetteParamSpec};
use crate::scoring::feasibility::{art_studio_summary, score_design, ScoreContext};
use crate::scoring::runs::{create_art_studio_snapshot_run, RunOptions};
use crate::store::snapshots::{
    new_snapshot_id, validate_snapshot_id, FileStoreError, Snapshot, SnapshotMetadata,
    SnapshotStore, SnapshotWrite,
};
use crate::store::RunStore;
use serde_json::{json, Map, Value};

/// Create `snap` in `store` under its lock, recording its snapshot run first.
fn save_new(
    store: &SnapshotStore,
    runs: &RunStore,
    snap: Snapshot,
    operation: &str,
    warnings: Vec<String>,
) -> Result<SnapshotWrite, FileStoreError> {
    let snapshot = store.create_new(snap, |s| record_run(runs, s, operation))?;
    Ok(SnapshotWrite {
        run_id: snapshot.run_id.clone(),
        snapshot,
        warnings,
    })
}

fn record_run(runs: &RunStore, s: &Snapshot, operation: &str) -> Result<String, FileStoreError> {
    let mut view = Map::new();
    view.insert("snapshot_id".into(), json!(s.snapshot_id));
    view.insert("name".into(), json!(s.metadata.name));
    view.insert("design_fingerprint".into(), json!(s.design_fingerprint));
    view.insert(
        "feasibility".into(),
        s.feasibility
            .clone()
            .map(Value::Object)
            .unwrap_or(Value::Null),
    );
    let mut meta = Map::new();
    meta.insert("operation".into(), json!(operation));
    let opts = RunOptions {
        meta,
        ..Default::default()
    };
    create_art_studio_snapshot_run(runs, &view, "default-vbit", opts)
        .map(|a| a.run_id)
        .map_err(|e| FileStoreError::Run(e.to_string()))
}

/// Export a design as a new snapshot: fingerprint, optional feasibility (the Art Studio
/// defaults: default-ebony, default-vbit, design_first), a snapshot run, then the file.
pub fn export(
    store: &SnapshotStore,
    runs: &RunStore,
    spec: &RosetteParamSpec,
    id: Option<&str>,
    metadata: SnapshotMetadata,
    with_feasibility: bool,
) -> Result<SnapshotWrite, FileStoreError> {
    let id = match id {
        Some(i) => validate_snapshot_id(i).map_err(FileStoreError::InvalidId)?,
        None => new_snapshot_id(),
    };
    let feasibility = if with_feasibility {
        let r = score_design(
            &Design::Spec(spec.clone()),
            &ScoreContext::art_studio_defaults(),
            Some("design_first"),
        )
        .map_err(|e| FileStoreError::Run(e.to_string()))?;
        Some(art_studio_summary(&r))
    } else {
        None
    };
    let mut metadata = metadata;
    metadata.source.get_or_insert_with(|| "manual".into());
    let snap = Snapshot::new(id.clone(), spec, feasibility, metadata);
    save_new(store, runs, snap, "export", Vec::new())
}

/// Import a snapshot document: a new id when it has none, the fingerprint recomputed
/// (a mismatch is a warning), `metadata.source = "import"`, a snapshot run.
pub fn import(
    store: &SnapshotStore,
    runs: &RunStore,
    doc: &Value,
) -> Result<SnapshotWrite, FileStoreError> {
    let Value::Object(m) = doc else {
        return Err(FileStoreError::Invalid {
            what: "snapshot",
            id: "(import)".into(),
            reason: "expected a JSON object".into(),
        });
    };
    let invalid = |reason: String| FileStoreError::Invalid {
        what: "snapshot",
        id: "(import)".into(),
        reason,
    };
    let id = match m.get("snapshot_id") {
        None | Some(Value::Null) => new_snapshot_id(),
        Some(Value::String(s)) if s.trim().is_empty() => new_snapshot_id(),
        Some(Value::String(s)) => validate_snapshot_id(s).map_err(FileStoreError::InvalidId)?,
        Some(_) => return Err(invalid("snapshot_id must be a string".into())),
    };
    let Some(Value::Object(design)) = m.get("design") else {
        return Err(invalid("missing design".into()));
    };
    let spec = RosetteParamSpec::from_map(design).map_err(|e| invalid(e.to_string()))?;
    let computed = spec.fingerprint();
    let mut warnings = Vec::new();
    if let Some(Value::String(given)) = m.get("design_fingerprint") {
        if *given != computed {
            warnings.push(format!(
                "Design fingerprint mismatch: expected {given}, computed {computed}. Using computed fingerprint."
            ));
        }
    }
    let mut metadata: SnapshotMetadata = match m.get("metadata") {
        None | Some(Value::Null) => SnapshotMetadata::default(),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| invalid(format!("metadata: {e}")))?
        }
    };
    metadata.source = Some("import".into());
    let feasibility = match m.get("feasibility") {
        None | Some(Value::Null) => None,
        Some(Value::Object(f)) => Some(feasibility_summary(f).map_err(invalid)?),
        Some(_) => return Err(invalid("feasibility must be an object or null".into())),
    };
    let mut snap = Snapshot::new(id.clone(), &spec, feasibility, metadata);
    // The reference keeps the document's created_at_utc (a free string in its model) and
    // only fills in "now" when the document has none.
    match m.get("created_at_utc") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) => snap.created_at_utc = t.clone(),
        Some(_) => return Err(invalid("created_at_utc must be a string".into())),
    }
    snap.validate().map_err(invalid)?;
    save_new(store, runs, snap, "import", warnings)
}

/// A document's feasibility as the reference's `RosetteFeasibilitySummary` model stores it
/// (`art_studio/schemas/rosette_feasibility.py`): every field in declaration order,
/// `suggestion_id`/`run_id` null and `warnings` empty when absent, the float fields as
/// floats, unknown keys dropped; the required fields must be there.
fn feasibility_summary(f: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for key in ["suggestion_id", "run_id"] {
        match f.get(key) {
            None | Some(Value::Null) => out.insert(key.into(), Value::Null),
            Some(Value::String(s)) => out.insert(key.into(), Value::String(s.clone())),
            Some(_) => return Err(format!("feasibility.{key} must be a string or null")),
        };
    }
    let float = |key: &str| -> Result<Value, String> {
        match f.get(key) {
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|x| x.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("feasibility.{key} must be a finite number")),
            Some(_) => Err(format!("feasibility.{key} must be a number")),
            None => Err(format!("feasibility: missing field {key:?}")),
        }
    };
    out.insert("overall_score".into(), float("overall_score")?);
    match f.get("risk_bucket") {
        Some(Value::String(r)) if ["GREEN", "YELLOW", "RED"].contains(&r.as_str()) => {
            out.insert("risk_bucket".into(), Value::String(r.clone()));
        }
        Some(other) => {
            return Err(format!(
                "feasibility.risk_bucket must be GREEN, YELLOW or RED, got {other}"
            ))
        }
        None => return Err("feasibility: missing field \"risk_bucket\"".into()),
    }
    out.insert("material_efficiency".into(), float("material_efficiency")?);
    out.insert(
        "estimated_cut_time_min".into(),
        float("estimated_cut_time_min")?,
    );
    match f.get("warnings") {
        None => out.insert("warnings".into(), Value::Array(Vec::new())),
        Some(Value::Array(w)) if w.iter().all(Value::is_string) => {
            out.insert("warnings".into(), Value::Array(w.clone()))
        }
        Some(_) => return Err("feasibility.warnings must be a list of strings".into()),
    };
    Ok(out)
}
