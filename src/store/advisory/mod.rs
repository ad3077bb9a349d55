//! Advisory assets and their review: content stored by SHA-256 and verified on read,
//! decisions as an append-only hash chain, and the attach gate that lets only approved
//! assets into a run (as the reference's advisory link file).
//!
//! Files: `mod.rs` (the types, opening, listing), `assets.rs` (adding content, reading it
//! back verified, attaching to runs), `chain.rs` (decisions and the audit chain),
//! `roles.rs` (who may review), `import.rs` (assets from the reference's store),
//! `reference.rs` (decisions written back into the reference's asset files, export to it),
//! `attachments.rs` (content put into the reference's content-addressed attachment store).

mod assets;
mod attachments;
mod chain;
mod import;
mod pg;
mod reference;
mod roles;
mod signing;

pub use import::{ImportReport, ImportedExtras};
pub use pg::PgReviews;
pub use reference::{ExportReport, ImportedReview, ReferenceFile};
pub use roles::{
    add_signer, allowed_signers_path, check_reviewer_name, remove_signer, reviewer_identity,
    ReviewerPolicy, SignerAdded, SignerRemoved, MAX_CONFIG_BYTES,
};
pub use signing::{
    check_signature, signed_message, AllowedSigner, AllowedSigners, SignatureCheck,
    SignaturePolicy, SignatureStatus, NAMESPACE,
};

use crate::domain::{AdvisoryInputRef, Timestamp};
use crate::fsio::durable::{self, CreateError};
use crate::hashing::{canonical_json, sha256_bytes, sha256_json};
use crate::store::runs::{safe_id, RunStore, StoreError};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
/// Kinds of advisory content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AssetType {
    Image,
    Explanation,
    Suggestion,
    Validation,
    Analysis,
    Pattern,
}

impl AssetType {
    /// Parse a type, upper-case (IMAGE…) or the reference's lower-case (`image`,
    /// `suggestion`, `analysis`, `pattern`).
    pub fn parse(s: &str) -> Option<AssetType> {
        Some(match s.trim().to_uppercase().as_str() {
            "IMAGE" => AssetType::Image,
            "EXPLANATION" => AssetType::Explanation,
            "SUGGESTION" => AssetType::Suggestion,
            "VALIDATION" => AssetType::Validation,
            "ANALYSIS" => AssetType::Analysis,
            "PATTERN" => AssetType::Pattern,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AssetType::Image => "IMAGE",
            AssetType::Explanation => "EXPLANATION",
            AssetType::Suggestion => "SUGGESTION",
            AssetType::Validation => "VALIDATION",
            AssetType::Analysis => "ANALYSIS",
            AssetType::Pattern => "PATTERN",
        }
    }

    /// The reference's `AdvisoryInputRef.kind` for a link to this asset.
    fn link_kind(self) -> &'static str {
        match self {
            AssetType::Explanation | AssetType::Analysis => "explanation",
            _ => "advisory",
        }
    }
}

/// The reference's rejection reasons.
pub const REJECTION_REASONS: [&str; 12] = [
    "poor_quality",
    "wrong_style",
    "anatomically_incorrect",
    "wrong_guitar_type",
    "wrong_finish",
    "wrong_hardware",
    "artifacts",
    "lighting_issues",
    "composition",
    "not_photorealistic",
    "duplicate",
    "other",
];

/// Review state of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReviewState {
    Pending,
    Approved,
    Rejected,
}

impl ReviewState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Pending => "pending",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }
}

/// An advisory asset (the seed plan's fields plus the reference's richer ones).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdvisoryAsset {
    pub asset_id: String,
    pub asset_type: AssetType,
    pub source: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub prompt: Option<String>,
    pub prompt_hash: Option<String>,
    pub request_id: Option<String>,
    pub run_id: Option<String>,
    pub content_hash: String,
    pub content_path: String,
    pub content_size: u64,
    pub mime: String,
    pub image_width: Option<u32>,
    pub image_height: Option<u32>,
    pub suggestion_data: Option<Value>,
    pub confidence: Option<f64>,
    pub warnings: Vec<String>,
    pub created_at: String,
    pub reviewed: bool,
    pub approved_for_workflow: bool,
    pub reviewed_at: Option<String>,
    pub reviewer_id: Option<String>,
    pub review_note: Option<String>,
    pub rejection_reason: Option<String>,
    pub rating: Option<i64>,
    pub state: ReviewState,
    /// Sequence number of the asset's newest decision in the chain (`None`: never decided).
    pub decision_seq: Option<i64>,
}

