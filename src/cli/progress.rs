//! Reconcile progress on stderr (only when stderr is a terminal, at most 5 updates a second).

use crate::store::index::{IndexError, ReconcileMode, ReconcileProgress, ReconcileStats};
use crate::store::seam::RunCatalog;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// Run `work` with a progress callback that draws on a terminal's stderr.
pub fn with_progress<T>(
    work: impl FnOnce(&mut dyn FnMut(&ReconcileProgress)) -> Result<T, IndexError>,
) -> Result<T, super::Failure> {
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last = Instant::now();
    let mut shown = false;
    let result = work(&mut |p: &ReconcileProgress| {
        if tty
            && started.elapsed() > Duration::from_millis(300)
            && last.elapsed() > Duration::from_millis(200)
        {
            last = Instant::now();
            shown = true;
            super::out::status(format_args!(
                "indexing {}: partition {}/{}, {} files parsed",
                p.current, p.partitions_done, p.partitions_total, p.files_parsed
            ));
        }
    });
    if shown {
        super::out::clear_status();
    }
    Ok(result?)
}

/// Reconcile `index`, showing progress on a terminal.
pub fn reconcile(
    index: &mut dyn RunCatalog,
    mode: ReconcileMode,
) -> Result<ReconcileStats, super::Failure> {
    let stats = with_progress(|cb| index.reconcile(mode, cb))?;
    warn_unreadable(index, &stats);
    Ok(stats)
}

/// Say on stderr which partitions could not be read (their runs are left out or stale).
pub fn warn_unreadable(index: &dyn RunCatalog, stats: &ReconcileStats) {
    for (partition, reason) in &stats.unreadable {
        tell!(
            "warning: cannot read partition {}: {}",
            index.runs().partition_dir(partition).display(),
            crate::text::sanitize(reason)
        );
    }
}
