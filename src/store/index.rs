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
use crate::domain::{RunArtifact, Timestamp};
use crate::filter::Filter;
use crate::store::runs::{read_artifact_file, ArtifactFile, RunStore, StoreError};
use crate::store::verify::{verify_artifact, VerifyOutcome};
use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};

/// Errors of the index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("index database {path}: {source}")]
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

/// A position in the (created_at desc, run_id desc) order.
#[derive(Debug, Clone, PartialEq, Eq)]
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
        match read_artifact_file(&file.path) {
            Ok(a) => Row::valid(file, &a),
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

    fn valid(file: ArtifactFile, a: &RunArtifact) -> Row {
        let (outcome, _) = verify_artifact(a);
        let mut search = String::with_capacity(128);
        search.push_str(&a.run_id.to_lowercase());
        search.push('\n');
        search.push_str(&a.tool_id.to_lowercase());
        for w in &a.decision.warnings {
            search.push('\n');
            search.push_str(&w.to_lowercase());
        }
        if let Some(b) = &a.decision.block_reason {
            search.push('\n');
            search.push_str(&b.to_lowercase());
        }
        Row {
            file,
            valid: true,
            error: None,
            run_id: a.run_id.clone(),
            created_us: a.created_at_utc.epoch_micros(),
            created_at: Some(a.created_at_utc.to_isoformat()),
            mode: Some(a.mode.clone()),
            tool_id: Some(a.tool_id.clone()),
            status: Some(a.status.as_str().to_owned()),
            risk_level: Some(a.decision.risk_level.clone()),
            score: a.decision.score,
            source: a.source(),
            event_type: Some(a.event_type.clone()),
            workflow_session_id: a.workflow_session_id.clone(),
            warnings_json: Some(
                serde_json::to_string(&a.decision.warnings).expect("strings serialize"),
            ),
            block_reason: a.decision.block_reason.clone(),
            verify: outcome.as_str(),
            search_text: Some(search),
        }
    }
}

