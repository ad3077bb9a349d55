//! Where the data lives: the data root and the runs directory inside it.
//!
//! Precedence: `--data DIR`, then `RMOS_DATA_DIR`, then `./data`. The runs directory is
//! `<data>/runs/rmos`, or `$RMOS_RUNS_DIR` (as in the reference) when no `--data` was
//! given — so rmos can read a luthiers-toolbox tree in place while its own database stays
//! in the rmos data root. Relative paths are resolved once against the current directory.
//!
//! The shared databases are SQLite (`<data>/rmos.db`, the default for one user) or, for a
//! team, a PostgreSQL server named by `--db` / `RMOS_DB_URL` ([`DataRoot::with_db`]): then
//! the run index, the review store and the sessions live there, and the run files stay in
//! this host's runs folder.

use crate::db::pg::{PgError, PgTarget};
use crate::store::advisory::{AdvisoryError, AdvisoryStore, PgReviews, ReviewerPolicy};
use crate::store::index::{IndexError, PgCatalog, RunIndex};
use crate::store::pg::{PgChangeFeed, PgSessions};
use crate::store::seam::{
    ChangeFeed, ReviewStore, RunCatalog, SessionStore, SqliteChangeFeed, SqliteSessions,
};
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
    /// The reference's advisory asset store (`advisory_assets`, or `$ADVISORY_ASSETS_ROOT`):
    /// where `rmos advisory export` and `import` go when given no folder.
    pub advisory_assets_dir: PathBuf,
    /// The reference's content-addressed attachment store (`run_attachments`, or
    /// `$RMOS_RUN_ATTACHMENTS_DIR`): where `rmos advisory export` puts each asset's content
    /// under its SHA-256, for the reference's blob browser.
    pub run_attachments_dir: PathBuf,
    /// This user's cache folder for rmos (`$XDG_CACHE_HOME/rmos` or `~/.cache/rmos`): the
    /// run index goes there when the data root cannot hold it.
    pub cache_dir: PathBuf,
    /// The shared PostgreSQL database (`--db`, `RMOS_DB_URL`), when the team uses one;
    /// `None`: the embedded SQLite database in the data root.
    pub db: Option<PgTarget>,
    /// This host's name in a shared run index (`RMOS_HOST`, else the system's host name):
    /// the rows of this host's runs folder are published under it.
    pub host: String,
}

/// `$RMOS_HOST`, else the system's host name.
fn default_host() -> String {
    if let Ok(h) = std::env::var("RMOS_HOST") {
        if !h.trim().is_empty() {
            return h.trim().to_owned();
        }
    }
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes; gethostname NUL-terminates on success.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(0);
    if ok && end > 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "localhost".to_owned()
    }
}

