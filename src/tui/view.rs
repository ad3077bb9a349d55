//! Drawing the console from [`App`] state. Views never do I/O; every string that came
//! from a file is sanitized here before it reaches the terminal.

use super::app::{App, DetailsPane};
use super::graphics::Graphics;
use super::investigate::DiffPane;
use super::keymap::{EDIT_KEYS, QUEUE, RUNS};
use super::queue::{DecisionBatch, DecisionItem, Modal, PreviewBody, PreviewData};
use crate::store::advisory::ReviewState;
use crate::store::index::IndexedRun;
use crate::text::sanitize;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;
use serde_json::Value;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Colours, or none at all (`NO_COLOR`).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set (to anything non-empty).
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    pub fn risk(&self, risk: &str) -> Style {
        match risk {
            "GREEN" => self.fg(Color::Green),
            "YELLOW" => self.fg(Color::Yellow),
            "RED" => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            "ERROR" => self.fg(Color::LightRed).add_modifier(Modifier::BOLD),
            _ => self.fg(Color::Gray),
        }
    }

    pub fn status(&self, status: &str) -> Style {
        match status {
            "OK" => self.fg(Color::Green),
            "BLOCKED" => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            "ERROR" => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            _ => Style::default(),
        }
    }

    /// A search match.
    fn found(&self) -> Style {
        if self.color {
            Style::default().bg(Color::Yellow).fg(Color::Black)
        } else {
            Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }

    fn dim(&self) -> Style {
        if self.color {
            Style::default().fg(Color::DarkGray)
        } else {
            Style::default().add_modifier(Modifier::DIM)
        }
    }

    fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    fn key(&self) -> Style {
        self.fg(Color::Cyan)
    }

    fn title(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    fn selected(&self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }
}

/// Byte ranges of `s` where `needle` (lower case) occurs, ignoring case.
fn match_ranges(s: &str, needle: &str) -> Vec<(usize, usize)> {
    let n = needle.chars().count();
    if n == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut from = 0;
    for (i, _) in s.char_indices() {
        if i < from {
            continue;
        }
        let mut end = i;
        let mut taken = String::new();
        for c in s[i..].chars().take(n) {
            taken.extend(c.to_lowercase());
            end += c.len_utf8();
        }
        if taken == needle {
            out.push((i, end));
            from = end;
        }
    }
    out
}

/// `line` with every occurrence of the search text in `style` (on top of each span's).
pub fn highlight(line: Line<'static>, needle: &str, style: Style) -> Line<'static> {
    if needle.is_empty() {
        return line;
    }
    let mut spans = Vec::new();
    for span in line.spans {
        let text = span.content.to_string();
        let ranges = match_ranges(&text, needle);
        if ranges.is_empty() {
            spans.push(span);
            continue;
        }
        let mut at = 0;
        for (a, b) in ranges {
            if a > at {
                spans.push(Span::styled(text[at..a].to_owned(), span.style));
            }
            spans.push(Span::styled(text[a..b].to_owned(), span.style.patch(style)));
            at = b;
        }
        if at < text.len() {
            spans.push(Span::styled(text[at..].to_owned(), span.style));
        }
    }
    Line { spans, ..line }
}

/// The active search's text in lower case ("" without one).
fn needle(app: &App) -> String {
    app.search
        .as_ref()
        .map(|s| s.text.to_lowercase())
        .unwrap_or_default()
}

/// Cut `s` to `width` terminal columns (CJK and emoji count double), marking the cut.
pub fn fit(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw + 1 > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// A run_id short enough for the list: `run_` dropped, the middle elided.
pub fn short_id(id: &str) -> String {
    let s = id.strip_prefix("run_").unwrap_or(id);
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= 13 {
        return s.to_owned();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}…{tail}")
}

fn local_time(app: &App, us: i64, with_date: bool) -> String {
    let secs = us.div_euclid(1_000_000) + app.utc_offset_secs as i64;
    let Some(t) = chrono::DateTime::from_timestamp(secs, 0) else {
        return "?".into();
    };
    if with_date {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%m-%d %H:%M:%S").to_string()
    }
}

/// A `w`×`h` rectangle centred in `area` (dialogs, help).
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let (w, h) = (w.min(area.width), h.min(area.height));
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Both views: header line, body, bar line (filter or reviewer), status line.
fn frame_rows(area: Rect) -> std::rc::Rc<[Rect]> {
    Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .split(area)
}

/// The run list and the details pane: side by side from 120 columns (the details get the
/// larger part, so a full SHA-256 fits on one line), else stacked.
fn details_split(body: Rect) -> std::rc::Rc<[Rect]> {
    let wide = body.width >= 120;
    Layout::default()
        .direction(if wide {
            Direction::Horizontal
        } else {
            Direction::Vertical
        })
        .constraints(if wide {
            [Constraint::Percentage(42), Constraint::Percentage(58)]
        } else {
            [Constraint::Percentage(40), Constraint::Percentage(60)]
        })
        .split(body)
}

/// The run list's area and the details pane's (when open) at the app's terminal size.
pub fn runs_areas(app: &App) -> (Rect, Option<Rect>) {
    let body = frame_rows(Rect::new(0, 0, app.width, app.height))[1];
    if app.details.is_some() {
        let split = details_split(body);
        (split[0], Some(split[1]))
    } else {
        (body, None)
    }
}

/// Inner width and height of the details pane at the app's terminal size.
pub fn details_geometry(app: &App) -> (u16, u16) {
    let area = Rect::new(0, 0, app.width, app.height);
    let pane = details_split(frame_rows(area)[1])[1];
    (pane.width.saturating_sub(2), pane.height.saturating_sub(2))
}

/// The details as drawn: wrapped to the pane's width.
pub fn details_wrapped(app: &App, d: &DetailsPane, theme: Theme) -> Vec<Line<'static>> {
    let (w, _) = details_geometry(app);
    details_lines(app, d, theme)
        .into_iter()
        .flat_map(|l| wrap_line(l, w as usize))
        .collect()
}

/// How far the details pane can scroll: its last line at the bottom of the pane.
pub fn details_max_scroll(app: &App, d: &DetailsPane) -> u16 {
    let (_, h) = details_geometry(app);
    let n = details_wrapped(app, d, Theme { color: false }).len();
    n.saturating_sub(h as usize).min(u16::MAX as usize) as u16
}

/// Wrap one line to `width` columns at spaces. A word longer than a line breaks after a
/// `/` when it can (paths), else where the line ends (a hash wider than the pane).
/// Continuation lines are indented under the value (after a 10-column label, or the
/// line's own indentation plus two).
pub fn wrap_line(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    wrap_with(line, width, true)
}

/// [`wrap_line`], with `hang` false for prose: continuation lines keep only the line's own
/// indentation.
fn wrap_with(line: Line<'static>, width: usize, hang: bool) -> Vec<Line<'static>> {
    if width < 8 || line.width() <= width {
        return vec![line];
    }
    let lead = line
        .spans
        .iter()
        .flat_map(|s| s.content.chars())
        .take_while(|c| *c == ' ')
        .count();
    let label = line
        .spans
        .first()
        .is_some_and(|s| s.content.width() == 10 && s.content.ends_with(' ') && lead == 0);
    let indent = match (hang, label) {
        (false, _) => lead,
        (true, true) => 10,
        (true, false) => lead + 2,
    }
    .min(width / 2);
    // Units: a run of non-spaces with the spaces after it, each with its span's style.
    let mut units: Vec<(String, Style)> = Vec::new();
    for sp in &line.spans {
        let mut cur = String::new();
        let mut in_space = false;
        for c in sp.content.chars() {
            if c != ' ' && in_space {
                units.push((std::mem::take(&mut cur), sp.style));
                in_space = false;
            }
            in_space |= c == ' ';
            cur.push(c);
        }
        if !cur.is_empty() {
            units.push((cur, sp.style));
        }
    }
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    let mut cur_w = 0usize;
    let mut start_w = 0usize;
    let newline = |out: &mut Vec<Line<'static>>, cur: &mut Vec<Span<'static>>| {
        out.push(Line::from(std::mem::take(cur)).style(line.style));
        cur.push(Span::raw(" ".repeat(indent)));
    };
    for (text, style) in units {
        let word_w = text.trim_end().width();
        if cur_w + word_w > width && cur_w > start_w {
            newline(&mut out, &mut cur);
            cur_w = indent;
            start_w = indent;
        }
        if cur_w + word_w <= width {
            cur_w += text.width();
            cur.push(Span::styled(text, style));
            continue;
        }
        // Longer than a whole line: break it, after a '/' where possible.
        // Each piece is measured once (a 1 MB string wraps in linear time).
        let mut rest: &str = &text;
        while !rest.is_empty() {
            let room = width.saturating_sub(cur_w).max(1);
            let mut cut = 0;
            let mut w = 0;
            let mut slash = None;
            let mut overflow = false;
            for (i, c) in rest.char_indices() {
                let cw = c.width().unwrap_or(0);
                if w + cw > room && c != ' ' {
                    overflow = true;
                    break;
                }
                w += cw;
                cut = i + c.len_utf8();
                if c == '/' {
                    slash = Some(cut);
                }
            }
            if !overflow {
                // The rest fits (trailing spaces may run past the edge).
                cur_w += w;
                cur.push(Span::styled(rest.to_owned(), style));
                break;
            }
            let cut = match slash {
                Some(at) if at * 2 >= cut => at,
                _ => cut.max(rest.chars().next().map_or(1, char::len_utf8)),
            };
            cur.push(Span::styled(rest[..cut].to_owned(), style));
            rest = &rest[cut..];
            newline(&mut out, &mut cur);
            cur_w = indent;
            start_w = indent;
        }
    }
    if cur_w > start_w || out.is_empty() {
        out.push(Line::from(cur).style(line.style));
    }
    out
}

/// The message a bordered list shows when it has no rows.
fn render_empty_state(f: &mut Frame<'_>, area: Rect, msg: &str, theme: Theme) {
    let inner = Rect {
        x: area.x + 2,
        y: area.y + 2,
        width: area.width.saturating_sub(4),
        height: 4.min(area.height.saturating_sub(3)),
    };
    f.render_widget(
        Paragraph::new(sanitize(msg))
            .style(theme.dim())
            .wrap(Wrap { trim: true }),
        inner,
    );
}

/// Draw the whole console (pictures with half blocks).
pub fn render(f: &mut Frame<'_>, app: &App, theme: Theme) {
    render_with(f, app, theme, &mut Graphics::none());
}

/// Draw the whole console, pictures through the terminal's graphics protocol if any.
pub fn render_with(f: &mut Frame<'_>, app: &App, theme: Theme, gfx: &mut Graphics) {
    gfx.begin();
    render_views(f, app, theme, gfx);
    let picture = gfx.drawn;
    scrub_except(f.buffer_mut(), picture);
}

/// The last line of defence for the console: no cell of a frame may hold a character a
/// terminal would interpret (an escape, a C1 control, a bidi override). Every view
/// sanitizes what it shows; this catches any string a view forgot, whatever its source.
pub fn scrub(buf: &mut ratatui::buffer::Buffer) {
    scrub_except(buf, None);
}

/// [`scrub`], except the cells of a picture drawn through a graphics protocol: their
/// escape sequences are produced by the console from decoded pixels, never from text.
fn scrub_except(buf: &mut ratatui::buffer::Buffer, picture: Option<Rect>) {
    let area = buf.area;
    let width = usize::from(area.width.max(1));
    for (i, cell) in buf.content.iter_mut().enumerate() {
        if let Some(p) = picture {
            let x = usize::from(area.x) + i % width;
            let y = usize::from(area.y) + i / width;
            let inside = (usize::from(p.x)..usize::from(p.right())).contains(&x)
                && (usize::from(p.y)..usize::from(p.bottom())).contains(&y);
            if inside {
                continue;
            }
        }
        if cell.symbol().chars().any(crate::text::needs_escape) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

fn render_views(f: &mut Frame<'_>, app: &App, theme: Theme, gfx: &mut Graphics) {
    let area = f.area();
    if area.is_empty() {
        return; // a terminal of no cells (resized to nothing): nothing to draw
    }
    if app.view == super::msg::View::Queue {
        render_queue(f, area, app, theme, gfx);
        if app.help {
            render_help(f, area, app, theme);
        }
        return;
    }
    if app.view == super::msg::View::Timeline {
        render_timeline(f, area, app, theme);
        if app.help {
            render_help(f, area, app, theme);
        }
        return;
    }
    if let Some(kind) = app.records_kind() {
        render_records(f, area, app, app.records(kind), theme);
        if app.links_menu.is_some() {
            render_links(f, area, app, theme);
        }
        if app.help {
            render_help(f, area, app, theme);
        }
        return;
    }
    let rows = frame_rows(area);
    render_header(f, rows[0], app, theme);
    match (&app.diff, &app.details) {
        (Some(d), _) => {
            let split = details_split(rows[1]);
            render_list(f, split[0], app, theme);
            render_diff(f, split[1], app, d, theme);
        }
        (None, Some(d)) => {
            let split = details_split(rows[1]);
            render_list(f, split[0], app, theme);
            render_details(f, split[1], app, d, theme);
        }
        (None, None) => render_list(f, rows[1], app, theme),
    }
    render_filter_bar(f, rows[2], app, theme);
    render_status(f, rows[3], app, theme);
    if app.picker.is_some() {
        render_picker(f, area, app, theme);
    }
    if app.copy_menu {
        render_copy_menu(f, area, app, theme);
    }
    if app.links_menu.is_some() {
        render_links(f, area, app, theme);
    }
    if app.help {
        render_help(f, area, app, theme);
    }
}

/// The links menu: one row per link, its kind, target and a note.
fn render_links(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let links = app.current_links();
    let sel = app.links_menu.unwrap_or(0);
    let n = links.len();
    let rows = picker_rows(area.height).min(n.max(1));
    let w = 80.min(area.width);
    let h = (rows as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    let inner = r.width.saturating_sub(2) as usize;
    let first = sel.saturating_sub(rows - 1).min(n.saturating_sub(rows));
    let lines: Vec<Line> = links
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, l)| {
            let kind = format!("{:<9}", l.kind.label());
            let note = if l.note.is_empty() {
                String::new()
            } else {
                format!("  ({})", sanitize(&l.note))
            };
            let target = fit(
                &sanitize(&l.target),
                inner.saturating_sub(9 + note.width()).max(8),
            );
            if i == sel {
                let text = fit(&format!("{kind}{target}{note}"), inner);
                Line::from(Span::styled(format!("{text:<inner$}"), theme.selected()))
            } else {
                Line::from(vec![
                    Span::styled(kind, theme.dim()),
                    Span::styled(target, theme.key()),
                    Span::styled(note, theme.dim()),
                ])
            }
        })
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" links ({n}) "))
                .title_bottom(Span::styled(super::keymap::LINKS_KEYS, theme.dim())),
        ),
        r,
    );
}

