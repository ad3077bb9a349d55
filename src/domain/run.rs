//! The run artifact: one immutable manufacturing decision, exactly as the reference's
//! pydantic `RunArtifact` (REFERENCE.md §1) reads and writes it.
//!
//! Field order is declaration order and every key is written, `null` included, so files
//! rmos writes load in the reference and look like the reference's own. Unknown keys are
//! ignored on read, as pydantic does. Validators mirror the reference: strict status,
//! non-blank upper-cased risk level, score within 0..=100, a 64-character feasibility hash.

use super::time::Timestamp;
use super::DomainError;
use serde::{de, Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A JSON object with insertion order kept.
pub type JsonMap = Map<String, Value>;

/// Outcome of a manufacturing decision (strict, case-sensitive as in the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RunStatus {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "BLOCKED")]
    Blocked,
    #[serde(rename = "ERROR")]
    Error,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "OK",
            RunStatus::Blocked => "BLOCKED",
            RunStatus::Error => "ERROR",
        }
    }

    /// Parse exactly `OK`, `BLOCKED` or `ERROR`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(RunStatus::Ok),
            "BLOCKED" => Some(RunStatus::Blocked),
            "ERROR" => Some(RunStatus::Error),
            _ => None,
        }
    }
}

/// Explanation lifecycle of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ExplanationStatus {
    #[default]
    #[serde(rename = "NONE")]
    None,
    #[serde(rename = "PENDING")]
    Pending,
    #[serde(rename = "READY")]
    Ready,
    #[serde(rename = "ERROR")]
    Error,
}

/// The decision block: risk, score, why it was blocked, warnings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDecision {
    #[serde(deserialize_with = "de_risk_level")]
    pub risk_level: String,
    #[serde(default, deserialize_with = "de_score")]
    pub score: Option<f64>,
    #[serde(default)]
    pub block_reason: Option<String>,
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub details: JsonMap,
}

impl RunDecision {
    /// A decision with the reference's validation applied (`risk_level` upper-cased).
    pub fn new(risk_level: &str) -> Result<Self, DomainError> {
        Ok(RunDecision {
            risk_level: normalize_risk_field(risk_level)?,
            score: None,
            block_reason: None,
            warnings: Vec::new(),
            details: JsonMap::new(),
        })
    }
}

/// Hashes recorded for audit. Only `feasibility_sha256` is required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hashes {
    #[serde(deserialize_with = "de_sha64")]
    pub feasibility_sha256: String,
    #[serde(default)]
    pub toolpaths_sha256: Option<String>,
    #[serde(default)]
    pub gcode_sha256: Option<String>,
    #[serde(default)]
    pub opplan_sha256: Option<String>,
    #[serde(default)]
    pub snapshot_sha256: Option<String>,
}

impl Hashes {
    /// The output hashes that are present, by short name (toolpaths, gcode, opplan,
    /// snapshot), in that order.
    pub fn outputs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("toolpaths", &self.toolpaths_sha256),
            ("gcode", &self.gcode_sha256),
            ("opplan", &self.opplan_sha256),
            ("snapshot", &self.snapshot_sha256),
        ]
        .into_iter()
        .filter_map(|(name, h)| h.as_deref().map(|h| (name, h)))
    }

    pub fn with_feasibility(sha: String) -> Self {
        Hashes {
            feasibility_sha256: sha,
            toolpaths_sha256: None,
            gcode_sha256: None,
            opplan_sha256: None,
            snapshot_sha256: None,
        }
    }

    /// The all-zero hash written by the completeness guard and saw-lab helpers.
    pub const PLACEHOLDER: &'static str =
        "0000000000000000000000000000000000000000000000000000000000000000";

    pub fn is_placeholder(&self) -> bool {
        self.feasibility_sha256 == Self::PLACEHOLDER
    }
}

/// Outputs of a run (inline G-code, op plan, paths).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunOutputs {
    #[serde(default)]
    pub gcode_text: Option<String>,
    #[serde(default)]
    pub opplan_json: Option<JsonMap>,
    #[serde(default)]
    pub gcode_path: Option<String>,
    #[serde(default)]
    pub opplan_path: Option<String>,
    #[serde(default)]
    pub preview_svg_path: Option<String>,
}

/// Lineage pointer to the plan this run executes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct RunLineage {
    #[serde(default)]
    pub parent_plan_run_id: Option<String>,
}

/// A content-addressed attachment reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunAttachment {
    #[serde(deserialize_with = "de_sha64")]
    pub sha256: String,
    pub kind: String,
    pub mime: String,
    pub filename: String,
    pub size_bytes: u64,
    pub created_at_utc: String,
}

