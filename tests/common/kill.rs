//! Helpers of the SIGKILL tests: a seeded random source whose seed is printed (and taken
//! from `RMOS_CRASH_SEED` to replay a run), a bounded wait for a child's first write, and
//! the staging folder's contents, to count kills that landed in the middle of a write.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::BufRead;
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// xorshift64, seeded.
pub struct Rng {
    pub seed: u64,
    state: u64,
}

impl Rng {
    /// Seeded from `RMOS_CRASH_SEED` when set, else from the clock; says which on stderr
    /// (shown when the test fails, or with `--nocapture`).
    pub fn from_env(test: &str) -> Rng {
        let seed = match std::env::var("RMOS_CRASH_SEED") {
            Ok(s) => s
                .trim()
                .parse::<u64>()
                .unwrap_or_else(|e| panic!("RMOS_CRASH_SEED={s:?}: {e} (a decimal u64)")),
            Err(_) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64,
        };
        eprintln!("{test}: seed {seed} (replay with RMOS_CRASH_SEED={seed})");
        Rng {
            seed,
            state: seed | 1,
        }
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % n
    }
}

/// How long a child may take to make its first write before the test fails.
pub const FIRST_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Wait until the child prints a line equal to `marker` on its (piped) stdout: its first
/// write is done. Fails naming what the child printed if it exits or takes too long.
pub fn wait_for_marker(child: &mut Child, marker: &'static str) {
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + FIRST_WRITE_TIMEOUT;
    let mut seen = Vec::new();
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.trim() == marker => return,
            Ok(line) => seen.push(line),
            Err(e) => {
                let status = child.try_wait().ok().flatten();
                panic!(
                    "the child did not report its first write ({e:?}; exit status {status:?}); it printed: {seen:?}"
                );
            }
        }
    }
}

/// Wait until `cond` holds (polled every millisecond), for a child without a marker;
/// fails with the child's exit status when it does not come within the timeout.
pub fn wait_until(child: &mut Child, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + FIRST_WRITE_TIMEOUT;
    while !cond() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the child exited ({status}) before {what}");
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {FIRST_WRITE_TIMEOUT:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The names in a folder (empty when it does not exist).
pub fn names(dir: &Path) -> BTreeSet<OsString> {
    std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default()
}
