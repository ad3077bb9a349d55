-- Lineage in the run index: the run each run derives from (`parent_run_id`) and the plan
-- it executes (`lineage.parent_plan_run_id`), so the children of a run are one indexed
-- lookup. NULL = no parent (most runs): the indexes hold only runs that have one.
ALTER TABLE run_index ADD COLUMN parent_run_id TEXT;
ALTER TABLE run_index ADD COLUMN plan_run_id TEXT;

CREATE INDEX idx_run_index_parent ON run_index(parent_run_id, created_us DESC, run_id DESC)
    WHERE parent_run_id IS NOT NULL;
CREATE INDEX idx_run_index_plan ON run_index(plan_run_id, created_us DESC, run_id DESC)
    WHERE plan_run_id IS NOT NULL;

-- Rows indexed before these columns existed have them empty: every file is read once
-- more. Forgetting each partition's folder time makes the next pass (quick or full) visit
-- every partition; a row without an inode and with an impossible size is compared by
-- size, which never matches, so the file is read again and its row rewritten whole.
UPDATE run_index SET ino = 0, size = -1;
DELETE FROM run_index_partitions;
