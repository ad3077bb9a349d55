//! End to end: the real binary in a real terminal (tmux), driven by keys.
//! Needs tmux (CI installs it); skipped with a notice elsewhere when it is missing.

mod common;

use common::tmux::Tmux;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn console_in_tmux_navigates_copies_shows_live_runs_and_quits() {
    let Some(tmux) = Tmux::new("e2e") else {
        return;
    };
    let root = common::store_example_copy();
    let bin = env!("CARGO_BIN_EXE_rmos");
    tmux.start(120, 40, "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME=/tmp PS1='e2e$ ' bash --norc --noprofile");
    tmux.run(&["set", "-g", "set-clipboard", "on"]);
    tmux.wait_screen("the shell prompt", |s| s.contains("e2e$"));
    let cmd = format!("{bin} --data {}", root.path().display());
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_screen("the run list", |s| {
        s.contains("8 runs") && s.contains("5eed00…00000a")
    });

    // j moves down twice, k back once: the second-newest run; Enter shows its details.
    tmux.keys(&["j", "j", "k", "Enter"]);
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

/// Add an EXPLANATION asset through the CLI; its id.
fn add_explanation(data: &Path, text: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rmos"))
        .arg("--data")
        .arg(data)
        .args([
            "--json",
            "advisory",
            "add",
            "--type",
            "EXPLANATION",
            "--text",
            text,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["asset_id"].as_str().unwrap().to_owned()
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

#[test]
fn review_queue_in_tmux_approves_and_rejects_with_a_reason() {
    let Some(tmux) = Tmux::new("e2e-q") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_rmos");
    let add = |text: &str, t: &str| {
        let out = Command::new(bin)
            .arg("--data")
            .arg(dir.path())
            .args([
                "--json",
                "advisory",
                "add",
                "--type",
                t,
                "--text",
                text,
                "--provider",
                "claude",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["asset_id"].as_str().unwrap().to_owned()
    };
    let first = add("Raise the feed to 1500 mm/min.", "EXPLANATION");
    // The queue is newest first: the second asset must carry a later creation time.
    let after_first = rmos::domain::Timestamp::now();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while rmos::domain::Timestamp::now() <= after_first {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock does not advance"
        );
        std::thread::yield_now();
    }
    let second = add("{\"ring_count\": 9}", "SUGGESTION");
    tmux.start(120, 40, "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME=/tmp RMOS_REVIEWER=carol PS1='e2e$ ' bash --norc --noprofile");
    tmux.wait_screen("the shell prompt", |s| s.contains("e2e$"));
    tmux.keys(&[&format!("{bin} --data {}", dir.path().display()), "Enter"]);
    tmux.wait_screen("the console", |s| s.contains("┌ runs"));
    tmux.keys(&["2"]);
    // Newest first: the suggestion is selected; wait for its preview, then approve it.
    tmux.wait_screen("the queue with a preview", |s| {
        s.contains("2 pending") && s.contains("\"ring_count\": 9")
    });
    tmux.keys(&["a"]);
    tmux.wait_screen("the confirmation", |s| {
        s.contains(&format!("Approve SUGGESTION {second}"))
    });
    tmux.keys(&["y"]);
    tmux.wait_screen("the approval", |s| {
        s.contains(&format!("approved {second}")) && s.contains("1 pending · 1 approved")
    });
    // The explanation is next: reject it with a reason and a note.
    tmux.wait_screen("the explanation preview", |s| s.contains("Raise the feed"));
    tmux.keys(&["r"]);
    tmux.wait_screen("the reason list", |s| s.contains("why?"));
    tmux.keys(&["j", "j", "Enter"]);
    tmux.wait_screen("the note", |s| {
        s.contains("(optional; reason: anatomically_incorrect)")
    });
    tmux.keys(&["-l", "not for ebony"]);
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the reject confirmation", |s| {
        s.contains(&format!("Reject EXPLANATION {first}"))
            && s.contains("reason: anatomically_incorrect")
    });
    tmux.keys(&["y"]);
    tmux.wait_screen("the rejection", |s| {
        s.contains(&format!("rejected {first}"))
            && s.contains("0 pending · 1 approved · 1 rejected")
    });
    tmux.keys(&["q"]);
    tmux.wait_screen("the prompt", |s| s.trim_end().ends_with("e2e$"));

    let out = Command::new(bin)
        .arg("--data")
        .arg(dir.path())
        .args(["advisory", "list", "--status", "all", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_id = |id: &str| {
        v["assets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["asset_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_id(&second)["status"], "approved");
    assert_eq!(by_id(&second)["reviewer_id"], "carol");
    assert_eq!(by_id(&first)["status"], "rejected");
    assert_eq!(by_id(&first)["rejection_reason"], "anatomically_incorrect");
    assert_eq!(by_id(&first)["review_note"], "not for ebony");
    let audit = Command::new(bin)
        .arg("--data")
        .arg(dir.path())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert_eq!(audit.status.code(), Some(0));
}

#[test]
fn review_queue_at_80x24_scrolls_to_the_selection_and_keeps_the_place_after_a_decision() {
    let Some(tmux) = Tmux::new("e2e-q80") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_rmos");
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(add_explanation(
            dir.path(),
            &format!("Explanation number {i}."),
        ));
        std::thread::sleep(Duration::from_millis(15));
    }
    // Newest first in the list.
    ids.reverse();
    tmux.start(80, 24, "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME=/tmp RMOS_REVIEWER=dana PS1='e2e$ ' bash --norc --noprofile");
    tmux.wait_screen("the shell prompt", |s| s.contains("e2e$"));
    tmux.keys(&[&format!("{bin} --data {}", dir.path().display()), "Enter"]);
    tmux.wait_screen("the console", |s| s.contains("┌ runs"));
    tmux.keys(&["2", "s", "s", "s"]);
    // The rows of "all" listed (the label changes at once; the rows arrive with the load,
    // and a `j` on the empty list of a status shown a moment before moves nothing).
    tmux.wait_screen("all assets", |s| {
        s.contains("showing all") && s.contains("status") && s.contains(ids[0].as_str())
    });
    for _ in 0..7 {
        tmux.keys(&["j"]);
    }
    let target = &ids[7];
    // The list scrolled: the selected asset is on a list row, and its preview is loaded.
    let list_row = |s: &str| {
        s.lines().any(|l| {
            l.contains(target.as_str()) && l.contains("pending") && l.contains("EXPLANATION")
        })
    };
    tmux.wait_screen("the eighth asset listed and previewed", |s| {
        list_row(s) && s.contains("Explanation number 2.")
    });
    tmux.keys(&["a"]);
    tmux.wait_screen("a dialog naming the asset", |s| {
        s.contains(&format!("Approve EXPLANATION {target}"))
    });
    tmux.keys(&["y"]);
    // The place is kept: the next pending asset (the ninth) is selected, not the first.
    tmux.wait_screen("the next asset after the decision", |s| {
        s.contains(&format!("approved {target}")) && s.contains("Explanation number 1.")
    });
    tmux.keys(&["q"]);
    tmux.wait_screen("the prompt", |s| s.trim_end().ends_with("e2e$"));
}

/// Two people on one data root, each in their own console: a decision in one shows in the
/// other's queue, and the other cannot decide it again unknowingly.
#[test]
fn a_decision_in_one_console_shows_in_the_other() {
    let (Some(alice), Some(bob)) = (Tmux::new("e2e-alice"), Tmux::new("e2e-bob")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_rmos");
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(add_explanation(dir.path(), &format!("advice number {i}")));
    }
    for (t, who) in [(&alice, "alice"), (&bob, "bob")] {
        t.start(120, 40, &format!(
            "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME=/tmp RMOS_REVIEWER={who} {bin} --data {}",
            dir.path().display()
        ));
        t.wait_screen("the console", |s| s.contains("┌ runs"));
        t.keys(&["2"]);
        t.wait_screen("the queue", |s| s.contains("3 pending"));
    }
    // Bob opens the approve dialog on his selected asset (its preview shown first: a
    // decision waits for the content); Alice approves the same one.
    bob.wait_screen("bob's preview", |s| s.contains("advice number"));
    bob.keys(&["a"]);
    let dialog = bob.wait_screen("bob's dialog", |s| s.contains("Approve EXPLANATION"));
    let line = dialog
        .lines()
        .find(|l| l.contains("Approve EXPLANATION"))
        .expect("the dialog line");
    let shown = ids
        .iter()
        .find(|id| line.contains(id.as_str()))
        .expect("the dialog names the asset")
        .clone();
    alice.wait_screen("alice's preview", |s| s.contains("advice number"));
    alice.keys(&["a"]);
    alice.wait_screen("alice's dialog", |s| {
        s.contains(&format!("Approve EXPLANATION {shown}"))
    });
    alice.keys(&["y"]);
    alice.wait_screen("alice's approval", |s| s.contains("2 pending · 1 approved"));
    // Bob's queue follows without a key pressed…
    bob.wait_screen("alice's decision in bob's console", |s| {
        s.contains("2 pending · 1 approved")
    });
    // …and his confirmation of the dialog he opened before is refused, naming alice.
    bob.keys(&["y"]);
    bob.wait_screen("the refusal", |s| s.contains("approved by alice"));
    let out = Command::new(bin)
        .arg("--data")
        .arg(dir.path())
        .args(["--json", "advisory", "show", &shown])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["history"].as_array().unwrap().len(),
        1,
        "one decision: alice's"
    );
    for t in [&alice, &bob] {
        t.keys(&["q"]);
    }
}

/// The triage path of an 80×24 terminal: an OR filter, reasons read in the list, the
/// filter copied as a command; then, after a restart, the filter history and a saved
/// filter from the picker.
#[test]
fn console_in_tmux_triages_with_reasons_copy_menu_history_and_saved_filters() {
    let Some(tmux) = Tmux::new("e2e-triage") else {
        return;
    };
    let root = common::store_example_copy();
    let config = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_rmos");
    let saved = Command::new(bin)
        .env("RMOS_CONFIG_DIR", config.path())
        .arg("--data")
        .arg(root.path())
        .args(["filters", "save", "blocked", "status:blocked"])
        .output()
        .unwrap();
    assert!(saved.status.success(), "{saved:?}");
    tmux.start(
        80,
        24,
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME=/tmp RMOS_CONFIG_DIR={} PS1='e2e$ ' bash --norc --noprofile",
            config.path().display()
        ),
    );
    tmux.run(&["set", "-g", "set-clipboard", "on"]);
    tmux.wait_screen("the shell prompt", |s| s.contains("e2e$"));
    let cmd = format!("{bin} --data {}", root.path().display());
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_screen("the run list", |s| s.contains("1 of 8 runs"));

    // f, the filter, Enter: the reasons are in the list.
    tmux.keys(&["f", "risk:red OR status:blocked", "Enter"]);
    let s = tmux.wait_screen("the filtered list with reasons", |s| {
        s.contains("1 of 1 matching") && s.contains("filter: risk:red OR status:blocked")
    });
    assert!(s.contains("BLOCKED ERROR   Completeness gu"), "{s}");

    // y f copies the filter as a command line.
    tmux.keys(&["y"]);
    tmux.wait_screen("the copy menu", |s| s.contains("copy (OSC 52)"));
    tmux.keys(&["f"]);
    tmux.wait_screen("the copy confirmation", |s| {
        s.contains("copied the filter as a command")
    });
    assert_eq!(
        tmux.run(&["show-buffer"]),
        "rmos logs recent --filter 'risk:red OR status:blocked'"
    );
    tmux.keys(&["q"]);
    tmux.wait_screen("the prompt after quitting", |s| {
        s.trim_end().ends_with("e2e$")
    });

    // Restarted: ↑ in the filter bar recalls the filter of the last session.
    tmux.keys(&[&cmd, "Enter"]);
    tmux.wait_screen("the run list again", |s| s.contains("1 of 8 runs"));
    tmux.keys(&["f", "Up"]);
    tmux.wait_screen("the recalled filter", |s| {
        s.contains("filter> risk:red OR status:blocked") && s.contains("1 of 1 matching")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_screen("the filter cancelled", |s| s.contains("1 of 8 runs"));

    // @ lists the saved filters; Enter applies one.
    tmux.keys(&["@"]);
    tmux.wait_screen("the saved-filter picker", |s| {
        s.contains("saved filters (1)") && s.contains("@blocked")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_screen("the saved filter applied", |s| {
        s.contains("filter: status:blocked") && s.contains("matching")
    });
    tmux.keys(&["q"]);
    tmux.wait_screen("the prompt after quitting", |s| {
        s.trim_end().ends_with("e2e$")
    });
    // The history is written off the terminal's thread: give it a moment.
    let path = config.path().join("filter_history.json");
    let mut history = String::new();
    for _ in 0..100 {
        history = std::fs::read_to_string(&path).unwrap_or_default();
        if history.contains("@blocked") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(history.contains("risk:red OR status:blocked"), "{history}");
    assert!(history.contains("@blocked"), "{history}");
}

/// p suspends the console for $PAGER (the record, escapes neutralized, as a file that is
/// removed afterwards); the console comes back intact and takes keys again.
#[test]
fn console_in_tmux_hands_the_record_to_the_pager_and_comes_back() {
    let Some(tmux) = Tmux::new("e2e-pager") else {
        return;
    };
    let root = common::store_example_copy();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("paged.json");
    let seen = work.path().join("path.txt");
    let pager = work.path().join("pager.sh");
    std::fs::write(
        &pager,
        format!(
            "#!/bin/sh\ncp \"$1\" {}\nprintf '%s' \"$1\" > {}\necho PAGER-RAN\nread line\n",
            out.display(),
            seen.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pager, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A record with an escape sequence in a warning: the pager must see it escaped.
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = rmos::domain::RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = "run_e2e_pager_0001".into();
    a.created_at_utc = rmos::domain::Timestamp::parse("2025-12-24T09:30:00Z").unwrap();
    a.decision.warnings = vec!["\u{1b}[2Jwiped".into()];
    rmos::store::runs::RunStore::new(root.path().join("runs/rmos"))
        .put(&a)
        .unwrap();
    let bin = env!("CARGO_BIN_EXE_rmos");
    tmux.start(
        80,
        24,
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=xterm-256color HOME=/tmp RMOS_CONFIG_DIR={} PAGER={} PS1='e2e$ ' bash --norc --noprofile",
            work.path().display(),
            pager.display()
        ),
    );
    tmux.wait_screen("the shell prompt", |s| s.contains("e2e$"));
    tmux.keys(&[&format!("{bin} --data {}", root.path().display()), "Enter"]);
    tmux.wait_screen("the run list", |s| s.contains("1 of 9 runs"));
    tmux.keys(&["p"]);
    tmux.wait_screen("the pager", |s| {
        s.contains("PAGER-RAN") && !s.contains("┌ runs")
    });
    // The pager has the keys now: j goes to it, not to the console.
    tmux.keys(&["j", "Enter"]);
    tmux.wait_screen("the console back", |s| {
        s.contains("┌ runs") && s.contains("1 of 9 runs")
    });
    tmux.keys(&["j"]);
    tmux.wait_screen("keys reaching the console again", |s| {
        s.contains("2 of 9 runs")
    });
    let paged = std::fs::read_to_string(&out).unwrap();
    assert!(paged.contains("run_e2e_pager_0001"), "{paged}");
    assert!(
        !paged.contains('\u{1b}'),
        "the escape reached the pager: {paged}"
    );
    assert!(paged.contains("wiped"), "{paged}");
    let path = std::fs::read_to_string(&seen).unwrap();
    assert!(
        !Path::new(&path).exists(),
        "the temporary copy was removed: {path}"
    );
    tmux.keys(&["q"]);
    tmux.wait_screen("the prompt after quitting", |s| {
        s.trim_end().ends_with("e2e$")
    });
}
