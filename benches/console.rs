//! Console benchmark (not a test): time to the first frame with rows, and filter latency
//! (keystroke to the filtered page on screen), on an existing data root — e.g. the one
//! `cargo bench --bench index -- --runs 1000000` generated.
//!
//! ```sh
//! cargo bench --bench console -- --dir /tmp/rmos-bench-1000000 --reps 5
//! ```
//!
//! `--others N` first opens N real `rmos` consoles on the same data root (in a private
//! tmux server, killed at the end) and `--write-rate R` has another writer add R runs a
//! second (into a partition of its own, removed afterwards) while the measure runs:
//! several people on one shared host.
//!
//! With `--live N` (no `--dir` needed): live latency, the time from a run written by
//! another writer (`RunStore::put`, as `rmos score` does) to the console's list showing
//! it, over N runs on a copy of the reference's store (the default, once-a-second quick
//! pass: what arrives sooner arrives through the file watcher).
//!
//! With `--busy-day DIR` (default 100,000 runs, `--day-runs N`; generated once in DIR):
//! the cost of staying live and of the CLI on one big day partition. The real `rmos`
//! console runs in tmux on DIR while this process writes `--rate R` runs a second for
//! `--secs S` seconds; the console's CPU (share of one core) and peak RSS are read from
//! /proc. Then one more run is written and `rmos logs recent` is timed (wall clock and its
//! own peak RSS). `--others N` opens N more consoles on DIR, and their total is reported.
//!
//! ```sh
//! cargo bench --bench console -- --busy-day /tmp/rmos-day-100k --rate 10 --secs 30
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

/// Live latency: a run written → the list shows it, `reps` times.
fn live(reps: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().to_path_buf();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let template =
        std::fs::read(fixtures.join("examples/red_blocked_art_studio_run.json")).unwrap();
    let store = rmos::store::runs::RunStore::new(data.join("runs/rmos"));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<std::io::Result<Event>>();
    let rows = Arc::new(Mutex::new(Vec::<String>::new()));
    let rows2 = rows.clone();
    let root = DataRoot::at(&data);
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
            &mut rmos::tui::external::MemoryExternal::default(),
            |app| {
                *rows2.lock().unwrap() = app.list.rows.iter().map(|r| r.run_id.clone()).collect();
            },
        ))
        .unwrap();
    });
    let wait = |id: &str| {
        let start = Instant::now();
        while !rows.lock().unwrap().iter().any(|r| r == id) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{id} never shown"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
    };
    let mut a = rmos::domain::RunArtifact::from_json_slice(&template).unwrap();
    // A first run: the console is up and watching.
    a.run_id = "run_live_warmup".into();
    store.put(&a).unwrap();
    wait("run_live_warmup");
    std::thread::sleep(Duration::from_millis(1500)); // past a pass: the watches are set
    let mut took = Vec::new();
    for i in 0..reps {
        a.run_id = format!("run_live_{i:04}");
        a.created_at_utc = rmos::domain::Timestamp::parse("2030-01-01T00:00:00Z")
            .unwrap()
            .minus_seconds(-(i as i64));
        let start = Instant::now();
        store.put(&a).unwrap();
        wait(&a.run_id);
        took.push(start.elapsed());
        // Apart enough that each write starts from an idle console (no pass under way).
        std::thread::sleep(Duration::from_millis(400));
    }
    tx.send(key('q')).unwrap();
    h.join().unwrap();
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "live latency (run written → shown)  median {:.1} ms, p90 {:.1} ms, max {:.1} ms ({reps} runs)",
        ms(took[reps / 2]),
        ms(took[reps * 9 / 10]),
        ms(took[reps - 1])
    );
}

/// utime + stime of a process, in clock ticks, and its peak RSS (kB).
fn proc_cost(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let hwm = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    (ticks, hwm)
}

