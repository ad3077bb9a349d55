//! The review queue view's state and key handling (pure, like [`super::app`]).
//!
//! A decision travels as a typed [`DecisionBatch`] through a confirmation modal: the only
//! way a [`QueueCmd::Decide`] is produced is by pressing `y` on that modal, so a test can
//! prove no decision is written without confirmation. Each decision carries the content
//! hash the reviewer was shown; actions are disabled while the preview is loading, failed
//! its hash check, or belongs to another version of the asset.

use super::keymap::{queue_action_for, DialogAction, QueueAction, CONFIRM, REASON};
use super::line_edit::{Edit, LineEdit};
use crate::store::advisory::{AdvisoryAsset, ReviewDecision, ReviewState, REJECTION_REASONS};
use crossterm::event::{KeyCode, KeyEvent};
use serde_json::Value;
use std::collections::BTreeSet;

/// Which assets the queue lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    Pending,
    Approved,
    Rejected,
    All,
}

impl StatusFilter {
    pub fn next(self) -> Self {
        match self {
            StatusFilter::Pending => StatusFilter::Approved,
            StatusFilter::Approved => StatusFilter::Rejected,
            StatusFilter::Rejected => StatusFilter::All,
            StatusFilter::All => StatusFilter::Pending,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StatusFilter::Pending => "pending",
            StatusFilter::Approved => "approved",
            StatusFilter::Rejected => "rejected",
            StatusFilter::All => "all",
        }
    }
}

/// What the preview pane shows.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewBody {
    Text(String),
    Json(Value),
    /// Downscaled RGB pixels, row-major (drawn with half blocks), and the picture at up
    /// to full resolution for terminals with a graphics protocol.
    Image {
        width: u32,
        height: u32,
        px_w: u32,
        px_h: u32,
        pixels: Vec<[u8; 3]>,
        full: Option<std::sync::Arc<image::DynamicImage>>,
    },
    Unavailable(String),
}

/// A loaded preview of one asset version.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewData {
    pub content_hash: String,
    pub body: PreviewBody,
    /// Set when the stored bytes no longer match the hash (actions disabled).
    pub error: Option<String>,
    pub history: Vec<ReviewDecision>,
    /// Each decision's signature as checked against `allowed_signers` (parallel to
    /// `history`; empty when the reviewer configuration cannot be read).
    pub signatures: Vec<crate::store::advisory::SignatureStatus>,
}

/// One asset of a decision, as the reviewer was shown it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionItem {
    pub asset_id: String,
    /// The content hash shown (the decision is refused if the content changed since).
    pub content_hash: String,
    pub asset_type: String,
    /// The decision in force, when the asset was already decided ("approved by X on …").
    pub current: Option<String>,
    /// The newest decision of the chain the reviewer was shown (`None`: none, pending): a
    /// decision someone else made since is refused, naming them, instead of overridden.
    pub seen_decision: Option<i64>,
}

impl DecisionItem {
    fn of(a: &AdvisoryAsset, content_hash: &str) -> DecisionItem {
        let current = match a.state {
            ReviewState::Pending => None,
            state => Some(format!(
                "currently {} by {} on {}",
                state.as_str(),
                a.reviewer_id.as_deref().unwrap_or("?"),
                a.reviewed_at
                    .as_deref()
                    .map(|t| t.get(..16).unwrap_or(t).replace('T', " "))
                    .unwrap_or_else(|| "?".into())
            )),
        };
        DecisionItem {
            seen_decision: a.decision_seq,
            asset_id: a.asset_id.clone(),
            content_hash: content_hash.to_owned(),
            asset_type: a.asset_type.as_str().to_owned(),
            current,
        }
    }

    /// The first 12 characters of the content hash.
    pub fn short_hash(&self) -> &str {
        crate::text::prefix(&self.content_hash, 12)
    }
}

/// Decisions to write, bound to the content each reviewer saw.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionBatch {
    pub items: Vec<DecisionItem>,
    pub approve: bool,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// Modal dialogs of the queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Modal {
    /// Press `y` to write, `n`/`Esc` to cancel; `j`/`k` scroll the list of assets.
    Confirm { batch: DecisionBatch, scroll: usize },
    /// Pick a rejection reason.
    Reason { batch: DecisionBatch, cursor: usize },
    /// Optional note, then confirm; `Esc` goes back to the reason (`cursor`).
    Note {
        batch: DecisionBatch,
        edit: LineEdit,
        cursor: usize,
    },
}

/// Longest rejection note.
pub const NOTE_MAX: usize = 500;
/// Longest queue filter.
pub const QUEUE_FILTER_MAX: usize = 200;

/// Commands of the queue (mapped onto the console's commands).
#[derive(Debug, Clone, PartialEq)]
pub enum QueueCmd {
    Load(StatusFilter),
    Preview(String),
    Decide(DecisionBatch),
}

/// The queue view's state.
#[derive(Debug, Clone)]
pub struct QueueState {
    pub status: StatusFilter,
    pub assets: Vec<AdvisoryAsset>,
    pub selected: usize,
    pub offset: usize,
    pub counts: (u64, u64, u64),
    pub marked: BTreeSet<String>,
    /// (asset_id, preview or None while loading)
    pub preview: Option<(String, Option<PreviewData>)>,
    pub modal: Option<Modal>,
    pub loaded: bool,
    /// A decision is being written.
    pub busy: bool,
    /// Everything the worker loaded for the status; `assets` is what the filter keeps.
    pub all: Vec<AdvisoryAsset>,
    /// The active filter text (see [`asset_matches`]).
    pub filter: String,
    /// The filter line while it is edited: (line, the filter to restore on Esc).
    pub filter_input: Option<(LineEdit, String)>,
    /// First line of the preview body shown (J/K scroll it).
    pub preview_scroll: u16,
    /// The preview fills the terminal (`z`).
    pub fullscreen: bool,
    /// After a decision: (decided asset, its row) to move on from when the list reloads.
    after_decision: Option<(String, usize)>,
    /// Select this asset when the list next arrives (a followed link, or going back).
    reselect: Option<String>,
}