fn render_header(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let mut spans = vec![
        Span::styled(" rmos ", theme.title()),
        Span::styled(sanitize(&app.root_label), theme.dim()),
    ];
    let at = match app.position() {
        Some(p) if app.match_count.is_some() => format!("{p} of "),
        _ => String::new(),
    };
    let count = match app.match_count {
        Some(n) if app.filter.is_empty() => format!("  {at}{n} runs"),
        Some(n) => format!("  {at}{n} matching"),
        None => "  counting…".into(),
    };
    spans.push(Span::raw(count));
    if app.invalid_total > 0 {
        spans.push(Span::styled(
            format!("  {} invalid files", app.invalid_total),
            theme.error(),
        ));
    }
    if let Some(s) = &app.search {
        let count = match s.count {
            Some(1) => "1 match".to_owned(),
            Some(n) => format!("{n} matches"),
            None => "counting…".to_owned(),
        };
        spans.push(Span::styled(
            format!("  /{}: {count}", fit(&sanitize(&s.text), 20)),
            theme.found(),
        ));
    }
    if !app.sort.is_default() {
        spans.push(Span::styled(
            format!(
                "  sorted by {} {}",
                app.sort.key.name(),
                if app.sort.descending { "↓" } else { "↑" }
            ),
            theme.key(),
        ));
    }
    if !app.marks.is_empty() {
        spans.push(Span::styled(
            format!("  {} marked", app.marks.len()),
            theme.key().add_modifier(Modifier::BOLD),
        ));
    }
    if app.read_only {
        spans.push(Span::styled("  [read-only]", theme.dim()));
    }
    if let Some(p) = &app.reconcile {
        if p.partitions_total > 0 && p.partitions_done < p.partitions_total {
            spans.push(Span::styled(
                format!(
                    "  [indexing {}/{} days · {} files]",
                    p.partitions_done, p.partitions_total, p.files_parsed
                ),
                theme.key().add_modifier(Modifier::BOLD),
            ));
        }
    }
    if app.watch_problem.is_some() {
        // Not live everywhere: updates arrive by the once-a-second scan.
        spans.push(Span::styled("  [scanning]", theme.error()));
    }
    if app.shared_trouble.is_some() {
        // The server database is out of reach: what is shown is as it was.
        spans.push(Span::styled("  [offline: reconnecting]", theme.error()));
    }
    if app.follow && app.details.is_some() && app.new_runs > 0 {
        // Following is paused while details are open: the run being read stays put.
        spans.push(Span::styled(
            format!("  [following] {} new (Esc shows them)", app.new_runs),
            theme.key().add_modifier(Modifier::BOLD),
        ));
    } else if app.follow {
        spans.push(Span::styled("  [following]", theme.key()));
    } else if app.new_runs > 0 {
        spans.push(Span::styled(
            format!("  {} new (F to follow)", app.new_runs),
            theme.key().add_modifier(Modifier::BOLD),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Columns of the run list, chosen by the width available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Time,
    Id,
    Mode,
    Tool,
    Status,
    Risk,
    Score,
    Source,
    Reason,
    /// One column: `●` on marked runs (shown while any run is marked).
    Mark,
    /// One column: what verifying the run found, when it needs a look (see [`verify_mark`]).
    Verify,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Time => "time",
            Col::Id => "run",
            Col::Mode => "mode",
            Col::Tool => "tool",
            Col::Status => "status",
            Col::Risk => "risk",
            Col::Score => "score",
            Col::Source => "source",
            Col::Reason => "reason",
            Col::Mark | Col::Verify => "",
        }
    }
}

fn cols_width(cols: &[(Col, u16)]) -> u16 {
    cols.iter().map(|(_, w)| w + 1).sum()
}

/// What the list knows about its rows that decides column widths.
#[derive(Debug, Clone, Copy, Default)]
struct ListShape {
    /// The rows span more than one calendar year: times carry the year.
    years: bool,
    /// The widest run_id of the rows (columns).
    id_width: u16,
    /// Runs are marked: a mark column leads.
    marks: bool,
}

impl ListShape {
    fn of(app: &App) -> ListShape {
        let year = |r: &IndexedRun| {
            local_time(app, r.created_us, true)
                .get(..4)
                .map(str::to_owned)
        };
        let rows = &app.list.rows;
        let years = match (rows.first(), rows.last()) {
            (Some(a), Some(b)) => year(a) != year(b),
            _ => false,
        };
        let id_width = rows
            .iter()
            .map(|r| sanitize(&r.run_id).width())
            .max()
            .unwrap_or(0)
            .min(80) as u16;
        ListShape {
            years,
            id_width,
            marks: !app.marks.is_empty() || app.mark_anchor.is_some(),
        }
    }
}

/// Narrowest reason column worth showing.
const REASON_MIN: u16 = 14;

/// The columns and their widths for an inner width (one space between columns). The
/// reason (block reason, else the first warning) takes the width there is: to make room
/// for it the mode, then the score give way; a list too narrow even so (beside the
/// details, which show everything) drops the tool and the risk as well. Wide lists show
/// the full run_id, then the source too.
fn columns(inner: u16, shape: ListShape) -> Vec<(Col, u16)> {
    if shape.marks {
        let mut cols = columns(
            inner.saturating_sub(2),
            ListShape {
                marks: false,
                ..shape
            },
        );
        cols.insert(0, (Col::Mark, 1));
        return cols;
    }
    let time_w = if shape.years { 19 } else { 14 };
    let mut cols = vec![
        (Col::Time, time_w),
        (Col::Verify, 1),
        (Col::Id, 13),
        (Col::Mode, 10),
        (Col::Tool, 14),
        (Col::Status, 7),
        (Col::Risk, 7),
        (Col::Score, 6),
    ];
    for drop in [Col::Mode, Col::Score] {
        if cols_width(&cols) + REASON_MIN <= inner {
            break;
        }
        cols.retain(|(k, _)| *k != drop);
    }
    for drop in [Col::Tool, Col::Risk] {
        if cols_width(&cols) <= inner {
            break;
        }
        cols.retain(|(k, _)| *k != drop);
    }
    let mut rest = inner.saturating_sub(cols_width(&cols));
    if rest < REASON_MIN {
        if let Some(t) = cols
            .iter_mut()
            .find(|(k, _)| matches!(k, Col::Tool | Col::Mode))
        {
            t.1 += rest;
        }
        return cols;
    }
    // Plenty of room: the whole run_id, then the source, the reason keeping 48 columns.
    let extra = shape.id_width.saturating_sub(13);
    if extra > 0 && rest >= extra + 48 {
        cols[2].1 += extra;
        rest -= extra;
    }
    if rest >= 48 + 17 {
        cols.push((Col::Source, 16));
        rest -= 17;
    }
    cols.push((Col::Reason, rest));
    cols
}

/// The verify column: `✗` the recorded hash does not match (edited after it was
/// written), `≡` the run_id is in more than one file, `!` the file is invalid, `○` an
/// all-zero placeholder hash, `·` a reference record whose hash never covered its
/// feasibility; blank when the hash verifies.
pub fn verify_mark(r: &IndexedRun, duplicate: bool) -> Option<(&'static str, VerifyLook)> {
    if !r.valid {
        return Some(("!", VerifyLook::Bad));
    }
    match r.verify.as_deref() {
        Some("mismatch") => Some(("✗", VerifyLook::Bad)),
        _ if duplicate => Some(("≡", VerifyLook::Warn)),
        Some("placeholder") => Some(("○", VerifyLook::Quiet)),
        Some("uncovered") => Some(("·", VerifyLook::Quiet)),
        Some("invalid") => Some(("!", VerifyLook::Bad)),
        _ => None,
    }
}

/// How loud a verify mark is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyLook {
    Bad,
    Warn,
    Quiet,
}

/// Why a run needs a look, in a few words: its block reason, else its first warning.
fn reason(r: &IndexedRun) -> Option<(&str, bool)> {
    match r.block_reason.as_deref().filter(|b| !b.trim().is_empty()) {
        Some(b) => Some((b, true)),
        None => r.warnings.first().map(|w| (w.as_str(), false)),
    }
}

