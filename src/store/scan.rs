//! Reading artifacts for the index at memory speed.
//!
//! The index needs a dozen columns of each artifact and whether its feasibility hash
//! verifies. Loading a full [`RunArtifact`] builds a `serde_json::Value` for every JSON
//! block (a toolpath of 400 moves is thousands of allocations), clones the feasibility
//! block to hash it and formats every float through a `String`. Here one pass of
//! serde_json over a reused read buffer borrows the strings the index keeps, validates
//! every other field against the same types without keeping it, and hands the feasibility
//! block's raw bytes to the streaming canonicalizer ([`crate::hashing::stream`]).
//!
//! The outcome is the full load's, exactly: every field is checked as strictly as
//! [`RunArtifact`] checks it (same validators, same duplicate-field refusal, JSON blocks
//! parsed with the `Value` parser's acceptance and its nesting limit). Anything this
//! path does not accept — which includes every invalid file — is handed to the full load,
//! so a refused file gets the very reason it always got.

use crate::domain::run::{de_risk_level, de_score, de_sha64, source_of, JsonMap};
use crate::domain::{
    AdvisoryInputRef, ExplanationStatus, Hashes, RunArtifact, RunAttachment, RunLineage, RunStatus,
    Timestamp,
};
use crate::fsio::read::{check_json_budget, JSON_MEMORY_ALLOWANCE};
use crate::hashing::stream::{sha256_json_bytes_nested, MAX_DEPTH};
use crate::store::runs::{parse_artifact, read_limited_into, safe_id, ArtifactError};
use crate::store::verify::{verify_artifact, Coverage, VerifyOutcome};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::RefCell;
use std::path::Path;

/// The index's columns of one valid artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexFields {
    pub run_id: String,
    pub created_us: i64,
    pub created_at: String,
    pub mode: String,
    pub tool_id: String,
    pub status: RunStatus,
    pub risk_level: String,
    pub score: Option<f64>,
    pub source: Option<String>,
    pub event_type: String,
    pub workflow_session_id: Option<String>,
    /// The warnings as a JSON array.
    pub warnings_json: String,
    pub block_reason: Option<String>,
    pub verify: VerifyOutcome,
    /// Lower-cased run_id, tool_id, warnings and block reason, one per line.
    pub search_text: String,
    /// The run this one derives from (`parent_run_id`).
    pub parent_run_id: Option<String>,
    /// The plan this run executes (`lineage.parent_plan_run_id`).
    pub plan_run_id: Option<String>,
}

impl IndexFields {
    /// The columns of a fully loaded artifact.
    pub fn from_artifact(a: &RunArtifact) -> IndexFields {
        let (verify, _) = verify_artifact(a);
        IndexFields {
            run_id: a.run_id.clone(),
            created_us: a.created_at_utc.epoch_micros(),
            created_at: a.created_at_utc.to_isoformat(),
            mode: a.mode.clone(),
            tool_id: a.tool_id.clone(),
            status: a.status,
            risk_level: a.decision.risk_level.clone(),
            score: a.decision.score,
            source: a.source(),
            event_type: a.event_type.clone(),
            workflow_session_id: a.workflow_session_id.clone(),
            warnings_json: serde_json::to_string(&a.decision.warnings).expect("strings serialize"),
            block_reason: a.decision.block_reason.clone(),
            verify,
            search_text: search_text(
                &a.run_id,
                &a.tool_id,
                a.decision.warnings.iter().map(String::as_str),
                a.decision.block_reason.as_deref(),
            ),
            parent_run_id: a.parent_run_id.clone(),
            plan_run_id: a
                .lineage
                .as_ref()
                .and_then(|l| l.parent_plan_run_id.clone()),
        }
    }
}

fn search_text<'s>(
    run_id: &str,
    tool_id: &str,
    warnings: impl Iterator<Item = &'s str>,
    block_reason: Option<&str>,
) -> String {
    let mut search = String::with_capacity(128);
    search.push_str(&run_id.to_lowercase());
    search.push('\n');
    search.push_str(&tool_id.to_lowercase());
    for w in warnings {
        search.push('\n');
        search.push_str(&w.to_lowercase());
    }
    if let Some(b) = block_reason {
        search.push('\n');
        search.push_str(&b.to_lowercase());
    }
    search
}

/// Read buffers above this size are released after the file (a rare huge artifact must
/// not pin its memory in every worker).
const KEEP_BUFFER: usize = 4 << 20;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Read the artifact file at `path` and extract its index columns, reusing this thread's
/// read buffer. The error is the reason shown to the user, as [`crate::store::runs::read_artifact_file`]
/// gives it.
pub fn read_index_fields(path: &Path) -> Result<IndexFields, ArtifactError> {
    READ_BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let r = read_limited_into(path, &mut buf).and_then(|()| index_fields(&buf, path));
        if buf.capacity() > KEEP_BUFFER {
            *buf = Vec::new();
        }
        r
    })
}

