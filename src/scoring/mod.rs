//! Feasibility scoring and the orchestration that records results as runs.

pub mod runs;
