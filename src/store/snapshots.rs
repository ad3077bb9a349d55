//! Rosette design snapshots (`art_studio/snapshots/<id>.json`, REFERENCE.md §8.1) and CAM
//! settings backups (`cam/backups/<name>.json`, §8.2).
//!
//! Ids are validated exactly as the reference validates snapshot ids, so no id can name a
//! file outside its folder. Every write is atomic (staged, fsynced, renamed) and runs under
//! a cross-process lock; creating never replaces an existing file (the reference silently
//! overwrites a snapshot with the same id and a backup written in the same second).

use super::durable::{self, CreateError, FileLock};
use crate::domain::Timestamp;
use crate::scoring::design::RosetteParamSpec;
use crate::scoring::feasibility::{art_studio_summary, score_design, ScoreContext};
use crate::scoring::runs::{create_art_studio_snapshot_run, RunOptions};
use crate::store::RunStore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
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
    fn new(
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

    fn validate(&self) -> Result<RosetteParamSpec, String> {
        validate_snapshot_id(&self.snapshot_id)?;
        let Value::Object(m) = &self.design else {
            return Err("design must be an object".into());
        };
        let spec = RosetteParamSpec::from_map(m)?;
        if let Some(n) = &self.metadata.notes {
            if n.chars().count() > 4096 {
                return Err("metadata.notes is longer than 4096 characters".into());
            }
        }
        Ok(spec)
    }
}

