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
    let (artifact, path) = match store.get(run_id) {
        Ok(found) => found,
        Err(e) => {
            // With a shared index, the run may live on another artifact host.
            if ctx.root.db.is_some() {
                if let Some(place) = ctx.root.catalog()?.elsewhere(run_id)? {
                    return Err(Failure::new(format!(
                        "run {} is on {}, not in this host's runs folder {}: run `rmos logs show {}` on that host (run bodies stay where they were written)",
                        sanitize(run_id),
                        sanitize(&place),
                        ctx.root.runs_dir.display(),
                        sanitize(run_id)
                    )));
                }
            }
            return Err(e.into());
        }
    };
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
    say!("{}  [{}]", sanitize(&a.run_id), a.status.as_str());
    say!("  risk      {}", sanitize(&a.decision.risk_level));
    match a.decision.score {
        Some(s) => say!("  score     {s:.1}"),
        None => say!("  score     -"),
    }
    say!("  mode      {}", sanitize(&a.mode));
    say!("  tool      {}", sanitize(&a.tool_id));
    say!("  event     {}", sanitize(&a.event_type));
    say!(
        "  created   {} (UTC {})",
        local.format("%Y-%m-%d %H:%M:%S %Z"),
        a.created_at_utc.to_isoformat()
    );
    if let Some(src) = a.source() {
        say!("  source    {}", sanitize(&src));
    }
    if let Some(r) = &a.decision.block_reason {
        say!("  blocked   {}", sanitize(r));
    }
    if !a.decision.warnings.is_empty() {
        say!("  warnings");
        for w in &a.decision.warnings {
            say!("    - {}", sanitize(w));
        }
    }
    say!(
        "  hashes    feasibility {} ({outcome})",
        sanitize(&a.hashes.feasibility_sha256)
    );
    if let Some(d) = detail {
        say!("            {}", sanitize(d));
    }
    for (name, h) in a.hashes.outputs() {
        say!("            {name} {}", sanitize(h));
    }
    print_lineage(a);
    if let Some(b) = crate::scoring::explain::breakdown(&a.feasibility) {
        print_breakdown(&b);
    }
    if !a.advisory_inputs.is_empty() {
        say!("  advisories");
        for r in &a.advisory_inputs {
            say!(
                "    - {} ({}, {})",
                sanitize(&r.advisory_id),
                sanitize(&r.kind),
                sanitize(&r.status)
            );
        }
    }
    say!("  file      {}", sanitize(&path.display().to_string()));
    for (title, v) in [
        ("request summary", Value::Object(a.request_summary.clone())),
        ("feasibility", Value::Object(a.feasibility.clone())),
        (
            "outputs",
            serde_json::to_value(&a.outputs).unwrap_or(Value::Null),
        ),
        ("meta", Value::Object(a.meta.clone())),
    ] {
        say!("\n{title}:");
        say!("{}", pretty(&v));
    }
}

/// Where a run came from: its parent run, the plan it executes, drift against it.
fn print_lineage(a: &RunArtifact) {
    let plan = a
        .lineage
        .as_ref()
        .and_then(|l| l.parent_plan_run_id.as_deref());
    if let Some(p) = &a.parent_run_id {
        say!("  parent    {} (parent_run_id)", sanitize(p));
    }
    if let Some(p) = plan {
        say!("  plan      {} (lineage.parent_plan_run_id)", sanitize(p));
    }
    match (a.drift_detected, &a.drift_summary) {
        (None, None) => {}
        (detected, summary) => {
            let what = match detected {
                Some(true) => "detected",
                Some(false) => "none",
                None => "not recorded",
            };
            say!("  drift     {what}");
            if let Some(s) = summary.as_ref().filter(|s| !s.is_empty()) {
                say!(
                    "            {}",
                    sanitize(&Value::Object(s.clone()).to_string())
                );
            }
        }
    }
}

