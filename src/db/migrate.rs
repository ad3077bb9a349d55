//! The migrations runner.
//!
//! Migrations are the `migrations/NNNN_name.sql` files embedded at build time. Each one is
//! applied in its own transaction together with its bookkeeping row in
//! `applied_migrations(name, checksum, applied_at_utc)`, so a failing file leaves nothing
//! behind. The checksum (SHA-256 of the LF-normalized SQL) catches an applied migration
//! whose text was edited afterwards: that is refused, naming the file, because the
//! database no longer matches what the file says. (The reference's runner crashes on every
//! file and keeps no checksums — REFERENCE.md §7.)

use crate::hashing::sha256_text;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// One migration: its name (file stem) and SQL.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

/// The migrations compiled into this binary, in order.
pub fn embedded() -> Vec<Migration> {
    MIGRATIONS
        .iter()
        .map(|(file, sql)| Migration {
            name: file.strip_suffix(".sql").unwrap_or(file),
            sql,
        })
        .collect()
}

/// The PostgreSQL migrations (`migrations/postgres/`) compiled into this binary, in order.
pub fn embedded_postgres() -> Vec<Migration> {
    PG_MIGRATIONS
        .iter()
        .map(|(file, sql)| Migration {
            name: file.strip_suffix(".sql").unwrap_or(file),
            sql,
        })
        .collect()
}

/// SHA-256 of the SQL with CRLF and CR line endings normalized to LF.
pub fn checksum(sql: &str) -> String {
    sha256_text(&sql.replace("\r\n", "\n").replace('\r', "\n"))
}

/// Errors of the runner; each names the migration.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("migration {name} was applied with checksum {recorded} but its file now has checksum {current}: an applied migration must never be edited — restore the file and add a new migration for the change")]
    Changed {
        name: String,
        recorded: String,
        current: String,
    },
    #[error("migration {name} failed and was rolled back (nothing of it was applied): {source}")]
    Failed {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot read migration bookkeeping: {0}")]
    Bookkeeping(#[from] rusqlite::Error),
}

/// State of one migration against a database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum MigrationState {
    Applied {
        applied_at_utc: String,
    },
    Pending,
    /// Applied, but the file's text changed since.
    Changed {
        recorded_checksum: String,
    },
    /// Recorded in the database but unknown to this binary (a newer rmos applied it).
    Unknown {
        applied_at_utc: String,
    },
}

/// One row of `rmos db status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MigrationStatus {
    pub name: String,
    pub checksum: String,
    #[serde(flatten)]
    pub state: MigrationState,
}

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS applied_migrations (
    name TEXT PRIMARY KEY,
    checksum TEXT NOT NULL,
    applied_at_utc TEXT NOT NULL
)";

fn bookkeeping_exists(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'applied_migrations'",
        [],
        |_| Ok(()),
    )
    .optional()
    .map(|r| r.is_some())
}

fn recorded(conn: &Connection) -> rusqlite::Result<Vec<(String, String, String)>> {
    if !bookkeeping_exists(conn)? {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare("SELECT name, checksum, applied_at_utc FROM applied_migrations ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    rows.collect()
}

/// Status of every migration (embedded ones in order, then unknown recorded ones).
pub fn status(
    conn: &Connection,
    migrations: &[Migration],
) -> Result<Vec<MigrationStatus>, MigrationError> {
    Ok(status_from(recorded(conn)?, migrations))
}

/// Status of every migration from the recorded bookkeeping rows (name, checksum, applied
/// at): the embedded ones in order, then recorded ones this binary does not know. Shared by
/// the SQLite and PostgreSQL runners.
pub fn status_from(
    rec: Vec<(String, String, String)>,
    migrations: &[Migration],
) -> Vec<MigrationStatus> {
    let mut out = Vec::new();
    for m in migrations {
        let sum = checksum(m.sql);
        let state = match rec.iter().find(|(n, _, _)| n == m.name) {
            None => MigrationState::Pending,
            Some((_, c, _)) if *c != sum => MigrationState::Changed {
                recorded_checksum: c.clone(),
            },
            Some((_, _, at)) => MigrationState::Applied {
                applied_at_utc: at.clone(),
            },
        };
        out.push(MigrationStatus {
            name: m.name.to_owned(),
            checksum: sum,
            state,
        });
    }
    for (name, sum, at) in rec {
        if !migrations.iter().any(|m| m.name == name) {
            out.push(MigrationStatus {
                name,
                checksum: sum,
                state: MigrationState::Unknown { applied_at_utc: at },
            });
        }
    }
    out
}

/// Fail if any applied migration's text changed.
pub fn refuse_changed(statuses: &[MigrationStatus]) -> Result<(), MigrationError> {
    for s in statuses {
        if let MigrationState::Changed { recorded_checksum } = &s.state {
            return Err(MigrationError::Changed {
                name: s.name.clone(),
                recorded: recorded_checksum.clone(),
                current: s.checksum.clone(),
            });
        }
    }
    Ok(())
}

/// Apply pending migrations (or, with `dry_run`, only list them). Returns the names of the
/// migrations applied (or that would be applied).
pub fn migrate(
    conn: &mut Connection,
    migrations: &[Migration],
    dry_run: bool,
) -> Result<Vec<String>, MigrationError> {
    let statuses = status(conn, migrations)?;
    refuse_changed(&statuses)?;
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| {
            statuses
                .iter()
                .any(|s| s.name == m.name && s.state == MigrationState::Pending)
        })
        .collect();
    if dry_run || pending.is_empty() {
        return Ok(pending.iter().map(|m| m.name.to_owned()).collect());
    }
    let mut applied = Vec::new();
    for m in pending {
        let fail = |source| MigrationError::Failed {
            name: m.name.to_owned(),
            source,
        };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        tx.execute_batch(BOOKKEEPING).map_err(fail)?;
        // Another process may have applied it while we waited for the write lock.
        let done: Option<String> = tx
            .query_row(
                "SELECT checksum FROM applied_migrations WHERE name = ?1",
                [m.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(fail)?;
        if let Some(c) = done {
            if c != checksum(m.sql) {
                return Err(MigrationError::Changed {
                    name: m.name.to_owned(),
                    recorded: c,
                    current: checksum(m.sql),
                });
            }
            continue;
        }
        tx.execute_batch(m.sql).map_err(fail)?;
        let now = crate::domain::Timestamp::now().to_pydantic();
        tx.execute(
            "INSERT INTO applied_migrations (name, checksum, applied_at_utc) VALUES (?1, ?2, ?3)",
            params![m.name, checksum(m.sql), now],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        applied.push(m.name.to_owned());
    }
    Ok(applied)
}
