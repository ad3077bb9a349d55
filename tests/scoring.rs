//! The feasibility scorer against the reference's vectors, the Art Studio fix, the
//! constraint-first hard limits, fingerprints.

mod common;

use common::read_json;
use rmos::domain::design::Design;
use rmos::scoring::feasibility::{score_design, ScoreContext, ScoreError};
use serde_json::{json, Value};

fn case(name: &str) -> Value {
    let doc = read_json("feasibility_vectors.json");
    doc["scorer_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap()
        .clone()
}

fn run(v: &Value) -> Result<rmos::scoring::feasibility::FeasibilityResult, ScoreError> {
    let design = Design::from_json(&v["design"]).unwrap();
    let ctx = ScoreContext::from_json(&v["ctx"]).unwrap();
    score_design(&design, &ctx, v["workflow_mode"].as_str())
}

/// Numbers compared as doubles (1 and 1.0 alike), everything else exactly.
fn assert_json_eq(got: &Value, want: &Value, path: &str) {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            assert_eq!(
                a.as_f64().unwrap().to_bits(),
                b.as_f64().unwrap().to_bits(),
                "{path}: {a} != {b}"
            )
        }
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<_> = a.keys().collect();
            let kb: Vec<_> = b.keys().collect();
            assert_eq!(ka, kb, "{path}: keys");
            for (k, v) in b {
                assert_json_eq(&a[k], v, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: length");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_json_eq(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(got, want, "{path}"),
    }
}

#[test]
fn every_legacy_design_vector_is_reproduced_exactly() {
    let doc = read_json("feasibility_vectors.json");
    let legacy: Vec<&Value> = doc["scorer_vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["design"].get("ring_count").is_some())
        .collect();
    assert_eq!(legacy.len(), 3);
    for v in legacy {
        let got = serde_json::to_value(run(v).unwrap()).unwrap();
        assert_json_eq(&got, &v["result"], v["name"].as_str().unwrap());
    }
}

#[test]
fn ring_independent_components_match_the_reference_for_art_studio_specs() {
    let doc = read_json("feasibility_vectors.json");
    for v in doc["scorer_vectors"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap();
        if v["design"].get("ring_count").is_some()
            || v["result"].is_null()
            || name.starts_with("saw")
        {
            continue;
        }
        let got = serde_json::to_value(run(v).unwrap()).unwrap();
        for key in ["chipload", "deflection", "rim_speed"] {
            assert_json_eq(
                &got["calculator_results"][key],
                &v["result"]["calculator_results"][key],
                &format!("{name}.{key}"),
            );
        }
        // The reference's mode warning comes first, as there.
        assert_eq!(got["warnings"][0], v["result"]["warnings"][0], "{name}");
    }
}

#[test]
fn art_studio_specs_are_scored_from_their_rings() {
    // The reference scores every Art Studio design 67.73 (ring_count missing). rmos uses the
    // rings: three rings (SOLID/MOSAIC) → heat 4.5, complexity 3.0, channel 8.16 mm.
    let v = case("art_rings_design_first");
    let r = run(&v).unwrap();
    let res = &r.calculator_results;
    assert_eq!(res["heat"]["heat_index"], json!(4.5));
    assert_eq!(res["geometry"]["complexity_index"], json!(3.0));
    assert_eq!(res["rosette_channel"]["channel_width_mm"], json!(8.16));
    assert_eq!(
        res["rosette_channel"]["raw_result"]["stack"]["central_band"]["width_mm"],
        json!(4.5)
    );
    assert_ne!(r.score, 67.73);
    assert!(
        !r.warnings.iter().any(|w| w.contains("calculation failed")),
        "{:?}",
        r.warnings
    );
    // A herringbone ring makes the design more complex than its SOLID neighbours.
    let mut herring = v["design"].clone();
    herring["ring_params"][0]["pattern_type"] = json!("HERRINGBONE");
    let d = Design::from_json(&herring).unwrap();
    let r2 = score_design(
        &d,
        &ScoreContext::from_json(&v["ctx"]).unwrap(),
        Some("design_first"),
    )
    .unwrap();
    assert_eq!(
        r2.calculator_results["geometry"]["complexity_index"],
        json!(4.5)
    );
    // Different designs now score differently: eight spiral rings heat up and get complex.
    let rings: Vec<Value> = (0..8)
        .map(|i| json!({"ring_index": i, "width_mm": 1.5, "pattern_type": "SPIRAL"}))
        .collect();
    let dense = Design::from_json(
        &json!({"outer_diameter_mm": 120, "inner_diameter_mm": 90, "ring_params": rings}),
    )
    .unwrap();
    let r3 = score_design(&dense, &ScoreContext::from_json(&v["ctx"]).unwrap(), None).unwrap();
    assert_eq!(r3.calculator_results["heat"]["score"], json!(75.0));
    assert_eq!(r3.calculator_results["geometry"]["score"], json!(60.0));
    assert!(r3.score < r.score, "{} < {}", r3.score, r.score);
}

#[test]
fn workflow_modes() {
    let base = case("art_default_design_first");
    let with_mode = |mode: Option<&str>| {
        let d = Design::from_json(&base["design"]).unwrap();
        score_design(&d, &ScoreContext::from_json(&base["ctx"]).unwrap(), mode).unwrap()
    };
    assert_eq!(
        with_mode(Some("ai_assisted")).warnings[0],
        "AI-assisted mode: Enhanced recommendations available"
    );
    assert_eq!(
        with_mode(Some("bogus_mode")).warnings[0],
        "Unknown workflow mode: bogus_mode"
    );
    assert!(!with_mode(None).warnings[0].contains("mode"));
    // constraint_first within limits: scored, with its mode warning.
    assert_eq!(
        with_mode(Some("constraint_first")).warnings[0],
        "Constraint-first mode: Operating within hard limits"
    );
}

#[test]
fn constraint_first_hard_limits_score_zero_red() {
    let design = Design::from_json(&json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_count": 3, "pattern_type": "radial", "depth_mm": 16.5})).unwrap();
    let ctx = ScoreContext::from_json(&json!({"material_id": "maple_hard", "tool_id": "vbit", "rpm": 20000, "feed_rate_mm_min": 3500.0, "tool_diameter_mm": 2})).unwrap();
    let r = score_design(&design, &ctx, Some("constraint_first")).unwrap();
    assert_eq!(r.score, 0.0);
    assert_eq!(r.risk_bucket, "RED");
    assert_eq!(
        r.warnings,
        [
            "RPM 20000 exceeds limit 18000",
            "Feed rate 3500.0 exceeds limit 3000",
            "Depth 16.5mm exceeds limit 15.0mm",
            "Tool diameter 2mm below minimum 3.0mm",
            "Constraint-first mode: Hard limits violated",
        ]
    );
    assert_eq!(
        r.calculator_results["limit_violations"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // At the limits exactly: fine.
    let ctx = ScoreContext::from_json(
        &json!({"rpm": 18000, "feed_rate_mm_min": 3000, "tool_diameter_mm": 3}),
    )
    .unwrap();
    let design = Design::from_json(&json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_count": 3, "pattern_type": "radial", "depth_mm": 15})).unwrap();
    assert_ne!(
        score_design(&design, &ctx, Some("constraint_first"))
            .unwrap()
            .risk_bucket,
        "RED"
    );
}

#[test]
fn saw_tools_are_refused_clearly() {
    let err = run(&case("saw_tool_prefix")).unwrap_err();
    assert!(
        err.to_string().contains("saw engine not supported"),
        "{err}"
    );
    let ctx = ScoreContext {
        tool_id: Some("SAW:blade".into()),
        ..Default::default()
    };
    let d = Design::from_json(&json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20})).unwrap();
    assert!(
        score_design(&d, &ctx, None).is_err(),
        "case-insensitive prefix"
    );
}

#[test]
fn design_validation_matches_the_reference_models() {
    for (bad, needle) in [
        (
            json!({"outer_diameter_mm": 0, "inner_diameter_mm": 20}),
            "greater than 0",
        ),
        (
            json!({"outer_diameter_mm": 100, "inner_diameter_mm": -1}),
            "greater than 0",
        ),
        (
            json!({"outer_diameter_mm": 100}),
            "missing field \"inner_diameter_mm\"",
        ),
        (
            json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20, "color": "red"}),
            "unknown field \"color\"",
        ),
        (
            json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_params": [{"ring_index": -1, "width_mm": 2}]}),
            "ring_index must be 0 or more",
        ),
        (
            json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_params": [{"ring_index": 0, "width_mm": 0}]}),
            "width_mm must be greater than 0",
        ),
        (
            json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_params": [{"ring_index": 0, "width_mm": 1, "tile_length_mm": 0.05}]}),
            "at least 0.1",
        ),
        (
            json!({"outer_diameter_mm": 100, "inner_diameter_mm": 20, "ring_params": [{"ring_index": 0, "width_mm": 1, "extra": 1}]}),
            "unknown field \"extra\"",
        ),
        (
            json!({"outer_diameter_mm": "100", "inner_diameter_mm": 20}),
            "must be a number",
        ),
        (json!([1, 2]), "must be an object"),
    ] {
        let e = Design::from_json(&bad).unwrap_err();
        assert!(
            matches!(&e, rmos::domain::DomainError::Design(m) if m.contains(needle)),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn design_fingerprints_match_the_vectors() {
    let doc = read_json("feasibility_vectors.json");
    let vectors = doc["design_fingerprint_vectors"].as_array().unwrap();
    assert!(vectors.len() >= 4);
    for v in vectors {
        let Design::Spec(spec) = Design::from_json(&v["spec_input"]).unwrap() else {
            panic!("spec")
        };
        assert_eq!(spec.canonical_dump(), v["preimage"].as_str().unwrap());
        assert_eq!(
            spec.fingerprint(),
            v["design_fingerprint"].as_str().unwrap()
        );
    }
    for v in doc["art_studio_summary_vectors"].as_array().unwrap() {
        let Design::Spec(spec) = Design::from_json(&v["spec"]).unwrap() else {
            panic!("spec")
        };
        assert_eq!(
            spec.fingerprint(),
            v["design_fingerprint"].as_str().unwrap()
        );
    }
}

#[test]
fn ring_pattern_type_defaults_when_missing_and_is_refused_when_null() {
    // RosetteParamSpec's RingParam has `pattern_type: str = "SOLID"`: missing → SOLID,
    // null → a validation error (pydantic refuses None for a str field).
    let ring = |extra: &str| {
        let text = format!(
            r#"{{"outer_diameter_mm": 100, "inner_diameter_mm": 80, "ring_params": [{{"ring_index": 0, "width_mm": 2{extra}}}]}}"#
        );
        Design::from_json(&serde_json::from_str(&text).unwrap())
    };
    let missing = ring("").unwrap();
    let solid = ring(r#", "pattern_type": "SOLID""#).unwrap();
    assert_eq!(format!("{missing:?}"), format!("{solid:?}"));
    let err = ring(r#", "pattern_type": null"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("ring_params[0].pattern_type must be a string, got null"),
        "{err}"
    );
    assert!(ring(r#", "pattern_type": 3"#).is_err());
}
