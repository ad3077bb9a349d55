//! Timestamps as the reference stores them.
//!
//! Pydantic accepts `Z`, numeric offsets and naive datetimes and writes them back in the
//! same zone: `…Z` for UTC, `+05:30` for other offsets, nothing for naive values. The date
//! partition of a run is the calendar date *in that zone* (no conversion), so the zone has
//! to survive a round trip; this type keeps it.

use super::DomainError;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

/// A datetime with the zone it was written in (`None` = naive, treated as UTC for ordering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestamp {
    local: NaiveDateTime,
    offset: Option<FixedOffset>,
}

impl Timestamp {
    /// The current time in UTC, truncated to microseconds like Python's datetime.
    pub fn now() -> Self {
        Self::from_utc(Utc::now())
    }

    /// A UTC instant, truncated to microseconds.
    pub fn from_utc(t: DateTime<Utc>) -> Self {
        let naive = t.naive_utc();
        let micros = naive.nanosecond() / 1_000 * 1_000;
        Timestamp {
            local: naive
                .with_nanosecond(micros)
                .expect("truncating nanoseconds stays valid"),
            offset: Some(FixedOffset::east_opt(0).expect("zero offset is valid")),
        }
    }

    /// The wall-clock datetime in the stored zone.
    pub fn local(&self) -> NaiveDateTime {
        self.local
    }

    /// The UTC instant (naive values are taken as UTC).
    pub fn utc(&self) -> DateTime<Utc> {
        match self.offset {
            Some(off) => off
                .from_local_datetime(&self.local)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&self.local)),
            None => Utc.from_utc_datetime(&self.local),
        }
    }

    /// Microseconds since the Unix epoch of the UTC instant (index sort key).
    pub fn epoch_micros(&self) -> i64 {
        self.utc().timestamp_micros()
    }

    /// The date partition name `YYYY-MM-DD` (the stored datetime's own date, as the reference).
    pub fn partition(&self) -> String {
        let d = self.local.date();
        format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
    }

    fn write_wall(&self, out: &mut String) {
        let t = self.local;
        let d = t.date();
        out.push_str(&format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            d.year(),
            d.month(),
            d.day(),
            t.hour(),
            t.minute(),
            t.second()
        ));
        let micros = t.nanosecond() / 1_000;
        if micros != 0 {
            out.push_str(&format!(".{micros:06}"));
        }
    }

    fn offset_text(off: FixedOffset) -> String {
        let secs = off.local_minus_utc();
        let sign = if secs < 0 { '-' } else { '+' };
        let secs = secs.abs();
        let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
        if s != 0 {
            format!("{sign}{h:02}:{m:02}:{s:02}")
        } else {
            format!("{sign}{h:02}:{m:02}")
        }
    }

    /// Pydantic's JSON form (artifact files): `…Z` for UTC.
    pub fn to_pydantic(&self) -> String {
        let mut s = String::with_capacity(32);
        self.write_wall(&mut s);
        match self.offset {
            Some(off) if off.local_minus_utc() == 0 => s.push('Z'),
            Some(off) => s.push_str(&Self::offset_text(off)),
            None => {}
        }
        s
    }

    /// Python's `datetime.isoformat()` (index entries and API responses): `…+00:00` for UTC.
    pub fn to_isoformat(&self) -> String {
        let mut s = String::with_capacity(32);
        self.write_wall(&mut s);
        if let Some(off) = self.offset {
            s.push_str(&Self::offset_text(off));
        }
        s
    }

    /// Parse what pydantic accepts for a datetime from JSON text: `YYYY-MM-DD[T ]HH:MM[:SS[.f]]`
    /// with `Z`, `±HH:MM`, `±HHMM`, `±HH` or no zone, or a bare date (midnight).
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        let s = text.trim();
        let bad = || {
            DomainError::Timestamp(format!(
                "invalid datetime {text:?}: expected ISO 8601 like 2025-12-23T18:04:05Z"
            ))
        };
        if s.len() < 10 || !s.is_char_boundary(10) {
            return Err(bad());
        }
        let date = NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").map_err(|_| bad())?;
        let rest = &s[10..];
        if rest.is_empty() {
            return Ok(Timestamp {
                local: date.and_hms_opt(0, 0, 0).expect("midnight"),
                offset: None,
            });
        }
        let rest = rest.strip_prefix(['T', 't', ' ', '_']).ok_or_else(bad)?;
        // Split the zone off the time.
        let (time_part, zone) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
            (t, Some(0))
        } else if let Some(pos) = rest.rfind(['+', '-']) {
            let (t, z) = rest.split_at(pos);
            (t, Some(parse_offset(z).ok_or_else(bad)?))
        } else {
            (rest, None)
        };
        let (hms, frac) = match time_part.split_once(['.', ',']) {
            Some((a, b)) => (a, Some(b)),
            None => (time_part, None),
        };
        let mut fields = hms.split(':');
        let num = |f: Option<&str>| -> Result<u32, DomainError> {
            let f = f.ok_or_else(bad)?;
            if f.len() != 2 || !f.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            f.parse().map_err(|_| bad())
        };
        let h = num(fields.next())?;
        let m = num(fields.next())?;
        let sec = match fields.next() {
            Some(x) => num(Some(x))?,
            None => 0,
        };
        if fields.next().is_some() {
            return Err(bad());
        }
        let micros = match frac {
            None => 0,
            Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
                let mut digits: String = f.chars().take(6).collect();
                while digits.len() < 6 {
                    digits.push('0');
                }
                digits.parse::<u32>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        let local = date.and_hms_micro_opt(h, m, sec, micros).ok_or_else(bad)?;
        let offset = match zone {
            Some(secs) => Some(FixedOffset::east_opt(secs).ok_or_else(bad)?),
            None => None,
        };
        Ok(Timestamp { local, offset })
    }

    /// Shift by whole seconds (tests and demo backdating go through explicit APIs).
    pub fn minus_seconds(&self, secs: i64) -> Self {
        Timestamp {
            local: self.local - chrono::Duration::seconds(secs),
            offset: self.offset,
        }
    }
}