/// A review decision to record.
#[derive(Debug, Clone, Copy)]
pub struct DecisionRequest<'a> {
    pub reviewer: &'a str,
    pub asset_id: &'a str,
    pub approve: bool,
    /// Rejection reason code (required to reject).
    pub reason: Option<&'a str>,
    pub note: Option<&'a str>,
    /// The content hash the reviewer saw; the decision is refused if it changed.
    pub expect_hash: Option<&'a str>,
    /// The newest decision the reviewer was shown for this asset (`Some(None)`: none, it
    /// was pending). When someone else decided since, the decision is refused, naming who
    /// decided what and when, instead of silently deciding again. `None`: not checked.
    pub expect_previous: Option<Option<i64>>,
}

/// One decision record of the audit chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewDecision {
    pub seq: i64,
    pub asset_id: String,
    pub content_hash: String,
    pub decision: String,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub reviewer: String,
    pub decided_at: String,
    pub prev_hash: String,
    pub record_hash: String,
    /// The SSHSIG signature (PEM) over [`signed_message`], when the decision was signed.
    /// Not part of the record hash: a chain stays valid with signed and unsigned records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The signing key's SHA-256 fingerprint (`SHA256:…`), when signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// For a decision brought in by `advisory import`: what the reference's file said
    /// (reviewer, review time, reason, note) — covered by the record hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imported: Option<ImportedReview>,
    /// Not part of the record: the reference asset files this decision was just written
    /// into (or why not), as [`AdvisoryStore::decide`] returns it. Empty when read back.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub written_back: Vec<ReferenceFile>,
}

/// Errors of the advisory store; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    #[error("advisory asset {0} not found (rmos advisory list shows the ids)")]
    NotFound(String),
    #[error("invalid asset: {0}")]
    Invalid(String),
    #[error(
        "asset {0} already exists: asset ids are never reused — give the new content another id"
    )]
    Exists(String),
    #[error("decision refused: {0}")]
    Refused(String),
    #[error("{asset_id} was {decision} by {by} {ago} (at {at}) after it was shown to you: nothing was recorded; look at it again and decide anew if you still disagree")]
    DecidedMeanwhile {
        asset_id: String,
        decision: String,
        by: String,
        at: String,
        ago: String,
    },
    #[error("content of {asset_id} no longer matches its hash ({detail}): it cannot be reviewed or attached")]
    Corrupted { asset_id: String, detail: String },
    #[error("reviewer {reviewer:?} may not decide: {why}. Ask an administrator to add \"{reviewer}\": \"reviewer\" under \"reviewers\" in {config}")]
    NotAReviewer {
        reviewer: String,
        why: String,
        config: String,
    },
    #[error("reference asset file {}: {detail}", path.display())]
    ReferenceFile { path: PathBuf, detail: String },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Db(#[from] crate::db::DbError),
    #[error("advisory database: {0}{advice}", advice = crate::advice::sqlite(.0))]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Pg(#[from] crate::db::pg::PgError),
    #[error("cannot {op} {path}: {source}{}", crate::advice::io(.source))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What to add.
#[derive(Debug, Clone, Default)]
pub struct NewAsset {
    pub asset_type: Option<AssetType>,
    pub content: Vec<u8>,
    pub mime: String,
    pub extension: String,
    pub source: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub prompt: Option<String>,
    pub request_id: Option<String>,
    pub run_id: Option<String>,
    pub confidence: Option<f64>,
    pub warnings: Vec<String>,
    pub suggestion_data: Option<Value>,
    pub asset_id: Option<String>,
    pub created_at: Option<Timestamp>,
}

/// The reference's prompt hash: first 16 hex of sha256 of the lower-cased prompt with
/// punctuation removed and whitespace collapsed.
pub fn prompt_hash(prompt: &str) -> String {
    let cleaned: String = prompt
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace() || *c == '_')
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    sha256_bytes(collapsed.as_bytes())[..16].to_owned()
}

