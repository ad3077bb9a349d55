//! Storage: the run artifact files and what guards them.

pub mod advisory;
pub mod durable;
pub mod guard;
pub mod index;
pub mod read;
pub mod runs;
pub mod scan;
pub mod sessions;
pub mod snapshots;
pub mod verify;

pub use runs::{RunStore, StoreError};