/// A reference from a run to an advisory (explanation, suggestion…), with its review state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryInputRef {
    pub advisory_id: String,
    #[serde(default = "default_kind", deserialize_with = "de_advisory_kind")]
    pub kind: String,
    #[serde(default = "Timestamp::now")]
    pub created_at_utc: Timestamp,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default)]
    pub engine_id: Option<String>,
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default = "default_ref_status", deserialize_with = "de_ref_status")]
    pub status: String,
    #[serde(default)]
    pub rejected: bool,
    #[serde(default, deserialize_with = "de_opt_ref_risk")]
    pub risk_level: Option<String>,
    #[serde(default, deserialize_with = "de_opt_rating")]
    pub rating: Option<i64>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default, deserialize_with = "de_opt_reason_code")]
    pub rejection_reason_code: Option<String>,
    #[serde(default)]
    pub rejection_reason_detail: Option<String>,
    #[serde(default)]
    pub rejection_operator_note: Option<String>,
    #[serde(default)]
    pub rejected_at_utc: Option<String>,
    #[serde(default)]
    pub updated_at_utc: Option<String>,
    #[serde(default)]
    pub promoted: bool,
    #[serde(default)]
    pub promoted_candidate_id: Option<String>,
    /// The rmos asset a link written by `rmos advisory attach` names (its `advisory_id` is
    /// the content hash, as the reference's links; several assets can share a content).
    /// Not in the reference's model, which ignores it; absent from everything else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rmos_asset_id: Option<String>,
}

impl AdvisoryInputRef {
    /// A fresh reference in state NEW.
    pub fn new(advisory_id: &str, kind: &str) -> Self {
        AdvisoryInputRef {
            advisory_id: advisory_id.to_owned(),
            kind: kind.to_owned(),
            created_at_utc: Timestamp::now(),
            request_id: None,
            engine_id: None,
            engine_version: None,
            status: default_ref_status(),
            rejected: false,
            risk_level: None,
            rating: None,
            notes: None,
            rejection_reason_code: None,
            rejection_reason_detail: None,
            rejection_operator_note: None,
            rejected_at_utc: None,
            updated_at_utc: None,
            promoted: false,
            promoted_candidate_id: None,
            rmos_asset_id: None,
        }
    }
}

fn default_kind() -> String {
    "unknown".into()
}
fn default_ref_status() -> String {
    "NEW".into()
}
fn default_event_type() -> String {
    "unknown".into()
}

/// The run artifact (REFERENCE.md §1.1), fields in declaration order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunArtifact {
    pub run_id: String,
    #[serde(default = "Timestamp::now")]
    pub created_at_utc: Timestamp,
    #[serde(default)]
    pub request_id: Option<String>,
    pub mode: String,
    pub tool_id: String,
    pub status: RunStatus,
    #[serde(default)]
    pub request_summary: JsonMap,
    #[serde(default)]
    pub feasibility: JsonMap,
    pub decision: RunDecision,
    pub hashes: Hashes,
    #[serde(default)]
    pub outputs: RunOutputs,
    #[serde(default)]
    pub lineage: Option<RunLineage>,
    #[serde(default)]
    pub advisory_inputs: Vec<AdvisoryInputRef>,
    #[serde(default)]
    pub explanation_status: ExplanationStatus,
    #[serde(default)]
    pub explanation_summary: Option<String>,
    #[serde(default)]
    pub advisory_reviews: Option<JsonMap>,
    #[serde(default)]
    pub manufacturing_candidates: Option<Vec<Value>>,
    #[serde(default)]
    pub source_advisory_id: Option<String>,
    #[serde(default)]
    pub attachments: Option<Vec<RunAttachment>>,
    #[serde(default)]
    pub meta: JsonMap,
    #[serde(default)]
    pub workflow_session_id: Option<String>,
    #[serde(default)]
    pub material_id: Option<String>,
    #[serde(default)]
    pub machine_id: Option<String>,
    #[serde(default)]
    pub workflow_mode: Option<String>,
    #[serde(default)]
    pub toolchain_id: Option<String>,
    #[serde(default)]
    pub post_processor_id: Option<String>,
    #[serde(default)]
    pub geometry_ref: Option<String>,
    #[serde(default)]
    pub geometry_hash: Option<String>,
    #[serde(default = "default_event_type")]
    pub event_type: String,
    #[serde(default)]
    pub parent_run_id: Option<String>,
    #[serde(default)]
    pub drift_detected: Option<bool>,
    #[serde(default)]
    pub drift_summary: Option<JsonMap>,
    #[serde(default)]
    pub gate_policy_id: Option<String>,
    #[serde(default)]
    pub gate_decision: Option<String>,
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default)]
    pub toolchain_version: Option<String>,
    #[serde(default)]
    pub config_fingerprint: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub errors: Option<Vec<String>>,
}

impl RunArtifact {
    /// A new artifact with every optional field at its reference default.
    pub fn new(
        run_id: String,
        mode: String,
        tool_id: String,
        status: RunStatus,
        decision: RunDecision,
        hashes: Hashes,
    ) -> Self {
        RunArtifact {
            run_id,
            created_at_utc: Timestamp::now(),
            request_id: None,
            mode,
            tool_id,
            status,
            request_summary: JsonMap::new(),
            feasibility: JsonMap::new(),
            decision,
            hashes,
            outputs: RunOutputs::default(),
            lineage: None,
            advisory_inputs: Vec::new(),
            explanation_status: ExplanationStatus::None,
            explanation_summary: None,
            advisory_reviews: None,
            manufacturing_candidates: None,
            source_advisory_id: None,
            attachments: None,
            meta: JsonMap::new(),
            workflow_session_id: None,
            material_id: None,
            machine_id: None,
            workflow_mode: None,
            toolchain_id: None,
            post_processor_id: None,
            geometry_ref: None,
            geometry_hash: None,
            event_type: default_event_type(),
            parent_run_id: None,
            drift_detected: None,
            drift_summary: None,
            gate_policy_id: None,
            gate_decision: None,
            engine_version: None,
            toolchain_version: None,
            config_fingerprint: None,
            notes: None,
            errors: None,
        }
    }

