//! Run-index benchmark (not a test): generates N realistic artifacts, then measures a full
//! index build (warm cache), no-change reconciles, `logs recent` query latency and peak RSS.
//!
//! ```sh
//! cargo bench --bench index -- --runs 100000 --dir /tmp/rmos-bench-100k
//! cargo bench --bench index -- --runs 1000000 --dir /tmp/rmos-bench-1m
//! # The "fat" profile: toolpath arrays of 5–400 points and inline G-code, 2–200 KB.
//! cargo bench --bench index -- --profile fat --runs 20000 --dir /tmp/rmos-bench-fat-20k
//! # Both profiles in one run (the fat store in `<dir>-fat`, `--fat-runs` of them).
//! cargo bench --bench index -- --profile both --runs 100000 --fat-runs 20000 --dir /tmp/rmos-bench-100k
//! ```
//! The generated tree is kept in `--dir` and reused by later runs with the same `--runs`
//! and profile.

mod support;

use rmos::config::DataRoot;
use rmos::domain::{Hashes, RunArtifact, RunDecision, RunStatus, Timestamp};
use rmos::filter::Filter;
use rmos::hashing::sha256_json;
use rmos::store::index::{Cursor, ReconcileMode, RunIndex, RunQuery};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::arg;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const MODES: [&str; 7] = [
    "art_studio",
    "saw",
    "router",
    "cam",
    "rosette",
    "adaptive",
    "helical",
];
const TOOLS: [&str; 9] = [
    "rosette",
    "default-vbit",
    "vbit60",
    "endmill_6mm",
    "endmill_3mm",
    "saw:blade_10in",
    "ballnose_2mm",
    "helical_gcode",
    "rare_tool_x",
];
const SOURCES: [&str; 5] = [
    "feasibility_batch",
    "feasibility_single",
    "snapshot",
    "manual_check",
    "api",
];
const WARNINGS: [&str; 6] = [
    "Chipload: Chipload too low (0.033 mm); may cause burning",
    "Heat: Moderate heat generation; consider coolant",
    "Rim Speed: High rim speed (6672.7 m/min); reduce RPM to prevent burning",
    "Geometry: High complexity; extended machining time expected",
    "Channel: Channel depth (3.2mm) may need stepdown passes",
    "Deflection: tool stickout near limit",
];

/// Which artifacts the generator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Profile {
    /// 2–40 KB, most small (feasibility checks), a tail with inline G-code; avg ≈ 5 KB.
    Small,
    /// 2–200 KB: feasibility details carry a toolpath of 5–400 points, most runs carry
    /// inline G-code; avg ≈ 32 KB.
    Fat,
}

impl Profile {
    fn name(self) -> &'static str {
        match self {
            Profile::Small => "small",
            Profile::Fat => "fat",
        }
    }
}

/// Largest artifact the fat profile writes (the reference keeps inline G-code under
/// ~200 KB by convention).
const FAT_MAX_BYTES: usize = 200 * 1024;

/// A toolpath of `n` moves as a CAM planner writes it (floats with a few decimals, some
/// with exponents, integer feeds): `{"code","x","y","z","f"}` objects.
fn toolpath(rng: &mut Rng, n: u64) -> Value {
    let mut moves = Vec::with_capacity(n as usize);
    let (mut x, mut y) = (0.0f64, 0.0f64);
    for k in 0..n {
        x += (rng.below(20_001) as f64 - 10_000.0) / 997.0;
        y += (rng.below(20_001) as f64 - 10_000.0) / 1009.0;
        let z = if k % 7 == 0 {
            5.0
        } else {
            -(rng.below(3_000) as f64) / 1000.0
        };
        let mut m = serde_json::Map::new();
        m.insert("code".into(), json!(if z > 0.0 { "G0" } else { "G1" }));
        m.insert("x".into(), json!(x));
        m.insert("y".into(), json!(y));
        m.insert("z".into(), json!(z));
        if z <= 0.0 {
            m.insert("f".into(), json!(600 + rng.below(1_400)));
        }
        if k % 50 == 0 {
            // A tolerance in exponent form, as planners print small values.
            m.insert("tol".into(), json!(1e-5 * (1 + rng.below(9)) as f64));
        }
        moves.push(Value::Object(m));
    }
    Value::Array(moves)
}

