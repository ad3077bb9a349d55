-- Workflow sessions, schema-compatible with the reference (luthiers-toolbox
-- services/api/app/db/migrations/0001_init_workflow_sessions.sql). Unlike the reference
-- file it does not record itself: the runner keeps applied_migrations.
CREATE TABLE workflow_sessions (
    -- Primary key
    session_id TEXT PRIMARY KEY,

    -- Session metadata
    created_at_utc TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at_utc TEXT NOT NULL DEFAULT (datetime('now')),

    -- Workflow state
    workflow_type TEXT NOT NULL,          -- 'fret_slotting', 'rosette', 'inlay', etc.
    current_step TEXT NOT NULL,           -- Current step in workflow
    status TEXT NOT NULL DEFAULT 'active', -- 'active', 'completed', 'cancelled', 'error'

    -- Context (JSON serialized)
    context_json TEXT,                    -- RmosContext as JSON

    -- Run linkage
    run_ids_json TEXT,                    -- Array of associated run_ids

    -- Machine/material context
    machine_id TEXT,
    material_id TEXT,
    tool_id TEXT,

    -- User tracking
    user_id TEXT,

    -- State data (JSON serialized)
    state_data_json TEXT,                 -- Workflow-specific state

    -- Error tracking
    error_message TEXT,
    error_details_json TEXT
);
