//! The action tables: one per view, each driving that view's key handling, its rows in the
//! `?` help overlay and its "not a key here" hint, so help and hints can never drift from
//! what the keys do. The README's key tables are checked against them by a test.
//!
//! - [`RUNS`]: the run list (the details pane reuses its motion actions to scroll).
//! - [`QUEUE`]: the review queue's list (the full-screen preview reuses its motion actions).
//! - [`CONFIRM`], [`REASON`]: the queue's decision dialogs; [`HELP`]: scrolling the help.
//! - [`EDIT_KEYS`]: the editing keys of every text line (see [`super::line_edit`]).
//!
//! The key hints of status lines and titles live here too, checked against the tables.
//!
//! A new key goes into one of these tables; the view's `match` on the action is exhaustive,
//! so the compiler points at the handler to write.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask for in the run list (and, for motions, the details pane).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Down,
    Up,
    First,
    Last,
    HalfPageDown,
    HalfPageUp,
    PageDown,
    PageUp,
    OpenDetails,
    Close,
    /// Back to where a followed link was opened from (a run, the list, the queue).
    Back,
    NextRecord,
    PrevRecord,
    EditFilter,
    Search,
    NextMatch,
    PrevMatch,
    SavedFilters,
    CopyMenu,
    Pager,
    Editor,
    ToggleMark,
    MarkRange,
    /// A structural diff of two runs (the two marked, else the selected and the one before).
    Diff,
    CopyId,
    CopyJson,
    ToggleFollow,
    /// The timeline of the runs the filter matches.
    Timeline,
    /// Order the list by the next column (time, risk, score, tool).
    Sort,
    /// Reverse the order.
    SortReverse,
    ShowRuns,
    ShowQueue,
    ShowSessions,
    ShowSnapshots,
    SwitchView,
    Rescan,
    Help,
    Quit,
}

/// Everything a key can ask for in the timeline (`i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimelineAction {
    /// The bucket to the left (older); past the edge the span moves back.
    Older,
    /// The bucket to the right (newer); past the edge the span moves forward.
    Newer,
    /// Half a span older / newer.
    PageOlder,
    PageNewer,
    /// The span ending with the newest run.
    Newest,
    /// Finer buckets (week → day → hour).
    ZoomIn,
    /// Coarser buckets (hour → day → week).
    ZoomOut,
    /// Stack by risk level or by status.
    CycleStack,
    /// Filter the run list to the selected bucket's span.
    Apply,
    Close,
    ShowRuns,
    ShowQueue,
    ShowSessions,
    ShowSnapshots,
    SwitchView,
    Help,
    Quit,
}

/// Everything a key can ask for in the sessions (`3`) and snapshots (`4`) views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordsAction {
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
    /// Scroll the details.
    ScrollDown,
    ScrollUp,
    EditFilter,
    /// Esc: clear the filter.
    Cancel,
    /// The runs the record names, to open one.
    Links,
    CopyId,
    Reload,
    Back,
    ShowRuns,
    ShowQueue,
    ShowSessions,
    ShowSnapshots,
    SwitchView,
    Help,
    Quit,
}

/// Everything a key can ask for in the review queue's list (and, for motions, the
/// full-screen preview). Dialogs and the filter line take keys before this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueAction {
    Down,
    Up,
    First,
    Last,
    HalfPageDown,
    HalfPageUp,
    PageDown,
    PageUp,
    Approve,
    Reject,
    ToggleMark,
    ApproveMarked,
    RejectMarked,
    OpenRun,
    /// Back to where a followed link was opened from.
    Back,
    PreviewDown,
    PreviewUp,
    FullScreen,
    CycleStatus,
    EditFilter,
    /// Esc: leave full screen, else clear marks, else clear the filter.
    Cancel,
    CopyId,
    Reload,
    ShowRuns,
    ShowQueue,
    ShowSessions,
    ShowSnapshots,
    SwitchView,
    Help,
    Quit,
}

impl QueueAction {
    /// The action starts a review decision (refused when the data root is read-only).
    pub fn decides(self) -> bool {
        matches!(
            self,
            QueueAction::Approve
                | QueueAction::Reject
                | QueueAction::ApproveMarked
                | QueueAction::RejectMarked
        )
    }
}

/// A key: its code and the modifiers that must be held (Ctrl, Alt; Shift only for keys
/// that are not characters — a character's case already says whether Shift was held).
pub type Key = (KeyCode, KeyModifiers);

/// One row of an action table: the keys, the action, and the help row (`None` when an
/// earlier row of the same table names these keys too, as "j / k" covers both moves).
pub struct Binding<A: 'static> {
    pub keys: &'static [Key],
    pub action: A,
    pub help: Option<(&'static str, &'static str)>,
}

/// The action table of one view.
pub struct KeyTable<A: 'static> {
    /// The view as the "not a key here" hint names it.
    pub name: &'static str,
    /// The heading of its section in the help overlay.
    pub title: &'static str,
    pub bindings: &'static [Binding<A>],
    /// The actions the hint names, with how it names them, in order.
    pub hint: &'static [(A, &'static str)],
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

const fn ch(c: char) -> Key {
    (KeyCode::Char(c), NONE)
}
const fn ctrl(c: char) -> Key {
    (KeyCode::Char(c), CTRL)
}
const fn code(c: KeyCode) -> Key {
    (c, NONE)
}