fn cell_text(
    r: &IndexedRun,
    col: Col,
    width: u16,
    app: &App,
    shape: ListShape,
    theme: Theme,
) -> Cell<'static> {
    let w = width as usize;
    let needle = needle(app);
    let plain = |s: &str| {
        Cell::from(highlight(
            Line::from(fit(&sanitize(s), w)),
            &needle,
            theme.found(),
        ))
    };
    match col {
        // A matching run is flagged on its time too (its match may be cut from view).
        Col::Time if app.search.as_ref().is_some_and(|s| s.matches(r)) => Cell::from(Span::styled(
            local_time(app, r.created_us, shape.years),
            theme.found(),
        )),
        Col::Time => Cell::from(local_time(app, r.created_us, shape.years)),
        Col::Id if w >= sanitize(&r.run_id).width() => plain(&r.run_id),
        Col::Id => plain(&short_id(&r.run_id)),
        Col::Mode => plain(r.mode.as_deref().unwrap_or("")),
        Col::Tool => plain(r.tool_id.as_deref().unwrap_or("")),
        Col::Status => {
            let s = r.status.as_deref().unwrap_or("");
            Cell::from(Span::styled(s.to_owned(), theme.status(s)))
        }
        Col::Risk => {
            let risk = r.risk_level.as_deref().unwrap_or("UNKNOWN");
            Cell::from(Span::styled(fit(&sanitize(risk), w), theme.risk(risk)))
        }
        Col::Score => Cell::from(
            r.score
                .map(|s| format!("{s:>6.2}"))
                .unwrap_or_else(|| "     -".into()),
        ),
        Col::Source => plain(r.source.as_deref().unwrap_or("")),
        Col::Verify => match verify_mark(r, app.duplicates.contains(&r.run_id)) {
            Some((mark, look)) => Cell::from(Span::styled(
                mark,
                match look {
                    VerifyLook::Bad => theme.error(),
                    VerifyLook::Warn => theme.fg(Color::Yellow),
                    VerifyLook::Quiet => theme.dim(),
                },
            )),
            None => Cell::from(" "),
        },
        Col::Mark => Cell::from(if app.marks.contains_key(&r.key()) {
            "●"
        } else {
            " "
        }),
        Col::Reason => match reason(r) {
            // One line: newlines and runs of blanks collapse to one space.
            Some((text, blocked)) => {
                let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let style = if blocked {
                    Style::default()
                } else {
                    theme.dim()
                };
                Cell::from(highlight(
                    Line::from(Span::styled(fit(&sanitize(&one_line), w), style)),
                    &needle,
                    theme.found(),
                ))
            }
            None => Cell::from(""),
        },
    }
}

/// How many leading columns an invalid file's row draws as usual (through the run
/// column); the reason covers the rest.
fn invalid_lead(cols: &[(Col, u16)]) -> usize {
    cols.iter()
        .position(|(c, _)| *c == Col::Id)
        .map_or(0, |p| p + 1)
}

fn render_list(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let shape = ListShape::of(app);
    let cols = columns(area.width.saturating_sub(2), shape);
    // The sorted column's title carries the order's arrow (time's only when reversed).
    let sorted = match app.sort.key {
        crate::store::index::SortKey::Time if app.sort.descending => None,
        crate::store::index::SortKey::Time => Some(Col::Time),
        crate::store::index::SortKey::Risk => Some(Col::Risk),
        crate::store::index::SortKey::Score => Some(Col::Score),
        crate::store::index::SortKey::Tool => Some(Col::Tool),
    };
    let arrow = if app.sort.descending { "↓" } else { "↑" };
    let header = Row::new(cols.iter().map(|(c, _)| {
        if Some(*c) == sorted {
            format!("{}{arrow}", c.title())
        } else {
            c.title().to_owned()
        }
    }))
    .style(theme.title());
    let (visible_start, visible) = app.list.visible();
    let rows: Vec<Row> = visible
        .iter()
        .map(|r| {
            if r.valid {
                Row::new(
                    cols.iter()
                        .map(|(c, w)| cell_text(r, *c, *w, app, shape, theme)),
                )
            } else {
                // Time and id as usual; the reason is drawn across the other columns below.
                let lead = invalid_lead(&cols);
                Row::new(
                    cols.iter()
                        .take(lead)
                        .map(|(c, w)| cell_text(r, *c, *w, app, shape, theme)),
                )
                .style(theme.dim())
            }
        })
        .collect();
    let title = if app.loading && app.list.rows.is_empty() {
        " runs (loading…) "
    } else {
        " runs "
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let constraints: Vec<Constraint> = cols.iter().map(|(_, w)| Constraint::Length(*w)).collect();
    let table = Table::new(rows, constraints)
        .header(header)
        .block(block)
        .row_highlight_style(theme.selected());
    let mut state = TableState::default();
    if !app.list.rows.is_empty() {
        state.select(Some(app.list.selected - visible_start));
    }
    f.render_stateful_widget(table, area, &mut state);
    // Invalid files: one line across the remaining columns with the reason.
    let lead = invalid_lead(&cols);
    let reason_x = area.x + 1 + cols.iter().take(lead).map(|(_, w)| w + 1).sum::<u16>();
    let reason_w = area.right().saturating_sub(1).saturating_sub(reason_x);
    for (i, r) in visible.iter().enumerate() {
        if r.valid || reason_w == 0 {
            continue;
        }
        let y = area.y + 2 + i as u16;
        if y >= area.bottom().saturating_sub(1) {
            break;
        }
        let reason = r.error.as_deref().unwrap_or("invalid");
        let text = fit(
            &sanitize(&format!(
                "INVALID {}/{}: {reason}",
                r.partition, r.file_name
            )),
            reason_w as usize,
        );
        let style = if visible_start + i == app.list.selected {
            theme.selected()
        } else {
            theme.error()
        };
        f.render_widget(
            Paragraph::new(Span::styled(text, style)),
            Rect {
                x: reason_x,
                y,
                width: reason_w,
                height: 1,
            },
        );
    }
    if app.list.rows.is_empty() && (!app.loading || app.reconcile.is_some()) {
        let indexing: String;
        let msg = if let Some(e) = &app.error {
            // Nothing to show and something is wrong: the whole reason, not a cut status line.
            e.as_str()
        } else if let Some(p) = &app.reconcile {
            indexing = format!(
                "Indexing the runs directory: {} of {} day folders read ({} files so far). \
                 Runs appear here as they are indexed, newest first.",
                p.partitions_done, p.partitions_total, p.files_parsed
            );
            indexing.as_str()
        } else if app.filter.is_empty() {
            "No runs yet. New artifacts in the runs directory appear here as they are written."
        } else {
            "No run matches this filter. Press f to change it, Esc in the filter bar to go back."
        };
        render_empty_state(f, area, msg, theme);
    }
}

fn json_lines(v: &Value, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut cur: Vec<Span<'static>> = Vec::new();
    json_into(v, 0, theme, &mut lines, &mut cur);
    if !cur.is_empty() {
        lines.push(Line::from(cur));
    }
    lines
}

fn scalar_span(v: &Value, theme: Theme) -> Span<'static> {
    match v {
        Value::String(_) => {
            // JSON escaping makes control characters visible; sanitize catches the rest (bidi).
            Span::styled(
                sanitize(&serde_json::to_string(v).unwrap_or_default()),
                theme.fg(Color::Green),
            )
        }
        Value::Number(n) => Span::styled(n.to_string(), theme.fg(Color::Yellow)),
        Value::Bool(b) => Span::styled(b.to_string(), theme.fg(Color::Magenta)),
        Value::Null => Span::styled("null", theme.fg(Color::Magenta)),
        _ => Span::raw(""),
    }
}

fn json_into(
    v: &Value,
    indent: usize,
    theme: Theme,
    lines: &mut Vec<Line<'static>>,
    cur: &mut Vec<Span<'static>>,
) {
    // Members of an object (with their keys) or items of an array, one per line.
    let (open, close, members): (&str, &str, Vec<(Option<&String>, &Value)>) = match v {
        Value::Object(m) if !m.is_empty() => {
            ("{", "}", m.iter().map(|(k, v)| (Some(k), v)).collect())
        }
        Value::Array(a) if !a.is_empty() => ("[", "]", a.iter().map(|v| (None, v)).collect()),
        Value::Object(_) => return cur.push(Span::raw("{}")),
        Value::Array(_) => return cur.push(Span::raw("[]")),
        scalar => return cur.push(scalar_span(scalar, theme)),
    };
    let pad = |n: usize| Span::raw("  ".repeat(n));
    cur.push(Span::raw(open));
    lines.push(Line::from(std::mem::take(cur)));
    let n = members.len();
    for (i, (key, val)) in members.into_iter().enumerate() {
        cur.push(pad(indent + 1));
        if let Some(k) = key {
            cur.push(Span::styled(
                sanitize(&serde_json::to_string(k).unwrap_or_default()),
                theme.fg(Color::Cyan),
            ));
            cur.push(Span::raw(": "));
        }
        json_into(val, indent + 1, theme, lines, cur);
        if i + 1 < n {
            cur.push(Span::raw(","));
        }
        lines.push(Line::from(std::mem::take(cur)));
    }
    cur.push(pad(indent));
    cur.push(Span::raw(close));
}

/// The details pane's lines (pure; used by the view and by tests).
pub fn details_lines(app: &App, d: &DetailsPane, theme: Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    let Some(c) = &d.content else {
        lines.push(Line::from(Span::styled("loading…", theme.dim())));
        return lines;
    };
    let label = |s: &str| Span::styled(format!("{s:<10}"), theme.dim());
    let Some(a) = &c.artifact else {
        lines.push(Line::from(Span::styled(
            "INVALID ARTIFACT FILE",
            theme.error(),
        )));
        lines.push(Line::from(vec![
            label("file"),
            Span::raw(sanitize(&c.path)),
        ]));
        lines.push(Line::from(vec![
            label("reason"),
            Span::styled(sanitize(c.error.as_deref().unwrap_or("")), theme.error()),
        ]));
        lines.push(Line::from(Span::styled(
            "rmos never modifies or deletes it; fix or move the file, it is re-read automatically.",
            theme.dim(),
        )));
        return lines;
    };
    let status = a.status.as_str();
    lines.push(Line::from(vec![
        Span::styled(sanitize(&a.run_id), theme.title()),
        Span::raw("  "),
        Span::styled(format!("[{status}]"), theme.status(status)),
    ]));
    let risk = a.decision.risk_level.clone();
    lines.push(Line::from(vec![
        label("risk"),
        Span::styled(sanitize(&risk), theme.risk(&risk)),
        Span::raw("   score "),
        Span::raw(
            a.decision
                .score
                .map(|s| format!("{s:.2}"))
                .unwrap_or_else(|| "-".into()),
        ),
    ]));
    lines.push(Line::from(vec![
        label("mode"),
        Span::raw(sanitize(&a.mode)),
        Span::raw("   tool "),
        Span::raw(sanitize(&a.tool_id)),
    ]));
    lines.push(Line::from(vec![
        label("event"),
        Span::raw(sanitize(&a.event_type)),
    ]));
    lines.push(Line::from(vec![
        label("created"),
        Span::raw(local_time(app, a.created_at_utc.epoch_micros(), true)),
        Span::styled(" local  ", theme.dim()),
        Span::raw(a.created_at_utc.to_isoformat()),
    ]));
    if let Some(src) = a.source() {
        lines.push(Line::from(vec![label("source"), Span::raw(sanitize(&src))]));
    }
    lineage_lines(&mut lines, a, c, theme);
    if let Some(b) = &a.decision.block_reason {
        lines.push(Line::from(vec![
            label("blocked"),
            Span::styled(sanitize(b), theme.status("BLOCKED")),
        ]));
    }
    if !a.decision.warnings.is_empty() {
        lines.push(Line::from(label("warnings")));
        for w in &a.decision.warnings {
            lines.push(Line::from(vec![
                Span::raw("  - "),
                Span::styled(sanitize(w), theme.fg(Color::Yellow)),
            ]));
        }
    }
    let verify_style = match c.verify.as_str() {
        "ok" => theme.fg(Color::Green),
        "placeholder" => theme.dim(),
        _ => theme.error(),
    };
    // Each hash on a line of its own: a SHA-256 then wraps only where the pane is
    // narrower than the hash itself.
    lines.push(Line::from(vec![
        label("hash"),
        Span::raw("feasibility "),
        Span::styled(c.verify.clone(), verify_style),
    ]));
    lines.push(Line::from(format!(
        "  {}",
        sanitize(&a.hashes.feasibility_sha256)
    )));
    if let Some(detail) = &c.verify_detail {
        lines.push(Line::from(Span::styled(
            format!("          {}", sanitize(detail)),
            verify_style,
        )));
    }
    for (name, h) in a.hashes.outputs() {
        lines.push(Line::from(vec![label(""), Span::raw(name.to_string())]));
        lines.push(Line::from(format!("  {}", sanitize(h))));
    }
    if a.advisory_inputs.is_empty() {
        lines.push(Line::from(vec![
            label("advisory"),
            Span::styled("none attached", theme.dim()),
        ]));
    } else {
        lines.push(Line::from(label("advisory")));
        for r in &a.advisory_inputs {
            lines.push(Line::from(format!(
                "  - {} ({}, {})",
                sanitize(&r.advisory_id),
                sanitize(&r.kind),
                sanitize(&r.status)
            )));
        }
    }
    lines.push(Line::from(vec![
        label("file"),
        Span::raw(sanitize(&c.path)),
    ]));
    if let Some(b) = crate::scoring::explain::breakdown(&a.feasibility) {
        scoring_lines(&mut lines, &b, theme);
    }
    let sections: [(&str, Value); 4] = [
        ("request summary", Value::Object(a.request_summary.clone())),
        ("feasibility", Value::Object(a.feasibility.clone())),
        (
            "outputs",
            serde_json::to_value(&a.outputs).unwrap_or(Value::Null),
        ),
        ("meta", Value::Object(a.meta.clone())),
    ];
    for (title, v) in sections {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("── {title} "),
            theme.title(),
        )));
        lines.extend(json_lines(&v, theme));
    }
    lines
}

