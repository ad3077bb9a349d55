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

/// How long a quick reconcile waits for a running watcher to vouch for the index before
/// looking for itself (a watcher answers within milliseconds unless it is mid-way through
/// a long pass).
const VOUCH_WAIT: Duration = Duration::from_millis(300);

/// Reconcile `index`, showing progress on a terminal. A quick reconcile first asks a
/// running watcher (an open console, `rmos index watch`) to vouch that the index already
/// holds every change made before this call (`store::vouch`; its file events cover what
/// folder times do not show, such as a file rewritten in place): then nothing is listed
/// or stat-ed. Without such a watcher, or when it cannot vouch, the folders are compared.
pub fn reconcile(
    index: &mut dyn RunCatalog,
    mode: ReconcileMode,
) -> Result<ReconcileStats, super::Failure> {
    if mode == ReconcileMode::Quick && std::env::var_os("RMOS_NO_VOUCH").is_none() {
        let asked = Instant::now();
        let answer = crate::store::vouch::ask(index.runs().root(), &index.location(), VOUCH_WAIT);
        if std::env::var_os("RMOS_DEBUG_TIMING").is_some() {
            tell!(
                "rmos: freshness: {answer:?} after {:.1} ms",
                asked.elapsed().as_secs_f64() * 1e3
            );
        }
        if answer == crate::store::vouch::Answer::Vouched {
            return Ok(ReconcileStats::default());
        }
    }
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