const fn row<A>(
    keys: &'static [Key],
    action: A,
    label: &'static str,
    help: &'static str,
) -> Binding<A> {
    Binding {
        keys,
        action,
        help: Some((label, help)),
    }
}
const fn hidden<A>(keys: &'static [Key], action: A) -> Binding<A> {
    Binding {
        keys,
        action,
        help: None,
    }
}

/// The run list's action table (DESIGN.md §7).
pub static RUNS: KeyTable<Action> = KeyTable {
    name: "runs-view",
    title: "Keys",
    bindings: &[
        row(
            &[ch('j'), code(KeyCode::Down)],
            Action::Down,
            "j / ↓",
            "move down",
        ),
        row(
            &[ch('k'), code(KeyCode::Up)],
            Action::Up,
            "k / ↑",
            "move up",
        ),
        row(
            &[ch('g'), code(KeyCode::Home)],
            Action::First,
            "g / Home",
            "first (newest) run",
        ),
        row(
            &[ch('G'), code(KeyCode::End)],
            Action::Last,
            "G / End",
            "last (oldest) run",
        ),
        row(
            &[ctrl('d')],
            Action::HalfPageDown,
            "Ctrl-d",
            "half a page down",
        ),
        row(&[ctrl('u')], Action::HalfPageUp, "Ctrl-u", "half a page up"),
        row(
            &[code(KeyCode::PageDown)],
            Action::PageDown,
            "PgDn",
            "a page down",
        ),
        row(
            &[code(KeyCode::PageUp)],
            Action::PageUp,
            "PgUp",
            "a page up",
        ),
        row(
            &[code(KeyCode::Enter)],
            Action::OpenDetails,
            "Enter",
            "details, then its links",
        ),
        row(
            &[code(KeyCode::Esc)],
            Action::Close,
            "Esc",
            "close, cancel; never quits",
        ),
        row(
            &[code(KeyCode::Backspace), ctrl('o')],
            Action::Back,
            "Backspace",
            "go back (also Ctrl-o)",
        ),
        row(&[ch('J')], Action::NextRecord, "J", "next run (in details)"),
        row(
            &[ch('K')],
            Action::PrevRecord,
            "K",
            "previous run (in details)",
        ),
        row(
            &[ch('f')],
            Action::EditFilter,
            "f",
            "edit filter (↑/↓ history)",
        ),
        row(&[ch('/')], Action::Search, "/", "search: highlight matches"),
        row(
            &[ch('n')],
            Action::NextMatch,
            "n / N",
            "next / previous match",
        ),
        hidden(&[ch('N')], Action::PrevMatch),
        row(
            &[ch('@')],
            Action::SavedFilters,
            "@",
            "saved filters (pick one)",
        ),
        row(
            &[ch('y')],
            Action::CopyMenu,
            "y",
            "copy menu (id, path, hash…)",
        ),
        row(&[ch('p')], Action::Pager, "p", "the record in $PAGER"),
        row(
            &[ch('e')],
            Action::Editor,
            "e",
            "a read-only copy in $EDITOR",
        ),
        row(
            &[ch(' ')],
            Action::ToggleMark,
            "Space",
            "mark / unmark the run",
        ),
        row(
            &[ch('v')],
            Action::MarkRange,
            "v",
            "start / extend a marked range",
        ),
        row(
            &[ch('d')],
            Action::Diff,
            "d",
            "diff 2 marked (or this, older)",
        ),
        row(&[ch('c')], Action::CopyId, "c", "copy the run_id (OSC 52)"),
        row(&[ch('C')], Action::CopyJson, "C", "copy the record as JSON"),
        row(
            &[ch('F')],
            Action::ToggleFollow,
            "F",
            "follow the newest run",
        ),
        row(
            &[ch('o')],
            Action::Sort,
            "o / O",
            "sort by column / reverse",
        ),
        hidden(&[ch('O')], Action::SortReverse),
        row(&[ch('i')], Action::Timeline, "i", "timeline of the list"),
        row(&[ch('1')], Action::ShowRuns, "1", "runs view"),
        row(&[ch('2')], Action::ShowQueue, "2", "review queue"),
        row(&[ch('3')], Action::ShowSessions, "3", "workflow sessions"),
        row(&[ch('4')], Action::ShowSnapshots, "4", "design snapshots"),
        row(
            &[code(KeyCode::Tab)],
            Action::SwitchView,
            "Tab",
            "next view",
        ),
        row(
            &[ctrl('r')],
            Action::Rescan,
            "Ctrl-r",
            "rescan every file now",
        ),
        row(&[ch('?')], Action::Help, "?", "this help"),
        row(&[ch('q'), ctrl('c')], Action::Quit, "q / Ctrl-c", "quit"),
    ],
    hint: &[
        (Action::Down, "j/k move"),
        (Action::OpenDetails, "Enter details"),
        (Action::EditFilter, "f filter"),
        (Action::CopyId, "c copy"),
        (Action::ShowQueue, "2 queue"),
        (Action::Help, "? all keys"),
    ],
};

