//! Feasibility scoring and the orchestration that records results as runs.

/// A scoring request that cannot be read: a wrong or unknown field in the request or its
/// context, or an invalid design.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Field(String),
    #[error(transparent)]
    Design(#[from] crate::domain::DomainError),
}

pub mod explain;
pub mod feasibility;
pub mod runs;
pub mod service;
pub mod snapshots;
