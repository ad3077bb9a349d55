//! The filter language shared by the TUI filter bar and `--filter` on the CLI.
//!
//! ```text
//! risk:red,yellow -status:ok tool:rosette score<50 since:2d until:2025-12-24 id:run_5eed "tear-out"
//! ```
//!
//! Terms separated by spaces are ANDed; `OR` (upper-case) between them means either side,
//! with space binding tighter (`a b OR c` = `(a b) OR c`); parentheses group and `-( … )`
//! negates a group (a group is [`Predicate::Any`]). `key:v1,v2` matches any of the values,
//! case-insensitively and exactly, like the reference's logs filters. A leading `-`
//! negates a term. `score` compares with `< <= > >= = !=`. `since:`/`until:` take a
//! relative age (`30m`, `12h`, `2d`, `1w`) or a UTC date/time (`until:` a bare date
//! includes that whole day). `id:` is a run_id prefix, with or without `run_`. Fields with
//! a fixed set of values (risk, status, verify) refuse others. Anything else is a case-insensitive
//! substring searched in run_id, tool, warnings and block reason; double quotes keep
//! spaces, commas and colons in a value.
//!
//! Parsing is pure (text → [`Filter`]); errors carry the character position. A filter
//! prints back to text that parses to the same filter ([`Filter`]'s `Display`).
//! The index compiles it to SQL (`store::index::filter_sql`); [`Filter::matches`]
//! evaluates it on one row with the same semantics. No storage types appear here.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::fmt;

/// Fields that `key:value` terms match exactly (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Mode,
    Tool,
    Status,
    Risk,
    Source,
    Event,
    Verify,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Risk,
        Field::Mode,
        Field::Tool,
        Field::Status,
        Field::Source,
        Field::Event,
        Field::Verify,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Field::Mode => "mode",
            Field::Tool => "tool",
            Field::Status => "status",
            Field::Risk => "risk",
            Field::Source => "source",
            Field::Event => "event",
            Field::Verify => "verify",
        }
    }

    /// A filter value in the form stored in the field's column.
    pub fn normalize(self, v: &str) -> String {
        if self == Field::Verify {
            v.to_lowercase()
        } else {
            v.to_uppercase()
        }
    }

    /// The values a field can hold, for fields with a fixed set (risk, status, verify);
    /// `None` for free-text fields. A filter naming any other value is refused.
    pub fn known_values(self) -> Option<&'static [&'static str]> {
        match self {
            Field::Risk => Some(&["GREEN", "YELLOW", "RED", "UNKNOWN", "ERROR"]),
            Field::Status => Some(&["OK", "BLOCKED", "ERROR"]),
            Field::Verify => Some(&["ok", "mismatch", "placeholder", "invalid", "uncovered"]),
            _ => None,
        }
    }

    fn from_key(k: &str) -> Option<Field> {
        Some(match k {
            "mode" => Field::Mode,
            "tool" | "tool_id" => Field::Tool,
            "status" => Field::Status,
            "risk" | "risk_level" => Field::Risk,
            "source" => Field::Source,
            "event" | "event_type" => Field::Event,
            "verify" => Field::Verify,
            _ => return None,
        })
    }
}

/// Comparison operators for `score`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
        }
    }
    fn eval(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }
}

/// A point in time as written in a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeSpec {
    /// `2d`: this many seconds before now (the unit letter is kept for printing).
    Ago { amount: u32, unit: char },
    /// `2025-12-24`
    Date(NaiveDate),
    /// `2025-12-24T10:00[:00][Z]` (UTC)
    At(NaiveDateTime),
}