/// The review queue's action table. Its view switches, help and quit are the runs view's
/// keys (listed there in the help overlay).
pub static QUEUE: KeyTable<QueueAction> = KeyTable {
    name: "review-queue",
    title: "Review queue (2)",
    bindings: &[
        row(
            &[ch('j'), code(KeyCode::Down)],
            QueueAction::Down,
            "j / k",
            "move",
        ),
        hidden(&[ch('k'), code(KeyCode::Up)], QueueAction::Up),
        hidden(&[ch('g'), code(KeyCode::Home)], QueueAction::First),
        hidden(&[ch('G'), code(KeyCode::End)], QueueAction::Last),
        hidden(&[ctrl('d')], QueueAction::HalfPageDown),
        hidden(&[ctrl('u')], QueueAction::HalfPageUp),
        hidden(&[code(KeyCode::PageDown)], QueueAction::PageDown),
        hidden(&[code(KeyCode::PageUp)], QueueAction::PageUp),
        row(
            &[ch('a')],
            QueueAction::Approve,
            "a",
            "approve (confirm with y)",
        ),
        row(
            &[ch('r')],
            QueueAction::Reject,
            "r",
            "reject (reason, note, y)",
        ),
        row(
            &[ch(' ')],
            QueueAction::ToggleMark,
            "Space",
            "mark / unmark",
        ),
        row(
            &[ch('A')],
            QueueAction::ApproveMarked,
            "A / X",
            "approve / reject marked",
        ),
        hidden(&[ch('X')], QueueAction::RejectMarked),
        row(
            &[code(KeyCode::Enter)],
            QueueAction::OpenRun,
            "Enter",
            "open the linked run",
        ),
        row(
            &[code(KeyCode::Backspace), ctrl('o')],
            QueueAction::Back,
            "Backspace",
            "go back (also Ctrl-o)",
        ),
        row(
            &[ch('J')],
            QueueAction::PreviewDown,
            "J / K",
            "scroll the preview",
        ),
        hidden(&[ch('K')], QueueAction::PreviewUp),
        row(
            &[ch('z')],
            QueueAction::FullScreen,
            "z",
            "full-screen preview",
        ),
        row(
            &[ch('s')],
            QueueAction::CycleStatus,
            "s",
            "cycle the status shown",
        ),
        row(
            &[ch('f'), ch('/')],
            QueueAction::EditFilter,
            "f or /",
            "filter: type:image -word",
        ),
        row(
            &[code(KeyCode::Esc)],
            QueueAction::Cancel,
            "Esc",
            "cancel, unmark, unfilter",
        ),
        row(&[ch('c')], QueueAction::CopyId, "c", "copy the asset id"),
        hidden(&[ctrl('r')], QueueAction::Reload),
        hidden(&[ch('1')], QueueAction::ShowRuns),
        hidden(&[ch('2')], QueueAction::ShowQueue),
        hidden(&[ch('3')], QueueAction::ShowSessions),
        hidden(&[ch('4')], QueueAction::ShowSnapshots),
        hidden(&[code(KeyCode::Tab)], QueueAction::SwitchView),
        hidden(&[ch('?')], QueueAction::Help),
        hidden(&[ch('q'), ctrl('c')], QueueAction::Quit),
    ],
    hint: &[
        (QueueAction::Approve, "a approve"),
        (QueueAction::Reject, "r reject"),
        (QueueAction::ToggleMark, "Space mark"),
        (QueueAction::EditFilter, "f filter"),
        (QueueAction::OpenRun, "Enter run"),
        (QueueAction::FullScreen, "z full screen"),
        (QueueAction::Help, "? all keys"),
    ],
};

/// The timeline's action table (`i` in the run list).
pub static TIMELINE: KeyTable<TimelineAction> = KeyTable {
    name: "timeline",
    title: "Timeline (i)",
    bindings: &[
        row(
            &[ch('h'), code(KeyCode::Left)],
            TimelineAction::Older,
            "h / l, ← / →",
            "older / newer bucket",
        ),
        hidden(&[ch('l'), code(KeyCode::Right)], TimelineAction::Newer),
        row(
            &[code(KeyCode::PageUp), ch('H')],
            TimelineAction::PageOlder,
            "PgUp / PgDn, H / L",
            "half a span older / newer",
        ),
        hidden(
            &[code(KeyCode::PageDown), ch('L')],
            TimelineAction::PageNewer,
        ),
        row(
            &[ch('G'), code(KeyCode::End)],
            TimelineAction::Newest,
            "G / End",
            "back to the newest run",
        ),
        row(
            &[ch('+'), ch('=')],
            TimelineAction::ZoomIn,
            "+ / -",
            "finer / coarser buckets",
        ),
        hidden(&[ch('-')], TimelineAction::ZoomOut),
        row(
            &[ch('s')],
            TimelineAction::CycleStack,
            "s",
            "stack by risk / by status",
        ),
        row(
            &[code(KeyCode::Enter)],
            TimelineAction::Apply,
            "Enter",
            "list the bucket's runs",
        ),
        row(
            &[code(KeyCode::Esc), ch('i')],
            TimelineAction::Close,
            "Esc / i",
            "back to the run list",
        ),
        hidden(&[ch('1')], TimelineAction::ShowRuns),
        hidden(&[ch('2')], TimelineAction::ShowQueue),
        hidden(&[ch('3')], TimelineAction::ShowSessions),
        hidden(&[ch('4')], TimelineAction::ShowSnapshots),
        hidden(&[code(KeyCode::Tab)], TimelineAction::SwitchView),
        hidden(&[ch('?')], TimelineAction::Help),
        hidden(&[ch('q'), ctrl('c')], TimelineAction::Quit),
    ],
    hint: &[
        (TimelineAction::Older, "h/l bucket"),
        (TimelineAction::ZoomIn, "+/- zoom"),
        (TimelineAction::CycleStack, "s stack"),
        (TimelineAction::Apply, "Enter list"),
        (TimelineAction::Close, "Esc back"),
        (TimelineAction::Help, "? all keys"),
    ],
};

