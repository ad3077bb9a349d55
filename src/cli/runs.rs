//! `rmos runs verify`: stream every artifact's verification outcome.

use super::{Ctx, Failure};
use crate::store::runs::read_artifact_file;
use crate::store::verify::{verify_artifact, VerifyOutcome};
use crate::text::sanitize;
use serde_json::json;
use std::io::Write;
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
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts = [0u64; 4];
    let mut unreadable_partitions = 0u64;
    let mut first = true;
    if ctx.json {
        write!(out, "{{\"results\":[").map_err(out_err)?;
    }
    for partition in store.partitions()? {
        let files = match store.partition_files(&partition) {
            Ok(files) => files,
            Err(e) => {
                // Report the folder and go on: one unreadable partition hides no others.
                unreadable_partitions += 1;
                let path = store.partition_dir(&partition).display().to_string();
                let detail = e.to_string();
                if ctx.json {
                    let row = json!({"run_id": null, "path": path, "outcome": "invalid", "detail": detail});
                    write!(out, "{}{}", if first { "" } else { "," }, row).map_err(out_err)?;
                    first = false;
                } else {
                    writeln!(
                        out,
                        "{:<11} {}/  (partition)\n            {}",
                        "invalid",
                        sanitize(&path),
                        sanitize(&detail)
                    )
                    .map_err(out_err)?;
                }
                continue;
            }
        };
        for file in files {
            let (run_id, outcome, detail) = match read_artifact_file(&file.path) {
                Ok(a) => {
                    let (o, d) = verify_artifact(&a);
                    (a.run_id, o, d)
                }
                Err(reason) => (file.stem.clone(), VerifyOutcome::Invalid, Some(reason)),
            };
            counts[outcome as usize] += 1;
            let path = file.path.display().to_string();
            if ctx.json {
                let row = json!({"run_id": run_id, "path": path, "outcome": outcome.as_str(), "detail": detail});
                write!(out, "{}{}", if first { "" } else { "," }, row).map_err(out_err)?;
                first = false;
            } else {
                write!(
                    out,
                    "{:<11} {}  {}",
                    outcome.as_str(),
                    sanitize(&run_id),
                    sanitize(&path)
                )
                .map_err(out_err)?;
                if outcome != VerifyOutcome::Ok {
                    if let Some(d) = detail {
                        write!(out, "\n            {}", sanitize(&d)).map_err(out_err)?;
                    }
                }
                writeln!(out).map_err(out_err)?;
            }
        }
    }
    let [ok, mismatch, placeholder, invalid] = counts;
    if ctx.json {
        let summary = json!({"ok": ok, "mismatch": mismatch, "placeholder": placeholder, "invalid": invalid, "unreadable_partitions": unreadable_partitions});
        writeln!(out, "],\"summary\":{summary}}}").map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    let total = ok + mismatch + placeholder + invalid;
    eprintln!(
        "{total} artifacts in {}: {ok} ok, {mismatch} mismatch, {placeholder} placeholder, {invalid} invalid{}",
        store.root().display(),
        match unreadable_partitions {
            0 => String::new(),
            1 => "; 1 partition could not be read (its runs were not checked)".to_owned(),
            n => format!("; {n} partitions could not be read (their runs were not checked)"),
        }
    );
    if mismatch + invalid + unreadable_partitions > 0 {
        eprintln!("integrity problems found: mismatch = edited or corrupted after writing; invalid = unreadable (see detail)");
        Ok(ExitCode::from(1))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}
