//! Migrations, the run index (reconcile, queries, cursor), the filter language against
//! SQL, the reference's v1 `/recent` responses, workflow sessions.

mod common;

use chrono::{DateTime, Utc};
use common::{fixtures, read_json, store_example_copy};
use proptest::prelude::*;
use rmos::config::DataRoot;
use rmos::db::migrate::{self, checksum, Migration, MigrationError, MigrationState};
use rmos::domain::{RunArtifact, Timestamp};
use rmos::filter::{Filter, MatchRow};
use rmos::store::index::{Cursor, IndexedRun, ReconcileMode, RunIndex, RunQuery};
use rmos::store::runs::RunStore;
use rmos::store::sessions::{self, NewSession, SessionUpdate};
use rusqlite::Connection;
use serde_json::{json, Value};
use std::path::Path;

fn noop() -> impl FnMut(&rmos::store::index::ReconcileProgress) {
    |_| {}
}

fn open(root: &Path) -> RunIndex {
    DataRoot::at(root).open_index().unwrap()
}

fn all(index: &RunIndex, filter: &str, include_invalid: bool) -> Vec<IndexedRun> {
    let mut q = RunQuery::new(Filter::parse(filter).unwrap(), 10_000);
    q.include_invalid = include_invalid;
    index.query(&q).unwrap().runs
}

fn ids(runs: &[IndexedRun]) -> Vec<String> {
    runs.iter().map(|r| r.run_id.clone()).collect()
}

// --- migrations -------------------------------------------------------------------------

const M1: Migration = Migration {
    name: "0001_a",
    sql: "CREATE TABLE a (x INTEGER);",
};
const M2: Migration = Migration {
    name: "0002_b",
    sql: "CREATE TABLE b (y TEXT);\nINSERT INTO b VALUES ('v');",
};

fn table_exists(conn: &Connection, name: &str) -> bool {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .unwrap()
        == 1
}

#[test]
fn fresh_migrate_then_rerun_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rmos::db::connect(&dir.path().join("t.db")).unwrap();
    assert_eq!(
        migrate::migrate(&mut conn, &[M1, M2], true).unwrap(),
        ["0001_a", "0002_b"],
        "dry run lists"
    );
    assert!(!table_exists(&conn, "a"), "dry run changes nothing");
    assert_eq!(
        migrate::migrate(&mut conn, &[M1, M2], false).unwrap(),
        ["0001_a", "0002_b"]
    );
    assert!(table_exists(&conn, "a") && table_exists(&conn, "b"));
    assert!(migrate::migrate(&mut conn, &[M1, M2], false)
        .unwrap()
        .is_empty());
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT name, checksum FROM applied_migrations ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        vec![
            ("0001_a".into(), checksum(M1.sql)),
            ("0002_b".into(), checksum(M2.sql))
        ]
    );
}

#[test]
fn edited_applied_migration_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rmos::db::connect(&dir.path().join("t.db")).unwrap();
    migrate::migrate(&mut conn, &[M1], false).unwrap();
    let edited = Migration {
        name: "0001_a",
        sql: "CREATE TABLE a (x INTEGER, z TEXT);",
    };
    let err = migrate::migrate(&mut conn, &[edited, M2], false).unwrap_err();
    assert!(matches!(err, MigrationError::Changed { ref name, .. } if name == "0001_a"));
    assert!(err.to_string().contains("0001_a") && err.to_string().contains("must never be edited"));
    assert!(
        !table_exists(&conn, "b"),
        "nothing after the refusal is applied"
    );
    let st = migrate::status(&conn, &[edited]).unwrap();
    assert!(matches!(st[0].state, MigrationState::Changed { .. }));
    // Line endings alone are not an edit.
    let crlf = Migration {
        name: "0001_a",
        sql: "CREATE TABLE a (x INTEGER);",
    };
    assert_eq!(
        checksum(crlf.sql),
        checksum(&crlf.sql.replace('\n', "\r\n"))
    );
}

#[test]
fn failing_migration_rolls_back_fully() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = rmos::db::connect(&dir.path().join("t.db")).unwrap();
    let bad = Migration {
        name: "0002_bad",
        sql: "CREATE TABLE half (x INTEGER);\nINSERT INTO missing VALUES (1);",
    };
    let err = migrate::migrate(&mut conn, &[M1, bad], false).unwrap_err();
    assert!(
        err.to_string().contains("0002_bad") && err.to_string().contains("rolled back"),
        "{err}"
    );
    assert!(
        table_exists(&conn, "a"),
        "the good migration before it stays"
    );
    assert!(
        !table_exists(&conn, "half"),
        "no part of the failing file remains"
    );
    let st = migrate::status(&conn, &[M1, bad]).unwrap();
    assert_eq!(st[1].state, MigrationState::Pending);
}

