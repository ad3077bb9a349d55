//! The rosette feasibility scorer (REFERENCE.md §5.1): six weighted components — chipload,
//! heat, deflection, rim speed, geometry complexity, channel — with the reference's
//! formulas, score bands, warning texts and Python-identical rounding.
//!
//! Deliberate differences: an Art Studio `RosetteParamSpec` is scored from its rings
//! (ring count = number of rings; pattern multiplier = the most complex ring pattern;
//! channel stack = the ring widths) instead of failing the heat and geometry components and
//! scoring every design 67.73; `constraint_first` applies the hard limits the reference
//! intended instead of crashing; a `saw:` tool is refused clearly (the Saw Lab engine is
//! out of scope). Legacy designs with `ring_count` reproduce the reference exactly.

use crate::domain::design::{Design, LegacyDesign, RosetteParamSpec};
use crate::hashing::{py_number, python_float_repr, PyNumber};
use serde::Serialize;
use serde_json::{json, Map, Number, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The truncated π the reference uses in its efficiency areas. It cancels in the ratio
/// only up to rounding, so it is kept to reproduce the reference's figures exactly.
#[allow(clippy::approx_constant)]
const REFERENCE_PI: f64 = 3.14159;

/// Manufacturing context of a score.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreContext {
    pub material_id: Option<String>,
    pub tool_id: Option<String>,
    pub tool_diameter_mm: Option<Number>,
    /// Spindle speed, checked in `constraint_first` mode.
    pub rpm: Option<Number>,
    /// Feed rate, checked in `constraint_first` mode.
    pub feed_rate_mm_min: Option<Number>,
}

impl ScoreContext {
    /// Parse `{material_id, tool_id, tool_diameter_mm, rpm, feed_rate_mm_min, …}`; the
    /// reference's other context keys (`machine_profile_id`, `use_shapely_geometry`) are
    /// accepted and ignored.
    pub fn from_json(v: &Value) -> Result<ScoreContext, super::RequestError> {
        ScoreContext::parse(v).map_err(super::RequestError::Field)
    }

    fn parse(v: &Value) -> Result<ScoreContext, String> {
        let Value::Object(m) = v else {
            return Err("ctx must be an object".into());
        };
        let allowed = [
            "material_id",
            "tool_id",
            "tool_diameter_mm",
            "rpm",
            "feed_rate_mm_min",
            "machine_profile_id",
            "use_shapely_geometry",
        ];
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "ctx: unknown field {k:?} (allowed: {})",
                allowed.join(", ")
            ));
        }
        let text = |k: &str| -> Result<Option<String>, String> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(format!("ctx.{k} must be a string")),
            }
        };
        let number = |k: &str| -> Result<Option<Number>, String> {
            match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) if n_f64(n).is_finite() => Ok(Some(n.clone())),
                Some(_) => Err(format!("ctx.{k} must be a number")),
            }
        };
        Ok(ScoreContext {
            material_id: text("material_id")?,
            tool_id: text("tool_id")?,
            tool_diameter_mm: number("tool_diameter_mm")?,
            rpm: number("rpm")?,
            feed_rate_mm_min: number("feed_rate_mm_min")?,
        })
    }

    /// The Art Studio routes' defaults.
    pub fn art_studio_defaults() -> ScoreContext {
        ScoreContext {
            material_id: Some("default-ebony".into()),
            tool_id: Some("default-vbit".into()),
            ..Default::default()
        }
    }
}

fn n_f64(n: &Number) -> f64 {
    match py_number(n) {
        PyNumber::Float(f) => f,
        PyNumber::Int(s) => s.parse().unwrap_or(f64::NAN),
    }
}

/// Python's `str()` of a JSON number (`20000`, `2.5`, `3.0`).
fn py_str(n: &Number) -> String {
    match py_number(n) {
        PyNumber::Float(f) => python_float_repr(f),
        PyNumber::Int(s) => s,
    }
}

/// Python's `round(x, digits)`: correctly rounded, ties to even on the exact value.
pub fn py_round(x: f64, digits: usize) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.digits$}").parse().unwrap_or(x)
}

/// `RmosFeasibilityResult`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeasibilityResult {
    pub score: f64,
    pub risk_bucket: String,
    pub warnings: Vec<String>,
    pub efficiency: Option<f64>,
    pub estimated_cut_time_seconds: Option<f64>,
    pub calculator_results: Map<String, Value>,
}

/// Why a design could not be scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    #[error("saw engine not supported: tool {0:?} selects the Saw Lab engine, which rmos does not implement; score saw operations in the reference, or use a router tool id")]
    SawNotSupported(String),
}

