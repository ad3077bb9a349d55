//! The run list's window: the rows of the current filter held in memory — at most
//! [`WINDOW_MAX`] around the selection, fetched a [`PAGE`] at a time as the selection nears
//! an edge — with the selection and the first row shown. Pure bookkeeping: what to fetch
//! next is returned as an [`Anchor`], never fetched here.

use super::msg::Anchor;
use crate::store::index::{Cursor, IndexedRun};

/// Rows kept in the list window around the selection.
pub const WINDOW_MAX: usize = 1_000;
/// Rows fetched per page.
pub const PAGE: usize = 200;
/// Fetch more when the selection is this close to the window's edge.
pub const MARGIN: usize = 40;

/// The rows in memory, the selection and the scroll position.
#[derive(Debug, Clone, PartialEq)]
pub struct ListWindow {
    pub rows: Vec<IndexedRun>,
    pub selected: usize,
    /// The first row shown.
    pub offset: usize,
    /// More rows exist newer than the first row.
    pub more_before: bool,
    /// More rows exist older than the last row.
    pub more_after: bool,
    /// Rows visible at once (from the terminal size).
    pub height: usize,
    /// Where the first row is in the whole list (0: the newest), when known: the
    /// header's "n of N".
    pub base: Option<u64>,
}

impl Default for ListWindow {
    fn default() -> Self {
        ListWindow {
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            more_before: false,
            more_after: false,
            height: 20,
            base: None,
        }
    }
}

impl ListWindow {
    pub fn selected_row(&self) -> Option<&IndexedRun> {
        self.rows.get(self.selected)
    }

    /// Where the run with this key is in the window.
    pub fn position(&self, key: &Cursor) -> Option<usize> {
        self.rows.iter().position(|r| r.key() == *key)
    }

    /// The rows shown: `offset` and the next `height` rows (fewer at the end).
    pub fn visible(&self) -> (usize, &[IndexedRun]) {
        let start = self.offset.min(self.rows.len());
        let end = (self.offset + self.height.max(1)).min(self.rows.len());
        (start, &self.rows[start..end])
    }

    /// Replace every row (a page of the newest, the oldest or around a run).
    pub fn replace(&mut self, rows: Vec<IndexedRun>, more_before: bool, more_after: bool) {
        self.rows = rows;
        self.more_before = more_before;
        self.more_after = more_after;
        self.base = (!more_before).then_some(0);
    }

    /// Rows older than `after` arrived: appended when `after` is still the last row (else
    /// the page is stale and dropped). The newest rows beyond [`WINDOW_MAX`] are let go.
    pub fn append(&mut self, after: &Cursor, rows: Vec<IndexedRun>, more_after: bool) {
        if self.rows.last().map(IndexedRun::key).as_ref() != Some(after) {
            return;
        }
        self.rows.extend(rows);
        self.more_after = more_after;
        if self.rows.len() > WINDOW_MAX {
            let drop = self.rows.len() - WINDOW_MAX;
            self.rows.drain(..drop);
            self.base = self.base.map(|b| b + drop as u64);
            self.selected = self.selected.saturating_sub(drop);
            self.offset = self.offset.saturating_sub(drop);
            self.more_before = true;
        }
    }

    /// Rows newer than `before` arrived: prepended when `before` is still the first row;
    /// the selection stays on its run. The oldest rows beyond [`WINDOW_MAX`] are let go.
    pub fn prepend(&mut self, before: &Cursor, rows: Vec<IndexedRun>, more_before: bool) {
        if self.rows.first().map(IndexedRun::key).as_ref() != Some(before) {
            return;
        }
        let n = rows.len();
        let mut rows = rows;
        rows.append(&mut self.rows);
        self.rows = rows;
        self.selected += n;
        self.offset += n;
        self.more_before = more_before;
        self.base = if more_before {
            self.base.and_then(|b| b.checked_sub(n as u64))
        } else {
            Some(0)
        };
        if self.rows.len() > WINDOW_MAX {
            self.rows.truncate(WINDOW_MAX);
            self.more_after = true;
        }
    }

    /// Keep the selection on a row and visible.
    pub fn clamp(&mut self) {
        if self.selected >= self.rows.len() {
            self.selected = self.rows.len().saturating_sub(1);
        }
        self.clamp_offset();
    }

