//! Pictures at full resolution where the terminal can show them: the review queue draws
//! an asset's image through the terminal's graphics protocol (kitty, sixel, iTerm2) with
//! `ratatui-image`, which also wraps the picture for tmux to pass through to the outer
//! terminal. Everywhere else (a terminal without a protocol, `RMOS_GRAPHICS=halfblocks`,
//! tests) the console's own half-block drawing is used.
//!
//! The protocol is recognised from the environment the terminal sets (`KITTY_WINDOW_ID`,
//! `TERM=xterm-kitty`, `TERM_PROGRAM=iTerm.app`/`WezTerm`, a `TERM` of foot or mlterm),
//! never by querying the terminal: a query whose answer never comes leaves a reader on
//! the input that swallows keystrokes, which a console must not risk. The cell size in
//! pixels comes from the terminal's window size report when it gives one.
//!
//! `RMOS_GRAPHICS`: `auto` (default), `halfblocks` (never a protocol), or `kitty` /
//! `sixel` / `iterm2` to force one (for terminals the environment does not reveal).

use image::DynamicImage;
use ratatui::layout::Rect;
use ratatui::Frame;
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::StatefulProtocol;
use ratatui_image::{Resize, StatefulImage};
use std::sync::Arc;

/// The terminal's picture capability and the picture being shown.
pub struct Graphics {
    picker: Option<Picker>,
    /// The picture on screen: which image (by its allocation) and its encoded state.
    current: Option<(usize, StatefulProtocol)>,
    /// Where this frame drew a picture (its cells hold protocol data, not text).
    pub drawn: Option<Rect>,
}

/// What `RMOS_GRAPHICS` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Choice {
    Auto,
    HalfBlocks,
    Force(ProtocolType),
}

impl Choice {
    pub fn from_env() -> Result<Choice, String> {
        match std::env::var("RMOS_GRAPHICS").ok().as_deref().map(str::trim) {
            None | Some("" | "auto") => Ok(Choice::Auto),
            Some("halfblocks" | "off" | "none") => Ok(Choice::HalfBlocks),
            Some("kitty") => Ok(Choice::Force(ProtocolType::Kitty)),
            Some("sixel") => Ok(Choice::Force(ProtocolType::Sixel)),
            Some("iterm2") => Ok(Choice::Force(ProtocolType::Iterm2)),
            Some(other) => Err(format!(
                "RMOS_GRAPHICS={other:?} is not known (auto, halfblocks, kitty, sixel, iterm2): using half blocks"
            )),
        }
    }
}

/// The graphics protocol a terminal announces through its environment, if any.
pub fn protocol_from_env(var: impl Fn(&str) -> Option<String>) -> Option<ProtocolType> {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    let term = var("TERM").unwrap_or_default();
    let program = var("TERM_PROGRAM").unwrap_or_default();
    if set("KITTY_WINDOW_ID") || term == "xterm-kitty" || program == "ghostty" {
        Some(ProtocolType::Kitty)
    } else if matches!(program.as_str(), "iTerm.app" | "WezTerm") || set("WEZTERM_EXECUTABLE") {
        Some(ProtocolType::Iterm2)
    } else if term.starts_with("foot") || term.starts_with("mlterm") {
        Some(ProtocolType::Sixel)
    } else {
        None
    }
}

/// The size of one character cell in pixels, from the terminal's window size report
/// (8×16 when it reports none).
fn cell_pixels() -> (u16, u16) {
    match crossterm::terminal::window_size() {
        Ok(s) if s.columns > 0 && s.rows > 0 && s.width > 0 && s.height > 0 => {
            ((s.width / s.columns).max(1), (s.height / s.rows).max(1))
        }
        _ => (8, 16),
    }
}

impl Graphics {
    /// No protocol: pictures are drawn with half blocks.
    pub fn none() -> Graphics {
        Graphics {
            picker: None,
            current: None,
            drawn: None,
        }
    }

    /// Pictures through `picker`'s protocol (half blocks when None).
    pub fn with_picker(picker: Option<Picker>) -> Graphics {
        Graphics {
            picker: picker.filter(|p| p.protocol_type() != ProtocolType::Halfblocks),
            current: None,
            drawn: None,
        }
    }

    /// The protocol to use, as `RMOS_GRAPHICS` asks and the environment shows, and a
    /// note for the status line when the setting could not be honoured.
    pub fn pick(choice: Result<Choice, String>) -> (Option<Picker>, Option<String>) {
        let choice = match choice {
            Ok(c) => c,
            Err(note) => return (None, Some(note)),
        };
        let protocol = match choice {
            Choice::HalfBlocks => return (None, None),
            Choice::Auto => match protocol_from_env(|k| std::env::var(k).ok()) {
                Some(p) => p,
                None => return (None, None),
            },
            Choice::Force(p) => p,
        };
        let mut picker = Picker::from_fontsize(cell_pixels());
        picker.set_protocol_type(protocol);
        let picker = Some(picker);
        (
            picker.filter(|p| p.protocol_type() != ProtocolType::Halfblocks),
            None,
        )
    }