fn gcode(target: usize) -> String {
    let mut g = String::with_capacity(target + 32);
    let mut n = 0u64;
    while g.len() < target {
        n += 1;
        g.push_str(&format!(
            "G1 X{}.{:03} Y{}.{:03} F1200\n",
            n % 300,
            n * 7 % 1000,
            n % 200,
            n * 13 % 1000
        ));
    }
    g
}

/// One artifact of `profile`.
fn artifact(rng: &mut Rng, i: u64, base: i64, profile: Profile) -> RunArtifact {
    let tool = if rng.below(1000) == 0 {
        "rare_tool_x"
    } else {
        rng.pick(&TOOLS[..8])
    };
    let risk = match rng.below(100) {
        0..=59 => "GREEN",
        60..=84 => "YELLOW",
        85..=96 => "RED",
        97..=98 => "ERROR",
        _ => "UNKNOWN",
    };
    let score = (rng.below(10_000) as f64) / 100.0;
    let warnings: Vec<String> = (0..rng.below(4))
        .map(|_| rng.pick(&WARNINGS).to_owned())
        .collect();
    let mut feasibility = json!({
        "overall_score": score, "risk_bucket": risk, "material_efficiency": (rng.below(10_000) as f64) / 100.0,
        "estimated_cut_time_min": (rng.below(6000) as f64) / 100.0, "warnings": warnings,
        "details": {"chipload_mm": 0.0333, "heat_index": 4.5, "rim_speed_m_min": 5654.87},
        "score": score, "risk_level": risk,
    });
    if profile == Profile::Fat {
        // 5–400 points, skewed towards short paths (median ≈ 75).
        let spread = rng.below(396) + 1;
        let points = 5 + rng.below(spread);
        let details = feasibility["details"].as_object_mut().unwrap();
        details.insert("toolpath".into(), toolpath(rng, points));
        details.insert("toolpath_units".into(), json!("mm"));
        details.insert("passes".into(), json!(1 + rng.below(6)));
        details.insert(
            "note".into(),
            json!("Rosette ring — ébène/érable inlay, 0.5 mm stepdown"),
        );
    }
    let status = match risk {
        "RED" => RunStatus::Blocked,
        "ERROR" => RunStatus::Error,
        _ => RunStatus::Ok,
    };
    let mut decision = RunDecision::new(risk).unwrap();
    decision.score = Some(score);
    decision.warnings = warnings;
    if status == RunStatus::Blocked {
        decision.block_reason = Some("Risk level RED - operation blocked".into());
    }
    let feas = feasibility.as_object().unwrap().clone();
    let hashes = Hashes::with_feasibility(sha256_json(&feasibility));
    let mut a = RunArtifact::new(
        format!(
            "run_{:032x}",
            (i as u128) * 0x9e37_79b9_7f4a_7c15 + rng.below(1 << 30) as u128
        ),
        rng.pick(&MODES).to_owned(),
        tool.to_owned(),
        status,
        decision,
        hashes,
    );
    // Spread over ~2 years, newest at `base`.
    let secs = rng.below(730 * 86_400) as i64;
    a.created_at_utc = Timestamp::from_utc(
        chrono::DateTime::from_timestamp(base - secs, (i % 1000) as u32 * 1000).unwrap(),
    );
    a.feasibility = feas;
    a.request_summary = json!({"keys": ["design", "context"], "design_keys": ["outer_diameter_mm", "inner_diameter_mm", "ring_params"],
        "context_keys": ["material_id", "tool_id"], "tool_id": tool, "material_id": "maple_hard"})
    .as_object()
    .unwrap()
    .clone();
    a.meta
        .insert("source".into(), Value::String(rng.pick(&SOURCES).into()));
    lineage(&mut a, i);
    match profile {
        Profile::Small => {
            // Size: 70% ~2 KB, 25% 4–12 KB, 5% up to 40 KB of G-code.
            let extra = match rng.below(100) {
                0..=69 => 0,
                70..=94 => 2_000 + rng.below(10_000),
                _ => 12_000 + rng.below(26_000),
            } as usize;
            if extra > 0 {
                a.outputs.gcode_text = Some(gcode(extra));
            }
        }
        Profile::Fat => {
            // 30% toolpath only; 55% up to 20 KB of G-code; 15% a long program (up to the
            // 200 KB the reference allows inline, whatever the toolpath left).
            let extra = match rng.below(100) {
                0..=29 => 0,
                30..=84 => 1_000 + rng.below(19_000),
                _ => 20_000 + rng.below(150_000),
            } as usize;
            if extra > 0 {
                let room = FAT_MAX_BYTES.saturating_sub(a.to_file_bytes().len() + 64);
                a.outputs.gcode_text = Some(gcode(extra.min(room)));
                // Escaped newlines take two bytes in the file: trim whole lines until the
                // artifact is within the profile's maximum.
                loop {
                    let size = a.to_file_bytes().len();
                    if size <= FAT_MAX_BYTES {
                        break;
                    }
                    let g = a.outputs.gcode_text.as_mut().unwrap();
                    let end = g.len().saturating_sub(size - FAT_MAX_BYTES + 64);
                    let cut = g[..end].rfind('\n').map_or(0, |p| p + 1);
                    g.truncate(cut);
                }
            }
        }
    }
    a
}

