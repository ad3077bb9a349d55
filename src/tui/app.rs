//! The console's state and its update function (Elm style).
//!
//! [`App::update`] takes a [`Msg`] — a key, a query result, a watcher notice, a clock tick —
//! changes the state and returns the [`Cmd`]s to run. It does no I/O and reads no clock,
//! so every behaviour is unit-testable. Background workers answer commands with messages.

use super::investigate::{links_of, push_back, Back, DiffPane, Link, LinkKind};
use super::keymap::{
    action_for, queue_action_for, Action, CopyAction, DialogAction, QueueAction, QUEUE, RUNS,
};
use super::line_edit::{Edit, LineEdit};
use super::list_window::{ListWindow, PAGE};
use super::msg::{Anchor, Cmd, Details, Msg, Page, QueryCmd, RecordPart, UiCmd, View, Viewer};
use super::queue::{QueueCmd, QueueState, StatusFilter};
use super::records::{RecordKind, RecordsState};
use super::timeline::TimelineState;
use crate::filter::{Filter, ParseError};
use crate::store::index::{Cursor, IndexedRun, ReconcileProgress, Sort, SortKey};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The filter bar while editing.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterInput {
    pub edit: LineEdit,
    pub error: Option<ParseError>,
    /// The filter text active when editing began (restored by Esc).
    pub before: String,
    /// Position in the history while browsing with ↑/↓.
    pub history_pos: Option<usize>,
}

impl FilterInput {
    pub fn text(&self) -> String {
        self.edit.text()
    }
}

/// An active search (`/`): matches are highlighted, `n`/`N` jump between them.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    pub text: String,
    /// Identifies this search's answers (a new search or filter makes a new one).
    pub id: u64,
    /// Runs matching it within the filter, once counted.
    pub count: Option<u64>,
}

impl Search {
    /// Whether a run matches: the text (case-insensitive) in its run_id, tool, block
    /// reason or a warning — the fields a filter word searches, in the index too.
    pub fn matches(&self, r: &IndexedRun) -> bool {
        let needle = self.text.to_lowercase();
        let has = |s: &str| s.to_lowercase().contains(&needle);
        has(&r.run_id)
            || r.tool_id.as_deref().is_some_and(has)
            || r.block_reason.as_deref().is_some_and(has)
            || r.warnings.iter().any(|w| has(w))
    }
}

/// Longest filter text accepted.
pub const FILTER_MAX: usize = 500;

/// The details pane.
#[derive(Debug, Clone, PartialEq)]
pub struct DetailsPane {
    pub partition: String,
    pub file_name: String,
    pub run_id: String,
    /// The run's list key: the details stay on this run whatever the list does.
    pub key: Cursor,
    pub content: Option<Box<Details>>,
    pub scroll: u16,
}

/// The whole console state.
#[derive(Debug, Clone)]
pub struct App {
    pub root_label: String,
    /// The run list's rows in memory, selection and scroll position.
    pub list: ListWindow,
    pub loading: bool,
    /// Generation of the active filter; answers for older generations are dropped.
    pub generation: u64,
    pub filter: Filter,
    pub filter_text: String,
    pub input: Option<FilterInput>,
    pub history: Vec<String>,
    /// The user's saved filters (name, expression), sorted by name.
    pub saved_filters: Vec<(String, String)>,
    /// Why the saved filters could not be read, if they could not.
    pub saved_error: Option<String>,
    /// The saved-filter picker is open with this row highlighted.
    pub picker: Option<usize>,
    /// The active search, if any.
    pub search: Option<Search>,
    /// The search line while typing (`/`).
    pub search_input: Option<LineEdit>,
    search_seq: u64,
    /// The copy menu (`y`) is open.
    pub copy_menu: bool,
    /// Marked runs (Space, `v`), by list key: copied together from the copy menu.
    pub marks: std::collections::BTreeMap<Cursor, String>,
    /// Where a range started by `v` begins.
    pub mark_anchor: Option<Cursor>,
    pub details: Option<DetailsPane>,
    pub follow: bool,
    /// Newest key seen while following (to count runs that arrived since).
    pub newest_seen: Option<Cursor>,
    pub new_runs: u64,
    pub match_count: Option<u64>,
    pub invalid_total: u64,
    pub message: Option<(String, bool)>,
    message_set_ms: Option<u64>,
    pub now_ms: u64,
    pub reconcile: Option<ReconcileProgress>,
    pub help: bool,
    /// First line of the help overlay shown (when it is taller than the terminal).
    pub help_scroll: u16,
    pub quit: bool,
    pub width: u16,
    pub height: u16,
    pub error: Option<String>,
    /// A standing problem that does not stop the console (an unreadable partition).
    pub warning: Option<String>,
    /// What is not watched live (scanned every second instead), if anything.
    pub watch_problem: Option<String>,
    /// Why the shared (server) database cannot be reached right now, if it cannot.
    pub shared_trouble: Option<String>,
    /// The data root is read-only for this user (browse only; the index lives in a cache).
    pub read_only: bool,
    /// Offset of local time from UTC, for display (injected: views read no clock).
    pub utc_offset_secs: i32,
    /// Wall clock in Unix seconds from the last tick (asset ages).
    pub epoch_secs: i64,
    /// Who review decisions are recorded as.
    pub reviewer: String,
    pub view: View,
    pub queue: QueueState,
    /// The links menu of the details is open with this row highlighted.
    pub links_menu: Option<usize>,
    /// Where `Backspace` / `Ctrl-o` returns to, newest last.
    pub back: Vec<Back>,
    /// Run_ids in the window that are in more than one file (marked in the list).
    pub duplicates: std::collections::HashSet<String>,
    /// The diff pane (`d`), when open.
    pub diff: Option<DiffPane>,
    /// The run list's order (`o` / `O`); the index pages in it.
    pub sort: Sort,
    /// The timeline view (`i`).
    pub timeline: TimelineState,
    /// The workflow sessions view (`3`).
    pub sessions: RecordsState,
    /// The design snapshots view (`4`).
    pub snapshots: RecordsState,
    /// `g` asked for the newest page: select its first row when it arrives.
    jump_top: bool,
    /// A new filter is active: start counting new runs from its newest row.
    reset_seen: bool,
}

const MESSAGE_MS: u64 = 6_000;

/// Alt with a plain key (no Ctrl): how terminals report Esc followed quickly by that key.
fn is_esc_then_key(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::ALT)
        && !key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(
            key.code,
            KeyCode::Char(_) | KeyCode::Up | KeyCode::Down | KeyCode::Enter | KeyCode::Tab
        )
}

impl App {
    pub fn new(root_label: String) -> App {
        App {
            root_label,
            list: ListWindow::default(),
            loading: true,
            generation: 0,
            filter: Filter::default(),
            filter_text: String::new(),
            input: None,
            history: Vec::new(),
            saved_filters: Vec::new(),
            saved_error: None,
            picker: None,
            search: None,
            search_input: None,
            search_seq: 0,
            copy_menu: false,
            marks: std::collections::BTreeMap::new(),
            mark_anchor: None,
            details: None,
            follow: true,
            newest_seen: None,
            new_runs: 0,
            match_count: None,
            invalid_total: 0,
            message: None,
            message_set_ms: None,
            now_ms: 0,
            reconcile: None,
            help: false,
            help_scroll: 0,
            quit: false,
            width: 80,
            height: 24,
            error: None,
            warning: None,
            watch_problem: None,
            shared_trouble: None,
            read_only: false,
            utc_offset_secs: 0,
            epoch_secs: 0,
            reviewer: String::new(),
            view: View::Runs,
            queue: QueueState::default(),
            links_menu: None,
            back: Vec::new(),
            duplicates: std::collections::HashSet::new(),
            diff: None,
            sort: Sort::default(),
            timeline: TimelineState::default(),
            sessions: RecordsState::new(RecordKind::Sessions),
            snapshots: RecordsState::new(RecordKind::Snapshots),
            jump_top: false,
            reset_seen: false,
        }
    }

    /// Commands to run at start: the first page and the match count.
    pub fn init(&mut self) -> Vec<Cmd> {
        self.loading = true;
        vec![self.query(Anchor::Top), self.count()]
    }

    fn query(&self, anchor: Anchor) -> Cmd {
        Cmd::Query(QueryCmd::Page {
            generation: self.generation,
            filter: self.filter.clone(),
            sort: self.sort,
            anchor,
            limit: PAGE,
        })
    }

    fn count(&self) -> Cmd {
        Cmd::Query(QueryCmd::Count {
            generation: self.generation,
            filter: self.filter.clone(),
        })
    }

    pub fn selected_row(&self) -> Option<&IndexedRun> {
        self.list.selected_row()
    }

    fn say(&mut self, text: impl Into<String>, error: bool) {
        self.message = Some((text.into(), error));
        self.message_set_ms = Some(self.now_ms);
    }

