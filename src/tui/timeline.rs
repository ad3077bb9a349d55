//! The timeline view (`i`): runs of the current filter per hour, day or week, stacked by
//! risk level or status, counted by the index (one aggregate query over the span shown).
//! `h`/`l` pick a bucket (moving the span past its edges), `+`/`-` zoom, `s` restacks and
//! `Enter` lists the bucket's runs. This is the state and its key handling; drawing is
//! in [`super::view`].

use super::keymap::TimelineAction;
use crate::filter::{Filter, Predicate, Term, TimeSpec};
use crate::store::index::{Bucket, StackBy, TimelineBin};
use chrono::{DateTime, Utc};

/// A request for the bins of a span, answered with [`super::msg::Msg::Timeline`].
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineQuery {
    /// Answers to older requests are dropped.
    pub seq: u64,
    pub filter: Filter,
    pub bucket: Bucket,
    pub buckets: usize,
    /// The last bucket holds this instant; `None`: the newest run's.
    pub end_us: Option<i64>,
    pub by: StackBy,
}

/// The timeline's state.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineState {
    pub bucket: Bucket,
    pub by: StackBy,
    /// Where the span ends (`None`: at the newest run, following new runs).
    pub end_us: Option<i64>,
    /// The bins shown, oldest first.
    pub bins: Vec<TimelineBin>,
    /// The selected bin.
    pub selected: usize,
    /// Select the bin holding this instant when the next bins arrive.
    focus_us: Option<i64>,
    pub loading: bool,
    pub error: Option<String>,
    seq: u64,
    /// How many buckets fit the terminal (set by the caller from the view's geometry).
    pub capacity: usize,
    /// The span terms the last `Enter` added to the list's filter: the next `Enter`
    /// replaces these, never a `since:`/`until:` the user typed.
    applied: Option<[Term; 2]>,
}

impl Default for TimelineState {
    fn default() -> Self {
        TimelineState {
            bucket: Bucket::Day,
            by: StackBy::Risk,
            end_us: None,
            bins: Vec::new(),
            selected: 0,
            focus_us: None,
            loading: false,
            error: None,
            seq: 0,
            capacity: 30,
            applied: None,
        }
    }
}

/// What a key did to the timeline.
#[derive(Debug, Default, PartialEq)]
pub struct TimelineOutcome {
    pub query: Option<TimelineQuery>,
    /// Enter: the filter for the selected bucket's span (the list shows it).
    pub apply: Option<Filter>,
    pub message: Option<String>,
}

impl TimelineState {
    /// Ask for the bins of the current span (after a filter change, a live change, a
    /// resize, or on opening).
    pub fn reload(&mut self, filter: &Filter) -> TimelineQuery {
        self.seq += 1;
        self.loading = true;
        TimelineQuery {
            seq: self.seq,
            filter: filter.clone(),
            bucket: self.bucket,
            buckets: self.capacity.max(1),
            end_us: self.end_us,
            by: self.by,
        }
    }

