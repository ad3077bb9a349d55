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
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
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

fn needs_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        || matches!(u, 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xfeff)
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
    fn shorten_marks_cut() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
