//! The one way command output reaches a terminal.
//!
//! Every human-readable line of every command goes through [`say`] (stdout) or [`tell`]
//! (stderr), usually through the `say!`/`tell!` macros. Both pass the whole formatted text
//! through [`escape_for_terminal`], so a string that came from a file or the database can
//! never drive the reader's terminal (rewrite the clipboard through OSC 52, retitle the
//! window, end a bracketed paste), even where a command forgot to sanitize a field.
//! Machine output goes through [`json`] / [`json_line`], which escape what serde_json
//! leaves raw (DEL, C1 controls, invisible format characters) as `\uXXXX`.
//! A test (`tests/hostile.rs`) fails when a command prints any other way.

use crate::text::{escape_for_terminal, json_for_terminal};
use std::fmt;
use std::io::Write;

/// One line on stdout, escaped for the terminal. A closed pipe ends the process quietly
/// (SIGPIPE has its default action for commands).
pub fn say(args: fmt::Arguments<'_>) {
    let text = fmt::format(args);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", escape_for_terminal(&text));
}

/// One line on stderr, escaped for the terminal.
pub fn tell(args: fmt::Arguments<'_>) {
    let text = fmt::format(args);
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{}", escape_for_terminal(&text));
}

/// A transient status line on stderr (a terminal's only): the line is cleared and redrawn.
/// The text is escaped; only the clearing sequence is rmos's own.
pub fn status(args: fmt::Arguments<'_>) {
    let text = fmt::format(args);
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K{}", escape_for_terminal(&text));
    let _ = err.flush();
}

/// Clear a status line drawn by [`status`].
pub fn clear_status() {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K");
    let _ = err.flush();
}

/// A JSON document, pretty-printed, on stdout.
pub fn json(value: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", json_for_terminal(&text))
}

/// A JSON document on one line (JSON Lines), on the given writer.
pub fn json_line(out: &mut impl Write, value: &serde_json::Value) -> std::io::Result<()> {
    let text = serde_json::to_string(value).map_err(std::io::Error::other)?;
    writeln!(out, "{}", json_for_terminal(&text))
}

/// Buffered stdout for commands that stream many lines (`runs verify`, `score --batch`).
/// Text is escaped like [`say`]; JSON fragments like [`json`].
pub struct Buffered {
    inner: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl Buffered {
    pub fn stdout() -> Buffered {
        Buffered {
            inner: std::io::BufWriter::new(std::io::stdout().lock()),
        }
    }

    /// Text, escaped for the terminal (line feeds are the caller's).
    pub fn text(&mut self, args: fmt::Arguments<'_>) -> std::io::Result<()> {
        let text = fmt::format(args);
        self.inner.write_all(escape_for_terminal(&text).as_bytes())
    }

    /// A piece of a JSON document (serialized by serde_json or literal punctuation).
    pub fn json(&mut self, fragment: &str) -> std::io::Result<()> {
        self.inner.write_all(json_for_terminal(fragment).as_bytes())
    }

    /// One JSON value on its own line.
    pub fn json_line(&mut self, value: &serde_json::Value) -> std::io::Result<()> {
        json_line(&mut self.inner, value)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A question on stderr, without a line feed (the answer is typed after it).
pub fn prompt(args: fmt::Arguments<'_>) {
    let text = fmt::format(args);
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{}", escape_for_terminal(&text));
    let _ = err.flush();
}