/// A value in a diff line: strings quoted, long values cut.
fn diff_value(v: &Value, max: usize) -> String {
    let text = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    fit(&sanitize(&text), max)
}

/// The diff pane's lines: a summary, then one change per line (long values below it).
pub fn diff_lines(app: &App, d: &DiffPane, theme: Theme) -> Vec<Line<'static>> {
    use crate::domain::diff::ChangeKind;
    let (w, _) = details_geometry(app);
    let mut lines = vec![Line::from(vec![
        Span::styled(sanitize(&d.a), theme.title()),
        Span::styled(" → ", theme.dim()),
        Span::styled(sanitize(&d.b), theme.title()),
    ])];
    let changes = match &d.changes {
        None => {
            lines.push(Line::from(Span::styled("comparing…", theme.dim())));
            return lines;
        }
        Some(Err(e)) => {
            lines.push(Line::from(Span::styled(
                format!("cannot compare: {}", sanitize(e)),
                theme.error(),
            )));
            return lines;
        }
        Some(Ok(c)) => c,
    };
    lines.push(Line::from(Span::styled(
        match changes.len() {
            0 => "no differences".to_owned(),
            1 => "1 difference".to_owned(),
            n => format!("{n} differences"),
        },
        theme.dim(),
    )));
    let room = (w as usize).saturating_sub(4).max(8);
    for c in changes {
        let (mark, style) = match c.kind {
            ChangeKind::Added => ("+ ", theme.fg(Color::Green)),
            ChangeKind::Removed => ("- ", theme.fg(Color::Red)),
            ChangeKind::Changed => ("~ ", theme.fg(Color::Yellow)),
        };
        lines.push(Line::from(vec![
            Span::styled(mark, style),
            Span::styled(sanitize(&c.path), theme.key()),
        ]));
        match (&c.a, &c.b) {
            (Some(a), Some(b)) => {
                lines.push(Line::from(vec![
                    Span::styled("    was ", theme.dim()),
                    Span::raw(diff_value(a, room.saturating_sub(4))),
                ]));
                lines.push(Line::from(vec![
                    Span::styled("    now ", theme.dim()),
                    Span::styled(diff_value(b, room.saturating_sub(4)), style),
                ]));
            }
            (Some(v), None) | (None, Some(v)) => {
                lines.push(Line::from(vec![
                    Span::raw("    "),
                    Span::styled(diff_value(v, room), style),
                ]));
            }
            (None, None) => {}
        }
    }
    lines
}

fn diff_wrapped(app: &App, d: &DiffPane, theme: Theme) -> Vec<Line<'static>> {
    let (w, _) = details_geometry(app);
    diff_lines(app, d, theme)
        .into_iter()
        .flat_map(|l| wrap_line(l, w as usize))
        .collect()
}

/// How far the diff pane scrolls.
pub fn diff_max_scroll(app: &App) -> u16 {
    let Some(d) = &app.diff else {
        return 0;
    };
    let (_, h) = details_geometry(app);
    let n = diff_wrapped(app, d, Theme { color: false }).len();
    n.saturating_sub(h as usize).min(u16::MAX as usize) as u16
}

fn render_diff(f: &mut Frame<'_>, area: Rect, app: &App, d: &DiffPane, theme: Theme) {
    let lines = diff_wrapped(app, d, theme);
    let inner_h = area.height.saturating_sub(2) as usize;
    let scroll = (d.scroll as usize).min(lines.len().saturating_sub(inner_h));
    let room = area.width.saturating_sub(4) as usize;
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(fit(" diff ", room), theme.title()))
        .title_bottom(Line::from(Span::styled(
            fit(super::keymap::DIFF_TITLE, room),
            theme.dim(),
        )));
    let shown: Vec<Line> = lines.into_iter().skip(scroll).take(inner_h).collect();
    f.render_widget(Paragraph::new(shown).block(block), area);
}

/// Where the run came from and what came from it: parent, plan, drift, children.
fn lineage_lines(
    lines: &mut Vec<Line<'static>>,
    a: &crate::domain::RunArtifact,
    c: &super::msg::Details,
    theme: Theme,
) {
    let label = |s: &str| Span::styled(format!("{s:<10}"), theme.dim());
    if let Some(p) = a.parent_run_id.as_deref().filter(|p| !p.trim().is_empty()) {
        lines.push(Line::from(vec![
            label("parent"),
            Span::styled(sanitize(p), theme.key()),
        ]));
    }
    if let Some(p) = a
        .lineage
        .as_ref()
        .and_then(|l| l.parent_plan_run_id.as_deref())
        .filter(|p| !p.trim().is_empty())
    {
        lines.push(Line::from(vec![
            label("plan"),
            Span::styled(sanitize(p), theme.key()),
        ]));
    }
    if a.drift_detected.is_some() || a.drift_summary.is_some() {
        let (what, style) = match a.drift_detected {
            Some(true) => ("detected", theme.fg(Color::Yellow)),
            Some(false) => ("none", Style::default()),
            None => ("not recorded", theme.dim()),
        };
        let mut spans = vec![label("drift"), Span::styled(what, style)];
        if let Some(s) = a.drift_summary.as_ref().filter(|s| !s.is_empty()) {
            spans.push(Span::raw("  "));
            spans.push(Span::raw(sanitize(&Value::Object(s.clone()).to_string())));
        }
        lines.push(Line::from(spans));
    }
    if c.children_total > 0 {
        lines.push(Line::from(vec![
            label("children"),
            Span::raw(format!("{}", c.children_total)),
            Span::styled(
                if c.children_total as usize > c.children.len() {
                    format!(" (newest {} shown)", c.children.len())
                } else {
                    String::new()
                },
                theme.dim(),
            ),
        ]));
        for id in &c.children {
            lines.push(Line::from(vec![
                Span::raw("  - "),
                Span::styled(sanitize(id), theme.key()),
            ]));
        }
    }
}

/// The scoring components as a table: weight, score, bucket, what was measured; a
/// component's warning on the line below it.
fn scoring_lines(
    lines: &mut Vec<Line<'static>>,
    b: &crate::scoring::explain::Breakdown,
    theme: Theme,
) {
    let num = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("── scoring ", theme.title())));
    let recorded = b.recorded_bucket.as_deref().unwrap_or("-").to_owned();
    lines.push(Line::from(vec![
        Span::styled("weighted ", theme.dim()),
        Span::raw(num(b.weighted)),
        Span::styled("  recorded ", theme.dim()),
        Span::raw(num(b.recorded_score)),
        Span::raw(" "),
        Span::styled(sanitize(&recorded), theme.risk(&recorded)),
    ]));
    lines.push(Line::from(Span::styled(
        format!("bucket: {}", b.rule()),
        theme.dim(),
    )));
    lines.push(Line::from(Span::styled(
        format!(
            "{:<11}{:>6}{:>7} {:<7}measured",
            "component", "weight", "score", "bucket"
        ),
        theme.dim(),
    )));
    for r in &b.rows {
        let bucket = r.bucket().unwrap_or("-");
        let measured = r.measured_text();
        lines.push(Line::from(vec![
            Span::raw(format!(
                "{:<11}{:>6}{:>7} ",
                fit(&sanitize(&r.label), 10),
                r.weight
                    .map_or_else(|| "-".to_owned(), |w| format!("{w:.2}")),
                num(r.score)
            )),
            Span::styled(format!("{bucket:<7}"), theme.risk(bucket)),
            Span::raw(sanitize(&measured)),
        ]));
        if let Some(w) = r.warning.as_deref().filter(|w| !w.trim().is_empty()) {
            lines.push(Line::from(vec![
                Span::raw("  ! "),
                Span::styled(sanitize(w), theme.fg(Color::Yellow)),
            ]));
        }
    }
}

fn render_details(f: &mut Frame<'_>, area: Rect, app: &App, d: &DetailsPane, theme: Theme) {
    let lines = details_wrapped(app, d, theme);
    let inner_h = area.height.saturating_sub(2) as usize;
    let max_scroll = lines.len().saturating_sub(inner_h);
    let scroll = (d.scroll as usize).min(max_scroll);
    let room = area.width.saturating_sub(4) as usize;
    let title = fit(
        &format!(" details {} ", short_id(&sanitize(&d.run_id))),
        room,
    );
    let position = if max_scroll == 0 {
        " all ".to_owned()
    } else if scroll == max_scroll {
        " end ".to_owned()
    } else {
        format!(" {}% ", scroll * 100 / max_scroll)
    };
    let hints = fit(
        super::keymap::DETAILS_TITLE,
        room.saturating_sub(position.width() + 1),
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.title()))
        .title_bottom(Line::from(Span::styled(hints, theme.dim())))
        .title_bottom(Line::from(Span::styled(position, theme.dim())).right_aligned());
    let needle = needle(app);
    let shown: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .take(inner_h)
        .map(|l| highlight(l, &needle, theme.found()))
        .collect();
    f.render_widget(Paragraph::new(shown).block(block), area);
}

