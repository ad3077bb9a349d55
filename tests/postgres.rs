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
