//! Drawing the console from [`App`] state. Views never do I/O; every string that came
//! from a file is sanitized here before it reaches the terminal.

use super::app::{App, DetailsPane};
use super::keymap::KEYMAP;
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

/// Draw the whole console.
pub fn render(f: &mut Frame<'_>, app: &App, theme: Theme) {
    render_views(f, app, theme);
    scrub(f.buffer_mut());
}

/// The last line of defence for the console: no cell of a frame may hold a character a
/// terminal would interpret (an escape, a C1 control, a bidi override). Every view
/// sanitizes what it shows; this catches any string a view forgot, whatever its source.
pub fn scrub(buf: &mut ratatui::buffer::Buffer) {
    for cell in buf.content.iter_mut() {
        if cell.symbol().chars().any(crate::text::needs_escape) {
            cell.set_symbol("\u{fffd}");
        }
    }
}

fn render_views(f: &mut Frame<'_>, app: &App, theme: Theme) {
    let area = f.area();
    if app.view == super::app::View::Queue {
        render_queue(f, area, app, theme);
        if app.help {
            render_help(f, area, theme);
        }
        return;
    }
    let rows = frame_rows(area);
    render_header(f, rows[0], app, theme);
    match &app.details {
        Some(d) => {
            let wide = area.width >= 120;
            let split = Layout::default()
                .direction(if wide {
                    Direction::Horizontal
                } else {
                    Direction::Vertical
                })
                .constraints(if wide {
                    [Constraint::Percentage(48), Constraint::Percentage(52)]
                } else {
                    [Constraint::Percentage(40), Constraint::Percentage(60)]
                })
                .split(rows[1]);
            render_list(f, split[0], app, theme);
            render_details(f, split[1], app, d, theme);
        }
        None => render_list(f, rows[1], app, theme),
    }
    render_filter_bar(f, rows[2], app, theme);
    render_status(f, rows[3], app, theme);
    if app.help {
        render_help(f, area, theme);
    }
}

fn render_header(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let mut spans = vec![
        Span::styled(" rmos ", theme.title()),
        Span::styled(sanitize(&app.root_label), theme.dim()),
    ];
    let count = match app.match_count {
        Some(n) if app.filter.is_empty() => format!("  {n} runs"),
        Some(n) => format!("  {n} matching"),
        None => "  counting…".into(),
    };
    spans.push(Span::raw(count));
    if app.invalid_total > 0 {
        spans.push(Span::styled(
            format!("  {} invalid files", app.invalid_total),
            theme.error(),
        ));
    }
    if app.read_only {
        spans.push(Span::styled("  [read-only]", theme.dim()));
    }
    if app.watch_problem.is_some() {
        // Not live everywhere: updates arrive by the once-a-second scan.
        spans.push(Span::styled("  [scanning]", theme.error()));
    }
    if app.follow {
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
        }
    }
}

fn cols_width(cols: &[(Col, u16)]) -> u16 {
    cols.iter().map(|(_, w)| w + 1).sum()
}

/// The columns and their widths for an inner width (one space between columns):
/// everything when it fits, then without source, mode, and tool, in that order.
fn columns(inner: u16) -> Vec<(Col, u16)> {
    let mut cols = vec![
        (Col::Time, 14),
        (Col::Id, 13),
        (Col::Mode, 10),
        (Col::Tool, 14),
        (Col::Status, 7),
        (Col::Risk, 7),
        (Col::Score, 6),
    ];
    if inner >= cols_width(&cols) + 8 {
        let rest = inner - cols_width(&cols);
        cols.push((Col::Source, rest));
        return cols;
    }
    for drop in [Col::Mode, Col::Tool] {
        if cols_width(&cols) <= inner {
            break;
        }
        cols.retain(|(k, _)| *k != drop);
    }
    let slack = inner.saturating_sub(cols_width(&cols));
    if let Some(t) = cols
        .iter_mut()
        .find(|(k, _)| matches!(k, Col::Tool | Col::Mode))
    {
        t.1 += slack;
    }
    cols
}

fn cell_text(r: &IndexedRun, col: Col, width: u16, app: &App, theme: Theme) -> Cell<'static> {
    let w = width as usize;
    let plain = |s: &str| Cell::from(fit(&sanitize(s), w));
    match col {
        Col::Time => Cell::from(local_time(app, r.created_us, false)),
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
    }
}