fn render_filter_bar(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    if let Some(edit) = &app.search_input {
        let mut spans = vec![Span::styled("search/ ", theme.key())];
        spans.extend(edit.spans(Style::default(), sanitize));
        spans.push(Span::styled(
            "   Enter find · Esc cancel · then n/N next/previous",
            theme.dim(),
        ));
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        return;
    }
    match &app.input {
        Some(input) => {
            let mut spans = vec![Span::styled("filter> ", theme.key())];
            spans.extend(input.edit.spans(Style::default(), sanitize));
            let typed = input.text();
            if let Some(e) = &input.error {
                spans.push(Span::styled(format!("   ✗ {e}"), theme.error()));
            } else if typed.trim_start().starts_with('@') {
                // A saved filter: show what it stands for.
                spans.push(Span::styled("   = ", theme.dim()));
                spans.push(Span::raw(sanitize(&app.filter_text)));
            } else {
                spans.push(Span::styled(
                    "   Enter keep · Esc cancel · ↑/↓ history",
                    theme.dim(),
                ));
            }
            f.render_widget(Paragraph::new(Line::from(spans)), area);
        }
        None => {
            let text = if app.filter_text.is_empty() {
                vec![
                    Span::styled("filter: none", theme.dim()),
                    Span::styled(
                        "  (f to filter, e.g. risk:red,yellow -status:ok since:2d · / search)",
                        theme.dim(),
                    ),
                ]
            } else {
                vec![
                    Span::styled("filter: ", theme.dim()),
                    Span::raw(sanitize(&app.filter_text)),
                ]
            };
            f.render_widget(Paragraph::new(Line::from(text)), area);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Sessions and snapshots

/// Rows of the sessions or snapshots list at a terminal size.
pub fn records_list_rows(width: u16, height: u16) -> usize {
    queue_list_rows(width, height)
}

fn render_records(
    f: &mut Frame<'_>,
    area: Rect,
    app: &App,
    st: &super::records::RecordsState,
    theme: Theme,
) {
    use super::records::columns;
    let rows = frame_rows(area);
    let noun = match (st.kind, st.all.len()) {
        (super::records::RecordKind::Sessions, 1) => "session",
        (super::records::RecordKind::Sessions, _) => "sessions",
        (super::records::RecordKind::Snapshots, 1) => "snapshot",
        (super::records::RecordKind::Snapshots, _) => "snapshots",
    };
    let mut head = vec![
        Span::styled(format!(" rmos {} ", st.kind.title()), theme.title()),
        Span::raw(if st.loaded {
            if st.shown.len() == st.all.len() {
                format!(" {} {noun}", st.all.len())
            } else {
                format!(" {} of {} {noun}", st.shown.len(), st.all.len())
            }
        } else {
            " reading…".to_owned()
        }),
    ];
    if st.invalid > 0 {
        head.push(Span::styled(
            format!("  {} unreadable files", st.invalid),
            theme.error(),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(head)), rows[0]);
    let split = queue_split(rows[1]);
    // The list.
    let inner_w = split[0].width.saturating_sub(2);
    // Narrow lists show the time without its year, then drop the fourth column (a
    // session's type, a snapshot's score); the last column takes what is left.
    let spec = columns(st.kind);
    let mut shown_cols: Vec<(usize, &str, u16)> = spec
        .iter()
        .enumerate()
        .map(|(i, (t, w))| (i, *t, *w))
        .collect();
    let need =
        |cols: &[(usize, &str, u16)]| -> u16 { cols.iter().map(|c| c.2 + 1).sum::<u16>() + 8 };
    if need(&shown_cols) > inner_w {
        shown_cols[0].2 = 11;
    }
    if need(&shown_cols) > inner_w {
        shown_cols.retain(|c| c.0 != 3);
    }
    let fixed: u16 = shown_cols.iter().map(|c| c.2 + 1).sum();
    let widths: Vec<u16> = shown_cols
        .iter()
        .map(|c| {
            if c.2 == 0 {
                inner_w.saturating_sub(fixed).max(4)
            } else {
                c.2
            }
        })
        .collect();
    let header = Row::new(shown_cols.iter().map(|c| c.1)).style(theme.title());
    let page = records_list_rows(app.width, app.height);
    let visible: Vec<Row> = st
        .shown
        .iter()
        .skip(st.offset)
        .take(page)
        .filter_map(|i| st.all.get(*i))
        .map(|r| {
            Row::new(shown_cols.iter().zip(&widths).map(|(col, w)| {
                let ci = col.0;
                let c = r.cells.get(ci).map(String::as_str).unwrap_or("");
                // A time without its year: "2025-12-23 18:04" → "12-23 18:04".
                let c = if ci == 0 && *w < 16 {
                    c.get(5..).unwrap_or(c)
                } else {
                    c
                };
                let text = fit(&sanitize(c), *w as usize);
                let style = match (st.kind, ci) {
                    (super::records::RecordKind::Sessions, 2) => theme.status(match c {
                        "completed" => "OK",
                        "error" => "ERROR",
                        "cancelled" => "BLOCKED",
                        _ => "",
                    }),
                    (super::records::RecordKind::Snapshots, 2) => theme.risk(c),
                    _ => Style::default(),
                };
                Cell::from(Span::styled(text, style))
            }))
        })
        .collect();
    let constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
    let mut state = TableState::default();
    if !st.shown.is_empty() {
        state.select(Some(st.selected.saturating_sub(st.offset)));
    }
    let table = Table::new(visible, constraints)
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(match st.kind {
            super::records::RecordKind::Sessions => " sessions ",
            super::records::RecordKind::Snapshots => " snapshots ",
        }))
        .row_highlight_style(theme.selected());
    f.render_stateful_widget(table, split[0], &mut state);
    if let Some(e) = &st.error {
        let r = Rect {
            x: split[0].x + 1,
            y: split[0].y + 2,
            width: split[0].width.saturating_sub(2),
            height: 1,
        };
        f.render_widget(
            Paragraph::new(Span::styled(
                fit(&sanitize(e), r.width as usize),
                theme.error(),
            )),
            r,
        );
    } else if st.loaded && st.all.is_empty() {
        let hint = match st.kind {
            super::records::RecordKind::Sessions => {
                "No workflow sessions yet: the CAM workflow records them here (rmos demo adds one)."
            }
            super::records::RecordKind::Snapshots => {
                "No design snapshots yet. Save one with: rmos snapshot export DESIGN.json"
            }
        };
        render_empty_state(f, split[0], hint, theme);
    }
    // The details.
    let dw = split[1].width.saturating_sub(2) as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some(r) = st.selected_row() {
        let lw = r.fields.iter().map(|(l, _)| l.width()).max().unwrap_or(0) + 2;
        for (label, value) in &r.fields {
            lines.push(Line::from(vec![
                Span::styled(format!("{label:<lw$}"), theme.dim()),
                Span::raw(sanitize(value)),
            ]));
        }
        lines.push(Line::from(""));
        let runs_title = match (st.kind, r.runs.len()) {
            (_, 0) => "runs: none".to_owned(),
            (super::records::RecordKind::Snapshots, _) => {
                "recorded by run (Enter opens it)".to_owned()
            }
            (_, n) => format!("runs ({n}, Enter opens one)"),
        };
        lines.push(Line::from(Span::styled(runs_title, theme.title())));
        for id in &r.runs {
            lines.push(Line::from(vec![
                Span::raw("  - "),
                Span::styled(sanitize(id), theme.key()),
            ]));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("── document ", theme.title())));
        lines.extend(json_lines(&r.doc, theme));
    }
    let wrapped: Vec<Line<'static>> = lines.into_iter().flat_map(|l| wrap_line(l, dw)).collect();
    let inner_h = split[1].height.saturating_sub(2) as usize;
    let scroll = (st.scroll as usize).min(wrapped.len().saturating_sub(inner_h));
    let title = st
        .selected_row()
        .map(|r| format!(" {} ", fit(&sanitize(&r.id), dw.saturating_sub(2))))
        .unwrap_or_else(|| " details ".to_owned());
    f.render_widget(
        Paragraph::new(
            wrapped
                .into_iter()
                .skip(scroll)
                .take(inner_h)
                .collect::<Vec<_>>(),
        )
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, theme.title())),
        ),
        split[1],
    );
    // Filter line and status.
    let filter_line = match &st.filter_input {
        Some((edit, _)) => {
            let mut spans = vec![Span::styled("filter: ", theme.key())];
            spans.extend(edit.spans(Style::default(), sanitize));
            Line::from(spans)
        }
        None if st.filter.is_empty() => Line::from(Span::styled(
            "filter: none  (f to filter by words: id, status, type, tool, name, tags…)",
            theme.dim(),
        )),
        None => Line::from(vec![
            Span::styled("filter: ", theme.dim()),
            Span::raw(sanitize(&st.filter)),
        ]),
    };
    f.render_widget(Paragraph::new(filter_line), rows[2]);
    let status = match &app.message {
        Some((m, e)) => Line::from(Span::styled(
            sanitize(m),
            if *e { theme.error() } else { theme.key() },
        )),
        None => Line::from(Span::styled(
            fit(super::keymap::RECORDS_STATUS, area.width as usize),
            theme.dim(),
        )),
    };
    f.render_widget(Paragraph::new(status), rows[3]);
}

// ---------------------------------------------------------------------------------------
// The timeline

/// Columns of the timeline's count axis ("12345 ┤").
const AXIS_W: u16 = 7;

/// How many buckets the timeline shows at a terminal width (a bar and a gap each).
pub fn timeline_capacity(width: u16) -> usize {
    (width.saturating_sub(2 + AXIS_W) / 2).clamp(1, 1000) as usize
}

/// A layer's colour and, for when there is none, its pattern.
fn layer_look(
    by: crate::store::index::StackBy,
    i: usize,
    name: &str,
    theme: Theme,
) -> (Style, &'static str) {
    const GLYPHS: [&str; 6] = ["█", "▓", "▒", "░", "▚", "·"];
    let glyph = if theme.color {
        "█"
    } else {
        GLYPHS[i.min(GLYPHS.len() - 1)]
    };
    let style = match (by, name) {
        (_, "OTHER") => theme.dim(),
        (crate::store::index::StackBy::Risk, n) => theme.risk(n),
        (crate::store::index::StackBy::Status, n) => theme.status(n),
    };
    (style.remove_modifier(Modifier::BOLD), glyph)
}

fn render_timeline(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    use super::timeline::{bucket_label, bucket_name};
    use crate::store::index::{Bucket, StackBy};
    let rows = frame_rows(area);
    render_header(f, rows[0], app, theme);
    render_filter_bar(f, rows[2], app, theme);
    let status = match &app.message {
        Some((m, e)) => Line::from(Span::styled(
            sanitize(m),
            if *e { theme.error() } else { theme.key() },
        )),
        None => Line::from(Span::styled(
            fit(super::keymap::TIMELINE_STATUS, area.width as usize),
            theme.dim(),
        )),
    };
    f.render_widget(Paragraph::new(status), rows[3]);
    let t = &app.timeline;
    let by = match t.by {
        StackBy::Risk => "risk",
        StackBy::Status => "status",
    };
    let title = format!(
        " timeline · runs per {} · by {by}{} ",
        bucket_name(t.bucket),
        if t.end_us.is_none() {
            " · to the newest run"
        } else {
            ""
        }
    );
    let block = Block::default().borders(Borders::ALL).title(Span::styled(
        fit(&title, rows[1].width.saturating_sub(4) as usize),
        theme.title(),
    ));
    let inner = block.inner(rows[1]);
    f.render_widget(block, rows[1]);
    if inner.height < 5 || inner.width <= AXIS_W + 2 {
        return;
    }
    let say = |f: &mut Frame<'_>, text: String, style: Style| {
        f.render_widget(
            Paragraph::new(Span::styled(text, style)),
            Rect { height: 1, ..inner },
        );
    };
    if let Some(e) = &t.error {
        say(f, format!("cannot count: {}", sanitize(e)), theme.error());
        return;
    }
    if t.bins.is_empty() {
        say(
            f,
            if t.loading {
                "counting…".into()
            } else {
                "no runs".into()
            },
            theme.dim(),
        );
        return;
    }
    let layers = t.by.layers();
    // Legend.
    let mut legend = Vec::new();
    for (i, name) in layers.iter().enumerate() {
        let (style, glyph) = layer_look(t.by, i, name, theme);
        legend.push(Span::styled(format!("{glyph}{glyph} "), style));
        legend.push(Span::raw(format!("{}  ", name.to_lowercase())));
    }
    f.render_widget(
        Paragraph::new(Line::from(legend)),
        Rect { height: 1, ..inner },
    );
    let plot_h = inner.height - 4;
    let plot_top = inner.y + 1;
    let axis_y = plot_top + plot_h;
    let max = t.bins.iter().map(|b| b.total).max().unwrap_or(0).max(1);
    let buf = f.buffer_mut();
    let dim = theme.dim();
    // The count axis: the highest bar's count at the top, 0 at the axis.
    buf.set_string(inner.x, plot_top, format!("{max:>5} ┤"), dim);
    for y in plot_top + 1..axis_y {
        buf.set_string(inner.x + AXIS_W - 1, y, "│", dim);
    }
    buf.set_string(inner.x, axis_y, "    0 └", dim);
    let x0 = inner.x + AXIS_W;
    let right = inner.right();
    for x in x0..right {
        buf.set_string(x, axis_y, "─", dim);
    }
    for (i, bin) in t.bins.iter().enumerate() {
        let x = x0 + (i as u16) * 2;
        if x >= right {
            break;
        }
        // Each layer's top, scaled; a bucket with runs shows at least one cell.
        let mut cum = 0u64;
        let mut prev_h = 0u16;
        for (li, n) in bin.counts.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            cum += n;
            let mut h = ((cum as f64 / max as f64) * f64::from(plot_h)).round() as u16;
            h = h.max(prev_h + 1).min(plot_h);
            let (style, glyph) =
                layer_look(t.by, li, layers.get(li).copied().unwrap_or("OTHER"), theme);
            for row in prev_h..h {
                buf.set_string(x, axis_y - 1 - row, glyph, style);
            }
            prev_h = h;
        }
        if i == t.selected {
            buf.set_string(x, axis_y, "▲", theme.key().add_modifier(Modifier::BOLD));
        }
    }
    // Time labels under the axis, spaced so they never touch.
    let fmt = match t.bucket {
        Bucket::Hour => "%d %Hh",
        Bucket::Day | Bucket::Week => "%m-%d",
    };
    let label_w = 6u16;
    let step = usize::from(label_w / 2 + 1);
    for (i, bin) in t.bins.iter().enumerate() {
        let x = x0 + (i as u16) * 2;
        if i % step != 0 || x + label_w > right {
            continue;
        }
        let when = chrono::DateTime::from_timestamp_micros(bin.start_us).unwrap_or_default();
        buf.set_string(x, axis_y + 1, when.format(fmt).to_string(), dim);
    }
    // The selected bucket in words.
    if let Some(b) = t.selected_bin() {
        let mut spans = vec![
            Span::styled(bucket_label(t.bucket, b.start_us), theme.title()),
            Span::raw(format!(
                " (UTC): {} run{}",
                b.total,
                if b.total == 1 { "" } else { "s" }
            )),
        ];
        for (li, n) in b.counts.iter().enumerate() {
            if *n > 0 {
                let name = layers.get(li).copied().unwrap_or("OTHER");
                let (style, _) = layer_look(t.by, li, name, theme);
                spans.push(Span::raw(" · "));
                spans.push(Span::styled(format!("{} {n}", name.to_lowercase()), style));
            }
        }
        f.render_widget(
            Paragraph::new(Line::from(spans)),
            Rect {
                y: axis_y + 2,
                height: 1,
                ..inner
            },
        );
    }
}