#[derive(Debug, Clone, Copy)]
struct MaterialLimit {
    roughing_max_mm_min: f64,
    min_rpm: i64,
    max_rpm: i64,
}

/// The material limits table shipped in `assets/material_limits.json`.
fn material_limits() -> &'static BTreeMap<String, MaterialLimit> {
    static TABLE: OnceLock<BTreeMap<String, MaterialLimit>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let doc: Value = serde_json::from_str(include_str!("../../assets/material_limits.json"))
            .expect("assets/material_limits.json is valid JSON");
        doc["limits"]
            .as_object()
            .expect("limits table")
            .iter()
            .map(|(k, v)| {
                let f = |key: &str| v[key].as_f64().expect("numeric limit");
                (
                    k.clone(),
                    MaterialLimit {
                        roughing_max_mm_min: f("roughing_max_mm_min"),
                        min_rpm: f("min_rpm") as i64,
                        max_rpm: f("max_rpm") as i64,
                    },
                )
            })
            .collect()
    })
}

/// Spindle rpm and feed the scorer assumes for a material (defaults 18000 / 1200).
fn speeds(ctx: &ScoreContext) -> (f64, f64) {
    match ctx
        .material_id
        .as_deref()
        .filter(|m| !m.is_empty())
        .and_then(|m| material_limits().get(m))
    {
        Some(l) => (
            (l.min_rpm + l.max_rpm).div_euclid(2) as f64,
            l.roughing_max_mm_min * 0.5,
        ),
        None => (18000.0, 1200.0),
    }
}

/// What the components read from a design.
struct Features {
    outer: f64,
    inner: f64,
    ring_count: i64,
    pattern_multiplier: f64,
    /// `rosette_calc` params: central band and purfling layers.
    central: Map<String, Value>,
    inner_layers: Vec<Value>,
    outer_layers: Vec<Value>,
}

fn multiplier(pattern: &str) -> f64 {
    match pattern {
        "herringbone" => 1.5,
        "spiral" => 1.3,
        "hexagonal" => 1.2,
        _ => 1.0,
    }
}

fn band(width: Value, thickness: f64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("width_mm".into(), width);
    m.insert("thickness_mm".into(), json!(thickness));
    m
}

fn legacy_band(outer: f64, inner: f64, ring_count: i64) -> Map<String, Value> {
    let channel_width = (outer - inner) / 2.0;
    band(json!(channel_width / (ring_count.max(1) as f64)), 1.0)
}

impl Features {
    fn of(design: &Design) -> Features {
        match design {
            Design::Legacy(LegacyDesign {
                outer_diameter_mm,
                inner_diameter_mm,
                ring_count,
                pattern_type,
                central_band,
                ..
            }) => {
                Features {
                    outer: *outer_diameter_mm,
                    inner: *inner_diameter_mm,
                    ring_count: *ring_count,
                    // dict.get(pattern_type): exact, case-sensitive.
                    pattern_multiplier: multiplier(pattern_type),
                    central: central_band.clone().unwrap_or_else(|| {
                        legacy_band(*outer_diameter_mm, *inner_diameter_mm, *ring_count)
                    }),
                    inner_layers: Vec::new(),
                    outer_layers: Vec::new(),
                }
            }
            Design::Spec(RosetteParamSpec {
                outer_diameter_mm,
                inner_diameter_mm,
                ring_params,
            }) => {
                let ring_count = ring_params.len() as i64;
                let pattern_multiplier = ring_params
                    .iter()
                    .map(|r| multiplier(&r.pattern_type.to_lowercase()))
                    .fold(1.0, f64::max);
                let mut rings = ring_params.clone();
                rings.sort_by_key(|r| r.ring_index);
                let (central, inner_layers, outer_layers) =
                    match rings
                        .iter()
                        .enumerate()
                        .fold(None::<(usize, f64)>, |best, (i, r)| match best {
                            Some((_, w)) if w >= r.width_mm => best,
                            _ => Some((i, r.width_mm)),
                        }) {
                        // The widest ring is the central band, the others purfling either side.
                        Some((c, _)) => {
                            let layer = |r: &crate::domain::design::RingParam| {
                                Value::Object(band(json!(r.width_mm), 1.0))
                            };
                            (
                                band(json!(rings[c].width_mm), 1.0),
                                rings[..c].iter().map(layer).collect(),
                                rings[c + 1..].iter().map(layer).collect(),
                            )
                        }
                        None => (
                            legacy_band(*outer_diameter_mm, *inner_diameter_mm, 0),
                            Vec::new(),
                            Vec::new(),
                        ),
                    };
                Features {
                    outer: *outer_diameter_mm,
                    inner: *inner_diameter_mm,
                    ring_count,
                    pattern_multiplier,
                    central,
                    inner_layers,
                    outer_layers,
                }
            }
        }
    }
}

