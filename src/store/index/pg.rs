//! The run index on PostgreSQL, shared by every artifact host of a team.
//!
//! Each host keeps reconciling its own files into its local SQLite index exactly as a
//! single user does (the fast, well-tested path: names, inodes, sizes, times, parallel
//! parsing), and publishes the result into the shared table under its host name: per
//! partition it compares a fingerprint of its rows with the shared ones, and only where
//! they differ upserts the rows that changed and deletes the ones that went, keyed by
//! host + partition + file. Publishing is idempotent, so an indexer that restarts (or two
//! that overlap) converge on the same rows; each commit that changed something notifies
//! the consoles (`runs:MARK`).
//!
//! Queries read the shared table: every host's runs, with the filter compiled by the same
//! compiler as SQLite's ([`filter_sql_pg`]), in the same (created, run_id) keyset order.
//! Run bodies stay on their host: [`PgCatalog::elsewhere`] names the host of a run that is
//! not in this host's folder.

use super::filter_sql::{filter_sql_pg, SqlValue};
use super::*;
use crate::db::pg::{PgConn, PgError, PgTarget, CHANNEL};
use crate::store::seam::Interrupt;
use postgres::types::ToSql;

/// The columns published per row, after the host (in this order in both databases).
const SYNC_COLS: &str = "partition, file_name, size, mtime_ns, ino, valid, error, run_id, created_us, created_at, mode, tool_id, \
    status, risk_level, score, source, event_type, workflow_session_id, warnings_json, block_reason, verify, \
    mode_key, tool_key, risk_key, source_key, search_text, parent_run_id, plan_run_id";
const SYNC_N: usize = 28;

/// Rows per INSERT statement (29 parameters each, under PostgreSQL's 65,535).
const INSERT_ROWS: usize = 1_000;

/// A published row: the values of [`SYNC_COLS`].
struct SyncRow {
    partition: String,
    file_name: String,
    size: i64,
    mtime_ns: i64,
    ino: i64,
    valid: i32,
    text: [Option<String>; 4], // error, run_id (always set), created_at, mode
    created_us: i64,
    rest: [Option<String>; 9], // tool_id, status, risk_level, source, event_type, wsid, warnings, block_reason, verify
    score: Option<f64>,
    keys: [Option<String>; 5], // mode_key, tool_key, risk_key, source_key, search_text
    lineage: [Option<String>; 2], // parent_run_id, plan_run_id
}

fn sync_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SyncRow> {
    Ok(SyncRow {
        partition: r.get(0)?,
        file_name: r.get(1)?,
        size: r.get(2)?,
        mtime_ns: r.get(3)?,
        ino: r.get(4)?,
        valid: r.get::<_, i64>(5)? as i32,
        text: [r.get(6)?, r.get(7)?, r.get(9)?, r.get(10)?],
        created_us: r.get(8)?,
        rest: [
            r.get(11)?,
            r.get(12)?,
            r.get(13)?,
            r.get(15)?,
            r.get(16)?,
            r.get(17)?,
            r.get(18)?,
            r.get(19)?,
            r.get(20)?,
        ],
        score: r.get(14)?,
        keys: [r.get(21)?, r.get(22)?, r.get(23)?, r.get(24)?, r.get(25)?],
        lineage: [r.get(26)?, r.get(27)?],
    })
}

impl SyncRow {
    fn params<'a>(&'a self, host: &'a String, out: &mut Vec<&'a (dyn ToSql + Sync)>) {
        out.push(host);
        out.push(&self.partition);
        out.push(&self.file_name);
        out.push(&self.size);
        out.push(&self.mtime_ns);
        out.push(&self.ino);
        out.push(&self.valid);
        out.push(&self.text[0]); // error
        out.push(&self.text[1]); // run_id
        out.push(&self.created_us);
        out.push(&self.text[2]); // created_at
        out.push(&self.text[3]); // mode
        out.push(&self.rest[0]); // tool_id
        out.push(&self.rest[1]); // status
        out.push(&self.rest[2]); // risk_level
        out.push(&self.score);
        for v in &self.rest[3..] {
            out.push(v);
        }
        for v in &self.keys {
            out.push(v);
        }
        for v in &self.lineage {
            out.push(v);
        }
    }
}

