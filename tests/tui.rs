//! Console rendering (TestBackend + insta snapshots at 80×24 and 120×40) and the real
//! event loop over a temp data root.

mod common;

use common::console::Console;
use common::store_example_copy;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use rmos::config::DataRoot;
use rmos::domain::{RunArtifact, Timestamp};
use rmos::filter::Filter;
use rmos::store::index::{ReconcileMode, RunIndex, RunQuery};
use rmos::tui::app::App;
use rmos::tui::msg::{Anchor, Msg, Page};
use rmos::tui::view::{render, Theme};
use rmos::tui::worker::load_details;
use std::path::Path;
use std::time::{Duration, Instant};

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

/// The rendered screen as text (no colours), temp paths replaced.
fn screen(app: &App, w: u16, h: u16, tmp: &Path) -> String {
    screen_theme(app, w, h, tmp, false)
}

/// An app showing the reference store_example (plus extra files) as the console would.
fn loaded_app(root: &Path, w: u16, h: u16) -> (App, RunIndex) {
    let mut index = DataRoot::at(root).open_index().unwrap();
    index.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    let mut q = RunQuery::new(Filter::default(), 200);
    q.include_invalid = true;
    let rows = index.query(&q).unwrap().runs;
    let mut app = App::new("~/data/runs/rmos".into());
    app.update(Msg::Resize {
        width: w,
        height: h,
    });
    let _ = app.init();
    let count = rows.iter().filter(|r| r.valid).count() as u64;
    app.update(Msg::Page {
        generation: 0,
        page: Page {
            anchor: Anchor::Top,
            rows,
            more_before: false,
            more_after: false,
        },
    });
    app.update(Msg::Count {
        generation: 0,
        count,
    });
    (app, index)
}

fn write_hostile_run(root: &Path) {
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = "run_hostile0000000000000000000000001".into();
    a.created_at_utc = Timestamp::parse("2025-12-23T19:00:00Z").unwrap();
    a.tool_id = "ロゼット🎸".into();
    a.decision.warnings = vec![
        "\u{1b}[2J\u{1b}[31mscreen wiped\u{1b}[0m".into(),
        "bidi \u{202e}gnp.exe".into(),
    ];
    rmos::store::runs::RunStore::new(root.join("runs/rmos"))
        .put(&a)
        .unwrap();
    let broken = root.join("runs/rmos/2025-12-23/run_broken.json");
    std::fs::write(&broken, b"{\"run_id\": 5").unwrap();
    // Invalid files sort by mtime: pin it so snapshots are stable.
    let when = std::time::UNIX_EPOCH + Duration::from_secs(1_766_520_000); // 2025-12-23T20:00:00Z
    std::fs::File::options()
        .write(true)
        .open(&broken)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[test]
fn snapshot_list() {
    let root = store_example_copy();
    write_hostile_run(root.path());
    for (w, h) in [(80, 24), (120, 40)] {
        let (app, _) = loaded_app(root.path(), w, h);
        insta::assert_snapshot!(format!("list_{w}x{h}"), screen(&app, w, h, root.path()));
    }
}

#[test]
fn snapshot_filter_parse_error_keeps_last_valid_filter() {
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, _) = loaded_app(root.path(), w, h);
        app.update(key('f'));
        for c in "risk:red rsk:".chars() {
            app.update(key(c));
        }
        // "risk:red rsk" was valid (a text search); "risk:red rsk:" is not.
        assert_eq!(
            app.filter_text, "risk:red rsk",
            "the last valid filter stays active"
        );
        assert!(app.input.as_ref().unwrap().error.is_some());
        insta::assert_snapshot!(
            format!("filter_error_{w}x{h}"),
            screen(&app, w, h, root.path())
        );
    }
}

/// Move the selection down with `j` until `run_id` is selected; fails naming the runs
/// passed when the list ends first.
fn select_run(app: &mut App, run_id: &str) {
    let mut passed = Vec::new();
    for _ in 0..=app.list.rows.len() {
        let here = app.selected_row().unwrap().run_id.clone();
        if here == run_id {
            return;
        }
        passed.push(here);
        app.update(key('j'));
    }
    panic!("{run_id} is not in the list; j passed {passed:?}");
}

#[test]
fn snapshot_details_pane() {
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        // Select the run with an advisory link (run 2).
        select_run(&mut app, "run_5eed0000000000000000000000000002");
        let cmds = app.update(code(KeyCode::Enter));
        assert_eq!(cmds.len(), 1);
        let d = app.details.clone().unwrap();
        let details = Box::new(load_details(&index, &d.partition, &d.file_name));
        app.update(Msg::Details {
            partition: d.partition,
            file_name: d.file_name,
            details,
        });
        insta::assert_snapshot!(format!("details_{w}x{h}"), screen(&app, w, h, root.path()));
    }
}

/// A run re-scored from run 2: its parent, the plan it executes, drift, an advisory.
fn write_child_run(root: &Path) -> String {
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = "run_child000000000000000000000000001".into();
    a.created_at_utc = Timestamp::parse("2025-12-23T21:00:00Z").unwrap();
    a.parent_run_id = Some("run_5eed0000000000000000000000000002".into());
    a.lineage = Some(rmos::domain::RunLineage {
        parent_plan_run_id: Some("run_5eed0000000000000000000000000001".into()),
    });
    a.drift_detected = Some(true);
    let mut drift = serde_json::Map::new();
    drift.insert("score_delta".into(), serde_json::json!(-12.5));
    a.drift_summary = Some(drift);
    rmos::store::runs::RunStore::new(root.join("runs/rmos"))
        .put(&a)
        .unwrap();
    a.run_id
}

