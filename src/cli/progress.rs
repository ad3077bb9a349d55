//! Reconcile progress on stderr (only when stderr is a terminal, at most 5 updates a second).

use crate::store::index::{ReconcileMode, ReconcileProgress, ReconcileStats, RunIndex};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Reconcile `index`, showing progress on a terminal.
pub fn reconcile(
    index: &mut RunIndex,
    mode: ReconcileMode,
) -> Result<ReconcileStats, super::Failure> {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = Instant::now();
    let mut shown = false;
    let stats = index.reconcile(mode, &mut |p: &ReconcileProgress| {
        if tty
            && started.elapsed() > Duration::from_millis(300)
            && last.elapsed() > Duration::from_millis(200)
        {
            last = Instant::now();
            shown = true;
            eprint!(
                "\r\x1b[2Kindexing {}: partition {}/{}, {} files parsed",
                p.current, p.partitions_done, p.partitions_total, p.files_parsed
            );
            let _ = std::io::stderr().flush();
        }
    })?;
    if shown {
        eprint!("\r\x1b[2K");
    }
    Ok(stats)
}