/// A partition's fingerprint: rows, total size, and sums of times and inodes (mod a
/// prime, so they fit a 64-bit integer on both sides).
type Fingerprint = (i64, i64, i64, i64);

const FP_SQLITE: &str =
    "SELECT partition, count(*), coalesce(sum(size), 0), coalesce(sum(mtime_ns % 1000000007), 0), \
    coalesce(sum(ino % 1000000007), 0) FROM run_index GROUP BY partition";
const FP_PG: &str = "SELECT partition, count(*)::bigint, coalesce(sum(size), 0)::bigint, coalesce(sum(mtime_ns % 1000000007), 0)::bigint, \
    coalesce(sum(ino % 1000000007), 0)::bigint FROM run_index WHERE host = $1 GROUP BY partition";

/// The run catalog of a team: this host's files indexed locally, published to and
/// queried from the shared PostgreSQL database.
pub struct PgCatalog {
    local: RunIndex,
    conn: PgConn,
    host: String,
    mark: Option<String>,
    /// Whether the local index may hold changes the shared one does not (at the start,
    /// and after a publish that failed): the next pass publishes even if it changed nothing.
    unpublished: bool,
    /// Whether this database role may write the shared index (an indexer's role may; a
    /// reviewer's or viewer's console reads it and keeps its local index to itself).
    may_publish: bool,
    interrupt: std::cell::RefCell<Option<Interrupt>>,
}

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PublishStats {
    pub partitions_compared: usize,
    pub partitions_changed: usize,
    pub rows_written: u64,
    pub rows_deleted: u64,
}

fn pg_row(r: &postgres::Row) -> IndexedRun {
    let warnings: Option<String> = r.get(14);
    IndexedRun {
        run_id: r.get(0),
        partition: r.get(1),
        file_name: r.get(2),
        valid: r.get::<_, i32>(3) == 1,
        error: r.get(4),
        created_us: r.get(5),
        created_at: r.get(6),
        mode: r.get(7),
        tool_id: r.get(8),
        status: r.get(9),
        risk_level: r.get(10),
        score: r.get(11),
        source: r.get(12),
        event_type: r.get(13),
        warnings: warnings
            .and_then(|w| serde_json::from_str(&w).ok())
            .unwrap_or_default(),
        block_reason: r.get(15),
        verify: r.get(16),
        parent_run_id: r.get(17),
        plan_run_id: r.get(18),
    }
}

/// A sort key's value, as a query parameter.
enum SortValue {
    Int(i64),
    Real(f64),
    Text(String),
}

impl SortValue {
    fn boxed(self) -> Box<dyn ToSql + Sync> {
        match self {
            // sort_risk is an INTEGER column: compared as one.
            SortValue::Int(i) => Box::new(i as i32),
            SortValue::Real(r) => Box::new(r),
            SortValue::Text(t) => Box::new(t),
        }
    }
}

fn boxed(v: Vec<SqlValue>) -> Vec<Box<dyn ToSql + Sync>> {
    v.into_iter()
        .map(|v| -> Box<dyn ToSql + Sync> {
            match v {
                SqlValue::Integer(i) => Box::new(i),
                SqlValue::Real(r) => Box::new(r),
                SqlValue::Text(t) => Box::new(t),
            }
        })
        .collect()
}

