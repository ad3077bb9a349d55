//! Copying over SSH: OSC 52 always (the terminal — or tmux with `set-clipboard on` — puts
//! the text on the clipboard, wherever the terminal runs), plus the native clipboard via
//! arboard only when a display exists (never on a headless SSH session).

use base64::Engine as _;
use std::io::Write;

/// Where copied text goes.
pub trait Clipboard: Send {
    /// Copy `text`; returns how it was delivered ("OSC 52", "OSC 52 + system clipboard").
    fn copy(&mut self, text: &str) -> Result<String, String>;
}

/// The OSC 52 escape sequence that asks the terminal to set the clipboard.
pub fn osc52(text: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{b64}\x07")
}

/// The terminal's clipboard (OSC 52 on stdout) and, with a display, the system one.
#[derive(Default)]
pub struct TerminalClipboard {
    native: Option<arboard::Clipboard>,
    native_tried: bool,
}

fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

impl Clipboard for TerminalClipboard {
    fn copy(&mut self, text: &str) -> Result<String, String> {
        let mut out = std::io::stdout();
        out.write_all(osc52(text).as_bytes())
            .and_then(|_| out.flush())
            .map_err(|e| format!("cannot write to the terminal: {e}"))?;
        if !self.native_tried && has_display() {
            self.native_tried = true;
            self.native = arboard::Clipboard::new().ok();
        }
        match self.native.as_mut().map(|c| c.set_text(text.to_owned())) {
            Some(Ok(())) => Ok("OSC 52 + system clipboard".into()),
            _ => Ok("OSC 52".into()),
        }
    }
}

/// Most text rmos sends through OSC 52 (terminals cap it too; tmux at about 1 MB).
pub const MAX_COPY_BYTES: usize = 1024 * 1024;

/// Check text before it goes to any clipboard: pasted into a terminal, control characters
/// would act there (`ESC [ 201 ~` ends bracketed paste, then the rest runs as typed
/// commands). A one-line text (an id) with such characters is refused; a JSON document is
/// passed in an equivalent form with them escaped as `\uXXXX`; anything else with them is
/// refused. Over [`MAX_COPY_BYTES`] nothing is sent, with a message saying so.
pub fn guard(text: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    use crate::text::{json_for_terminal, needs_escape, sanitize, shorten};
    if text.len() > MAX_COPY_BYTES {
        return Err(format!(
            "{} bytes is over the {} bytes rmos sends to the clipboard; use `rmos logs show --json RUN_ID > file` instead",
            text.len(),
            MAX_COPY_BYTES
        ));
    }
    if !text.chars().any(needs_escape) {
        return Ok(std::borrow::Cow::Borrowed(text));
    }
    // Several lines are copied only as a well-formed JSON document (the record), with
    // anything a terminal would act on escaped; a line break in anything else (an id)
    // would run as a command when pasted.
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        return Ok(json_for_terminal(text));
    }
    Err(format!(
        "it holds control or invisible characters ({}) that would act in the terminal it is pasted into; nothing was copied",
        shorten(&sanitize(text), 60)
    ))
}

/// A clipboard that remembers what was copied (tests).
#[derive(Default, Clone)]
pub struct MemoryClipboard {
    pub copied: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Clipboard for MemoryClipboard {
    fn copy(&mut self, text: &str) -> Result<String, String> {
        self.copied
            .lock()
            .expect("clipboard lock")
            .push(text.to_owned());
        Ok("memory".into())
    }
}

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn guard_refuses_controls_and_caps_size() {
        assert_eq!(guard("run_1").unwrap(), "run_1");
        assert!(guard("run_\x1b]52;c;aGk=\x07").is_err());
        assert!(guard("run_1\nrm -rf ~\n").is_err());
        assert!(guard("x\u{202e}y").is_err());
        // A pretty JSON record stays as it is; one with a C1 control is escaped, same value.
        let pretty = "{\n  \"run_id\": \"run_1\"\n}";
        assert_eq!(guard(pretty).unwrap(), pretty);
        let c1 = "{\n  \"run_id\": \"a\u{9b}201~b\"\n}";
        let safe = guard(c1).unwrap();
        assert!(!safe.contains('\u{9b}'));
        let a: serde_json::Value = serde_json::from_str(c1).unwrap();
        let b: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(a, b);
        // Raw bytes of a broken file with a paste terminator are refused.
        assert!(guard("{\n \"x\": \x1b[201~\n").is_err());
        let big = "a".repeat(super::MAX_COPY_BYTES + 1);
        assert!(guard(&big).unwrap_err().contains("over"));
    }

    #[test]
    fn osc52_encodes_base64() {
        assert_eq!(super::osc52("run_1"), "\x1b]52;c;cnVuXzE=\x07");
    }
}
