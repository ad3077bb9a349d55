//! Rosette design snapshots (`art_studio/snapshots/<id>.json`, REFERENCE.md §8.1): the
//! files and their lock. Exporting and importing (which score the design and record a
//! snapshot run) is `scoring::snapshots`; CAM backups are `store::backups`.
//!
//! Ids are validated exactly as the reference validates snapshot ids, so no id can name a
//! file outside its folder. Every write is atomic (staged, fsynced, renamed) and runs under
//! a cross-process lock; creating never replaces an existing file (the reference silently
//! overwrites a snapshot with the same id and a backup written in the same second).

use crate::domain::design::RosetteParamSpec;
use crate::domain::Timestamp;
use crate::fsio::durable::{self, CreateError, FileLock};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Errors of the snapshot and backup stores.
#[derive(Debug, thiserror::Error)]
pub enum FileStoreError {
    #[error("{0}")]
    InvalidId(String),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id} already exists: it is never overwritten — choose another id, or delete it first")]
    Exists { what: &'static str, id: String },
    #[error("{what} {id} is not valid: {reason}")]
    Invalid {
        what: &'static str,
        id: String,
        reason: String,
    },
    #[error("cannot {op} {what} {id}: {source}{}", crate::advice::io(.source))]
    Io {
        op: &'static str,
        what: &'static str,
        id: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not record the snapshot run: {0}")]
    Run(String),
}

/// The reference's `validate_snapshot_id`: returns the stripped id or the reference's
/// exact error text.
pub fn validate_snapshot_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err("snapshot_id is required".into());
    }
    if id.chars().count() > 64 {
        return Err("snapshot_id too long (max 64)".into());
    }
    if id.contains(['/', '\\']) {
        return Err("invalid snapshot_id".into());
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("invalid snapshot_id (allowed: a-z A-Z 0-9 _ -)".into());
    }
    Ok(id.to_owned())
}