/// Width and height of a PNG, GIF or JPEG image, when the bytes are one.
pub fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() >= 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR" {
        let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        return Some((be(16), be(20)));
    }
    if b.len() >= 10 && (b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")) {
        return Some((
            u16::from_le_bytes([b[6], b[7]]) as u32,
            u16::from_le_bytes([b[8], b[9]]) as u32,
        ));
    }
    if b.len() > 4 && b[0] == 0xFF && b[1] == 0xD8 {
        let mut i = 2;
        while i + 9 < b.len() {
            if b[i] != 0xFF {
                return None;
            }
            let marker = b[i + 1];
            let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
            if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                let h = u16::from_be_bytes([b[i + 5], b[i + 6]]) as u32;
                let w = u16::from_be_bytes([b[i + 7], b[i + 8]]) as u32;
                return Some((w, h));
            }
            i += 2 + len;
        }
    }
    None
}

/// Largest asset content rmos stores or reads (AI images and texts are far smaller).
pub const MAX_ASSET_BYTES: u64 = 64 * 1024 * 1024;

fn too_large(len: u64) -> String {
    format!("{len} bytes, over the {MAX_ASSET_BYTES}-byte (64 MB) limit for advisory content")
}

/// The advisory store over a data root.
pub struct AdvisoryStore {
    conn: Connection,
    data_dir: PathBuf,
    /// Opened read-only (the data root is not writable for this user): browse, not decide.
    read_only: bool,
}

/// Assets with their newest decision. The decision chain is the only record of an
/// asset's review state: the state shown, listed, counted and acted on is the newest
/// decision's, never the `reviewed`/`approved_for_workflow` projection columns (which
/// anyone with write access could edit; `rmos audit verify` reports where they disagree).
const FROM: &str = "advisory_assets a LEFT JOIN review_decisions d \
    ON d.seq = (SELECT max(x.seq) FROM review_decisions x WHERE x.asset_id = a.asset_id)";

const COLS: &str = "a.asset_id, a.asset_type, a.source, a.provider, a.model, a.prompt, a.prompt_hash, a.request_id, a.run_id, \
    a.content_hash, a.content_path, a.content_size, a.mime, a.image_width, a.image_height, a.suggestion_data, a.confidence, \
    a.warnings_json, a.created_at, CASE WHEN d.decision IS NULL OR d.content_hash <> a.content_hash THEN NULL ELSE d.decision END, \
    d.decided_at, d.reviewer, d.note, d.reason, a.rating, d.seq";

/// The review state of an asset in SQL: its newest decision, if that decision was made on
/// the content the asset has now (a decision on other bytes decides nothing about these).
const STATE: &str = "CASE WHEN d.decision IS NULL OR d.content_hash <> a.content_hash THEN 'pending' ELSE d.decision END";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AdvisoryAsset> {
    let decision: Option<String> = r.get(19)?;
    let state = match decision.as_deref() {
        Some("approved") => ReviewState::Approved,
        Some(_) => ReviewState::Rejected,
        None => ReviewState::Pending,
    };
    let t: String = r.get(1)?;
    Ok(AdvisoryAsset {
        asset_id: r.get(0)?,
        asset_type: AssetType::parse(&t).unwrap_or(AssetType::Suggestion),
        source: r.get(2)?,
        provider: r.get(3)?,
        model: r.get(4)?,
        prompt: r.get(5)?,
        prompt_hash: r.get(6)?,
        request_id: r.get(7)?,
        run_id: r.get(8)?,
        content_hash: r.get(9)?,
        content_path: r.get(10)?,
        content_size: r.get::<_, i64>(11)? as u64,
        mime: r.get(12)?,
        image_width: r.get(13)?,
        image_height: r.get(14)?,
        suggestion_data: r
            .get::<_, Option<String>>(15)?
            .and_then(|s| serde_json::from_str(&s).ok()),
        confidence: r.get(16)?,
        warnings: serde_json::from_str(&r.get::<_, String>(17)?).unwrap_or_default(),
        created_at: r.get(18)?,
        reviewed: state != ReviewState::Pending,
        approved_for_workflow: state == ReviewState::Approved,
        reviewed_at: r.get(20)?,
        reviewer_id: r.get(21)?,
        review_note: r.get(22)?,
        rejection_reason: r.get(23)?,
        rating: r.get(24)?,
        state,
        decision_seq: r.get(25)?,
    })
}