fn busy_day(dir: &str) {
    let day_runs: usize = arg("--day-runs")
        .map(|v| v.parse().unwrap())
        .unwrap_or(100_000);
    let rate: f64 = arg("--rate").map(|v| v.parse().unwrap()).unwrap_or(10.0);
    let secs: f64 = arg("--secs").map(|v| v.parse().unwrap()).unwrap_or(30.0);
    let data = std::path::PathBuf::from(dir);
    let part = data.join("runs/rmos/2030-01-01");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let template =
        std::fs::read(fixtures.join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = rmos::domain::RunArtifact::from_json_slice(&template).unwrap();
    a.created_at_utc = rmos::domain::Timestamp::parse("2030-01-01T00:00:00Z").unwrap();
    let have = std::fs::read_dir(&part).map(|d| d.count()).unwrap_or(0);
    if have < day_runs {
        // Plain files (not the durable put): generating is not what is measured.
        std::fs::create_dir_all(&part).unwrap();
        for i in have..day_runs {
            a.run_id = format!("run_day{i:08}");
            std::fs::write(part.join(format!("{}.json", a.run_id)), a.to_file_bytes()).unwrap();
        }
    }
    // Runs an earlier invocation wrote go: each measure below must see its own runs newest.
    for e in std::fs::read_dir(&part).unwrap().flatten() {
        let n = e.file_name();
        let n = n.to_string_lossy();
        if n.starts_with("run_cli") || n.starts_with("run_busy") {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let bin = env!("CARGO_BIN_EXE_rmos");
    let index = std::process::Command::new(bin)
        .args(["--data", dir, "index", "rebuild"])
        .output()
        .unwrap();
    assert!(index.status.success());
    let sock = format!("rmos-bench-{}", std::process::id());
    let tmux = |args: &[&str]| {
        std::process::Command::new("tmux")
            .arg("-L")
            .arg(&sock)
            .args(args)
            .output()
            .expect("tmux")
    };
    // The measured console, plus `--others N` more on the same root (people sharing a host).
    let consoles = 1 + arg("--others")
        .map(|v| v.parse::<usize>().unwrap())
        .unwrap_or(0);
    for i in 0..consoles {
        tmux(&[
            "new-session",
            "-d",
            "-s",
            &format!("b{i}"),
            "-x",
            "120",
            "-y",
            "40",
            &format!("{bin} --data {dir}"),
        ]);
    }
    std::thread::sleep(Duration::from_secs(4));
    let pids: Vec<u32> = (0..consoles)
        .map(|i| {
            String::from_utf8_lossy(
                &tmux(&["list-panes", "-t", &format!("b{i}"), "-F", "#{pane_pid}"]).stdout,
            )
            .trim()
            .parse()
            .expect("a console's pid")
        })
        .collect();
    let hz = 100.0; // USER_HZ on Linux
    let before: Vec<(u64, u64)> = pids.iter().map(|p| proc_cost(*p)).collect();
    println!("console started: peak RSS {} MB", before[0].1 / 1024);
    let start = Instant::now();
    let store = rmos::store::runs::RunStore::new(data.join("runs/rmos"));
    let mut n = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        a.run_id = format!("run_busy{}_{n:08}", std::process::id());
        store.put(&a).unwrap();
        n += 1;
        let due = Duration::from_secs_f64(n as f64 / rate);
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let after: Vec<(u64, u64)> = pids.iter().map(|p| proc_cost(*p)).collect();
    let share = |i: usize| (after[i].0 - before[i].0) as f64 / hz / wall * 100.0;
    println!(
        "console on a {day_runs}-run day, {n} new runs at {rate}/s for {wall:.0} s: {:.1} % of a core, peak RSS {} MB",
        share(0),
        after[0].1 / 1024
    );
    if consoles > 1 {
        let total: f64 = (0..consoles).map(share).sum();
        let peak = after.iter().map(|c| c.1).max().unwrap_or(0);
        println!(
            "all {consoles} consoles together: {total:.1} % of a core; the largest peak RSS {} MB",
            peak / 1024
        );
    }
    // The CLI after one new file in that day: first with the console still open (a
    // watcher vouches for the index), then with no watcher (the folder is compared).
    std::thread::sleep(Duration::from_secs(1));
    let watched = cli_after_new_file(bin, dir, &store, &mut a, "w");
    tmux(&["kill-server"]);
    std::thread::sleep(Duration::from_secs(3));
    let alone = cli_after_new_file(bin, dir, &store, &mut a, "a");
    for (what, (ms, kb)) in [("a console open", watched), ("no watcher", alone)] {
        println!(
            "`rmos logs recent` after one new run in that day, {what}: median {ms:.1} ms, peak RSS {} MB (9 runs)",
            kb / 1024
        );
    }
}

/// Write one run, then time `rmos logs recent` (which must list it); nine times. The
/// median milliseconds and peak RSS (KB).
fn cli_after_new_file(
    bin: &str,
    dir: &str,
    store: &rmos::store::runs::RunStore,
    a: &mut rmos::domain::RunArtifact,
    tag: &str,
) -> (f64, u64) {
    let mut cli = Vec::new();
    for i in 0..9 {
        a.run_id = format!("run_cli{}_{tag}{i}", std::process::id());
        // Each newer than the last, so the newest page must show it.
        let minute = if tag == "w" { 58 } else { 59 };
        a.created_at_utc =
            rmos::domain::Timestamp::parse(&format!("2030-01-01T23:{minute}:{i:02}Z")).unwrap();
        store.put(a).unwrap();
        let t = Instant::now();
        let out = std::process::Command::new(bin)
            .args(["--data", dir, "logs", "recent", "--limit", "5"])
            .env("RMOS_PEAK_RSS", "1")
            .output()
            .unwrap();
        let took = t.elapsed();
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&a.run_id),
            "the run written a moment ago is listed"
        );
        let err = String::from_utf8_lossy(&out.stderr);
        let kb: u64 = err
            .lines()
            .find_map(|l| l.strip_prefix("rmos: peak RSS "))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        cli.push((took, kb));
    }
    cli.sort();
    (cli[4].0.as_secs_f64() * 1e3, cli[4].1)
}

fn main() {
    if let Some(dir) = arg("--busy-day") {
        return busy_day(&dir);
    }
    if let Some(n) = arg("--live") {
        return live(n.parse().expect("--live N (a number of runs)"));
    }
    let dir = arg("--dir").expect("--dir DATA_ROOT (or --live N)");
    let reps: usize = arg("--reps").map(|r| r.parse().unwrap()).unwrap_or(5);
    let filter = arg("--filter").unwrap_or_else(|| "risk:red".into());
    let others: usize = arg("--others").map(|r| r.parse().unwrap()).unwrap_or(0);
    let write_rate: f64 = arg("--write-rate")
        .map(|r| r.parse().unwrap())
        .unwrap_or(0.0);
    // Other people on the same data root: real consoles in a private tmux server,
    // started and settled before the measure, killed when it ends.
    let _others = (others > 0).then(|| OtherConsoles::start(&dir, others));
    let _writer = (write_rate > 0.0).then(|| Writer::start(&dir, write_rate));
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
                &mut rmos::tui::external::MemoryExternal::default(),
                |app| {
                    let mut s = seen2.lock().unwrap();
                    if s.first.is_none() && !app.list.rows.is_empty() {
                        s.first = Some(start.elapsed());
                    }
                    if let Some(t) = s.typed_at {
                        if s.filtered.is_none()
                            && app.filter_text == want
                            && !app.loading
                            && !app.list.rows.is_empty()
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
        tx.send(key('f')).unwrap();
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
    if others > 0 || write_rate > 0.0 {
        println!(
            "meanwhile                 {others} other consoles open on it, {write_rate} new runs/s written"
        );
    }
    println!(
        "first frame with rows     median {:.1} ms, max {:.1} ms ({reps} starts)",
        ms(first[reps / 2]),
        ms(first[reps - 1])
    );
    println!("filter '{filter}' latency median {:.1} ms, max {:.1} ms (last keystroke to filtered page drawn)", ms(filtered[reps / 2]), ms(filtered[reps - 1]));
}

/// N real `rmos` consoles on one data root, each in its own window of a private tmux
/// server; the server is killed on drop.
struct OtherConsoles {
    sock: String,
}

impl OtherConsoles {
    fn start(dir: &str, n: usize) -> Self {
        let bin = env!("CARGO_BIN_EXE_rmos");
        let sock = format!("rmos-bench-others-{}", std::process::id());
        for i in 0..n {
            let status = std::process::Command::new("tmux")
                .args(["-L", &sock, "new-session", "-d", "-s", &format!("o{i}")])
                .args(["-x", "120", "-y", "40", &format!("{bin} --data {dir}")])
                .status()
                .expect("tmux (the --others mode runs real consoles in tmux)");
            assert!(status.success(), "tmux could not start console {i}");
        }
        // Let them start, reconcile and settle into watching.
        std::thread::sleep(Duration::from_secs(5));
        let panes = std::process::Command::new("tmux")
            .args(["-L", &sock, "list-panes", "-a", "-F", "#{pane_dead}"])
            .output()
            .unwrap();
        let live = String::from_utf8_lossy(&panes.stdout)
            .lines()
            .filter(|l| l.trim() == "0")
            .count();
        assert_eq!(live, n, "every other console is still running");
        OtherConsoles { sock }
    }
}

impl Drop for OtherConsoles {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.sock, "kill-server"])
            .status();
    }
}

