//! Advisory assets and their review: content stored by SHA-256 and verified on read,
//! decisions as an append-only hash chain, and the attach gate that lets only approved
//! assets into a run (as the reference's advisory link file).

use crate::domain::{AdvisoryInputRef, Timestamp};
use crate::hashing::{canonical_json, sha256_bytes, sha256_json};
use crate::store::durable::{self, CreateError};
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
}

/// Errors of the advisory store; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    #[error("advisory asset {0} not found (rmos advisory list shows the ids)")]
    NotFound(String),
    #[error("invalid asset: {0}")]
    Invalid(String),
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
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Db(#[from] crate::db::DbError),
    #[error("advisory database: {0}{advice}", advice = crate::advice::sqlite(.0))]
    Sql(#[from] rusqlite::Error),
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

/// Largest `config.json` rmos reads (a reviewers list is a few kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The configured reviewers (`<data>/config.json`, key `reviewers`: name → role).
#[derive(Debug, Clone, Default)]
pub struct ReviewerPolicy {
    pub roles: Option<Map<String, Value>>,
    pub config_path: PathBuf,
}

impl ReviewerPolicy {
    /// The reviewers list of the data root's `config.json` at `config_path` (absent file:
    /// no list, everyone may review).
    pub fn load(config_path: &Path) -> Result<ReviewerPolicy, AdvisoryError> {
        let config_path = config_path.to_path_buf();
        let roles = match crate::store::read::read_regular(&config_path, MAX_CONFIG_BYTES) {
            Ok(b) => {
                crate::store::read::check_json_budget(&b).map_err(|e| {
                    AdvisoryError::Invalid(format!("{}: {e}", config_path.display()))
                })?;
                let v: Value = serde_json::from_slice(&b).map_err(|e| {
                    AdvisoryError::Invalid(format!("{}: {e}", config_path.display()))
                })?;
                match v.get("reviewers") {
                    None | Some(Value::Null) => None,
                    Some(Value::Object(m)) => Some(m.clone()),
                    Some(_) => {
                        return Err(AdvisoryError::Invalid(format!(
                            "{}: \"reviewers\" must be an object",
                            config_path.display()
                        )))
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(AdvisoryError::Io {
                    op: "read",
                    path: config_path,
                    source,
                })
            }
        };
        Ok(ReviewerPolicy { roles, config_path })
    }

    /// May `reviewer` decide? Without an allow-list the local identity is the sole reviewer.
    pub fn check(&self, reviewer: &str) -> Result<(), AdvisoryError> {
        let Some(roles) = &self.roles else {
            return Ok(());
        };
        let refuse = |why: String| AdvisoryError::NotAReviewer {
            reviewer: reviewer.to_owned(),
            why,
            config: self.config_path.display().to_string(),
        };
        match roles.get(reviewer).and_then(Value::as_str) {
            Some("reviewer") => Ok(()),
            Some(role) => Err(refuse(format!("the role is {role:?}, not \"reviewer\""))),
            None => Err(refuse("not in the reviewers list".into())),
        }
    }
}

/// The reviewer identity: `$RMOS_REVIEWER`, else the OS user.
pub fn reviewer_identity() -> String {
    for var in ["RMOS_REVIEWER", "USER", "LOGNAME"] {
        if let Some(v) = std::env::var_os(var)
            .and_then(|v| v.into_string().ok())
            .filter(|v| !v.trim().is_empty())
        {
            return v.trim().to_owned();
        }
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    os_user_name(uid).unwrap_or_else(|| format!("uid{uid}"))
}

/// The passwd entry's name for `uid`, through the re-entrant `getpwuid_r` (this runs on
/// worker threads; `getpwuid` returns a shared static buffer).
fn os_user_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer refers to memory owned here for the duration of the call;
        // on success `found` points at `entry`, whose strings live in `buf`.
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name is a NUL-terminated string inside `buf`, still alive here.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
        return name.to_str().ok().map(str::to_owned);
    }
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn record_hash(d: &ReviewDecision) -> String {
    sha256_json(&json!({
        "seq": d.seq, "asset_id": d.asset_id, "content_hash": d.content_hash, "decision": d.decision,
        "reason": d.reason, "note": d.note, "reviewer": d.reviewer, "decided_at": d.decided_at,
        "prev_hash": d.prev_hash,
    }))
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

    /// Refuse to write where a part of these paths below the data root is a symbolic link.
    fn refuse_links(&self, parts: &[PathBuf]) -> Result<(), AdvisoryError> {
        for part in parts {
            durable::refuse_links_below(&self.data_dir, part).map_err(|source| {
                AdvisoryError::Io {
                    op: "write in",
                    path: part.clone(),
                    source,
                }
            })?;
        }
        Ok(())
    }

    fn blob_path(&self, rel: &str) -> PathBuf {
        self.data_dir.join(rel)
    }

    /// Store content (create-only, by hash) and register the asset as pending.
    pub fn add(&self, new: NewAsset) -> Result<AdvisoryAsset, AdvisoryError> {
        self.writable()?;
        let asset_type = new
            .asset_type
            .ok_or_else(|| AdvisoryError::Invalid("an asset type is required".into()))?;
        if new.content.is_empty() {
            return Err(AdvisoryError::Invalid("the content is empty".into()));
        }
        if new.content.len() as u64 > MAX_ASSET_BYTES {
            return Err(AdvisoryError::Invalid(too_large(new.content.len() as u64)));
        }
        if let Some(c) = new.confidence {
            if !(0.0..=1.0).contains(&c) {
                return Err(AdvisoryError::Invalid(format!(
                    "confidence {c} must be between 0 and 1"
                )));
            }
        }
        let hash = sha256_bytes(&new.content);
        let ext = new.extension.trim_start_matches('.');
        let rel = format!(
            "advisory/blobs/{}/{}/{}{}{}",
            &hash[..2],
            &hash[2..4],
            hash,
            if ext.is_empty() { "" } else { "." },
            ext
        );
        let path = self.blob_path(&rel);
        self.refuse_links(&[
            path.parent().unwrap_or(&self.data_dir).to_path_buf(),
            self.data_dir.join("advisory/.staging"),
        ])?;
        match durable::create_new(
            &self.data_dir.join("advisory/.staging"),
            &path,
            &new.content,
        ) {
            Ok(()) | Err(CreateError::Exists) => {}
            Err(CreateError::Io { op, path, source }) => {
                return Err(AdvisoryError::Io { op, path, source })
            }
        }
        let id = new
            .asset_id
            .unwrap_or_else(|| format!("adv_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            || id.is_empty()
            || id.len() > 64
        {
            return Err(AdvisoryError::Invalid(format!(
                "asset id {id:?} must be 1-64 characters of A-Z a-z 0-9 _ -"
            )));
        }
        let (w, h) = match asset_type {
            AssetType::Image => {
                image_size(&new.content).map_or((None, None), |(w, h)| (Some(w), Some(h)))
            }
            _ => (None, None),
        };
        let created = new.created_at.unwrap_or_else(Timestamp::now).to_pydantic();
        let source = new.source.unwrap_or_else(|| match asset_type {
            AssetType::Image => "ai_graphics".into(),
            AssetType::Explanation | AssetType::Analysis => "ai_analysis".into(),
            _ => "ai_suggestion".into(),
        });
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO advisory_assets (asset_id, asset_type, source, provider, model, prompt, prompt_hash,
               request_id, run_id, content_hash, content_path, content_size, mime, image_width, image_height,
               suggestion_data, confidence, warnings_json, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
            params![
                id,
                asset_type.as_str(),
                source,
                new.provider,
                new.model,
                new.prompt,
                new.prompt.as_deref().map(prompt_hash),
                new.request_id,
                new.run_id,
                hash,
                rel,
                new.content.len() as i64,
                new.mime,
                w,
                h,
                new.suggestion_data.as_ref().map(canonical_json),
                new.confidence,
                serde_json::to_string(&new.warnings).expect("strings serialize"),
                created,
            ],
        )?;
        if inserted == 0 {
            return Err(AdvisoryError::Invalid(format!("asset {id} already exists")));
        }
        self.get(&id)
    }

    pub fn get(&self, id: &str) -> Result<AdvisoryAsset, AdvisoryError> {
        self.conn
            .query_row(
                &format!("SELECT {COLS} FROM {FROM} WHERE a.asset_id = ?1"),
                [id],
                from_row,
            )
            .optional()?
            .ok_or_else(|| AdvisoryError::NotFound(id.to_owned()))
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

    /// Read an asset's content and check it against its hash.
    pub fn content(&self, asset: &AdvisoryAsset) -> Result<Vec<u8>, AdvisoryError> {
        let path = self.blob_path(&asset.content_path);
        let unreadable = |e: std::io::Error| AdvisoryError::Corrupted {
            asset_id: asset.asset_id.clone(),
            detail: format!(
                "cannot read {}: {e}{}",
                path.display(),
                crate::advice::io(&e)
            ),
        };
        // A regular file only (a blob swapped for a FIFO, a device or a symbolic link is
        // refused, never opened in a way that blocks), and size first: a blob replaced by
        // something huge is refused, not loaded.
        let bytes = crate::store::read::read_regular(&path, MAX_ASSET_BYTES).map_err(unreadable)?;
        let actual = sha256_bytes(&bytes);
        if actual != asset.content_hash {
            return Err(AdvisoryError::Corrupted {
                asset_id: asset.asset_id.clone(),
                detail: format!(
                    "stored bytes hash to {actual}, expected {}",
                    asset.content_hash
                ),
            });
        }
        Ok(bytes)
    }

    /// The decision history of an asset, oldest first.
    pub fn history(&self, asset_id: &str) -> Result<Vec<ReviewDecision>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DECISION_COLS} FROM review_decisions WHERE asset_id = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map([asset_id], decision_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Record a decision: approve, or reject with a reason code. Refused when the reviewer
    /// lacks the role, the content changed (`expect_hash`) or no longer matches its hash.
    pub fn decide(
        &mut self,
        policy: &ReviewerPolicy,
        req: &DecisionRequest<'_>,
    ) -> Result<ReviewDecision, AdvisoryError> {
        self.writable()?;
        let DecisionRequest {
            reviewer,
            asset_id,
            approve,
            reason,
            note,
            expect_hash,
            expect_previous,
        } = *req;
        policy.check(reviewer)?;
        let asset = self.get(asset_id)?;
        if let Some(h) = expect_hash {
            if !h.eq_ignore_ascii_case(&asset.content_hash) {
                return Err(AdvisoryError::Refused(format!(
                    "{asset_id} changed since it was shown: content is {} but the decision was made on {h}; look at it again",
                    asset.content_hash
                )));
            }
        }
        self.content(&asset)?;
        let reason = match (approve, reason.map(str::trim).filter(|r| !r.is_empty())) {
            (true, _) => None,
            (false, None) => {
                return Err(AdvisoryError::Refused(format!(
                    "a rejection needs a reason: one of {}",
                    REJECTION_REASONS.join(", ")
                )))
            }
            (false, Some(r)) => {
                let r = r.to_lowercase();
                if !REJECTION_REASONS.contains(&r.as_str()) {
                    return Err(AdvisoryError::Refused(format!(
                        "unknown reason {r:?}: use one of {}",
                        REJECTION_REASONS.join(", ")
                    )));
                }
                Some(r)
            }
        };
        // One lock spans the append and the head file: the head always names the newest
        // committed record, however many reviewers decide at once.
        let lock_path = self.data_dir.join("advisory").join("audit.lock");
        self.refuse_links(&[lock_path.clone(), self.data_dir.join("advisory/.staging")])?;
        let _lock = durable::FileLock::acquire(&lock_path).map_err(|source| AdvisoryError::Io {
            op: "lock",
            path: lock_path.clone(),
            source,
        })?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, record_hash FROM review_decisions ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some(seen) = expect_previous {
            // Checked inside the write transaction: no decision can slip in between.
            let newest: Option<ReviewDecision> = tx
                .query_row(
                    &format!("SELECT {DECISION_COLS} FROM review_decisions WHERE asset_id = ?1 ORDER BY seq DESC LIMIT 1"),
                    [asset_id],
                    decision_row,
                )
                .optional()?;
            if let Some(d) = newest.filter(|d| Some(d.seq) != seen) {
                return Err(AdvisoryError::DecidedMeanwhile {
                    asset_id: asset_id.to_owned(),
                    ago: ago(&d.decided_at),
                    decision: d.decision,
                    by: d.reviewer,
                    at: d.decided_at,
                });
            }
        }
        let (seq, prev) = last
            .map(|(s, h)| (s + 1, h))
            .unwrap_or((1, GENESIS.to_owned()));
        let mut d = ReviewDecision {
            seq,
            asset_id: asset_id.to_owned(),
            content_hash: asset.content_hash.clone(),
            decision: if approve { "approved" } else { "rejected" }.into(),
            reason: reason.clone(),
            note: note.map(str::to_owned),
            reviewer: reviewer.to_owned(),
            decided_at: Timestamp::now().to_pydantic(),
            prev_hash: prev,
            record_hash: String::new(),
        };
        d.record_hash = record_hash(&d);
        tx.execute(
            "INSERT INTO review_decisions (seq, asset_id, content_hash, decision, reason, note, reviewer, decided_at, prev_hash, record_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![d.seq, d.asset_id, d.content_hash, d.decision, d.reason, d.note, d.reviewer, d.decided_at, d.prev_hash, d.record_hash],
        )?;
        tx.execute(
            "UPDATE advisory_assets SET reviewed = 1, approved_for_workflow = ?2, reviewed_at = ?3, reviewer_id = ?4,
               review_note = ?5, rejection_reason = ?6 WHERE asset_id = ?1",
            params![asset_id, approve as i64, d.decided_at, reviewer, d.note, reason],
        )?;
        tx.commit()?;
        self.write_head(&d);
        Ok(d)
    }

    fn head_path(&self) -> PathBuf {
        self.data_dir.join("advisory").join("audit-head.json")
    }

    /// Remember the newest decision outside the database, under the decision lock (best
    /// effort: a crash between the commit and this write leaves the head one record behind,
    /// which verifies; the next decision writes it again).
    fn write_head(&self, d: &ReviewDecision) {
        let body = json!({"seq": d.seq, "record_hash": d.record_hash, "decided_at": d.decided_at});
        let path = self.head_path();
        if let Ok(staged) = durable::stage(
            &self.data_dir.join("advisory/.staging"),
            "audit-head",
            body.to_string().as_bytes(),
        ) {
            let _ = staged.replace(&path);
        }
    }

    /// The head file: `Ok(None)` when there is none, `Err` with the reason when it cannot be
    /// read or is not a head record.
    fn read_head(&self) -> Result<Option<(i64, String)>, String> {
        let path = self.head_path();
        let bytes = match crate::store::read::read_regular(&path, 64 * 1024) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a head record: {e}", path.display()))?;
        match (
            v.get("seq").and_then(Value::as_i64),
            v.get("record_hash").and_then(Value::as_str),
        ) {
            (Some(seq), Some(h)) if seq >= 1 => Ok(Some((seq, h.to_owned()))),
            _ => Err(format!(
                "{} has no seq and record_hash of a decision",
                path.display()
            )),
        }
    }

    /// The sequence number of the chain record with this hash, if the chain holds it.
    pub fn find_record(&self, record_hash: &str) -> Result<Option<i64>, AdvisoryError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq FROM review_decisions WHERE record_hash = ?1",
                [record_hash.to_ascii_lowercase()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The newest record of the chain (`None` when no decision was made yet).
    pub fn chain_head(&self) -> Result<Option<ReviewDecision>, AdvisoryError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq DESC LIMIT 1"),
                [],
                decision_row,
            )
            .optional()?)
    }

    /// Assets whose `reviewed`/`approved_for_workflow` columns disagree with the decision
    /// chain (edited outside rmos): each with what the columns say and what the chain says.
    pub fn projection_mismatches(&self) -> Result<Vec<String>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT a.asset_id, a.reviewed, a.approved_for_workflow, {STATE} FROM {FROM}"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, reviewed, approved, state) = row?;
            let cached = match (reviewed != 0, approved != 0) {
                (_, true) => "approved",
                (true, false) => "rejected",
                (false, false) => "pending",
            };
            if cached != state {
                out.push(format!(
                    "asset {id}: the advisory_assets table says {cached} but the decision chain says {state} (changed outside rmos; rmos acts on the chain)"
                ));
            }
        }
        Ok(out)
    }

    /// Walk the decision chain. Returns the number of records, or where it breaks.
    pub fn verify_chain(&self) -> Result<Result<u64, (i64, String)>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq"
        ))?;
        let rows: Vec<ReviewDecision> = stmt
            .query_map([], decision_row)?
            .collect::<Result<_, _>>()?;
        let mut prev = GENESIS.to_owned();
        for (i, d) in rows.iter().enumerate() {
            let expected_seq = i as i64 + 1;
            if d.seq != expected_seq {
                return Ok(Err((
                    d.seq,
                    format!(
                        "record {expected_seq} is missing (next record is {})",
                        d.seq
                    ),
                )));
            }
            if d.prev_hash != prev {
                return Ok(Err((d.seq, "its prev_hash does not match the record before it (deleted or reordered records)".into())));
            }
            if record_hash(d) != d.record_hash {
                return Ok(Err((
                    d.seq,
                    "its content does not match its hash (the record was edited)".into(),
                )));
            }
            prev = d.record_hash.clone();
        }
        // The chain alone cannot show that its newest records were cut off: the head file
        // written with each decision remembers the newest record. A chain with records but
        // no readable head is a failure (deleting the head must not hide a cut).
        let head = match self.read_head() {
            Ok(h) => h,
            Err(why) => return Ok(Err((rows.len() as i64, why))),
        };
        if head.is_none() && !rows.is_empty() {
            return Ok(Err((
                rows.len() as i64,
                format!(
                    "{} is missing although the chain has {} records: the head was deleted, so a cut-off end of the chain could not be detected. Restore the file from a backup, or check the chain against a head recorded elsewhere with `rmos audit verify --expect-head SEQ:HASH`",
                    self.head_path().display(),
                    rows.len()
                ),
            )));
        }
        if let Some((seq, hash)) = head {
            match rows.get((seq - 1).max(0) as usize) {
                Some(d) if d.seq == seq && d.record_hash == hash => {}
                Some(_) => return Ok(Err((seq, format!("record {seq} differs from the one recorded in {}", self.head_path().display())))),
                None => {
                    return Ok(Err((
                        seq,
                        format!("the chain ends at record {} but {} recorded record {seq}: records were deleted", rows.len(), self.head_path().display()),
                    )))
                }
            }
        }
        Ok(Ok(rows.len() as u64))
    }

    /// Attach an approved asset to a run by writing the reference's advisory link file
    /// next to the run (durably, create-only). Attaching twice is a no-op.
    pub fn attach(
        &self,
        runs: &RunStore,
        asset_id: &str,
        run_id: &str,
    ) -> Result<(PathBuf, bool), AdvisoryError> {
        self.writable()?;
        let asset = self.get(asset_id)?;
        // The gate into a workflow trusts the approval only from an intact chain.
        if let Err((seq, why)) = self.verify_chain()? {
            return Err(AdvisoryError::Refused(format!(
                "the review decision chain is broken at record {seq} ({why}); no asset is attached until `rmos audit verify` passes"
            )));
        }
        if !asset.approved_for_workflow {
            return Err(AdvisoryError::Refused(format!(
                "{asset_id} is {}: only approved assets may enter a workflow (rmos advisory approve {asset_id})",
                asset.state.as_str()
            )));
        }
        self.content(&asset)?;
        let (run, path) = runs.get(run_id)?;
        let partition_dir = path
            .parent()
            .expect("artifact files live in a partition")
            .to_path_buf();
        let link = partition_dir.join(format!(
            "{}_advisory_{}.json",
            safe_id(&run.run_id),
            safe_id(asset_id)
        ));
        let mut r = AdvisoryInputRef::new(asset_id, asset.asset_type.link_kind());
        r.request_id = asset.request_id.clone();
        r.engine_id = asset.provider.clone();
        r.engine_version = asset.model.clone();
        r.status = "REVIEWED".into();
        r.notes = asset.review_note.clone();
        r.updated_at_utc = asset.reviewed_at.clone();
        let mut v = serde_json::to_value(&r).expect("ref serializes");
        crate::domain::run::pydantic_floats(&mut v);
        let bytes = serde_json::to_vec_pretty(&v).expect("JSON");
        let staging = runs
            .root()
            .join(crate::store::runs::PRIVATE_DIR)
            .join("staging");
        for part in [&staging, &partition_dir] {
            durable::refuse_links_below(runs.root(), part).map_err(|source| AdvisoryError::Io {
                op: "write in",
                path: part.to_path_buf(),
                source,
            })?;
        }
        match durable::create_new(&staging, &link, &bytes) {
            Ok(()) => Ok((link, true)),
            Err(CreateError::Exists) => Ok((link, false)),
            Err(CreateError::Io { op, path, source }) => {
                Err(AdvisoryError::Io { op, path, source })
            }
        }
    }

    /// Import the reference's asset files (`YYYY/MM/DD/<asset_id>.json` with
    /// `<asset_id>_content.<ext>`), keeping ids. Only regular files inside `dir` are read
    /// (symbolic links, FIFOs and devices are reported, never followed or opened).
    ///
    /// A review state in a file is a claim, not a decision: it enters the chain only when
    /// `importer` may decide under `policy`, as a decision *by the importer* whose note says
    /// it was imported and what the file claimed (who, when, their note). For anyone else
    /// the asset is imported pending, and the returned notes say so.
    pub fn import_reference_dir(
        &mut self,
        dir: &Path,
        policy: &ReviewerPolicy,
        importer: &str,
    ) -> Result<ImportReport, AdvisoryError> {
        self.writable()?;
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let rd = std::fs::read_dir(&d).map_err(|source| AdvisoryError::Io {
                op: "list",
                path: d.clone(),
                source,
            })?;
            for e in rd.flatten() {
                let p = e.path();
                // file_type() does not follow symbolic links: a linked folder is never
                // entered, so the walk stays inside `dir`.
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(p);
                } else if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with("adv_") && n.ends_with(".json") && !n.contains("_content")
                }) {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut report = ImportReport::default();
        let may_decide = policy.check(importer).is_ok();
        for f in files {
            match self.import_one(&f, policy, importer, may_decide) {
                Ok(ImportOutcome::Imported(notes)) => {
                    report.imported += 1;
                    report.notes.extend(notes);
                }
                Ok(ImportOutcome::Present) => report.present += 1,
                Err(e) => report.problems.push(format!("{}: {e}", f.display())),
            }
        }
        Ok(report)
    }

    fn import_one(
        &mut self,
        file: &Path,
        policy: &ReviewerPolicy,
        importer: &str,
        may_decide: bool,
    ) -> Result<ImportOutcome, AdvisoryError> {
        let v: Value = serde_json::from_slice(&durable::read_bounded(file).map_err(|source| {
            AdvisoryError::Io {
                op: "read",
                path: file.to_path_buf(),
                source,
            }
        })?)
        .map_err(|e| AdvisoryError::Invalid(crate::store::runs::describe_json_error(&e)))?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = s("asset_id").ok_or_else(|| AdvisoryError::Invalid("missing asset_id".into()))?;
        let stem = file
            .file_stem()
            .and_then(|x| x.to_str())
            .unwrap_or_default()
            .to_owned();
        if id != stem {
            return Err(AdvisoryError::Invalid(format!(
                "asset_id {} does not match the file name {stem}.json",
                crate::text::shorten(&crate::text::sanitize(&id), 80)
            )));
        }
        if self.get(&id).is_ok() {
            return Ok(ImportOutcome::Present);
        }
        let t = s("asset_type")
            .and_then(|t| AssetType::parse(&t))
            .ok_or_else(|| AdvisoryError::Invalid("unknown asset_type".into()))?;
        let content_file = std::fs::read_dir(file.parent().unwrap_or(Path::new(".")))
            .ok()
            .and_then(|rd| {
                rd.flatten().map(|e| e.path()).find(|p| {
                    p.file_stem().and_then(|x| x.to_str()) == Some(&format!("{stem}_content"))
                })
            });
        let (content, ext) = match (&content_file, v.get("suggestion_data")) {
            (Some(p), _) => (
                durable::read_bounded(p).map_err(|source| AdvisoryError::Io {
                    op: "read",
                    path: p.clone(),
                    source,
                })?,
                p.extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_owned(),
            ),
            (None, Some(d)) if !d.is_null() => (canonical_json(d).into_bytes(), "json".into()),
            _ => {
                return Err(AdvisoryError::Invalid(format!(
                    "no content file {stem}_content.* and no suggestion_data"
                )))
            }
        };
        // The hash the file claims must be the content's (the reference's save_asset
        // refuses a mismatch too): tampered content is not imported.
        if content_file.is_some() {
            if let Some(claimed) = s("content_hash") {
                let actual = sha256_bytes(&content);
                if !claimed.eq_ignore_ascii_case(&actual) {
                    return Err(AdvisoryError::Invalid(format!(
                        "the content hashes to {actual} but the file claims content_hash {}: not imported (the content or the record was changed)",
                        crate::text::shorten(&crate::text::sanitize(&claimed), 80)
                    )));
                }
            }
        }
        let mime = match ext.as_str() {
            "png" => "image/png",
            "jpg" | "jpeg" => "image/jpeg",
            "gif" => "image/gif",
            "json" => "application/json",
            _ => "text/plain",
        };
        let warnings = v
            .get("warnings")
            .and_then(|w| serde_json::from_value(w.clone()).ok())
            .unwrap_or_default();
        let asset = self.add(NewAsset {
            asset_type: Some(t),
            content,
            mime: mime.into(),
            extension: ext,
            source: s("source"),
            provider: s("provider"),
            model: s("model"),
            prompt: s("prompt"),
            request_id: s("request_id"),
            run_id: None,
            confidence: v.get("confidence").and_then(Value::as_f64),
            warnings,
            suggestion_data: v.get("suggestion_data").filter(|d| !d.is_null()).cloned(),
            asset_id: Some(id.clone()),
            created_at: s("created_at_utc").and_then(|c| Timestamp::parse(&c).ok()),
        })?;
        // A review recorded in the file is a claim by whoever wrote the file. It becomes a
        // decision only by someone who may decide here, recorded as theirs, saying what
        // was imported; otherwise the asset stays pending and the importer is told.
        let mut notes = Vec::new();
        if v.get("reviewed").and_then(Value::as_bool) == Some(true) {
            let approved = v.get("approved_for_workflow").and_then(Value::as_bool) == Some(true);
            let verdict = if approved { "approved" } else { "rejected" };
            let claimed_by = s("reviewed_by").unwrap_or_else(|| "an unnamed reviewer".into());
            let claimed_at = s("reviewed_at_utc").unwrap_or_else(|| "an unknown time".into());
            if !may_decide {
                notes.push(format!(
                    "{id}: the file says {verdict} by {claimed_by} at {claimed_at}; imported as pending because {importer} may not decide here (a reviewer can decide it)"
                ));
            } else {
                let reason = s("rejection_reason")
                    .map(|r| r.to_lowercase())
                    .filter(|r| REJECTION_REASONS.contains(&r.as_str()))
                    .or_else(|| (!approved).then(|| "other".into()));
                let mut note = format!(
                    "imported from a reference asset file that says {verdict} by {claimed_by:?} at {claimed_at}"
                );
                if let Some(r) = s("rejection_reason") {
                    note.push_str(&format!(", reason {r:?}"));
                }
                if let Some(n) = s("review_note") {
                    note.push_str(&format!(", note {n:?}"));
                }
                let req = DecisionRequest {
                    reviewer: importer,
                    asset_id: &asset.asset_id,
                    approve: approved,
                    reason: reason.as_deref(),
                    note: Some(&note),
                    expect_hash: Some(&asset.content_hash),
                    expect_previous: None,
                };
                self.decide(policy, &req)?;
                notes.push(format!(
                    "{id}: {verdict} by {importer} on import (the file says by {claimed_by})"
                ));
            }
        }
        Ok(ImportOutcome::Imported(notes))
    }
}

