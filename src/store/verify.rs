//! Hash verification of artifacts: does `hashes.feasibility_sha256` still match the
//! feasibility block it claims to cover?

use crate::domain::RunArtifact;
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
}

impl VerifyOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyOutcome::Ok => "ok",
            VerifyOutcome::Mismatch => "mismatch",
            VerifyOutcome::Placeholder => "placeholder",
            VerifyOutcome::Invalid => "invalid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ok" => Some(VerifyOutcome::Ok),
            "mismatch" => Some(VerifyOutcome::Mismatch),
            "placeholder" => Some(VerifyOutcome::Placeholder),
            "invalid" => Some(VerifyOutcome::Invalid),
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
