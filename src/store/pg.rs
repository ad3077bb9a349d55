//! Workflow sessions and the change feed on PostgreSQL (the review store is
//! `advisory::PgReviews`, the run index `index::PgCatalog`).
//!
//! The change feed listens on one channel: every commit that changes what a console shows
//! (a decision, an asset, an indexer's batch of runs) sends a notification in its own
//! transaction, so it arrives only once the change is visible. When the server goes away
//! the feed says so ([`ChangeFeed::trouble`]), connects again by itself, and then reports
//! everything as changed (notifications sent meanwhile were lost).

use super::seam::{ChangeFeed, Changes, SessionStore};
use super::sessions::{
    apply_update, check_status, new_id, parse_json, NewSession, SessionError, SessionUpdate,
    WorkflowSession, COLS,
};
use crate::db::pg::{PgConn, PgTarget, CHANNEL};
use crate::domain::Timestamp;
use postgres::{Client, GenericClient};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn session_row(r: &postgres::Row) -> WorkflowSession {
    WorkflowSession {
        session_id: r.get(0),
        created_at_utc: r.get(1),
        updated_at_utc: r.get(2),
        workflow_type: r.get(3),
        current_step: r.get(4),
        status: r.get(5),
        context: parse_json(r.get(6)),
        run_ids: parse_json(r.get(7))
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default(),
        machine_id: r.get(8),
        material_id: r.get(9),
        tool_id: r.get(10),
        user_id: r.get(11),
        state_data: parse_json(r.get(12)),
        error_message: r.get(13),
        error_details: parse_json(r.get(14)),
    }
}

/// Workflow sessions in a PostgreSQL database.
pub struct PgSessions {
    conn: PgConn,
}

impl PgSessions {
    pub fn open(target: &PgTarget) -> Result<PgSessions, SessionError> {
        Ok(PgSessions {
            conn: PgConn::open(target)?,
        })
    }

    fn fetch(
        c: &mut impl GenericClient,
        id: &str,
    ) -> Result<Option<WorkflowSession>, postgres::Error> {
        Ok(c.query_opt(
            &format!("SELECT {COLS} FROM workflow_sessions WHERE session_id = $1"),
            &[&id],
        )?
        .map(|r| session_row(&r)))
    }

    /// Copy a session as it is (`rmos db copy`); false when one with its id is there.
    pub fn copy(&self, s: &WorkflowSession) -> Result<bool, SessionError> {
        let t = self.conn.target().clone();
        Ok(self.conn.write(|c| {
            c.execute(
                "INSERT INTO workflow_sessions (session_id, created_at_utc, updated_at_utc, workflow_type,
                   current_step, status, context_json, run_ids_json, machine_id, material_id, tool_id, user_id,
                   state_data_json, error_message, error_details_json)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                 ON CONFLICT (session_id) DO NOTHING",
                &[
                    &s.session_id,
                    &s.created_at_utc,
                    &s.updated_at_utc,
                    &s.workflow_type,
                    &s.current_step,
                    &s.status,
                    &s.context.as_ref().map(Value::to_string),
                    &serde_json::to_string(&s.run_ids).expect("strings serialize"),
                    &s.machine_id,
                    &s.material_id,
                    &s.tool_id,
                    &s.user_id,
                    &s.state_data.as_ref().map(Value::to_string),
                    &s.error_message,
                    &s.error_details.as_ref().map(Value::to_string),
                ],
            )
            .map(|n| n > 0)
            .map_err(|e| t.sql_error(e))
        })?)
    }
}

impl SessionStore for PgSessions {
    fn create(&self, new: NewSession) -> Result<WorkflowSession, SessionError> {
        let id = new_id(&new)?;
        let now = Timestamp::now().to_pydantic();
        let t = self.conn.target().clone();
        self.conn.write(|c| {
            c.execute(
                "INSERT INTO workflow_sessions (session_id, created_at_utc, updated_at_utc, workflow_type,
                   current_step, status, context_json, run_ids_json, machine_id, material_id, tool_id, user_id)
                 VALUES ($1, $2, $2, $3, $4, 'active', $5, '[]', $6, $7, $8, $9)",
                &[
                    &id,
                    &now,
                    &new.workflow_type,
                    &new.current_step,
                    &new.context.as_ref().map(Value::to_string),
                    &new.machine_id,
                    &new.material_id,
                    &new.tool_id,
                    &new.user_id,
                ],
            )
            .map_err(|e| t.sql_error(e))
        })?;
        self.get(&id)
    }

    fn get(&self, session_id: &str) -> Result<WorkflowSession, SessionError> {
        self.conn
            .read(|c| Self::fetch(c, session_id))?
            .ok_or_else(|| SessionError::NotFound(session_id.to_owned()))
    }

    fn update(
        &self,
        session_id: &str,
        upd: SessionUpdate,
    ) -> Result<WorkflowSession, SessionError> {
        if let Some(s) = &upd.status {
            check_status(s)?;
        }
        let t = self.conn.target().clone();
        self.conn.write(|c| {
            let sql = |e| SessionError::Pg(t.sql_error(e));
            let mut tx = c.transaction().map_err(sql)?;
            // FOR UPDATE: two updates of one session apply one after the other.
            tx.query_opt(
                "SELECT 1 FROM workflow_sessions WHERE session_id = $1 FOR UPDATE",
                &[&session_id],
            )
            .map_err(sql)?;
            let mut s = Self::fetch(&mut tx, session_id)
                .map_err(sql)?
                .ok_or_else(|| SessionError::NotFound(session_id.to_owned()))?;
            apply_update(&mut s, upd);
            tx.execute(
                "UPDATE workflow_sessions SET updated_at_utc = $2, current_step = $3, status = $4,
                   run_ids_json = $5, state_data_json = $6, error_message = $7, error_details_json = $8
                 WHERE session_id = $1",
                &[
                    &session_id,
                    &Timestamp::now().to_pydantic(),
                    &s.current_step,
                    &s.status,
                    &serde_json::to_string(&s.run_ids).expect("strings serialize"),
                    &s.state_data.as_ref().map(Value::to_string),
                    &s.error_message,
                    &s.error_details.as_ref().map(Value::to_string),
                ],
            )
            .map_err(sql)?;
            tx.commit().map_err(sql)
        })?;
        self.get(session_id)
    }

    fn list(
        &self,
        status: Option<&str>,
        workflow_type: Option<&str>,
        limit: usize,
    ) -> Result<Vec<WorkflowSession>, SessionError> {
        Ok(self.conn.read(|c| {
            Ok(c.query(
                &format!(
                    "SELECT {COLS} FROM workflow_sessions
                     WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR workflow_type = $2)
                     ORDER BY created_at_utc DESC, session_id DESC LIMIT $3"
                ),
                &[&status, &workflow_type, &(limit as i64)],
            )?
            .iter()
            .map(session_row)
            .collect())
        })?)
    }
}

