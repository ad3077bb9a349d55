//! Batch scoring benchmark (not a test): durable, persisted runs per second through the
//! same path as `rmos score --batch`, on an empty store and, with `--dir`, on an existing
//! large one (the runs it adds there are removed afterwards).
//!
//! ```sh
//! cargo bench --bench score -- --designs 3000
//! cargo bench --bench score -- --designs 3000 --dir /tmp/rmos-bench-1m
//! ```

mod support;

use rmos::config::DataRoot;
use rmos::scoring::runs::RunOptions;
use rmos::scoring::service::{score_and_record, ScoreRequest, ScoreSource};
use serde_json::json;
use std::time::Instant;
use support::arg;

fn main() {
    let n: usize = arg("--designs").map(|v| v.parse().unwrap()).unwrap_or(3000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = arg("--dir")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let root = DataRoot::at(&dir);
    let store = root.run_store();
    let partitions = store.partitions().unwrap().len();
    let patterns = ["SOLID", "MOSAIC", "HERRINGBONE", "SPIRAL"];
    let materials = ["maple_hard", "basswood", "ebony_african", "alder"];
    let requests: Vec<ScoreRequest> = (0..n)
        .map(|i| {
            let rings: Vec<_> = (0..i % 7)
                .map(|j| json!({"ring_index": j, "width_mm": 0.5 + (i * 7 + j) as f64 % 4.5, "pattern_type": patterns[(i + j) % 4]}))
                .collect();
            let v = json!({
                "design": {"outer_diameter_mm": 90 + (i % 4) * 10, "inner_diameter_mm": 80, "ring_params": rings},
                "ctx": {"material_id": materials[i % 4], "tool_id": "vbit60"},
                "workflow_mode": "design_first",
            });
            ScoreRequest::from_json(&v).unwrap()
        })
        .collect();
    let started = Instant::now();
    let mut written = Vec::with_capacity(n);
    for r in &requests {
        let (_, run) =
            score_and_record(&store, r, ScoreSource::Batch, false, RunOptions::default()).unwrap();
        written.push(run.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "store                 {} ({partitions} partitions before)",
        dir.display()
    );
    println!(
        "batch of {n} designs  {secs:.2}s, {:.0} durable runs/s",
        n as f64 / secs
    );
    if arg("--dir").is_some() {
        for a in &written {
            let p = store
                .partition_dir(&a.created_at_utc.partition())
                .join(format!("{}.json", a.run_id));
            let _ = std::fs::remove_file(p);
        }
    }
}
