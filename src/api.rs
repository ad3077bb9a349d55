//! JSON shapes of the reference's logs API, produced from rmos data so scripts written
//! against the reference keep working on `rmos … --json`.

use crate::domain::RunArtifact;
use serde_json::{json, Map, Value};

/// `GET /api/rmos/logs/{run_id}` body: run_id, created_at_utc (isoformat), mode, tool_id,
/// status, request_summary, feasibility, decision, hashes, outputs, meta — in that order.
pub fn run_details(a: &RunArtifact) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("run_id".into(), json!(a.run_id));
    m.insert(
        "created_at_utc".into(),
        json!(a.created_at_utc.to_isoformat()),
    );
    m.insert("mode".into(), json!(a.mode));
    m.insert("tool_id".into(), json!(a.tool_id));
    m.insert("status".into(), json!(a.status.as_str()));
    m.insert(
        "request_summary".into(),
        Value::Object(a.request_summary.clone()),
    );
    m.insert("feasibility".into(), Value::Object(a.feasibility.clone()));
    m.insert(
        "decision".into(),
        serde_json::to_value(&a.decision).expect("decision serializes"),
    );
    m.insert(
        "hashes".into(),
        serde_json::to_value(&a.hashes).expect("hashes serialize"),
    );
    m.insert(
        "outputs".into(),
        serde_json::to_value(&a.outputs).expect("outputs serialize"),
    );
    m.insert("meta".into(), Value::Object(a.meta.clone()));
    m
}
