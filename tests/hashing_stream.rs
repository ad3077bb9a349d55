//! The streaming canonicalizer (`rmos::hashing::stream`) against the reference's vectors,
//! CPython's float repr corpus and the DOM-based implementation as an oracle: same
//! canonical text and digest for every valid document, an error (never a digest, never a
//! panic) for every document the `Value` parser refuses.

mod common;

use common::{fixtures, read_json};
use proptest::prelude::*;
use rmos::hashing::stream::{canonical_json_bytes, sha256_json_bytes, Canonicalizer, MAX_DEPTH};
use rmos::hashing::{canonical_json, sha256_json};
use serde_json::Value;

/// What the DOM-based path makes of `bytes`: the canonical text, or None if it refuses.
fn oracle(bytes: &[u8]) -> Option<String> {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .map(|v| canonical_json(&v))
}

/// The streaming path agrees with the oracle on `bytes` (acceptance, text and digest).
fn agrees(bytes: &[u8]) -> Result<(), String> {
    let want = oracle(bytes);
    let got = canonical_json_bytes(bytes);
    match (&want, &got) {
        (Some(w), Ok(g)) if w == g => {}
        (None, Err(_)) => return Ok(()),
        _ => {
            return Err(format!(
                "input {:?}\noracle {want:?}\nstream {got:?}",
                String::from_utf8_lossy(bytes)
            ))
        }
    }
    let digest = sha256_json_bytes(bytes).map_err(|e| e.to_string())?;
    if digest != rmos::hashing::sha256_text(want.as_deref().unwrap()) {
        return Err(format!(
            "digest differs for {:?}",
            String::from_utf8_lossy(bytes)
        ));
    }
    Ok(())
}

#[test]
fn every_canonical_vector_matches_through_the_stream() {
    let doc = read_json("hashing_vectors.json");
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 30);
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        for text in [
            serde_json::to_string(&v["input"]).unwrap(),
            serde_json::to_string_pretty(&v["input"]).unwrap(),
        ] {
            assert_eq!(
                canonical_json_bytes(text.as_bytes()).unwrap(),
                v["canonical"].as_str().unwrap(),
                "canonical form of {name}"
            );
            assert_eq!(
                sha256_json_bytes(text.as_bytes()).unwrap(),
                v["sha256"].as_str().unwrap(),
                "sha256 of {name}"
            );
        }
    }
    // The special inputs that can arrive as JSON text.
    let specials = doc["special_python_inputs"].as_array().unwrap();
    let by_name = |n: &str| specials.iter().find(|s| s["name"] == n).unwrap().clone();
    let inf = by_name("inf");
    let text = br#"{"x": 1e999, "y": -1e999}"#;
    assert_eq!(
        canonical_json_bytes(text).unwrap(),
        inf["canonical"].as_str().unwrap()
    );
    assert_eq!(
        sha256_json_bytes(text).unwrap(),
        inf["sha256"].as_str().unwrap()
    );
    for refused in [
        &br#"{"x": NaN}"#[..],
        br#"{"x": Infinity}"#,
        br#"{"x": -Infinity}"#,
        br#"{"s": "\ud800"}"#,
    ] {
        assert!(sha256_json_bytes(refused).is_err());
    }
}

