//! Background workers of the console: the query worker (pages, counts, details) and the
//! reconciler (notify watcher + periodic scans keeping the index in line with the files).
//! Both own their SQLite connection and answer with [`Msg`]s on the UI's channel.

use super::app::{Anchor, Details, Msg, Page, QueryCmd};
use super::queue::{PreviewBody, PreviewData, QueueCmd, StatusFilter};
use crate::config::DataRoot;
use crate::filter::Filter;
use crate::store::advisory::{
    reviewer_identity, AdvisoryAsset, AdvisoryStore, AssetType, DecisionRequest, ReviewState,
    ReviewerPolicy,
};
use crate::store::index::{Cursor, Direction, IndexError, PageRequest, ReconcileMode, RunIndex};
use crate::store::verify::verify_artifact;
use chrono::Utc;
use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
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
            let mut index: Option<RunIndex> = None;
            let working = Arc::new(AtomicU64::new(0));
            let open = |index: &mut Option<RunIndex>| -> Result<(), String> {
                if index.is_none() {
                    let opened = RunIndex::open(&root).map_err(|e| e.to_string())?;
                    let (working, newest) = (working.clone(), newest.clone());
                    opened.connection().progress_handler(
                        10_000,
                        Some(move || {
                            working.load(Ordering::Relaxed) < newest.load(Ordering::Relaxed)
                        }),
                    );
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
                        | QueryCmd::LoadDetails { .. }
                        | QueryCmd::KnownEvents { .. }
                        | QueryCmd::OpenRun { .. }
                        | QueryCmd::LoadRecord { .. } => false,
                    };
                    if superseded {
                        continue;
                    }
                    working.store(req.generation().unwrap_or(u64::MAX), Ordering::Relaxed);
                    let msg = match open(&mut index) {
                        Ok(()) => {
                            let idx = index.as_ref().expect("opened above");
                            answer(idx, req)
                        }
                        Err(e) => unavailable(req, &e),
                    };
                    if let Some(msg) = msg {
                        if out.send(msg).is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .expect("spawn data worker");
    tx
}

/// Start the review-queue worker: its own advisory-store connection (opened on first use
/// and again after a failure), answering [`QueueCmd`]s in order with [`Msg`]s. Separate
/// from the query workers, so a decision being written never delays a page of runs and
/// the queue works even when the run index cannot be opened.
pub fn spawn_queue_worker(root: DataRoot, out: UnboundedSender<Msg>) -> mpsc::Sender<QueueCmd> {
    let (tx, rx) = mpsc::channel::<QueueCmd>();
    std::thread::Builder::new()
        .name("rmos-queue".into())
        .spawn(move || {
            let mut store: Option<AdvisoryStore> = None;
            while let Ok(q) = rx.recv() {
                // A read-only store may have been opened as immutable (no writer at the
                // time): open it afresh for each listing so a writer that started since is
                // seen.
                if matches!(q, QueueCmd::Load(_))
                    && store.as_ref().is_some_and(|s| s.is_read_only())
                {
                    store = None;
                }
                if store.is_none() {
                    match AdvisoryStore::open(&root) {
                        Ok(s) => store = Some(s),
                        Err(e) => {
                            if out.send(queue_unavailable(q, &e.to_string())).is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                }
                let s = store.as_mut().expect("opened above");
                if out.send(queue_answer(s, &root, q)).is_err() {
                    return;
                }
            }
        })
        .expect("spawn queue worker");
    tx
}

/// The answer to a queue command when the review store cannot be opened.
fn queue_unavailable(q: QueueCmd, error: &str) -> Msg {
    let error = format!("the review queue is unavailable: {error}");
    match q {
        QueueCmd::Load(_) => Msg::QueueFailed(error),
        QueueCmd::Preview(asset_id) => Msg::Preview {
            asset_id,
            data: Box::new(PreviewData {
                content_hash: String::new(),
                body: PreviewBody::Unavailable(error.clone()),
                error: Some(error),
                history: Vec::new(),
            }),
        },
        QueueCmd::Decide(batch) => Msg::Decided {
            outcomes: batch
                .items
                .into_iter()
                .map(|it| (it.asset_id, Err(error.clone())))
                .collect(),
        },
    }
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
        QueryCmd::LoadRecord { label, .. } => Msg::Record {
            label,
            text: Err(error),
        },
        // Hints only: nothing waits for them.
        QueryCmd::KnownEvents { .. } | QueryCmd::CountNewer { .. } => return None,
    })
}

fn interrupted(e: &IndexError) -> bool {
    matches!(e, IndexError::Sql { source, .. } if source.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted))
}

