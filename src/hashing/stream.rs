//! Canonical JSON straight from the bytes: the same text (and so the same SHA-256) as
//! [`super::canonical_json`] of the parsed value, without building a `serde_json::Value`.
//!
//! The parser walks the input once and writes the canonical form as it goes. An object's
//! members are written in input order, each member as one contiguous range of the output
//! (nested objects are already canonical by the time their parent closes); when the
//! parent closes, the ranges are sorted by their decoded key — byte order of UTF-8 is code
//! point order, Python's `str` order — and copied back in that order through a reused
//! scratch buffer. A key given twice keeps its last value, as `json.loads` and the
//! `Value` parser do. Floats are parsed from their text in place (Rust's parser rounds
//! correctly, like Python's) and written as Python's `repr` from Ryū's shortest digits,
//! with no allocation per number; integers are copied verbatim (`-0` is `0`).
//!
//! Acceptance is the `Value` parser's, exactly: RFC 8259 syntax, strings of valid UTF-8
//! without raw control characters, escapes with paired UTF-16 surrogates, no `NaN` or
//! `Infinity` tokens, whitespace around the value, and serde_json's nesting limit
//! ([`MAX_DEPTH`] containers). Invalid input is an error naming the byte offset; it never
//! produces a digest. All buffers live in a [`Canonicalizer`] and are reused from one
//! document to the next.

use std::fmt;

/// Containers one document may nest, as serde_json allows (its recursion limit is 128
/// and the 128th level is refused).
pub const MAX_DEPTH: usize = 127;

/// Buffers larger than this are released after a document (one huge document must not
/// pin its memory for the life of a thread).
const KEEP_CAPACITY: usize = 1 << 20;

/// Why a document is not JSON the reference could have hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonError {
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
    pub what: &'static str,
}

impl fmt::Display for CanonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.what)
    }
}

impl std::error::Error for CanonError {}

/// One member of an open object: its decoded key in `keys` and its `"key":value` text
/// in the output.
#[derive(Debug, Clone, Copy)]
struct Member {
    key_start: usize,
    key_end: usize,
    start: usize,
    end: usize,
}

/// Reusable state for canonicalizing documents; keep one per thread or worker.
#[derive(Debug, Default)]
pub struct Canonicalizer {
    out: Vec<u8>,
    /// Decoded keys of the objects still open (an arena, truncated as objects close).
    keys: Vec<u8>,
    members: Vec<Member>,
    /// Where sorted members are assembled before being copied back.
    scratch: Vec<u8>,
    /// A decoded string value with escapes.
    text: Vec<u8>,
}

impl Canonicalizer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The canonical text of the JSON document `input` (one value, whitespace around it
    /// allowed). The slice borrows this canonicalizer's buffer.
    pub fn canonicalize(&mut self, input: &[u8]) -> Result<&[u8], CanonError> {
        self.canonicalize_nested(input, MAX_DEPTH)
    }

    /// [`Canonicalizer::canonicalize`] with at most `max_depth` nested containers: a
    /// value found at depth `d` of a larger document may nest `MAX_DEPTH - d` more.
    pub fn canonicalize_nested(
        &mut self,
        input: &[u8],
        max_depth: usize,
    ) -> Result<&[u8], CanonError> {
        self.release_if_large();
        self.out.clear();
        self.keys.clear();
        self.members.clear();
        let mut p = Parser {
            inp: input,
            pos: 0,
            c: self,
        };
        p.skip_ws();
        p.value(max_depth)?;
        p.skip_ws();
        if p.pos != input.len() {
            return Err(p.err("trailing characters after the value"));
        }
        Ok(&self.out)
    }

    /// Lower-case hex SHA-256 of the canonical text of `input` (`sha256_of_obj` of the
    /// document the reference would have loaded).
    pub fn sha256(&mut self, input: &[u8]) -> Result<String, CanonError> {
        self.sha256_nested(input, MAX_DEPTH)
    }

    /// [`Canonicalizer::sha256`] with a nesting allowance (see `canonicalize_nested`).
    pub fn sha256_nested(&mut self, input: &[u8], max_depth: usize) -> Result<String, CanonError> {
        let text = self.canonicalize_nested(input, max_depth)?;
        Ok(super::sha256_bytes(text))
    }

    fn release_if_large(&mut self) {
        for buf in [
            &mut self.out,
            &mut self.keys,
            &mut self.scratch,
            &mut self.text,
        ] {
            if buf.capacity() > KEEP_CAPACITY {
                *buf = Vec::new();
            }
        }
        if self.members.capacity() > KEEP_CAPACITY / std::mem::size_of::<Member>() {
            self.members = Vec::new();
        }
    }
}

