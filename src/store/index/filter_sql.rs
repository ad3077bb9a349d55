//! The filter language (`crate::filter`, pure) compiled to SQL over the `run_index`
//! table: the SQLite columns and index names live here, next to the schema's users. One
//! compiler serves both databases ([`filter_sql`] for SQLite, [`filter_sql_pg`] for
//! PostgreSQL, whose `run_index` has the same columns): they differ only in placeholders,
//! the substring function and the boolean literals, never in what a filter means.

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
    let sql = conjunction(filter, now, &mut params, Dialect::Sqlite);
    let params = params
        .into_iter()
        .map(|v| match v {
            V::Integer(i) => rusqlite::types::Value::Integer(i),
            V::Real(r) => rusqlite::types::Value::Real(r),
            V::Text(t) => rusqlite::types::Value::Text(t),
        })
        .collect();
    (sql, params)
}

/// A parameter of a compiled filter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Integer(i64),
    Real(f64),
    Text(String),
}

use SqlValue as V;

/// The same filter for PostgreSQL: placeholders numbered from `$first`.
pub fn filter_sql_pg(filter: &Filter, now: DateTime<Utc>, first: usize) -> (String, Vec<SqlValue>) {
    let mut params = Vec::new();
    let sql = conjunction(filter, now, &mut params, Dialect::Postgres { first });
    (sql, params)
}

#[derive(Debug, Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres { first: usize },
}

/// Add a parameter; its placeholder.
fn bind(params: &mut Vec<SqlValue>, v: SqlValue, d: Dialect) -> String {
    params.push(v);
    match d {
        Dialect::Sqlite => "?".to_owned(),
        Dialect::Postgres { first } => format!("${}", first + params.len() - 1),
    }
}

fn conjunction(
    filter: &Filter,
    now: DateTime<Utc>,
    params: &mut Vec<SqlValue>,
    d: Dialect,
) -> String {
    let pg = matches!(d, Dialect::Postgres { .. });
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
                let marks: Vec<String> = values
                    .iter()
                    .map(|v| bind(params, V::Text(norm(v)), d))
                    .collect();
                format!("{col} IN ({})", marks.join(","))
            }
            Predicate::IdPrefix(p) => {
                let prefixes = id_prefixes(p);
                let mut ors = Vec::new();
                for q in prefixes {
                    let lo = bind(params, V::Text(q.clone()), d);
                    let hi = bind(params, V::Text(format!("{q}\u{10FFFF}")), d);
                    ors.push(format!("(run_id >= {lo} AND run_id < {hi})"));
                }
                format!("({})", ors.join(" OR "))
            }
            Predicate::Parent(p) => {
                let ids = id_prefixes(p);
                let mut side = |col: &str| {
                    let marks: Vec<String> = ids
                        .iter()
                        .map(|q| bind(params, V::Text(q.clone()), d))
                        .collect();
                    format!("{col} IN ({})", marks.join(","))
                };
                let (parent, plan) = (side("parent_run_id"), side("plan_run_id"));
                format!("({parent} OR {plan})")
            }
            Predicate::Score { op, value } => {
                let m = bind(params, V::Real(*value), d);
                format!(
                    "score {} {m}",
                    if *op == CmpOp::Ne { "<>" } else { op.as_str() }
                )
            }
            Predicate::Since(ts) => {
                let m = bind(params, V::Integer(ts.start_us(now)), d);
                format!("created_us >= {m}")
            }
            Predicate::Until(ts) => {
                let m = bind(params, V::Integer(ts.end_us(now)), d);
                format!("created_us < {m}")
            }
            Predicate::Text(s) => {
                let m = bind(params, V::Text(s.to_lowercase()), d);
                if pg {
                    format!("strpos(search_text, {m}) > 0")
                } else {
                    format!("instr(search_text, {m}) > 0")
                }
            }
            Predicate::Any(alternatives) => {
                let sides: Vec<String> = alternatives
                    .iter()
                    .map(|f| format!("({})", conjunction(f, now, params, d)))
                    .collect();
                format!("({})", sides.join(" OR "))
            }
        };
        parts.push(match (t.negated, pg) {
            (true, false) => format!("NOT coalesce(({frag}), 0)"),
            (true, true) => format!("NOT coalesce(({frag}), false)"),
            (false, _) => frag,
        });
    }
    if parts.is_empty() {
        if pg { "TRUE" } else { "1" }.to_owned()
    } else {
        parts.join(" AND ")
    }
}
