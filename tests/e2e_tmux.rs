//! End to end: the real binary in a real terminal (tmux), driven by keys.
//! Needs tmux (CI installs it); skipped with a notice elsewhere when it is missing.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "e2e"])
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend(keys);
        self.run(&args);
    }

    fn wait_screen(&self, what: &str, cond: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let s = self.screen();
            if cond(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn console_in_tmux_navigates_copies_shows_live_runs_and_quits() {
    if !have_tmux() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required in CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: tmux is not installed");
        return;
    }
    let root = common::store_example_copy();
    let tmux = Tmux {
        socket: format!("rmos-e2e-{}", std::process::id()),
    };
    let bin = env!("CARGO_BIN_EXE_rmos");
    tmux.run(&["-f", "/dev/null", "new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME=/tmp PS1='e2e$ ' bash --norc --noprofile"]);
    tmux.run(&["set", "-g", "set-clipboard", "on"]);
    tmux.wait_screen("the shell prompt", |s| s.contains("e2e$"));
    let cmd = format!("{bin} --data {}", root.path().display());
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_screen("the run list", |s| {
        s.contains("8 runs") && s.contains("5eed00…00000a")
    });

    // j moves down twice, k back once: the second-newest run; Enter shows its details.
    tmux.keys(&["j", "j", "k"]);
    std::thread::sleep(Duration::from_millis(200));
    tmux.keys(&["Enter"]);
    let s = tmux.wait_screen("the details of the selected run", |s| {
        s.contains("details 5eed00…000009")
            && s.contains("run_5eed0000000000000000000000000009  [OK]")
    });
    assert!(
        s.contains("saw:blade_10in") && s.contains("placeholder"),
        "{s}"
    );

    // c copies the selected run_id through OSC 52 into tmux's paste buffer.
    tmux.keys(&["c"]);
    tmux.wait_screen("the copy confirmation", |s| {
        s.contains("copied run_id run_5eed0000000000000000000000000009")
    });
    let buffer = tmux.run(&["show-buffer"]);
    assert_eq!(buffer, "run_5eed0000000000000000000000000009");

    // Esc closes the details.
    tmux.keys(&["Escape"]);
    tmux.wait_screen("the details to close", |s| !s.contains("details 5eed00"));

    // A file written now appears live.
    write_run(root.path(), "run_e2e_live_0001", "2025-12-24T09:30:00Z");
    tmux.wait_screen("the live run", |s| {
        s.contains("e2e_live_0001") && s.contains("9 runs")
    });

    // q quits and the shell prompt is back on a restored screen.
    tmux.keys(&["q"]);
    let s = tmux.wait_screen("the prompt after quitting", |s| {
        s.trim_end().ends_with("e2e$")
    });
    assert!(!s.contains("┌ runs"), "the alternate screen is gone:\n{s}");
}

fn write_run(root: &Path, id: &str, created: &str) {
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = rmos::domain::RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = id.into();
    a.created_at_utc = rmos::domain::Timestamp::parse(created).unwrap();
    rmos::store::runs::RunStore::new(root.join("runs/rmos"))
        .put(&a)
        .unwrap();
}
