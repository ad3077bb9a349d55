//! The workflow sessions (`3`) and snapshots (`4`) views: a list, a filter, and the
//! selected record's details — a session with its runs, a snapshot with its design,
//! fingerprint, feasibility and the run that recorded it. `Enter` lists the runs a record
//! names and opens one (`Backspace` comes back). State, rows and keys; drawing is in
//! [`super::view`].

use super::keymap::RecordsAction;
use crate::store::sessions::WorkflowSession;
use crate::store::snapshots::Snapshot;
use serde_json::Value;

/// Which records a view lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Sessions,
    Snapshots,
}

impl RecordKind {
    pub fn title(self) -> &'static str {
        match self {
            RecordKind::Sessions => "workflow sessions",
            RecordKind::Snapshots => "design snapshots",
        }
    }
}

/// One record as the views show it: list cells, detail fields, the runs it names and
/// the whole document.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    pub id: String,
    /// The list's cells, in the order of [`columns`].
    pub cells: Vec<String>,
    /// (label, value) lines of the details.
    pub fields: Vec<(String, String)>,
    /// Runs the record names (a session's runs; a snapshot's recording run).
    pub runs: Vec<String>,
    /// The record as stored (shown under the fields).
    pub doc: Value,
    /// Lower-cased text the filter searches.
    pub haystack: String,
}

/// The list's column titles and widths for a kind (the last column takes the rest).
pub fn columns(kind: RecordKind) -> &'static [(&'static str, u16)] {
    match kind {
        RecordKind::Sessions => &[
            ("updated", 16),
            ("session", 14),
            ("status", 10),
            ("type", 12),
            ("runs", 4),
            ("step", 0),
        ],
        RecordKind::Snapshots => &[
            ("created", 16),
            ("snapshot", 14),
            ("risk", 7),
            ("score", 6),
            ("", 1),
            ("name", 0),
        ],
    }
}

/// `2025-12-23T18:04:05.123Z` → `2025-12-23 18:04` (as written; the records keep UTC).
fn short_time(t: &str) -> String {
    let t = t.replace('T', " ");
    t.chars().take(16).collect()
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

pub fn session_row(s: &WorkflowSession) -> RecordRow {
    let mut fields = vec![
        ("session".to_owned(), s.session_id.clone()),
        ("status".to_owned(), s.status.clone()),
        ("type".to_owned(), s.workflow_type.clone()),
        ("step".to_owned(), s.current_step.clone()),
        ("created".to_owned(), s.created_at_utc.clone()),
        ("updated".to_owned(), s.updated_at_utc.clone()),
    ];
    for (label, v) in [
        ("machine", &s.machine_id),
        ("material", &s.material_id),
        ("tool", &s.tool_id),
        ("user", &s.user_id),
        ("error", &s.error_message),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            fields.push((label.to_owned(), v.clone()));
        }
    }
    let doc = serde_json::to_value(s).unwrap_or(Value::Null);
    RecordRow {
        id: s.session_id.clone(),
        cells: vec![
            short_time(&s.updated_at_utc),
            s.session_id.clone(),
            s.status.clone(),
            s.workflow_type.clone(),
            s.run_ids.len().to_string(),
            s.current_step.clone(),
        ],
        haystack: [
            s.session_id.as_str(),
            &s.status,
            &s.workflow_type,
            &s.current_step,
            &opt(&s.machine_id),
            &opt(&s.material_id),
            &opt(&s.tool_id),
            &opt(&s.user_id),
            &s.run_ids.join(" "),
        ]
        .join(" ")
        .to_lowercase(),
        fields,
        runs: s.run_ids.clone(),
        doc,
    }
}

