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
//!
//! Files: `mod.rs` (types, opening), `reconcile.rs` (files → rows), `query.rs` (pages,
//! counts, the index choice), `filter_sql.rs` (a filter as an SQL condition).

mod filter_sql;
mod pg;
mod query;
mod reconcile;
mod sort;
mod timeline;

pub use filter_sql::{field_index, filter_sql, filter_sql_pg, SqlValue};
pub use pg::{PgCatalog, PublishStats};
pub use reconcile::peak_rss_kb;
pub use sort::{Sort, SortKey};
pub use timeline::{Bucket, StackBy, TimelineBin};

use crate::db::{self, DbError};
use crate::domain::Timestamp;
use crate::filter::Filter;
use crate::store::runs::{RunStore, StoreError};
use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
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
    #[error("{0}")]
    Pg(#[from] crate::db::pg::PgError),
    #[error("the host name {host:?} already publishes the runs folder {runs_root} into the shared index, and this is {ours}: give each artifact host its own name (RMOS_HOST=NAME)")]
    HostTaken {
        host: String,
        runs_root: String,
        ours: String,
    },
    /// The query was stopped by its interrupt check (a newer one replaced it).
    #[error("the query was interrupted (a newer one replaced it)")]
    Interrupted,
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
    /// The run this one derives from (`parent_run_id`).
    pub parent_run_id: Option<String>,
    /// The plan this run executes (`lineage.parent_plan_run_id`).
    pub plan_run_id: Option<String>,
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
    /// The artifact file this row summarizes.
    pub fn artifact_key(&self) -> crate::store::runs::ArtifactKey {
        crate::store::runs::ArtifactKey::new(&self.partition, &self.file_name)
    }

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
    /// The list's order (`Direction::Older` walks along it).
    pub sort: Sort,
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

pub(super) const SELECT_COLS: &str =
    "run_id, partition, file_name, valid, error, created_us, created_at, mode, tool_id, status, \
     risk_level, score, source, event_type, warnings_json, block_reason, verify, parent_run_id, \
     plan_run_id";

pub(super) fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<IndexedRun> {
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
        parent_run_id: r.get(17)?,
        plan_run_id: r.get(18)?,
    })
}

pub(super) fn wrap<T>(path: &std::path::Path, r: rusqlite::Result<T>) -> Result<T, IndexError> {
    r.map_err(|source| sql_error(path, source))
}

/// An SQLite error as an index error, told apart by its code (never its message).
fn sql_error(path: &std::path::Path, source: rusqlite::Error) -> IndexError {
    if source.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted) {
        return IndexError::Interrupted;
    }
    IndexError::Sql {
        path: path.to_path_buf(),
        source,
    }
}

/// The run index over one data root.
pub struct RunIndex {
    pub(super) conn: Connection,
    pub(super) store: RunStore,
    pub(super) db_path: PathBuf,
}

impl RunIndex {
    /// Open (creating and migrating) the run index kept in the database at `db_path`,
    /// over the run files of `store`. Which database to use (the shared one, or a private
    /// cache when it cannot be written) is the caller's choice: `DataRoot::open_index`.
    pub fn open_at(db_path: &Path, store: RunStore) -> Result<RunIndex, IndexError> {
        let index = RunIndex {
            conn: db::open(db_path)?,
            store,
            db_path: db_path.to_path_buf(),
        };
        // A rebuild that died half way (indexes and triggers dropped) is finished here;
        // best effort: a read-only index keeps answering as it can.
        let _ = index.heal_rebuild();
        Ok(index)
    }

    /// Whether opening failed for lack of space (or a failing disk) where the database is.
    pub fn is_out_of_space(e: &IndexError) -> bool {
        matches!(e, IndexError::Db(d) if d.is_out_of_space())
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

    pub(super) fn sql<T>(&self, r: rusqlite::Result<T>) -> Result<T, IndexError> {
        r.map_err(|source| sql_error(&self.db_path, source))
    }

    pub(super) fn meta_get(&self, key: &str) -> Result<Option<String>, IndexError> {
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

    pub(super) fn meta_set(&self, key: &str, value: &str) -> Result<(), IndexError> {
        self.sql(self.conn.execute(
            "INSERT INTO run_index_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, value],
        ))
        .map(|_| ())
    }
}
