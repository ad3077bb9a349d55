-- Sorting the run list by a column other than time runs in the index: a virtual column
-- per sort key (computed from the row, nothing stored) and an index on (key, created_us,
-- run_id), so a sorted page is a range seek and an ordered walk in either direction,
-- never a sort of the matching rows. Risk sorts by severity; a missing score sorts below
-- every score; tools case-insensitively.
ALTER TABLE run_index ADD COLUMN sort_risk INTEGER GENERATED ALWAYS AS (
    CASE risk_key WHEN 'RED' THEN 5 WHEN 'ERROR' THEN 4 WHEN 'YELLOW' THEN 3
                  WHEN 'UNKNOWN' THEN 2 WHEN 'GREEN' THEN 1 ELSE 0 END) VIRTUAL;
ALTER TABLE run_index ADD COLUMN sort_score REAL GENERATED ALWAYS AS (
    coalesce(score, -1.0e308)) VIRTUAL;
ALTER TABLE run_index ADD COLUMN sort_tool TEXT GENERATED ALWAYS AS (
    coalesce(tool_key, '')) VIRTUAL;
CREATE INDEX idx_run_index_sort_risk ON run_index(sort_risk, created_us, run_id);
CREATE INDEX idx_run_index_sort_score ON run_index(sort_score, created_us, run_id);
CREATE INDEX idx_run_index_sort_tool ON run_index(sort_tool, created_us, run_id);
