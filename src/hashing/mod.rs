//! Canonical JSON and SHA-256 helpers that agree with the reference implementation digit for
//! digit.
//!
//! The reference hashes `json.dumps(obj, sort_keys=True, separators=(",", ":"),
//! ensure_ascii=False)`. Reproducing that needs three things no JSON crate does for us:
//! keys sorted by Unicode code point, Python's string escapes, and Python's `repr(float)`
//! (shortest round-trip digits, exponent outside `1e-4 <= |x| < 1e16`). Numbers keep the
//! int/float distinction of the source text (`1` and `1.0` hash differently) and integers of
//! any size are written verbatim, which is why the crate enables serde_json's
//! `arbitrary_precision`.

pub mod stream;

use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Lower-case hex SHA-256 of raw bytes.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

/// `sha256_of_text`: SHA-256 of the UTF-8 bytes of `text`, no normalization (CRLF kept).
pub fn sha256_text(text: &str) -> String {
    sha256_bytes(text.as_bytes())
}

/// `sha256_of_obj`: SHA-256 of the canonical JSON form of `value`.
pub fn sha256_json(value: &Value) -> String {
    sha256_canonical_with(|buf| write_canonical(value, buf))
}

/// [`sha256_json`] of a JSON object given as its map (no clone into a `Value`).
pub fn sha256_json_map(map: &Map<String, Value>) -> String {
    sha256_canonical_with(|buf| write_object(map, buf))
}

fn sha256_canonical_with(write: impl FnOnce(&mut String)) -> String {
    // Canonicalize into a reused buffer; values are small (feasibility blocks), so one
    // pass into memory then one digest is faster than streaming into the hasher.
    thread_local! {
        static BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUF.with(|b| {
        let mut buf = b.borrow_mut();
        buf.clear();
        write(&mut buf);
        let digest = sha256_bytes(buf.as_bytes());
        if buf.capacity() > 1 << 20 {
            *buf = String::new();
        }
        digest
    })
}

/// The reference's canonical JSON text of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut String) {
    // Byte order of UTF-8 equals code point order, which is Python's str order.
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(k, out);
        out.push(':');
        write_canonical(v, out);
    }
    out.push('}');
}

/// What a JSON number is to Python: an `int` (no fraction, no exponent) or a `float`.
#[derive(Debug, Clone, PartialEq)]
pub enum PyNumber {
    /// Decimal digits of an integer of any size, normalized (`-0` is `0`).
    Int(String),
    /// A double, which may be infinite when the text overflowed (`1e400`).
    Float(f64),
}

/// Classify a JSON number the way Python's `json.loads` does.
pub fn py_number(n: &Number) -> PyNumber {
    let text = n.as_str();
    if is_float_text(text) {
        PyNumber::Float(parse_float_text(text))
    } else {
        PyNumber::Int(int_text(text).to_owned())
    }
}

fn is_float_text(text: &str) -> bool {
    text.contains(['.', 'e', 'E'])
}

/// Rust's parser rounds correctly, as Python's does; overflow gives ±inf like Python.
fn parse_float_text(text: &str) -> f64 {
    text.parse::<f64>().unwrap_or(f64::NAN)
}

/// An integer's canonical digits (`-0` is `0`; JSON has no leading zeros).
fn int_text(text: &str) -> &str {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.bytes().all(|b| b == b'0') {
        "0"
    } else {
        text
    }
}

fn write_number(n: &Number, out: &mut String) {
    let text = n.as_str();
    if is_float_text(text) {
        write_python_float(parse_float_text(text), out);
    } else {
        out.push_str(int_text(text));
    }
}

/// Append Python's `repr(f)` to `out`.
fn write_python_float(f: f64, out: &mut String) {
    // Fast path: for 1e-4 <= |x| < 1e16 Ryū's positional output (shortest digits, ties to
    // even, ".0" on integral values) is exactly Python's repr.
    if f.is_finite() && (f == 0.0 || f.abs() >= 1e-4) {
        let mut buf = ryu::Buffer::new();
        let s = buf.format_finite(f);
        if !s.contains('e') {
            out.push_str(s);
            return;
        }
    }
    out.push_str(&python_float_repr(f));
}

/// Python's `repr(float)` (also what `json.dumps` writes): shortest digits that round-trip,
/// positional notation when `1e-4 <= |x| < 1e16` (with `.0` when integral), otherwise
/// `d[.ddd]e±XX`. Non-finite values are written as Python's json module does.
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, decpt) = shortest_digits(f.abs());
    let ndigits = digits.len() as i32;
    let body = if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            format!("0.{}{}", "0".repeat((-decpt) as usize), digits)
        } else if decpt >= ndigits {
            format!("{}{}.0", digits, "0".repeat((decpt - ndigits) as usize))
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            format!("{int}.{frac}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let e = decpt - 1;
        let esign = if e < 0 { '-' } else { '+' };
        if rest.is_empty() {
            format!("{first}e{esign}{:02}", e.abs())
        } else {
            format!("{first}.{rest}e{esign}{:02}", e.abs())
        }
    };
    format!("{sign}{body}")
}

