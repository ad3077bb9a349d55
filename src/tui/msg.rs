//! The console's messages and commands: what [`super::app::App::update`] takes in
//! ([`Msg`]: keys, worker answers, watcher notices, clock ticks) and gives out ([`Cmd`]),
//! with the data they carry.

use super::queue::{PreviewData, QueueCmd, StatusFilter};
use crate::domain::RunArtifact;
use crate::filter::Filter;
use crate::store::advisory::AdvisoryAsset;
use crate::store::index::{Cursor, IndexedRun, ReconcileProgress, Sort};
use crossterm::event::{KeyEvent, MouseEvent};

/// Where a page goes in the window.
#[derive(Debug, Clone, PartialEq)]
pub enum Anchor {
    /// The newest rows (replaces the window).
    Top,
    /// The oldest rows (replaces the window).
    Bottom,
    /// Rows older than this key (appended).
    After(Cursor),
    /// Rows newer than this key (prepended).
    Before(Cursor),
    /// Rows around this key, keeping it selected (replaces the window).
    Around(Cursor),
}

/// A page of rows from the query worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub anchor: Anchor,
    pub rows: Vec<IndexedRun>,
    /// More rows exist newer than the first row (Top: false).
    pub more_before: bool,
    /// More rows exist older than the last row.
    pub more_after: bool,
}

/// What the details pane shows for one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Details {
    pub partition: String,
    pub file_name: String,
    pub path: String,
    pub artifact: Option<Box<RunArtifact>>,
    pub error: Option<String>,
    pub verify: String,
    pub verify_detail: Option<String>,
    /// Runs whose parent or plan is this run, newest first (at most [`CHILDREN_SHOWN`]).
    pub children: Vec<String>,
    /// How many such runs there are in all.
    pub children_total: u64,
}

/// How many of a run's children the details list (and the links menu offers).
pub const CHILDREN_SHOWN: usize = 20;

/// What of a run's file [`QueryCmd::LoadRecord`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordPart {
    /// The whole record (only a well-formed JSON document).
    Json,
    /// The file's path.
    Path,
    /// `hashes.feasibility_sha256` of a valid record.
    FeasibilityHash,
}

/// The program a record is handed to, the console suspended meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// `$PAGER` (default `less`).
    Pager,
    /// `$EDITOR` (default `vi`) on a read-only temporary copy.
    Editor,
}

/// Messages into [`App::update`].
#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    /// A click or the wheel (optional: every action has a key).
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    Page {
        generation: u64,
        page: Page,
    },
    /// Run_ids of the last page that are in more than one file (marked in the list).
    Duplicates {
        run_ids: Vec<String>,
    },
    QueryFailed {
        generation: u64,
        error: String,
    },
    Count {
        generation: u64,
        count: u64,
    },
    Newer {
        count: u64,
    },
    /// `before` rows of the filter of `generation` come before the row `first`.
    Position {
        generation: u64,
        first: Cursor,
        before: u64,
    },
    Details {
        partition: String,
        file_name: String,
        details: Box<Details>,
    },
    Record {
        label: String,
        text: Result<String, String>,
    },
    Copied {
        label: String,
        result: Result<String, String>,
    },
    Reconcile(ReconcileProgress),
    /// Another connection committed to a shared database: the run index (`runs`) and/or
    /// the review queue (`review`) changed.
    SharedChange {
        runs: bool,
        review: bool,
    },
    ReconcileDone {
        changed: bool,
        invalid_total: u64,
        /// Partitions the pass could not read, described (empty when all were read).
        unreadable: Vec<String>,
    },
    ReconcileFailed(String),
    /// The shared database cannot be reached (why), or can again (`None`): what is shown
    /// stays, and changes come in again by themselves once it can.
    SharedTrouble(Option<String>),
    /// Live watching changed: `None` when every partition is watched, else what is not.
    WatchStatus(Option<String>),
    /// Something the user should know, shown like any status message.
    Notice(String),
    /// Clock tick: milliseconds since start (expiring messages) and the wall clock in
    /// Unix seconds (asset ages), injected so update() reads no clock.
    Tick {
        now_ms: u64,
        epoch_secs: i64,
    },
    /// The review queue's assets and counts (pending, approved, rejected).
    Queue {
        status: StatusFilter,
        assets: Vec<AdvisoryAsset>,
        counts: (u64, u64, u64),
    },
    QueueFailed(String),
    Preview {
        asset_id: String,
        data: Box<PreviewData>,
    },
    /// Event types in the index, for the filter of `generation`.
    KnownEvents {
        generation: u64,
        events: Vec<String>,
    },
    /// Runs matching search `search` (within the filter).
    SearchCount {
        search: u64,
        count: u64,
    },
    /// The next (or previous) run matching search `search`, if any.
    MatchFound {
        search: u64,
        forward: bool,
        row: Result<Option<Box<IndexedRun>>, String>,
    },
    /// A record's text for [`Viewer`], escapes already neutralized.
    ViewerText {
        run_id: String,
        viewer: Viewer,
        text: Result<String, String>,
    },
    /// The pager or editor returned (`Err`: it could not run or failed).
    ViewerDone(Result<(), String>),
    /// The user's filter history (oldest first) and saved filters (by name), read from
    /// the config folder at start and again when the saved-filter picker opens.
    Prefs {
        history: Option<Vec<String>>,
        saved: Result<Vec<(String, String)>, String>,
    },
    /// Sessions or snapshots, with how many files could not be read.
    Records {
        kind: super::records::RecordKind,
        rows: Result<(Vec<super::records::RecordRow>, usize), String>,
    },
    /// The timeline's bins for request `seq`.
    Timeline {
        seq: u64,
        bins: Result<Vec<crate::store::index::TimelineBin>, String>,
    },
    /// Two runs compared for the diff pane (`Err`: one could not be loaded).
    Diff {
        a: String,
        b: String,
        changes: Result<Vec<crate::domain::diff::Change>, String>,
    },
    /// The run an asset links to, looked up in the index.
    RunFound {
        run_id: String,
        row: Result<Option<Box<IndexedRun>>, String>,
    },
    /// Results of written decisions: (asset_id, Ok(verb) or Err(reason)).
    Decided {
        outcomes: Vec<(String, Result<String, String>)>,
    },
}

