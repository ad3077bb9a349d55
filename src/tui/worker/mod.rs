//! Background workers of the console, one file each. Every worker owns its connection and
//! answers on the UI's channel with [`super::msg::Msg`]s:
//!
//! - [`query`]: pages, counts, details and records of runs ([`super::msg::QueryCmd`]);
//!   two run, one for pages and one for counts.
//! - [`queue`]: the review queue's lists, previews and decisions ([`super::queue::QueueCmd`]).
//! - [`db_watch`]: other processes' commits to the shared databases.
//! - [`prefs`]: filter history and saved filters in the user's config folder.
//! - [`reconcile`]: the reconciler driver keeping the index in line with the files.
//!
//! The runs folder watcher itself is `store::watch` (the reconciler drives it).

pub mod db_watch;
pub mod prefs;
pub mod query;
pub mod queue;
pub mod reconcile;

pub use crate::store::watch::{LiveWatch, WatchEvent, WatchProbe};
pub use db_watch::spawn_db_watch;
pub use prefs::{read_prefs, spawn_read_prefs, spawn_remember};
pub use query::{load_details, spawn_data_worker};
pub use queue::{load_preview, spawn_queue_worker};
pub use reconcile::{spawn_reconciler, ReconcileReq, ReconcileTiming};
