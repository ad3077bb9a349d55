//! CAM settings backups (`cam/backups/<name>.json`, REFERENCE.md §8.2): listed by name,
//! written atomically under the folder's lock, never replaced by a second write.

use super::snapshots::{folder_lock, validate_snapshot_id, FileStoreError};
use crate::fsio::durable::{self, CreateError};
use crate::hashing::python_json_dumps_indent2;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

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

    /// Gather CAM settings from `settings_dir` as the reference's `_gather_cam_settings`
    /// does (`services/cam_backup_service.py`): `posts` = the stems of `posts/*.json` in the
    /// folder's listing order (pathlib's glob: case-sensitive, dot-names included), `machines` and
    /// `tools` = the parsed `machines.json` / `tools.json`, `{"error": "parse_failed"}` when
    /// unparsable. A source that does not exist leaves its key out.
    pub fn gather(settings_dir: &Path) -> Value {
        let mut settings = Map::new();
        let posts_dir = settings_dir.join("posts");
        if posts_dir.exists() {
            let posts: Vec<Value> = std::fs::read_dir(&posts_dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .filter_map(|e| {
                            let name = e.file_name().into_string().ok()?;
                            // pathlib's `stem` of ".json" is the whole name.
                            let stem = match name.as_str() {
                                ".json" => ".json",
                                n => n.strip_suffix(".json")?,
                            };
                            Some(Value::String(stem.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            settings.insert("posts".into(), Value::Array(posts));
        }
        for (key, file) in [("machines", "machines.json"), ("tools", "tools.json")] {
            let path = settings_dir.join(file);
            if !path.exists() {
                continue;
            }
            let parsed = durable::read_bounded(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .unwrap_or_else(|| json!({"error": "parse_failed"}));
            settings.insert(key.into(), parsed);
        }
        Value::Object(settings)
    }

    /// Write a backup `cam_settings_<YYYYmmdd_HHMMSS>.json` (a `_2`, `_3`… suffix when that
    /// second is taken — never an overwrite). Returns the name.
    pub fn write(&self, settings: Value) -> Result<BackupEntry, FileStoreError> {
        let now = chrono::Local::now();
        // Python's `datetime.now().isoformat()`: no fraction when the microseconds are 0.
        let timestamp = if now.timestamp_subsec_micros() == 0 {
            now.format("%Y-%m-%dT%H:%M:%S").to_string()
        } else {
            now.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
        };
        let body = json!({"timestamp": timestamp, "version": "1.0", "settings": settings});
        // The reference writes `json.dumps(snapshot, indent=2)`: the same bytes.
        let bytes = python_json_dumps_indent2(&body).into_bytes();
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
