//! Reconcile: bring the index in line with the run files — list partitions, compare
//! names/inodes or (size, mtime) with the index, parse what changed in parallel, drop what
//! vanished, record invalid files with their reason, in batched transactions.

use super::*;
use crate::store::runs::ArtifactFile;
use crate::store::verify::VerifyOutcome;

/// Columns of one index row, extracted from a file.
struct Row {
    file: ArtifactFile,
    valid: bool,
    error: Option<String>,
    run_id: String,
    created_us: i64,
    created_at: Option<String>,
    mode: Option<String>,
    tool_id: Option<String>,
    status: Option<String>,
    risk_level: Option<String>,
    score: Option<f64>,
    source: Option<String>,
    event_type: Option<String>,
    workflow_session_id: Option<String>,
    warnings_json: Option<String>,
    block_reason: Option<String>,
    verify: &'static str,
    search_text: Option<String>,
    parent_run_id: Option<String>,
    plan_run_id: Option<String>,
}

impl Row {
    fn from_file(file: ArtifactFile) -> Row {
        match crate::store::scan::read_index_fields(&file.path) {
            Ok(f) => Row::valid(file, f),
            Err(reason) => Row {
                run_id: file.stem.clone(),
                created_us: file.mtime_ns / 1_000,
                file,
                valid: false,
                error: Some(reason.to_string()),
                created_at: None,
                mode: None,
                tool_id: None,
                status: None,
                risk_level: None,
                score: None,
                source: None,
                event_type: None,
                workflow_session_id: None,
                warnings_json: None,
                block_reason: None,
                verify: VerifyOutcome::Invalid.as_str(),
                search_text: None,
                parent_run_id: None,
                plan_run_id: None,
            },
        }
    }

    fn valid(file: ArtifactFile, f: crate::store::scan::IndexFields) -> Row {
        Row {
            file,
            valid: true,
            error: None,
            run_id: f.run_id,
            created_us: f.created_us,
            created_at: Some(f.created_at),
            mode: Some(f.mode),
            tool_id: Some(f.tool_id),
            status: Some(f.status.as_str().to_owned()),
            risk_level: Some(f.risk_level),
            score: f.score,
            source: f.source,
            event_type: Some(f.event_type),
            workflow_session_id: f.workflow_session_id,
            warnings_json: Some(f.warnings_json),
            block_reason: f.block_reason,
            verify: f.verify.as_str(),
            search_text: Some(f.search_text),
            parent_run_id: f.parent_run_id,
            plan_run_id: f.plan_run_id,
        }
    }
}

const UPSERT: &str = "INSERT INTO run_index (
    partition, file_name, size, mtime_ns, valid, error, run_id, created_us, created_at, mode,
    tool_id, status, risk_level, score, source, event_type, workflow_session_id, warnings_json,
    block_reason, verify, mode_key, tool_key, risk_key, source_key, search_text, ino,
    parent_run_id, plan_run_id)
  VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
    ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)
  ON CONFLICT (partition, file_name) DO UPDATE SET
    size = excluded.size, mtime_ns = excluded.mtime_ns, valid = excluded.valid,
    error = excluded.error, run_id = excluded.run_id, created_us = excluded.created_us,
    created_at = excluded.created_at, mode = excluded.mode, tool_id = excluded.tool_id,
    status = excluded.status, risk_level = excluded.risk_level, score = excluded.score,
    source = excluded.source, event_type = excluded.event_type,
    workflow_session_id = excluded.workflow_session_id, warnings_json = excluded.warnings_json,
    block_reason = excluded.block_reason, verify = excluded.verify, mode_key = excluded.mode_key,
    tool_key = excluded.tool_key, risk_key = excluded.risk_key, source_key = excluded.source_key,
    search_text = excluded.search_text, ino = excluded.ino,
    parent_run_id = excluded.parent_run_id, plan_run_id = excluded.plan_run_id";

/// Messages from the producer and parser threads to the writer.
enum Msg {
    /// A partition was diffed: `expected` rows will follow; then apply the rest.
    Planned {
        partition: String,
        dir_mtime: i64,
        file_count: usize,
        expected: usize,
        removed: Vec<String>,
        /// Unchanged files whose inode the index did not have yet.
        inodes: Vec<(String, i64)>,
    },
    Rows(Vec<Row>),
    /// A partition could not be listed: skipped, its rows left as they were.
    Unreadable {
        partition: String,
        reason: String,
    },
    Failed(IndexError),
}

/// Files per work item and rows per message (fewer channel wake-ups).
const CHUNK: usize = 64;

