//! One single-line text editor for every place the console takes typed text: the runs
//! filter bar, the queue filter and the rejection note. The keys are the same everywhere:
//! `←`/`→`, `Home`/`End`, `Ctrl-a`/`Ctrl-e` (start / end), `Ctrl-u`/`Ctrl-k` (delete to
//! start / end), `Ctrl-w` (delete the word before the cursor), `Alt-b`/`Alt-f` (word
//! back / forward), `Backspace`/`Delete`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

/// Text and a cursor (in characters).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineEdit {
    chars: Vec<char>,
    cursor: usize,
    max: usize,
}

/// What a key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Only the cursor moved (or the key was an editing key with nothing to do).
    Moved,
    /// Not an editing key: the owner handles it (Enter, Esc, ↑/↓…).
    NotMine,
}

/// The editing keys, for help texts.
pub const EDIT_KEYS: &str =
    "←/→ Home/End Ctrl-a/e move · Alt-b/f word · Ctrl-u/k/w delete · Backspace/Delete";

impl LineEdit {
    /// A line holding `text` (cut to `max` characters) with the cursor at its end.
    pub fn new(text: &str, max: usize) -> LineEdit {
        let chars: Vec<char> = text.chars().take(max).collect();
        LineEdit {
            cursor: chars.len(),
            chars,
            max,
        }
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn is_empty(&self) -> bool {
        self.chars.is_empty()
    }

    /// Replace the text, cursor at the end.
    pub fn set(&mut self, text: &str) {
        *self = LineEdit::new(text, self.max);
    }

    fn word_start_before(&self, from: usize) -> usize {
        let mut i = from;
        while i > 0 && !self.chars[i - 1].is_alphanumeric() {
            i -= 1;
        }
        while i > 0 && self.chars[i - 1].is_alphanumeric() {
            i -= 1;
        }
        i
    }

    fn word_end_after(&self, from: usize) -> usize {
        let n = self.chars.len();
        let mut i = from;
        while i < n && !self.chars[i].is_alphanumeric() {
            i += 1;
        }
        while i < n && self.chars[i].is_alphanumeric() {
            i += 1;
        }
        i
    }

    /// Apply one key.
    pub fn handle(&mut self, key: &KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let n = self.chars.len();
        let before = self.chars.clone();
        match key.code {
            KeyCode::Left if alt || ctrl => self.cursor = self.word_start_before(self.cursor),
            KeyCode::Right if alt || ctrl => self.cursor = self.word_end_after(self.cursor),
            KeyCode::Char('b') if alt && !ctrl => self.cursor = self.word_start_before(self.cursor),
            KeyCode::Char('f') if alt && !ctrl => self.cursor = self.word_end_after(self.cursor),
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(n),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = n,
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = n,
            KeyCode::Char('u') if ctrl => {
                self.chars.drain(..self.cursor);
                self.cursor = 0;
            }
            KeyCode::Char('k') if ctrl => self.chars.truncate(self.cursor),
            KeyCode::Char('w') if ctrl => {
                let start = self.word_start_before(self.cursor);
                self.chars.drain(start..self.cursor);
                self.cursor = start;
            }
            KeyCode::Char('h') if ctrl => return self.handle(&KeyEvent::from(KeyCode::Backspace)),
            KeyCode::Backspace => {
                if self.cursor > 0 {
                    self.chars.remove(self.cursor - 1);
                    self.cursor -= 1;
                }
            }
            KeyCode::Delete => {
                if self.cursor < n {
                    self.chars.remove(self.cursor);
                }
            }
            KeyCode::Char(c) if !ctrl && !alt && !c.is_control() => {
                if self.chars.len() < self.max {
                    self.chars.insert(self.cursor, c);
                    self.cursor += 1;
                }
            }
            _ => return Edit::NotMine,
        }
        if self.chars != before {
            Edit::Changed
        } else {
            Edit::Moved
        }
    }

    /// The line as spans with the cursor cell drawn reversed (visible without colour).
    /// `show` turns text into its display-safe form (the owner's sanitizer).
    pub fn spans(&self, style: Style, show: impl Fn(&str) -> String) -> Vec<Span<'static>> {
        let head: String = self.chars[..self.cursor].iter().collect();
        let (at, tail) = match self.chars.get(self.cursor) {
            Some(c) => (
                c.to_string(),
                self.chars[self.cursor + 1..].iter().collect::<String>(),
            ),
            None => (" ".to_owned(), String::new()),
        };
        vec![
            Span::styled(show(&head), style),
            Span::styled(show(&at), style.add_modifier(Modifier::REVERSED)),
            Span::styled(show(&tail), style),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }
    fn ch(c: char) -> KeyEvent {
        k(KeyCode::Char(c), KeyModifiers::NONE)
    }
    fn ctrl(c: char) -> KeyEvent {
        k(KeyCode::Char(c), KeyModifiers::CONTROL)
    }
    fn alt(c: char) -> KeyEvent {
        k(KeyCode::Char(c), KeyModifiers::ALT)
    }
    fn typed(s: &str) -> LineEdit {
        let mut e = LineEdit::new("", 100);
        for c in s.chars() {
            assert_eq!(e.handle(&ch(c)), Edit::Changed);
        }
        e
    }

    #[test]
    fn cursor_keys_insert_in_the_middle() {
        let mut e = typed("risk:red");
        e.handle(&k(KeyCode::Left, KeyModifiers::NONE));
        e.handle(&k(KeyCode::Left, KeyModifiers::NONE));
        e.handle(&ch('X'));
        assert_eq!(e.text(), "risk:rXed");
        e.handle(&k(KeyCode::Home, KeyModifiers::NONE));
        e.handle(&ch('-'));
        assert_eq!(e.text(), "-risk:rXed");
        e.handle(&k(KeyCode::End, KeyModifiers::NONE));
        e.handle(&k(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(e.text(), "-risk:rXe");
        e.handle(&ctrl('a'));
        e.handle(&k(KeyCode::Delete, KeyModifiers::NONE));
        assert_eq!((e.text().as_str(), e.cursor()), ("risk:rXe", 0));
        e.handle(&ctrl('e'));
        assert_eq!(e.cursor(), 8);
    }

    #[test]
    fn word_keys_and_kills() {
        let mut e = typed("type:image too vague");
        assert_eq!(e.handle(&ctrl('w')), Edit::Changed);
        assert_eq!(e.text(), "type:image too ");
        e.handle(&alt('b'));
        assert_eq!(e.cursor(), 11, "start of 'too'");
        e.handle(&alt('b'));
        assert_eq!(e.cursor(), 5, "start of 'image'");
        e.handle(&alt('f'));
        assert_eq!(e.cursor(), 10, "end of 'image'");
        assert_eq!(e.handle(&ctrl('k')), Edit::Changed);
        assert_eq!(e.text(), "type:image");
        e.handle(&alt('b'));
        assert_eq!(e.handle(&ctrl('u')), Edit::Changed);
        assert_eq!((e.text().as_str(), e.cursor()), ("image", 0));
    }

    #[test]
    fn other_keys_are_left_to_the_owner_and_the_limit_holds() {
        let mut e = LineEdit::new("abc", 4);
        for code in [KeyCode::Enter, KeyCode::Esc, KeyCode::Up, KeyCode::Down] {
            assert_eq!(
                e.handle(&k(code, KeyModifiers::NONE)),
                Edit::NotMine,
                "{code:?}"
            );
        }
        assert_eq!(e.handle(&ctrl('c')), Edit::NotMine);
        e.handle(&ch('d'));
        e.handle(&ch('e'));
        assert_eq!(e.text(), "abcd");
    }
}
