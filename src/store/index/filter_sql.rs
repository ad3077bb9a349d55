//! The filter language (`crate::filter`, pure) compiled to SQL over the `run_index`
//! table: the SQLite columns and index names live here, next to the schema's users.

use crate::filter::{id_prefixes, CmpOp, Field, Filter, Predicate};
use chrono::{DateTime, Utc};

/// The index column and index name serving equality on `field`, if any.
pub fn field_index(field: Field) -> Option<(&'static str, &'static str)> {
    match field {
        Field::Mode => Some(("mode_key", "idx_run_index_mode")),
        Field::Tool => Some(("tool_key", "idx_run_index_tool")),
        Field::Status => Some(("status", "idx_run_index_status")),
        Field::Risk => Some(("risk_key", "idx_run_index_risk")),
        Field::Source => Some(("source_key", "idx_run_index_source")),
        Field::Event | Field::Verify => None,
    }
}

/// A filter as an SQL condition over `run_index` columns, with its parameters; `now`
/// anchors relative times. Same semantics as [`Filter::matches`].
///
/// Positive terms stay bare comparisons (so SQLite can use an index for them, and for
/// each side of an `OR`); a negated term or group is `NOT coalesce(…, 0)`, so a NULL
/// column counts as "does not hold" on both sides of the negation, as in the matcher.
pub fn filter_sql(filter: &Filter, now: DateTime<Utc>) -> (String, Vec<rusqlite::types::Value>) {
    let mut params = Vec::new();
    let sql = conjunction(filter, now, &mut params);
    (sql, params)
}

fn conjunction(
    filter: &Filter,
    now: DateTime<Utc>,
    params: &mut Vec<rusqlite::types::Value>,
) -> String {
    use rusqlite::types::Value as V;
    let mut parts = Vec::new();
    for t in &filter.terms {
        let frag = match &t.predicate {
            Predicate::Field { field, values } => {
                let (col, norm): (&str, fn(&str) -> String) = match field {
                    Field::Mode => ("mode_key", |s| s.to_uppercase()),
                    Field::Tool => ("tool_key", |s| s.to_uppercase()),
                    Field::Status => ("upper(status)", |s| s.to_uppercase()),
                    Field::Risk => ("risk_key", |s| s.to_uppercase()),
                    Field::Source => ("source_key", |s| s.to_uppercase()),
                    Field::Event => ("upper(event_type)", |s| s.to_uppercase()),
                    Field::Verify => ("verify", |s| s.to_lowercase()),
                };
                let col = if *field == Field::Status {
                    "status"
                } else {
                    col
                };
                let marks = vec!["?"; values.len()].join(",");
                for v in values {
                    params.push(V::Text(norm(v)));
                }
                format!("{col} IN ({marks})")
            }
            Predicate::IdPrefix(p) => {
                let prefixes = id_prefixes(p);
                let mut ors = Vec::new();
                for q in prefixes {
                    params.push(V::Text(q.clone()));
                    params.push(V::Text(format!("{q}\u{10FFFF}")));
                    ors.push("(run_id >= ? AND run_id < ?)");
                }
                format!("({})", ors.join(" OR "))
            }
            Predicate::Parent(p) => {
                let ids = id_prefixes(p);
                let marks = vec!["?"; ids.len()].join(",");
                for _ in 0..2 {
                    params.extend(ids.iter().map(|q| V::Text(q.clone())));
                }
                format!("(parent_run_id IN ({marks}) OR plan_run_id IN ({marks}))")
            }
            Predicate::Score { op, value } => {
                params.push(V::Real(*value));
                format!(
                    "score {} ?",
                    if *op == CmpOp::Ne { "<>" } else { op.as_str() }
                )
            }
            Predicate::Since(ts) => {
                params.push(V::Integer(ts.start_us(now)));
                "created_us >= ?".to_owned()
            }
            Predicate::Until(ts) => {
                params.push(V::Integer(ts.end_us(now)));
                "created_us < ?".to_owned()
            }
            Predicate::Text(s) => {
                params.push(V::Text(s.to_lowercase()));
                "instr(search_text, ?) > 0".to_owned()
            }
            Predicate::Any(alternatives) => {
                let sides: Vec<String> = alternatives
                    .iter()
                    .map(|f| format!("({})", conjunction(f, now, params)))
                    .collect();
                format!("({})", sides.join(" OR "))
            }
        };
        parts.push(if t.negated {
            format!("NOT coalesce(({frag}), 0)")
        } else {
            frag
        });
    }
    if parts.is_empty() {
        "1".to_owned()
    } else {
        parts.join(" AND ")
    }
}