/// Whether an asset matches a queue filter: whitespace-separated terms, all required;
/// `-` negates one. `type:image,suggestion` (any of, exact), `provider:`, `model:` and
/// `source:` (substring), `id:` and `run:` (prefix); any other word is a substring of the
/// id, type, source, MIME type, provider, model, run or prompt. Case-insensitive.
pub fn asset_matches(a: &AdvisoryAsset, filter: &str) -> bool {
    filter.split_whitespace().all(|term| {
        let (negated, term) = match term.strip_prefix('-') {
            Some(t) if !t.is_empty() => (true, t),
            _ => (false, term),
        };
        let term = term.to_lowercase();
        let opt = |v: &Option<String>| v.as_deref().unwrap_or("").to_lowercase();
        let hit = match term.split_once(':') {
            Some((key, values)) if !values.is_empty() => {
                let any = |field: String, how: fn(&str, &str) -> bool| {
                    values.split(',').any(|v| !v.is_empty() && how(&field, v))
                };
                let contains = |f: &str, v: &str| f.contains(v);
                let starts = |f: &str, v: &str| f.starts_with(v);
                let exact = |f: &str, v: &str| f == v;
                match key {
                    "type" => any(a.asset_type.as_str().to_lowercase(), exact),
                    "provider" => any(opt(&a.provider), contains),
                    "model" => any(opt(&a.model), contains),
                    "source" => any(a.source.to_lowercase(), contains),
                    // An asset id, or the content hash a run's advisory link names.
                    "id" => {
                        any(a.asset_id.to_lowercase(), starts)
                            || any(a.content_hash.to_lowercase(), starts)
                    }
                    "run" => any(opt(&a.run_id), starts),
                    _ => text_hit(a, &term),
                }
            }
            _ => text_hit(a, &term),
        };
        hit != negated
    })
}

fn text_hit(a: &AdvisoryAsset, word: &str) -> bool {
    [
        Some(a.asset_id.as_str()),
        Some(a.asset_type.as_str()),
        Some(a.source.as_str()),
        Some(a.mime.as_str()),
        a.provider.as_deref(),
        a.model.as_deref(),
        a.run_id.as_deref(),
        a.prompt.as_deref(),
    ]
    .into_iter()
    .flatten()
    .any(|f| f.to_lowercase().contains(word))
}

impl Default for QueueState {
    fn default() -> Self {
        QueueState {
            status: StatusFilter::Pending,
            assets: Vec::new(),
            selected: 0,
            offset: 0,
            counts: (0, 0, 0),
            marked: BTreeSet::new(),
            preview: None,
            modal: None,
            loaded: false,
            busy: false,
            all: Vec::new(),
            filter: String::new(),
            filter_input: None,
            preview_scroll: 0,
            fullscreen: false,
            after_decision: None,
            reselect: None,
        }
    }
}

/// The result of a key in the queue: commands and an optional status message.
pub struct KeyOutcome {
    pub cmds: Vec<QueueCmd>,
    pub message: Option<(String, bool)>,
    /// The key was not for the queue (global keys such as quit, help, view switches).
    pub unhandled: bool,
}

impl KeyOutcome {
    fn cmds(cmds: Vec<QueueCmd>) -> Self {
        KeyOutcome {
            cmds,
            message: None,
            unhandled: false,
        }
    }
    fn say(text: impl Into<String>, error: bool) -> Self {
        KeyOutcome {
            cmds: Vec::new(),
            message: Some((text.into(), error)),
            unhandled: false,
        }
    }
    fn none() -> Self {
        KeyOutcome::cmds(Vec::new())
    }
    fn unhandled() -> Self {
        KeyOutcome {
            cmds: Vec::new(),
            message: None,
            unhandled: true,
        }
    }
}

impl QueueState {
    pub fn selected_asset(&self) -> Option<&AdvisoryAsset> {
        self.assets.get(self.selected)
    }

    /// The preview of the selected asset, when loaded, intact and of the listed version.
    pub fn ready_preview(&self) -> Option<&PreviewData> {
        let a = self.selected_asset()?;
        match &self.preview {
            Some((id, Some(p)))
                if *id == a.asset_id && p.content_hash == a.content_hash && p.error.is_none() =>
            {
                Some(p)
            }
            _ => None,
        }
    }

    /// New list from the worker; keeps the selection on the same asset when it is still there.
    pub fn set_assets(
        &mut self,
        assets: Vec<AdvisoryAsset>,
        counts: (u64, u64, u64),
    ) -> Vec<QueueCmd> {
        self.all = assets;
        self.counts = counts;
        self.loaded = true;
        self.apply_filter()
    }

    /// Show `status` under `filter`, selecting `asset_id` when the list arrives: an
    /// advisory link followed from a run, or the queue as it was when going back.
    pub fn show(
        &mut self,
        status: StatusFilter,
        filter: String,
        asset_id: Option<String>,
    ) -> Vec<QueueCmd> {
        self.status = status;
        self.filter = filter;
        self.filter_input = None;
        self.modal = None;
        self.fullscreen = false;
        self.reselect = asset_id;
        vec![QueueCmd::Load(status)]
    }

