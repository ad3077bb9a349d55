-- The shared run index: one row per artifact file of every artifact host. The files stay
-- on their host; `host` says which. Rows are keyed by host + partition + file, so an
-- indexer that restarts upserts the same rows again. Text compares byte by byte
-- (COLLATE "C"), as in SQLite: the keyset order, id prefixes and upper() mean the same on
-- both databases.

CREATE TABLE run_index (
    id BIGSERIAL PRIMARY KEY,
    host TEXT COLLATE "C" NOT NULL,
    partition TEXT COLLATE "C" NOT NULL,
    file_name TEXT COLLATE "C" NOT NULL,
    size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    ino BIGINT NOT NULL DEFAULT 0,
    valid INTEGER NOT NULL,
    error TEXT COLLATE "C",
    run_id TEXT COLLATE "C" NOT NULL,
    created_us BIGINT NOT NULL,
    created_at TEXT COLLATE "C",
    mode TEXT COLLATE "C",
    tool_id TEXT COLLATE "C",
    status TEXT COLLATE "C",
    risk_level TEXT COLLATE "C",
    score DOUBLE PRECISION,
    source TEXT COLLATE "C",
    event_type TEXT COLLATE "C",
    workflow_session_id TEXT COLLATE "C",
    warnings_json TEXT COLLATE "C",
    block_reason TEXT COLLATE "C",
    verify TEXT COLLATE "C",
    mode_key TEXT COLLATE "C",
    tool_key TEXT COLLATE "C",
    risk_key TEXT COLLATE "C",
    source_key TEXT COLLATE "C",
    search_text TEXT COLLATE "C",
    UNIQUE (host, partition, file_name)
);
CREATE INDEX idx_run_index_time ON run_index(created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_run_id ON run_index(run_id);
CREATE INDEX idx_run_index_mode ON run_index(mode_key, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_tool ON run_index(tool_key, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_status ON run_index(status, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_risk ON run_index(risk_key, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_source ON run_index(source_key, created_us DESC, run_id DESC);
CREATE INDEX idx_run_index_invalid ON run_index(created_us DESC) WHERE valid = 0;

-- Per host: when its indexer last changed the index (the change feed's mark).
CREATE TABLE run_index_hosts (
    host TEXT PRIMARY KEY,
    runs_root TEXT NOT NULL,
    last_change_utc TEXT NOT NULL
);