pub fn snapshot_row(s: &Snapshot) -> RecordRow {
    let feas = s.feasibility.as_ref();
    let get = |k: &str| feas.and_then(|f| f.get(k));
    let risk = get("risk_bucket")
        .or_else(|| get("risk_level"))
        .and_then(Value::as_str)
        .unwrap_or("-")
        .to_owned();
    let score = get("overall_score")
        .or_else(|| get("score"))
        .and_then(Value::as_f64)
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    let name = opt(&s.metadata.name);
    let mut fields = vec![
        ("snapshot".to_owned(), s.snapshot_id.clone()),
        ("name".to_owned(), name.clone()),
        ("fingerprint".to_owned(), s.design_fingerprint.clone()),
        ("created".to_owned(), s.created_at_utc.clone()),
        (
            "baseline".to_owned(),
            if s.baseline { "yes" } else { "no" }.to_owned(),
        ),
        (
            "feasibility".to_owned(),
            if feas.is_some() {
                format!("{risk} · score {score}")
            } else {
                "not scored".to_owned()
            },
        ),
    ];
    if !s.metadata.tags.is_empty() {
        fields.push(("tags".to_owned(), s.metadata.tags.join(", ")));
    }
    for (label, v) in [
        ("source", &s.metadata.source),
        ("by", &s.metadata.created_by),
        ("notes", &s.metadata.notes),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            fields.push((label.to_owned(), v.clone()));
        }
    }
    let doc = serde_json::to_value(s).unwrap_or(Value::Null);
    RecordRow {
        id: s.snapshot_id.clone(),
        cells: vec![
            short_time(&s.created_at_utc),
            s.snapshot_id.clone(),
            risk,
            score,
            if s.baseline { "★" } else { "" }.to_owned(),
            name.clone(),
        ],
        haystack: [
            s.snapshot_id.as_str(),
            &name,
            &s.design_fingerprint,
            &s.metadata.tags.join(" "),
            &opt(&s.metadata.source),
            &opt(&s.metadata.created_by),
        ]
        .join(" ")
        .to_lowercase(),
        fields,
        runs: s.run_id.iter().cloned().collect(),
        doc,
    }
}

/// One records view's state.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordsState {
    pub kind: RecordKind,
    /// Everything loaded, newest first.
    pub all: Vec<RecordRow>,
    /// What the filter keeps (indexes into `all`).
    pub shown: Vec<usize>,
    pub selected: usize,
    pub offset: usize,
    pub filter: String,
    /// The filter line while typed: (text, the filter to restore on Esc).
    pub filter_input: Option<(super::line_edit::LineEdit, String)>,
    pub loaded: bool,
    pub error: Option<String>,
    /// Files that could not be read (snapshots), reported beside the list.
    pub invalid: usize,
    pub scroll: u16,
    /// Select this record when the list next arrives (going back).
    reselect: Option<String>,
}

impl RecordsState {
    pub fn new(kind: RecordKind) -> RecordsState {
        RecordsState {
            kind,
            all: Vec::new(),
            shown: Vec::new(),
            selected: 0,
            offset: 0,
            filter: String::new(),
            filter_input: None,
            loaded: false,
            error: None,
            invalid: 0,
            scroll: 0,
            reselect: None,
        }
    }

    pub fn selected_row(&self) -> Option<&RecordRow> {
        self.shown.get(self.selected).and_then(|i| self.all.get(*i))
    }