/// The index columns of an artifact's bytes stored at `path`: the same outcome as
/// [`parse_artifact`] followed by [`IndexFields::from_artifact`].
pub fn index_fields(bytes: &[u8], path: &Path) -> Result<IndexFields, ArtifactError> {
    match fast_index_fields(bytes, path) {
        Some(f) => Ok(f),
        None => parse_artifact(bytes, path).map(|a| IndexFields::from_artifact(&a)),
    }
}

/// Below this size a document that parses cannot exceed the memory budget of
/// [`check_json_budget`] (`2 × size + 40 MB`): valid JSON costs at most ~166 estimated
/// bytes per byte (`[{},{},…]`: an object and an element per three bytes; every object
/// needs its closing brace and a separator), so 200 per byte is a safe bound and the scan
/// is needed only for files over ~205 KB.
const BUDGET_FREE_LEN: usize = (JSON_MEMORY_ALLOWANCE / 200) as usize;

/// The fast read alone: None whenever the full load must decide (it then gives the
/// reason). Every valid artifact is read here; what it returns equals the full load's.
pub fn fast_index_fields(bytes: &[u8], path: &Path) -> Option<IndexFields> {
    // No file name (a path the caller made up) means no name check, as in the full load.
    let stem = match path.file_name() {
        Some(name) => name.to_str()?.strip_suffix(".json"),
        None => None,
    };
    if bytes.len() > BUDGET_FREE_LEN {
        check_json_budget(bytes).ok()?;
    }
    let v: View<'_> = serde_json::from_slice(bytes).ok()?;
    if stem.is_some_and(|stem| safe_id(&v.run_id) != stem) {
        return None;
    }
    // Nesting allowance of each JSON block: what serde_json leaves below its parents.
    let top = MAX_DEPTH - 1;
    for (block, depth) in [
        (v.request_summary, top),
        (v.decision.details, top - 1),
        (v.outputs.opplan_json, top - 1),
        (v.advisory_reviews, top),
        (v.drift_summary, top),
    ] {
        if let Some(raw) = block {
            let (_, is_object) = sha256_json_bytes_nested(raw.get().as_bytes(), depth).ok()?;
            if !is_object {
                return None;
            }
        }
    }
    if let Some(raw) = v.manufacturing_candidates {
        let text = raw.get().as_bytes();
        if text.first() != Some(&b'[') {
            return None;
        }
        sha256_json_bytes_nested(text, top).ok()?;
    }
    let feasibility = v.feasibility.map_or(&b"{}"[..], |raw| raw.get().as_bytes());
    let (actual, is_object) = sha256_json_bytes_nested(feasibility, top).ok()?;
    if !is_object {
        return None;
    }
    let recorded = &v.hashes.feasibility_sha256;
    let verify = if recorded == Hashes::PLACEHOLDER {
        VerifyOutcome::Placeholder
    } else if *recorded == actual {
        VerifyOutcome::Ok
    } else {
        let d = &v.decision;
        let empty = |raw: &RawValue| {
            raw.get()
                .bytes()
                .filter(|b| !b.is_ascii_whitespace())
                .eq(*b"{}")
        };
        let coverage = Coverage {
            run_id: &v.run_id,
            feasibility_empty: v.feasibility.is_none_or(empty),
            status: v.status,
            risk_level: &d.risk_level,
            score: d.score,
            has_block_reason: d.block_reason.is_some(),
            has_warnings: !d.warnings.is_empty(),
            details_empty: d.details.is_none_or(empty),
        };
        if coverage.uncovered_reason().is_some() {
            VerifyOutcome::Uncovered
        } else {
            VerifyOutcome::Mismatch
        }
    };
    let d = &v.decision;
    Some(IndexFields {
        run_id: v.run_id.to_string(),
        created_us: v.created_at_utc.epoch_micros(),
        created_at: v.created_at_utc.to_isoformat(),
        mode: v.mode.into_owned(),
        tool_id: v.tool_id.to_string(),
        status: v.status,
        risk_level: d.risk_level.clone(),
        score: d.score,
        source: source_of(&v.meta),
        event_type: v.event_type.into_owned(),
        workflow_session_id: v.workflow_session_id.map(Cow::into_owned),
        warnings_json: serde_json::to_string(&d.warnings).expect("strings serialize"),
        block_reason: d.block_reason.as_deref().map(str::to_owned),
        verify,
        search_text: search_text(
            &v.run_id,
            &v.tool_id,
            d.warnings.iter().map(|w| &**w),
            d.block_reason.as_deref(),
        ),
        parent_run_id: v.parent_run_id.map(Cow::into_owned),
        plan_run_id: v.lineage.and_then(|l| l.parent_plan_run_id),
    })
}