fn render_status(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let line = if let Some(e) = &app.error {
        Line::from(Span::styled(sanitize(e), theme.error()))
    } else if let Some((m, is_err)) = &app.message {
        Line::from(Span::styled(
            sanitize(m),
            if *is_err { theme.error() } else { theme.key() },
        ))
    } else if let Some(w) = &app.warning {
        Line::from(Span::styled(format!("⚠ {}", sanitize(w)), theme.error()))
    } else if let Some(p) = &app.reconcile {
        Line::from(Span::styled(
            format!(
                "indexing: partition {}/{} ({}), {} files read",
                p.partitions_done, p.partitions_total, p.current, p.files_parsed
            ),
            theme.dim(),
        ))
    } else {
        let hints = if usize::from(area.width) >= super::keymap::RUNS_STATUS_WIDE.width() {
            super::keymap::RUNS_STATUS_WIDE
        } else {
            super::keymap::RUNS_STATUS
        };
        Line::from(Span::styled(hints, theme.dim()))
    };
    f.render_widget(Paragraph::new(line), area);
}

fn render_copy_menu(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    use super::keymap::{CopyAction, COPY};
    let target = app
        .details
        .as_ref()
        .map(|d| (d.run_id.clone(), None))
        .or_else(|| {
            app.selected_row()
                .map(|r| (r.run_id.clone(), r.block_reason.clone()))
        });
    let w = 76.min(area.width);
    let inner = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for b in COPY.bindings {
        let Some((label, help)) = b.help else {
            continue;
        };
        let detail = match b.action {
            CopyAction::Id => target.as_ref().map(|(id, _)| id.clone()),
            CopyAction::Reason if app.details.is_none() => Some(
                target
                    .as_ref()
                    .and_then(|(_, r)| r.clone())
                    .unwrap_or_else(|| "(none)".into()),
            ),
            CopyAction::Command => Some(app.filter_command()),
            CopyAction::Marked => Some(format!("({})", app.marks.len())),
            _ => None,
        };
        let mut spans = vec![
            Span::styled(format!(" {label:<6} "), theme.key()),
            Span::raw(help.to_owned()),
        ];
        if let Some(d) = detail {
            let used = label.width().max(6) + 2 + help.width();
            let room = inner.saturating_sub(used + 2);
            if room > 3 {
                spans.push(Span::styled(
                    format!("  {}", fit(&sanitize(&d), room)),
                    theme.dim(),
                ));
            }
        }
        lines.push(Line::from(spans));
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" copy (OSC 52) ")
                .title_bottom(Span::styled(
                    " a key copies · any other closes ",
                    theme.dim(),
                )),
        ),
        r,
    );
}

/// Rows of saved filters the picker shows at once in a terminal `height` rows high.
pub fn picker_rows(height: u16) -> usize {
    (height.saturating_sub(6) as usize).clamp(1, 20)
}

fn render_picker(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let sel = app.picker.unwrap_or(0);
    let n = app.saved_filters.len();
    let rows = picker_rows(area.height).min(n.max(2));
    let w = 90.min(area.width);
    let h = (rows as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    let inner = r.width.saturating_sub(2) as usize;
    let lines: Vec<Line> = if n == 0 {
        let text = match &app.saved_error {
            Some(e) => format!("Cannot read the saved filters: {e}"),
            None => "No saved filters yet. Save one with: rmos filters save NAME 'EXPRESSION'"
                .to_owned(),
        };
        let style = if app.saved_error.is_some() {
            theme.error()
        } else {
            theme.dim()
        };
        wrap_line(Line::from(Span::styled(sanitize(&text), style)), inner)
    } else {
        let first = sel.saturating_sub(rows - 1).min(n.saturating_sub(rows));
        let nw = app
            .saved_filters
            .iter()
            .map(|(name, _)| name.width() + 1)
            .max()
            .unwrap_or(0)
            .min(inner / 3);
        app.saved_filters
            .iter()
            .enumerate()
            .skip(first)
            .take(rows)
            .map(|(i, (name, expr))| {
                let label = fit(&format!("@{}", sanitize(name)), nw);
                let text = format!(
                    "{label:<nw$}  {}",
                    fit(&sanitize(expr), inner.saturating_sub(nw + 2))
                );
                if i == sel {
                    Line::from(Span::styled(format!("{text:<inner$}"), theme.selected()))
                } else {
                    Line::from(vec![
                        Span::styled(format!("{label:<nw$}  "), theme.key()),
                        Span::raw(fit(&sanitize(expr), inner.saturating_sub(nw + 2))),
                    ])
                }
            })
            .collect()
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" saved filters ({n}) "))
                .title_bottom(Span::styled(super::keymap::PICKER_KEYS, theme.dim())),
        ),
        r,
    );
}

/// (key, help) pairs as lines: two columns when `two_columns`, filled down then across.
fn key_lines(
    pairs: &[(&str, &str)],
    w: usize,
    two_columns: bool,
    theme: Theme,
) -> Vec<Line<'static>> {
    // The key column fits the longest key of the table (at least 11 columns).
    let kw = pairs
        .iter()
        .map(|(k, _)| k.width())
        .max()
        .unwrap_or(0)
        .max(11);
    let entry = |(k, h): (&str, &str), width: usize| -> Vec<Span<'static>> {
        vec![
            Span::styled(format!("  {k:<kw$} "), theme.key()),
            Span::raw(fit(h, width.saturating_sub(kw + 3))),
        ]
    };
    if !two_columns {
        return pairs
            .iter()
            .map(|p| Line::from(entry(*p, w.saturating_sub(2))))
            .collect();
    }
    let half = pairs.len().div_ceil(2);
    let col_w = w.saturating_sub(2) / 2;
    let (left, right) = pairs.split_at(half);
    left.iter()
        .enumerate()
        .map(|(i, p)| {
            let mut spans = entry(*p, col_w);
            let used: usize = spans.iter().map(|s| s.content.width()).sum();
            spans.push(Span::raw(" ".repeat(col_w.saturating_sub(used))));
            if let Some(p) = right.get(i) {
                spans.extend(entry(*p, col_w));
            }
            Line::from(spans)
        })
        .collect()
}

/// The help overlay's lines for an overlay `w` columns wide.
fn help_lines(w: u16, theme: Theme) -> Vec<Line<'static>> {
    let two_columns = w >= 76;
    let mut lines: Vec<Line> = vec![Line::from(Span::styled(RUNS.title, theme.title()))];
    lines.extend(key_lines(&RUNS.help_rows(), w as usize, two_columns, theme));
    lines.push(Line::from(Span::styled(QUEUE.title, theme.title())));
    lines.extend(key_lines(
        &QUEUE.help_rows(),
        w as usize,
        two_columns,
        theme,
    ));
    lines.push(Line::from(Span::styled(
        super::keymap::TIMELINE.title,
        theme.title(),
    )));
    lines.extend(key_lines(
        &super::keymap::TIMELINE.help_rows(),
        w as usize,
        two_columns,
        theme,
    ));
    lines.push(Line::from(Span::styled(
        super::keymap::RECORDS.title,
        theme.title(),
    )));
    lines.extend(key_lines(
        &super::keymap::RECORDS.help_rows(),
        w as usize,
        two_columns,
        theme,
    ));
    lines.push(Line::from(Span::styled(
        "Text lines (filter bar, queue filter, note)",
        theme.title(),
    )));
    lines.extend(key_lines(EDIT_KEYS, w as usize, two_columns, theme));
    lines.push(Line::from(Span::styled("List marks", theme.title())));
    lines.push(Line::from(fit(
        "  ✗ hash mismatch · ≡ run_id in several files · ! invalid · ○ placeholder hash · · uncovered",
        (w as usize).saturating_sub(2),
    )));
    lines.push(Line::from(Span::styled("Filter", theme.title())));
    for l in [
        "  risk:red,yellow mode: tool: status: source: event: verify:ok|mismatch|…",
        "  -term negates · score<50 (< <= > >= = !=) · id:5eed or id:run_5eed (prefix)",
        "  since:2d|12h|2025-12-01 until:2025-12-24 · words: id, tool, warnings, block",
    ] {
        lines.push(Line::from(fit(l, (w as usize).saturating_sub(2))));
    }
    lines
}

fn help_rect(area: Rect) -> (Rect, usize) {
    let w = 96.min(area.width);
    let n = help_lines(w, Theme { color: false }).len();
    let h = (n as u16 + 2).min(area.height);
    (centered(area, w, h), n)
}

/// How far the help overlay scrolls (0 when it fits the terminal).
pub fn help_max_scroll(app: &App) -> u16 {
    let (r, n) = help_rect(Rect::new(0, 0, app.width, app.height));
    n.saturating_sub(r.height.saturating_sub(2) as usize) as u16
}

fn render_help(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let (r, _) = help_rect(area);
    let lines = help_lines(r.width, theme);
    let max = help_max_scroll(app);
    let scroll = app.help_scroll.min(max);
    let bottom = if max > 0 {
        super::keymap::HELP_SCROLL
    } else {
        " any key closes this help "
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).scroll((scroll, 0)).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" help ")
                .title_bottom(Span::styled(bottom, theme.dim())),
        ),
        r,
    );
}

// ---------------------------------------------------------------------------------------
// The review queue