/// The scoring components as a table: weight, score, bucket, what was measured, warning.
fn print_breakdown(b: &crate::scoring::explain::Breakdown) {
    let num = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    say!(
        "  scoring   weighted {} (recorded {} {}; bucket: {})",
        num(b.weighted),
        num(b.recorded_score),
        sanitize(b.recorded_bucket.as_deref().unwrap_or("-")),
        b.rule()
    );
    say!(
        "    {:<11} {:>6} {:>6}  {:<6}  {:<28}  warning",
        "component",
        "weight",
        "score",
        "bucket",
        "measured"
    );
    for r in &b.rows {
        let measured = r.measured_text();
        let line = format!(
            "    {:<11} {:>6} {:>6}  {:<6}  {:<28}  {}",
            sanitize(&r.label),
            r.weight
                .map_or_else(|| "-".to_owned(), |w| format!("{w:.2}")),
            num(r.score),
            r.bucket().unwrap_or("-"),
            sanitize(&measured),
            sanitize(r.warning.as_deref().unwrap_or(""))
        );
        say!("{}", line.trim_end());
    }
}

/// `rmos logs recent`: the reference's v1 filters and `--filter`, answered by the index.
pub fn recent(ctx: &Ctx, args: &super::RecentArgs) -> Result<ExitCode, Failure> {
    use crate::filter::{Field, Predicate};
    use crate::store::index::{Cursor, ReconcileMode, RunQuery};
    let mut filter = super::filter_arg(args.filter.as_deref())?;
    for (field, value) in [
        (Field::Mode, &args.mode),
        (Field::Tool, &args.tool_id),
        (Field::Risk, &args.risk_level),
        (Field::Status, &args.status),
        (Field::Source, &args.source),
    ] {
        if let Some(v) = value {
            filter = filter.and(
                false,
                Predicate::Field {
                    field,
                    values: vec![v.clone()],
                },
            );
        }
    }
    let cursor = args.cursor.as_deref().map(Cursor::parse).transpose()?;
    let mut index = ctx.open_index()?;
    super::progress::reconcile(&mut *index, ReconcileMode::Quick)?;
    let mut q = RunQuery::new(filter, args.limit as usize);
    q.cursor = cursor;
    let page = index.query(&q)?;
    if ctx.json {
        let entries: Vec<Value> = page.runs.iter().map(|r| r.log_entry()).collect();
        print_json(&json!({
            "entries": entries,
            "total": page.runs.len(),
            "filters_applied": {
                "mode": args.mode, "tool_id": args.tool_id, "risk_level": args.risk_level,
                "status": args.status, "source": args.source, "filter": args.filter,
            },
            "next_cursor": page.next_cursor,
        }))?;
    } else {
        if page.runs.is_empty() {
            if q.filter.is_empty() && q.cursor.is_none() {
                tell!(
                    "no runs in {} yet — `rmos score <design.json>` records one; `rmos demo` loads demo data",
                    ctx.root.runs_dir.display()
                );
            } else {
                tell!("no runs match");
            }
        }
        // One write for the page, not one per line.
        let mut page_out = super::out::Buffered::stdout();
        for r in &page.runs {
            let when = r.created_at.as_deref().unwrap_or("").replace('T', " ");
            let when: String = when.chars().take(19).collect();
            page_out
                .text(format_args!(
                    "{when}  {}  {:<10} {:<16} {:<7} {:<7} {:>6}  {}\n",
                    sanitize(&r.run_id),
                    sanitize(r.mode.as_deref().unwrap_or("")),
                    sanitize(r.tool_id.as_deref().unwrap_or("")),
                    r.status.as_deref().unwrap_or(""),
                    sanitize(r.risk_level.as_deref().unwrap_or("UNKNOWN")),
                    r.score
                        .map(|s| format!("{s:.2}"))
                        .unwrap_or_else(|| "-".into()),
                    sanitize(r.source.as_deref().unwrap_or("")),
                ))
                .map_err(super::output_error)?;
        }
        page_out.flush().map_err(super::output_error)?;
        drop(page_out);
        if let Some(c) = &page.next_cursor {
            tell!("more: --cursor {}", crate::text::shell_quote(c));
        }
    }
    let invalid = index.invalid_count()?;
    if invalid > 0 {
        tell!("note: {invalid} invalid artifact files are not listed (rmos runs verify shows why)");
    }
    Ok(ExitCode::SUCCESS)
}