/// The views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Runs,
    Queue,
    /// Runs over time (`i`).
    Timeline,
    /// Workflow sessions (`3`).
    Sessions,
    /// Design snapshots (`4`).
    Snapshots,
}

/// Commands out of [`App::update`], by who runs them: the console loop itself
/// ([`UiCmd`]), the query workers over the run index ([`QueryCmd`]) or the review-queue
/// worker ([`QueueCmd`]). Each runner matches its own kind exhaustively.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Ui(UiCmd),
    Query(QueryCmd),
    Queue(QueueCmd),
}

/// Commands the console loop runs on the terminal's thread.
#[derive(Debug, Clone, PartialEq)]
pub enum UiCmd {
    /// Put text on the clipboard (OSC 52 and the native one), between frames.
    Copy {
        text: String,
        label: String,
    },
    /// Ask the reconciler to rescan every file now.
    Rescan,
    /// Suspend the console and hand `text` (file name `name`) to the pager or editor.
    View {
        viewer: Viewer,
        name: String,
        text: String,
    },
    /// Add an applied filter to the persistent history (written off the terminal's thread).
    Remember(String),
    /// Read the saved filters again (answered with [`Msg::Prefs`]).
    LoadSavedFilters,
    Quit,
}

/// Reads of the run index and the run files, answered by the query workers.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryCmd {
    /// A page of the list for the filter of `generation`.
    Page {
        generation: u64,
        filter: Filter,
        sort: Sort,
        anchor: Anchor,
        limit: usize,
    },
    Count {
        generation: u64,
        filter: Filter,
    },
    CountNewer {
        filter: Filter,
        than: Cursor,
    },
    /// Count the runs matching a search (`filter` is the list's filter and the search).
    SearchCount {
        search: u64,
        filter: Filter,
    },
    /// The first run matching `filter` after (`forward`: older than) or before `from`.
    FindMatch {
        search: u64,
        filter: Filter,
        sort: Sort,
        from: Cursor,
        forward: bool,
    },
    /// A run's file as text for the pager or editor (any file, escapes neutralized).
    LoadForViewer {
        partition: String,
        file_name: String,
        run_id: String,
        viewer: Viewer,
    },
    /// How many rows come before `first` (the window's first row) in the list.
    Position {
        generation: u64,
        filter: Filter,
        sort: Sort,
        first: Cursor,
    },
    LoadDetails {
        partition: String,
        file_name: String,
    },
    /// The event types present in the index (to explain an `event:` filter matching
    /// nothing: the field is free text, so unknown values cannot be refused up front).
    KnownEvents {
        generation: u64,
    },
    /// Look a run up by id (an asset's linked run) to open its details.
    OpenRun {
        run_id: String,
    },
    /// Compare two runs by id (answered with [`Msg::Diff`]).
    Diff {
        a: String,
        b: String,
    },
    /// The timeline's bins for a span (answered with [`Msg::Timeline`]).
    Timeline(super::timeline::TimelineQuery),
    /// The sessions or snapshots (answered with [`Msg::Records`]).
    Records(super::records::RecordKind),
    /// Read part of a run's file to copy it (answered with [`Msg::Record`]).
    LoadRecord {
        partition: String,
        file_name: String,
        part: RecordPart,
        label: String,
    },
}

impl QueryCmd {
    /// The filter generation a list read belongs to (older ones are dropped unanswered).
    pub fn generation(&self) -> Option<u64> {
        match self {
            QueryCmd::Page { generation, .. }
            | QueryCmd::Count { generation, .. }
            | QueryCmd::Position { generation, .. } => Some(*generation),
            QueryCmd::CountNewer { .. }
            | QueryCmd::SearchCount { .. }
            | QueryCmd::FindMatch { .. }
            | QueryCmd::LoadForViewer { .. }
            | QueryCmd::LoadDetails { .. }
            | QueryCmd::KnownEvents { .. }
            | QueryCmd::OpenRun { .. }
            | QueryCmd::Diff { .. }
            | QueryCmd::Timeline(_)
            | QueryCmd::Records(_)
            | QueryCmd::LoadRecord { .. } => None,
        }
    }
}
