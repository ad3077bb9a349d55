//! The storage seam: what the command line and the console ask of the databases, one
//! trait per concern, sized to what they call. The SQLite implementations live beside
//! the stores (`RunIndex`, `AdvisoryStore`, [`SqliteSessions`], [`SqliteChangeFeed`]);
//! a server backend implements the same traits. Run artifacts stay files in every
//! backend, so they are reached through [`RunStore`] by [`ArtifactKey`], never by a path
//! a caller builds.
//!
//! - [`RunCatalog`]: the run index (reconcile with the files, pages, counts, lookups).
//! - [`ReviewStore`]: advisory assets, review decisions and their audit chain.
//! - [`SessionStore`]: workflow sessions.
//! - [`ChangeFeed`]: commits made by other processes (another console, a CLI, a batch
//!   writer), so a view can refresh what it shows.

use super::advisory::{
    AdvisoryAsset, AdvisoryError, AdvisoryStore, AllowedSigners, DecisionRequest, ExportReport,
    ImportReport, ImportedExtras, NewAsset, ReferenceFile, ReviewDecision, ReviewState,
    ReviewerPolicy, SignatureCheck,
};
use super::index::{
    Bucket, Cursor, IndexError, IndexStatus, IndexedRun, PageRequest, ReconcileMode,
    ReconcileProgress, ReconcileStats, RunIndex, RunPage, RunQuery, Sort, StackBy, TimelineBin,
};
use super::runs::{ArtifactKey, RunStore};
use super::sessions::{self, NewSession, SessionError, SessionUpdate, WorkflowSession};
use crate::filter::Filter;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A check a long query calls now and then; returning `true` stops the query (it then
/// fails as interrupted). The console uses it to drop a query a newer one replaced.
pub type Interrupt = Arc<dyn Fn() -> bool + Send + Sync>;

/// The run index: one summary row per artifact file, kept in line with the files.
pub trait RunCatalog: Send {
    /// The run files this catalog summarizes.
    fn runs(&self) -> &RunStore;
    /// Where the catalog is kept, for messages (`rmos index status`, notes).
    fn location(&self) -> String;

    /// Bring the catalog in line with the files (quick: changed partitions only).
    fn reconcile(
        &mut self,
        mode: ReconcileMode,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError>;
    /// Reconcile, reading alone what a watcher named; `watched` partitions are trusted to
    /// report their changes, `skip` ones are left for a later pass.
    fn reconcile_watched(
        &mut self,
        mode: ReconcileMode,
        touched: &HashSet<String>,
        watched: &HashSet<String>,
        skip: &HashSet<String>,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError>;
    /// Bring the rows of just these files (partition → names) in line with the disk.
    fn reconcile_files(
        &mut self,
        files: &HashMap<String, HashSet<String>>,
    ) -> Result<ReconcileStats, IndexError>;
    /// Forget everything and index every file again.
    fn rebuild(
        &mut self,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError>;
    /// The mark of the newest change any process made (to tell one's own from others').
    fn change_mark(&self) -> Option<String>;

    /// One page in time order from a cursor (the console's list window).
    fn page(&self, req: &PageRequest) -> Result<(Vec<IndexedRun>, bool), IndexError>;
    /// One page of `rmos logs recent` (newest first, from an optional cursor).
    fn query(&self, q: &RunQuery) -> Result<RunPage, IndexError>;
    fn count(
        &self,
        filter: &Filter,
        include_invalid: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, IndexError>;
    /// How many matching runs are newer than `than`, counting up to `cap`.
    fn count_newer(&self, filter: &Filter, than: &Cursor, cap: u64) -> Result<u64, IndexError>;
    /// How many matching rows come before `than` in `sort`'s order, counting up to `cap`.
    fn count_ahead(
        &self,
        filter: &Filter,
        sort: Sort,
        than: &Cursor,
        cap: u64,
    ) -> Result<u64, IndexError>;
    fn invalid_count(&self) -> Result<u64, IndexError>;
    fn invalid_files(&self, limit: usize) -> Result<Vec<IndexedRun>, IndexError>;
    /// One run by id (newest partition first, like the store).
    fn find(&self, run_id: &str) -> Result<Option<IndexedRun>, IndexError>;
    /// Which of `run_ids` are in more than one file.
    fn duplicated(&self, run_ids: &[&str]) -> Result<Vec<String>, IndexError>;
    /// The newest `limit` runs whose `parent_run_id` or `lineage.parent_plan_run_id` is
    /// `run_id` (newest first), and how many there are in all.
    fn children(&self, run_id: &str, limit: usize) -> Result<(Vec<IndexedRun>, u64), IndexError>;
    /// The event types present, up to `limit` (to explain an `event:` filter matching
    /// nothing: the field is free text).
    fn event_types(&self, limit: usize) -> Result<Vec<String>, IndexError>;
    fn status(&self) -> Result<IndexStatus, IndexError>;
    /// Counts per time bucket, stacked, for the `buckets` buckets ending at `end_us`.
    fn timeline(
        &self,
        filter: &Filter,
        bucket: Bucket,
        buckets: usize,
        end_us: i64,
        by: StackBy,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimelineBin>, IndexError>;
    /// The newest valid run's time (µs since the epoch).
    fn newest_us(&self) -> Result<Option<i64>, IndexError>;

    /// Install (or remove) the check that stops a long query.
    fn set_interrupt(&self, check: Option<Interrupt>);
    /// Housekeeping after much change (statistics for the query planner); best effort.
    fn optimize(&self);
    /// Where a run lives when its file is on another host (a shared index names the host
    /// and its runs folder); `None` when it is in this host's folder or not indexed.
    fn elsewhere(&self, run_id: &str) -> Result<Option<String>, IndexError> {
        let _ = run_id;
        Ok(None)
    }
}

impl RunCatalog for RunIndex {
    fn runs(&self) -> &RunStore {
        self.store()
    }
    fn location(&self) -> String {
        self.db_path().display().to_string()
    }
    fn reconcile(
        &mut self,
        mode: ReconcileMode,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        RunIndex::reconcile(self, mode, progress)
    }
    fn reconcile_watched(
        &mut self,
        mode: ReconcileMode,
        touched: &HashSet<String>,
        watched: &HashSet<String>,
        skip: &HashSet<String>,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        RunIndex::reconcile_watched(self, mode, touched, watched, skip, progress)
    }
    fn reconcile_files(
        &mut self,
        files: &HashMap<String, HashSet<String>>,
    ) -> Result<ReconcileStats, IndexError> {
        RunIndex::reconcile_files(self, files)
    }
    fn rebuild(
        &mut self,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        RunIndex::rebuild(self, progress)
    }
    fn change_mark(&self) -> Option<String> {
        RunIndex::change_mark(self)
    }
    fn page(&self, req: &PageRequest) -> Result<(Vec<IndexedRun>, bool), IndexError> {
        RunIndex::page(self, req)
    }
    fn query(&self, q: &RunQuery) -> Result<RunPage, IndexError> {
        RunIndex::query(self, q)
    }
    fn count(
        &self,
        filter: &Filter,
        include_invalid: bool,
        now: DateTime<Utc>,
    ) -> Result<u64, IndexError> {
        RunIndex::count(self, filter, include_invalid, now)
    }
    fn count_newer(&self, filter: &Filter, than: &Cursor, cap: u64) -> Result<u64, IndexError> {
        RunIndex::count_newer(self, filter, than, cap)
    }
    fn count_ahead(
        &self,
        filter: &Filter,
        sort: Sort,
        than: &Cursor,
        cap: u64,
    ) -> Result<u64, IndexError> {
        RunIndex::count_ahead(self, filter, sort, than, cap)
    }
    fn invalid_count(&self) -> Result<u64, IndexError> {
        RunIndex::invalid_count(self)
    }
    fn invalid_files(&self, limit: usize) -> Result<Vec<IndexedRun>, IndexError> {
        RunIndex::invalid_files(self, limit)
    }
    fn find(&self, run_id: &str) -> Result<Option<IndexedRun>, IndexError> {
        RunIndex::find(self, run_id)
    }
    fn duplicated(&self, run_ids: &[&str]) -> Result<Vec<String>, IndexError> {
        RunIndex::duplicated(self, run_ids)
    }
    fn children(&self, run_id: &str, limit: usize) -> Result<(Vec<IndexedRun>, u64), IndexError> {
        RunIndex::children(self, run_id, limit)
    }
    fn event_types(&self, limit: usize) -> Result<Vec<String>, IndexError> {
        RunIndex::event_types(self, limit)
    }
    fn status(&self) -> Result<IndexStatus, IndexError> {
        RunIndex::status(self)
    }
    fn timeline(
        &self,
        filter: &Filter,
        bucket: Bucket,
        buckets: usize,
        end_us: i64,
        by: StackBy,
        now: DateTime<Utc>,
    ) -> Result<Vec<TimelineBin>, IndexError> {
        RunIndex::timeline(self, filter, bucket, buckets, end_us, by, now)
    }
    fn newest_us(&self) -> Result<Option<i64>, IndexError> {
        RunIndex::newest_us(self)
    }
    fn set_interrupt(&self, check: Option<Interrupt>) {
        RunIndex::set_interrupt(self, check)
    }
    fn optimize(&self) {
        RunIndex::optimize(self)
    }
}

/// Advisory assets, review decisions and the audit chain over them.
pub trait ReviewStore: Send {
    /// Whether decisions can be recorded here (a read-only data root cannot).
    fn is_read_only(&self) -> bool;
    fn add(&self, new: NewAsset) -> Result<AdvisoryAsset, AdvisoryError>;
    fn get(&self, asset_id: &str) -> Result<AdvisoryAsset, AdvisoryError>;
    fn list(
        &self,
        state: Option<ReviewState>,
        limit: usize,
    ) -> Result<Vec<AdvisoryAsset>, AdvisoryError>;
    /// (pending, approved, rejected).
    fn counts(&self) -> Result<(u64, u64, u64), AdvisoryError>;
    /// The asset's content, verified against its hash.
    fn content(&self, asset: &AdvisoryAsset) -> Result<Vec<u8>, AdvisoryError>;
    fn history(&self, asset_id: &str) -> Result<Vec<ReviewDecision>, AdvisoryError>;
    /// Record a decision (refused when the asset changed state since it was shown).
    fn decide(
        &mut self,
        policy: &ReviewerPolicy,
        req: &DecisionRequest<'_>,
    ) -> Result<ReviewDecision, AdvisoryError>;
    /// Link an approved asset into a run; returns the link file and whether it is new.
    fn attach(
        &self,
        runs: &RunStore,
        asset_id: &str,
        run_id: &str,
    ) -> Result<(ArtifactKey, bool), AdvisoryError>;
    fn import_reference_dir(
        &mut self,
        dir: &Path,
        policy: &ReviewerPolicy,
        importer: &str,
    ) -> Result<ImportReport, AdvisoryError>;
    fn chain_head(&self) -> Result<Option<ReviewDecision>, AdvisoryError>;
    /// The sequence number of the record with this hash, if any (an external anchor).
    fn find_record(&self, record_hash: &str) -> Result<Option<i64>, AdvisoryError>;
    /// Ok(records) when the chain verifies, else the first broken record and why.
    fn verify_chain(&self) -> Result<Result<u64, (i64, String)>, AdvisoryError>;
    /// Assets whose recorded state disagrees with the chain.
    fn projection_mismatches(&self) -> Result<Vec<String>, AdvisoryError>;
    /// Every decision's signature checked against `signers`, oldest first.
    fn verify_signatures(
        &self,
        signers: &AllowedSigners,
    ) -> Result<Vec<SignatureCheck>, AdvisoryError>;
    /// An asset's rating, favourite mark, cost and meta (kept from an imported file).
    fn extras(&self, asset_id: &str) -> Result<ImportedExtras, AdvisoryError>;
    /// The reference asset files an asset is linked to (imported from, exported to), and
    /// whether each holds its newest decision.
    fn reference_files(&self, asset_id: &str) -> Result<Vec<ReferenceFile>, AdvisoryError>;
    /// Write assets (`ids`, else all) with their review state into the reference's asset
    /// store at `root`, and their content into its attachment store at `blobs` (if given).
    fn export_reference(
        &mut self,
        ids: Option<&[String]>,
        root: &Path,
        blobs: Option<&Path>,
    ) -> Result<ExportReport, AdvisoryError>;
}

impl ReviewStore for AdvisoryStore {
    fn is_read_only(&self) -> bool {
        AdvisoryStore::is_read_only(self)
    }
    fn add(&self, new: NewAsset) -> Result<AdvisoryAsset, AdvisoryError> {
        AdvisoryStore::add(self, new)
    }
    fn get(&self, asset_id: &str) -> Result<AdvisoryAsset, AdvisoryError> {
        AdvisoryStore::get(self, asset_id)
    }
    fn list(
        &self,
        state: Option<ReviewState>,
        limit: usize,
    ) -> Result<Vec<AdvisoryAsset>, AdvisoryError> {
        AdvisoryStore::list(self, state, limit)
    }
    fn counts(&self) -> Result<(u64, u64, u64), AdvisoryError> {
        AdvisoryStore::counts(self)
    }
    fn content(&self, asset: &AdvisoryAsset) -> Result<Vec<u8>, AdvisoryError> {
        AdvisoryStore::content(self, asset)
    }
    fn history(&self, asset_id: &str) -> Result<Vec<ReviewDecision>, AdvisoryError> {
        AdvisoryStore::history(self, asset_id)
    }
    fn decide(
        &mut self,
        policy: &ReviewerPolicy,
        req: &DecisionRequest<'_>,
    ) -> Result<ReviewDecision, AdvisoryError> {
        AdvisoryStore::decide(self, policy, req)
    }
    fn attach(
        &self,
        runs: &RunStore,
        asset_id: &str,
        run_id: &str,
    ) -> Result<(ArtifactKey, bool), AdvisoryError> {
        AdvisoryStore::attach(self, runs, asset_id, run_id)
    }
    fn import_reference_dir(
        &mut self,
        dir: &Path,
        policy: &ReviewerPolicy,
        importer: &str,
    ) -> Result<ImportReport, AdvisoryError> {
        AdvisoryStore::import_reference_dir(self, dir, policy, importer)
    }
    fn chain_head(&self) -> Result<Option<ReviewDecision>, AdvisoryError> {
        AdvisoryStore::chain_head(self)
    }
    fn find_record(&self, record_hash: &str) -> Result<Option<i64>, AdvisoryError> {
        AdvisoryStore::find_record(self, record_hash)
    }
    fn verify_chain(&self) -> Result<Result<u64, (i64, String)>, AdvisoryError> {
        AdvisoryStore::verify_chain(self)
    }
    fn projection_mismatches(&self) -> Result<Vec<String>, AdvisoryError> {
        AdvisoryStore::projection_mismatches(self)
    }
    fn verify_signatures(
        &self,
        signers: &AllowedSigners,
    ) -> Result<Vec<SignatureCheck>, AdvisoryError> {
        AdvisoryStore::verify_signatures(self, signers)
    }
    fn extras(&self, asset_id: &str) -> Result<ImportedExtras, AdvisoryError> {
        AdvisoryStore::extras(self, asset_id)
    }
    fn reference_files(&self, asset_id: &str) -> Result<Vec<ReferenceFile>, AdvisoryError> {
        AdvisoryStore::reference_files(self, asset_id)
    }
    fn export_reference(
        &mut self,
        ids: Option<&[String]>,
        root: &Path,
        blobs: Option<&Path>,
    ) -> Result<ExportReport, AdvisoryError> {
        AdvisoryStore::export_reference(self, ids, root, blobs)
    }
}

/// Workflow sessions.
pub trait SessionStore: Send {
    fn create(&self, new: NewSession) -> Result<WorkflowSession, SessionError>;
    fn get(&self, session_id: &str) -> Result<WorkflowSession, SessionError>;
    fn update(&self, session_id: &str, upd: SessionUpdate)
        -> Result<WorkflowSession, SessionError>;
    fn list(
        &self,
        status: Option<&str>,
        workflow_type: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WorkflowSession>, SessionError>;
}

/// Workflow sessions in the shared SQLite database.
pub struct SqliteSessions {
    conn: rusqlite::Connection,
}

impl SqliteSessions {
    /// Open (creating and migrating) the sessions table of the database at `db_path`.
    pub fn open(db_path: &Path) -> Result<SqliteSessions, crate::db::DbError> {
        Ok(SqliteSessions {
            conn: crate::db::open(db_path)?,
        })
    }
}

impl SessionStore for SqliteSessions {
    fn create(&self, new: NewSession) -> Result<WorkflowSession, SessionError> {
        sessions::create(&self.conn, new)
    }
    fn get(&self, session_id: &str) -> Result<WorkflowSession, SessionError> {
        sessions::get(&self.conn, session_id)
    }
    fn update(
        &self,
        session_id: &str,
        upd: SessionUpdate,
    ) -> Result<WorkflowSession, SessionError> {
        sessions::update(&self.conn, session_id, upd)
    }
    fn list(
        &self,
        status: Option<&str>,
        workflow_type: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WorkflowSession>, SessionError> {
        sessions::list(&self.conn, status, workflow_type, limit)
    }
}

/// What other processes changed since the last look.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// Runs were indexed (or dropped) by another process.
    pub runs: bool,
    /// Review decisions or assets were added.
    pub review: bool,
}

impl Changes {
    pub fn any(self) -> bool {
        self.runs || self.review
    }
}

/// Commits made by other processes to the shared data. SQLite answers by polling two
/// small signatures; a server database fills the same seam with notifications.
pub trait ChangeFeed: Send {
    /// Wait up to `timeout` for changes made elsewhere and say what changed (nothing
    /// when the time ran out). The first call only takes the starting point.
    fn next(&mut self, timeout: Duration) -> Changes;
    /// Why changes made elsewhere are not coming in right now (a server database that
    /// cannot be reached), for the console to show; `None` while all is well.
    fn trouble(&self) -> Option<String> {
        None
    }
}

/// What another connection changed in a shared database, by the signatures it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Signature {
    /// The run index's last changing reconcile (any process's).
    runs: Option<String>,
    /// The review queue: the newest decision and the newest asset (both insert-only).
    review: Option<(i64, i64)>,
}

impl Signature {
    fn read(conn: &rusqlite::Connection) -> Signature {
        Signature {
            runs: conn
                .query_row(
                    "SELECT value FROM run_index_meta WHERE key = 'last_reconcile_utc'",
                    [],
                    |r| r.get(0),
                )
                .ok(),
            review: conn
                .query_row(
                    "SELECT (SELECT coalesce(max(seq), 0) FROM review_decisions),
                            (SELECT coalesce(max(rowid), 0) FROM advisory_assets)",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok(),
        }
    }

    fn is_empty(&self) -> bool {
        self.runs.is_none() && self.review.is_none()
    }
}

struct WatchedDb {
    path: PathBuf,
    conn: Option<rusqlite::Connection>,
    /// Whether a signature was read once (the starting point).
    seen: bool,
    sig: Signature,
}

/// The change feed of one or more SQLite databases (the shared `rmos.db`, and the run
/// index when it is kept elsewhere). Each poll reads two small signatures (index lookups,
/// microseconds) on read-only connections, reopened after a failure.
pub struct SqliteChangeFeed {
    dbs: Vec<WatchedDb>,
    /// This process's own newest reconcile mark: its own changes are not reported.
    own_mark: Arc<std::sync::Mutex<Option<String>>>,
    every: Duration,
}

fn open_read_only(path: &Path) -> Option<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let c = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    let _ = c.busy_timeout(Duration::from_millis(200));
    Some(c)
}

impl SqliteChangeFeed {
    /// Watch these databases, polling every `every`. The starting signatures are taken
    /// now: a commit made after this moment is either in the caller's next read or
    /// reported by a later [`ChangeFeed::next`].
    pub fn open(
        paths: Vec<PathBuf>,
        every: Duration,
        own_mark: Arc<std::sync::Mutex<Option<String>>>,
    ) -> SqliteChangeFeed {
        let dbs = paths
            .into_iter()
            .map(|path| {
                let conn = open_read_only(&path);
                let sig = conn.as_ref().map(Signature::read).unwrap_or_default();
                WatchedDb {
                    seen: !sig.is_empty(),
                    path,
                    conn,
                    sig,
                }
            })
            .collect();
        SqliteChangeFeed {
            dbs,
            own_mark,
            every,
        }
    }

    /// One look at every database.
    fn poll(&mut self) -> Changes {
        let mut changes = Changes::default();
        for db in self.dbs.iter_mut() {
            if db.conn.is_none() {
                db.conn = open_read_only(&db.path);
            }
            let Some(c) = db.conn.as_ref() else { continue };
            // Read on every poll: a data_version check alone can miss a commit that a
            // read on the same connection already took in.
            let now = Signature::read(c);
            if now.is_empty() {
                db.conn = None;
                continue;
            }
            if db.seen {
                // This process's own reconcile already refreshed what it changed.
                let own = now.runs.is_some()
                    && *self.own_mark.lock().unwrap_or_else(|e| e.into_inner()) == now.runs;
                changes.runs |= now.runs != db.sig.runs && !own;
                changes.review |= now.review != db.sig.review;
            }
            db.seen = true;
            db.sig = now;
        }
        changes
    }
}

impl ChangeFeed for SqliteChangeFeed {
    fn next(&mut self, timeout: Duration) -> Changes {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            std::thread::sleep(self.every.min(left));
            let changes = self.poll();
            if changes.any() || std::time::Instant::now() >= deadline {
                return changes;
            }
        }
    }
}
