//! Where the data lives: the data root and the runs directory inside it.
//!
//! Precedence: `--data DIR`, then `RMOS_DATA_DIR`, then `./data`. The runs directory is
//! `<data>/runs/rmos`, or `$RMOS_RUNS_DIR` (as in the reference) when no `--data` was
//! given — so rmos can read a luthiers-toolbox tree in place while its own database stays
//! in the rmos data root. Relative paths are resolved once against the current directory.

use crate::store::RunStore;
use std::path::{Path, PathBuf};

/// Resolved locations of everything rmos reads and writes.
#[derive(Debug, Clone)]
pub struct DataRoot {
    /// The data root (holds `rmos.db`, advisory blobs, snapshots, backups).
    pub data_dir: PathBuf,
    /// The run artifact partitions (`runs/rmos`).
    pub runs_dir: PathBuf,
    /// Rosette snapshots (`art_studio/snapshots`, or `$ART_STUDIO_SNAPSHOTS_DIR`).
    pub snapshots_dir: PathBuf,
    /// CAM settings backups (`cam/backups`, or `$CAM_BACKUP_DIR`).
    pub backups_dir: PathBuf,
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

impl DataRoot {
    /// Resolve from an explicit `--data` (if any) and the environment.
    pub fn resolve(cli_data: Option<&Path>) -> DataRoot {
        match cli_data {
            Some(d) => DataRoot::at(d),
            None => {
                let data_dir =
                    absolute(&env_path("RMOS_DATA_DIR").unwrap_or_else(|| PathBuf::from("data")));
                let runs_dir = env_path("RMOS_RUNS_DIR")
                    .map(|p| absolute(&p))
                    .unwrap_or_else(|| data_dir.join("runs").join("rmos"));
                let snapshots_dir = env_path("ART_STUDIO_SNAPSHOTS_DIR")
                    .map(|p| absolute(&p))
                    .unwrap_or_else(|| data_dir.join("art_studio").join("snapshots"));
                let backups_dir = env_path("CAM_BACKUP_DIR")
                    .map(|p| absolute(&p))
                    .unwrap_or_else(|| data_dir.join("cam").join("backups"));
                DataRoot {
                    data_dir,
                    runs_dir,
                    snapshots_dir,
                    backups_dir,
                }
            }
        }
    }

    /// A data root at `dir` with the standard layout (tests, `--data`).
    pub fn at(dir: &Path) -> DataRoot {
        let data_dir = absolute(dir);
        let runs_dir = data_dir.join("runs").join("rmos");
        let snapshots_dir = data_dir.join("art_studio").join("snapshots");
        let backups_dir = data_dir.join("cam").join("backups");
        DataRoot {
            data_dir,
            runs_dir,
            snapshots_dir,
            backups_dir,
        }
    }

    pub fn run_store(&self) -> RunStore {
        RunStore::new(self.runs_dir.clone())
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("rmos.db")
    }
}
