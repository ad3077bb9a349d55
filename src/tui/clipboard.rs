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
    #[test]
    fn osc52_encodes_base64() {
        assert_eq!(super::osc52("run_1"), "\x1b]52;c;cnVuXzE=\x07");
    }
}