impl TimeSpec {
    fn unit_secs(unit: char) -> i64 {
        match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => 7 * 86_400,
        }
    }

    /// Start instant in UTC microseconds (for `since`).
    /// The first instant (µs since the epoch) this time selects, relative to `now`.
    pub fn start_us(&self, now: DateTime<Utc>) -> i64 {
        match self {
            TimeSpec::Ago { amount, unit } => {
                now.timestamp_micros() - i64::from(*amount) * Self::unit_secs(*unit) * 1_000_000
            }
            TimeSpec::Date(d) => d
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros(),
            TimeSpec::At(t) => t.and_utc().timestamp_micros(),
        }
    }

    /// Exclusive end instant in UTC microseconds (for `until`: a date includes its day).
    /// The instant (µs since the epoch) just after what this time selects.
    pub fn end_us(&self, now: DateTime<Utc>) -> i64 {
        match self {
            TimeSpec::Date(d) => {
                d.and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc()
                    .timestamp_micros()
                    + 86_400_000_000
            }
            TimeSpec::At(t) => t.and_utc().timestamp_micros() + 1,
            ago => ago.start_us(now) + 1,
        }
    }
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSpec::Ago { amount, unit } => write!(f, "{amount}{unit}"),
            TimeSpec::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            // Fractions of a second only when there are any (timeline spans end at
            // 10:59:59.999999).
            TimeSpec::At(t) => write!(f, "{}Z", t.format("%Y-%m-%dT%H:%M:%S%.f")),
        }
    }
}

/// One condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// Field equals any of the values (case-insensitive).
    Field {
        field: Field,
        values: Vec<String>,
    },
    /// run_id starts with this prefix.
    IdPrefix(String),
    /// The run derives from this run (`parent_run_id`) or executes it as its plan
    /// (`lineage.parent_plan_run_id`); the id with or without `run_`, exact otherwise.
    Parent(String),
    /// Score comparison (runs without a score never match).
    Score {
        op: CmpOp,
        value: f64,
    },
    Since(TimeSpec),
    Until(TimeSpec),
    /// Case-insensitive substring of run_id, tool, warnings or block reason.
    Text(String),
    /// A parenthesized group: any of these filters holds (`(a b OR c)`; a filter whose
    /// top level has `OR` is one such group).
    Any(Vec<Filter>),
}

/// A possibly negated predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub negated: bool,
    pub predicate: Predicate,
}

/// A parsed filter: all terms must hold (a term may be a group of alternatives, see
/// [`Predicate::Any`]). The empty filter matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    pub terms: Vec<Term>,
}

/// A parse error at a character position of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 0-based character offset where the problem is.
    pub pos: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.pos + 1, self.message)
    }
}

impl std::error::Error for ParseError {}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    _src: &'a str,
    /// Where the open parentheses around the current position are.
    opens: Vec<usize>,
}

/// Deepest nesting of parentheses accepted (evaluation recurses once per level).
pub const MAX_DEPTH: usize = 16;

fn err<T>(pos: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        pos,
        message: message.into(),
    })
}