    /// Bins arrived for request `seq`.
    pub fn set_bins(&mut self, seq: u64, bins: Result<Vec<TimelineBin>, String>) {
        if seq != self.seq {
            return;
        }
        self.loading = false;
        match bins {
            Ok(bins) => {
                self.error = None;
                let width = self.bucket.micros();
                let focus = self.focus_us.take();
                self.selected = match focus {
                    Some(t) => bins
                        .iter()
                        .position(|b| t >= b.start_us && t < b.start_us + width)
                        .unwrap_or(bins.len().saturating_sub(1)),
                    // Newly opened, or following: the newest bucket with runs, else the last.
                    None if self.selected >= bins.len() || self.bins.is_empty() => bins
                        .iter()
                        .rposition(|b| b.total > 0)
                        .unwrap_or(bins.len().saturating_sub(1)),
                    None => self.selected,
                };
                self.bins = bins;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The selected bin.
    pub fn selected_bin(&self) -> Option<&TimelineBin> {
        self.bins.get(self.selected)
    }

    fn width(&self) -> i64 {
        self.bucket.micros()
    }

    /// Show the span ending `buckets` later (negative: earlier), keeping the selection on
    /// `focus`. A span reaching past the newest run follows the newest again.
    fn shift(&mut self, filter: &Filter, buckets: i64, focus: i64) -> TimelineOutcome {
        let Some(last) = self.bins.last() else {
            return TimelineOutcome::default();
        };
        let end = last.start_us + buckets * self.width();
        self.end_us = Some(end);
        self.focus_us = Some(focus);
        TimelineOutcome {
            query: Some(self.reload(filter)),
            ..Default::default()
        }
    }

    pub fn on_action(&mut self, action: TimelineAction, filter: &Filter) -> TimelineOutcome {
        let n = self.bins.len();
        let width = self.width();
        let start_of = |i: usize, bins: &[TimelineBin]| bins.get(i).map(|b| b.start_us);
        match action {
            TimelineAction::Older if self.selected > 0 => {
                self.selected -= 1;
                TimelineOutcome::default()
            }
            TimelineAction::Older => match start_of(0, &self.bins) {
                Some(first) => self.shift(filter, -(n as i64 / 2).max(1), first - width),
                None => TimelineOutcome::default(),
            },
            TimelineAction::Newer if self.selected + 1 < n => {
                self.selected += 1;
                TimelineOutcome::default()
            }
            TimelineAction::Newer if self.end_us.is_none() => TimelineOutcome {
                message: Some("this is the newest run's bucket".into()),
                ..Default::default()
            },
            TimelineAction::Newer => match start_of(n.saturating_sub(1), &self.bins) {
                Some(last) => self.shift(filter, (n as i64 / 2).max(1), last + width),
                None => TimelineOutcome::default(),
            },
            TimelineAction::PageOlder | TimelineAction::PageNewer => {
                let sign = if action == TimelineAction::PageOlder {
                    -1
                } else {
                    1
                };
                let Some(here) = start_of(self.selected, &self.bins) else {
                    return TimelineOutcome::default();
                };
                let half = (n as i64 / 2).max(1);
                self.shift(filter, sign * half, here + sign * half * width)
            }
            TimelineAction::Newest => {
                self.end_us = None;
                self.focus_us = None;
                self.bins.clear();
                TimelineOutcome {
                    query: Some(self.reload(filter)),
                    ..Default::default()
                }
            }
            TimelineAction::ZoomIn | TimelineAction::ZoomOut => {
                let to = match (action, self.bucket) {
                    (TimelineAction::ZoomIn, Bucket::Week) => Bucket::Day,
                    (TimelineAction::ZoomIn, _) => Bucket::Hour,
                    (_, Bucket::Hour) => Bucket::Day,
                    _ => Bucket::Week,
                };
                if to == self.bucket {
                    return TimelineOutcome {
                        message: Some(format!("already {} buckets", bucket_name(self.bucket))),
                        ..Default::default()
                    };
                }
                // Keep the selected moment in view: the new span ends half a span after it.
                let focus = self.selected_bin().map(|b| b.start_us);
                self.bucket = to;
                if let Some(t) = focus {
                    let end = t + (self.capacity as i64 / 2) * to.micros();
                    let newest = self.bins.last().map(|b| b.start_us + width);
                    self.end_us = match (self.end_us, newest) {
                        (None, Some(n)) if end >= n => None,
                        _ => Some(end),
                    };
                    self.focus_us = Some(t);
                }
                TimelineOutcome {
                    query: Some(self.reload(filter)),
                    message: Some(format!("{} buckets", bucket_name(to))),
                    ..Default::default()
                }
            }
            TimelineAction::CycleStack => {
                self.by = match self.by {
                    StackBy::Risk => StackBy::Status,
                    StackBy::Status => StackBy::Risk,
                };
                self.focus_us = self.selected_bin().map(|b| b.start_us);
                TimelineOutcome {
                    query: Some(self.reload(filter)),
                    ..Default::default()
                }
            }
            TimelineAction::Apply => match self.selected_bin() {
                Some(b) if b.total == 0 => TimelineOutcome {
                    message: Some("no runs in this bucket".into()),
                    ..Default::default()
                },
                Some(b) => {
                    let (f, added) =
                        span_filter(filter, self.bucket, b.start_us, self.applied.as_ref());
                    self.applied = Some(added);
                    TimelineOutcome {
                        apply: Some(f),
                        ..Default::default()
                    }
                }
                None => TimelineOutcome::default(),
            },
            // View switches, help and quit are the console's.
            TimelineAction::Close
            | TimelineAction::ShowRuns
            | TimelineAction::ShowQueue
            | TimelineAction::ShowSessions
            | TimelineAction::ShowSnapshots
            | TimelineAction::SwitchView
            | TimelineAction::Help
            | TimelineAction::Quit => TimelineOutcome::default(),
        }
    }
}

pub fn bucket_name(b: Bucket) -> &'static str {
    match b {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
        Bucket::Week => "week",
    }
}

fn utc(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A bucket's start as the timeline labels it (UTC).
pub fn bucket_label(b: Bucket, start_us: i64) -> String {
    let t = utc(start_us);
    match b {
        Bucket::Hour => t.format("%Y-%m-%d %H:00").to_string(),
        Bucket::Day => t.format("%Y-%m-%d %a").to_string(),
        Bucket::Week => format!("week of {}", t.format("%Y-%m-%d")),
    }
}

/// The list's filter narrowed to the bucket's span: whole days as dates, hours to the last
/// microsecond (`until:` includes the instant it names). The terms an earlier `Enter` added
/// (`previous`) give way; the user's own `since:`/`until:` stay (the list is their
/// intersection with the bucket, as the bar counted). Returns the filter and the two terms
/// added.
pub fn span_filter(
    filter: &Filter,
    bucket: Bucket,
    start_us: i64,
    previous: Option<&[Term; 2]>,
) -> (Filter, [Term; 2]) {
    let start = utc(start_us);
    let end = utc(start_us + bucket.micros() - 1);
    let (since, until) = match bucket {
        Bucket::Hour => (
            TimeSpec::At(start.naive_utc()),
            TimeSpec::At(end.naive_utc()),
        ),
        Bucket::Day | Bucket::Week => (
            TimeSpec::Date(start.date_naive()),
            TimeSpec::Date(end.date_naive()),
        ),
    };
    let mut out = filter.clone();
    if let Some(prev) = previous {
        out.terms.retain(|t| !prev.contains(t));
    }
    let added = [
        Term {
            negated: false,
            predicate: Predicate::Since(since),
        },
        Term {
            negated: false,
            predicate: Predicate::Until(until),
        },
    ];
    out.terms.extend(added.iter().cloned());
    (out, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000_000;

    fn bins(n: usize, last_start: i64, width: i64) -> Vec<TimelineBin> {
        (0..n)
            .map(|i| TimelineBin {
                start_us: last_start - (n - 1 - i) as i64 * width,
                counts: vec![i as u64, 0, 0, 0, 0, 0],
                total: i as u64,
            })
            .collect()
    }

    fn opened(n: usize) -> (TimelineState, Filter) {
        let mut t = TimelineState {
            capacity: n,
            ..Default::default()
        };
        let f = Filter::parse("risk:red").unwrap();
        let q = t.reload(&f);
        assert_eq!(q.end_us, None);
        assert_eq!(q.buckets, n);
        t.set_bins(q.seq, Ok(bins(n, 100 * DAY, DAY)));
        (t, f)
    }

    #[test]
    fn opening_selects_the_newest_bucket_and_moving_past_the_edge_moves_the_span() {
        let (mut t, f) = opened(10);
        assert_eq!(t.selected, 9);
        assert!(t.on_action(TimelineAction::Newer, &f).message.is_some());
        for _ in 0..9 {
            assert_eq!(
                t.on_action(TimelineAction::Older, &f),
                TimelineOutcome::default()
            );
        }
        assert_eq!(t.selected, 0);
        let q = t.on_action(TimelineAction::Older, &f).query.unwrap();
        // Half a span back, the bucket before the first one selected when it arrives.
        assert_eq!(q.end_us, Some(95 * DAY));
        t.set_bins(q.seq, Ok(bins(10, 95 * DAY, DAY)));
        assert_eq!(t.selected_bin().unwrap().start_us, 90 * DAY);
    }

    #[test]
    fn stale_answers_are_dropped() {
        let (mut t, f) = opened(5);
        let old = t.reload(&f);
        let new = t.reload(&f);
        t.set_bins(old.seq, Err("slow".into()));
        assert!(t.error.is_none());
        t.set_bins(new.seq, Err("failed".into()));
        assert_eq!(t.error.as_deref(), Some("failed"));
    }

    #[test]
    fn zooming_keeps_the_selected_moment_and_stops_at_hours_and_weeks() {
        let (mut t, f) = opened(10);
        t.on_action(TimelineAction::Older, &f);
        let moment = t.selected_bin().unwrap().start_us;
        let out = t.on_action(TimelineAction::ZoomIn, &f);
        let q = out.query.unwrap();
        assert_eq!(q.bucket, Bucket::Hour);
        assert_eq!(q.end_us, Some(moment + 5 * 3_600_000_000));
        t.set_bins(
            q.seq,
            Ok(bins(10, moment + 5 * 3_600_000_000, 3_600_000_000)),
        );
        assert_eq!(t.selected_bin().unwrap().start_us, moment);
        assert!(t.on_action(TimelineAction::ZoomIn, &f).query.is_none());
        t.on_action(TimelineAction::ZoomOut, &f);
        let q = t.on_action(TimelineAction::ZoomOut, &f).query.unwrap();
        assert_eq!(q.bucket, Bucket::Week);
    }

    #[test]
    fn enter_filters_the_list_to_the_bucket() {
        let (mut t, f) = opened(3);
        let applied = t.on_action(TimelineAction::Apply, &f).apply.unwrap();
        let day = utc(100 * DAY).date_naive().format("%Y-%m-%d").to_string();
        assert_eq!(
            applied.to_string(),
            format!("risk:red since:{day} until:{day}")
        );
        // An empty bucket has nothing to list.
        t.on_action(TimelineAction::Older, &f);
        t.on_action(TimelineAction::Older, &f);
        assert!(t.on_action(TimelineAction::Apply, &f).apply.is_none());
    }

    #[test]
    fn an_hour_span_ends_at_its_last_microsecond_keeps_the_user_s_span_and_replaces_its_own() {
        let start = 100 * DAY + 10 * 3_600_000_000;
        let f = Filter::parse("since:2d tool:x").unwrap();
        let (s, added) = span_filter(&f, Bucket::Hour, start, None);
        let text = s.to_string();
        assert!(
            text.starts_with("since:2d tool:x since:1970-04-11T10:00:00Z"),
            "the user's since:2d stays: {text}"
        );
        assert!(
            text.ends_with("until:1970-04-11T10:59:59.999999Z"),
            "{text}"
        );
        assert_eq!(Filter::parse(&text).unwrap(), s);
        // Enter on another bucket: the span it added before gives way, the user's stays.
        let (again, _) = span_filter(&s, Bucket::Hour, start + 3_600_000_000, Some(&added));
        assert_eq!(
            again.to_string(),
            "since:2d tool:x since:1970-04-11T11:00:00Z until:1970-04-11T11:59:59.999999Z"
        );
        let (week, _) = span_filter(
            &Filter::default(),
            Bucket::Week,
            Bucket::Week.floor(start),
            None,
        );
        assert_eq!(
            week.to_string(),
            "since:1970-04-06 until:1970-04-12",
            "a week: Monday to Sunday"
        );
    }
}