#[test]
fn snapshot_lineage_and_the_links_menu() {
    let root = store_example_copy();
    let child = write_child_run(root.path());
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        select_run(&mut app, &child);
        app.update(code(KeyCode::Enter));
        let d = app.details.clone().unwrap();
        let details = Box::new(load_details(&index, &d.partition, &d.file_name));
        app.update(Msg::Details {
            partition: d.partition,
            file_name: d.file_name,
            details,
        });
        let s = screen(&app, w, h, root.path());
        assert!(
            s.contains("parent    run_5eed0000000000000000000000000002"),
            "{s}"
        );
        assert!(s.contains("drift     detected"), "{s}");
        insta::assert_snapshot!(format!("lineage_{w}x{h}"), s);
        app.update(code(KeyCode::Enter));
        let s = screen(&app, w, h, root.path());
        assert!(s.contains("links ("), "{s}");
        insta::assert_snapshot!(format!("links_menu_{w}x{h}"), s);
    }
}

#[test]
fn a_parent_lists_its_children_and_offers_them_as_links() {
    let root = store_example_copy();
    let child = write_child_run(root.path());
    let (mut app, index) = loaded_app(root.path(), 120, 40);
    select_run(&mut app, "run_5eed0000000000000000000000000002");
    app.update(code(KeyCode::Enter));
    let d = app.details.clone().unwrap();
    let details = Box::new(load_details(&index, &d.partition, &d.file_name));
    assert_eq!(details.children, vec![child.clone()]);
    assert_eq!(details.children_total, 1);
    app.update(Msg::Details {
        partition: d.partition,
        file_name: d.file_name,
        details,
    });
    let s = screen(&app, 120, 40, root.path());
    assert!(s.contains("children  1"), "{s}");
    app.update(code(KeyCode::Enter));
    let s = screen(&app, 120, 40, root.path());
    assert!(s.contains(&format!("child    {child}")), "{s}");
}

#[test]
fn the_scoring_table_lists_each_component_with_its_weight_and_warning() {
    let root = store_example_copy();
    // A run scored by rmos records the scorer's component details.
    let req = rmos::scoring::service::ScoreRequest::from_json(&serde_json::json!({
        "outer_diameter_mm": 98.0, "inner_diameter_mm": 88.0, "ring_params": []
    }))
    .unwrap();
    let (_, run) = rmos::scoring::service::score_and_record(
        &rmos::store::runs::RunStore::new(root.path().join("runs/rmos")),
        &req,
        rmos::scoring::service::ScoreSource::Single,
        false,
        Default::default(),
    )
    .unwrap();
    let (mut app, index) = loaded_app(root.path(), 120, 40);
    select_run(&mut app, &run.unwrap().run_id);
    app.update(code(KeyCode::Enter));
    let d = app.details.clone().unwrap();
    let details = Box::new(load_details(&index, &d.partition, &d.file_name));
    app.update(Msg::Details {
        partition: d.partition,
        file_name: d.file_name,
        details,
    });
    let lines =
        rmos::tui::view::details_lines(&app, app.details.as_ref().unwrap(), Theme { color: false });
    let text: Vec<String> = lines
        .iter()
        .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
        .collect();
    let at = text
        .iter()
        .position(|l| l.starts_with("── scoring"))
        .unwrap_or_else(|| panic!("no scoring table in {text:#?}"));
    let table = &text[at..];
    for label in [
        "chipload",
        "heat",
        "deflection",
        "rim speed",
        "geometry",
        "channel",
    ] {
        assert!(
            table
                .iter()
                .any(|l| l.starts_with(label) && l.contains("0.")),
            "{label} row with its weight in {table:#?}"
        );
    }
    assert!(
        table.iter().any(|l| l.starts_with("weighted ")),
        "{table:#?}"
    );
}

#[test]
fn snapshot_diff_of_a_run_and_its_parent() {
    let root = store_example_copy();
    let child = write_child_run(root.path());
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        // Mark the parent and the child, then d.
        select_run(&mut app, &child);
        app.update(key(' '));
        select_run(&mut app, "run_5eed0000000000000000000000000002");
        app.update(key(' '));
        let cmds = app.update(key('d'));
        let Some(rmos::tui::msg::Cmd::Query(rmos::tui::msg::QueryCmd::Diff { a, b })) =
            cmds.first().cloned()
        else {
            panic!("d asks for a diff: {cmds:?}");
        };
        assert_eq!(b, child, "the newer run is what the changes are to");
        let changes = rmos::tui::worker::query::diff_runs(&index, &a, &b);
        let n = changes.as_ref().unwrap().len();
        assert!(n > 3, "{changes:?}");
        assert!(changes
            .as_ref()
            .unwrap()
            .iter()
            .any(|c| c.path == "parent_run_id"));
        app.update(Msg::Diff { a, b, changes });
        let s = screen(&app, w, h, root.path());
        assert!(s.contains(&format!("{n} differences")), "{s}");
        assert!(s.contains("~ status"), "{s}");
        insta::assert_snapshot!(format!("diff_{w}x{h}"), s);
    }
}

#[test]
fn snapshot_timeline_by_risk_and_by_status_with_enter_listing_a_bucket() {
    use rmos::tui::msg::{Cmd, QueryCmd};
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        let answer = |app: &mut App, cmds: Vec<Cmd>| {
            for c in cmds {
                if let Cmd::Query(QueryCmd::Timeline(q)) = c {
                    let bins = rmos::tui::worker::query::timeline(&index, &q);
                    app.update(Msg::Timeline { seq: q.seq, bins });
                }
            }
        };
        let cmds = app.update(key('i'));
        answer(&mut app, cmds);
        let s = screen(&app, w, h, root.path());
        // The newest bucket (2025-12-23) is selected: 7 runs that day in the example store.
        assert!(s.contains("2025-12-23 Tue (UTC): 7 runs"), "{s}");
        insta::assert_snapshot!(format!("timeline_{w}x{h}"), s);
        let cmds = app.update(key('s'));
        answer(&mut app, cmds);
        let s = screen(&app, w, h, root.path());
        assert!(s.contains("by status"), "{s}");
        insta::assert_snapshot!(format!("timeline_status_{w}x{h}"), s);
        // Enter: the run list, filtered to that day.
        app.update(code(KeyCode::Enter));
        assert_eq!(app.view, rmos::tui::msg::View::Runs);
        assert_eq!(app.filter_text, "since:2025-12-23 until:2025-12-23");
    }
}