fn risk_of(score: f64) -> &'static str {
    if score >= 80.0 {
        "GREEN"
    } else if score >= 50.0 {
        "YELLOW"
    } else {
        "RED"
    }
}

fn value_f64(v: Option<&Value>, default: f64) -> f64 {
    match v {
        Some(Value::Number(n)) => n_f64(n),
        _ => default,
    }
}

/// `rosette_calc.compute`: channel width = Σ layer widths + 2 × glue clearance, depth =
/// thickest layer + exposure, both rounded to 3 decimals.
fn rosette_channel(f: &Features) -> (f64, f64, Value) {
    let glue = 0.08;
    let exposure = 0.15;
    let sum = |rows: &[Value]| {
        rows.iter()
            .fold(0.0, |acc, r| acc + value_f64(r.get("width_mm"), 0.0))
    };
    let w = sum(&f.inner_layers)
        + value_f64(f.central.get("width_mm"), 18.0)
        + sum(&f.outer_layers)
        + 2.0 * glue;
    let central_t = value_f64(f.central.get("thickness_mm"), 1.0);
    let d = f
        .inner_layers
        .iter()
        .chain(&f.outer_layers)
        .map(|r| value_f64(r.get("thickness_mm"), 1.0))
        .fold(central_t, f64::max)
        + exposure;
    let (w, d) = (py_round(w, 3), py_round(d, 3));
    let raw = json!({
        "soundhole_diameter_mm": f.outer,
        "channel_width_mm": w,
        "channel_depth_mm": d,
        "stack": {"inner_purfling": f.inner_layers, "central_band": f.central, "outer_purfling": f.outer_layers},
    });
    (w, d, raw)
}

/// Score a design (`score_design_feasibility`).
pub fn score_design(
    design: &Design,
    ctx: &ScoreContext,
    workflow_mode: Option<&str>,
) -> Result<FeasibilityResult, ScoreError> {
    let mut mode_warnings = Vec::new();
    match workflow_mode.filter(|m| !m.is_empty()) {
        None => {}
        Some("design_first") => mode_warnings
            .push("Design-first mode: Full scoring applied, no hard limits enforced".to_owned()),
        Some("ai_assisted") => {
            mode_warnings.push("AI-assisted mode: Enhanced recommendations available".to_owned())
        }
        Some("constraint_first") => {
            let violations = hard_limit_violations(design, ctx);
            if !violations.is_empty() {
                let mut warnings = violations.clone();
                warnings.push("Constraint-first mode: Hard limits violated".into());
                let mut results = Map::new();
                results.insert("limit_violations".into(), json!(violations));
                return Ok(FeasibilityResult {
                    score: 0.0,
                    risk_bucket: "RED".into(),
                    warnings,
                    efficiency: Some(0.0),
                    estimated_cut_time_seconds: Some(0.0),
                    calculator_results: results,
                });
            }
            mode_warnings.push("Constraint-first mode: Operating within hard limits".to_owned());
        }
        Some(other) => mode_warnings.push(format!("Unknown workflow mode: {other}")),
    }
    if let Some(tool) = ctx.tool_id.as_deref() {
        if tool.to_lowercase().starts_with("saw:") {
            return Err(ScoreError::SawNotSupported(tool.to_owned()));
        }
    }
    let mut result = score_router(design, ctx);
    mode_warnings.append(&mut result.warnings);
    result.warnings = mode_warnings;
    Ok(result)
}

/// The hard limits `constraint_first` enforces: rpm ≤ 18000, feed ≤ 3000 mm/min,
/// depth ≤ 15 mm, tool Ø ≥ 3 mm (on the values given in the context or design).
pub fn hard_limit_violations(design: &Design, ctx: &ScoreContext) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(rpm) = &ctx.rpm {
        if n_f64(rpm) > 18000.0 {
            v.push(format!("RPM {} exceeds limit 18000", py_str(rpm)));
        }
    }
    if let Some(feed) = &ctx.feed_rate_mm_min {
        if n_f64(feed) > 3000.0 {
            v.push(format!("Feed rate {} exceeds limit 3000", py_str(feed)));
        }
    }
    if let Design::Legacy(LegacyDesign {
        depth_mm: Some(d), ..
    }) = design
    {
        if *d > 15.0 {
            v.push(format!(
                "Depth {}mm exceeds limit 15.0mm",
                python_float_repr(*d)
            ));
        }
    }
    if let Some(t) = &ctx.tool_diameter_mm {
        let d = n_f64(t);
        if d != 0.0 && d < 3.0 {
            v.push(format!("Tool diameter {}mm below minimum 3.0mm", py_str(t)));
        }
    }
    v
}

