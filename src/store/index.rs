//! The SQLite run index: a derived, rebuildable summary of every artifact file.
//!
//! Reconcile brings the index in line with the files: it lists partitions, skips those
//! whose directory is unchanged since the last pass (quick mode), compares (size, mtime)
//! of each file with the index, parses only what changed (in parallel), drops what
//! vanished and records invalid files with their reason. Nothing holds all artifacts in
//! memory: files stream through a bounded channel into batched transactions.
//!
//! Queries are SQL over the index, ordered by `created_at` then `run_id` (both
//! descending), with a keyset cursor `"<created_at isoformat>|<run_id>"` that walks the
//! whole store.

use crate::config::DataRoot;
use crate::db::{self, DbError};
use crate::domain::Timestamp;
use crate::filter::Filter;
use crate::store::runs::{ArtifactFile, RunStore, StoreError};
use crate::store::verify::VerifyOutcome;
use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("index database {path}: {source}{}", crate::advice::sqlite(.source))]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid cursor {cursor:?}: expected \"<created_at_utc>|<run_id>\" as printed in next_cursor")]
    BadCursor { cursor: String },
}

/// How much a reconcile looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileMode {
    /// Rescan only partitions that are new or whose directory changed.
    Quick,
    /// Compare every file's size and mtime (catches in-place edits).
    Full,
}

/// Progress of a reconcile, reported after each partition.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReconcileProgress {
    pub partitions_done: usize,
    pub partitions_total: usize,
    pub files_parsed: u64,
    pub current: String,
}

/// What a reconcile did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ReconcileStats {
    pub partitions_scanned: usize,
    pub partitions_skipped: usize,
    pub partitions_removed: usize,
    pub files_seen: u64,
    pub parsed: u64,
    pub added_or_changed: u64,
    pub removed: u64,
    pub invalid: u64,
    /// Partitions that could not be listed (permissions, I/O errors), with the reason.
    /// Their rows stay as they were; the next pass tries again.
    pub unreadable: Vec<(String, String)>,
    /// The partition folders found (ascending), for callers that act on each (the
    /// console's watches) without listing the runs folder again.
    #[serde(skip)]
    pub partitions_on_disk: Vec<String>,
}

impl ReconcileStats {
    pub fn changed(&self) -> bool {
        self.added_or_changed + self.removed + self.partitions_removed as u64 > 0
    }
}

/// One indexed file as the list and the CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexedRun {
    pub run_id: String,
    pub partition: String,
    pub file_name: String,
    pub valid: bool,
    pub error: Option<String>,
    pub created_us: i64,
    pub created_at: Option<String>,
    pub mode: Option<String>,
    pub tool_id: Option<String>,
    pub status: Option<String>,
    pub risk_level: Option<String>,
    pub score: Option<f64>,
    pub source: Option<String>,
    pub event_type: Option<String>,
    pub warnings: Vec<String>,
    pub block_reason: Option<String>,
    pub verify: Option<String>,
}

impl IndexedRun {
    /// This row's position in the list order.
    pub fn key(&self) -> Cursor {
        Cursor {
            created_us: self.created_us,
            run_id: self.run_id.clone(),
        }
    }

    /// The cursor that continues after this row.
    pub fn cursor(&self) -> String {
        let at = self
            .created_at
            .clone()
            .unwrap_or_else(|| iso_from_us(self.created_us));
        format!("{at}|{}", self.run_id)
    }

    /// The reference's `RunLogEntry`.
    pub fn log_entry(&self) -> serde_json::Value {
        serde_json::json!({
            "run_id": self.run_id,
            "created_at_utc": self.created_at,
            "mode": self.mode,
            "tool_id": self.tool_id,
            "status": self.status,
            "risk_level": self.risk_level.clone().unwrap_or_else(|| "UNKNOWN".into()),
            "score": self.score,
            "warnings": self.warnings,
            "source": self.source,
        })
    }
}

fn iso_from_us(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us)
        .map(|t| Timestamp::from_utc(t).to_isoformat())
        .unwrap_or_default()
}

/// A position in the (created_at desc, run_id desc) order (compares as (created, run_id)).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub created_us: i64,
    pub run_id: String,
}

impl Cursor {
    pub fn parse(text: &str) -> Result<Cursor, IndexError> {
        let bad = || IndexError::BadCursor {
            cursor: text.to_owned(),
        };
        let (at, id) = text.rsplit_once('|').ok_or_else(bad)?;
        if id.is_empty() {
            return Err(bad());
        }
        let t = Timestamp::parse(at).map_err(|_| bad())?;
        Ok(Cursor {
            created_us: t.epoch_micros(),
            run_id: id.to_owned(),
        })
    }
}

/// A page request.
#[derive(Debug, Clone)]
pub struct RunQuery {
    pub filter: Filter,
    /// Include invalid files (as rows with `valid = false`).
    pub include_invalid: bool,
    pub cursor: Option<Cursor>,
    pub limit: usize,
    /// Anchor for relative times in the filter.
    pub now: DateTime<Utc>,
}

impl RunQuery {
    pub fn new(filter: Filter, limit: usize) -> Self {
        RunQuery {
            filter,
            include_invalid: false,
            cursor: None,
            limit,
            now: Utc::now(),
        }
    }
}

/// Which way a page extends from its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Towards older runs (the list's natural order).
    Older,
    /// Towards newer runs.
    Newer,
}