fn known_keys() -> String {
    let mut keys: Vec<&str> = Field::ALL.iter().map(|f| f.key()).collect();
    keys.extend(["id", "parent", "since", "until", "score"]);
    keys.join(", ")
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// A quoted string starting at `"`; returns its content.
    fn quoted(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return err(start, "unterminated quote: add a closing \""),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) => {
                            out.push(c);
                            self.pos += 1;
                        }
                        None => {
                            return err(self.pos, "a backslash must be followed by a character")
                        }
                    }
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// A bare run of characters up to whitespace or one of `stops`.
    fn bare(&mut self, stops: &[char]) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c.is_whitespace() || stops.contains(&c) || matches!(c, '"' | '(' | ')') {
                break;
            }
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn value(&mut self) -> Result<String, ParseError> {
        let at = self.pos;
        let v = if self.peek() == Some('"') {
            self.quoted()?
        } else {
            self.bare(&[','])
        };
        if v.is_empty() {
            return err(at, "expected a value");
        }
        Ok(v)
    }

    /// `and ("OR" and)*` up to the end of the input or a `)`: the alternatives.
    fn alternatives(&mut self) -> Result<Vec<Filter>, ParseError> {
        let mut alternatives = Vec::new();
        let mut last_or = None;
        loop {
            let mut terms = Vec::new();
            loop {
                self.skip_ws();
                match self.peek() {
                    None | Some(')') => break,
                    _ if self.at_or() => break,
                    _ => terms.push(self.term()?),
                }
            }
            if terms.is_empty() {
                const SIDES: &str = "expected a term on both sides of OR";
                if self.at_or() {
                    return err(self.pos, SIDES);
                }
                if let Some(at) = last_or {
                    return err(at, SIDES);
                }
                let open = self.opens.last().copied().unwrap_or(0);
                return match self.peek() {
                    None => err(open, "unclosed '(': add a ')'"),
                    _ => err(open, "empty group: put terms between the parentheses"),
                };
            }
            alternatives.push(Filter { terms });
            if self.at_or() {
                last_or = Some(self.pos);
                self.pos += 2;
                continue;
            }
            return Ok(alternatives);
        }
    }

    /// Whether the next word is the operator `OR` (upper-case, standing alone).
    fn at_or(&self) -> bool {
        self.chars.get(self.pos) == Some(&'O')
            && self.chars.get(self.pos + 1) == Some(&'R')
            && self
                .chars
                .get(self.pos + 2)
                .is_none_or(|c| c.is_whitespace() || matches!(c, '(' | ')'))
    }

    fn term(&mut self) -> Result<Term, ParseError> {
        let start = self.pos;
        let negated = self.peek() == Some('-');
        if negated {
            self.pos += 1;
            if self.peek().is_none_or(char::is_whitespace) {
                return err(start, "expected a term after '-'");
            }
        }
        if self.peek() == Some('(') {
            let open = self.pos;
            if self.opens.len() >= MAX_DEPTH {
                return err(open, format!("parentheses nested deeper than {MAX_DEPTH}"));
            }
            self.pos += 1;
            self.opens.push(open);
            let alternatives = self.alternatives()?;
            self.opens.pop();
            if self.peek() != Some(')') {
                return err(open, "unclosed '(': add a ')'");
            }
            self.pos += 1;
            self.expect_end_of_term()?;
            return Ok(Term {
                negated,
                predicate: Predicate::Any(alternatives),
            });
        }
        if self.peek() == Some('"') {
            let text = self.quoted()?;
            if text.is_empty() {
                return err(start, "empty search text");
            }
            return Ok(Term {
                negated,
                predicate: Predicate::Text(text),
            });
        }
        let word_start = self.pos;
        let word = self.bare(&[':', '<', '>', '=', '!']);
        match self.peek() {
            Some(':') => {
                self.pos += 1;
                let key = word.to_lowercase();
                let predicate = match key.as_str() {
                    "id" => Predicate::IdPrefix(self.value()?),
                    "parent" => Predicate::Parent(self.value()?),
                    "since" => Predicate::Since(self.time()?),
                    "until" => Predicate::Until(self.time()?),
                    _ => {
                        let Some(field) = Field::from_key(&key) else {
                            return err(word_start, format!("unknown filter key {word:?} (known: {}; quote text containing ':')", known_keys()));
                        };
                        let mut values = vec![self.value()?];
                        while self.peek() == Some(',') {
                            self.pos += 1;
                            values.push(self.value()?);
                        }
                        if let Some(known) = field.known_values() {
                            for v in &values {
                                if !known.iter().any(|k| k.eq_ignore_ascii_case(v)) {
                                    let valid: Vec<String> =
                                        known.iter().map(|k| k.to_lowercase()).collect();
                                    return err(
                                        word_start,
                                        format!(
                                            "{}:{v} is not a known value (valid: {})",
                                            field.key(),
                                            valid.join(", ")
                                        ),
                                    );
                                }
                            }
                        }
                        Predicate::Field { field, values }
                    }
                };
                self.expect_end_of_term()?;
                Ok(Term { negated, predicate })
            }
            Some('<' | '>' | '=' | '!') => {
                if word.to_lowercase() != "score" {
                    return err(
                        word_start,
                        format!("only score can be compared with < > = (got {word:?})"),
                    );
                }
                let op_at = self.pos;
                let op = self
                    .bare(&[])
                    .chars()
                    .take_while(|c| "<>=!".contains(*c))
                    .collect::<String>();
                // `bare` consumed the number too; re-split operator and number.
                self.pos = op_at + op.chars().count();
                let op = match op.as_str() {
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    ">=" => CmpOp::Ge,
                    "=" | "==" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    other => {
                        return err(
                            op_at,
                            format!("unknown comparison {other:?} (use < <= > >= = !=)"),
                        )
                    }
                };
                let num_at = self.pos;
                let num = self.bare(&[]);
                let value: f64 = match num.parse() {
                    Ok(v) if f64::is_finite(v) => v,
                    _ => {
                        return err(
                            num_at,
                            format!("expected a number after score{}, got {num:?}", op.as_str()),
                        )
                    }
                };
                Ok(Term {
                    negated,
                    predicate: Predicate::Score { op, value },
                })
            }
            _ => {
                if word.is_empty() {
                    return err(self.pos, "expected a term");
                }
                self.expect_end_of_term()?;
                Ok(Term {
                    negated,
                    predicate: Predicate::Text(word),
                })
            }
        }
    }

    fn expect_end_of_term(&self) -> Result<(), ParseError> {
        match self.peek() {
            None => Ok(()),
            Some(c) if c.is_whitespace() || c == ')' => Ok(()),
            Some(c) => err(
                self.pos,
                format!("unexpected {c:?}: separate terms with spaces"),
            ),
        }
    }

    fn time(&mut self) -> Result<TimeSpec, ParseError> {
        let at = self.pos;
        let v = self.value()?;
        parse_time(&v).ok_or_else(|| ParseError {
            pos: at,
            message: format!(
                "{v:?} is not a time: use an age like 30m, 12h, 2d, 1w, a date like 2025-12-24 or a UTC time like 2025-12-24T10:00 or 2025-12-24T10:00:30.5Z (to the microsecond)"
            ),
        })
    }
}

