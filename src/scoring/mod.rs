//! Feasibility scoring and the orchestration that records results as runs.

pub mod feasibility;
pub mod runs;
pub mod service;
pub mod snapshots;