fn score_router(design: &Design, ctx: &ScoreContext) -> FeasibilityResult {
    let f = Features::of(design);
    let (rpm, feed) = speeds(ctx);
    let mut results = Map::new();
    let mut warnings = Vec::new();
    let mut sum_sw = 0.0;
    let mut sum_w = 0.0;
    let mut risks: Vec<&str> = Vec::new();
    let mut add = |key: &str,
                   label: &str,
                   weight: f64,
                   body: Map<String, Value>,
                   warnings: &mut Vec<String>| {
        let score = value_f64(body.get("score"), 100.0);
        sum_sw += score * weight;
        sum_w += weight;
        risks.push(risk_of(score));
        if let Some(Value::String(w)) = body.get("warning") {
            warnings.push(format!("{label}: {w}"));
        }
        results.insert(key.into(), Value::Object(body));
    };
    let component =
        |score: f64, metric: &str, value: f64, warning: Option<String>| -> Map<String, Value> {
            let mut m = Map::new();
            m.insert("score".into(), json!(score));
            m.insert(metric.into(), json!(value));
            m.insert("warning".into(), json!(warning));
            m
        };

    // 1. Chipload (0.30)
    let chip = feed / (rpm * 2.0);
    let (s, w) = if (0.05..=0.15).contains(&chip) {
        (100.0, None)
    } else if chip < 0.05 {
        (
            60.0,
            Some(format!(
                "Chipload too low ({chip:.3} mm); may cause burning"
            )),
        )
    } else {
        (
            50.0,
            Some(format!(
                "Chipload too high ({chip:.3} mm); may cause tear-out"
            )),
        )
    };
    add(
        "chipload",
        "Chipload",
        0.3,
        component(s, "chipload_mm", py_round(chip, 4), w),
        &mut warnings,
    );

    // 2. Heat (0.25)
    let heat = f.ring_count as f64 * 1.5;
    let (s, w) = if heat < 10.0 {
        (100.0, None)
    } else if heat < 20.0 {
        (
            75.0,
            Some("Moderate heat generation; consider coolant".to_owned()),
        )
    } else {
        (
            40.0,
            Some("High heat generation; coolant required".to_owned()),
        )
    };
    add(
        "heat",
        "Heat",
        0.25,
        component(s, "heat_index", py_round(heat, 2), w),
        &mut warnings,
    );

    // 3. Deflection (0.20): fixed 6 mm tool, 25 mm stickout, 3 mm cut.
    let deflection = (25.0f64 * 25.0 * 25.0) / (6.0f64 * 6.0 * 6.0 * 6.0) * 3.0 / 10000.0;
    let (s, w) = if deflection < 0.02 {
        (100.0, None)
    } else if deflection < 0.05 {
        (
            70.0,
            Some(format!(
                "Moderate deflection ({deflection:.3} mm); reduce cut depth"
            )),
        )
    } else {
        (
            30.0,
            Some(format!(
                "Excessive deflection ({deflection:.3} mm); use larger tool or reduce stickout"
            )),
        )
    };
    add(
        "deflection",
        "Deflection",
        0.2,
        component(s, "deflection_mm", py_round(deflection, 4), w),
        &mut warnings,
    );

    // 4. Rim speed (0.15)
    let v = std::f64::consts::PI * f.outer * rpm / 1000.0;
    let (s, w) = if (30.0..=100.0).contains(&v) {
        (100.0, None)
    } else if v < 30.0 {
        (
            80.0,
            Some(format!("Low rim speed ({v:.1} m/min); consider higher RPM")),
        )
    } else {
        (
            60.0,
            Some(format!(
                "High rim speed ({v:.1} m/min); reduce RPM to prevent burning"
            )),
        )
    };
    add(
        "rim_speed",
        "Rim Speed",
        0.15,
        component(s, "rim_speed_m_per_min", py_round(v, 2), w),
        &mut warnings,
    );

    // 5. Geometry complexity (0.10)
    let complexity = f.ring_count as f64 * f.pattern_multiplier;
    let (s, w) = if complexity < 5.0 {
        (100.0, None)
    } else if complexity < 10.0 {
        (
            80.0,
            Some("Moderate complexity; verify toolpath before cutting".to_owned()),
        )
    } else {
        (
            60.0,
            Some("High complexity; extended machining time expected".to_owned()),
        )
    };
    add(
        "geometry",
        "Geometry",
        0.1,
        component(s, "complexity_index", py_round(complexity, 2), w),
        &mut warnings,
    );

    // 6. Rosette channel (0.10)
    let (cw, cd, raw) = rosette_channel(&f);
    let tool = ctx
        .tool_diameter_mm
        .as_ref()
        .map(n_f64)
        .filter(|d| *d != 0.0);
    let tool_text = ctx
        .tool_diameter_mm
        .as_ref()
        .filter(|_| tool.is_some())
        .map(py_str)
        .unwrap_or_else(|| "6.0".into());
    let tool = tool.unwrap_or(6.0);
    let mut s = 100.0;
    let mut ws = Vec::new();
    if cw > 0.0 && cw < tool * 1.2 {
        s -= 20.0;
        ws.push(format!(
            "Channel width ({cw:.1}mm) near tool diameter ({tool_text}mm)"
        ));
    }
    if cd > 5.0 {
        s -= 15.0;
        ws.push(format!(
            "Channel depth ({cd:.1}mm) exceeds 5mm - multiple passes needed"
        ));
    } else if cd > 3.0 {
        s -= 5.0;
        ws.push(format!(
            "Channel depth ({cd:.1}mm) may need stepdown passes"
        ));
    }
    if cw > 0.0 && cw < 3.0 {
        s -= 25.0;
        ws.push(format!(
            "Very narrow channel ({cw:.1}mm) - may need smaller tool"
        ));
    }
    let mut channel = Map::new();
    channel.insert("score".into(), json!(f64::max(0.0, s)));
    channel.insert("channel_width_mm".into(), json!(cw));
    channel.insert("channel_depth_mm".into(), json!(cd));
    channel.insert(
        "warning".into(),
        json!(if ws.is_empty() {
            None
        } else {
            Some(ws.join("; "))
        }),
    );
    channel.insert("raw_result".into(), raw);
    add("rosette_channel", "Channel", 0.1, channel, &mut warnings);

    let score = if sum_w > 0.0 {
        py_round(sum_sw / sum_w, 2)
    } else {
        50.0
    };
    let risk = if risks.contains(&"RED") {
        "RED"
    } else if risks.contains(&"YELLOW") {
        "YELLOW"
    } else {
        "GREEN"
    };
    // Efficiency: the rosette annulus against its bounding circle.
    let efficiency = if cw > 0.0 {
        let ro = f.outer / 2.0 + cw / 2.0;
        let ri = f.inner / 2.0 - cw / 2.0;
        let rosette_area = REFERENCE_PI * (ro * ro - ri * ri);
        let bounding_area = REFERENCE_PI * (ro * ro);
        py_round(rosette_area / bounding_area * 100.0, 2)
    } else {
        let outer_area = REFERENCE_PI * ((f.outer / 2.0) * (f.outer / 2.0));
        let inner_area = REFERENCE_PI * ((f.inner / 2.0) * (f.inner / 2.0));
        py_round((outer_area - inner_area) / outer_area * 100.0, 2)
    };
    let perimeter = std::f64::consts::PI * f.outer;
    let minutes = perimeter * f.ring_count as f64 * 2.0 / 1200.0;
    let cut_time = py_round(minutes * 60.0, 2);
    FeasibilityResult {
        score,
        risk_bucket: risk.into(),
        warnings,
        efficiency: Some(efficiency),
        estimated_cut_time_seconds: Some(cut_time),
        calculator_results: results,
    }
}

/// The Art Studio `RosetteFeasibilitySummary` of a result (what runs record).
pub fn art_studio_summary(r: &FeasibilityResult) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("suggestion_id".into(), Value::Null);
    m.insert("run_id".into(), Value::Null);
    m.insert("overall_score".into(), json!(r.score));
    m.insert("risk_bucket".into(), json!(r.risk_bucket));
    // The reference's wrapper (`art_studio/services/rosette/rosette_manufacturing.py`,
    // `check_feasibility`) writes `result.efficiency or 85.0` and
    // `(result.estimated_cut_time_seconds or 300.0) / 60.0`: Python's `or` replaces a
    // zero as well as a missing value, so a design with no rings (0 s) records 5.0 min.
    let or = |v: Option<f64>, default: f64| match v {
        Some(x) if x != 0.0 => x,
        _ => default,
    };
    m.insert("material_efficiency".into(), json!(or(r.efficiency, 85.0)));
    m.insert(
        "estimated_cut_time_min".into(),
        json!(or(r.estimated_cut_time_seconds, 300.0) / 60.0),
    );
    m.insert("warnings".into(), json!(r.warnings));
    m
}