/// What `export` and `import` return.
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
fn folder_lock(dir: &Path, what: &'static str) -> Result<FileLock, FileStoreError> {
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

    fn record_run(
        &self,
        runs: &RunStore,
        s: &Snapshot,
        operation: &str,
    ) -> Result<String, FileStoreError> {
        let mut view = Map::new();
        view.insert("snapshot_id".into(), json!(s.snapshot_id));
        view.insert("name".into(), json!(s.metadata.name));
        view.insert("design_fingerprint".into(), json!(s.design_fingerprint));
        view.insert(
            "feasibility".into(),
            s.feasibility
                .clone()
                .map(Value::Object)
                .unwrap_or(Value::Null),
        );
        let mut meta = Map::new();
        meta.insert("operation".into(), json!(operation));
        let opts = RunOptions {
            meta,
            ..Default::default()
        };
        create_art_studio_snapshot_run(runs, &view, "default-vbit", opts)
            .map(|a| a.run_id)
            .map_err(|e| FileStoreError::Run(e.to_string()))
    }

    /// Under the lock: refuse an existing id, record the snapshot run, create the file.
    fn save_new(
        &self,
        runs: &RunStore,
        mut snap: Snapshot,
        operation: &str,
        warnings: Vec<String>,
    ) -> Result<SnapshotWrite, FileStoreError> {
        let _lock = self.lock()?;
        let (id, path) = self.path(&snap.snapshot_id)?;
        if path.exists() {
            return Err(FileStoreError::Exists { what: SNAPSHOT, id });
        }
        snap.run_id = Some(self.record_run(runs, &snap, operation)?);
        self.create(&snap)?;
        Ok(SnapshotWrite {
            run_id: snap.run_id.clone(),
            snapshot: snap,
            warnings,
        })
    }

    /// Export a design as a new snapshot: fingerprint, optional feasibility (the Art Studio
    /// defaults: default-ebony, default-vbit, design_first), a snapshot run, then the file.
    pub fn export(
        &self,
        runs: &RunStore,
        spec: &RosetteParamSpec,
        id: Option<&str>,
        metadata: SnapshotMetadata,
        with_feasibility: bool,
    ) -> Result<SnapshotWrite, FileStoreError> {
        let id = match id {
            Some(i) => validate_snapshot_id(i).map_err(FileStoreError::InvalidId)?,
            None => new_snapshot_id(),
        };
        let feasibility = if with_feasibility {
            let r = score_design(
                &crate::scoring::design::Design::Spec(spec.clone()),
                &ScoreContext::art_studio_defaults(),
                Some("design_first"),
            )
            .map_err(|e| FileStoreError::Run(e.to_string()))?;
            Some(art_studio_summary(&r))
        } else {
            None
        };
        let mut metadata = metadata;
        metadata.source.get_or_insert_with(|| "manual".into());
        let snap = Snapshot::new(id.clone(), spec, feasibility, metadata);
        self.save_new(runs, snap, "export", Vec::new())
    }

    /// Import a snapshot document: a new id when it has none, the fingerprint recomputed
    /// (a mismatch is a warning), `metadata.source = "import"`, a snapshot run.
    pub fn import(&self, runs: &RunStore, doc: &Value) -> Result<SnapshotWrite, FileStoreError> {
        let Value::Object(m) = doc else {
            return Err(FileStoreError::Invalid {
                what: SNAPSHOT,
                id: "(import)".into(),
                reason: "expected a JSON object".into(),
            });
        };
        let invalid = |reason: String| FileStoreError::Invalid {
            what: SNAPSHOT,
            id: "(import)".into(),
            reason,
        };
        let id = match m.get("snapshot_id") {
            None | Some(Value::Null) => new_snapshot_id(),
            Some(Value::String(s)) if s.trim().is_empty() => new_snapshot_id(),
            Some(Value::String(s)) => validate_snapshot_id(s).map_err(FileStoreError::InvalidId)?,
            Some(_) => return Err(invalid("snapshot_id must be a string".into())),
        };
        let Some(Value::Object(design)) = m.get("design") else {
            return Err(invalid("missing design".into()));
        };
        let spec = RosetteParamSpec::from_map(design).map_err(invalid)?;
        let computed = spec.fingerprint();
        let mut warnings = Vec::new();
        if let Some(Value::String(given)) = m.get("design_fingerprint") {
            if *given != computed {
                warnings.push(format!(
                    "Design fingerprint mismatch: expected {given}, computed {computed}. Using computed fingerprint."
                ));
            }
        }
        let mut metadata: SnapshotMetadata = match m.get("metadata") {
            None | Some(Value::Null) => SnapshotMetadata::default(),
            Some(v) => {
                serde_json::from_value(v.clone()).map_err(|e| invalid(format!("metadata: {e}")))?
            }
        };
        metadata.source = Some("import".into());
        let feasibility = match m.get("feasibility") {
            Some(Value::Object(f)) => Some(f.clone()),
            _ => None,
        };
        let snap = Snapshot::new(id.clone(), &spec, feasibility, metadata);
        snap.validate().map_err(invalid)?;
        self.save_new(runs, snap, "import", warnings)
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

// ----------------------------------------------------------------------------------------
// CAM backups

/// A backup listed by name and size (paths are never disclosed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupEntry {
    pub name: String,
    pub bytes: u64,
}

/// Validate a backup name: a snapshot-style id with an optional `.json` suffix.
pub fn validate_backup_name(raw: &str) -> Result<String, String> {
    let stem = raw.trim().strip_suffix(".json").unwrap_or(raw.trim());
    validate_snapshot_id(stem)
        .map(|s| format!("{s}.json"))
        .map_err(|e| e.replace("snapshot_id", "backup name"))
}

/// The CAM settings backup store.
#[derive(Debug, Clone)]
pub struct BackupStore {
    dir: PathBuf,
}

const BACKUP: &str = "backup";

impl BackupStore {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        BackupStore { dir: dir.into() }
    }

    /// Gather CAM settings from `settings_dir` (post-processor names from `posts/`,
    /// `machines.json`, `tools.json`; unparsable files recorded as `{"error": "parse_failed"}`).
    pub fn gather(settings_dir: &Path) -> Value {
        let mut posts: Vec<String> = std::fs::read_dir(settings_dir.join("posts"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.path()
                            .file_stem()
                            .and_then(|s| s.to_str())
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default();
        posts.sort();
        let load = |name: &str| -> Value {
            match durable::read_bounded(&settings_dir.join(name)) {
                Ok(b) => {
                    serde_json::from_slice(&b).unwrap_or_else(|_| json!({"error": "parse_failed"}))
                }
                Err(_) => Value::Null,
            }
        };
        json!({"posts": posts, "machines": load("machines.json"), "tools": load("tools.json")})
    }

    /// Write a backup `cam_settings_<YYYYmmdd_HHMMSS>.json` (a `_2`, `_3`… suffix when that
    /// second is taken — never an overwrite). Returns the name.
    pub fn write(&self, settings: Value) -> Result<BackupEntry, FileStoreError> {
        let now = chrono::Local::now();
        let body = json!({"timestamp": now.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(), "version": "1.0", "settings": settings});
        let bytes = serde_json::to_vec_pretty(&body).expect("JSON value");
        let base = format!("cam_settings_{}", now.format("%Y%m%d_%H%M%S"));
        let _lock = folder_lock(&self.dir, "backups")?;
        for n in 1..1000 {
            let name = if n == 1 {
                format!("{base}.json")
            } else {
                format!("{base}_{n}.json")
            };
            match durable::create_new(&self.dir.join(".staging"), &self.dir.join(&name), &bytes) {
                Ok(()) => {
                    return Ok(BackupEntry {
                        name,
                        bytes: bytes.len() as u64,
                    })
                }
                Err(CreateError::Exists) => continue,
                Err(CreateError::Io { source, .. }) => {
                    return Err(FileStoreError::Io {
                        op: "write",
                        what: BACKUP,
                        id: name,
                        source,
                    })
                }
            }
        }
        Err(FileStoreError::Exists {
            what: BACKUP,
            id: base,
        })
    }

    /// Backups by name, ascending.
    pub fn list(&self) -> Result<Vec<BackupEntry>, FileStoreError> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(FileStoreError::Io {
                    op: "list",
                    what: "backups",
                    id: String::new(),
                    source,
                })
            }
        };
        let mut out: Vec<BackupEntry> = rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                validate_backup_name(&name).ok().filter(|n| *n == name)?;
                Some(BackupEntry {
                    bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                    name,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// A backup's content.
    pub fn show(&self, name: &str) -> Result<Value, FileStoreError> {
        let name = validate_backup_name(name).map_err(FileStoreError::InvalidId)?;
        let bytes = match durable::read_bounded(&self.dir.join(&name)) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FileStoreError::NotFound {
                    what: BACKUP,
                    id: name,
                })
            }
            Err(source) => {
                return Err(FileStoreError::Io {
                    op: "read",
                    what: BACKUP,
                    id: name,
                    source,
                })
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| FileStoreError::Invalid {
            what: BACKUP,
            id: name,
            reason: crate::store::runs::describe_json_error(&e),
        })
    }

    /// Delete a backup.
    pub fn delete(&self, name: &str) -> Result<(), FileStoreError> {
        let name = validate_backup_name(name).map_err(FileStoreError::InvalidId)?;
        let _lock = folder_lock(&self.dir, "backups")?;
        match std::fs::remove_file(self.dir.join(&name)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(FileStoreError::NotFound {
                what: BACKUP,
                id: name,
            }),
            Err(source) => Err(FileStoreError::Io {
                op: "delete",
                what: BACKUP,
                id: name,
                source,
            }),
        }
    }
}