/// The sessions (`3`) and snapshots (`4`) views' action table.
pub static RECORDS: KeyTable<RecordsAction> = KeyTable {
    name: "sessions/snapshots",
    title: "Sessions (3) and snapshots (4)",
    bindings: &[
        row(
            &[ch('j'), code(KeyCode::Down)],
            RecordsAction::Down,
            "j / k",
            "move",
        ),
        hidden(&[ch('k'), code(KeyCode::Up)], RecordsAction::Up),
        hidden(
            &[code(KeyCode::PageDown), ctrl('d')],
            RecordsAction::PageDown,
        ),
        hidden(&[code(KeyCode::PageUp), ctrl('u')], RecordsAction::PageUp),
        row(
            &[ch('g'), code(KeyCode::Home)],
            RecordsAction::First,
            "g / G",
            "first / last",
        ),
        hidden(&[ch('G'), code(KeyCode::End)], RecordsAction::Last),
        row(
            &[ch('J')],
            RecordsAction::ScrollDown,
            "J / K",
            "scroll the details",
        ),
        hidden(&[ch('K')], RecordsAction::ScrollUp),
        row(
            &[code(KeyCode::Enter)],
            RecordsAction::Links,
            "Enter",
            "its runs: open one",
        ),
        row(
            &[ch('f'), ch('/')],
            RecordsAction::EditFilter,
            "f / /",
            "filter (words)",
        ),
        row(
            &[code(KeyCode::Esc)],
            RecordsAction::Cancel,
            "Esc",
            "clear the filter",
        ),
        row(&[ch('c')], RecordsAction::CopyId, "c", "copy the id"),
        row(&[ctrl('r')], RecordsAction::Reload, "Ctrl-r", "read again"),
        hidden(&[code(KeyCode::Backspace), ctrl('o')], RecordsAction::Back),
        hidden(&[ch('1')], RecordsAction::ShowRuns),
        hidden(&[ch('2')], RecordsAction::ShowQueue),
        hidden(&[ch('3')], RecordsAction::ShowSessions),
        hidden(&[ch('4')], RecordsAction::ShowSnapshots),
        hidden(&[code(KeyCode::Tab)], RecordsAction::SwitchView),
        hidden(&[ch('?')], RecordsAction::Help),
        hidden(&[ch('q'), ctrl('c')], RecordsAction::Quit),
    ],
    hint: &[
        (RecordsAction::Down, "j/k move"),
        (RecordsAction::Links, "Enter runs"),
        (RecordsAction::EditFilter, "f filter"),
        (RecordsAction::ShowRuns, "1 runs"),
        (RecordsAction::Help, "? all keys"),
    ],
};

/// The sessions and snapshots views' status line.
pub const RECORDS_STATUS: &str =
    "j/k move · J/K scroll · Enter its runs · f filter · c copy id · 1 runs · 2 queue · 3 sessions · 4 snapshots · ? help · q quit";

/// The timeline's status line.
pub const TIMELINE_STATUS: &str =
    "h/l bucket · H/L half a span · G newest · +/- zoom · s stack · Enter list its runs · Esc back · ? help";

/// What a key does in the review queue's dialogs (the rejection note is a text line:
/// Enter and Esc only, the rest edits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DialogAction {
    /// Confirmation: write the decision. Reason: take the highlighted reason.
    Accept,
    /// Nothing is written (in the reason list, Esc cancels the decision).
    Cancel,
    Down,
    Up,
    PageDown,
    PageUp,
    First,
    Last,
}

/// The confirmation dialog: `y` is the only key that writes a decision.
pub static CONFIRM: KeyTable<DialogAction> = KeyTable {
    name: "confirmation",
    title: "Confirm a decision",
    bindings: &[
        row(
            &[ch('y'), ch('Y')],
            DialogAction::Accept,
            "y",
            "write the decision",
        ),
        row(
            &[ch('n'), ch('N'), code(KeyCode::Esc)],
            DialogAction::Cancel,
            "n / Esc",
            "cancel",
        ),
        hidden(&[ch('j'), code(KeyCode::Down)], DialogAction::Down),
        hidden(&[ch('k'), code(KeyCode::Up)], DialogAction::Up),
        hidden(&[code(KeyCode::PageDown)], DialogAction::PageDown),
        hidden(&[code(KeyCode::PageUp)], DialogAction::PageUp),
        hidden(&[ch('g'), code(KeyCode::Home)], DialogAction::First),
        hidden(&[ch('G'), code(KeyCode::End)], DialogAction::Last),
    ],
    hint: &[],
};

/// The rejection reason list.
pub static REASON: KeyTable<DialogAction> = KeyTable {
    name: "reason",
    title: "Rejection reason",
    bindings: &[
        row(
            &[code(KeyCode::Enter)],
            DialogAction::Accept,
            "Enter",
            "next",
        ),
        row(&[code(KeyCode::Esc)], DialogAction::Cancel, "Esc", "cancel"),
        row(
            &[ch('j'), code(KeyCode::Down)],
            DialogAction::Down,
            "j / k",
            "choose",
        ),
        hidden(&[ch('k'), code(KeyCode::Up)], DialogAction::Up),
        row(
            &[ch('g'), code(KeyCode::Home)],
            DialogAction::First,
            "g / G",
            "first / last",
        ),
        hidden(&[ch('G'), code(KeyCode::End)], DialogAction::Last),
    ],
    hint: &[],
};

