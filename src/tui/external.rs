//! Handing a record to the user's pager or editor: the console leaves the terminal (raw
//! mode off, main screen back, its key reader paused so the program gets every key), the
//! program runs on a temporary read-only copy, and the console takes the terminal back.

use super::msg::Viewer;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Runs the pager or editor for the console loop (the terminal's own, or a test double).
pub trait External {
    /// Show `text` (a file named `name`) with `viewer`; returns when the program exits.
    fn view(&mut self, viewer: Viewer, name: &str, text: &str) -> Result<(), String>;
}

/// The command line of a viewer from the environment: `$PAGER` (default `less`) or
/// `$VISUAL`/`$EDITOR` (default `vi`). It may carry arguments (`less -R`), so it is
/// run by `sh` with the file as its last argument.
pub fn viewer_command(viewer: Viewer, env: impl Fn(&str) -> Option<String>) -> String {
    let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    match viewer {
        Viewer::Pager => set("PAGER").unwrap_or_else(|| "less".into()),
        Viewer::Editor => set("VISUAL")
            .or_else(|| set("EDITOR"))
            .unwrap_or_else(|| "vi".into()),
    }
}

/// A read-only temporary copy of `text`, removed when dropped. It lives in a fresh
/// folder only this user can enter (`tempfile`: random name, mode 0700), so no other
/// user can read the record or swap the file while the pager or editor has it.
pub struct TempCopy {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempCopy {
    pub fn new(name: &str, text: &str) -> io::Result<TempCopy> {
        let dir = tempfile::Builder::new().prefix("rmos-view-").tempdir()?;
        // The name comes from a run_id: keep it to a safe file name.
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.path().join(if safe.is_empty() {
            "record.json".into()
        } else {
            safe
        });
        let copy = TempCopy { _dir: dir, path };
        std::fs::write(&copy.path, text)?;
        let mut perms = std::fs::metadata(&copy.path)?.permissions();
        perms.set_readonly(true);
        std::fs::set_permissions(&copy.path, perms)?;
        Ok(copy)
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::metadata(&self.path) {
            let mut perms = meta.permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            let _ = std::fs::set_permissions(&self.path, perms);
        }
        // The folder itself goes when `dir` is dropped.
    }
}

/// Run `command` (a shell command line) on `file`, with the terminal's stdin/stdout.
pub fn run_viewer(command: &str, file: &Path) -> Result<(), String> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{command} \"$1\""))
        .arg("rmos-view")
        .arg(file)
        .status()
        .map_err(|e| format!("cannot run {command}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command} exited with {status}"))
    }
}

/// The key reader of the real terminal: a thread polling crossterm, which stops reading
/// while paused (a pager or editor owns the keys then).
pub struct KeyReader {
    paused: Arc<AtomicBool>,
    parked: Arc<AtomicBool>,
}

impl KeyReader {
    /// Start reading; events arrive on the returned channel.
    pub fn spawn() -> (
        KeyReader,
        tokio::sync::mpsc::UnboundedReceiver<io::Result<crossterm::event::Event>>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let paused = Arc::new(AtomicBool::new(false));
        let parked = Arc::new(AtomicBool::new(false));
        let (p, k) = (paused.clone(), parked.clone());
        let _ = std::thread::Builder::new()
            .name("rmos-keys".into())
            .spawn(move || loop {
                if tx.is_closed() {
                    return;
                }
                if p.load(Ordering::SeqCst) {
                    k.store(true, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
                k.store(false, Ordering::SeqCst);
                match crossterm::event::poll(Duration::from_millis(50)) {
                    Ok(true) => {
                        let ev = crossterm::event::read();
                        let stop = ev.is_err();
                        if tx.send(ev).is_err() || stop {
                            return;
                        }
                    }
                    Ok(false) => {}
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            });
        (KeyReader { paused, parked }, rx)
    }

    /// Stop reading keys; returns once the reader is idle (at most about a poll's time).
    pub fn pause(&self) {
        self.parked.store(false, Ordering::SeqCst);
        self.paused.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.parked.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst);
    }
}

/// The real terminal's pager and editor.
pub struct TerminalExternal {
    pub keys: KeyReader,
}

impl External for TerminalExternal {
    fn view(&mut self, viewer: Viewer, name: &str, text: &str) -> Result<(), String> {
        let copy =
            TempCopy::new(name, text).map_err(|e| format!("cannot write a temporary copy: {e}"))?;
        let command = viewer_command(viewer, |k| std::env::var(k).ok());
        self.keys.pause();
        super::restore_terminal();
        let result = run_viewer(&command, &copy.path);
        let back = crossterm::terminal::enable_raw_mode().and_then(|()| {
            crossterm::execute!(
                io::stdout(),
                crossterm::terminal::EnterAlternateScreen,
                crossterm::event::EnableMouseCapture,
                crossterm::cursor::Hide
            )
        });
        self.keys.resume();
        back.map_err(|e| format!("cannot take the terminal back: {e}"))?;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_come_from_the_environment_with_defaults() {
        let none = |_: &str| None;
        assert_eq!(viewer_command(Viewer::Pager, none), "less");
        assert_eq!(viewer_command(Viewer::Editor, none), "vi");
        let env = |k: &str| match k {
            "PAGER" => Some("less -R".to_owned()),
            "EDITOR" => Some("nano".to_owned()),
            "VISUAL" => Some(" ".to_owned()),
            _ => None,
        };
        assert_eq!(viewer_command(Viewer::Pager, env), "less -R");
        assert_eq!(
            viewer_command(Viewer::Editor, env),
            "nano",
            "a blank VISUAL is unset"
        );
    }

    #[test]
    fn the_copy_is_read_only_safely_named_and_removed() {
        let copy = TempCopy::new("run_../x y.json", "{\"a\": 1}\n").unwrap();
        let path = copy.path.clone();
        assert_eq!(path.file_name().unwrap(), "run_.._x_y.json");
        assert!(std::fs::metadata(&path).unwrap().permissions().readonly());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\": 1}\n");
        // The program gets the file as one argument, whatever the command line.
        run_viewer("test -r", &path).unwrap();
        assert!(run_viewer("false", &path).unwrap_err().contains("exited"));
        drop(copy);
        assert!(!path.exists() && !path.parent().unwrap().exists());
    }
}

/// A viewer that remembers what it was asked to show (tests, benchmarks).
#[derive(Default, Clone)]
pub struct MemoryExternal {
    pub shown: Arc<std::sync::Mutex<Vec<(Viewer, String, String)>>>,
}

impl External for MemoryExternal {
    fn view(&mut self, viewer: Viewer, name: &str, text: &str) -> Result<(), String> {
        self.shown
            .lock()
            .expect("viewer lock")
            .push((viewer, name.to_owned(), text.to_owned()));
        Ok(())
    }
}
