//! The user's filter history and saved filters ([`crate::prefs::Prefs`]): read at start,
//! written after a filter is applied and re-read when the saved-filter picker opens, each
//! write and re-read on a short-lived thread so the terminal never waits on the disk.

use crate::prefs::Prefs;
use crate::tui::msg::Msg;
use tokio::sync::mpsc::UnboundedSender;

/// The preferences as a message: the saved filters, and the history when `history`.
pub fn read_prefs(prefs: &Prefs, history: bool) -> Msg {
    Msg::Prefs {
        history: history.then(|| prefs.history()),
        saved: prefs.saved_filters().map_err(|e| e.to_string()),
    }
}

/// Re-read the saved filters (they may have changed from the CLI meanwhile).
pub fn spawn_read_prefs(prefs: Prefs, tx: UnboundedSender<Msg>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rmos-prefs".into())
        .spawn(move || {
            let _ = tx.send(read_prefs(&prefs, false));
        })
        .map(drop)
}

/// Add an applied filter to the persistent history; a failure is said once in the
/// status line (history is a convenience: the filter itself is applied regardless).
pub fn spawn_remember(
    prefs: Prefs,
    expression: String,
    tx: UnboundedSender<Msg>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rmos-prefs".into())
        .spawn(move || {
            if let Err(e) = prefs.remember(&expression) {
                let _ = tx.send(Msg::Notice(format!("filter history not saved: {e}")));
            }
        })
        .map(drop)
}
