//! Domain types: run artifacts and their parts, timestamps, rosette designs.

pub mod design;
pub mod run;
pub mod time;

pub use run::{
    AdvisoryInputRef, ExplanationStatus, Hashes, JsonMap, RunArtifact, RunAttachment, RunDecision,
    RunLineage, RunOutputs, RunStatus,
};
pub use time::Timestamp;