#[test]
fn snapshot_sessions_and_snapshots_views() {
    use rmos::tui::records::{session_row, snapshot_row, RecordKind};
    let root = store_example_copy();
    let session = rmos::store::sessions::WorkflowSession {
        session_id: "ses_rosette_0001".into(),
        created_at_utc: "2025-12-23T09:00:00Z".into(),
        updated_at_utc: "2025-12-23T18:05:00Z".into(),
        workflow_type: "rosette".into(),
        current_step: "toolpath".into(),
        status: "active".into(),
        context: None,
        run_ids: vec![
            "run_5eed0000000000000000000000000001".into(),
            "run_5eed0000000000000000000000000002".into(),
        ],
        machine_id: Some("shapeoko-1".into()),
        material_id: Some("maple_hard".into()),
        tool_id: Some("default-vbit".into()),
        user_id: Some("alice".into()),
        state_data: None,
        error_message: None,
        error_details: None,
    };
    let snap: rmos::store::snapshots::Snapshot = serde_json::from_value(serde_json::json!({
        "snapshot_id": "snap_walnut_01",
        "design_fingerprint": "ea9899e176d26d67",
        "created_at_utc": "2025-12-22T14:00:00+00:00",
        "design": {"outer_diameter_mm": 98.0, "inner_diameter_mm": 88.0, "ring_params": []},
        "feasibility": {"overall_score": 81.82, "risk_bucket": "YELLOW"},
        "metadata": {"name": "Walnut spiral", "tags": ["walnut"], "source": "manual"},
        "run_id": "run_5eed0000000000000000000000000008",
        "baseline": true
    }))
    .unwrap();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, _) = loaded_app(root.path(), w, h);
        app.update(key('3'));
        app.update(Msg::Records {
            kind: RecordKind::Sessions,
            rows: Ok((vec![session_row(&session)], 0)),
        });
        let s = screen(&app, w, h, root.path());
        assert!(s.contains("ses_rosette_0001"), "{s}");
        insta::assert_snapshot!(format!("sessions_{w}x{h}"), s);
        app.update(key('4'));
        app.update(Msg::Records {
            kind: RecordKind::Snapshots,
            rows: Ok((vec![snapshot_row(&snap)], 1)),
        });
        let s = screen(&app, w, h, root.path());
        assert!(s.contains("1 unreadable files"), "{s}");
        assert!(s.contains("ea9899e176d26d67"), "{s}");
        insta::assert_snapshot!(format!("snapshots_{w}x{h}"), s);
    }
}

#[test]
fn snapshot_list_sorted_by_risk_in_the_index() {
    use rmos::store::index::{Direction, PageRequest, Sort, SortKey};
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        let cmds = app.update(key('o'));
        let sort = Sort {
            key: SortKey::Risk,
            descending: true,
        };
        assert_eq!(app.sort, sort);
        let (rows, more) = index
            .page(&PageRequest {
                filter: Filter::default(),
                include_invalid: true,
                direction: Direction::Older,
                bound: None,
                limit: 200,
                now: chrono::Utc::now(),
                sort,
            })
            .unwrap();
        assert!(!cmds.is_empty());
        app.update(Msg::Page {
            generation: app.generation,
            page: Page {
                anchor: Anchor::Top,
                rows,
                more_before: false,
                more_after: more,
            },
        });
        let s = screen(&app, w, h, root.path());
        assert!(s.contains("sorted by risk ↓"), "{s}");
        assert!(s.contains("risk↓"), "{s}");
        insta::assert_snapshot!(format!("sorted_by_risk_{w}x{h}"), s);
    }
}

#[test]
fn snapshot_help_overlay() {
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, _) = loaded_app(root.path(), w, h);
        app.update(key('?'));
        insta::assert_snapshot!(format!("help_{w}x{h}"), screen(&app, w, h, root.path()));
    }
}

fn saved_filters_msg() -> Msg {
    Msg::Prefs {
        history: Some(vec!["risk:red".into()]),
        saved: Ok(vec![
            ("blocked".into(), "status:blocked".into()),
            (
                "red-or-blocked".into(),
                "(risk:red OR status:blocked) -verify:ok".into(),
            ),
            ("saws".into(), "mode:saw".into()),
        ]),
    }
}

#[test]
fn snapshot_saved_filter_picker_and_expansion() {
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, _) = loaded_app(root.path(), w, h);
        app.update(saved_filters_msg());
        app.update(key('@'));
        app.update(key('j'));
        insta::assert_snapshot!(
            format!("saved_filters_{w}x{h}"),
            screen(&app, w, h, root.path())
        );
        app.update(code(KeyCode::Esc));
        app.update(key('f'));
        for c in "@saws".chars() {
            app.update(key(c));
        }
        insta::assert_snapshot!(
            format!("saved_filter_typed_{w}x{h}"),
            screen(&app, w, h, root.path())
        );
    }
}