impl AdvisoryStore {
    /// Open the review store: decisions and assets in the database at `db_path`, asset
    /// content under `data_dir`. `read_only` opens the database without write access
    /// (browsing a data root this user cannot write).
    pub fn open(
        db_path: &Path,
        data_dir: &Path,
        read_only: bool,
    ) -> Result<AdvisoryStore, AdvisoryError> {
        let conn = if read_only {
            crate::db::open_read_only(db_path)?
        } else {
            crate::db::open(db_path)?
        };
        Ok(AdvisoryStore {
            conn,
            data_dir: data_dir.to_path_buf(),
            read_only,
        })
    }
    /// Whether the store was opened read-only (see [`AdvisoryStore::open`]).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }
    fn writable(&self) -> Result<(), AdvisoryError> {
        if self.read_only {
            return Err(AdvisoryError::Refused(format!(
                "{} is read-only for you: adding, deciding and attaching need write access to it and its rmos.db (ask its owner, or work on a copy with --data)",
                self.data_dir.display()
            )));
        }
        Ok(())
    }
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
    /// One asset by its id, or by its content hash (the key a run's advisory link names,
    /// as the reference's content-addressed store does; the newest asset of that content).
    pub fn get(&self, id: &str) -> Result<AdvisoryAsset, AdvisoryError> {
        let by_id = self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM {FROM} WHERE a.asset_id = ?1"),
                [id],
                from_row,
            )
            .optional()?;
        if let Some(a) = by_id {
            return Ok(a);
        }
        let is_hash = id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hash {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT {COLS} FROM {FROM} WHERE a.content_hash = ?1 \
                 ORDER BY a.created_at DESC, a.asset_id DESC LIMIT 5"
            ))?;
            let mut found: Vec<AdvisoryAsset> = stmt
                .query_map([id.to_ascii_lowercase()], from_row)?
                .collect::<Result<_, _>>()?;
            match found.len() {
                0 => {}
                1 => return Ok(found.remove(0)),
                _ => {
                    let ids: Vec<&str> = found.iter().map(|a| a.asset_id.as_str()).collect();
                    return Err(AdvisoryError::Invalid(format!(
                        "content {id} belongs to several assets ({}): name the asset by its id",
                        ids.join(", ")
                    )));
                }
            }
        }
        Err(AdvisoryError::NotFound(id.to_owned()))
    }
    /// Assets, newest first, in one state or all.
    pub fn list(
        &self,
        state: Option<ReviewState>,
        limit: usize,
    ) -> Result<Vec<AdvisoryAsset>, AdvisoryError> {
        let cond = match state {
            None => "1".to_owned(),
            Some(s) => format!("{STATE} = '{}'", s.as_str()),
        };
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLS} FROM {FROM} WHERE {cond} ORDER BY a.created_at DESC, a.asset_id DESC LIMIT ?1"
        ))?;
        let rows = stmt.query_map([limit as i64], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    /// Counts of pending, approved and rejected assets.
    pub fn counts(&self) -> Result<(u64, u64, u64), AdvisoryError> {
        Ok(self.conn.query_row(
            &format!("SELECT coalesce(sum({STATE} = 'pending'), 0), coalesce(sum({STATE} = 'approved'), 0),
                    coalesce(sum({STATE} = 'rejected'), 0) FROM {FROM}"),
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64)),
        )?)
    }
}