fn parse_time(v: &str) -> Option<TimeSpec> {
    if let Some(unit) = v.chars().last().filter(|c| "smhdw".contains(*c)) {
        let digits = &v[..v.len() - 1];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let amount: u32 = digits.parse().ok()?;
            if amount > 100_000 {
                return None;
            }
            return Some(TimeSpec::Ago { amount, unit });
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Some(TimeSpec::Date(d));
    }
    let t = v.trim_end_matches(['Z', 'z']);
    // Times are kept to the microsecond: a finer fraction would be cut, and select an
    // instant before the one written.
    if t.rsplit_once('.').is_some_and(|(_, frac)| frac.len() > 6) {
        return None;
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(TimeSpec::At(dt));
        }
    }
    None
}

impl Filter {
    /// Parse filter text. The empty string is the empty filter.
    pub fn parse(text: &str) -> Result<Filter, ParseError> {
        let mut p = Parser {
            chars: text.chars().collect(),
            pos: 0,
            _src: text,
            opens: Vec::new(),
        };
        p.skip_ws();
        if p.peek().is_none() {
            return Ok(Filter::default());
        }
        let mut alternatives = p.alternatives()?;
        if p.peek() == Some(')') {
            return err(p.pos, "unmatched ')'");
        }
        if alternatives.len() == 1 {
            return Ok(alternatives.pop().expect("one"));
        }
        Ok(Filter {
            terms: vec![Term {
                negated: false,
                predicate: Predicate::Any(alternatives),
            }],
        })
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Add a term (AND).
    pub fn and(mut self, negated: bool, predicate: Predicate) -> Self {
        self.terms.push(Term { negated, predicate });
        self
    }

    /// Evaluate on one row, with the same semantics as the index's SQL form of the filter
    /// (`store::index`; a test holds the two in agreement).
    pub fn matches(&self, row: &MatchRow<'_>, now: DateTime<Utc>) -> bool {
        self.terms.iter().all(|t| {
            let hit: Option<bool> = match &t.predicate {
                Predicate::Field { field, values } => {
                    let actual = match field {
                        Field::Mode => row.mode.map(str::to_uppercase),
                        Field::Tool => row.tool_id.map(str::to_uppercase),
                        Field::Status => row.status.map(str::to_uppercase),
                        Field::Risk => row.risk_level.map(str::to_uppercase),
                        Field::Source => Some(
                            row.source
                                .map(str::to_uppercase)
                                .unwrap_or_else(|| "NONE".into()),
                        ),
                        Field::Event => row.event_type.map(str::to_uppercase),
                        Field::Verify => row.verify.map(str::to_lowercase),
                    };
                    let norm = |v: &String| {
                        if *field == Field::Verify {
                            v.to_lowercase()
                        } else {
                            v.to_uppercase()
                        }
                    };
                    actual.map(|a| values.iter().any(|v| norm(v) == a))
                }
                Predicate::IdPrefix(p) => Some(
                    id_prefixes(p)
                        .iter()
                        .any(|q| row.run_id.starts_with(q.as_str())),
                ),
                Predicate::Parent(p) => Some(id_prefixes(p).iter().any(|q| {
                    row.parent_run_id == Some(q.as_str()) || row.plan_run_id == Some(q.as_str())
                })),
                Predicate::Score { op, value } => row.score.map(|s| op.eval(s, *value)),
                Predicate::Since(ts) => Some(row.created_us >= ts.start_us(now)),
                Predicate::Until(ts) => Some(row.created_us < ts.end_us(now)),
                Predicate::Text(s) => row.search_text.map(|h| h.contains(&s.to_lowercase())),
                Predicate::Any(alternatives) => {
                    Some(alternatives.iter().any(|f| f.matches(row, now)))
                }
            };
            if t.negated {
                !hit.unwrap_or(false)
            } else {
                hit.unwrap_or(false)
            }
        })
    }
}

/// The run_id prefixes an `id:` value stands for: the list shows ids without `run_`, so
/// `id:5eed` also means `id:run_5eed` (and `parent:5eed…` the run `run_5eed…`).
pub fn id_prefixes(p: &str) -> Vec<String> {
    if p.starts_with("run_") {
        vec![p.to_owned()]
    } else {
        vec![p.to_owned(), format!("run_{p}")]
    }
}

/// The columns a filter looks at, for [`Filter::matches`].
#[derive(Debug, Clone, Default)]
pub struct MatchRow<'a> {
    pub run_id: &'a str,
    pub created_us: i64,
    pub mode: Option<&'a str>,
    pub tool_id: Option<&'a str>,
    pub status: Option<&'a str>,
    pub risk_level: Option<&'a str>,
    pub score: Option<f64>,
    pub source: Option<&'a str>,
    pub event_type: Option<&'a str>,
    pub verify: Option<&'a str>,
    pub search_text: Option<&'a str>,
    pub parent_run_id: Option<&'a str>,
    pub plan_run_id: Option<&'a str>,
}