#[test]
fn embedded_migrations_match_the_directory_and_the_reference_schema() {
    let names: Vec<&str> = migrate::embedded().iter().map(|m| m.name).collect();
    let sql_files = |dir: &Path| -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n.trim_end_matches(".sql").to_owned())
            .collect();
        files.sort();
        files
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    assert_eq!(names, sql_files(&dir));
    // The PostgreSQL migrations (migrations/postgres/) are embedded apart from these.
    let pg: Vec<&str> = migrate::embedded_postgres()
        .iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(pg, sql_files(&dir.join("postgres")));
    assert_eq!(
        &names[..2],
        ["0001_init_workflow_sessions", "0002_add_indexes"]
    );

    let dir = tempfile::tempdir().unwrap();
    let conn = rmos::db::open(&dir.path().join("rmos.db")).unwrap();
    let reference = read_json("migrations_behaviour.json");
    let want = reference["table_info"]["workflow_sessions"]
        .as_array()
        .unwrap();
    let got: Vec<Value> = conn
        .prepare("SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('workflow_sessions')")
        .unwrap()
        .query_map([], |r| {
            Ok(json!({"cid": r.get::<_, i64>(0)?, "name": r.get::<_, String>(1)?, "type": r.get::<_, String>(2)?,
                      "notnull": r.get::<_, i64>(3)?, "dflt_value": r.get::<_, Option<String>>(4)?, "pk": r.get::<_, i64>(5)?}))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(&got, want);
    for idx in [
        "idx_workflow_sessions_status",
        "idx_workflow_sessions_status_type",
        "idx_workflow_sessions_created_at",
    ] {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = ?1",
                [idx],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{idx}");
    }
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

// --- reconcile ---------------------------------------------------------------------------

fn write_run(runs: &Path, id: &str, created: &str, risk: &str) -> RunArtifact {
    write_run_with(runs, id, created, risk, |_| {})
}

/// [`write_run`], with `edit` applied before the artifact is stored.
fn write_run_with(
    runs: &Path,
    id: &str,
    created: &str,
    risk: &str,
    edit: impl FnOnce(&mut RunArtifact),
) -> RunArtifact {
    let bytes = std::fs::read(fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = id.into();
    a.created_at_utc = Timestamp::parse(created).unwrap();
    a.decision.risk_level = risk.into();
    edit(&mut a);
    RunStore::new(runs).put(&a).unwrap();
    a
}

#[test]
fn reconcile_tracks_added_modified_deleted_and_invalid_files() {
    let root = store_example_copy();
    let runs = root.path().join("runs/rmos");
    let mut index = open(root.path());
    let st = index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    assert_eq!((st.parsed, st.invalid, st.partitions_scanned), (8, 0, 2));
    assert_eq!(all(&index, "", false).len(), 8);

    // No change: a quick pass skips settled partitions, a full pass parses nothing.
    let st = index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    assert_eq!(st.parsed, 0);
    assert!(!st.changed());

    // Add (new partition), break one file, delete one, edit one in place.
    write_run(&runs, "run_new", "2025-12-24T09:00:00Z", "RED");
    std::fs::write(runs.join("2025-12-23/run_bad.json"), b"{oops").unwrap();
    std::fs::remove_file(runs.join("2025-12-23/run_5eed0000000000000000000000000006.json"))
        .unwrap();
    let p = runs.join("2025-12-22/run_5eed0000000000000000000000000001.json");
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("\"score\": 67.73", "\"score\": 12.5");
    std::fs::write(&p, text).unwrap();

    let st = index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    assert_eq!(
        (st.added_or_changed, st.removed, st.invalid),
        (3, 1, 1),
        "{st:?}"
    );
    let valid = ids(&all(&index, "", false));
    assert!(valid.contains(&"run_new".to_string()));
    assert!(!valid.contains(&"run_5eed0000000000000000000000000006".to_string()));
    let first = index
        .find("run_5eed0000000000000000000000000001")
        .unwrap()
        .unwrap();
    assert_eq!(first.score, Some(12.5));
    assert_eq!(
        first.verify.as_deref(),
        Some("mismatch"),
        "the edit breaks the feasibility hash"
    );
    let invalid = index.invalid_files(10).unwrap();
    assert_eq!(invalid.len(), 1);
    assert!(invalid[0]
        .error
        .as_deref()
        .unwrap()
        .contains("malformed JSON"));
    assert_eq!(
        all(&index, "", true).len(),
        valid.len() + 1,
        "invalid rows are listed on request"
    );

    // A deleted partition drops its runs.
    std::fs::remove_dir_all(runs.join("2025-12-22")).unwrap();
    let st = index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    assert_eq!(st.partitions_removed, 1);
    assert!(index
        .find("run_5eed0000000000000000000000000001")
        .unwrap()
        .is_none());
}

#[test]
fn index_follows_the_runs_root() {
    let a = store_example_copy();
    let b = tempfile::tempdir().unwrap();
    write_run(
        &b.path().join("runs/rmos"),
        "run_only_b",
        "2025-01-01T00:00:00Z",
        "GREEN",
    );
    // One database (rmos data root `a`), pointed at another runs directory.
    let mut root = DataRoot::at(a.path());
    let mut index = root.open_index().unwrap();
    index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    assert_eq!(all(&index, "", false).len(), 8);
    root.runs_dir = b.path().join("runs/rmos");
    let mut index = root.open_index().unwrap();
    index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    assert_eq!(ids(&all(&index, "", false)), ["run_only_b"]);
}

// --- queries --------------------------------------------------------------------------------

#[test]
fn v1_recent_responses_are_reproduced_on_store_example() {
    let root = store_example_copy();
    let mut index = open(root.path());
    index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    let api = read_json("api_responses.json");
    let cases = [
        ("/api/rmos/logs/recent?limit=50", ""),
        (
            "/api/rmos/logs/recent?mode=ART_STUDIO&risk_level=yellow",
            "mode:ART_STUDIO risk:yellow",
        ),
        ("/api/rmos/logs/recent?source=snapshot", "source:snapshot"),
        (
            "/api/rmos/logs/recent?status=blocked&limit=5",
            "status:blocked",
        ),
    ];
    for (url, filter) in cases {
        let got: Vec<Value> = all(&index, filter, false)
            .iter()
            .map(IndexedRun::log_entry)
            .collect();
        assert_eq!(Value::Array(got), api[url]["body"]["entries"], "{url}");
    }
    // The documented quirk: source=none matches runs without a source.
    let none = &api["_filter_semantics_checks"]["/api/rmos/logs/recent?source=none"]["run_ids"];
    assert_eq!(json!(ids(&all(&index, "source:none", false))), *none);
    // v1 looks at meta.workflow too (v2 does not): source=snapshot finds the snapshot run.
    let v1 = &api["_filter_semantics_checks"]["/api/rmos/logs/recent?source=snapshot"]["run_ids"];
    assert_eq!(json!(ids(&all(&index, "source:snapshot", false))), *v1);
}

/// The example store plus 40 generated runs, indexed; every row; a fixed "now".
fn agreement_fixture() -> (tempfile::TempDir, RunIndex, Vec<IndexedRun>, DateTime<Utc>) {
    let root = store_example_copy();
    let runs = root.path().join("runs/rmos");
    for i in 0..40 {
        let risk = ["GREEN", "YELLOW", "RED", "ERROR"][i % 4];
        write_run_with(
            &runs,
            &format!("run_gen{i:02}"),
            &format!("2025-11-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24),
            risk,
            |a| {
                // Lineage: re-scored runs (parent), executions of a plan, and both at once.
                a.parent_run_id = (i % 3 == 1).then(|| format!("run_gen{:02}", i % 6));
                a.lineage = (i % 4 == 2).then(|| rmos::domain::RunLineage {
                    parent_plan_run_id: Some(
                        if i % 8 == 2 { "run_gen01" } else { "run_gen04" }.into(),
                    ),
                });
            },
        );
    }
    let mut index = open(root.path());
    index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    let now = DateTime::parse_from_rfc3339("2025-12-24T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let everything = {
        let mut q = RunQuery::new(Filter::default(), 10_000);
        q.include_invalid = true;
        index.query(&q).unwrap().runs
    };
    (root, index, everything, now)
}

#[test]
fn every_filter_in_sql_agrees_with_the_matcher() {
    let (_root, index, everything, now) = agreement_fixture();
    let filters = [
        "risk:red",
        "risk:red,yellow",
        "-risk:green",
        "mode:ART_STUDIO",
        "tool:rosette",
        "tool:ENDMILL_6MM",
        "status:blocked",
        "status:ok,error",
        "source:snapshot",
        "source:none",
        "-source:none",
        "event:toolpaths",
        "verify:placeholder",
        "-verify:ok",
        "score<50",
        "score>=67.73",
        "score!=95",
        "-score<50",
        "since:30d",
        "until:2025-11-15",
        "since:2025-11-10 until:2025-11-20",
        "id:run_gen1",
        "id:gen1",
        "-id:5eed",
        "-id:run_5eed",
        "coolant",
        "\"Risk level RED\"",
        "-heat",
        "risk:red since:2025-11-05 -tool:x score<=42",
        // OR and groups: space binds tighter than OR; a group may be negated.
        "risk:red OR status:blocked",
        "risk:red OR risk:yellow OR verify:placeholder",
        "(tool:rosette OR tool:ENDMILL_6MM) -verify:ok",
        "-(risk:red OR risk:yellow)",
        "risk:red score<50 OR -source:none since:30d",
        "((risk:green OR id:gen1) OR coolant) until:2025-11-15",
        "-(-risk:red OR score>=67.73)",
        "-(score<50) risk:red,green",
        "(source:none OR -source:none) id:gen2",
        "parent:run_gen01",
        "parent:gen04",
        "parent:5eed0000000000000000000000000006",
        "-parent:gen01",
        "parent:gen01 OR parent:gen04",
        "parent:gen01 risk:yellow",
        "-(parent:gen02 OR parent:gen05)",
    ];
    for f in filters {
        let filter = Filter::parse(f).unwrap();
        let (sql, mem) = both_ways(&index, &everything, &filter, now);
        assert_eq!(sql, mem, "filter {f}");
        assert!(
            f.starts_with('-') || f.contains("score!=") || sql.len() < everything.len(),
            "{f} selects something specific"
        );
    }
}

/// The run ids a filter selects through the index's SQL and through the in-memory matcher.
fn both_ways(
    index: &RunIndex,
    everything: &[IndexedRun],
    filter: &Filter,
    now: DateTime<Utc>,
) -> (Vec<String>, Vec<String>) {
    let mut q = RunQuery::new(filter.clone(), 10_000);
    q.now = now;
    q.include_invalid = true;
    let sql = ids(&index.query(&q).unwrap().runs);
    let search: Vec<String> = everything
        .iter()
        .map(|r| {
            let mut s = vec![
                r.run_id.to_lowercase(),
                r.tool_id.clone().unwrap_or_default().to_lowercase(),
            ];
            s.extend(r.warnings.iter().map(|w| w.to_lowercase()));
            s.extend(r.block_reason.iter().map(|b| b.to_lowercase()));
            s.join("\n")
        })
        .collect();
    let mem: Vec<String> = everything
        .iter()
        .zip(&search)
        .filter(|(r, s)| {
            let row = MatchRow {
                run_id: &r.run_id,
                created_us: r.created_us,
                mode: r.mode.as_deref(),
                tool_id: r.tool_id.as_deref(),
                status: r.status.as_deref(),
                risk_level: r.risk_level.as_deref(),
                score: r.score,
                source: r.source.as_deref(),
                event_type: r.event_type.as_deref(),
                verify: r.verify.as_deref(),
                search_text: r.valid.then_some(s.as_str()),
                parent_run_id: r.parent_run_id.as_deref(),
                plan_run_id: r.plan_run_id.as_deref(),
            };
            r.valid && filter.matches(&row, now)
        })
        .map(|(r, _)| r.run_id.clone())
        .collect();
    (sql, mem)
}

/// Generated filters (nested groups, negations, every predicate) select the same runs in
/// SQL and in memory, NULL columns included.
#[test]
fn generated_filters_agree_in_sql_and_in_memory() {
    let (_root, index, everything, now) = agreement_fixture();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 400,
        ..ProptestConfig::default()
    });
    runner
        .run(&prop::collection::vec(arb_term(), 1..4), |terms| {
            let filter = Filter { terms };
            let (sql, mem) = both_ways(&index, &everything, &filter, now);
            prop_assert_eq!(sql, mem, "filter {}", filter);
            Ok(())
        })
        .unwrap();
}

#[test]
fn cursor_walk_returns_every_run_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs/rmos");
    let mut want = Vec::new();
    for i in 0..137 {
        // Many runs share a timestamp so the run_id tie-break matters.
        let created = format!("2025-12-{:02}T10:00:0{}Z", 1 + i % 9, i % 3);
        let a = write_run(&runs, &format!("run_{i:03}"), &created, "GREEN");
        want.push((a.created_at_utc.epoch_micros(), a.run_id));
    }
    want.sort_by(|a, b| b.cmp(a));
    let want: Vec<String> = want.into_iter().map(|(_, id)| id).collect();
    let mut index = open(dir.path());
    index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    for page_size in [1, 7, 50, 137, 500] {
        let mut got = Vec::new();
        let mut cursor = None;
        let most_pages = 137usize.div_ceil(page_size) + 1;
        for page in 1.. {
            assert!(
                page <= most_pages,
                "page size {page_size}: the cursor walk does not end after {} runs: {:?}…",
                got.len(),
                &got[got.len().saturating_sub(5)..]
            );
            let mut q = RunQuery::new(Filter::default(), page_size);
            q.cursor = cursor.as_deref().map(|c| Cursor::parse(c).unwrap());
            let page = index.query(&q).unwrap();
            assert!(page.runs.len() <= page_size);
            got.extend(ids(&page.runs));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(got, want, "page size {page_size}");
    }
    assert!(Cursor::parse("garbage").is_err());
    assert!(Cursor::parse("2025-12-01T00:00:00+00:00|").is_err());
}

// --- filter language property tests ---------------------------------------------------------

fn arb_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z_]{1,8}", "[A-Za-z0-9 ,:\"\\\\<>=!-]{1,10}"]
}

