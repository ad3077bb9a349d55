//! A structural diff of two JSON records (two runs, two versions of an asset): which
//! fields were added, removed or changed, by path. Objects are compared key by key;
//! arrays element by element, except arrays of strings (warnings, tags), which are
//! compared as lists of items — what was added and what was dropped reads better than
//! "element 2 changed" when one warning was inserted.

use serde::Serialize;
use serde_json::Value;

/// One difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Where: `decision.score`, `decision.warnings[]`, `feasibility.components[2].score`.
    pub path: String,
    pub kind: ChangeKind,
    /// The value in the first record (absent for an addition).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<Value>,
    /// The value in the second record (absent for a removal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// Deepest nesting compared; deeper values are compared whole.
const MAX_DEPTH: usize = 64;

/// The differences from `a` to `b`, in document order (keys of `a` first, then keys only
/// in `b`). Numbers are equal when their values are (`1` = `1.0`).
pub fn diff(a: &Value, b: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk(a, b, &mut String::new(), 0, &mut out);
    out
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_owned(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", serde_json::to_string(key).expect("string")),
    }
}

fn walk(a: &Value, b: &Value, path: &mut String, depth: usize, out: &mut Vec<Change>) {
    if same(a, b) {
        return;
    }
    let changed = |out: &mut Vec<Change>, path: &str| {
        out.push(Change {
            path: path.to_owned(),
            kind: ChangeKind::Changed,
            a: Some(a.clone()),
            b: Some(b.clone()),
        })
    };
    if depth >= MAX_DEPTH {
        return changed(out, path);
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let mut p = child(path, k);
                match y.get(k) {
                    Some(w) => walk(v, w, &mut p, depth + 1, out),
                    None => out.push(Change {
                        path: p,
                        kind: ChangeKind::Removed,
                        a: Some(v.clone()),
                        b: None,
                    }),
                }
            }
            for (k, w) in y {
                if !x.contains_key(k) {
                    out.push(Change {
                        path: child(path, k),
                        kind: ChangeKind::Added,
                        a: None,
                        b: Some(w.clone()),
                    });
                }
            }
        }
        (Value::Array(x), Value::Array(y))
            if x.iter().chain(y).all(Value::is_string) && !(x.is_empty() && y.is_empty()) =>
        {
            let p = format!("{path}[]");
            let before = out.len();
            for v in x {
                if !y.contains(v) {
                    out.push(Change {
                        path: p.clone(),
                        kind: ChangeKind::Removed,
                        a: Some(v.clone()),
                        b: None,
                    });
                }
            }
            for w in y {
                if !x.contains(w) {
                    out.push(Change {
                        path: p.clone(),
                        kind: ChangeKind::Added,
                        a: None,
                        b: Some(w.clone()),
                    });
                }
            }
            if out.len() == before {
                // The same items in another order (or repeated): the list as a whole.
                changed(out, path);
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let mut p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(v), Some(w)) => walk(v, w, &mut p, depth + 1, out),
                    (Some(v), None) => out.push(Change {
                        path: p,
                        kind: ChangeKind::Removed,
                        a: Some(v.clone()),
                        b: None,
                    }),
                    (None, Some(w)) => out.push(Change {
                        path: p,
                        kind: ChangeKind::Added,
                        a: None,
                        b: Some(w.clone()),
                    }),
                    (None, None) => {}
                }
            }
        }
        _ => changed(out, path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(changes: &[Change]) -> Vec<(String, ChangeKind)> {
        changes.iter().map(|c| (c.path.clone(), c.kind)).collect()
    }

    #[test]
    fn fields_warnings_and_nested_arrays() {
        let a = json!({
            "run_id": "run_a", "decision": {"risk_level": "GREEN", "score": 91.0,
            "warnings": ["heat", "chipload"]},
            "feasibility": {"components": [{"score": 1}, {"score": 2}]},
            "gone": 1, "same": {"x": [1, 2]}
        });
        let b = json!({
            "run_id": "run_b", "decision": {"risk_level": "RED", "score": 91,
            "warnings": ["chipload", "deflection"]},
            "feasibility": {"components": [{"score": 1}, {"score": 3}, {"score": 4}]},
            "same": {"x": [1, 2]}, "new": null
        });
        use ChangeKind::*;
        assert_eq!(
            paths(&diff(&a, &b)),
            vec![
                ("run_id".into(), Changed),
                ("decision.risk_level".into(), Changed),
                ("decision.warnings[]".into(), Removed),
                ("decision.warnings[]".into(), Added),
                ("feasibility.components[1].score".into(), Changed),
                ("feasibility.components[2]".into(), Added),
                ("gone".into(), Removed),
                ("new".into(), Added),
            ]
        );
        assert!(diff(&a, &a).is_empty());
        // The same warnings in another order are one change of the list.
        let c = json!({"w": ["x", "y"]});
        let d = json!({"w": ["y", "x"]});
        assert_eq!(paths(&diff(&c, &d)), vec![("w".into(), Changed)]);
        let e = json!({"w": ["x", "x", "y"]});
        assert_eq!(paths(&diff(&c, &e)), vec![("w".into(), Changed)]);
    }

    #[test]
    fn odd_keys_are_quoted_and_depth_is_bounded() {
        let a = json!({"a b": 1, "": 2});
        let b = json!({"a b": 2, "": 3});
        assert_eq!(
            paths(&diff(&a, &b))
                .into_iter()
                .map(|(p, _)| p)
                .collect::<Vec<_>>(),
            vec!["[\"a b\"]", "[\"\"]"]
        );
        let mut deep_a = json!(1);
        let mut deep_b = json!(2);
        for _ in 0..200 {
            deep_a = json!({ "k": deep_a });
            deep_b = json!({ "k": deep_b });
        }
        let d = diff(&deep_a, &deep_b);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path.matches('k').count(), MAX_DEPTH);
    }
}
