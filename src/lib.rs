//! rmos — a terminal review console for RMOS manufacturing-decision records.
//!
//! Modules, in layers from the bottom up; a module uses only the layers below it
//! (`tests/layers.rs` checks this, ARCHITECTURE.md explains it):
//!
//! 1. Foundations (std and crates only): [`text`] (making strings from disk safe for a
//!    terminal), [`hashing`] (the reference's canonical JSON and SHA-256), [`advice`] (the
//!    next step after an I/O or SQLite error), [`fsio`] (bounded, link-refusing reads;
//!    durable writes; file locks).
//! 2. Domain: [`domain`] (run artifacts, timestamps, rosette designs), [`filter`] (the
//!    filter language: parse, print, match), [`api`] (the reference's logs API shapes),
//!    [`preview`] (image bytes to a small thumbnail for terminals).
//! 3. Database: [`db`] (SQLite connections and embedded migrations).
//! 4. Storage: [`store`] (run files, the run index, review assets and their decision
//!    chain, workflow sessions, snapshots, backups, hash verification).
//! 5. Services: [`scoring`] (feasibility scoring, recording runs, snapshot export/import),
//!    [`invariants`] (properties shared by the fuzz targets and their replay tests).
//! 6. Configuration: [`config`] (where the data root's parts are; opens the stores),
//!    [`prefs`] (this user's saved filters and filter history).
//! 7. Composition: [`demo`] (the demo data set).
//! 8. Interfaces: [`tui`] (the console), then [`cli`] (the commands, which start it).

pub mod advice;
pub mod api;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod filter;
pub mod fsio;
pub mod hashing;
pub mod invariants;
pub mod prefs;
pub mod preview;
pub mod scoring;
pub mod store;
pub mod text;
pub mod tui;
