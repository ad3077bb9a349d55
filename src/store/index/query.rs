//! Queries over the index: keyset pages in (created_at, run_id) order, counts, lookups,
//! and the choice of index for a filtered page.

use super::filter_sql::{field_index, filter_sql};
use super::*;

/// Rows a probe counts at most before a term is considered unselective.
const PROBE_LIMIT: u64 = 2_000;

impl RunIndex {
    /// Pick the index for a filtered, time-ordered page without trusting planner
    /// statistics (which may be missing or stale): probe how many rows each positive
    /// `key:value` term selects, up to [`PROBE_LIMIT`]. A small set is fetched through its
    /// own index and sorted; otherwise a time-ordered scan is best — through a field index
    /// when the term has a single value (that index is ordered by time within the value),
    /// else through the time index.
    ///
    /// A group of alternatives (`a OR b`) is selective when every alternative has such a
    /// small term: the planner then reads each alternative through its index and sorts
    /// the few rows. Otherwise the group is answered by the time-ordered scan, which stops
    /// at the page's last row (SQLite would otherwise gather every row of every
    /// alternative and sort them: 90 ms for `risk:red OR status:blocked` at 100k runs).
    fn choose_index(&self, filter: &Filter) -> Result<Option<&'static str>, IndexError> {
        use crate::filter::Predicate;
        let mut best: Option<(u64, &'static str)> = None;
        let mut single_valued: Option<&'static str> = None;
        let mut any = false;
        let mut groups_selective = true;
        let mut groups = false;
        for t in filter.terms.iter().filter(|t| !t.negated) {
            match &t.predicate {
                Predicate::Field { field, values } => {
                    let Some((_, index)) = field_index(*field) else {
                        continue;
                    };
                    any = true;
                    let n = self.probe(*field, values)?;
                    if n < PROBE_LIMIT && best.is_none_or(|(b, _)| n < b) {
                        best = Some((n, index));
                    }
                    if values.len() == 1 {
                        single_valued.get_or_insert(index);
                    }
                }
                Predicate::Any(alternatives) => {
                    groups = true;
                    let mut total = 0u64;
                    for alt in alternatives {
                        let mut smallest: Option<u64> = None;
                        for t in alt.terms.iter().filter(|t| !t.negated) {
                            if let Predicate::Field { field, values } = &t.predicate {
                                if field_index(*field).is_some() {
                                    let n = self.probe(*field, values)?;
                                    smallest = Some(smallest.map_or(n, |s| s.min(n)));
                                }
                            }
                        }
                        total = total.saturating_add(smallest.unwrap_or(PROBE_LIMIT));
                    }
                    groups_selective &= total < PROBE_LIMIT;
                }
                _ => {}
            }
        }
        Ok(match best {
            Some((_, index)) => Some(index),
            None if any => Some(single_valued.unwrap_or("idx_run_index_time")),
            None if groups && !groups_selective => Some("idx_run_index_time"),
            None => None,
        })
    }