    /// Scroll so the selection is visible (and no empty space is shown below the end).
    pub fn clamp_offset(&mut self) {
        let h = self.height.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        let max_offset = self.rows.len().saturating_sub(h);
        if self.offset > max_offset {
            self.offset = max_offset;
        }
    }

    /// The page to fetch because the selection is within [`MARGIN`] rows of an edge with
    /// more rows beyond it.
    pub fn edge(&self) -> Option<Anchor> {
        if self.more_after && self.selected + MARGIN >= self.rows.len() {
            if let Some(last) = self.rows.last() {
                return Some(Anchor::After(last.key()));
            }
        }
        if self.more_before && self.selected < MARGIN {
            if let Some(first) = self.rows.first() {
                return Some(Anchor::Before(first.key()));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: usize) -> IndexedRun {
        IndexedRun {
            run_id: format!("run_{i:06}"),
            partition: "2025-12-23".into(),
            file_name: format!("run_{i:06}.json"),
            valid: true,
            error: None,
            // Newest first: a higher index is older.
            created_us: 1_000_000_000 - i as i64,
            created_at: None,
            mode: None,
            tool_id: None,
            status: None,
            risk_level: None,
            score: None,
            source: None,
            event_type: None,
            warnings: Vec::new(),
            block_reason: None,
            verify: None,
            parent_run_id: None,
            plan_run_id: None,
        }
    }

    fn window(range: std::ops::Range<usize>, more_before: bool, more_after: bool) -> ListWindow {
        let mut w = ListWindow::default();
        w.replace(range.map(row).collect(), more_before, more_after);
        w
    }

    #[test]
    fn appending_past_the_cap_lets_the_newest_rows_go_and_keeps_the_selected_run() {
        let mut w = window(0..WINDOW_MAX, false, true);
        w.selected = WINDOW_MAX - 1;
        w.clamp_offset();
        let last = w.rows.last().unwrap().key();
        w.append(
            &last,
            (WINDOW_MAX..WINDOW_MAX + PAGE).map(row).collect(),
            true,
        );
        assert_eq!(w.rows.len(), WINDOW_MAX);
        assert!(w.more_before, "the dropped rows can be fetched again");
        assert_eq!(w.selected_row().unwrap().run_id, row(WINDOW_MAX - 1).run_id);
        assert!(w.offset <= w.selected && w.selected < w.offset + w.height);
    }

    #[test]
    fn prepending_keeps_the_selected_run_and_caps_the_oldest() {
        let mut w = window(PAGE..PAGE + WINDOW_MAX, true, false);
        w.selected = 3;
        let first = w.rows[0].key();
        w.prepend(&first, (0..PAGE).map(row).collect(), false);
        assert_eq!(w.rows.len(), WINDOW_MAX);
        assert!(w.more_after && !w.more_before);
        assert_eq!(w.selected_row().unwrap().run_id, row(PAGE + 3).run_id);
    }

    #[test]
    fn a_stale_page_is_dropped() {
        let mut w = window(0..10, false, true);
        w.append(&row(5).key(), (10..20).map(row).collect(), false);
        w.prepend(&row(5).key(), (20..30).map(row).collect(), false);
        assert_eq!(w.rows.len(), 10);
        assert!(w.more_after);
    }

    #[test]
    fn the_edge_asks_for_the_next_page_only_near_an_open_end() {
        let mut w = window(0..PAGE, false, true);
        assert_eq!(w.edge(), None, "far from the end");
        w.selected = PAGE - MARGIN;
        assert_eq!(w.edge(), Some(Anchor::After(row(PAGE - 1).key())));
        w.more_after = false;
        assert_eq!(w.edge(), None, "nothing beyond");
        let w = window(0..PAGE, true, false);
        assert_eq!(w.edge(), Some(Anchor::Before(row(0).key())));
    }

    #[test]
    fn visible_rows_follow_the_offset_and_clamp_keeps_the_selection_on_screen() {
        let mut w = window(0..50, false, false);
        w.height = 10;
        w.selected = 49;
        w.clamp();
        let (start, shown) = w.visible();
        assert_eq!((start, shown.len()), (40, 10));
        w.rows.truncate(5);
        w.clamp();
        assert_eq!((w.selected, w.offset), (4, 0));
        let (start, shown) = w.visible();
        assert_eq!((start, shown.len()), (0, 5));
    }
}