thread_local! {
    static CANON: std::cell::RefCell<Canonicalizer> = std::cell::RefCell::new(Canonicalizer::new());
}

/// SHA-256 of the canonical form of the JSON document `input`, with this thread's
/// reused [`Canonicalizer`].
pub fn sha256_json_bytes(input: &[u8]) -> Result<String, CanonError> {
    CANON.with(|c| c.borrow_mut().sha256(input))
}

/// [`sha256_json_bytes`] for a value nested in a larger document (see
/// [`Canonicalizer::canonicalize_nested`]); also says whether the value is an object.
pub fn sha256_json_bytes_nested(
    input: &[u8],
    max_depth: usize,
) -> Result<(String, bool), CanonError> {
    CANON.with(|c| {
        let mut c = c.borrow_mut();
        let text = c.canonicalize_nested(input, max_depth)?;
        let is_object = text.first() == Some(&b'{');
        Ok((super::sha256_bytes(text), is_object))
    })
}

/// The canonical text of the JSON document `input`, as a new string.
pub fn canonical_json_bytes(input: &[u8]) -> Result<String, CanonError> {
    let mut c = Canonicalizer::new();
    let text = c.canonicalize(input)?;
    Ok(String::from_utf8(text.to_vec()).expect("canonical text is UTF-8"))
}

struct Parser<'i, 'c> {
    inp: &'i [u8],
    pos: usize,
    c: &'c mut Canonicalizer,
}

