//! Replays the fuzzers' properties (`rmos::invariants`) on every input kept in
//! `tests/fixtures/fuzz/<target>/` (crashes found by fuzzing, minimized) and on seeds.
//! Each test counts what the properties did with its inputs ([`Checked`]) and asserts
//! that the inputs reached them: a missing fixture folder or inputs the parser refuses
//! would otherwise pass having checked nothing.

mod common;

use rmos::invariants::Checked;
use std::collections::BTreeMap;

/// The fuzz targets (`fuzz/fuzz_targets/*.rs`); a folder of kept inputs exists for those
/// that ever failed.
const TARGETS: [&str; 4] = ["artifact", "canonical_json", "filter", "id_path"];

/// The inputs kept for `target` (none when the target never failed: no folder).
fn inputs(target: &str) -> Vec<Vec<u8>> {
    assert!(TARGETS.contains(&target), "unknown fuzz target {target}");
    let dir = common::fixtures().join("fuzz").join(target);
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    rd.map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect()
}

/// How many inputs ended in each outcome.
fn tally(outcomes: impl IntoIterator<Item = Checked>) -> BTreeMap<Checked, usize> {
    let mut t = BTreeMap::new();
    for o in outcomes {
        *t.entry(o).or_insert(0) += 1;
    }
    t
}

/// Every folder under `tests/fixtures/fuzz/` belongs to a target, and the inputs the
/// canonical-JSON fuzzer found (RELIABILITY.md: both kept as regressions) are there.
#[test]
fn kept_inputs_belong_to_targets() {
    let root = common::fixtures().join("fuzz");
    for e in std::fs::read_dir(&root).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            TARGETS.contains(&name.as_str()),
            "{name}: not a fuzz target"
        );
    }
    for t in std::fs::read_dir(common::fixtures().join("../../fuzz/fuzz_targets")).unwrap() {
        let file = t.unwrap().file_name().to_string_lossy().into_owned();
        let target = file.strip_suffix(".rs").unwrap();
        assert!(TARGETS.contains(&target), "{target}: missing from TARGETS");
    }
    assert_eq!(inputs("canonical_json").len(), 2);
}

/// The kept artifact inputs and every JSON file of the reference's store and examples,
/// each with whether it is a run artifact (its name is `run_<id>.json`, not a sidecar).
fn artifact_seeds() -> Vec<(Vec<u8>, bool)> {
    let mut out: Vec<(Vec<u8>, bool)> =
        inputs("artifact").into_iter().map(|b| (b, false)).collect();
    let mut files = common::artifact_files(&common::fixtures().join("store_example/runs/rmos"));
    files.extend(common::artifact_files(&common::fixtures().join("examples")));
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let in_examples = p.parent().is_some_and(|d| d.ends_with("examples"));
        let run = in_examples || (name.starts_with("run_5eed") && !name.contains("_advisory_"));
        out.push((std::fs::read(p).unwrap(), run));
    }
    out
}

#[test]
fn artifact_inputs() {
    let seeds = artifact_seeds();
    let runs: Vec<&Vec<u8>> = seeds.iter().filter(|s| s.1).map(|s| &s.0).collect();
    assert!(
        runs.len() >= 10,
        "{} run artifacts among the seeds",
        runs.len()
    );
    // Every run artifact reaches the whole property; the sidecars may be refused.
    for (i, b) in runs.iter().enumerate() {
        assert_eq!(
            rmos::invariants::artifact_round_trip(b),
            Checked::Held,
            "run seed {i}"
        );
    }
    let all = tally(
        seeds
            .iter()
            .map(|s| rmos::invariants::artifact_round_trip(&s.0)),
    );
    assert!(
        all.get(&Checked::Held).copied().unwrap_or(0) >= runs.len(),
        "{all:?}"
    );
    let canonical = tally(
        seeds
            .iter()
            .map(|s| rmos::invariants::canonical_idempotent(&s.0)),
    );
    assert_eq!(
        canonical.get(&Checked::Held),
        Some(&seeds.len()),
        "{canonical:?}"
    );
}

#[test]
fn canonical_json_inputs() {
    // Both kept inputs are literals too large for a double (RELIABILITY.md, Fuzzing).
    let kept = tally(
        inputs("canonical_json")
            .iter()
            .map(|b| rmos::invariants::canonical_idempotent(b)),
    );
    assert_eq!(
        kept,
        BTreeMap::from([(Checked::HeldWithInfinity, 2)]),
        "the kept inputs reach the Infinity case"
    );
    let doc = common::read_json("hashing_vectors.json");
    let vectors = doc["vectors"].as_array().unwrap();
    let seeds = tally(vectors.iter().map(|v| {
        rmos::invariants::canonical_idempotent(
            serde_json::to_string(&v["input"]).unwrap().as_bytes(),
        )
    }));
    assert_eq!(seeds.get(&Checked::Held), Some(&vectors.len()), "{seeds:?}");
}

/// The Infinity exception excuses nothing else: a string holding `Infinity` is no excuse
/// (it parses anyway), and the overflowing literal is the only way in.
#[test]
fn the_infinity_exception_is_exactly_the_overflowing_literal() {
    use rmos::invariants::canonical_idempotent;
    assert_eq!(
        canonical_idempotent(br#"{"a": 1e999}"#),
        Checked::HeldWithInfinity
    );
    assert_eq!(
        canonical_idempotent(br#"[-1e400, "Infinity", 1]"#),
        Checked::HeldWithInfinity
    );
    assert_eq!(
        canonical_idempotent(br#"{"Infinity": "Infinity"}"#),
        Checked::Held
    );
    assert_eq!(canonical_idempotent(b"Infinity"), Checked::Refused);
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
    let t = tally(texts.iter().map(|t| rmos::invariants::filter_round_trip(t)));
    assert!(
        t.get(&Checked::Held).copied().unwrap_or(0) >= 3
            && t.get(&Checked::Refused).copied().unwrap_or(0) >= 3,
        "both sides of the property were reached: {t:?}"
    );
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
    assert!(ids.len() > 20, "{} ids", ids.len());
    for id in ids {
        rmos::invariants::ids_stay_inside(&id);
    }
}