    /// Apply one message.
    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        match msg {
            Msg::Key(key)
                if is_esc_then_key(&key) && !(self.editing_text() && is_word_key(&key)) =>
            {
                // Esc and the next key can arrive together (over SSH, or inside tmux with
                // its escape-time), and the terminal decoder then reports Alt+key. No
                // binding uses Alt, so it can only have been Esc followed by the key.
                let mut cmds = self.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
                let mut plain = key;
                plain.modifiers.remove(KeyModifiers::ALT);
                cmds.extend(self.on_key(plain));
                cmds
            }
            Msg::Key(key) => self.on_key(key),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize { width, height } => {
                self.width = width;
                self.height = height;
                // Header (1) + table header (1) + filter bar (1) + status (1) + borders (2).
                self.list.height = (height as usize).saturating_sub(6).max(1);
                self.clamp_offset();
                self.queue
                    .keep_visible(super::view::queue_list_rows(width, height));
                let capacity = self.timeline_capacity();
                if self.view == View::Timeline && capacity != self.timeline.capacity {
                    self.timeline.capacity = capacity;
                    return vec![Cmd::Query(QueryCmd::Timeline(
                        self.timeline.reload(&self.filter),
                    ))];
                }
                self.timeline.capacity = capacity;
                Vec::new()
            }
            Msg::Page { generation, page } => {
                if generation != self.generation {
                    return Vec::new();
                }
                self.apply_page(page)
            }
            Msg::Records { kind, rows } => {
                let page = self.records_page();
                let st = self.records_mut(kind);
                st.set_rows(rows);
                st.keep_visible(page);
                Vec::new()
            }
            Msg::Timeline { seq, bins } => {
                self.timeline.set_bins(seq, bins);
                Vec::new()
            }
            Msg::Diff { a, b, changes } => {
                if let Some(d) = self.diff.as_mut().filter(|d| d.a == a && d.b == b) {
                    d.changes = Some(changes);
                }
                Vec::new()
            }
            Msg::Duplicates { run_ids } => {
                self.duplicates.extend(run_ids);
                Vec::new()
            }
            Msg::QueryFailed { generation, error } => {
                if generation == self.generation {
                    self.loading = false;
                    self.say(format!("query failed: {error}"), true);
                }
                Vec::new()
            }
            Msg::Count { generation, count } => {
                if generation != self.generation {
                    return Vec::new();
                }
                self.match_count = Some(count);
                if count == 0 && !self.event_values().is_empty() {
                    return vec![Cmd::Query(QueryCmd::KnownEvents { generation })];
                }
                Vec::new()
            }
            Msg::KnownEvents { generation, events } => {
                if generation != self.generation {
                    return Vec::new();
                }
                let unknown: Vec<String> = self
                    .event_values()
                    .into_iter()
                    .filter(|v| !events.iter().any(|e| e.eq_ignore_ascii_case(v)))
                    .collect();
                if !unknown.is_empty() {
                    self.say(
                        format!(
                            "no run has event {}: events in this store: {}",
                            unknown.join(", "),
                            if events.is_empty() {
                                "none yet".to_owned()
                            } else {
                                events.join(", ")
                            }
                        ),
                        true,
                    );
                }
                Vec::new()
            }
            Msg::ViewerText {
                run_id,
                viewer,
                text,
            } => match text {
                Ok(text) => vec![Cmd::Ui(UiCmd::View {
                    viewer,
                    name: format!("{run_id}.json"),
                    text,
                })],
                Err(e) => {
                    self.say(format!("cannot open {run_id}: {e}"), true);
                    Vec::new()
                }
            },
            Msg::ViewerDone(result) => {
                if let Err(e) = result {
                    self.say(e, true);
                }
                Vec::new()
            }
            Msg::SearchCount { search, count } => {
                if let Some(s) = self.search.as_mut().filter(|s| s.id == search) {
                    s.count = Some(count);
                    if count == 0 {
                        let text = s.text.clone();
                        self.say(format!("no run matches /{text}"), true);
                    }
                }
                Vec::new()
            }
            Msg::MatchFound {
                search,
                forward,
                row,
            } => {
                if self.search.as_ref().map(|s| s.id) != Some(search) {
                    return Vec::new();
                }
                match row {
                    Ok(Some(row)) => self.select_found(*row),
                    Ok(None) => {
                        self.say(
                            if forward {
                                "no more matches below (N searches up)"
                            } else {
                                "no more matches above (n searches down)"
                            },
                            false,
                        );
                        Vec::new()
                    }
                    Err(e) => {
                        self.say(format!("search failed: {e}"), true);
                        Vec::new()
                    }
                }
            }
            Msg::Position {
                generation,
                first,
                before,
            } => {
                if generation == self.generation
                    && self.list.rows.first().map(IndexedRun::key) == Some(first)
                {
                    self.list.base = Some(before);
                }
                Vec::new()
            }
            Msg::Newer { count } => {
                if !self.follow_moves() {
                    self.new_runs = count;
                }
                Vec::new()
            }
            Msg::Details {
                partition,
                file_name,
                details,
            } => {
                if let Some(d) = self.details.as_mut() {
                    if d.partition == partition && d.file_name == file_name {
                        d.content = Some(details);
                    }
                }
                Vec::new()
            }
            Msg::Record { label, text } => match text {
                Ok(text) => vec![Cmd::Ui(UiCmd::Copy { text, label })],
                Err(e) => {
                    self.say(format!("cannot copy {label}: {e}"), true);
                    Vec::new()
                }
            },
            Msg::Copied { label, result } => {
                match result {
                    Ok(how) => self.say(format!("copied {label} ({how})"), false),
                    Err(e) => self.say(format!("copy failed: {e}"), true),
                }
                Vec::new()
            }
            Msg::Reconcile(p) => {
                let grew = self
                    .reconcile
                    .as_ref()
                    .map_or(p.files_parsed > 0, |old| p.files_parsed > old.files_parsed);
                self.reconcile = Some(p);
                // Runs show as soon as they are indexed (newest partitions come first):
                // reload while the screen is not full yet, or when following.
                if grew
                    && !self.loading
                    && (self.list.rows.len() < self.list.height || self.follow_moves())
                {
                    self.refresh()
                } else {
                    Vec::new()
                }
            }
            Msg::ReconcileDone {
                changed,
                invalid_total,
                unreadable,
            } => {
                self.reconcile = None;
                self.warning = match unreadable.len() {
                    0 => None,
                    1 => Some(unreadable[0].clone()),
                    n => Some(format!("{} (and {} more partitions)", unreadable[0], n - 1)),
                };
                self.invalid_total = invalid_total;
                if self
                    .error
                    .as_deref()
                    .is_some_and(|e| e.starts_with("indexing failed"))
                {
                    self.error = None;
                }
                if changed {
                    self.refresh()
                } else {
                    Vec::new()
                }
            }
            Msg::ReconcileFailed(e) => {
                self.reconcile = None;
                self.error = Some(format!("indexing failed: {e}"));
                if self.list.rows.is_empty() && !self.loading {
                    // Whatever the index already holds is still worth showing.
                    self.refresh()
                } else {
                    Vec::new()
                }
            }
            Msg::Notice(text) => {
                self.say(text, false);
                Vec::new()
            }
            Msg::SharedTrouble(trouble) => {
                let recovered = trouble.is_none() && self.shared_trouble.is_some();
                match &trouble {
                    Some(text) => self.say(
                        format!("{text} · what is shown stays; updates resume by themselves"),
                        true,
                    ),
                    None if recovered => {
                        self.say("shared database reachable again: brought up to date", false)
                    }
                    None => {}
                }
                self.shared_trouble = trouble;
                if recovered {
                    // What others did meanwhile: read everything shown again.
                    let mut cmds = self.refresh();
                    if self.queue.loaded && !self.queue.busy {
                        cmds.push(Cmd::Queue(QueueCmd::Load(self.queue.status)));
                    }
                    return cmds;
                }
                Vec::new()
            }
            Msg::WatchStatus(problem) => {
                match &problem {
                    Some(text) => self.say(text.clone(), true),
                    None if self.watch_problem.is_some() => {
                        self.say("live file watching restored", false)
                    }
                    None => {}
                }
                self.watch_problem = problem;
                Vec::new()
            }
            Msg::Queue {
                status,
                assets,
                counts,
            } => {
                if status != self.queue.status {
                    return Vec::new();
                }
                let cmds = self.queue.set_assets(assets, counts);
                cmds.into_iter().map(Cmd::Queue).collect()
            }
            Msg::QueueFailed(e) => {
                self.queue.loaded = true;
                self.queue.busy = false;
                self.say(format!("review queue: {e}"), true);
                Vec::new()
            }
            Msg::Preview { asset_id, data } => {
                self.queue.set_preview(asset_id, *data);
                Vec::new()
            }
            Msg::Prefs { history, saved } => {
                if let Some(h) = history {
                    // Filters applied before the history arrived stay the newest.
                    let mut merged = h;
                    for t in std::mem::take(&mut self.history) {
                        merged.retain(|e| *e != t);
                        merged.push(t);
                    }
                    self.history = merged;
                }
                match saved {
                    Ok(list) => {
                        self.saved_filters = list;
                        self.saved_error = None;
                    }
                    Err(e) => self.saved_error = Some(e),
                }
                if let Some(sel) = self.picker.as_mut() {
                    *sel = (*sel).min(self.saved_filters.len().saturating_sub(1));
                }
                Vec::new()
            }
            Msg::RunFound { run_id, row } => match row {
                Ok(Some(row)) => {
                    self.view = View::Runs;
                    if let Some(pos) = self.list.rows.iter().position(|r| r.key() == row.key()) {
                        self.list.selected = pos;
                        self.clamp_offset();
                    }
                    self.details = Some(DetailsPane {
                        partition: row.partition.clone(),
                        file_name: row.file_name.clone(),
                        run_id: row.run_id.clone(),
                        key: row.key(),
                        content: None,
                        scroll: 0,
                    });
                    self.say(format!("run {run_id} · Backspace back"), false);
                    vec![Cmd::Query(QueryCmd::LoadDetails {
                        partition: row.partition,
                        file_name: row.file_name,
                    })]
                }
                // Nothing was opened: the step pushed when the link was followed goes.
                Ok(None) => {
                    self.back.pop();
                    self.say(
                        format!("the linked run {run_id} is not in this data root's index"),
                        true,
                    );
                    Vec::new()
                }
                Err(e) => {
                    self.back.pop();
                    self.say(format!("cannot look up run {run_id}: {e}"), true);
                    Vec::new()
                }
            },
            Msg::SharedChange { runs, review } => {
                let mut cmds = Vec::new();
                if runs {
                    cmds.extend(self.refresh());
                }
                // The queue is reloaded once it has been opened (its counts show in the
                // header too); the selection, marks and an open dialog are kept.
                if review && self.queue.loaded && !self.queue.busy {
                    cmds.push(Cmd::Queue(QueueCmd::Load(self.queue.status)));
                }
                cmds
            }
            Msg::Decided { outcomes } => {
                let (text, error) = self.queue.decided(&outcomes);
                self.say(text, error);
                vec![Cmd::Queue(QueueCmd::Load(self.queue.status))]
            }
            Msg::Tick { now_ms, epoch_secs } => {
                self.now_ms = now_ms;
                self.epoch_secs = epoch_secs;
                if let Some(t) = self.message_set_ms {
                    if now_ms.saturating_sub(t) > MESSAGE_MS {
                        self.message = None;
                        self.message_set_ms = None;
                    }
                }
                Vec::new()
            }
        }
    }

    /// The index changed: reload the window without moving the selection (or jump to the
    /// newest run when following), and recount.
    fn refresh(&mut self) -> Vec<Cmd> {
        let mut cmds = vec![self.count()];
        if self.view == View::Timeline {
            // Runs arrived or changed: the bars count them too.
            cmds.push(Cmd::Query(QueryCmd::Timeline(
                self.timeline.reload(&self.filter),
            )));
        }
        if self.follow_moves() || self.list.rows.is_empty() {
            cmds.push(self.query(Anchor::Top));
        } else if let Some(r) = self.selected_row() {
            cmds.push(self.query(Anchor::Around(r.key())));
            if let Some(seen) = self.newest_seen.as_ref().filter(|_| self.sort.is_default()) {
                cmds.push(Cmd::Query(QueryCmd::CountNewer {
                    filter: self.filter.clone(),
                    than: seen.clone(),
                }));
            }
        }
        cmds
    }

    fn apply_page(&mut self, page: Page) -> Vec<Cmd> {
        self.loading = false;
        if matches!(
            page.anchor,
            Anchor::Top | Anchor::Bottom | Anchor::Around(_)
        ) {
            // A new window: its duplicates are reported after it.
            self.duplicates.clear();
        }
        let keep = self.selected_row().map(IndexedRun::key);
        match page.anchor {
            Anchor::Top => {
                self.list.replace(page.rows, false, page.more_after);
                let pinned = self.details.as_ref().map(|d| d.key.clone());
                let jump = std::mem::take(&mut self.jump_top);
                self.list.selected = match (pinned.or(keep), self.follow_moves() || jump) {
                    (Some(k), false) => self.list.position(&k).unwrap_or(0),
                    _ => 0,
                };
                if self.follow_moves() || jump || std::mem::take(&mut self.reset_seen) {
                    self.newest_seen = self.list.rows.first().map(IndexedRun::key);
                    self.new_runs = 0;
                }
            }
            Anchor::Bottom => {
                self.list.replace(page.rows, page.more_before, false);
                self.list.selected = self.list.rows.len().saturating_sub(1);
            }
            Anchor::Around(key) => {
                self.list
                    .replace(page.rows, page.more_before, page.more_after);
                let key = self.details.as_ref().map(|d| d.key.clone()).unwrap_or(key);
                self.list.selected = match self.list.position(&key) {
                    Some(p) => p,
                    // The selected run vanished: stay at the same place in the order.
                    None => self
                        .list
                        .rows
                        .iter()
                        .position(|r| r.key() < key)
                        .unwrap_or(self.list.rows.len().saturating_sub(1)),
                };
            }
            Anchor::After(key) => self.list.append(&key, page.rows, page.more_after),
            Anchor::Before(key) => self.list.prepend(&key, page.rows, page.more_before),
        }
        self.list.clamp();
        self.seen_selected();
        // Pages never change the open details: only the reader's keys (J/K) do.
        let mut cmds = self.edge_fetch();
        cmds.extend(self.locate_window());
        cmds
    }

    /// Ask where the window starts in the list when that is not known (after a page
    /// around a run or of the oldest rows): the header's "n of N".
    fn locate_window(&self) -> Option<Cmd> {
        if self.list.base.is_some() {
            return None;
        }
        let first = self.list.rows.first()?.key();
        Some(Cmd::Query(QueryCmd::Position {
            generation: self.generation,
            filter: self.filter.clone(),
            sort: self.sort,
            first,
        }))
    }

    /// The selected row's place in the whole list, from 1, when known.
    pub fn position(&self) -> Option<u64> {
        let base = self.list.base?;
        self.selected_row()?;
        Some(base + self.list.selected as u64 + 1)
    }

    /// The values of the active filter's (not negated) `event:` terms.
    fn event_values(&self) -> Vec<String> {
        self.filter
            .terms
            .iter()
            .filter(|t| !t.negated)
            .filter_map(|t| match &t.predicate {
                crate::filter::Predicate::Field {
                    field: crate::filter::Field::Event,
                    values,
                } => Some(values.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// Following moves the selection only while no details are open: the run being read
    /// never changes under the reader (new arrivals are counted in the header instead).
    pub fn follow_moves(&self) -> bool {
        self.follow && self.details.is_none()
    }

    /// Text is being typed somewhere (filter bar, queue filter, rejection note).
    pub fn editing_text(&self) -> bool {
        self.input.is_some()
            || self.search_input.is_some()
            || (self.view == View::Queue
                && !self.help
                && (self.queue.filter_input.is_some()
                    || matches!(self.queue.modal, Some(super::queue::Modal::Note { .. }))))
    }

    /// Selecting (or opening) a run newer than the newest one seen marks it, and the runs
    /// before it, as seen: the "new" badge counts only what is still above.
    fn seen_selected(&mut self) {
        let Some(sel) = self.list.rows.get(self.list.selected).map(IndexedRun::key) else {
            return;
        };
        let Some(seen) = self.newest_seen.clone() else {
            return;
        };
        if sel > seen {
            self.newest_seen = Some(sel.clone());
            if !self.list.more_before {
                self.new_runs = self.list.rows.iter().take_while(|r| r.key() > sel).count() as u64;
            } else {
                self.new_runs = self.new_runs.saturating_sub(1);
            }
        }
    }

    /// Keep the selection visible.
    fn clamp_offset(&mut self) {
        self.list.clamp_offset();
    }

    /// Fetch the next page when the selection nears the window's edge.
    fn edge_fetch(&mut self) -> Vec<Cmd> {
        if self.loading {
            return Vec::new();
        }
        match self.list.edge() {
            Some(anchor) => {
                self.loading = true;
                vec![self.query(anchor)]
            }
            None => Vec::new(),
        }
    }

    /// With details open, show the selected run's details.
    fn details_follow_selection(&mut self) -> Vec<Cmd> {
        let Some(row) = self.list.rows.get(self.list.selected) else {
            return Vec::new();
        };
        let Some(d) = self.details.as_mut() else {
            return Vec::new();
        };
        if d.partition == row.partition && d.file_name == row.file_name {
            return Vec::new();
        }
        *d = DetailsPane {
            partition: row.partition.clone(),
            file_name: row.file_name.clone(),
            run_id: row.run_id.clone(),
            key: row.key(),
            content: None,
            scroll: 0,
        };
        vec![Cmd::Query(QueryCmd::LoadDetails {
            partition: row.partition.clone(),
            file_name: row.file_name.clone(),
        })]
    }

    fn move_to(&mut self, target: usize) -> Vec<Cmd> {
        if self.list.rows.is_empty() {
            return Vec::new();
        }
        let target = target.min(self.list.rows.len() - 1);
        if target != self.list.selected && self.follow {
            self.follow = false;
            self.say("follow off (F to follow the newest run)", false);
        }
        self.list.selected = target;
        self.clamp_offset();
        self.seen_selected();
        let mut cmds = self.edge_fetch();
        cmds.extend(self.details_follow_selection());
        cmds
    }

    fn move_by(&mut self, delta: isize) -> Vec<Cmd> {
        let target = (self.list.selected as isize + delta).max(0) as usize;
        self.move_to(target)
    }

    fn on_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if self.input.is_some() {
            return self.on_input_key(key);
        }
        if self.search_input.is_some() {
            return self.on_search_key(key);
        }
        if self.picker.is_some() {
            return self.on_picker_key(key);
        }
        if self.copy_menu {
            return self.on_copy_key(key);
        }
        if self.links_menu.is_some() {
            return self.on_links_key(key);
        }
        if self.diff.is_some() && self.view == View::Runs && !self.help {
            return self.on_diff_key(key);
        }
        if self.view == View::Queue && !self.help {
            return self.on_queue_key(key);
        }
        if self.view == View::Timeline && !self.help {
            return self.on_timeline_key(key);
        }
        if let (Some(kind), false) = (self.records_kind(), self.help) {
            return self.on_records_key(kind, key);
        }
        if self.help {
            // Help taller than the terminal scrolls; any other key closes it; q and
            // Ctrl-c still quit.
            let max = super::view::help_max_scroll(self);
            if max > 0 {
                let step = match super::keymap::HELP.action(&key) {
                    Some(DialogAction::Down) => Some(1),
                    Some(DialogAction::Up) => Some(-1),
                    Some(DialogAction::PageDown) => Some(i32::from(max)),
                    Some(DialogAction::PageUp) => Some(-i32::from(max)),
                    Some(
                        DialogAction::Accept
                        | DialogAction::Cancel
                        | DialogAction::First
                        | DialogAction::Last,
                    )
                    | None => None,
                };
                if let Some(step) = step {
                    self.help_scroll =
                        (i32::from(self.help_scroll) + step).clamp(0, i32::from(max)) as u16;
                    return Vec::new();
                }
            }
            self.help = false;
            return match action_for(&key) {
                Some(Action::Quit) => self.quit_cmds(),
                _ => Vec::new(),
            };
        }
        let Some(action) = action_for(&key) else {
            // Review keys pressed in the runs view: say where they work.
            if queue_action_for(&key).is_some_and(|a| a.decides() || a == QueueAction::ToggleMark) {
                self.say("approve/reject work in the review queue: press 2", false);
            } else if let Some(hint) = RUNS.unknown_key_hint(&key) {
                self.say(hint, false);
            }
            return Vec::new();
        };
        let page = self.list.height.max(1) as isize;
        if self.details.is_some() {
            // Inside the details every motion key scrolls the pane; only J/K change the run.
            let pane = self.details_page() as i32;
            match action {
                Action::Down => return self.scroll_details(1),
                Action::Up => return self.scroll_details(-1),
                Action::PageDown => return self.scroll_details(pane),
                Action::PageUp => return self.scroll_details(-pane),
                Action::HalfPageDown => return self.scroll_details(pane / 2),
                Action::HalfPageUp => return self.scroll_details(-pane / 2),
                Action::First => return self.scroll_details(i32::MIN),
                Action::Last => return self.scroll_details(i32::MAX),
                _ => {}
            }
        }
        match action {
            Action::Down => self.move_by(1),
            Action::Up => self.move_by(-1),
            Action::NextRecord => self.move_by(1),
            Action::PrevRecord => self.move_by(-1),
            Action::HalfPageDown => self.move_by(page / 2),
            Action::HalfPageUp => self.move_by(-(page / 2)),
            Action::PageDown => self.move_by(page),
            Action::PageUp => self.move_by(-page),
            Action::First => {
                if self.list.more_before {
                    self.loading = true;
                    self.list.selected = 0;
                    self.jump_top = true;
                    vec![self.query(Anchor::Top)]
                } else {
                    self.move_to(0)
                }
            }
            Action::Last => {
                self.follow = false;
                if self.list.more_after {
                    self.loading = true;
                    vec![self.query(Anchor::Bottom)]
                } else {
                    self.move_to(self.list.rows.len().saturating_sub(1))
                }
            }
            Action::OpenDetails => {
                let Some(row) = self.list.rows.get(self.list.selected).cloned() else {
                    return Vec::new();
                };
                if self.details.is_none() {
                    self.details = Some(DetailsPane {
                        partition: row.partition.clone(),
                        file_name: row.file_name.clone(),
                        run_id: row.run_id.clone(),
                        key: row.key(),
                        content: None,
                        scroll: 0,
                    });
                    self.seen_selected();
                    return vec![Cmd::Query(QueryCmd::LoadDetails {
                        partition: row.partition.clone(),
                        file_name: row.file_name.clone(),
                    })];
                }
                self.open_links_menu();
                Vec::new()
            }
            Action::Back => self.go_back(),
            Action::Diff => self.open_diff(),
            Action::Timeline => self.open_timeline(),
            Action::Sort => {
                let key = self.sort.key.next();
                // Time newest first; the others most severe, highest or A first.
                let descending = !matches!(key, SortKey::Tool);
                self.set_sort(Sort { key, descending })
            }
            Action::SortReverse => self.set_sort(Sort {
                descending: !self.sort.descending,
                ..self.sort
            }),
            Action::Close if self.details.is_none() && self.mark_anchor.is_some() => {
                self.mark_anchor = None;
                self.say_marks();
                Vec::new()
            }
            Action::Close if self.details.is_none() && !self.marks.is_empty() => {
                self.marks.clear();
                self.say("marks cleared", false);
                Vec::new()
            }
            Action::Close if self.details.is_none() && self.search.is_some() => {
                self.search = None;
                self.say("search cleared", false);
                Vec::new()
            }
            Action::Close => {
                if self.details.take().is_some() && self.follow && self.new_runs > 0 {
                    // Following was paused while reading: now show what arrived.
                    self.loading = true;
                    return vec![self.query(Anchor::Top)];
                }
                Vec::new()
            }
            Action::EditFilter => {
                let text = self.filter_text.clone();
                self.input = Some(FilterInput {
                    edit: LineEdit::new(&text, FILTER_MAX),
                    error: None,
                    before: text,
                    history_pos: None,
                });
                Vec::new()
            }
            Action::Search => {
                let text = self
                    .search
                    .as_ref()
                    .map(|s| s.text.clone())
                    .unwrap_or_default();
                self.search_input = Some(LineEdit::new(&text, FILTER_MAX));
                Vec::new()
            }
            Action::NextMatch => self.jump_to_match(true),
            Action::PrevMatch => self.jump_to_match(false),
            Action::Pager => self.open_viewer(Viewer::Pager),
            Action::Editor => self.open_viewer(Viewer::Editor),
            Action::CopyMenu => {
                self.copy_menu = true;
                Vec::new()
            }
            Action::ToggleMark => {
                let Some(r) = self.selected_row().cloned() else {
                    return Vec::new();
                };
                if self.marks.remove(&r.key()).is_none() {
                    self.marks.insert(r.key(), r.run_id.clone());
                }
                self.say_marks();
                self.move_by(1)
            }
            Action::MarkRange => {
                let Some(r) = self.selected_row().cloned() else {
                    return Vec::new();
                };
                match self.mark_anchor.clone() {
                    None => {
                        self.marks.insert(r.key(), r.run_id.clone());
                        self.mark_anchor = Some(r.key());
                        self.say(
                            "range started: move and press v to mark through there (Esc ends it)",
                            false,
                        );
                    }
                    Some(anchor) => {
                        // Everything between the anchor and here in the list's order (the
                        // rows in memory: a range longer than the window is marked as far
                        // as the window reaches; an anchor scrolled out of it marks from
                        // the window's edge on its side).
                        let here = self.list.selected;
                        let from = self.list.position(&anchor).unwrap_or(
                            if self.sort.is_default() == (anchor > r.key()) {
                                0
                            } else {
                                self.list.rows.len().saturating_sub(1)
                            },
                        );
                        let (lo, hi) = (from.min(here), from.max(here));
                        for row in &self.list.rows[lo..=hi.min(self.list.rows.len() - 1)] {
                            self.marks.insert(row.key(), row.run_id.clone());
                        }
                        self.say_marks();
                    }
                }
                Vec::new()
            }
            Action::SavedFilters => {
                self.picker = Some(0);
                vec![Cmd::Ui(UiCmd::LoadSavedFilters)]
            }
            // With details open, copies take the run being read (what the pane shows).
            Action::CopyId => match self
                .details
                .as_ref()
                .map(|d| d.run_id.clone())
                .or(self.selected_row().map(|r| r.run_id.clone()))
            {
                Some(id) => vec![Cmd::Ui(UiCmd::Copy {
                    text: id.clone(),
                    label: format!("run_id {id}"),
                })],
                None => {
                    self.say("nothing selected to copy", true);
                    Vec::new()
                }
            },
            Action::CopyJson => match self
                .details
                .as_ref()
                .map(|d| (&d.partition, &d.file_name, &d.run_id))
                .or(self
                    .selected_row()
                    .map(|r| (&r.partition, &r.file_name, &r.run_id)))
            {
                Some((partition, file_name, run_id)) => vec![Cmd::Query(QueryCmd::LoadRecord {
                    partition: partition.clone(),
                    file_name: file_name.clone(),
                    part: RecordPart::Json,
                    label: format!("record {run_id} as JSON"),
                })],
                None => {
                    self.say("nothing selected to copy", true);
                    Vec::new()
                }
            },
            Action::ToggleFollow => {
                self.follow = !self.follow;
                if self.follow && self.details.is_some() {
                    self.say(
                        "following: the newest run is shown when the details close",
                        false,
                    );
                    Vec::new()
                } else if self.follow {
                    self.new_runs = 0;
                    self.say("following the newest run", false);
                    self.loading = true;
                    vec![self.query(Anchor::Top)]
                } else {
                    self.newest_seen = self.list.rows.first().map(IndexedRun::key);
                    self.say("follow off", false);
                    Vec::new()
                }
            }
            Action::Rescan => {
                self.say("rescanning every file…", false);
                vec![Cmd::Ui(UiCmd::Rescan)]
            }
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
                Vec::new()
            }
            Action::ShowRuns => Vec::new(),
            Action::ShowQueue | Action::SwitchView => self.show_queue(),
            Action::ShowSessions => self.switch_to(View::Sessions),
            Action::ShowSnapshots => self.switch_to(View::Snapshots),
            Action::Quit => self.quit_cmds(),
        }
    }

    fn show_queue(&mut self) -> Vec<Cmd> {
        self.view = View::Queue;
        vec![Cmd::Queue(QueueCmd::Load(self.queue.status))]
    }

    fn on_queue_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if super::keymap::quits_anywhere(&key) {
            return self.quit_cmds();
        }
        // Dialogs, the filter line and the full-screen preview take keys first (a note may
        // contain "q"); the view-wide actions apply to the list.
        let idle = self.queue.modal.is_none() && self.queue.filter_input.is_none();
        if idle {
            let action = queue_action_for(&key);
            match action {
                Some(QueueAction::ShowRuns) => {
                    self.view = View::Runs;
                    return Vec::new();
                }
                Some(QueueAction::SwitchView) => return self.switch_to(View::Sessions),
                Some(QueueAction::ShowSessions) => return self.switch_to(View::Sessions),
                Some(QueueAction::ShowSnapshots) => return self.switch_to(View::Snapshots),
                Some(QueueAction::ShowQueue) => return Vec::new(),
                Some(QueueAction::Help) => {
                    self.help = true;
                    self.help_scroll = 0;
                    return Vec::new();
                }
                Some(QueueAction::Quit) => return self.quit_cmds(),
                Some(QueueAction::CopyId) => {
                    return match self.queue.selected_asset() {
                        Some(a) => vec![Cmd::Ui(UiCmd::Copy {
                            text: a.asset_id.clone(),
                            label: format!("asset id {}", a.asset_id),
                        })],
                        None => {
                            self.say("nothing selected to copy", true);
                            Vec::new()
                        }
                    };
                }
                Some(a) if a.decides() && self.read_only => {
                    self.say(
                        "the data root is read-only for you: browse only (decisions need write access to its rmos.db)",
                        true,
                    );
                    return Vec::new();
                }
                Some(QueueAction::Back) => return self.go_back(),
                Some(QueueAction::OpenRun) => {
                    // Enter: the selected asset's linked run.
                    return match self.queue.selected_asset() {
                        Some(a) => match &a.run_id {
                            Some(run_id) => {
                                let step = Back::Queue {
                                    status: self.queue.status,
                                    filter: self.queue.filter.clone(),
                                    asset_id: Some(a.asset_id.clone()),
                                };
                                let run_id = run_id.clone();
                                push_back(&mut self.back, step);
                                vec![Cmd::Query(QueryCmd::OpenRun { run_id })]
                            }
                            None => {
                                self.say(format!("{} is not linked to a run", a.asset_id), false);
                                Vec::new()
                            }
                        },
                        None => Vec::new(),
                    };
                }
                _ => {}
            }
        }
        let page = super::view::queue_list_rows(self.width, self.height);
        let out = self.queue.on_key(key, page);
        self.queue.keep_visible(page);
        self.queue.preview_scroll = self
            .queue
            .preview_scroll
            .min(super::view::preview_max_scroll(self));
        if let Some((text, error)) = out.message {
            self.say(text, error);
        } else if out.unhandled {
            // A key that means something in the runs view (F, C…) but not here.
            if let Some(hint) = QUEUE.unknown_key_hint(&key) {
                self.say(hint, false);
            }
        }
        out.cmds.into_iter().map(Cmd::Queue).collect()
    }

    fn quit_cmds(&mut self) -> Vec<Cmd> {
        self.quit = true;
        vec![Cmd::Ui(UiCmd::Quit)]
    }

    /// Lines of text the details pane shows at once.
    fn details_page(&self) -> u16 {
        super::view::details_geometry(self).1.max(1)
    }

    fn scroll_details(&mut self, delta: i32) -> Vec<Cmd> {
        let max = match &self.details {
            Some(d) => super::view::details_max_scroll(self, d),
            None => return Vec::new(),
        };
        if let Some(d) = self.details.as_mut() {
            d.scroll = (d.scroll as i64 + delta as i64).clamp(0, max as i64) as u16;
        }
        Vec::new()
    }

    /// Make `text` the active filter if it parses; returns the commands to reload.
    fn try_apply_filter(&mut self, typed: &str) -> Vec<Cmd> {
        let expanded = match self.expand(typed) {
            Ok(t) => t,
            Err(e) => {
                if let Some(input) = self.input.as_mut() {
                    input.error = Some(e);
                }
                return Vec::new();
            }
        };
        let text = expanded.as_str();
        match Filter::parse(text) {
            Ok(f) => {
                if let Some(input) = self.input.as_mut() {
                    input.error = None;
                }
                if f == self.filter && text.trim() == self.filter_text.trim() {
                    return Vec::new();
                }
                self.filter = f;
                self.filter_text = text.trim().to_owned();
                self.generation += 1;
                // The search counts within the filter: count again.
                self.match_count = None;
                self.loading = true;
                self.list.offset = 0;
                self.new_runs = 0;
                self.reset_seen = true;
                if self.details.is_none() {
                    self.list.selected = 0;
                    self.jump_top = true;
                }
                let mut cmds = vec![self.query(Anchor::Top), self.count()];
                if let Some(s) = self.search.clone() {
                    cmds.extend(self.start_search(s.text));
                }
                cmds
            }
            Err(e) => {
                if let Some(input) = self.input.as_mut() {
                    input.error = Some(e);
                }
                Vec::new()
            }
        }
    }

    fn on_input_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if super::keymap::quits_anywhere(&key) {
            return self.quit_cmds();
        }
        let Some(input) = self.input.as_mut() else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => {
                let before = input.before.clone();
                self.input = None;
                return self.try_apply_filter(&before);
            }
            KeyCode::Enter => {
                if input.error.is_some() {
                    return Vec::new();
                }
                let text = input.text().trim().to_owned();
                self.input = None;
                let mut cmds = self.try_apply_filter(&text);
                if !text.is_empty() {
                    self.history.retain(|e| *e != text);
                    self.history.push(text.clone());
                    cmds.push(Cmd::Ui(UiCmd::Remember(text)));
                }
                return cmds;
            }
            KeyCode::Up | KeyCode::Down => {
                if self.history.is_empty() {
                    return Vec::new();
                }
                let last = self.history.len() - 1;
                let pos = match (key.code, input.history_pos) {
                    (KeyCode::Up, None) => Some(last),
                    (KeyCode::Up, Some(p)) => Some(p.saturating_sub(1)),
                    (KeyCode::Down, Some(p)) if p < last => Some(p + 1),
                    (KeyCode::Down, _) => None,
                    _ => input.history_pos,
                };
                input.history_pos = pos;
                let text = match pos {
                    Some(p) => self.history[p].clone(),
                    None => input.before.clone(),
                };
                input.edit.set(&text);
            }
            _ => match input.edit.handle(&key) {
                Edit::Changed => {}
                Edit::Moved | Edit::NotMine => return Vec::new(),
            },
        }
        let text = input.text();
        self.try_apply_filter(&text)
    }
}

