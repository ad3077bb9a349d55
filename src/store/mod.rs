//! Storage: the run artifact files and what guards them.

pub mod durable;
pub mod guard;
pub mod runs;
pub mod verify;

pub use runs::{RunStore, StoreError};