/// Another writer adding runs at a steady rate (as `rmos score` does) into a partition
/// of its own, which is removed again when the measure ends.
struct Writer {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
    part: std::path::PathBuf,
}

impl Writer {
    fn start(dir: &str, rate: f64) -> Self {
        let runs = std::path::Path::new(dir).join("runs/rmos");
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let bytes =
            std::fs::read(fixtures.join("examples/red_blocked_art_studio_run.json")).unwrap();
        let mut a = rmos::domain::RunArtifact::from_json_slice(&bytes).unwrap();
        a.created_at_utc = rmos::domain::Timestamp::parse("2031-06-01T12:00:00Z").unwrap();
        let part = runs.join("2031-06-01");
        let store = rmos::store::runs::RunStore::new(runs);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut n = 0u64;
            while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                a.run_id = format!("run_w{}_{n:08}", std::process::id());
                store.put(&a).unwrap();
                n += 1;
                let due = Duration::from_secs_f64(n as f64 / rate);
                if let Some(wait) = due.checked_sub(start.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            n
        });
        Writer {
            stop,
            thread: Some(thread),
            part,
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let n = t.join().unwrap_or(0);
            println!("writer                    {n} runs written (removed again)");
        }
        let _ = std::fs::remove_dir_all(&self.part);
    }
}