#[test]
fn snapshot_no_saved_filters_says_how_to_save_one() {
    let root = store_example_copy();
    let (mut app, _) = loaded_app(root.path(), 80, 24);
    app.update(key('@'));
    let s = screen(&app, 80, 24, root.path());
    assert!(s.contains("saved filters (0)"), "{s}");
    assert!(s.contains("rmos filters save NAME"), "{s}");
}

#[test]
fn the_list_shows_reasons_full_ids_when_wide_and_years_when_it_spans_them() {
    let root = store_example_copy();
    // 80 columns: the reason column replaces mode and score.
    let (app, _) = loaded_app(root.path(), 80, 24);
    let s = screen(&app, 80, 24, root.path());
    assert!(s.contains("status  risk    reason"), "{s}");
    assert!(s.contains("BLOCKED ERROR   Completeness gu…"), "{s}");
    // Verify marks: the completeness guard's all-zero placeholder hash.
    assert!(s.contains("○ 5eed00…000005 vbit60"), "{s}");
    assert!(s.contains("  5eed00…000002 rosette"), "{s}");
    assert!(
        !s.contains("2025-12-23"),
        "one year: no year in the times\n{s}"
    );
    // 200 columns: the whole run_id, the source and a long reason.
    let (app, _) = loaded_app(root.path(), 200, 16);
    let s = screen(&app, 200, 16, root.path());
    assert!(s.contains("run_5eed0000000000000000000000000005"), "{s}");
    assert!(s.contains("source"), "{s}");
    assert!(s.contains("Completeness guard: missing required fi"), "{s}");
    // A run from another year: every time carries its year.
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = "run_old0000000000000000000000000001".into();
    a.created_at_utc = Timestamp::parse("2024-06-01T08:00:00Z").unwrap();
    rmos::store::runs::RunStore::new(root.path().join("runs/rmos"))
        .put(&a)
        .unwrap();
    let (app, _) = loaded_app(root.path(), 120, 40);
    let s = screen(&app, 120, 40, root.path());
    assert!(s.contains("2024-06-01 08:00:00   old000…000001"), "{s}");
    assert!(s.contains("2025-12-23 18:04:24"), "{s}");
    assert!(s.contains("1 of 9 runs"), "{s}");
}

#[test]
fn snapshot_marks_and_copy_menu() {
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        let text = "risk:red OR status:blocked OR risk:yellow";
        app.update(key('f'));
        for c in text.chars() {
            app.update(key(c));
        }
        app.update(code(KeyCode::Enter));
        let rows = index
            .query(&RunQuery::new(Filter::parse(text).unwrap(), 200))
            .unwrap()
            .runs;
        let count = rows.len() as u64;
        app.update(Msg::Count {
            generation: app.generation,
            count,
        });
        app.update(Msg::Page {
            generation: app.generation,
            page: Page {
                anchor: Anchor::Top,
                rows,
                more_before: false,
                more_after: false,
            },
        });
        app.update(key(' '));
        app.update(key('v'));
        app.update(key('j'));
        app.update(key('j'));
        app.update(key('v'));
        app.update(key('y'));
        insta::assert_snapshot!(
            format!("copy_menu_{w}x{h}"),
            screen(&app, w, h, root.path())
        );
    }
}

/// The runs of underlined cells (search matches without colour), per line.
fn underlined(app: &App, w: u16, h: u16) -> Vec<(u16, String)> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(f, app, Theme { color: false }))
        .unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = Vec::new();
    for y in 0..h {
        let mut cur = String::new();
        for x in 0..w {
            let c = &buf[(x, y)];
            if c.modifier.contains(ratatui::style::Modifier::UNDERLINED) {
                cur.push_str(c.symbol());
            } else if !cur.is_empty() {
                out.push((y, std::mem::take(&mut cur)));
            }
        }
        if !cur.is_empty() {
            out.push((y, cur));
        }
    }
    out
}

#[test]
fn snapshot_search_highlights_in_list_and_details() {
    let root = store_example_copy();
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, _) = loaded_app(root.path(), w, h);
        app.update(key('/'));
        for c in "VBIT".chars() {
            app.update(key(c));
        }
        let typing = screen(&app, w, h, root.path());
        assert!(typing.contains("search/ VBIT"), "{typing}");
        app.update(code(KeyCode::Enter));
        let id = app.search.as_ref().unwrap().id;
        app.update(Msg::SearchCount {
            search: id,
            count: 2,
        });
        assert_eq!(
            app.selected_row().unwrap().tool_id.as_deref(),
            Some("default-vbit"),
            "Enter went to the first match"
        );
        app.update(key('n'));
        assert_eq!(
            app.selected_row().unwrap().tool_id.as_deref(),
            Some("vbit60")
        );
        app.update(code(KeyCode::Enter));
        let d = app.details.clone().unwrap();
        let details = load_details(
            &DataRoot::at(root.path()).open_index().unwrap(),
            &d.partition,
            &d.file_name,
        );
        app.update(Msg::Details {
            partition: d.partition.clone(),
            file_name: d.file_name.clone(),
            details: Box::new(details),
        });
        let s = screen(&app, w, h, root.path());
        assert!(s.contains("/VBIT: 2 matches"), "{s}");
        let marks = underlined(&app, w, h);
        // Both matching runs are flagged in the list (on their time: the tool column
        // gives way beside the details at 120 columns); the text is marked in the
        // details pane (its tool line) and in the list's tool column where shown.
        let words: Vec<&str> = marks.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            words
                .iter()
                .filter(|t| t.starts_with("12-23 18:04:"))
                .count(),
            2,
            "{marks:?}\n{s}"
        );
        let vbits = words
            .iter()
            .filter(|t| t.eq_ignore_ascii_case("vbit"))
            .count();
        assert!(vbits >= if w == 80 { 3 } else { 1 }, "{marks:?}\n{s}");
        insta::assert_snapshot!(format!("search_{w}x{h}"), s);
    }
}