/// A present JSON field kept as its raw text (`null` included: a block that must be an
/// object is checked afterwards).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

fn unknown_event() -> Cow<'static, str> {
    Cow::Borrowed("unknown")
}

/// A JSON string, checked (valid UTF-8, escapes) and not kept.
struct Str;

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Str;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Str, E> {
                Ok(Str)
            }
        }
        d.deserialize_str(V)
    }
}

/// [`RunArtifact`] as the index reads it: every field of the artifact with the same
/// acceptance, the kept strings borrowed, JSON blocks as raw text.
#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be validated
struct View<'a> {
    #[serde(borrow)]
    run_id: Cow<'a, str>,
    #[serde(default = "Timestamp::now")]
    created_at_utc: Timestamp,
    #[serde(default)]
    request_id: Option<Str>,
    #[serde(borrow)]
    mode: Cow<'a, str>,
    #[serde(borrow)]
    tool_id: Cow<'a, str>,
    status: RunStatus,
    #[serde(default, borrow, deserialize_with = "present")]
    request_summary: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    feasibility: Option<&'a RawValue>,
    #[serde(borrow)]
    decision: DecisionView<'a>,
    hashes: HashesView,
    #[serde(default, borrow)]
    outputs: OutputsView<'a>,
    #[serde(default)]
    lineage: Option<RunLineage>,
    #[serde(default)]
    advisory_inputs: Vec<AdvisoryInputRef>,
    #[serde(default)]
    explanation_status: ExplanationStatus,
    #[serde(default)]
    explanation_summary: Option<Str>,
    #[serde(default, borrow)]
    advisory_reviews: Option<&'a RawValue>,
    #[serde(default, borrow)]
    manufacturing_candidates: Option<&'a RawValue>,
    #[serde(default)]
    source_advisory_id: Option<Str>,
    #[serde(default)]
    attachments: Option<Vec<RunAttachment>>,
    #[serde(default)]
    meta: JsonMap,
    #[serde(default, borrow)]
    workflow_session_id: Option<Cow<'a, str>>,
    #[serde(default)]
    material_id: Option<Str>,
    #[serde(default)]
    machine_id: Option<Str>,
    #[serde(default)]
    workflow_mode: Option<Str>,
    #[serde(default)]
    toolchain_id: Option<Str>,
    #[serde(default)]
    post_processor_id: Option<Str>,
    #[serde(default)]
    geometry_ref: Option<Str>,
    #[serde(default)]
    geometry_hash: Option<Str>,
    #[serde(default = "unknown_event", borrow)]
    event_type: Cow<'a, str>,
    #[serde(default, borrow)]
    parent_run_id: Option<Cow<'a, str>>,
    #[serde(default)]
    drift_detected: Option<bool>,
    #[serde(default, borrow)]
    drift_summary: Option<&'a RawValue>,
    #[serde(default)]
    gate_policy_id: Option<Str>,
    #[serde(default)]
    gate_decision: Option<Str>,
    #[serde(default)]
    engine_version: Option<Str>,
    #[serde(default)]
    toolchain_version: Option<Str>,
    #[serde(default)]
    config_fingerprint: Option<Str>,
    #[serde(default)]
    notes: Option<Str>,
    #[serde(default)]
    errors: Option<Vec<Str>>,
}

#[derive(Deserialize)]
struct DecisionView<'a> {
    #[serde(deserialize_with = "de_risk_level")]
    risk_level: String,
    #[serde(default, deserialize_with = "de_score")]
    score: Option<f64>,
    #[serde(default, borrow)]
    block_reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    warnings: Vec<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "present")]
    details: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be validated
struct HashesView {
    #[serde(deserialize_with = "de_sha64")]
    feasibility_sha256: String,
    #[serde(default)]
    toolpaths_sha256: Option<Str>,
    #[serde(default)]
    gcode_sha256: Option<Str>,
    #[serde(default)]
    opplan_sha256: Option<Str>,
    #[serde(default)]
    snapshot_sha256: Option<Str>,
}

#[derive(Deserialize, Default)]
#[allow(dead_code)] // fields read only to be validated
struct OutputsView<'a> {
    #[serde(default)]
    gcode_text: Option<Str>,
    #[serde(default, borrow)]
    opplan_json: Option<&'a RawValue>,
    #[serde(default)]
    gcode_path: Option<Str>,
    #[serde(default)]
    opplan_path: Option<Str>,
    #[serde(default)]
    preview_svg_path: Option<Str>,
}
