//! The reference's canonical-JSON vectors (tests/fixtures/hashing_vectors.json) and real
//! content-addressed blobs from its repository.

mod common;

use common::{fixtures, read_json};
use proptest::prelude::*;
use rmos::hashing::{canonical_json, sha256_json, sha256_text, summarize_request};
use serde_json::Value;

#[test]
fn every_canonical_vector_matches() {
    let doc = read_json("hashing_vectors.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 30);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let canonical = canonical_json(&v["input"]);
        assert_eq!(
            canonical,
            v["canonical"].as_str().unwrap(),
            "canonical form of {name}"
        );
        assert_eq!(
            canonical.len() as u64,
            v["canonical_utf8_len"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            sha256_json(&v["input"]),
            v["sha256"].as_str().unwrap(),
            "sha256 of {name}"
        );
    }
}

/// Python-only inputs cannot arrive from JSON text, so rmos never sees them:
/// NaN/Infinity (not JSON tokens; serde_json refuses them), int keys (JSON keys are always
/// strings), tuples and str-enums (JSON has only arrays and strings), datetime objects, and
/// lone surrogates (`"\ud800"` is refused by the parser, as the reference's hash would fail).
/// What *can* arrive — an overflowing float literal — hashes as the reference's `Infinity`.
#[test]
fn special_python_inputs_are_unreachable_or_equivalent() {
    let doc = read_json("hashing_vectors.json");
    let specials = doc["special_python_inputs"].as_array().unwrap();
    let by_name = |n: &str| specials.iter().find(|s| s["name"] == n).unwrap().clone();

    assert!(serde_json::from_str::<Value>(r#"{"x": NaN}"#).is_err());
    assert!(serde_json::from_str::<Value>(r#"{"x": Infinity}"#).is_err());
    assert!(serde_json::from_str::<Value>(r#"{"s": "\ud800"}"#).is_err());

    let inf: Value = serde_json::from_str(r#"{"x": 1e999, "y": -1e999}"#).unwrap();
    let want = by_name("inf");
    assert_eq!(canonical_json(&inf), want["canonical"].as_str().unwrap());
    assert_eq!(sha256_json(&inf), want["sha256"].as_str().unwrap());

    // A tuple is an array and a str-enum is its value once it is JSON.
    let t: Value = serde_json::from_str(r#"{"t": [1, 2]}"#).unwrap();
    assert_eq!(
        sha256_json(&t),
        by_name("tuple_as_array")["sha256"].as_str().unwrap()
    );
    let e: Value = serde_json::from_str(r#"{"risk_bucket": "GREEN"}"#).unwrap();
    assert_eq!(
        sha256_json(&e),
        by_name("str_enum_value")["sha256"].as_str().unwrap()
    );
    // Int keys become strings in JSON; sorted as strings they are "10" < "2", which is
    // what any JSON producer would hand us. The reference's numeric order applies only to
    // Python dicts that never went through JSON.
    let k: Value = serde_json::from_str(r#"{"10": "a", "2": "b"}"#).unwrap();
    assert_eq!(canonical_json(&k), r#"{"10":"a","2":"b"}"#);
}

#[test]
fn text_vectors_match() {
    let doc = read_json("hashing_vectors.json");
    let vectors = doc["text_vectors"].as_array().unwrap();
    let mut checked = 0;
    let mut not_text = Vec::new();
    for v in vectors {
        match (v["input"].as_str(), v["sha256_of_text"].as_str()) {
            (Some(input), Some(want)) => {
                assert_eq!(sha256_text(input), want, "{}", v["name"]);
                checked += 1;
            }
            _ => not_text.push(v["name"].as_str().unwrap().to_owned()),
        }
    }
    // The one vector without a text hash is the reference's `None` input (a Python None,
    // hashed to None by its `sha256_text_safe`): rmos never receives it as text.
    assert_eq!(not_text, ["none"], "vectors without a text hash");
    assert_eq!(checked, vectors.len() - 1);
}

#[test]
fn summarize_request_vectors_match() {
    let doc = read_json("hashing_vectors.json");
    let vectors = doc["summarize_request_vectors"].as_array().unwrap();
    assert!(vectors.len() >= 8, "{} vectors", vectors.len());
    for v in vectors {
        let got = summarize_request(&v["input"]);
        assert_eq!(
            serde_json::to_string(&got).unwrap(),
            serde_json::to_string(&v["summary"]).unwrap(),
            "{}",
            v["name"]
        );
    }
}

/// Real blobs from the reference repository: JSON blobs are stored pretty-printed but
/// named by the hash of their canonical form; parsing and re-canonicalizing must give the
/// name back.
#[test]
fn repository_json_attachments_hash_to_their_names() {
    let manifest = read_json("repo_run_attachments_manifest.json");
    let files = manifest["files"].as_array().unwrap();
    let mut checked = 0;
    let mut not_copied = 0;
    for f in files {
        let Some(copied) = f["copied_to"].as_str() else {
            // Listed with its hashes but its bytes were not copied into the fixtures.
            not_copied += 1;
            continue;
        };
        let file = fixtures()
            .join("repo_run_attachments")
            .join(copied.rsplit('/').next().unwrap());
        let text = std::fs::read_to_string(&file).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            sha256_json(&value),
            f["sha256_of_canonical_json"].as_str().unwrap(),
            "{}",
            file.display()
        );
        assert_eq!(
            canonical_json(&value).len() as u64,
            f["canonical_len"].as_u64().unwrap()
        );
        assert_eq!(
            rmos::hashing::sha256_bytes(text.as_bytes()),
            f["sha256_of_raw_bytes"].as_str().unwrap()
        );
        checked += 1;
    }
    assert!(checked > 0 && checked + not_copied == files.len());
    eprintln!("{checked} blobs checked, {not_copied} listed without their bytes");
    assert_eq!(
        checked,
        std::fs::read_dir(fixtures().join("repo_run_attachments"))
            .unwrap()
            .count()
    );
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/\u{2028}\u{7f}a-z]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("\\PC{0,6}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Canonicalizing is idempotent through a parse: canonical text parses back to a value
    /// whose canonical text is the same (floats keep their digits, ints stay ints).
    #[test]
    fn canonical_is_idempotent_through_parse(v in arb_json()) {
        let once = canonical_json(&v);
        let reparsed: Value = serde_json::from_str(&once).unwrap();
        prop_assert_eq!(canonical_json(&reparsed), once);
    }

    /// Python repr digits round-trip to the same double.
    #[test]
    fn float_repr_round_trips(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let s = rmos::hashing::python_float_repr(f);
        prop_assert_eq!(s.parse::<f64>().unwrap().to_bits(), f.to_bits());
    }
}

/// Doubles across the whole range (random bit patterns, subnormals, boundaries) with
/// CPython's `repr`, and documents hashed by CPython's `json.dumps` — generated once with
/// CPython 3.11 and stored as a fixture.
#[test]
fn cpython_float_repr_and_document_hashes() {
    let doc = read_json("python/float_vectors.json");
    let floats = doc["floats"].as_array().unwrap();
    assert!(floats.len() > 1000);
    for f in floats {
        let repr = f["repr"].as_str().unwrap();
        let x: f64 = repr.parse().unwrap();
        assert_eq!(rmos::hashing::python_float_repr(x), repr);
    }
    let docs = doc["docs"].as_array().unwrap();
    assert!(!docs.is_empty());
    for d in docs {
        let v: Value = serde_json::from_str(d["json"].as_str().unwrap()).unwrap();
        assert_eq!(canonical_json(&v), d["canonical"].as_str().unwrap());
        assert_eq!(sha256_json(&v), d["sha256"].as_str().unwrap());
    }
}