fn arb_term() -> impl Strategy<Value = rmos::filter::Term> {
    use rmos::filter::{CmpOp, Field, Predicate, Term, TimeSpec};
    let field = prop::sample::select(vec![
        Field::Mode,
        Field::Tool,
        Field::Status,
        Field::Risk,
        Field::Source,
        Field::Event,
    ]);
    let op = prop::sample::select(vec![
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::Eq,
        CmpOp::Ne,
    ]);
    let pred = prop_oneof![
        (
            field,
            prop::collection::vec(arb_value(), 1..4),
            any::<prop::sample::Index>()
        )
            .prop_map(|(field, values, pick)| {
                // Fields with a fixed set of values only take those (others are refused).
                let values = match field.known_values() {
                    Some(known) => values
                        .iter()
                        .enumerate()
                        .map(|(i, _)| known[(pick.index(known.len()) + i) % known.len()].to_owned())
                        .collect(),
                    None => values,
                };
                Predicate::Field { field, values }
            }),
        arb_value().prop_map(Predicate::IdPrefix),
        prop_oneof![arb_value(), "run_gen0[0-5]", "gen0[0-5]"].prop_map(Predicate::Parent),
        (op, -1000.0f64..1000.0).prop_map(|(op, value)| Predicate::Score { op, value }),
        (1u32..500, prop::sample::select(vec!['m', 'h', 'd', 'w']))
            .prop_map(|(amount, unit)| Predicate::Since(TimeSpec::Ago { amount, unit })),
        (2000i32..2100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| Predicate::Until(TimeSpec::Date(
            chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
        ))),
        arb_value().prop_map(Predicate::Text),
    ];
    let leaf = (any::<bool>(), pred).prop_map(|(negated, predicate)| Term { negated, predicate });
    // Groups of alternatives, nested up to three deep.
    leaf.prop_recursive(3, 24, 3, |inner| {
        (
            any::<bool>(),
            prop::collection::vec(prop::collection::vec(inner, 1..3), 1..3),
        )
            .prop_map(|(negated, alternatives)| Term {
                negated,
                predicate: Predicate::Any(
                    alternatives
                        .into_iter()
                        .map(|terms| Filter { terms })
                        .collect(),
                ),
            })
    })
}