/// Shortest round-trip decimal digits of a finite positive double and the position of the
/// decimal point (`0.d1d2… × 10^decpt`). Ryū breaks ties between equally short candidates
/// toward the even digit, exactly like the dtoa behind Python's `repr` (Rust's `{:e}` does
/// not: it prints `…848.3` where Python prints `…848.2`).
fn shortest_digits(f: f64) -> (String, i32) {
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(f);
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu exponent is an integer")),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{int}{frac}");
    let trimmed_start = all.trim_start_matches('0');
    let digits = trimmed_start.trim_end_matches('0');
    let trailing = (trimmed_start.len() - digits.len()) as i32;
    // value = digits × 10^(exp − |frac| + trailing)
    let scale = exp - frac.len() as i32 + trailing;
    (digits.to_owned(), digits.len() as i32 + scale)
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Python truthiness of a JSON value (`{}`, `[]`, `""`, `0`, `0.0`, `false`, `null` are falsy).
pub fn py_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => match py_number(n) {
            PyNumber::Int(d) => d != "0",
            PyNumber::Float(f) => f != 0.0,
        },
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// Python's type name of a JSON value, as `str(type(x))` prints it.
pub fn py_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) => match py_number(n) {
            PyNumber::Int(_) => "<class 'int'>",
            PyNumber::Float(_) => "<class 'float'>",
        },
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

const SUMMARY_MAX_KEYS: usize = 50;
const CONTEXT_COPIED_KEYS: [&str; 5] = [
    "model_id",
    "feasibility_engine_id",
    "tool_id",
    "material_id",
    "machine_id",
];

/// The reference's `summarize_request`: a small, value-free description of a request that
/// is safe to store in `request_summary` (keys only, plus a few identifying context ids).
pub fn summarize_request(request: &Value) -> Value {
    let Value::Object(req) = request else {
        let mut m = Map::new();
        m.insert("type".into(), Value::String(py_type_name(request).into()));
        m.insert("note".into(), Value::String("non-dict request".into()));
        return Value::Object(m);
    };
    let first_keys = |m: &Map<String, Value>| -> Value {
        Value::Array(
            m.keys()
                .take(SUMMARY_MAX_KEYS)
                .map(|k| Value::String(k.clone()))
                .collect(),
        )
    };
    let mut summary = Map::new();
    summary.insert("keys".into(), first_keys(req));
    if req.contains_key("feasibility") {
        summary.insert(
            "note".into(),
            Value::String("client_feasibility_stripped".into()),
        );
    }
    if let Some(Value::Object(design)) = req.get("design") {
        summary.insert("design_keys".into(), first_keys(design));
    }
    let ctx = match req.get("context") {
        Some(v) if py_truthy(v) => Some(v),
        _ => req.get("ctx"),
    };
    if let Some(Value::Object(ctx)) = ctx {
        summary.insert("context_keys".into(), first_keys(ctx));
        for key in CONTEXT_COPIED_KEYS {
            if let Some(v) = ctx.get(key) {
                summary.insert(key.into(), v.clone());
            }
        }
    }
    Value::Object(summary)
}

/// The text of Python's `json.dumps(value, indent=2)` for a value `json.loads` produced:
/// keys in document order, `", "`/`": "` separators, every character outside printable
/// ASCII escaped as `\uXXXX` (lower-case hex, surrogate pairs above U+FFFF), numbers as
/// Python writes an `int` or a `float` (`1e-07`, `1000000000000000.0`), no final newline.
pub fn python_json_dumps_indent2(value: &Value) -> String {
    let mut out = String::new();
    write_python_indented(value, 0, true, &mut out);
    out
}

/// `json.dumps(value, indent=2, ensure_ascii=False)`: as [`python_json_dumps_indent2`] but
/// non-ASCII characters written as they are (control characters still escaped).
pub fn python_json_dumps_indent2_utf8(value: &Value) -> String {
    let mut out = String::new();
    write_python_indented(value, 0, false, &mut out);
    out
}

fn write_python_indented(value: &Value, depth: usize, ascii: bool, out: &mut String) {
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_python_indented(item, depth + 1, ascii, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_py_string(k, ascii, out);
                out.push_str(": ");
                write_python_indented(v, depth + 1, ascii, out);
            }
            newline(out, depth);
            out.push('}');
        }
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
        Value::String(s) => write_py_string(s, ascii, out),
        other => write_canonical(other, out),
    }
}

fn write_py_string(s: &str, ascii: bool, out: &mut String) {
    if ascii {
        write_ascii_string(s, out)
    } else {
        // ensure_ascii=False escapes what the canonical form escapes: `"`, `\\`, controls.
        write_string(s, out)
    }
}

/// A JSON string as Python's `json.dumps` writes it with `ensure_ascii=True`: only the
/// characters from space to `~` stay as they are.
fn write_ascii_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn float_repr_matches_python() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (1e-7, "1e-07"),
            (1e-5, "1e-05"),
            (1e-4, "0.0001"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (-0.0, "-0.0"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (123.456, "123.456"),
            (-2.5e-10, "-2.5e-10"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.30000000000000004, "0.30000000000000004"),
        ];
        for (f, want) in cases {
            assert_eq!(python_float_repr(f), want, "{f:?}");
        }
    }

    #[test]
    fn big_ints_and_negative_zero_int() {
        let v: Value = serde_json::from_str(r#"{"a":-0,"b":18446744073709551616}"#).unwrap();
        assert_eq!(canonical_json(&v), r#"{"a":0,"b":18446744073709551616}"#);
    }

    #[test]
    fn overflowing_float_text_becomes_infinity_like_python() {
        let v: Value = serde_json::from_str(r#"[1e400,-1e400]"#).unwrap();
        assert_eq!(canonical_json(&v), "[Infinity,-Infinity]");
    }

    #[test]
    fn summarize_non_dict_names_python_type() {
        assert_eq!(
            summarize_request(&json!(1.5)),
            json!({"type": "<class 'float'>", "note": "non-dict request"})
        );
    }
}
