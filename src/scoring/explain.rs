//! A recorded feasibility result explained: the six scoring components as rows (score,
//! the measured value, the warning, the weight), the weighted total and how the bucket
//! was chosen — for the console's details pane and `rmos logs show`. It reads what the
//! run recorded, so results of other scorer versions are shown as they are (components
//! this version does not know are listed without a weight).

use serde_json::{Map, Value};

/// The components of the reference's rosette scorer, in its order, with their weights.
pub const COMPONENTS: [(&str, &str, f64); 6] = [
    ("chipload", "chipload", 0.30),
    ("heat", "heat", 0.25),
    ("deflection", "deflection", 0.20),
    ("rim_speed", "rim speed", 0.15),
    ("geometry", "geometry", 0.10),
    ("rosette_channel", "channel", 0.10),
];

/// Score at or above which a component is GREEN (YELLOW at or above [`YELLOW_FROM`]).
pub const GREEN_FROM: f64 = 80.0;
pub const YELLOW_FROM: f64 = 50.0;

/// One component of a recorded result.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentRow {
    pub key: String,
    pub label: String,
    pub weight: Option<f64>,
    pub score: Option<f64>,
    /// The measured value that decided the score: (name, value), e.g. ("heat_index", 12).
    pub measured: Vec<(String, Value)>,
    pub warning: Option<String>,
}

impl ComponentRow {
    /// What was measured, in words: `chipload_mm 0.0395, heat_index 3.0`.
    pub fn measured_text(&self) -> String {
        self.measured
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k} {}",
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The component's own bucket, as the scorer assigns it.
    pub fn bucket(&self) -> Option<&'static str> {
        self.score.map(|s| {
            if s >= GREEN_FROM {
                "GREEN"
            } else if s >= YELLOW_FROM {
                "YELLOW"
            } else {
                "RED"
            }
        })
    }
}

/// A recorded feasibility result, explained.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    pub rows: Vec<ComponentRow>,
    /// Σ score·weight / Σ weight over the rows with both (what the scorer computes).
    pub weighted: Option<f64>,
    /// The score and bucket the run recorded.
    pub recorded_score: Option<f64>,
    pub recorded_bucket: Option<String>,
}

impl Breakdown {
    /// How the bucket follows from the rows, in words.
    pub fn rule(&self) -> String {
        format!("the worst component's (GREEN ≥ {GREEN_FROM}, YELLOW ≥ {YELLOW_FROM}, RED below)")
    }
}

/// The component rows of a feasibility block (`feasibility.details` as the scorer writes
/// it), or None when it has none (a blocked run, a snapshot run without scoring).
pub fn breakdown(feasibility: &Map<String, Value>) -> Option<Breakdown> {
    let details = feasibility.get("details")?.as_object()?;
    let mut keys: Vec<&String> = Vec::new();
    for (k, _, _) in COMPONENTS {
        if let Some((key, _)) = details.get_key_value(k) {
            keys.push(key);
        }
    }
    for (k, v) in details {
        if !keys.contains(&k) && v.as_object().is_some_and(|m| m.contains_key("score")) {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        return None;
    }
    let rows: Vec<ComponentRow> = keys
        .into_iter()
        .map(|k| {
            let body = details[k].as_object().cloned().unwrap_or_default();
            let known = COMPONENTS.iter().find(|(key, _, _)| key == k);
            ComponentRow {
                key: k.clone(),
                label: known.map_or_else(|| k.replace('_', " "), |(_, l, _)| (*l).to_owned()),
                weight: known.map(|(_, _, w)| *w),
                score: body.get("score").and_then(Value::as_f64),
                measured: body
                    .iter()
                    .filter(|(name, v)| {
                        !matches!(name.as_str(), "score" | "warning" | "raw_result")
                            && (v.is_number() || v.is_string() || v.is_boolean())
                    })
                    .map(|(name, v)| (name.clone(), v.clone()))
                    .collect(),
                warning: body
                    .get("warning")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }
        })
        .collect();
    let (sum, weights) = rows
        .iter()
        .filter_map(|r| Some((r.score?, r.weight?)))
        .fold((0.0, 0.0), |(s, w), (score, weight)| {
            (s + score * weight, w + weight)
        });
    Some(Breakdown {
        weighted: (weights > 0.0).then(|| (sum / weights * 100.0).round() / 100.0),
        recorded_score: feasibility
            .get("overall_score")
            .or_else(|| feasibility.get("score"))
            .and_then(Value::as_f64),
        recorded_bucket: feasibility
            .get("risk_bucket")
            .or_else(|| feasibility.get("risk_level"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::design::Design;
    use crate::scoring::feasibility::{art_studio_summary, score_design, ScoreContext};
    use serde_json::json;

    #[test]
    fn a_scored_design_explains_to_its_own_total() {
        let design = Design::from_json(&json!({
            "outer_diameter_mm": 120, "inner_diameter_mm": 90,
            "ring_params": [{"ring_index": 0, "width_mm": 4.5}, {"ring_index": 1, "width_mm": 1.5}]
        }))
        .unwrap();
        let r = score_design(&design, &ScoreContext::art_studio_defaults(), None).unwrap();
        // As score_and_record records it: the summary plus the calculators' results.
        let mut summary = art_studio_summary(&r);
        summary.insert(
            "details".into(),
            Value::Object(r.calculator_results.clone()),
        );
        let b = breakdown(&summary).expect("components");
        let keys: Vec<&str> = b.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "chipload",
                "heat",
                "deflection",
                "rim_speed",
                "geometry",
                "rosette_channel"
            ]
        );
        assert_eq!(b.weighted, b.recorded_score, "{b:?}");
        let worst = b
            .rows
            .iter()
            .filter_map(ComponentRow::bucket)
            .max_by_key(|k| ["GREEN", "YELLOW", "RED"].iter().position(|x| x == k))
            .unwrap();
        assert_eq!(Some(worst), b.recorded_bucket.as_deref());
        assert!(b.rows[0].measured.iter().any(|(k, _)| k == "chipload_mm"));
    }

    #[test]
    fn unknown_components_are_listed_and_empty_details_are_none() {
        let f = json!({"details": {"heat": {"score": 40, "heat_index": 30}, "novel": {"score": 10, "x": 1}}});
        let b = breakdown(f.as_object().unwrap()).unwrap();
        assert_eq!(b.rows.len(), 2);
        assert_eq!(b.rows[1].weight, None);
        assert_eq!(b.rows[0].bucket(), Some("RED"));
        assert_eq!(b.weighted, Some(40.0));
        assert!(breakdown(json!({"details": {"note": "x"}}).as_object().unwrap()).is_none());
        assert!(breakdown(&Map::new()).is_none());
    }
}
