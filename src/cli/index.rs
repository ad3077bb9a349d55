//! `rmos index rebuild|status|export-reference`.

use super::Exit;
use super::{print_json, progress, Ctx, Failure};
use std::process::ExitCode;
use std::time::Instant;

pub fn rebuild(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let mut index = ctx.open_index()?;
    let started = Instant::now();
    let stats = progress::with_progress(|cb| index.rebuild(cb))?;
    let secs = started.elapsed().as_secs_f64();
    progress::warn_unreadable(&*index, &stats);
    if ctx.json {
        let mut v = serde_json::to_value(&stats).expect("stats serialize");
        v["seconds"] = serde_json::json!(secs);
        print_json(&v)?;
    }
    tell!(
        "index rebuilt from {}: {} files in {} partitions ({} invalid) in {secs:.2}s",
        index.runs().root().display(),
        stats.parsed,
        stats.partitions_scanned,
        stats.invalid
    );
    Ok(if stats.unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        Exit::Failure.into()
    })
}

pub fn status(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let index = ctx.open_index()?;
    let st = index.status()?;
    if ctx.json {
        print_json(&serde_json::to_value(&st).expect("status serializes"))?;
    } else {
        say!("database      {}", st.db_path);
        say!("runs root     {}", st.runs_root);
        say!("runs          {}", st.runs);
        say!("invalid files {}", st.invalid);
        say!("partitions    {}", st.partitions);
        say!(
            "last updated        {}",
            st.last_reconcile_utc.as_deref().unwrap_or("never")
        );
        say!(
            "last full reconcile {}",
            st.last_full_reconcile_utc.as_deref().unwrap_or("never")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `rmos index export-reference`: rewrite the reference's `_index.json` from the files.
pub fn export_reference(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let store = ctx.root.run_store();
    let report = crate::store::reference_index::export(&store)?;
    for s in &report.skipped {
        tell!("skipped {}", crate::text::sanitize(s));
    }
    if ctx.json {
        print_json(&serde_json::to_value(&report).expect("report serializes"))?;
    }
    tell!(
        "{} written: {} runs ({} kept the reference's tombstone or rollup keys, {} entries without a run file dropped{})",
        store.root().join(crate::store::reference_index::REFERENCE_INDEX).display(),
        report.entries,
        report.merged,
        report.dropped,
        match report.skipped.len() {
            0 => String::new(),
            n => format!(", {n} unreadable files left out"),
        }
    );
    Ok(if report.skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        Exit::Failure.into()
    })
}

/// Set by SIGTERM / SIGINT: the indexer stops after its current pass.
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// `rmos index watch`: the headless indexer of this host, until SIGTERM or Ctrl-C.
pub fn watch(ctx: &Ctx, full_every: u64) -> Result<ExitCode, Failure> {
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe {
        let h = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGTERM, h);
        libc::signal(libc::SIGINT, h);
    }
    let timing = crate::store::indexer::IndexerTiming {
        full: std::time::Duration::from_secs(full_every),
        ..Default::default()
    };
    let host = ctx.root.host.clone();
    let mut log = |level: &str, event: &str, fields: serde_json::Value| {
        let mut line = serde_json::json!({
            "ts": crate::domain::Timestamp::now().to_pydantic(),
            "level": level,
            "event": event,
            "host": host,
        });
        if let (Some(m), serde_json::Value::Object(f)) = (line.as_object_mut(), fields) {
            m.extend(f);
        }
        tell!("{line}");
    };
    crate::store::indexer::run(
        || ctx.root.catalog(),
        ctx.root.runs_dir.clone(),
        timing,
        &STOP,
        &mut log,
    );
    Ok(ExitCode::SUCCESS)
}