impl App {
    /// What a typed filter stands for: `@name` alone is the saved filter of that name
    /// (an unknown name is an error naming the saved ones); anything else is itself.
    pub fn expand(&self, typed: &str) -> Result<String, ParseError> {
        let t = typed.trim();
        let Some(name) = t.strip_prefix('@') else {
            return Ok(typed.to_owned());
        };
        if let Some((_, expr)) = self.saved_filters.iter().find(|(n, _)| n == name) {
            return Ok(expr.clone());
        }
        let message = if let Some(e) = &self.saved_error {
            format!("cannot read the saved filters: {e}")
        } else if self.saved_filters.is_empty() {
            "no saved filters yet: rmos filters save NAME 'EXPRESSION'".to_owned()
        } else {
            let names: Vec<String> = self
                .saved_filters
                .iter()
                .map(|(n, _)| format!("@{n}"))
                .collect();
            format!("no saved filter @{name}: saved are {}", names.join(" "))
        };
        Err(ParseError {
            pos: typed.len() - typed.trim_start().len(),
            message,
        })
    }

    /// The list's filter and the search, as one filter for the index.
    fn search_filter(&self, text: &str) -> Filter {
        self.filter
            .clone()
            .and(false, crate::filter::Predicate::Text(text.to_owned()))
    }

    /// Make `text` the search (empty: no search) and count its matches.
    fn start_search(&mut self, text: String) -> Vec<Cmd> {
        if text.trim().is_empty() {
            self.search = None;
            return Vec::new();
        }
        self.search_seq += 1;
        let id = self.search_seq;
        let filter = self.search_filter(&text);
        self.search = Some(Search {
            text,
            id,
            count: None,
        });
        vec![Cmd::Query(QueryCmd::SearchCount { search: id, filter })]
    }

