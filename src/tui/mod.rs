//! The interactive console: live run list, filter bar, details pane, copy over SSH.
//!
//! - [`app`]: state and the pure `update` function (messages in, commands out).
//! - [`msg`]: the messages `update` takes and the commands it returns.
//! - [`list_window`]: the run list's rows in memory, selection and paging.
//! - [`view`]: drawing from state (no I/O), with sanitized strings.
//! - [`keymap`]: the action tables (one per view) that drive key handling, the help
//!   overlay and the "not a key here" hints.
//! - [`clipboard`]: OSC 52 (always) and the native clipboard (with a display).
//! - [`worker`]: one file per background worker: queries, the review queue, the database
//!   watch, the reconciler driver and the live folder watch.
//!
//! The loop draws only when something changed, coalesces bursts of worker messages into
//! one frame, and restores the terminal on exit, on error and on panic.

pub mod app;
pub mod clipboard;
pub mod external;
pub mod graphics;
pub mod investigate;
pub mod keymap;
pub mod line_edit;
pub mod list_window;
pub mod msg;
pub mod queue;
pub mod records;
pub mod timeline;
pub mod view;
pub mod worker;

use crate::config::DataRoot;
use app::App;
use clipboard::Clipboard;
use crossterm::event::{Event, KeyEventKind};
use futures_util::{Stream, StreamExt};
use msg::{Cmd, Msg, QueryCmd, UiCmd};
use ratatui::backend::Backend;
use ratatui::Terminal;
use std::io;
use std::time::{Duration, Instant};
use view::Theme;
use worker::{ReconcileReq, ReconcileTiming};

/// Settings of one console session.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub root: DataRoot,
    pub theme: Theme,
    pub utc_offset_secs: i32,
    pub timing: ReconcileTiming,
    /// The terminal's graphics protocol for pictures (None: half blocks), detected at
    /// start by `run_terminal`.
    pub picker: Option<ratatui_image::picker::Picker>,
    /// Why the graphics setting could not be honoured, for the status line.
    pub graphics_note: Option<String>,
    /// Where filter history and saved filters live (`None`: neither is read or kept).
    pub prefs: Option<crate::prefs::Prefs>,
}

impl ConsoleConfig {
    pub fn new(root: DataRoot) -> Self {
        let utc_offset_secs = chrono::Local::now().offset().local_minus_utc();
        ConsoleConfig {
            root,
            theme: Theme::from_env(),
            utc_offset_secs,
            timing: ReconcileTiming::default(),
            picker: None,
            graphics_note: None,
            prefs: Some(crate::prefs::Prefs::for_user()),
        }
    }
}

fn root_label(root: &DataRoot) -> String {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let p = &root.runs_dir;
    match home.as_deref().and_then(|h| p.strip_prefix(h).ok()) {
        Some(rel) => format!("~/{}", rel.display()),
        None => p.display().to_string(),
    }
}