fn needs_quotes(v: &str) -> bool {
    v.is_empty()
        || v.chars().any(|c| {
            c.is_whitespace()
                || matches!(
                    c,
                    ',' | '"' | '\\' | ':' | '<' | '>' | '=' | '!' | '(' | ')'
                )
        })
        || v.starts_with('-')
        || v == "OR"
}

fn quote(v: &str) -> String {
    if needs_quotes(v) {
        let mut s = String::from("\"");
        for c in v.chars() {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push('"');
        s
    } else {
        v.to_owned()
    }
}

fn fmt_number(v: f64) -> String {
    let s = format!("{v}");
    s
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("-")?;
        }
        match &self.predicate {
            Predicate::Field { field, values } => {
                let vals: Vec<String> = values.iter().map(|v| quote(v)).collect();
                write!(f, "{}:{}", field.key(), vals.join(","))
            }
            Predicate::IdPrefix(p) => write!(f, "id:{}", quote(p)),
            Predicate::Parent(p) => write!(f, "parent:{}", quote(p)),
            Predicate::Score { op, value } => {
                write!(f, "score{}{}", op.as_str(), fmt_number(*value))
            }
            Predicate::Since(t) => write!(f, "since:{t}"),
            Predicate::Until(t) => write!(f, "until:{t}"),
            Predicate::Text(s) => {
                // A bare word that looks like a key or starts with '-' must be quoted.
                if needs_quotes(s) {
                    write!(f, "{}", quote(s))
                } else {
                    f.write_str(s)
                }
            }
            Predicate::Any(alternatives) => write!(f, "({})", Alternatives(alternatives)),
        }
    }
}

