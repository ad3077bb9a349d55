-- The shared review store and workflow sessions on PostgreSQL: the same tables and
-- columns as the embedded SQLite database (migrations/0001–0007), so `rmos db copy`
-- moves rows unchanged, plus what a server shared by many hosts needs: asset content in
-- the database (reviewers on any machine read it), reviewer roles in a table, and the
-- chain head beside the chain.

CREATE TABLE workflow_sessions (
    session_id TEXT PRIMARY KEY,
    created_at_utc TEXT NOT NULL,
    updated_at_utc TEXT NOT NULL,
    workflow_type TEXT NOT NULL,
    current_step TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    context_json TEXT,
    run_ids_json TEXT,
    machine_id TEXT,
    material_id TEXT,
    tool_id TEXT,
    user_id TEXT,
    state_data_json TEXT,
    error_message TEXT,
    error_details_json TEXT
);
CREATE INDEX idx_workflow_sessions_status ON workflow_sessions(status);
CREATE INDEX idx_workflow_sessions_workflow_type ON workflow_sessions(workflow_type);
CREATE INDEX idx_workflow_sessions_created_at ON workflow_sessions(created_at_utc DESC);
CREATE INDEX idx_workflow_sessions_status_type ON workflow_sessions(status, workflow_type);

CREATE TABLE advisory_assets (
    asset_id TEXT PRIMARY KEY,
    asset_type TEXT NOT NULL,
    source TEXT NOT NULL,
    provider TEXT,
    model TEXT,
    prompt TEXT,
    prompt_hash TEXT,
    request_id TEXT,
    run_id TEXT,
    content_hash TEXT NOT NULL,
    content_path TEXT NOT NULL,
    content_size BIGINT NOT NULL,
    mime TEXT NOT NULL,
    image_width INTEGER,
    image_height INTEGER,
    suggestion_data TEXT,
    confidence DOUBLE PRECISION,
    warnings_json TEXT NOT NULL DEFAULT '[]',
    generation_time_ms BIGINT,
    cost_usd DOUBLE PRECISION,
    created_at TEXT NOT NULL,
    reviewed INTEGER NOT NULL DEFAULT 0,
    approved_for_workflow INTEGER NOT NULL DEFAULT 0,
    reviewed_at TEXT,
    reviewer_id TEXT,
    review_note TEXT,
    rejection_reason TEXT,
    rating BIGINT,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    meta_json TEXT NOT NULL DEFAULT '{}',
    -- Insertion order (the change feed and "newest asset" need one; SQLite has rowid).
    added_seq BIGSERIAL NOT NULL
);
CREATE INDEX idx_advisory_assets_created ON advisory_assets(created_at DESC, asset_id DESC);

-- Asset content by its SHA-256: the bytes travel with the database, so a reviewer on any
-- host can read and verify them.
CREATE TABLE advisory_content (
    content_hash TEXT PRIMARY KEY,
    bytes BYTEA NOT NULL
);

CREATE TABLE review_decisions (
    seq BIGINT PRIMARY KEY,
    asset_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reason TEXT,
    note TEXT,
    reviewer TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    record_hash TEXT NOT NULL UNIQUE,
    signature TEXT,
    signer TEXT,
    imported_json TEXT
);
CREATE INDEX idx_review_decisions_asset ON review_decisions(asset_id, seq);

CREATE FUNCTION rmos_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'review decisions are append-only';
END;
$$;
CREATE TRIGGER review_decisions_append_only BEFORE UPDATE OR DELETE ON review_decisions
    FOR EACH ROW EXECUTE FUNCTION rmos_append_only();
CREATE TRIGGER review_decisions_no_truncate BEFORE TRUNCATE ON review_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION rmos_append_only();

-- The newest record, written in the same transaction as the record (the embedded
-- database keeps it in a file beside rmos.db): a chain cut at its end no longer matches.
CREATE TABLE review_chain_head (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
    seq BIGINT NOT NULL,
    record_hash TEXT NOT NULL,
    decided_at TEXT NOT NULL
);

-- Who may decide. Empty: the data root's config.json decides (as on the embedded
-- database); with rows, only names with the role 'reviewer' may decide.
CREATE TABLE rmos_reviewers (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    added_at TEXT NOT NULL
);