/// A page request for the console's list window.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub filter: Filter,
    pub include_invalid: bool,
    pub direction: Direction,
    /// Start after (or at, when inclusive) this position.
    pub bound: Option<(Cursor, bool)>,
    pub limit: usize,
    pub now: DateTime<Utc>,
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct RunPage {
    pub runs: Vec<IndexedRun>,
    /// Set only when more rows follow.
    pub next_cursor: Option<String>,
}

/// Counts for `rmos index status`.
#[derive(Debug, Clone, Serialize)]
pub struct IndexStatus {
    pub db_path: String,
    pub runs_root: String,
    pub runs: u64,
    pub invalid: u64,
    pub partitions: u64,
    /// The last pass that changed the index or compared every file.
    pub last_reconcile_utc: Option<String>,
    pub last_full_reconcile_utc: Option<String>,
}

/// Columns of one index row, extracted from a file.
struct Row {
    file: ArtifactFile,
    valid: bool,
    error: Option<String>,
    run_id: String,
    created_us: i64,
    created_at: Option<String>,
    mode: Option<String>,
    tool_id: Option<String>,
    status: Option<String>,
    risk_level: Option<String>,
    score: Option<f64>,
    source: Option<String>,
    event_type: Option<String>,
    workflow_session_id: Option<String>,
    warnings_json: Option<String>,
    block_reason: Option<String>,
    verify: &'static str,
    search_text: Option<String>,
}

impl Row {
    fn from_file(file: ArtifactFile) -> Row {
        match crate::store::scan::read_index_fields(&file.path) {
            Ok(f) => Row::valid(file, f),
            Err(reason) => Row {
                run_id: file.stem.clone(),
                created_us: file.mtime_ns / 1_000,
                file,
                valid: false,
                error: Some(reason),
                created_at: None,
                mode: None,
                tool_id: None,
                status: None,
                risk_level: None,
                score: None,
                source: None,
                event_type: None,
                workflow_session_id: None,
                warnings_json: None,
                block_reason: None,
                verify: VerifyOutcome::Invalid.as_str(),
                search_text: None,
            },
        }
    }

    fn valid(file: ArtifactFile, f: crate::store::scan::IndexFields) -> Row {
        Row {
            file,
            valid: true,
            error: None,
            run_id: f.run_id,
            created_us: f.created_us,
            created_at: Some(f.created_at),
            mode: Some(f.mode),
            tool_id: Some(f.tool_id),
            status: Some(f.status.as_str().to_owned()),
            risk_level: Some(f.risk_level),
            score: f.score,
            source: f.source,
            event_type: Some(f.event_type),
            workflow_session_id: f.workflow_session_id,
            warnings_json: Some(f.warnings_json),
            block_reason: f.block_reason,
            verify: f.verify.as_str(),
            search_text: Some(f.search_text),
        }
    }
}

const UPSERT: &str = "INSERT INTO run_index (
    partition, file_name, size, mtime_ns, valid, error, run_id, created_us, created_at, mode,
    tool_id, status, risk_level, score, source, event_type, workflow_session_id, warnings_json,
    block_reason, verify, mode_key, tool_key, risk_key, source_key, search_text, ino)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
    ?20, ?21, ?22, ?23, ?24, ?25, ?26)
  ON CONFLICT (partition, file_name) DO UPDATE SET
    size = excluded.size, mtime_ns = excluded.mtime_ns, valid = excluded.valid,
    error = excluded.error, run_id = excluded.run_id, created_us = excluded.created_us,
    created_at = excluded.created_at, mode = excluded.mode, tool_id = excluded.tool_id,
    status = excluded.status, risk_level = excluded.risk_level, score = excluded.score,
    source = excluded.source, event_type = excluded.event_type,
    workflow_session_id = excluded.workflow_session_id, warnings_json = excluded.warnings_json,
    block_reason = excluded.block_reason, verify = excluded.verify, mode_key = excluded.mode_key,
    tool_key = excluded.tool_key, risk_key = excluded.risk_key, source_key = excluded.source_key,
    search_text = excluded.search_text, ino = excluded.ino";

const SELECT_COLS: &str =
    "run_id, partition, file_name, valid, error, created_us, created_at, mode, tool_id, status, \
     risk_level, score, source, event_type, warnings_json, block_reason, verify";

fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndexedRun> {
    let warnings: Option<String> = r.get(14)?;
    Ok(IndexedRun {
        run_id: r.get(0)?,
        partition: r.get(1)?,
        file_name: r.get(2)?,
        valid: r.get::<_, i64>(3)? == 1,
        error: r.get(4)?,
        created_us: r.get(5)?,
        created_at: r.get(6)?,
        mode: r.get(7)?,
        tool_id: r.get(8)?,
        status: r.get(9)?,
        risk_level: r.get(10)?,
        score: r.get(11)?,
        source: r.get(12)?,
        event_type: r.get(13)?,
        warnings: warnings
            .and_then(|w| serde_json::from_str(&w).ok())
            .unwrap_or_default(),
        block_reason: r.get(15)?,
        verify: r.get(16)?,
    })
}

fn wrap<T>(path: &std::path::Path, r: rusqlite::Result<T>) -> Result<T, IndexError> {
    r.map_err(|source| IndexError::Sql {
        path: path.to_path_buf(),
        source,
    })
}

/// Messages from the producer and parser threads to the writer.
enum Msg {
    /// A partition was diffed: `expected` rows will follow; then apply the rest.
    Planned {
        partition: String,
        dir_mtime: i64,
        file_count: usize,
        expected: usize,
        removed: Vec<String>,
        /// Unchanged files whose inode the index did not have yet.
        inodes: Vec<(String, i64)>,
    },
    Rows(Vec<Row>),
    /// A partition could not be listed: skipped, its rows left as they were.
    Unreadable {
        partition: String,
        reason: String,
    },
    Failed(IndexError),
}