#[test]
fn snapshot_hostile_strings_are_escaped() {
    let root = store_example_copy();
    write_hostile_run(root.path());
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        // The invalid file sorts by its mtime (now), above the hostile run.
        assert_eq!(app.selected_row().unwrap().run_id, "run_broken");
        app.update(key('j'));
        assert!(app
            .selected_row()
            .unwrap()
            .run_id
            .starts_with("run_hostile"));
        app.update(code(KeyCode::Enter));
        let d = app.details.clone().unwrap();
        let details = Box::new(load_details(&index, &d.partition, &d.file_name));
        app.update(Msg::Details {
            partition: d.partition,
            file_name: d.file_name,
            details,
        });
        let text = screen(&app, w, h, root.path());
        assert!(
            !text.contains('\u{1b}'),
            "no raw escape reaches the terminal"
        );
        assert!(
            !text.contains('\u{202e}'),
            "no raw bidi override reaches the terminal"
        );
        insta::assert_snapshot!(format!("hostile_{w}x{h}"), text);
    }
}

/// A 1 MB warning (RELIABILITY.md): the run is listed and its details show the warning.
#[test]
fn a_one_megabyte_warning_is_listed_and_shown() {
    let root = store_example_copy();
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = "run_bigstring".into();
    a.created_at_utc = Timestamp::parse("2025-12-24T19:00:00Z").unwrap();
    a.decision.warnings = vec![format!("BIG{}END", "x".repeat(1_000_000))];
    rmos::store::runs::RunStore::new(root.path().join("runs/rmos"))
        .put(&a)
        .unwrap();
    let (w, h) = (120, 40);
    let (mut app, index) = loaded_app(root.path(), w, h);
    select_run(&mut app, "run_bigstring");
    app.update(code(KeyCode::Enter));
    let d = app.details.clone().unwrap();
    let details = Box::new(load_details(&index, &d.partition, &d.file_name));
    app.update(Msg::Details {
        partition: d.partition,
        file_name: d.file_name,
        details,
    });
    let text = screen(&app, w, h, root.path());
    assert!(text.contains("details"), "{text}");
    assert!(
        text.contains("BIGxxxxxxxx"),
        "the warning is shown:\n{text}"
    );
}

// ---------------------------------------------------------------------------------------
// The real event loop, headless.

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn event_loop_shows_new_files_and_drops_deleted_partitions() {
    let root = store_example_copy();
    let console = Console::start(root.path().to_path_buf());
    let ids = || console.now().rows;
    let long = Duration::from_secs(10);
    console.wait("the reference runs", long, |s| s.rows.len() == 8);

    // A new artifact written by another process appears (how fast: `cargo bench --bench
    // console -- --live 50`, BENCHMARKS.md).
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = "run_live".into();
    a.created_at_utc = Timestamp::parse("2025-12-24T08:00:00Z").unwrap();
    rmos::store::runs::RunStore::new(root.path().join("runs/rmos"))
        .put(&a)
        .unwrap();
    console.wait("the new run", long, |s| {
        s.rows.iter().any(|r| r == "run_live")
    });

    // Copy the selected run id.
    console.key(KeyCode::Char('c'));
    wait_for("the copy", Duration::from_secs(5), || {
        !console.copied.lock().unwrap().is_empty()
    });
    assert_eq!(
        console.copied.lock().unwrap()[0],
        "run_live",
        "following: the newest run is selected"
    );

    // Deleting a partition removes its runs.
    std::fs::remove_dir_all(root.path().join("runs/rmos/2025-12-22")).unwrap();
    console.wait("the deleted partition to vanish", long, |s| {
        !s.rows
            .iter()
            .any(|r| r == "run_5eed0000000000000000000000000001")
    });
    assert_eq!(ids().len(), 8);
    console.key(KeyCode::Char('q'));
    console.stop();
}

// ---------------------------------------------------------------------------------------
// The review queue.