    fn on_search_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if super::keymap::quits_anywhere(&key) {
            return self.quit_cmds();
        }
        let Some(edit) = self.search_input.as_mut() else {
            return Vec::new();
        };
        match key.code {
            KeyCode::Esc => {
                self.search_input = None;
                Vec::new()
            }
            KeyCode::Enter => {
                let text = edit.text().trim().to_owned();
                self.search_input = None;
                let mut cmds = self.start_search(text);
                if self.search.is_some() {
                    // The first match from the selection down (the selection itself when
                    // it matches).
                    if self
                        .selected_row()
                        .is_some_and(|r| self.search.as_ref().is_some_and(|s| s.matches(r)))
                    {
                        return cmds;
                    }
                    cmds.extend(self.jump_to_match(true));
                }
                cmds
            }
            _ => {
                edit.handle(&key);
                Vec::new()
            }
        }
    }

    /// `n` / `N`: the next match below (older) or above (newer) the selection — in the
    /// rows in memory, else asked of the index from the window's edge.
    fn jump_to_match(&mut self, forward: bool) -> Vec<Cmd> {
        let Some(search) = self.search.clone() else {
            self.say("no search: / searches", false);
            return Vec::new();
        };
        let rows = &self.list.rows;
        let sel = self.list.selected;
        let found = if forward {
            (sel + 1..rows.len()).find(|&i| search.matches(&rows[i]))
        } else {
            (0..sel.min(rows.len()))
                .rev()
                .find(|&i| search.matches(&rows[i]))
        };
        if let Some(i) = found {
            return self.move_to(i);
        }
        let (more, edge) = if forward {
            (self.list.more_after, rows.last())
        } else {
            (self.list.more_before, rows.first())
        };
        match edge {
            Some(edge) if more => vec![Cmd::Query(QueryCmd::FindMatch {
                search: search.id,
                filter: self.search_filter(&search.text),
                sort: self.sort,
                from: edge.key(),
                forward,
            })],
            _ => {
                self.say(
                    if forward {
                        format!("no more matches of /{} below", search.text)
                    } else {
                        format!("no more matches of /{} above", search.text)
                    },
                    false,
                );
                Vec::new()
            }
        }
    }

    /// A match the index found outside the window: load the rows around it, selected
    /// (and shown, when the details are open).
    fn select_found(&mut self, row: IndexedRun) -> Vec<Cmd> {
        if let Some(p) = self.list.position(&row.key()) {
            return self.move_to(p);
        }
        self.follow = false;
        self.loading = true;
        let mut cmds = vec![self.query(Anchor::Around(row.key()))];
        if self.details.is_some() {
            self.details = Some(DetailsPane {
                partition: row.partition.clone(),
                file_name: row.file_name.clone(),
                run_id: row.run_id.clone(),
                key: row.key(),
                content: None,
                scroll: 0,
            });
            cmds.push(Cmd::Query(QueryCmd::LoadDetails {
                partition: row.partition,
                file_name: row.file_name,
            }));
        }
        cmds
    }

    /// The wheel moves the selection (or scrolls the details pane under the pointer, or
    /// the review queue); a click selects a run in the list. Overlays and text lines
    /// ignore the mouse.
    fn on_mouse(&mut self, m: crossterm::event::MouseEvent) -> Vec<Cmd> {
        use crossterm::event::{MouseButton, MouseEventKind};
        if self.help
            || self.input.is_some()
            || self.search_input.is_some()
            || self.picker.is_some()
            || self.copy_menu
        {
            return Vec::new();
        }
        let step: i32 = match m.kind {
            MouseEventKind::ScrollDown => 3,
            MouseEventKind::ScrollUp => -3,
            MouseEventKind::Down(MouseButton::Left) => 0,
            _ => return Vec::new(),
        };
        let at = ratatui::layout::Position::new(m.column, m.row);
        if self.view == View::Queue || self.records_kind().is_some() {
            if self.links_menu.is_some()
                || self.queue.modal.is_some()
                || self.queue.filter_input.is_some()
            {
                return Vec::new();
            }
            // A click on a row selects it (rows start below the border and the titles).
            if step == 0 {
                let list = super::view::queue_list_area(self.width, self.height);
                let first = list.y + 2;
                if !list.contains(at) || m.row < first || m.row + 1 >= list.bottom() {
                    return Vec::new();
                }
                let page = super::view::queue_list_rows(self.width, self.height);
                if let Some(kind) = self.records_kind() {
                    let st = self.records_mut(kind);
                    let row = st.offset + usize::from(m.row - first);
                    if row < st.shown.len() {
                        st.selected = row;
                        st.scroll = 0;
                    }
                    return Vec::new();
                }
                let row = self.queue.offset + usize::from(m.row - first);
                return self
                    .queue
                    .click(row, page)
                    .into_iter()
                    .map(Cmd::Queue)
                    .collect();
            }
            if let Some(kind) = self.records_kind() {
                let code = if step > 0 { KeyCode::Down } else { KeyCode::Up };
                let mut cmds = Vec::new();
                for _ in 0..step.unsigned_abs() {
                    cmds.extend(self.on_records_key(kind, KeyEvent::new(code, KeyModifiers::NONE)));
                }
                return cmds;
            }
            let code = if step > 0 { KeyCode::Down } else { KeyCode::Up };
            let mut cmds = Vec::new();
            for _ in 0..step.unsigned_abs() {
                cmds.extend(self.on_queue_key(KeyEvent::new(code, KeyModifiers::NONE)));
            }
            return cmds;
        }
        let (list, details) = super::view::runs_areas(self);
        if details.is_some_and(|d| d.contains(at)) {
            return if step == 0 {
                Vec::new()
            } else {
                self.scroll_details(step)
            };
        }
        if !list.contains(at) {
            return Vec::new();
        }
        if step != 0 {
            return self.move_by(step as isize);
        }
        // Rows start below the border and the column titles.
        let first = list.y + 2;
        if m.row < first || m.row + 1 >= list.bottom() {
            return Vec::new();
        }
        let index = self.list.offset + usize::from(m.row - first);
        if index >= self.list.rows.len() {
            return Vec::new();
        }
        self.move_to(index)
    }

    fn open_viewer(&mut self, viewer: Viewer) -> Vec<Cmd> {
        match self.copy_target() {
            Some(r) => vec![Cmd::Query(QueryCmd::LoadForViewer {
                partition: r.partition,
                file_name: r.file_name,
                run_id: r.run_id,
                viewer,
            })],
            None => {
                self.say("nothing selected to open", true);
                Vec::new()
            }
        }
    }

    fn say_marks(&mut self) {
        let n = self.marks.len();
        let text = match (n, self.mark_anchor.is_some()) {
            (0, _) => "no runs marked".to_owned(),
            (n, true) => format!("{n} marked · v marks through here · Esc ends the range"),
            (n, false) => format!("{n} marked · y m copies their run_ids · Esc clears"),
        };
        self.say(text, false);
    }

    /// The run copies are about: the one the details show, else the selected one.
    fn copy_target(&self) -> Option<IndexedRun> {
        match &self.details {
            Some(d) => self
                .list
                .position(&d.key)
                .and_then(|p| self.list.rows.get(p).cloned())
                .or_else(|| {
                    // Not in the window any more: what the pane knows is enough.
                    let mut r = self.selected_row()?.clone();
                    r.run_id = d.run_id.clone();
                    r.partition = d.partition.clone();
                    r.file_name = d.file_name.clone();
                    r.block_reason = d
                        .content
                        .as_ref()
                        .and_then(|c| c.artifact.as_ref())
                        .and_then(|a| a.decision.block_reason.clone());
                    Some(r)
                }),
            None => self.selected_row().cloned(),
        }
    }

    /// The active filter as a command line that lists the same runs.
    pub fn filter_command(&self) -> String {
        if self.filter_text.trim().is_empty() {
            "rmos logs recent".to_owned()
        } else {
            format!(
                "rmos logs recent --filter {}",
                crate::text::shell_quote(self.filter_text.trim())
            )
        }
    }

    fn on_copy_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if super::keymap::quits_anywhere(&key) {
            return self.quit_cmds();
        }
        let Some(action) = super::keymap::COPY.action(&key) else {
            // Any other key closes the menu without copying.
            self.copy_menu = false;
            return Vec::new();
        };
        self.copy_menu = false;
        let copy = |text: String, label: String| vec![Cmd::Ui(UiCmd::Copy { text, label })];
        let load = |r: &IndexedRun, part: RecordPart, label: String| {
            vec![Cmd::Query(QueryCmd::LoadRecord {
                partition: r.partition.clone(),
                file_name: r.file_name.clone(),
                part,
                label,
            })]
        };
        match action {
            CopyAction::Cancel => return Vec::new(),
            CopyAction::Command => {
                let cmd = self.filter_command();
                return copy(cmd, "the filter as a command".into());
            }
            CopyAction::Marked => {
                if self.marks.is_empty() {
                    self.say("no runs marked: Space marks one, v a range", true);
                    return Vec::new();
                }
                // Newest first, like the list, separated by spaces: pasted, they are the
                // arguments of one command (a line break would run it).
                let ids: Vec<&str> = self.marks.values().rev().map(String::as_str).collect();
                return copy(ids.join(" "), format!("{} marked run_ids", ids.len()));
            }
            _ => {}
        }
        let Some(r) = self.copy_target() else {
            self.say("nothing selected to copy", true);
            return Vec::new();
        };
        let id = r.run_id.clone();
        match action {
            CopyAction::Id => copy(id.clone(), format!("run_id {id}")),
            CopyAction::Path => load(&r, RecordPart::Path, format!("the path of {id}")),
            CopyAction::Hash if !r.valid => {
                self.say(format!("{id} is not a valid record: it has no hash"), true);
                Vec::new()
            }
            CopyAction::Hash => load(
                &r,
                RecordPart::FeasibilityHash,
                format!("the feasibility hash of {id}"),
            ),
            CopyAction::Reason => match r.block_reason.filter(|b| !b.trim().is_empty()) {
                // One line: a line break pasted into a shell would run what precedes it.
                Some(b) => copy(
                    b.split_whitespace().collect::<Vec<_>>().join(" "),
                    format!("the block reason of {id}"),
                ),
                None => {
                    self.say(format!("{id} has no block reason"), true);
                    Vec::new()
                }
            },
            CopyAction::Json => load(&r, RecordPart::Json, format!("record {id} as JSON")),
            CopyAction::Command | CopyAction::Marked | CopyAction::Cancel => Vec::new(),
        }
    }

    /// The links the links menu offers: the selected session's or snapshot's runs in
    /// those views, else those of the run the details show.
    pub fn current_links(&self) -> Vec<Link> {
        match self.records_kind() {
            Some(kind) => self
                .records(kind)
                .selected_row()
                .map(|r| {
                    r.runs
                        .iter()
                        .map(|id| Link {
                            kind: LinkKind::Run,
                            target: id.clone(),
                            note: String::new(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            None => self.details_links(),
        }
    }

    /// The links of the run the details show (its parent, plan, children, advisories).
    pub fn details_links(&self) -> Vec<Link> {
        match self.details.as_ref().and_then(|d| d.content.as_ref()) {
            Some(c) => match &c.artifact {
                Some(a) => links_of(a, &c.children),
                None => Vec::new(),
            },
            None => Vec::new(),
        }
    }

    /// `Enter` in the details: the links menu, or why there is none.
    fn open_links_menu(&mut self) {
        let loaded = self.details.as_ref().is_some_and(|d| d.content.is_some());
        if !loaded {
            self.say("the record is still loading", false);
        } else if self.details_links().is_empty() {
            self.say(
                "this run links nowhere: no parent, plan, children or advisories",
                false,
            );
        } else {
            self.links_menu = Some(0);
        }
    }

    fn on_links_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if super::keymap::quits_anywhere(&key) {
            return self.quit_cmds();
        }
        let links = self.current_links();
        let Some(sel) = self.links_menu else {
            return Vec::new();
        };
        let page = super::view::picker_rows(self.height);
        match menu_key(super::keymap::LINKS.action(&key), sel, links.len(), page) {
            MenuKey::To(to) => {
                self.links_menu = Some(to);
                Vec::new()
            }
            MenuKey::Cancel => {
                self.links_menu = None;
                Vec::new()
            }
            MenuKey::Accept => {
                self.links_menu = None;
                match links.get(sel).cloned() {
                    Some(link) => self.follow(link),
                    None => Vec::new(),
                }
            }
        }
    }

    /// The records view shown, if one is.
    pub fn records_kind(&self) -> Option<RecordKind> {
        match self.view {
            View::Sessions => Some(RecordKind::Sessions),
            View::Snapshots => Some(RecordKind::Snapshots),
            View::Runs | View::Queue | View::Timeline => None,
        }
    }

    pub fn records(&self, kind: RecordKind) -> &RecordsState {
        match kind {
            RecordKind::Sessions => &self.sessions,
            RecordKind::Snapshots => &self.snapshots,
        }
    }

    fn records_mut(&mut self, kind: RecordKind) -> &mut RecordsState {
        match kind {
            RecordKind::Sessions => &mut self.sessions,
            RecordKind::Snapshots => &mut self.snapshots,
        }
    }

    /// Rows of the records list on screen (its page for motion keys).
    fn records_page(&self) -> usize {
        super::view::records_list_rows(self.width, self.height)
    }

    /// Show a view (sessions and snapshots are read again each time they are shown).
    fn switch_to(&mut self, view: View) -> Vec<Cmd> {
        match view {
            View::Runs => {
                self.view = View::Runs;
                Vec::new()
            }
            View::Queue => self.show_queue(),
            View::Timeline => self.open_timeline(),
            View::Sessions | View::Snapshots => {
                self.view = view;
                let kind = self.records_kind().expect("a records view");
                vec![Cmd::Query(QueryCmd::Records(kind))]
            }
        }
    }

    fn on_records_key(&mut self, kind: RecordKind, key: KeyEvent) -> Vec<Cmd> {
        use super::keymap::{RecordsAction, RECORDS};
        if super::keymap::quits_anywhere(&key) {
            return self.quit_cmds();
        }
        let page = self.records_page();
        if self.records(kind).filter_input.is_some() {
            let st = self.records_mut(kind);
            st.on_filter_key(&key);
            st.keep_visible(page);
            return Vec::new();
        }
        let Some(action) = RECORDS.action(&key) else {
            if let Some(hint) = RECORDS.unknown_key_hint(&key) {
                self.say(hint, false);
            }
            return Vec::new();
        };
        match action {
            RecordsAction::ShowRuns => return self.switch_to(View::Runs),
            RecordsAction::ShowQueue => return self.switch_to(View::Queue),
            RecordsAction::ShowSessions => return self.switch_to(View::Sessions),
            RecordsAction::ShowSnapshots => return self.switch_to(View::Snapshots),
            RecordsAction::SwitchView => {
                return self.switch_to(match kind {
                    RecordKind::Sessions => View::Snapshots,
                    RecordKind::Snapshots => View::Runs,
                })
            }
            RecordsAction::Help => {
                self.help = true;
                self.help_scroll = 0;
                return Vec::new();
            }
            RecordsAction::Quit => return self.quit_cmds(),
            RecordsAction::Back => return self.go_back(),
            RecordsAction::Reload => return vec![Cmd::Query(QueryCmd::Records(kind))],
            RecordsAction::CopyId => {
                return match self.records(kind).selected_row() {
                    Some(r) => vec![Cmd::Ui(UiCmd::Copy {
                        text: r.id.clone(),
                        label: format!("id {}", r.id),
                    })],
                    None => {
                        self.say("nothing selected to copy", true);
                        Vec::new()
                    }
                };
            }
            RecordsAction::Links => {
                if self.current_links().is_empty() {
                    let what = match kind {
                        RecordKind::Sessions => "this session has no runs yet",
                        RecordKind::Snapshots => "no run recorded this snapshot",
                    };
                    self.say(what, false);
                } else {
                    self.links_menu = Some(0);
                }
                return Vec::new();
            }
            _ => {}
        }
        let st = self.records_mut(kind);
        let said = st.on_action(action, page);
        st.keep_visible(page);
        if let Some(m) = said {
            self.say(m, false);
        }
        Vec::new()
    }

    /// How many buckets the timeline shows at this terminal width.
    fn timeline_capacity(&self) -> usize {
        super::view::timeline_capacity(self.width)
    }

    /// `i`: the timeline of the runs the filter matches.
    fn open_timeline(&mut self) -> Vec<Cmd> {
        self.view = View::Timeline;
        self.timeline.capacity = self.timeline_capacity();
        vec![Cmd::Query(QueryCmd::Timeline(
            self.timeline.reload(&self.filter),
        ))]
    }

    fn on_timeline_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        use super::keymap::{TimelineAction, TIMELINE};
        let Some(action) = TIMELINE.action(&key) else {
            if let Some(hint) = TIMELINE.unknown_key_hint(&key) {
                self.say(hint, false);
            }
            return Vec::new();
        };
        match action {
            TimelineAction::Close | TimelineAction::ShowRuns | TimelineAction::SwitchView => {
                self.view = View::Runs;
                return Vec::new();
            }
            TimelineAction::ShowQueue => return self.show_queue(),
            TimelineAction::ShowSessions => return self.switch_to(View::Sessions),
            TimelineAction::ShowSnapshots => return self.switch_to(View::Snapshots),
            TimelineAction::Help => {
                self.help = true;
                self.help_scroll = 0;
                return Vec::new();
            }
            TimelineAction::Quit => return self.quit_cmds(),
            _ => {}
        }
        let out = self.timeline.on_action(action, &self.filter);
        if let Some(m) = out.message {
            self.say(m, false);
        }
        let mut cmds: Vec<Cmd> = out
            .query
            .map(|q| Cmd::Query(QueryCmd::Timeline(q)))
            .into_iter()
            .collect();
        if let Some(f) = out.apply {
            let text = f.to_string();
            self.view = View::Runs;
            self.details = None;
            cmds.extend(self.try_apply_filter(&text));
            self.history.retain(|e| *e != text);
            self.history.push(text.clone());
            cmds.push(Cmd::Ui(UiCmd::Remember(text.clone())));
            self.say(format!("filter: {text} · i back to the timeline"), false);
        }
        cmds
    }

    /// Order the list another way: a new list from its top (the index pages in that
    /// order). Following new runs only makes sense newest first.
    fn set_sort(&mut self, sort: Sort) -> Vec<Cmd> {
        self.sort = sort;
        self.generation += 1;
        self.loading = true;
        self.list.offset = 0;
        self.new_runs = 0;
        self.reset_seen = true;
        self.follow = sort.is_default();
        if self.details.is_none() {
            self.list.selected = 0;
            self.jump_top = true;
        }
        self.say(
            format!(
                "sorted by {} {}{}",
                sort.key.name(),
                if sort.descending { "↓" } else { "↑" },
                if sort.is_default() {
                    " (following new runs)"
                } else {
                    " · o next column · O reverse"
                }
            ),
            false,
        );
        vec![self.query(Anchor::Top), self.count()]
    }

    /// `d`: compare the two marked runs (older first), else the run shown (or selected)
    /// with the run listed after it (the older one).
    fn open_diff(&mut self) -> Vec<Cmd> {
        let (a, b) = match self.marks.len() {
            2 => {
                let mut m: Vec<(&Cursor, &String)> = self.marks.iter().collect();
                m.sort_by_key(|(k, _)| (k.created_us, k.run_id.clone()));
                (m[0].1.clone(), m[1].1.clone())
            }
            0 => {
                let key = self
                    .details
                    .as_ref()
                    .map(|d| d.key.clone())
                    .or_else(|| self.selected_row().map(IndexedRun::key));
                let Some(key) = key else {
                    self.say("no run to compare", false);
                    return Vec::new();
                };
                let pos = self.list.position(&key);
                // The row below; in a sorted list it may be the newer one: the changes
                // always read from the older run to the newer.
                let below = pos.and_then(|p| self.list.rows.get(p + 1));
                match below {
                    Some(o) if o.key() > key => (key.run_id.clone(), o.run_id.clone()),
                    Some(o) => (o.run_id.clone(), key.run_id.clone()),
                    None => {
                        self.say(
                            "no run listed below to compare with: mark two runs with Space, then d",
                            false,
                        );
                        return Vec::new();
                    }
                }
            }
            n => {
                self.say(
                    format!("{n} runs marked: mark exactly two (Space) to compare them, or none to compare this run with the older one"),
                    false,
                );
                return Vec::new();
            }
        };
        self.diff = Some(DiffPane {
            a: a.clone(),
            b: b.clone(),
            changes: None,
            scroll: 0,
        });
        vec![Cmd::Query(QueryCmd::Diff { a, b })]
    }

    fn on_diff_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        let Some(action) = action_for(&key) else {
            if let Some(hint) = RUNS.unknown_key_hint(&key) {
                self.say(hint, false);
            }
            return Vec::new();
        };
        let pane = super::view::details_geometry(self).1.max(1) as i32;
        let delta = match action {
            Action::Down => 1,
            Action::Up => -1,
            Action::PageDown => pane,
            Action::PageUp => -pane,
            Action::HalfPageDown => pane / 2,
            Action::HalfPageUp => -pane / 2,
            Action::First => i32::MIN,
            Action::Last => i32::MAX,
            Action::Close | Action::Diff => {
                self.diff = None;
                return Vec::new();
            }
            Action::Quit => return self.quit_cmds(),
            Action::Help => {
                self.help = true;
                self.help_scroll = 0;
                return Vec::new();
            }
            Action::ShowQueue | Action::SwitchView => return self.show_queue(),
            _ => {
                self.say("the diff is open: Esc closes it", false);
                return Vec::new();
            }
        };
        let max = super::view::diff_max_scroll(self);
        if let Some(d) = self.diff.as_mut() {
            d.scroll = (i64::from(d.scroll) + i64::from(delta)).clamp(0, i64::from(max)) as u16;
        }
        Vec::new()
    }

    /// Where we are now, as a step to come back to.
    fn here(&self) -> Back {
        match (self.view, &self.details) {
            (View::Timeline, _) => Back::List,
            (View::Sessions | View::Snapshots, _) => {
                let kind = self.records_kind().expect("a records view");
                Back::Records {
                    kind,
                    id: self.records(kind).selected_row().map(|r| r.id.clone()),
                }
            }
            (View::Queue, _) => Back::Queue {
                status: self.queue.status,
                filter: self.queue.filter.clone(),
                asset_id: self.queue.selected_asset().map(|a| a.asset_id.clone()),
            },
            (View::Runs, Some(d)) => Back::Run(DetailsPane {
                content: None,
                ..d.clone()
            }),
            (View::Runs, None) => Back::List,
        }
    }

    /// Open a link: a run in the details (looked up by id: it need not be in the list's
    /// filter), an advisory in the review queue.
    fn follow(&mut self, link: Link) -> Vec<Cmd> {
        let here = self.here();
        push_back(&mut self.back, here);
        match link.kind {
            LinkKind::Advisory => {
                self.view = View::Queue;
                self.say(
                    format!("advisory {} · Backspace back to the run", link.target),
                    false,
                );
                let filter = format!("id:{}", link.target);
                self.queue
                    .show(StatusFilter::All, filter, Some(link.target))
                    .into_iter()
                    .map(Cmd::Queue)
                    .collect()
            }
            LinkKind::Parent | LinkKind::Plan | LinkKind::Child | LinkKind::Run => {
                vec![Cmd::Query(QueryCmd::OpenRun {
                    run_id: link.target,
                })]
            }
        }
    }

    /// `Backspace` / `Ctrl-o`: back to where the last followed link was opened from.
    fn go_back(&mut self) -> Vec<Cmd> {
        let Some(step) = self.back.pop() else {
            self.say(
                "nothing to go back to: Enter in the details follows a link",
                false,
            );
            return Vec::new();
        };
        match step {
            Back::Run(pane) => {
                self.view = View::Runs;
                if let Some(pos) = self.list.rows.iter().position(|r| r.key() == pane.key) {
                    self.list.selected = pos;
                    self.clamp_offset();
                }
                let cmd = Cmd::Query(QueryCmd::LoadDetails {
                    partition: pane.partition.clone(),
                    file_name: pane.file_name.clone(),
                });
                self.say(format!("back to run {}", pane.run_id), false);
                self.details = Some(pane);
                vec![cmd]
            }
            Back::List => {
                self.view = View::Runs;
                self.details = None;
                Vec::new()
            }
            Back::Records { kind, id } => {
                self.records_mut(kind).reselect(id);
                self.switch_to(match kind {
                    RecordKind::Sessions => View::Sessions,
                    RecordKind::Snapshots => View::Snapshots,
                })
            }
            Back::Queue {
                status,
                filter,
                asset_id,
            } => {
                self.view = View::Queue;
                self.say("back to the review queue", false);
                self.queue
                    .show(status, filter, asset_id)
                    .into_iter()
                    .map(Cmd::Queue)
                    .collect()
            }
        }
    }

    fn on_picker_key(&mut self, key: KeyEvent) -> Vec<Cmd> {
        if super::keymap::quits_anywhere(&key) {
            return self.quit_cmds();
        }
        let n = self.saved_filters.len();
        let Some(sel) = self.picker else {
            return Vec::new();
        };
        let page = super::view::picker_rows(self.height);
        let to = match menu_key(super::keymap::PICKER.action(&key), sel, n, page) {
            MenuKey::To(to) => to,
            MenuKey::Cancel => {
                self.picker = None;
                return Vec::new();
            }
            MenuKey::Accept => {
                let Some((name, expr)) = self.saved_filters.get(sel).cloned() else {
                    return Vec::new();
                };
                self.picker = None;
                if Filter::parse(&expr).is_err() {
                    self.say(
                        format!(
                            "saved filter @{name} no longer parses: fix it with rmos filters save"
                        ),
                        true,
                    );
                    return Vec::new();
                }
                let typed = format!("@{name}");
                let mut cmds = self.try_apply_filter(&typed);
                self.history.retain(|e| *e != typed);
                self.history.push(typed.clone());
                cmds.push(Cmd::Ui(UiCmd::Remember(typed)));
                self.say(format!("filter @{name}: {expr}"), false);
                return cmds;
            }
        };
        self.picker = Some(to);
        Vec::new()
    }
}

/// What a key does in a list menu (the saved-filter picker, the links menu).
enum MenuKey {
    /// Highlight this row.
    To(usize),
    Accept,
    Cancel,
}

/// The key's effect on a menu of `len` rows, `sel` highlighted, `page` rows to a page.
fn menu_key(action: Option<DialogAction>, sel: usize, len: usize, page: usize) -> MenuKey {
    let (last, page) = (len.saturating_sub(1), page.max(1));
    MenuKey::To(match action {
        Some(DialogAction::Down) => (sel + 1).min(last),
        Some(DialogAction::Up) => sel.saturating_sub(1),
        Some(DialogAction::PageDown) => (sel + page).min(last),
        Some(DialogAction::PageUp) => sel.saturating_sub(page),
        Some(DialogAction::First) => 0,
        Some(DialogAction::Last) => last,
        Some(DialogAction::Accept) => return MenuKey::Accept,
        Some(DialogAction::Cancel) => return MenuKey::Cancel,
        None => sel,
    })
}

/// Alt-b / Alt-f: word motion in a text line (not Esc then the key).
fn is_word_key(key: &KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::ALT) && matches!(key.code, KeyCode::Char('b' | 'f'))
}