fn parse_offset(z: &str) -> Option<i32> {
    let (sign, body) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    let digits: String = body.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits[..2].parse::<i32>().ok()?, 0),
        4 => (
            digits[..2].parse::<i32>().ok()?,
            digits[2..].parse::<i32>().ok()?,
        ),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.utc().cmp(&other.utc())
    }
}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_pydantic())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_pydantic())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_reference_forms() {
        for (input, pyd, iso) in [
            (
                "2025-12-23T18:04:05.123456Z",
                "2025-12-23T18:04:05.123456Z",
                "2025-12-23T18:04:05.123456+00:00",
            ),
            (
                "2025-12-23T18:04:05+00:00",
                "2025-12-23T18:04:05Z",
                "2025-12-23T18:04:05+00:00",
            ),
            (
                "2025-12-23T18:04:05.5+05:30",
                "2025-12-23T18:04:05.500000+05:30",
                "2025-12-23T18:04:05.500000+05:30",
            ),
            (
                "2025-12-23T18:04:05",
                "2025-12-23T18:04:05",
                "2025-12-23T18:04:05",
            ),
            (
                "2025-12-23 01:02",
                "2025-12-23T01:02:00",
                "2025-12-23T01:02:00",
            ),
            ("2025-12-23", "2025-12-23T00:00:00", "2025-12-23T00:00:00"),
        ] {
            let t = Timestamp::parse(input).unwrap();
            assert_eq!(t.to_pydantic(), pyd, "{input}");
            assert_eq!(t.to_isoformat(), iso, "{input}");
        }
    }

    #[test]
    fn partition_uses_stored_zone_date() {
        let t = Timestamp::parse("2025-12-23T01:00:00+05:00").unwrap();
        assert_eq!(t.partition(), "2025-12-23");
        assert_eq!(t.utc().format("%Y-%m-%d").to_string(), "2025-12-22");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2025-13-01T00:00:00Z",
            "2025-12-23T25:00:00Z",
            "2025-12-23T10:00:00+99:00",
            "2025-12-23X10:00",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
