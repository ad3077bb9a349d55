//! Importing assets (and their review state) from the reference's asset store.

use super::reference::{review_fields, ImportedReview};
use super::*;

impl AdvisoryStore {
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
        // The store folder by one name however it is reached: decisions are written back
        // to the files found here, and a later import is compared with them.
        let dir = &dir.canonicalize().map_err(|source| AdvisoryError::Io {
            op: "open",
            path: dir.to_path_buf(),
            source,
        })?;
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
            match self.import_one(dir, &f, policy, importer, may_decide) {
                Ok(ImportOutcome::Imported(notes)) => {
                    report.imported += 1;
                    report.notes.extend(notes);
                }
                Ok(ImportOutcome::Updated(notes)) => {
                    report.updated += 1;
                    report.notes.extend(notes);
                }
                Ok(ImportOutcome::Present) => report.present += 1,
                Err(e) => report.problems.push(format!("{}: {e}", f.display())),
            }
        }
        Ok(report)
    }
    pub(super) fn import_one(
        &mut self,
        root: &Path,
        file: &Path,
        policy: &ReviewerPolicy,
        importer: &str,
        may_decide: bool,
    ) -> Result<ImportOutcome, AdvisoryError> {
        let bytes = durable::read_bounded(file).map_err(|source| AdvisoryError::Io {
            op: "read",
            path: file.to_path_buf(),
            source,
        })?;
        // What parsing it would cost in memory is bounded before it is parsed.
        crate::fsio::read::check_json_budget(&bytes)
            .map_err(|e| AdvisoryError::Invalid(e.to_string()))?;
        let v: Value = serde_json::from_slice(&bytes)
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
        let rel = file
            .strip_prefix(root)
            .unwrap_or(file)
            .to_string_lossy()
            .into_owned();
        // The reference's review extras, checked before anything is written so a file the
        // reference's model would refuse imports nothing.
        let extras = ImportedExtras::from_file(&v)?;
        if let Ok(existing) = self.get(&id) {
            return self.reimport(
                &existing, root, &rel, file, &v, extras, policy, importer, may_decide,
            );
        }
        // What the reference's model cannot hold, rmos's export keeps under meta.rmos.
        let kept = |k: &str| {
            v.pointer(&format!("/meta/rmos/{k}"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let t = kept("asset_type")
            .or_else(|| s("asset_type"))
            .and_then(|t| AssetType::parse(&t))
            .ok_or_else(|| AdvisoryError::Invalid("unknown asset_type".into()))?;
        let mut found: Vec<std::path::PathBuf> =
            std::fs::read_dir(file.parent().unwrap_or(Path::new(".")))
                .map(|rd| {
                    rd.flatten()
                        .map(|e| e.path())
                        .filter(|p| {
                            p.file_stem().and_then(|x| x.to_str())
                                == Some(&format!("{stem}_content"))
                        })
                        .collect()
                })
                .unwrap_or_default();
        // Which of several content files is the asset's cannot be told: none is taken.
        if found.len() > 1 {
            found.sort();
            return Err(AdvisoryError::Invalid(format!(
                "several content files for {stem}: {}; keep the one the asset's content_hash names",
                found
                    .iter()
                    .map(|p| crate::text::sanitize(&p.display().to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let content_file = found.pop();
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

        let mime = kept("mime").unwrap_or_else(|| {
            match ext.as_str() {
                "png" => "image/png",
                "jpg" | "jpeg" => "image/jpeg",
                "gif" => "image/gif",
                "json" => "application/json",
                _ => "text/plain",
            }
            .to_owned()
        });
        let warnings = v
            .get("warnings")
            .and_then(|w| serde_json::from_value(w.clone()).ok())
            .unwrap_or_default();
        let asset = self.add(NewAsset {
            asset_type: Some(t),
            content,
            mime,
            extension: ext,
            source: kept("source").or_else(|| s("source")),
            provider: s("provider"),
            model: s("model"),
            prompt: s("prompt"),
            request_id: s("request_id"),
            run_id: kept("run_id"),
            confidence: v.get("confidence").and_then(Value::as_f64),
            warnings,
            suggestion_data: v.get("suggestion_data").filter(|d| !d.is_null()).cloned(),
            asset_id: Some(id.clone()),
            created_at: s("created_at_utc").and_then(|c| Timestamp::parse(&c).ok()),
        })?;
        self.conn.execute(
            "UPDATE advisory_assets SET rating = ?2, is_favorite = ?3, cost_usd = ?4, meta_json = ?5 WHERE asset_id = ?1",
            rusqlite::params![
                asset.asset_id,
                extras.rating,
                extras.is_favorite,
                extras.cost_usd,
                Value::Object(extras.meta).to_string()
            ],
        )?;
        // The file as it is now is what rmos last read of it.
        self.set_link(&asset.asset_id, root, &rel, &review_fields(&v), None, None)?;
        let notes = if v.get("reviewed").and_then(Value::as_bool) == Some(true) {
            // A review is taken only when a claimed content_hash ties it to the bytes read
            // from a content file: otherwise the asset comes in, its review does not.
            let refusal = if !may_decide {
                Some(cannot_decide(importer))
            } else if content_file.is_some() && s("content_hash").is_none() {
                Some("the file claims no content_hash tying its review to the content".into())
            } else {
                None
            };
            self.apply_file_review(&asset, file, &v, policy, importer, refusal, true)?
        } else {
            Vec::new()
        };
        Ok(ImportOutcome::Imported(notes))
    }

    /// An asset imported before: bring in what changed in its file since rmos last read or
    /// wrote it (its review, its rating, favourite mark, cost and meta); a file that says
    /// what rmos already holds is left alone.
    #[allow(clippy::too_many_arguments)]
    fn reimport(
        &mut self,
        asset: &AdvisoryAsset,
        root: &Path,
        rel: &str,
        file: &Path,
        v: &Value,
        extras: ImportedExtras,
        policy: &ReviewerPolicy,
        importer: &str,
        may_decide: bool,
    ) -> Result<ImportOutcome, AdvisoryError> {
        let id = &asset.asset_id;
        let claimed = v.get("content_hash").and_then(Value::as_str).unwrap_or("");
        if !claimed.eq_ignore_ascii_case(&asset.content_hash) {
            return Err(AdvisoryError::Invalid(format!(
                "the file's content_hash {} is not that of the content rmos imported for {id} ({}): an asset id keeps one content, so nothing was changed; give the new content a new asset id",
                crate::text::shorten(&crate::text::sanitize(claimed), 80),
                asset.content_hash
            )));
        }
        let mut notes = Vec::new();
        if self.extras(id)? != extras {
            self.conn.execute(
                "UPDATE advisory_assets SET rating = ?2, is_favorite = ?3, cost_usd = ?4, meta_json = ?5 WHERE asset_id = ?1",
                rusqlite::params![id, extras.rating, extras.is_favorite, extras.cost_usd, Value::Object(extras.meta).to_string()],
            )?;
            notes.push(format!(
                "{id}: rating, favourite mark, cost and meta updated from the file"
            ));
        }
        let now = review_fields(v);
        let (target, newest) = self.target_review(asset)?;
        let link = self.links(id)?.into_iter().find(|l| l.root == root);
        let Some(link) = link else {
            // Imported before rmos kept links (or exported elsewhere): the file is taken
            // as in step with the chain from now on; nothing is decided from it.
            self.set_link(id, root, rel, &now, newest, None)?;
            notes.push(format!(
                "{id}: linked to {} (decisions made here are written into it from now on)",
                file.display()
            ));
            return Ok(ImportOutcome::Updated(notes));
        };
        if now == target {
            if link.review != now {
                self.set_link(id, root, rel, &now, newest, None)?;
            }
        } else if now == link.review && link.synced_seq != newest && newest.is_some() {
            // The file is as rmos last synced it and rmos decided since: the file is behind.
            notes.push(format!(
                "{id}: rmos's decision #{} is not in {} yet; `rmos advisory export --asset {id} --to {}` writes it",
                newest.unwrap_or_default(),
                file.display(),
                root.display()
            ));
        } else if now["reviewed"] != true {
            // Cleared in the reference: the chain has no "undecided" record.
            let why = format!(
                "the reference cleared the review in {}; rmos keeps decision #{}: `rmos advisory export --asset {id} --to {}` writes it back",
                file.display(),
                newest.unwrap_or_default(),
                root.display()
            );
            self.set_link(
                id,
                root,
                rel,
                &now,
                None,
                newest.is_some().then_some(why.as_str()),
            )?;
            notes.push(format!(
                "{id}: the file no longer records a review; rmos keeps its decision (a decision cannot be withdrawn, only followed by another), and the next export writes it back"
            ));
        } else {
            // The reference recorded a review rmos does not have: bring it in.
            self.set_link(id, root, rel, &now, link.synced_seq, None)?;
            if newest.is_some() && link.synced_seq != newest {
                notes.push(format!(
                    "{id}: the file's review replaces rmos's decision #{} as the newest (it stays in the history)",
                    newest.unwrap_or_default()
                ));
            }
            let refusal = (!may_decide).then(|| cannot_decide(importer));
            let applied = self.apply_file_review(asset, file, v, policy, importer, refusal, false);
            if applied.is_err() || self.target_review(asset)?.1 == newest {
                // Not brought in (the importer may not decide, or the decision was refused):
                // the file still counts as changed, so a reviewer's import applies it later.
                self.set_link(
                    id,
                    root,
                    rel,
                    &link.review,
                    link.synced_seq,
                    link.error.as_deref(),
                )?;
            }
            notes.extend(applied?);
        }
        Ok(if notes.is_empty() {
            ImportOutcome::Present
        } else {
            ImportOutcome::Updated(notes)
        })
    }

    /// A review recorded in a reference file is a claim by whoever wrote the file. It
    /// becomes a decision only by someone who may decide here, recorded as theirs and
    /// carrying, marked as imported, what the file states (reviewer, time, reason, note);
    /// otherwise the asset keeps its state and the importer is told.
    #[allow(clippy::too_many_arguments)]
    fn apply_file_review(
        &mut self,
        asset: &AdvisoryAsset,
        file: &Path,
        v: &Value,
        policy: &ReviewerPolicy,
        importer: &str,
        refusal: Option<String>,
        fresh: bool,
    ) -> Result<Vec<String>, AdvisoryError> {
        // What the asset is left as when the review cannot be recorded.
        let left = if fresh {
            "imported as pending".to_owned()
        } else {
            format!("left {}", self.get(&asset.asset_id)?.state.as_str())
        };
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = &asset.asset_id;
        let mut notes = Vec::new();
        let approved = v.get("approved_for_workflow").and_then(Value::as_bool) == Some(true);
        let verdict = if approved { "approved" } else { "rejected" };
        // Only what the file states: no reviewer or time is made up for it.
        let claimed_by = match s("reviewed_by") {
            Some(r) => format!("by {r:?}"),
            None => "without naming a reviewer".into(),
        };
        let claimed_at = match s("reviewed_at_utc") {
            Some(t) => format!("at {t:?}"),
            None => "with no review time".into(),
        };
        if let Some(why) = refusal {
            notes.push(format!(
                "{id}: the file says {verdict} {claimed_by} {claimed_at}; {left} because {why}"
            ));
            return Ok(notes);
        }
        let reason = s("rejection_reason")
            .map(|r| r.to_lowercase())
            .filter(|r| REJECTION_REASONS.contains(&r.as_str()))
            .or_else(|| (!approved).then(|| "other".into()));
        let mut note = format!(
            "imported from a reference asset file that says {verdict} {claimed_by} {claimed_at}"
        );
        if let Some(r) = s("rejection_reason") {
            note.push_str(&format!(", reason {r:?}"));
        }
        if let Some(n) = s("review_note") {
            note.push_str(&format!(", note {n:?}"));
        }
        let imported = ImportedReview {
            file: file.display().to_string(),
            reviewed_by: s("reviewed_by"),
            reviewed_at_utc: s("reviewed_at_utc"),
            rejection_reason: s("rejection_reason"),
            review_note: s("review_note"),
        };
        let req = DecisionRequest {
            reviewer: importer,
            asset_id: id,
            approve: approved,
            reason: reason.as_deref(),
            note: Some(&note),
            expect_hash: Some(&asset.content_hash),
            expect_previous: None,
        };
        match self.decide_with(policy, &req, Some(imported)) {
            Ok(d) => {
                notes.push(format!(
                    "{id}: {verdict} by {importer} on import (the file says {verdict} {claimed_by} {claimed_at})"
                ));
                notes.extend(d.written_back.into_iter().filter_map(|w| w.error));
            }
            // The asset is in; a decision that may not be recorded now (one that must be
            // signed, without an agent) leaves it as it was, and says so.
            Err(e @ AdvisoryError::Refused(_)) => notes.push(format!(
                "{id}: the file says {verdict} {claimed_by} {claimed_at}; {left} because {e}"
            )),
            Err(e) => return Err(e),
        }
        Ok(notes)
    }
}

/// What `import_reference_dir` did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    /// Assets added.
    pub imported: u64,
    /// Assets imported before whose file changed since (a review, rating, meta…), brought in.
    pub updated: u64,
    /// Assets already in the store (left as they are).
    pub present: u64,
    /// Files not imported, with the reason.
    pub problems: Vec<String>,
    /// What happened to review states the files claimed.
    pub notes: Vec<String>,
}

pub(super) enum ImportOutcome {
    Imported(Vec<String>),
    Updated(Vec<String>),
    Present,
}

/// Fields of a reference asset file that are not part of its content or review decision:
/// kept as the file has them (`rating` 1–5, `is_favorite`, `cost_usd`, `meta`, with the
/// reference model's bounds, `advisory/schemas.py`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportedExtras {
    pub rating: Option<i64>,
    pub is_favorite: bool,
    pub cost_usd: Option<f64>,
    pub meta: serde_json::Map<String, Value>,
}

impl ImportedExtras {
    fn from_file(v: &Value) -> Result<ImportedExtras, AdvisoryError> {
        let bad = |m: &str| AdvisoryError::Invalid(m.to_owned());
        let rating = match v.get("rating") {
            None | Some(Value::Null) => None,
            Some(r) => match r.as_i64() {
                Some(n) if (1..=5).contains(&n) => Some(n),
                _ => return Err(bad("rating must be a whole number from 1 to 5 (or null)")),
            },
        };
        let is_favorite = match v.get("is_favorite") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("is_favorite must be true or false")),
        };
        let cost_usd = match v.get("cost_usd") {
            None | Some(Value::Null) => None,
            Some(c) => Some(
                c.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad("cost_usd must be a number (or null)"))?,
            ),
        };
        let mut meta = match v.get("meta") {
            None | Some(Value::Null) => serde_json::Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(bad("meta must be an object")),
        };
        // `meta.rmos` is what rmos's export kept of an rmos asset (type, source, MIME type,
        // run): read back into the asset itself, not carried as the asset's meta.
        meta.remove("rmos");
        Ok(ImportedExtras {
            rating,
            is_favorite,
            cost_usd,
            meta,
        })
    }
}

impl AdvisoryStore {
    /// An asset's `rating`, `is_favorite`, `cost_usd` and `meta` (what an import kept).
    pub fn extras(&self, asset_id: &str) -> Result<ImportedExtras, AdvisoryError> {
        let (rating, fav, cost, meta): (Option<i64>, bool, Option<f64>, String) = self.conn.query_row(
            "SELECT rating, is_favorite, cost_usd, meta_json FROM advisory_assets WHERE asset_id = ?1",
            [asset_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        Ok(ImportedExtras {
            rating,
            is_favorite: fav,
            cost_usd: cost,
            meta: serde_json::from_str(&meta).unwrap_or_default(),
        })
    }
}

/// Why an importer's file review is not recorded: they may not decide here.
fn cannot_decide(importer: &str) -> String {
    format!("{importer} may not decide here (a reviewer can import it again)")
}