const UPSERT: &str = "INSERT INTO run_index (
    partition, file_name, size, mtime_ns, valid, error, run_id, created_us, created_at, mode,
    tool_id, status, risk_level, score, source, event_type, workflow_session_id, warnings_json,
    block_reason, verify, mode_key, tool_key, risk_key, source_key, search_text)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
    ?20, ?21, ?22, ?23, ?24, ?25)
  ON CONFLICT (partition, file_name) DO UPDATE SET
    size = excluded.size, mtime_ns = excluded.mtime_ns, valid = excluded.valid,
    error = excluded.error, run_id = excluded.run_id, created_us = excluded.created_us,
    created_at = excluded.created_at, mode = excluded.mode, tool_id = excluded.tool_id,
    status = excluded.status, risk_level = excluded.risk_level, score = excluded.score,
    source = excluded.source, event_type = excluded.event_type,
    workflow_session_id = excluded.workflow_session_id, warnings_json = excluded.warnings_json,
    block_reason = excluded.block_reason, verify = excluded.verify, mode_key = excluded.mode_key,
    tool_key = excluded.tool_key, risk_key = excluded.risk_key, source_key = excluded.source_key,
    search_text = excluded.search_text";

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
    /// Open (creating and migrating) the index of a data root.
    pub fn open(root: &DataRoot) -> Result<RunIndex, IndexError> {
        let db_path = root.db_path();
        let conn = db::open(&db_path)?;
        Ok(RunIndex {
            conn,
            store: root.run_store(),
            db_path,
        })
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

    /// Forget everything (the files are untouched).
    pub fn clear(&mut self) -> Result<(), IndexError> {
        let r = self.conn.execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM run_index; DELETE FROM run_index_partitions; DELETE FROM run_index_meta; COMMIT;",
        );
        self.sql(r)
    }

    /// Bring the index in line with the files.
    pub fn reconcile(
        &mut self,
        mode: ReconcileMode,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        let root_text = self.store.root().display().to_string();
        if self.meta_get("runs_root")?.as_deref() != Some(root_text.as_str()) {
            // The index describes another runs directory: start over.
            self.clear()?;
            self.meta_set("runs_root", &root_text)?;
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
        let mut prog = ReconcileProgress {
            partitions_total: disk.len(),
            ..Default::default()
        };
        for partition in disk.iter().rev() {
            let dir = self.store.partition_dir(partition);
            let dir_mtime = std::fs::metadata(&dir)
                .map(|m| crate::store::runs::mtime_ns(&m))
                .unwrap_or(0);
            let unchanged =
                known.get(partition) == Some(&dir_mtime) && now_ns - dir_mtime > MTIME_SETTLE_NS;
            prog.current = partition.clone();
            if mode == ReconcileMode::Quick && unchanged {
                stats.partitions_skipped += 1;
            } else {
                self.reconcile_partition(partition, dir_mtime, &mut stats)?;
                stats.partitions_scanned += 1;
            }
            prog.partitions_done += 1;
            prog.files_parsed = stats.parsed;
            progress(&prog);
        }
        let gone: Vec<&String> = known.keys().filter(|p| !disk.contains(p)).collect();
        for p in gone {
            let tx = self.sql(self.conn.unchecked_transaction())?;
            let n = self.sql(tx.execute("DELETE FROM run_index WHERE partition = ?1", [p]))?;
            self.sql(tx.execute("DELETE FROM run_index_partitions WHERE partition = ?1", [p]))?;
            self.sql(tx.commit())?;
            stats.removed += n as u64;
            stats.partitions_removed += 1;
        }
        let now = Timestamp::now().to_pydantic();
        self.meta_set("last_reconcile_utc", &now)?;
        if mode == ReconcileMode::Full {
            self.meta_set("last_full_reconcile_utc", &now)?;
        }
        Ok(stats)
    }

    fn reconcile_partition(
        &mut self,
        partition: &str,
        dir_mtime: i64,
        stats: &mut ReconcileStats,
    ) -> Result<(), IndexError> {
        let files = self.store.partition_files(partition)?;
        stats.files_seen += files.len() as u64;
        let mut existing: HashMap<String, (i64, i64)> = {
            let mut stmt = self.sql(self.conn.prepare_cached(
                "SELECT file_name, size, mtime_ns FROM run_index WHERE partition = ?1",
            ))?;
            let rows =
                self.sql(stmt.query_map([partition], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))))?;
            self.sql(rows.collect())?
        };
        let file_count = files.len();
        let mut todo = Vec::new();
        for f in files {
            let name = format!("{}.json", f.stem);
            match existing.remove(&name) {
                Some((size, mtime)) if size == f.size as i64 && mtime == f.mtime_ns => {}
                _ => todo.push(f),
            }
        }
        let removed: Vec<String> = existing.into_keys().collect();
        let changed = self.write_rows(todo, stats)?;
        stats.added_or_changed += changed;
        let tx = self.sql(self.conn.unchecked_transaction())?;
        {
            let mut del = self.sql(
                tx.prepare_cached("DELETE FROM run_index WHERE partition = ?1 AND file_name = ?2"),
            )?;
            for name in &removed {
                self.sql(del.execute(params![partition, name]))?;
            }
        }
        self.sql(tx.execute(
            "INSERT INTO run_index_partitions (partition, dir_mtime_ns, file_count, scanned_at_utc)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (partition) DO UPDATE SET dir_mtime_ns = excluded.dir_mtime_ns,
               file_count = excluded.file_count, scanned_at_utc = excluded.scanned_at_utc",
            params![
                partition,
                dir_mtime,
                file_count as i64,
                Timestamp::now().to_pydantic()
            ],
        ))?;
        self.sql(tx.commit())?;
        stats.removed += removed.len() as u64;
        Ok(())
    }

    /// Parse `files` on worker threads and upsert them in batched transactions.
    fn write_rows(
        &mut self,
        files: Vec<ArtifactFile>,
        stats: &mut ReconcileStats,
    ) -> Result<u64, IndexError> {
        if files.is_empty() {
            return Ok(0);
        }
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        let queue = Mutex::new(files.into_iter());
        let (tx, rx) = mpsc::sync_channel::<Row>(BATCH * 2);
        let db_path = self.db_path.clone();
        let conn = &self.conn;
        std::thread::scope(|s| -> Result<u64, IndexError> {
            for _ in 0..workers {
                let (queue, tx) = (&queue, tx.clone());
                s.spawn(move || loop {
                    let next = queue.lock().expect("queue lock").next();
                    let Some(file) = next else { break };
                    if tx.send(Row::from_file(file)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut written = 0u64;
            let mut rows = rx.into_iter().peekable();
            while rows.peek().is_some() {
                let t = wrap(&db_path, conn.unchecked_transaction())?;
                {
                    let mut stmt = wrap(&db_path, t.prepare_cached(UPSERT))?;
                    for row in rows.by_ref().take(BATCH) {
                        stats.parsed += 1;
                        if !row.valid {
                            stats.invalid += 1;
                        }
                        let up = |s: &Option<String>| s.as_ref().map(|v| v.to_uppercase());
                        let source_key = row
                            .source
                            .as_ref()
                            .map(|s| s.to_uppercase())
                            .unwrap_or_else(|| "NONE".into());
                        wrap(
                            &db_path,
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
                                if row.valid { Some(source_key) } else { None },
                                row.search_text,
                            ]),
                        )?;
                        written += 1;
                    }
                }
                wrap(&db_path, t.commit())?;
            }
            Ok(written)
        })
    }

    /// Drop the index and rebuild it from the files.
    pub fn rebuild(
        &mut self,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        self.clear()?;
        let stats = self.reconcile(ReconcileMode::Full, progress)?;
        self.sql(self.conn.execute_batch("ANALYZE"))?;
        Ok(stats)
    }

    /// One page of runs, newest first.
    pub fn query(&self, q: &RunQuery) -> Result<RunPage, IndexError> {
        let (cond, mut params) = q.filter.to_sql(q.now);
        let mut sql = format!("SELECT {SELECT_COLS} FROM run_index WHERE ");
        if !q.include_invalid {
            sql.push_str("valid = 1 AND ");
        }
        sql.push_str(&format!("({cond})"));
        if let Some(c) = &q.cursor {
            sql.push_str(" AND (created_us, run_id) < (?, ?)");
            params.push(rusqlite::types::Value::Integer(c.created_us));
            params.push(rusqlite::types::Value::Text(c.run_id.clone()));
        }
        sql.push_str(" ORDER BY created_us DESC, run_id DESC LIMIT ?");
        let limit = q.limit.max(1);
        params.push(rusqlite::types::Value::Integer(limit as i64 + 1));
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        let rows = self.sql(stmt.query_map(params_from_iter(params), row_to_run))?;
        let mut runs: Vec<IndexedRun> = self.sql(rows.collect())?;
        let next_cursor = if runs.len() > limit {
            runs.truncate(limit);
            runs.last().map(IndexedRun::cursor)
        } else {
            None
        };
        Ok(RunPage { runs, next_cursor })
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
