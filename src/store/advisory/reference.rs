//! The reference's advisory asset store, both ways: decisions written back into the asset
//! files an asset was imported from (or exported to), and rmos assets exported into that
//! store's layout (`YYYY/MM/DD/<asset_id>.json` + `<asset_id>_content.<ext>`).
//!
//! The reference's store (`advisory/store.py`) writes each file whole with pydantic's
//! `model_dump_json(indent=2)`: the model's keys in its order, two-space indent, UTF-8 text
//! (no `\u` escapes), no final newline — which is what serde_json's pretty printer writes
//! (numbers keep their text, the crate reads them with arbitrary precision). Its files are
//! read with `model_validate_json` (unknown keys ignored), found by id in any date folder.
//!
//! The decision chain is the record. A file holds a copy of the newest decision's review
//! fields; a link row per asset and store folder remembers the review fields rmos last read
//! or wrote there, so a review recorded there since (by the reference) is told apart from
//! rmos's own and never overwritten.

use super::*;
use serde::Deserialize;

/// The reference model's fields (`advisory/schemas.py`, `AdvisoryAsset`), in its order.
pub(super) const MODEL_KEYS: [&str; 31] = [
    "asset_id",
    "asset_type",
    "created_at_utc",
    "source",
    "provider",
    "model",
    "request_id",
    "provider_request_id",
    "prompt",
    "prompt_hash",
    "content_hash",
    "content_uri",
    "content_size_bytes",
    "image_width",
    "image_height",
    "image_format",
    "suggestion_data",
    "confidence",
    "warnings",
    "generation_time_ms",
    "cost_usd",
    "reviewed",
    "approved_for_workflow",
    "reviewed_by",
    "reviewed_at_utc",
    "review_note",
    "rejection_reason",
    "rating",
    "is_favorite",
    "review_request_id",
    "meta",
];

/// The review fields of a reference asset file, in the model's order.
pub const REVIEW_KEYS: [&str; 6] = [
    "reviewed",
    "approved_for_workflow",
    "reviewed_by",
    "reviewed_at_utc",
    "review_note",
    "rejection_reason",
];

/// The reference's `source` values (a `Literal` in its model).
const SOURCES: [&str; 3] = ["ai_graphics", "ai_analysis", "ai_suggestion"];

/// What a reference asset file said about its review when a decision was imported from
/// it: kept with the decision, marked as imported, exactly as the file states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedReview {
    /// The file, as it was imported.
    pub file: String,
    /// `reviewed_by` (`None`: the file names no reviewer).
    pub reviewed_by: Option<String>,
    /// `reviewed_at_utc` as the file writes it (`None`: no review time).
    pub reviewed_at_utc: Option<String>,
    /// `rejection_reason`, free text as the reference allows.
    pub rejection_reason: Option<String>,
    pub review_note: Option<String>,
}

/// A reference asset file an asset is linked to, and whether it holds the newest decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceFile {
    pub path: PathBuf,
    /// The newest decision the file holds (`None`: none yet).
    pub synced_seq: Option<i64>,
    /// Why the file does not hold the newest decision (`None`: it does).
    pub error: Option<String>,
}

/// What `export` did.
#[derive(Debug, Default, Serialize)]
pub struct ExportReport {
    /// Files written (new, or brought up to date).
    pub written: Vec<String>,
    /// Assets whose file already said what rmos would write.
    pub unchanged: u64,
    /// The reference's attachment store the content went into (`None`: not asked for).
    pub blob_store: Option<String>,
    /// Blobs created there (`<root>/ab/cd/<sha256>`).
    pub blobs_written: Vec<String>,
    /// Assets whose blob was already there with the right bytes.
    pub blobs_present: u64,
    /// Assets not exported (or whose blob was not), with the reason and what to do.
    pub problems: Vec<String>,
}

