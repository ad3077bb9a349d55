//! The real console event loop, headless (TestBackend), on its own thread: what it shows
//! after every frame is published for the test to wait on.

use crossterm::event::Event;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rmos::config::DataRoot;
use rmos::tui::clipboard::MemoryClipboard;
use rmos::tui::worker::ReconcileTiming;
use rmos::tui::{run_loop, ConsoleConfig};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the console showed after its latest frame.
#[derive(Default, Clone, Debug)]
pub struct Seen {
    pub error: Option<String>,
    pub warning: Option<String>,
    pub watch_problem: Option<String>,
    pub count: Option<u64>,
    pub rows: Vec<String>,
    pub frames: u64,
    /// Every distinct error the console showed (status line or error message), in order.
    pub errors_shown: Vec<String>,
    /// Every distinct status message, in order.
    pub messages_shown: Vec<String>,
    /// The review queue once opened: (pending, approved, rejected) and the listed ids.
    pub queue_counts: Option<(u64, u64, u64)>,
    pub queue_ids: Vec<String>,
    /// A decision dialog is open in the queue.
    pub dialog_open: bool,
    /// The asset the queue has selected.
    pub queue_selected: Option<String>,
}

pub struct Console {
    pub seen: Arc<Mutex<Seen>>,
    /// Everything the console copied (its clipboard is in memory).
    pub copied: Arc<Mutex<Vec<String>>>,
    keys: Option<tokio::sync::mpsc::UnboundedSender<std::io::Result<Event>>>,
    handle: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Console {
    /// Start the console on `data` with a 200 ms quick pass.
    pub fn start(data: PathBuf) -> Console {
        Console::start_with(
            data,
            ReconcileTiming {
                quick: Duration::from_millis(200),
                ..ReconcileTiming::default()
            },
        )
    }

    pub fn start_with(data: PathBuf, timing: ReconcileTiming) -> Console {
        Console::start_root(DataRoot::at(&data), timing)
    }

    /// Start on a given data root (its cache folder chosen by the test).
    pub fn start_root(root: DataRoot, timing: ReconcileTiming) -> Console {
        let (keys_tx, mut keys_rx) =
            tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen_in_loop = seen.clone();
        let clip = MemoryClipboard::default();
        let copied = clip.copied.clone();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
            let mut cfg = ConsoleConfig::new(root);
            cfg.timing = timing;
            // Never the real user's filter history or saved filters.
            cfg.prefs = None;
            let mut clip = clip;
            let input = Box::pin(futures_util::stream::poll_fn(move |cx| {
                keys_rx.poll_recv(cx)
            }));
            let mut viewers = rmos::tui::external::MemoryExternal::default();
            rt.block_on(run_loop(
                &mut term,
                input,
                cfg,
                &mut clip,
                &mut viewers,
                |app| {
                    let mut s = seen_in_loop.lock().unwrap();
                    let mut errors_shown = std::mem::take(&mut s.errors_shown);
                    let mut messages_shown = std::mem::take(&mut s.messages_shown);
                    if let Some((m, _)) = &app.message {
                        if messages_shown.last() != Some(m) {
                            messages_shown.push(m.clone());
                        }
                    }
                    let shown = app.error.clone().or_else(|| {
                        app.message
                            .as_ref()
                            .filter(|(_, is_err)| *is_err)
                            .map(|(m, _)| m.clone())
                    });
                    if let Some(e) = shown {
                        if errors_shown.last() != Some(&e) {
                            errors_shown.push(e);
                        }
                    }
                    *s = Seen {
                        errors_shown,
                        messages_shown,
                        error: app.error.clone(),
                        warning: app.warning.clone(),
                        watch_problem: app.watch_problem.clone(),
                        count: app.match_count,
                        rows: app.list.rows.iter().map(|r| r.run_id.clone()).collect(),
                        frames: s.frames + 1,
                        queue_counts: app.queue.loaded.then_some(app.queue.counts),
                        queue_ids: app
                            .queue
                            .assets
                            .iter()
                            .map(|a| a.asset_id.clone())
                            .collect(),
                        dialog_open: app.queue.modal.is_some(),
                        queue_selected: app.queue.selected_asset().map(|a| a.asset_id.clone()),
                    };
                },
            ))
        });
        Console {
            seen,
            copied,
            keys: Some(keys_tx),
            handle: Some(handle),
        }
    }

    /// Press a key.
    pub fn key(&self, code: crossterm::event::KeyCode) {
        self.key_with(code, crossterm::event::KeyModifiers::NONE);
    }

    /// Press a key with modifiers.
    pub fn key_with(
        &self,
        code: crossterm::event::KeyCode,
        modifiers: crossterm::event::KeyModifiers,
    ) {
        let ev = crossterm::event::KeyEvent::new(code, modifiers);
        if let Some(k) = &self.keys {
            k.send(Ok(Event::Key(ev))).unwrap();
        }
    }

    pub fn now(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }

    /// Wait until `cond` holds for what the console shows; returns how long it took.
    pub fn wait(&self, what: &str, timeout: Duration, cond: impl Fn(&Seen) -> bool) -> Duration {
        let start = Instant::now();
        loop {
            let s = self.now();
            if cond(&s) {
                return start.elapsed();
            }
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}: error {:?}, warning {:?}, watch {:?}, count {:?}, {} rows",
                s.error,
                s.warning,
                s.watch_problem,
                s.count,
                s.rows.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait up to `timeout` for `cond`; `None` when it did not hold by then.
    pub fn wait_up_to(&self, timeout: Duration, cond: impl Fn(&Seen) -> bool) -> Option<Seen> {
        let start = Instant::now();
        loop {
            let s = self.now();
            if cond(&s) {
                return Some(s);
            }
            if start.elapsed() >= timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// End the input: the loop returns; its result must be Ok.
    pub fn stop(mut self) {
        self.keys.take();
        self.handle.take().unwrap().join().unwrap().unwrap();
    }
}
