//! PostgreSQL benchmark (not a test): the shared run index and the review store on a
//! PostgreSQL server, next to the embedded SQLite database on the same data.
//!
//! ```sh
//! # A data root whose rmos.db holds a built index (e.g. made by the index benchmark):
//! cargo bench --bench index -- --runs 100000 --dir /tmp/rmos-bench-100k
//! # A server to measure against (a throwaway one: initdb + pg_ctl, socket only):
//! cargo bench --bench postgres -- --dir /tmp/rmos-bench-100k --db "host=/tmp/pgsock dbname=bench user=postgres" \
//!     [--multiply 10] [--reps 41] [--decisions 2000]
//! ```
//!
//! The data root's index is copied first (the original is not touched); `--multiply K`
//! replicates its rows K times in the copy (run ids and partitions renamed, times shifted
//! by whole years so the distributions stay the same) to reach sizes that take long to
//! generate as files. Then:
//! 1. indexer throughput: the copy published into the shared table (rows/s), and a
//!    no-change publish;
//! 2. query latency, p50/p95 of `--reps` repetitions, SQLite vs PostgreSQL, same filters
//!    and page size (50) as the index benchmark;
//! 3. decisions per second with 8 reviewers deciding at once, each on assets of its own,
//!    and all 8 racing for the same assets (one decision per asset wins).

mod support;

use rmos::db::pg::PgTarget;
use rmos::filter::Filter;
use rmos::store::advisory::{
    AdvisoryError, AssetType, DecisionRequest, NewAsset, PgReviews, ReviewerPolicy,
};
use rmos::store::index::{Cursor, PgCatalog, RunIndex, RunQuery};
use rmos::store::seam::{ReviewStore, RunCatalog};
use rmos::store::RunStore;
use std::path::PathBuf;
use std::sync::Barrier;
use std::time::{Duration, Instant};
use support::arg;

const FILTERS: &[(&str, &str)] = &[
    ("unselective (no filter)", ""),
    ("unselective, page 100", "@page100"),
    ("status:ok", "status:ok"),
    ("risk:red,yellow", "risk:red,yellow"),
    ("selective tool (0.1%)", "tool:rare_tool_x"),
    ("selective tool+risk", "tool:rare_tool_x risk:red"),
    ("two common fields", "tool:vbit60 risk:unknown"),
    (
        "mode:saw -risk:green since:30d",
        "mode:saw -risk:green since:30d",
    ),
    ("text search 'stepdown'", "stepdown"),
    ("score<5 status:blocked", "score<5 status:blocked"),
    (
        "OR: risk:red OR status:blocked",
        "risk:red OR status:blocked",
    ),
    (
        "group: (mode:saw OR mode:router) -risk:green",
        "(mode:saw OR mode:router) -risk:green",
    ),
    ("negated group", "-(risk:green OR risk:yellow)"),
];

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e3
}

fn time_query(
    c: &dyn RunCatalog,
    filter: &str,
    cursor: Option<Cursor>,
    reps: usize,
) -> (f64, f64, usize) {
    let f = Filter::parse(filter).expect("filter parses");
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..reps {
        let mut q = RunQuery::new(f.clone(), 50);
        q.cursor = cursor.clone();
        let t = Instant::now();
        rows = c.query(&q).unwrap().runs.len();
        times.push(t.elapsed());
    }
    (pct(times.clone(), 0.5), pct(times, 0.95), rows)
}

fn count_ms(c: &dyn RunCatalog, filter: &str) -> (f64, u64) {
    let f = Filter::parse(filter).unwrap();
    let t = Instant::now();
    let n = c.count(&f, false, chrono::Utc::now()).unwrap();
    (t.elapsed().as_secs_f64() * 1e3, n)
}

