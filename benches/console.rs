//! Console benchmark (not a test): time to the first frame with rows, and filter latency
//! (keystroke to the filtered page on screen), on an existing data root — e.g. the one
//! `cargo bench --bench index -- --runs 1000000` generated.
//!
//! ```sh
//! cargo bench --bench console -- --dir /tmp/rmos-bench-1000000 --reps 5
//! ```

mod support;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rmos::config::DataRoot;
use rmos::tui::clipboard::MemoryClipboard;
use rmos::tui::{run_loop, ConsoleConfig};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::arg;

fn key(c: char) -> std::io::Result<Event> {
    Ok(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )))
}

fn main() {
    let dir = arg("--dir").expect("--dir DATA_ROOT");
    let reps: usize = arg("--reps").map(|r| r.parse().unwrap()).unwrap_or(5);
    let filter = arg("--filter").unwrap_or_else(|| "risk:red".into());
    let mut first = Vec::new();
    let mut filtered = Vec::new();
    for _ in 0..reps {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
        #[derive(Default)]
        struct Seen {
            first: Option<Duration>,
            typed_at: Option<Instant>,
            filtered: Option<Duration>,
        }
        let seen = Arc::new(Mutex::new(Seen::default()));
        let seen2 = seen.clone();
        let root = DataRoot::at(std::path::Path::new(&dir));
        let want = filter.clone();
        let start = Instant::now();
        let h = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
            let mut clip = MemoryClipboard::default();
            let mut rx = rx;
            let input = Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
            rt.block_on(run_loop(
                &mut term,
                input,
                ConsoleConfig::new(root),
                &mut clip,
                |app| {
                    let mut s = seen2.lock().unwrap();
                    if s.first.is_none() && !app.rows.is_empty() {
                        s.first = Some(start.elapsed());
                    }
                    if let Some(t) = s.typed_at {
                        if s.filtered.is_none()
                            && app.filter_text == want
                            && !app.loading
                            && !app.rows.is_empty()
                        {
                            s.filtered = Some(t.elapsed());
                        }
                    }
                },
            ))
            .unwrap();
        });
        while seen.lock().unwrap().first.is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        tx.send(key('/')).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let chars: Vec<char> = filter.chars().collect();
        for c in &chars[..chars.len() - 1] {
            tx.send(key(*c)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        seen.lock().unwrap().typed_at = Some(Instant::now());
        tx.send(key(*chars.last().unwrap())).unwrap();
        while seen.lock().unwrap().filtered.is_none() {
            std::thread::sleep(Duration::from_millis(1));
        }
        tx.send(Ok(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        ))))
        .unwrap();
        tx.send(key('q')).unwrap();
        h.join().unwrap();
        let s = seen.lock().unwrap();
        first.push(s.first.unwrap());
        filtered.push(s.filtered.unwrap());
    }
    first.sort();
    filtered.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("data root                 {dir}");
    println!(
        "first frame with rows     median {:.1} ms, max {:.1} ms ({reps} starts)",
        ms(first[reps / 2]),
        ms(first[reps - 1])
    );
    println!("filter '{filter}' latency median {:.1} ms, max {:.1} ms (last keystroke to filtered page drawn)", ms(filtered[reps / 2]), ms(filtered[reps - 1]));
}
