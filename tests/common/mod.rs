//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn read_json(rel: &str) -> serde_json::Value {
    let path = fixtures().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Copy a directory tree (the fixtures are read-only in some checkouts).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Runtime files a local `rmos --data tests/fixtures/store_example` may have left.
        if name.starts_with("rmos.db") || name == "_rmos" {
            continue;
        }
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
            let mut perm = std::fs::metadata(&dest).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&dest, perm).unwrap();
        }
    }
}

/// A temp data root holding a copy of the reference's store_example.
pub fn store_example_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("store_example"), dir.path());
    dir
}

/// Every `*.json` artifact file below a directory (link files excluded).
pub fn artifact_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A JSON Lines file of `n` rosette designs for `rmos score --batch`.
pub fn batch_file(dir: &Path, n: usize) -> std::path::PathBuf {
    let p = dir.join("batch.jsonl");
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "{{\"design\": {{\"outer_diameter_mm\": {}, \"inner_diameter_mm\": 80, \"ring_params\": [{{\"ring_index\": 0, \"width_mm\": {}}}]}}, \"ctx\": {{\"material_id\": \"maple_hard\", \"tool_id\": \"vbit60\"}}}}\n",
            90 + i % 30,
            1.0 + (i % 7) as f64 * 0.5
        ));
    }
    std::fs::write(&p, text).unwrap();
    p
}
pub mod console;
pub mod gate;
pub mod kill;
pub mod pg;
pub mod skip;
pub mod tmux;

/// The `rmos` binary on data root `data`, isolated from the caller's environment: the
/// variables that could point it elsewhere are removed, an index that cannot live in the
/// data root goes to a temp cache (never the real one), stdin is empty.
pub fn rmos_cmd(data: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_rmos"));
    c.arg("--data").arg(data);
    for var in [
        "RMOS_DATA_DIR",
        "RMOS_RUNS_DIR",
        "ART_STUDIO_SNAPSHOTS_DIR",
        "CAM_BACKUP_DIR",
        "RMOS_REVIEWER",
        "RMOS_DB_URL",
    ] {
        c.env_remove(var);
    }
    c.env(
        "XDG_CACHE_HOME",
        std::env::temp_dir().join("rmos-tests-cache"),
    )
    // Saved filters and history per data root, never the real user's.
    .env("RMOS_CONFIG_DIR", config_dir_for(data))
    .stdin(std::process::Stdio::null());
    c
}

/// The preferences folder `rmos_cmd` uses for a data root.
pub fn config_dir_for(data: &Path) -> std::path::PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    std::env::temp_dir()
        .join("rmos-tests-config")
        .join(format!("{:016x}", h.finish()))
}