    /// The filter being typed, or the active one.
    pub fn shown_filter(&self) -> String {
        match &self.filter_input {
            Some((edit, _)) => edit.text(),
            None => self.filter.clone(),
        }
    }

    /// Recompute `assets` from `all` and the filter; keeps the selection on the same asset
    /// when it is still shown, and marks only on shown assets (a batch decides what you see).
    fn apply_filter(&mut self) -> Vec<QueueCmd> {
        let keep = self
            .reselect
            .take()
            .or_else(|| self.selected_asset().map(|a| a.asset_id.clone()));
        let filter = self.shown_filter();
        self.assets = self
            .all
            .iter()
            .filter(|a| asset_matches(a, &filter))
            .cloned()
            .collect();
        // While a filter is typed its partial text may hide marked assets for a moment:
        // marks are pruned only against the filter that is kept.
        let keep_marks: Vec<&AdvisoryAsset> = if self.filter_input.is_some() {
            self.all.iter().collect()
        } else {
            self.assets.iter().collect()
        };
        self.marked
            .retain(|id| keep_marks.iter().any(|a| a.asset_id == *id));
        let after = self.after_decision.take();
        let kept = keep.and_then(|k| self.assets.iter().position(|a| a.asset_id == k));
        self.selected = match (after, kept) {
            // The decided asset is still listed ("all"): on to the next pending one.
            // (Wrapping to the top when none is below; staying when none is left.)
            (Some((id, _)), Some(pos)) if self.assets[pos].asset_id == id => {
                let pending = |i: &usize| self.assets[*i].state == ReviewState::Pending;
                (pos + 1..self.assets.len())
                    .find(pending)
                    .or_else(|| (0..pos).find(pending))
                    .unwrap_or(pos)
            }
            (_, Some(pos)) => pos,
            // It left the list (decided in "pending"): the row that took its place.
            (Some((_, row)), None) => row,
            (None, None) => 0,
        }
        .min(self.assets.len().saturating_sub(1));
        // The first visible row never lies below the selection (the list may have shrunk).
        self.offset = self.offset.min(self.selected);
        self.preview_cmd()
    }

    fn preview_cmd(&mut self) -> Vec<QueueCmd> {
        match self.selected_asset() {
            Some(a) => {
                let id = a.asset_id.clone();
                if self.preview.as_ref().is_some_and(|(p, d)| {
                    *p == id && d.as_ref().is_some_and(|d| d.content_hash == a.content_hash)
                }) {
                    return Vec::new();
                }
                self.preview_scroll = 0;
                self.preview = Some((id.clone(), None));
                vec![QueueCmd::Preview(id)]
            }
            None => {
                self.preview = None;
                Vec::new()
            }
        }
    }

    pub fn set_preview(&mut self, asset_id: String, data: PreviewData) {
        if let Some((id, slot)) = self.preview.as_mut() {
            if *id == asset_id {
                *slot = Some(data);
            }
        }
    }

    /// Select the `row`-th shown asset (a click); the preview follows.
    pub fn click(&mut self, row: usize, page: usize) -> Vec<QueueCmd> {
        if self.modal.is_some() || self.fullscreen || row >= self.assets.len() {
            return Vec::new();
        }
        self.move_to(row, page)
    }

    fn move_to(&mut self, i: usize, page: usize) -> Vec<QueueCmd> {
        if self.assets.is_empty() {
            return Vec::new();
        }
        self.selected = i.min(self.assets.len() - 1);
        self.keep_visible(page);
        self.preview_cmd()
    }

    /// Scroll the list so the selection is one of its `rows` visible rows.
    pub fn keep_visible(&mut self, rows: usize) {
        let h = rows.max(1);
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
    }

    fn single_batch(&self, approve: bool) -> Result<DecisionBatch, String> {
        if self.busy {
            return Err("a decision is still being written".into());
        }
        let Some(a) = self.selected_asset() else {
            return Err("nothing selected".into());
        };
        let Some(p) = self.ready_preview() else {
            return Err(match &self.preview {
                Some((_, Some(p))) if p.error.is_some() => format!(
                    "{} cannot be reviewed: its content no longer matches its hash",
                    a.asset_id
                ),
                _ => "wait for the preview: decisions are made on what you have seen".into(),
            });
        };
        Ok(DecisionBatch {
            items: vec![DecisionItem::of(a, &p.content_hash)],
            approve,
            reason: None,
            note: None,
        })
    }

    fn marked_batch(&self, approve: bool) -> Result<DecisionBatch, String> {
        if self.busy {
            return Err("a decision is still being written".into());
        }
        if self.marked.is_empty() {
            return Err("no assets marked (Space marks)".into());
        }
        let items = self
            .assets
            .iter()
            .filter(|a| self.marked.contains(&a.asset_id))
            .map(|a| DecisionItem::of(a, &a.content_hash))
            .collect();
        Ok(DecisionBatch {
            items,
            approve,
            reason: None,
            note: None,
        })
    }

    fn start(&mut self, batch: Result<DecisionBatch, String>) -> KeyOutcome {
        match batch {
            Ok(b) if b.approve => {
                self.modal = Some(Modal::Confirm {
                    batch: b,
                    scroll: 0,
                });
                KeyOutcome::none()
            }
            Ok(b) => {
                self.modal = Some(Modal::Reason {
                    batch: b,
                    cursor: 0,
                });
                KeyOutcome::none()
            }
            Err(e) => KeyOutcome::say(e, true),
        }
    }

