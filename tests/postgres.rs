//! The PostgreSQL backend against a real server (a throwaway cluster, tests/common/pg.rs):
//! the migrations runner, and the review store and sessions behind the seam — the same
//! behavioural checks run on the embedded SQLite database and on PostgreSQL.

mod common;

use rmos::config::DataRoot;
use rmos::db::migrate::Migration;
use rmos::db::pg::{migrate_pg, status_pg, PgTarget};
use rmos::store::advisory::{AdvisoryError, AssetType, DecisionRequest, NewAsset, ReviewerPolicy};
use rmos::store::seam::{ChangeFeed, Changes};
use rmos::store::sessions::{NewSession, SessionUpdate};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

fn explanation(text: &str) -> NewAsset {
    NewAsset {
        asset_type: Some(AssetType::Explanation),
        content: text.as_bytes().to_vec(),
        mime: "text/plain".into(),
        extension: "txt".into(),
        ..Default::default()
    }
}

/// A data root on the embedded database, and one on a fresh PostgreSQL database (when
/// PostgreSQL is installed; otherwise the skip is recorded).
fn backends() -> Vec<(&'static str, DataRoot, tempfile::TempDir)> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap();
    out.push(("sqlite", DataRoot::at(dir.path()), dir));
    if let Some(db) = common::pg::database() {
        let dir = tempfile::tempdir().unwrap();
        let root = DataRoot::at(dir.path())
            .with_db(Some(&db.conninfo))
            .unwrap();
        out.push(("postgres", root, dir));
    }
    out
}

fn pg_root() -> Option<(DataRoot, common::pg::TestDb, tempfile::TempDir)> {
    let db = common::pg::database()?;
    let dir = tempfile::tempdir().unwrap();
    let root = DataRoot::at(dir.path())
        .with_db(Some(&db.conninfo))
        .unwrap();
    Some((root, db, dir))
}

fn approve<'a>(reviewer: &'a str, asset_id: &'a str) -> DecisionRequest<'a> {
    DecisionRequest {
        reviewer,
        asset_id,
        approve: true,
        reason: None,
        note: None,
        expect_hash: None,
        expect_previous: None,
    }
}

#[test]
fn the_cluster_gives_each_test_an_empty_database() {
    let Some(a) = common::pg::database() else {
        return;
    };
    let b = common::pg::database().unwrap();
    assert_ne!(a.name, b.name);
    let started = Instant::now();
    let mut c = postgres::Client::connect(&a.conninfo, postgres::NoTls).unwrap();
    let tables: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
    // The URL form reaches the same database over the socket.
    let t = PgTarget::parse(&a.url).unwrap();
    t.connect().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    // No TCP: the server listens on its socket only.
    let listen: String = c.query_one("SHOW listen_addresses", &[]).unwrap().get(0);
    assert_eq!(listen, "");
}

#[test]
fn migrations_apply_once_record_checksums_and_refuse_an_edited_file() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let t = PgTarget::parse(&db.conninfo).unwrap();
    let mut c = t.connect().unwrap();
    let v1 = [
        Migration {
            name: "0001_a",
            sql: "CREATE TABLE a (x INTEGER)",
        },
        Migration {
            name: "0002_b",
            sql: "CREATE TABLE b (y INTEGER)",
        },
    ];
    assert_eq!(
        migrate_pg(&mut c, &t, &v1, true).unwrap(),
        vec!["0001_a", "0002_b"],
        "dry run lists"
    );
    assert_eq!(migrate_pg(&mut c, &t, &v1, false).unwrap().len(), 2);
    assert!(migrate_pg(&mut c, &t, &v1, false).unwrap().is_empty());
    // A failing file is rolled back whole, bookkeeping included.
    let bad = [
        v1[0],
        v1[1],
        Migration {
            name: "0003_bad",
            sql: "CREATE TABLE c (z INTEGER); SELECT no_such_function()",
        },
    ];
    let err = migrate_pg(&mut c, &t, &bad, false).unwrap_err().to_string();
    assert!(
        err.contains("0003_bad") && err.contains("rolled back"),
        "{err}"
    );
    let c_exists: bool = c
        .query_one("SELECT to_regclass('c') IS NOT NULL", &[])
        .unwrap()
        .get(0);
    assert!(!c_exists, "the failed file left its table behind");
    // An applied file edited afterwards is refused, naming it.
    let edited = [
        Migration {
            name: "0001_a",
            sql: "CREATE TABLE a (x BIGINT)",
        },
        v1[1],
    ];
    let err = migrate_pg(&mut c, &t, &edited, false)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("0001_a") && err.contains("must never be edited"),
        "{err}"
    );
    let st = status_pg(&mut c, &t, &edited).unwrap();
    assert!(matches!(
        st[0].state,
        rmos::db::migrate::MigrationState::Changed { .. }
    ));
}

#[test]
fn two_processes_migrating_at_once_apply_each_file_once() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let t = PgTarget::parse(&db.conninfo).unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (t, barrier) = (t.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                t.open().map(|_| ())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let mut c = t.connect().unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM applied_migrations", &[])
        .unwrap()
        .get(0);
    assert_eq!(n as usize, rmos::db::migrate::embedded_postgres().len());
}

