//! Run orchestration (REFERENCE.md §3.7): turn a feasibility result into a persisted run
//! artifact, with the reference's status derivation and Art Studio risk normalization.

use crate::domain::{JsonMap, RunArtifact, RunStatus, Timestamp};
use crate::hashing::{py_truthy, sha256_json};
use crate::store::guard::{validate_and_persist, PersistError, PersistRequest};
use crate::store::runs::{new_run_id, RunStore};
use serde_json::{json, Value};

/// Mode of runs created by the Art Studio services.
pub const ART_STUDIO_MODE: &str = "art_studio";

/// Options shared by the orchestration entry points.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub status: Option<RunStatus>,
    pub block_reason: Option<String>,
    pub meta: JsonMap,
    /// Explicit creation time (backdating goes through here, never by editing files).
    pub created_at: Option<Timestamp>,
    /// Explicit run id (default: a new `run_` + 32 hex id).
    pub run_id: Option<String>,
    /// Parent, plan, drift and workflow session of the run.
    pub links: crate::store::guard::RunLinks,
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `create_run_from_feasibility`: hash the feasibility, take its risk level, derive the
/// status (RED → BLOCKED, ERROR → ERROR, else OK) unless given, and persist through the
/// completeness guard.
pub fn create_run_from_feasibility(
    store: &RunStore,
    mode: &str,
    tool_id: &str,
    request_summary: JsonMap,
    feasibility: JsonMap,
    opts: RunOptions,
) -> Result<RunArtifact, PersistError> {
    let sha = sha256_json(&Value::Object(feasibility.clone()));
    let mut risk = match feasibility.get("risk_level") {
        None => Some("UNKNOWN".to_owned()),
        Some(v) if py_truthy(v) => Some(value_text(v)),
        Some(_) => match feasibility
            .get("decision")
            .and_then(|d| d.get("risk_level"))
        {
            None => Some("UNKNOWN".to_owned()),
            Some(Value::Null) => None,
            Some(v) => Some(value_text(v)),
        },
    };
    if risk.as_deref() == Some("") {
        risk = None;
    }
    let mut block_reason = opts.block_reason;
    let status = match opts.status {
        Some(s) => s,
        None => match risk.as_deref() {
            Some("RED") => {
                block_reason.get_or_insert_with(|| "Risk level RED - operation blocked".into());
                RunStatus::Blocked
            }
            Some("ERROR") => {
                block_reason.get_or_insert_with(|| "Feasibility evaluation error".into());
                RunStatus::Error
            }
            _ => RunStatus::Ok,
        },
    };
    let score = match feasibility.get("score") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.to_string().parse::<f64>().ok(),
        Some(other) => {
            return Err(PersistError::Invalid(format!(
                "feasibility score {other} is not a number"
            )))
        }
    };
    let warnings = match feasibility.get("warnings") {
        Some(Value::Array(items)) => items.iter().map(value_text).collect(),
        _ => Vec::new(),
    };
    let details = match feasibility.get("details") {
        Some(Value::Object(m)) => m.clone(),
        _ => JsonMap::new(),
    };
    let fresh_id = opts.run_id.is_none();
    let mut req = PersistRequest::new(
        opts.run_id.unwrap_or_else(new_run_id),
        mode,
        tool_id,
        status,
    );
    req.fresh_id = fresh_id;
    req.request_summary = request_summary;
    req.feasibility = feasibility;
    req.feasibility_sha256 = Some(sha);
    req.risk_level = risk;
    req.decision_score = score;
    req.decision_warnings = warnings;
    req.decision_details = details;
    req.block_reason = block_reason;
    req.meta = opts.meta;
    req.created_at = opts.created_at;
    req.links = opts.links;
    validate_and_persist(store, req)
}

/// The Art Studio `_normalize_risk_level`: `null` → UNKNOWN; a string is stripped,
/// upper-cased and cut after its last `.` (`"RiskBucket.RED"` → `RED`); anything else
/// → UNKNOWN.
pub fn normalize_risk_level(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "UNKNOWN".into(),
        Some(Value::String(s)) => {
            let up = s.trim().to_uppercase();
            up.rsplit('.').next().unwrap_or_default().to_owned()
        }
        Some(_) => "UNKNOWN".into(),
    }
}

/// `create_art_studio_feasibility_run`: complete the feasibility dict with `details`,
/// `warnings`, `score` (from `overall_score`) and a normalized `risk_level`, then
/// [`create_run_from_feasibility`] in mode `art_studio`. The hash covers the completed dict.
pub fn create_art_studio_feasibility_run(
    store: &RunStore,
    request_summary: JsonMap,
    feasibility: JsonMap,
    tool_id: &str,
    opts: RunOptions,
) -> Result<RunArtifact, PersistError> {
    let mut f = feasibility;
    if !f.contains_key("details") {
        f.insert("details".into(), json!({}));
    }
    if !f.contains_key("warnings") {
        f.insert("warnings".into(), json!([]));
    }
    if !f.contains_key("score") {
        let overall = f.get("overall_score").cloned().unwrap_or(Value::Null);
        f.insert("score".into(), overall);
    }
    let source = f
        .get("risk_level")
        .or_else(|| f.get("risk_bucket"))
        .cloned();
    let risk = normalize_risk_level(source.as_ref());
    f.insert("risk_level".into(), Value::String(risk));
    create_run_from_feasibility(store, ART_STUDIO_MODE, tool_id, request_summary, f, opts)
}

/// `create_art_studio_snapshot_run`: a run recording a snapshot export/import. Without
/// feasibility the run carries UNKNOWN risk and a note; status is OK unless given.
pub fn create_art_studio_snapshot_run(
    store: &RunStore,
    snapshot: &JsonMap,
    tool_id: &str,
    mut opts: RunOptions,
) -> Result<RunArtifact, PersistError> {
    let feasibility = match snapshot.get("feasibility") {
        Some(Value::Object(m)) if !m.is_empty() => m.clone(),
        _ => json!({
            "risk_level": "UNKNOWN",
            "score": null,
            "warnings": [],
            "details": {"note": "snapshot saved without feasibility"}
        })
        .as_object()
        .expect("literal object")
        .clone(),
    };
    let get = |k: &str| snapshot.get(k).cloned().unwrap_or(Value::Null);
    let mut summary = JsonMap::new();
    summary.insert("snapshot_id".into(), get("snapshot_id"));
    summary.insert("name".into(), get("name"));
    summary.insert("created_at_utc".into(), get("created_at_utc"));
    summary.insert("design_fingerprint".into(), get("design_fingerprint"));
    summary.insert(
        "has_feasibility".into(),
        Value::Bool(snapshot.get("feasibility").is_some_and(py_truthy)),
    );
    let mut meta = JsonMap::new();
    meta.insert("workflow".into(), json!("snapshot"));
    for (k, v) in std::mem::take(&mut opts.meta) {
        meta.insert(k, v);
    }
    opts.meta = meta;
    opts.status = Some(opts.status.unwrap_or(RunStatus::Ok));
    create_art_studio_feasibility_run(store, summary, feasibility, tool_id, opts)
}