proptest! {
    /// parse → print → parse gives back the same filter.
    #[test]
    fn filter_print_parse_round_trip(terms in prop::collection::vec(arb_term(), 0..6)) {
        let f = Filter { terms };
        let text = f.to_string();
        let back = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(back, f);
    }

    /// The parser never panics and errors point inside the input.
    #[test]
    fn filter_parse_never_panics(text in "\\PC{0,40}") {
        if let Err(e) = Filter::parse(&text) {
            prop_assert!(e.pos <= text.chars().count());
        }
    }
}

// --- workflow sessions ------------------------------------------------------------------------

#[test]
fn workflow_session_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let conn = rmos::db::open(&dir.path().join("rmos.db")).unwrap();
    let s = sessions::create(
        &conn,
        NewSession {
            workflow_type: "rosette".into(),
            current_step: "design".into(),
            context: Some(json!({"material_id": "maple_hard"})),
            material_id: Some("maple_hard".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s.status, "active");
    let s2 = sessions::update(
        &conn,
        &s.session_id,
        SessionUpdate {
            current_step: Some("feasibility".into()),
            add_run_ids: vec!["run_1".into(), "run_1".into(), "run_2".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(s2.run_ids, ["run_1", "run_2"]);
    assert_eq!(s2.current_step, "feasibility");
    assert!(sessions::update(
        &conn,
        &s.session_id,
        SessionUpdate {
            status: Some("done".into()),
            ..Default::default()
        }
    )
    .is_err());
    sessions::update(
        &conn,
        &s.session_id,
        SessionUpdate {
            status: Some("completed".into()),
            ..Default::default()
        },
    )
    .unwrap();
    sessions::create(
        &conn,
        NewSession {
            workflow_type: "inlay".into(),
            current_step: "start".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(sessions::list(&conn, None, None, 10).unwrap().len(), 2);
    assert_eq!(
        sessions::list(&conn, Some("completed"), None, 10).unwrap()[0].session_id,
        s.session_id
    );
    assert_eq!(
        sessions::list(&conn, None, Some("inlay"), 10)
            .unwrap()
            .len(),
        1
    );
    assert!(matches!(
        sessions::get(&conn, "ws_missing"),
        Err(sessions::SessionError::NotFound(_))
    ));
    // A row written by the reference's defaults (datetime('now'), no JSON) reads fine.
    conn.execute("INSERT INTO workflow_sessions (session_id, workflow_type, current_step) VALUES ('legacy', 'fret_slotting', 'x')", []).unwrap();
    let legacy = sessions::get(&conn, "legacy").unwrap();
    assert!(legacy.run_ids.is_empty() && legacy.context.is_none());
}

/// The indexes a query names (`INDEXED BY`) may be missing while another process rebuilds
/// the table: queries then fall back to the planner's choice and give the same rows.
#[test]
fn queries_fall_back_when_their_index_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs/rmos");
    for i in 0..30 {
        let created = format!("2025-12-{:02}T10:00:00Z", 1 + i % 5);
        let risk = ["GREEN", "YELLOW", "RED"][i % 3];
        write_run_with(&runs, &format!("run_{i:03}"), &created, risk, |a| {
            a.parent_run_id = (i % 4 == 1).then(|| "run_000".into());
            a.lineage = (i % 4 == 2).then(|| rmos::domain::RunLineage {
                parent_plan_run_id: Some("run_000".into()),
            });
        });
    }
    let mut index = open(dir.path());
    index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    let children = |index: &RunIndex| {
        let (runs, total) = index.children("run_000", 100).unwrap();
        (ids(&runs), total)
    };
    let children_before = children(&index);
    assert_eq!(children_before.1, 15, "{children_before:?}");
    let filters = [
        "",
        "risk:red",
        "tool:rosette",
        "mode:art_studio",
        "risk:red,yellow id:run_01",
    ];
    let before: Vec<Vec<String>> = filters
        .iter()
        .map(|f| ids(&all(&index, f, false)))
        .collect();
    assert!(
        before.iter().filter(|r| !r.is_empty()).count() >= 3,
        "{before:?}"
    );
    // Another connection drops every index of the table (as a rebuild in progress would).
    let other = Connection::open(dir.path().join("rmos.db")).unwrap();
    let names: Vec<String> = other
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'run_index' AND sql IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(names.iter().any(|n| n == "idx_run_index_time"), "{names:?}");
    for n in &names {
        other.execute_batch(&format!("DROP INDEX {n}")).unwrap();
    }
    // Naming a dropped index is an error in SQLite: the situation the fallback is for.
    let err = other
        .prepare("SELECT run_id FROM run_index INDEXED BY idx_run_index_time")
        .unwrap_err();
    assert!(err.to_string().contains("no such index"), "{err}");
    let after: Vec<Vec<String>> = filters
        .iter()
        .map(|f| ids(&all(&index, f, false)))
        .collect();
    assert_eq!(after, before);
    assert_eq!(children(&index), children_before);
}

/// The children of a run: every valid run naming it as `parent_run_id` or as the plan it
/// executes, newest first in the list's order, cut at the limit, counted in full (a run
/// naming it both ways once).
#[test]
fn children_are_the_newest_runs_naming_a_run_as_parent_or_plan() {
    let (_root, index, everything, _now) = agreement_fixture();
    let mut seen_both = false;
    for parent in [
        "run_gen01",
        "run_gen04",
        "run_5eed0000000000000000000000000006",
        "run_gen00",
        "run_nobody",
    ] {
        let want: Vec<String> = everything
            .iter()
            .filter(|r| {
                r.valid
                    && (r.parent_run_id.as_deref() == Some(parent)
                        || r.plan_run_id.as_deref() == Some(parent))
            })
            .map(|r| r.run_id.clone())
            .collect();
        seen_both |= everything.iter().any(|r| {
            r.parent_run_id.as_deref() == Some(parent) && r.plan_run_id.as_deref() == Some(parent)
        });
        let (runs, total) = index.children(parent, 1_000).unwrap();
        assert_eq!(ids(&runs), want, "children of {parent}");
        assert_eq!(total, want.len() as u64, "count of {parent}");
        for limit in [0, 1, 2, 5] {
            let (runs, total) = index.children(parent, limit).unwrap();
            assert_eq!(
                ids(&runs),
                want[..limit.min(want.len())],
                "{parent} limit {limit}"
            );
            assert_eq!(
                total,
                want.len() as u64,
                "{parent}: the count ignores the limit"
            );
        }
    }
    assert!(seen_both, "the fixture has a run naming one run both ways");
    // The same answer as the filter field, through the seam.
    let catalog: &dyn rmos::store::seam::RunCatalog = &index;
    let (runs, total) = catalog.children("run_gen04", 3).unwrap();
    let by_filter = all(&index, "parent:gen04", false);
    assert_eq!(total as usize, by_filter.len());
    assert_eq!(ids(&runs), ids(&by_filter[..3]));
}

/// An index built before the lineage columns existed gets them filled: the migration makes
/// the next pass (even a quick one) read every file once, and only once.
#[test]
fn an_index_from_before_the_lineage_columns_finds_children_after_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs/rmos");
    for i in 0..12 {
        let created = format!("2025-12-{:02}T10:00:00Z", 1 + i % 4);
        write_run_with(&runs, &format!("run_{i:03}"), &created, "GREEN", |a| {
            a.parent_run_id = (i % 3 == 1).then(|| "run_000".into());
            a.lineage = (i % 3 == 2).then(|| rmos::domain::RunLineage {
                parent_plan_run_id: Some("run_000".into()),
            });
        });
    }
    let db = dir.path().join("rmos.db");
    let mut index = open(dir.path());
    index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    assert_eq!(index.children("run_000", 100).unwrap().1, 8);
    drop(index);
    // Turn the database into what rmos made before migration 0007: same rows and
    // bookkeeping (sizes, times, inodes, partition folder times), no lineage columns.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "DROP INDEX idx_run_index_parent; DROP INDEX idx_run_index_plan;
         ALTER TABLE run_index DROP COLUMN parent_run_id;
         ALTER TABLE run_index DROP COLUMN plan_run_id;
         DELETE FROM applied_migrations WHERE name = '0008_run_index_parent';",
    )
    .unwrap();
    drop(conn);
    // Upgrade: opening applies the migration; the columns are empty until a pass reads.
    let mut index = open(dir.path());
    let (runs_before, total_before) = index.children("run_000", 100).unwrap();
    assert!(runs_before.is_empty() && total_before == 0);
    let stats = index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    assert_eq!(stats.parsed, 12, "every file read again: {stats:?}");
    let (runs, total) = index.children("run_000", 100).unwrap();
    assert_eq!(total, 8);
    assert_eq!(runs.len(), 8);
    assert!(runs
        .iter()
        .all(|r| r.parent_run_id.is_some() || r.plan_run_id.is_some()));
    // Once: the next passes read nothing, and the rows keep their inodes and sizes.
    let again = index.reconcile(ReconcileMode::Quick, &mut noop()).unwrap();
    assert_eq!(again.parsed, 0, "{again:?}");
    let full = index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    assert_eq!(full.parsed, 0, "{full:?}");
    let stale: i64 = index
        .connection()
        .query_row(
            "SELECT count(*) FROM run_index WHERE ino = 0 OR size < 0",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stale, 0);
}

/// Paging through an OR filter (answered as a union of its alternatives when they are
/// small) returns every match once, in order, whatever the page size.
#[test]
fn or_filters_page_like_any_other() {
    let (_root, index, _everything, now) = agreement_fixture();
    for text in [
        "risk:red OR status:blocked",
        "risk:red OR risk:yellow source:none",
        "(risk:green OR id:gen1) -tool:x",
    ] {
        let filter = Filter::parse(text).unwrap();
        let mut all = RunQuery::new(filter.clone(), 10_000);
        all.now = now;
        let want = ids(&index.query(&all).unwrap().runs);
        assert!(want.len() > 3, "{text} selects a few runs");
        for size in [1, 2, 5] {
            let mut got = Vec::new();
            let mut cursor = None;
            for _ in 0..=want.len() {
                let mut q = RunQuery::new(filter.clone(), size);
                q.now = now;
                q.cursor = cursor.as_deref().map(|c| Cursor::parse(c).unwrap());
                let page = index.query(&q).unwrap();
                got.extend(ids(&page.runs));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(got, want, "{text}, pages of {size}");
        }
    }
}

/// Alternatives that select the same runs end a page walk exactly at its last run: the
/// final page is never empty.
#[test]
fn overlapping_or_alternatives_leave_no_empty_last_page() {
    let (_root, index, _everything, now) = agreement_fixture();
    let filter = Filter::parse("risk:red OR risk:red status:ok OR risk:red score<100").unwrap();
    let mut all = RunQuery::new(filter.clone(), 10_000);
    all.now = now;
    let want = ids(&index.query(&all).unwrap().runs);
    assert!(want.len() > 2);
    let mut q = RunQuery::new(filter, want.len());
    q.now = now;
    let page = index.query(&q).unwrap();
    assert_eq!(ids(&page.runs), want);
    assert_eq!(page.next_cursor, None, "no further (empty) page announced");
}

#[test]
fn duplicated_names_the_run_ids_that_are_in_more_than_one_file() {
    let root = store_example_copy();
    let runs = root.path().join("runs/rmos");
    // The same record copied into another day's partition.
    let src = runs.join("2025-12-23/run_5eed0000000000000000000000000002.json");
    std::fs::create_dir_all(runs.join("2025-12-24")).unwrap();
    std::fs::copy(
        &src,
        runs.join("2025-12-24/run_5eed0000000000000000000000000002.json"),
    )
    .unwrap();
    let mut index = open(root.path());
    index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    let asked = [
        "run_5eed0000000000000000000000000002",
        "run_5eed0000000000000000000000000001",
        "run_nothing",
        "run_5eed0000000000000000000000000002",
    ];
    assert_eq!(
        index.duplicated(&asked).unwrap(),
        vec!["run_5eed0000000000000000000000000002".to_owned()]
    );
}

/// The list's order computed from the rows themselves: what the sort indexes must walk.
fn sort_value(r: &IndexedRun, key: rmos::store::index::SortKey) -> (i64, f64, String) {
    use rmos::store::index::SortKey;
    match key {
        SortKey::Time => (0, 0.0, String::new()),
        SortKey::Risk => (
            match r
                .risk_level
                .as_deref()
                .unwrap_or("")
                .to_uppercase()
                .as_str()
            {
                "RED" => 5,
                "ERROR" => 4,
                "YELLOW" => 3,
                "UNKNOWN" => 2,
                "GREEN" => 1,
                _ => 0,
            },
            0.0,
            String::new(),
        ),
        SortKey::Score => (0, r.score.unwrap_or(-1.0e308), String::new()),
        SortKey::Tool => (0, 0.0, r.tool_id.as_deref().unwrap_or("").to_uppercase()),
    }
}

#[test]
fn sorted_pages_walk_the_whole_list_in_order_both_ways_and_count_positions() {
    use rmos::store::index::{Direction, PageRequest, Sort, SortKey};
    let (_root, index, everything, now) = agreement_fixture();
    // Runs without a score, tools in mixed case, ties on every key.
    assert!(everything.iter().any(|r| r.score.is_none()));
    for key in SortKey::ALL {
        for descending in [true, false] {
            let sort = Sort { key, descending };
            let mut want = everything.clone();
            want.sort_by(|a, b| {
                let ka = (sort_value(a, key), a.created_us, a.run_id.clone());
                let kb = (sort_value(b, key), b.created_us, b.run_id.clone());
                let o = ka.partial_cmp(&kb).unwrap();
                if descending {
                    o.reverse()
                } else {
                    o
                }
            });
            let want = ids(&want);
            let req = |direction, bound: Option<(Cursor, bool)>, limit| PageRequest {
                filter: Filter::default(),
                include_invalid: true,
                direction,
                bound,
                limit,
                now,
                sort,
            };
            // Along the list, 7 at a time from its top.
            let mut got: Vec<IndexedRun> = Vec::new();
            let mut bound = None;
            loop {
                let (rows, more) = index
                    .page(&req(Direction::Older, bound.clone(), 7))
                    .unwrap();
                got.extend(rows);
                if !more {
                    break;
                }
                bound = got.last().map(|r| (r.key(), false));
                assert!(got.len() <= want.len(), "{sort:?}: the walk does not end");
            }
            assert_eq!(ids(&got), want, "{sort:?} along the list");
            // Back from the middle towards the top: the rows before it, nearest first.
            let mid = got.len() / 2;
            let (back, _) = index
                .page(&req(Direction::Newer, Some((got[mid].key(), false)), 1000))
                .unwrap();
            let mut before = want[..mid].to_vec();
            before.reverse();
            assert_eq!(ids(&back), before, "{sort:?} back from row {mid}");
            // The position of a row is how many come before it.
            assert_eq!(
                index
                    .count_ahead(&Filter::default(), sort, &got[mid].key(), u64::MAX)
                    .unwrap(),
                mid as u64,
                "{sort:?} position of row {mid}"
            );
            // Filtered, the order holds within the filter.
            let filter = Filter::parse("-risk:green").unwrap();
            let (rows, _) = index
                .page(&PageRequest {
                    filter: filter.clone(),
                    ..req(Direction::Older, None, 1000)
                })
                .unwrap();
            let kept: Vec<String> = want
                .iter()
                .filter(|id| {
                    everything.iter().any(|r| {
                        &r.run_id == *id
                            && r.valid
                            && r.risk_level.as_deref().map(str::to_uppercase).as_deref()
                                != Some("GREEN")
                    })
                })
                .cloned()
                .collect();
            let got_valid: Vec<String> = rows
                .iter()
                .filter(|r| r.valid)
                .map(|r| r.run_id.clone())
                .collect();
            assert_eq!(got_valid, kept, "{sort:?} filtered");
        }
    }
}

/// The timeline from the hourly counts equals the timeline counted from the rows (a term
/// the counts cannot answer forces the row scan), however the rows came and went.
#[test]
fn hourly_counts_answer_the_timeline_exactly_as_the_rows_do() {
    use rmos::store::index::{Bucket, StackBy};
    let (root, mut index, _everything, now) = agreement_fixture();
    let runs = root.path().join("runs/rmos");
    // Several runs in one hour and one risk: the counts' rows are shared.
    for (id, minute, risk) in [
        ("run_hour_a", 1, "RED"),
        ("run_hour_b", 2, "YELLOW"),
        ("run_hour_c", 3, "RED"),
    ] {
        write_run_with(
            &runs,
            id,
            &format!("2025-11-29T10:{minute:02}:00Z"),
            risk,
            |_| {},
        );
    }
    index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    let check = |index: &RunIndex, when: &str| {
        let end = index.newest_us().unwrap().unwrap();
        for filter in [
            "",
            "risk:red",
            "-status:ok",
            "risk:red,yellow -status:blocked",
        ] {
            for (bucket, n) in [
                (Bucket::Hour, 24 * 60),
                (Bucket::Day, 60),
                (Bucket::Week, 12),
            ] {
                for by in [StackBy::Risk, StackBy::Status] {
                    let fast = index
                        .timeline(&Filter::parse(filter).unwrap(), bucket, n, end, by, now)
                        .unwrap();
                    // `-id:zzzz` holds for every run but is not a risk or status term.
                    let slow_filter = Filter::parse(&format!("{filter} -id:zzzz")).unwrap();
                    let slow = index
                        .timeline(&slow_filter, bucket, n, end, by, now)
                        .unwrap();
                    assert_eq!(fast, slow, "{when}: {filter:?} {bucket:?} {by:?}");
                    assert!(slow.iter().any(|b| b.total > 0), "{when}: nothing counted");
                }
            }
        }
    };
    check(&index, "after the first reconcile");
    // A run's risk rewritten in place, one deleted, one made invalid, one added.
    write_run_with(&runs, "run_late", "2025-11-30T23:59:59Z", "GREEN", |_| {});
    let path = |id: &str| {
        let (_, p) = RunStore::new(&runs).get(id).unwrap();
        p
    };
    let p5 = path("run_gen05");
    let text = std::fs::read_to_string(&p5).unwrap();
    std::fs::write(&p5, text.replace("\"YELLOW\"", "\"RED\"")).unwrap();
    let pb = path("run_hour_b");
    let text = std::fs::read_to_string(&pb).unwrap();
    std::fs::write(&pb, text.replace("\"YELLOW\"", "\"RED\"")).unwrap();
    std::fs::remove_file(path("run_hour_a")).unwrap();
    std::fs::remove_file(path("run_gen06")).unwrap();
    std::fs::write(path("run_gen07"), b"{ broken").unwrap();
    index.reconcile(ReconcileMode::Full, &mut noop()).unwrap();
    check(&index, "after changes");
    index.rebuild(&mut noop()).unwrap();
    check(&index, "after a rebuild");
    // The counts hold exactly the valid rows.
    let counted: i64 = index
        .connection()
        .query_row("SELECT sum(n) FROM run_index_hourly", [], |r| r.get(0))
        .unwrap();
    let valid: i64 = index
        .connection()
        .query_row("SELECT count(*) FROM run_index WHERE valid = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(counted, valid);
}

/// A rebuild killed after dropping the secondary indexes and the hourly counts' triggers
/// (a hung-up SSH session) is finished by the next open: everything is back and counted.
#[test]
fn an_interrupted_rebuild_is_finished_by_the_next_open() {
    let (root, index, _everything, _now) = agreement_fixture();
    let conn = index.connection();
    let objects = |kind: &str| -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = ?1 AND tbl_name = 'run_index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let (indexes, triggers) = (objects("index"), objects("trigger"));
    assert!(
        indexes.len() >= 10 && triggers.len() == 4,
        "{indexes:?} {triggers:?}"
    );
    // What a rebuild does first, by a process that is gone (no such pid).
    let restore = json!({"pid": 2_147_483_000u64, "indexes": indexes, "triggers": triggers});
    conn.execute(
        "INSERT INTO run_index_meta (key, value) VALUES ('rebuild_restore', ?1)",
        [restore.to_string()],
    )
    .unwrap();
    for (name, _) in indexes.iter().chain(&triggers) {
        let kind = if triggers.iter().any(|(t, _)| t == name) {
            "TRIGGER"
        } else {
            "INDEX"
        };
        conn.execute_batch(&format!("DROP {kind} \"{name}\""))
            .unwrap();
    }
    conn.execute_batch("DELETE FROM run_index_hourly").unwrap();
    drop(index);
    let index = open(root.path());
    let conn = index.connection();
    let again = |kind: &str| -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = ?1 AND tbl_name = 'run_index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([kind], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(again("index"), names(&indexes));
    assert_eq!(again("trigger"), names(&triggers));
    let counted: i64 = conn
        .query_row(
            "SELECT coalesce(sum(n), 0) FROM run_index_hourly",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let valid: i64 = conn
        .query_row("SELECT count(*) FROM run_index WHERE valid = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(counted, valid);
    let marker: i64 = conn
        .query_row(
            "SELECT count(*) FROM run_index_meta WHERE key = 'rebuild_restore'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(marker, 0, "finished: the mark is gone");
}

/// A sorted page asked from a row that is gone (deleted meanwhile) answers nothing rather
/// than rows from the wrong place of the order.
#[test]
fn a_sorted_page_from_a_vanished_row_answers_nothing() {
    use rmos::store::index::{Direction, PageRequest, Sort, SortKey};
    let (_root, index, _everything, now) = agreement_fixture();
    let gone = Cursor {
        created_us: 1_764_000_000_000_000,
        run_id: "run_vanished".into(),
    };
    for key in [SortKey::Risk, SortKey::Score, SortKey::Tool] {
        let (rows, more) = index
            .page(&PageRequest {
                filter: Filter::default(),
                include_invalid: true,
                direction: Direction::Older,
                bound: Some((gone.clone(), false)),
                limit: 10,
                now,
                sort: Sort {
                    key,
                    descending: true,
                },
            })
            .unwrap();
        assert!(rows.is_empty() && !more, "{key:?}: {}", rows.len());
    }
}
