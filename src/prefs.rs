//! This user's preferences, kept outside any data root: named saved filters and the
//! filter history, shared by the console and the command line.
//!
//! Files live in `$RMOS_CONFIG_DIR`, else `$XDG_CONFIG_HOME/rmos`, else `~/.config/rmos`:
//! `filters.json` (`{"version": 1, "filters": {"name": "expression"}}`) and
//! `filter_history.json` (a list, oldest first). Every change is a locked, atomic
//! rewrite, so two consoles saving at once lose nothing and a crash leaves either the old
//! or the new file. A saved filter is used as `@name` wherever a filter is typed.

use crate::filter::Filter;
use crate::fsio::durable::{self, CreateError, FileLock};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// Longest filter history kept (oldest entries drop out).
pub const HISTORY_MAX: usize = 200;

/// Largest preferences file read (a hand-edited or damaged file cannot exhaust memory).
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a preference could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum PrefsError {
    #[error("{0:?} is not a usable filter name: use 1–64 letters, digits, '_', '-' or '.'")]
    BadName(String),
    #[error("filter {name:?} does not parse: {error}")]
    BadFilter { name: String, error: String },
    #[error("no saved filter named {0:?} (rmos filters list shows them)")]
    Unknown(String),
    #[error("{path}: {reason} — fix or remove the file (it holds only preferences)")]
    Damaged { path: PathBuf, reason: String },
    #[error("cannot {op} {path}: {source}{}", crate::advice::io(.source))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// This user's rmos configuration folder.
pub fn config_dir() -> PathBuf {
    env_dir("RMOS_CONFIG_DIR")
        .or_else(|| env_dir("XDG_CONFIG_HOME").map(|d| d.join("rmos")))
        .or_else(|| env_dir("HOME").map(|h| h.join(".config").join("rmos")))
        .unwrap_or_else(|| std::env::temp_dir().join("rmos-config"))
}

/// Whether `name` may name a saved filter.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.starts_with('.')
}

/// The preferences in one folder.
#[derive(Debug, Clone)]
pub struct Prefs {
    dir: PathBuf,
}

impl Prefs {
    /// This user's preferences ([`config_dir`]).
    pub fn for_user() -> Prefs {
        Prefs::at(config_dir())
    }