    /// The protocol in use, for the help overlay and the preview's title.
    pub fn name(&self) -> &'static str {
        match self.picker.as_ref().map(Picker::protocol_type) {
            Some(ProtocolType::Kitty) => "kitty graphics",
            Some(ProtocolType::Sixel) => "sixel",
            Some(ProtocolType::Iterm2) => "iTerm2 images",
            Some(ProtocolType::Halfblocks) | None => "half blocks",
        }
    }

    pub fn has_protocol(&self) -> bool {
        self.picker.is_some()
    }

    /// Start a frame: nothing drawn yet.
    pub fn begin(&mut self) {
        self.drawn = None;
    }

    /// Draw `img` into `area` with the terminal's protocol; false when there is none (the
    /// caller then draws half blocks).
    pub fn draw(&mut self, f: &mut Frame<'_>, area: Rect, img: &Arc<DynamicImage>) -> bool {
        let Some(picker) = &self.picker else {
            return false;
        };
        if area.width == 0 || area.height == 0 {
            return true;
        }
        let key = Arc::as_ptr(img) as usize;
        if self.current.as_ref().map(|(k, _)| *k) != Some(key) {
            let proto = picker.new_resize_protocol(img.as_ref().clone());
            self.current = Some((key, proto));
        }
        let (_, proto) = self.current.as_mut().expect("set above");
        // Scaled to the area (up too: a 512-pixel image in a large pane is still judged
        // at the pane's size), keeping its proportions.
        f.render_stateful_widget(
            StatefulImage::default().resize(Resize::Scale(None)),
            area,
            proto,
        );
        self.drawn = Some(area);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_protocol_nothing_is_drawn_and_half_blocks_are_named() {
        let mut g = Graphics::none();
        assert_eq!(g.name(), "half blocks");
        let backend = ratatui::backend::TestBackend::new(10, 5);
        let mut term = ratatui::Terminal::new(backend).unwrap();
        let img = Arc::new(DynamicImage::new_rgb8(4, 4));
        term.draw(|f| assert!(!g.draw(f, f.area(), &img))).unwrap();
        assert_eq!(g.drawn, None);
        let (picker, note) = Graphics::pick(Ok(Choice::HalfBlocks));
        assert!(!Graphics::with_picker(picker).has_protocol() && note.is_none());
        let (picker, note) = Graphics::pick(Err("bad".into()));
        assert!(!Graphics::with_picker(picker).has_protocol() && note.as_deref() == Some("bad"));
    }

    #[test]
    fn protocols_are_recognised_from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            protocol_from_env(env(&[("KITTY_WINDOW_ID", "1"), ("TERM", "tmux-256color")])),
            Some(ProtocolType::Kitty)
        );
        assert_eq!(
            protocol_from_env(env(&[("TERM", "xterm-kitty")])),
            Some(ProtocolType::Kitty)
        );
        assert_eq!(
            protocol_from_env(env(&[("TERM_PROGRAM", "iTerm.app")])),
            Some(ProtocolType::Iterm2)
        );
        assert_eq!(
            protocol_from_env(env(&[("TERM", "foot")])),
            Some(ProtocolType::Sixel)
        );
        assert_eq!(protocol_from_env(env(&[("TERM", "xterm-256color")])), None);
        assert_eq!(protocol_from_env(env(&[("KITTY_WINDOW_ID", "")])), None);
    }

    #[test]
    fn a_forced_protocol_draws_protocol_data_into_its_area() {
        let mut picker = Picker::from_fontsize((8, 16));
        picker.set_protocol_type(ProtocolType::Kitty);
        let mut g = Graphics {
            picker: Some(picker),
            current: None,
            drawn: None,
        };
        assert_eq!(g.name(), "kitty graphics");
        let backend = ratatui::backend::TestBackend::new(20, 10);
        let mut term = ratatui::Terminal::new(backend).unwrap();
        let img = Arc::new(DynamicImage::new_rgb8(64, 64));
        let area = Rect::new(2, 1, 10, 5);
        term.draw(|f| assert!(g.draw(f, area, &img))).unwrap();
        assert_eq!(g.drawn, Some(area));
        // The top-left cell carries the kitty graphics escape (APC _G).
        let cell = term.backend().buffer()[(area.x, area.y)]
            .symbol()
            .to_owned();
        assert!(cell.contains("\u{1b}_G"), "{cell:?}");
    }
}
