-- Indexes on workflow_sessions, as in the reference's 0002_add_indexes.sql.
CREATE INDEX IF NOT EXISTS idx_workflow_sessions_status
    ON workflow_sessions(status);
CREATE INDEX IF NOT EXISTS idx_workflow_sessions_workflow_type
    ON workflow_sessions(workflow_type);
CREATE INDEX IF NOT EXISTS idx_workflow_sessions_created_at
    ON workflow_sessions(created_at_utc DESC);
CREATE INDEX IF NOT EXISTS idx_workflow_sessions_user_id
    ON workflow_sessions(user_id);
CREATE INDEX IF NOT EXISTS idx_workflow_sessions_machine_id
    ON workflow_sessions(machine_id);
CREATE INDEX IF NOT EXISTS idx_workflow_sessions_status_type
    ON workflow_sessions(status, workflow_type);
