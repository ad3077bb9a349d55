//! Storage: the run artifact files and what guards them, the run index, the review
//! store, workflow sessions, snapshots and backups, the runs folder watcher — and the
//! seam (`seam`) through which the interfaces use them.

pub mod advisory;
pub mod backups;
pub mod dbcopy;
pub mod guard;
pub mod index;
pub mod indexer;
pub mod pg;
pub mod reference_index;
pub mod runs;
pub mod scan;
pub mod seam;
pub mod sessions;
pub mod snapshots;
pub mod verify;
pub mod vouch;
pub mod watch;

pub use runs::{ArtifactKey, RunStore, StoreError};