fn age(app: &App, created: &str) -> String {
    let Ok(t) = crate::domain::Timestamp::parse(created) else {
        return "?".into();
    };
    if app.epoch_secs == 0 {
        return "-".into(); // no clock yet
    }
    match (app.epoch_secs - t.utc().timestamp()).max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The queue's list and preview: side by side from 100 columns, else stacked.
fn queue_split(body: Rect) -> std::rc::Rc<[Rect]> {
    Layout::default()
        .direction(if body.width >= 100 {
            Direction::Horizontal
        } else {
            Direction::Vertical
        })
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .split(body)
}

/// Where the review queue's (and the sessions' and snapshots') list is drawn.
pub fn queue_list_area(width: u16, height: u16) -> Rect {
    queue_split(frame_rows(Rect::new(0, 0, width, height))[1])[0]
}

/// Asset rows the queue list shows at a terminal size (the page for its motion keys).
pub fn queue_list_rows(width: u16, height: u16) -> usize {
    let list = queue_split(frame_rows(Rect::new(0, 0, width, height))[1])[0];
    list.height.saturating_sub(3).max(1) as usize
}

/// Where the preview is drawn: its pane, or the whole terminal but the status line.
fn preview_area(app: &App) -> Rect {
    let area = Rect::new(0, 0, app.width, app.height);
    if app.queue.fullscreen {
        Rect {
            height: area.height.saturating_sub(1),
            ..area
        }
    } else {
        queue_split(frame_rows(area)[1])[1]
    }
}

fn state_style(state: ReviewState, theme: Theme) -> Style {
    match state {
        ReviewState::Approved => theme.status("OK"),
        ReviewState::Rejected => theme.status("ERROR"),
        ReviewState::Pending => theme.status("BLOCKED"),
    }
}

fn render_queue(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme, gfx: &mut Graphics) {
    let q = &app.queue;
    if q.fullscreen {
        render_preview(f, preview_area(app), app, theme, gfx);
        render_queue_status(
            f,
            Rect {
                y: area.bottom().saturating_sub(1),
                height: area.height.min(1),
                ..area
            },
            app,
            theme,
        );
        if let Some(m) = &q.modal {
            render_modal(f, area, m, theme);
        }
        return;
    }
    let rows = frame_rows(area);
    let (p, a, r) = q.counts;
    let header = Line::from(vec![
        Span::styled(" rmos review queue ", theme.title()),
        Span::styled(format!(" {p} pending"), theme.status("BLOCKED")),
        Span::raw(" · "),
        Span::styled(format!("{a} approved"), theme.status("OK")),
        Span::raw(" · "),
        Span::styled(format!("{r} rejected"), theme.status("ERROR")),
        Span::styled(
            format!("   showing {} (s to change)", q.status.as_str()),
            theme.dim(),
        ),
        Span::styled(
            if q.marked.is_empty() {
                String::new()
            } else {
                format!("   {} marked", q.marked.len())
            },
            theme.key(),
        ),
        Span::styled(
            if app.shared_trouble.is_some() {
                "   [offline: reconnecting]"
            } else {
                ""
            },
            theme.error(),
        ),
    ]);
    f.render_widget(Paragraph::new(header), rows[0]);
    let split = queue_split(rows[1]);
    // List
    let show_status = q.status == super::queue::StatusFilter::All;
    let inner_w = split[0].width.saturating_sub(2) as usize;
    // Columns by priority: the asset id always shows in full when it can; provider,
    // confidence and age give way first, in that order.
    #[derive(Clone, Copy, PartialEq)]
    enum QCol {
        Mark,
        Status,
        Type,
        Provider,
        Age,
        Conf,
    }
    let mut cols: Vec<(QCol, &str, u16)> = vec![(QCol::Mark, "", 1)];
    if show_status {
        cols.push((QCol::Status, "status", 8));
    }
    cols.extend([
        (QCol::Type, "type", 11),
        (QCol::Provider, "provider", 10),
        (QCol::Age, "age", 4),
        (QCol::Conf, "conf", 4),
    ]);
    let longest_id = q
        .assets
        .iter()
        .map(|a| sanitize(&a.asset_id).width())
        .max()
        .unwrap_or(8)
        .clamp(8, 24);
    let fixed =
        |cols: &[(QCol, &str, u16)]| -> usize { cols.iter().map(|c| c.2 as usize + 1).sum() };
    for drop in [QCol::Provider, QCol::Conf, QCol::Age] {
        if inner_w.saturating_sub(fixed(&cols)) >= longest_id {
            break;
        }
        cols.retain(|c| c.0 != drop);
    }
    let id_w = inner_w.saturating_sub(fixed(&cols)).max(8) as u16;
    let mut titles: Vec<&str> = cols.iter().map(|c| c.1).collect();
    titles.push("asset");
    let head = Row::new(titles).style(theme.title());
    let h = split[0].height.saturating_sub(3).max(1) as usize;
    // The selection is always one of the visible rows, whatever the stored offset says.
    let mut start = q.offset.min(q.assets.len());
    if q.selected < start {
        start = q.selected;
    } else if q.selected >= start + h {
        start = q.selected + 1 - h;
    }
    let end = (start + h).min(q.assets.len());
    let list_rows: Vec<Row> = q.assets[start..end]
        .iter()
        .map(|x| {
            let mut cells: Vec<Cell> = cols
                .iter()
                .map(|c| match c.0 {
                    QCol::Mark => Cell::from(if q.marked.contains(&x.asset_id) {
                        "✓"
                    } else {
                        " "
                    }),
                    QCol::Status => {
                        Cell::from(Span::styled(x.state.as_str(), state_style(x.state, theme)))
                    }
                    QCol::Type => Cell::from(Span::styled(
                        x.asset_type.as_str(),
                        match x.state {
                            ReviewState::Pending => Style::default(),
                            s => state_style(s, theme),
                        },
                    )),
                    QCol::Provider => {
                        Cell::from(fit(&sanitize(x.provider.as_deref().unwrap_or("-")), 10))
                    }
                    QCol::Age => Cell::from(age(app, &x.created_at)),
                    QCol::Conf => Cell::from(
                        x.confidence
                            .map(|c| format!("{c:.2}"))
                            .unwrap_or_else(|| "  -".into()),
                    ),
                })
                .collect();
            cells.push(Cell::from(fit(&sanitize(&x.asset_id), id_w as usize)));
            Row::new(cells)
        })
        .collect();
    let mut constraints: Vec<Constraint> = cols.iter().map(|c| Constraint::Length(c.2)).collect();
    constraints.push(Constraint::Length(id_w));
    let title = match (q.loaded, q.assets.len()) {
        (false, _) => " loading… ".to_owned(),
        (true, n) if n != q.all.len() => format!(" {n} of {} assets ", q.all.len()),
        (true, 1) => " 1 asset ".to_owned(),
        (true, n) => format!(" {n} assets "),
    };
    let position = if q.assets.len() > h {
        format!(" {}/{} ", q.selected + 1, q.assets.len())
    } else {
        String::new()
    };
    let table = Table::new(list_rows, constraints)
        .header(head)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(title)
                .title_bottom(Line::from(Span::styled(position, theme.dim())).right_aligned()),
        )
        .row_highlight_style(theme.selected());
    let mut state = TableState::default();
    if !q.assets.is_empty() {
        state.select(Some(q.selected - start));
    }
    f.render_stateful_widget(table, split[0], &mut state);
    if q.loaded && q.assets.is_empty() {
        let msg = match q.status {
            _ if !q.all.is_empty() => {
                "No asset matches the filter. Press f to change it, Esc to clear it."
            }
            super::queue::StatusFilter::Pending => {
                "Nothing to review. New assets (rmos advisory add) appear here."
            }
            _ => "No assets in this state. Press s to change the status filter.",
        };
        render_empty_state(f, split[0], msg, theme);
    }
    render_preview(f, split[1], app, theme, gfx);
    render_queue_status(f, rows[3], app, theme);
    let mut bar = vec![Span::styled(
        if app.read_only {
            format!(
                "browsing as {} (read-only data root)",
                sanitize(&app.reviewer)
            )
        } else {
            format!("reviewing as {}", sanitize(&app.reviewer))
        },
        theme.dim(),
    )];
    if let Some((edit, _)) = &q.filter_input {
        bar.push(Span::styled("   filter: ", theme.key()));
        bar.extend(edit.spans(Style::default(), sanitize));
        bar.push(Span::styled(
            "  (Enter keep · Esc cancel · e.g. type:image provider:claude -word)",
            theme.dim(),
        ));
    } else if !q.filter.is_empty() {
        bar.push(Span::styled("   filter: ", theme.dim()));
        bar.push(Span::raw(sanitize(&q.filter)));
        bar.push(Span::styled("  (f change · Esc clear)", theme.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(bar)), rows[2]);
    if let Some(m) = &q.modal {
        render_modal(f, area, m, theme);
    }
}

fn render_queue_status(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let hint = if let Some((m, is_err)) = &app.message {
        Line::from(Span::styled(
            sanitize(m),
            if *is_err { theme.error() } else { theme.key() },
        ))
    } else if app.queue.busy {
        Line::from(Span::styled("writing the decision…", theme.key()))
    } else if app.queue.fullscreen {
        Line::from(Span::styled(super::keymap::FULLSCREEN_STATUS, theme.dim()))
    } else if area.width >= 140 {
        Line::from(Span::styled(super::keymap::QUEUE_STATUS_WIDE, theme.dim()))
    } else {
        Line::from(Span::styled(super::keymap::QUEUE_STATUS, theme.dim()))
    };
    f.render_widget(Paragraph::new(hint), area);
}

/// The preview's parts: the block title, the meta lines above the body, the decision
/// history below it, and the body's area.
struct PreviewParts {
    title: String,
    meta: Vec<Line<'static>>,
    history: Vec<Line<'static>>,
    body: Rect,
}

fn preview_parts(app: &App, area: Rect, theme: Theme) -> Option<PreviewParts> {
    let q = &app.queue;
    let a = q.selected_asset()?;
    let dims = match (a.image_width, a.image_height) {
        (Some(w), Some(h)) => format!(" · {w}×{h}"),
        _ => String::new(),
    };
    let title = format!(
        " {} · {}{} · {} ",
        sanitize(&a.asset_id),
        a.asset_type.as_str(),
        dims,
        sanitize(crate::text::prefix(&a.content_hash, 12))
    );
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let mut meta: Vec<Line<'static>> = vec![Line::from(vec![
        Span::styled(
            format!("[{}] ", a.state.as_str()),
            state_style(a.state, theme),
        ),
        Span::raw(format!(
            "{} · {} / {}{}",
            sanitize(&a.source),
            sanitize(a.provider.as_deref().unwrap_or("-")),
            sanitize(a.model.as_deref().unwrap_or("-")),
            a.confidence
                .map(|c| format!(" · confidence {c:.2}"))
                .unwrap_or_default()
        )),
    ])];
    if let Some(run) = &a.run_id {
        meta.push(Line::from(vec![
            Span::styled("run    ", theme.dim()),
            Span::raw(fit(&sanitize(run), inner.width.saturating_sub(25) as usize)),
            Span::styled("  (Enter opens it)", theme.dim()),
        ]));
    }
    if let Some(p) = &a.prompt {
        meta.push(Line::from(vec![
            Span::styled("prompt ", theme.dim()),
            Span::raw(fit(&sanitize(p), inner.width.saturating_sub(7) as usize)),
        ]));
    }
    let mut history: Vec<Line<'static>> = Vec::new();
    if let Some((id, Some(p))) = &q.preview {
        if *id == a.asset_id && !p.history.is_empty() {
            history.push(Line::from(Span::styled("decisions", theme.title())));
            for (i, d) in p.history.iter().enumerate() {
                use crate::store::advisory::SignatureStatus as S;
                let mark = match p.signatures.get(i) {
                    Some(S::Valid) => " ✓ signed",
                    Some(S::Unsigned) => " · unsigned",
                    Some(S::UnknownKey) => " ✗ unknown key",
                    Some(S::WrongSigner) => " ✗ wrong signer",
                    Some(S::BadSignature) => " ✗ bad signature",
                    None => "",
                };
                history.push(Line::from(format!(
                    "#{} {} {} by {}{mark}{}{}",
                    d.seq,
                    sanitize(crate::text::prefix(&d.decided_at, 19)),
                    sanitize(&d.decision),
                    sanitize(&d.reviewer),
                    d.reason
                        .as_deref()
                        .map(|r| format!(" ({})", sanitize(r)))
                        .unwrap_or_default(),
                    d.note
                        .as_deref()
                        .map(|n| format!(": {}", sanitize(n)))
                        .unwrap_or_default()
                )));
            }
        }
    }
    let hist_h = (history.len() as u16).min(inner.height / 3);
    let skip = history.len().saturating_sub(hist_h as usize);
    let history: Vec<Line<'static>> = history.into_iter().skip(skip).collect();
    let meta_h = (meta.len() as u16).min(inner.height);
    let body = Rect {
        y: inner.y + meta_h,
        height: inner.height.saturating_sub(meta_h + hist_h),
        ..inner
    };
    Some(PreviewParts {
        title,
        meta,
        history,
        body,
    })
}