fn default_cache_dir() -> PathBuf {
    env_path("XDG_CACHE_HOME")
        .or_else(|| env_path("HOME").map(|h| h.join(".cache")))
        .map(|c| c.join("rmos"))
        .unwrap_or_else(|| {
            // SAFETY: getuid has no preconditions.
            std::env::temp_dir().join(format!("rmos-{}", unsafe { libc::getuid() }))
        })
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
    /// Resolve from an explicit `--data` (if any) and the environment. An explicit
    /// `--data` wins over every variable; without it `$RMOS_DATA_DIR` (else `./data`) is
    /// the root, and the reference's variables may move its parts elsewhere.
    pub fn resolve(cli_data: Option<&Path>) -> DataRoot {
        if let Some(d) = cli_data {
            return DataRoot::at(d);
        }
        let mut root =
            DataRoot::at(&env_path("RMOS_DATA_DIR").unwrap_or_else(|| PathBuf::from("data")));
        for (var, part) in [
            ("RMOS_RUNS_DIR", &mut root.runs_dir),
            ("ART_STUDIO_SNAPSHOTS_DIR", &mut root.snapshots_dir),
            ("CAM_BACKUP_DIR", &mut root.backups_dir),
            ("ADVISORY_ASSETS_ROOT", &mut root.advisory_assets_dir),
            ("RMOS_RUN_ATTACHMENTS_DIR", &mut root.run_attachments_dir),
        ] {
            if let Some(p) = env_path(var) {
                *part = absolute(&p);
            }
        }
        root
    }

    /// A data root at `dir` with the standard layout (tests, `--data`).
    pub fn at(dir: &Path) -> DataRoot {
        let data_dir = absolute(dir);
        DataRoot {
            runs_dir: data_dir.join("runs").join("rmos"),
            snapshots_dir: data_dir.join("art_studio").join("snapshots"),
            backups_dir: data_dir.join("cam").join("backups"),
            advisory_assets_dir: data_dir.join("advisory_assets"),
            run_attachments_dir: data_dir.join("run_attachments"),
            cache_dir: default_cache_dir(),
            data_dir,
            db: None,
            host: default_host(),
        }
    }

    /// Use the PostgreSQL database at `db` (a `postgres://` URL or `host=… dbname=…`) for
    /// the run index, reviews and sessions; `None` or empty keeps the embedded database.
    pub fn with_db(mut self, db: Option<&str>) -> Result<DataRoot, PgError> {
        self.db = match db.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => Some(PgTarget::parse(d)?),
            None => None,
        };
        Ok(self)
    }

    /// Where the shared data lives, for messages.
    pub fn db_label(&self) -> String {
        match &self.db {
            Some(t) => t.label().to_owned(),
            None => self.db_path().display().to_string(),
        }
    }

    pub fn run_store(&self) -> RunStore {
        RunStore::new(self.runs_dir.clone())
    }

    /// Open (creating and migrating) the run index: in the shared `rmos.db`, or in a
    /// private cache when this user cannot write there ([`DataRoot::index_db_path`]).
    ///
    /// When the data root's filesystem is full (or failing) and the database cannot even be
    /// opened, the index is built in the private cache instead, so runs can still be
    /// listed (a data volume that filled up rarely takes the home folder with it).
    pub fn open_index(&self) -> Result<RunIndex, IndexError> {
        let db_path = self.index_db_path();
        match RunIndex::open_at(&db_path, self.run_store()) {
            Err(e) if db_path == self.db_path() && RunIndex::is_out_of_space(&e) => {
                RunIndex::open_at(&self.cache_index_path(), self.run_store()).map_err(|_| e)
            }
            other => other,
        }
    }

    /// Open the review store (read-only when this user cannot write the database).
    pub fn open_advisory(&self) -> Result<AdvisoryStore, AdvisoryError> {
        AdvisoryStore::open(&self.db_path(), &self.data_dir, !self.db_writable())
    }

    /// The run catalog behind the storage seam: the SQLite run index, or with a shared
    /// database, this host's local index published into it and queried across hosts.
    pub fn catalog(&self) -> Result<Box<dyn RunCatalog>, IndexError> {
        if let Some(t) = &self.db {
            return Ok(Box::new(PgCatalog::open(
                self.open_index()?,
                t,
                &self.host,
            )?));
        }
        Ok(Box::new(self.open_index()?))
    }

    /// The review store behind the storage seam.
    pub fn reviews(&self) -> Result<Box<dyn ReviewStore>, AdvisoryError> {
        if let Some(t) = &self.db {
            return Ok(Box::new(PgReviews::open(t)?));
        }
        Ok(Box::new(self.open_advisory()?))
    }

    /// The workflow sessions behind the storage seam.
    pub fn sessions(&self) -> Result<Box<dyn SessionStore>, crate::store::sessions::SessionError> {
        if let Some(t) = &self.db {
            return Ok(Box::new(PgSessions::open(t)?));
        }
        Ok(Box::new(SqliteSessions::open(&self.db_path())?))
    }

    /// The feed of other processes' commits to the databases this data root uses, polled
    /// every `every`; `own_mark` holds this process's own newest reconcile mark.
    pub fn change_feed(
        &self,
        index_db: Option<&Path>,
        every: std::time::Duration,
        own_mark: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    ) -> Box<dyn ChangeFeed> {
        if let Some(t) = &self.db {
            return Box::new(PgChangeFeed::open(t, own_mark));
        }
        let mut paths = vec![self.db_path()];
        if let Some(index) = index_db.filter(|p| *p != self.db_path()) {
            paths.push(index.to_path_buf());
        }
        Box::new(SqliteChangeFeed::open(paths, every, own_mark))
    }

    /// The reviewers list from the data root's `config.json`.
    pub fn reviewer_policy(&self) -> Result<ReviewerPolicy, AdvisoryError> {
        ReviewerPolicy::load(&self.data_dir.join("config.json"))
    }

    /// The shared database: review decisions, sessions and (normally) the run index.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("rmos.db")
    }

    /// Whether this user can write the shared database (or create it).
    pub fn db_writable(&self) -> bool {
        let db = self.db_path();
        if db.exists() {
            return writable(&db) && writable(&self.data_dir);
        }
        // Not there yet: the closest existing folder decides whether it can be created.
        let mut dir = self.data_dir.as_path();
        loop {
            if dir.exists() {
                return writable(dir);
            }
            match dir.parent() {
                Some(p) => dir = p,
                None => return false,
            }
        }
    }

    /// Where the run index lives: in the shared database when this user can write it,
    /// otherwise in a private cache (the index is derived from the files, so a read-only
    /// data root can still be browsed: `$XDG_CACHE_HOME/rmos/` or `~/.cache/rmos/`, one
    /// file per runs folder).
    pub fn index_db_path(&self) -> PathBuf {
        if self.db_writable() {
            return self.db_path();
        }
        self.cache_index_path()
    }

    /// The run index in this user's cache (see [`DataRoot::index_db_path`]).
    pub fn cache_index_path(&self) -> PathBuf {
        let key = crate::hashing::sha256_bytes(self.runs_dir.to_string_lossy().as_bytes());
        self.cache_dir.join(format!("index-{}.db", &key[..16]))
    }

    /// What to tell people whose run index (opened at `index`) is not in the data root:
    /// it is read-only for them, or its filesystem is full.
    pub fn index_note_for(&self, index: &Path) -> Option<String> {
        if index == self.db_path() {
            return None;
        }
        if self.db_writable() {
            return Some(format!(
                "the filesystem holding {} is full (or failing): the run index is kept in {} until it has room again",
                self.data_dir.display(),
                index.display()
            ));
        }
        Some(format!(
            "{} is read-only for you: the run index is kept in {} (review decisions still need write access)",
            self.data_dir.display(),
            index.display()
        ))
    }
}

/// Whether the effective user may write `p` (`faccessat` with `AT_EACCESS`).
fn writable(p: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated path.
    unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) == 0 }
}
