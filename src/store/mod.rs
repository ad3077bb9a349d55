//! Storage: the run artifact files and what guards them.

pub mod advisory;
pub mod backups;
pub mod guard;
pub mod index;
pub mod runs;
pub mod seam;
pub mod sessions;
pub mod snapshots;
pub mod verify;

pub use runs::{ArtifactKey, RunStore, StoreError};

// The file primitives the stores are written with, under their historical paths.
pub use crate::fsio::{durable, read};