/// What the copy menu (`y`) can copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyAction {
    Id,
    Path,
    Hash,
    Reason,
    Json,
    Command,
    Marked,
    Cancel,
}

/// The copy menu: one key per thing to copy; the menu lists these rows.
pub static COPY: KeyTable<CopyAction> = KeyTable {
    name: "copy-menu",
    title: "Copy",
    bindings: &[
        row(&[ch('y'), ch('i')], CopyAction::Id, "y / i", "run_id"),
        row(&[ch('p')], CopyAction::Path, "p", "file path"),
        row(&[ch('h')], CopyAction::Hash, "h", "feasibility hash"),
        row(&[ch('b')], CopyAction::Reason, "b", "block reason"),
        row(&[ch('j')], CopyAction::Json, "j", "record as JSON"),
        row(&[ch('f')], CopyAction::Command, "f", "filter as a command"),
        row(&[ch('m')], CopyAction::Marked, "m", "marked run_ids"),
        row(&[code(KeyCode::Esc)], CopyAction::Cancel, "Esc", "close"),
    ],
    hint: &[],
};

/// The links menu (`Enter` in the details): the run's parent, plan, children and advisories.
pub static LINKS: KeyTable<DialogAction> = KeyTable {
    name: "links",
    title: "Links (Enter in the details)",
    bindings: &[
        row(
            &[code(KeyCode::Enter)],
            DialogAction::Accept,
            "Enter",
            "open the run or asset",
        ),
        row(&[code(KeyCode::Esc)], DialogAction::Cancel, "Esc", "close"),
        row(
            &[ch('j'), code(KeyCode::Down)],
            DialogAction::Down,
            "j / k",
            "choose",
        ),
        hidden(&[ch('k'), code(KeyCode::Up)], DialogAction::Up),
        row(
            &[ch('g'), code(KeyCode::Home)],
            DialogAction::First,
            "g / G",
            "first / last",
        ),
        hidden(&[ch('G'), code(KeyCode::End)], DialogAction::Last),
        hidden(&[code(KeyCode::PageDown)], DialogAction::PageDown),
        hidden(&[code(KeyCode::PageUp)], DialogAction::PageUp),
    ],
    hint: &[],
};

/// The links menu's key line.
pub const LINKS_KEYS: &str = " j/k choose · Enter open · Esc close ";

/// The saved-filter picker (`@`).
pub static PICKER: KeyTable<DialogAction> = KeyTable {
    name: "saved-filters",
    title: "Saved filters",
    bindings: &[
        row(
            &[code(KeyCode::Enter)],
            DialogAction::Accept,
            "Enter",
            "apply",
        ),
        row(&[code(KeyCode::Esc)], DialogAction::Cancel, "Esc", "close"),
        row(
            &[ch('j'), code(KeyCode::Down)],
            DialogAction::Down,
            "j / k",
            "choose",
        ),
        hidden(&[ch('k'), code(KeyCode::Up)], DialogAction::Up),
        row(
            &[ch('g'), code(KeyCode::Home)],
            DialogAction::First,
            "g / G",
            "first / last",
        ),
        hidden(&[ch('G'), code(KeyCode::End)], DialogAction::Last),
        hidden(&[code(KeyCode::PageDown)], DialogAction::PageDown),
        hidden(&[code(KeyCode::PageUp)], DialogAction::PageUp),
    ],
    hint: &[],
};

/// The picker's key line.
pub const PICKER_KEYS: &str = " j/k choose · Enter apply · Esc close ";

/// The help overlay when it is taller than the terminal: these keys scroll it, any other
/// key closes it (and q / Ctrl-c still quit).
pub static HELP: KeyTable<DialogAction> = KeyTable {
    name: "help",
    title: "Help",
    bindings: &[
        row(
            &[ch('j'), code(KeyCode::Down)],
            DialogAction::Down,
            "j / k",
            "scroll",
        ),
        hidden(&[ch('k'), code(KeyCode::Up)], DialogAction::Up),
        row(
            &[code(KeyCode::PageDown), ch(' ')],
            DialogAction::PageDown,
            "PgDn / PgUp",
            "a page",
        ),
        hidden(&[code(KeyCode::PageUp)], DialogAction::PageUp),
    ],
    hint: &[],
};

/// The help overlay's bottom line when it scrolls.
pub const HELP_SCROLL: &str = " j/k PgDn/PgUp scroll · any other key closes ";

/// The reason list's key line.
pub const REASON_KEYS: &str = "j/k choose · g/G first/last · Enter next · Esc cancel";
/// The confirmation's scroll hint (a batch longer than the dialog).
pub const CONFIRM_SCROLL: &str = " · j/k scroll";

/// The key hints of the status lines and the details pane's title. Each names keys of
/// [`RUNS`] or [`QUEUE`] (a test checks that every key named is bound there).
pub const RUNS_STATUS_WIDE: &str =
    "j/k move · Enter details · f filter · / search · y copy · Space mark · p pager · F follow · ? help · q quit";