/// The parent run of a family (re-scorings) and the plan ids the generator points at.
fn family_id(k: u64) -> String {
    format!("run_fa{k:030x}")
}
fn plan_id(k: u64) -> String {
    format!("run_91a{k:029x}")
}
/// The plan one run in a thousand executes (the most children a run has here).
const HOT_PLAN: u64 = 0xfff;

/// Lineage from the run's number alone (the main generator's random sequence is left as
/// it was): 10% re-score one of 100,000 families (`parent_run_id`), 2% execute one of
/// 1,000 plans (parent and `lineage.parent_plan_run_id`, as the reference records it),
/// 0.1% the hot plan.
fn lineage(a: &mut RunArtifact, i: u64) {
    let mut h = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    let plan = match h % 1000 {
        0..=99 => {
            a.parent_run_id = Some(family_id((h >> 10) % 100_000));
            None
        }
        100..=119 => Some(plan_id((h >> 10) % 1000)),
        120 => Some(plan_id(HOT_PLAN)),
        _ => None,
    };
    if let Some(p) = plan {
        a.parent_run_id = Some(p.clone());
        a.lineage = Some(rmos::domain::RunLineage {
            parent_plan_run_id: Some(p),
        });
    }
}

fn generate(runs_dir: &Path, n: u64, profile: Profile) {
    let marker = match profile {
        // v2: with lineage (an older tree is generated again).
        Profile::Small => runs_dir.join(format!("_bench_v2_{n}.done")),
        Profile::Fat => runs_dir.join(format!("_bench_v2_fat_{n}.done")),
    };
    if marker.exists() {
        eprintln!("reusing {n} generated artifacts in {}", runs_dir.display());
        return;
    }
    let _ = std::fs::remove_dir_all(runs_dir);
    std::fs::create_dir_all(runs_dir).unwrap();
    let started = Instant::now();
    let base = chrono::Utc::now().timestamp();
    let workers = 2u64;
    let bytes = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for w in 0..workers {
            let bytes = &bytes;
            s.spawn(move || {
                let mut rng = Rng(0x5eed_0000_0000_0001 ^ ((w + 1) * 0x9e37_79b9));
                let mut i = w;
                while i < n {
                    let a = artifact(&mut rng, i, base, profile);
                    let dir = runs_dir.join(a.created_at_utc.partition());
                    let data = a.to_file_bytes();
                    bytes.fetch_add(data.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    if std::fs::write(dir.join(format!("{}.json", a.run_id)), &data).is_err() {
                        std::fs::create_dir_all(&dir).unwrap();
                        std::fs::write(dir.join(format!("{}.json", a.run_id)), &data).unwrap();
                    }
                    i += workers;
                }
            });
        }
    });
    std::fs::write(&marker, b"").unwrap();
    let total = bytes.into_inner();
    eprintln!(
        "generated {n} {} artifacts ({:.2} GB, avg {:.1} KB) in {:.1}s",
        profile.name(),
        total as f64 / 1e9,
        total as f64 / n as f64 / 1024.0,
        started.elapsed().as_secs_f64()
    );
}

fn warm(runs_dir: &Path) -> u64 {
    let mut bytes = 0;
    for p in std::fs::read_dir(runs_dir).unwrap().flatten() {
        if p.file_type().unwrap().is_dir() {
            for f in std::fs::read_dir(p.path()).unwrap().flatten() {
                bytes += std::fs::read(f.path()).map(|b| b.len() as u64).unwrap_or(0);
            }
        }
    }
    bytes
}