impl Parser<'_, '_> {
    fn err(&self, what: &'static str) -> CanonError {
        CanonError {
            offset: self.pos,
            what,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.inp.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn value(&mut self, depth_left: usize) -> Result<(), CanonError> {
        match self.peek() {
            None => Err(self.err("unexpected end of input, expected a value")),
            Some(b'{') => {
                if depth_left == 0 {
                    return Err(self.err("nested too deeply"));
                }
                self.object(depth_left - 1)
            }
            Some(b'[') => {
                if depth_left == 0 {
                    return Err(self.err("nested too deeply"));
                }
                self.array(depth_left - 1)
            }
            Some(b'"') => {
                self.string_value()?;
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), CanonError> {
        if self.inp[self.pos..].starts_with(word) {
            self.pos += word.len();
            self.c.out.extend_from_slice(word);
            Ok(())
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn array(&mut self, depth_left: usize) -> Result<(), CanonError> {
        self.pos += 1;
        self.c.out.push(b'[');
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.c.out.push(b']');
            return Ok(());
        }
        loop {
            self.skip_ws();
            self.value(depth_left)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.c.out.push(b',');
                }
                Some(b']') => {
                    self.pos += 1;
                    self.c.out.push(b']');
                    return Ok(());
                }
                None => return Err(self.err("unexpected end of input in an array")),
                Some(_) => return Err(self.err("expected ',' or ']' in an array")),
            }
        }
    }

    fn object(&mut self, depth_left: usize) -> Result<(), CanonError> {
        self.pos += 1;
        self.c.out.push(b'{');
        let region = self.c.out.len();
        let first_member = self.c.members.len();
        let first_key = self.c.keys.len();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.c.out.push(b'}');
            return Ok(());
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.err("unexpected end of input in an object")),
                Some(_) => return Err(self.err("expected a string key in an object")),
            }
            let start = self.c.out.len();
            let key_start = self.c.keys.len();
            self.string_key()?;
            let key_end = self.c.keys.len();
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.err("expected ':' after an object key"));
            }
            self.pos += 1;
            self.c.out.push(b':');
            self.skip_ws();
            self.value(depth_left)?;
            self.c.members.push(Member {
                key_start,
                key_end,
                start,
                end: self.c.out.len(),
            });
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.c.out.push(b',');
                }
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                None => return Err(self.err("unexpected end of input in an object")),
                Some(_) => return Err(self.err("expected ',' or '}' in an object")),
            }
        }
        self.c.sort_members(region, first_member);
        self.c.out.push(b'}');
        self.c.members.truncate(first_member);
        self.c.keys.truncate(first_key);
        Ok(())
    }

    /// A string value: validated, decoded when it has escapes, written canonically.
    fn string_value(&mut self) -> Result<(), CanonError> {
        self.pos += 1;
        let start = self.pos;
        match self.scan_plain()? {
            b'"' => {
                let raw = &self.inp[start..self.pos];
                check_utf8(raw, start)?;
                self.pos += 1;
                let out = &mut self.c.out;
                out.push(b'"');
                out.extend_from_slice(raw);
                out.push(b'"');
                Ok(())
            }
            _ => {
                let mut text = std::mem::take(&mut self.c.text);
                text.clear();
                let r = self.decode_rest(start, &mut text);
                if r.is_ok() {
                    write_escaped(&text, &mut self.c.out);
                }
                self.c.text = text;
                r
            }
        }
    }

    /// A key: decoded into the key arena and written canonically (`"key":` minus colon).
    fn string_key(&mut self) -> Result<(), CanonError> {
        self.pos += 1;
        let start = self.pos;
        match self.scan_plain()? {
            b'"' => {
                let raw = &self.inp[start..self.pos];
                check_utf8(raw, start)?;
                self.pos += 1;
                self.c.keys.extend_from_slice(raw);
                let out = &mut self.c.out;
                out.push(b'"');
                out.extend_from_slice(raw);
                out.push(b'"');
                Ok(())
            }
            _ => {
                let mut keys = std::mem::take(&mut self.c.keys);
                let from = keys.len();
                let r = self.decode_rest(start, &mut keys);
                if r.is_ok() {
                    write_escaped(&keys[from..], &mut self.c.out);
                }
                self.c.keys = keys;
                r
            }
        }
    }

    /// Advance to the next `"`, `\` or control character of a string; return it.
    fn scan_plain(&mut self) -> Result<u8, CanonError> {
        let rest = &self.inp[self.pos..];
        match rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        {
            Some(i) => {
                self.pos += i;
                let b = rest[i];
                if b < 0x20 {
                    Err(self.err("control character in a string (escape it)"))
                } else {
                    Ok(b)
                }
            }
            None => {
                self.pos = self.inp.len();
                Err(self.err("unexpected end of input in a string"))
            }
        }
    }

    /// Decode a string whose plain part `start..pos` is behind us and whose next byte is
    /// a backslash, appending the decoded UTF-8 to `dst`; consumes the closing quote.
    fn decode_rest(&mut self, start: usize, dst: &mut Vec<u8>) -> Result<(), CanonError> {
        let from = dst.len();
        dst.extend_from_slice(&self.inp[start..self.pos]);
        loop {
            // At a backslash.
            self.pos += 1;
            let Some(e) = self.peek() else {
                return Err(self.err("unexpected end of input in a string escape"));
            };
            self.pos += 1;
            match e {
                b'"' => dst.push(b'"'),
                b'\\' => dst.push(b'\\'),
                b'/' => dst.push(b'/'),
                b'b' => dst.push(0x08),
                b'f' => dst.push(0x0c),
                b'n' => dst.push(b'\n'),
                b'r' => dst.push(b'\r'),
                b't' => dst.push(b'\t'),
                b'u' => {
                    let c = self.unicode_escape()?;
                    let mut buf = [0u8; 4];
                    dst.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.err("invalid escape in a string"));
                }
            }
            let seg = self.pos;
            let b = self.scan_plain()?;
            dst.extend_from_slice(&self.inp[seg..self.pos]);
            if b == b'"' {
                self.pos += 1;
                // Escapes decode to whole characters, so the string is valid UTF-8 iff
                // every raw segment is; one check over the result covers them all.
                return check_utf8(&dst[from..], start);
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, CanonError> {
        let Some(digits) = self.inp.get(self.pos..self.pos + 4) else {
            self.pos = self.inp.len();
            return Err(self.err("unexpected end of input in a \\u escape"));
        };
        let mut n = 0u32;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.err("invalid \\u escape (four hex digits expected)")),
            };
            n = n * 16 + u32::from(v);
        }
        self.pos += 4;
        Ok(n)
    }

    /// The character of a `\uXXXX` escape (after `\u`); a surrogate must be the first
    /// of a `\uD8xx\uDCxx` pair.
    fn unicode_escape(&mut self) -> Result<char, CanonError> {
        let n = self.hex4()?;
        if (0xDC00..=0xDFFF).contains(&n) {
            return Err(self.err("lone surrogate in a \\u escape"));
        }
        if !(0xD800..=0xDBFF).contains(&n) {
            return Ok(char::from_u32(n).expect("not a surrogate"));
        }
        if self.inp.get(self.pos..self.pos + 2) != Some(b"\\u") {
            return Err(self.err("lone surrogate in a \\u escape"));
        }
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..=0xDFFF).contains(&low) {
            return Err(self.err("lone surrogate in a \\u escape"));
        }
        let c = 0x1_0000 + ((n - 0xD800) << 10) + (low - 0xDC00);
        Ok(char::from_u32(c).expect("a surrogate pair is a character"))
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - from
    }

    fn number(&mut self) -> Result<(), CanonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.err("invalid number (leading zero)"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.err("invalid number")),
        }
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.err("invalid number (digits expected after '.')"));
            }
            float = true;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.err("invalid number (digits expected in the exponent)"));
            }
            float = true;
        }
        let text = &self.inp[start..self.pos];
        if float && is_python_repr(text) {
            self.c.out.extend_from_slice(text);
        } else if float {
            let text = std::str::from_utf8(text).expect("number text is ASCII");
            let f: f64 = text.parse().unwrap_or(f64::NAN);
            write_python_float(f, &mut self.c.out);
        } else if text.iter().all(|&b| b == b'0' || b == b'-') {
            self.c.out.push(b'0');
        } else {
            self.c.out.extend_from_slice(text);
        }
        Ok(())
    }
}