fn refs(v: &[Box<dyn ToSql + Sync>]) -> Vec<&(dyn ToSql + Sync)> {
    v.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl PgCatalog {
    /// This host's local index (`local`, over its runs folder) published as `host` into
    /// the shared database at `target`. Refused when another runs folder already
    /// publishes under the same host name (two hosts would delete each other's rows).
    pub fn open(local: RunIndex, target: &PgTarget, host: &str) -> Result<PgCatalog, IndexError> {
        if host.trim().is_empty() || host.len() > 200 {
            return Err(IndexError::Pg(PgError::Target {
                given: host.to_owned(),
                why: "the host name must be 1-200 characters (set RMOS_HOST)".into(),
            }));
        }
        let conn = PgConn::open(target)?;
        let may_publish: bool = conn.read(|c| {
            Ok(c.query_one(
                "SELECT has_table_privilege('run_index', 'INSERT') AND has_table_privilege('run_index', 'DELETE')
                        AND has_table_privilege('run_index_hosts', 'INSERT')",
                &[],
            )?
            .get(0))
        })?;
        let cat = PgCatalog {
            may_publish,
            local,
            conn,
            host: host.to_owned(),
            mark: None,
            unpublished: true,
            interrupt: std::cell::RefCell::new(None),
        };
        let root = cat.local.store().root().display().to_string();
        let claimed: Option<String> = cat.conn.read(|c| {
            Ok(c.query_opt(
                "SELECT runs_root FROM run_index_hosts WHERE host = $1",
                &[&cat.host],
            )?
            .map(|r| r.get(0)))
        })?;
        if let Some(other) = claimed.filter(|r| *r != root && may_publish) {
            return Err(IndexError::HostTaken {
                host: cat.host.clone(),
                runs_root: crate::text::sanitize(&other),
                ours: root,
            });
        }
        Ok(cat)
    }

    /// Whether this catalog writes its host's runs into the shared index (its database
    /// role may), or only reads it.
    pub fn publishes(&self) -> bool {
        self.may_publish
    }

    /// The host name this catalog publishes under.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn check_interrupt(&self) -> Result<(), IndexError> {
        if self.interrupt.borrow().as_ref().is_some_and(|c| c()) {
            return Err(IndexError::Interrupted);
        }
        Ok(())
    }

    /// Publish the local index into the shared table (the partitions whose rows differ).
    pub fn publish(&mut self) -> Result<PublishStats, IndexError> {
        let local_fp: HashMap<String, Fingerprint> = {
            let conn = self.local.connection();
            let path = self.local.db_path().to_path_buf();
            let mut stmt = wrap(&path, conn.prepare(FP_SQLITE))?;
            let rows = wrap(
                &path,
                stmt.query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?),
                    ))
                }),
            )?;
            wrap(&path, rows.collect())?
        };
        let host = self.host.clone();
        let shared_fp: HashMap<String, Fingerprint> = self.conn.read(|c| {
            Ok(c.query(FP_PG, &[&host])?
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3), r.get(4))))
                .collect())
        })?;
        let mut stats = PublishStats {
            partitions_compared: local_fp.len(),
            ..Default::default()
        };
        let mut differ: Vec<String> = local_fp
            .iter()
            .filter(|(p, fp)| shared_fp.get(*p) != Some(*fp))
            .map(|(p, _)| p.clone())
            .collect();
        let gone: Vec<String> = shared_fp
            .keys()
            .filter(|p| !local_fp.contains_key(*p))
            .cloned()
            .collect();
        differ.sort_unstable_by(|a, b| b.cmp(a)); // newest partitions first
        stats.partitions_changed = differ.len() + gone.len();
        let root = self.local.store().root().display().to_string();
        if differ.is_empty() && gone.is_empty() {
            // Still claim the host name (a first run over an empty folder).
            let now = Timestamp::now().to_pydantic();
            self.conn.write(|c| {
                c.execute(
                    "INSERT INTO run_index_hosts (host, runs_root, last_change_utc) VALUES ($1, $2, $3)
                     ON CONFLICT (host) DO NOTHING",
                    &[&host, &root, &now],
                )
                .map_err(|e| self.conn.target().sql_error(e))
            })?;
            return Ok(stats);
        }
        let mark = format!(
            "{host}@{}#{}",
            Timestamp::now().to_pydantic(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        // One transaction per few partitions: consoles see the newest runs early.
        let mut batch: Vec<String> = Vec::new();
        let mut queued = 0usize;
        let mut todo = differ.into_iter().peekable();
        loop {
            let next = todo.next();
            if let Some(p) = &next {
                queued += local_fp.get(p).map_or(0, |f| f.0 as usize);
                batch.push(p.clone());
            }
            let flush = next.is_none() || queued >= 20_000;
            if flush && (!batch.is_empty() || next.is_none()) {
                let last = next.is_none();
                let (w, d) =
                    self.publish_partitions(&batch, if last { &gone } else { &[] }, &mark, &root)?;
                stats.rows_written += w;
                stats.rows_deleted += d;
                batch.clear();
                queued = 0;
            }
            if next.is_none() {
                break;
            }
        }
        self.mark = Some(mark);
        Ok(stats)
    }

    /// Bring the shared rows of these partitions in line with the local ones, drop the
    /// `gone` partitions, in one transaction that notifies the consoles.
    fn publish_partitions(
        &self,
        partitions: &[String],
        gone: &[String],
        mark: &str,
        root: &str,
    ) -> Result<(u64, u64), IndexError> {
        let host = self.host.clone();
        let path = self.local.db_path().to_path_buf();
        let conn = self.local.connection();
        let target = self.conn.target().clone();
        self.conn.write(|c| {
            let sql = |e| IndexError::Pg(target.sql_error(e));
            let mut tx = c.transaction().map_err(sql)?;
            let mut written = 0u64;
            let mut deleted = 0u64;
            for p in gone {
                deleted += tx
                    .execute(
                        "DELETE FROM run_index WHERE host = $1 AND partition = $2",
                        &[&host, p],
                    )
                    .map_err(sql)?;
            }
            let mut stmt = wrap(
                &path,
                conn.prepare_cached(&format!(
                    "SELECT {SYNC_COLS} FROM run_index WHERE partition = ?1 ORDER BY file_name"
                )),
            )?;
            for p in partitions {
                let shared: HashMap<String, (i64, i64, i64)> = tx
                    .query(
                        "SELECT file_name, size, mtime_ns, ino FROM run_index WHERE host = $1 AND partition = $2",
                        &[&host, p],
                    )
                    .map_err(sql)?
                    .iter()
                    .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
                    .collect();
                let rows = wrap(&path, stmt.query_map([p], sync_row))?;
                let mut seen: HashSet<String> = HashSet::new();
                let mut changed: Vec<SyncRow> = Vec::new();
                for row in rows {
                    let row = wrap(&path, row)?;
                    seen.insert(row.file_name.clone());
                    if shared.get(&row.file_name) != Some(&(row.size, row.mtime_ns, row.ino)) {
                        changed.push(row);
                    }
                    if changed.len() >= INSERT_ROWS {
                        written += upsert_rows(&mut tx, &host, &changed).map_err(sql)?;
                        changed.clear();
                    }
                }
                written += upsert_rows(&mut tx, &host, &changed).map_err(sql)?;
                let vanished: Vec<&String> =
                    shared.keys().filter(|n| !seen.contains(*n)).collect();
                if !vanished.is_empty() {
                    deleted += tx
                        .execute(
                            "DELETE FROM run_index WHERE host = $1 AND partition = $2 AND file_name = ANY($3)",
                            &[&host, p, &vanished],
                        )
                        .map_err(sql)?;
                }
            }
            let now = Timestamp::now().to_pydantic();
            tx.execute(
                "INSERT INTO run_index_hosts (host, runs_root, last_change_utc) VALUES ($1, $2, $3)
                 ON CONFLICT (host) DO UPDATE SET last_change_utc = EXCLUDED.last_change_utc",
                &[&host, &root, &now],
            )
            .map_err(sql)?;
            if written + deleted > 0 {
                tx.execute(
                    "SELECT pg_notify($1, $2)",
                    &[&CHANNEL, &format!("runs:{mark}")],
                )
                .map_err(sql)?;
            }
            tx.commit().map_err(sql)?;
            Ok((written, deleted))
        })
    }

    /// Publish after a reconcile that changed the local index (or when an earlier
    /// publish failed): passes that changed nothing cost no query on the server.
    fn after_reconcile(&mut self, stats: ReconcileStats) -> Result<ReconcileStats, IndexError> {
        if self.may_publish && (stats.changed() || self.unpublished) {
            self.unpublished = true;
            self.publish()?;
            self.unpublished = false;
        }
        Ok(stats)
    }

    /// Where a run lives when it is not in this host's folder: `Some("host (runs folder)")`
    /// for a run indexed by another host only; `None` when it is here or unknown.
    pub fn elsewhere(&self, run_id: &str) -> Result<Option<String>, IndexError> {
        let host = self.host.clone();
        let rows: Vec<(String, String)> = self.conn.read(|c| {
            Ok(c.query(
                "SELECT r.host, coalesce(h.runs_root, '?') FROM run_index r LEFT JOIN run_index_hosts h ON h.host = r.host
                 WHERE r.run_id = $1 ORDER BY r.partition DESC",
                &[&run_id],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
        })?;
        if rows.is_empty() || rows.iter().any(|(h, _)| *h == host) {
            return Ok(None);
        }
        // Written by other hosts: shown only with control characters escaped.
        Ok(Some(format!(
            "host {} (runs folder {})",
            crate::text::sanitize(&rows[0].0),
            crate::text::sanitize(&rows[0].1)
        )))
    }

    /// A sorted column's value on the row named by a cursor (None: the row is gone).
    fn sort_value(&self, col: &str, c: &Cursor) -> Result<Option<SortValue>, IndexError> {
        let sql =
            format!("SELECT {col} FROM run_index WHERE created_us = $1 AND run_id = $2 LIMIT 1");
        Ok(self.conn.read(|conn| {
            Ok(conn
                .query_opt(&sql, &[&c.created_us, &c.run_id])?
                .map(|r| match col {
                    "sort_risk" => SortValue::Int(r.get::<_, i32>(0) as i64),
                    "sort_score" => SortValue::Real(r.get(0)),
                    _ => SortValue::Text(r.get(0)),
                }))
        })?)
    }

    fn page_sql(&self, req: &PageRequest) -> Result<(Vec<IndexedRun>, bool), IndexError> {
        self.check_interrupt()?;
        let (cond, params) = filter_sql_pg(&req.filter, req.now, 1);
        let mut params = boxed(params);
        let mut sql = format!("SELECT {SELECT_COLS} FROM run_index WHERE ");
        if !req.include_invalid {
            sql.push_str("valid = 1 AND ");
        }
        sql.push_str(&format!("({cond})"));
        // Along the list (Older) in a descending order is downwards; a sorted list orders
        // by its key first (`store::index::sort`), time breaking ties.
        let col = req.sort.key.column();
        let down = (req.direction == Direction::Older) == req.sort.descending;
        let (cmp, order) = if down { ("<", "DESC") } else { (">", "ASC") };
        if let Some((c, inclusive)) = &req.bound {
            let eq = if *inclusive { "=" } else { "" };
            let n = params.len();
            match col {
                Some(col) => {
                    // A row gone meanwhile has no place in this order (as on SQLite).
                    let Some(v) = self.sort_value(col, c)? else {
                        return Ok((Vec::new(), false));
                    };
                    sql.push_str(&format!(
                        " AND ({col}, created_us, run_id) {cmp}{eq} (${}, ${}, ${})",
                        n + 1,
                        n + 2,
                        n + 3
                    ));
                    params.push(v.boxed());
                }
                None => sql.push_str(&format!(
                    " AND (created_us, run_id) {cmp}{eq} (${}, ${})",
                    n + 1,
                    n + 2
                )),
            }
            params.push(Box::new(c.created_us));
            params.push(Box::new(c.run_id.clone()));
        }
        let limit = req.limit.max(1);
        let lead = col.map(|c| format!("{c} {order}, ")).unwrap_or_default();
        sql.push_str(&format!(
            " ORDER BY {lead}created_us {order}, run_id {order}, host, partition, file_name LIMIT {}",
            limit + 1
        ));
        let mut runs: Vec<IndexedRun> = self
            .conn
            .read(|c| Ok(c.query(&sql, &refs(&params))?.iter().map(pg_row).collect()))?;
        let more = runs.len() > limit;
        runs.truncate(limit);
        Ok((runs, more))
    }

    fn count_sql(&self, sql: &str, params: Vec<Box<dyn ToSql + Sync>>) -> Result<u64, IndexError> {
        self.check_interrupt()?;
        Ok(self
            .conn
            .read(|c| Ok(c.query_one(sql, &refs(&params))?.get::<_, i64>(0)))? as u64)
    }
}

impl crate::store::seam::RunCatalog for PgCatalog {
    fn runs(&self) -> &RunStore {
        self.local.store()
    }
    fn location(&self) -> String {
        format!("{} (host {})", self.conn.target().label(), self.host)
    }
    fn reconcile(
        &mut self,
        mode: ReconcileMode,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        let stats = self.local.reconcile(mode, progress)?;
        self.after_reconcile(stats)
    }
    fn reconcile_watched(
        &mut self,
        mode: ReconcileMode,
        touched: &HashSet<String>,
        watched: &HashSet<String>,
        skip: &HashSet<String>,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        let stats = self
            .local
            .reconcile_watched(mode, touched, watched, skip, progress)?;
        self.after_reconcile(stats)
    }
    fn reconcile_files(
        &mut self,
        files: &HashMap<String, HashSet<String>>,
    ) -> Result<ReconcileStats, IndexError> {
        let stats = self.local.reconcile_files(files)?;
        self.after_reconcile(stats)
    }
    fn rebuild(
        &mut self,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        let stats = self.local.rebuild(progress)?;
        self.after_reconcile(stats)
    }
    fn change_mark(&self) -> Option<String> {
        self.mark.clone()
    }
    fn page(&self, req: &PageRequest) -> Result<(Vec<IndexedRun>, bool), IndexError> {
        self.page_sql(req)
    }
    fn query(&self, q: &RunQuery) -> Result<RunPage, IndexError> {
        let req = PageRequest {
            filter: q.filter.clone(),
            include_invalid: q.include_invalid,
            direction: Direction::Older,
            bound: q.cursor.clone().map(|c| (c, false)),
            limit: q.limit.max(1),
            now: q.now,
            sort: Sort::default(),
        };
        let (runs, more) = self.page_sql(&req)?;
        let next_cursor = if more {
            runs.last().map(IndexedRun::cursor)
        } else {
            None
        };
        Ok(RunPage { runs, next_cursor })
    }
    fn count(
        &self,
        filter: &Filter,
        include_invalid: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, IndexError> {
        let (cond, params) = filter_sql_pg(filter, now, 1);
        let valid = if include_invalid {
            ""
        } else {
            "valid = 1 AND "
        };
        self.count_sql(
            &format!("SELECT count(*) FROM run_index WHERE {valid}({cond})"),
            boxed(params),
        )
    }
    fn count_newer(&self, filter: &Filter, than: &Cursor, cap: u64) -> Result<u64, IndexError> {
        let (cond, params) = filter_sql_pg(filter, Utc::now(), 1);
        let n = params.len();
        let mut params = boxed(params);
        params.push(Box::new(than.created_us));
        params.push(Box::new(than.run_id.clone()));
        self.count_sql(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM run_index WHERE ({cond}) AND (created_us, run_id) > (${}, ${}) LIMIT {cap}) x",
                n + 1,
                n + 2
            ),
            params,
        )
    }
    fn count_ahead(
        &self,
        filter: &Filter,
        sort: Sort,
        than: &Cursor,
        cap: u64,
    ) -> Result<u64, IndexError> {
        let cap = cap.min(i64::MAX as u64);
        let (cond, params) = filter_sql_pg(filter, Utc::now(), 1);
        let n = params.len();
        let mut params = boxed(params);
        let cmp = if sort.descending { ">" } else { "<" };
        let keys = match sort.key.column() {
            None => format!("(created_us, run_id) {cmp} (${}, ${})", n + 1, n + 2),
            Some(col) => match self.sort_value(col, than)? {
                // The row is gone: its place cannot be told.
                None => return Ok(0),
                Some(v) => {
                    params.push(v.boxed());
                    format!(
                        "({col}, created_us, run_id) {cmp} (${}, ${}, ${})",
                        n + 1,
                        n + 2,
                        n + 3
                    )
                }
            },
        };
        params.push(Box::new(than.created_us));
        params.push(Box::new(than.run_id.clone()));
        self.count_sql(
            &format!(
                "SELECT count(*) FROM (SELECT 1 FROM run_index WHERE ({cond}) AND {keys} LIMIT {cap}) x"
            ),
            params,
        )
    }
    fn children(&self, run_id: &str, limit: usize) -> Result<(Vec<IndexedRun>, u64), IndexError> {
        self.check_interrupt()?;
        // Each side through its own partial index, newest first, cut at the limit; a run
        // naming `run_id` both ways (or on two hosts' rows alike) once.
        let sql = format!(
            "SELECT {SELECT_COLS} FROM ( \
               (SELECT * FROM run_index WHERE parent_run_id = $1 AND valid = 1 \
                ORDER BY created_us DESC, run_id DESC LIMIT $2) \
               UNION \
               (SELECT * FROM run_index WHERE plan_run_id = $1 AND valid = 1 \
                ORDER BY created_us DESC, run_id DESC LIMIT $2)) x \
             ORDER BY created_us DESC, run_id DESC, host, partition DESC LIMIT $2"
        );
        let limit = limit as i64;
        let runs: Vec<IndexedRun> = self.conn.read(|c| {
            Ok(c.query(&sql, &[&run_id, &limit])?
                .iter()
                .map(pg_row)
                .collect())
        })?;
        let total = self.count_sql(
            "SELECT (SELECT count(*) FROM run_index WHERE parent_run_id = $1 AND valid = 1) \
                  + (SELECT count(*) FROM run_index WHERE plan_run_id = $1 AND valid = 1 \
                     AND parent_run_id IS DISTINCT FROM $1)",
            vec![Box::new(run_id.to_owned())],
        )?;
        Ok((runs, total))
    }
    fn invalid_count(&self) -> Result<u64, IndexError> {
        self.count_sql("SELECT count(*) FROM run_index WHERE valid = 0", Vec::new())
    }
    fn invalid_files(&self, limit: usize) -> Result<Vec<IndexedRun>, IndexError> {
        Ok(self.conn.read(|c| {
            Ok(c.query(
                &format!("SELECT {SELECT_COLS} FROM run_index WHERE valid = 0 ORDER BY created_us DESC LIMIT $1"),
                &[&(limit as i64)],
            )?
            .iter()
            .map(pg_row)
            .collect())
        })?)
    }
    fn find(&self, run_id: &str) -> Result<Option<IndexedRun>, IndexError> {
        let host = self.host.clone();
        Ok(self.conn.read(|c| {
            Ok(c.query_opt(
                &format!(
                    "SELECT {SELECT_COLS} FROM run_index WHERE run_id = $1 ORDER BY partition DESC, (host = $2) DESC LIMIT 1"
                ),
                &[&run_id, &host],
            )?
            .map(|r| pg_row(&r)))
        })?)
    }
    fn duplicated(&self, run_ids: &[&str]) -> Result<Vec<String>, IndexError> {
        let ids: Vec<String> = run_ids.iter().map(|s| (*s).to_owned()).collect();
        let mut out: Vec<String> = self.conn.read(|c| {
            Ok(c.query(
                "SELECT run_id FROM run_index WHERE run_id = ANY($1) GROUP BY run_id HAVING count(*) > 1",
                &[&ids],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })?;
        out.sort();
        Ok(out)
    }
    fn event_types(&self, limit: usize) -> Result<Vec<String>, IndexError> {
        Ok(self.conn.read(|c| {
            Ok(c.query(
                "SELECT DISTINCT event_type FROM run_index WHERE valid = 1 AND event_type IS NOT NULL ORDER BY 1 LIMIT $1",
                &[&(limit as i64)],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
        })?)
    }
    fn status(&self) -> Result<IndexStatus, IndexError> {
        let local = self.local.status()?;
        let (runs, invalid, partitions): (i64, i64, i64) = self.conn.read(|c| {
            let r = c.query_one(
                "SELECT count(*) FILTER (WHERE valid = 1), count(*) FILTER (WHERE valid = 0),
                        (SELECT count(*) FROM (SELECT DISTINCT host, partition FROM run_index) p)
                 FROM run_index",
                &[],
            )?;
            Ok((r.get(0), r.get(1), r.get(2)))
        })?;
        Ok(IndexStatus {
            db_path: self.location(),
            runs_root: local.runs_root,
            runs: runs as u64,
            invalid: invalid as u64,
            partitions: partitions as u64,
            last_reconcile_utc: local.last_reconcile_utc,
            last_full_reconcile_utc: local.last_full_reconcile_utc,
        })
    }
    fn timeline(
        &self,
        filter: &Filter,
        bucket: Bucket,
        buckets: usize,
        end_us: i64,
        by: StackBy,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimelineBin>, IndexError> {
        self.check_interrupt()?;
        let (first, width, mut bins) = timeline::empty_bins(bucket, buckets, end_us, by);
        let (cond, params) = filter_sql_pg(filter, now, 5);
        let mut all: Vec<Box<dyn ToSql + Sync>> = vec![
            Box::new(first),
            Box::new(width),
            Box::new(first),
            Box::new(first + bins.len() as i64 * width),
        ];
        all.extend(boxed(params));
        let sql = format!(
            "SELECT (created_us - $1) / $2, {col}, count(*) FROM run_index \
             WHERE valid = 1 AND created_us >= $3 AND created_us < $4 AND ({cond}) GROUP BY 1, 2",
            col = by.column()
        );
        let rows: Vec<(i64, Option<String>, i64)> = self.conn.read(|c| {
            Ok(c.query(&sql, &refs(&all))?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect())
        })?;
        for (i, key, n) in rows {
            timeline::add_to_bins(&mut bins, by, i, key.as_deref(), n as u64);
        }
        Ok(bins)
    }
    fn newest_us(&self) -> Result<Option<i64>, IndexError> {
        Ok(self.conn.read(|c| {
            Ok(
                c.query_one("SELECT max(created_us) FROM run_index WHERE valid = 1", &[])?
                    .get(0),
            )
        })?)
    }
    fn set_interrupt(&self, check: Option<Interrupt>) {
        *self.interrupt.borrow_mut() = check;
    }
    fn optimize(&self) {
        let _ = self.conn.read(|c| c.batch_execute("ANALYZE run_index"));
    }
    fn elsewhere(&self, run_id: &str) -> Result<Option<String>, IndexError> {
        PgCatalog::elsewhere(self, run_id)
    }
}

fn upsert_rows(
    tx: &mut postgres::Transaction<'_>,
    host: &String,
    rows: &[SyncRow],
) -> Result<u64, postgres::Error> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut values = String::new();
    let mut params: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(rows.len() * (SYNC_N + 1));
    for (i, row) in rows.iter().enumerate() {
        let base = i * (SYNC_N + 1);
        if i > 0 {
            values.push(',');
        }
        values.push('(');
        for k in 0..=SYNC_N {
            if k > 0 {
                values.push(',');
            }
            values.push_str(&format!("${}", base + k + 1));
        }
        values.push(')');
        row.params(host, &mut params);
    }
    let update: Vec<String> = SYNC_COLS
        .split(", ")
        .filter(|c| *c != "partition" && *c != "file_name")
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    tx.execute(
        &format!(
            "INSERT INTO run_index (host, {SYNC_COLS}) VALUES {values}
             ON CONFLICT (host, partition, file_name) DO UPDATE SET {}",
            update.join(", ")
        ),
        &params,
    )
}