/// The change feed of a PostgreSQL database: `LISTEN` on one connection of its own.
pub struct PgChangeFeed {
    target: PgTarget,
    client: Option<Client>,
    /// This process's own newest index mark: its own indexing is not reported.
    own_mark: Arc<Mutex<Option<String>>>,
    /// Why the feed is not listening (the server is unreachable), while it is not.
    trouble: Option<String>,
    /// Whether the feed was listening before (a reconnect then reports everything).
    listened: bool,
    /// When to try connecting again.
    retry_at: Instant,
}

impl PgChangeFeed {
    /// Start listening now (or, if the server cannot be reached, on a later call).
    pub fn open(target: &PgTarget, own_mark: Arc<Mutex<Option<String>>>) -> PgChangeFeed {
        let mut feed = PgChangeFeed {
            target: target.clone(),
            client: None,
            own_mark,
            trouble: None,
            listened: false,
            retry_at: Instant::now(),
        };
        feed.connect();
        feed
    }

    /// Connect and listen; returns whether it is listening now.
    fn connect(&mut self) -> bool {
        let attempt = self.target.connect().and_then(|mut c| {
            c.batch_execute(&format!("LISTEN {CHANNEL}"))
                .map_err(|e| self.target.sql_error(e))?;
            Ok(c)
        });
        match attempt {
            Ok(c) => {
                self.client = Some(c);
                self.trouble = None;
                true
            }
            Err(e) => {
                self.client = None;
                self.trouble = Some(format!(
                    "live updates paused: {e} (trying again every second; what is shown stays as it was)"
                ));
                self.retry_at = Instant::now() + Duration::from_secs(1);
                false
            }
        }
    }

    fn classify(&self, payload: &str, changes: &mut Changes) {
        match payload.split_once(':') {
            Some(("runs", mark)) => {
                let own = self.own_mark.lock().unwrap_or_else(|e| e.into_inner());
                changes.runs |= own.as_deref() != Some(mark);
            }
            _ if payload == "review" => changes.review = true,
            // Unknown payloads (a newer rmos): refresh everything.
            _ => {
                changes.runs = true;
                changes.review = true;
            }
        }
    }
}

impl ChangeFeed for PgChangeFeed {
    fn next(&mut self, timeout: Duration) -> Changes {
        let deadline = Instant::now() + timeout;
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            if self.client.take().is_some() {
                self.trouble = Some(format!(
                    "live updates paused: the connection to the {} was lost (reconnecting; what is shown stays as it was)",
                    self.target.label()
                ));
            }
            let wait = self.retry_at.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                std::thread::sleep(wait.min(timeout));
                if Instant::now() < self.retry_at {
                    return Changes::default();
                }
            }
            if !self.connect() {
                return Changes::default();
            }
            if self.listened {
                // Notifications sent while the feed was away are lost: refresh all.
                return Changes {
                    runs: true,
                    review: true,
                };
            }
        }
        self.listened = true;
        let mut changes = Changes::default();
        let client = self.client.as_mut().expect("connected above");
        let left = deadline.saturating_duration_since(Instant::now());
        let mut got = Vec::new();
        let mut failed = false;
        {
            use postgres::fallible_iterator::FallibleIterator;
            let mut n = client.notifications();
            let first = n.timeout_iter(left).next();
            match first {
                Ok(Some(first)) => {
                    got.push(first.payload().to_owned());
                    // Whatever else already arrived, without waiting.
                    let mut rest = n.iter();
                    loop {
                        match rest.next() {
                            Ok(Some(more)) => got.push(more.payload().to_owned()),
                            Ok(None) => break,
                            Err(_) => {
                                failed = true;
                                break;
                            }
                        }
                    }
                }
                Ok(None) => {}
                Err(_) => failed = true,
            }
        }
        let closed = client.is_closed();
        for p in &got {
            self.classify(p, &mut changes);
        }
        if failed || closed {
            self.client = None;
            self.trouble = Some(format!(
                "live updates paused: the connection to the {} was lost (reconnecting; what is shown stays as it was)",
                self.target.label()
            ));
            self.retry_at = Instant::now() + Duration::from_millis(200);
        }
        changes
    }

    fn trouble(&self) -> Option<String> {
        self.trouble.clone()
    }
}
