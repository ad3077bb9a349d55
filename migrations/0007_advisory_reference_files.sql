-- Two-way exchange with the reference's advisory asset store (its `YYYY/MM/DD/<asset_id>.json`
-- files). One row per asset and reference store folder it is linked to (imported from, or
-- exported to): where the file is, the file's review fields as rmos last read or wrote them
-- (to tell a change made there since from rmos's own write), and whether the newest decision
-- made here is in the file.

CREATE TABLE advisory_reference_files (
    asset_id TEXT NOT NULL,
    root TEXT NOT NULL,                -- the reference asset store folder (absolute)
    rel_path TEXT NOT NULL,            -- YYYY/MM/DD/<asset_id>.json below it
    review_json TEXT NOT NULL,         -- the six review fields, as last read or written
    synced_seq INTEGER,                -- the newest decision the file holds (NULL: none)
    write_back_error TEXT,             -- why the newest decision is not in the file (NULL: it is)
    synced_at TEXT NOT NULL,
    PRIMARY KEY (asset_id, root)
);

-- A decision brought in from a reference asset file records what the file said (reviewer,
-- review time, free-text reason and note, the file) as JSON; NULL for decisions made here.
-- It is covered by the record hash when present, so chains without it hash as before.
ALTER TABLE review_decisions ADD COLUMN imported_json TEXT;