/// Real blobs of the reference repository, stored pretty-printed and named by the hash
/// of their canonical form: the raw bytes hash to the name without any parse to a DOM.
#[test]
fn repository_json_attachments_hash_to_their_names_from_bytes() {
    let manifest = read_json("repo_run_attachments_manifest.json");
    let mut checked = 0;
    for f in manifest["files"].as_array().unwrap() {
        let Some(copied) = f["copied_to"].as_str() else {
            continue;
        };
        let file = fixtures()
            .join("repo_run_attachments")
            .join(copied.rsplit('/').next().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        if serde_json::from_slice::<Value>(&bytes).is_err() {
            continue; // a binary blob
        }
        assert_eq!(
            sha256_json_bytes(&bytes).unwrap(),
            f["sha256_of_canonical_json"].as_str().unwrap(),
            "{}",
            file.display()
        );
        checked += 1;
    }
    assert!(checked >= 10, "{checked} JSON blobs checked");
}

/// Doubles across the whole range with CPython's `repr`, and documents hashed by
/// CPython's `json.dumps` (the corpus `hashing_vectors.rs` checks on the DOM path).
#[test]
fn cpython_float_repr_corpus_through_the_stream() {
    let doc = read_json("python/float_vectors.json");
    let floats = doc["floats"].as_array().unwrap();
    assert!(floats.len() > 1000);
    let mut c = Canonicalizer::new();
    for f in floats {
        let repr = f["repr"].as_str().unwrap();
        let x: f64 = repr.parse().unwrap();
        let mut out = Vec::new();
        rmos::hashing::stream::write_python_float(x, &mut out);
        assert_eq!(std::str::from_utf8(&out).unwrap(), repr);
        // From number text in other spellings: Rust's `{:e}`, Ryū's, and the repr itself.
        for text in [repr.to_owned(), format!("{x:e}"), format!("{x:?}")] {
            if !text.contains(['.', 'e']) || text.contains("inf") || text.contains("NaN") {
                continue;
            }
            let got = c.canonicalize(text.as_bytes()).unwrap();
            assert_eq!(std::str::from_utf8(got).unwrap(), repr, "from {text}");
        }
    }
    let docs = doc["docs"].as_array().unwrap();
    assert!(!docs.is_empty());
    for d in docs {
        let json = d["json"].as_str().unwrap();
        assert_eq!(
            canonical_json_bytes(json.as_bytes()).unwrap(),
            d["canonical"].as_str().unwrap()
        );
        assert_eq!(
            sha256_json_bytes(json.as_bytes()).unwrap(),
            d["sha256"].as_str().unwrap()
        );
    }
}

#[test]
fn edges_agree_with_the_oracle() {
    let cases: &[&str] = &[
        "{}",
        "[]",
        " \n\t\r{ } \n",
        "0",
        "-0",
        "-0.0",
        "0e0",
        "-0E-0",
        "1E5",
        "1e+5",
        "1.5e-5",
        "123456789012345678901234567890",
        "-123456789012345678901234567890",
        "1e400",
        "-1e400",
        "1e-400",
        "-1e-400",
        "1e99999999999999999999999",
        "0.1e-99999999999999999999",
        "4.9406564584124654e-324",
        "2.2250738585072011e-308",
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "9007199254740993.0",
        "0.30000000000000004441",
        "1.00000000000000000000000000000000000000000000000000000000000000001",
        "100000000000000000000000.0",
        "0.0001",
        "0.00001",
        "1e16",
        "9999999999999998",
        "9999999999999998.0",
        // Plain decimals copied as they are, and their near misses.
        "12.5",
        "-12.5",
        "100.0",
        "1.50",
        "0.0",
        "-0.0",
        "0.00",
        "0.0001",
        "0.00012345",
        "0.00001",
        "0.000012345",
        "123456789012345.0",
        "1234567890123456.0",
        "9999999999999999.0",
        "12345678901234567.0",
        "0.123456789012345",
        "0.1234567890123456",
        "0.12345678901234567",
        "999999999999999.9",
        "1000000000000000.0",
        "10000000000000000.0",
        "0.30000000000000004",
        "5e-324",
        r#"{"b":1,"a":2,"b":3}"#,
        r#"{"a":{"y":1,"x":2,"y":{"q":1,"p":2}},"a":[{"b":1,"a":0}]}"#,
        r#"{"\u00e9":1,"e":2,"\u0065":3,"é":4}"#,
        r#"{"\uffff":1,"😀":2,"\ud83d\ude00x":3,"a":0}"#,
        r#"["\u0000\u001f\u007f\u2028\u2029\/\"\\\b\f\n\r\t"]"#,
        r#"["\uD83D\uDE00","\uDBFF\uDFFF","\u00A9"]"#,
        r#"{"k\"ey":1,"k":2,"k ey":3,"k\\":4}"#,
        r#"[true,false,null]"#,
        // Refused by both.
        "",
        " ",
        "{",
        "}",
        "[1,]",
        "[,1]",
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        r#"{1:2}"#,
        "01",
        "-01",
        "1.",
        ".5",
        "+1",
        "1e",
        "1e+",
        "-",
        "--1",
        "0x10",
        "NaN",
        "Infinity",
        "-Infinity",
        "nul",
        "truee",
        "[1] [2]",
        "\u{feff}{}",
        r#"["\x"]"#,
        r#"["\u12"]"#,
        r#"["\u12G4"]"#,
        r#"["\ud800"]"#,
        r#"["\udc00"]"#,
        r#"["\ud800\u0041"]"#,
        r#"["\ud800\n"]"#,
        r#"["\ud800\udbff"]"#,
        "[\"a\u{1}\"]",
        "[\"tab\there\"]",
        "\"unterminated",
        "[\"unterminated\\",
        "{\"a\":1",
    ];
    for case in cases {
        agrees(case.as_bytes()).unwrap();
    }
    // Invalid UTF-8 inside and outside strings.
    for bytes in [
        &b"[\"\xff\"]"[..],
        b"[\"\xc3\"]",
        b"[\"\xc3\\n\"]",
        b"[\"\\n\xa9\"]",
        b"[\"\xed\xa0\x80\"]",
        b"[\xc3\xa9]",
        b"{\"\xe2\x82\":1}",
    ] {
        agrees(bytes).unwrap();
    }
}

#[test]
fn nesting_limit_is_serde_jsons() {
    for depth in [
        1,
        2,
        100,
        MAX_DEPTH - 1,
        MAX_DEPTH,
        MAX_DEPTH + 1,
        200,
        5000,
    ] {
        let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        agrees(arrays.as_bytes()).unwrap();
        let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        agrees(objects.as_bytes()).unwrap();
    }
    let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(sha256_json_bytes(ok.as_bytes()).is_ok());
    let deeper = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    assert!(sha256_json_bytes(deeper.as_bytes()).is_err());
    // A value nested in a larger document gets what its parent left.
    let mut c = Canonicalizer::new();
    assert!(c.canonicalize_nested(ok.as_bytes(), MAX_DEPTH - 1).is_err());
    assert!(c.canonicalize_nested(b"[[]]", 2).is_ok());
    assert!(c.canonicalize_nested(b"[[]]", 1).is_err());
}

#[test]
fn buffers_are_reused_across_documents() {
    let mut c = Canonicalizer::new();
    let big = format!(
        "{{\"z\":[{}],\"a\":1}}",
        (0..5000)
            .map(|i| format!("{i}.25"))
            .collect::<Vec<_>>()
            .join(",")
    );
    let first = String::from_utf8(c.canonicalize(big.as_bytes()).unwrap().to_vec()).unwrap();
    // A failed document leaves nothing behind for the next one.
    assert!(c.canonicalize(br#"{"b":{"c":[1,2"#).is_err());
    assert_eq!(
        c.canonicalize(br#"{"b":1,"a":2}"#).unwrap(),
        br#"{"a":2,"b":1}"#
    );
    assert_eq!(
        std::str::from_utf8(c.canonicalize(big.as_bytes()).unwrap()).unwrap(),
        first
    );
    assert_eq!(first, oracle(big.as_bytes()).unwrap());
}

// ---- generated documents -------------------------------------------------------------

/// A character written the way a JSON producer might: raw, or escaped.
fn arb_char_text() -> impl Strategy<Value = String> {
    let ch = prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => any::<char>(),
        1 => prop::sample::select(vec!['"', '\\', '/', '\u{0}', '\u{8}', '\u{c}', '\n', '\r', '\t', '\u{1f}', '\u{7f}', '\u{2028}', 'é', '😀', '\u{ffff}', '\u{10ffff}']),
    ];
    (ch, 0u8..4).prop_map(|(c, how)| {
        let must_escape = c == '"' || c == '\\' || (c as u32) < 0x20;
        match (how, must_escape) {
            (0, false) | (1, false) => c.to_string(),
            (2, _) | (0, true) | (1, true) => match c {
                '"' => "\\\"".into(),
                '\\' => "\\\\".into(),
                '/' => "\\/".into(),
                '\n' => "\\n".into(),
                '\u{8}' => "\\b".into(),
                '\u{c}' => "\\f".into(),
                '\r' => "\\r".into(),
                '\t' => "\\t".into(),
                c => u_escape(c, false),
            },
            _ => u_escape(c, true),
        }
    })
}

fn u_escape(c: char, upper: bool) -> String {
    let mut units = [0u16; 2];
    c.encode_utf16(&mut units)
        .iter()
        .map(|u| {
            if upper {
                format!("\\u{u:04X}")
            } else {
                format!("\\u{u:04x}")
            }
        })
        .collect()
}

fn arb_string() -> impl Strategy<Value = String> {
    prop::collection::vec(arb_char_text(), 0..8).prop_map(|parts| format!("\"{}\"", parts.concat()))
}

fn arb_key() -> impl Strategy<Value = String> {
    // A small pool makes duplicates and shared prefixes common.
    prop_oneof![
        3 => prop::sample::select(vec!["a", "b", "ab", "a\\u0062", "\\u0061", "é", "\\u00e9", "A", "", "z", "😀", "\\ud83d\\ude00", "\\uffff", "a\\\"", "a b"])
            .prop_map(|k| format!("\"{k}\"")),
        1 => arb_string(),
    ]
}

fn arb_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        "-?(0|[1-9][0-9]{0,30})",
        "-?(0|[1-9][0-9]{0,20})\\.[0-9]{1,25}",
        "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{1,20})?[eE][+-]?[0-9]{1,3}",
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:e}")),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| {
                let mut b = ryu::Buffer::new();
                b.format(f).to_owned()
            }),
        (any::<u64>(), 0u32..6).prop_map(|(m, e)| format!("{}.{}E-{e}", m % 1000, m)),
    ]
}

fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", " ", "\n  ", "\t", "\r\n"])
}

/// JSON text: leaves of every kind, arrays and objects (duplicate keys included), random
/// whitespace.
fn arb_json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
        arb_number(),
        arb_string(),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec((ws(), inner.clone(), ws()), 0..6).prop_map(|items| {
                let parts: Vec<String> = items
                    .into_iter()
                    .map(|(a, v, b)| format!("{a}{v}{b}"))
                    .collect();
                format!("[{}]", parts.join(","))
            }),
            prop::collection::vec((arb_key(), ws(), inner), 0..6).prop_map(|members| {
                let parts: Vec<String> = members
                    .into_iter()
                    .map(|(k, w, v)| format!("{w}{k}{w}:{w}{v}"))
                    .collect();
                format!("{{{}}}", parts.join(","))
            }),
        ]
    })
}

/// Bytes that matter to a JSON parser, and some that must never appear.
const INTERESTING: &[u8] =
    b"{}[]\",:\\/ 0123456789-+.eEuU\ntfnaxD\x00\x1f\x7f\x80\xbf\xc3\xed\xf0\xff";

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Every generated document: same canonical text and digest as parse-then-canonicalize.
    #[test]
    fn stream_equals_dom_oracle(text in arb_json_text(), lead in ws(), trail in ws()) {
        let doc = format!("{lead}{text}{trail}");
        prop_assert!(oracle(doc.as_bytes()).is_some(), "generator made invalid JSON: {}", doc);
        if let Err(e) = agrees(doc.as_bytes()) {
            return Err(TestCaseError::fail(e));
        }
    }

    /// Values from serde_json's own writer (as rmos and the reference write files).
    #[test]
    fn stream_equals_dom_on_written_values(v in arb_value()) {
        let compact = serde_json::to_vec(&v).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        for bytes in [compact, pretty] {
            prop_assert_eq!(sha256_json_bytes(&bytes).unwrap(), sha256_json(&v));
        }
    }

    /// Damaged documents (bytes deleted, inserted, replaced, cut short): the stream refuses
    /// exactly what the `Value` parser refuses, and agrees on whatever stays valid.
    #[test]
    fn malformed_input_is_refused_like_the_parser(
        text in arb_json_text(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0u8..4, prop::sample::select(INTERESTING.to_vec()), any::<u8>()), 1..4),
    ) {
        let mut bytes = text.into_bytes();
        for (at, op, b, raw) in edits {
            let i = if bytes.is_empty() { 0 } else { at.index(bytes.len()) };
            match op {
                0 if !bytes.is_empty() => { bytes.remove(i); }
                1 => bytes.insert(i, b),
                2 if !bytes.is_empty() => bytes[i] = raw,
                _ => bytes.truncate(i),
            }
        }
        if let Err(e) = agrees(&bytes) {
            return Err(TestCaseError::fail(e));
        }
    }

    /// Arbitrary bytes never panic and never hash.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Err(e) = agrees(&bytes) {
            return Err(TestCaseError::fail(e));
        }
    }
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| serde_json::json!(i)),
        any::<u64>().prop_map(|i| serde_json::json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/\u{2028}\u{7f}a-z]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("\\PC{0,6}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