/// One link row.
pub(super) struct Link {
    pub(super) root: PathBuf,
    pub(super) rel: String,
    pub(super) review: Value,
    pub(super) synced_seq: Option<i64>,
    pub(super) error: Option<String>,
}

impl Link {
    fn path(&self) -> PathBuf {
        self.root.join(&self.rel)
    }
}

/// The six review fields of a file (missing ones as the model's defaults), with the review
/// time normalized so the same instant written differently compares equal.
pub(super) fn review_fields(doc: &Value) -> Value {
    let mut m = Map::new();
    for k in REVIEW_KEYS {
        let v = doc.get(k).cloned().unwrap_or(Value::Null);
        let v = match (k, v) {
            ("reviewed" | "approved_for_workflow", Value::Null) => Value::Bool(false),
            ("reviewed_at_utc", Value::String(s)) => {
                Value::String(Timestamp::parse(&s).map(|t| t.to_pydantic()).unwrap_or(s))
            }
            (_, v) => v,
        };
        m.insert(k.to_owned(), v);
    }
    Value::Object(m)
}

/// "approved by "jon" at …" for messages.
fn describe_review(r: &Value) -> String {
    if r["reviewed"] != true {
        return "not reviewed".into();
    }
    let verdict = if r["approved_for_workflow"] == true {
        "approved"
    } else {
        "rejected"
    };
    let by = r["reviewed_by"]
        .as_str()
        .map(|b| format!(" by {:?}", crate::text::sanitize(b)))
        .unwrap_or_default();
    let at = r["reviewed_at_utc"]
        .as_str()
        .map(|t| format!(" at {}", crate::text::sanitize(t)))
        .unwrap_or_default();
    format!("{verdict}{by}{at}")
}

/// The reference's file text for a document (pydantic's `model_dump_json(indent=2)`).
pub(super) fn file_text(doc: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(doc).expect("JSON values serialize")
}

/// `YYYY/MM/DD` of a `created_at_utc` (the reference partitions by the datetime's own date).
fn date_partition(created_at: &str) -> Option<String> {
    let t = Timestamp::parse(created_at).ok()?.to_pydantic();
    let (y, rest) = t.split_once('-')?;
    let (m, rest) = rest.split_once('-')?;
    let d = rest.get(..2)?;
    Some(format!("{y}/{m}/{d}"))
}

