//! The keymap: one table drives key handling and the `?` help overlay, so help can never
//! drift from what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Everything a key can ask for in the run list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Down,
    Up,
    First,
    Last,
    HalfPageDown,
    HalfPageUp,
    PageDown,
    PageUp,
    OpenDetails,
    Close,
    NextRecord,
    PrevRecord,
    EditFilter,
    CopyId,
    CopyJson,
    ToggleFollow,
    ShowRuns,
    ShowQueue,
    SwitchView,
    Rescan,
    Help,
    Quit,
}

/// One row of the keymap: the keys, what they do, and the help text.
pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const NONE: KeyModifiers = KeyModifiers::NONE;
const SHIFT: KeyModifiers = KeyModifiers::SHIFT;
const CTRL: KeyModifiers = KeyModifiers::CONTROL;

/// The run list's keymap (DESIGN.md §7).
pub static KEYMAP: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('j'), NONE), (KeyCode::Down, NONE)],
        label: "j / ↓",
        action: Action::Down,
        help: "move down",
    },
    Binding {
        keys: &[(KeyCode::Char('k'), NONE), (KeyCode::Up, NONE)],
        label: "k / ↑",
        action: Action::Up,
        help: "move up",
    },
    Binding {
        keys: &[(KeyCode::Char('g'), NONE), (KeyCode::Home, NONE)],
        label: "g / Home",
        action: Action::First,
        help: "first (newest) run",
    },
    Binding {
        keys: &[
            (KeyCode::Char('G'), SHIFT),
            (KeyCode::Char('G'), NONE),
            (KeyCode::End, NONE),
        ],
        label: "G / End",
        action: Action::Last,
        help: "last (oldest) run",
    },
    Binding {
        keys: &[(KeyCode::Char('d'), CTRL)],
        label: "Ctrl-d",
        action: Action::HalfPageDown,
        help: "half a page down",
    },
    Binding {
        keys: &[(KeyCode::Char('u'), CTRL)],
        label: "Ctrl-u",
        action: Action::HalfPageUp,
        help: "half a page up",
    },
    Binding {
        keys: &[(KeyCode::PageDown, NONE)],
        label: "PgDn",
        action: Action::PageDown,
        help: "a page down",
    },
    Binding {
        keys: &[(KeyCode::PageUp, NONE)],
        label: "PgUp",
        action: Action::PageUp,
        help: "a page up",
    },
    Binding {
        keys: &[(KeyCode::Enter, NONE)],
        label: "Enter",
        action: Action::OpenDetails,
        help: "open the details pane",
    },
    Binding {
        keys: &[(KeyCode::Esc, NONE)],
        label: "Esc",
        action: Action::Close,
        help: "close, cancel; never quits",
    },
    Binding {
        keys: &[(KeyCode::Char('J'), SHIFT), (KeyCode::Char('J'), NONE)],
        label: "J",
        action: Action::NextRecord,
        help: "next run (in details)",
    },
    Binding {
        keys: &[(KeyCode::Char('K'), SHIFT), (KeyCode::Char('K'), NONE)],
        label: "K",
        action: Action::PrevRecord,
        help: "previous run (in details)",
    },
    Binding {
        keys: &[(KeyCode::Char('f'), NONE), (KeyCode::Char('/'), NONE)],
        label: "f or /",
        action: Action::EditFilter,
        help: "edit filter (↑/↓ history)",
    },
    Binding {
        keys: &[(KeyCode::Char('c'), NONE)],
        label: "c",
        action: Action::CopyId,
        help: "copy the run_id (OSC 52)",
    },
    Binding {
        keys: &[(KeyCode::Char('C'), SHIFT), (KeyCode::Char('C'), NONE)],
        label: "C",
        action: Action::CopyJson,
        help: "copy the record as JSON",
    },
    Binding {
        keys: &[(KeyCode::Char('F'), SHIFT), (KeyCode::Char('F'), NONE)],
        label: "F",
        action: Action::ToggleFollow,
        help: "follow the newest run",
    },
    Binding {
        keys: &[(KeyCode::Char('1'), NONE)],
        label: "1",
        action: Action::ShowRuns,
        help: "runs view",
    },
    Binding {
        keys: &[(KeyCode::Char('2'), NONE)],
        label: "2",
        action: Action::ShowQueue,
        help: "review queue",
    },
    Binding {
        keys: &[(KeyCode::Tab, NONE)],
        label: "Tab",
        action: Action::SwitchView,
        help: "switch runs / queue",
    },
    Binding {
        keys: &[(KeyCode::Char('r'), CTRL)],
        label: "Ctrl-r",
        action: Action::Rescan,
        help: "rescan every file now",
    },
    Binding {
        keys: &[(KeyCode::Char('?'), NONE), (KeyCode::Char('?'), SHIFT)],
        label: "?",
        action: Action::Help,
        help: "this help",
    },
    Binding {
        keys: &[(KeyCode::Char('q'), NONE), (KeyCode::Char('c'), CTRL)],
        label: "q / Ctrl-c",
        action: Action::Quit,
        help: "quit",
    },
];

