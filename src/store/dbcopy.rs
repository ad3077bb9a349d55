//! `rmos db copy`: move a single-host setup (the embedded SQLite database of a data root)
//! into a shared PostgreSQL database — assets with their content, the decision chain
//! record for record (the same hashes, so it verifies there as it did here), workflow
//! sessions, and the reviewers list of the data root's `config.json` as rows of
//! `rmos_reviewers`. The run index is not copied: each host's indexer publishes it.
//!
//! The source is opened read-only and its chain must verify first (a broken chain is not
//! carried over). Copying is idempotent: what is already there (same ids, the same
//! records) is left alone, so an interrupted copy is simply run again; a destination
//! whose chain holds other records is refused.

use super::advisory::{AdvisoryError, AdvisoryStore, PgReviews, ReviewerPolicy};
use super::pg::PgSessions;
use super::sessions;
use crate::db::pg::PgTarget;
use serde::Serialize;
use std::path::Path;

/// What a copy did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct CopyReport {
    pub assets_copied: u64,
    pub assets_already_there: u64,
    pub decisions_copied: u64,
    pub decisions_already_there: u64,
    pub sessions_copied: u64,
    pub sessions_already_there: u64,
    pub reviewers_copied: u64,
    /// Records of the destination's chain after the copy (verified).
    pub chain_records: u64,
}

/// Copy the embedded database `sqlite_db` (whose asset blobs are under `data_dir`) into
/// the PostgreSQL database `target`.
pub fn copy_sqlite_to_pg(
    sqlite_db: &Path,
    data_dir: &Path,
    target: &PgTarget,
) -> Result<CopyReport, AdvisoryError> {
    if !sqlite_db.is_file() {
        return Err(AdvisoryError::Invalid(format!(
            "no SQLite database at {} (give sqlite:DATA_DIR or sqlite:DATA_DIR/rmos.db)",
            sqlite_db.display()
        )));
    }
    let src = AdvisoryStore::open(sqlite_db, data_dir, true)?;
    if let Err((seq, why)) = src.verify_chain()? {
        return Err(AdvisoryError::Refused(format!(
            "the decision chain of {} is broken at record {seq} ({why}): nothing was copied; `rmos --data {} audit verify` shows it",
            sqlite_db.display(),
            data_dir.display()
        )));
    }
    let dst = PgReviews::open(target)?;
    let mut report = CopyReport::default();
    for asset in src.list(None, i64::MAX as usize)? {
        let content = src.content(&asset)?;
        let extras = src.extras(&asset.asset_id)?;
        if dst.copy_asset(&asset, &extras, &content)? {
            report.assets_copied += 1;
        } else {
            report.assets_already_there += 1;
        }
    }
    let records = src.all_decisions()?;
    let copied = dst.copy_decisions(&records)?;
    report.decisions_copied = copied;
    report.decisions_already_there = records.len() as u64 - copied;
    match crate::store::seam::ReviewStore::verify_chain(&dst)? {
        Ok(n) => report.chain_records = n,
        Err((seq, why)) => {
            return Err(AdvisoryError::Refused(format!(
                "after the copy the chain in the {} does not verify at record {seq} ({why})",
                target.label()
            )))
        }
    }
    let sessions_dst =
        PgSessions::open(target).map_err(|e| AdvisoryError::Invalid(e.to_string()))?;
    for s in sessions::list(src.connection(), None, None, i64::MAX as usize)
        .map_err(|e| AdvisoryError::Invalid(e.to_string()))?
    {
        if sessions_dst
            .copy(&s)
            .map_err(|e| AdvisoryError::Invalid(e.to_string()))?
        {
            report.sessions_copied += 1;
        } else {
            report.sessions_already_there += 1;
        }
    }
    let policy = ReviewerPolicy::load(&data_dir.join("config.json"))?;
    for (name, role) in policy.roles.iter().flatten() {
        let role = role
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| role.to_string());
        if dst.set_role(name, &role)? {
            report.reviewers_copied += 1;
        }
    }
    Ok(report)
}