    /// When the filter's only small part is a group of alternatives that are each small
    /// (`tool:rare_a OR (score<1 tool:rare_b)`), the filter split into one filter per
    /// alternative (each with the other terms): each is answered through its own index and
    /// the pages merged. SQLite would otherwise scan in time order through everything.
    fn split_selective_group(&self, filter: &Filter) -> Result<Option<Vec<Filter>>, IndexError> {
        use crate::filter::Predicate;
        let Some(at) = filter
            .terms
            .iter()
            .position(|t| !t.negated && matches!(t.predicate, Predicate::Any(_)))
        else {
            return Ok(None);
        };
        if self.choose_index(filter)?.is_some() {
            return Ok(None); // a plain term (or a large group) decides the plan
        }
        let Predicate::Any(alternatives) = &filter.terms[at].predicate else {
            unreachable!("found above")
        };
        let mut total = 0u64;
        for alt in alternatives {
            let mut smallest = PROBE_LIMIT;
            for t in alt.terms.iter().filter(|t| !t.negated) {
                if let Predicate::Field { field, values } = &t.predicate {
                    smallest = smallest.min(self.probe(*field, values)?);
                }
            }
            total = total.saturating_add(smallest);
        }
        if total >= PROBE_LIMIT {
            return Ok(None);
        }
        let others: Vec<_> = filter
            .terms
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at)
            .map(|(_, t)| t.clone())
            .collect();
        Ok(Some(
            alternatives
                .iter()
                .map(|alt| Filter {
                    terms: others.iter().chain(&alt.terms).cloned().collect(),
                })
                .collect(),
        ))
    }

    /// One page answered as the union of the pages of `parts` (rows matching several
    /// parts once), in the request's order.
    fn page_union(
        &self,
        req: &PageRequest,
        parts: Vec<Filter>,
    ) -> Result<(Vec<IndexedRun>, bool), IndexError> {
        let limit = req.limit.max(1);
        let mut rows: Vec<IndexedRun> = Vec::new();
        // Each part's first `limit + 1` rows hold the union's first `limit + 1` rows, so
        // the merged rows number more than `limit` exactly when the union does (rows
        // matching several parts counted once: no empty last page).
        for filter in parts {
            let sub = PageRequest {
                filter,
                limit: limit + 1,
                ..req.clone()
            };
            rows.extend(self.page_with(&sub, true)?.0);
        }
        let key = |r: &IndexedRun| {
            (
                r.created_us,
                r.run_id.clone(),
                r.partition.clone(),
                r.file_name.clone(),
            )
        };
        rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
        if req.direction == Direction::Newer {
            rows.reverse();
        }
        rows.dedup_by(|a, b| a.partition == b.partition && a.file_name == b.file_name);
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok((rows, more))
    }

    /// How many rows a `field:values` term selects, counting up to [`PROBE_LIMIT`].
    fn probe(&self, field: crate::filter::Field, values: &[String]) -> Result<u64, IndexError> {
        let Some((col, index)) = field_index(field) else {
            return Ok(PROBE_LIMIT);
        };
        let marks = vec!["?"; values.len()].join(",");
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM run_index INDEXED BY {index} WHERE {col} IN ({marks}) LIMIT {PROBE_LIMIT})"
        );
        let params: Vec<String> = values.iter().map(|v| field.normalize(v)).collect();
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        let n: i64 = self.sql(stmt.query_row(params_from_iter(params), |r| r.get(0)))?;
        Ok(n as u64)
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
            sort: Sort::default(),
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
        if !req.sort.is_default() {
            return self.page_sorted(req, hint);
        }
        if hint {
            if let Some(parts) = self.split_selective_group(&req.filter)? {
                return self.page_union(req, parts);
            }
        }
        let (cond, mut params) = filter_sql(&req.filter, req.now);
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
        let (cond, params) = filter_sql(filter, now);
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
        let (cond, mut params) = filter_sql(filter, Utc::now());
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

    /// Which of `run_ids` are in more than one file (the same run_id in several
    /// partitions: which record is the real one cannot be told).
    pub fn duplicated(&self, run_ids: &[&str]) -> Result<Vec<String>, IndexError> {
        // One query for the page (through the run_id index), not one per row.
        let mut out = Vec::new();
        for chunk in run_ids.chunks(500) {
            let marks = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT run_id FROM run_index WHERE run_id IN ({marks}) \
                 GROUP BY run_id HAVING count(*) > 1"
            );
            let mut stmt = self.sql(self.conn.prepare(&sql))?;
            let rows = self.sql(stmt.query_map(params_from_iter(chunk.iter()), |r| r.get(0)))?;
            for id in rows {
                out.push(self.sql(id)?);
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The newest `limit` valid runs derived from `run_id` (its `parent_run_id`) or
    /// executing it as their plan (`lineage.parent_plan_run_id`), newest first, and how
    /// many there are in all. A run naming it both ways counts once.
    pub fn children(
        &self,
        run_id: &str,
        limit: usize,
    ) -> Result<(Vec<IndexedRun>, u64), IndexError> {
        match self.children_with(run_id, limit, true) {
            // An index may be missing while another process rebuilds: let the planner choose.
            Err(IndexError::Sql { source, .. }) if source.to_string().contains("no such index") => {
                self.children_with(run_id, limit, false)
            }
            other => other,
        }
    }

    fn children_with(
        &self,
        run_id: &str,
        limit: usize,
        hint: bool,
    ) -> Result<(Vec<IndexedRun>, u64), IndexError> {
        let by = |index: &str| {
            if hint {
                format!(" INDEXED BY {index}")
            } else {
                String::new()
            }
        };
        let (parent, plan) = (by("idx_run_index_parent"), by("idx_run_index_plan"));
        // Each side is read through its own partial index in (created, run_id) order and
        // stops at `limit` rows; the union (a run naming `run_id` both ways once) is sorted
        // and cut. A run with very many children is never sorted whole.
        let sql = format!(
            "SELECT {SELECT_COLS} FROM ( \
               SELECT * FROM (SELECT * FROM run_index{parent} \
                 WHERE parent_run_id = ?1 AND valid = 1 \
                 ORDER BY created_us DESC, run_id DESC LIMIT ?2) \
               UNION \
               SELECT * FROM (SELECT * FROM run_index{plan} \
                 WHERE plan_run_id = ?1 AND valid = 1 \
                 ORDER BY created_us DESC, run_id DESC LIMIT ?2)) \
             ORDER BY created_us DESC, run_id DESC, partition DESC LIMIT ?2"
        );
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        let rows = self.sql(stmt.query_map(params![run_id, limit as i64], row_to_run))?;
        let runs: Vec<IndexedRun> = self.sql(rows.collect())?;
        let count = format!(
            "SELECT (SELECT count(*) FROM run_index{parent} \
                      WHERE parent_run_id = ?1 AND valid = 1) \
                  + (SELECT count(*) FROM run_index{plan} \
                      WHERE plan_run_id = ?1 AND valid = 1 AND parent_run_id IS NOT ?1)"
        );
        let mut stmt = self.sql(self.conn.prepare_cached(&count))?;
        let total: i64 = self.sql(stmt.query_row([run_id], |r| r.get(0)))?;
        Ok((runs, total as u64))
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

    /// The event types present in valid rows, up to `limit`, in order.
    pub fn event_types(&self, limit: usize) -> Result<Vec<String>, IndexError> {
        let mut stmt = self.sql(self.conn.prepare_cached(
            "SELECT DISTINCT event_type FROM run_index \
             WHERE valid = 1 AND event_type IS NOT NULL ORDER BY 1 LIMIT ?1",
        ))?;
        let rows = self.sql(stmt.query_map([limit as i64], |r| r.get::<_, String>(0)))?;
        self.sql(rows.collect())
    }

    /// Install (or remove) a check SQLite calls every few thousand steps of a statement;
    /// `true` interrupts the statement (it fails with `OperationInterrupted`).
    pub fn set_interrupt(&self, check: Option<crate::store::seam::Interrupt>) {
        match check {
            Some(check) => {
                let check = std::panic::AssertUnwindSafe(check);
                self.conn
                    .progress_handler(10_000, Some(move || (check.0)()));
            }
            None => self.conn.progress_handler(0, None::<fn() -> bool>),
        }
    }

    /// Refresh the planner's statistics after much change (best effort).
    pub fn optimize(&self) {
        let _ = self.conn.execute_batch("PRAGMA optimize");
    }
}
