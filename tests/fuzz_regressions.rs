//! Replays the fuzzers' properties (`rmos::invariants`) on every input kept in
//! `tests/fixtures/fuzz/<target>/` (crashes found by fuzzing, minimized) and on seeds.

mod common;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let dir = common::fixtures().join("fuzz").join(target);
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            out.push(std::fs::read(e.path()).unwrap());
        }
    }
    out
}

fn artifact_seeds() -> Vec<Vec<u8>> {
    let mut out = inputs("artifact");
    for p in common::artifact_files(&common::fixtures().join("store_example/runs/rmos")) {
        out.push(std::fs::read(p).unwrap());
    }
    for p in common::artifact_files(&common::fixtures().join("examples")) {
        out.push(std::fs::read(p).unwrap());
    }
    out
}

#[test]
fn artifact_inputs() {
    for bytes in artifact_seeds() {
        rmos::invariants::artifact_round_trip(&bytes);
        rmos::invariants::canonical_idempotent(&bytes);
    }
}

#[test]
fn canonical_json_inputs() {
    for bytes in inputs("canonical_json") {
        rmos::invariants::canonical_idempotent(&bytes);
    }
    let doc = common::read_json("hashing_vectors.json");
    for v in doc["vectors"].as_array().unwrap() {
        rmos::invariants::canonical_idempotent(
            serde_json::to_string(&v["input"]).unwrap().as_bytes(),
        );
    }
}

#[test]
fn filter_inputs() {
    let mut texts: Vec<String> = inputs("filter")
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    texts.extend(
        [
            "risk:red,yellow -status:ok tool:rosette score<50 since:2d until:2025-12-24 id:run_5eed \"tear-out\"",
            "-\"-x\" \"a:b\" score!=0.1 since:2025-12-01T10:00Z verify:placeholder,invalid",
            "\\", "\"", "-", "score<", "::", "risk:,", "é:ü", "since:99999999d",
        ]
        .map(String::from),
    );
    for t in texts {
        rmos::invariants::filter_round_trip(&t);
    }
}

#[test]
fn id_inputs() {
    let mut ids: Vec<String> = inputs("id_path")
        .into_iter()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect();
    ids.extend(
        [
            "../x",
            "..",
            ".",
            "a/b",
            "a\\b",
            "run_\0",
            " padded ",
            "x.json",
            "..json",
            ".json",
            "snap_0123456789ab",
            "café",
            "/etc/passwd",
        ]
        .map(String::from),
    );
    let doc = common::read_json("feasibility_vectors.json");
    for v in doc["snapshot_id_validation_vectors"].as_array().unwrap() {
        ids.push(v["input"].as_str().unwrap().to_owned());
    }
    for id in ids {
        rmos::invariants::ids_stay_inside(&id);
    }
}