pub const RUNS_STATUS: &str =
    "j/k move · Enter details · f filter · / search · y copy · ? help · q quit";
pub const DIFF_TITLE: &str = " Esc close · j/k g/G PgDn scroll ";
pub const DETAILS_TITLE: &str =
    " Esc close · Enter links · Backspace back · J/K run · j/k g/G PgDn scroll ";
pub const QUEUE_STATUS_WIDE: &str = "j/k move · a approve · r reject · Space mark · A/X decide marked · J/K scroll preview · z full screen · Enter run · s status · f filter · 1 runs · ? help · q quit";
pub const QUEUE_STATUS: &str =
    "j/k move · a approve · r reject · Space mark · z full screen · Enter run · ? help";
pub const FULLSCREEN_STATUS: &str =
    "full-screen preview: j/k PgDn/PgUp g/G scroll · a approve · r reject · Esc or z back";

/// Editing keys of every text line (filter bar, queue filter, rejection note), handled by
/// [`super::line_edit::LineEdit`].
pub static EDIT_KEYS: &[(&str, &str)] = &[
    ("← / →", "move the cursor"),
    ("Home / End", "start / end (also Ctrl-a / Ctrl-e)"),
    ("Alt-b / Alt-f", "word back / forward"),
    ("Ctrl-u / Ctrl-k", "delete to start / to end"),
    ("Ctrl-w", "delete the word before"),
    ("Backspace", "delete before (Delete: after)"),
];

/// The key as tables list it: Ctrl and Alt kept; Shift dropped from characters (terminals
/// differ in whether an upper-case letter or `?` carries it) and kept elsewhere.
fn normalize(key: &KeyEvent) -> Key {
    let mut mods =
        key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::SHIFT | KeyModifiers::ALT);
    if matches!(key.code, KeyCode::Char(_)) {
        mods.remove(KeyModifiers::SHIFT);
    }
    (key.code, mods)
}

impl<A: Copy + PartialEq> KeyTable<A> {
    /// The action bound to a key press, if any.
    pub fn action(&self, key: &KeyEvent) -> Option<A> {
        let k = normalize(key);
        self.bindings
            .iter()
            .find(|b| b.keys.contains(&k))
            .map(|b| b.action)
    }

    /// The help overlay's rows of this table: (keys, what they do).
    pub fn help_rows(&self) -> Vec<(&'static str, &'static str)> {
        self.bindings.iter().filter_map(|b| b.help).collect()
    }

    /// The status-line hint for a key this view does not bind ("x is not a runs-view
    /// key: j/k move · …"); `None` for keys not worth a hint (Ctrl chords, arrows, Esc).
    pub fn unknown_key_hint(&self, key: &KeyEvent) -> Option<String> {
        if !reports_unknown(key) {
            return None;
        }
        let hint: Vec<&str> = self.hint.iter().map(|(_, h)| *h).collect();
        Some(format!(
            "{} is not a {} key: {}",
            key_name(key),
            self.name,
            hint.join(" · ")
        ))
    }
}

/// Ctrl-c: quits from anywhere — every view, dialog and text line (where `q` is text).
pub fn quits_anywhere(key: &KeyEvent) -> bool {
    key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL)
}

/// The run list's action for a key press, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    RUNS.action(key)
}

/// The review queue's action for a key press, if any.
pub fn queue_action_for(key: &KeyEvent) -> Option<QueueAction> {
    QUEUE.action(key)
}

/// Unbound keys that get a "not a key here" hint (the same rule in every view).
fn reports_unknown(key: &KeyEvent) -> bool {
    !key.modifiers.contains(KeyModifiers::CONTROL)
        && matches!(
            key.code,
            KeyCode::Char(_)
                | KeyCode::Enter
                | KeyCode::Backspace
                | KeyCode::Delete
                | KeyCode::Insert
                | KeyCode::BackTab
                | KeyCode::F(_)
        )
}