/// Alternatives joined by ` OR `.
struct Alternatives<'a>(&'a [Filter]);

impl fmt::Display for Alternatives<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alt) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" OR ")?;
            }
            write_terms(f, &alt.terms)?;
        }
        Ok(())
    }
}

/// Terms separated by spaces (a group among them in its parentheses).
fn write_terms(f: &mut fmt::Formatter<'_>, terms: &[Term]) -> fmt::Result {
    for (i, t) in terms.iter().enumerate() {
        if i > 0 {
            f.write_str(" ")?;
        }
        write!(f, "{t}")?;
    }
    Ok(())
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A top-level OR prints without parentheses (it parses back to the same group).
        if let [Term {
            negated: false,
            predicate: Predicate::Any(alternatives),
        }] = self.terms.as_slice()
        {
            if alternatives.len() > 1 {
                return write!(f, "{}", Alternatives(alternatives));
            }
        }
        write_terms(f, &self.terms)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_with_fractions_of_a_second_parse_and_print_back() {
        let f =
            Filter::parse("since:2025-12-23T10:00:00Z until:2025-12-23T10:59:59.999999Z").unwrap();
        assert_eq!(
            f.to_string(),
            "since:2025-12-23T10:00:00Z until:2025-12-23T10:59:59.999999Z"
        );
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
        let hour_end = chrono::NaiveDate::from_ymd_opt(2025, 12, 23)
            .unwrap()
            .and_hms_opt(11, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        let Predicate::Until(t) = &f.terms[1].predicate else {
            panic!("{f:?}");
        };
        assert_eq!(
            t.end_us(chrono::Utc::now()),
            hour_end,
            "the hour, not a µs more"
        );
        // Finer than a microsecond is refused, not cut.
        let err = Filter::parse("since:2025-12-23T10:00:00.0000001Z").unwrap_err();
        assert!(err.message.contains("to the microsecond"), "{err:?}");
    }

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-12-24T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_the_documented_examples() {
        let f = Filter::parse(
            "risk:red mode:art_studio tool:rosette status:blocked source:feasibility_batch",
        )
        .unwrap();
        assert_eq!(f.terms.len(), 5);
        let f = Filter::parse(
            "-risk:green risk:red,yellow score<50 since:2d until:2025-12-24 id:run_5eed tear-out",
        )
        .unwrap();
        assert_eq!(
            f.terms,
            vec![
                Term {
                    negated: true,
                    predicate: Predicate::Field {
                        field: Field::Risk,
                        values: vec!["green".into()]
                    }
                },
                Term {
                    negated: false,
                    predicate: Predicate::Field {
                        field: Field::Risk,
                        values: vec!["red".into(), "yellow".into()]
                    }
                },
                Term {
                    negated: false,
                    predicate: Predicate::Score {
                        op: CmpOp::Lt,
                        value: 50.0
                    }
                },
                Term {
                    negated: false,
                    predicate: Predicate::Since(TimeSpec::Ago {
                        amount: 2,
                        unit: 'd'
                    })
                },
                Term {
                    negated: false,
                    predicate: Predicate::Until(TimeSpec::Date(
                        NaiveDate::from_ymd_opt(2025, 12, 24).unwrap()
                    ))
                },
                Term {
                    negated: false,
                    predicate: Predicate::IdPrefix("run_5eed".into())
                },
                Term {
                    negated: false,
                    predicate: Predicate::Text("tear-out".into())
                },
            ]
        );
        assert!(Filter::parse("   ").unwrap().is_empty());
    }

    #[test]
    fn errors_carry_positions() {
        let cases = [
            ("risk:red rsk:red", 9, "unknown filter key"),
            ("risk:", 5, "expected a value"),
            ("score<abc", 6, "expected a number"),
            ("score=>5", 5, "unknown comparison"),
            ("tool<5", 0, "only score"),
            ("since:yesterday", 6, "not a time"),
            ("\"open", 0, "unterminated quote"),
            ("- risk:red", 0, "expected a term after '-'"),
            ("verify:maybe", 0, "verify:maybe"),
            (
                "risk:redd",
                0,
                "risk:redd is not a known value (valid: green, yellow, red, unknown, error)",
            ),
            (
                "-status:ok,okay",
                1,
                "status:okay is not a known value (valid: ok, blocked, error)",
            ),
            ("risk:red,", 9, "expected a value"),
        ];
        for (text, pos, needle) in cases {
            let e = Filter::parse(text).unwrap_err();
            assert_eq!(e.pos, pos, "{text}: {e}");
            assert!(e.message.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn quoting_keeps_spaces_commas_and_colons() {
        let f = Filter::parse(r#"tool:"saw:blade 10in" "a, b""#).unwrap();
        assert_eq!(
            f.terms[0].predicate,
            Predicate::Field {
                field: Field::Tool,
                values: vec!["saw:blade 10in".into()]
            }
        );
        assert_eq!(f.terms[1].predicate, Predicate::Text("a, b".into()));
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
    }

    #[test]
    fn matcher_semantics() {
        let row = MatchRow {
            run_id: "run_5eed01",
            created_us: Timestamp_us("2025-12-23T18:00:00Z"),
            mode: Some("art_studio"),
            tool_id: Some("rosette"),
            status: Some("OK"),
            risk_level: Some("YELLOW"),
            score: Some(67.73),
            source: None,
            event_type: Some("unknown"),
            verify: Some("ok"),
            search_text: Some("run_5eed01\nrosette\nchipload too low"),
            parent_run_id: Some("run_abc"),
            plan_run_id: Some("run_plan"),
        };
        let m = |s: &str| Filter::parse(s).unwrap().matches(&row, now());
        assert!(m("mode:ART_STUDIO risk:yellow,red status:ok"));
        assert!(m("source:none"), "the reference's missing-source quirk");
        assert!(!m("source:snapshot"));
        assert!(m("score<70 score>=67.73 -score=1"));
        assert!(m("since:1d until:2025-12-23"));
        assert!(!m("since:2025-12-24"));
        assert!(m("id:run_5eed -id:run_6"));
        assert!(
            m("id:5eed0 -id:6"),
            "ids as the list shows them, without run_"
        );
        assert!(!m("id:un_5"), "still a prefix");
        assert!(m("CHIPLOAD"));
        assert!(!m("-chipload"));
        assert!(m("verify:ok"));
        assert!(
            m("parent:run_abc") && m("parent:abc"),
            "with or without run_"
        );
        assert!(m("parent:plan"), "the plan a run executes is a parent too");
        assert!(!m("parent:ab") && !m("parent:ABC"), "exact, not a prefix");
        assert!(m("-parent:run_other"));
        let orphan = MatchRow {
            run_id: "run_x",
            ..Default::default()
        };
        let f = Filter::parse("parent:abc").unwrap();
        assert!(!f.matches(&orphan, now()));
        assert!(Filter::parse("-parent:abc")
            .unwrap()
            .matches(&orphan, now()));
        assert_eq!(f.to_string(), "parent:abc");
    }

    #[allow(non_snake_case)]
    fn Timestamp_us(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn or_binds_looser_than_space_and_groups_nest() {
        let t = |s: &str| Term {
            negated: false,
            predicate: Predicate::Text(s.into()),
        };
        let any = |negated, alts: Vec<Vec<Term>>| Term {
            negated,
            predicate: Predicate::Any(alts.into_iter().map(|terms| Filter { terms }).collect()),
        };
        // a b OR c = (a b) OR c
        assert_eq!(
            Filter::parse("a b OR c").unwrap().terms,
            vec![any(false, vec![vec![t("a"), t("b")], vec![t("c")]])]
        );
        assert_eq!(
            Filter::parse("(a OR b) -(c d)").unwrap().terms,
            vec![
                any(false, vec![vec![t("a")], vec![t("b")]]),
                any(true, vec![vec![t("c"), t("d")]]),
            ]
        );
        // Lower-case `or` and a quoted "OR" are search words; OR glued to a word is too.
        assert_eq!(
            Filter::parse("a or b").unwrap().terms,
            vec![t("a"), t("or"), t("b")]
        );
        assert_eq!(Filter::parse("\"OR\"").unwrap().terms, vec![t("OR")]);
        assert_eq!(Filter::parse("ORE").unwrap().terms, vec![t("ORE")]);
        // Parentheses end a value.
        assert_eq!(
            Filter::parse("(risk:red OR tool:x) a").unwrap().to_string(),
            "(risk:red OR tool:x) a"
        );
        // The top level prints without parentheses and parses back the same.
        for text in [
            "risk:red OR status:blocked",
            "(tool:a OR tool:b) -verify:ok",
            "-((a OR b) c)",
        ] {
            let f = Filter::parse(text).unwrap();
            assert_eq!(f.to_string(), text);
            assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
        }
    }

    #[test]
    fn or_and_parentheses_errors_say_where() {
        for (text, pos, needle) in [
            ("OR a", 0, "both sides of OR"),
            ("a OR", 2, "both sides of OR"),
            ("a OR OR b", 5, "both sides of OR"),
            ("()", 0, "empty group"),
            ("(a", 0, "unclosed"),
            ("a)", 1, "unmatched ')'"),
            ("(a))", 3, "unmatched ')'"),
            ("risk:red)x", 8, "unmatched ')'"),
        ] {
            let e = Filter::parse(text).unwrap_err();
            assert!(e.message.contains(needle), "{text}: {e}");
            assert_eq!(e.pos, pos, "{text}: {e}");
        }
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let e = Filter::parse(&deep).unwrap_err();
        assert!(e.message.contains("nested deeper"), "{e}");
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(Filter::parse(&ok).is_ok());
    }

    #[test]
    fn groups_match_like_boolean_logic() {
        let row = MatchRow {
            run_id: "run_1",
            risk_level: Some("RED"),
            tool_id: Some("A"),
            ..Default::default()
        };
        let m = |text: &str| Filter::parse(text).unwrap().matches(&row, now());
        assert!(m("risk:green OR tool:a"));
        assert!(!m("risk:green OR tool:b"));
        assert!(m("-(risk:green OR tool:b)"));
        assert!(!m("-(risk:red tool:a)"));
        // A missing column (score) does not hold, and its negation does.
        assert!(!m("score<50 OR risk:green"));
        assert!(m("-(score<50) risk:red"));
    }
}
