//! Domain types: run artifacts and their parts, timestamps, rosette designs.

pub mod design;
pub mod diff;
pub mod run;
pub mod time;

pub use run::{
    AdvisoryInputRef, ExplanationStatus, Hashes, JsonMap, RunArtifact, RunAttachment, RunDecision,
    RunLineage, RunOutputs, RunStatus,
};
pub use time::Timestamp;

/// Why a value does not fit the domain's rules. The message names the field and what is
/// expected (the reference's wording where it has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A rosette design (Art Studio spec or legacy form) is not valid.
    #[error("{0}")]
    Design(String),
    /// A date-time that cannot be read.
    #[error("{0}")]
    Timestamp(String),
    /// A decision's risk level that cannot be used.
    #[error("{0}")]
    RiskLevel(String),
}
