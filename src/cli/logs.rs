//! `rmos logs show`.

use super::{print_json, Ctx, Failure};
use crate::api::run_details;
use crate::domain::RunArtifact;
use crate::store::verify::verify_artifact;
use crate::text::{sanitize, sanitize_multiline};
use serde_json::{json, Value};
use std::path::Path;
use std::process::ExitCode;

pub fn show(ctx: &Ctx, run_id: &str) -> Result<ExitCode, Failure> {
    let store = ctx.root.run_store();
    let (artifact, path) = store.get(run_id)?;
    let (outcome, detail) = verify_artifact(&artifact);
    if ctx.json {
        let mut m = run_details(&artifact);
        m.insert(
            "advisory_inputs".into(),
            serde_json::to_value(&artifact.advisory_inputs).expect("refs serialize"),
        );
        m.insert(
            "verify".into(),
            json!({"outcome": outcome.as_str(), "detail": detail}),
        );
        m.insert("path".into(), json!(path.display().to_string()));
        print_json(&Value::Object(m))?;
    } else {
        print_human(&artifact, &path, outcome.as_str(), detail.as_deref());
    }
    Ok(ExitCode::SUCCESS)
}

fn pretty(v: &Value) -> String {
    sanitize_multiline(&serde_json::to_string_pretty(v).unwrap_or_default())
}

fn print_human(a: &RunArtifact, path: &Path, outcome: &str, detail: Option<&str>) {
    let local = a.created_at_utc.utc().with_timezone(&chrono::Local);
    println!("{}  [{}]", sanitize(&a.run_id), a.status.as_str());
    println!("  risk      {}", sanitize(&a.decision.risk_level));
    match a.decision.score {
        Some(s) => println!("  score     {s:.1}"),
        None => println!("  score     -"),
    }
    println!("  mode      {}", sanitize(&a.mode));
    println!("  tool      {}", sanitize(&a.tool_id));
    println!("  event     {}", sanitize(&a.event_type));
    println!(
        "  created   {} (UTC {})",
        local.format("%Y-%m-%d %H:%M:%S %Z"),
        a.created_at_utc.to_isoformat()
    );
    if let Some(src) = a.source() {
        println!("  source    {}", sanitize(&src));
    }
    if let Some(r) = &a.decision.block_reason {
        println!("  blocked   {}", sanitize(r));
    }
    if !a.decision.warnings.is_empty() {
        println!("  warnings");
        for w in &a.decision.warnings {
            println!("    - {}", sanitize(w));
        }
    }
    println!(
        "  hashes    feasibility {} ({outcome})",
        a.hashes.feasibility_sha256
    );
    if let Some(d) = detail {
        println!("            {}", sanitize(d));
    }
    for (name, h) in [
        ("toolpaths", &a.hashes.toolpaths_sha256),
        ("gcode", &a.hashes.gcode_sha256),
        ("opplan", &a.hashes.opplan_sha256),
        ("snapshot", &a.hashes.snapshot_sha256),
    ] {
        if let Some(h) = h {
            println!("            {name} {}", sanitize(h));
        }
    }
    if !a.advisory_inputs.is_empty() {
        println!("  advisories");
        for r in &a.advisory_inputs {
            println!(
                "    - {} ({}, {})",
                sanitize(&r.advisory_id),
                sanitize(&r.kind),
                sanitize(&r.status)
            );
        }
    }
    println!("  file      {}", sanitize(&path.display().to_string()));
    for (title, v) in [
        ("request summary", Value::Object(a.request_summary.clone())),
        ("feasibility", Value::Object(a.feasibility.clone())),
        (
            "outputs",
            serde_json::to_value(&a.outputs).unwrap_or(Value::Null),
        ),
        ("meta", Value::Object(a.meta.clone())),
    ] {
        println!("\n{title}:");
        println!("{}", pretty(&v));
    }
}