fn render_list(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let cols = columns(area.width.saturating_sub(2));
    let header = Row::new(cols.iter().map(|(c, _)| c.title())).style(theme.title());
    let visible_start = app.offset.min(app.rows.len());
    let visible_end = (app.offset + app.list_height.max(1)).min(app.rows.len());
    let visible = &app.rows[visible_start..visible_end];
    let rows: Vec<Row> = visible
        .iter()
        .map(|r| {
            if r.valid {
                Row::new(cols.iter().map(|(c, w)| cell_text(r, *c, *w, app, theme)))
            } else {
                // Time and id as usual; the reason is drawn across the other columns below.
                Row::new(
                    cols.iter()
                        .take(2)
                        .map(|(c, w)| cell_text(r, *c, *w, app, theme)),
                )
                .style(theme.dim())
            }
        })
        .collect();
    let title = if app.loading && app.rows.is_empty() {
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
    if !app.rows.is_empty() {
        state.select(Some(app.selected - visible_start));
    }
    f.render_stateful_widget(table, area, &mut state);
    // Invalid files: one line across the remaining columns with the reason.
    let reason_x = area.x + 1 + cols.iter().take(2).map(|(_, w)| w + 1).sum::<u16>();
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
        let style = if visible_start + i == app.selected {
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
    if app.rows.is_empty() && !app.loading {
        let msg = if let Some(e) = &app.error {
            // Nothing to show and something is wrong: the whole reason, not a cut status line.
            e.as_str()
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
    lines.push(Line::from(vec![
        label("hash"),
        Span::raw(format!(
            "feasibility {} ",
            sanitize(&a.hashes.feasibility_sha256)
        )),
        Span::styled(c.verify.clone(), verify_style),
    ]));
    if let Some(detail) = &c.verify_detail {
        lines.push(Line::from(Span::styled(
            format!("          {}", sanitize(detail)),
            verify_style,
        )));
    }
    for (name, h) in a.hashes.outputs() {
        lines.push(Line::from(format!("          {name} {}", sanitize(h))));
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

fn render_details(f: &mut Frame<'_>, area: Rect, app: &App, d: &DetailsPane, theme: Theme) {
    let title = format!(
        " details {}  (Esc close · J/K next/prev · j/k scroll) ",
        short_id(&sanitize(&d.run_id))
    );
    let block = Block::default().borders(Borders::ALL).title(title);
    let lines = details_lines(app, d, theme);
    let max_scroll = (lines.len() as u16).saturating_sub(area.height.saturating_sub(2));
    let p = Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((d.scroll.min(max_scroll), 0));
    f.render_widget(p, area);
}

fn render_filter_bar(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    match &app.input {
        Some(input) => {
            let mut spans = vec![Span::styled("filter> ", theme.key())];
            let shown = sanitize(&input.text);
            spans.push(Span::raw(shown.clone()));
            if let Some(e) = &input.error {
                spans.push(Span::styled(format!("   ✗ {e}"), theme.error()));
            } else {
                spans.push(Span::styled(
                    "   Enter keep · Esc cancel · ↑/↓ history",
                    theme.dim(),
                ));
            }
            f.render_widget(Paragraph::new(Line::from(spans)), area);
            let prefix: String = input.text.chars().take(input.cursor).collect();
            let x = area.x + 8 + sanitize(&prefix).width() as u16;
            f.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
        }
        None => {
            let text = if app.filter_text.is_empty() {
                vec![
                    Span::styled("filter: none", theme.dim()),
                    Span::styled(
                        "  (f or / to filter, e.g. risk:red,yellow -status:ok since:2d)",
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
        let hints = if area.width >= 100 {
            "j/k move · Enter details · f filter · c copy id · C copy JSON · F follow · ? help · q quit"
        } else {
            "j/k move · Enter details · f filter · c copy · ? help · q quit"
        };
        Line::from(Span::styled(hints, theme.dim()))
    };
    f.render_widget(Paragraph::new(line), area);
}

/// (key, help) pairs as lines: two columns when `two_columns`, filled down then across.
fn key_lines(
    pairs: &[(&str, &str)],
    w: usize,
    two_columns: bool,
    theme: Theme,
) -> Vec<Line<'static>> {
    let entry = |(k, h): (&str, &str), width: usize| -> Vec<Span<'static>> {
        vec![
            Span::styled(format!("  {k:<11}"), theme.key()),
            Span::raw(fit(h, width.saturating_sub(13))),
        ]
    };
    if !two_columns {
        return pairs.iter().map(|p| Line::from(entry(*p, w - 2))).collect();
    }
    let half = pairs.len().div_ceil(2);
    let col_w = (w - 2) / 2;
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

fn render_help(f: &mut Frame<'_>, area: Rect, theme: Theme) {
    let w = 96.min(area.width);
    let two_columns = w >= 76;
    let keys: Vec<(&str, &str)> = KEYMAP.iter().map(|b| (b.label, b.help)).collect();
    let mut lines: Vec<Line> = vec![Line::from(Span::styled("Keys", theme.title()))];
    lines.extend(key_lines(&keys, w as usize, two_columns, theme));
    lines.push(Line::from(Span::styled("Review queue (2)", theme.title())));
    lines.extend(key_lines(
        super::keymap::QUEUE_KEYS,
        w as usize,
        two_columns,
        theme,
    ));
    lines.push(Line::from(Span::styled("Filter", theme.title())));
    for l in [
        "  risk:red,yellow mode: tool: status: source: event: verify:ok|mismatch|…",
        "  -term negates · score<50 (< <= > >= = !=) · id:run_5eed (prefix) · \"a b\"",
        "  since:2d|12h|2025-12-01 until:2025-12-24 · words: id, tool, warnings, block",
    ] {
        lines.push(Line::from(fit(l, w as usize - 2)));
    }
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" help ")
                .title_bottom(Span::styled(" any key closes this help ", theme.dim())),
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

fn render_queue(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let q = &app.queue;
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
    ]);
    f.render_widget(Paragraph::new(header), rows[0]);
    let split = Layout::default()
        .direction(if area.width >= 100 {
            Direction::Horizontal
        } else {
            Direction::Vertical
        })
        .constraints([Constraint::Percentage(45), Constraint::Percentage(55)])
        .split(rows[1]);
    // List
    let inner_w = split[0].width.saturating_sub(2) as usize;
    let widths = [1u16, 11, 10, 4, 4];
    let fixed: usize = widths.iter().map(|w| *w as usize + 1).sum();
    let id_w = inner_w.saturating_sub(fixed).max(8) as u16;
    let head = Row::new(["", "type", "provider", "age", "conf", "asset"]).style(theme.title());
    let h = split[0].height.saturating_sub(3) as usize;
    let start = q.offset.min(q.assets.len());
    let end = (start + h.max(1)).min(q.assets.len());
    let list_rows: Vec<Row> = q.assets[start..end]
        .iter()
        .map(|x| {
            let mark = if q.marked.contains(&x.asset_id) {
                "✓"
            } else {
                " "
            };
            let state_style = match x.state {
                crate::store::advisory::ReviewState::Approved => theme.status("OK"),
                crate::store::advisory::ReviewState::Rejected => theme.status("ERROR"),
                crate::store::advisory::ReviewState::Pending => Style::default(),
            };
            Row::new(vec![
                Cell::from(mark),
                Cell::from(Span::styled(x.asset_type.as_str(), state_style)),
                Cell::from(fit(&sanitize(x.provider.as_deref().unwrap_or("-")), 10)),
                Cell::from(age(app, &x.created_at)),
                Cell::from(
                    x.confidence
                        .map(|c| format!("{c:.2}"))
                        .unwrap_or_else(|| "  -".into()),
                ),
                Cell::from(fit(&sanitize(&x.asset_id), id_w as usize)),
            ])
        })
        .collect();
    let mut constraints: Vec<Constraint> = widths.iter().map(|w| Constraint::Length(*w)).collect();
    constraints.push(Constraint::Length(id_w));
    let title = match (q.loaded, q.assets.len()) {
        (false, _) => " loading… ".to_owned(),
        (true, n) if n != q.all.len() => format!(" {n} of {} assets ", q.all.len()),
        (true, 1) => " 1 asset ".to_owned(),
        (true, n) => format!(" {n} assets "),
    };
    let table = Table::new(list_rows, constraints)
        .header(head)
        .block(Block::default().borders(Borders::ALL).title(title))
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
    render_preview(f, split[1], app, theme);
    // Status line and hints.
    let hint = if let Some((m, is_err)) = &app.message {
        Line::from(Span::styled(
            sanitize(m),
            if *is_err { theme.error() } else { theme.key() },
        ))
    } else if q.busy {
        Line::from(Span::styled("writing the decision…", theme.key()))
    } else {
        Line::from(Span::styled("j/k move · a approve · r reject · Space mark · A/X decide marked · s status · f filter · 1 runs · ? help · q quit", theme.dim()))
    };
    f.render_widget(Paragraph::new(hint), rows[3]);
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
    if let Some((text, _)) = &q.filter_input {
        bar.push(Span::styled("   filter: ", theme.key()));
        bar.push(Span::raw(format!("{}█", sanitize(text))));
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

fn render_preview(f: &mut Frame<'_>, area: Rect, app: &App, theme: Theme) {
    let q = &app.queue;
    let Some(a) = q.selected_asset() else {
        f.render_widget(
            Block::default().borders(Borders::ALL).title(" preview "),
            area,
        );
        return;
    };
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
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let preview = match &q.preview {
        Some((id, Some(p))) if *id == a.asset_id => Some(p),
        _ => None,
    };
    let mut meta: Vec<Line> = vec![Line::from(vec![
        Span::styled(
            format!("[{}] ", a.state.as_str()),
            match a.state {
                crate::store::advisory::ReviewState::Approved => theme.status("OK"),
                crate::store::advisory::ReviewState::Rejected => theme.status("ERROR"),
                _ => theme.status("BLOCKED"),
            },
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
    if let Some(p) = &a.prompt {
        meta.push(Line::from(vec![
            Span::styled("prompt ", theme.dim()),
            Span::raw(fit(&sanitize(p), inner.width.saturating_sub(7) as usize)),
        ]));
    }
    let Some(p) = preview else {
        meta.push(Line::from(Span::styled("loading preview…", theme.dim())));
        f.render_widget(Paragraph::new(meta), inner);
        return;
    };
    let mut history: Vec<Line> = Vec::new();
    if !p.history.is_empty() {
        history.push(Line::from(Span::styled("decisions", theme.title())));
        for d in &p.history {
            history.push(Line::from(format!(
                "#{} {} {} by {}{}{}",
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
    let hist_h = (history.len() as u16).min(inner.height / 3);
    let body_h = inner.height.saturating_sub(meta.len() as u16 + hist_h);
    let meta_h = meta.len() as u16;
    f.render_widget(
        Paragraph::new(meta),
        Rect {
            height: meta_h.min(inner.height),
            ..inner
        },
    );
    let body_area = Rect {
        y: inner.y + meta_h,
        height: body_h,
        ..inner
    };
    if let Some(e) = &p.error {
        f.render_widget(
            Paragraph::new(Span::styled(sanitize(e), theme.error())).wrap(Wrap { trim: true }),
            body_area,
        );
    } else {
        match &p.body {
            super::queue::PreviewBody::Text(t) => {
                f.render_widget(
                    Paragraph::new(crate::text::sanitize_multiline(t)).wrap(Wrap { trim: false }),
                    body_area,
                );
            }
            super::queue::PreviewBody::Json(v) => {
                f.render_widget(Paragraph::new(json_lines(v, theme)), body_area)
            }
            super::queue::PreviewBody::Unavailable(why) => f.render_widget(
                Paragraph::new(Span::styled(sanitize(why), theme.dim())).wrap(Wrap { trim: true }),
                body_area,
            ),
            super::queue::PreviewBody::Image {
                px_w, px_h, pixels, ..
            } => {
                if !theme.color {
                    f.render_widget(
                        Paragraph::new(Span::styled(
                            "image preview needs colour (NO_COLOR is set)",
                            theme.dim(),
                        )),
                        body_area,
                    );
                } else {
                    render_half_blocks(f, body_area, *px_w, *px_h, pixels);
                }
            }
        }
    }
    if hist_h > 0 {
        let skip = history.len().saturating_sub(hist_h as usize);
        let shown: Vec<Line> = history.into_iter().skip(skip).collect();
        f.render_widget(
            Paragraph::new(shown),
            Rect {
                y: inner.y + inner.height - hist_h,
                height: hist_h,
                ..inner
            },
        );
    }
}

/// Draw an image with `▀` half blocks: each cell shows two pixels (foreground on top,
/// background below), which every colour terminal renders, over SSH too.
fn render_half_blocks(f: &mut Frame<'_>, area: Rect, pw: u32, ph: u32, pixels: &[[u8; 3]]) {
    if area.width == 0 || area.height == 0 || pw == 0 || ph == 0 {
        return;
    }
    // Fit inside area.width × (2 × area.height) keeping the aspect ratio.
    let scale = f64::max(
        pw as f64 / area.width as f64,
        ph as f64 / (2.0 * area.height as f64),
    )
    .max(1e-9);
    let cols = ((pw as f64 / scale) as u16).clamp(1, area.width);
    let rows = (((ph as f64 / scale) / 2.0).ceil() as u16).clamp(1, area.height);
    let px = |x: u16, y: u32| -> Color {
        let sx = ((x as f64 * scale) as u32).min(pw - 1);
        let sy = ((y as f64 * scale) as u32).min(ph - 1);
        let [r, g, b] = pixels[(sy * pw + sx) as usize];
        Color::Rgb(r, g, b)
    };
    let buf = f.buffer_mut();
    for row in 0..rows {
        for col in 0..cols {
            let top = px(col, row as u32 * 2);
            let bottom = px(col, row as u32 * 2 + 1);
            if let Some(cell) = buf.cell_mut((area.x + col, area.y + row)) {
                cell.set_symbol("▀").set_fg(top).set_bg(bottom);
            }
        }
    }
}

fn render_modal(f: &mut Frame<'_>, area: Rect, m: &super::queue::Modal, theme: Theme) {
    use super::queue::Modal;
    let what = |b: &super::queue::DecisionBatch| -> String {
        if b.items.len() == 1 {
            format!(
                "{} (content {}…)",
                sanitize(&b.items[0].0),
                sanitize(crate::text::prefix(&b.items[0].1, 12))
            )
        } else {
            format!("{} marked assets", b.items.len())
        }
    };
    let (title, lines): (&str, Vec<Line>) = match m {
        Modal::Confirm(b) => {
            let verb = if b.approve { "Approve" } else { "Reject" };
            let mut l = vec![Line::from(Span::styled(
                format!("{verb} {}?", what(b)),
                theme.title(),
            ))];
            if let Some(r) = &b.reason {
                l.push(Line::from(format!("reason: {r}")));
            }
            if let Some(n) = &b.note {
                l.push(Line::from(format!("note: {}", sanitize(n))));
            }
            l.push(Line::from(""));
            l.push(Line::from(vec![
                Span::styled("y", theme.key()),
                Span::raw(" write the decision   "),
                Span::styled("n / Esc", theme.key()),
                Span::raw(" cancel"),
            ]));
            (" confirm ", l)
        }
        Modal::Reason { batch, cursor } => {
            let mut l = vec![Line::from(Span::styled(
                format!("Reject {}: why?", what(batch)),
                theme.title(),
            ))];
            for (i, r) in crate::store::advisory::REJECTION_REASONS.iter().enumerate() {
                let style = if i == *cursor {
                    theme.selected()
                } else {
                    Style::default()
                };
                l.push(Line::from(Span::styled(format!(" {r} "), style)));
            }
            l.push(Line::from(Span::styled(
                "j/k choose · Enter next · Esc cancel",
                theme.dim(),
            )));
            (" reason ", l)
        }
        Modal::Note { batch, text } => (
            " note ",
            vec![
                Line::from(Span::styled(
                    format!("Note for rejecting {} (optional)", what(batch)),
                    theme.title(),
                )),
                Line::from(vec![
                    Span::styled("> ", theme.key()),
                    Span::raw(sanitize(text)),
                    Span::styled("█", theme.key()),
                ]),
                Line::from(Span::styled("Enter continue · Esc cancel", theme.dim())),
            ],
        ),
    };
    let w = 64.min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(title)),
        r,
    );
}
