//! The list's order: newest first by default, or by risk (most severe first), score or
//! tool, each with its own index (migration 0009) so a sorted page is a keyset walk of
//! (key, created_us, run_id) — never a sort of the matching rows in memory. Ties keep
//! the time order. Pages, positions and counts of the console go through here when the
//! order is not the default.

use super::filter_sql::filter_sql;
use super::*;

/// What the list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SortKey {
    #[default]
    Time,
    /// Risk level by severity: RED, ERROR, YELLOW, UNKNOWN, GREEN.
    Risk,
    /// Score (runs without one last when descending).
    Score,
    /// Tool, alphabetically (case-insensitive).
    Tool,
}

impl SortKey {
    /// The order the console cycles through.
    pub const ALL: [SortKey; 4] = [SortKey::Time, SortKey::Risk, SortKey::Score, SortKey::Tool];

    pub fn name(self) -> &'static str {
        match self {
            SortKey::Time => "time",
            SortKey::Risk => "risk",
            SortKey::Score => "score",
            SortKey::Tool => "tool",
        }
    }

    pub fn next(self) -> SortKey {
        let i = Self::ALL.iter().position(|k| *k == self).unwrap_or(0);
        Self::ALL[(i + 1) % Self::ALL.len()]
    }

    /// The (virtual) column the rows are ordered by (migration 0009); `None` for time.
    fn expr(self) -> Option<&'static str> {
        match self {
            SortKey::Time => None,
            SortKey::Risk => Some("sort_risk"),
            SortKey::Score => Some("sort_score"),
            SortKey::Tool => Some("sort_tool"),
        }
    }

    /// The column a sorted page orders by (the same name in PostgreSQL's index table).
    pub(super) fn column(self) -> Option<&'static str> {
        self.expr()
    }

    fn index(self) -> Option<&'static str> {
        match self {
            SortKey::Time => None,
            SortKey::Risk => Some("idx_run_index_sort_risk"),
            SortKey::Score => Some("idx_run_index_sort_score"),
            SortKey::Tool => Some("idx_run_index_sort_tool"),
        }
    }
}

/// An order: a key and a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Sort {
    pub key: SortKey,
    /// Highest first (newest, most severe, best score, Z before A).
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            key: SortKey::Time,
            descending: true,
        }
    }
}

impl Sort {
    /// The default order (newest first), which the time-ordered paths answer.
    pub fn is_default(self) -> bool {
        self == Sort::default()
    }
}

impl RunIndex {
    /// A page in a non-default order: `Direction::Older` walks the list's order from the
    /// bound, `Direction::Newer` walks back towards its top.
    pub(super) fn page_sorted(
        &self,
        req: &PageRequest,
        hint: bool,
    ) -> Result<(Vec<IndexedRun>, bool), IndexError> {
        let key = req.sort.key;
        let Some(expr) = key.expr() else {
            // Time ascending: the time-ordered page walked the other way.
            let flipped = PageRequest {
                direction: match req.direction {
                    Direction::Older => Direction::Newer,
                    Direction::Newer => Direction::Older,
                },
                sort: Sort::default(),
                ..req.clone()
            };
            return self.page(&flipped);
        };
        let (cond, mut params) = filter_sql(&req.filter, req.now);
        let indexed_by = match (hint, key.index()) {
            (true, Some(i)) => format!(" INDEXED BY {i}"),
            _ => String::new(),
        };
        let mut sql = format!("SELECT {SELECT_COLS} FROM run_index{indexed_by} WHERE ");
        if !req.include_invalid {
            sql.push_str("valid = 1 AND ");
        }
        sql.push_str(&format!("({cond})"));
        // Along the list (Older) in a descending order is downwards.
        let down = (req.direction == Direction::Older) == req.sort.descending;
        let (cmp, order) = if down { ("<", "DESC") } else { (">", "ASC") };
        if let Some((c, inclusive)) = &req.bound {
            let eq = if *inclusive { "=" } else { "" };
            // The bound row's own key, read from the index (a cursor names a row by its
            // time and id). A row gone meanwhile has no place in this order: nothing is
            // answered from it (the console then reads the page around its selection).
            let Some(v) = self.sort_value(expr, c)? else {
                return Ok((Vec::new(), false));
            };
            sql.push_str(&format!(
                " AND ({expr}, created_us, run_id) {cmp}{eq} (?, ?, ?)"
            ));
            params.push(v);
            params.push(rusqlite::types::Value::Integer(c.created_us));
            params.push(rusqlite::types::Value::Text(c.run_id.clone()));
        }
        sql.push_str(&format!(
            " ORDER BY {expr} {order}, created_us {order}, run_id {order} LIMIT ?"
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

    /// A row's sort key, if the row is still indexed.
    fn sort_value(
        &self,
        expr: &str,
        c: &Cursor,
    ) -> Result<Option<rusqlite::types::Value>, IndexError> {
        let sql =
            format!("SELECT {expr} FROM run_index WHERE created_us = ?1 AND run_id = ?2 LIMIT 1");
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        self.sql(
            stmt.query_row(params![c.created_us, c.run_id], |r| {
                r.get::<_, rusqlite::types::Value>(0)
            })
            .optional(),
        )
    }

    /// How many rows matching `filter` come before the row `than` in `sort`'s order
    /// (the list position), counting up to `cap`. Invalid files count, as the list shows them.
    pub fn count_ahead(
        &self,
        filter: &Filter,
        sort: Sort,
        than: &Cursor,
        cap: u64,
    ) -> Result<u64, IndexError> {
        let cap = cap.min(i64::MAX as u64);
        let Some(expr) = sort.key.expr() else {
            if sort.descending {
                return self.count_newer(filter, than, cap);
            }
            let (cond, mut params) = filter_sql(filter, Utc::now());
            params.push(rusqlite::types::Value::Integer(than.created_us));
            params.push(rusqlite::types::Value::Text(than.run_id.clone()));
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 FROM run_index WHERE ({cond}) AND (created_us, run_id) < (?, ?) LIMIT {cap})"
            );
            let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
            return self
                .sql(stmt.query_row(params_from_iter(params), |r| r.get::<_, i64>(0)))
                .map(|n| n as u64);
        };
        let (cond, mut params) = filter_sql(filter, Utc::now());
        let cmp = if sort.descending { ">" } else { "<" };
        let Some(v) = self.sort_value(expr, than)? else {
            // The row is gone: its place cannot be told.
            return Ok(0);
        };
        params.push(v);
        params.push(rusqlite::types::Value::Integer(than.created_us));
        params.push(rusqlite::types::Value::Text(than.run_id.clone()));
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM run_index WHERE ({cond}) AND ({expr}, created_us, run_id) {cmp} \
             (?, ?, ?) LIMIT {cap})"
        );
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        self.sql(stmt.query_row(params_from_iter(params), |r| r.get::<_, i64>(0)))
            .map(|n| n as u64)
    }
}