fn tiny_png() -> Vec<u8> {
    // A 4×4 RGB PNG, built by hand (stored zlib blocks).
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, t: &[u8], d: &[u8]) {
        out.extend((d.len() as u32).to_be_bytes());
        let mut td = t.to_vec();
        td.extend(d);
        out.extend(&td);
        out.extend(crc(&td).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..4u8 {
        raw.push(0);
        for x in 0..4u8 {
            raw.extend([x * 60, y * 60, 120]);
        }
    }
    let mut z = vec![0x78, 0x01, 1];
    z.extend((raw.len() as u16).to_le_bytes());
    z.extend((!(raw.len() as u16)).to_le_bytes());
    z.extend(&raw);
    let adler = {
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &raw {
            a = (a + x as u32) % 65521;
            b = (b + a) % 65521;
        }
        (b << 16) | a
    };
    z.extend(adler.to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(4u32.to_be_bytes());
    ihdr.extend(4u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn queue_app(
    root: &Path,
    w: u16,
    h: u16,
    select: &str,
) -> (App, rmos::store::advisory::AdvisoryStore) {
    use rmos::store::advisory::{AssetType, NewAsset};
    let store = DataRoot::at(root).open_advisory().unwrap();
    let t = |s: &str| Some(Timestamp::parse(s).unwrap());
    let add = |id: &str,
               ty: AssetType,
               content: Vec<u8>,
               mime: &str,
               ext: &str,
               created: &str,
               conf: Option<f64>| {
        store
            .add(NewAsset {
                asset_type: Some(ty),
                content,
                mime: mime.into(),
                extension: ext.into(),
                provider: Some("claude".into()),
                model: Some("m-1".into()),
                confidence: conf,
                asset_id: Some(id.into()),
                created_at: t(created),
                ..Default::default()
            })
            .unwrap()
    };
    add(
        "adv_image00001",
        AssetType::Image,
        tiny_png(),
        "image/png",
        "png",
        "2025-12-23T10:00:00Z",
        Some(0.82),
    );
    add(
        "adv_explain0001",
        AssetType::Explanation,
        b"Chipload is low: raise the feed to 1500 mm/min for ebony.".to_vec(),
        "text/plain",
        "txt",
        "2025-12-23T11:00:00Z",
        None,
    );
    add(
        "adv_suggest0001",
        AssetType::Suggestion,
        br#"{"pattern_type":"herringbone","ring_count":5}"#.to_vec(),
        "application/json",
        "json",
        "2025-12-23T12:00:00Z",
        Some(0.6),
    );
    add(
        "adv_valid00001",
        AssetType::Validation,
        br#"{"checks":[{"name":"rim_speed","ok":false}]}"#.to_vec(),
        "application/json",
        "json",
        "2025-12-23T13:00:00Z",
        Some(0.9),
    );
    let mut app = App::new("~/data/runs/rmos".into());
    app.reviewer = "alice".into();
    app.epoch_secs = 1_766_534_400; // 2025-12-24T00:00:00Z
    app.update(Msg::Resize {
        width: w,
        height: h,
    });
    app.update(key('2'));
    let assets = store
        .list(Some(rmos::store::advisory::ReviewState::Pending), 100)
        .unwrap();
    let counts = store.counts().unwrap();
    app.update(Msg::Queue {
        status: rmos::tui::queue::StatusFilter::Pending,
        assets,
        counts,
    });
    let mut passed = Vec::new();
    for _ in 0..=app.queue.assets.len() {
        let here = app.queue.selected_asset().unwrap().asset_id.clone();
        if here == select {
            break;
        }
        passed.push(here);
        app.update(key('j'));
    }
    assert_eq!(
        app.queue.selected_asset().unwrap().asset_id,
        select,
        "not in the queue; j passed {passed:?}"
    );
    let a = app.queue.selected_asset().unwrap().clone();
    let data = Box::new(rmos::tui::worker::load_preview(&store, &a));
    app.update(Msg::Preview {
        asset_id: a.asset_id,
        data,
    });
    (app, store)
}

fn screen_theme(app: &App, w: u16, h: u16, tmp: &Path, color: bool) -> String {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(f, app, Theme { color })).unwrap();
    let buf = term.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        let mut x = 0;
        while x < w {
            let sym = buf[(x, y)].symbol();
            line.push_str(sym);
            x += unicode_width::UnicodeWidthStr::width(sym).max(1) as u16;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.replace(&tmp.display().to_string(), "<DATA>")
}

#[test]
fn snapshot_queue_and_previews() {
    for (w, h) in [(80, 24), (120, 40)] {
        for (id, name, color) in [
            ("adv_valid00001", "validation", false),
            ("adv_suggest0001", "suggestion", false),
            ("adv_explain0001", "explanation", false),
            ("adv_image00001", "image", true),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let (app, _) = queue_app(dir.path(), w, h, id);
            insta::assert_snapshot!(
                format!("queue_{name}_{w}x{h}"),
                screen_theme(&app, w, h, dir.path(), color)
            );
        }
    }
}

#[test]
fn snapshot_queue_modals() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _) = queue_app(dir.path(), 120, 40, "adv_explain0001");
    app.update(key('a'));
    insta::assert_snapshot!(
        "queue_modal_confirm",
        screen_theme(&app, 120, 40, dir.path(), false)
    );
    app.update(code(KeyCode::Esc));
    app.update(key('r'));
    app.update(key('j'));
    insta::assert_snapshot!(
        "queue_modal_reason",
        screen_theme(&app, 120, 40, dir.path(), false)
    );
    app.update(code(KeyCode::Enter));
    for c in "too vague".chars() {
        app.update(key(c));
    }
    insta::assert_snapshot!(
        "queue_modal_note",
        screen_theme(&app, 120, 40, dir.path(), false)
    );
    app.update(code(KeyCode::Enter));
    insta::assert_snapshot!(
        "queue_modal_confirm_reject",
        screen_theme(&app, 120, 40, dir.path(), false)
    );
}

#[test]
fn snapshot_queue_filter() {
    let dir = tempfile::tempdir().unwrap();
    let (mut app, _) = queue_app(dir.path(), 120, 40, "adv_explain0001");
    app.update(key('f'));
    for c in "-type:image json".chars() {
        app.update(key(c));
    }
    insta::assert_snapshot!(
        "queue_filter_editing",
        screen_theme(&app, 120, 40, dir.path(), false)
    );
    app.update(code(KeyCode::Enter));
    assert_eq!(app.queue.filter, "-type:image json");
    // Typing in the filter line never reached the global keys (q would have quit).
    assert!(!app.quit);
    insta::assert_snapshot!(
        "queue_filter_kept",
        screen_theme(&app, 120, 40, dir.path(), false)
    );
}

/// The rows of the buffer drawn with the highlight (reversed, as without colour).
fn highlighted_lines(app: &App, w: u16, h: u16) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render(f, app, Theme { color: false }))
        .unwrap();
    let buf = term.backend().buffer().clone();
    (0..h)
        .filter_map(|y| {
            let mut line = String::new();
            let mut any = false;
            for x in 0..w {
                let c = &buf[(x, y)];
                if c.modifier.contains(ratatui::style::Modifier::REVERSED) {
                    any = true;
                    line.push_str(c.symbol());
                }
            }
            any.then_some(line)
        })
        .collect()
}