/// What `import_reference_dir` did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Assets added.
    pub imported: u64,
    /// Assets already in the store (left as they are).
    pub present: u64,
    /// Files not imported, with the reason.
    pub problems: Vec<String>,
    /// What happened to review states the files claimed.
    pub notes: Vec<String>,
}

enum ImportOutcome {
    Imported(Vec<String>),
    Present,
}

/// "12 s ago", "3 min ago", … for a decision time (its text when it does not parse).
fn ago(at: &str) -> String {
    match Timestamp::parse(at) {
        Ok(t) => {
            let secs = (Timestamp::now().utc() - t.utc()).num_seconds().max(0);
            match secs {
                0..=119 => format!("{secs} s ago"),
                120..=7199 => format!("{} min ago", secs / 60),
                7200..=172_799 => format!("{} h ago", secs / 3600),
                _ => format!("{} days ago", secs / 86_400),
            }
        }
        Err(_) => "earlier".to_owned(),
    }
}

/// The columns of a review decision, in the order [`decision_row`] reads them.
const DECISION_COLS: &str =
    "seq, asset_id, content_hash, decision, reason, note, reviewer, decided_at, prev_hash, record_hash";

fn decision_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReviewDecision> {
    Ok(ReviewDecision {
        seq: r.get(0)?,
        asset_id: r.get(1)?,
        content_hash: r.get(2)?,
        decision: r.get(3)?,
        reason: r.get(4)?,
        note: r.get(5)?,
        reviewer: r.get(6)?,
        decided_at: r.get(7)?,
        prev_hash: r.get(8)?,
        record_hash: r.get(9)?,
    })
}
