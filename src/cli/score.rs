//! `rmos score FILE` and `rmos score --batch FILE.jsonl`.

use super::{output_error, print_json, Ctx, Failure};
use crate::scoring::runs::RunOptions;
use crate::scoring::service::{score_and_record, ScoreRequest, ScoreSource};
use crate::text::sanitize;
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

pub fn single(ctx: &Ctx, file: &Path, dry_run: bool) -> Result<ExitCode, Failure> {
    let v = super::input::read_json_input(file)?;
    let req = ScoreRequest::from_json(&v)
        .map_err(|e| Failure::new(format!("{}: {e}", file.display())))?;
    let store = ctx.root.run_store();
    let (result, run) = score_and_record(
        &store,
        &req,
        ScoreSource::Single,
        dry_run,
        RunOptions::default(),
    )
    .map_err(|e| Failure::new(e.to_string()))?;
    let run_id = run.as_ref().map(|r| r.run_id.clone());
    if ctx.json {
        print_json(&json!({"result": result, "run_id": run_id}))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("score      {:.2}  {}", result.score, result.risk_bucket);
    if let Some(e) = result.efficiency {
        println!("efficiency {e:.2} %");
    }
    if let Some(t) = result.estimated_cut_time_seconds {
        println!("cut time   {t:.2} s");
    }
    for w in &result.warnings {
        println!("  - {}", sanitize(w));
    }
    match &run {
        Some(r) => {
            println!("run        {} ({})", r.run_id, r.status.as_str());
            eprintln!(
                "recorded {} in {}",
                r.run_id,
                store.root().join(r.created_at_utc.partition()).display()
            );
        }
        None => eprintln!("dry run: nothing recorded"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn batch(ctx: &Ctx, file: &Path, dry_run: bool) -> Result<ExitCode, Failure> {
    // Progress by bytes: the file is read once, however large it is (stdin: unknown size).
    let (reader, total_bytes): (Box<dyn BufRead>, Option<u64>) = if file.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = std::fs::File::open(file).map_err(|e| {
            Failure::new(format!(
                "cannot read {}: {e}{}",
                file.display(),
                crate::advice::io(&e)
            ))
        })?;
        let size = f.metadata().map(|m| m.len()).ok().filter(|&s| s > 0);
        (Box::new(std::io::BufReader::new(f)), size)
    };
    let mut read_bytes = 0u64;
    let store = ctx.root.run_store();
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_draw = Instant::now();
    let (mut scored, mut recorded, mut failed) = (0u64, 0u64, Vec::<usize>::new());
    let mut stopped_at: Option<usize> = None;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = match line {
            Ok(l) => {
                read_bytes += l.len() as u64 + 1;
                l
            }
            Err(e) => {
                eprintln!("\r\x1b[2Kline {n}: cannot read: {e}");
                failed.push(n);
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let outcome = serde_json::from_str::<Value>(&line)
            .map_err(|e| crate::store::runs::describe_json_error(&e))
            .and_then(|v| ScoreRequest::from_json(&v))
            .and_then(|req| {
                score_and_record(
                    &store,
                    &req,
                    ScoreSource::Batch,
                    dry_run,
                    RunOptions::default(),
                )
                .map_err(|e| {
                    if e.is_environmental() {
                        stopped_at = Some(n);
                    }
                    e.to_string()
                })
            });
        match outcome {
            Ok((result, run)) => {
                scored += 1;
                recorded += u64::from(run.is_some());
                if ctx.json {
                    let row = json!({"line": n, "result": result, "run_id": run.map(|r| r.run_id)});
                    writeln!(out, "{row}").map_err(output_error)?;
                }
            }
            Err(e) => {
                failed.push(n);
                if tty {
                    eprint!("\r\x1b[2K");
                }
                eprintln!("line {n}: {}", sanitize(&e));
                if ctx.json {
                    writeln!(out, "{}", json!({"line": n, "error": e})).map_err(output_error)?;
                }
                if stopped_at.is_some() {
                    // The store cannot take writes: every further line would fail alike.
                    break;
                }
            }
        }
        if tty && last_draw.elapsed().as_millis() >= 100 {
            last_draw = Instant::now();
            let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-9);
            match total_bytes {
                Some(total) => {
                    let width = 30;
                    let done = ((read_bytes.min(total) * width as u64) / total) as usize;
                    eprint!(
                        "\r\x1b[2Kscoring [{}{}] {}% · line {n}, {rate:.0}/s",
                        "#".repeat(done.min(width)),
                        ".".repeat(width - done.min(width)),
                        read_bytes.min(total) * 100 / total,
                    );
                }
                None => eprint!("\r\x1b[2Kscoring · line {n}, {rate:.0}/s"),
            }
        }
    }
    out.flush().map_err(output_error)?;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{scored} designs scored, {recorded} runs recorded{}, {} failed, in {secs:.2}s ({:.0} runs/s)",
        if dry_run { " (dry run)" } else { "" },
        failed.len(),
        recorded.max(scored) as f64 / secs.max(1e-9)
    );
    if let Some(n) = stopped_at {
        eprintln!(
            "stopped at line {n}: the run store cannot be written (see above). Lines 1-{} are done; \
             once that is fixed, continue with: tail -n +{n} {} | rmos score --batch -",
            n - 1,
            file.display()
        );
    }
    if !failed.is_empty() {
        let shown: Vec<String> = failed.iter().take(20).map(|n| n.to_string()).collect();
        eprintln!(
            "failed lines: {}{}",
            shown.join(", "),
            if failed.len() > 20 { ", …" } else { "" }
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
