//! Runs over time: counts per time bucket, stacked by risk level or status, for a filter,
//! computed by an aggregate query over a bounded span (a terminal shows at most a few
//! hundred buckets, so the query reads only the runs of that span).

use super::filter_sql::filter_sql;
use super::*;

/// The width of one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Hour,
    Day,
    /// Weeks start on Monday (UTC).
    Week,
}

impl Bucket {
    pub fn micros(self) -> i64 {
        const HOUR: i64 = 3_600_000_000;
        match self {
            Bucket::Hour => HOUR,
            Bucket::Day => 24 * HOUR,
            Bucket::Week => 7 * 24 * HOUR,
        }
    }

    /// Where buckets start: the epoch, or for weeks the first Monday after it.
    fn origin_us(self) -> i64 {
        match self {
            Bucket::Week => 4 * Bucket::Day.micros(), // 1970-01-05 was a Monday
            _ => 0,
        }
    }

    /// The start of the bucket holding `t` (µs since the epoch).
    pub fn floor(self, t: i64) -> i64 {
        let (o, w) = (self.origin_us(), self.micros());
        o + (t - o).div_euclid(w) * w
    }

    pub fn parse(s: &str) -> Option<Bucket> {
        match s {
            "hour" | "h" => Some(Bucket::Hour),
            "day" | "d" => Some(Bucket::Day),
            "week" | "w" => Some(Bucket::Week),
            _ => None,
        }
    }
}

/// What a bar is stacked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackBy {
    Risk,
    Status,
}

impl StackBy {
    /// The stack's layers, in drawing order; anything else counts as the last (other).
    pub fn layers(self) -> &'static [&'static str] {
        match self {
            StackBy::Risk => &["GREEN", "YELLOW", "RED", "ERROR", "UNKNOWN", "OTHER"],
            StackBy::Status => &["OK", "BLOCKED", "ERROR", "OTHER"],
        }
    }

    pub(super) fn column(self) -> &'static str {
        match self {
            StackBy::Risk => "risk_key",
            StackBy::Status => "upper(status)",
        }
    }
}

/// One bucket of the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimelineBin {
    /// Start of the bucket, µs since the epoch (UTC).
    pub start_us: i64,
    /// Counts per layer of [`StackBy::layers`], in that order.
    pub counts: Vec<u64>,
    pub total: u64,
}

/// An hour in µs: the hourly counts' unit (every bucket is a whole number of hours from
/// the epoch, weeks included).
const HOUR: i64 = 3_600_000_000;

/// Whether the hourly counts answer a filter: every term (negated or not) is a `risk:` or
/// `status:` term, whose columns the counts keep.
fn counts_suffice(filter: &Filter) -> bool {
    use crate::filter::{Field, Predicate};
    filter.terms.iter().all(|t| {
        matches!(
            &t.predicate,
            Predicate::Field {
                field: Field::Risk | Field::Status,
                ..
            }
        )
    })
}

/// The empty bins of a timeline (both databases): the first bucket's start, the width,
/// and `buckets` bins ending with the one holding `end_us`.
pub(super) fn empty_bins(
    bucket: Bucket,
    buckets: usize,
    end_us: i64,
    by: StackBy,
) -> (i64, i64, Vec<TimelineBin>) {
    let buckets = buckets.clamp(1, 10_000);
    let width = bucket.micros();
    let last = bucket.floor(end_us);
    let first = last - (buckets as i64 - 1) * width;
    let bins = (0..buckets)
        .map(|i| TimelineBin {
            start_us: first + i as i64 * width,
            counts: vec![0; by.layers().len()],
            total: 0,
        })
        .collect();
    (first, width, bins)
}

/// Count `n` runs of layer `key` into bin `i` (anything unknown is the last layer).
pub(super) fn add_to_bins(
    bins: &mut [TimelineBin],
    by: StackBy,
    i: i64,
    key: Option<&str>,
    n: u64,
) {
    let layers = by.layers();
    let Some(bin) = usize::try_from(i).ok().and_then(|i| bins.get_mut(i)) else {
        return;
    };
    let layer = key
        .and_then(|k| layers.iter().position(|l| *l == k))
        .unwrap_or(layers.len() - 1);
    bin.counts[layer] += n;
    bin.total += n;
}

impl RunIndex {
    /// `buckets` consecutive buckets ending with the one holding `end_us`, each with the
    /// valid runs matching `filter` counted per layer. Empty buckets are included.
    pub fn timeline(
        &self,
        filter: &Filter,
        bucket: Bucket,
        buckets: usize,
        end_us: i64,
        by: StackBy,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimelineBin>, IndexError> {
        let (first, width, mut bins) = empty_bins(bucket, buckets, end_us, by);
        let last = first + (bins.len() as i64 - 1) * width;
        let (cond, mut params) = filter_sql(filter, now);
        // Unfiltered, or filtered by risk and status only: the hourly counts (migration
        // 0010) hold the answer, one row per hour and combination; otherwise every run of
        // the span is read.
        let sql = if counts_suffice(filter) {
            format!(
                "SELECT (hour * {HOUR} - ?) / ?, {col}, sum(n) FROM run_index_hourly \
                 WHERE hour >= ? / {HOUR} AND hour < ? / {HOUR} AND n > 0 AND ({cond}) \
                 GROUP BY 1, 2",
                col = by.column()
            )
        } else {
            format!(
                "SELECT (created_us - ?) / ?, {col}, count(*) FROM run_index \
                 WHERE valid = 1 AND created_us >= ? AND created_us < ? AND ({cond}) \
                 GROUP BY 1, 2",
                col = by.column()
            )
        };
        let mut all = vec![
            rusqlite::types::Value::Integer(first),
            rusqlite::types::Value::Integer(width),
            rusqlite::types::Value::Integer(first),
            rusqlite::types::Value::Integer(last + width),
        ];
        all.append(&mut params);
        let mut stmt = self.sql(self.conn.prepare_cached(&sql))?;
        let rows = self.sql(stmt.query_map(params_from_iter(all), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        }))?;
        for row in rows {
            let (i, key, n) = self.sql(row)?;
            add_to_bins(&mut bins, by, i, key.as_deref(), n as u64);
        }
        Ok(bins)
    }

    /// The newest valid run's time (µs), for ending a timeline at the data.
    pub fn newest_us(&self) -> Result<Option<i64>, IndexError> {
        self.sql(self.conn.query_row(
            "SELECT max(created_us) FROM run_index WHERE valid = 1",
            [],
            |r| r.get(0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_floor_to_their_start() {
        let day = Bucket::Day.micros();
        assert_eq!(Bucket::Day.floor(day + 5), day);
        assert_eq!(Bucket::Day.floor(-5), -day, "before the epoch rounds down");
        // 2025-12-24 is a Wednesday: its week starts Monday 2025-12-22.
        let wed = chrono::DateTime::parse_from_rfc3339("2025-12-24T13:00:00Z")
            .unwrap()
            .timestamp_micros();
        let mon = chrono::DateTime::parse_from_rfc3339("2025-12-22T00:00:00Z")
            .unwrap()
            .timestamp_micros();
        assert_eq!(Bucket::Week.floor(wed), mon);
        assert_eq!(Bucket::Week.floor(mon), mon);
    }
}
