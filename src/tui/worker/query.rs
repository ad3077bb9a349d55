//! The query workers: pages of the run list, counts, details and records, each worker on
//! its own connection to the run catalog (the storage seam's `RunCatalog`).

use crate::config::DataRoot;
use crate::filter::Filter;
use crate::store::index::{Cursor, Direction, IndexError, PageRequest, Sort};
use crate::store::seam::RunCatalog;
use crate::store::verify::verify_artifact;
use crate::store::ArtifactKey;
use crate::tui::msg::{Anchor, Details, Msg, Page, QueryCmd, RecordPart};
use chrono::Utc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use tokio::sync::mpsc::UnboundedSender;

/// Start a query worker: its own connection, answering [`QueryCmd`]s with [`Msg`]s. Bursts are
/// coalesced (only the newest generation's queries and counts run). `newest` is the newest
/// count generation the console asked for: a running count of an older one is interrupted,
/// so a slow count (text search over a million runs) never delays the next one.
pub fn spawn_data_worker(
    name: &str,
    root: DataRoot,
    out: UnboundedSender<Msg>,
    newest: Arc<AtomicU64>,
) -> mpsc::Sender<QueryCmd> {
    let (tx, rx) = mpsc::channel::<QueryCmd>();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            // Opened on first use and again after a failure (a full disk, a permission
            // fixed while the console runs): the console recovers without a restart.
            let mut index: Option<Box<dyn RunCatalog>> = None;
            let working = Arc::new(AtomicU64::new(0));
            let open = |index: &mut Option<Box<dyn RunCatalog>>| -> Result<(), String> {
                if index.is_none() {
                    let opened = root.catalog().map_err(|e| e.to_string())?;
                    let (working, newest) = (working.clone(), newest.clone());
                    opened.set_interrupt(Some(Arc::new(move || {
                        working.load(Ordering::Relaxed) < newest.load(Ordering::Relaxed)
                    })));
                    *index = Some(opened);
                }
                Ok(())
            };
            while let Ok(first) = rx.recv() {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let newest_gen = batch.iter().filter_map(QueryCmd::generation).max();
                // Counts are idempotent: of several waiting, only the last of each kind runs
                // (a burst of new runs asks for a recount after every one).
                let last_count = batch
                    .iter()
                    .rposition(|r| matches!(r, QueryCmd::Count { .. }));
                let last_newer = batch
                    .iter()
                    .rposition(|r| matches!(r, QueryCmd::CountNewer { .. }));
                for (i, req) in batch.into_iter().enumerate() {
                    if req.generation().is_some_and(|g| Some(g) < newest_gen) {
                        continue;
                    }
                    let superseded = match &req {
                        QueryCmd::Count { .. } => last_count.is_some_and(|l| l > i),
                        QueryCmd::CountNewer { .. } => last_newer.is_some_and(|l| l > i),
                        QueryCmd::Page { .. }
                        | QueryCmd::Position { .. }
                        | QueryCmd::SearchCount { .. }
                        | QueryCmd::FindMatch { .. }
                        | QueryCmd::LoadForViewer { .. }
                        | QueryCmd::LoadDetails { .. }
                        | QueryCmd::KnownEvents { .. }
                        | QueryCmd::OpenRun { .. }
                        | QueryCmd::Diff { .. }
                        | QueryCmd::Timeline(_)
                        | QueryCmd::Records(_)
                        | QueryCmd::LoadRecord { .. } => false,
                    };
                    if superseded {
                        continue;
                    }
                    // Sessions and snapshots are not in the run index.
                    if let QueryCmd::Records(kind) = req {
                        let rows = load_records(&root, kind);
                        if out.send(Msg::Records { kind, rows }).is_err() {
                            return;
                        }
                        continue;
                    }
                    working.store(req.generation().unwrap_or(u64::MAX), Ordering::Relaxed);
                    let msg = match open(&mut index) {
                        Ok(()) => {
                            let idx = index.as_deref().expect("opened above");
                            answer(idx, req)
                        }
                        Err(e) => unavailable(req, &e),
                    };
                    // The runs of a page that share their run_id with another file are
                    // marked in the list (a second, cheap lookup by run_id).
                    let dups = match (&msg, index.as_deref()) {
                        (Some(Msg::Page { page, .. }), Some(idx)) => {
                            let ids: Vec<&str> =
                                page.rows.iter().map(|r| r.run_id.as_str()).collect();
                            idx.duplicated(&ids).ok().filter(|d| !d.is_empty())
                        }
                        _ => None,
                    };
                    if let Some(msg) = msg {
                        if out.send(msg).is_err() {
                            return;
                        }
                    }
                    if let Some(run_ids) = dups {
                        if out.send(Msg::Duplicates { run_ids }).is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .expect("spawn data worker");
    tx
}

/// The answer to a request when the index cannot be opened.
fn unavailable(req: QueryCmd, error: &str) -> Option<Msg> {
    let error = format!("the index is unavailable: {error}");
    Some(match req {
        QueryCmd::Page { generation, .. } | QueryCmd::Count { generation, .. } => {
            Msg::QueryFailed { generation, error }
        }
        QueryCmd::LoadDetails {
            partition,
            file_name,
        } => Msg::Details {
            details: Box::new(Details {
                path: String::new(),
                artifact: None,
                error: Some(error),
                verify: "invalid".into(),
                verify_detail: None,
                children: Vec::new(),
                children_total: 0,
                partition: partition.clone(),
                file_name: file_name.clone(),
            }),
            partition,
            file_name,
        },
        QueryCmd::OpenRun { run_id } => Msg::RunFound {
            run_id,
            row: Err(error),
        },
        QueryCmd::Diff { a, b } => Msg::Diff {
            a,
            b,
            changes: Err(error),
        },
        QueryCmd::Timeline(q) => Msg::Timeline {
            seq: q.seq,
            bins: Err(error),
        },
        QueryCmd::Records(kind) => Msg::Records {
            kind,
            rows: Err(error),
        },
        QueryCmd::LoadRecord { label, .. } => Msg::Record {
            label,
            text: Err(error),
        },
        // Hints only: nothing waits for them.
        QueryCmd::FindMatch {
            search, forward, ..
        } => Msg::MatchFound {
            search,
            forward,
            row: Err(error),
        },
        QueryCmd::LoadForViewer { run_id, viewer, .. } => Msg::ViewerText {
            run_id,
            viewer,
            text: Err(error),
        },
        QueryCmd::KnownEvents { .. }
        | QueryCmd::CountNewer { .. }
        | QueryCmd::SearchCount { .. }
        | QueryCmd::Position { .. } => return None,
    })
}

fn page(
    index: &dyn RunCatalog,
    filter: &Filter,
    sort: Sort,
    direction: Direction,
    bound: Option<(Cursor, bool)>,
    limit: usize,
) -> Result<(Vec<crate::store::index::IndexedRun>, bool), IndexError> {
    index.page(&PageRequest {
        filter: filter.clone(),
        include_invalid: true,
        direction,
        bound,
        limit,
        now: Utc::now(),
        sort,
    })
}

fn window(
    index: &dyn RunCatalog,
    filter: &Filter,
    sort: Sort,
    anchor: &Anchor,
    limit: usize,
) -> Result<Page, IndexError> {
    Ok(match anchor {
        Anchor::Top => {
            let (rows, more) = page(index, filter, sort, Direction::Older, None, limit)?;
            Page {
                anchor: anchor.clone(),
                rows,
                more_before: false,
                more_after: more,
            }
        }
        Anchor::Bottom => {
            let (mut rows, more) = page(index, filter, sort, Direction::Newer, None, limit)?;
            rows.reverse();
            Page {
                anchor: anchor.clone(),
                rows,
                more_before: more,
                more_after: false,
            }
        }
        Anchor::After(k) => {
            let (rows, more) = page(
                index,
                filter,
                sort,
                Direction::Older,
                Some((k.clone(), false)),
                limit,
            )?;
            Page {
                anchor: anchor.clone(),
                rows,
                more_before: true,
                more_after: more,
            }
        }
        Anchor::Before(k) => {
            let (mut rows, more) = page(
                index,
                filter,
                sort,
                Direction::Newer,
                Some((k.clone(), false)),
                limit,
            )?;
            rows.reverse();
            Page {
                anchor: anchor.clone(),
                rows,
                more_before: more,
                more_after: true,
            }
        }
        Anchor::Around(k) => {
            let half = (limit / 2).max(1);
            let (mut newer, more_before) = page(
                index,
                filter,
                sort,
                Direction::Newer,
                Some((k.clone(), false)),
                half,
            )?;
            newer.reverse();
            let (older, more_after) = page(
                index,
                filter,
                sort,
                Direction::Older,
                Some((k.clone(), true)),
                half,
            )?;
            if newer.is_empty() && older.is_empty() && !sort.is_default() {
                // The row the window was around is gone (its key cannot be read back in
                // this order): start again from the top.
                return window(index, filter, sort, &Anchor::Top, limit);
            }
            newer.extend(older);
            Page {
                anchor: anchor.clone(),
                rows: newer,
                more_before,
                more_after,
            }
        }
    })
}

/// The workflow sessions (newest first, up to 5000) or the design snapshots, as the
/// views list them, with how many snapshot files could not be read.
pub fn load_records(
    root: &DataRoot,
    kind: crate::tui::records::RecordKind,
) -> Result<(Vec<crate::tui::records::RecordRow>, usize), String> {
    use crate::tui::records::{session_row, snapshot_row, RecordKind};
    match kind {
        RecordKind::Sessions => {
            let store = root.sessions().map_err(|e| e.to_string())?;
            let rows = store.list(None, None, 5000).map_err(|e| e.to_string())?;
            Ok((rows.iter().map(session_row).collect(), 0))
        }
        RecordKind::Snapshots => {
            let store = crate::store::snapshots::SnapshotStore::new(root.snapshots_dir.clone());
            let (rows, invalid) = store.list(None, 5000, 0).map_err(|e| e.to_string())?;
            Ok((rows.iter().map(snapshot_row).collect(), invalid))
        }
    }
}

/// The timeline's bins: the span ends at `end_us`, else at the newest run (else now).
pub fn timeline(
    index: &dyn RunCatalog,
    q: &crate::tui::timeline::TimelineQuery,
) -> Result<Vec<crate::store::index::TimelineBin>, String> {
    let now = Utc::now();
    let end = match q.end_us {
        Some(t) => t,
        None => index
            .newest_us()
            .map_err(|e| e.to_string())?
            .unwrap_or_else(|| now.timestamp_micros()),
    };
    index
        .timeline(&q.filter, q.bucket, q.buckets, end, q.by, now)
        .map_err(|e| e.to_string())
}

/// The structural differences from run `a` to run `b`, as `rmos runs diff` shows them.
pub fn diff_runs(
    index: &dyn RunCatalog,
    a: &str,
    b: &str,
) -> Result<Vec<crate::domain::diff::Change>, String> {
    let load = |id: &str| -> Result<serde_json::Value, String> {
        let (run, _) = index.runs().get(id).map_err(|e| e.to_string())?;
        serde_json::to_value(&run).map_err(|e| format!("{id}: {e}"))
    };
    Ok(crate::domain::diff::diff(&load(a)?, &load(b)?))
}

/// Load what the details pane shows for one file.
pub fn load_details(index: &dyn RunCatalog, partition: &str, file_name: &str) -> Details {
    match index
        .runs()
        .load_key(&ArtifactKey::new(partition, file_name))
    {
        Ok((a, path)) => {
            let (outcome, detail) = verify_artifact(&a);
            // One run_id in several partitions: which record is real cannot be told, so
            // the pane says so instead of showing this one as the run.
            let elsewhere: Vec<String> = index
                .runs()
                .locate_all(&a.run_id)
                .unwrap_or_default()
                .into_iter()
                .map(|(p, _)| p)
                .filter(|p| p != partition)
                .collect();
            let (verify, verify_detail) = if elsewhere.is_empty() {
                (outcome.as_str().to_owned(), detail)
            } else {
                (
                    "duplicate".to_owned(),
                    Some(format!(
                        "the same run_id is also in partition {} (hash {}): run_ids are unique, so which record is the real one cannot be told",
                        elsewhere.join(", "),
                        outcome.as_str()
                    )),
                )
            };
            // The runs derived from this one (a failed lookup shows none: the details
            // still show the run itself).
            let (children, children_total) = index
                .children(&a.run_id, crate::tui::msg::CHILDREN_SHOWN)
                .map(|(rows, total)| (rows.into_iter().map(|r| r.run_id).collect(), total))
                .unwrap_or_default();
            Details {
                partition: partition.to_owned(),
                file_name: file_name.to_owned(),
                path: path.display().to_string(),
                artifact: Some(Box::new(a)),
                error: None,
                verify,
                verify_detail,
                children,
                children_total,
            }
        }
        Err((path, reason)) => Details {
            partition: partition.to_owned(),
            file_name: file_name.to_owned(),
            path: path.display().to_string(),
            artifact: None,
            // A shared index lists other hosts' runs: their files are read there.
            error: Some(
                match file_name
                    .strip_suffix(".json")
                    .and_then(|id| index.elsewhere(id).ok().flatten())
                {
                    Some(there) => format!(
                        "this run's file lives on {there}, not on this machine: open it there (rmos logs show on that host)"
                    ),
                    None => reason,
                },
            ),
            verify: "invalid".into(),
            verify_detail: None,
            children: Vec::new(),
            children_total: 0,
        },
    }
}

fn answer(index: &dyn RunCatalog, req: QueryCmd) -> Option<Msg> {
    Some(match req {
        QueryCmd::Page {
            generation,
            filter,
            sort,
            anchor,
            limit,
        } => match window(index, &filter, sort, &anchor, limit) {
            Ok(page) => Msg::Page { generation, page },
            Err(e) => Msg::QueryFailed {
                generation,
                error: e.to_string(),
            },
        },
        QueryCmd::Count { generation, filter } => match index.count(&filter, true, Utc::now()) {
            Ok(count) => Msg::Count { generation, count },
            Err(IndexError::Interrupted) => return None,
            Err(e) => Msg::QueryFailed {
                generation,
                error: e.to_string(),
            },
        },
        QueryCmd::CountNewer { filter, than } => match index.count_newer(&filter, &than, 100_000) {
            Ok(count) => Msg::Newer { count },
            Err(_) => return None,
        },
        QueryCmd::LoadForViewer {
            partition,
            file_name,
            run_id,
            viewer,
        } => {
            let key = ArtifactKey::new(partition, file_name);
            // Any file, valid or not, as the bytes say: invalid UTF-8 shown replaced, and
            // every escape sequence or invisible character made visible.
            let text = index
                .runs()
                .read_bytes(&key)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    crate::fsio::read::check_json_budget(&b).map_err(|e| e.to_string())?;
                    Ok(crate::text::escape_for_terminal(&String::from_utf8_lossy(&b)).into_owned())
                });
            Msg::ViewerText {
                run_id,
                viewer,
                text,
            }
        }
        QueryCmd::SearchCount { search, filter } => match index.count(&filter, true, Utc::now()) {
            Ok(count) => Msg::SearchCount { search, count },
            Err(_) => return None,
        },
        QueryCmd::FindMatch {
            search,
            filter,
            sort,
            from,
            forward,
        } => {
            let direction = if forward {
                Direction::Older
            } else {
                Direction::Newer
            };
            Msg::MatchFound {
                search,
                forward,
                row: page(index, &filter, sort, direction, Some((from, false)), 1)
                    .map(|(rows, _)| rows.into_iter().next().map(Box::new))
                    .map_err(|e| e.to_string()),
            }
        }
        QueryCmd::Position {
            generation,
            filter,
            sort,
            first,
        } => match index.count_ahead(&filter, sort, &first, i64::MAX as u64) {
            Ok(before) => Msg::Position {
                generation,
                first,
                before,
            },
            Err(_) => return None,
        },
        QueryCmd::KnownEvents { generation } => {
            match index.event_types(40) {
                // Shown through the status line, which sanitizes.
                Ok(events) => Msg::KnownEvents { generation, events },
                Err(_) => return None,
            }
        }
        QueryCmd::OpenRun { run_id } => {
            let row = index
                .find(&run_id)
                .map(|r| r.map(Box::new))
                .map_err(|e| e.to_string());
            Msg::RunFound { run_id, row }
        }
        QueryCmd::Diff { a, b } => {
            let changes = diff_runs(index, &a, &b);
            Msg::Diff { a, b, changes }
        }
        QueryCmd::Timeline(q) => Msg::Timeline {
            seq: q.seq,
            bins: timeline(index, &q),
        },
        // Answered before the index is opened (see the worker's loop).
        QueryCmd::Records(kind) => Msg::Records {
            kind,
            rows: Err("not in the run index".into()),
        },
        QueryCmd::LoadDetails {
            partition,
            file_name,
        } => {
            let details = Box::new(load_details(index, &partition, &file_name));
            Msg::Details {
                partition,
                file_name,
                details,
            }
        }
        QueryCmd::LoadRecord {
            partition,
            file_name,
            part: RecordPart::Path,
            label,
        } => {
            let key = ArtifactKey::new(partition, file_name);
            let path = index.runs().path_of(&key);
            Msg::Record {
                label,
                text: path
                    .to_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("the path {} is not UTF-8", path.display())),
            }
        }
        QueryCmd::LoadRecord {
            partition,
            file_name,
            part: RecordPart::FeasibilityHash,
            label,
        } => {
            let key = ArtifactKey::new(partition, file_name);
            let text = match index.runs().load_key(&key) {
                Ok((a, _)) => Ok(a.hashes.feasibility_sha256),
                Err((_, e)) => Err(format!("the record cannot be read: {e}")),
            };
            Msg::Record { label, text }
        }
        QueryCmd::LoadRecord {
            partition,
            file_name,
            part: RecordPart::Json,
            label,
        } => {
            let key = ArtifactKey::new(partition, file_name);
            // Only a well-formed JSON document is copied: the raw bytes of a broken file
            // could hold anything (a bracketed-paste terminator, shell commands).
            let text = index
                .runs()
                .read_bytes(&key)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    let text = String::from_utf8(b)
                        .map_err(|_| "the file is not UTF-8 text".to_owned())?;
                    crate::fsio::read::check_json_budget(text.as_bytes())
                        .map_err(|e| e.to_string())?;
                    serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| {
                        format!(
                            "the file is not a valid JSON record ({}): nothing was copied",
                            crate::store::runs::describe_json_error(&e)
                        )
                    })?;
                    Ok(text)
                });
            Msg::Record { label, text }
        }
    })
}