fn many_assets_queue(root: &Path, w: u16, h: u16, n: usize) -> App {
    use rmos::store::advisory::{AssetType, NewAsset};
    let store = DataRoot::at(root).open_advisory().unwrap();
    for i in 0..n {
        store
            .add(NewAsset {
                asset_type: Some(AssetType::Explanation),
                content: format!("explanation number {i}").into_bytes(),
                mime: "text/plain".into(),
                extension: "txt".into(),
                provider: Some("claude".into()),
                asset_id: Some(format!("adv_many{i:04}")),
                created_at: Some(Timestamp::parse(&format!("2025-12-23T10:{i:02}:00Z")).unwrap()),
                ..Default::default()
            })
            .unwrap();
    }
    let mut app = App::new("~/data/runs/rmos".into());
    app.reviewer = "alice".into();
    app.epoch_secs = 1_766_534_400;
    app.update(Msg::Resize {
        width: w,
        height: h,
    });
    app.update(key('2'));
    app.update(key('s'));
    app.update(key('s'));
    app.update(key('s')); // "all"
    app.update(Msg::Queue {
        status: rmos::tui::queue::StatusFilter::All,
        assets: store.list(None, 100).unwrap(),
        counts: store.counts().unwrap(),
    });
    app
}

#[test]
fn the_queue_selection_is_always_visible_and_highlighted() {
    for (w, h) in [(80, 24), (120, 40), (100, 12), (60, 16)] {
        let dir = tempfile::tempdir().unwrap();
        let mut app = many_assets_queue(dir.path(), w, h, 30);
        for step in 0..29 {
            let id = app.queue.selected_asset().unwrap().asset_id.clone();
            let lit = highlighted_lines(&app, w, h);
            assert!(
                lit.iter().any(|l| l.contains(id.as_str())),
                "{w}x{h} after {step} j: {id} is not the highlighted row {lit:?}"
            );
            app.update(key('j'));
        }
    }
}

#[test]
fn snapshot_decision_dialogs_name_the_asset_its_type_and_hash() {
    for (w, h) in [(80, 24), (120, 40)] {
        let dir = tempfile::tempdir().unwrap();
        let (mut app, _) = queue_app(dir.path(), w, h, "adv_suggest0001");
        app.update(key('a'));
        let text = screen_theme(&app, w, h, dir.path(), false);
        assert!(text.contains("SUGGESTION adv_suggest0001"), "{text}");
        insta::assert_snapshot!(format!("queue_confirm_{w}x{h}"), text);
        // A batch lists the assets it decides.
        app.update(code(KeyCode::Esc));
        for _ in 0..4 {
            app.update(key('k'));
        }
        for _ in 0..4 {
            app.update(key(' '));
            app.update(key('j'));
        }
        app.update(key('X'));
        app.update(code(KeyCode::Enter));
        app.update(code(KeyCode::Enter));
        let text = screen_theme(&app, w, h, dir.path(), false);
        for id in ["adv_image00001", "adv_explain0001", "adv_valid00001"] {
            assert!(text.contains(id), "{id} listed:\n{text}");
        }
        insta::assert_snapshot!(format!("queue_confirm_batch_{w}x{h}"), text);
    }
}

#[test]
fn without_colour_images_are_drawn_in_shades_not_hidden() {
    for (w, h) in [(80, 24), (120, 40)] {
        let dir = tempfile::tempdir().unwrap();
        let (mut app, _) = queue_app(dir.path(), w, h, "adv_image00001");
        let text = screen_theme(&app, w, h, dir.path(), false);
        assert!(!text.contains("needs colour"), "{text}");
        assert!(
            text.contains('█') || text.contains('▓') || text.contains('▒') || text.contains('░'),
            "{text}"
        );
        insta::assert_snapshot!(format!("queue_image_nocolor_{w}x{h}"), text);
        // What is drawn can be decided on.
        app.update(key('a'));
        assert!(app.queue.modal.is_some());
    }
}

#[test]
fn snapshot_full_screen_preview() {
    for (w, h) in [(80, 24), (120, 40)] {
        let dir = tempfile::tempdir().unwrap();
        let (mut app, _) = queue_app(dir.path(), w, h, "adv_valid00001");
        app.update(key('z'));
        insta::assert_snapshot!(
            format!("queue_fullscreen_{w}x{h}"),
            screen_theme(&app, w, h, dir.path(), false)
        );
    }
}

#[test]
fn the_end_of_the_details_is_reachable_and_hashes_are_not_cut() {
    let root = store_example_copy();
    for (w, h) in [(120, 35), (80, 24), (120, 40)] {
        let (mut app, index) = loaded_app(root.path(), w, h);
        while app.selected_row().unwrap().run_id != "run_5eed0000000000000000000000000002" {
            app.update(key('j'));
        }
        app.update(code(KeyCode::Enter));
        let d = app.details.clone().unwrap();
        let details = Box::new(load_details(&index, &d.partition, &d.file_name));
        let hash = details
            .artifact
            .as_ref()
            .unwrap()
            .hashes
            .feasibility_sha256
            .clone();
        app.update(Msg::Details {
            partition: d.partition,
            file_name: d.file_name,
            details,
        });
        let top = screen(&app, w, h, root.path());
        if w >= 120 {
            assert!(top.contains(&hash), "{w}x{h}: the hash on one line:\n{top}");
            assert!(
                top.contains("details 5eed00…000002") && top.contains("Esc close"),
                "{top}"
            );
        }
        app.update(key('G'));
        let end = screen(&app, w, h, root.path());
        assert!(end.contains("── meta"), "{w}x{h}: meta reachable:\n{end}");
        assert!(end.contains(" end "), "{w}x{h}:\n{end}");
        if w == 120 && h == 40 {
            insta::assert_snapshot!("details_end_120x40", end);
        }
    }
}