/// Keys of the review queue (handled by [`super::queue::QueueState::on_key`]); listed in
/// the help overlay and, like [`KEYMAP`], in the README (a test compares them).
pub static QUEUE_KEYS: &[(&str, &str)] = &[
    ("j / k", "move"),
    ("a", "approve (confirm with y)"),
    ("r", "reject (reason, note, y)"),
    ("Space", "mark / unmark"),
    ("A / X", "approve / reject marked"),
    ("Enter", "open the linked run"),
    ("J / K", "scroll the preview"),
    ("z", "full-screen preview"),
    ("s", "cycle the status shown"),
    ("f or /", "filter: type:image -word"),
    ("Esc", "cancel, unmark, unfilter"),
    ("c", "copy the asset id"),
];

/// Editing keys of every text line (filter bar, queue filter, rejection note).
pub static EDIT_KEYS: &[(&str, &str)] = &[
    ("← / →", "move the cursor"),
    ("Home / End", "start / end (also Ctrl-a / Ctrl-e)"),
    ("Alt-b / Alt-f", "word back / forward"),
    ("Ctrl-u / Ctrl-k", "delete to start / to end"),
    ("Ctrl-w", "delete the word before"),
    ("Backspace", "delete before (Delete: after)"),
];

/// The action bound to a key press, if any.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    // Terminals differ in whether an upper-case letter carries SHIFT; match both.
    let mods = key.modifiers & (KeyModifiers::CONTROL | KeyModifiers::SHIFT | KeyModifiers::ALT);
    KEYMAP
        .iter()
        .find(|b| {
            b.keys
                .iter()
                .any(|(code, m)| *code == key.code && *m == mods)
        })
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_exactly_one_binding_row() {
        let mut seen = std::collections::HashSet::new();
        for b in KEYMAP {
            assert!(seen.insert(b.action), "{:?} listed twice", b.action);
        }
    }

    /// The key names of a help label ("g / Home", "f or /", "Ctrl-u / Ctrl-k").
    fn label_keys(label: &str) -> Vec<String> {
        label
            .replace(" or ", " / ")
            .split(" / ")
            .flat_map(|k| k.split(", "))
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect()
    }

    /// The backticked keys in the first column of the key tables in `section` (from its
    /// heading to the next heading).
    fn readme_keys(section: &str) -> std::collections::BTreeSet<String> {
        let readme = include_str!("../../README.md");
        let start = readme.find(section).expect("section in README");
        let rest = &readme[start + section.len()..];
        let mut keys = std::collections::BTreeSet::new();
        for line in rest.lines().take_while(|l| !l.starts_with('#')) {
            let Some(cell) = line.strip_prefix("| ").and_then(|l| l.split(" |").next()) else {
                continue;
            };
            if cell == "key" {
                continue;
            }
            for (i, part) in cell.split('`').enumerate() {
                if i % 2 == 1 {
                    keys.insert(part.to_owned());
                }
            }
        }
        keys
    }

    #[test]
    fn readme_key_tables_and_help_agree_with_the_keymap() {
        let runs: std::collections::BTreeSet<String> = KEYMAP
            .iter()
            .flat_map(|b| label_keys(b.label))
            .chain(EDIT_KEYS.iter().flat_map(|(l, _)| label_keys(l)))
            .collect();
        assert_eq!(
            readme_keys("## The console\n"),
            runs,
            "README runs/edit tables"
        );
        let queue: std::collections::BTreeSet<String> =
            QUEUE_KEYS.iter().flat_map(|(l, _)| label_keys(l)).collect();
        assert_eq!(readme_keys("### Review queue"), queue, "README queue table");
        // Every key the help names for the runs view is bound to what the help says.
        for b in KEYMAP {
            for (code, mods) in b.keys {
                assert_eq!(action_for(&KeyEvent::new(*code, *mods)), Some(b.action));
            }
        }
    }

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in KEYMAP {
            for k in b.keys {
                assert!(seen.insert(*k), "{k:?} bound twice");
            }
        }
    }
}