/// A new snapshot id in the reference's form (`snap_` + 12 hex).
pub fn new_snapshot_id() -> String {
    format!("snap_{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Snapshot metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SnapshotMetadata {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

/// A stored snapshot (`RosetteDesignSnapshot`), fields in the reference's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub snapshot_id: String,
    pub design_fingerprint: String,
    pub created_at_utc: String,
    pub design: Value,
    #[serde(default)]
    pub feasibility: Option<Map<String, Value>>,
    #[serde(default)]
    pub metadata: SnapshotMetadata,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub baseline: bool,
}

impl Snapshot {
    /// A new snapshot of `spec`, created now (not yet recorded by a run, not the baseline).
    pub fn new(
        id: String,
        spec: &RosetteParamSpec,
        feasibility: Option<Map<String, Value>>,
        metadata: SnapshotMetadata,
    ) -> Snapshot {
        Snapshot {
            snapshot_id: id,
            design_fingerprint: spec.fingerprint(),
            created_at_utc: Timestamp::now().to_isoformat(),
            design: spec.to_json(),
            feasibility,
            metadata,
            run_id: None,
            baseline: false,
        }
    }

    /// Check the id, the design and the metadata limits; returns the parsed design.
    pub fn validate(&self) -> Result<RosetteParamSpec, String> {
        validate_snapshot_id(&self.snapshot_id)?;
        let Value::Object(m) = &self.design else {
            return Err("design must be an object".into());
        };
        let spec = RosetteParamSpec::from_map(m).map_err(|e| e.to_string())?;
        if let Some(n) = &self.metadata.notes {
            if n.chars().count() > 4096 {
                return Err("metadata.notes is longer than 4096 characters".into());
            }
        }
        Ok(spec)
    }
}

/// What exporting or importing a snapshot returns (`scoring::snapshots`).
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotWrite {
    pub snapshot: Snapshot,
    pub run_id: Option<String>,
    pub warnings: Vec<String>,
}

/// The snapshot store.
#[derive(Debug, Clone)]
pub struct SnapshotStore {
    dir: PathBuf,
}

const SNAPSHOT: &str = "snapshot";

/// The cross-process lock of a store folder (`<dir>/.lock`).
pub(crate) fn folder_lock(dir: &Path, what: &'static str) -> Result<FileLock, FileStoreError> {
    FileLock::acquire(&dir.join(".lock")).map_err(|source| FileStoreError::Io {
        op: "lock",
        what,
        id: String::new(),
        source,
    })
}

fn pretty(v: &impl Serialize) -> Vec<u8> {
    let mut value = serde_json::to_value(v).expect("serializable");
    crate::domain::run::pydantic_floats(&mut value);
    serde_json::to_vec_pretty(&value).expect("JSON value")
}

impl SnapshotStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        SnapshotStore { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, id: &str) -> Result<(String, PathBuf), FileStoreError> {
        let id = validate_snapshot_id(id).map_err(FileStoreError::InvalidId)?;
        let p = self.dir.join(format!("{id}.json"));
        Ok((id, p))
    }

    fn lock(&self) -> Result<FileLock, FileStoreError> {
        folder_lock(&self.dir, "snapshots")
    }

    fn staging(&self) -> PathBuf {
        self.dir.join(".staging")
    }

    fn read(&self, id: &str, path: &Path) -> Result<Snapshot, FileStoreError> {
        let bytes = match durable::read_bounded(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FileStoreError::NotFound {
                    what: SNAPSHOT,
                    id: id.to_owned(),
                })
            }
            Err(source) => {
                return Err(FileStoreError::Io {
                    op: "read",
                    what: SNAPSHOT,
                    id: id.to_owned(),
                    source,
                })
            }
        };
        let s: Snapshot = serde_json::from_slice(&bytes).map_err(|e| FileStoreError::Invalid {
            what: SNAPSHOT,
            id: id.to_owned(),
            reason: crate::store::runs::describe_json_error(&e),
        })?;
        s.validate().map_err(|reason| FileStoreError::Invalid {
            what: SNAPSHOT,
            id: id.to_owned(),
            reason,
        })?;
        Ok(s)
    }

    /// Read one snapshot.
    pub fn get(&self, id: &str) -> Result<Snapshot, FileStoreError> {
        let (id, path) = self.path(id)?;
        self.read(&id, &path)
    }

    fn create(&self, s: &Snapshot) -> Result<(), FileStoreError> {
        let (id, path) = self.path(&s.snapshot_id)?;
        durable::create_new(&self.staging(), &path, &pretty(s)).map_err(|e| match e {
            CreateError::Exists => FileStoreError::Exists {
                what: SNAPSHOT,
                id: id.clone(),
            },
            CreateError::Io { source, .. } => FileStoreError::Io {
                op: "write",
                what: SNAPSHOT,
                id: id.clone(),
                source,
            },
        })
    }

    fn replace(&self, s: &Snapshot) -> Result<(), FileStoreError> {
        let (id, path) = self.path(&s.snapshot_id)?;
        let io = |source| FileStoreError::Io {
            op: "write",
            what: SNAPSHOT,
            id: id.clone(),
            source,
        };
        let staged = durable::stage(&self.staging(), &id, &pretty(s)).map_err(|e| match e {
            CreateError::Io { source, .. } => io(source),
            CreateError::Exists => unreachable!("staging names are unique"),
        })?;
        staged.replace(&path).map_err(io)
    }

    /// Under the folder's lock: refuse an existing id, let `record` record what the
    /// snapshot stands for (a snapshot run; its id is kept in the file), then create the
    /// file. Nothing is written when `record` fails.
    pub fn create_new(
        &self,
        mut snap: Snapshot,
        record: impl FnOnce(&Snapshot) -> Result<String, FileStoreError>,
    ) -> Result<Snapshot, FileStoreError> {
        let _lock = self.lock()?;
        let (id, path) = self.path(&snap.snapshot_id)?;
        if path.exists() {
            return Err(FileStoreError::Exists { what: SNAPSHOT, id });
        }
        snap.run_id = Some(record(&snap)?);
        self.create(&snap)?;
        Ok(snap)
    }

    /// Snapshots newest first (by file modification time), optionally with a tag; files
    /// that do not parse are skipped and counted.
    pub fn list(
        &self,
        tag: Option<&str>,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<Snapshot>, usize), FileStoreError> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(source) => {
                return Err(FileStoreError::Io {
                    op: "list",
                    what: "snapshots",
                    id: String::new(),
                    source,
                })
            }
        };
        let mut files: Vec<(i64, String, PathBuf)> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                let stem = name.strip_suffix(".json")?.to_owned();
                let mtime = e
                    .metadata()
                    .map(|m| crate::store::runs::mtime_ns(&m))
                    .unwrap_or(0);
                Some((mtime, stem, e.path()))
            })
            .collect();
        files.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut out = Vec::new();
        let mut invalid = 0;
        for (_, stem, path) in files {
            if validate_snapshot_id(&stem).is_err() {
                invalid += 1;
                continue;
            }
            match self.read(&stem, &path) {
                Ok(s) if tag.is_none_or(|t| s.metadata.tags.iter().any(|x| x == t)) => out.push(s),
                Ok(_) => {}
                Err(_) => invalid += 1,
            }
        }
        Ok((out.into_iter().skip(offset).take(limit).collect(), invalid))
    }

    /// Update metadata fields (each `Some` replaces the field).
    pub fn update_metadata(
        &self,
        id: &str,
        patch: MetadataPatch,
    ) -> Result<Snapshot, FileStoreError> {
        let _lock = self.lock()?;
        let mut s = self.get(id)?;
        if let Some(v) = patch.name {
            s.metadata.name = Some(v);
        }
        if let Some(v) = patch.description {
            s.metadata.description = Some(v);
        }
        if let Some(v) = patch.notes {
            s.metadata.notes = Some(v);
        }
        if let Some(v) = patch.tags {
            s.metadata.tags = v;
        }
        s.validate().map_err(|reason| FileStoreError::Invalid {
            what: SNAPSHOT,
            id: s.snapshot_id.clone(),
            reason,
        })?;
        self.replace(&s)?;
        Ok(s)
    }

    /// Delete a snapshot file.
    pub fn delete(&self, id: &str) -> Result<(), FileStoreError> {
        let _lock = self.lock()?;
        let (id, path) = self.path(id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => {
                let _ = durable::sync_dir(&self.dir);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(FileStoreError::NotFound { what: SNAPSHOT, id })
            }
            Err(source) => Err(FileStoreError::Io {
                op: "delete",
                what: SNAPSHOT,
                id,
                source,
            }),
        }
    }

    /// Make `id` the baseline (clearing any other) or clear it.
    pub fn set_baseline(&self, id: &str, baseline: bool) -> Result<Snapshot, FileStoreError> {
        let _lock = self.lock()?;
        let mut target = self.get(id)?;
        if baseline {
            let (all, _) = self.list(None, usize::MAX, 0)?;
            for mut other in all
                .into_iter()
                .filter(|s| s.baseline && s.snapshot_id != target.snapshot_id)
            {
                other.baseline = false;
                self.replace(&other)?;
            }
        }
        target.baseline = baseline;
        self.replace(&target)?;
        Ok(target)
    }

    /// The current baseline, if any.
    pub fn baseline(&self) -> Result<Option<Snapshot>, FileStoreError> {
        Ok(self
            .list(None, usize::MAX, 0)?
            .0
            .into_iter()
            .find(|s| s.baseline))
    }
}

/// Metadata changes for [`SnapshotStore::update_metadata`].
#[derive(Debug, Clone, Default)]
pub struct MetadataPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub notes: Option<String>,
    pub tags: Option<Vec<String>>,
}
