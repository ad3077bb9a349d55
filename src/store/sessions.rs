//! Workflow sessions (the reference's `workflow_sessions` table, REFERENCE.md §7): a
//! multi-step workflow (rosette, fret slotting, inlay…) with its current step, status,
//! context and the runs it produced.

use crate::domain::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value;

/// Session statuses the reference documents.
pub const STATUSES: [&str; 4] = ["active", "completed", "cancelled", "error"];

/// One workflow session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkflowSession {
    pub session_id: String,
    pub created_at_utc: String,
    pub updated_at_utc: String,
    pub workflow_type: String,
    pub current_step: String,
    pub status: String,
    pub context: Option<Value>,
    pub run_ids: Vec<String>,
    pub machine_id: Option<String>,
    pub material_id: Option<String>,
    pub tool_id: Option<String>,
    pub user_id: Option<String>,
    pub state_data: Option<Value>,
    pub error_message: Option<String>,
    pub error_details: Option<Value>,
}

/// Errors of the sessions store.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("workflow session {0} not found")]
    NotFound(String),
    #[error("invalid session: {0}")]
    Invalid(String),
    #[error("workflow_sessions: {0}{advice}", advice = crate::advice::sqlite(.0))]
    Sql(#[from] rusqlite::Error),
    #[error("workflow_sessions: {0}")]
    Pg(#[from] crate::db::pg::PgError),
    #[error("{0}")]
    Db(#[from] crate::db::DbError),
}

/// Fields of a new session.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
    pub session_id: Option<String>,
    pub workflow_type: String,
    pub current_step: String,
    pub context: Option<Value>,
    pub machine_id: Option<String>,
    pub material_id: Option<String>,
    pub tool_id: Option<String>,
    pub user_id: Option<String>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct SessionUpdate {
    pub current_step: Option<String>,
    pub status: Option<String>,
    pub add_run_ids: Vec<String>,
    pub state_data: Option<Value>,
    pub error_message: Option<String>,
    pub error_details: Option<Value>,
}

pub(crate) fn parse_json(text: Option<String>) -> Option<Value> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<WorkflowSession> {
    Ok(WorkflowSession {
        session_id: r.get(0)?,
        created_at_utc: r.get(1)?,
        updated_at_utc: r.get(2)?,
        workflow_type: r.get(3)?,
        current_step: r.get(4)?,
        status: r.get(5)?,
        context: parse_json(r.get(6)?),
        run_ids: parse_json(r.get(7)?)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        machine_id: r.get(8)?,
        material_id: r.get(9)?,
        tool_id: r.get(10)?,
        user_id: r.get(11)?,
        state_data: parse_json(r.get(12)?),
        error_message: r.get(13)?,
        error_details: parse_json(r.get(14)?),
    })
}

pub(crate) const COLS: &str =
    "session_id, created_at_utc, updated_at_utc, workflow_type, current_step, status, \
    context_json, run_ids_json, machine_id, material_id, tool_id, user_id, state_data_json, \
    error_message, error_details_json";

pub(crate) fn check_status(s: &str) -> Result<(), SessionError> {
    if STATUSES.contains(&s) {
        Ok(())
    } else {
        Err(SessionError::Invalid(format!(
            "status {s:?} is not one of {}",
            STATUSES.join(", ")
        )))
    }
}

/// Create a session (status `active`).
pub fn create(conn: &Connection, new: NewSession) -> Result<WorkflowSession, SessionError> {
    let id = new_id(&new)?;
    let now = Timestamp::now().to_pydantic();
    conn.execute(
        "INSERT INTO workflow_sessions (session_id, created_at_utc, updated_at_utc, workflow_type,
           current_step, status, context_json, run_ids_json, machine_id, material_id, tool_id, user_id)
         VALUES (?1, ?2, ?2, ?3, ?4, 'active', ?5, '[]', ?6, ?7, ?8, ?9)",
        params![
            id,
            now,
            new.workflow_type,
            new.current_step,
            new.context.map(|c| c.to_string()),
            new.machine_id,
            new.material_id,
            new.tool_id,
            new.user_id
        ],
    )?;
    get(conn, &id)
}

/// One session by id.
pub fn get(conn: &Connection, session_id: &str) -> Result<WorkflowSession, SessionError> {
    conn.query_row(
        &format!("SELECT {COLS} FROM workflow_sessions WHERE session_id = ?1"),
        [session_id],
        from_row,
    )
    .optional()?
    .ok_or_else(|| SessionError::NotFound(session_id.to_owned()))
}

/// Apply an update in one transaction; bumps `updated_at_utc`.
pub fn update(
    conn: &Connection,
    session_id: &str,
    upd: SessionUpdate,
) -> Result<WorkflowSession, SessionError> {
    if let Some(s) = &upd.status {
        check_status(s)?;
    }
    let tx = conn.unchecked_transaction()?;
    let mut s = get(&tx, session_id)?;
    apply_update(&mut s, upd);
    tx.execute(
        "UPDATE workflow_sessions SET updated_at_utc = ?2, current_step = ?3, status = ?4,
           run_ids_json = ?5, state_data_json = ?6, error_message = ?7, error_details_json = ?8
         WHERE session_id = ?1",
        params![
            session_id,
            Timestamp::now().to_pydantic(),
            s.current_step,
            s.status,
            serde_json::to_string(&s.run_ids).expect("strings serialize"),
            s.state_data.as_ref().map(Value::to_string),
            s.error_message,
            s.error_details.as_ref().map(Value::to_string),
        ],
    )?;
    tx.commit()?;
    get(conn, session_id)
}

/// Merge an update into a session (both backends).
pub(crate) fn apply_update(s: &mut WorkflowSession, upd: SessionUpdate) {
    if let Some(step) = upd.current_step {
        s.current_step = step;
    }
    if let Some(st) = upd.status {
        s.status = st;
    }
    for id in upd.add_run_ids {
        if !s.run_ids.contains(&id) {
            s.run_ids.push(id);
        }
    }
    if upd.state_data.is_some() {
        s.state_data = upd.state_data;
    }
    if upd.error_message.is_some() {
        s.error_message = upd.error_message;
    }
    if upd.error_details.is_some() {
        s.error_details = upd.error_details;
    }
}

/// Check a new session's required fields and give it an id.
pub(crate) fn new_id(new: &NewSession) -> Result<String, SessionError> {
    if new.workflow_type.trim().is_empty() || new.current_step.trim().is_empty() {
        return Err(SessionError::Invalid(
            "workflow_type and current_step are required".into(),
        ));
    }
    Ok(new
        .session_id
        .clone()
        .unwrap_or_else(|| format!("ws_{}", uuid::Uuid::new_v4().simple())))
}

/// Sessions, newest first, optionally by status and workflow type.
pub fn list(
    conn: &Connection,
    status: Option<&str>,
    workflow_type: Option<&str>,
    limit: usize,
) -> Result<Vec<WorkflowSession>, SessionError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLS} FROM workflow_sessions
         WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR workflow_type = ?2)
         ORDER BY created_at_utc DESC, session_id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![status, workflow_type, limit as i64], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