fn page(
    index: &RunIndex,
    filter: &Filter,
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
    })
}

fn window(
    index: &RunIndex,
    filter: &Filter,
    anchor: &Anchor,
    limit: usize,
) -> Result<Page, IndexError> {
    Ok(match anchor {
        Anchor::Top => {
            let (rows, more) = page(index, filter, Direction::Older, None, limit)?;
            Page {
                anchor: anchor.clone(),
                rows,
                more_before: false,
                more_after: more,
            }
        }
        Anchor::Bottom => {
            let (mut rows, more) = page(index, filter, Direction::Newer, None, limit)?;
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
                Direction::Newer,
                Some((k.clone(), false)),
                half,
            )?;
            newer.reverse();
            let (older, more_after) = page(
                index,
                filter,
                Direction::Older,
                Some((k.clone(), true)),
                half,
            )?;
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

/// Load what the details pane shows for one file.
pub fn load_details(index: &RunIndex, partition: &str, file_name: &str) -> Details {
    match index.store().load(partition, file_name) {
        Ok((a, path)) => {
            let (outcome, detail) = verify_artifact(&a);
            // One run_id in several partitions: which record is real cannot be told, so
            // the pane says so instead of showing this one as the run.
            let elsewhere: Vec<String> = index
                .store()
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
            Details {
                partition: partition.to_owned(),
                file_name: file_name.to_owned(),
                path: path.display().to_string(),
                artifact: Some(Box::new(a)),
                error: None,
                verify,
                verify_detail,
            }
        }
        Err((path, reason)) => Details {
            partition: partition.to_owned(),
            file_name: file_name.to_owned(),
            path: path.display().to_string(),
            artifact: None,
            error: Some(reason),
            verify: "invalid".into(),
            verify_detail: None,
        },
    }
}

fn answer(index: &RunIndex, req: QueryCmd) -> Option<Msg> {
    Some(match req {
        QueryCmd::Page {
            generation,
            filter,
            anchor,
            limit,
        } => match window(index, &filter, &anchor, limit) {
            Ok(page) => Msg::Page { generation, page },
            Err(e) => Msg::QueryFailed {
                generation,
                error: e.to_string(),
            },
        },
        QueryCmd::Count { generation, filter } => match index.count(&filter, true, Utc::now()) {
            Ok(count) => Msg::Count { generation, count },
            Err(e) if interrupted(&e) => return None,
            Err(e) => Msg::QueryFailed {
                generation,
                error: e.to_string(),
            },
        },
        QueryCmd::CountNewer { filter, than } => match index.count_newer(&filter, &than, 100_000) {
            Ok(count) => Msg::Newer { count },
            Err(_) => return None,
        },
        QueryCmd::KnownEvents { generation } => {
            let events = index
                .connection()
                .prepare_cached(
                    "SELECT DISTINCT event_type FROM run_index \
                     WHERE valid = 1 AND event_type IS NOT NULL ORDER BY 1 LIMIT 40",
                )
                .and_then(|mut st| {
                    st.query_map([], |r| r.get::<_, String>(0))?
                        .collect::<Result<Vec<_>, _>>()
                });
            match events {
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
            label,
        } => {
            let path = index.store().partition_dir(&partition).join(&file_name);
            // Only a well-formed JSON document is copied: the raw bytes of a broken file
            // could hold anything (a bracketed-paste terminator, shell commands).
            let text = crate::store::runs::read_limited(&path).and_then(|b| {
                let text =
                    String::from_utf8(b).map_err(|_| "the file is not UTF-8 text".to_owned())?;
                crate::store::read::check_json_budget(text.as_bytes())?;
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

fn queue_answer(store: &mut AdvisoryStore, root: &DataRoot, q: QueueCmd) -> Msg {
    match q {
        QueueCmd::Load(status) => {
            let state = match status {
                StatusFilter::Pending => Some(ReviewState::Pending),
                StatusFilter::Approved => Some(ReviewState::Approved),
                StatusFilter::Rejected => Some(ReviewState::Rejected),
                StatusFilter::All => None,
            };
            match store
                .list(state, 2_000)
                .and_then(|assets| Ok((assets, store.counts()?)))
            {
                Ok((assets, counts)) => Msg::Queue {
                    status,
                    assets,
                    counts,
                },
                Err(e) => Msg::QueueFailed(e.to_string()),
            }
        }
        QueueCmd::Preview(asset_id) => {
            let data = match store.get(&asset_id) {
                Ok(a) => load_preview(store, &a),
                Err(e) => PreviewData {
                    content_hash: String::new(),
                    body: PreviewBody::Unavailable(e.to_string()),
                    error: Some(e.to_string()),
                    history: Vec::new(),
                },
            };
            Msg::Preview {
                asset_id,
                data: Box::new(data),
            }
        }
        QueueCmd::Decide(batch) => {
            let reviewer = reviewer_identity();
            let policy = match ReviewerPolicy::load(root) {
                Ok(p) => p,
                Err(e) => {
                    let outcomes = batch
                        .items
                        .iter()
                        .map(|it| (it.asset_id.clone(), Err(e.to_string())))
                        .collect();
                    return Msg::Decided { outcomes };
                }
            };
            let verb = if batch.approve {
                "approved"
            } else {
                "rejected"
            };
            let outcomes = batch
                .items
                .iter()
                .map(|it| {
                    let req = DecisionRequest {
                        reviewer: &reviewer,
                        asset_id: &it.asset_id,
                        approve: batch.approve,
                        reason: batch.reason.as_deref(),
                        note: batch.note.as_deref(),
                        expect_hash: Some(&it.content_hash),
                        expect_previous: Some(it.seen_decision),
                    };
                    (
                        it.asset_id.clone(),
                        store
                            .decide(&policy, &req)
                            .map(|_| verb.to_owned())
                            .map_err(|e| e.to_string()),
                    )
                })
                .collect();
            Msg::Decided { outcomes }
        }
    }
}

/// Largest preview image kept in memory (pixels per side).
const PREVIEW_MAX: u32 = 120;

/// Read, check and prepare an asset's content for the preview pane.
pub fn load_preview(store: &AdvisoryStore, a: &AdvisoryAsset) -> PreviewData {
    let history = store.history(&a.asset_id).unwrap_or_default();
    let bytes = match store.content(a) {
        Ok(b) => b,
        Err(e) => {
            return PreviewData {
                content_hash: a.content_hash.clone(),
                body: PreviewBody::Unavailable(e.to_string()),
                error: Some(e.to_string()),
                history,
            }
        }
    };
    let body = match a.asset_type {
        AssetType::Image => decode_image(&bytes, &a.mime),
        _ => match crate::store::read::check_json_budget(&bytes)
            .map_err(|_| ())
            .and_then(|()| serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|_| ()))
        {
            Ok(v)
                if a.mime == "application/json"
                    || matches!(
                        a.asset_type,
                        AssetType::Suggestion | AssetType::Validation | AssetType::Pattern
                    ) =>
            {
                PreviewBody::Json(v)
            }
            _ => PreviewBody::Text(String::from_utf8_lossy(&bytes).into_owned()),
        },
    };
    PreviewData {
        content_hash: a.content_hash.clone(),
        body,
        error: None,
        history,
    }
}

/// Largest image (in pixels) decoded for a preview.
const PREVIEW_MAX_PIXELS: u64 = 64_000_000;

/// Decoded pixels: `channels` bytes per pixel (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA or
/// CMYK), rows `line` bytes apart.
struct Raster {
    width: u32,
    height: u32,
    channels: usize,
    line: usize,
    cmyk: bool,
    buf: Vec<u8>,
}

fn decode_png(bytes: &[u8]) -> Result<Raster, String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("cannot decode the PNG: {e}"))?;
    let (w, h) = (reader.info().width, reader.info().height);
    if w == 0 || h == 0 || (w as u64) * (h as u64) > PREVIEW_MAX_PIXELS {
        return Err("image too large to preview".into());
    }
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("cannot decode the PNG: {e}"))?;
    Ok(Raster {
        width: w,
        height: h,
        channels: frame.color_type.samples(),
        line: frame.line_size,
        cmyk: false,
        buf,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Raster, String> {
    use jpeg_decoder::PixelFormat;
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    decoder
        .read_info()
        .map_err(|e| format!("cannot decode the JPEG: {e}"))?;
    let info = decoder.info().ok_or("cannot decode the JPEG: no header")?;
    let (w, h) = (info.width as u32, info.height as u32);
    if w == 0 || h == 0 || (w as u64) * (h as u64) > PREVIEW_MAX_PIXELS {
        return Err("image too large to preview".into());
    }
    let buf = decoder
        .decode()
        .map_err(|e| format!("cannot decode the JPEG: {e}"))?;
    let (channels, sample) = match info.pixel_format {
        PixelFormat::L8 => (1, 1),
        PixelFormat::L16 => (1, 2),
        PixelFormat::RGB24 => (3, 1),
        PixelFormat::CMYK32 => (4, 1),
    };
    Ok(Raster {
        width: w,
        height: h,
        channels: channels * sample,
        line: w as usize * channels * sample,
        cmyk: info.pixel_format == PixelFormat::CMYK32,
        buf,
    })
}

fn decode_image(bytes: &[u8], mime: &str) -> PreviewBody {
    let fallback =
        |why: &str| PreviewBody::Unavailable(format!("{why} ({} bytes, {mime})", bytes.len()));
    let raster = if bytes.starts_with(b"\x89PNG") {
        decode_png(bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)
    } else {
        Err("preview shows PNG and JPEG images".into())
    };
    let r = match raster {
        Ok(r) => r,
        Err(why) => return fallback(&why),
    };
    let (w, h) = (r.width, r.height);
    let scale = (w.max(h) as f64 / PREVIEW_MAX as f64).max(1.0);
    let (pw, ph) = (
        ((w as f64 / scale) as u32).max(1),
        ((h as f64 / scale) as u32).max(1),
    );
    let mut pixels = Vec::with_capacity((pw * ph) as usize);
    for y in 0..ph {
        for x in 0..pw {
            let sx = ((x as f64 * scale) as u32).min(w - 1);
            let sy = ((y as f64 * scale) as u32).min(h - 1);
            let i = (sy as usize * r.line) + sx as usize * r.channels;
            let Some(p) = r.buf.get(i..i + r.channels) else {
                return fallback("the image data is shorter than its header says");
            };
            let px = match (r.channels, r.cmyk) {
                (4, true) => {
                    let k = p[3] as u32;
                    let ink = |c: u8| ((255 - c as u32) * (255 - k) / 255) as u8;
                    [ink(p[0]), ink(p[1]), ink(p[2])]
                }
                (1 | 2, _) => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            };
            pixels.push(px);
        }
    }
    PreviewBody::Image {
        width: w,
        height: h,
        px_w: pw,
        px_h: ph,
        pixels,
    }
}

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

/// Shortest time from one pass's start to the next pass driven by watcher events.
const MIN_EVENT_PASS: Duration = Duration::from_millis(250);

/// Requests to the reconciler.
#[derive(Debug)]
pub enum ReconcileReq {
    /// Something changed under the runs root: files in these partitions (empty when the
    /// event named none, e.g. a partition folder itself).
    Changed(Vec<(String, Option<String>)>),
    /// The watcher lost events (overflow) or failed: compare every file.
    Full,
    /// The user asked for a full rescan.
    Rescan,
}

/// What the reconciler's live watcher went through, shared with whoever started the
/// console (tests read it; the console does not need it).
#[derive(Debug, Default)]
pub struct WatchProbe {
    /// Notices that events were lost (the kernel's event queue overflowed).
    pub overflows: AtomicU64,
    /// Full passes run (every file compared), whatever asked for them.
    pub full_passes: AtomicU64,
    /// Passes after which the watches were brought in line with the folders found.
    pub synced: AtomicU64,
    /// While set, the watcher's event handler does not return, as behind a stalled reader:
    /// events pile up in the kernel's queue until it overflows.
    pub stall: AtomicBool,
}

/// Timing of the reconciler.
#[derive(Debug, Clone)]
pub struct ReconcileTiming {
    /// Quick pass (changed partitions) this often even without watcher events.
    pub quick: Duration,
    /// Full pass this often.
    pub full: Duration,
    /// Wait this long after a watcher event for the burst to settle.
    pub debounce: Duration,
    /// Do not watch at all: scanning only (tests of the fallback).
    pub no_watch: bool,
    /// How often the shared databases are checked for other processes' commits.
    pub shared_poll: Duration,
    /// Counters and a stall switch for tests of the watcher.
    pub probe: Option<Arc<WatchProbe>>,
}

impl Default for ReconcileTiming {
    fn default() -> Self {
        ReconcileTiming {
            quick: Duration::from_secs(1),
            full: Duration::from_secs(300),
            debounce: Duration::from_millis(60),
            no_watch: false,
            shared_poll: Duration::from_millis(250),
            probe: None,
        }
    }
}

/// Start the reconciler and its filesystem watcher. Returns the request channel.
pub fn spawn_reconciler(
    root: DataRoot,
    out: UnboundedSender<Msg>,
    timing: ReconcileTiming,
    own_mark: Arc<std::sync::Mutex<Option<String>>>,
) -> mpsc::Sender<ReconcileReq> {
    let (tx, rx) = mpsc::channel::<ReconcileReq>();
    let watcher_tx = tx.clone();
    std::thread::Builder::new()
        .name("rmos-reconcile".into())
        .spawn(move || {
            // Until the index opens (a full disk, a permission problem), say why and retry.
            let mut index = loop {
                match RunIndex::open(&root) {
                    Ok(i) => break i,
                    Err(e) => {
                        if out.send(Msg::ReconcileFailed(e.to_string())).is_err() {
                            return;
                        }
                        match rx.recv_timeout(timing.quick) {
                            Err(mpsc::RecvTimeoutError::Disconnected) => return,
                            _ => continue,
                        }
                    }
                }
            };
            let runs_root: PathBuf = root.runs_dir.clone();
            let mut watch = LiveWatch::new(runs_root.clone(), watcher_tx.clone(), timing.no_watch);
            watch.probe = timing.probe.clone();
            let mut last_full = Instant::now();
            let mut mode = ReconcileMode::Quick;
            let mut touched: HashSet<String> = HashSet::new();
            // Watches (partition, folder inode) set before the partition's last comparison:
            // every change there arrives as an event, so quick passes leave those folders
            // out. A partition whose watch is new (a file may have arrived just before it)
            // is compared once more first.
            let mut established: HashSet<(String, u64)> = HashSet::new();
            let mut event_pass = false;
            let mut folder_events = false;
            // Files the watcher named: read alone, whatever the size of their partition.
            let mut touched_files: std::collections::HashMap<String, HashSet<String>> =
                std::collections::HashMap::new();
            // Counted again only after a pass that changed something.
            let mut invalid_total: Option<u64> = None;
            // Commits by other processes (a CLI indexing the same root, another console,
            // `index rebuild`) reach the console through the database watch
            // (`spawn_db_watch`), whatever this reconciler is doing.
            // The first pass always counts as a change: the list on screen may have been
            // read before commits that this connection already saw when it opened.
            let mut first_pass = true;
            loop {
                let started = Instant::now();
                let mut last_progress = Instant::now();
                let watched_now = watch.watched_partitions();
                let watched: HashSet<String> = watched_now.keys().cloned().collect();
                let mut from_events = false;
                if !touched_files.is_empty() {
                    // A name in a partition that is not watched (yet) is left to the pass
                    // below, which compares that whole folder.
                    match index.reconcile_files(&touched_files) {
                        Ok(s) => from_events = s.changed(),
                        Err(_) => touched.extend(touched_files.keys().cloned()),
                    }
                    touched_files.clear();
                }
                // Folder events (the runs folder swapped, a partition moved) say nothing about
                // files: such a pass compares every folder whose time changed.
                let skip: HashSet<String> =
                    if event_pass || mode == ReconcileMode::Quick && !folder_events {
                        watched_now
                            .iter()
                            .filter(|(p, ino)| established.contains(&((*p).clone(), **ino)))
                            .map(|(p, _)| p.clone())
                            .collect()
                    } else {
                        HashSet::new()
                    };
                let result = index.reconcile_watched(mode, &touched, &watched, &skip, &mut |p| {
                    if last_progress.elapsed() > Duration::from_millis(100)
                        || p.partitions_done == p.partitions_total
                    {
                        last_progress = Instant::now();
                        let _ = out.send(Msg::Reconcile(p.clone()));
                    }
                });
                let mut partitions = None;
                let sent = match result {
                    Ok(mut stats) => {
                        // Every partition watched at the start of this pass has now been
                        // compared since its watch was set (or was already).
                        established = watched_now
                            .iter()
                            .map(|(p, ino)| (p.clone(), *ino))
                            .collect();
                        touched.clear();
                        let changed = stats.changed() || first_pass;
                        first_pass = false;
                        partitions = Some(std::mem::take(&mut stats.partitions_on_disk));
                        if changed || invalid_total.is_none() {
                            invalid_total = Some(index.invalid_count().unwrap_or(0));
                        }
                        if mode == ReconcileMode::Full {
                            last_full = Instant::now();
                            if let Some(p) = &timing.probe {
                                p.full_passes.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        if stats.changed() && started.elapsed() > Duration::from_secs(5) {
                            let _ = index.connection().execute_batch("PRAGMA optimize");
                        }
                        let unreadable = stats
                            .unreadable
                            .iter()
                            .map(|(p, why)| format!("cannot read partition {p}/: {why}"))
                            .collect();
                        if stats.changed() || from_events {
                            *own_mark.lock().expect("mark lock") = index.change_mark();
                        }
                        out.send(Msg::ReconcileDone {
                            changed: changed || from_events,
                            invalid_total: invalid_total.unwrap_or(0),
                            unreadable,
                        })
                    }
                    Err(e) => out.send(Msg::ReconcileFailed(e.to_string())),
                };
                if sent.is_err() {
                    return; // the console is gone
                }
                // Watches follow the partitions this pass found (none to go by after a
                // failed pass: the watches stay as they are).
                if let Some(p) = partitions {
                    let status = watch.sync(&p);
                    if let Some(probe) = &timing.probe {
                        probe.synced.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Some(status) = status {
                        if out.send(Msg::WatchStatus(status)).is_err() {
                            return;
                        }
                    }
                }
                // Wait for a change, a request or the next periodic pass.
                event_pass = false;
                folder_events = false;
                mode = match rx.recv_timeout(timing.quick) {
                    Ok(req) => {
                        // Only events that all name files may leave the folders out: an event
                        // on a folder (the runs folder swapped, a partition moved) says
                        // nothing about which files changed.
                        let mut files_only = true;
                        let mut m = ReconcileMode::Quick;
                        let mut take = |req: ReconcileReq| match req {
                            ReconcileReq::Changed(paths) => {
                                files_only &= !paths.is_empty();
                                for (partition, file) in paths {
                                    match file {
                                        Some(f)
                                            if crate::store::runs::is_artifact_file_name(&f) =>
                                        {
                                            touched_files.entry(partition).or_default().insert(f);
                                        }
                                        // Link files and temporaries change no row.
                                        Some(_) => {}
                                        None => {
                                            files_only = false;
                                            touched.insert(partition);
                                        }
                                    }
                                }
                            }
                            ReconcileReq::Full | ReconcileReq::Rescan => {
                                files_only = false;
                                m = ReconcileMode::Full;
                            }
                        };
                        take(req);
                        // Let a burst of events settle, then run once for all of them; under
                        // a steady stream, at most one pass per MIN_EVENT_PASS (new runs still
                        // show within a second, and the cost no longer follows the rate).
                        let wait = timing
                            .debounce
                            .max(MIN_EVENT_PASS.saturating_sub(started.elapsed()));
                        std::thread::sleep(wait);
                        while let Ok(more) = rx.try_recv() {
                            take(more);
                        }
                        event_pass = files_only;
                        folder_events = !files_only;
                        m
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        if last_full.elapsed() > timing.full {
                            ReconcileMode::Full
                        } else {
                            ReconcileMode::Quick
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                };
            }
        })
        .expect("spawn reconciler");
    tx
}

/// A folder's inode number (None when it cannot be read).
fn inode(p: &std::path::Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).ok().map(|m| m.ino())
}

/// What these event paths name under the runs root: `(partition, Some(file))` for a file in
/// a partition, `(partition, None)` for a partition folder itself.
fn touched_paths(root: &std::path::Path, paths: &[PathBuf]) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for p in paths {
        let Ok(rel) = p.strip_prefix(root) else {
            continue;
        };
        let mut parts = rel.components();
        let Some(first) = parts.next() else { continue };
        let name = first.as_os_str().to_string_lossy().into_owned();
        if !crate::store::runs::is_partition_name(&name) {
            continue;
        }
        let file = match (parts.next(), parts.next()) {
            (Some(f), None) => Some(f.as_os_str().to_string_lossy().into_owned()),
            (None, _) => None,
            // Deeper paths are nothing rmos indexes.
            (Some(_), Some(_)) => continue,
        };
        if !out.iter().any(|o| o.0 == name && o.1 == file) {
            out.push((name, file));
        }
    }
    out
}

/// Live watching of the runs root: one non-recursive inotify watch on the root (partitions
/// appearing, moving, vanishing) and one per partition (files in it). Synced with the
/// partitions on disk after every pass, so one unreadable partition or an exhausted watch
/// limit costs live updates only where it applies; those partitions are still scanned
/// every second by the quick pass. rmos's own `_rmos` folder is not watched at all.
pub struct LiveWatch {
    root: PathBuf,
    tx: mpsc::Sender<ReconcileReq>,
    watcher: Option<notify::RecommendedWatcher>,
    /// The inode of the runs folder we watch (a folder deleted and created again between
    /// two passes is a new inode whose watch must be set again).
    root_watched: Option<u64>,
    /// Watched partitions and the inode each watch is on.
    watched: std::collections::HashMap<String, u64>,
    /// What the console was last told (sent again only when it changes).
    told: Option<String>,
    /// Start without a watcher (tests of the scanning fallback).
    disabled: bool,
    /// Counts overflows; its stall switch holds the event handler.
    pub probe: Option<Arc<WatchProbe>>,
}

impl LiveWatch {
    pub fn new(root: PathBuf, tx: mpsc::Sender<ReconcileReq>, disabled: bool) -> Self {
        LiveWatch {
            root,
            tx,
            watcher: None,
            root_watched: None,
            watched: Default::default(),
            told: None,
            disabled,
            probe: None,
        }
    }

    fn create(&mut self) -> Result<(), String> {
        if self.disabled {
            return Err("disabled for this session".into());
        }
        if self.watcher.is_some() {
            return Ok(());
        }
        let tx = self.tx.clone();
        let root = self.root.clone();
        let probe = self.probe.clone();
        let handler = move |res: notify::Result<notify::Event>| {
            if let Some(p) = &probe {
                while p.stall.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            let req = match res {
                // Opening or reading a folder or file changes nothing; the passes open
                // every watched folder themselves, so these would start pass after pass.
                // (A close after writing is a change: kept.)
                Ok(notify::Event {
                    kind: notify::EventKind::Access(a),
                    ..
                }) if a != notify::event::AccessKind::Close(notify::event::AccessMode::Write) => {
                    return;
                }
                Ok(ev) if ev.need_rescan() => {
                    if let Some(p) = &probe {
                        p.overflows.fetch_add(1, Ordering::Relaxed);
                    }
                    ReconcileReq::Full
                }
                Ok(ev) => ReconcileReq::Changed(touched_paths(&root, &ev.paths)),
                Err(_) => ReconcileReq::Full,
            };
            let _ = tx.send(req);
        };
        let w = notify::recommended_watcher(handler).map_err(|e| e.to_string())?;
        self.watcher = Some(w);
        Ok(())
    }

    /// The partitions watched now (their file changes arrive as events).
    pub fn watched_partitions(&self) -> std::collections::HashMap<String, u64> {
        self.watched.clone()
    }

    /// Bring the watches in line with `partitions` (the folders on disk). Returns the new
    /// status when it changed since the last call: `Some(None)` when everything is watched
    /// again, `Some(Some(what))` describing what is not watched.
    pub fn sync(&mut self, partitions: &[String]) -> Option<Option<String>> {
        use notify::{RecursiveMode, Watcher};
        let status = if !self.root.is_dir() {
            // Nothing to watch yet: the quick pass notices the root appearing.
            self.root_watched = None;
            self.watched.clear();
            None
        } else {
            match self.create() {
                Err(e) => Some(format!(
                    "live file watching unavailable ({e}); scanning every second instead \
                     (raise fs.inotify.max_user_instances to fix)"
                )),
                Ok(()) => {
                    let w = self.watcher.as_mut().expect("created above");
                    let mut failed: Vec<(String, String)> = Vec::new();
                    let root_ino = inode(&self.root);
                    if root_ino != self.root_watched {
                        // New (or first) runs folder: everything is watched afresh.
                        self.watched.clear();
                        self.root_watched = None;
                        match w.watch(&self.root, RecursiveMode::NonRecursive) {
                            Ok(()) => self.root_watched = root_ino,
                            Err(e) => failed.push((String::new(), e.to_string())),
                        }
                    }
                    let on_disk: std::collections::HashSet<&String> = partitions.iter().collect();
                    let gone: Vec<String> = self
                        .watched
                        .keys()
                        .filter(|p| !on_disk.contains(p))
                        .cloned()
                        .collect();
                    for p in gone {
                        // Usually gone with the folder; a folder moved away keeps its watch.
                        let _ = w.unwatch(&self.root.join(&p));
                        self.watched.remove(&p);
                    }
                    for p in partitions {
                        let dir = self.root.join(p);
                        let ino = inode(&dir);
                        if ino.is_some() && self.watched.get(p).copied() == ino {
                            continue;
                        }
                        match w.watch(&dir, RecursiveMode::NonRecursive) {
                            Ok(()) => {
                                if let Some(ino) = ino {
                                    self.watched.insert(p.clone(), ino);
                                }
                            }
                            Err(e) => {
                                self.watched.remove(p);
                                failed.push((p.clone(), e.to_string()));
                            }
                        }
                    }
                    match failed.as_slice() {
                        [] => None,
                        [(p, e), rest @ ..] => Some(format!(
                            "live watching unavailable for {}{} ({e}); scanned every second instead{}",
                            if p.is_empty() { "the runs folder".to_owned() } else { format!("{p}/") },
                            if rest.is_empty() { String::new() } else { format!(" and {} more partitions", rest.len()) },
                            if e.contains("space") || e.contains("limit") || e.contains("Too many") {
                                " (raise fs.inotify.max_user_watches to fix)"
                            } else {
                                ""
                            }
                        )),
                    }
                }
            }
        };
        if status == self.told {
            return None;
        }
        self.told = status.clone();
        Some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unopenable_review_store_answers_every_queue_command_in_its_own_terms() {
        use super::super::queue::{DecisionBatch, DecisionItem};
        assert!(matches!(
            queue_unavailable(QueueCmd::Load(StatusFilter::All), "locked"),
            Msg::QueueFailed(e) if e.contains("locked")
        ));
        // A preview that cannot load says why (it never stays "loading").
        let Msg::Preview { asset_id, data } =
            queue_unavailable(QueueCmd::Preview("adv_1".into()), "locked")
        else {
            panic!("a preview answer")
        };
        assert_eq!(asset_id, "adv_1");
        assert!(matches!(data.body, PreviewBody::Unavailable(ref e) if e.contains("locked")));
        // Every asset of a decision is reported as not written.
        let item = |id: &str| DecisionItem {
            asset_id: id.into(),
            content_hash: "h".into(),
            asset_type: "image".into(),
            current: None,
            seen_decision: None,
        };
        let batch = DecisionBatch {
            items: vec![item("a1"), item("a2")],
            approve: true,
            reason: None,
            note: None,
        };
        let Msg::Decided { outcomes } = queue_unavailable(QueueCmd::Decide(batch), "locked") else {
            panic!("a decision answer")
        };
        assert_eq!(outcomes.len(), 2);
        assert!(outcomes
            .iter()
            .all(|(_, r)| r.as_ref().is_err_and(|e| e.contains("locked"))));
    }

    fn jpeg(w: u16, h: u16, color: jpeg_encoder::ColorType, px: &[u8]) -> Vec<u8> {
        let n = px.len();
        let data: Vec<u8> = px
            .iter()
            .cycle()
            .take(n * w as usize * h as usize)
            .copied()
            .collect();
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 95)
            .encode(&data, w, h, color)
            .unwrap();
        out
    }

    fn near(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 12)
    }

    fn image(body: PreviewBody) -> (u32, u32, u32, u32, Vec<[u8; 3]>) {
        match body {
            PreviewBody::Image {
                width,
                height,
                px_w,
                px_h,
                pixels,
            } => (width, height, px_w, px_h, pixels),
            other => panic!("not an image: {other:?}"),
        }
    }

    #[test]
    fn jpeg_previews_in_rgb_grey_and_cmyk() {
        use jpeg_encoder::ColorType;
        let (w, h, pw, ph, px) = image(decode_image(
            &jpeg(240, 60, ColorType::Rgb, &[200, 30, 40]),
            "image/jpeg",
        ));
        assert_eq!((w, h), (240, 60));
        assert_eq!((pw, ph), (120, 30), "downscaled to the preview size");
        assert!(px.iter().all(|p| near(*p, [200, 30, 40])), "{:?}", px[0]);

        let (_, _, _, _, px) = image(decode_image(
            &jpeg(8, 8, ColorType::Luma, &[128]),
            "image/jpeg",
        ));
        assert!(near(px[0], [128, 128, 128]), "{:?}", px[0]);

        // Cyan ink only: no red, full green and blue.
        let (_, _, _, _, px) = image(decode_image(
            &jpeg(8, 8, ColorType::Cmyk, &[255, 0, 0, 0]),
            "image/jpeg",
        ));
        assert!(near(px[0], [0, 255, 255]), "{:?}", px[0]);
    }

    #[test]
    fn broken_and_unknown_images_say_why() {
        let mut j = jpeg(16, 16, jpeg_encoder::ColorType::Rgb, &[1, 2, 3]);
        j.truncate(j.len() / 3);
        match decode_image(&j, "image/jpeg") {
            PreviewBody::Unavailable(why) => {
                assert!(why.contains("JPEG") || why.contains("shorter"), "{why}")
            }
            PreviewBody::Image { .. } => {} // a truncated baseline JPEG may still decode partly
            other => panic!("{other:?}"),
        }
        match decode_image(b"GIF89a....", "image/gif") {
            PreviewBody::Unavailable(why) => {
                assert!(
                    why.contains("PNG and JPEG") && why.contains("image/gif"),
                    "{why}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