#[test]
fn a_bad_address_or_a_stopped_server_is_a_clear_error() {
    let err = DataRoot::at(std::path::Path::new("/tmp"))
        .with_db(Some("postgres://[::1"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("database address"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let root = DataRoot::at(dir.path())
        .with_db(Some(&format!(
            "host={} port=1 user=nobody dbname=none",
            dir.path().display()
        )))
        .unwrap();
    let err = root.reviews().err().unwrap().to_string();
    assert!(
        err.contains("cannot connect to PostgreSQL database none")
            && err.contains("is the PostgreSQL server running"),
        "{err}"
    );
}

#[test]
fn review_store_behaves_the_same_on_both_backends() {
    for (name, root, _dir) in backends() {
        let mut store = root.reviews().unwrap();
        let a = store.add(explanation("alpha")).unwrap();
        let b = store.add(explanation("beta")).unwrap();
        assert_eq!(store.get(&a.asset_id).unwrap(), a, "{name}");
        assert_eq!(store.counts().unwrap(), (2, 0, 0), "{name}");
        assert_eq!(store.content(&a).unwrap(), b"alpha", "{name}");
        let dup = NewAsset {
            asset_id: Some(a.asset_id.clone()),
            ..explanation("again")
        };
        assert!(
            matches!(store.add(dup), Err(AdvisoryError::Exists(_))),
            "{name}"
        );
        let policy = ReviewerPolicy::default();
        let d1 = store.decide(&policy, &approve("ana", &a.asset_id)).unwrap();
        let reject = DecisionRequest {
            approve: false,
            reason: Some("duplicate"),
            ..approve("ben", &b.asset_id)
        };
        let d2 = store.decide(&policy, &reject).unwrap();
        assert_eq!((d1.seq, d2.seq), (1, 2), "{name}");
        assert_eq!(d2.prev_hash, d1.record_hash, "{name}");
        let no_reason = DecisionRequest {
            reason: None,
            ..reject
        };
        assert!(store.decide(&policy, &no_reason).is_err(), "{name}");
        assert_eq!(store.counts().unwrap(), (0, 1, 1), "{name}");
        assert_eq!(
            store.history(&a.asset_id).unwrap(),
            vec![d1.clone()],
            "{name}"
        );
        assert_eq!(store.chain_head().unwrap().unwrap().seq, 2, "{name}");
        assert_eq!(
            store.find_record(&d1.record_hash).unwrap(),
            Some(1),
            "{name}"
        );
        assert_eq!(store.verify_chain().unwrap(), Ok(2), "{name}");
        assert!(store.projection_mismatches().unwrap().is_empty(), "{name}");
        let approved = store
            .list(Some(rmos::store::advisory::ReviewState::Approved), 10)
            .unwrap();
        assert_eq!(approved.len(), 1, "{name}");
        assert_eq!(approved[0].reviewer_id.as_deref(), Some("ana"), "{name}");
        // Decided meanwhile: the console's decision on what it showed is refused.
        let stale = DecisionRequest {
            expect_previous: Some(None),
            ..approve("cid", &a.asset_id)
        };
        let err = store.decide(&policy, &stale).unwrap_err();
        assert!(
            matches!(err, AdvisoryError::DecidedMeanwhile { .. }),
            "{name}: {err}"
        );
        // A content hash the reviewer did not see is refused.
        let other_hash = DecisionRequest {
            expect_hash: Some("00"),
            ..approve("cid", &b.asset_id)
        };
        assert!(store.decide(&policy, &other_hash).is_err(), "{name}");
        // Attaching needs a run on this host.
        let err = store
            .attach(&root.run_store(), &a.asset_id, "run_missing")
            .unwrap_err();
        assert!(err.to_string().contains("run_missing"), "{name}: {err}");
    }
}

/// The same record hash on both backends: the chain a PostgreSQL store writes verifies
/// with the embedded store's rules, record for record.
#[test]
fn the_chain_on_postgres_hashes_as_on_sqlite() {
    let Some((root, db, _dir)) = pg_root() else {
        return;
    };
    let mut store = root.reviews().unwrap();
    let a = store.add(explanation("gamma")).unwrap();
    let policy = ReviewerPolicy::default();
    store.decide(&policy, &approve("ana", &a.asset_id)).unwrap();
    store.decide(&policy, &approve("ben", &a.asset_id)).unwrap();
    assert_eq!(store.verify_chain().unwrap(), Ok(2));
    // Edit a record behind rmos's back (the owner can drop the trigger): caught.
    let mut c = postgres::Client::connect(&db.conninfo, postgres::NoTls).unwrap();
    c.batch_execute(
        "ALTER TABLE review_decisions DISABLE TRIGGER review_decisions_append_only;
         UPDATE review_decisions SET reviewer = 'mallory' WHERE seq = 1;
         ALTER TABLE review_decisions ENABLE TRIGGER review_decisions_append_only;",
    )
    .unwrap();
    let broken = store.verify_chain().unwrap().unwrap_err();
    assert_eq!(broken.0, 1, "{broken:?}");
    assert!(broken.1.contains("edited"), "{broken:?}");
    // Records are append-only for everyone else.
    let err = c
        .execute("DELETE FROM review_decisions WHERE seq = 2", &[])
        .unwrap_err();
    let msg = rmos::db::pg::describe(&err);
    assert!(msg.contains("append-only"), "{msg}");
}

#[test]
fn a_cut_off_chain_end_is_caught_by_the_head_row() {
    let Some((root, db, _dir)) = pg_root() else {
        return;
    };
    let mut store = root.reviews().unwrap();
    let a = store.add(explanation("delta")).unwrap();
    let policy = ReviewerPolicy::default();
    store.decide(&policy, &approve("ana", &a.asset_id)).unwrap();
    store.decide(&policy, &approve("ben", &a.asset_id)).unwrap();
    let mut c = postgres::Client::connect(&db.conninfo, postgres::NoTls).unwrap();
    c.batch_execute(
        "ALTER TABLE review_decisions DISABLE TRIGGER review_decisions_append_only;
         DELETE FROM review_decisions WHERE seq = 2;",
    )
    .unwrap();
    let broken = store.verify_chain().unwrap().unwrap_err();
    assert!(broken.1.contains("records were deleted"), "{broken:?}");
}

#[test]
fn racing_reviewers_one_decision_wins_per_state() {
    let Some((root, _db, _dir)) = pg_root() else {
        return;
    };
    let store = root.reviews().unwrap();
    let assets: Vec<String> = (0..5)
        .map(|i| {
            store
                .add(explanation(&format!("race {i}")))
                .unwrap()
                .asset_id
        })
        .collect();
    drop(store);
    // Eight reviewers decide every asset at once, each on the pending state it was shown.
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|r| {
            let (root, barrier, assets) = (root.clone(), barrier.clone(), assets.clone());
            std::thread::spawn(move || {
                let mut store = root.reviews().unwrap();
                let reviewer = format!("reviewer{r}");
                barrier.wait();
                let mut won = Vec::new();
                for a in &assets {
                    let req = DecisionRequest {
                        expect_previous: Some(None),
                        ..approve(&reviewer, a)
                    };
                    match store.decide(&ReviewerPolicy::default(), &req) {
                        Ok(d) => won.push(d.asset_id),
                        Err(AdvisoryError::DecidedMeanwhile { by, .. }) => {
                            assert_ne!(by, reviewer)
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
                won
            })
        })
        .collect();
    let mut won: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    won.sort();
    let mut expected = assets.clone();
    expected.sort();
    assert_eq!(won, expected, "exactly one decision per asset");
    let store = root.reviews().unwrap();
    assert_eq!(store.verify_chain().unwrap(), Ok(5));
}

#[test]
fn reviewer_roles_come_from_the_table_once_it_has_rows() {
    let Some((root, _db, _dir)) = pg_root() else {
        return;
    };
    let reviews = rmos::store::advisory::PgReviews::open(root.db.as_ref().unwrap()).unwrap();
    let mut store = root.reviews().unwrap();
    let a = store.add(explanation("roles")).unwrap();
    // Empty table: config.json (none here) lets anyone decide.
    assert!(reviews.roles().unwrap().is_empty());
    assert!(reviews.set_role("ana", "reviewer").unwrap());
    assert!(!reviews.set_role("ana", "reviewer").unwrap(), "no change");
    reviews.set_role("vic", "viewer").unwrap();
    let policy = ReviewerPolicy::default();
    let err = store
        .decide(&policy, &approve("vic", &a.asset_id))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"viewer\"") && err.contains("rmos_reviewers"),
        "{err}"
    );
    let err = store
        .decide(&policy, &approve("zed", &a.asset_id))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not in the reviewers table"), "{err}");
    store.decide(&policy, &approve("ana", &a.asset_id)).unwrap();
    assert!(reviews.remove_role("ana").unwrap());
    assert!(store.decide(&policy, &approve("ana", &a.asset_id)).is_err());
}

#[test]
fn sessions_behave_the_same_on_both_backends() {
    for (name, root, _dir) in backends() {
        let sessions = root.sessions().unwrap();
        let s = sessions
            .create(NewSession {
                workflow_type: "rosette".into(),
                current_step: "design".into(),
                context: Some(serde_json::json!({"material": "maple"})),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(s.status, "active", "{name}");
        let u = sessions
            .update(
                &s.session_id,
                SessionUpdate {
                    current_step: Some("cut".into()),
                    add_run_ids: vec!["run_1".into(), "run_1".into()],
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(u.current_step, "cut", "{name}");
        assert_eq!(u.run_ids, vec!["run_1"], "{name}");
        assert_eq!(u.context, s.context, "{name}");
        let bad = SessionUpdate {
            status: Some("exploded".into()),
            ..Default::default()
        };
        assert!(sessions.update(&s.session_id, bad).is_err(), "{name}");
        assert_eq!(
            sessions.list(Some("active"), None, 10).unwrap().len(),
            1,
            "{name}"
        );
        assert!(
            sessions
                .list(Some("completed"), None, 10)
                .unwrap()
                .is_empty(),
            "{name}"
        );
        assert!(sessions.get("ws_missing").is_err(), "{name}");
    }
}

/// Poll the feed until something changes or `within` passes; the change and when.
fn wait_change(feed: &mut dyn ChangeFeed, within: Duration) -> (Changes, Duration) {
    let started = Instant::now();
    while started.elapsed() < within {
        let c = feed.next(Duration::from_millis(100));
        if c.any() {
            return (c, started.elapsed());
        }
    }
    (Changes::default(), started.elapsed())
}

#[test]
fn a_decision_on_one_host_wakes_a_console_on_another_within_a_second() {
    let Some(db) = common::pg::database() else {
        return;
    };
    // Two hosts: two data roots on one database.
    let (host_a, host_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let root_a = DataRoot::at(host_a.path())
        .with_db(Some(&db.conninfo))
        .unwrap();
    let root_b = DataRoot::at(host_b.path()).with_db(Some(&db.url)).unwrap();
    let mut store_a = root_a.reviews().unwrap();
    let asset = store_a.add(explanation("cross-host")).unwrap();
    let store_b = root_b.reviews().unwrap();
    let mut feed_b =
        root_b.change_feed(None, Duration::from_millis(50), Arc::new(Mutex::new(None)));
    assert_eq!(feed_b.next(Duration::from_millis(50)), Changes::default());
    store_a
        .decide(&ReviewerPolicy::default(), &approve("ana", &asset.asset_id))
        .unwrap();
    let (c, took) = wait_change(&mut *feed_b, Duration::from_secs(3));
    assert!(c.review && !c.runs, "{c:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // And host B sees it on its next read.
    assert!(store_b.get(&asset.asset_id).unwrap().approved_for_workflow);
}

#[test]
fn after_a_server_restart_the_stores_and_the_feed_reconnect_by_themselves() {
    // A cluster of its own: stopping the shared one would break the other tests.
    let Some(private) = common::pg::private_cluster() else {
        return;
    };
    let db = private.database();
    let dir = tempfile::tempdir().unwrap();
    let root = DataRoot::at(dir.path())
        .with_db(Some(&db.conninfo))
        .unwrap();
    let cluster = &private.0;
    let mut store = root.reviews().unwrap();
    let sessions = root.sessions().unwrap();
    let a = store.add(explanation("before")).unwrap();
    let mut feed = root.change_feed(None, Duration::from_millis(50), Arc::new(Mutex::new(None)));
    feed.next(Duration::from_millis(20));
    assert!(feed.trouble().is_none());

    cluster.stop();
    // While it is down: a clear message, nothing reported as done.
    let c = feed.next(Duration::from_millis(300));
    assert!(!c.any());
    let trouble = feed.trouble().expect("the feed says it lost the server");
    assert!(trouble.contains("live updates paused"), "{trouble}");
    let err = store
        .decide(&ReviewerPolicy::default(), &approve("ana", &a.asset_id))
        .unwrap_err()
        .to_string();
    assert!(err.contains("PostgreSQL database"), "{err}");
    cluster.start_again();

    // Back: reads work on a new connection, the decision is made once, the feed catches up.
    assert_eq!(store.get(&a.asset_id).unwrap().asset_id, a.asset_id);
    assert!(
        store.history(&a.asset_id).unwrap().is_empty(),
        "the failed decision was not recorded"
    );
    store
        .decide(&ReviewerPolicy::default(), &approve("ana", &a.asset_id))
        .unwrap();
    assert!(sessions.list(None, None, 5).is_ok());
    let (c, _) = wait_change(&mut *feed, Duration::from_secs(5));
    assert!(c.review, "{c:?}");
    assert!(feed.trouble().is_none(), "{:?}", feed.trouble());
    assert_eq!(store.verify_chain().unwrap(), Ok(1));
}

// --- the run index ------------------------------------------------------------------------

use rmos::domain::{RunArtifact, Timestamp};
use rmos::filter::Filter;
use rmos::store::index::{Bucket, Direction, PageRequest, ReconcileMode, RunQuery, StackBy};
use rmos::store::seam::RunCatalog;
use rmos::store::RunStore;

fn write_run(runs: &std::path::Path, id: &str, created: &str, risk: &str) {
    let bytes =
        std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json")).unwrap();
    let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
    a.run_id = id.into();
    a.created_at_utc = Timestamp::parse(created).unwrap();
    a.decision.risk_level = risk.into();
    RunStore::new(runs).put(&a).unwrap();
}

fn generated_runs(root: &std::path::Path, prefix: &str, n: usize) {
    for i in 0..n {
        let risk = ["GREEN", "YELLOW", "RED", "ERROR"][i % 4];
        let bytes =
            std::fs::read(common::fixtures().join("examples/red_blocked_art_studio_run.json"))
                .unwrap();
        let mut a = RunArtifact::from_json_slice(&bytes).unwrap();
        a.run_id = format!("run_{prefix}{i:02}");
        a.created_at_utc =
            Timestamp::parse(&format!("2025-11-{:02}T{:02}:00:00Z", 1 + i % 28, i % 24)).unwrap();
        a.decision.risk_level = risk.into();
        // Lineage: re-scored runs (parent), executions of a plan, and both at once.
        a.parent_run_id = (i % 3 == 1).then(|| format!("run_{prefix}{:02}", i % 6));
        a.lineage = (i % 4 == 2).then(|| rmos::domain::RunLineage {
            parent_plan_run_id: Some(format!("run_{prefix}{:02}", if i % 8 == 2 { 1 } else { 4 })),
        });
        RunStore::new(root.join("runs/rmos")).put(&a).unwrap();
    }
}

fn host_root(dir: &std::path::Path, db: &common::pg::TestDb, host: &str) -> DataRoot {
    let mut root = DataRoot::at(dir).with_db(Some(&db.conninfo)).unwrap();
    root.host = host.to_owned();
    root
}

#[test]
fn every_filter_answers_the_same_on_postgres_as_on_sqlite() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let dir = common::store_example_copy();
    generated_runs(dir.path(), "gen", 40);
    let sqlite_root = DataRoot::at(dir.path());
    let mut sqlite = sqlite_root.catalog().unwrap();
    sqlite.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    let mut pg = host_root(dir.path(), &db, "h1").catalog().unwrap();
    pg.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    let now = chrono::DateTime::parse_from_rfc3339("2025-12-24T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    // The filters of tests/index.rs (where SQLite is held to the in-memory matcher).
    let filters = [
        "",
        "risk:red",
        "risk:red,yellow",
        "-risk:green",
        "mode:ART_STUDIO",
        "tool:rosette",
        "status:blocked",
        "status:ok,error",
        "source:none",
        "-source:none",
        "event:toolpaths",
        "verify:placeholder",
        "-verify:ok",
        "score<50",
        "score!=95",
        "-score<50",
        "since:30d",
        "until:2025-11-15",
        "id:run_gen1",
        "id:gen1",
        "-id:5eed",
        "coolant",
        "\"Risk level RED\"",
        "-heat",
        "risk:red OR status:blocked",
        "(tool:rosette OR tool:ENDMILL_6MM) -verify:ok",
        "-(risk:red OR risk:yellow)",
        "((risk:green OR id:gen1) OR coolant) until:2025-11-15",
        "-(-risk:red OR score>=67.73)",
    ];
    for f in filters {
        let filter = Filter::parse(f).unwrap();
        for include_invalid in [false, true] {
            let mut q = RunQuery::new(filter.clone(), 10_000);
            q.now = now;
            q.include_invalid = include_invalid;
            let a = sqlite.query(&q).unwrap();
            let b = pg.query(&q).unwrap();
            assert_eq!(a, b, "filter {f:?} (invalid: {include_invalid})");
            assert_eq!(
                sqlite.count(&filter, include_invalid, now).unwrap(),
                pg.count(&filter, include_invalid, now).unwrap(),
                "count {f:?}"
            );
        }
        let t = |c: &dyn RunCatalog| {
            c.timeline(
                &filter,
                Bucket::Day,
                40,
                now.timestamp_micros(),
                StackBy::Risk,
                now,
            )
            .unwrap()
        };
        assert_eq!(t(&*sqlite), t(&*pg), "timeline {f:?}");
    }
    // Keyset pages of 7 walk the same rows in both directions, in every order of the
    // console's list (time, risk, score, tool; each both ways), with the same positions.
    for key in rmos::store::index::SortKey::ALL {
        for descending in [true, false] {
            let sort = rmos::store::index::Sort { key, descending };
            let mut bound = None;
            loop {
                let req = PageRequest {
                    filter: Filter::default(),
                    include_invalid: true,
                    direction: Direction::Older,
                    bound: bound.clone(),
                    limit: 7,
                    now,
                    sort,
                };
                let (a, more_a) = sqlite.page(&req).unwrap();
                let (b, more_b) = pg.page(&req).unwrap();
                assert_eq!((&a, more_a), (&b, more_b), "{sort:?}");
                if !more_a {
                    break;
                }
                let last = a.last().unwrap().key();
                let back = PageRequest {
                    direction: Direction::Newer,
                    bound: Some((last.clone(), true)),
                    ..req.clone()
                };
                assert_eq!(
                    sqlite.page(&back).unwrap(),
                    pg.page(&back).unwrap(),
                    "{sort:?}"
                );
                assert_eq!(
                    sqlite
                        .count_ahead(&Filter::default(), sort, &last, 1000)
                        .unwrap(),
                    pg.count_ahead(&Filter::default(), sort, &last, 1000)
                        .unwrap(),
                    "{sort:?}"
                );
                if sort.is_default() {
                    assert_eq!(
                        sqlite.count_newer(&Filter::default(), &last, 1000).unwrap(),
                        pg.count_newer(&Filter::default(), &last, 1000).unwrap()
                    );
                }
                bound = Some((last, false));
            }
        }
    }
    // A run's children (its parent_run_id or plan) and the `parent:` filter.
    for parent in ["run_gen00", "run_gen01", "run_gen04", "run_nobody"] {
        assert_eq!(
            sqlite.children(parent, 3).unwrap(),
            pg.children(parent, 3).unwrap(),
            "children of {parent}"
        );
        let filter = Filter::parse(&format!("parent:{parent}")).unwrap();
        let mut q = RunQuery::new(filter, 100);
        q.now = now;
        assert_eq!(
            sqlite.query(&q).unwrap(),
            pg.query(&q).unwrap(),
            "parent:{parent}"
        );
    }
    assert!(
        sqlite.children("run_gen01", 3).unwrap().1 > 0,
        "the fixture has lineage"
    );
    assert_eq!(
        sqlite.find("run_gen07").unwrap(),
        pg.find("run_gen07").unwrap()
    );
    assert_eq!(sqlite.event_types(10).unwrap(), pg.event_types(10).unwrap());
    assert_eq!(sqlite.newest_us().unwrap(), pg.newest_us().unwrap());
    assert_eq!(sqlite.invalid_count().unwrap(), pg.invalid_count().unwrap());
    assert_eq!(
        sqlite.invalid_files(5).unwrap(),
        pg.invalid_files(5).unwrap()
    );
}

#[test]
fn two_hosts_publish_into_one_index_and_restarts_are_idempotent() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generated_runs(dir_a.path(), "alpha", 12);
    generated_runs(dir_b.path(), "beta", 9);
    let (root_a, root_b) = (
        host_root(dir_a.path(), &db, "host-a"),
        host_root(dir_b.path(), &db, "host-b"),
    );
    let mut a = rmos::store::index::PgCatalog::open(
        root_a.open_index().unwrap(),
        root_a.db.as_ref().unwrap(),
        "host-a",
    )
    .unwrap();
    let mut b = root_b.catalog().unwrap();
    a.reconcile_and_publish();
    b.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    let all = Filter::default();
    let now = chrono::Utc::now();
    assert_eq!(b.count(&all, false, now).unwrap(), 21, "both hosts' runs");
    // Publishing again (an indexer restarted) writes nothing.
    let again = a.publish().unwrap();
    assert_eq!(
        (again.rows_written, again.rows_deleted),
        (0, 0),
        "{again:?}"
    );
    // A run removed on host A goes from the shared index; B's rows stay.
    let gone = rmos::store::RunStore::new(root_a.runs_dir.clone())
        .get("run_alpha03")
        .unwrap()
        .1;
    std::fs::remove_file(gone).unwrap();
    a.reconcile_and_publish();
    assert_eq!(b.count(&all, false, now).unwrap(), 20);
    // Where a run lives: here, or on the other host (named).
    assert_eq!(b.elsewhere("run_beta01").unwrap(), None);
    let place = b.elsewhere("run_alpha01").unwrap().unwrap();
    assert!(
        place.contains("host-a") && place.contains(&root_a.runs_dir.display().to_string()),
        "{place}"
    );
    // `logs show` on host B for a run of host A says where it is.
    let out = common::rmos_cmd(dir_b.path())
        .args(["--db", &db.url, "logs", "show", "run_alpha01"])
        .env("RMOS_HOST", "host-b")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("is on host host-a"), "{err}");
    // So does the console's details pane on host B, for a row it lists from host A.
    let row = b.find("run_alpha01").unwrap().unwrap();
    let details = rmos::tui::worker::load_details(&*b, &row.partition, &row.file_name);
    let said = details.error.unwrap_or_default();
    assert!(
        details.artifact.is_none()
            && said.contains("host-a")
            && said.contains("not on this machine"),
        "{said}"
    );
    // A second runs folder cannot take an existing host name.
    let dir_c = tempfile::tempdir().unwrap();
    let err = host_root(dir_c.path(), &db, "host-a")
        .catalog()
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("RMOS_HOST"), "{err}");
}

/// A small helper so the tests read as the indexer does: reconcile, then publish.
trait ReconcileAndPublish {
    fn reconcile_and_publish(&mut self);
}

impl ReconcileAndPublish for rmos::store::index::PgCatalog {
    fn reconcile_and_publish(&mut self) {
        RunCatalog::reconcile(self, ReconcileMode::Quick, &mut |_| {}).unwrap();
    }
}

#[test]
fn a_run_indexed_on_one_host_shows_on_another_within_a_second() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (root_a, root_b) = (
        host_root(dir_a.path(), &db, "host-a"),
        host_root(dir_b.path(), &db, "host-b"),
    );
    let mut a = root_a.catalog().unwrap();
    a.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    let b = root_b.catalog().unwrap();
    let own = Arc::new(Mutex::new(None));
    let mut feed_b = root_b.change_feed(None, Duration::from_millis(50), own);
    feed_b.next(Duration::from_millis(20));
    // Host A's own feed ignores A's own commit (its mark).
    let own_a = Arc::new(Mutex::new(None));
    let mut feed_a = root_a.change_feed(None, Duration::from_millis(50), own_a.clone());
    feed_a.next(Duration::from_millis(20));

    write_run(
        &root_a.runs_dir,
        "run_fresh",
        "2025-12-01T10:00:00Z",
        "GREEN",
    );
    a.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    *own_a.lock().unwrap() = a.change_mark();
    let (c, took) = wait_change(&mut *feed_b, Duration::from_secs(3));
    assert!(c.runs && !c.review, "{c:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(b.find("run_fresh").unwrap().is_some());
    let (c, _) = wait_change(&mut *feed_a, Duration::from_millis(500));
    assert!(!c.runs, "its own indexing is not news to host A: {c:?}");
}

/// Start `rmos index watch` for a data root as `host`; stderr goes to a file.
fn start_indexer(
    dir: &std::path::Path,
    db: &common::pg::TestDb,
    host: &str,
) -> (std::process::Child, std::path::PathBuf) {
    let log = dir.join(format!("indexer-{host}.log"));
    let child = common::rmos_cmd(dir)
        .args(["--db", &db.url, "index", "watch"])
        .env("RMOS_HOST", host)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (child, log)
}

fn log_lines(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line: {l:?} ({e})")))
        .collect()
}

fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !cond() {
        assert!(started.elapsed() < within, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
    started.elapsed()
}

fn sigterm(child: &mut std::process::Child) -> std::process::ExitStatus {
    // SAFETY: kill with a child's own pid.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let started = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the indexer did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn two_indexers_on_two_hosts_fill_one_index_and_stop_cleanly() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generated_runs(dir_a.path(), "alpha", 6);
    generated_runs(dir_b.path(), "beta", 4);
    let (mut ia, log_a) = start_indexer(dir_a.path(), &db, "host-a");
    let (mut ib, log_b) = start_indexer(dir_b.path(), &db, "host-b");
    // A console on a third machine (no runs of its own).
    let dir_c = tempfile::tempdir().unwrap();
    let viewer = host_root(dir_c.path(), &db, "laptop");
    let count = || {
        viewer
            .catalog()
            .ok()
            .and_then(|c| c.count(&Filter::default(), false, chrono::Utc::now()).ok())
            .unwrap_or(0)
    };
    wait_for("both hosts' runs", Duration::from_secs(15), || {
        count() == 10
    });
    // A new run on host B is in the shared index within about a second (watcher event).
    let mut feed = viewer.change_feed(None, Duration::from_millis(50), Arc::new(Mutex::new(None)));
    feed.next(Duration::from_millis(20));
    write_run(
        &dir_b.path().join("runs/rmos"),
        "run_live",
        "2025-12-02T08:00:00Z",
        "RED",
    );
    let (c, took) = wait_change(&mut *feed, Duration::from_secs(5));
    assert!(c.runs, "{c:?}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert_eq!(count(), 11);

    // SIGTERM: a clean exit, logged.
    assert!(sigterm(&mut ia).success());
    assert!(sigterm(&mut ib).success());
    let lines = log_lines(&log_b);
    let events: Vec<&str> = lines.iter().filter_map(|l| l["event"].as_str()).collect();
    assert_eq!(events.first(), Some(&"start"), "{events:?}");
    assert_eq!(events.last(), Some(&"stopped"), "{events:?}");
    assert!(lines
        .iter()
        .all(|l| l["host"] == "host-b" && l["ts"].is_string()));
    assert!(events.contains(&"indexed"), "{events:?}");

    // A restart changes nothing in the shared index (idempotent), and catches up on what
    // happened while it was down.
    let before: i64 = {
        let mut c = postgres::Client::connect(&db.conninfo, postgres::NoTls).unwrap();
        c.query_one("SELECT max(id) FROM run_index", &[])
            .unwrap()
            .get(0)
    };
    write_run(
        &dir_a.path().join("runs/rmos"),
        "run_while_down",
        "2025-12-03T08:00:00Z",
        "GREEN",
    );
    let (mut ia, log_a2) = start_indexer(dir_a.path(), &db, "host-a");
    wait_for(
        "the run written while the indexer was down",
        Duration::from_secs(15),
        || count() == 12,
    );
    let mut c = postgres::Client::connect(&db.conninfo, postgres::NoTls).unwrap();
    let new_rows: i64 = c
        .query_one("SELECT count(*) FROM run_index WHERE id > $1", &[&before])
        .unwrap()
        .get(0);
    assert_eq!(new_rows, 1, "only the new run was written");
    assert!(sigterm(&mut ia).success());
    assert_eq!(log_a2, log_a);
}

// --- moving a single-host setup over, and the command line on PostgreSQL ------------------

fn rmos_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn db_copy_moves_assets_the_chain_sessions_and_reviewers_and_audit_verifies_there() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::write(
        data.join("config.json"),
        r#"{"reviewers": {"ana": "reviewer", "vic": "viewer"}}"#,
    )
    .unwrap();
    let mut ids = Vec::new();
    for text in ["one", "two", "three"] {
        let out = rmos_ok(common::rmos_cmd(data).args([
            "--json",
            "advisory",
            "add",
            "--type",
            "explanation",
            "--text",
            text,
        ]));
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        ids.push(v["asset_id"].as_str().unwrap().to_owned());
    }
    rmos_ok(
        common::rmos_cmd(data)
            .args(["advisory", "approve", &ids[0]])
            .env("RMOS_REVIEWER", "ana"),
    );
    rmos_ok(
        common::rmos_cmd(data)
            .args(["advisory", "reject", &ids[1], "--reason", "duplicate"])
            .env("RMOS_REVIEWER", "ana"),
    );
    let sessions = DataRoot::at(data).sessions().unwrap();
    sessions
        .create(NewSession {
            workflow_type: "rosette".into(),
            current_step: "design".into(),
            ..Default::default()
        })
        .unwrap();
    let head_here = rmos_ok(common::rmos_cmd(data).args(["--json", "audit", "head"]));

    let out = rmos_ok(common::rmos_cmd(data).args([
        "--json",
        "db",
        "copy",
        "--from",
        &format!("sqlite:{}", data.display()),
        "--to",
        &db.url,
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["assets_copied"], 3, "{report}");
    assert_eq!(report["decisions_copied"], 2, "{report}");
    assert_eq!(report["sessions_copied"], 1, "{report}");
    assert_eq!(report["reviewers_copied"], 2, "{report}");
    assert_eq!(report["chain_records"], 2, "{report}");

    // The same chain head on both sides; audit verify passes against PostgreSQL.
    let other = tempfile::tempdir().unwrap();
    let on_pg = |args: &[&str]| {
        let mut c = common::rmos_cmd(other.path());
        c.args(["--db", &db.url]).args(args);
        c
    };
    assert_eq!(rmos_ok(&mut on_pg(&["--json", "audit", "head"])), head_here);
    rmos_ok(&mut on_pg(&["audit", "verify"]));
    let listed = rmos_ok(&mut on_pg(&["--json", "advisory", "list"]));
    assert!(listed.contains(&ids[2]), "{listed}");
    let shown = rmos_ok(&mut on_pg(&["sessions", "list"]));
    assert!(shown.contains("rosette"), "{shown}");

    // Copying again changes nothing.
    let out = rmos_ok(common::rmos_cmd(data).args([
        "--json",
        "--db",
        &db.url,
        "db",
        "copy",
        "--from",
        &format!("sqlite:{}/rmos.db", data.display()),
    ]));
    let again: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            again["assets_copied"].as_u64(),
            again["decisions_copied"].as_u64(),
            again["sessions_copied"].as_u64()
        ),
        (Some(0), Some(0), Some(0)),
        "{again}"
    );

    // Roles now come from the table: vic (viewer) may not decide, a new reviewer may.
    let out = on_pg(&["advisory", "approve", &ids[2]])
        .env("RMOS_REVIEWER", "vic")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rmos_reviewers"));
    rmos_ok(&mut on_pg(&["reviewers", "add", "bea"]));
    let list = rmos_ok(&mut on_pg(&["reviewers", "list"]));
    assert!(
        list.contains("bea  reviewer") && list.contains("vic  viewer"),
        "{list}"
    );
    rmos_ok(on_pg(&["advisory", "approve", &ids[2]]).env("RMOS_REVIEWER", "bea"));
    rmos_ok(&mut on_pg(&["reviewers", "remove", "bea"]));
    rmos_ok(&mut on_pg(&["audit", "verify"]));
    // `db status` on PostgreSQL lists its own migrations as applied.
    let st = rmos_ok(&mut on_pg(&["db", "status"]));
    assert!(
        st.contains("0001_reviews_sessions") && st.contains("applied"),
        "{st}"
    );
    // Without a key and without --db, `reviewers add` says what it needs.
    let out = common::rmos_cmd(data)
        .args(["reviewers", "add", "cy"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The grants README's "Team setup" gives, executed as written: a viewer cannot write
/// decisions at the database level, a reviewer can decide but not edit the chain or the
/// reviewers table, an indexer writes only the run index.
#[test]
fn the_readme_roles_give_least_privilege() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("-- rmos roles")
        .expect("README has the roles SQL");
    let sql = &readme[start..start + readme[start..].find("```").unwrap()];
    // The owner migrates, then grants.
    let owner_dir = tempfile::tempdir().unwrap();
    let owner = DataRoot::at(owner_dir.path())
        .with_db(Some(&db.conninfo))
        .unwrap();
    let store = owner.reviews().unwrap();
    let asset = store.add(explanation("grants")).unwrap();
    drop(owner.catalog().unwrap());
    let mut admin = postgres::Client::connect(&db.conninfo, postgres::NoTls).unwrap();
    // Group roles are cluster-wide: other tests of this binary may have made them.
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rmos_viewer') THEN {} END IF; END $$;",
            sql.lines()
                .filter(|l| l.starts_with("CREATE ROLE"))
                .collect::<Vec<_>>()
                .join(" ")
        ))
        .unwrap();
    admin
        .batch_execute(
            &sql.lines()
                .filter(|l| !l.starts_with("CREATE ROLE"))
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .unwrap();
    let n = db.name.clone();
    admin
        .batch_execute(&format!(
            "CREATE ROLE vera_{n} LOGIN IN ROLE rmos_viewer; CREATE ROLE rex_{n} LOGIN IN ROLE rmos_reviewer;
             CREATE ROLE ian_{n} LOGIN IN ROLE rmos_indexer;"
        ))
        .unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let as_role = |who: &str, i: usize| {
        let conninfo = db
            .conninfo
            .replace("user=postgres", &format!("user={who}_{n}"));
        (
            conninfo.clone(),
            DataRoot::at(dirs[i].path())
                .with_db(Some(&conninfo))
                .unwrap(),
        )
    };
    let denied = |conninfo: &str, sql: &str| {
        let mut c = postgres::Client::connect(conninfo, postgres::NoTls).unwrap();
        let e = c.batch_execute(sql).unwrap_err();
        assert_eq!(
            e.code(),
            Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE),
            "{sql}: {}",
            rmos::db::pg::describe(&e)
        );
    };

    // Viewer: browses, cannot decide — through rmos or around it.
    let (vera, vera_root) = as_role("vera", 0);
    let mut v = vera_root.reviews().unwrap();
    assert!(v.is_read_only());
    assert_eq!(v.counts().unwrap(), (1, 0, 0));
    let err = v
        .decide(
            &ReviewerPolicy::default(),
            &approve("vera", &asset.asset_id),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("reviewer grants"), "{err}");
    denied(
        &vera,
        "INSERT INTO review_decisions (seq, asset_id, content_hash, decision, reviewer, decided_at, prev_hash, record_hash)
         VALUES (99, 'x', 'x', 'approved', 'vera', 'now', 'x', 'y')",
    );
    denied(
        &vera,
        "UPDATE advisory_assets SET approved_for_workflow = 1",
    );
    let mut vc = vera_root.catalog().unwrap();
    vc.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    assert_eq!(
        vc.count(&Filter::default(), true, chrono::Utc::now())
            .unwrap(),
        0
    );

    // Reviewer: decides; cannot rewrite history, grant roles or touch the run index.
    let (rex, rex_root) = as_role("rex", 1);
    let mut r = rex_root.reviews().unwrap();
    assert!(!r.is_read_only());
    r.decide(&ReviewerPolicy::default(), &approve("rex", &asset.asset_id))
        .unwrap();
    assert_eq!(r.verify_chain().unwrap(), Ok(1));
    denied(&rex, "DELETE FROM review_decisions");
    denied(
        &rex,
        "INSERT INTO rmos_reviewers VALUES ('rex', 'reviewer', 'now')",
    );
    denied(&rex, "DELETE FROM run_index");
    denied(&rex, "UPDATE advisory_assets SET content_hash = 'x'");
    rex_root
        .sessions()
        .unwrap()
        .create(NewSession {
            workflow_type: "rosette".into(),
            current_step: "a".into(),
            ..Default::default()
        })
        .unwrap();

    // Indexer: publishes its host's runs, decides nothing.
    let (ian, ian_root) = as_role("ian", 2);
    generated_runs(&ian_root.data_dir, "ian", 3);
    let mut ic = ian_root.catalog().unwrap();
    ic.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    assert_eq!(
        ic.count(&Filter::default(), false, chrono::Utc::now())
            .unwrap(),
        3
    );
    assert!(ian_root.reviews().unwrap().is_read_only());
    denied(&ian, "DELETE FROM advisory_assets");
}

#[test]
fn an_indexer_rides_out_a_server_restart_and_catches_up() {
    let Some(private) = common::pg::private_cluster() else {
        return;
    };
    let db = private.database();
    let dir = tempfile::tempdir().unwrap();
    generated_runs(dir.path(), "keep", 3);
    let (mut indexer, log) = start_indexer(dir.path(), &db, "host-r");
    let viewer_dir = tempfile::tempdir().unwrap();
    let viewer = host_root(viewer_dir.path(), &db, "viewer");
    let count = || {
        viewer
            .catalog()
            .ok()
            .and_then(|c| c.count(&Filter::default(), false, chrono::Utc::now()).ok())
    };
    wait_for("the first runs", Duration::from_secs(15), || {
        count() == Some(3)
    });
    private.0.stop();
    write_run(
        &dir.path().join("runs/rmos"),
        "run_during_outage",
        "2025-12-04T08:00:00Z",
        "RED",
    );
    // The indexer says what is wrong, and keeps going.
    wait_for("a logged failure", Duration::from_secs(10), || {
        log_lines(&log).iter().any(|l| {
            l["level"] == "error"
                && l["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("PostgreSQL database"))
        })
    });
    assert!(indexer.try_wait().unwrap().is_none(), "the indexer exited");
    private.0.start_again();
    wait_for(
        "the run written during the outage",
        Duration::from_secs(20),
        || count() == Some(4),
    );
    assert!(sigterm(&mut indexer).success());
}

/// Passwords come from PGPASSWORD or ~/.pgpass, as with libpq; never from the command line
/// in messages.
#[test]
fn the_password_comes_from_pgpassword_or_pgpass() {
    let Some(private) = common::pg::private_cluster_with(Some("s3cret pw")) else {
        return;
    };
    let db = private.database();
    let home = tempfile::tempdir().unwrap();
    let status = |envs: &[(&str, &str)]| {
        let mut c = common::rmos_cmd(home.path());
        c.args(["--db", &db.conninfo, "db", "status"])
            .env("HOME", home.path())
            .env_remove("PGPASSWORD")
            .env_remove("PGPASSFILE");
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // No password anywhere: refused by the server, with advice.
    let out = status(&[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{err}\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("password"), "{err}");
    // PGPASSWORD.
    let out = status(&[("PGPASSWORD", "s3cret pw")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // ~/.pgpass, matched on socket folder (or localhost), port, database and user; a file
    // others can read is ignored, as libpq does.
    let c = common::pg::cluster_of(&private);
    let line = format!(
        "{}:{}:{}:postgres:s3cret pw\n",
        c.socket_dir.display().to_string().replace(':', "\\\\:"),
        c.port,
        db.name
    );
    let pgpass = home.path().join(".pgpass");
    std::fs::write(&pgpass, format!("# comment\nother:1:*:*:wrong\n{line}")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        !status(&[]).status.success(),
        "a world-readable .pgpass is ignored"
    );
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = status(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&pgpass, "localhost:*:*:postgres:s3cret pw\n").unwrap();
    assert!(
        status(&[]).status.success(),
        "localhost matches a socket connection"
    );
    // A password in the address is never echoed back.
    let out = common::rmos_cmd(home.path())
        .args(["--db", "postgres://postgres:hunter2@[::1", "db", "status"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("hunter2") && err.contains("***"), "{err}");
}

/// The console itself on PostgreSQL (its event loop, headless): it starts (the driver's
/// runtime is never started inside the console's), lists both hosts' runs, and a
/// decision made on another host shows in its review queue within a second or two.
#[test]
fn a_console_on_postgres_shows_both_hosts_and_another_hosts_decision() {
    use crossterm::event::KeyCode;
    let Some(db) = common::pg::database() else {
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generated_runs(dir_a.path(), "alpha", 5);
    generated_runs(dir_b.path(), "beta", 4);
    let root_a = host_root(dir_a.path(), &db, "host-a");
    let root_b = host_root(dir_b.path(), &db, "host-b");
    // Host B's indexer has published its runs; host A's console publishes its own.
    let mut b = root_b.catalog().unwrap();
    b.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    let mut store_b = root_b.reviews().unwrap();
    let asset = store_b.add(explanation("from host B")).unwrap();
    let console = common::console::Console::start_root(
        root_a.clone(),
        rmos::tui::worker::ReconcileTiming {
            quick: Duration::from_millis(200),
            ..Default::default()
        },
    );
    let long = Duration::from_secs(15);
    console.wait("both hosts' runs", long, |s| s.count == Some(9));
    console.key(KeyCode::Char('2'));
    console.wait("the pending asset", long, |s| {
        s.queue_counts == Some((1, 0, 0))
    });
    store_b
        .decide(&ReviewerPolicy::default(), &approve("ana", &asset.asset_id))
        .unwrap();
    let took = console.wait("host B's decision", long, |s| {
        s.queue_counts == Some((0, 1, 0))
    });
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

/// `db copy`'s decisions: appended only where they continue the chain and hash to what
/// they say (checked before the commit), and a shorter copy never moves the head back.
#[test]
fn copied_decisions_must_continue_the_chain_and_never_move_its_head_back() {
    let Some(db) = common::pg::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = DataRoot::at(dir.path());
    let mut local = sqlite.reviews().unwrap();
    for text in ["one", "two"] {
        let a = local.add(explanation(text)).unwrap();
        local
            .decide(&ReviewerPolicy::default(), &approve("ana", &a.asset_id))
            .unwrap();
    }
    let records = sqlite.open_advisory().unwrap().all_decisions().unwrap();
    assert_eq!(records.len(), 2);
    let pg_root = DataRoot::at(tempfile::tempdir().unwrap().path())
        .with_db(Some(&db.conninfo))
        .unwrap();
    let pg = rmos::store::advisory::PgReviews::open(pg_root.db.as_ref().unwrap()).unwrap();
    assert_eq!(pg.copy_decisions(&records).unwrap(), 2);
    // A shorter copy appends nothing and leaves the head where it was.
    assert_eq!(pg.copy_decisions(&records[..1]).unwrap(), 0);
    assert_eq!(pg_root.reviews().unwrap().verify_chain().unwrap(), Ok(2));
    // A record edited on the way is refused, and nothing of the copy is kept.
    let Some(fresh) = common::pg::database() else {
        return;
    };
    let fresh_root = DataRoot::at(tempfile::tempdir().unwrap().path())
        .with_db(Some(&fresh.conninfo))
        .unwrap();
    let fresh_pg = rmos::store::advisory::PgReviews::open(fresh_root.db.as_ref().unwrap()).unwrap();
    let mut edited = records.clone();
    edited[1].reviewer = "mallory".into();
    let err = fresh_pg.copy_decisions(&edited).unwrap_err().to_string();
    assert!(err.contains("does not hash"), "{err}");
    assert_eq!(fresh_root.reviews().unwrap().chain_head().unwrap(), None);
}
