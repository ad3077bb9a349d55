//! `rmos runs verify`: stream every artifact's verification outcome; `rmos runs diff`,
//! `rmos runs timeline`, `rmos runs children`.

use super::Exit;
use super::{Ctx, Failure};
use crate::store::runs::{read_artifact_file, ArtifactFile};
use crate::store::verify::{verify_artifact, VerifyOutcome};
use crate::text::sanitize;
use serde_json::json;
use std::collections::HashMap;
use std::process::ExitCode;

/// One verified file.
#[derive(Debug, Clone)]
pub struct VerifyRow {
    pub run_id: String,
    pub path: String,
    pub outcome: VerifyOutcome,
    pub detail: Option<String>,
}

pub fn verify(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let store = ctx.root.run_store();
    let out_err = super::output_error;
    let mut out = super::out::Buffered::stdout();
    let mut counts = [0u64; 5];
    let mut duplicates = 0u64;
    let mut unreadable_partitions = 0u64;
    let mut first = true;
    if ctx.json {
        out.json("{\"results\":[").map_err(out_err)?;
    }
    // A run_id must exist once in the whole store (file names are run_ids): list every
    // partition first so a run found in several is reported as such in each of them.
    let listed: Vec<(String, Result<Vec<ArtifactFile>, crate::store::StoreError>)> = store
        .partitions()?
        .into_iter()
        .map(|p| {
            let files = store.partition_files(&p);
            (p, files)
        })
        .collect();
    let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
    for (p, files) in &listed {
        for f in files.iter().flatten() {
            seen.entry(f.stem.as_str()).or_default().push(p.as_str());
        }
    }
    for (partition, files) in &listed {
        let files = match files {
            Ok(files) => files,
            Err(e) => {
                // Report the folder and go on: one unreadable partition hides no others.
                unreadable_partitions += 1;
                let path = store.partition_dir(partition).display().to_string();
                let detail = e.to_string();
                if ctx.json {
                    let row = json!({"run_id": null, "path": path, "outcome": "invalid", "detail": detail});
                    out.json(&format!("{}{row}", if first { "" } else { "," }))
                        .map_err(out_err)?;
                    first = false;
                } else {
                    out.text(format_args!(
                        "{:<11} {}/  (partition)\n            {}\n",
                        "invalid",
                        sanitize(&path),
                        sanitize(&detail)
                    ))
                    .map_err(out_err)?;
                }
                continue;
            }
        };
        for file in files {
            let (run_id, mut outcome, mut detail) = match read_artifact_file(&file.path) {
                Ok(a) => {
                    let (o, d) = verify_artifact(&a);
                    (a.run_id, o.as_str(), d)
                }
                Err(reason) => (
                    file.stem.clone(),
                    VerifyOutcome::Invalid.as_str(),
                    Some(reason.to_string()),
                ),
            };
            let elsewhere: Vec<&str> = seen
                .get(file.stem.as_str())
                .map(|ps| ps.iter().copied().filter(|p| p != partition).collect())
                .unwrap_or_default();
            if elsewhere.is_empty() {
                if let Some(o) = VerifyOutcome::parse(outcome) {
                    counts[o as usize] += 1;
                }
            } else {
                duplicates += 1;
                detail = Some(format!(
                    "the same run_id is also in partition {} (hash {outcome}{}); run_ids are unique, so which record is the real one cannot be told",
                    elsewhere.join(", "),
                    detail.map(|d| format!(": {d}")).unwrap_or_default()
                ));
                outcome = "duplicate";
            }
            let path = file.path.display().to_string();
            if ctx.json {
                let row =
                    json!({"run_id": run_id, "path": path, "outcome": outcome, "detail": detail});
                out.json(&format!("{}{row}", if first { "" } else { "," }))
                    .map_err(out_err)?;
                first = false;
            } else {
                out.text(format_args!(
                    "{:<11} {}  {}",
                    outcome,
                    sanitize(&run_id),
                    sanitize(&path)
                ))
                .map_err(out_err)?;
                if outcome != "ok" {
                    if let Some(d) = detail {
                        out.text(format_args!("\n            {}", sanitize(&d)))
                            .map_err(out_err)?;
                    }
                }
                out.text(format_args!("\n")).map_err(out_err)?;
            }
        }
    }
    let [ok, mismatch, placeholder, invalid, uncovered] = counts;
    if ctx.json {
        let summary = json!({"ok": ok, "mismatch": mismatch, "placeholder": placeholder, "invalid": invalid, "uncovered": uncovered, "duplicate": duplicates, "unreadable_partitions": unreadable_partitions});
        out.json(&format!("],\"summary\":{summary}}}\n"))
            .map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    let total = ok + mismatch + placeholder + invalid + uncovered + duplicates;
    tell!(
        "{total} artifacts in {}: {ok} ok, {mismatch} mismatch, {placeholder} placeholder, {}{invalid} invalid, {duplicates} duplicate{}",
        store.root().display(),
        // Only reference stores have them: named when there are some.
        match uncovered {
            0 => String::new(),
            n => format!("{n} uncovered, "),
        },
        match unreadable_partitions {
            0 => String::new(),
            1 => "; 1 partition could not be read (its runs were not checked)".to_owned(),
            n => format!("; {n} partitions could not be read (their runs were not checked)"),
        }
    );
    if mismatch + invalid + duplicates + unreadable_partitions > 0 {
        tell!("integrity problems found: mismatch = edited or corrupted after writing; invalid = unreadable (see detail); duplicate = one run_id in several partitions");
        Ok(Exit::Failure.into())
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// A value in one line for the diff listing: compact JSON, cut to `max` characters.
fn brief(v: &serde_json::Value, max: usize) -> String {
    let text = match v {
        serde_json::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if text.chars().count() <= max {
        return sanitize(&text);
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", sanitize(&cut))
}

/// `rmos runs diff A B`: the structural differences between two runs as loaded (advisory
/// links merged), in document order. Exit 0 whether or not they differ.
pub fn diff(ctx: &Ctx, a: &str, b: &str) -> Result<ExitCode, Failure> {
    use crate::domain::diff::{diff, ChangeKind};
    let store = ctx.root.run_store();
    let (run_a, _) = store.get(a)?;
    let (run_b, _) = store.get(b)?;
    let va = serde_json::to_value(&run_a).expect("artifacts serialize");
    let vb = serde_json::to_value(&run_b).expect("artifacts serialize");
    let changes = diff(&va, &vb);
    if ctx.json {
        super::print_json(&json!({
            "a": run_a.run_id, "b": run_b.run_id, "count": changes.len(), "changes": changes,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = super::out::Buffered::stdout();
    let e = super::output_error;
    out.text(format_args!(
        "{} → {}: {} difference{}\n",
        sanitize(&run_a.run_id),
        sanitize(&run_b.run_id),
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    ))
    .map_err(e)?;
    let width = changes
        .iter()
        .map(|c| c.path.chars().count())
        .max()
        .unwrap_or(0)
        .min(48);
    for c in &changes {
        let path = sanitize(&c.path);
        let (mark, what) = match c.kind {
            ChangeKind::Added => ("+", brief(c.b.as_ref().expect("added"), 100)),
            ChangeKind::Removed => ("-", brief(c.a.as_ref().expect("removed"), 100)),
            ChangeKind::Changed => {
                let (was, now) = (
                    c.a.as_ref().expect("changed"),
                    c.b.as_ref().expect("changed"),
                );
                let (short_was, short_now) = (brief(was, 48), brief(now, 48));
                if short_was.ends_with('…') || short_now.ends_with('…') {
                    // Long values (hashes, paths) whole, one per line.
                    let pad = " ".repeat(width + 4);
                    (
                        "~",
                        format!("\n{pad}  {}\n{pad}→ {}", brief(was, 200), brief(now, 200)),
                    )
                } else {
                    ("~", format!("{short_was} → {short_now}"))
                }
            }
        };
        out.text(format_args!("  {mark} {path:<width$}  {what}\n"))
            .map_err(e)?;
    }
    out.flush().map_err(e)?;
    Ok(ExitCode::SUCCESS)
}

/// `rmos runs timeline`: runs per bucket for a filter, stacked, ending at the newest run.
pub fn timeline(
    ctx: &Ctx,
    filter: Option<&str>,
    bucket: &str,
    buckets: usize,
    by: &str,
) -> Result<ExitCode, Failure> {
    use crate::store::index::{Bucket, ReconcileMode, StackBy};
    let filter = super::filter_arg(filter)?;
    let bucket = Bucket::parse(bucket).expect("clap checked the bucket");
    let by = if by == "status" {
        StackBy::Status
    } else {
        StackBy::Risk
    };
    let mut index = ctx.open_index()?;
    super::progress::reconcile(&mut *index, ReconcileMode::Quick)?;
    let now = chrono::Utc::now();
    let end = index.newest_us()?.unwrap_or_else(|| now.timestamp_micros());
    let bins = index.timeline(&filter, bucket, buckets, end, by, now)?;
    let layers = by.layers();
    let day = |us: i64| {
        chrono::DateTime::from_timestamp_micros(us)
            .map(|t| match bucket {
                Bucket::Hour => t.format("%Y-%m-%d %H:00").to_string(),
                _ => t.format("%Y-%m-%d").to_string(),
            })
            .unwrap_or_default()
    };
    if ctx.json {
        let bins: Vec<serde_json::Value> = bins
            .iter()
            .map(|b| {
                let counts: serde_json::Map<String, serde_json::Value> = layers
                    .iter()
                    .zip(&b.counts)
                    .map(|(l, n)| (l.to_lowercase(), json!(n)))
                    .collect();
                json!({"start": day(b.start_us), "start_us": b.start_us, "total": b.total, "counts": counts})
            })
            .collect();
        super::print_json(&json!({"bucket": bucket, "by": by, "bins": bins}))?;
        return Ok(ExitCode::SUCCESS);
    }
    let total: u64 = bins.iter().map(|b| b.total).sum();
    let peak = bins.iter().map(|b| b.total).max().unwrap_or(0).max(1);
    let mut out = super::out::Buffered::stdout();
    let e = super::output_error;
    out.text(format_args!(
        "{total} runs per {} ({} buckets), stacked by {}: {}\n",
        match bucket {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
            Bucket::Week => "week (from Monday)",
        },
        bins.len(),
        if by == StackBy::Risk {
            "risk"
        } else {
            "status"
        },
        layers
            .iter()
            .map(|l| format!("{}={l}", &l[..1]))
            .collect::<Vec<_>>()
            .join(" ")
    ))
    .map_err(e)?;
    const WIDTH: u64 = 40;
    for b in &bins {
        // Each layer's share of the bar, drawn with its initial.
        let mut bar = String::new();
        for (l, n) in layers.iter().zip(&b.counts) {
            let cells = (n * WIDTH).div_ceil(peak) as usize;
            bar.push_str(&l[..1].repeat(if *n > 0 { cells.max(1) } else { 0 }));
        }
        let line = format!("{:<16} {:>7}  {bar}", day(b.start_us), b.total);
        out.text(format_args!("{}\n", line.trim_end())).map_err(e)?;
    }
    out.flush().map_err(e)?;
    Ok(ExitCode::SUCCESS)
}

/// How a child names its parent: `parent` (parent_run_id), `plan`
/// (lineage.parent_plan_run_id) or `parent+plan`.
fn link_of(r: &crate::store::index::IndexedRun, parent: &str) -> &'static str {
    match (
        r.parent_run_id.as_deref() == Some(parent),
        r.plan_run_id.as_deref() == Some(parent),
    ) {
        (true, true) => "parent+plan",
        (false, true) => "plan",
        _ => "parent",
    }
}

/// `rmos runs children RUN_ID`: the newest runs naming the run as their parent or plan,
/// and how many there are. A run the store does not hold is an error unless runs name it
/// (a deleted plan still has its executions).
pub fn children(ctx: &Ctx, run_id: &str, limit: usize) -> Result<ExitCode, Failure> {
    use crate::store::index::ReconcileMode;
    crate::store::runs::validate_lookup_id(run_id)?;
    let mut index = ctx.open_index()?;
    super::progress::reconcile(&mut *index, ReconcileMode::Quick)?;
    let (runs, total) = index.children(run_id, limit)?;
    let exists = index.find(run_id)?.is_some();
    if !exists && total == 0 {
        return Err(crate::store::StoreError::NotFound {
            run_id: run_id.to_owned(),
            root: index.runs().root().to_path_buf(),
        }
        .into());
    }
    if !exists {
        tell!(
            "note: run {} is not in the store, but {total} run{} name it as parent or plan",
            sanitize(run_id),
            if total == 1 { "" } else { "s" }
        );
    }
    if ctx.json {
        let children: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                let mut e = r.log_entry();
                e["parent_run_id"] = json!(r.parent_run_id);
                e["plan_run_id"] = json!(r.plan_run_id);
                e["link"] = json!(link_of(r, run_id));
                e
            })
            .collect();
        super::print_json(&json!({
            "run_id": run_id,
            "exists": exists,
            "total": total,
            "children": children,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = super::out::Buffered::stdout();
    let e = super::output_error;
    out.text(format_args!(
        "{}: {total} child run{}{}\n",
        sanitize(run_id),
        if total == 1 { "" } else { "s" },
        if (runs.len() as u64) < total {
            format!(" (the newest {} shown; --limit N for more)", runs.len())
        } else {
            String::new()
        }
    ))
    .map_err(e)?;
    for r in &runs {
        let when = r.created_at.as_deref().unwrap_or("").replace('T', " ");
        let when: String = when.chars().take(19).collect();
        out.text(format_args!(
            "{when}  {}  {:<11} {:<10} {:<16} {:<7} {:<7} {:>6}\n",
            sanitize(&r.run_id),
            link_of(r, run_id),
            sanitize(r.mode.as_deref().unwrap_or("")),
            sanitize(r.tool_id.as_deref().unwrap_or("")),
            r.status.as_deref().unwrap_or(""),
            sanitize(r.risk_level.as_deref().unwrap_or("UNKNOWN")),
            r.score
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "-".into()),
        ))
        .map_err(e)?;
    }
    out.flush().map_err(e)?;
    Ok(ExitCode::SUCCESS)
}
