//! Rosette designs as the scorer receives them: the Art Studio `RosetteParamSpec` and the
//! legacy design form (`ring_count`, `pattern_type`), with the reference's validation, and
//! the design fingerprint.

use super::DomainError;
use crate::hashing::{py_number, sha256_text, PyNumber};
use serde_json::{Map, Value};

/// One ring of an Art Studio rosette.
#[derive(Debug, Clone, PartialEq)]
pub struct RingParam {
    pub ring_index: i64,
    pub width_mm: f64,
    pub pattern_type: String,
    pub tile_length_mm: Option<f64>,
}

/// The Art Studio `RosetteParamSpec` (unknown keys rejected).
#[derive(Debug, Clone, PartialEq)]
pub struct RosetteParamSpec {
    pub outer_diameter_mm: f64,
    pub inner_diameter_mm: f64,
    pub ring_params: Vec<RingParam>,
}

/// The legacy design form the reference's calculators read by attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyDesign {
    pub outer_diameter_mm: f64,
    pub inner_diameter_mm: f64,
    pub ring_count: i64,
    pub pattern_type: String,
    /// `central_band` passed through to the channel calculator as given.
    pub central_band: Option<Map<String, Value>>,
    pub depth_mm: Option<f64>,
}

/// A design to score.
#[derive(Debug, Clone, PartialEq)]
pub enum Design {
    Spec(RosetteParamSpec),
    Legacy(LegacyDesign),
}

fn num(v: &Value, path: &str) -> Result<f64, String> {
    match v {
        Value::Number(n) => match py_number(n) {
            PyNumber::Float(f) if f.is_finite() => Ok(f),
            PyNumber::Int(s) => s
                .parse::<f64>()
                .map_err(|_| format!("{path} is not a number")),
            _ => Err(format!("{path} must be a finite number")),
        },
        _ => Err(format!("{path} must be a number, got {}", type_name(v))),
    }
}

fn int(v: &Value, path: &str) -> Result<i64, String> {
    match v {
        Value::Number(n) => match py_number(n) {
            PyNumber::Int(s) => s
                .parse::<i64>()
                .map_err(|_| format!("{path} is out of range")),
            PyNumber::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(f as i64),
            _ => Err(format!("{path} must be a whole number")),
        },
        _ => Err(format!("{path} must be an integer, got {}", type_name(v))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn positive(v: f64, path: &str) -> Result<f64, String> {
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{path} must be greater than 0, got {v}"))
    }
}

/// An optional string field (`null` counts as absent).
fn opt_string(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{path} must be a string, got {}", type_name(other))),
    }
}

fn reject_unknown(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "{what}: unknown field {k:?} (allowed: {})",
            allowed.join(", ")
        )),
        None => Ok(()),
    }
}

/// The required positive `outer_diameter_mm` and `inner_diameter_mm` of either form.
fn diameters(m: &Map<String, Value>, what: &str) -> Result<(f64, f64), String> {
    let get = |key: &str| positive(num(required(m, key, what)?, key)?, key);
    Ok((get("outer_diameter_mm")?, get("inner_diameter_mm")?))
}

fn required<'a>(m: &'a Map<String, Value>, key: &str, what: &str) -> Result<&'a Value, String> {
    m.get(key)
        .ok_or_else(|| format!("{what}: missing field {key:?}"))
}

impl Design {
    /// Parse a design: the legacy form when it has `ring_count` or `pattern_type`, the
    /// Art Studio `RosetteParamSpec` otherwise.
    pub fn from_json(v: &Value) -> Result<Design, DomainError> {
        Design::parse(v).map_err(DomainError::Design)
    }

    fn parse(v: &Value) -> Result<Design, String> {
        let Value::Object(m) = v else {
            return Err(format!("design must be an object, got {}", type_name(v)));
        };
        if m.contains_key("ring_count") || m.contains_key("pattern_type") {
            return LegacyDesign::from_map(m).map(Design::Legacy);
        }
        RosetteParamSpec::parse(m).map(Design::Spec)
    }

    pub fn outer_diameter_mm(&self) -> f64 {
        match self {
            Design::Spec(s) => s.outer_diameter_mm,
            Design::Legacy(l) => l.outer_diameter_mm,
        }
    }

    pub fn inner_diameter_mm(&self) -> f64 {
        match self {
            Design::Spec(s) => s.inner_diameter_mm,
            Design::Legacy(l) => l.inner_diameter_mm,
        }
    }
}

impl RosetteParamSpec {
    /// Validate an Art Studio design object (unknown keys refused, as the reference's
    /// model does).
    pub fn from_map(m: &Map<String, Value>) -> Result<RosetteParamSpec, DomainError> {
        RosetteParamSpec::parse(m).map_err(DomainError::Design)
    }