/// Run the console loop on any backend and input stream until the user quits or the
/// input ends. `observe` sees the state after every frame (tests use it).
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    mut input: impl Stream<Item = io::Result<Event>> + Unpin,
    cfg: ConsoleConfig,
    clipboard: &mut dyn Clipboard,
    external: &mut dyn external::External,
    mut observe: impl FnMut(&App),
) -> io::Result<()> {
    // Create and migrate the database once before the workers open their connections.
    let (db_error, index_note, index_db) = match cfg.root.open_index() {
        Ok(index) => (
            None,
            cfg.root.index_note_for(index.db_path()),
            Some(index.db_path().to_path_buf()),
        ),
        Err(e) => (Some(e.to_string()), None, None),
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    // Pages and details on one worker, counts on another: a slow count never delays a page.
    let newest_count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let never = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let queries = worker::spawn_data_worker("rmos-query", cfg.root.clone(), tx.clone(), never);
    let counts = worker::spawn_data_worker(
        "rmos-count",
        cfg.root.clone(),
        tx.clone(),
        newest_count.clone(),
    );
    let queue = worker::spawn_queue_worker(cfg.root.clone(), tx.clone());
    let own_mark = std::sync::Arc::new(std::sync::Mutex::new(None));
    let reconciler = worker::spawn_reconciler(
        cfg.root.clone(),
        tx.clone(),
        cfg.timing.clone(),
        own_mark.clone(),
    );
    // Changes other processes commit to the shared databases (runs indexed elsewhere,
    // decisions, new assets) show within a second.
    // Opened on a thread of its own: a server database's driver runs its own runtime,
    // which may not start inside the console's.
    let feed = std::thread::scope(|s| {
        s.spawn(|| {
            cfg.root
                .change_feed(index_db.as_deref(), cfg.timing.shared_poll, own_mark)
        })
        .join()
        .expect("opening the change feed")
    });
    worker::spawn_db_watch(feed, tx.clone());
    // Preferences are small files: read once here, written and re-read on threads.
    let prefs_tx = tx;

    let mut app = App::new(root_label(&cfg.root));
    app.error = db_error;
    app.read_only = !cfg.root.db_writable();
    if let Some(note) = index_note {
        app.update(Msg::Notice(note));
    }
    if let Some(note) = &cfg.graphics_note {
        app.update(Msg::Notice(note.clone()));
    }
    let mut gfx = graphics::Graphics::with_picker(cfg.picker.clone());
    app.utc_offset_secs = cfg.utc_offset_secs;
    app.reviewer = crate::store::advisory::reviewer_identity();
    app.epoch_secs = chrono::Utc::now().timestamp();
    let size = terminal.size()?;
    app.update(Msg::Resize {
        width: size.width,
        height: size.height,
    });
    if let Some(prefs) = &cfg.prefs {
        app.update(worker::read_prefs(prefs, true));
    }
    let mut pending: Vec<Cmd> = app.init();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut dirty = true;
    loop {
        // Run commands; copying happens here, between frames, on the terminal's thread.
        while !pending.is_empty() {
            let mut follow_up = Vec::new();
            for cmd in pending.drain(..) {
                match cmd {
                    Cmd::Ui(UiCmd::Quit) => return Ok(()),
                    Cmd::Ui(UiCmd::Rescan) => {
                        let _ = reconciler.send(ReconcileReq::Rescan);
                    }
                    Cmd::Ui(UiCmd::View { viewer, name, text }) => {
                        let result = external.view(viewer, &name, &text);
                        // Whatever the program left on the screen: draw everything anew.
                        terminal.clear()?;
                        follow_up.extend(app.update(Msg::ViewerDone(result)));
                        dirty = true;
                    }
                    Cmd::Ui(UiCmd::Remember(text)) => {
                        if let Some(prefs) = cfg.prefs.clone() {
                            if let Err(e) = worker::spawn_remember(prefs, text, prefs_tx.clone()) {
                                follow_up.extend(
                                    app.update(Msg::Notice(format!(
                                        "filter history not saved: {e}"
                                    ))),
                                );
                                dirty = true;
                            }
                        }
                    }
                    Cmd::Ui(UiCmd::LoadSavedFilters) => {
                        if let Some(prefs) = cfg.prefs.clone() {
                            if let Err(e) = worker::spawn_read_prefs(prefs, prefs_tx.clone()) {
                                follow_up.extend(app.update(Msg::Notice(format!(
                                    "cannot read the saved filters: {e}"
                                ))));
                                dirty = true;
                            }
                        }
                    }
                    Cmd::Ui(UiCmd::Copy { text, label }) => {
                        let result =
                            crate::tui::clipboard::guard(&text).and_then(|t| clipboard.copy(&t));
                        follow_up.extend(app.update(Msg::Copied { label, result }));
                        dirty = true;
                    }
                    Cmd::Query(q) => {
                        // Counts go to their own worker: a slow count never delays a page.
                        let to = match &q {
                            QueryCmd::Count { generation, .. } => {
                                newest_count
                                    .fetch_max(*generation, std::sync::atomic::Ordering::Relaxed);
                                &counts
                            }
                            QueryCmd::CountNewer { .. }
                            | QueryCmd::Position { .. }
                            | QueryCmd::SearchCount { .. } => &counts,
                            QueryCmd::Page { .. }
                            | QueryCmd::FindMatch { .. }
                            | QueryCmd::LoadForViewer { .. }
                            | QueryCmd::LoadDetails { .. }
                            | QueryCmd::KnownEvents { .. }
                            | QueryCmd::OpenRun { .. }
                            | QueryCmd::Diff { .. }
                            | QueryCmd::Timeline(_)
                            | QueryCmd::Records(_)
                            | QueryCmd::LoadRecord { .. } => &queries,
                        };
                        if to.send(q).is_err() {
                            app.error = Some("the query worker stopped; restart rmos".into());
                        }
                    }
                    Cmd::Queue(q) => {
                        if queue.send(q).is_err() {
                            app.error =
                                Some("the review-queue worker stopped; restart rmos".into());
                        }
                    }
                }
            }
            pending = follow_up;
        }
        if dirty {
            terminal.draw(|f| view::render_with(f, &app, cfg.theme, &mut gfx))?;
            observe(&app);
            dirty = false;
        }
        let msg = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => Msg::Key(k),
                Some(Ok(Event::Mouse(m))) => Msg::Mouse(m),
                Some(Ok(Event::Resize(width, height))) => {
                    terminal.autoresize()?;
                    Msg::Resize { width, height }
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            Some(m) = rx.recv() => m,
            _ = tick.tick() => Msg::Tick { now_ms: started.elapsed().as_millis() as u64, epoch_secs: chrono::Utc::now().timestamp() },
        };
        let is_tick = matches!(msg, Msg::Tick { .. });
        let before = app.message.clone();
        pending.extend(app.update(msg));
        // Coalesce whatever else is already waiting into the same frame.
        while let Ok(m) = rx.try_recv() {
            pending.extend(app.update(m));
            dirty = true;
        }
        if !is_tick || app.message != before || app.reconcile.is_some() {
            dirty = true;
        }
    }
}

/// Restores the terminal when dropped (normal exit and error paths).
struct TerminalGuard;

fn restore_terminal() {
    let _ = crossterm::terminal::disable_raw_mode();
    let _ = crossterm::execute!(
        io::stdout(),
        crossterm::event::DisableMouseCapture,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Run the console on the real terminal.
pub fn run_terminal(root: DataRoot) -> io::Result<()> {
    let mut cfg = ConsoleConfig::new(root);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
    crossterm::terminal::enable_raw_mode()?;
    let _guard = TerminalGuard;
    crossterm::execute!(
        io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        crossterm::event::EnableMouseCapture
    )?;
    (cfg.picker, cfg.graphics_note) = graphics::Graphics::pick(graphics::Choice::from_env());
    let backend = ratatui::backend::CrosstermBackend::new(io::stdout());
    let mut terminal = Terminal::new(backend)?;
    terminal.clear()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut clipboard = clipboard::TerminalClipboard::default();
    let (keys, mut key_rx) = external::KeyReader::spawn();
    let mut viewers = external::TerminalExternal { keys };
    let input = Box::pin(futures_util::stream::poll_fn(move |cx| {
        key_rx.poll_recv(cx)
    }));
    runtime.block_on(run_loop(
        &mut terminal,
        input,
        cfg,
        &mut clipboard,
        &mut viewers,
        |_| {},
    ))
}