/// The preview body as lines wrapped to `width` (None for images, which are drawn).
fn preview_text(p: &PreviewData, width: u16, theme: Theme) -> Option<Vec<Line<'static>>> {
    let prose = matches!(p.body, PreviewBody::Text(_)) || p.error.is_some();
    let lines: Vec<Line<'static>> = if let Some(e) = &p.error {
        vec![Line::from(Span::styled(sanitize(e), theme.error()))]
    } else {
        match &p.body {
            PreviewBody::Text(t) => crate::text::sanitize_multiline(t)
                .split('\n')
                .map(|l| Line::from(l.to_owned()))
                .collect(),
            PreviewBody::Json(v) => json_lines(v, theme),
            PreviewBody::Unavailable(why) => {
                vec![Line::from(Span::styled(sanitize(why), theme.dim()))]
            }
            PreviewBody::Image { .. } => return None,
        }
    };
    Some(
        lines
            .into_iter()
            .flat_map(|l| wrap_with(l, width as usize, !prose))
            .collect(),
    )
}

/// How far the preview body can scroll at the current size.
pub fn preview_max_scroll(app: &App) -> u16 {
    let Some(parts) = preview_parts(app, preview_area(app), Theme { color: false }) else {
        return 0;
    };
    let Some((_, Some(p))) = &app.queue.preview else {
        return 0;
    };
    match preview_text(p, parts.body.width, Theme { color: false }) {
        Some(lines) => lines
            .len()
            .saturating_sub(parts.body.height as usize)
            .min(u16::MAX as usize) as u16,
        None => 0,
    }
}

fn render_preview(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme, gfx: &mut Graphics) {
    let q = &app.queue;
    let Some(parts) = preview_parts(app, area, theme) else {
        f.render_widget(
            Block::default().borders(Borders::ALL).title(" preview "),
            area,
        );
        return;
    };
    let a = q.selected_asset().expect("parts imply a selection");
    let preview = match &q.preview {
        Some((id, Some(p))) if *id == a.asset_id => Some(p),
        _ => None,
    };
    let mut block = Block::default().borders(Borders::ALL).title(parts.title);
    let inner = block.inner(area);
    let mut meta = parts.meta;
    let Some(p) = preview else {
        f.render_widget(block, area);
        meta.push(Line::from(Span::styled("loading preview…", theme.dim())));
        f.render_widget(Paragraph::new(meta), inner);
        return;
    };
    let body = parts.body;
    match preview_text(p, body.width, theme) {
        Some(lines) => {
            let max = lines.len().saturating_sub(body.height as usize);
            let scroll = (q.preview_scroll as usize).min(max);
            if max > 0 {
                let pos = if scroll == max {
                    " end ".to_owned()
                } else {
                    format!(" {}% · J/K scroll ", scroll * 100 / max)
                };
                block =
                    block.title_bottom(Line::from(Span::styled(pos, theme.dim())).right_aligned());
            }
            f.render_widget(block, area);
            let shown: Vec<Line> = lines
                .into_iter()
                .skip(scroll)
                .take(body.height as usize)
                .collect();
            f.render_widget(Paragraph::new(shown), body);
        }
        None => {
            f.render_widget(block, area);
            if let PreviewBody::Image {
                px_w,
                px_h,
                pixels,
                full,
                ..
            } = &p.body
            {
                if theme.color && full.as_ref().is_some_and(|img| gfx.draw(f, body, img)) {
                    // Drawn at full resolution through the terminal's graphics protocol.
                } else if theme.color {
                    render_half_blocks(f, body, *px_w, *px_h, pixels);
                } else {
                    // NO_COLOR: the picture in shades of one colour, never hidden.
                    render_shades(f, body, *px_w, *px_h, pixels);
                }
            }
        }
    }
    f.render_widget(
        Paragraph::new(meta),
        Rect {
            height: inner.height.min(body.y.saturating_sub(inner.y)),
            ..inner
        },
    );
    if !parts.history.is_empty() {
        let hist_h = (parts.history.len() as u16).min(inner.height);
        f.render_widget(
            Paragraph::new(parts.history),
            Rect {
                y: inner.y + inner.height - hist_h,
                height: hist_h,
                ..inner
            },
        );
    }
}

/// Cells and source scale for drawing a `pw`×`ph` image into `area` (two pixel rows per
/// cell), keeping the aspect ratio.
fn image_fit(area: Rect, pw: u32, ph: u32) -> Option<(u16, u16, f64)> {
    if area.width == 0 || area.height == 0 || pw == 0 || ph == 0 {
        return None;
    }
    let scale = f64::max(
        pw as f64 / area.width as f64,
        ph as f64 / (2.0 * area.height as f64),
    )
    .max(1e-9);
    let cols = ((pw as f64 / scale) as u16).clamp(1, area.width);
    let rows = (((ph as f64 / scale) / 2.0).ceil() as u16).clamp(1, area.height);
    Some((cols, rows, scale))
}

fn sample(pw: u32, ph: u32, pixels: &[[u8; 3]], scale: f64, x: u16, y: u32) -> [u8; 3] {
    let sx = ((x as f64 * scale) as u32).min(pw - 1);
    let sy = ((y as f64 * scale) as u32).min(ph - 1);
    pixels[(sy * pw + sx) as usize]
}

/// Draw an image with `▀` half blocks: each cell shows two pixels (foreground on top,
/// background below), which every colour terminal renders, over SSH too.
fn render_half_blocks(f: &mut Frame<'_>, area: Rect, pw: u32, ph: u32, pixels: &[[u8; 3]]) {
    let Some((cols, rows, scale)) = image_fit(area, pw, ph) else {
        return;
    };
    let buf = f.buffer_mut();
    for row in 0..rows {
        for col in 0..cols {
            let [r, g, b] = sample(pw, ph, pixels, scale, col, row as u32 * 2);
            let [r2, g2, b2] = sample(pw, ph, pixels, scale, col, row as u32 * 2 + 1);
            if let Some(cell) = buf.cell_mut((area.x + col, area.y + row)) {
                cell.set_symbol("▀")
                    .set_fg(Color::Rgb(r, g, b))
                    .set_bg(Color::Rgb(r2, g2, b2));
            }
        }
    }
}

/// Draw an image without colour: each cell's brightness as a shade character.
fn render_shades(f: &mut Frame<'_>, area: Rect, pw: u32, ph: u32, pixels: &[[u8; 3]]) {
    const SHADES: [&str; 5] = [" ", "░", "▒", "▓", "█"];
    let Some((cols, rows, scale)) = image_fit(area, pw, ph) else {
        return;
    };
    let luma = |[r, g, b]: [u8; 3]| 0.2126 * r as f64 + 0.7152 * g as f64 + 0.0722 * b as f64;
    let buf = f.buffer_mut();
    for row in 0..rows {
        for col in 0..cols {
            let top = luma(sample(pw, ph, pixels, scale, col, row as u32 * 2));
            let bottom = luma(sample(pw, ph, pixels, scale, col, row as u32 * 2 + 1));
            let level = (((top + bottom) / 2.0) / 255.0 * 4.0).round() as usize;
            if let Some(cell) = buf.cell_mut((area.x + col, area.y + row)) {
                cell.set_symbol(SHADES[level.min(4)]);
            }
        }
    }
}

fn render_modal(f: &mut Frame<'_>, area: Rect, m: &Modal, theme: Theme) {
    // One asset: named with its type and short hash; several: counted, then listed.
    let what = |b: &DecisionBatch| -> String {
        match &b.items[..] {
            [one] => format!(
                "{} {} (content {}…)",
                one.asset_type,
                sanitize(&one.asset_id),
                one.short_hash()
            ),
            many => format!("{} marked assets", many.len()),
        }
    };
    let warnings = |b: &DecisionBatch, l: &mut Vec<Line<'static>>| {
        let decided: Vec<&DecisionItem> = b.items.iter().filter(|i| i.current.is_some()).collect();
        match &decided[..] {
            [] => {}
            [one] if b.items.len() == 1 => l.push(Line::from(Span::styled(
                format!("⚠ {}", sanitize(one.current.as_deref().unwrap_or(""))),
                theme.error(),
            ))),
            some => l.push(Line::from(Span::styled(
                format!("⚠ {} of them already decided (see the list)", some.len()),
                theme.error(),
            ))),
        }
    };
    let max_h = area.height.saturating_sub(2).max(3);
    let (title, lines): (&str, Vec<Line>) = match m {
        Modal::Confirm { batch: b, scroll } => {
            let verb = if b.approve { "Approve" } else { "Reject" };
            let mut l = vec![Line::from(Span::styled(
                format!("{verb} {}?", what(b)),
                theme.title(),
            ))];
            warnings(b, &mut l);
            if let Some(r) = &b.reason {
                l.push(Line::from(format!("reason: {r}")));
            }
            if let Some(n) = &b.note {
                l.push(Line::from(format!("note: {}", sanitize(n))));
            }
            if b.items.len() > 1 {
                // The assets themselves, scrollable: a batch decides exactly these.
                let room = (max_h as usize).saturating_sub(l.len() + 5).max(1);
                let start = (*scroll).min(b.items.len().saturating_sub(room));
                let id_w = b
                    .items
                    .iter()
                    .map(|it| sanitize(&it.asset_id).width())
                    .max()
                    .unwrap_or(0);
                for it in b.items.iter().skip(start).take(room) {
                    let id = sanitize(&it.asset_id);
                    let pad = " ".repeat(id_w.saturating_sub(id.width()));
                    let mut spans = vec![Span::raw(format!(
                        "  {id}{pad} {:<11} {}",
                        it.asset_type,
                        it.short_hash()
                    ))];
                    if let Some(c) = &it.current {
                        spans.push(Span::styled(format!("  {}", sanitize(c)), theme.error()));
                    }
                    l.push(Line::from(spans));
                }
                l.push(Line::from(Span::styled(
                    format!(
                        "  assets {}–{} of {}{}",
                        start + 1,
                        (start + room).min(b.items.len()),
                        b.items.len(),
                        if b.items.len() > room {
                            super::keymap::CONFIRM_SCROLL
                        } else {
                            ""
                        }
                    ),
                    theme.dim(),
                )));
            }
            l.push(Line::from(""));
            // The keys and their words from the confirmation's action table.
            let mut keys = Vec::new();
            for (i, (k, what)) in super::keymap::CONFIRM.help_rows().into_iter().enumerate() {
                if i > 0 {
                    keys.push(Span::raw("   "));
                }
                keys.push(Span::styled(k, theme.key()));
                keys.push(Span::raw(format!(" {what}")));
            }
            l.push(Line::from(keys));
            (" confirm ", l)
        }
        Modal::Reason { batch, cursor } => {
            let mut l = vec![Line::from(Span::styled(
                format!("Reject {}: why?", what(batch)),
                theme.title(),
            ))];
            warnings(batch, &mut l);
            for (i, r) in crate::store::advisory::REJECTION_REASONS.iter().enumerate() {
                let style = if i == *cursor {
                    theme.selected()
                } else {
                    Style::default()
                };
                l.push(Line::from(Span::styled(format!(" {r} "), style)));
            }
            l.push(Line::from(Span::styled(
                super::keymap::REASON_KEYS,
                theme.dim(),
            )));
            (" reason ", l)
        }
        Modal::Note { batch, edit, .. } => {
            let mut l = vec![Line::from(Span::styled(
                format!(
                    "Note for rejecting {} (optional; reason: {})",
                    what(batch),
                    batch.reason.as_deref().unwrap_or("?")
                ),
                theme.title(),
            ))];
            let mut line = vec![Span::styled("> ", theme.key())];
            line.extend(edit.spans(Style::default(), sanitize));
            l.push(Line::from(line));
            l.push(Line::from(Span::styled(
                "Enter continue · Esc back to the reason",
                theme.dim(),
            )));
            l.push(Line::from(Span::styled(
                super::line_edit::EDIT_KEYS,
                theme.dim(),
            )));
            (" note ", l)
        }
    };
    let w = 72.min(area.width);
    let wrapped: Vec<Line> = lines
        .into_iter()
        .flat_map(|l| wrap_line(l, w.saturating_sub(2) as usize))
        .collect();
    let h = (wrapped.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(wrapped).block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}
