-- Advisory assets (AI-generated images, explanations, suggestions, validations) and the
-- append-only review decisions that govern them.

CREATE TABLE advisory_assets (
    asset_id TEXT PRIMARY KEY,            -- adv_ + 12 hex
    asset_type TEXT NOT NULL,             -- IMAGE | EXPLANATION | SUGGESTION | VALIDATION | ANALYSIS | PATTERN
    source TEXT NOT NULL,                 -- ai_graphics | ai_analysis | ai_suggestion | …
    provider TEXT,
    model TEXT,
    prompt TEXT,
    prompt_hash TEXT,                     -- first 16 hex of sha256 of the normalized prompt
    request_id TEXT,
    run_id TEXT,                          -- the run it was generated for, if any
    content_hash TEXT NOT NULL,           -- sha256 of the exact stored bytes
    content_path TEXT NOT NULL,           -- blob path relative to the data root
    content_size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    image_width INTEGER,
    image_height INTEGER,
    suggestion_data TEXT,                 -- JSON, for SUGGESTION / VALIDATION / PATTERN
    confidence REAL,
    warnings_json TEXT NOT NULL DEFAULT '[]',
    generation_time_ms INTEGER,
    cost_usd REAL,
    created_at TEXT NOT NULL,
    -- Review state: a projection of the newest decision (review_decisions is the record).
    reviewed INTEGER NOT NULL DEFAULT 0,
    approved_for_workflow INTEGER NOT NULL DEFAULT 0,
    reviewed_at TEXT,
    reviewer_id TEXT,
    review_note TEXT,
    rejection_reason TEXT,
    rating INTEGER,
    is_favorite INTEGER NOT NULL DEFAULT 0,
    meta_json TEXT NOT NULL DEFAULT '{}'
);

CREATE INDEX idx_advisory_assets_state ON advisory_assets(reviewed, approved_for_workflow, created_at DESC);

-- One row per decision, never updated or deleted. Each record carries the hash of the
-- previous one, so an edited, deleted or reordered record breaks the chain.
CREATE TABLE review_decisions (
    seq INTEGER PRIMARY KEY,
    asset_id TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    decision TEXT NOT NULL CHECK (decision IN ('approved', 'rejected')),
    reason TEXT,
    note TEXT,
    reviewer TEXT NOT NULL,
    decided_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    record_hash TEXT NOT NULL
);

CREATE INDEX idx_review_decisions_asset ON review_decisions(asset_id, seq);

CREATE TRIGGER review_decisions_append_only_update BEFORE UPDATE ON review_decisions
BEGIN
    SELECT RAISE(ABORT, 'review decisions are append-only');
END;

CREATE TRIGGER review_decisions_append_only_delete BEFORE DELETE ON review_decisions
BEGIN
    SELECT RAISE(ABORT, 'review decisions are append-only');
END;