    /// Records arrived: keep the selection on the same record when it is still listed.
    pub fn set_rows(&mut self, rows: Result<(Vec<RecordRow>, usize), String>) {
        self.loaded = true;
        match rows {
            Ok((rows, invalid)) => {
                let keep = self
                    .reselect
                    .take()
                    .or_else(|| self.selected_row().map(|r| r.id.clone()));
                self.all = rows;
                self.invalid = invalid;
                self.error = None;
                self.apply_filter(keep);
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Select `id` when the list next arrives.
    pub fn reselect(&mut self, id: Option<String>) {
        self.reselect = id;
    }

    fn shown_filter(&self) -> String {
        match &self.filter_input {
            Some((edit, _)) => edit.text(),
            None => self.filter.clone(),
        }
    }

    fn apply_filter(&mut self, keep: Option<String>) {
        let words: Vec<String> = self
            .shown_filter()
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        self.shown = self
            .all
            .iter()
            .enumerate()
            .filter(|(_, r)| words.iter().all(|w| r.haystack.contains(w.as_str())))
            .map(|(i, _)| i)
            .collect();
        self.selected = keep
            .and_then(|id| self.shown.iter().position(|i| self.all[*i].id == id))
            .unwrap_or(0)
            .min(self.shown.len().saturating_sub(1));
        self.offset = self.offset.min(self.selected);
    }

    fn move_to(&mut self, to: usize) {
        let to = to.min(self.shown.len().saturating_sub(1));
        if to != self.selected {
            self.scroll = 0;
        }
        self.selected = to;
    }

    /// Keep the selection within `rows` visible rows.
    pub fn keep_visible(&mut self, rows: usize) {
        let rows = rows.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + rows {
            self.offset = self.selected + 1 - rows;
        }
    }

    /// A key while the filter line is open: edits, Enter keeps, Esc restores.
    pub fn on_filter_key(&mut self, key: &crossterm::event::KeyEvent) {
        use super::line_edit::Edit;
        use crossterm::event::KeyCode;
        let Some((edit, before)) = self.filter_input.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Enter => {
                self.filter = edit.text();
                self.filter_input = None;
            }
            KeyCode::Esc => {
                self.filter = before.clone();
                self.filter_input = None;
            }
            _ => {
                let _: Edit = edit.handle(key);
            }
        }
        let keep = self.selected_row().map(|r| r.id.clone());
        self.apply_filter(keep);
    }

    /// A list key (the console handles view switches, help, quit, links and copy).
    pub fn on_action(&mut self, action: RecordsAction, page: usize) -> Option<String> {
        let last = self.shown.len().saturating_sub(1);
        match action {
            RecordsAction::Down => self.move_to(self.selected + 1),
            RecordsAction::Up => self.move_to(self.selected.saturating_sub(1)),
            RecordsAction::PageDown => self.move_to(self.selected + page),
            RecordsAction::PageUp => self.move_to(self.selected.saturating_sub(page)),
            RecordsAction::First => self.move_to(0),
            RecordsAction::Last => self.move_to(last),
            RecordsAction::ScrollDown => self.scroll = self.scroll.saturating_add(1),
            RecordsAction::ScrollUp => self.scroll = self.scroll.saturating_sub(1),
            RecordsAction::EditFilter => {
                self.filter_input = Some((
                    super::line_edit::LineEdit::new(&self.filter, super::app::FILTER_MAX),
                    self.filter.clone(),
                ));
            }
            RecordsAction::Cancel if !self.filter.is_empty() => {
                self.filter.clear();
                let keep = self.selected_row().map(|r| r.id.clone());
                self.apply_filter(keep);
                return Some("filter cleared".into());
            }
            RecordsAction::Cancel => return Some("1 goes back to the runs".into()),
            RecordsAction::Links
            | RecordsAction::CopyId
            | RecordsAction::Reload
            | RecordsAction::Back
            | RecordsAction::ShowRuns
            | RecordsAction::ShowQueue
            | RecordsAction::ShowSessions
            | RecordsAction::ShowSnapshots
            | RecordsAction::SwitchView
            | RecordsAction::Help
            | RecordsAction::Quit => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(id: &str, runs: &[&str], tool: &str) -> WorkflowSession {
        WorkflowSession {
            session_id: id.into(),
            created_at_utc: "2025-12-23T10:00:00Z".into(),
            updated_at_utc: "2025-12-23T11:30:00Z".into(),
            workflow_type: "rosette".into(),
            current_step: "scoring".into(),
            status: "active".into(),
            context: None,
            run_ids: runs.iter().map(|r| (*r).to_owned()).collect(),
            machine_id: None,
            material_id: Some("maple".into()),
            tool_id: Some(tool.into()),
            user_id: None,
            state_data: None,
            error_message: None,
            error_details: None,
        }
    }

    #[test]
    fn a_session_row_lists_its_runs_and_filters_by_any_of_its_words() {
        let rows = vec![
            session_row(&session("ses_a", &["run_1", "run_2"], "vbit")),
            session_row(&session("ses_b", &[], "endmill")),
        ];
        assert_eq!(rows[0].cells[4], "2");
        assert_eq!(rows[0].cells[0], "2025-12-23 11:30");
        assert_eq!(rows[0].runs, ["run_1", "run_2"]);
        let mut st = RecordsState::new(RecordKind::Sessions);
        st.set_rows(Ok((rows, 0)));
        st.on_action(RecordsAction::Last, 10);
        assert_eq!(st.selected_row().unwrap().id, "ses_b");
        st.on_action(RecordsAction::EditFilter, 10);
        for c in "VBIT run_2".chars() {
            st.on_filter_key(&crossterm::event::KeyEvent::from(
                crossterm::event::KeyCode::Char(c),
            ));
        }
        assert_eq!(st.shown, [0], "all words, any field, case-insensitive");
        st.on_filter_key(&crossterm::event::KeyEvent::from(
            crossterm::event::KeyCode::Esc,
        ));
        assert_eq!(st.shown, [0, 1], "Esc restores the previous filter");
    }

    #[test]
    fn reloading_keeps_the_selected_record_and_errors_keep_the_rows() {
        let mut st = RecordsState::new(RecordKind::Sessions);
        let rows = |ids: &[&str]| -> Vec<RecordRow> {
            ids.iter()
                .map(|i| session_row(&session(i, &[], "t")))
                .collect()
        };
        st.set_rows(Ok((rows(&["a", "b", "c"]), 0)));
        st.on_action(RecordsAction::Down, 10);
        st.set_rows(Ok((rows(&["new", "a", "b", "c"]), 0)));
        assert_eq!(st.selected_row().unwrap().id, "b");
        st.set_rows(Err("locked".into()));
        assert_eq!(st.all.len(), 4);
        assert_eq!(st.error.as_deref(), Some("locked"));
    }
}
