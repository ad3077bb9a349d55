//! Attacks by someone who can write a runs folder, a data root or a folder handed over for
//! import: terminal injection through every command, special files, links, forged
//! approvals, chain cuts, demo resets aimed at other data, memory amplification.
//! Each test names the class it covers; SECURITY.md lists them with their outcomes.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A string that would take over a terminal: OSC 52 (rewrite the clipboard), OSC 2 (the
/// window title), a C1 CSI, a bracketed-paste end, bidi and tag characters.
const EVIL: &str =
    "\u{1b}]52;c;cm0gLXJmIH4K\u{7}\u{1b}]2;pwned\u{7}\u{9b}2J\u{1b}[201~\u{202e}\u{2028}\u{e0041}";

fn rmos(data: &Path, args: &[&str]) -> Output {
    common::rmos_cmd(data)
        .args(args)
        .env("RMOS_REVIEWER", "alice")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Characters that must never reach a terminal from rmos's output.
fn dangerous(c: char) -> bool {
    rmos::text::needs_escape(c) && !matches!(c, '\n' | '\t')
}

fn assert_terminal_safe(what: &str, o: &Output) {
    let all = text(o);
    if let Some(c) = all.chars().find(|&c| dangerous(c)) {
        panic!("{what}: output holds {c:?} raw:\n{}", all.escape_debug());
    }
}

fn example() -> Value {
    common::read_json("examples/red_blocked_art_studio_run.json")
}

fn write_run(runs: &Path, partition: &str, file_stem: &str, v: &Value) -> PathBuf {
    let dir = runs.join(partition);
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{file_stem}.json"));
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

fn sqlite(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(sql).unwrap();
}

/// Class: terminal injection through the human output of every command.
#[test]
fn no_command_prints_a_control_character_from_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let runs = data.join("runs/rmos");
    // A run whose id, hash and every string carry the payload (the file is named by its id).
    let mut v = example();
    let evil_id = format!("run_{EVIL}");
    v["run_id"] = evil_id.clone().into();
    // The schema checks only a hash's length (64 characters), so the payload fits.
    let pad = 64 - EVIL.chars().count();
    v["hashes"]["feasibility_sha256"] = format!("{EVIL}{}", "0".repeat(pad)).into();
    v["tool_id"] = EVIL.into();
    v["decision"]["block_reason"] = EVIL.into();
    v["decision"]["warnings"] = serde_json::json!([EVIL]);
    v["meta"] = serde_json::json!({"source": EVIL, "note": EVIL});
    write_run(&runs, "2025-12-20", &evil_id, &v);
    // Enough plain runs for a second page (the cursor hint names the hostile run).
    for n in 0..3 {
        let mut p = example();
        p["run_id"] = format!("run_plain{n}").into();
        p["created_at_utc"] = format!("2025-12-1{n}T10:00:00Z").into();
        write_run(
            &runs,
            &format!("2025-12-1{n}"),
            &format!("run_plain{n}"),
            &p,
        );
    }
    // A snapshot with a hostile fingerprint and risk bucket.
    let snaps = data.join("art_studio/snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    let mut snap = common::read_json("store_example/art_studio/snapshots/snap_5eed00000000.json");
    snap["design_fingerprint"] = EVIL.into();
    snap["feasibility"] = serde_json::json!({"overall_score": 50.0, "risk_bucket": EVIL});
    std::fs::write(
        snaps.join("snap_5eed00000000.json"),
        serde_json::to_vec(&snap).unwrap(),
    )
    .unwrap();
    // An asset decided, then its database fields edited to carry the payload.
    let id = add_text(&data, "ok");
    let id = id["asset_id"].as_str().unwrap().to_owned();
    assert_eq!(
        rmos(&data, &["advisory", "reject", &id, "--reason", "other"])
            .status
            .code(),
        Some(0)
    );
    let db = data.join("rmos.db");
    let esc = EVIL.replace('\'', "''");
    sqlite(
        &db,
        &format!(
            "DROP TRIGGER review_decisions_append_only_update;
             UPDATE review_decisions SET reason = '{esc}', decided_at = '{esc}', reviewer = '{esc}';
             UPDATE advisory_assets SET content_hash = '{esc}', provider = '{esc}', prompt = '{esc}';
             INSERT INTO workflow_sessions (session_id, workflow_type, current_step, status, user_id, machine_id, context_json)
               VALUES ('{esc}', '{esc}', '{esc}', 'active', '{esc}', '{esc}', '{{}}');"
        ),
    );
    let mut checked = 0;
    let cases: Vec<Vec<String>> = vec![
        vec!["logs".into(), "recent".into(), "--limit".into(), "1".into()],
        vec![
            "logs".into(),
            "recent".into(),
            "--filter".into(),
            EVIL.into(),
        ],
        vec!["logs".into(), "show".into(), evil_id.clone()],
        vec!["runs".into(), "verify".into()],
        vec!["index".into(), "status".into()],
        vec!["snapshot".into(), "list".into()],
        vec!["snapshot".into(), "show".into(), "snap_5eed00000000".into()],
        vec![
            "advisory".into(),
            "list".into(),
            "--status".into(),
            "all".into(),
        ],
        vec!["advisory".into(), "show".into(), id.clone()],
        vec!["advisory".into(), "show".into(), EVIL.into()],
        vec!["audit".into(), "verify".into()],
        vec!["audit".into(), "head".into()],
        vec!["sessions".into(), "list".into()],
        vec!["sessions".into(), "show".into(), EVIL.into()],
        vec!["hash".into(), "text".into(), EVIL.into()],
    ];
    for args in &cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = rmos(&data, &a);
        assert_terminal_safe(&format!("{a:?}"), &out);
        // The same command's JSON stays JSON, with nothing raw a terminal would act on.
        let mut j = vec!["--json"];
        j.extend(&a);
        let out = rmos(&data, &j);
        assert_terminal_safe(&format!("--json {a:?}"), &out);
        if out.status.success() && !out.stdout.is_empty() {
            let text = String::from_utf8_lossy(&out.stdout);
            serde_json::from_str::<Value>(&text)
                .unwrap_or_else(|e| panic!("--json {a:?} is not JSON ({e}): {text}"));
        }
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    // The JSON still carries the exact values (escaped, not altered).
    let out = rmos(&data, &["--json", "logs", "recent"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["run_id"].as_str() == Some(evil_id.as_str())),
        "{v}"
    );
}

/// Class: a command printed to paste (the next-page cursor) is shell-quoted exactly.
#[test]
fn the_cursor_hint_pastes_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let runs = data.join("runs/rmos");
    for (n, id) in [
        "run_it's \u{1b}]2;x\u{7}",
        "run_b'$(touch pwned)",
        "run_plain",
    ]
    .iter()
    .enumerate()
    {
        let mut v = example();
        v["run_id"] = (*id).into();
        v["created_at_utc"] = format!("2025-12-2{n}T10:00:00Z").into();
        write_run(&runs, &format!("2025-12-2{n}"), id, &v);
    }
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut args = vec!["logs", "recent", "--limit", "1"];
        if let Some(c) = &cursor {
            args.extend(["--cursor", c]);
        }
        let human = rmos(&data, &args);
        assert_terminal_safe("logs recent", &human);
        let mut j = vec!["--json"];
        j.extend(&args);
        let json: Value = serde_json::from_slice(&rmos(&data, &j).stdout).unwrap();
        pages += 1;
        let Some(next) = json["next_cursor"].as_str() else {
            break;
        };
        let stderr = String::from_utf8_lossy(&human.stderr);
        let hint = stderr
            .lines()
            .find_map(|l| l.strip_prefix("more: --cursor "))
            .unwrap_or_else(|| panic!("no cursor hint in {stderr}"));
        // What a shell makes of the pasted hint is exactly the cursor.
        let pasted = Command::new("bash")
            .arg("-c")
            .arg(format!("printf %s {hint}"))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&pasted.stdout), next, "hint {hint}");
        assert!(!dir.path().join("pwned").exists());
        cursor = Some(next.to_owned());
        assert!(pages < 10, "the cursor walk must end");
    }
    assert_eq!(pages, 3);
}