    /// Keys while the filter line is edited: it applies as you type.
    fn on_filter_key(&mut self, key: KeyEvent) -> KeyOutcome {
        let Some((mut edit, previous)) = self.filter_input.take() else {
            return KeyOutcome::none();
        };
        match key.code {
            KeyCode::Enter => {
                self.filter = edit.text().trim().to_owned();
                return KeyOutcome::cmds(self.apply_filter());
            }
            KeyCode::Esc => {
                self.filter = previous;
                return KeyOutcome::cmds(self.apply_filter());
            }
            _ => {
                let changed = edit.handle(&key) == Edit::Changed;
                self.filter_input = Some((edit, previous));
                if !changed {
                    return KeyOutcome::none();
                }
            }
        }
        KeyOutcome::cmds(self.apply_filter())
    }

    /// Handle a key in the queue view. `page` is the visible list height.
    pub fn on_key(&mut self, key: KeyEvent, page: usize) -> KeyOutcome {
        if let Some(modal) = self.modal.take() {
            return self.on_modal_key(modal, key);
        }
        if self.filter_input.is_some() {
            return self.on_filter_key(key);
        }
        let Some(action) = queue_action_for(&key) else {
            return KeyOutcome::unhandled();
        };
        if self.fullscreen {
            // Full-screen preview: motion keys scroll it; Esc or z goes back.
            let step = page.max(2) as u16;
            let s = &mut self.preview_scroll;
            match action {
                QueueAction::Cancel | QueueAction::FullScreen => self.fullscreen = false,
                QueueAction::Down | QueueAction::PreviewDown => *s = s.saturating_add(1),
                QueueAction::Up | QueueAction::PreviewUp => *s = s.saturating_sub(1),
                QueueAction::PageDown => *s = s.saturating_add(step),
                QueueAction::PageUp => *s = s.saturating_sub(step),
                QueueAction::HalfPageDown => *s = s.saturating_add(step / 2),
                QueueAction::HalfPageUp => *s = s.saturating_sub(step / 2),
                QueueAction::First => *s = 0,
                QueueAction::Last => *s = u16::MAX,
                _ => return self.on_list_action(action, page),
            }
            return KeyOutcome::none();
        }
        self.on_list_action(action, page)
    }

    fn on_list_action(&mut self, action: QueueAction, page: usize) -> KeyOutcome {
        match action {
            QueueAction::EditFilter => {
                self.filter_input = Some((
                    LineEdit::new(&self.filter, QUEUE_FILTER_MAX),
                    self.filter.clone(),
                ));
                KeyOutcome::none()
            }
            QueueAction::PreviewDown => {
                self.preview_scroll = self.preview_scroll.saturating_add(1);
                KeyOutcome::none()
            }
            QueueAction::PreviewUp => {
                self.preview_scroll = self.preview_scroll.saturating_sub(1);
                KeyOutcome::none()
            }
            QueueAction::FullScreen => {
                self.fullscreen = true;
                KeyOutcome::none()
            }
            QueueAction::Down => KeyOutcome::cmds(self.move_to(self.selected + 1, page)),
            QueueAction::Up => {
                KeyOutcome::cmds(self.move_to(self.selected.saturating_sub(1), page))
            }
            QueueAction::First => KeyOutcome::cmds(self.move_to(0, page)),
            QueueAction::Last => KeyOutcome::cmds(self.move_to(usize::MAX, page)),
            QueueAction::PageDown => KeyOutcome::cmds(self.move_to(self.selected + page, page)),
            QueueAction::PageUp => {
                KeyOutcome::cmds(self.move_to(self.selected.saturating_sub(page), page))
            }
            QueueAction::HalfPageDown => {
                KeyOutcome::cmds(self.move_to(self.selected + page / 2, page))
            }
            QueueAction::HalfPageUp => {
                KeyOutcome::cmds(self.move_to(self.selected.saturating_sub(page / 2), page))
            }
            QueueAction::ToggleMark => {
                if let Some(a) = self.selected_asset() {
                    let id = a.asset_id.clone();
                    if !self.marked.remove(&id) {
                        self.marked.insert(id);
                    }
                }
                KeyOutcome::none()
            }
            QueueAction::Approve => {
                let b = self.single_batch(true);
                self.start(b)
            }
            QueueAction::Reject => {
                let b = self.single_batch(false);
                self.start(b)
            }
            QueueAction::ApproveMarked => {
                let b = self.marked_batch(true);
                self.start(b)
            }
            QueueAction::RejectMarked => {
                let b = self.marked_batch(false);
                self.start(b)
            }
            QueueAction::CycleStatus => {
                self.status = self.status.next();
                self.loaded = false;
                self.selected = 0;
                self.offset = 0;
                KeyOutcome {
                    cmds: vec![QueueCmd::Load(self.status)],
                    message: Some((format!("showing {} assets", self.status.as_str()), false)),
                    unhandled: false,
                }
            }
            QueueAction::Reload => KeyOutcome::cmds(vec![QueueCmd::Load(self.status)]),
            QueueAction::Cancel if self.marked.is_empty() && !self.filter.is_empty() => {
                self.filter.clear();
                KeyOutcome {
                    cmds: self.apply_filter(),
                    message: Some(("filter cleared".into(), false)),
                    unhandled: false,
                }
            }
            QueueAction::Cancel => {
                self.marked.clear();
                KeyOutcome::none()
            }
            // The console's own actions (view switches, help, quit, copy, the linked run)
            // are the caller's: they reach here only when it passes them on.
            QueueAction::OpenRun
            | QueueAction::Back
            | QueueAction::CopyId
            | QueueAction::ShowRuns
            | QueueAction::ShowQueue
            | QueueAction::ShowSessions
            | QueueAction::ShowSnapshots
            | QueueAction::SwitchView
            | QueueAction::Help
            | QueueAction::Quit => KeyOutcome::unhandled(),
        }
    }