    pub fn at(dir: impl Into<PathBuf>) -> Prefs {
        Prefs { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn filters_path(&self) -> PathBuf {
        self.dir.join("filters.json")
    }

    fn history_path(&self) -> PathBuf {
        self.dir.join("filter_history.json")
    }

    fn lock(&self) -> Result<FileLock, PrefsError> {
        let path = self.dir.join(".lock");
        FileLock::acquire(&path).map_err(|source| PrefsError::Io {
            op: "lock",
            path,
            source,
        })
    }

    fn read(&self, path: &Path) -> Result<Option<Value>, PrefsError> {
        match crate::fsio::read::read_regular(path, MAX_FILE_BYTES) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| PrefsError::Damaged {
                        path: path.to_path_buf(),
                        reason: format!("not JSON ({e})"),
                    })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(PrefsError::Io {
                op: "read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn write(&self, path: &Path, value: &Value) -> Result<(), PrefsError> {
        let bytes = serde_json::to_vec_pretty(value).expect("JSON value");
        let io = |op, source| PrefsError::Io {
            op,
            path: path.to_path_buf(),
            source,
        };
        let hint = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staged =
            durable::stage(&self.dir.join(".staging"), &hint, &bytes).map_err(|e| match e {
                CreateError::Io { source, .. } => io("write", source),
                CreateError::Exists => unreachable!("staging names are unique"),
            })?;
        durable::refuse_link(path).map_err(|source| io("replace", source))?;
        staged.replace(path).map_err(|source| io("replace", source))
    }

    fn filters_map(&self) -> Result<Map<String, Value>, PrefsError> {
        let path = self.filters_path();
        let Some(v) = self.read(&path)? else {
            return Ok(Map::new());
        };
        match v.get("filters") {
            Some(Value::Object(m)) if m.values().all(Value::is_string) => Ok(m.clone()),
            _ => Err(PrefsError::Damaged {
                path,
                reason: "expected {\"filters\": {\"name\": \"expression\", …}}".into(),
            }),
        }
    }

    /// Saved filters by name, sorted.
    pub fn saved_filters(&self) -> Result<Vec<(String, String)>, PrefsError> {
        let mut all: Vec<(String, String)> = self
            .filters_map()?
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect();
        all.sort();
        Ok(all)
    }

    /// One saved filter's expression.
    pub fn saved_filter(&self, name: &str) -> Result<String, PrefsError> {
        self.filters_map()?
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| PrefsError::Unknown(name.to_owned()))
    }

    /// Save (or replace) a named filter; the expression must parse. Returns whether a
    /// filter of that name was replaced.
    pub fn save_filter(&self, name: &str, expression: &str) -> Result<bool, PrefsError> {
        if !valid_name(name) {
            return Err(PrefsError::BadName(name.to_owned()));
        }
        let expression = self.expand(expression)?;
        Filter::parse(&expression).map_err(|e| PrefsError::BadFilter {
            name: name.to_owned(),
            error: e.to_string(),
        })?;
        let _lock = self.lock()?;
        let mut map = self.filters_map()?;
        let replaced = map.insert(name.to_owned(), json!(expression)).is_some();
        self.write(
            &self.filters_path(),
            &json!({"version": 1, "filters": Value::Object(map)}),
        )?;
        Ok(replaced)
    }

    /// Delete a saved filter; false when there was none of that name.
    pub fn delete_filter(&self, name: &str) -> Result<bool, PrefsError> {
        let _lock = self.lock()?;
        let mut map = self.filters_map()?;
        if map.remove(name).is_none() {
            return Ok(false);
        }
        self.write(
            &self.filters_path(),
            &json!({"version": 1, "filters": Value::Object(map)}),
        )?;
        Ok(true)
    }

    /// The filter text to use for what was typed: `@name` (alone) stands for the saved
    /// filter of that name; anything else is itself.
    pub fn expand(&self, typed: &str) -> Result<String, PrefsError> {
        let t = typed.trim();
        match t.strip_prefix('@') {
            Some(name) if !name.is_empty() && !name.contains(char::is_whitespace) => {
                self.saved_filter(name)
            }
            _ => Ok(typed.to_owned()),
        }
    }

    /// Filter history, oldest first (unreadable or damaged history is empty: it is a
    /// convenience, never a reason to fail).
    pub fn history(&self) -> Vec<String> {
        match self.read(&self.history_path()) {
            Ok(Some(Value::Array(items))) => items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Remember a filter that was applied: moved to the end when already there, the
    /// oldest dropped beyond [`HISTORY_MAX`]. The empty filter is not remembered.
    pub fn remember(&self, expression: &str) -> Result<(), PrefsError> {
        let expression = expression.trim();
        if expression.is_empty() {
            return Ok(());
        }
        let _lock = self.lock()?;
        let mut items = self.history();
        items.retain(|e| e != expression);
        items.push(expression.to_owned());
        let excess = items.len().saturating_sub(HISTORY_MAX);
        items.drain(..excess);
        self.write(&self.history_path(), &json!(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_filters_round_trip_and_refuse_bad_names_and_expressions() {
        let dir = tempfile::tempdir().unwrap();
        let p = Prefs::at(dir.path().join("cfg"));
        assert!(p.saved_filters().unwrap().is_empty());
        assert!(!p.save_filter("red-week", "risk:red since:1w").unwrap());
        assert!(p.save_filter("red-week", "risk:red since:7d").unwrap());
        p.save_filter("tools", "(tool:a OR tool:b)").unwrap();
        assert_eq!(
            p.saved_filters().unwrap(),
            vec![
                ("red-week".into(), "risk:red since:7d".into()),
                ("tools".into(), "(tool:a OR tool:b)".into())
            ]
        );
        assert_eq!(p.expand("@tools").unwrap(), "(tool:a OR tool:b)");
        assert_eq!(p.expand("risk:red").unwrap(), "risk:red");
        assert!(matches!(p.expand("@nope"), Err(PrefsError::Unknown(_))));
        // Saving an @name stores what it stands for.
        p.save_filter("copy", "@tools").unwrap();
        assert_eq!(p.saved_filter("copy").unwrap(), "(tool:a OR tool:b)");
        for bad in ["", "a b", "../x", ".hidden", &"x".repeat(65)] {
            assert!(matches!(
                p.save_filter(bad, "risk:red"),
                Err(PrefsError::BadName(_))
            ));
        }
        assert!(matches!(
            p.save_filter("broken", "risk:red OR"),
            Err(PrefsError::BadFilter { .. })
        ));
        assert!(p.delete_filter("tools").unwrap());
        assert!(!p.delete_filter("tools").unwrap());
        // A damaged file is reported, not overwritten.
        std::fs::write(dir.path().join("cfg/filters.json"), b"{oops").unwrap();
        assert!(matches!(p.saved_filters(), Err(PrefsError::Damaged { .. })));
        assert!(p.save_filter("x", "risk:red").is_err());
        assert_eq!(
            std::fs::read(dir.path().join("cfg/filters.json")).unwrap(),
            b"{oops"
        );
    }

    #[test]
    fn history_keeps_the_latest_use_once_and_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = Prefs::at(dir.path());
        for f in ["risk:red", "tool:a", "risk:red", "  ", "status:blocked"] {
            p.remember(f).unwrap();
        }
        assert_eq!(p.history(), ["tool:a", "risk:red", "status:blocked"]);
        for i in 0..HISTORY_MAX + 5 {
            p.remember(&format!("id:{i}")).unwrap();
        }
        let h = p.history();
        assert_eq!(h.len(), HISTORY_MAX);
        assert_eq!(h.last().unwrap(), &format!("id:{}", HISTORY_MAX + 4));
        // Damaged history reads as empty and is replaced by the next use.
        std::fs::write(dir.path().join("filter_history.json"), b"[1,").unwrap();
        assert!(p.history().is_empty());
        p.remember("risk:red").unwrap();
        assert_eq!(p.history(), ["risk:red"]);
    }

    #[test]
    fn concurrent_saves_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let p = Prefs::at(dir.path());
                std::thread::spawn(move || p.save_filter(&format!("f{i}"), "risk:red").unwrap())
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(Prefs::at(dir.path()).saved_filters().unwrap().len(), 8);
    }
}
