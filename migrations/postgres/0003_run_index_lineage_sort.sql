-- What the SQLite index gained (its migrations 0008 and 0009): each run's parent and the
-- plan it executes (children, `parent:`), and a key per sort order with an index on
-- (key, created_us, run_id), so a sorted page is a range seek in either direction.
ALTER TABLE run_index ADD COLUMN parent_run_id TEXT COLLATE "C";
ALTER TABLE run_index ADD COLUMN plan_run_id TEXT COLLATE "C";
CREATE INDEX idx_run_index_parent ON run_index(parent_run_id, created_us DESC, run_id DESC)
    WHERE parent_run_id IS NOT NULL;
CREATE INDEX idx_run_index_plan ON run_index(plan_run_id, created_us DESC, run_id DESC)
    WHERE plan_run_id IS NOT NULL;
ALTER TABLE run_index ADD COLUMN sort_risk INTEGER GENERATED ALWAYS AS (
    CASE risk_key WHEN 'RED' THEN 5 WHEN 'ERROR' THEN 4 WHEN 'YELLOW' THEN 3
                  WHEN 'UNKNOWN' THEN 2 WHEN 'GREEN' THEN 1 ELSE 0 END) STORED;
ALTER TABLE run_index ADD COLUMN sort_score DOUBLE PRECISION GENERATED ALWAYS AS (
    coalesce(score, -1.0e308)) STORED;
ALTER TABLE run_index ADD COLUMN sort_tool TEXT COLLATE "C" GENERATED ALWAYS AS (
    coalesce(tool_key, '')) STORED;
CREATE INDEX idx_run_index_sort_risk ON run_index(sort_risk, created_us, run_id);
CREATE INDEX idx_run_index_sort_score ON run_index(sort_score, created_us, run_id);
CREATE INDEX idx_run_index_sort_tool ON run_index(sort_tool, created_us, run_id);