impl AdvisoryStore {
    pub(super) fn links(&self, asset_id: &str) -> Result<Vec<Link>, AdvisoryError> {
        let mut stmt = self.conn.prepare(
            "SELECT root, rel_path, review_json, synced_seq, write_back_error FROM advisory_reference_files WHERE asset_id = ?1 ORDER BY root",
        )?;
        let rows = stmt.query_map([asset_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (root, rel, review, synced_seq, error) = row?;
            out.push(Link {
                root: PathBuf::from(root),
                rel,
                review: serde_json::from_str(&review).unwrap_or(Value::Null),
                synced_seq,
                error,
            });
        }
        Ok(out)
    }

    /// Record (or update) the link of an asset to a reference file and what it now says.
    pub(super) fn set_link(
        &self,
        asset_id: &str,
        root: &Path,
        rel: &str,
        review: &Value,
        synced_seq: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), AdvisoryError> {
        self.conn.execute(
            "INSERT INTO advisory_reference_files (asset_id, root, rel_path, review_json, synced_seq, write_back_error, synced_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (asset_id, root) DO UPDATE SET rel_path = ?3, review_json = ?4, synced_seq = ?5,
               write_back_error = ?6, synced_at = ?7",
            params![
                asset_id,
                root.to_string_lossy(),
                rel,
                canonical_json(review),
                synced_seq,
                error,
                Timestamp::now().to_pydantic()
            ],
        )?;
        Ok(())
    }

    fn set_link_error(
        &self,
        asset_id: &str,
        root: &Path,
        error: &str,
    ) -> Result<(), AdvisoryError> {
        self.conn.execute(
            "UPDATE advisory_reference_files SET write_back_error = ?3 WHERE asset_id = ?1 AND root = ?2",
            params![asset_id, root.to_string_lossy(), error],
        )?;
        Ok(())
    }

    /// The reference asset files an asset is linked to, with their sync state.
    pub fn reference_files(&self, asset_id: &str) -> Result<Vec<ReferenceFile>, AdvisoryError> {
        let mut stmt = self.conn.prepare(
            "SELECT root, rel_path, synced_seq, write_back_error FROM advisory_reference_files WHERE asset_id = ?1 ORDER BY root",
        )?;
        let rows = stmt.query_map([asset_id], |r| {
            Ok(ReferenceFile {
                path: PathBuf::from(r.get::<_, String>(0)?).join(r.get::<_, String>(1)?),
                synced_seq: r.get(2)?,
                error: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The review fields a reference file should hold for this asset: its newest decision
    /// (an imported one as its file stated it), or none. With the decision's seq.
    pub(super) fn target_review(
        &self,
        asset: &AdvisoryAsset,
    ) -> Result<(Value, Option<i64>), AdvisoryError> {
        let newest = self.history(&asset.asset_id)?.pop();
        let Some(d) = newest.filter(|d| d.content_hash == asset.content_hash) else {
            return Ok((review_fields(&json!({})), None));
        };
        let approved = d.decision == "approved";
        let doc = match &d.imported {
            Some(i) => json!({
                "reviewed": true, "approved_for_workflow": approved,
                "reviewed_by": i.reviewed_by, "reviewed_at_utc": i.reviewed_at_utc,
                "review_note": i.review_note, "rejection_reason": i.rejection_reason,
            }),
            None => json!({
                "reviewed": true, "approved_for_workflow": approved,
                "reviewed_by": d.reviewer, "reviewed_at_utc": d.decided_at,
                "review_note": d.note, "rejection_reason": d.reason,
            }),
        };
        Ok((review_fields(&doc), Some(d.seq)))
    }

    /// Read a reference asset file as a JSON object.
    fn read_doc(path: &Path) -> Result<Value, String> {
        let bytes = durable::read_bounded(path)
            .map_err(|e| format!("cannot read it: {e}{}", crate::advice::io(&e)))?;
        // What parsing it would cost in memory is bounded before it is parsed.
        crate::fsio::read::check_json_budget(&bytes).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
            format!(
                "it is not JSON: {}",
                crate::store::runs::describe_json_error(&e)
            )
        })?;
        if !v.is_object() {
            return Err("it is not a JSON object".into());
        }
        Ok(v)
    }

    /// Refuse a decision when a linked file records a review made there since rmos last
    /// read or wrote it. A file that cannot be read does not stop the decision (writing it
    /// back fails afterwards, and says so).
    pub(super) fn refuse_if_reviewed_there(&self, asset_id: &str) -> Result<(), AdvisoryError> {
        for link in self.links(asset_id)? {
            let Ok(doc) = Self::read_doc(&link.path()) else {
                continue;
            };
            let now = review_fields(&doc);
            if now != link.review {
                return Err(AdvisoryError::Refused(format!(
                    "the reference's file {} now says {} (it said {} when rmos last synced it): nothing was recorded; run `rmos advisory import {}` to bring that review in, then decide again",
                    crate::text::sanitize(&link.path().display().to_string()),
                    describe_review(&now),
                    describe_review(&link.review),
                    link.root.display()
                )));
            }
        }
        Ok(())
    }

    /// Bring one linked file in line with the chain. `Ok(true)`: written, `Ok(false)`: it
    /// already said so. Refuses (never overwrites) a file whose review changed there since
    /// rmos last synced it, or that is about other content.
    fn sync_link(
        &self,
        asset: &AdvisoryAsset,
        link: &Link,
        target: &Value,
        seq: Option<i64>,
    ) -> Result<bool, String> {
        let path = link.path();
        let mut doc = Self::read_doc(&path)?;
        if doc.get("asset_id").and_then(Value::as_str) != Some(asset.asset_id.as_str()) {
            return Err("its asset_id is not this asset's".into());
        }
        let claimed = doc
            .get("content_hash")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !claimed.eq_ignore_ascii_case(&asset.content_hash) {
            return Err(format!(
                "its content_hash {} is not the content rmos holds ({}): the reference replaced the content; rmos keeps one content per asset id",
                crate::text::shorten(&crate::text::sanitize(claimed), 80),
                asset.content_hash
            ));
        }
        let now = review_fields(&doc);
        if now == *target {
            self.set_link(&asset.asset_id, &link.root, &link.rel, &now, seq, None)
                .map_err(|e| e.to_string())?;
            return Ok(false);
        }
        if now != link.review {
            return Err(format!(
                "it now says {} (it said {} when rmos last synced it): the reference recorded a review there; nothing was overwritten. Run `rmos advisory import {}` to bring it in (then decide again if you disagree)",
                describe_review(&now),
                describe_review(&link.review),
                link.root.display()
            ));
        }
        // Every other key stays as the file has it (and where it is); review keys the file
        // lacks are added.
        let obj = doc.as_object_mut().expect("checked to be an object");
        for k in REVIEW_KEYS {
            let v = target[k].clone();
            match obj.get_mut(k) {
                Some(slot) => {
                    // The reference's own time text for an unchanged instant is kept.
                    if !(k == "reviewed_at_utc" && review_fields(&json!({k: slot.clone()}))[k] == v)
                    {
                        *slot = v;
                    }
                }
                None => {
                    obj.insert(k.to_owned(), v);
                }
            }
        }
        self.replace_file(&link.root, &path, &file_text(&doc))
            .map_err(|e| e.to_string())?;
        self.set_link(&asset.asset_id, &link.root, &link.rel, target, seq, None)
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Atomically replace (or create) a file of the reference's store: staged and fsynced
    /// in its own folder (a dot-name the reference's `adv_*.json` listing skips), renamed
    /// over, the folder fsynced.
    fn replace_file(&self, root: &Path, path: &Path, bytes: &[u8]) -> Result<(), AdvisoryError> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let io = |op: &'static str| {
            let path = path.to_path_buf();
            move |source| AdvisoryError::Io { op, path, source }
        };
        // No folder between the store's root and the file may be a symbolic link: the
        // write would land outside the store.
        durable::refuse_links_below(root, dir).map_err(io("write in"))?;
        durable::ensure_dir(dir).map_err(io("create the folder of"))?;
        durable::refuse_links_below(root, path).map_err(io("replace"))?;
        let staged = durable::stage(
            dir,
            &path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes,
        )
        .map_err(|e| match e {
            CreateError::Io { op, path, source } => AdvisoryError::Io { op, path, source },
            CreateError::Exists => AdvisoryError::Io {
                op: "stage",
                path: path.to_path_buf(),
                source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            },
        })?;
        staged.replace(path).map_err(io("replace"))
    }

    /// The lock rmos processes take around reading and rewriting reference asset files.
    fn reference_lock(&self) -> Result<durable::FileLock, AdvisoryError> {
        let lock_path = self.data_dir.join("advisory").join("reference_files.lock");
        self.refuse_links(std::slice::from_ref(&lock_path))?;
        durable::FileLock::acquire(&lock_path).map_err(|source| AdvisoryError::Io {
            op: "lock",
            path: lock_path,
            source,
        })
    }

    /// Write the asset's newest decision into every reference file it is linked to; what
    /// fails is recorded on the link (`rmos advisory export` retries) and returned.
    pub(super) fn write_back(&self, asset_id: &str) -> Vec<ReferenceFile> {
        let result = (|| -> Result<Vec<ReferenceFile>, AdvisoryError> {
            let links = self.links(asset_id)?;
            if links.is_empty() {
                return Ok(Vec::new());
            }
            let _lock = self.reference_lock()?;
            let asset = self.get(asset_id)?;
            let (target, seq) = self.target_review(&asset)?;
            let mut out = Vec::new();
            for link in &links {
                let error = match self.sync_link(&asset, link, &target, seq) {
                    Ok(_) => None,
                    Err(why) => {
                        let msg = format!(
                            "the decision is recorded in rmos, but {} was not updated: {why}. When that is resolved, `rmos advisory export --asset {asset_id} --to {}` writes it",
                            link.path().display(),
                            link.root.display()
                        );
                        self.set_link_error(asset_id, &link.root, &msg)?;
                        Some(msg)
                    }
                };
                out.push(ReferenceFile {
                    path: link.path(),
                    synced_seq: if error.is_none() { seq } else { None },
                    error,
                });
            }
            Ok(out)
        })();
        match result {
            Ok(v) => v,
            Err(e) => vec![ReferenceFile {
                path: self.data_dir.join("advisory"),
                synced_seq: None,
                error: Some(format!(
                    "the decision is recorded in rmos, but the reference's files were not updated: {e}. `rmos advisory export --asset {asset_id}` writes them"
                )),
            }],
        }
    }

    /// Export assets into the reference's asset store at `root` (`ids`: these, else all):
    /// a linked file is brought in line with the chain as a decision's write-back does; an
    /// asset without a file there gets one, with its content file, in the reference's
    /// layout. With `blobs`, each asset's content also goes into the reference's
    /// content-addressed attachment store there (its blob browser's), under its SHA-256.
    /// Running it again writes nothing new.
    pub fn export_reference(
        &mut self,
        ids: Option<&[String]>,
        root: &Path,
        blobs: Option<&Path>,
    ) -> Result<ExportReport, AdvisoryError> {
        self.writable()?;
        // One name per store folder, however it is reached (the link rows are keyed by it).
        let root = durable::ensure_dir(root)
            .and_then(|()| root.canonicalize())
            .map_err(|source| AdvisoryError::Io {
                op: "open the reference asset store",
                path: root.to_path_buf(),
                source,
            })?;
        let assets = match ids {
            Some(ids) => ids
                .iter()
                .map(|id| self.get(id))
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                let mut all = self.list(None, usize::MAX >> 1)?;
                all.sort_by(|a, b| a.asset_id.cmp(&b.asset_id));
                all
            }
        };
        let _lock = self.reference_lock()?;
        let mut report = ExportReport {
            blob_store: blobs.map(|b| b.display().to_string()),
            ..ExportReport::default()
        };
        for asset in &assets {
            if let Some(blobs) = blobs {
                let put = self
                    .content(asset)
                    .map_err(|e| e.to_string())
                    .and_then(|bytes| attachments::put_blob(blobs, &asset.content_hash, &bytes));
                match put {
                    Ok(attachments::Blob::Written(p)) => {
                        report.blobs_written.push(p.display().to_string())
                    }
                    Ok(attachments::Blob::Present) => report.blobs_present += 1,
                    Err(why) => report
                        .problems
                        .push(format!("{} (attachment store): {why}", asset.asset_id)),
                }
            }
            match self.export_one(asset, &root, ids.is_some()) {
                Ok(Some(path)) => report.written.push(path.display().to_string()),
                Ok(None) => report.unchanged += 1,
                Err(why) => {
                    report.problems.push(format!("{}: {why}", asset.asset_id));
                }
            }
        }
        Ok(report)
    }

    /// `named`: the asset was asked for by id (a linked file that is gone is written anew;
    /// with `--all` it is reported, since the reference may have deleted the asset).
    fn export_one(
        &self,
        asset: &AdvisoryAsset,
        root: &Path,
        named: bool,
    ) -> Result<Option<PathBuf>, String> {
        let (target, seq) = self.target_review(asset).map_err(|e| e.to_string())?;
        let links = self.links(&asset.asset_id).map_err(|e| e.to_string())?;
        let gone = |l: &Link| matches!(std::fs::symlink_metadata(l.path()), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        if let Some(link) = links.iter().find(|l| l.root == root) {
            let path = link.path();
            if gone(link) {
                if !named {
                    let msg = format!(
                        "{} is gone from the reference's store (deleted there?): `rmos advisory export --asset {} --to {}` writes it again",
                        path.display(),
                        asset.asset_id,
                        root.display()
                    );
                    let _ = self.set_link_error(&asset.asset_id, root, &msg);
                    return Err(msg);
                }
                return self.export_new(asset, root, &target, seq);
            }
            return match self.sync_link(asset, link, &target, seq) {
                Ok(true) => Ok(Some(path)),
                Ok(false) => Ok(None),
                Err(why) => {
                    let msg = format!("{}: {why}", path.display());
                    let _ = self.set_link_error(&asset.asset_id, root, &msg);
                    Err(msg)
                }
            };
        }
        self.export_new(asset, root, &target, seq)
    }

    /// Write an asset that has no file in the store at `root` (asset file and content file,
    /// both created, never replaced) and link it.
    fn export_new(
        &self,
        asset: &AdvisoryAsset,
        root: &Path,
        target: &Value,
        seq: Option<i64>,
    ) -> Result<Option<PathBuf>, String> {
        let partition = date_partition(&asset.created_at).ok_or_else(|| {
            format!(
                "its created time {:?} is not a timestamp the reference can file",
                asset.created_at
            )
        })?;
        let rel = format!("{partition}/{}.json", asset.asset_id);
        let path = root.join(&rel);
        let content = self.content(asset).map_err(|e| e.to_string())?;
        let doc = self
            .reference_doc(asset, &partition, target)
            .map_err(|e| e.to_string())?;
        match std::fs::symlink_metadata(&path) {
            Ok(_) => {
                // A file for this id is there, written by someone else: adopt it only when
                // it already says what rmos would write about the same content.
                let there =
                    Self::read_doc(&path).map_err(|w| format!("{}: {w}", path.display()))?;
                let same_content = there.get("content_hash").and_then(Value::as_str)
                    == Some(asset.content_hash.as_str());
                if !same_content || review_fields(&there) != *target {
                    return Err(format!(
                        "{} exists and says {} about {}: it was not written by rmos for this asset; import it (`rmos advisory import {}`) or move it away",
                        path.display(),
                        describe_review(&review_fields(&there)),
                        if same_content { "the same content" } else { "other content" },
                        root.display()
                    ));
                }
                self.set_link(&asset.asset_id, root, &rel, target, seq, None)
                    .map_err(|e| e.to_string())?;
                return Ok(None);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot look at {}: {e}", path.display())),
        }
        // The content first, create-only: the asset file names it.
        let content_rel = doc["content_uri"].as_str().expect("set above").to_owned();
        let content_path = root.join(&content_rel);
        match durable::read_bounded(&content_path) {
            Ok(bytes) if sha256_bytes(&bytes) == asset.content_hash => {}
            Ok(_) => {
                return Err(format!(
                    "{} exists with other bytes: move it away and export again",
                    content_path.display()
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = content_path.parent().unwrap_or(root);
                durable::refuse_links_below(root, dir)
                    .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
                durable::create_new(dir, &content_path, &content).map_err(|e| match e {
                    CreateError::Exists => format!(
                        "{} appeared meanwhile: export again",
                        content_path.display()
                    ),
                    CreateError::Io { op, path, source } => {
                        format!("cannot {op} {}: {source}", path.display())
                    }
                })?;
            }
            Err(e) => return Err(format!("cannot read {}: {e}", content_path.display())),
        }
        let dir = path.parent().unwrap_or(root);
        durable::refuse_links_below(root, dir)
            .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
        durable::create_new(dir, &path, &file_text(&doc)).map_err(|e| match e {
            CreateError::Exists => format!("{} appeared meanwhile: export again", path.display()),
            CreateError::Io { op, path, source } => {
                format!("cannot {op} {}: {source}", path.display())
            }
        })?;
        self.set_link(&asset.asset_id, root, &rel, target, seq, None)
            .map_err(|e| e.to_string())?;
        Ok(Some(path))
    }

    /// An asset as the reference's model holds it, in its key order. What the model cannot
    /// hold (a type or source it lacks, the run, the MIME type) goes under `meta.rmos`, which
    /// `advisory import` reads back.
    fn reference_doc(
        &self,
        asset: &AdvisoryAsset,
        partition: &str,
        review: &Value,
    ) -> Result<Value, AdvisoryError> {
        let extras = self.extras(&asset.asset_id)?;
        let mut rmos = Map::new();
        let asset_type = match asset.asset_type {
            AssetType::Image => "image",
            AssetType::Suggestion => "suggestion",
            AssetType::Analysis => "analysis",
            AssetType::Pattern => "pattern",
            AssetType::Explanation => {
                rmos.insert("asset_type".into(), json!("EXPLANATION"));
                "analysis"
            }
            AssetType::Validation => {
                rmos.insert("asset_type".into(), json!("VALIDATION"));
                "suggestion"
            }
        };
        let source = if SOURCES.contains(&asset.source.as_str()) {
            asset.source.clone()
        } else {
            rmos.insert("source".into(), json!(asset.source));
            match asset.asset_type {
                AssetType::Image => "ai_graphics",
                AssetType::Explanation | AssetType::Analysis => "ai_analysis",
                _ => "ai_suggestion",
            }
            .to_owned()
        };
        if let Some(r) = &asset.run_id {
            rmos.insert("run_id".into(), json!(r));
        }
        rmos.insert("mime".into(), json!(asset.mime));
        let image_format = match asset.mime.as_str() {
            "image/png" => Some("png"),
            "image/jpeg" => Some("jpeg"),
            "image/gif" => Some("gif"),
            _ => None,
        };
        let content_rel = format!(
            "{partition}/{}_content.{}",
            asset.asset_id,
            image_format.unwrap_or("bin")
        );
        let mut meta = extras.meta.clone();
        meta.insert("rmos".into(), Value::Object(rmos));
        let suggestion = asset.suggestion_data.clone().filter(Value::is_object);
        let doc = json!({
            "asset_id": asset.asset_id,
            "asset_type": asset_type,
            "created_at_utc": Timestamp::parse(&asset.created_at).map(|t| t.to_pydantic()).unwrap_or_else(|_| asset.created_at.clone()),
            "source": source,
            "provider": asset.provider.clone().unwrap_or_default(),
            "model": asset.model.clone().unwrap_or_default(),
            "request_id": asset.request_id,
            "provider_request_id": null,
            "prompt": asset.prompt.clone().unwrap_or_default(),
            "prompt_hash": asset.prompt_hash,
            "content_hash": asset.content_hash,
            "content_uri": content_rel,
            "content_size_bytes": asset.content_size,
            "image_width": asset.image_width,
            "image_height": asset.image_height,
            "image_format": image_format,
            "suggestion_data": suggestion,
            "confidence": asset.confidence,
            "warnings": asset.warnings,
            "generation_time_ms": null,
            "cost_usd": extras.cost_usd,
            "reviewed": review["reviewed"],
            "approved_for_workflow": review["approved_for_workflow"],
            "reviewed_by": review["reviewed_by"],
            "reviewed_at_utc": review["reviewed_at_utc"],
            "review_note": review["review_note"],
            "rejection_reason": review["rejection_reason"],
            "rating": extras.rating,
            "is_favorite": extras.is_favorite,
            "review_request_id": null,
            "meta": meta,
        });
        // json! keeps insertion order (preserve_order); the model's order is this one.
        debug_assert!(doc
            .as_object()
            .is_some_and(|o| o.keys().map(String::as_str).eq(MODEL_KEYS)));
        Ok(doc)
    }
}