/// How a planned partition is compared with the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compare {
    /// Names and inodes from the directory listing; only new, replaced or never-recorded
    /// files are stat-ed. The quick pass over a folder that gained or lost files.
    Names,
    /// Every file's size and modification time (in-place rewrites keep name and inode).
    Stat,
}

/// One partition to reconcile: its name, its folder's mtime, how to compare.
type Planned = (String, i64, Compare);

fn plan_partitions(
    store: &RunStore,
    db_path: &std::path::Path,
    plan: Vec<Planned>,
    out: &mpsc::SyncSender<Msg>,
    work: &mpsc::SyncSender<Vec<ArtifactFile>>,
) -> Result<(), IndexError> {
    let conn = db::connect(db_path)?;
    // This connection reads each partition's rows once, front to back: a small page cache
    // is enough (the default would keep a 100,000-row partition's pages, megabytes).
    wrap(db_path, conn.pragma_update(None, "cache_size", -1000))?;
    // Ordered by name (the covering index serves it), for the merge with the sorted listing.
    let mut by_stat = wrap(
        db_path,
        conn.prepare(
            "SELECT file_name, ino, size, mtime_ns FROM run_index WHERE partition = ?1 ORDER BY file_name",
        ),
    )?;
    // Covered by idx_run_index_files: names and inodes without touching the table.
    let mut by_name = wrap(
        db_path,
        conn.prepare(
            "SELECT file_name, ino, NULL, NULL FROM run_index WHERE partition = ?1 ORDER BY file_name",
        ),
    )?;
    let mut size_of = wrap(
        db_path,
        conn.prepare(
            "SELECT size, mtime_ns FROM run_index WHERE partition = ?1 AND file_name = ?2",
        ),
    )?;
    for (partition, dir_mtime, compare) in plan {
        // The folder is listed (and sorted) on another thread while this one reads the
        // partition's index rows: on a folder of 100,000 files the two take about as long.
        let stmt = match compare {
            Compare::Names => &mut by_name,
            Compare::Stat => &mut by_stat,
        };
        let (listed, rows) = std::thread::scope(|sc| {
            let lister = sc.spawn(|| {
                store.partition_listing(&partition).map(|mut l| {
                    l.sort();
                    l
                })
            });
            // A folder's size is about 40 bytes per entry on ext4.
            let expect = std::fs::metadata(store.partition_dir(&partition))
                .map_or(0, |m| (m.len() / 40).min(1 << 20) as usize);
            let rows = IndexRows::read(stmt, &partition, db_path, expect, compare == Compare::Stat);
            (lister.join().expect("the listing thread"), rows)
        });
        let rows = rows?;
        let listing = match listed {
            Ok(listing) => listing,
            Err(e) => {
                let reason = match &e {
                    StoreError::Io { source, .. } => {
                        format!("{source}{}", crate::advice::io(source))
                    }
                    other => other.to_string(),
                };
                if out.send(Msg::Unreadable { partition, reason }).is_err() {
                    return Ok(());
                }
                continue;
            }
        };
        let file_count = listing.len();
        let mut todo = Vec::new();
        let mut removed = Vec::new();
        let mut inodes = Vec::new();
        {
            let mut next = 0usize;
            let mut row_name = String::new();
            let (mut row_ino, mut row_size, mut row_mtime) = (0i64, None, None);
            let mut next_row = |name: &mut String,
                                ino: &mut i64,
                                size: &mut Option<i64>,
                                mtime: &mut Option<i64>|
             -> Result<bool, IndexError> {
                let Some(r) = rows.rows.get(next) else {
                    return Ok(false);
                };
                name.clear();
                name.push_str(&rows.names[r.0 as usize..r.1 as usize]);
                *ino = r.2;
                (*size, *mtime) = rows.stat.get(next).copied().unwrap_or((None, None));
                next += 1;
                Ok(true)
            };
            // The sorted listing and the index rows (in name order, from the covering
            // index) are merged as the rows stream by: a row without a file was removed, a
            // file without a row is new.
            let mut have_row =
                next_row(&mut row_name, &mut row_ino, &mut row_size, &mut row_mtime)?;
            let mut at = 0usize;
            loop {
                let order = match (at < listing.len(), have_row) {
                    (false, false) => break,
                    (true, false) => std::cmp::Ordering::Less,
                    (false, true) => std::cmp::Ordering::Greater,
                    (true, true) => listing.name(at).cmp(row_name.as_str()),
                };
                if order == std::cmp::Ordering::Greater {
                    removed.push(row_name.clone());
                    have_row =
                        next_row(&mut row_name, &mut row_ino, &mut row_size, &mut row_mtime)?;
                    continue;
                }
                let e_at = at;
                at += 1;
                if order == std::cmp::Ordering::Less {
                    let e = listing.entry(e_at);
                    let path = store.entry_path(&partition, &e);
                    todo.push(store.stat_entry(&partition, &e, path));
                    continue;
                }
                let (ino, size, mtime) = (row_ino, row_size, row_mtime);
                let same_file = ino != 0 && ino == listing.ino(e_at) as i64;
                if !(compare == Compare::Names && same_file) {
                    let e = listing.entry(e_at);
                    let path = store.entry_path(&partition, &e);
                    let f = store.stat_entry(&partition, &e, path);
                    if compare == Compare::Names && ino != 0 {
                        // Another inode under the same name: replaced.
                        todo.push(f);
                    } else {
                        // A Names pass meets this only for rows indexed before inodes were
                        // recorded: their size and time are looked up once.
                        let (size, mtime) = match (size, mtime) {
                            (Some(s), Some(m)) => (s, m),
                            _ => wrap(
                                db_path,
                                size_of.query_row(params![partition, row_name], |r| {
                                    Ok((r.get(0)?, r.get(1)?))
                                }),
                            )?,
                        };
                        if f.size as i64 == size && f.mtime_ns == mtime && (ino == 0 || same_file) {
                            if ino == 0 {
                                inodes.push((row_name.clone(), f.ino as i64));
                            }
                        } else {
                            todo.push(f);
                        }
                    }
                }
                have_row = next_row(&mut row_name, &mut row_ino, &mut row_size, &mut row_mtime)?;
            }
        }
        let planned = Msg::Planned {
            partition,
            dir_mtime,
            file_count,
            expected: todo.len(),
            removed,
            inodes,
        };
        if out.send(planned).is_err() {
            return Ok(());
        }
        let mut todo = todo.into_iter().peekable();
        while todo.peek().is_some() {
            if work.send(todo.by_ref().take(CHUNK).collect()).is_err() {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// A partition's index rows in name order, held compactly: one buffer for the names,
/// (name range, ino) per row, and (size, mtime) per row in a Stat comparison only.
struct IndexRows {
    names: String,
    rows: Vec<(u32, u32, i64)>,
    stat: Vec<(Option<i64>, Option<i64>)>,
}

impl IndexRows {
    /// Read them; `expect` is about how many there are (room made up front).
    fn read(
        stmt: &mut rusqlite::Statement<'_>,
        partition: &str,
        db_path: &std::path::Path,
        expect: usize,
        with_stat: bool,
    ) -> Result<IndexRows, IndexError> {
        let mut out = IndexRows {
            names: String::with_capacity(expect * 24),
            rows: Vec::with_capacity(expect),
            stat: Vec::new(),
        };
        let mut rows = wrap(db_path, stmt.query([partition]))?;
        while let Some(r) = wrap(db_path, rows.next())? {
            let start = out.names.len() as u32;
            wrap(
                db_path,
                (|| {
                    out.names.push_str(r.get_ref(0)?.as_str()?);
                    let end = out.names.len() as u32;
                    out.rows.push((start, end, r.get(1)?));
                    if with_stat {
                        out.stat.push((r.get(2)?, r.get(3)?));
                    }
                    Ok(())
                })(),
            )?;
        }
        Ok(out)
    }
}

struct PartitionState {
    dir_mtime: i64,
    file_count: usize,
    expected: usize,
    done: usize,
    removed: Vec<String>,
    inodes: Vec<(String, i64)>,
}

fn finish_partition(
    conn: &Connection,
    db_path: &std::path::Path,
    partition: &str,
    st: &PartitionState,
    stats: &mut ReconcileStats,
) -> Result<(), IndexError> {
    let mut del = wrap(
        db_path,
        conn.prepare_cached("DELETE FROM run_index WHERE partition = ?1 AND file_name = ?2"),
    )?;
    for name in &st.removed {
        wrap(db_path, del.execute(params![partition, name]))?;
    }
    let mut set_ino = wrap(
        db_path,
        conn.prepare_cached(
            "UPDATE run_index SET ino = ?3 WHERE partition = ?1 AND file_name = ?2",
        ),
    )?;
    for (name, ino) in &st.inodes {
        wrap(db_path, set_ino.execute(params![partition, name, ino]))?;
    }
    stats.removed += st.removed.len() as u64;
    wrap(
        db_path,
        conn.execute(
            "INSERT INTO run_index_partitions (partition, dir_mtime_ns, file_count, scanned_at_utc)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (partition) DO UPDATE SET dir_mtime_ns = excluded.dir_mtime_ns,
               file_count = excluded.file_count, scanned_at_utc = excluded.scanned_at_utc",
            params![
                partition,
                st.dir_mtime,
                st.file_count as i64,
                Timestamp::now().to_pydantic()
            ],
        ),
    )?;
    stats.partitions_scanned += 1;
    Ok(())
}

fn write_pipeline(
    conn: &Connection,
    db_path: &std::path::Path,
    rx: &mpsc::Receiver<Msg>,
    stats: &mut ReconcileStats,
    prog: &mut ReconcileProgress,
    progress: &mut dyn FnMut(&ReconcileProgress),
) -> Result<(), IndexError> {
    let mut pending: HashMap<String, PartitionState> = HashMap::new();
    let mut in_tx = 0usize;
    let mut committed_at = std::time::Instant::now();
    wrap(db_path, conn.execute_batch("BEGIN"))?;
    let mut body = || -> Result<(), IndexError> {
        for msg in rx.iter() {
            let done_partitions: Vec<String> = match msg {
                Msg::Failed(e) => return Err(e),
                Msg::Unreadable { partition, reason } => {
                    // Forget its bookkeeping (not its rows): the next quick pass tries again
                    // and says so again, until the folder can be read.
                    wrap(
                        db_path,
                        conn.execute(
                            "DELETE FROM run_index_partitions WHERE partition = ?1",
                            [&partition],
                        ),
                    )?;
                    stats.unreadable.push((partition.clone(), reason));
                    vec![partition]
                }
                Msg::Planned {
                    partition,
                    dir_mtime,
                    file_count,
                    expected,
                    removed,
                    inodes,
                } => {
                    stats.files_seen += file_count as u64;
                    let st = PartitionState {
                        dir_mtime,
                        file_count,
                        expected,
                        done: 0,
                        removed,
                        inodes,
                    };
                    if expected == 0 {
                        finish_partition(conn, db_path, &partition, &st, stats)?;
                        vec![partition]
                    } else {
                        pending.insert(partition, st);
                        Vec::new()
                    }
                }
                Msg::Rows(rows) => {
                    let mut done = Vec::new();
                    for row in rows {
                        upsert(conn, db_path, &row)?;
                        stats.parsed += 1;
                        stats.added_or_changed += 1;
                        stats.invalid += u64::from(!row.valid);
                        in_tx += 1;
                        let partition = row.file.partition;
                        let complete = pending.get_mut(&partition).is_some_and(|st| {
                            st.done += 1;
                            st.done == st.expected
                        });
                        if complete {
                            let st = pending.remove(&partition).expect("present");
                            finish_partition(conn, db_path, &partition, &st, stats)?;
                            done.push(partition);
                        }
                    }
                    done
                }
            };
            let partition_done = !done_partitions.is_empty();
            // Finished partitions become visible to readers (the console shows the newest
            // runs while older partitions are still being read) at most a few times a
            // second; otherwise every BATCH rows.
            if in_tx >= BATCH
                || (partition_done
                    && in_tx > 0
                    && committed_at.elapsed() >= std::time::Duration::from_millis(250))
            {
                wrap(db_path, conn.execute_batch("COMMIT; BEGIN"))?;
                in_tx = 0;
                committed_at = std::time::Instant::now();
            }
            for p in done_partitions {
                prog.partitions_done += 1;
                prog.files_parsed = stats.parsed;
                prog.current = p;
                progress(prog);
            }
        }
        Ok(())
    };
    let result = body();
    // Rows already written are individually correct; the bookkeeping of unfinished
    // partitions is missing, so they are rescanned next time.
    let commit = wrap(db_path, conn.execute_batch("COMMIT"));
    result.and(commit)
}

fn upsert(conn: &Connection, db_path: &std::path::Path, row: &Row) -> Result<(), IndexError> {
    let mut stmt = wrap(db_path, conn.prepare_cached(UPSERT))?;
    let up = |s: &Option<String>| s.as_ref().map(|v| v.to_uppercase());
    let source_key = row.valid.then(|| {
        row.source
            .as_ref()
            .map(|s| s.to_uppercase())
            .unwrap_or_else(|| "NONE".into())
    });
    wrap(
        db_path,
        stmt.execute(params![
            row.file.partition,
            format!("{}.json", row.file.stem),
            row.file.size as i64,
            row.file.mtime_ns,
            row.valid as i64,
            row.error,
            row.run_id,
            row.created_us,
            row.created_at,
            row.mode,
            row.tool_id,
            row.status,
            row.risk_level,
            row.score,
            row.source,
            row.event_type,
            row.workflow_session_id,
            row.warnings_json,
            row.block_reason,
            row.verify,
            up(&row.mode),
            up(&row.tool_id),
            up(&row.risk_level),
            source_key,
            row.search_text,
            row.file.ino as i64,
            row.parent_run_id,
            row.plan_run_id,
        ]),
    )?;
    Ok(())
}

/// Peak resident set size of this process in kB (Linux; 0 elsewhere), for diagnostics.
pub fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// The meta key holding what a running rebuild dropped (its pid, indexes, triggers).
const REBUILD_RESTORE: &str = "rebuild_restore";

/// `CREATE INDEX …` / `CREATE TRIGGER …` as stored by SQLite, made idempotent.
fn if_not_exists(sql: &str) -> String {
    for kind in ["CREATE INDEX ", "CREATE TRIGGER ", "CREATE UNIQUE INDEX "] {
        if let Some(rest) = sql.strip_prefix(kind) {
            if !rest.starts_with("IF NOT EXISTS") {
                return format!("{kind}IF NOT EXISTS {rest}");
            }
        }
    }
    sql.to_owned()
}

impl RunIndex {
    /// Finish a rebuild that stopped after dropping the secondary indexes and the hourly
    /// counts' triggers (its process is gone): create what is missing and count again.
    /// Best effort (a read-only index is left as it is); a rebuild still running (its
    /// process alive) is left alone.
    pub fn heal_rebuild(&self) -> Result<bool, IndexError> {
        let Some(text) = self.meta_get(REBUILD_RESTORE)? else {
            return Ok(false);
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(pid) = v["pid"].as_u64() {
            // SAFETY: signal 0 only checks that the process exists.
            let alive = pid != u64::from(std::process::id())
                && pid > 0
                && pid <= i32::MAX as u64
                && unsafe { libc::kill(pid as libc::pid_t, 0) } == 0;
            if alive {
                return Ok(false);
            }
        }
        let list = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p.get(1).and_then(|s| s.as_str()).map(if_not_exists))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut batch = String::from("BEGIN IMMEDIATE;");
        for sql in list("indexes") {
            batch.push_str(&sql);
            batch.push(';');
        }
        batch.push_str(
            "DELETE FROM run_index_hourly; \
             INSERT INTO run_index_hourly (hour, risk_key, status, n) \
             SELECT (created_us - ((created_us % 3600000000) + 3600000000) % 3600000000) / 3600000000, \
                    coalesce(risk_key, ''), coalesce(status, ''), count(*) \
             FROM run_index WHERE valid = 1 GROUP BY 1, 2, 3;",
        );
        for sql in list("triggers") {
            batch.push_str(&sql);
            batch.push(';');
        }
        batch.push_str(&format!(
            "DELETE FROM run_index_meta WHERE key = '{REBUILD_RESTORE}'; COMMIT;"
        ));
        if let Err(e) = self.conn.execute_batch(&batch) {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(self.sql::<()>(Err(e)).unwrap_err());
        }
        Ok(true)
    }
}

/// Rows written per transaction during reconcile.
const BATCH: usize = 2_000;

/// A directory mtime newer than this is not trusted to stay put (coarse-mtime filesystems).
const MTIME_SETTLE_NS: i64 = 2_000_000_000;

impl RunIndex {
    /// Bring the rows of just these files (partition → file names, as a watcher named them)
    /// in line with the disk: a new or changed file is read, a vanished one removed, an
    /// unchanged one left alone. The cost follows the files named, not the size of their
    /// partition. (The partition's folder time is not recorded as seen: a file that arrived
    /// before the folder was watched sent no event, and the next folder comparison finds it.)
    pub fn reconcile_files(
        &mut self,
        files: &HashMap<String, HashSet<String>>,
    ) -> Result<ReconcileStats, IndexError> {
        use crate::store::runs::{is_artifact_file_name, is_partition_name, PartitionEntry};
        let mut stats = ReconcileStats::default();
        let db_path = self.db_path.clone();
        let tx = self.sql(self.conn.unchecked_transaction())?;
        {
            let mut known = self.sql(tx.prepare_cached(
                "SELECT size, mtime_ns, ino FROM run_index WHERE partition = ?1 AND file_name = ?2",
            ))?;
            let mut del = self.sql(
                tx.prepare_cached("DELETE FROM run_index WHERE partition = ?1 AND file_name = ?2"),
            )?;
            for (partition, names) in files {
                if !is_partition_name(partition) {
                    continue;
                }
                for name in names {
                    if !is_artifact_file_name(name) || name.contains(['/', '\\']) {
                        continue;
                    }
                    let path = self.store.partition_dir(partition).join(name);
                    let row: Option<(i64, i64, i64)> = self.sql(
                        known
                            .query_row(params![partition, name], |r| {
                                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                            })
                            .optional(),
                    )?;
                    let ino = match std::fs::symlink_metadata(&path) {
                        Ok(m) if !m.is_dir() => {
                            use std::os::unix::fs::MetadataExt;
                            m.ino()
                        }
                        _ => {
                            // Gone (or a folder now): its row goes.
                            if row.is_some() {
                                stats.removed +=
                                    self.sql(del.execute(params![partition, name]))? as u64;
                            }
                            continue;
                        }
                    };
                    let entry = PartitionEntry {
                        name: name.clone(),
                        raw: None,
                        ino,
                    };
                    let f = self.store.stat_entry(partition, &entry, path);
                    if row == Some((f.size as i64, f.mtime_ns, f.ino as i64)) {
                        continue;
                    }
                    upsert(&tx, &db_path, &Row::from_file(f))?;
                    stats.added_or_changed += 1;
                }
            }
        }
        self.sql(tx.commit())?;
        if stats.changed() {
            self.meta_set("last_reconcile_utc", &Timestamp::now().to_pydantic())?;
        }
        Ok(stats)
    }

    /// The mark of the newest change any process made to this index (its last changing
    /// reconcile), for telling one's own changes from others'.
    pub fn change_mark(&self) -> Option<String> {
        self.meta_get("last_reconcile_utc").ok().flatten()
    }

    /// Forget everything (the files are untouched).
    pub fn clear(&mut self) -> Result<(), IndexError> {
        let r = self.conn.execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM run_index_hourly; DELETE FROM run_index; DELETE FROM run_index_partitions; DELETE FROM run_index_meta WHERE key <> 'rebuild_restore'; COMMIT;",
        );
        self.sql(r)
    }

    /// Bring the index in line with the files.
    ///
    /// A producer thread lists partitions (newest first) and diffs them against the
    /// index, parser threads read and validate changed files, and this thread writes rows
    /// in large transactions. A partition's bookkeeping (removed files, directory mtime)
    /// is written only once all its rows are, so an interrupted pass is redone next time.
    pub fn reconcile(
        &mut self,
        mode: ReconcileMode,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        self.reconcile_marked(mode, &HashSet::new(), progress)
    }

    /// [`RunIndex::reconcile`], also comparing every file of the `touched` partitions in a
    /// quick pass (a watcher saw files change there: an in-place rewrite leaves the
    /// folder's mtime alone, so the quick pass alone would not look).
    pub fn reconcile_marked(
        &mut self,
        mode: ReconcileMode,
        touched: &HashSet<String>,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        self.reconcile_watched(mode, touched, &HashSet::new(), &HashSet::new(), progress)
    }

    /// [`RunIndex::reconcile_marked`] where the `watched` partitions' changes arrive as
    /// file events (a live watcher): their folder's modification time is trusted at once
    /// (no settle window), since a file added in the same clock tick still sends its event;
    /// a quick pass leaves the `skip` partitions out altogether (watched since before their
    /// last comparison: every change in them arrives as an event, handled by
    /// [`RunIndex::reconcile_files`]; a lost event is an overflow, answered by a full pass).
    pub fn reconcile_watched(
        &mut self,
        mode: ReconcileMode,
        touched: &HashSet<String>,
        watched: &HashSet<String>,
        skip: &HashSet<String>,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        let root_text = self.store.root().display().to_string();
        if self.meta_get("runs_root")?.as_deref() != Some(root_text.as_str()) {
            // The index describes another runs directory (or none yet): start over. Checked
            // again under the write lock: processes opening a fresh index at once must not
            // clear it one after another, wiping rows the first had already indexed.
            self.sql(self.conn.execute_batch("BEGIN IMMEDIATE"))?;
            let reset = (|| {
                if self.meta_get("runs_root")?.as_deref() != Some(root_text.as_str()) {
                    self.sql(self.conn.execute_batch(
                        "DELETE FROM run_index_hourly; DELETE FROM run_index; DELETE FROM run_index_partitions; DELETE FROM run_index_meta;",
                    ))?;
                    self.meta_set("runs_root", &root_text)?;
                }
                Ok(())
            })();
            match reset {
                Ok(()) => self.sql(self.conn.execute_batch("COMMIT"))?,
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        let mut stats = ReconcileStats::default();
        let disk = self.store.partitions()?;
        let known: HashMap<String, i64> = {
            let mut stmt = self.sql(
                self.conn
                    .prepare("SELECT partition, dir_mtime_ns FROM run_index_partitions"),
            )?;
            let rows = self.sql(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))))?;
            self.sql(rows.collect())?
        };
        let now_ns = Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX);
        let mut plan = Vec::new();
        // Partition folders are looked up relative to the open runs folder (one short
        // path walk each: a quick pass over 731 partitions is 731 of them).
        let root = crate::fsio::dir::Dir::open(self.store.root()).ok();
        for partition in disk.iter().rev() {
            if mode == ReconcileMode::Quick
                && skip.contains(partition)
                && known.contains_key(partition)
                && !touched.contains(partition)
            {
                // Watched since before its last comparison: its changes come as events,
                // so not even its folder's time is looked at (a watcher answering a
                // reader at 1M runs would otherwise stat 731 folders per question).
                stats.partitions_skipped += 1;
                continue;
            }
            let dir_mtime = root
                .as_ref()
                .and_then(|r| r.stat(Path::new(partition)).ok().flatten())
                .map(|s| s.mtime_ns)
                .unwrap_or(0);
            let is_watched = watched.contains(partition);
            let settled = (known.get(partition) == Some(&dir_mtime)
                && (now_ns - dir_mtime > MTIME_SETTLE_NS || is_watched)
                || skip.contains(partition) && known.contains_key(partition))
                && !touched.contains(partition);
            if mode == ReconcileMode::Quick && settled {
                stats.partitions_skipped += 1;
            } else {
                // A quick pass over a folder that gained or lost files compares names and
                // inodes only; a full pass, or a partition where the watcher saw a file
                // change (an in-place rewrite keeps name and inode), compares every file.
                let compare = if mode == ReconcileMode::Full || touched.contains(partition) {
                    Compare::Stat
                } else {
                    Compare::Names
                };
                plan.push((partition.clone(), dir_mtime, compare));
            }
        }
        let mut prog = ReconcileProgress {
            partitions_total: plan.len(),
            ..Default::default()
        };
        self.run_pipeline(plan, &mut stats, &mut prog, progress)?;

        let mut gone: Vec<String> = known
            .keys()
            .filter(|p| disk.binary_search(p).is_err())
            .cloned()
            .collect();
        if mode == ReconcileMode::Full {
            // Rows of partitions without bookkeeping (unreadable when last seen) too.
            let mut stmt = self.sql(
                self.conn
                    .prepare("SELECT DISTINCT partition FROM run_index"),
            )?;
            let rows = self.sql(stmt.query_map([], |r| r.get::<_, String>(0)))?;
            let indexed: Vec<String> = self.sql(rows.collect())?;
            gone.extend(
                indexed
                    .into_iter()
                    .filter(|p| disk.binary_search(p).is_err() && !known.contains_key(p)),
            );
        }
        if !gone.is_empty() {
            let tx = self.sql(self.conn.unchecked_transaction())?;
            for p in &gone {
                let n = self.sql(tx.execute("DELETE FROM run_index WHERE partition = ?1", [p]))?;
                self.sql(tx.execute("DELETE FROM run_index_partitions WHERE partition = ?1", [p]))?;
                stats.removed += n as u64;
                stats.partitions_removed += 1;
            }
            self.sql(tx.commit())?;
        }
        // Only a pass that changed something (or compared every file) is written down:
        // the console runs an idle quick pass every second, which must not write each time.
        if stats.changed() || mode == ReconcileMode::Full {
            let now = Timestamp::now().to_pydantic();
            self.meta_set("last_reconcile_utc", &now)?;
            if mode == ReconcileMode::Full {
                self.meta_set("last_full_reconcile_utc", &now)?;
            }
        }
        stats.partitions_on_disk = disk;
        Ok(stats)
    }

    fn run_pipeline(
        &mut self,
        plan: Vec<Planned>,
        stats: &mut ReconcileStats,
        prog: &mut ReconcileProgress,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<(), IndexError> {
        if plan.is_empty() {
            return Ok(());
        }
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        let (out_tx, out_rx) = mpsc::sync_channel::<Msg>(2 * BATCH / CHUNK);
        let (work_tx, work_rx) = mpsc::sync_channel::<Vec<ArtifactFile>>(BATCH / CHUNK);
        let work_rx = std::sync::Arc::new(Mutex::new(work_rx));
        let db_path = self.db_path.clone();
        let store = self.store.clone();
        let conn = &self.conn;
        std::thread::scope(|s| -> Result<(), IndexError> {
            {
                let out_tx = out_tx.clone();
                let db_path = db_path.clone();
                s.spawn(move || {
                    if let Err(e) = plan_partitions(&store, &db_path, plan, &out_tx, &work_tx) {
                        let _ = out_tx.send(Msg::Failed(e));
                    }
                });
            }
            for _ in 0..workers {
                let (work_rx, out_tx) = (work_rx.clone(), out_tx.clone());
                s.spawn(move || loop {
                    let next = work_rx.lock().expect("work queue lock").recv();
                    let Ok(files) = next else { break };
                    let rows = files.into_iter().map(Row::from_file).collect();
                    if out_tx.send(Msg::Rows(rows)).is_err() {
                        break;
                    }
                });
            }
            drop(work_rx);
            drop(out_tx);
            let result = write_pipeline(conn, &db_path, &out_rx, stats, prog, progress);
            drop(out_rx);
            result
        })
    }

    /// Drop the index and rebuild it from the files. Secondary indexes are dropped during
    /// the bulk load and recreated afterwards (much faster than maintaining them per row).
    pub fn rebuild(
        &mut self,
        progress: &mut dyn FnMut(&ReconcileProgress),
    ) -> Result<ReconcileStats, IndexError> {
        let t_clear = std::time::Instant::now();
        let indexes: Vec<(String, String)> = {
            let mut stmt = self.sql(self.conn.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'run_index' AND sql IS NOT NULL",
            ))?;
            let rows = self.sql(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))))?;
            self.sql(rows.collect())?
        };
        // The hourly counts' triggers too: the counts are recomputed in one pass below.
        let triggers: Vec<(String, String)> = {
            let mut stmt = self.sql(self.conn.prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'run_index' AND sql IS NOT NULL",
            ))?;
            let rows = self.sql(stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))))?;
            self.sql(rows.collect())?
        };
        // What is about to be dropped, kept until it is back: a rebuild that dies on the
        // way (a hung-up SSH session) is finished by the next open (`heal_rebuild`).
        let restore = serde_json::json!({
            "pid": std::process::id(),
            "indexes": indexes,
            "triggers": triggers,
        });
        self.meta_set(REBUILD_RESTORE, &restore.to_string())?;
        for (name, _) in &indexes {
            self.sql(
                self.conn
                    .execute_batch(&format!("DROP INDEX IF EXISTS \"{name}\"")),
            )?;
        }
        for (name, _) in &triggers {
            self.sql(
                self.conn
                    .execute_batch(&format!("DROP TRIGGER IF EXISTS \"{name}\"")),
            )?;
        }
        // Cleared once nothing fires per row (SQLite then empties the table at once).
        self.clear()?;
        let t_clear = t_clear.elapsed();
        let timing = std::env::var_os("RMOS_DEBUG_TIMING").is_some();
        let t = std::time::Instant::now();
        let result = self.reconcile(ReconcileMode::Full, progress);
        let t_load = t.elapsed();
        let hwm_load = if timing { peak_rss_kb() } else { 0 };
        // Recreate the indexes whatever happened, so queries stay fast.
        for (name, sql) in &indexes {
            let ti = std::time::Instant::now();
            self.sql(self.conn.execute_batch(&if_not_exists(sql)))?;
            if timing {
                eprintln!("rebuild timing: index {name} {:?}", ti.elapsed());
            }
        }
        // Count every row once, and keep counting from here: in one transaction, so a
        // row another process adds meanwhile is either counted here or by its trigger.
        let mut recount = String::from(
            "BEGIN IMMEDIATE; DELETE FROM run_index_hourly; \
             INSERT INTO run_index_hourly (hour, risk_key, status, n) \
             SELECT (created_us - ((created_us % 3600000000) + 3600000000) % 3600000000) / 3600000000, \
                    coalesce(risk_key, ''), coalesce(status, ''), count(*) \
             FROM run_index WHERE valid = 1 GROUP BY 1, 2, 3;",
        );
        for (_, sql) in &triggers {
            recount.push_str(&if_not_exists(sql));
            recount.push(';');
        }
        recount.push_str(&format!(
            "DELETE FROM run_index_meta WHERE key = '{REBUILD_RESTORE}'; COMMIT;"
        ));
        if let Err(e) = self.conn.execute_batch(&recount) {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(self.sql::<()>(Err(e)).unwrap_err());
        }
        let t_indexes = t.elapsed() - t_load;
        let stats = result?;
        // Approximate statistics are enough for the planner and cost milliseconds.
        self.sql(
            self.conn
                .execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;"),
        )?;
        if timing {
            eprintln!(
                "rebuild timing: clear {t_clear:?}, load {t_load:?} (peak RSS {hwm_load} kB), indexes {t_indexes:?}, analyze {:?} (peak RSS {} kB)",
                t.elapsed() - t_load - t_indexes,
                peak_rss_kb()
            );
        }
        Ok(stats)
    }
}