/// Files per work item and rows per message (fewer channel wake-ups).
const CHUNK: usize = 64;

/// How a planned partition is compared with the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Names and inodes from the directory listing; only new, replaced or never-recorded
    /// files are stat-ed. The quick pass over a folder that gained or lost files.
    Names,
    /// Every file's size and modification time (in-place rewrites keep name and inode).
    Stat,
}

/// One partition to reconcile: its name, its folder's mtime, how to compare.
type Planned = (String, i64, Compare);

fn plan_partitions(
    store: &RunStore,
    db_path: &std::path::Path,
    plan: Vec<Planned>,
    out: &mpsc::SyncSender<Msg>,
    work: &mpsc::SyncSender<Vec<ArtifactFile>>,
) -> Result<(), IndexError> {
    let conn = db::connect(db_path)?;
    // Ordered by name (the unique index serves it): merged with the sorted listing as it
    // streams, so a partition of 100,000 rows is never held in memory.
    let mut by_stat = wrap(
        db_path,
        conn.prepare(
            "SELECT file_name, ino, size, mtime_ns FROM run_index WHERE partition = ?1 ORDER BY file_name",
        ),
    )?;
    // Covered by idx_run_index_files: names and inodes without touching the table.
    let mut by_name = wrap(
        db_path,
        conn.prepare(
            "SELECT file_name, ino, NULL, NULL FROM run_index WHERE partition = ?1 ORDER BY file_name",
        ),
    )?;
    let mut size_of = wrap(
        db_path,
        conn.prepare(
            "SELECT size, mtime_ns FROM run_index WHERE partition = ?1 AND file_name = ?2",
        ),
    )?;
    for (partition, dir_mtime, compare) in plan {
        let entries = match store.partition_entries(&partition) {
            Ok(entries) => entries,
            Err(e) => {
                let reason = match &e {
                    StoreError::Io { source, .. } => {
                        format!("{source}{}", crate::advice::io(source))
                    }
                    other => other.to_string(),
                };
                if out.send(Msg::Unreadable { partition, reason }).is_err() {
                    return Ok(());
                }
                continue;
            }
        };
        let file_count = entries.len();
        let mut todo = Vec::new();
        let mut removed = Vec::new();
        let mut inodes = Vec::new();
        {
            let stmt = match compare {
                Compare::Names => &mut by_name,
                Compare::Stat => &mut by_stat,
            };
            let mut rows = wrap(db_path, stmt.query([&partition]))?;
            // (file_name, ino, size, mtime): size and mtime only in a Stat pass.
            type DbRow = (String, i64, Option<i64>, Option<i64>);
            let mut next_row = || -> Result<Option<DbRow>, IndexError> {
                match wrap(db_path, rows.next())? {
                    Some(r) => Ok(Some(wrap(
                        db_path,
                        (|| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))(),
                    )?)),
                    None => Ok(None),
                }
            };
            let mut row = next_row()?;
            let mut disk = entries.into_iter().peekable();
            loop {
                let order = match (disk.peek(), &row) {
                    (None, None) => break,
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (Some(e), Some(r)) => e.name.as_str().cmp(r.0.as_str()),
                };
                match order {
                    std::cmp::Ordering::Less => {
                        let e = disk.next().expect("peeked");
                        let path = store.entry_path(&partition, &e);
                        todo.push(store.stat_entry(&partition, &e, path));
                    }
                    std::cmp::Ordering::Greater => {
                        removed.push(row.take().expect("matched").0);
                        row = next_row()?;
                    }
                    std::cmp::Ordering::Equal => {
                        let e = disk.next().expect("peeked");
                        let (name, ino, size, mtime) = row.take().expect("matched");
                        row = next_row()?;
                        let same_file = ino != 0 && ino == e.ino as i64;
                        if compare == Compare::Names && same_file {
                            continue;
                        }
                        if compare == Compare::Names && ino != 0 {
                            // Another inode under the same name: replaced.
                            let path = store.entry_path(&partition, &e);
                            todo.push(store.stat_entry(&partition, &e, path));
                            continue;
                        }
                        let path = store.entry_path(&partition, &e);
                        let f = store.stat_entry(&partition, &e, path);
                        // A Names pass meets this only for rows indexed before inodes were
                        // recorded: their size and time are looked up once.
                        let (size, mtime) = match (size, mtime) {
                            (Some(s), Some(m)) => (s, m),
                            _ => wrap(
                                db_path,
                                size_of.query_row(params![partition, name], |r| {
                                    Ok((r.get(0)?, r.get(1)?))
                                }),
                            )?,
                        };
                        if f.size as i64 == size && f.mtime_ns == mtime && (ino == 0 || same_file) {
                            if ino == 0 {
                                inodes.push((name, f.ino as i64));
                            }
                        } else {
                            todo.push(f);
                        }
                    }
                }
            }
        }
        let planned = Msg::Planned {
            partition,
            dir_mtime,
            file_count,
            expected: todo.len(),
            removed,
            inodes,
        };
        if out.send(planned).is_err() {
            return Ok(());
        }
        let mut todo = todo.into_iter().peekable();
        while todo.peek().is_some() {
            if work.send(todo.by_ref().take(CHUNK).collect()).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

struct PartitionState {
    dir_mtime: i64,
    file_count: usize,
    expected: usize,
    done: usize,
    removed: Vec<String>,
    inodes: Vec<(String, i64)>,
}

fn finish_partition(
    conn: &Connection,
    db_path: &std::path::Path,
    partition: &str,
    st: &PartitionState,
    stats: &mut ReconcileStats,
) -> Result<(), IndexError> {
    let mut del = wrap(
        db_path,
        conn.prepare_cached("DELETE FROM run_index WHERE partition = ?1 AND file_name = ?2"),
    )?;
    for name in &st.removed {
        wrap(db_path, del.execute(params![partition, name]))?;
    }
    let mut set_ino = wrap(
        db_path,
        conn.prepare_cached(
            "UPDATE run_index SET ino = ?3 WHERE partition = ?1 AND file_name = ?2",
        ),
    )?;
    for (name, ino) in &st.inodes {
        wrap(db_path, set_ino.execute(params![partition, name, ino]))?;
    }
    stats.removed += st.removed.len() as u64;
    wrap(
        db_path,
        conn.execute(
            "INSERT INTO run_index_partitions (partition, dir_mtime_ns, file_count, scanned_at_utc)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (partition) DO UPDATE SET dir_mtime_ns = excluded.dir_mtime_ns,
               file_count = excluded.file_count, scanned_at_utc = excluded.scanned_at_utc",
            params![
                partition,
                st.dir_mtime,
                st.file_count as i64,
                Timestamp::now().to_pydantic()
            ],
        ),
    )?;
    stats.partitions_scanned += 1;
    Ok(())
}

fn write_pipeline(
    conn: &Connection,
    db_path: &std::path::Path,
    rx: &mpsc::Receiver<Msg>,
    stats: &mut ReconcileStats,
    prog: &mut ReconcileProgress,
    progress: &mut dyn FnMut(&ReconcileProgress),
) -> Result<(), IndexError> {
    let mut pending: HashMap<String, PartitionState> = HashMap::new();
    let mut in_tx = 0usize;
    let mut committed_at = std::time::Instant::now();
    wrap(db_path, conn.execute_batch("BEGIN"))?;
    let mut body = || -> Result<(), IndexError> {
        for msg in rx.iter() {
            let done_partitions: Vec<String> = match msg {
                Msg::Failed(e) => return Err(e),
                Msg::Unreadable { partition, reason } => {
                    // Forget its bookkeeping (not its rows): the next quick pass tries again
                    // and says so again, until the folder can be read.
                    wrap(
                        db_path,
                        conn.execute(
                            "DELETE FROM run_index_partitions WHERE partition = ?1",
                            [&partition],
                        ),
                    )?;
                    stats.unreadable.push((partition.clone(), reason));
                    vec![partition]
                }
                Msg::Planned {
                    partition,
                    dir_mtime,
                    file_count,
                    expected,
                    removed,
                    inodes,
                } => {
                    stats.files_seen += file_count as u64;
                    let st = PartitionState {
                        dir_mtime,
                        file_count,
                        expected,
                        done: 0,
                        removed,
                        inodes,
                    };
                    if expected == 0 {
                        finish_partition(conn, db_path, &partition, &st, stats)?;
                        vec![partition]
                    } else {
                        pending.insert(partition, st);
                        Vec::new()
                    }
                }
                Msg::Rows(rows) => {
                    let mut done = Vec::new();
                    for row in rows {
                        upsert(conn, db_path, &row)?;
                        stats.parsed += 1;
                        stats.added_or_changed += 1;
                        stats.invalid += u64::from(!row.valid);
                        in_tx += 1;
                        let partition = row.file.partition;
                        let complete = pending.get_mut(&partition).is_some_and(|st| {
                            st.done += 1;
                            st.done == st.expected
                        });
                        if complete {
                            let st = pending.remove(&partition).expect("present");
                            finish_partition(conn, db_path, &partition, &st, stats)?;
                            done.push(partition);
                        }
                    }
                    done
                }
            };
            let partition_done = !done_partitions.is_empty();
            // Finished partitions become visible to readers (the console shows the newest
            // runs while older partitions are still being read) at most a few times a
            // second; otherwise every BATCH rows.
            if in_tx >= BATCH
                || (partition_done
                    && in_tx > 0
                    && committed_at.elapsed() >= std::time::Duration::from_millis(250))
            {
                wrap(db_path, conn.execute_batch("COMMIT; BEGIN"))?;
                in_tx = 0;
                committed_at = std::time::Instant::now();
            }
            for p in done_partitions {
                prog.partitions_done += 1;
                prog.files_parsed = stats.parsed;
                prog.current = p;
                progress(prog);
            }
        }
        Ok(())
    };
    let result = body();
    // Rows already written are individually correct; the bookkeeping of unfinished
    // partitions is missing, so they are rescanned next time.
    let commit = wrap(db_path, conn.execute_batch("COMMIT"));
    result.and(commit)
}

fn upsert(conn: &Connection, db_path: &std::path::Path, row: &Row) -> Result<(), IndexError> {
    let mut stmt = wrap(db_path, conn.prepare_cached(UPSERT))?;
    let up = |s: &Option<String>| s.as_ref().map(|v| v.to_uppercase());
    let source_key = row.valid.then(|| {
        row.source
            .as_ref()
            .map(|s| s.to_uppercase())
            .unwrap_or_else(|| "NONE".into())
    });
    wrap(
        db_path,
        stmt.execute(params![
            row.file.partition,
            format!("{}.json", row.file.stem),
            row.file.size as i64,
            row.file.mtime_ns,
            row.valid as i64,
            row.error,
            row.run_id,
            row.created_us,
            row.created_at,
            row.mode,
            row.tool_id,
            row.status,
            row.risk_level,
            row.score,
            row.source,
            row.event_type,
            row.workflow_session_id,
            row.warnings_json,
            row.block_reason,
            row.verify,
            up(&row.mode),
            up(&row.tool_id),
            up(&row.risk_level),
            source_key,
            row.search_text,
            row.file.ino as i64,
        ]),
    )?;
    Ok(())
}

/// Peak resident set size of this process in kB (Linux; 0 elsewhere), for diagnostics.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Rows a probe counts at most before a term is considered unselective.
const PROBE_LIMIT: u64 = 2_000;

/// Rows written per transaction during reconcile.
const BATCH: usize = 2_000;

/// A directory mtime newer than this is not trusted to stay put (coarse-mtime filesystems).
const MTIME_SETTLE_NS: i64 = 2_000_000_000;

/// The run index over one data root.
pub struct RunIndex {
    conn: Connection,
    store: RunStore,
    db_path: PathBuf,
}

impl RunIndex {
    /// Open (creating and migrating) the index of a data root: in its `rmos.db`, or in a
    /// private cache when this user cannot write there ([`DataRoot::index_db_path`]).
    ///
    /// When the data root's filesystem is full (or failing) and the database cannot even be
    /// opened, the index is built in the private cache instead, so runs can still be
    /// listed (a data volume that filled up rarely takes the home folder with it).
    pub fn open(root: &DataRoot) -> Result<RunIndex, IndexError> {
        let db_path = root.index_db_path();
        let conn = match db::open(&db_path) {
            Ok(conn) => conn,
            Err(e) if db_path == root.db_path() && e.is_out_of_space() => {
                let cache = root.cache_index_path();
                match db::open(&cache) {
                    Ok(conn) => {
                        return Ok(RunIndex {
                            conn,
                            store: root.run_store(),
                            db_path: cache,
                        })
                    }
                    Err(_) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        Ok(RunIndex {
            conn,
            store: root.run_store(),
            db_path,
        })
    }

    /// Where this index's database is.
    pub fn db_path(&self) -> &std::path::Path {
        &self.db_path
    }

    pub fn store(&self) -> &RunStore {
        &self.store
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, IndexError> {
        r.map_err(|source| IndexError::Sql {
            path: self.db_path.clone(),
            source,
        })
    }

    fn meta_get(&self, key: &str) -> Result<Option<String>, IndexError> {
        self.sql(
            self.conn
                .query_row(
                    "SELECT value FROM run_index_meta WHERE key = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional(),
        )
    }

    fn meta_set(&self, key: &str, value: &str) -> Result<(), IndexError> {
        self.sql(self.conn.execute(
            "INSERT INTO run_index_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        ))
        .map(|_| ())
    }

    /// Bring the rows of just these files (partition → file names, as a watcher named them)
    /// in line with the disk: a new or changed file is read, a vanished one removed, an
    /// unchanged one left alone. The cost follows the files named, not the size of their
    /// partition. (The partition's folder time is not recorded as seen: a file that arrived
    /// before the folder was watched sent no event, and the next folder comparison finds it.)
    pub fn reconcile_files(
        &mut self,
        files: &HashMap<String, HashSet<String>>,
    ) -> Result<ReconcileStats, IndexError> {
        use crate::store::runs::{is_artifact_file_name, is_partition_name, PartitionEntry};
        let mut stats = ReconcileStats::default();
        let db_path = self.db_path.clone();
        let tx = self.sql(self.conn.unchecked_transaction())?;
        {
            let mut known = self.sql(tx.prepare_cached(
                "SELECT size, mtime_ns, ino FROM run_index WHERE partition = ?1 AND file_name = ?2",
            ))?;
            let mut del = self.sql(
                tx.prepare_cached("DELETE FROM run_index WHERE partition = ?1 AND file_name = ?2"),
            )?;
            for (partition, names) in files {
                if !is_partition_name(partition) {
                    continue;
                }
                for name in names {
                    if !is_artifact_file_name(name) || name.contains(['/', '\\']) {
                        continue;
                    }
                    let path = self.store.partition_dir(partition).join(name);
                    let row: Option<(i64, i64, i64)> = self.sql(
                        known
                            .query_row(params![partition, name], |r| {
                                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                            })
                            .optional(),
                    )?;
                    let ino = match std::fs::symlink_metadata(&path) {
                        Ok(m) if !m.is_dir() => {
                            use std::os::unix::fs::MetadataExt;
                            m.ino()
                        }
                        _ => {
                            // Gone (or a folder now): its row goes.
                            if row.is_some() {
                                stats.removed +=
                                    self.sql(del.execute(params![partition, name]))? as u64;
                            }
                            continue;
                        }
                    };
                    let entry = PartitionEntry {
                        name: name.clone(),
                        raw: None,
                        ino,
                    };
                    let f = self.store.stat_entry(partition, &entry, path);
                    if row == Some((f.size as i64, f.mtime_ns, f.ino as i64)) {
                        continue;
                    }
                    upsert(&tx, &db_path, &Row::from_file(f))?;
                    stats.added_or_changed += 1;
                }
            }
        }
        self.sql(tx.commit())?;
        if stats.changed() {
            self.meta_set("last_reconcile_utc", &Timestamp::now().to_pydantic())?;
        }
        Ok(stats)
    }

    /// The mark of the newest change any process made to this index (its last changing
    /// reconcile), for telling one's own changes from others'.
    pub fn change_mark(&self) -> Option<String> {
        self.meta_get("last_reconcile_utc").ok().flatten()
    }

    /// Forget everything (the files are untouched).
    pub fn clear(&mut self) -> Result<(), IndexError> {
        let r = self.conn.execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM run_index; DELETE FROM run_index_partitions; DELETE FROM run_index_meta; COMMIT;",
        );
        self.sql(r)
    }

    /// Bring the index in line with the files.
    ///
    /// A producer thread lists partitions (newest first) and diffs them against the
    /// index, parser threads read and validate changed files, and this thread writes rows
    /// in large transactions. A partition's bookkeeping (removed files, directory mtime)
    /// is written only once all its rows are, so an interrupted pass is redone next time.
    pub fn reconcile(
        &mut self,
        mode: ReconcileMode,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        self.reconcile_marked(mode, &HashSet::new(), progress)
    }

    /// [`RunIndex::reconcile`], also comparing every file of the `touched` partitions in a
    /// quick pass (a watcher saw files change there: an in-place rewrite leaves the
    /// folder's mtime alone, so the quick pass alone would not look).
    pub fn reconcile_marked(
        &mut self,
        mode: ReconcileMode,
        touched: &HashSet<String>,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        self.reconcile_watched(mode, touched, &HashSet::new(), &HashSet::new(), progress)
    }

    /// [`RunIndex::reconcile_marked`] where the `watched` partitions' changes arrive as
    /// file events (a live watcher): their folder's modification time is trusted at once
    /// (no settle window), since a file added in the same clock tick still sends its event;
    /// a quick pass leaves the `skip` partitions out altogether (watched since before their
    /// last comparison: every change in them arrives as an event, handled by
    /// [`RunIndex::reconcile_files`]; a lost event is an overflow, answered by a full pass).
    pub fn reconcile_watched(
        &mut self,
        mode: ReconcileMode,
        touched: &HashSet<String>,
        watched: &HashSet<String>,
        skip: &HashSet<String>,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        let root_text = self.store.root().display().to_string();
        if self.meta_get("runs_root")?.as_deref() != Some(root_text.as_str()) {
            // The index describes another runs directory (or none yet): start over. Checked
            // again under the write lock: processes opening a fresh index at once must not
            // clear it one after another, wiping rows the first had already indexed.
            self.sql(self.conn.execute_batch("BEGIN IMMEDIATE"))?;
            let reset = (|| {
                if self.meta_get("runs_root")?.as_deref() != Some(root_text.as_str()) {
                    self.sql(self.conn.execute_batch(
                        "DELETE FROM run_index; DELETE FROM run_index_partitions; DELETE FROM run_index_meta;",
                    ))?;
                    self.meta_set("runs_root", &root_text)?;
                }
                Ok(())
            })();
            match reset {
                Ok(()) => self.sql(self.conn.execute_batch("COMMIT"))?,
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        let mut stats = ReconcileStats::default();
        let disk = self.store.partitions()?;
        let known: HashMap<String, i64> = {
            let mut stmt = self.sql(
                self.conn
                    .prepare("SELECT partition, dir_mtime_ns FROM run_index_partitions"),
            )?;
            let rows = self.sql(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))))?;
            self.sql(rows.collect())?
        };
        let now_ns = Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let mut plan = Vec::new();
        for partition in disk.iter().rev() {
            let dir = self.store.partition_dir(partition);
            let dir_mtime = std::fs::metadata(&dir)
                .map(|m| crate::store::runs::mtime_ns(&m))
                .unwrap_or(0);
            let is_watched = watched.contains(partition);
            let settled = (known.get(partition) == Some(&dir_mtime)
                && (now_ns - dir_mtime > MTIME_SETTLE_NS || is_watched)
                || skip.contains(partition) && known.contains_key(partition))
                && !touched.contains(partition);
            if mode == ReconcileMode::Quick && settled {
                stats.partitions_skipped += 1;
            } else {
                // A quick pass over a folder that gained or lost files compares names and
                // inodes only; a full pass, or a partition where the watcher saw a file
                // change (an in-place rewrite keeps name and inode), compares every file.
                let compare = if mode == ReconcileMode::Full || touched.contains(partition) {
                    Compare::Stat
                } else {
                    Compare::Names
                };
                plan.push((partition.clone(), dir_mtime, compare));
            }
        }
        let mut prog = ReconcileProgress {
            partitions_total: plan.len(),
            ..Default::default()
        };
        self.run_pipeline(plan, &mut stats, &mut prog, progress)?;

        let mut gone: Vec<String> = known
            .keys()
            .filter(|p| disk.binary_search(p).is_err())
            .cloned()
            .collect();
        if mode == ReconcileMode::Full {
            // Rows of partitions without bookkeeping (unreadable when last seen) too.
            let mut stmt = self.sql(
                self.conn
                    .prepare("SELECT DISTINCT partition FROM run_index"),
            )?;
            let rows = self.sql(stmt.query_map([], |r| r.get::<_, String>(0)))?;
            let indexed: Vec<String> = self.sql(rows.collect())?;
            gone.extend(
                indexed
                    .into_iter()
                    .filter(|p| disk.binary_search(p).is_err() && !known.contains_key(p)),
            );
        }
        if !gone.is_empty() {
            let tx = self.sql(self.conn.unchecked_transaction())?;
            for p in &gone {
                let n = self.sql(tx.execute("DELETE FROM run_index WHERE partition = ?1", [p]))?;
                self.sql(tx.execute("DELETE FROM run_index_partitions WHERE partition = ?1", [p]))?;
                stats.removed += n as u64;
                stats.partitions_removed += 1;
            }
            self.sql(tx.commit())?;
        }
        // Only a pass that changed something (or compared every file) is written down:
        // the console runs an idle quick pass every second, which must not write each time.
        if stats.changed() || mode == ReconcileMode::Full {
            let now = Timestamp::now().to_pydantic();
            self.meta_set("last_reconcile_utc", &now)?;
            if mode == ReconcileMode::Full {
                self.meta_set("last_full_reconcile_utc", &now)?;
            }
        }
        stats.partitions_on_disk = disk;
        Ok(stats)
    }

    fn run_pipeline(
        &mut self,
        plan: Vec<Planned>,
        stats: &mut ReconcileStats,
        prog: &mut ReconcileProgress,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<(), IndexError> {
        if plan.is_empty() {
            return Ok(());
        }
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        let (out_tx, out_rx) = mpsc::sync_channel::<Msg>(2 * BATCH / CHUNK);
        let (work_tx, work_rx) = mpsc::sync_channel::<Vec<ArtifactFile>>(BATCH / CHUNK);
        let work_rx = std::sync::Arc::new(Mutex::new(work_rx));
        let db_path = self.db_path.clone();
        let store = self.store.clone();
        let conn = &self.conn;
        std::thread::scope(|s| -> Result<(), IndexError> {
            {
                let out_tx = out_tx.clone();
                let db_path = db_path.clone();
                s.spawn(move || {
                    if let Err(e) = plan_partitions(&store, &db_path, plan, &out_tx, &work_tx) {
                        let _ = out_tx.send(Msg::Failed(e));
                    }
                });
            }
            for _ in 0..workers {
                let (work_rx, out_tx) = (work_rx.clone(), out_tx.clone());
                s.spawn(move || loop {
                    let next = work_rx.lock().expect("work queue lock").recv();
                    let Ok(files) = next else { break };
                    let rows = files.into_iter().map(Row::from_file).collect();
                    if out_tx.send(Msg::Rows(rows)).is_err() {
                        break;
                    }
                });
            }
            drop(work_rx);
            drop(out_tx);
            let result = write_pipeline(conn, &db_path, &out_rx, stats, prog, progress);
            drop(out_rx);
            result
        })
    }

    /// Drop the index and rebuild it from the files. Secondary indexes are dropped during
    /// the bulk load and recreated afterwards (much faster than maintaining them per row).
    pub fn rebuild(
        &mut self,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        self.clear()?;
        let indexes: Vec<(String, String)> = {
            let mut stmt = self.sql(self.conn.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'run_index' AND sql IS NOT NULL",
            ))?;
            let rows = self.sql(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))))?;
            self.sql(rows.collect())?
        };
        for (name, _) in &indexes {
            self.sql(
                self.conn
                    .execute_batch(&format!("DROP INDEX IF EXISTS \"{name}\"")),
            )?;
        }
        let timing = std::env::var_os("RMOS_DEBUG_TIMING").is_some();
        let t = std::time::Instant::now();
        let result = self.reconcile(ReconcileMode::Full, progress);
        let t_load = t.elapsed();
        let hwm_load = if timing { peak_rss_kb() } else { 0 };
        // Recreate the indexes whatever happened, so queries stay fast.
        for (_, sql) in &indexes {
            self.sql(self.conn.execute_batch(sql))?;
        }
        let t_indexes = t.elapsed() - t_load;
        let stats = result?;
        // Approximate statistics are enough for the planner and cost milliseconds.
        self.sql(
            self.conn
                .execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;"),
        )?;
        if timing {
            eprintln!(
                "rebuild timing: load {t_load:?} (peak RSS {hwm_load} kB), indexes {t_indexes:?}, analyze {:?} (peak RSS {} kB)",
                t.elapsed() - t_load - t_indexes,
                peak_rss_kb()
            );
        }
        Ok(stats)
    }

    /// Pick the index for a filtered, time-ordered page without trusting planner
    /// statistics (which may be missing or stale): probe how many rows each positive
    /// `key:value` term selects, up to [`PROBE_LIMIT`]. A small set is fetched through its
    /// own index and sorted; otherwise a time-ordered scan is best — through a field index
    /// when the term has a single value (that index is ordered by time within the value),
    /// else through the time index.
    fn choose_index(&self, filter: &Filter) -> Result<Option<&'static str>, IndexError> {
        use crate::filter::Predicate;
        let mut best: Option<(u64, &'static str)> = None;
        let mut single_valued: Option<&'static str> = None;
        let mut any = false;
        for t in filter.terms.iter().filter(|t| !t.negated) {
            let Predicate::Field { field, values } = &t.predicate else {
                continue;
            };
            let Some((col, index)) = field.index() else {
                continue;
            };
            any = true;
            let marks = vec!["?"; values.len()].join(",");
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM run_index INDEXED BY {index} WHERE {col} IN ({marks}) LIMIT {PROBE_LIMIT})"
            );
            let params: Vec<String> = values.iter().map(|v| field.normalize(v)).collect();
            let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
            let n: i64 = self.sql(stmt.query_row(params_from_iter(params), |r| r.get(0)))?;
            let n = n as u64;
            if n < PROBE_LIMIT && best.is_none_or(|(b, _)| n < b) {
                best = Some((n, index));
            }
            if values.len() == 1 {
                single_valued.get_or_insert(index);
            }
        }
        Ok(match best {
            Some((_, index)) => Some(index),
            None if any => Some(single_valued.unwrap_or("idx_run_index_time")),
            None => None,
        })
    }

    /// One page of runs, newest first.
    pub fn query(&self, q: &RunQuery) -> Result<RunPage, IndexError> {
        let req = PageRequest {
            filter: q.filter.clone(),
            include_invalid: q.include_invalid,
            direction: Direction::Older,
            bound: q.cursor.clone().map(|c| (c, false)),
            limit: q.limit.max(1),
            now: q.now,
        };
        let (runs, more) = self.page(&req)?;
        let next_cursor = if more {
            runs.last().map(IndexedRun::cursor)
        } else {
            None
        };
        Ok(RunPage { runs, next_cursor })
    }

    /// Rows from a bound in one direction, in that direction's order (newest first for
    /// [`Direction::Older`], oldest first for [`Direction::Newer`]), and whether more follow.
    pub fn page(&self, req: &PageRequest) -> Result<(Vec<IndexedRun>, bool), IndexError> {
        match self.page_with(req, true) {
            // An index may be missing while another process rebuilds: let the planner choose.
            Err(IndexError::Sql { source, .. }) if source.to_string().contains("no such index") => {
                self.page_with(req, false)
            }
            other => other,
        }
    }

    fn page_with(
        &self,
        req: &PageRequest,
        hint: bool,
    ) -> Result<(Vec<IndexedRun>, bool), IndexError> {
        let (cond, mut params) = req.filter.to_sql(req.now);
        let index = if hint {
            self.choose_index(&req.filter)?
        } else {
            None
        };
        let indexed_by = index
            .map(|i| format!(" INDEXED BY {i}"))
            .unwrap_or_default();
        let mut sql = format!("SELECT {SELECT_COLS} FROM run_index{indexed_by} WHERE ");
        if !req.include_invalid {
            sql.push_str("valid = 1 AND ");
        }
        sql.push_str(&format!("({cond})"));
        let (cmp, order) = match req.direction {
            Direction::Older => ("<", "DESC"),
            Direction::Newer => (">", "ASC"),
        };
        if let Some((c, inclusive)) = &req.bound {
            let eq = if *inclusive { "=" } else { "" };
            sql.push_str(&format!(" AND (created_us, run_id) {cmp}{eq} (?, ?)"));
            params.push(rusqlite::types::Value::Integer(c.created_us));
            params.push(rusqlite::types::Value::Text(c.run_id.clone()));
        }
        sql.push_str(&format!(
            " ORDER BY created_us {order}, run_id {order} LIMIT ?"
        ));
        let limit = req.limit.max(1);
        params.push(rusqlite::types::Value::Integer(limit as i64 + 1));
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        let rows = self.sql(stmt.query_map(params_from_iter(params), row_to_run))?;
        let mut runs: Vec<IndexedRun> = self.sql(rows.collect())?;
        let more = runs.len() > limit;
        runs.truncate(limit);
        Ok((runs, more))
    }

    /// How many rows match (counts grow with the store: keep off hot paths).
    pub fn count(
        &self,
        filter: &Filter,
        include_invalid: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, IndexError> {
        let (cond, params) = filter.to_sql(now);
        let valid = if include_invalid {
            ""
        } else {
            "valid = 1 AND "
        };
        let sql = format!("SELECT count(*) FROM run_index WHERE {valid}({cond})");
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        self.sql(stmt.query_row(params_from_iter(params), |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
    }

    /// How many rows matching `filter` are newer than `than` (counting stops at `cap`).
    pub fn count_newer(&self, filter: &Filter, than: &Cursor, cap: u64) -> Result<u64, IndexError> {
        let (cond, mut params) = filter.to_sql(Utc::now());
        params.push(rusqlite::types::Value::Integer(than.created_us));
        params.push(rusqlite::types::Value::Text(than.run_id.clone()));
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM run_index WHERE ({cond}) AND (created_us, run_id) > (?, ?) LIMIT {cap})"
        );
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        self.sql(stmt.query_row(params_from_iter(params), |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
    }

    /// Number of invalid files in the index.
    pub fn invalid_count(&self) -> Result<u64, IndexError> {
        self.sql(
            self.conn
                .query_row("SELECT count(*) FROM run_index WHERE valid = 0", [], |r| {
                    r.get::<_, i64>(0)
                }),
        )
        .map(|n| n as u64)
    }

    /// Invalid files with their reasons, newest first.
    pub fn invalid_files(&self, limit: usize) -> Result<Vec<IndexedRun>, IndexError> {
        let sql = format!(
            "SELECT {SELECT_COLS} FROM run_index WHERE valid = 0 ORDER BY created_us DESC LIMIT ?1"
        );
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        let rows = self.sql(stmt.query_map([limit as i64], row_to_run))?;
        self.sql(rows.collect())
    }

    /// Look one run up by id (newest partition first, like the store).
    pub fn find(&self, run_id: &str) -> Result<Option<IndexedRun>, IndexError> {
        let sql = format!(
            "SELECT {SELECT_COLS} FROM run_index WHERE run_id = ?1 ORDER BY partition DESC LIMIT 1"
        );
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        self.sql(stmt.query_row([run_id], row_to_run).optional())
    }

    pub fn status(&self) -> Result<IndexStatus, IndexError> {
        let q = |sql: &str| -> Result<u64, IndexError> {
            self.sql(self.conn.query_row(sql, [], |r| r.get::<_, i64>(0)))
                .map(|n| n as u64)
        };
        Ok(IndexStatus {
            db_path: self.db_path.display().to_string(),
            runs_root: self.store.root().display().to_string(),
            runs: q("SELECT count(*) FROM run_index WHERE valid = 1")?,
            invalid: q("SELECT count(*) FROM run_index WHERE valid = 0")?,
            partitions: q("SELECT count(*) FROM run_index_partitions")?,
            last_reconcile_utc: self.meta_get("last_reconcile_utc")?,
            last_full_reconcile_utc: self.meta_get("last_full_reconcile_utc")?,
        })
    }
}
