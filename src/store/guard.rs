//! The completeness guard (`validate_and_persist`, REFERENCE.md §3.6).
//!
//! A run missing its feasibility hash or its risk level is never silently dropped: a
//! BLOCKED substitute artifact with risk ERROR, the reference's exact reason strings and an
//! all-zero placeholder hash is persisted instead, so the audit trail has no hole.

use super::runs::{RunStore, StoreError};
use crate::domain::{Hashes, JsonMap, RunArtifact, RunDecision, RunOutputs, RunStatus, Timestamp};
use crate::hashing::py_truthy;
use serde_json::{json, Value};

/// One missing invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletenessViolation {
    pub field: &'static str,
    pub reason: &'static str,
}

impl std::fmt::Display for CompletenessViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

const HASH_FIELD: &str = "hashes.feasibility_sha256";
const HASH_REASON: &str = "Required for audit trail - hash of server-computed feasibility";
const RISK_FIELD: &str = "decision.risk_level";
const RISK_REASON: &str =
    "Required for safety classification - must be GREEN, YELLOW, RED, UNKNOWN, or ERROR";

/// The hash to record: the explicit one, else `feasibility["sha256"]` or `["hash"]`
/// (first truthy). The reference accepts the fallback but then fails to store it; rmos
/// stores it. A value that is not a 64-character string is treated as missing.
fn effective_hash(explicit: Option<&str>, feasibility: &JsonMap) -> Option<String> {
    let candidate = match explicit {
        Some(h) if !h.is_empty() => Some(Value::String(h.to_owned())),
        _ => ["sha256", "hash"]
            .iter()
            .find_map(|k| feasibility.get(*k).filter(|v| py_truthy(v)).cloned()),
    };
    match candidate {
        Some(Value::String(s)) if s.chars().count() == 64 => Some(s),
        _ => None,
    }
}

/// The reference's `check_completeness`.
pub fn check_completeness(
    feasibility_sha256: Option<&str>,
    risk_level: Option<&str>,
    feasibility: &JsonMap,
) -> Vec<CompletenessViolation> {
    let mut v = Vec::new();
    if effective_hash(feasibility_sha256, feasibility).is_none() {
        v.push(CompletenessViolation {
            field: HASH_FIELD,
            reason: HASH_REASON,
        });
    }
    if risk_level.is_none_or(|r| r.trim().is_empty()) {
        v.push(CompletenessViolation {
            field: RISK_FIELD,
            reason: RISK_REASON,
        });
    }
    v
}

/// Everything `validate_and_persist` takes. `created_at` defaults to now; setting it is the
/// explicit way to backdate a record (demo data, imports).
#[derive(Debug, Clone)]
pub struct PersistRequest {
    pub run_id: String,
    pub mode: String,
    pub tool_id: String,
    pub status: RunStatus,
    pub request_summary: JsonMap,
    pub feasibility: JsonMap,
    pub feasibility_sha256: Option<String>,
    pub risk_level: Option<String>,
    pub decision_score: Option<f64>,
    pub decision_warnings: Vec<String>,
    pub decision_details: JsonMap,
    pub outputs: Option<RunOutputs>,
    pub block_reason: Option<String>,
    pub toolpaths_sha256: Option<String>,
    pub gcode_sha256: Option<String>,
    pub meta: JsonMap,
    pub created_at: Option<Timestamp>,
}

impl PersistRequest {
    pub fn new(run_id: String, mode: &str, tool_id: &str, status: RunStatus) -> Self {
        PersistRequest {
            run_id,
            mode: mode.to_owned(),
            tool_id: tool_id.to_owned(),
            status,
            request_summary: JsonMap::new(),
            feasibility: JsonMap::new(),
            feasibility_sha256: None,
            risk_level: None,
            decision_score: None,
            decision_warnings: Vec::new(),
            decision_details: JsonMap::new(),
            outputs: None,
            block_reason: None,
            toolpaths_sha256: None,
            gcode_sha256: None,
            meta: JsonMap::new(),
            created_at: None,
        }
    }
}

/// Build the artifact `validate_and_persist` would store, without storing it.
pub fn build_guarded_artifact(req: PersistRequest) -> Result<RunArtifact, String> {
    let violations = check_completeness(
        req.feasibility_sha256.as_deref(),
        req.risk_level.as_deref(),
        &req.feasibility,
    );
    let mut artifact = if violations.is_empty() {
        let hash = effective_hash(req.feasibility_sha256.as_deref(), &req.feasibility)
            .expect("checked by check_completeness");
        let mut decision = RunDecision::new(req.risk_level.as_deref().unwrap_or_default())?;
        if let Some(s) = req.decision_score {
            if !(0.0..=100.0).contains(&s) {
                return Err(format!(
                    "score {s} is out of range: must be between 0 and 100"
                ));
            }
        }
        decision.score = req.decision_score;
        decision.block_reason = req.block_reason;
        decision.warnings = req.decision_warnings;
        decision.details = req.decision_details;
        let mut hashes = Hashes::with_feasibility(hash);
        hashes.toolpaths_sha256 = req.toolpaths_sha256;
        hashes.gcode_sha256 = req.gcode_sha256;
        let mut a = RunArtifact::new(
            req.run_id,
            req.mode,
            req.tool_id,
            req.status,
            decision,
            hashes,
        );
        a.request_summary = req.request_summary;
        a.feasibility = req.feasibility;
        a.outputs = req.outputs.unwrap_or_default();
        a.meta = req.meta;
        a
    } else {
        let details = violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("; ");
        let mut decision = RunDecision::new("ERROR").expect("ERROR is a valid risk level");
        decision.block_reason = Some(format!(
            "Completeness guard: missing required fields - {details}"
        ));
        decision.warnings = violations
            .iter()
            .map(|v| format!("Completeness violation: {v}"))
            .collect();
        let list: Vec<Value> = violations
            .iter()
            .map(|v| json!({"field": v.field, "reason": v.reason}))
            .collect();
        decision
            .details
            .insert("violations".into(), Value::Array(list));
        let mut a = RunArtifact::new(
            req.run_id,
            req.mode,
            req.tool_id,
            RunStatus::Blocked,
            decision,
            Hashes::with_feasibility(Hashes::PLACEHOLDER.to_owned()),
        );
        a.request_summary = req.request_summary;
        a.feasibility = req.feasibility;
        a.meta
            .insert("completeness_guard".into(), Value::Bool(true));
        a.meta
            .insert("violation_count".into(), json!(violations.len()));
        a
    };
    if let Some(t) = req.created_at {
        artifact.created_at_utc = t;
    }
    Ok(artifact)
}

/// Errors of [`validate_and_persist`].
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("run not recorded: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Check completeness and persist: the caller's artifact when complete, the BLOCKED
/// substitute otherwise. Always writes (a duplicate run_id is refused by the store).
pub fn validate_and_persist(
    store: &RunStore,
    req: PersistRequest,
) -> Result<RunArtifact, PersistError> {
    let artifact = build_guarded_artifact(req).map_err(PersistError::Invalid)?;
    store.put(&artifact)?;
    Ok(artifact)
}