#[test]
fn snapshot_indexing_progress_instead_of_no_runs() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = App::new("~/data/runs/rmos".into());
        app.update(Msg::Resize {
            width: w,
            height: h,
        });
        let _ = app.init();
        app.update(Msg::Reconcile(rmos::store::index::ReconcileProgress {
            partitions_done: 3,
            partitions_total: 1200,
            files_parsed: 0,
            current: "2025-12-22".into(),
        }));
        let text = screen(&app, w, h, Path::new("/nonexistent"));
        assert!(!text.contains("No runs yet"), "{text}");
        assert!(text.contains("Indexing the runs directory"), "{text}");
        insta::assert_snapshot!(format!("indexing_{w}x{h}"), text);
    }
}

/// Every view and dialog, drawn at 0–3 columns and rows (and a little more), with the
/// keys that measure the screen pressed there: nothing panics, nothing underflows.
#[test]
fn every_view_survives_a_terminal_of_zero_to_three_cells() {
    let root = store_example_copy();
    let mut states: Vec<(&str, App)> = Vec::new();
    let (app, index) = loaded_app(root.path(), 120, 40);
    states.push(("list", app.clone()));
    let mut help = app.clone();
    help.update(key('?'));
    states.push(("help", help));
    let mut filter = app.clone();
    filter.update(key('f'));
    for c in "risk:".chars() {
        filter.update(key(c));
    }
    states.push(("filter bar with an error", filter));
    let mut details = app.clone();
    select_run(&mut details, "run_5eed0000000000000000000000000002");
    details.update(code(KeyCode::Enter));
    let d = details.details.clone().unwrap();
    let loaded = Box::new(load_details(&index, &d.partition, &d.file_name));
    details.update(Msg::Details {
        partition: d.partition,
        file_name: d.file_name,
        details: loaded,
    });
    states.push(("details", details));
    let mut indexing = App::new("~/data/runs/rmos".into());
    let _ = indexing.init();
    indexing.update(Msg::Reconcile(rmos::store::index::ReconcileProgress {
        partitions_done: 3,
        partitions_total: 1200,
        files_parsed: 0,
        current: "2025-12-22".into(),
    }));
    states.push(("indexing", indexing));

    let dir = tempfile::tempdir().unwrap();
    let (queue, _) = queue_app(dir.path(), 120, 40, "adv_image00001");
    states.push(("queue with an image", queue.clone()));
    let mut full = queue.clone();
    full.update(key('z'));
    states.push(("full-screen preview", full));
    let mut qfilter = queue.clone();
    qfilter.update(key('f'));
    qfilter.update(key('x'));
    states.push(("queue filter", qfilter));
    let mut qhelp = queue.clone();
    qhelp.update(key('?'));
    states.push(("help over the queue", qhelp));
    let mut confirm = queue.clone();
    confirm.update(key('a'));
    states.push(("approve dialog", confirm));
    let mut reason = queue.clone();
    reason.update(key('r'));
    states.push(("reason dialog", reason.clone()));
    let mut note = reason;
    note.update(code(KeyCode::Enter));
    note.update(key('n'));
    states.push(("note dialog", note));
    let mut batch = queue.clone();
    batch.update(key(' '));
    batch.update(key('j'));
    batch.update(key(' '));
    batch.update(key('X'));
    states.push(("batch dialog", batch));

    for (name, state) in &states {
        for w in [0u16, 1, 2, 3, 5, 9] {
            for h in [0u16, 1, 2, 3, 5, 9] {
                let mut app = state.clone();
                app.update(Msg::Resize {
                    width: w,
                    height: h,
                });
                let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    screen(&app, w, h, root.path());
                    // Keys whose effect depends on the screen size (pages, help scroll).
                    for m in [
                        code(KeyCode::PageDown),
                        key('j'),
                        code(KeyCode::End),
                        key('J'),
                    ] {
                        app.update(m);
                        screen(&app, w, h, root.path());
                    }
                }));
                assert!(drawn.is_ok(), "{name} at {w}×{h} panicked");
            }
        }
    }
}

/// The decision history in the preview marks each decision's signature as checked.
#[test]
fn the_decision_history_marks_signatures() {
    use rmos::store::advisory::{DecisionRequest, ReviewerPolicy, SignatureStatus};
    let dir = tempfile::tempdir().unwrap();
    let (mut app, mut store) = queue_app(dir.path(), 120, 40, "adv_explain0001");
    let a = app.queue.selected_asset().unwrap().clone();
    let policy = ReviewerPolicy::default();
    store
        .decide(
            &policy,
            &DecisionRequest {
                reviewer: "alice",
                asset_id: &a.asset_id,
                approve: true,
                reason: None,
                note: None,
                expect_hash: Some(&a.content_hash),
                expect_previous: None,
            },
        )
        .unwrap();
    let mut data = Box::new(rmos::tui::worker::load_preview(&store, &a));
    assert_eq!(data.history.len(), 1);
    data.signatures = vec![SignatureStatus::Unsigned];
    app.update(Msg::Preview {
        asset_id: a.asset_id.clone(),
        data: data.clone(),
    });
    let text = screen(&app, 120, 40, dir.path());
    assert!(text.contains("by alice · unsigned"), "{text}");
    data.signatures = vec![SignatureStatus::Valid];
    app.update(Msg::Preview {
        asset_id: a.asset_id.clone(),
        data: data.clone(),
    });
    assert!(screen(&app, 120, 40, dir.path()).contains("by alice ✓ signed"));
    data.signatures = vec![SignatureStatus::WrongSigner];
    app.update(Msg::Preview {
        asset_id: a.asset_id,
        data,
    });
    assert!(screen(&app, 120, 40, dir.path()).contains("by alice ✗ wrong signer"));
}