    fn on_modal_key(&mut self, modal: Modal, key: KeyEvent) -> KeyOutcome {
        let cancelled = || KeyOutcome::say("cancelled: nothing was written", false);
        match modal {
            Modal::Confirm { batch, scroll } => {
                let last = batch.items.len().saturating_sub(1);
                let scroll = match CONFIRM.action(&key) {
                    Some(DialogAction::Accept) => {
                        self.busy = true;
                        // Where to go on from when the list reloads: the selected row,
                        // or past it when the selection itself was decided.
                        let selected = self.selected_asset().map(|a| a.asset_id.clone());
                        let decided = selected
                            .filter(|id| batch.items.iter().any(|i| i.asset_id == *id))
                            .unwrap_or_default();
                        self.after_decision = Some((decided, self.selected));
                        return KeyOutcome::cmds(vec![QueueCmd::Decide(batch)]);
                    }
                    Some(DialogAction::Cancel) => return cancelled(),
                    Some(DialogAction::Down) => (scroll + 1).min(last),
                    Some(DialogAction::Up) => scroll.saturating_sub(1),
                    Some(DialogAction::PageDown) => (scroll + 10).min(last),
                    Some(DialogAction::PageUp) => scroll.saturating_sub(10),
                    Some(DialogAction::First) => 0,
                    Some(DialogAction::Last) => last,
                    // Any other key does nothing: only y writes.
                    None => scroll,
                };
                self.modal = Some(Modal::Confirm { batch, scroll });
                KeyOutcome::none()
            }
            Modal::Reason { batch, cursor } => {
                let n = REJECTION_REASONS.len();
                let cursor = match REASON.action(&key) {
                    Some(DialogAction::Cancel) => return cancelled(),
                    Some(DialogAction::Down) => (cursor + 1) % n,
                    Some(DialogAction::Up) => (cursor + n - 1) % n,
                    Some(DialogAction::First) => 0,
                    Some(DialogAction::Last) => n - 1,
                    Some(DialogAction::Accept) => {
                        let mut batch = batch;
                        batch.reason = Some(REJECTION_REASONS[cursor].to_owned());
                        let edit = LineEdit::new(batch.note.as_deref().unwrap_or(""), NOTE_MAX);
                        self.modal = Some(Modal::Note {
                            batch,
                            edit,
                            cursor,
                        });
                        return KeyOutcome::none();
                    }
                    Some(DialogAction::PageDown | DialogAction::PageUp) | None => cursor,
                };
                self.modal = Some(Modal::Reason { batch, cursor });
                KeyOutcome::none()
            }
            Modal::Note {
                mut batch,
                mut edit,
                cursor,
            } => {
                match key.code {
                    KeyCode::Esc => {
                        // Back to the reason; the note typed so far is kept for the way back.
                        let t = edit.text();
                        batch.note = (!t.trim().is_empty()).then_some(t);
                        batch.reason = None;
                        self.modal = Some(Modal::Reason { batch, cursor });
                        return KeyOutcome::none();
                    }
                    KeyCode::Enter => {
                        let t = edit.text();
                        let t = t.trim();
                        batch.note = (!t.is_empty()).then(|| t.to_owned());
                        self.modal = Some(Modal::Confirm { batch, scroll: 0 });
                        return KeyOutcome::none();
                    }
                    _ => {
                        edit.handle(&key);
                    }
                }
                self.modal = Some(Modal::Note {
                    batch,
                    edit,
                    cursor,
                });
                KeyOutcome::none()
            }
        }
    }

    /// Decisions were written (or failed): clear marks of the successful ones.
    pub fn decided(&mut self, outcomes: &[(String, Result<String, String>)]) -> (String, bool) {
        self.busy = false;
        if outcomes.iter().any(|(_, r)| r.is_err()) {
            // Nothing to move on from: stay on the asset whose decision failed.
            self.after_decision = None;
        }
        let ok: Vec<&String> = outcomes
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(id, _)| id)
            .collect();
        for id in &ok {
            self.marked.remove(*id);
        }
        let failed: Vec<String> = outcomes
            .iter()
            .filter_map(|(id, r)| r.as_ref().err().map(|e| format!("{id}: {e}")))
            .collect();
        if failed.is_empty() {
            let verb = outcomes
                .first()
                .and_then(|(_, r)| r.as_ref().ok())
                .cloned()
                .unwrap_or_default();
            if ok.len() == 1 {
                (format!("{verb} {}", ok[0]), false)
            } else {
                (format!("{verb} {} assets", ok.len()), false)
            }
        } else {
            (
                format!(
                    "{} written, {} failed — {}",
                    ok.len(),
                    failed.len(),
                    failed.join("; ")
                ),
                true,
            )
        }
    }
}

