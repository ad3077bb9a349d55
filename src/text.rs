//! Text safety for anything that came from a file or a user and is about to be shown.
//!
//! Artifact strings may hold control characters, ANSI escape sequences or bidi overrides;
//! sent raw to a terminal they could move the cursor, rewrite the screen or disguise text.
//! [`sanitize`] makes every such character visible as an escape instead.

/// Replace control characters (C0, DEL, C1), bidi controls and other invisible format
/// characters by visible escapes (`\x1b`, `\u{202e}`); keep everything else.
pub fn sanitize(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Like [`sanitize`] but keeps line breaks and tabs (for multi-line text blocks).
pub fn sanitize_multiline(s: &str) -> String {
    s.split('\n')
        .map(|line| sanitize(&line.replace('\t', "    ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Characters that must never reach a terminal as themselves: C0 and C1 controls and DEL
/// (escape sequences, cursor movement, bracketed-paste ends), and the invisible format
/// characters that reorder or hide text (bidi controls and marks, zero-width characters,
/// line/paragraph separators, the soft hyphen, interlinear annotations and the Unicode tag
/// characters that can smuggle text past a reader).
pub fn needs_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || matches!(
            u,
            0xad | 0x061c
                | 0x115f
                | 0x1160
                | 0x17b4
                | 0x17b5
                | 0x180e
                | 0x200b..=0x200f
                | 0x2028..=0x202e
                | 0x2060..=0x206f
                | 0x3164
                | 0xfeff
                | 0xffa0
                | 0xfff9..=0xfffb
                | 0x1d173..=0x1d17a
                | 0xe0000..=0xe0fff
        )
}

/// Escape every character of [`needs_escape`] except line feeds and tabs: the last line of
/// defence for whole blocks of output (see `cli::out`), which keeps the block's own layout.
pub fn escape_for_terminal(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && c != '\t' && needs_escape(c)) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c == '\n' || c == '\t' || !needs_escape(c) {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x100 => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Escape the terminal-unsafe characters of serialized JSON as `\uXXXX`. serde_json escapes
/// C0 controls itself but leaves DEL, C1 controls (U+009B is a CSI) and invisible format
/// characters raw; they can only occur inside strings, where `\uXXXX` means the same
/// character, so the document parses to the same value.
pub fn json_for_terminal(json: &str) -> std::borrow::Cow<'_, str> {
    // Line feeds, carriage returns and tabs can only be whitespace between tokens in JSON
    // (inside a string they must be escaped already): they stay.
    let keep = |c: char| matches!(c, '\n' | '\r' | '\t') || !needs_escape(c);
    if json.chars().all(keep) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if keep(c) {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                use std::fmt::Write;
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Quote `s` for a POSIX shell so that pasting it passes exactly `s` as one word.
/// Printable text is single-quoted (`'` as `'\''`); text with characters a terminal must not
/// see raw uses bash's `$'…'` form with escapes, so the printed line is both safe to show and
/// exact when pasted.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.,:/@+=%".contains(&b))
    {
        return s.to_owned();
    }
    if !s.chars().any(needs_escape) {
        return format!("'{}'", s.replace('\'', "'\\''"));
    }
    let mut out = String::from("$'");
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if needs_escape(c) => {
                // Byte escapes of the UTF-8 encoding: exact whatever the shell's locale.
                use std::fmt::Write;
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The first `n` characters of `s` (never cuts inside a character, whatever the text).
pub fn prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Cut `s` to at most `max` characters, marking the cut with `…`.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let keep: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{keep}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(sanitize("ok\x1b[2Jboom"), "ok\\x1b[2Jboom");
        assert_eq!(sanitize("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(sanitize("\u{9b}31m"), "\\x9b31m");
        assert_eq!(sanitize("ロゼット 🎸"), "ロゼット 🎸");
    }

    #[test]
    fn escapes_invisible_format_characters() {
        for c in [
            '\u{061c}',
            '\u{2028}',
            '\u{2029}',
            '\u{00ad}',
            '\u{e0041}',
            '\u{e007f}',
            '\u{2066}',
        ] {
            let s = sanitize(&format!("a{c}b"));
            assert!(!s.contains(c), "{c:?} must be escaped: {s}");
            assert!(s.starts_with('a') && s.ends_with('b'));
        }
        // Emoji with a variation selector stay as they are.
        assert_eq!(sanitize("\u{2764}\u{fe0f}"), "\u{2764}\u{fe0f}");
    }

    #[test]
    fn terminal_escaping_keeps_layout_but_no_controls() {
        let s = escape_for_terminal("line one\n\tid \x1b]52;c;aGk=\x07 \u{9b}2J\r");
        assert_eq!(s, "line one\n\tid \\x1b]52;c;aGk=\\x07 \\x9b2J\\r");
        assert!(matches!(
            escape_for_terminal("plain\n"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_escaping_keeps_the_value() {
        let v = serde_json::json!({"id": "a\u{9b}b\u{202e}c\u{7f}\u{e0041}"});
        let text = serde_json::to_string_pretty(&v).unwrap();
        let safe = json_for_terminal(&text);
        assert!(
            !safe.chars().any(|c| c != '\n' && needs_escape(c)),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn shell_quote_round_trips_through_sh() {
        for s in [
            "plain_id",
            "2025-01-01T00:00:00Z|run_x",
            "it's",
            "a b",
            "\x1b]52;c;x\x07",
            "q'\u{9b}\\n",
            "",
        ] {
            let q = shell_quote(s);
            assert!(!q.chars().any(needs_escape), "{q:?}");
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("printf %s {q}"))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "quoted as {q}");
        }
    }

    #[test]
    fn shorten_marks_cut() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