/// What this machine's file system allows before any parsing: every file opened, read
/// into a reused buffer and closed, on as many threads as the index build's readers (the
/// names listed first, outside the timing). Returns (files, threads, seconds).
fn read_floor(runs_dir: &Path) -> (usize, usize, f64) {
    use std::io::Read;
    let mut files = Vec::new();
    for p in std::fs::read_dir(runs_dir).unwrap().flatten() {
        if p.file_type().unwrap().is_dir() {
            for f in std::fs::read_dir(p.path()).unwrap().flatten() {
                files.push(f.path());
            }
        }
    }
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let t = Instant::now();
    std::thread::scope(|s| {
        for chunk in files.chunks(files.len().div_ceil(threads).max(1)) {
            s.spawn(move || {
                let mut buf = Vec::with_capacity(1 << 16);
                for path in chunk {
                    buf.clear();
                    if let Ok(mut f) = std::fs::File::open(path) {
                        let _ = f.read_to_end(&mut buf);
                    }
                }
            });
        }
    });
    (files.len(), threads, t.elapsed().as_secs_f64())
}

fn rss_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn time_query(
    index: &RunIndex,
    filter: &str,
    cursor: Option<Cursor>,
    reps: usize,
) -> (Duration, Duration, usize) {
    let mut times = Vec::with_capacity(reps);
    let mut n = 0;
    for _ in 0..reps {
        let mut q = RunQuery::new(Filter::parse(filter).unwrap(), 50);
        q.cursor = cursor.clone();
        let t = Instant::now();
        let page = index.query(&q).unwrap();
        times.push(t.elapsed());
        n = page.runs.len();
    }
    times.sort();
    (times[reps / 2], times[reps * 95 / 100], n)
}

fn main() {
    let n: u64 = arg("--runs")
        .map(|v| v.parse().expect("--runs N"))
        .unwrap_or(100_000);
    let profile = arg("--profile").unwrap_or_else(|| "small".into());
    let profiles: &[Profile] = match profile.as_str() {
        "small" => &[Profile::Small],
        "fat" => &[Profile::Fat],
        "both" => &[Profile::Small, Profile::Fat],
        other => panic!("--profile {other}: expected small, fat or both"),
    };
    for &p in profiles {
        let (n, dir) = match (p, profiles.len()) {
            (Profile::Small, _) | (Profile::Fat, 1) => (
                n,
                PathBuf::from(arg("--dir").unwrap_or_else(|| match p {
                    Profile::Small => format!("/tmp/rmos-bench-{n}"),
                    Profile::Fat => format!("/tmp/rmos-bench-fat-{n}"),
                })),
            ),
            (Profile::Fat, _) => {
                let fat_n: u64 = arg("--fat-runs")
                    .map(|v| v.parse().expect("--fat-runs N"))
                    .unwrap_or(n / 5);
                let dir = arg("--dir")
                    .map(|d| format!("{d}-fat"))
                    .unwrap_or_else(|| format!("/tmp/rmos-bench-fat-{fat_n}"));
                (fat_n, PathBuf::from(dir))
            }
        };
        println!("== profile {} ({n} runs, {})", p.name(), dir.display());
        measure(p, n, &dir);
    }
}

fn measure(profile: Profile, n: u64, dir: &Path) {
    let root = DataRoot::at(dir);
    generate(&root.runs_dir, n, profile);

    let queries_only = support::flag("--queries-only");
    if queries_only {
        time_open(&root);
        let index = root.open_index().unwrap();
        run_queries(&index);
        println!(
            "peak RSS overall          {:.1} MB",
            rss_kb("VmHWM:") as f64 / 1024.0
        );
        return;
    }
    let t = Instant::now();
    let bytes = warm(&root.runs_dir);
    eprintln!(
        "warm-up read {:.2} GB in {:.1}s",
        bytes as f64 / 1e9,
        t.elapsed().as_secs_f64()
    );
    let (floor_files, floor_threads, floor_s) = read_floor(&root.runs_dir);
    println!(
        "read floor (warm cache)   {:.2}s  ({:.0} files/s: open, read, close of every file on {floor_threads} threads, no parsing)",
        floor_s,
        floor_files as f64 / floor_s.max(1e-9)
    );

    let _ = std::fs::remove_file(root.db_path());
    let _ = std::fs::remove_file(dir.join("rmos.db-wal"));
    let _ = std::fs::remove_file(dir.join("rmos.db-shm"));
    let _ = std::fs::write("/proc/self/clear_refs", "5"); // reset the peak-RSS counter
    let mut index = root.open_index().unwrap();
    let t = Instant::now();
    let stats = index.rebuild(&mut |_| {}).unwrap();
    let build = t.elapsed();
    let peak_build = rss_kb("VmHWM:");
    println!("runs                      {n}");
    println!(
        "artifact JSON             {:.2} GB (avg {:.1} KB)",
        bytes as f64 / 1e9,
        bytes as f64 / n.max(1) as f64 / 1024.0
    );
    println!(
        "full index build          {:.2}s  ({:.0} artifacts/s, {:.0} MB/s, {} invalid)",
        build.as_secs_f64(),
        stats.parsed as f64 / build.as_secs_f64(),
        bytes as f64 / 1e6 / build.as_secs_f64(),
        stats.invalid
    );
    let t = Instant::now();
    let s = index.reconcile(ReconcileMode::Full, &mut |_| {}).unwrap();
    println!(
        "no-change reconcile full  {:.3}s  ({} files compared, {} parsed)",
        t.elapsed().as_secs_f64(),
        s.files_seen,
        s.parsed
    );
    let t = Instant::now();
    let s = index.reconcile(ReconcileMode::Quick, &mut |_| {}).unwrap();
    println!(
        "no-change reconcile quick {:.3}s  ({} partitions skipped)",
        t.elapsed().as_secs_f64(),
        s.partitions_skipped
    );

    time_open(&root);
    run_queries(&index);
    println!(
        "peak RSS during build     {:.1} MB",
        peak_build as f64 / 1024.0
    );
    println!(
        "peak RSS overall          {:.1} MB",
        rss_kb("VmHWM:") as f64 / 1024.0
    );
    let db_size = std::fs::metadata(root.db_path())
        .map(|m| m.len())
        .unwrap_or(0);
    println!("index database size       {:.1} MB", db_size as f64 / 1e6);
}

