//! Hash verification of artifacts: does `hashes.feasibility_sha256` still match the
//! feasibility block it claims to cover?

use crate::domain::{RunArtifact, RunStatus};
use crate::hashing::sha256_json_map;
use serde::Serialize;

/// The outcome of verifying one artifact file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum VerifyOutcome {
    /// The recorded hash equals the hash of the stored feasibility block.
    Ok,
    /// The hashes differ: the file was edited or corrupted after it was written.
    Mismatch,
    /// The all-zero hash written by the completeness guard (nothing to verify).
    Placeholder,
    /// The file does not parse or validate.
    Invalid,
    /// A record the reference wrote with a hash that never covered its feasibility block
    /// (converted from v1, or written through `persist_run_artifact`): nothing to verify,
    /// and not a sign of tampering.
    Uncovered,
}

impl VerifyOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyOutcome::Ok => "ok",
            VerifyOutcome::Mismatch => "mismatch",
            VerifyOutcome::Placeholder => "placeholder",
            VerifyOutcome::Invalid => "invalid",
            VerifyOutcome::Uncovered => "uncovered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(VerifyOutcome::Ok),
            "mismatch" => Some(VerifyOutcome::Mismatch),
            "placeholder" => Some(VerifyOutcome::Placeholder),
            "invalid" => Some(VerifyOutcome::Invalid),
            "uncovered" => Some(VerifyOutcome::Uncovered),
            _ => None,
        }
    }
}

/// Verify a parsed artifact; the detail explains anything but `ok`.
pub fn verify_artifact(a: &RunArtifact) -> (VerifyOutcome, Option<String>) {
    if a.hashes.is_placeholder() {
        return (
            VerifyOutcome::Placeholder,
            Some("all-zero placeholder hash (completeness guard or saw-lab record): nothing to verify".into()),
        );
    }
    let actual = sha256_json_map(&a.feasibility);
    if actual == a.hashes.feasibility_sha256 {
        (VerifyOutcome::Ok, None)
    } else if let Some(reason) = uncovered_reason(a) {
        (VerifyOutcome::Uncovered, Some(reason.to_owned()))
    } else {
        (
            VerifyOutcome::Mismatch,
            Some(format!(
                "recorded feasibility_sha256 {} but the feasibility block hashes to {actual}",
                a.hashes.feasibility_sha256
            )),
        )
    }
}

/// Why a record whose hash does not match was never covered by it, when the reference's own
/// writers explain it; None means a real mismatch.
///
/// Facts from the reference (luthiers-toolbox `services/api/app/rmos/runs_v2/`, HEAD 6dbb2791):
///
/// * `store_api.py::persist_run_artifact` hashes `payload["feasibility"]` (or writes the
///   all-zero placeholder when there is none) but builds the `RunArtifact` without a
///   `feasibility=` argument, and the model drops the unknown `payload=` key; so the file has
///   `"feasibility": {}`, status `OK`, and the fixed decision `risk_level: GREEN` with no
///   score, warnings, block reason or details. Only that exact shape is accepted here, so
///   an edited run of any other shape stays a mismatch.
/// * `compat.py::convert_v1_to_v2` (`_build_hashes`) copies the v1 `request_hash` into
///   `feasibility_sha256` whenever it is 64 characters long; v1's request hash was not taken
///   over the feasibility block. v1 run ids come from the v1 store's `create_run_id`
///   (`app/rmos/runs/store.py` before commit 456d9148): `"run_" + uuid4().hex[:16]`, while
///   v2 ids are `"run_" + uuid4().hex` (32 hex digits). A converted file carries no other
///   mark of its origin, so the 16-digit id is what tells it apart.
pub fn uncovered_reason(a: &RunArtifact) -> Option<&'static str> {
    let d = &a.decision;
    Coverage {
        run_id: &a.run_id,
        feasibility_empty: a.feasibility.is_empty(),
        status: a.status,
        risk_level: &d.risk_level,
        score: d.score,
        has_block_reason: d.block_reason.is_some(),
        has_warnings: !d.warnings.is_empty(),
        details_empty: d.details.is_empty(),
    }
    .uncovered_reason()
}

/// What [`uncovered_reason`] looks at, so the index's fast read decides the same way
/// without building the artifact.
pub struct Coverage<'a> {
    pub run_id: &'a str,
    pub feasibility_empty: bool,
    pub status: RunStatus,
    pub risk_level: &'a str,
    pub score: Option<f64>,
    pub has_block_reason: bool,
    pub has_warnings: bool,
    pub details_empty: bool,
}

impl Coverage<'_> {
    pub fn uncovered_reason(&self) -> Option<&'static str> {
        if self.feasibility_empty
            && self.status == RunStatus::Ok
            && self.risk_level == "GREEN"
            && self.score.is_none()
            && !self.has_block_reason
            && !self.has_warnings
            && self.details_empty
        {
            return Some(
                "written through the reference's persist_run_artifact: its hash covers the payload's feasibility, which the reference does not store (the feasibility block is empty); nothing to verify",
            );
        }
        if is_v1_run_id(self.run_id) {
            return Some(
                "converted from a v1 record (16-digit v1 run id): the reference's convert_v1_to_v2 keeps v1's request_hash as feasibility_sha256, which never covered the feasibility block; nothing to verify",
            );
        }
        None
    }
}

/// `run_` followed by exactly 16 lower-case hex digits: the v1 store's run id.
fn is_v1_run_id(id: &str) -> bool {
    id.strip_prefix("run_").is_some_and(|hex| {
        hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}