    /// Parse and validate an artifact from JSON text.
    pub fn from_json_slice(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The reference file form: pydantic `model_dump_json(indent=2)` — declaration order,
    /// 2-space indent, every key, floats in pydantic's style, no trailing newline.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut value = serde_json::to_value(self).expect("a RunArtifact always serializes");
        pydantic_floats(&mut value);
        serde_json::to_vec_pretty(&value).expect("a JSON value always serializes")
    }

    /// The reference's `source` of a run: `meta.source` or `meta.workflow` (first truthy).
    pub fn source(&self) -> Option<String> {
        source_of(&self.meta)
    }

    /// Risk level for listings ("UNKNOWN" when blank, which validation already refuses).
    pub fn risk_level(&self) -> &str {
        &self.decision.risk_level
    }
}

/// The reference's `source` of a run from its `meta`: `source` or `workflow` (first truthy).
pub fn source_of(meta: &JsonMap) -> Option<String> {
    ["source", "workflow"]
        .iter()
        .find_map(|k| match meta.get(*k) {
            Some(v) if crate::hashing::py_truthy(v) => Some(match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            }),
            _ => None,
        })
}

/// Rewrite float numbers the way pydantic-core prints them (ryu's shortest form, e.g.
/// `1e-7`, `0.00001`, `100.0`); non-finite values become `null` as pydantic writes them.
/// Integers are left verbatim.
pub fn pydantic_floats(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let crate::hashing::PyNumber::Float(f) = crate::hashing::py_number(n) {
                *value = serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or(Value::Null);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(pydantic_floats),
        Value::Object(map) => map.values_mut().for_each(pydantic_floats),
        _ => {}
    }
}

/// `RunDecision.risk_level` validator: blank is refused, anything else is upper-cased as is
/// (no strip), e.g. `"banana"` → `"BANANA"`.
pub fn normalize_risk_field(s: &str) -> Result<String, DomainError> {
    if s.trim().is_empty() {
        return Err(DomainError::RiskLevel(
            "risk_level must not be blank".into(),
        ));
    }
    Ok(s.to_uppercase())
}

pub(crate) fn de_risk_level<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    normalize_risk_field(&s).map_err(de::Error::custom)
}

pub(crate) fn de_score<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<f64>::deserialize(d)?;
    if let Some(x) = v {
        if !(0.0..=100.0).contains(&x) {
            return Err(de::Error::custom(format!(
                "score {x} is out of range: must be between 0 and 100"
            )));
        }
    }
    Ok(v)
}

pub(crate) fn de_sha64<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let n = s.chars().count();
    if n != 64 {
        return Err(de::Error::custom(format!(
            "hash must be exactly 64 characters, got {n}"
        )));
    }
    Ok(s)
}

fn de_advisory_kind<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "explanation" | "advisory" | "note" | "unknown" => Ok(s),
        _ => Err(de::Error::custom(format!(
            "advisory kind {s:?} is not one of explanation, advisory, note, unknown"
        ))),
    }
}

fn de_ref_status<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?.to_uppercase();
    match s.as_str() {
        "NEW" | "REVIEWED" | "PROMOTED" | "REJECTED" => Ok(s),
        _ => Err(de::Error::custom(format!(
            "advisory status {s:?} is not one of NEW, REVIEWED, PROMOTED, REJECTED"
        ))),
    }
}

fn de_opt_ref_risk<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let s = s.to_uppercase();
    match s.as_str() {
        "GREEN" | "YELLOW" | "RED" | "UNKNOWN" | "ERROR" => Ok(Some(s)),
        _ => Err(de::Error::custom(format!(
            "risk_level {s:?} is not a known level"
        ))),
    }
}

fn de_opt_rating<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    let v = Option::<i64>::deserialize(d)?;
    if let Some(r) = v {
        if !(1..=5).contains(&r) {
            return Err(de::Error::custom(format!(
                "rating {r} must be between 1 and 5"
            )));
        }
    }
    Ok(v)
}

fn de_opt_reason_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let Some(s) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let s = s.to_uppercase();
    match s.as_str() {
        "GEOMETRY_UNSAFE" | "TEXT_REQUIRES_OUTLINE" | "AESTHETIC" | "DUPLICATE" | "OTHER" => {
            Ok(Some(s))
        }
        _ => Err(de::Error::custom(format!(
            "rejection_reason_code {s:?} is not a known code"
        ))),
    }
}