/// Opening the database when every migration is applied (the console and every CLI
/// command pay this).
fn time_open(root: &DataRoot) {
    let mut times: Vec<Duration> = (0..21)
        .map(|_| {
            let t = Instant::now();
            drop(root.open_index().unwrap());
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "open + migration check    p50 {:.2} ms  max {:.2} ms",
        times[10].as_secs_f64() * 1e3,
        times[20].as_secs_f64() * 1e3
    );
}

fn run_queries(index: &RunIndex) {
    let mid = index
        .query(&RunQuery::new(Filter::default(), 5000))
        .unwrap()
        .runs
        .last()
        .map(|r| Cursor::parse(&r.cursor()).unwrap());
    for (label, filter, cursor) in [
        ("unselective (no filter)", "", None),
        ("unselective, page 100", "", mid.clone()),
        ("status:ok", "status:ok", None),
        ("risk:red,yellow", "risk:red,yellow", None),
        ("selective tool (0.1%)", "tool:rare_tool_x", None),
        ("selective tool+risk", "tool:rare_tool_x risk:red", None),
        ("two common fields", "tool:vbit60 risk:unknown", None),
        ("disjoint common fields", "mode:saw tool:nonexistent", None),
        (
            "mode:saw -risk:green since:30d",
            "mode:saw -risk:green since:30d",
            None,
        ),
        ("text search 'stepdown'", "stepdown", None),
        ("score<5 status:blocked", "score<5 status:blocked", None),
        (
            "OR: risk:red OR status:blocked",
            "risk:red OR status:blocked",
            None,
        ),
        (
            "OR, selective: tool:rare_tool_x OR score<1 tool:…",
            "tool:rare_tool_x OR score<1 tool:rare_tool_x",
            None,
        ),
        (
            "group: (mode:saw OR mode:router) -risk:green",
            "(mode:saw OR mode:router) -risk:green",
            None,
        ),
        (
            "negated group: -(risk:green OR risk:yellow)",
            "-(risk:green OR risk:yellow)",
            None,
        ),
    ] {
        let (p50, p95, rows) = time_query(index, filter, cursor, 41);
        println!(
            "query {label:<32} p50 {:>7.3} ms  p95 {:>7.3} ms  ({rows} rows)",
            p50.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3
        );
    }
    run_timelines(index);
    run_children(index);
    run_sorted(index);
}

/// The console's list in another order (`o`): the first page, a page deep in the list
/// (from the 5,000th row), and the position of that row, per order and filter.
fn run_sorted(index: &RunIndex) {
    use rmos::store::index::{Direction, PageRequest, Sort, SortKey};
    let now = chrono::Utc::now();
    for key in [SortKey::Risk, SortKey::Score, SortKey::Tool] {
        for (flabel, filter) in [("no filter", ""), ("risk:red,yellow", "risk:red,yellow")] {
            let sort = Sort {
                key,
                descending: true,
            };
            let filter = Filter::parse(filter).unwrap();
            let req = |bound| PageRequest {
                filter: filter.clone(),
                include_invalid: true,
                direction: Direction::Older,
                bound,
                limit: 200,
                now,
                sort,
            };
            let (first, _) = percentiles(41, || {
                index.page(&req(None)).unwrap();
            });
            // A row 5,000 deep, reached by walking (as the console does).
            let mut bound = None;
            for _ in 0..25 {
                let (rows, more) = index.page(&req(bound.clone())).unwrap();
                bound = rows.last().map(|r| (r.key(), false));
                if !more {
                    break;
                }
            }
            let (deep, _) = percentiles(41, || {
                index.page(&req(bound.clone())).unwrap();
            });
            let at = bound.clone().map(|(c, _)| c);
            let (pos, _) = percentiles(11, || {
                if let Some(c) = &at {
                    index.count_ahead(&filter, sort, c, u64::MAX).unwrap();
                }
            });
            println!(
                "sorted by {:<5} {flabel:<16} first page p50 {:>7.3} ms  deep page {:>7.3} ms  position {:>7.2} ms",
                key.name(),
                first.as_secs_f64() * 1e3,
                deep.as_secs_f64() * 1e3,
                pos.as_secs_f64() * 1e3
            );
        }
    }
}

/// p50 and p95 of `f` over `reps` calls.
fn percentiles(reps: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    (times[reps / 2], times[reps * 95 / 100])
}

/// `rmos runs timeline` / the console's timeline: the aggregate over the span shown.
fn run_timelines(index: &RunIndex) {
    use rmos::store::index::{Bucket, StackBy};
    let now = chrono::Utc::now();
    let end = index.newest_us().unwrap().unwrap_or(0);
    for (label, filter, bucket, buckets, by) in [
        ("30 days (the default)", "", Bucket::Day, 30, StackBy::Risk),
        ("30 days by status", "", Bucket::Day, 30, StackBy::Status),
        ("48 hours", "", Bucket::Hour, 48, StackBy::Risk),
        ("26 weeks", "", Bucket::Week, 26, StackBy::Risk),
        (
            "120 days (a wide terminal)",
            "",
            Bucket::Day,
            120,
            StackBy::Risk,
        ),
        (
            "730 days (the whole store)",
            "",
            Bucket::Day,
            730,
            StackBy::Risk,
        ),
        (
            "30 days, risk:red",
            "risk:red",
            Bucket::Day,
            30,
            StackBy::Risk,
        ),
        (
            "30 days, tool:rare_tool_x",
            "tool:rare_tool_x",
            Bucket::Day,
            30,
            StackBy::Risk,
        ),
        (
            "30 days, text 'stepdown'",
            "stepdown",
            Bucket::Day,
            30,
            StackBy::Risk,
        ),
    ] {
        let filter = Filter::parse(filter).unwrap();
        let mut total = 0;
        let (p50, p95) = percentiles(11, || {
            let bins = index
                .timeline(&filter, bucket, buckets, end, by, now)
                .unwrap();
            total = bins.iter().map(|b| b.total).sum::<u64>();
        });
        println!(
            "timeline {label:<29} p50 {:>7.2} ms  p95 {:>7.2} ms  ({total} runs)",
            p50.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3
        );
    }
}

/// `rmos runs children` / `RunCatalog::children`: the newest 50 and the count.
fn run_children(index: &RunIndex) {
    for (label, parent) in [
        ("hot plan (~0.1% of runs)", plan_id(HOT_PLAN)),
        ("a plan (~20 runs)", plan_id(7)),
        ("a family (~1 run)", family_id(7)),
        ("no children", "run_nobody".to_owned()),
    ] {
        let mut got = (0, 0);
        let (p50, p95) = percentiles(41, || {
            let (runs, total) = index.children(&parent, 50).unwrap();
            got = (runs.len(), total);
        });
        println!(
            "children {label:<29} p50 {:>7.3} ms  p95 {:>7.3} ms  ({} rows of {})",
            p50.as_secs_f64() * 1e3,
            p95.as_secs_f64() * 1e3,
            got.0,
            got.1
        );
    }
    let hot = format!("parent:{}", plan_id(HOT_PLAN));
    let (p50, p95, rows) = time_query(index, &hot, None, 41);
    println!(
        "query {:<32} p50 {:>7.3} ms  p95 {:>7.3} ms  ({rows} rows)",
        "parent:<hot plan> (filter)",
        p50.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );
}