/// A key as the hint names it.
fn key_name(key: &KeyEvent) -> String {
    match key.code {
        KeyCode::Char(' ') => "Space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::F(n) => format!("F{n}"),
        KeyCode::BackTab => "Shift-Tab".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashSet};

    /// The key names of a help label ("g / Home", "f or /", "Ctrl-u / Ctrl-k").
    fn label_keys(label: &str) -> Vec<String> {
        label
            .replace(" or ", " / ")
            .split(" / ")
            .flat_map(|k| k.split(", "))
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect()
    }

    /// A key as labels and the README name it.
    fn parse_key(name: &str) -> Key {
        try_parse_key(name).unwrap_or_else(|| panic!("not a key: {name}"))
    }

    fn try_parse_key(name: &str) -> Option<Key> {
        let single = |s: &str| {
            let mut cs = s.chars();
            match (cs.next(), cs.next()) {
                (Some(c), None) => Some(c),
                _ => None,
            }
        };
        if let Some(c) = name.strip_prefix("Ctrl-") {
            return single(c).map(ctrl);
        }
        let named = match name {
            "↓" => KeyCode::Down,
            "↑" => KeyCode::Up,
            "←" => KeyCode::Left,
            "→" => KeyCode::Right,
            "Home" => KeyCode::Home,
            "End" => KeyCode::End,
            "PgDn" => KeyCode::PageDown,
            "PgUp" => KeyCode::PageUp,
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" => KeyCode::Tab,
            "Backspace" => KeyCode::Backspace,
            "Space" => KeyCode::Char(' '),
            _ => KeyCode::Char(single(name)?),
        };
        Some(code(named))
    }

    /// The backticked keys in the first column of each key table in `section` (from its
    /// heading to the next heading), one set per table.
    fn readme_tables(section: &str) -> Vec<BTreeSet<String>> {
        let readme = include_str!("../../README.md");
        let start = readme.find(section).expect("section in README");
        let rest = &readme[start + section.len()..];
        let mut tables: Vec<BTreeSet<String>> = Vec::new();
        let mut in_table = false;
        for line in rest.lines().take_while(|l| !l.starts_with('#')) {
            if line.starts_with("|---") {
                continue;
            }
            let Some(cell) = line.strip_prefix("| ").and_then(|l| l.split(" |").next()) else {
                in_table = false;
                continue;
            };
            if cell == "key" {
                tables.push(BTreeSet::new());
                in_table = true;
                continue;
            }
            assert!(in_table, "a README key row outside a table: {line}");
            let keys = tables.last_mut().unwrap();
            for (i, part) in cell.split('`').enumerate() {
                if i % 2 == 1 {
                    keys.insert(part.to_owned());
                }
            }
        }
        tables
    }

    fn help_keys<A: Copy + PartialEq>(t: &KeyTable<A>) -> BTreeSet<String> {
        t.help_rows()
            .iter()
            .flat_map(|(l, _)| label_keys(l))
            .collect()
    }

    /// Every key a help row names does what the row says: it is bound to the row's action
    /// or to one of the unlisted rows after it ("j / k" names both moves).
    fn labels_are_bound<A: Copy + PartialEq + std::fmt::Debug>(t: &KeyTable<A>) {
        for (i, b) in t.bindings.iter().enumerate() {
            let Some((label, _)) = b.help else { continue };
            let group: Vec<A> = std::iter::once(b.action)
                .chain(
                    t.bindings[i + 1..]
                        .iter()
                        .take_while(|b| b.help.is_none())
                        .map(|b| b.action),
                )
                .collect();
            for name in label_keys(label) {
                let (c, m) = parse_key(&name);
                let bound = t.action(&KeyEvent::new(c, m));
                assert!(
                    bound.is_some_and(|a| group.contains(&a)),
                    "{}: {name} (row {label:?}) is bound to {bound:?}, not {group:?}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn readme_key_tables_name_the_keys_of_the_action_tables() {
        let console = readme_tables("## The console\n");
        assert_eq!(console.len(), 3, "runs (2 tables) and text-line tables");
        let runs: BTreeSet<String> = console[0].union(&console[1]).cloned().collect();
        assert_eq!(runs, help_keys(&RUNS), "README runs tables vs RUNS");
        let edit: BTreeSet<String> = EDIT_KEYS.iter().flat_map(|(l, _)| label_keys(l)).collect();
        assert_eq!(console[2], edit, "README text-line table vs EDIT_KEYS");
        let timeline = readme_tables("### Timeline");
        assert_eq!(timeline.len(), 1);
        assert_eq!(
            timeline[0],
            help_keys(&TIMELINE),
            "README timeline table vs TIMELINE"
        );
        let records = readme_tables("### Sessions");
        assert_eq!(records.len(), 1);
        assert_eq!(
            records[0],
            help_keys(&RECORDS),
            "README records table vs RECORDS"
        );
        let queue = readme_tables("### Review queue");
        assert_eq!(queue.len(), 1);
        assert_eq!(queue[0], help_keys(&QUEUE), "README queue table vs QUEUE");
    }

    #[test]
    fn help_rows_name_only_keys_that_do_what_they_say() {
        labels_are_bound(&RUNS);
        labels_are_bound(&QUEUE);
        labels_are_bound(&CONFIRM);
        labels_are_bound(&REASON);
        labels_are_bound(&HELP);
        labels_are_bound(&PICKER);
        labels_are_bound(&COPY);
        labels_are_bound(&TIMELINE);
        labels_are_bound(&RECORDS);
        labels_are_bound(&LINKS);
    }

    #[test]
    fn every_bound_key_finds_its_own_action() {
        fn check<A: Copy + PartialEq + std::fmt::Debug>(t: &KeyTable<A>) {
            for b in t.bindings {
                for (c, m) in b.keys {
                    assert_eq!(t.action(&KeyEvent::new(*c, *m)), Some(b.action));
                }
            }
        }
        check(&RUNS);
        check(&QUEUE);
        check(&CONFIRM);
        check(&REASON);
        check(&HELP);
        check(&PICKER);
        check(&COPY);
        check(&TIMELINE);
        check(&RECORDS);
        check(&LINKS);
        // Terminals that report Shift with an upper-case letter or `?` get the same action.
        let shifted = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::SHIFT);
        assert_eq!(action_for(&shifted('G')), Some(Action::Last));
        assert_eq!(action_for(&shifted('?')), Some(Action::Help));
        assert_eq!(
            queue_action_for(&shifted('X')),
            Some(QueueAction::RejectMarked)
        );
        // Alt is never dropped (Esc-then-key is decoded before the tables are asked).
        let alt = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::ALT);
        assert_eq!(action_for(&alt), None);
    }

    #[test]
    fn no_action_or_key_is_listed_twice_in_a_table() {
        fn check<A: Copy + PartialEq + Eq + std::hash::Hash + std::fmt::Debug>(t: &KeyTable<A>) {
            let mut actions = HashSet::new();
            let mut keys = HashSet::new();
            for b in t.bindings {
                assert!(actions.insert(b.action), "{}: {:?} twice", t.name, b.action);
                for k in b.keys {
                    assert!(keys.insert(*k), "{}: {k:?} bound twice", t.name);
                }
            }
        }
        check(&RUNS);
        check(&QUEUE);
        check(&CONFIRM);
        check(&REASON);
        check(&HELP);
        check(&PICKER);
        check(&COPY);
        check(&TIMELINE);
        check(&RECORDS);
        check(&LINKS);
    }

    #[test]
    fn hints_name_keys_bound_to_what_they_say() {
        fn check<A: Copy + PartialEq + std::fmt::Debug>(t: &KeyTable<A>) {
            for (action, text) in t.hint {
                let first = text.split([' ', '/']).next().unwrap();
                let (c, m) = parse_key(first);
                assert_eq!(
                    t.action(&KeyEvent::new(c, m)),
                    Some(*action),
                    "{}: hint {text:?}",
                    t.name
                );
            }
            assert!(t.hint.last().is_some_and(|(_, h)| *h == "? all keys"));
        }
        check(&RUNS);
        check(&QUEUE);
        check(&TIMELINE);
        check(&RECORDS);
    }

    #[test]
    fn every_editing_key_the_help_names_is_the_line_editors() {
        use super::super::line_edit::{Edit, LineEdit};
        for (label, _) in EDIT_KEYS {
            for name in label_keys(label) {
                let (c, m) = match name.as_str() {
                    "←" => code(KeyCode::Left),
                    "→" => code(KeyCode::Right),
                    "Backspace" => code(KeyCode::Backspace),
                    n => match n.strip_prefix("Alt-") {
                        Some(c) => (KeyCode::Char(c.chars().next().unwrap()), KeyModifiers::ALT),
                        None => parse_key(n),
                    },
                };
                let mut line = LineEdit::new("one two", 50);
                line.handle(&KeyEvent::from(KeyCode::Left));
                assert_ne!(
                    line.handle(&KeyEvent::new(c, m)),
                    Edit::NotMine,
                    "{name} (row {label:?})"
                );
            }
        }
    }

    /// The keys a hint line names: in each " · " part, the leading words that are keys
    /// ("j/k", "Esc or z", "PgDn/PgUp"), after an optional "what: " prefix.
    fn hinted_keys(line: &str) -> Vec<String> {
        let mut keys = Vec::new();
        for part in line.split(" · ") {
            let part = part.rsplit(": ").next().unwrap().trim();
            for word in part.split(' ') {
                if word == "or" {
                    continue;
                }
                let names: Vec<&str> = if word == "/" {
                    vec!["/"]
                } else {
                    word.split('/').collect()
                };
                if !names
                    .iter()
                    .all(|n| std::panic::catch_unwind(|| parse_key(n)).is_ok())
                {
                    break;
                }
                keys.extend(names.iter().map(|n| n.to_string()));
            }
        }
        keys
    }

    #[test]
    fn status_hints_name_only_keys_bound_in_their_view() {
        fn check<A: Copy + PartialEq>(t: &KeyTable<A>, line: &str, at_least: usize) {
            let keys = hinted_keys(line);
            assert!(keys.len() >= at_least, "{line:?} names {keys:?}");
            for k in keys {
                let (c, m) = parse_key(&k);
                assert!(
                    t.action(&KeyEvent::new(c, m)).is_some(),
                    "{line:?} names {k}, which is not a {} key",
                    t.name
                );
            }
        }
        check(&RUNS, RUNS_STATUS_WIDE, 9);
        check(&RUNS, RUNS_STATUS, 7);
        check(&RUNS, DETAILS_TITLE, 6);
        check(&RUNS, DIFF_TITLE, 6);
        check(&TIMELINE, TIMELINE_STATUS, 9);
        check(&RECORDS, RECORDS_STATUS, 12);
        check(&QUEUE, QUEUE_STATUS_WIDE, 15);
        check(&QUEUE, QUEUE_STATUS, 8);
        check(&QUEUE, FULLSCREEN_STATUS, 10);
        check(&REASON, REASON_KEYS, 6);
        check(&CONFIRM, CONFIRM_SCROLL, 2);
        check(&HELP, HELP_SCROLL, 4);
        // The checker itself: a key no view binds is caught.
        assert_eq!(hinted_keys("x frob · Esc or z back"), ["x", "Esc", "z"]);
        assert!(RUNS.action(&KeyEvent::from(KeyCode::Char('x'))).is_none());
    }

    #[test]
    fn both_views_word_the_unknown_key_hint_the_same_way() {
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(
            RUNS.unknown_key_hint(&x).unwrap(),
            "x is not a runs-view key: j/k move · Enter details · f filter · c copy · 2 queue · ? all keys"
        );
        assert_eq!(
            QUEUE.unknown_key_hint(&x).unwrap(),
            "x is not a review-queue key: a approve · r reject · Space mark · f filter · Enter run · z full screen · ? all keys"
        );
        let ctrl_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL);
        assert_eq!(RUNS.unknown_key_hint(&ctrl_x), None);
        assert_eq!(QUEUE.unknown_key_hint(&KeyEvent::from(KeyCode::Left)), None);
    }
}