/// Replicate the index rows K times (renamed, shifted by whole 2-year spans).
fn multiply(db: &std::path::Path, k: u64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let cols = "size, mtime_ns, valid, error, created_at, mode, tool_id, status, risk_level, score, source, event_type, \
        workflow_session_id, warnings_json, block_reason, verify, mode_key, tool_key, risk_key, source_key, search_text, ino";
    conn.execute_batch("BEGIN").unwrap();
    for i in 1..k {
        let shift_us: i64 = i as i64 * 2 * 365 * 86_400_000_000;
        conn.execute(
            &format!(
                "INSERT INTO run_index (partition, file_name, run_id, created_us, {cols})
                 SELECT 'x{i}-' || partition, 'x{i}_' || file_name, run_id || '_x{i}', created_us - {shift_us}, {cols}
                 FROM run_index WHERE partition NOT LIKE 'x%'"
            ),
            [],
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT; ANALYZE").unwrap();
}

fn main() {
    let dir = PathBuf::from(arg("--dir").expect("--dir DATA_ROOT (with a built rmos.db)"));
    let target = PgTarget::parse(&arg("--db").expect("--db URL")).unwrap();
    let k: u64 = arg("--multiply").map(|v| v.parse().unwrap()).unwrap_or(1);
    let reps: usize = arg("--reps").map(|v| v.parse().unwrap()).unwrap_or(41);
    let n_decisions: usize = arg("--decisions")
        .map(|v| v.parse().unwrap())
        .unwrap_or(2000);

    // The index, copied (and multiplied) so the original stays as it was.
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("rmos.db");
    std::fs::copy(dir.join("rmos.db"), &db).expect("the data root has a built rmos.db");
    let _ = std::fs::copy(dir.join("rmos.db-wal"), work.path().join("rmos.db-wal"));
    if k > 1 {
        let t = Instant::now();
        multiply(&db, k);
        println!("rows multiplied x{k} in {:.1}s", t.elapsed().as_secs_f64());
    }
    let store = RunStore::new(dir.join("runs").join("rmos"));
    let sqlite = RunIndex::open_at(&db, store.clone()).unwrap();
    let rows = sqlite
        .count(&Filter::default(), true, chrono::Utc::now())
        .unwrap();
    println!("index rows                {rows}");

    // 1. Indexer throughput.
    let mut pg = PgCatalog::open(
        RunIndex::open_at(&db, store).unwrap(),
        &target,
        "bench-host",
    )
    .unwrap();
    let t = Instant::now();
    let s = pg.publish().unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "publish (first)           {secs:.1}s  ({:.0} rows/s, {} partitions)",
        s.rows_written as f64 / secs,
        s.partitions_changed
    );
    let t = Instant::now();
    let s = pg.publish().unwrap();
    println!(
        "publish (no change)       {:.3}s  ({} rows written)",
        t.elapsed().as_secs_f64(),
        s.rows_written
    );
    {
        let mut c = target.connect().unwrap();
        c.batch_execute("VACUUM ANALYZE run_index").unwrap();
    }

    // 2. Query latency.
    let mid = sqlite
        .query(&RunQuery::new(Filter::default(), 5000))
        .unwrap()
        .runs
        .last()
        .map(|r| Cursor::parse(&r.cursor()).unwrap());
    println!(
        "{:<46} {:>18} {:>18}",
        "query (page of 50)", "SQLite p50/p95 ms", "PostgreSQL p50/p95"
    );
    for (label, filter) in FILTERS {
        let (f, cursor) = match *filter {
            "@page100" => ("", mid.clone()),
            f => (f, None),
        };
        let (a50, a95, ra) = time_query(&sqlite, f, cursor.clone(), reps);
        let (b50, b95, rb) = time_query(&pg, f, cursor, reps);
        assert_eq!(ra, rb, "{label}: both databases return the same page");
        println!("{label:<46} {a50:>8.2} / {a95:>7.2} {b50:>8.2} / {b95:>7.2}   ({ra} rows)");
    }
    for f in ["", "risk:red", "tool:rare_tool_x"] {
        let (a, n) = count_ms(&sqlite, f);
        let (b, m) = count_ms(&pg, f);
        assert_eq!(n, m);
        println!(
            "count {:<40} {a:>8.1} ms        {b:>8.1} ms   ({n})",
            format!("{f:?}")
        );
    }

    // 3. Decisions per second, 8 reviewers, on both databases.
    let sqlite_root = tempfile::tempdir().unwrap();
    let sqlite_data = rmos::config::DataRoot::at(sqlite_root.path());
    decisions("SQLite", n_decisions, &|| sqlite_data.reviews().unwrap());
    decisions("PostgreSQL", n_decisions, &|| {
        Box::new(PgReviews::open(&target).unwrap()) as Box<dyn ReviewStore>
    });
}

fn decisions(label: &str, n: usize, open: &(dyn Fn() -> Box<dyn ReviewStore> + Sync)) {
    let reviews = open();
    let ids: Vec<String> = (0..n)
        .map(|i| {
            reviews
                .add(NewAsset {
                    asset_type: Some(AssetType::Explanation),
                    content: format!("bench asset {i} {}", uuid::Uuid::new_v4()).into_bytes(),
                    mime: "text/plain".into(),
                    extension: "txt".into(),
                    ..Default::default()
                })
                .unwrap()
                .asset_id
        })
        .collect();
    for racing in [false, true] {
        let half = ids.len() / 2;
        let barrier = Barrier::new(8);
        let t = Instant::now();
        let (won, refused) = std::thread::scope(|sc| {
            let handles: Vec<_> = (0..8)
                .map(|r| {
                    let (ids, barrier) = (&ids, &barrier);
                    sc.spawn(move || {
                        let mut store = open();
                        let reviewer = format!("reviewer{r}");
                        barrier.wait();
                        let (mut won, mut refused) = (0u64, 0u64);
                        let mine: Vec<&String> = if racing {
                            ids[half..].iter().collect()
                        } else {
                            ids[..half].iter().skip(r).step_by(8).collect()
                        };
                        for a in mine {
                            let req = DecisionRequest {
                                reviewer: &reviewer,
                                asset_id: a,
                                approve: true,
                                reason: None,
                                note: None,
                                expect_hash: None,
                                expect_previous: Some(None),
                            };
                            match store.decide(&ReviewerPolicy::default(), &req) {
                                Ok(_) => won += 1,
                                Err(AdvisoryError::DecidedMeanwhile { .. }) => refused += 1,
                                Err(e) => panic!("{e}"),
                            }
                        }
                        (won, refused)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        });
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{label:<10} decisions, 8 reviewers, {:<22} {won} recorded, {refused} refused in {secs:.2}s  ({:.0} decisions/s, {:.0} attempts/s)",
            if racing { "racing for the same" } else { "each on its own assets" },
            won as f64 / secs,
            (won + refused) as f64 / secs
        );
    }
    assert_eq!(reviews.verify_chain().unwrap(), Ok(ids.len() as u64));
    println!("{label:<10} chain verifies: {} records", ids.len());
}
