//! The database watch: other processes' commits to the shared databases.

use crate::tui::msg::Msg;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// What another connection changed in a shared database, by the signatures it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SharedSignature {
    /// The run index's last changing reconcile (any process's).
    runs: Option<String>,
    /// The review queue: the newest decision and the newest asset (both are insert-only).
    review: Option<(i64, i64)>,
}

fn shared_signature(conn: &rusqlite::Connection) -> SharedSignature {
    SharedSignature {
        runs: conn
            .query_row(
                "SELECT value FROM run_index_meta WHERE key = 'last_reconcile_utc'",
                [],
                |r| r.get(0),
            )
            .ok(),
        review: conn
            .query_row(
                "SELECT (SELECT coalesce(max(seq), 0) FROM review_decisions),
                        (SELECT coalesce(max(rowid), 0) FROM advisory_assets)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ok(),
    }
}

/// Watch the shared databases (the run index, and `rmos.db` when the index is elsewhere)
/// for commits by any other connection — another console, a CLI, a batch scorer, a
/// reviewer — and tell the console what changed. Each poll reads two small signatures
/// (the run index's last changing reconcile, the newest decision and asset: index
/// lookups, microseconds). This is the seam a server database fills with LISTEN/NOTIFY.
pub fn spawn_db_watch(
    paths: Vec<std::path::PathBuf>,
    out: UnboundedSender<Msg>,
    every: Duration,
    own_mark: Arc<std::sync::Mutex<Option<String>>>,
) {
    use rusqlite::OpenFlags;
    let open = |path: &std::path::Path| {
        let c = rusqlite::Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        let _ = c.busy_timeout(Duration::from_millis(200));
        Some(c)
    };
    // The first signatures are taken now, before the console's first query: a commit made
    // after this moment is either in that query's answer or seen by the next poll.
    let mut dbs: Vec<(
        std::path::PathBuf,
        Option<rusqlite::Connection>,
        bool,
        SharedSignature,
    )> = paths
        .into_iter()
        .map(|p| {
            let conn = open(&p);
            let sig = conn.as_ref().map(shared_signature);
            let seen = sig
                .as_ref()
                .is_some_and(|s| s.runs.is_some() || s.review.is_some());
            (p, conn, seen, sig.unwrap_or_default())
        })
        .collect();
    std::thread::Builder::new()
        .name("rmos-db-watch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(every);
                if out.is_closed() {
                    return;
                }
                let (mut runs, mut review) = (false, false);
                for (path, conn, seen, sig) in dbs.iter_mut() {
                    if conn.is_none() {
                        *conn = open(path);
                    }
                    let Some(c) = conn.as_ref() else { continue };
                    // The signatures are a few index lookups: read on every poll (a
                    // data_version check alone can miss a commit that a read on the same
                    // connection already took in).
                    let now = shared_signature(c);
                    if now.runs.is_none() && now.review.is_none() {
                        *conn = None;
                        continue;
                    }
                    if *seen {
                        // This console's own reconcile already refreshed what it changed.
                        let own =
                            now.runs.is_some() && *own_mark.lock().expect("mark lock") == now.runs;
                        runs |= now.runs != sig.runs && !own;
                        review |= now.review != sig.review;
                    }
                    *seen = true;
                    *sig = now;
                }
                if (runs || review) && out.send(Msg::SharedChange { runs, review }).is_err() {
                    return;
                }
            }
        })
        .expect("spawn the database watch thread");
}