    fn parse(m: &Map<String, Value>) -> Result<RosetteParamSpec, String> {
        const W: &str = "RosetteParamSpec";
        reject_unknown(
            m,
            &["outer_diameter_mm", "inner_diameter_mm", "ring_params"],
            W,
        )?;
        let (outer, inner) = diameters(m, W)?;
        let rings = match m.get("ring_params") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, r)| RingParam::from_json(r, i))
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(format!(
                    "ring_params must be a list, got {}",
                    type_name(other)
                ))
            }
        };
        Ok(RosetteParamSpec {
            outer_diameter_mm: outer,
            inner_diameter_mm: inner,
            ring_params: rings,
        })
    }

    /// `model_dump_json(exclude_none=True)`: compact, declaration order, pydantic floats.
    pub fn canonical_dump(&self) -> String {
        let f = |x: f64| {
            serde_json::Number::from_f64(x)
                .map(|n| n.to_string())
                .unwrap_or_else(|| "null".into())
        };
        let rings: Vec<String> = self
            .ring_params
            .iter()
            .map(|r| {
                let mut s = format!(
                    "{{\"ring_index\":{},\"width_mm\":{},\"pattern_type\":{}",
                    r.ring_index,
                    f(r.width_mm),
                    serde_json::to_string(&r.pattern_type).expect("strings serialize")
                );
                if let Some(t) = r.tile_length_mm {
                    s.push_str(&format!(",\"tile_length_mm\":{}", f(t)));
                }
                s.push('}');
                s
            })
            .collect();
        format!(
            "{{\"outer_diameter_mm\":{},\"inner_diameter_mm\":{},\"ring_params\":[{}]}}",
            f(self.outer_diameter_mm),
            f(self.inner_diameter_mm),
            rings.join(",")
        )
    }

    /// `compute_design_fingerprint`: the first 16 hex digits of the SHA-256 of the dump.
    pub fn fingerprint(&self) -> String {
        sha256_text(&self.canonical_dump())[..16].to_owned()
    }

    /// The spec as JSON (pydantic's field order, `tile_length_mm` always present).
    pub fn to_json(&self) -> Value {
        let rings: Vec<Value> = self
            .ring_params
            .iter()
            .map(|r| {
                serde_json::json!({
                    "ring_index": r.ring_index, "width_mm": r.width_mm,
                    "pattern_type": r.pattern_type, "tile_length_mm": r.tile_length_mm,
                })
            })
            .collect();
        serde_json::json!({
            "outer_diameter_mm": self.outer_diameter_mm,
            "inner_diameter_mm": self.inner_diameter_mm,
            "ring_params": rings,
        })
    }
}

impl RingParam {
    fn from_json(v: &Value, i: usize) -> Result<RingParam, String> {
        let what = format!("ring_params[{i}]");
        let Value::Object(m) = v else {
            return Err(format!("{what} must be an object, got {}", type_name(v)));
        };
        reject_unknown(
            m,
            &["ring_index", "width_mm", "pattern_type", "tile_length_mm"],
            &what,
        )?;
        let ring_index = int(
            required(m, "ring_index", &what)?,
            &format!("{what}.ring_index"),
        )?;
        if ring_index < 0 {
            return Err(format!(
                "{what}.ring_index must be 0 or more, got {ring_index}"
            ));
        }
        let width = positive(
            num(required(m, "width_mm", &what)?, &format!("{what}.width_mm"))?,
            &format!("{what}.width_mm"),
        )?;
        // `pattern_type: str = "SOLID"`: missing takes the default, null is not a string.
        let pattern_type = match m.get("pattern_type") {
            Some(Value::Null) => {
                return Err(format!(
                    "{what}.pattern_type must be a string, got null (leave it out for \"SOLID\")"
                ))
            }
            _ => opt_string(m, "pattern_type", &format!("{what}.pattern_type"))?
                .unwrap_or_else(|| "SOLID".into()),
        };
        let tile_length_mm = match m.get("tile_length_mm") {
            None | Some(Value::Null) => None,
            Some(t) => {
                let t = num(t, &format!("{what}.tile_length_mm"))?;
                if t < 0.1 {
                    return Err(format!(
                        "{what}.tile_length_mm must be at least 0.1, got {t}"
                    ));
                }
                Some(t)
            }
        };
        Ok(RingParam {
            ring_index,
            width_mm: width,
            pattern_type,
            tile_length_mm,
        })
    }
}

impl LegacyDesign {
    fn from_map(m: &Map<String, Value>) -> Result<LegacyDesign, String> {
        const W: &str = "design";
        reject_unknown(
            m,
            &[
                "outer_diameter_mm",
                "inner_diameter_mm",
                "ring_count",
                "pattern_type",
                "central_band",
                "depth_mm",
                "__duck_typed_object__",
            ],
            W,
        )?;
        // The bounds of the reference's legacy model (`app/rmos/models/__init__.py`,
        // `RosetteParamSpec`): outer_diameter_mm ge=10 le=500, inner_diameter_mm ge=0
        // le=400, ring_count ge=0 le=20; all inclusive, so 0 is a valid inner diameter.
        let ranged = |key: &str, lo: f64, hi: f64| -> Result<f64, String> {
            let v = num(required(m, key, W)?, key)?;
            if (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{key} must be between {lo} and {hi} mm, got {v}"))
            }
        };
        let outer = ranged("outer_diameter_mm", 10.0, 500.0)?;
        let inner = ranged("inner_diameter_mm", 0.0, 400.0)?;
        let ring_count = int(required(m, "ring_count", W)?, "ring_count")?;
        if !(0..=20).contains(&ring_count) {
            return Err(format!(
                "ring_count must be between 0 and 20 (the reference's limit), got {ring_count}"
            ));
        }
        let pattern_type = opt_string(m, "pattern_type", "pattern_type")?.unwrap_or_default();
        let central_band = match m.get("central_band") {
            None | Some(Value::Null) => None,
            Some(Value::Object(b)) => {
                let w = b
                    .get("width_mm")
                    .ok_or("central_band: missing field \"width_mm\"")?;
                num(w, "central_band.width_mm")?;
                if let Some(t) = b.get("thickness_mm") {
                    num(t, "central_band.thickness_mm")?;
                }
                Some(b.clone())
            }
            Some(other) => {
                return Err(format!(
                    "central_band must be an object, got {}",
                    type_name(other)
                ))
            }
        };
        let depth_mm = match m.get("depth_mm") {
            None | Some(Value::Null) => None,
            Some(d) => Some(num(d, "depth_mm")?),
        };
        Ok(LegacyDesign {
            outer_diameter_mm: outer,
            inner_diameter_mm: inner,
            ring_count,
            pattern_type,
            central_band,
            depth_mm,
        })
    }
}
