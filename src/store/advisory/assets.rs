//! Asset content: stored under its SHA-256, verified when read back; attaching an
//! approved asset to a run.

use super::*;
use crate::store::runs::ArtifactKey;

impl AdvisoryStore {
    /// Refuse to write where a part of these paths below the data root is a symbolic link.
    pub(super) fn refuse_links(&self, parts: &[PathBuf]) -> Result<(), AdvisoryError> {
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
    pub(super) fn blob_path(&self, rel: &str) -> PathBuf {
        self.data_dir.join(rel)
    }
    /// Store content (create-only, by hash) and register the asset as pending.
    pub fn add(&self, new: NewAsset) -> Result<AdvisoryAsset, AdvisoryError> {
        self.writable()?;
        let p = prepare(new)?;
        let (new, id, asset_type, hash, rel) = (&p.new, &p.id, p.asset_type, &p.hash, &p.rel);
        let (w, h, created, source) = (p.width, p.height, &p.created, &p.source);
        let path = self.blob_path(rel);
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
            return Err(AdvisoryError::Exists(id.clone()));
        }
        self.get(id)
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
        let bytes = crate::fsio::read::read_regular(&path, MAX_ASSET_BYTES).map_err(unreadable)?;
        check_content(asset, &bytes)?;
        Ok(bytes)
    }
    /// Attach an approved asset to a run by writing the reference's advisory link file
    /// next to the run (durably, create-only). Attaching twice is a no-op.
    pub fn attach(
        &self,
        runs: &RunStore,
        asset_id: &str,
        run_id: &str,
    ) -> Result<(ArtifactKey, bool), AdvisoryError> {
        self.writable()?;
        let asset = self.get(asset_id)?;
        attach_gate(self.verify_chain()?, &asset)?;
        self.content(&asset)?;
        write_attach_link(runs, &asset, run_id)
    }
}

/// The gate into a workflow (both databases): the approval is trusted only from an intact
/// decision chain, and only an approved asset passes.
pub(crate) fn attach_gate(
    chain: Result<u64, (i64, String)>,
    asset: &AdvisoryAsset,
) -> Result<(), AdvisoryError> {
    if let Err((seq, why)) = chain {
        return Err(AdvisoryError::Refused(format!(
            "the review decision chain is broken at record {seq} ({why}); no asset is attached until `rmos audit verify` passes"
        )));
    }
    if !asset.approved_for_workflow {
        let id = &asset.asset_id;
        return Err(AdvisoryError::Refused(format!(
            "{id} is {}: only approved assets may enter a workflow (rmos advisory approve {id})",
            asset.state.as_str()
        )));
    }
    Ok(())
}

/// An asset checked and filled in, ready to be stored (both backends).
pub(crate) struct Prepared {
    pub new: NewAsset,
    pub id: String,
    pub asset_type: AssetType,
    pub hash: String,
    /// Where the blob goes below the data root (recorded in every backend).
    pub rel: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub created: String,
    pub source: String,
}

/// Check a new asset and fill in its id, hash, blob path, image size, time and source.
pub(crate) fn prepare(new: NewAsset) -> Result<Prepared, AdvisoryError> {
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
    let id = new
        .asset_id
        .clone()
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
    let (width, height) = match asset_type {
        AssetType::Image => {
            image_size(&new.content).map_or((None, None), |(w, h)| (Some(w), Some(h)))
        }
        _ => (None, None),
    };
    let created = new.created_at.unwrap_or_else(Timestamp::now).to_pydantic();
    let source = new.source.clone().unwrap_or_else(|| match asset_type {
        AssetType::Image => "ai_graphics".into(),
        AssetType::Explanation | AssetType::Analysis => "ai_analysis".into(),
        _ => "ai_suggestion".into(),
    });
    Ok(Prepared {
        new,
        id,
        asset_type,
        hash,
        rel,
        width,
        height,
        created,
        source,
    })
}

/// Check content read back against the asset's hash.
pub(crate) fn check_content(asset: &AdvisoryAsset, bytes: &[u8]) -> Result<(), AdvisoryError> {
    let actual = sha256_bytes(bytes);
    if actual != asset.content_hash {
        return Err(AdvisoryError::Corrupted {
            asset_id: asset.asset_id.clone(),
            detail: format!(
                "stored bytes hash to {actual}, expected {}",
                asset.content_hash
            ),
        });
    }
    Ok(())
}

/// Write the reference's advisory link file for an approved, verified asset next to the
/// run (durably, create-only); attaching twice is a no-op.
pub(crate) fn write_attach_link(
    runs: &RunStore,
    asset: &AdvisoryAsset,
    run_id: &str,
) -> Result<(ArtifactKey, bool), AdvisoryError> {
    // The link names the content by its SHA-256, as the reference's links do: its
    // run-scoped blob browser resolves `advisory_id` in its content-addressed store
    // (`advisory export` puts the bytes there); rmos resolves either key.
    let key_id = asset.content_hash.as_str();
    let (run, path) = runs.get(run_id)?;
    let partition_dir = path
        .parent()
        .expect("artifact files live in a partition")
        .to_path_buf();
    let key = ArtifactKey {
        partition: partition_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        file_name: format!("{}_advisory_{}.json", safe_id(&run.run_id), safe_id(key_id)),
    };
    let link = partition_dir.join(&key.file_name);
    let mut r = AdvisoryInputRef::new(key_id, asset.asset_type.link_kind());
    r.rmos_asset_id = Some(asset.asset_id.clone());
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
        Ok(()) => Ok((key, true)),
        // Linked before: by this asset (a repeat), or by another asset of the same
        // content, which the link file (named by the content) cannot hold twice.
        Err(CreateError::Exists) => {
            let other = std::fs::read(&link)
                .ok()
                .and_then(|b| serde_json::from_slice::<AdvisoryInputRef>(&b).ok())
                .and_then(|r| r.rmos_asset_id)
                .filter(|id| *id != asset.asset_id);
            match other {
                Some(other) => Err(AdvisoryError::Refused(format!(
                    "{} already links this content (SHA-256 {}) as asset {other}: one run links one content once; {} has the same bytes",
                    run.run_id, asset.content_hash, asset.asset_id
                ))),
                None => Ok((key, false)),
            }
        }
        Err(CreateError::Io { op, path, source }) => Err(AdvisoryError::Io { op, path, source }),
    }
}