/// Class: a new command cannot forget the sanitizer — commands print only through
/// `cli::out` (which escapes), never with the std print macros or a raw stdout.
#[test]
fn commands_print_only_through_the_escaping_writer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = vec![src.join("main.rs")];
    for e in std::fs::read_dir(src.join("cli")).unwrap() {
        files.push(e.unwrap().path());
    }
    let mut offenders = Vec::new();
    for f in &files {
        if f.file_name().unwrap() == "out.rs" {
            continue;
        }
        let body = std::fs::read_to_string(f).unwrap();
        for (i, line) in body.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            for bad in [
                "println!",
                "print!(",
                "eprint!",
                "io::stdout()",
                "io::stderr()",
            ] {
                // Completions and the man page are clap's own text, not data.
                if code.contains(bad)
                    && !code.contains("clap_complete::generate")
                    && !line.contains("render(&mut std::io::stdout())")
                    && !code.contains("is_terminal()")
                {
                    offenders.push(format!("{}:{}: {}", f.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(files.len() > 10, "the CLI sources were found");
    assert!(
        offenders.is_empty(),
        "print through cli::out:\n{}",
        offenders.join("\n")
    );
}

/// Runs `cmd` and fails (killing it) if it has not ended within `limit`.
fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            panic!("hung for {:?}", started.elapsed());
        }
    }
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

/// Class: special files (FIFOs) named like records never hang a command; they are listed
/// as invalid entries saying what they are.
#[test]
fn fifos_named_like_records_are_reported_not_read() {
    let root = common::store_example_copy();
    let data = root.path();
    let runs = data.join("runs/rmos");
    let part = runs.join("2025-12-23");
    mkfifo(&part.join("run_fifo.json"));
    let limit = Duration::from_secs(60);
    let mut cmds = 0;
    for args in [
        &["logs", "show", "run_fifo"][..],
        &["runs", "verify"],
        &["index", "rebuild"],
        &["logs", "recent"],
    ] {
        let mut c = common::rmos_cmd(data);
        c.args(args);
        let out = run_bounded(c, limit);
        assert_terminal_safe(&format!("{args:?}"), &out);
        if args[1] != "recent" && args[1] != "rebuild" {
            assert!(text(&out).contains("FIFO"), "{args:?}: {}", text(&out));
        }
        cmds += 1;
    }
    assert_eq!(cmds, 4);
    // A FIFO as an advisory blob, the config or the chain head does not hang either.
    let v = add_text(data, "t");
    let blob = data.join(v["content_path"].as_str().unwrap());
    std::fs::remove_file(&blob).unwrap();
    mkfifo(&blob);
    let mut c = common::rmos_cmd(data);
    c.args(["advisory", "show", v["asset_id"].as_str().unwrap()]);
    let out = run_bounded(c, limit);
    assert!(text(&out).contains("FIFO"), "{}", text(&out));
    mkfifo(&data.join("config.json"));
    let mut c = common::rmos_cmd(data);
    c.args(["advisory", "approve", v["asset_id"].as_str().unwrap()]);
    let out = run_bounded(c, limit);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("FIFO"), "{}", text(&out));
}

/// Class: symbolic links and special files in places rmos writes: lock files, staging
/// folders, the database. Nothing is created through them; the error names the path.
#[test]
fn writes_never_go_through_links_in_the_data_root() {
    let outside = tempfile::tempdir().unwrap();
    let root = common::store_example_copy();
    let data = root.path();
    let design = common::fixtures().join("examples/rosette_spec.json");
    let design = if design.exists() {
        design
    } else {
        let p = outside.path().join("design.json");
        std::fs::write(
            &p,
            r#"{"outer_diameter_mm": 100, "inner_diameter_mm": 80, "ring_params": [{"ring_index": 0, "width_mm": 3.0, "pattern_type": "SOLID"}]}"#,
        )
        .unwrap();
        p
    };
    // 1. The snapshots lock is a link to a file that does not exist yet.
    let snaps = data.join("art_studio/snapshots");
    let target = outside.path().join("created-through-lock");
    std::os::unix::fs::symlink(&target, snaps.join(".lock")).unwrap();
    let out = rmos(
        data,
        &[
            "snapshot",
            "export",
            design.to_str().unwrap(),
            "--id",
            "snap_linked",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert!(!target.exists(), "nothing created at the link's target");
    // 2. The runs folder's private `_rmos` is a link elsewhere.
    let elsewhere = outside.path().join("rmos-private");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let private = data.join("runs/rmos/_rmos");
    std::fs::remove_dir_all(&private).ok();
    std::os::unix::fs::symlink(&elsewhere, &private).unwrap();
    let out = rmos(data, &["score", design.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    std::fs::remove_file(&private).unwrap();
    // 3. `advisory/` is a link elsewhere.
    let adv_elsewhere = outside.path().join("advisory");
    std::fs::create_dir_all(&adv_elsewhere).unwrap();
    std::os::unix::fs::symlink(&adv_elsewhere, data.join("advisory")).unwrap();
    let out = rmos(
        data,
        &["advisory", "add", "--type", "EXPLANATION", "--text", "x"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(std::fs::read_dir(&adv_elsewhere).unwrap().count(), 0);
    std::fs::remove_file(data.join("advisory")).unwrap();
    // 4. rmos.db is a link to another SQLite file: not opened, not migrated.
    let other = outside.path().join("other.db");
    sqlite(
        &other,
        "CREATE TABLE mine (x); INSERT INTO mine VALUES (1);",
    );
    let before = std::fs::read(&other).unwrap();
    std::fs::remove_file(data.join("rmos.db")).ok();
    std::os::unix::fs::symlink(&other, data.join("rmos.db")).unwrap();
    let out = rmos(data, &["advisory", "list"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert_eq!(
        std::fs::read(&other).unwrap(),
        before,
        "the other database is untouched"
    );
    assert!(!outside.path().join("other.db-wal").exists());
}

/// Class: imports — a content file linked to a secret, approvals claimed by a file, content
/// that does not match its claimed hash, a viewer bringing approvals in.
#[test]
fn imports_read_only_regular_files_and_record_claims_honestly() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("id_rsa");
    std::fs::write(&secret, b"-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n").unwrap();
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let assets = dir.path().join("handed_over/2025/12/23");
    std::fs::create_dir_all(&assets).unwrap();
    let record = |id: &str, extra: &str| {
        format!(
            r#"{{"asset_id": "{id}", "asset_type": "analysis", "created_at_utc": "2025-12-23T18:00:00Z",
                "reviewed": true, "approved_for_workflow": true, "reviewed_by": "alice"{extra}}}"#
        )
    };
    // a) The content is a link to the secret.
    std::os::unix::fs::symlink(&secret, assets.join("adv_aaaaaaaaaaaa_content.txt")).unwrap();
    std::fs::write(
        assets.join("adv_aaaaaaaaaaaa.json"),
        record("adv_aaaaaaaaaaaa", ""),
    )
    .unwrap();
    // b) A plain text asset whose file claims alice approved it.
    std::fs::write(
        assets.join("adv_bbbbbbbbbbbb_content.txt"),
        b"use a 3 mm end mill",
    )
    .unwrap();
    std::fs::write(
        assets.join("adv_bbbbbbbbbbbb.json"),
        record("adv_bbbbbbbbbbbb", ""),
    )
    .unwrap();
    // c) The record file itself is a link; d) its folder is a link out of the import dir.
    std::os::unix::fs::symlink(
        assets.join("adv_bbbbbbbbbbbb.json"),
        assets.join("adv_cccccccccccc.json"),
    )
    .unwrap();
    let out_dir = dir.path().join("elsewhere/2025");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(
        out_dir.join("adv_dddddddddddd.json"),
        record("adv_dddddddddddd", r#", "suggestion_data": {"x": 1}"#),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("elsewhere"),
        dir.path().join("handed_over/linked"),
    )
    .unwrap();

    // Bob is a viewer: the assets come in pending; the claims are reported.
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("config.json"),
        r#"{"reviewers": {"alice": "reviewer", "bob": "viewer"}}"#,
    )
    .unwrap();
    let import = |who: &str| {
        common::rmos_cmd(&data)
            .args(["--json", "advisory", "import"])
            .arg(dir.path().join("handed_over"))
            .env("RMOS_REVIEWER", who)
            .output()
            .unwrap()
    };
    let out = import("bob");
    assert_terminal_safe("import", &out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["imported"], 1, "{report}");
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("adv_aaaaaaaaaaaa") && problems.contains("symbolic link"),
        "{problems}"
    );
    assert!(
        problems.contains("adv_cccccccccccc") && problems.contains("symbolic link"),
        "{problems}"
    );
    assert!(
        !problems.contains("adv_dddddddddddd"),
        "a linked folder is not entered"
    );
    assert!(
        report["notes"].to_string().contains("imported as pending"),
        "{report}"
    );
    let list: Value = serde_json::from_slice(
        &rmos(&data, &["--json", "advisory", "list", "--status", "all"]).stdout,
    )
    .unwrap();
    let assets_now = list["assets"].as_array().unwrap();
    assert_eq!(assets_now.len(), 1);
    assert_eq!(
        assets_now[0]["status"], "pending",
        "a viewer brings no approval in"
    );
    // Nothing of the secret was stored anywhere in the data root.
    for f in walk(&data) {
        if f.is_file() && !f.to_string_lossy().contains("rmos.db") {
            let body = std::fs::read(&f).unwrap();
            assert!(
                !body.windows(6).any(|w| w == b"secret"),
                "{} holds the secret",
                f.display()
            );
        }
    }
    assert_eq!(rmos(&data, &["audit", "verify"]).status.code(), Some(0));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Add a text asset through the CLI; its JSON (the add must succeed).
fn add_text(data: &Path, content: &str) -> Value {
    let out = rmos(
        data,
        &[
            "--json",
            "advisory",
            "add",
            "--type",
            "EXPLANATION",
            "--text",
            content,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn decided_asset(data: &Path, approve: bool) -> String {
    let v = add_text(data, "feed 900");
    let id = v["asset_id"].as_str().unwrap().to_owned();
    let args: Vec<&str> = if approve {
        vec!["advisory", "approve", &id]
    } else {
        vec!["advisory", "reject", &id, "--reason", "other"]
    };
    assert_eq!(rmos(data, &args).status.code(), Some(0));
    id
}

/// Class: approval state edited outside the chain — the chain decides; audit verify says so.
#[test]
fn approval_flags_edited_outside_the_chain_change_nothing() {
    let root = common::store_example_copy();
    let data = root.path();
    let rejected = decided_asset(data, false);
    let pending = {
        let v = add_text(data, "x");
        v["asset_id"].as_str().unwrap().to_owned()
    };
    sqlite(
        &data.join("rmos.db"),
        "UPDATE advisory_assets SET reviewed = 1, approved_for_workflow = 1, reviewer_id = 'mallory';",
    );
    for id in [&rejected, &pending] {
        let show: Value =
            serde_json::from_slice(&rmos(data, &["--json", "advisory", "show", id]).stdout)
                .unwrap();
        assert_ne!(show["status"], "approved", "{id}: {show}");
        let out = rmos(
            data,
            &[
                "advisory",
                "attach",
                id,
                "--run",
                "run_5eed0000000000000000000000000002",
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{id} must not be attachable: {}",
            text(&out)
        );
    }
    let approved: Value = serde_json::from_slice(
        &rmos(
            data,
            &["--json", "advisory", "list", "--status", "approved"],
        )
        .stdout,
    )
    .unwrap();
    assert_eq!(
        approved["assets"].as_array().unwrap().len(),
        0,
        "{approved}"
    );
    let out = rmos(data, &["--json", "audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state_mismatches"].as_array().unwrap().len(), 2, "{v}");
}

/// Class: chain tampering through the head file, and a consistent rollback caught only by
/// an anchor kept elsewhere.
#[test]
fn chain_head_is_required_and_anchors_catch_rollbacks() {
    let root = common::store_example_copy();
    let data = root.path();
    for approve in [true, false, true] {
        decided_asset(data, approve);
    }
    let head = data.join("advisory/audit-head.json");
    let anchor = String::from_utf8(rmos(data, &["audit", "head"]).stdout).unwrap();
    let anchor = anchor.trim().to_owned();
    assert!(anchor.starts_with("3:"), "{anchor}");
    let ok = rmos(data, &["audit", "verify", "--expect-head", &anchor]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    // A deleted or garbled head is a failure, not ignored.
    let saved = std::fs::read(&head).unwrap();
    std::fs::remove_file(&head).unwrap();
    let out = rmos(data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("missing"), "{}", text(&out));
    std::fs::write(&head, b"{garbage").unwrap();
    assert_eq!(rmos(data, &["audit", "verify"]).status.code(), Some(1));
    std::fs::write(&head, &saved).unwrap();
    assert_eq!(rmos(data, &["audit", "verify"]).status.code(), Some(0));
    // A consistent rollback of both the database and the head file verifies on its own…
    let db = data.join("rmos.db");
    // (the asset it decided is set back to pending in the projection too)
    sqlite(
        &db,
        "DROP TRIGGER review_decisions_append_only_delete;
        UPDATE advisory_assets SET reviewed = 0, approved_for_workflow = 0
          WHERE asset_id = (SELECT asset_id FROM review_decisions WHERE seq = 3);
        DELETE FROM review_decisions WHERE seq = 3;",
    );
    let (seq2, hash2): (i64, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT seq, record_hash FROM review_decisions WHERE seq = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    std::fs::write(
        &head,
        format!(r#"{{"seq": {seq2}, "record_hash": "{hash2}"}}"#),
    )
    .unwrap();
    assert_eq!(
        rmos(data, &["audit", "verify"]).status.code(),
        Some(0),
        "documented limit"
    );
    // …but not against the anchor recorded before.
    let out = rmos(data, &["audit", "verify", "--expect-head", &anchor]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("NOT in the chain"), "{}", text(&out));
}

/// Class: concurrent decisions keep the head file at the chain's end.
#[test]
fn concurrent_decisions_leave_the_head_at_the_end_of_the_chain() {
    let root = common::store_example_copy();
    let data = root.path();
    let ids: Vec<String> = (0..24)
        .map(|i| {
            let v = add_text(data, &format!("n{i}"));
            v["asset_id"].as_str().unwrap().to_owned()
        })
        .collect();
    let children: Vec<_> = ids
        .iter()
        .map(|id| {
            common::rmos_cmd(data)
                .args(["advisory", "approve", id])
                .env("RMOS_REVIEWER", "alice")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut succeeded = 0;
    for mut c in children {
        succeeded += usize::from(c.wait().unwrap().success());
    }
    assert_eq!(succeeded, ids.len());
    let out = rmos(data, &["--json", "audit", "verify"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], ids.len());
    let head: Value =
        serde_json::from_slice(&std::fs::read(data.join("advisory/audit-head.json")).unwrap())
            .unwrap();
    assert_eq!(head["seq"], ids.len(), "the head names the last record");
}

/// Class: `demo --fresh` aimed at somebody else's data through a variable or a link.
#[test]
fn demo_fresh_never_deletes_outside_its_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    assert_eq!(rmos(&data, &["demo", "--no-tui"]).status.code(), Some(0));
    // A luthiers-toolbox runs folder, reached by RMOS_RUNS_DIR.
    let reference = common::store_example_copy();
    let ref_runs = reference.path().join("runs/rmos");
    let before = common::artifact_files(&ref_runs).len();
    assert!(before > 0);
    let fresh_with = |envs: &[(&str, &Path)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rmos"));
        c.args(["demo", "--fresh", "--yes", "--no-tui"])
            .env("RMOS_DATA_DIR", &data)
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .env_remove("RMOS_RUNS_DIR")
            .env_remove("ART_STUDIO_SNAPSHOTS_DIR")
            .env_remove("CAM_BACKUP_DIR");
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    for (var, path) in [
        ("RMOS_RUNS_DIR", ref_runs.as_path()),
        (
            "ART_STUDIO_SNAPSHOTS_DIR",
            &reference.path().join("art_studio/snapshots"),
        ),
    ] {
        let out = fresh_with(&[(var, path)]);
        assert_eq!(out.status.code(), Some(1), "{var}: {}", text(&out));
        assert!(text(&out).contains(var), "{}", text(&out));
    }
    assert_eq!(common::artifact_files(&ref_runs).len(), before);
    assert!(reference
        .path()
        .join("art_studio/snapshots/snap_5eed00000000.json")
        .exists());
    // The demo's runs folder swapped for a link to the reference's.
    let demo_runs = data.join("runs");
    let moved = dir.path().join("demo-runs-moved");
    std::fs::rename(&demo_runs, &moved).unwrap();
    std::os::unix::fs::symlink(reference.path().join("runs"), &demo_runs).unwrap();
    let out = fresh_with(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert_eq!(common::artifact_files(&ref_runs).len(), before);
    std::fs::remove_file(&demo_runs).unwrap();
    std::fs::rename(&moved, &demo_runs).unwrap();
    // A run somebody added to the demo root by hand is kept by a reset.
    let mut v = example();
    v["run_id"] = "run_mine".into();
    let mine = write_run(&data.join("runs/rmos"), "2025-12-01", "run_mine", &v);
    let out = fresh_with(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(mine.exists(), "not created by the demo: kept");
    assert!(text(&out).contains("kept 1"), "{}", text(&out));
}

/// Class: hidden records — non-UTF-8 names and one run_id in two partitions.
#[test]
fn odd_names_and_duplicates_are_reported() {
    use std::os::unix::ffi::OsStrExt;
    let root = common::store_example_copy();
    let data = root.path();
    let runs = data.join("runs/rmos");
    let mut v = example();
    v["run_id"] = "run_twice".into();
    write_run(&runs, "2025-12-22", "run_twice", &v);
    write_run(&runs, "2025-12-23", "run_twice", &v);
    let odd = runs
        .join("2025-12-23")
        .join(std::ffi::OsStr::from_bytes(b"run_\xff\xfe.json"));
    std::fs::write(&odd, serde_json::to_vec(&example()).unwrap()).unwrap();
    let out = rmos(data, &["--json", "runs", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    let dups: Vec<&Value> = rows
        .iter()
        .filter(|r| r["outcome"] == "duplicate")
        .collect();
    assert_eq!(dups.len(), 2, "{v}");
    assert_eq!(v["summary"]["duplicate"], 2);
    let bad = rows
        .iter()
        .find(|r| {
            r["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not UTF-8"))
        })
        .unwrap_or_else(|| panic!("the odd name is listed: {v}"));
    assert_eq!(bad["outcome"], "invalid");
    // The console's details pane says so too.
    let index = rmos::config::DataRoot::at(data).open_index().unwrap();
    let details = rmos::tui::worker::load_details(&index, "2025-12-22", "run_twice.json");
    assert_eq!(details.verify, "duplicate");
    assert!(details.verify_detail.unwrap().contains("2025-12-23"));
    let human = rmos(data, &["runs", "verify"]);
    assert_terminal_safe("runs verify", &human);
    assert!(text(&human).contains("\\xff\\xfe"), "{}", text(&human));
    // The index lists it as an invalid entry too.
    let out = rmos(data, &["--json", "index", "rebuild"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: Value =
        serde_json::from_slice(&rmos(data, &["--json", "index", "status"]).stdout).unwrap();
    assert!(status["invalid"].as_u64().unwrap() >= 1, "{status}");
}

/// Run `cmd` with RMOS_PEAK_RSS=1 and return its output and its peak RSS in kB, as rmos
/// reports it (wait4's figure would include the test process's memory at spawn).
fn run_measured(mut cmd: Command) -> (Output, i64) {
    let out = cmd.env("RMOS_PEAK_RSS", "1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb = stderr
        .lines()
        .find_map(|l| l.strip_prefix("rmos: peak RSS "))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS report: {stderr}"));
    (out, kb)
}

/// Class: memory amplification — a 63 MB artifact of nested empty arrays, and files
/// that never end, stay within peak RSS ≤ 4 × file size + 50 MB.
#[test]
fn memory_stays_bounded_on_amplifying_files() {
    let root = common::store_example_copy();
    let data = root.path();
    let runs = data.join("runs/rmos/2025-12-23");
    let mut body = String::from(r#"{"run_id": "run_bomb", "feasibility": {"x": ["#);
    let target = 63 * 1024 * 1024;
    body.reserve(target);
    while body.len() < target - 16 {
        body.push_str("[],");
    }
    body.push_str("[]]}}");
    std::fs::write(runs.join("run_bomb.json"), &body).unwrap();
    let size_kb = (body.len() / 1024) as i64;
    drop(body);
    let limit_kb = 4 * size_kb + 50 * 1024;
    let mut measured = 0;
    for args in [
        &["logs", "show", "run_bomb"][..],
        &["runs", "verify"],
        &["index", "rebuild"],
        &["hash", "json"],
        &["score"],
    ] {
        let mut c = common::rmos_cmd(data);
        c.args(args);
        if matches!(args[0], "hash" | "score") {
            c.arg(runs.join("run_bomb.json"));
        }
        let (out, rss_kb) = run_measured(c);
        assert!(
            rss_kb <= limit_kb,
            "{args:?}: peak RSS {rss_kb} kB over {limit_kb} kB: {}",
            text(&out)
        );
        assert_terminal_safe(&format!("{args:?}"), &out);
        eprintln!(
            "{args:?}: peak RSS {} MB (limit {} MB)",
            rss_kb / 1024,
            limit_kb / 1024
        );
        measured += 1;
    }
    assert_eq!(measured, 5);
    // The densest documents that are still accepted stay within the same bound: numbers
    // (a long toolpath) and small objects (points as {"x","y","z"}).
    let dense = [
        (
            "numbers",
            (0..330_000)
                .map(|i| format!("{}.{:06}", i % 997, i * 7 % 1_000_000))
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "points",
            (0..40_000)
                .map(|i| format!(r#"{{"x":{}.5,"y":{}.25,"z":-1.0}}"#, i % 300, i % 77))
                .collect::<Vec<_>>()
                .join(","),
        ),
    ];
    for (name, items) in dense {
        let doc = format!(r#"{{"toolpath": [{items}]}}"#);
        rmos::fsio::read::check_json_budget(doc.as_bytes())
            .unwrap_or_else(|e| panic!("{name}: an accepted size is needed: {e}"));
        let file = root.path().join(format!("{name}.json"));
        std::fs::write(&file, &doc).unwrap();
        let mut c = common::rmos_cmd(data);
        c.args(["hash", "json"]).arg(&file);
        let (out, rss_kb) = run_measured(c);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        let limit = 4 * (doc.len() as i64 / 1024) + 50 * 1024;
        eprintln!(
            "{name} ({} kB): peak RSS {rss_kb} kB (limit {limit} kB)",
            doc.len() / 1024
        );
        assert!(rss_kb <= limit, "{name}: {rss_kb} kB over {limit} kB");
    }
    // The config and the chain head linked to an endless device are refused, not read.
    std::os::unix::fs::symlink("/dev/zero", data.join("config.json")).unwrap();
    let v = add_text(data, "t");
    let mut c = common::rmos_cmd(data);
    c.args(["advisory", "approve", v["asset_id"].as_str().unwrap()])
        .env("RMOS_REVIEWER", "alice");
    let (out, rss_kb) = run_measured(c);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert!(rss_kb <= 60 * 1024, "{rss_kb} kB");
    assert_terminal_safe("advisory approve", &out);
}

/// Class: terminal injection through the console — copying a hostile run_id is refused,
/// the record is copied only with its controls escaped, and no frame cell carries one.
#[test]
fn the_console_copies_and_draws_nothing_a_terminal_would_act_on() {
    use crossterm::event::KeyCode;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut v = example();
    let evil_id = format!("run_{EVIL}");
    v["run_id"] = evil_id.clone().into();
    v["tool_id"] = EVIL.into();
    write_run(&data.join("runs/rmos"), "2025-12-20", &evil_id, &v);
    let console = common::console::Console::start(data.clone());
    console.wait("the hostile run", Duration::from_secs(30), |s| {
        s.rows.iter().any(|r| r == &evil_id)
    });
    console.key(KeyCode::Char('c'));
    console.wait("the refusal", Duration::from_secs(30), |s| {
        s.errors_shown
            .iter()
            .any(|e| e.contains("nothing was copied"))
    });
    assert!(
        console.copied.lock().unwrap().is_empty(),
        "a run_id with controls is never copied"
    );
    console.key(KeyCode::Char('C'));
    let wait_copy = Instant::now();
    while console.copied.lock().unwrap().is_empty() {
        assert!(
            wait_copy.elapsed() < Duration::from_secs(30),
            "the record was not copied: {:?}",
            console.now().errors_shown
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let copied = console.copied.lock().unwrap()[0].clone();
    assert!(!copied.chars().any(dangerous), "{}", copied.escape_debug());
    let back: Value = serde_json::from_str(&copied).unwrap();
    assert_eq!(
        back["run_id"].as_str(),
        Some(evil_id.as_str()),
        "the same record, escaped"
    );
    console.stop();

    // Whatever a view draws, a frame holds no such character.
    let mut buf = ratatui::buffer::Buffer::empty(ratatui::layout::Rect::new(0, 0, 20, 1));
    buf.set_string(
        0,
        0,
        "a\u{1b}b\u{9b}c\u{202e}",
        ratatui::style::Style::default(),
    );
    rmos::tui::view::scrub(&mut buf);
    assert!(buf
        .content
        .iter()
        .all(|c| !c.symbol().chars().any(rmos::text::needs_escape)));
}

/// Class: the demo marker (appended to by `rmos demo`) swapped for a link elsewhere.
#[test]
fn the_demo_marker_is_never_written_through_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    std::fs::create_dir_all(&data).unwrap();
    let target = dir.path().join("someone-elses-file");
    std::fs::write(&target, b"precious\n").unwrap();
    std::os::unix::fs::symlink(&target, data.join(".rmos-demo")).unwrap();
    let out = rmos(&data, &["demo", "--no-tui"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("symbolic link"), "{}", text(&out));
    assert_eq!(std::fs::read(&target).unwrap(), b"precious\n");
}