#[cfg(test)]
mod tests {
    use super::super::list_window::MARGIN;
    use super::super::queue::{PreviewData, StatusFilter};
    use super::*;

    fn row(i: usize) -> IndexedRun {
        IndexedRun {
            run_id: format!("run_{i:04}"),
            partition: "2025-12-23".into(),
            file_name: format!("run_{i:04}.json"),
            valid: true,
            error: None,
            created_us: 1_000_000_000 - i as i64 * 1_000,
            created_at: None,
            mode: Some("router".into()),
            tool_id: Some("t".into()),
            status: Some("OK".into()),
            risk_level: Some("GREEN".into()),
            score: Some(90.0),
            source: None,
            event_type: Some("unknown".into()),
            warnings: vec![],
            block_reason: None,
            verify: Some("ok".into()),
            parent_run_id: None,
            plan_run_id: None,
        }
    }

    fn rows(range: std::ops::Range<usize>) -> Vec<IndexedRun> {
        range.map(row).collect()
    }

    fn key(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn code(c: KeyCode) -> Msg {
        Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
    }

    fn ctrl(c: char) -> Msg {
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    fn app_with(n: usize, more_after: bool) -> App {
        let mut app = App::new("root".into());
        app.update(Msg::Resize {
            width: 120,
            height: 40,
        });
        let cmds = app.init();
        assert!(matches!(
            cmds[0],
            Cmd::Query(QueryCmd::Page {
                anchor: Anchor::Top,
                ..
            })
        ));
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Top,
                rows: rows(0..n),
                more_before: false,
                more_after,
            },
        });
        app
    }

    #[test]
    fn j_k_move_and_moving_turns_follow_off() {
        let mut app = app_with(10, false);
        assert!(app.follow);
        app.update(key('j'));
        app.update(code(KeyCode::Down));
        assert_eq!(app.list.selected, 2);
        assert!(!app.follow);
        app.update(key('k'));
        assert_eq!(app.list.selected, 1);
        app.update(key('G'));
        assert_eq!(app.list.selected, 9);
        app.update(key('j'));
        assert_eq!(app.list.selected, 9, "stops at the end");
        app.update(key('g'));
        assert_eq!(app.list.selected, 0);
    }

    #[test]
    fn keys_the_queue_does_not_know_say_which_ones_it_does() {
        let mut app = app_with(3, false);
        app.update(key('2'));
        app.update(key('F'));
        let (text, is_err) = app.message.clone().expect("a hint");
        assert!(
            text.contains("a approve") && text.contains("? all keys"),
            "{text}"
        );
        assert!(!is_err);
        app.message = None;
        app.update(key('j')); // a queue key: no hint
        assert!(app.message.is_none());
    }

    #[test]
    fn alt_key_is_esc_then_the_key() {
        // Over SSH, Esc then j may arrive as one read: crossterm reports Alt+j.
        let alt = |c: char| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT));
        let mut app = app_with(10, false);
        app.update(key('f'));
        for c in "risk:re".chars() {
            app.update(key(c));
        }
        app.update(alt('j'));
        assert!(app.input.is_none(), "Esc cancelled the filter input");
        assert_eq!(app.filter_text, "", "and did not apply it");
        assert_eq!(app.list.selected, 1, "then j moved down");
        app.update(code(KeyCode::Enter));
        assert!(app.details.is_some());
        app.update(alt('k'));
        assert!(app.details.is_none(), "Esc closed the details");
        assert_eq!(app.list.selected, 0, "then k moved up");
    }

    #[test]
    fn nearing_the_window_edge_fetches_the_next_page() {
        let mut app = app_with(PAGE, true);
        let mut cmds = Vec::new();
        for _ in 0..(PAGE - MARGIN) {
            cmds.extend(app.update(key('j')));
        }
        let after: Vec<_> = cmds
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Cmd::Query(QueryCmd::Page {
                        anchor: Anchor::After(_),
                        ..
                    })
                )
            })
            .collect();
        assert_eq!(after.len(), 1, "exactly one fetch while loading");
        let Cmd::Query(QueryCmd::Page {
            anchor: Anchor::After(k),
            ..
        }) = after[0]
        else {
            unreachable!()
        };
        assert_eq!(k.run_id, format!("run_{:04}", PAGE - 1));
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::After(k.clone()),
                rows: rows(PAGE..PAGE + 50),
                more_before: true,
                more_after: false,
            },
        });
        assert_eq!(app.list.rows.len(), PAGE + 50);
        assert!(!app.list.more_after);
    }

    #[test]
    fn typing_in_the_filter_never_triggers_shortcuts() {
        let mut app = app_with(5, false);
        app.update(key('f'));
        let mut cmds = Vec::new();
        for c in "cqCjk".chars() {
            cmds.extend(app.update(key(c)));
        }
        assert!(!app.quit);
        assert!(
            cmds.iter().all(|c| matches!(
                c,
                Cmd::Query(QueryCmd::Page { .. }) | Cmd::Query(QueryCmd::Count { .. })
            )),
            "{cmds:?}"
        );
        assert_eq!(app.input.as_ref().unwrap().text(), "cqCjk");
        assert_eq!(app.list.selected, 0);
    }

    #[test]
    fn filter_errors_keep_the_last_valid_filter_and_esc_restores() {
        let mut app = app_with(5, false);
        app.update(key('f'));
        for c in "risk:red".chars() {
            app.update(key(c));
        }
        assert_eq!(app.filter_text, "risk:red");
        let gen = app.generation;
        app.update(key(' '));
        for c in "bad:".chars() {
            app.update(key(c));
        }
        assert!(app.input.as_ref().unwrap().error.is_some());
        assert!(app.filter_text.starts_with("risk:red"));
        // Enter with an error keeps editing.
        app.update(code(KeyCode::Enter));
        assert!(app.input.is_some());
        // Esc restores the filter active before editing.
        let cmds = app.update(code(KeyCode::Esc));
        assert!(app.input.is_none());
        assert_eq!(app.filter_text, "");
        assert!(app.generation > gen);
        assert!(cmds.iter().any(|c| matches!(
            c,
            Cmd::Query(QueryCmd::Page {
                anchor: Anchor::Top,
                ..
            })
        )));
    }

    fn type_filter(app: &mut App, text: &str) -> Vec<Cmd> {
        app.update(key('f'));
        app.update(ctrl('u'));
        for c in text.chars() {
            app.update(key(c));
        }
        app.update(code(KeyCode::Enter))
    }

    fn saved() -> Vec<(String, String)> {
        vec![
            ("blocked".into(), "status:blocked".into()),
            ("red-week".into(), "risk:red since:7d".into()),
        ]
    }

    #[test]
    fn history_loaded_at_start_is_browsed_and_applied_filters_are_remembered() {
        let mut app = app_with(5, false);
        // A filter applied before the stored history arrived stays the newest.
        let cmds = type_filter(&mut app, "mode:saw");
        assert!(cmds.contains(&Cmd::Ui(UiCmd::Remember("mode:saw".into()))));
        app.update(Msg::Prefs {
            history: Some(vec!["mode:saw".into(), "risk:red".into(), "tool:x".into()]),
            saved: Ok(Vec::new()),
        });
        assert_eq!(app.history, ["risk:red", "tool:x", "mode:saw"]);
        // Re-applying an old entry moves it to the end, once.
        let cmds = type_filter(&mut app, "risk:red");
        assert!(cmds.contains(&Cmd::Ui(UiCmd::Remember("risk:red".into()))));
        assert_eq!(app.history, ["tool:x", "mode:saw", "risk:red"]);
        app.update(key('f'));
        for _ in 0..3 {
            app.update(code(KeyCode::Up));
        }
        assert_eq!(app.input.as_ref().unwrap().text(), "tool:x");
        assert_eq!(app.filter_text, "tool:x");
        // Esc goes back to what was active; nothing is remembered.
        assert!(!app
            .update(code(KeyCode::Esc))
            .contains(&Cmd::Ui(UiCmd::Remember("tool:x".into()))));
        assert_eq!(app.filter_text, "risk:red");
        // The empty filter is applied but not remembered.
        let cmds = type_filter(&mut app, "");
        assert!(!cmds
            .iter()
            .any(|c| matches!(c, Cmd::Ui(UiCmd::Remember(_)))));
        assert_eq!(app.filter_text, "");
    }

    #[test]
    fn at_name_in_the_filter_bar_is_the_saved_filter() {
        let mut app = app_with(5, false);
        app.update(Msg::Prefs {
            history: None,
            saved: Ok(saved()),
        });
        let cmds = type_filter(&mut app, "@red-week");
        assert_eq!(
            app.filter_text, "risk:red since:7d",
            "the expansion is active"
        );
        assert_eq!(app.filter, Filter::parse("risk:red since:7d").unwrap());
        assert!(cmds.contains(&Cmd::Ui(UiCmd::Remember("@red-week".into()))));
        assert_eq!(app.history.last().unwrap(), "@red-week", "as typed");
        // An unknown name is an error naming the saved ones; the last filter stays.
        app.update(key('f'));
        app.update(ctrl('u'));
        for c in "@nope".chars() {
            app.update(key(c));
        }
        let err = app.input.as_ref().unwrap().error.clone().unwrap();
        assert_eq!(
            err.message,
            "no saved filter @nope: saved are @blocked @red-week"
        );
        assert_eq!(app.filter_text, "", "\"@\" alone was not a filter either");
        assert!(app.update(code(KeyCode::Enter)).is_empty(), "Enter refused");
        app.update(code(KeyCode::Esc));
        assert_eq!(app.filter_text, "risk:red since:7d");
        // No saved filters at all says how to make one; unreadable ones say why.
        app.update(Msg::Prefs {
            history: None,
            saved: Err("damaged filters.json".into()),
        });
        assert_eq!(
            app.expand("@x").unwrap_err().message,
            "cannot read the saved filters: damaged filters.json"
        );
        app.update(Msg::Prefs {
            history: None,
            saved: Ok(Vec::new()),
        });
        assert!(app
            .expand("@x")
            .unwrap_err()
            .message
            .contains("rmos filters save"));
        assert_eq!(app.expand("risk:red").unwrap(), "risk:red");
    }

    #[test]
    fn the_saved_filter_picker_applies_the_chosen_filter() {
        let mut app = app_with(5, false);
        assert_eq!(app.update(key('@')), vec![Cmd::Ui(UiCmd::LoadSavedFilters)]);
        assert_eq!(app.picker, Some(0));
        // The list arrives (re-read: the CLI may have changed it meanwhile).
        app.update(Msg::Prefs {
            history: None,
            saved: Ok(saved()),
        });
        app.update(key('j'));
        app.update(key('j'));
        assert_eq!(app.picker, Some(1), "stops at the last");
        app.update(key('g'));
        assert_eq!(app.picker, Some(0));
        // Keys of the list do nothing underneath while the picker is open.
        app.update(key('q'));
        assert!(!app.quit);
        app.update(key('G'));
        let cmds = app.update(code(KeyCode::Enter));
        assert_eq!(app.picker, None);
        assert_eq!(app.filter_text, "risk:red since:7d");
        assert!(cmds.contains(&Cmd::Ui(UiCmd::Remember("@red-week".into()))));
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Cmd::Query(QueryCmd::Page { .. }))));
        assert_eq!(
            app.message.as_ref().unwrap().0,
            "filter @red-week: risk:red since:7d"
        );
        // Esc closes without changing anything; an empty list applies nothing.
        app.update(key('@'));
        app.update(code(KeyCode::Esc));
        assert_eq!(app.picker, None);
        app.update(key('@'));
        app.update(Msg::Prefs {
            history: None,
            saved: Ok(Vec::new()),
        });
        assert!(app.update(code(KeyCode::Enter)).is_empty());
        assert_eq!(app.picker, Some(0), "nothing to apply: the picker stays");
        assert_eq!(app.filter_text, "risk:red since:7d");
    }

    #[test]
    fn the_header_position_is_known_from_the_top_and_asked_for_after_a_jump() {
        let mut app = app_with(5, false);
        assert_eq!(app.position(), Some(1));
        app.update(key('j'));
        app.update(key('j'));
        assert_eq!(app.position(), Some(3));
        // A page around a run (a refresh while not following): where it starts is asked.
        let cmds = app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Around(row(502).key()),
                rows: rows(500..505),
                more_before: true,
                more_after: true,
            },
        });
        assert_eq!(app.position(), None, "unknown until the index answers");
        let first = row(500).key();
        assert!(cmds.contains(&Cmd::Query(QueryCmd::Position {
            generation: 0,
            filter: Filter::default(),
            sort: Sort::default(),
            first: first.clone(),
        })));
        // An answer for another window or filter is dropped.
        app.update(Msg::Position {
            generation: 0,
            first: row(499).key(),
            before: 7,
        });
        assert_eq!(app.position(), None);
        app.update(Msg::Position {
            generation: 0,
            first,
            before: 500,
        });
        assert_eq!(app.position(), Some(503), "run 502 is the 503rd");
        // Rows prepended before the window keep it known.
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Before(row(500).key()),
                rows: rows(495..500),
                more_before: true,
                more_after: false,
            },
        });
        assert_eq!(app.position(), Some(503));
    }

    fn copied(cmds: &[Cmd]) -> Option<String> {
        match cmds {
            [Cmd::Ui(UiCmd::Copy { text, .. })] => Some(text.clone()),
            _ => None,
        }
    }

    #[test]
    fn the_copy_menu_copies_each_part_and_the_filter_as_a_command() {
        let mut app = app_with(5, false);
        app.list.rows[0].block_reason = Some("Risk RED:\nblocked".into());
        app.update(key('y'));
        assert!(app.copy_menu);
        assert_eq!(
            copied(&app.update(key('y'))).unwrap(),
            "run_0000",
            "y y: the id"
        );
        assert!(!app.copy_menu);
        app.update(key('y'));
        assert_eq!(
            copied(&app.update(key('b'))).unwrap(),
            "Risk RED: blocked",
            "one line"
        );
        for (k, part) in [
            ('p', RecordPart::Path),
            ('h', RecordPart::FeasibilityHash),
            ('j', RecordPart::Json),
        ] {
            app.update(key('y'));
            let cmds = app.update(key(k));
            assert!(
                matches!(&cmds[..], [Cmd::Query(QueryCmd::LoadRecord { part: p, file_name, .. })] if *p == part && file_name == "run_0000.json"),
                "{k}: {cmds:?}"
            );
        }
        // The filter, shell-quoted, as the command that lists the same runs.
        app.update(key('y'));
        assert_eq!(copied(&app.update(key('f'))).unwrap(), "rmos logs recent");
        type_filter(&mut app, "(risk:red OR status:blocked) -tool:it's");
        app.update(key('y'));
        assert_eq!(
            copied(&app.update(key('f'))).unwrap(),
            "rmos logs recent --filter '(risk:red OR status:blocked) -tool:it'\\''s'"
        );
        // A run without a block reason, nothing marked: said, nothing copied.
        app.list.selected = 1;
        app.update(key('y'));
        assert!(app.update(key('b')).is_empty());
        assert_eq!(
            app.message.as_ref().unwrap().0,
            "run_0001 has no block reason"
        );
        app.update(key('y'));
        assert!(app.update(key('m')).is_empty());
        assert!(app.message.as_ref().unwrap().1, "an error");
        // Any other key closes the menu and does nothing else.
        app.update(key('y'));
        assert!(app.update(key('q')).is_empty());
        assert!(!app.copy_menu && !app.quit);
    }

    #[test]
    fn space_and_v_mark_runs_that_the_copy_menu_copies_together() {
        let mut app = app_with(10, false);
        app.update(key(' '));
        assert_eq!(app.list.selected, 1, "Space marks and moves down");
        app.update(key(' '));
        app.update(key('k'));
        app.update(key(' '));
        assert_eq!(app.marks.len(), 1, "Space again unmarks");
        // v starts a range at run 5, v at run 7 marks 5..=7; then v at 3 extends to 3..=5.
        app.list.selected = 5;
        app.update(key('v'));
        app.list.selected = 7;
        app.update(key('v'));
        app.list.selected = 3;
        app.update(key('v'));
        let ids: Vec<&str> = app.marks.values().rev().map(String::as_str).collect();
        assert_eq!(
            ids,
            ["run_0000", "run_0003", "run_0004", "run_0005", "run_0006", "run_0007"]
        );
        app.update(key('y'));
        assert_eq!(
            copied(&app.update(key('m'))).unwrap(),
            "run_0000 run_0003 run_0004 run_0005 run_0006 run_0007",
            "newest first, one command line's arguments"
        );
        // Esc ends the range, then clears the marks; it never quits.
        app.update(code(KeyCode::Esc));
        assert!(app.mark_anchor.is_none());
        assert_eq!(app.marks.len(), 6);
        app.update(code(KeyCode::Esc));
        assert!(app.marks.is_empty() && !app.quit);
    }

    #[test]
    fn slash_searches_n_and_upper_n_jump_between_matches_through_the_index() {
        let mut app = app_with(10, true);
        for i in [2, 5] {
            app.list.rows[i].tool_id = Some("Saw-Blade".into());
        }
        app.list.rows[7].warnings = vec!["blade worn".into()];
        app.update(key('/'));
        for c in "BLADE".chars() {
            app.update(key(c));
        }
        assert_eq!(app.filter_text, "", "typing a search never filters");
        let cmds = app.update(code(KeyCode::Enter));
        let s = app.search.clone().unwrap();
        assert_eq!(s.text, "BLADE");
        assert!(cmds.contains(&Cmd::Query(QueryCmd::SearchCount {
            search: s.id,
            filter: Filter::default().and(false, crate::filter::Predicate::Text("BLADE".into())),
        })));
        assert_eq!(app.list.selected, 2, "Enter went to the first match");
        app.update(Msg::SearchCount {
            search: s.id,
            count: 3,
        });
        assert_eq!(app.search.as_ref().unwrap().count, Some(3));
        app.update(key('n'));
        assert_eq!(app.list.selected, 5);
        app.update(key('n'));
        assert_eq!(app.list.selected, 7, "a warning matches too");
        app.update(key('N'));
        assert_eq!(app.list.selected, 5);
        // Past the rows in memory: the index is asked from the window's edge.
        app.list.selected = 7;
        let cmds = app.update(key('n'));
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::FindMatch {
                search: s.id,
                filter: app.search_filter("BLADE"),
                sort: Sort::default(),
                from: row(9).key(),
                forward: true,
            })]
        );
        // Its answer loads the rows around the match, which is then selected.
        let far = {
            let mut r = row(700);
            r.block_reason = Some("blade".into());
            r
        };
        let cmds = app.update(Msg::MatchFound {
            search: s.id,
            forward: true,
            row: Ok(Some(Box::new(far.clone()))),
        });
        assert!(cmds.contains(&Cmd::Query(QueryCmd::Page {
            generation: app.generation,
            filter: app.filter.clone(),
            sort: Sort::default(),
            anchor: Anchor::Around(far.key()),
            limit: PAGE,
        })));
        app.update(Msg::Page {
            generation: app.generation,
            page: Page {
                anchor: Anchor::Around(far.key()),
                rows: (695..705)
                    .map(|i| if i == 700 { far.clone() } else { row(i) })
                    .collect(),
                more_before: true,
                more_after: true,
            },
        });
        assert_eq!(app.selected_row().unwrap().run_id, "run_0700");
        // No further match: said, nothing moves. A stale answer is dropped.
        app.update(Msg::MatchFound {
            search: s.id,
            forward: true,
            row: Ok(None),
        });
        assert_eq!(
            app.message.as_ref().unwrap().0,
            "no more matches below (N searches up)"
        );
        app.update(Msg::MatchFound {
            search: s.id + 1,
            forward: true,
            row: Ok(Some(Box::new(row(3)))),
        });
        assert_eq!(app.selected_row().unwrap().run_id, "run_0700");
        // A new filter counts the search again within it; Esc clears the search.
        app.update(key('f'));
        let cmds = app.update(key('x'));
        let now = app.search.clone().unwrap();
        assert_ne!(now.id, s.id);
        assert_eq!(now.count, None);
        assert!(cmds.contains(&Cmd::Query(QueryCmd::SearchCount {
            search: now.id,
            filter: Filter::parse("x")
                .unwrap()
                .and(false, crate::filter::Predicate::Text("BLADE".into())),
        })));
        app.update(code(KeyCode::Enter));
        app.update(code(KeyCode::Esc));
        assert!(app.search.is_none());
        assert!(app.update(key('n')).is_empty());
    }

    #[test]
    fn p_and_e_hand_the_record_to_the_pager_and_the_editor() {
        let mut app = app_with(3, false);
        app.update(key('j'));
        for (k, viewer) in [('p', Viewer::Pager), ('e', Viewer::Editor)] {
            let cmds = app.update(key(k));
            assert_eq!(
                cmds,
                vec![Cmd::Query(QueryCmd::LoadForViewer {
                    partition: "2025-12-23".into(),
                    file_name: "run_0001.json".into(),
                    run_id: "run_0001".into(),
                    viewer,
                })]
            );
            let cmds = app.update(Msg::ViewerText {
                run_id: "run_0001".into(),
                viewer,
                text: Ok("{}".into()),
            });
            assert_eq!(
                cmds,
                vec![Cmd::Ui(UiCmd::View {
                    viewer,
                    name: "run_0001.json".into(),
                    text: "{}".into(),
                })]
            );
        }
        app.update(Msg::ViewerDone(Err(
            "less exited with exit status: 2".into()
        )));
        assert_eq!(
            app.message.clone().unwrap(),
            ("less exited with exit status: 2".into(), true)
        );
        app.update(Msg::ViewerText {
            run_id: "run_0001".into(),
            viewer: Viewer::Pager,
            text: Err("file vanished".into()),
        });
        assert_eq!(
            app.message.clone().unwrap().0,
            "cannot open run_0001: file vanished"
        );
    }

    fn mouse(kind: crossterm::event::MouseEventKind, column: u16, row: u16) -> Msg {
        Msg::Mouse(crossterm::event::MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    }

    #[test]
    fn a_click_selects_a_run_and_the_wheel_scrolls() {
        use crossterm::event::{MouseButton, MouseEventKind};
        let click = MouseEventKind::Down(MouseButton::Left);
        let mut app = app_with(50, false);
        // Header line, list border, column titles: the first run is on line 3.
        app.update(mouse(click, 10, 3));
        assert_eq!(app.list.selected, 0);
        app.update(mouse(click, 10, 7));
        assert_eq!(app.list.selected, 4);
        assert!(
            !app.follow,
            "clicking away from the newest run stops following"
        );
        // The border, the titles and the lines below the list select nothing.
        for row in [1, 2, 38, 39] {
            app.update(mouse(click, 10, row));
            assert_eq!(app.list.selected, 4, "line {row}");
        }
        app.update(mouse(MouseEventKind::ScrollDown, 10, 10));
        assert_eq!(app.list.selected, 7);
        app.update(mouse(MouseEventKind::ScrollUp, 10, 10));
        assert_eq!(app.list.selected, 4);
        // With the details open (side by side at 120 columns) the wheel over the pane
        // scrolls it; the list beside it still takes clicks.
        app.update(code(KeyCode::Enter));
        app.update(mouse(MouseEventKind::ScrollDown, 100, 10));
        assert_eq!(app.list.selected, 4);
        app.update(mouse(click, 10, 5));
        assert_eq!(app.list.selected, 2);
        assert_eq!(
            app.details.as_ref().unwrap().run_id,
            "run_0002",
            "the details follow"
        );
        // Overlays ignore the mouse.
        app.update(code(KeyCode::Esc));
        app.update(key('y'));
        app.update(mouse(click, 10, 8));
        assert_eq!(app.list.selected, 2);
        assert!(app.copy_menu);
    }

    #[test]
    fn a_click_selects_an_asset_in_the_queue_and_a_record_in_sessions() {
        use crossterm::event::{MouseButton, MouseEventKind};
        let click = MouseEventKind::Down(MouseButton::Left);
        let mut app = app_with(3, false);
        app.update(key('2'));
        let assets: Vec<_> = (0..4)
            .map(|i| super::super::queue::test_asset(&format!("adv_{i}")))
            .collect();
        app.update(Msg::Queue {
            status: StatusFilter::Pending,
            assets,
            counts: (4, 0, 0),
        });
        // Header line, list border, column titles: the first asset is on line 3.
        let cmds = app.update(mouse(click, 5, 5));
        assert_eq!(app.queue.selected, 2);
        assert_eq!(cmds, vec![Cmd::Queue(QueueCmd::Preview("adv_2".into()))]);
        // Below the last asset, on the border: nothing.
        app.update(mouse(click, 5, 9));
        app.update(mouse(click, 5, 1));
        assert_eq!(app.queue.selected, 2);
        app.update(mouse(MouseEventKind::ScrollUp, 5, 5));
        assert_eq!(app.queue.selected, 0);
    }

    #[test]
    fn enter_commits_to_history_and_arrows_recall_it() {
        let mut app = app_with(5, false);
        for text in ["risk:red", "mode:saw"] {
            app.update(key('f'));
            app.update(ctrl('u'));
            for c in text.chars() {
                app.update(key(c));
            }
            app.update(code(KeyCode::Enter));
        }
        assert_eq!(app.history, ["risk:red", "mode:saw"]);
        app.update(key('f'));
        app.update(code(KeyCode::Up));
        assert_eq!(app.input.as_ref().unwrap().text(), "mode:saw");
        app.update(code(KeyCode::Up));
        assert_eq!(app.input.as_ref().unwrap().text(), "risk:red");
        assert_eq!(app.filter_text, "risk:red", "recalled filters apply live");
        app.update(code(KeyCode::Down));
        app.update(code(KeyCode::Down));
        assert_eq!(
            app.input.as_ref().unwrap().text(),
            "mode:saw",
            "back to the text before browsing"
        );
    }

    #[test]
    fn details_open_follow_selection_and_close_without_quitting() {
        let mut app = app_with(5, false);
        let cmds = app.update(code(KeyCode::Enter));
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::LoadDetails {
                partition: "2025-12-23".into(),
                file_name: "run_0000.json".into()
            })]
        );
        let cmds = app.update(key('J'));
        assert_eq!(app.list.selected, 1);
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::LoadDetails {
                partition: "2025-12-23".into(),
                file_name: "run_0001.json".into()
            })]
        );
        // j scrolls the pane instead of moving while details are open (nothing loaded
        // yet: nothing to scroll).
        app.update(key('j'));
        assert_eq!(app.list.selected, 1);
        assert_eq!(app.details.as_ref().unwrap().scroll, 0);
        app.update(key('K'));
        assert_eq!(app.list.selected, 0);
        app.update(code(KeyCode::Esc));
        assert!(app.details.is_none());
        app.update(code(KeyCode::Esc));
        assert!(!app.quit, "Esc never quits");
    }

    /// The details of `row(i)` with a parent, a plan, children and an advisory.
    fn linked_details(app: &mut App, i: usize) {
        let r = row(i);
        let artifact: crate::domain::RunArtifact = serde_json::from_value(serde_json::json!({
            "run_id": r.run_id,
            "created_at_utc": "2025-12-23T10:00:00Z",
            "mode": "rosette", "tool_id": "t", "status": "OK", "event_type": "feasibility",
            "request_summary": {}, "feasibility": {},
            "decision": {"risk_level": "GREEN"},
            "hashes": {"feasibility_sha256": "0".repeat(64)},
            "parent_run_id": "run_parent",
            "lineage": {"parent_plan_run_id": "run_plan"},
            "advisory_inputs": [{"advisory_id": "adv_1", "kind": "explanation"}]
        }))
        .unwrap();
        app.update(Msg::Details {
            partition: r.partition.clone(),
            file_name: r.file_name.clone(),
            details: Box::new(Details {
                partition: r.partition.clone(),
                file_name: r.file_name.clone(),
                path: String::new(),
                artifact: Some(Box::new(artifact)),
                error: None,
                verify: "placeholder".into(),
                verify_detail: None,
                children: vec!["run_kid".into()],
                children_total: 1,
            }),
        });
    }

    #[test]
    fn enter_in_the_details_follows_links_and_backspace_walks_back() {
        let mut app = app_with(5, false);
        app.update(key('j'));
        app.update(code(KeyCode::Enter));
        // Still loading: no menu yet, and it says why.
        assert!(app.update(code(KeyCode::Enter)).is_empty());
        assert!(app.links_menu.is_none());
        linked_details(&mut app, 1);
        app.update(code(KeyCode::Enter));
        assert_eq!(app.links_menu, Some(0));
        let kinds: Vec<LinkKind> = app.details_links().iter().map(|l| l.kind).collect();
        assert_eq!(
            kinds,
            [
                LinkKind::Parent,
                LinkKind::Plan,
                LinkKind::Child,
                LinkKind::Advisory
            ]
        );
        // The parent: looked up by id (it need not be in the filtered list).
        let cmds = app.update(code(KeyCode::Enter));
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::OpenRun {
                run_id: "run_parent".into()
            })]
        );
        let mut parent = row(9);
        parent.run_id = "run_parent".into();
        parent.file_name = "run_parent.json".into();
        app.update(Msg::RunFound {
            run_id: "run_parent".into(),
            row: Ok(Some(Box::new(parent))),
        });
        assert_eq!(app.details.as_ref().unwrap().run_id, "run_parent");
        // Back: the first run's details again, reloaded.
        let cmds = app.update(code(KeyCode::Backspace));
        assert_eq!(app.details.as_ref().unwrap().run_id, "run_0001");
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::LoadDetails {
                partition: "2025-12-23".into(),
                file_name: "run_0001.json".into()
            })]
        );
        // The advisory opens in the review queue, filtered to it; Ctrl-o comes back.
        linked_details(&mut app, 1);
        app.update(code(KeyCode::Enter));
        app.update(key('G'));
        let cmds = app.update(code(KeyCode::Enter));
        assert_eq!(app.view, View::Queue);
        assert_eq!(app.queue.filter, "id:adv_1");
        assert_eq!(cmds, vec![Cmd::Queue(QueueCmd::Load(StatusFilter::All))]);
        app.update(ctrl('o'));
        assert_eq!(app.view, View::Runs);
        assert_eq!(app.details.as_ref().unwrap().run_id, "run_0001");
        // A link to a run the index does not have: nothing opens, nothing to go back to.
        linked_details(&mut app, 1);
        app.update(code(KeyCode::Enter));
        app.update(key('j'));
        app.update(code(KeyCode::Enter));
        app.update(Msg::RunFound {
            run_id: "run_plan".into(),
            row: Ok(None),
        });
        assert!(app.back.is_empty());
        assert!(app
            .message
            .as_ref()
            .unwrap()
            .0
            .contains("not in this data root"));
        app.update(code(KeyCode::Backspace));
        assert!(app
            .message
            .as_ref()
            .unwrap()
            .0
            .contains("nothing to go back to"));
        assert_eq!(app.details.as_ref().unwrap().run_id, "run_0001");
    }

    #[test]
    fn an_asset_s_run_opened_from_the_queue_comes_back_to_the_queue() {
        let mut app = app_with(3, false);
        app.update(key('2'));
        let mut a = super::super::queue::test_asset("adv_9");
        a.run_id = Some("run_0002".into());
        app.update(Msg::Queue {
            status: StatusFilter::Pending,
            assets: vec![a],
            counts: (1, 0, 0),
        });
        app.update(code(KeyCode::Enter));
        app.update(Msg::RunFound {
            run_id: "run_0002".into(),
            row: Ok(Some(Box::new(row(2)))),
        });
        assert_eq!(app.view, View::Runs);
        let cmds = app.update(code(KeyCode::Backspace));
        assert_eq!(app.view, View::Queue);
        assert_eq!(
            cmds,
            vec![Cmd::Queue(QueueCmd::Load(StatusFilter::Pending))]
        );
    }

    #[test]
    fn verify_marks_flag_tampered_duplicate_invalid_and_placeholder_runs() {
        use super::super::view::{verify_mark, VerifyLook};
        let mut app = app_with(5, false);
        app.list.rows[1].verify = Some("mismatch".into());
        app.list.rows[2].verify = Some("placeholder".into());
        app.list.rows[3].valid = false;
        app.update(Msg::Duplicates {
            run_ids: vec!["run_0004".into(), "run_0001".into()],
        });
        let marks: Vec<Option<&str>> = app
            .list
            .rows
            .iter()
            .map(|r| verify_mark(r, app.duplicates.contains(&r.run_id)).map(|(m, _)| m))
            .collect();
        // A mismatch outranks being a duplicate: it is the worse news.
        assert_eq!(marks, [None, Some("✗"), Some("○"), Some("!"), Some("≡")]);
        assert_eq!(
            verify_mark(&app.list.rows[4], true).map(|(_, l)| l),
            Some(VerifyLook::Warn)
        );
        // A new window forgets the old one's duplicates until its own are reported.
        app.update(Msg::Page {
            generation: app.generation,
            page: Page {
                anchor: Anchor::Top,
                rows: rows(0..5),
                more_before: false,
                more_after: false,
            },
        });
        assert!(app.duplicates.is_empty());
    }

    #[test]
    fn d_diffs_two_marked_runs_older_first_or_the_selected_with_the_older_one() {
        let mut app = app_with(4, false);
        app.update(key('j'));
        assert_eq!(
            app.update(key('d')),
            vec![Cmd::Query(QueryCmd::Diff {
                a: "run_0002".into(),
                b: "run_0001".into()
            })]
        );
        app.update(Msg::Diff {
            a: "run_0002".into(),
            b: "run_0001".into(),
            changes: Ok(vec![]),
        });
        assert_eq!(app.diff.as_ref().unwrap().changes, Some(Ok(vec![])));
        // Esc closes the diff, and nothing else.
        app.update(code(KeyCode::Esc));
        assert!(app.diff.is_none());
        // Two marked (in any order): the older is what the changes are from.
        app.update(key('g'));
        app.update(key(' '));
        app.update(key('j'));
        app.update(key(' '));
        assert_eq!(
            app.update(key('d')),
            vec![Cmd::Query(QueryCmd::Diff {
                a: "run_0002".into(),
                b: "run_0000".into()
            })]
        );
        app.update(code(KeyCode::Esc));
        // Three marked: which two is not guessed.
        app.update(key(' '));
        assert!(app.update(key('d')).is_empty());
        assert!(app.message.as_ref().unwrap().0.contains("mark exactly two"));
        // The oldest run has nothing older to compare with.
        app.update(code(KeyCode::Esc));
        app.update(code(KeyCode::Esc));
        assert!(app.marks.is_empty());
        app.update(key('G'));
        assert!(app.update(key('d')).is_empty());
        assert!(app
            .message
            .as_ref()
            .unwrap()
            .0
            .contains("no run listed below"));
        // Oldest first (time ascending): the row below is newer, and still the changes
        // read from the older run to the newer.
        app.update(key('g'));
        app.sort = Sort {
            key: SortKey::Time,
            descending: false,
        };
        app.list.rows.reverse();
        assert_eq!(
            app.update(key('d')),
            vec![Cmd::Query(QueryCmd::Diff {
                a: "run_0003".into(),
                b: "run_0002".into()
            })]
        );
    }

    #[test]
    fn i_opens_the_timeline_of_the_filter_which_follows_resizes_and_live_changes() {
        let mut app = app_with(3, false);
        type_filter(&mut app, "risk:red");
        let cmds = app.update(key('i'));
        assert_eq!(app.view, View::Timeline);
        let [Cmd::Query(QueryCmd::Timeline(q))] = &cmds[..] else {
            panic!("{cmds:?}");
        };
        assert_eq!(q.filter.to_string(), "risk:red");
        assert_eq!(q.buckets, super::super::view::timeline_capacity(120));
        // A narrower terminal holds fewer buckets: asked again.
        let cmds = app.update(Msg::Resize {
            width: 80,
            height: 24,
        });
        assert!(
            matches!(&cmds[..], [Cmd::Query(QueryCmd::Timeline(q))] if q.buckets == super::super::view::timeline_capacity(80))
        );
        // Another process indexed runs: the bars are counted again.
        let cmds = app.update(Msg::SharedChange {
            runs: true,
            review: false,
        });
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Cmd::Query(QueryCmd::Timeline(_)))));
        // Keys the timeline does not know say which ones it does.
        app.update(key('x'));
        assert!(app.message.as_ref().unwrap().0.contains("timeline"));
        app.update(code(KeyCode::Esc));
        assert_eq!(app.view, View::Runs);
    }

    #[test]
    fn sessions_list_their_runs_and_a_run_opened_from_one_comes_back_to_it() {
        use super::super::records::{session_row, RecordKind};
        let mut app = app_with(3, false);
        let cmds = app.update(key('3'));
        assert_eq!(app.view, View::Sessions);
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::Records(RecordKind::Sessions))]
        );
        let session = |id: &str, runs: &[&str]| crate::store::sessions::WorkflowSession {
            session_id: id.into(),
            created_at_utc: "2025-12-23T10:00:00Z".into(),
            updated_at_utc: "2025-12-23T11:00:00Z".into(),
            workflow_type: "rosette".into(),
            current_step: "cut".into(),
            status: "active".into(),
            context: None,
            run_ids: runs.iter().map(|r| (*r).to_owned()).collect(),
            machine_id: None,
            material_id: None,
            tool_id: None,
            user_id: None,
            state_data: None,
            error_message: None,
            error_details: None,
        };
        app.update(Msg::Records {
            kind: RecordKind::Sessions,
            rows: Ok((
                vec![
                    session_row(&session("ses_empty", &[])),
                    session_row(&session("ses_two", &["run_0001", "run_0002"])),
                ],
                0,
            )),
        });
        // No runs: Enter says so.
        assert!(app.update(code(KeyCode::Enter)).is_empty());
        assert!(app.links_menu.is_none());
        app.update(key('j'));
        app.update(code(KeyCode::Enter));
        assert_eq!(app.current_links().len(), 2);
        app.update(key('j'));
        let cmds = app.update(code(KeyCode::Enter));
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::OpenRun {
                run_id: "run_0002".into()
            })]
        );
        app.update(Msg::RunFound {
            run_id: "run_0002".into(),
            row: Ok(Some(Box::new(row(2)))),
        });
        assert_eq!(app.view, View::Runs);
        // Back: the sessions view, read again, on the same session.
        let cmds = app.update(code(KeyCode::Backspace));
        assert_eq!(app.view, View::Sessions);
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::Records(RecordKind::Sessions))]
        );
        app.update(Msg::Records {
            kind: RecordKind::Sessions,
            rows: Ok((
                vec![
                    session_row(&session("ses_new", &[])),
                    session_row(&session("ses_empty", &[])),
                    session_row(&session("ses_two", &["run_0001", "run_0002"])),
                ],
                0,
            )),
        });
        assert_eq!(app.sessions.selected_row().unwrap().id, "ses_two");
        // 4, Tab and 1 switch views from here.
        app.update(key('4'));
        assert_eq!(app.view, View::Snapshots);
        app.update(code(KeyCode::Tab));
        assert_eq!(app.view, View::Runs);
    }

    #[test]
    fn o_sorts_the_list_in_the_index_and_upper_o_reverses_it() {
        let mut app = app_with(5, false);
        assert!(app.follow);
        let cmds = app.update(key('o'));
        let want = Sort {
            key: SortKey::Risk,
            descending: true,
        };
        assert_eq!(app.sort, want);
        assert!(
            matches!(&cmds[0], Cmd::Query(QueryCmd::Page { sort, anchor: Anchor::Top, generation, .. }) if *sort == want && *generation == app.generation)
        );
        assert!(!app.follow, "following is for newest first only");
        app.update(key('O'));
        assert!(!app.sort.descending);
        // Pages of the old order are dropped when they arrive late.
        let old = app.generation - 1;
        app.update(Msg::Page {
            generation: old,
            page: Page {
                anchor: Anchor::Top,
                rows: rows(10..12),
                more_before: false,
                more_after: false,
            },
        });
        assert_eq!(app.list.rows[0].run_id, "run_0000");
        // Around the cycle back to time, newest first, following again.
        app.update(key('O'));
        app.update(key('o'));
        app.update(key('o'));
        let cmds = app.update(key('o'));
        assert!(app.sort.is_default());
        assert!(app.follow);
        assert!(matches!(&cmds[0], Cmd::Query(QueryCmd::Page { sort, .. }) if sort.is_default()));
    }

    #[test]
    fn an_unreachable_shared_database_keeps_the_list_says_so_and_catches_up_after() {
        let mut app = app_with(3, false);
        let cmds = app.update(Msg::SharedTrouble(Some(
            "the shared database at db1 cannot be reached".into(),
        )));
        assert!(
            cmds.is_empty(),
            "nothing is asked of a database out of reach"
        );
        assert_eq!(app.list.rows.len(), 3, "what is shown stays");
        assert!(app.message.as_ref().unwrap().1);
        assert!(app.shared_trouble.is_some());
        // Back: everything shown is read again (others may have decided meanwhile).
        let cmds = app.update(Msg::SharedTrouble(None));
        assert!(app.shared_trouble.is_none());
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Cmd::Query(QueryCmd::Count { .. }))));
        assert!(app.message.as_ref().unwrap().0.contains("reachable again"));
    }

    #[test]
    fn copy_commands() {
        let mut app = app_with(3, false);
        app.update(key('j'));
        let cmds = app.update(key('c'));
        assert_eq!(
            cmds,
            vec![Cmd::Ui(UiCmd::Copy {
                text: "run_0001".into(),
                label: "run_id run_0001".into()
            })]
        );
        let cmds = app.update(key('C'));
        assert!(
            matches!(&cmds[..], [Cmd::Query(QueryCmd::LoadRecord { file_name, .. })] if file_name == "run_0001.json")
        );
        let cmds = app.update(Msg::Record {
            label: "record".into(),
            text: Ok("{}".into()),
        });
        assert_eq!(
            cmds,
            vec![Cmd::Ui(UiCmd::Copy {
                text: "{}".into(),
                label: "record".into()
            })]
        );
        app.update(Msg::Copied {
            label: "run_id run_0001".into(),
            result: Ok("OSC 52".into()),
        });
        assert_eq!(
            app.message.as_ref().unwrap().0,
            "copied run_id run_0001 (OSC 52)"
        );
        app.update(Msg::Tick {
            now_ms: 60_000,
            epoch_secs: 0,
        });
        assert!(app.message.is_none(), "messages expire");
    }

    #[test]
    fn stale_pages_are_dropped() {
        let mut app = app_with(3, false);
        app.update(key('f'));
        app.update(key('x'));
        let old = app.generation - 1;
        app.update(Msg::Page {
            generation: old,
            page: Page {
                anchor: Anchor::Top,
                rows: rows(0..50),
                more_before: false,
                more_after: false,
            },
        });
        assert_eq!(app.list.rows.len(), 3);
    }

    #[test]
    fn live_changes_keep_the_selection_unless_following() {
        let mut app = app_with(10, false);
        app.update(key('j'));
        app.update(key('j'));
        assert!(!app.follow);
        let cmds = app.update(Msg::ReconcileDone {
            changed: true,
            invalid_total: 0,
            unreadable: Vec::new(),
        });
        let around = cmds.iter().find_map(|c| match c {
            Cmd::Query(QueryCmd::Page {
                anchor: Anchor::Around(k),
                ..
            }) => Some(k.clone()),
            _ => None,
        });
        assert_eq!(around.as_ref().map(|k| k.run_id.as_str()), Some("run_0002"));
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Cmd::Query(QueryCmd::CountNewer { .. }))));
        // Two new runs arrive above: the same run stays selected.
        let mut new_rows = vec![row(0), row(0)];
        new_rows[0].run_id = "run_new2".into();
        new_rows[0].created_us += 10_000;
        new_rows[1].run_id = "run_new1".into();
        new_rows[1].created_us += 5_000;
        new_rows.extend(rows(0..10));
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Around(around.unwrap()),
                rows: new_rows,
                more_before: false,
                more_after: false,
            },
        });
        assert_eq!(app.selected_row().unwrap().run_id, "run_0002");
        app.update(Msg::Newer { count: 2 });
        assert_eq!(app.new_runs, 2);
        // Following: jump to the newest.
        let cmds = app.update(key('F'));
        assert!(app.follow);
        assert!(cmds.iter().any(|c| matches!(
            c,
            Cmd::Query(QueryCmd::Page {
                anchor: Anchor::Top,
                ..
            })
        )));
    }

    #[test]
    fn review_keys_in_the_runs_view_point_to_the_queue_and_c_copies_an_asset_id() {
        let mut app = app_with(3, false);
        assert!(app.update(key('a')).is_empty());
        assert!(app.message.as_ref().unwrap().0.contains("press 2"));
        let cmds = app.update(key('2'));
        assert!(matches!(
            cmds[..],
            [Cmd::Queue(QueueCmd::Load(StatusFilter::Pending))]
        ));
        assert!(app.update(key('c')).is_empty(), "nothing selected yet");
        assert!(app.message.as_ref().unwrap().1, "said as an error");
    }

    #[test]
    fn help_closes_on_any_key_and_quit_works_everywhere() {
        let mut app = app_with(3, false);
        app.update(key('?'));
        assert!(app.help);
        app.update(key('x'));
        assert!(!app.help);
        assert_eq!(
            app.list.selected, 0,
            "the key that closes help does nothing else"
        );
        app.update(key('f'));
        let cmds = app.update(ctrl('c'));
        assert_eq!(cmds, vec![Cmd::Ui(UiCmd::Quit)]);
        let mut app = app_with(3, false);
        assert_eq!(app.update(key('q')), vec![Cmd::Ui(UiCmd::Quit)]);
    }

    fn newer_row(id: &str, ahead_us: i64) -> IndexedRun {
        let mut r = row(0);
        r.run_id = id.into();
        r.file_name = format!("{id}.json");
        r.created_us += ahead_us;
        r
    }

    #[test]
    fn following_never_changes_the_open_details() {
        let mut app = app_with(10, false);
        assert!(app.follow, "on at start");
        app.update(key('j'));
        app.update(key('F')); // back on: jumps to the newest
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Top,
                rows: rows(0..10),
                more_before: false,
                more_after: false,
            },
        });
        app.update(code(KeyCode::Enter));
        let read = app.details.as_ref().unwrap().run_id.clone();
        app.update(Msg::Details {
            partition: "2025-12-23".into(),
            file_name: format!("{read}.json"),
            details: Box::new(Details {
                partition: "2025-12-23".into(),
                file_name: format!("{read}.json"),
                path: "p".into(),
                artifact: None,
                error: Some("x\n".repeat(5)),
                verify: "invalid".into(),
                verify_detail: None,
                children: Vec::new(),
                children_total: 0,
            }),
        });
        app.details.as_mut().unwrap().scroll = 1;
        // A new run arrives: the reload keeps the run being read, and counts the new one.
        let cmds = app.update(Msg::ReconcileDone {
            changed: true,
            invalid_total: 0,
            unreadable: Vec::new(),
        });
        assert!(
            !cmds.iter().any(|c| matches!(
                c,
                Cmd::Query(QueryCmd::Page {
                    anchor: Anchor::Top,
                    ..
                })
            )),
            "{cmds:?}"
        );
        let mut page = vec![newer_row("run_arrived", 5_000)];
        page.extend(rows(0..10));
        for anchor in [
            Anchor::Around(row(0).key()),
            // Even a page of the newest rows (a filter applied meanwhile) keeps it.
            Anchor::Top,
        ] {
            let cmds = app.update(Msg::Page {
                generation: app.generation,
                page: Page {
                    anchor,
                    rows: page.clone(),
                    more_before: false,
                    more_after: false,
                },
            });
            assert!(cmds.is_empty(), "no details reload: {cmds:?}");
            let d = app.details.as_ref().unwrap();
            assert_eq!((d.run_id.as_str(), d.scroll), (read.as_str(), 1));
            assert_eq!(app.selected_row().unwrap().run_id, read);
        }
        app.update(Msg::Newer { count: 1 });
        assert_eq!(app.new_runs, 1, "counted in the header");
        // c copies the run being read.
        assert!(
            matches!(&app.update(key('c'))[..], [Cmd::Ui(UiCmd::Copy { text, .. })] if *text == read)
        );
        // Closing the details shows what arrived.
        let cmds = app.update(code(KeyCode::Esc));
        assert!(cmds.iter().any(|c| matches!(
            c,
            Cmd::Query(QueryCmd::Page {
                anchor: Anchor::Top,
                ..
            })
        )));
    }

    #[test]
    fn every_motion_key_scrolls_the_details_and_only_j_k_upper_switch_runs() {
        let mut app = app_with(10, false);
        app.update(key('j'));
        app.update(key('j'));
        app.update(code(KeyCode::Enter));
        let long = "line\n".repeat(2_000);
        app.update(Msg::Details {
            partition: "2025-12-23".into(),
            file_name: "run_0002.json".into(),
            details: Box::new(Details {
                partition: "2025-12-23".into(),
                file_name: "run_0002.json".into(),
                path: long.replace('\n', " "),
                artifact: None,
                error: Some(long.replace('\n', " ")),
                verify: "invalid".into(),
                verify_detail: None,
                children: Vec::new(),
                children_total: 0,
            }),
        });
        let max = super::super::view::details_max_scroll(&app, app.details.as_ref().unwrap());
        assert!(max > 20, "{max}");
        let scroll = |app: &App| app.details.as_ref().unwrap().scroll;
        for (k, expect) in [
            (code(KeyCode::End), max),
            (code(KeyCode::Home), 0),
            (key('G'), max),
            (key('g'), 0),
            (ctrl('d'), 0),
            (ctrl('u'), 0),
        ] {
            let cmds = app.update(k.clone());
            assert!(cmds.is_empty(), "{k:?}: {cmds:?}");
            assert_eq!(app.list.selected, 2, "{k:?} did not move the list");
            if expect != 0
                || matches!(
                    k,
                    Msg::Key(KeyEvent {
                        code: KeyCode::Home | KeyCode::Char('g'),
                        ..
                    })
                )
            {
                assert_eq!(scroll(&app), expect, "{k:?}");
            }
        }
        app.update(ctrl('d'));
        assert!(scroll(&app) > 0, "Ctrl-d scrolled");
        let before = scroll(&app);
        app.update(ctrl('u'));
        assert!(scroll(&app) < before, "Ctrl-u scrolled back");
        app.update(key('J'));
        assert_eq!(app.list.selected, 3);
        assert_eq!(app.details.as_ref().unwrap().run_id, "run_0003");
    }

    #[test]
    fn the_new_badge_clears_on_g_and_on_opening_the_new_run() {
        let mut app = app_with(5, false);
        app.update(key('j')); // follow off
        let mut page = vec![newer_row("run_new", 5_000)];
        page.extend(rows(0..5));
        app.update(Msg::ReconcileDone {
            changed: true,
            invalid_total: 0,
            unreadable: Vec::new(),
        });
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Around(row(1).key()),
                rows: page.clone(),
                more_before: false,
                more_after: false,
            },
        });
        app.update(Msg::Newer { count: 1 });
        assert_eq!(app.new_runs, 1);
        app.update(key('g'));
        assert_eq!(app.selected_row().unwrap().run_id, "run_new");
        assert_eq!(app.new_runs, 0, "g shows the newest run");

        // Opening the new run (reached with k) clears it too.
        let mut app = app_with(5, false);
        app.update(key('j'));
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Around(row(1).key()),
                rows: page,
                more_before: false,
                more_after: false,
            },
        });
        app.update(Msg::Newer { count: 1 });
        app.update(key('k'));
        app.update(key('k'));
        app.update(code(KeyCode::Enter));
        assert_eq!(app.details.as_ref().unwrap().run_id, "run_new");
        assert_eq!(app.new_runs, 0);
    }

    #[test]
    fn keys_the_runs_view_does_not_know_say_which_ones_it_does() {
        let mut app = app_with(3, false);
        app.update(key('x'));
        let (text, is_err) = app.message.clone().expect("a hint");
        assert!(
            text.starts_with("x is not a runs-view key") && text.contains("? all keys"),
            "{text}"
        );
        assert!(!is_err);
        // The queue says it the same way.
        app.update(key('2'));
        app.update(key('x'));
        let (text, _) = app.message.clone().expect("a hint");
        assert!(text.starts_with("x is not a review-queue key"), "{text}");
        // 2 in the queue stays there quietly, as 1 does in the runs view.
        app.message = None;
        assert!(app.update(key('2')).is_empty());
        assert_eq!((app.view, app.message.clone()), (View::Queue, None));
        app.update(key('1'));
        assert!(app.update(key('1')).is_empty());
        assert_eq!((app.view, app.message.clone()), (View::Runs, None));
    }

    #[test]
    fn the_filter_bar_is_a_line_editor() {
        let mut app = app_with(3, false);
        app.update(key('f'));
        for c in "risk:red mode:saw".chars() {
            app.update(key(c));
        }
        // Alt-b is a word motion here, not Esc then b.
        app.update(Msg::Key(KeyEvent::new(
            KeyCode::Char('b'),
            KeyModifiers::ALT,
        )));
        assert!(app.input.is_some(), "still editing");
        app.update(ctrl('w'));
        assert_eq!(app.input.as_ref().unwrap().text(), "risk:red saw");
        app.update(code(KeyCode::Home));
        app.update(key('-'));
        assert_eq!(app.input.as_ref().unwrap().text(), "-risk:red saw");
        app.update(ctrl('k'));
        assert_eq!(app.input.as_ref().unwrap().text(), "-", "killed to the end");
        app.update(ctrl('u'));
        assert_eq!(app.input.as_ref().unwrap().text(), "");
        assert_eq!(app.filter_text, "");
    }

    /// Type the same keys into a text field: what it ends up holding.
    fn edit_script(app: &mut App) {
        let alt = |c| Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::ALT));
        for c in "risk:red mode:saw".chars() {
            app.update(key(c));
        }
        for m in [
            alt('b'),
            ctrl('w'),
            code(KeyCode::Home),
            key('-'),
            code(KeyCode::End),
            code(KeyCode::Backspace),
            code(KeyCode::Left),
            code(KeyCode::Delete),
            ctrl('a'),
            code(KeyCode::Right),
            code(KeyCode::Delete),
            alt('f'),
            key('Q'),
            ctrl('e'),
            key('!'),
        ] {
            app.update(m);
        }
    }

    #[test]
    fn the_filter_bar_the_queue_filter_and_the_note_are_one_line_editor() {
        const EXPECTED: &str = "-iskQ:red s!";
        let mut app = app_with(3, false);
        app.update(key('f'));
        edit_script(&mut app);
        assert_eq!(app.input.as_ref().unwrap().text(), EXPECTED, "filter bar");

        let mut app = app_with(3, false);
        app.update(key('2'));
        let a = super::super::queue::test_asset("adv_1");
        let hash = a.content_hash.clone();
        app.update(Msg::Queue {
            status: StatusFilter::Pending,
            assets: vec![a],
            counts: (1, 0, 0),
        });
        app.update(key('/'));
        edit_script(&mut app);
        let (edit, _) = app.queue.filter_input.as_ref().unwrap();
        assert_eq!(edit.text(), EXPECTED, "queue filter");
        app.update(code(KeyCode::Esc));

        app.update(Msg::Preview {
            asset_id: "adv_1".into(),
            data: Box::new(PreviewData {
                content_hash: hash,
                body: super::super::queue::PreviewBody::Text("t".into()),
                error: None,
                history: Vec::new(),
                signatures: Vec::new(),
            }),
        });
        app.update(key('r'));
        app.update(code(KeyCode::Enter));
        edit_script(&mut app);
        let Some(super::super::queue::Modal::Note { edit, .. }) = &app.queue.modal else {
            panic!("the note is open: {:?}", app.queue.modal)
        };
        assert_eq!(edit.text(), EXPECTED, "rejection note");
    }

    #[test]
    fn indexing_progress_shows_runs_as_soon_as_they_are_indexed() {
        let mut app = App::new("root".into());
        app.update(Msg::Resize {
            width: 80,
            height: 24,
        });
        app.init();
        app.update(Msg::Page {
            generation: 0,
            page: Page {
                anchor: Anchor::Top,
                rows: Vec::new(),
                more_before: false,
                more_after: false,
            },
        });
        let cmds = app.update(Msg::Reconcile(ReconcileProgress {
            partitions_done: 1,
            partitions_total: 900,
            files_parsed: 120,
            current: "2025-12-24".into(),
        }));
        assert!(
            cmds.iter().any(|c| matches!(
                c,
                Cmd::Query(QueryCmd::Page {
                    anchor: Anchor::Top,
                    ..
                })
            )),
            "the newest indexed runs are loaded now: {cmds:?}"
        );
        assert!(cmds
            .iter()
            .any(|c| matches!(c, Cmd::Query(QueryCmd::Count { .. }))));
    }

    #[test]
    fn enter_on_an_asset_opens_its_linked_run() {
        let mut app = app_with(3, false);
        app.update(key('2'));
        let mut a = super::super::queue::test_asset("adv_1");
        a.run_id = Some("run_0002".into());
        app.update(Msg::Queue {
            status: StatusFilter::Pending,
            assets: vec![a],
            counts: (1, 0, 0),
        });
        let cmds = app.update(code(KeyCode::Enter));
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::OpenRun {
                run_id: "run_0002".into()
            })]
        );
        let cmds = app.update(Msg::RunFound {
            run_id: "run_0002".into(),
            row: Ok(Some(Box::new(row(2)))),
        });
        assert_eq!(app.view, View::Runs);
        assert_eq!(app.details.as_ref().unwrap().run_id, "run_0002");
        assert_eq!(app.list.selected, 2);
        assert!(
            matches!(&cmds[..], [Cmd::Query(QueryCmd::LoadDetails { file_name, .. })] if file_name == "run_0002.json")
        );
    }

    #[test]
    fn an_event_filter_matching_nothing_names_the_events_there_are() {
        let mut app = app_with(3, false);
        app.update(key('f'));
        for c in "event:toolpath".chars() {
            app.update(key(c));
        }
        app.update(code(KeyCode::Enter));
        let g = app.generation;
        let cmds = app.update(Msg::Count {
            generation: g,
            count: 0,
        });
        assert_eq!(
            cmds,
            vec![Cmd::Query(QueryCmd::KnownEvents { generation: g })]
        );
        app.update(Msg::KnownEvents {
            generation: g,
            events: vec!["toolpaths".into(), "unknown".into()],
        });
        let (text, is_err) = app.message.clone().unwrap();
        assert_eq!(
            text,
            "no run has event toolpath: events in this store: toolpaths, unknown"
        );
        assert!(is_err);
    }
}
