//! `rmos runs verify`: stream every artifact's verification outcome.

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
    let mut counts = [0u64; 4];
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
                    Some(reason),
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
    let [ok, mismatch, placeholder, invalid] = counts;
    if ctx.json {
        let summary = json!({"ok": ok, "mismatch": mismatch, "placeholder": placeholder, "invalid": invalid, "duplicate": duplicates, "unreadable_partitions": unreadable_partitions});
        out.json(&format!("],\"summary\":{summary}}}\n"))
            .map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    let total = ok + mismatch + placeholder + invalid + duplicates;
    tell!(
        "{total} artifacts in {}: {ok} ok, {mismatch} mismatch, {placeholder} placeholder, {invalid} invalid, {duplicates} duplicate{}",
        store.root().display(),
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