impl Canonicalizer {
    /// Put the members of the object whose text starts at `region` (members from
    /// `first` on) in key order, keeping the last of equal keys.
    fn sort_members(&mut self, region: usize, first: usize) {
        let keys = &self.keys;
        let key = |m: &Member| &keys[m.key_start..m.key_end];
        let members = &mut self.members[first..];
        if members.windows(2).all(|w| key(&w[0]) < key(&w[1])) {
            return; // already in order, no duplicates: the text is canonical
        }
        members.sort_unstable_by(|a, b| key(a).cmp(key(b)).then(a.start.cmp(&b.start)));
        let scratch = &mut self.scratch;
        scratch.clear();
        for (i, m) in members.iter().enumerate() {
            if members.get(i + 1).is_some_and(|next| key(next) == key(m)) {
                continue; // a later member has the same key: it wins
            }
            if !scratch.is_empty() {
                scratch.push(b',');
            }
            scratch.extend_from_slice(&self.out[m.start..m.end]);
        }
        self.out.truncate(region);
        self.out.extend_from_slice(scratch);
    }
}

/// Is the (valid JSON) float text already Python's `repr` of its value? True for plain
/// decimals such as `12.5`, `-0.0`, `100.0` or `0.0001` with at most 15 significant digits,
/// no superfluous trailing zero and a value in the positional range (`1e-4 <= |x| < 1e16`):
/// any decimal of at most 15 significant digits survives the round trip through a double
/// (DBL_DIG), so no other string of that length or shorter denotes the same double, and the
/// shortest round-trip digits are the text's own. Most floats in real files take this path
/// and skip parsing and formatting altogether.
fn is_python_repr(text: &[u8]) -> bool {
    let t = text.strip_prefix(b"-").unwrap_or(text);
    let Some(dot) = t.iter().position(|&b| b == b'.') else {
        return false;
    };
    let (int, frac) = (&t[..dot], &t[dot + 1..]);
    if int.len() > 16 || !frac.iter().all(u8::is_ascii_digit) {
        return false; // too large for positional notation, or an exponent follows
    }
    if frac.len() > 1 && frac.last() == Some(&b'0') {
        return false; // `1.50` is written `1.5`
    }
    let frac_zeros = frac.iter().take_while(|&&b| b == b'0').count();
    let sig = if int == b"0" {
        if frac_zeros == frac.len() {
            return true; // 0.0
        }
        if frac_zeros > 3 {
            return false; // below 1e-4: exponent notation
        }
        frac.len() - frac_zeros
    } else if frac == b"0" {
        int.len() - int.iter().rev().take_while(|&&b| b == b'0').count()
    } else {
        int.len() + frac.len()
    };
    sig <= 15
}