/// A pending explanation asset for tests.
#[cfg(test)]
pub(crate) fn test_asset(id: &str) -> AdvisoryAsset {
    use crate::store::advisory::AssetType;
    AdvisoryAsset {
        asset_id: id.into(),
        asset_type: AssetType::Explanation,
        source: "ai_analysis".into(),
        provider: Some("claude".into()),
        model: None,
        prompt: None,
        prompt_hash: None,
        request_id: None,
        run_id: None,
        content_hash: format!("{:0<64}", id.len()),
        content_path: String::new(),
        content_size: 3,
        mime: "text/plain".into(),
        image_width: None,
        image_height: None,
        suggestion_data: None,
        confidence: None,
        warnings: vec![],
        created_at: "2025-12-23T00:00:00Z".into(),
        reviewed: false,
        approved_for_workflow: false,
        reviewed_at: None,
        reviewer_id: None,
        review_note: None,
        rejection_reason: None,
        rating: None,
        state: ReviewState::Pending,
        decision_seq: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::advisory::{AssetType, ReviewState};
    use crossterm::event::KeyModifiers;

    fn asset(id: &str) -> AdvisoryAsset {
        test_asset(id)
    }

    fn key(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn code(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn loaded() -> QueueState {
        let mut q = QueueState::default();
        let cmds = q.set_assets(vec![asset("adv_a"), asset("adv_bb")], (2, 0, 0));
        assert_eq!(cmds, vec![QueueCmd::Preview("adv_a".into())]);
        let hash = q.assets[0].content_hash.clone();
        q.set_preview(
            "adv_a".into(),
            PreviewData {
                content_hash: hash,
                body: PreviewBody::Text("x".into()),
                error: None,
                history: vec![],
                signatures: Vec::new(),
            },
        );
        q
    }

    fn decides(cmds: &[QueueCmd]) -> bool {
        cmds.iter().any(|c| matches!(c, QueueCmd::Decide(_)))
    }

    #[test]
    fn filter_terms() {
        let mut a = asset("adv_img01");
        a.asset_type = AssetType::Image;
        a.model = Some("flux-1".into());
        a.run_id = Some("run_5eed01".into());
        let m = |f: &str| asset_matches(&a, f);
        assert!(m(""));
        assert!(m("type:image") && m("TYPE:Image") && m("type:suggestion,image"));
        assert!(!m("type:ima"), "types match exactly");
        assert!(m("provider:clau") && m("model:flux") && m("run:run_5e") && m("id:adv_i"));
        assert!(!m("id:img"), "ids match by prefix");
        assert!(m("flux img01"), "words: substrings, all required");
        assert!(!m("flux absent"));
        assert!(m("-type:explanation") && !m("-claude"));
        assert!(
            m("-"),
            "a lone dash is a word (flux-1 holds one), not a negation"
        );
    }

    #[test]
    fn filter_applies_as_typed_enter_keeps_esc_restores() {
        let mut q = loaded();
        let mut img = asset("adv_img");
        img.asset_type = AssetType::Image;
        q.set_assets(vec![asset("adv_a"), asset("adv_bb"), img], (3, 0, 0));
        q.on_key(key(' '), 10); // mark adv_a
        q.on_key(key('f'), 10);
        for c in "type:image".chars() {
            let out = q.on_key(key(c), 10);
            assert!(!out.unhandled, "typing is taken by the filter line");
        }
        assert_eq!(q.assets.len(), 1);
        assert_eq!(q.marked.len(), 1, "marks survive while the filter is typed");
        q.on_key(code(KeyCode::Enter), 10);
        assert!(
            q.marked.is_empty(),
            "marks on assets the kept filter hides are dropped"
        );
        assert_eq!(q.filter, "type:image");
        assert_eq!(q.selected_asset().unwrap().asset_id, "adv_img");
        // Edit, then Esc: the kept filter comes back.
        q.on_key(key('f'), 10);
        q.on_key(code(KeyCode::Backspace), 10);
        q.on_key(code(KeyCode::Esc), 10);
        assert_eq!(q.filter, "type:image");
        assert_eq!(q.assets.len(), 1);
        // Esc with no marks clears the filter.
        q.on_key(code(KeyCode::Esc), 10);
        assert_eq!(q.filter, "");
        assert_eq!(q.assets.len(), 3);
    }

    #[test]
    fn a_shrinking_list_keeps_the_selection_visible() {
        let mut q = QueueState::default();
        let many: Vec<AdvisoryAsset> = (0..50).map(|i| asset(&format!("adv_{i:02}"))).collect();
        q.set_assets(many, (50, 0, 0));
        q.on_key(key('G'), 10);
        assert!(q.offset > 0);
        q.set_assets(vec![asset("adv_x")], (1, 0, 0));
        assert!(
            q.offset <= q.selected,
            "offset {} selected {}",
            q.offset,
            q.selected
        );
    }

    #[test]
    fn approve_needs_y() {
        let mut q = loaded();
        let out = q.on_key(key('a'), 10);
        assert!(!decides(&out.cmds));
        assert!(matches!(q.modal, Some(Modal::Confirm { .. })));
        // Any other key keeps the dialog and writes nothing.
        for k in ['a', 'j', 'x', 'q'] {
            assert!(!decides(&q.on_key(key(k), 10).cmds));
        }
        let out = q.on_key(key('y'), 10);
        assert_eq!(
            out.cmds,
            vec![QueueCmd::Decide(DecisionBatch {
                items: vec![DecisionItem {
                    asset_id: "adv_a".into(),
                    content_hash: q.assets[0].content_hash.clone(),
                    asset_type: "EXPLANATION".into(),
                    current: None,
                    seen_decision: None,
                }],
                approve: true,
                reason: None,
                note: None
            })]
        );
        assert!(q.busy);
        assert!(q.modal.is_none());
    }

    #[test]
    fn cancel_writes_nothing() {
        for cancel in [code(KeyCode::Esc), key('n')] {
            let mut q = loaded();
            q.on_key(key('a'), 10);
            let out = q.on_key(cancel, 10);
            assert!(!decides(&out.cmds));
            assert!(q.modal.is_none());
            assert!(out.message.unwrap().0.contains("nothing was written"));
        }
    }

    #[test]
    fn reject_needs_a_reason_then_confirmation() {
        let mut q = loaded();
        assert!(!decides(&q.on_key(key('r'), 10).cmds));
        assert!(matches!(q.modal, Some(Modal::Reason { .. })));
        q.on_key(key('j'), 10);
        assert!(
            !decides(&q.on_key(code(KeyCode::Enter), 10).cmds),
            "choosing a reason does not decide"
        );
        for c in "too busy".chars() {
            assert!(
                !decides(&q.on_key(key(c), 10).cmds),
                "typing a note does not decide"
            );
        }
        assert!(
            !decides(&q.on_key(code(KeyCode::Enter), 10).cmds),
            "the note leads to the confirmation"
        );
        let Some(Modal::Confirm { batch: b, .. }) = &q.modal else {
            panic!("confirm expected")
        };
        assert_eq!(
            (b.reason.as_deref(), b.note.as_deref(), b.approve),
            (Some("wrong_style"), Some("too busy"), false)
        );
        assert!(decides(&q.on_key(key('y'), 10).cmds));
    }

    #[test]
    fn actions_wait_for_a_current_intact_preview() {
        let mut q = QueueState::default();
        q.set_assets(vec![asset("adv_a")], (1, 0, 0));
        let out = q.on_key(key('a'), 10);
        assert!(q.modal.is_none() && out.message.unwrap().0.contains("wait for the preview"));
        // A preview of another version (hash) is stale.
        q.set_preview(
            "adv_a".into(),
            PreviewData {
                content_hash: "f".repeat(64),
                body: PreviewBody::Text("x".into()),
                error: None,
                history: vec![],
                signatures: Vec::new(),
            },
        );
        assert!(q.on_key(key('a'), 10).message.is_some());
        // A corrupted blob disables actions.
        let h = q.assets[0].content_hash.clone();
        q.set_preview(
            "adv_a".into(),
            PreviewData {
                content_hash: h,
                body: PreviewBody::Unavailable("bad".into()),
                error: Some("bad".into()),
                history: vec![],
                signatures: Vec::new(),
            },
        );
        let out = q.on_key(key('r'), 10);
        assert!(q.modal.is_none() && out.message.unwrap().0.contains("no longer matches"));
    }

    #[test]
    fn marked_batches_state_their_count_and_need_confirmation() {
        let mut q = loaded();
        q.on_key(key(' '), 10);
        q.on_key(key('j'), 10);
        q.on_key(key(' '), 10);
        assert_eq!(q.marked.len(), 2);
        assert!(!decides(&q.on_key(key('A'), 10).cmds));
        let Some(Modal::Confirm { batch: b, .. }) = &q.modal else {
            panic!("confirm expected")
        };
        assert_eq!(b.items.len(), 2);
        let out = q.on_key(key('y'), 10);
        assert!(decides(&out.cmds));
        let (text, err) = q.decided(&[
            ("adv_a".into(), Ok("approved".into())),
            ("adv_bb".into(), Ok("approved".into())),
        ]);
        assert_eq!((text.as_str(), err), ("approved 2 assets", false));
        assert!(q.marked.is_empty());
        assert!(!q.busy);
        // Both left the pending list: the selection stays at its row, not the top.
        q.set_assets(vec![asset("adv_c"), asset("adv_d")], (2, 2, 0));
        assert_eq!(q.selected, 1);
    }

    fn with_preview(q: &mut QueueState) {
        let a = q.selected_asset().unwrap().clone();
        q.set_preview(
            a.asset_id.clone(),
            PreviewData {
                content_hash: a.content_hash.clone(),
                body: PreviewBody::Text("x".into()),
                error: None,
                history: vec![],
                signatures: Vec::new(),
            },
        );
    }

    #[test]
    fn marks_survive_a_partly_typed_filter_that_ends_up_showing_them() {
        let mut q = QueueState::default();
        let mut img = asset("adv_img");
        img.asset_type = AssetType::Image;
        q.set_assets(vec![img, asset("adv_txt")], (2, 0, 0));
        q.on_key(key(' '), 10); // mark adv_img
        q.on_key(key('f'), 10);
        for c in "type:".chars() {
            q.on_key(key(c), 10);
        }
        q.on_key(key('i'), 10); // "type:i" matches nothing for a moment
        assert!(q.assets.is_empty());
        for c in "mage".chars() {
            q.on_key(key(c), 10);
        }
        q.on_key(code(KeyCode::Enter), 10);
        assert_eq!(q.filter, "type:image");
        assert!(
            q.marked.contains("adv_img"),
            "kept: the final filter shows it"
        );
    }

    #[test]
    fn after_a_decision_the_selection_stays_in_place_on_the_next_pending() {
        let ids = ["adv_0", "adv_1", "adv_2", "adv_3"];
        let mut q = QueueState::default();
        q.set_assets(ids.iter().map(|i| asset(i)).collect(), (4, 0, 0));
        q.on_key(key('j'), 10);
        q.on_key(key('j'), 10);
        with_preview(&mut q);
        q.on_key(key('a'), 10);
        assert!(decides(&q.on_key(key('y'), 10).cmds));
        q.decided(&[("adv_2".into(), Ok("approved".into()))]);
        // "pending": adv_2 left the list; the row that took its place is selected.
        q.set_assets(
            ["adv_0", "adv_1", "adv_3"]
                .iter()
                .map(|i| asset(i))
                .collect(),
            (3, 1, 0),
        );
        assert_eq!(q.selected_asset().unwrap().asset_id, "adv_3");

        // "all": the decided asset stays listed; on to the next pending one after it.
        let mut q = QueueState {
            status: StatusFilter::All,
            ..QueueState::default()
        };
        let mut approved = asset("adv_1");
        approved.state = ReviewState::Approved;
        q.set_assets(vec![asset("adv_0"), approved, asset("adv_2")], (2, 1, 0));
        with_preview(&mut q);
        q.on_key(key('a'), 10);
        q.on_key(key('y'), 10);
        q.decided(&[("adv_0".into(), Ok("approved".into()))]);
        let mut now = asset("adv_0");
        now.state = ReviewState::Approved;
        let mut approved = asset("adv_1");
        approved.state = ReviewState::Approved;
        q.set_assets(vec![now, approved, asset("adv_2")], (1, 2, 0));
        assert_eq!(q.selected_asset().unwrap().asset_id, "adv_2");
        // Deciding the last pending one below wraps to the first pending one above.
        let mut q2 = QueueState {
            status: StatusFilter::All,
            ..QueueState::default()
        };
        q2.set_assets(vec![asset("adv_0"), asset("adv_1")], (2, 0, 0));
        q2.on_key(key('j'), 10);
        with_preview(&mut q2);
        q2.on_key(key('a'), 10);
        q2.on_key(key('y'), 10);
        q2.decided(&[("adv_1".into(), Ok("approved".into()))]);
        let mut done = asset("adv_1");
        done.state = ReviewState::Approved;
        q2.set_assets(vec![asset("adv_0"), done], (1, 1, 0));
        assert_eq!(q2.selected_asset().unwrap().asset_id, "adv_0");
    }

    #[test]
    fn esc_at_the_note_goes_back_to_the_reason_and_g_picks_the_last_reason() {
        let mut q = loaded();
        q.on_key(key('r'), 10);
        q.on_key(key('G'), 10);
        let last = REJECTION_REASONS.len() - 1;
        assert!(matches!(q.modal, Some(Modal::Reason { cursor, .. }) if cursor == last));
        q.on_key(key('g'), 10);
        q.on_key(key('j'), 10);
        q.on_key(code(KeyCode::Enter), 10);
        for c in "blurry".chars() {
            q.on_key(key(c), 10);
        }
        // The note is a line editor: move left and insert.
        q.on_key(code(KeyCode::Home), 10);
        q.on_key(key('x'), 10);
        let out = q.on_key(code(KeyCode::Esc), 10);
        assert!(out.message.is_none(), "nothing cancelled");
        let Some(Modal::Reason { cursor, batch }) = &q.modal else {
            panic!("back at the reason: {:?}", q.modal)
        };
        assert_eq!(*cursor, 1, "on the reason chosen before");
        assert_eq!(batch.note.as_deref(), Some("xblurry"), "the note is kept");
        q.on_key(code(KeyCode::Enter), 10);
        let Some(Modal::Note { edit, .. }) = &q.modal else {
            panic!("note again")
        };
        assert_eq!(edit.text(), "xblurry");
        // Esc at the reason cancels everything.
        q.on_key(code(KeyCode::Esc), 10);
        let out = q.on_key(code(KeyCode::Esc), 10);
        assert!(q.modal.is_none());
        assert!(out.message.unwrap().0.contains("nothing was written"));
    }

    #[test]
    fn rejecting_an_approved_asset_names_the_decision_in_force() {
        let mut q = QueueState {
            status: StatusFilter::All,
            ..QueueState::default()
        };
        let mut a = asset("adv_ok");
        a.state = ReviewState::Approved;
        a.reviewer_id = Some("bob".into());
        a.reviewed_at = Some("2025-12-23T10:15:00Z".into());
        q.set_assets(vec![a], (0, 1, 0));
        with_preview(&mut q);
        q.on_key(key('r'), 10);
        let Some(Modal::Reason { batch, .. }) = &q.modal else {
            panic!("reason")
        };
        assert_eq!(
            batch.items[0].current.as_deref(),
            Some("currently approved by bob on 2025-12-23 10:15")
        );
    }

    #[test]
    fn the_batch_confirmation_scrolls_through_its_assets() {
        let mut q = QueueState::default();
        q.set_assets(
            (0..30).map(|i| asset(&format!("adv_{i:02}"))).collect(),
            (30, 0, 0),
        );
        for _ in 0..30 {
            q.on_key(key(' '), 10);
            q.on_key(key('j'), 10);
        }
        q.on_key(key('A'), 10);
        q.on_key(key('j'), 10);
        q.on_key(key('j'), 10);
        assert!(
            matches!(&q.modal, Some(Modal::Confirm { batch, scroll: 2 }) if batch.items.len() == 30)
        );
        q.on_key(key('G'), 10);
        assert!(matches!(&q.modal, Some(Modal::Confirm { scroll: 29, .. })));
        assert!(decides(&q.on_key(key('y'), 10).cmds), "y still writes");
    }

    #[test]
    fn full_screen_preview_scrolls_and_esc_goes_back() {
        let mut q = loaded();
        q.on_key(key('z'), 10);
        assert!(q.fullscreen);
        q.on_key(key('j'), 10);
        q.on_key(code(KeyCode::PageDown), 10);
        assert_eq!(q.preview_scroll, 11);
        assert_eq!(q.selected, 0, "j scrolls, it does not move the list");
        q.on_key(code(KeyCode::Esc), 10);
        assert!(!q.fullscreen);
        q.on_key(key('J'), 10);
        assert_eq!(
            q.preview_scroll, 12,
            "J scrolls the preview beside the list"
        );
    }
}
