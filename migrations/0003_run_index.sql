-- The run index: a derived, rebuildable summary of every artifact file under the runs
-- root. Files are the record; this table only answers queries quickly.

-- One row per artifact file (valid or not). Invalid files keep their reason in `error`
-- and sort by file modification time.
CREATE TABLE run_index (
    id INTEGER PRIMARY KEY,
    partition TEXT NOT NULL,              -- YYYY-MM-DD directory
    file_name TEXT NOT NULL,              -- <run_id>.json
    size INTEGER NOT NULL,                -- bytes, for change detection
    mtime_ns INTEGER NOT NULL,            -- modification time, for change detection
    valid INTEGER NOT NULL,               -- 1 = parsed and validated, 0 = invalid file
    error TEXT,                           -- why an invalid file is invalid
    run_id TEXT NOT NULL,                 -- the artifact's run_id (file stem when invalid)
    created_us INTEGER NOT NULL,          -- created_at_utc as UTC epoch microseconds (sort key)
    created_at TEXT,                      -- created_at_utc in isoformat, as the reference's API
    mode TEXT,
    tool_id TEXT,
    status TEXT,
    risk_level TEXT,
    score REAL,
    source TEXT,                          -- meta.source or meta.workflow
    event_type TEXT,
    workflow_session_id TEXT,
    warnings_json TEXT,                   -- JSON array of decision.warnings
    block_reason TEXT,
    verify TEXT,                          -- ok | mismatch | placeholder | invalid
    -- Upper-cased match keys (the reference matches case-insensitively).
    mode_key TEXT,
    tool_key TEXT,
    risk_key TEXT,
    source_key TEXT,                      -- 'NONE' when the run has no source (reference quirk)
    search_text TEXT,                     -- lower-cased run_id, tool, warnings, block reason
    UNIQUE (partition, file_name)
);

CREATE INDEX idx_run_index_time ON run_index(created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_run_id ON run_index(run_id);
CREATE INDEX idx_run_index_mode ON run_index(mode_key, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_tool ON run_index(tool_key, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_status ON run_index(status, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_risk ON run_index(risk_key, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_source ON run_index(source_key, created_us DESC, run_id DESC);
-- Invalid files are rare: a partial index finds them without scanning.
CREATE INDEX idx_run_index_invalid ON run_index(created_us DESC) WHERE valid = 0;

-- What was last seen of each partition directory: an unchanged directory mtime means no
-- file was added, removed or renamed there, so a quick reconcile can skip it.
CREATE TABLE run_index_partitions (
    partition TEXT PRIMARY KEY,
    dir_mtime_ns INTEGER NOT NULL,
    file_count INTEGER NOT NULL,
    scanned_at_utc TEXT NOT NULL
);

-- Key/value facts about the index (which runs root it describes, last full reconcile).
CREATE TABLE run_index_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