fn check_utf8(bytes: &[u8], start: usize) -> Result<(), CanonError> {
    match std::str::from_utf8(bytes) {
        Ok(_) => Ok(()),
        Err(e) => Err(CanonError {
            offset: start + e.valid_up_to(),
            what: "invalid UTF-8 in a string",
        }),
    }
}

/// Write decoded string bytes as Python's `json.dumps(ensure_ascii=False)` does.
fn write_escaped(s: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut plain = 0;
    for (i, &b) in s.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => &[],
            _ => continue,
        };
        out.extend_from_slice(&s[plain..i]);
        plain = i + 1;
        if esc.is_empty() {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        } else {
            out.extend_from_slice(esc);
        }
    }
    out.extend_from_slice(&s[plain..]);
    out.push(b'"');
}

/// Append Python's `repr(f)` (as `json.dumps` writes floats) without allocating.
pub fn write_python_float(f: f64, out: &mut Vec<u8>) {
    if f.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if f.is_infinite() {
        out.extend_from_slice(if f > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    if f.is_sign_negative() {
        out.push(b'-');
    }
    if f == 0.0 {
        out.extend_from_slice(b"0.0");
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(f.abs()).as_bytes();
    // For 1e-4 <= |x| < 1e16 Ryū writes positional notation with ".0" on integral values:
    // exactly Python's repr.
    if f.abs() >= 1e-4 && !text.contains(&b'e') {
        out.extend_from_slice(text);
        return;
    }
    // Ryū's shortest digits (ties to even, like the dtoa behind Python's repr) and where
    // its decimal point falls: value = 0.DIGITS × 10^decpt.
    let (mantissa, exp) = match text.iter().position(|&b| b == b'e') {
        Some(i) => (&text[..i], parse_exp(&text[i + 1..])),
        None => (text, 0),
    };
    let mut digits = [0u8; 32];
    let mut n = 0;
    let mut int_len = 0i32;
    let mut seen_dot = false;
    for &b in mantissa {
        if b == b'.' {
            seen_dot = true;
            continue;
        }
        if n == 0 && b == b'0' {
            if !seen_dot {
                continue; // a leading "0" before the point
            }
            int_len -= 1; // a zero after the point, before the first digit
            continue;
        }
        digits[n] = b;
        n += 1;
        if !seen_dot {
            int_len += 1;
        }
    }
    while n > 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[..n];
    let decpt = int_len + exp;
    let nd = n as i32;
    if (-3..=16).contains(&decpt) {
        if decpt <= 0 {
            out.extend_from_slice(b"0.");
            out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
            out.extend_from_slice(digits);
        } else if decpt >= nd {
            out.extend_from_slice(digits);
            out.extend(std::iter::repeat_n(b'0', (decpt - nd) as usize));
            out.extend_from_slice(b".0");
        } else {
            let (int, frac) = digits.split_at(decpt as usize);
            out.extend_from_slice(int);
            out.push(b'.');
            out.extend_from_slice(frac);
        }
    } else {
        out.push(digits[0]);
        if n > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = decpt - 1;
        out.push(b'e');
        out.push(if e < 0 { b'-' } else { b'+' });
        let e = e.unsigned_abs();
        if e >= 100 {
            out.push(b'0' + (e / 100) as u8);
        }
        out.push(b'0' + (e / 10 % 10) as u8);
        out.push(b'0' + (e % 10) as u8);
    }
}

fn parse_exp(text: &[u8]) -> i32 {
    let (neg, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let v = digits
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d - b'0'));
    if neg {
        -v
    } else {
        v
    }
}
