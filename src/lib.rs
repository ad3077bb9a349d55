//! rmos — a terminal review console for RMOS manufacturing-decision records.
//!
//! Module map (layered domain → storage → services → interfaces):
//!
//! - [`domain`]: run artifacts and their parts, timestamps (pure data + validation).
//! - [`hashing`]: reference-compatible canonical JSON and SHA-256 helpers (pure).
//! - [`advice`]: the next step for a full disk, missing permissions, a damaged index.
//! - [`preview`]: PNG/JPEG bytes to a small RGB thumbnail for terminals (pure).
//! - [`text`]: sanitizing strings from disk before they reach a terminal (pure).
//! - [`store`]: the date-partitioned artifact files, durable create-only writes, the
//!   completeness guard, hash verification.
//! - [`scoring`]: feasibility scoring and the orchestration that records runs.
//! - [`config`]: data root resolution.
//! - [`cli`]: the command-line interface over the same library.

pub mod advice;
pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod filter;
pub mod hashing;
pub mod invariants;
pub mod preview;
pub mod scoring;
pub mod store;
pub mod text;
pub mod tui;
