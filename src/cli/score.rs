//! `rmos score FILE` and `rmos score --batch FILE.jsonl`.

use super::Exit;
use super::{output_error, print_json, Ctx, Failure};
use crate::scoring::runs::RunOptions;
use crate::scoring::service::{score_and_record, ScoreRequest, ScoreSource};
use crate::text::sanitize;
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal};
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
    say!("score      {:.2}  {}", result.score, result.risk_bucket);
    if let Some(e) = result.efficiency {
        say!("efficiency {e:.2} %");
    }
    if let Some(t) = result.estimated_cut_time_seconds {
        say!("cut time   {t:.2} s");
    }
    for w in &result.warnings {
        say!("  - {}", sanitize(w));
    }
    match &run {
        Some(r) => {
            say!("run        {} ({})", r.run_id, r.status.as_str());
            tell!(
                "recorded {} in {}",
                r.run_id,
                store.root().join(r.created_at_utc.partition()).display()
            );
        }
        None => tell!("dry run: nothing recorded"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn batch(ctx: &Ctx, file: &Path, dry_run: bool) -> Result<ExitCode, Failure> {
    // Progress by bytes: the file is read once, however large it is (stdin: unknown size).
    let (mut reader, total_bytes): (Box<dyn BufRead>, Option<u64>) = if file.as_os_str() == "-" {
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
    let mut out = super::out::Buffered::stdout();
    let mut n = 0usize;
    loop {
        n += 1;
        let line = match next_line(&mut reader, MAX_LINE_BYTES) {
            Ok(None) => break,
            Ok(Some((len, Ok(l)))) => {
                read_bytes += len;
                l
            }
            Ok(Some((len, Err(why)))) => {
                read_bytes += len;
                super::out::clear_status();
                tell!("line {n}: {why}");
                failed.push(n);
                continue;
            }
            Err(e) => {
                // A read error is not a bad line: nothing after it can be trusted.
                super::out::clear_status();
                tell!(
                    "line {n}: cannot read {}: {e}{}",
                    file.display(),
                    crate::advice::io(&e)
                );
                failed.push(n);
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let outcome = crate::fsio::read::check_json_budget(line.as_bytes())
            .map_err(|e| e.to_string())
            .and_then(|()| {
                serde_json::from_str::<Value>(&line)
                    .map_err(|e| crate::store::runs::describe_json_error(&e))
            })
            .and_then(|v| ScoreRequest::from_json(&v).map_err(|e| e.to_string()))
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
                    out.json_line(&row).map_err(output_error)?;
                }
            }
            Err(e) => {
                failed.push(n);
                if tty {
                    super::out::clear_status();
                }
                tell!("line {n}: {}", sanitize(&e));
                if ctx.json {
                    out.json_line(&json!({"line": n, "error": e}))
                        .map_err(output_error)?;
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
                    super::out::status(format_args!(
                        "scoring [{}{}] {}% · line {n}, {rate:.0}/s",
                        "#".repeat(done.min(width)),
                        ".".repeat(width - done.min(width)),
                        read_bytes.min(total) * 100 / total,
                    ));
                }
                None => super::out::status(format_args!("scoring · line {n}, {rate:.0}/s")),
            }
        }
    }
    out.flush().map_err(output_error)?;
    if tty {
        super::out::clear_status();
    }
    let secs = started.elapsed().as_secs_f64();
    tell!(
        "{scored} designs scored, {recorded} runs recorded{}, {} failed, in {secs:.2}s ({:.0} runs/s)",
        if dry_run { " (dry run)" } else { "" },
        failed.len(),
        recorded.max(scored) as f64 / secs.max(1e-9)
    );
    if let Some(n) = stopped_at {
        tell!(
            "stopped at line {n}: the run store cannot be written (see above). Lines 1-{} are done; \
             once that is fixed, continue with: tail -n +{n} {} | rmos score --batch -",
            n - 1,
            crate::text::shell_quote(&file.display().to_string())
        );
    }
    if !failed.is_empty() {
        let shown: Vec<String> = failed.iter().take(20).map(|n| n.to_string()).collect();
        tell!(
            "failed lines: {}{}",
            shown.join(", "),
            if failed.len() > 20 { ", …" } else { "" }
        );
        return Ok(Exit::Failure.into());
    }
    Ok(ExitCode::SUCCESS)
}

/// Longest line of a batch file (one design is a few kilobytes).
const MAX_LINE_BYTES: u64 = 16 * 1024 * 1024;

/// The next line of `r` (without its line feed) and the bytes it took, reading at most
/// `limit` bytes of it into memory: a longer line, or one that is not UTF-8, is skipped to
/// its end and reported. `None` at the end of the input.
fn next_line(
    r: &mut dyn BufRead,
    limit: u64,
) -> std::io::Result<Option<(u64, Result<String, String>)>> {
    use std::io::Read;
    let mut buf = Vec::new();
    let got = (&mut *r).take(limit + 1).read_until(b'\n', &mut buf)? as u64;
    if got == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if got > limit {
        // Skip the rest of the overlong line without keeping it.
        let mut skipped = got;
        loop {
            let (done, used) = {
                let avail = r.fill_buf()?;
                if avail.is_empty() {
                    (true, 0)
                } else {
                    match avail.iter().position(|&b| b == b'\n') {
                        Some(i) => (true, i + 1),
                        None => (false, avail.len()),
                    }
                }
            };
            r.consume(used);
            skipped += used as u64;
            if done {
                break;
            }
        }
        return Ok(Some((
            skipped,
            Err(format!("longer than {} MB: skipped", limit / (1024 * 1024))),
        )));
    }
    Ok(Some((
        got,
        String::from_utf8(buf).map_err(|_| "not UTF-8 text: skipped".to_owned()),
    )))
}
