//! PostgreSQL, the shared database of a team: where it is (a `postgres://` URL or libpq's
//! `host=… dbname=…` form, with libpq's defaults from `PG*` variables and the password
//! from `PGPASSWORD` or `~/.pgpass`), connections that come back after the server
//! restarts, and the migrations runner for `migrations/postgres/` — the same rules as the
//! SQLite runner ([`super::migrate`]): checksums recorded, each file in its own transaction
//! with its bookkeeping row, an applied file that was edited afterwards refused.

use super::migrate::{self, Migration, MigrationError, MigrationStatus};
use postgres::config::Host;
use postgres::{Client, Config, NoTls};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors of the PostgreSQL layer; each names the database (never its password).
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("database address {given:?}: {why} (write postgres://USER@HOST:PORT/DBNAME, or \"host=HOST dbname=DBNAME user=USER\")")]
    Target { given: String, why: String },
    #[error("cannot connect to {target}: {}{}", describe(.source), advice(.source))]
    Connect {
        target: String,
        #[source]
        source: postgres::Error,
    },
    #[error("{target}: {}{}", describe(.source), advice(.source))]
    Sql {
        target: String,
        #[source]
        source: postgres::Error,
    },
    #[error("{target}: {source}")]
    Changed {
        target: String,
        #[source]
        source: MigrationError,
    },
    #[error("{target}: migration {name} failed and was rolled back (nothing of it was applied): {}{}", describe(.source), advice(.source))]
    MigrationFailed {
        target: String,
        name: String,
        #[source]
        source: postgres::Error,
    },
}

/// What went wrong, in the server's words when the server said it (the driver's own text
/// for those is just "db error"), else the driver's with its cause.
pub fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} ({})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            s.push_str(": ");
            s.push_str(d);
        }
        return s;
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// What to do about a PostgreSQL error, told apart by its SQLSTATE or the I/O error under
/// it (never by message text).
pub fn advice(e: &postgres::Error) -> &'static str {
    use postgres::error::SqlState;
    if let Some(db) = e.as_db_error() {
        let c = db.code();
        return if *c == SqlState::INVALID_PASSWORD
            || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            " — check the user name and the password (PGPASSWORD, or a line in ~/.pgpass)"
        } else if *c == SqlState::INVALID_CATALOG_NAME {
            " — create the database first (createdb NAME), or name another"
        } else if *c == SqlState::INSUFFICIENT_PRIVILEGE {
            " — this database role may not do that: ask the database administrator for the grant (README, Team setup)"
        } else if *c == SqlState::UNDEFINED_TABLE {
            " — the database has no rmos tables yet: run `rmos db migrate --db …`"
        } else if *c == SqlState::ADMIN_SHUTDOWN || *c == SqlState::CANNOT_CONNECT_NOW {
            " — the server is shutting down or starting: try again in a moment"
        } else {
            ""
        };
    }
    if e.is_closed() {
        return " — the connection to the server was lost (rmos connects again on the next try)";
    }
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind as K;
            return match io.kind() {
                K::ConnectionRefused | K::NotFound => {
                    " — is the PostgreSQL server running, and is the address right? (`pg_isready -h HOST -p PORT` checks)"
                }
                K::PermissionDenied => " — this user may not open the server's socket",
                K::TimedOut => " — the server did not answer in time: check the network and the address",
                _ => "",
            };
        }
        src = s.source();
    }
    ""
}

/// The notification channel of rmos's changes; the payload says what changed (`review`,
/// or `runs:MARK` for an indexer's commit).
pub const CHANNEL: &str = "rmos_changes";

/// Whether `text` names a PostgreSQL database (URL or key-value form), not a file.
pub fn is_pg_target(text: &str) -> bool {
    let t = text.trim();
    t.starts_with("postgres://")
        || t.starts_with("postgresql://")
        || t.split_whitespace()
            .next()
            .is_some_and(|w| w.contains('=') && !w.contains('/') || w.starts_with("host="))
}

/// A PostgreSQL database to connect to.
#[derive(Clone)]
pub struct PgTarget {
    config: Config,
    label: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.write_str(&self.label)
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl PgTarget {
    /// Parse a `postgres://` URL or a `key=value …` string, filling in what it leaves out
    /// as libpq does: `PGHOST` (else the socket folder /var/run/postgresql), `PGPORT`
    /// (else 5432), `PGUSER` (else the login name), `PGDATABASE` (else the user name),
    /// the password from `PGPASSWORD`, else from `PGPASSFILE` or `~/.pgpass`.
    pub fn parse(text: &str) -> Result<PgTarget, PgError> {
        let bad = |why: String| PgError::Target {
            given: redact(text),
            why,
        };
        if !is_pg_target(text) {
            return Err(bad("not a PostgreSQL address".into()));
        }
        let mut config: Config = text.trim().parse().map_err(|e| bad(format!("{e}")))?;
        config.connect_timeout(Duration::from_secs(10));
        if config.get_hosts().is_empty() {
            match env("PGHOST") {
                Some(h) => {
                    for one in h.split(',') {
                        config.host(one);
                    }
                }
                None => {
                    config.host_path("/var/run/postgresql");
                }
            }
        }
        if config.get_ports().is_empty() {
            let port = match env("PGPORT") {
                Some(p) => p
                    .parse::<u16>()
                    .map_err(|_| bad(format!("PGPORT={p:?} is not a port number")))?,
                None => 5432,
            };
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .or_else(|| env("LOGNAME"))
                .ok_or_else(|| bad("no user name: add user=NAME (or set PGUSER)".into()))?;
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            let db =
                env("PGDATABASE").unwrap_or_else(|| config.get_user().unwrap_or("").to_owned());
            config.dbname(&db);
        }
        if config.get_application_name().is_none() {
            config.application_name("rmos");
        }
        let host = host_text(&config);
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let user = config.get_user().unwrap_or("").to_owned();
        let dbname = config.get_dbname().unwrap_or("").to_owned();
        if config.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                config.password(p);
            } else if let Some(p) = pgpass_lookup(&host, port, &dbname, &user) {
                config.password(p);
            }
        }
        Ok(PgTarget {
            label: format!("PostgreSQL database {dbname} on {host}:{port} as {user}"),
            config,
        })
    }

    /// The database for messages (`PostgreSQL database rmos on db1:5432 as alice`).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Open a connection.
    pub fn connect(&self) -> Result<Client, PgError> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|source| PgError::Connect {
                target: self.label.clone(),
                source,
            })?;
        // Quiet NOTICEs (CREATE … IF NOT EXISTS) stay out of the user's terminal.
        let _ = client.batch_execute("SET client_min_messages = warning");
        Ok(client)
    }

    /// Open a connection and bring the schema up to date (like the embedded database,
    /// which migrates when it is opened).
    pub fn open(&self) -> Result<Client, PgError> {
        let mut client = self.connect()?;
        migrate_pg(&mut client, self, &migrate::embedded_postgres(), false)?;
        Ok(client)
    }

    pub(crate) fn sql_error(&self, source: postgres::Error) -> PgError {
        PgError::Sql {
            target: self.label.clone(),
            source,
        }
    }
}

/// The host part for messages and `.pgpass` matching.
fn host_text(config: &Config) -> String {
    match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    }
}

/// The address with any password replaced by `***` (for messages).
fn redact(text: &str) -> String {
    let t = text.trim();
    if let Some(rest) = t
        .strip_prefix("postgres://")
        .or_else(|| t.strip_prefix("postgresql://"))
    {
        if let Some((cred, after)) = rest.split_once('@') {
            if let Some((user, _)) = cred.split_once(':') {
                let scheme = &t[..t.len() - rest.len()];
                return format!("{scheme}{user}:***@{after}");
            }
        }
        return t.to_owned();
    }
    t.split_whitespace()
        .map(|w| {
            if w.to_ascii_lowercase().starts_with("password=") {
                "password=***".to_owned()
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The password file libpq reads: `$PGPASSFILE`, else `~/.pgpass`.
fn pgpass_path() -> Option<PathBuf> {
    env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")))
}

/// The password for this connection from the password file, as libpq finds it: the first
/// line `host:port:database:user:password` whose fields match (`*` matches anything; a
/// socket connection also matches `localhost`); `\:` and `\\` escape. Like libpq, a file
/// that others can read is ignored.
fn pgpass_lookup(host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let path = pgpass_path()?;
    let meta = std::fs::metadata(&path).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = String::from_utf8(crate::fsio::read::read_regular(&path, 1024 * 1024).ok()?).ok()?;
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = pgpass_fields(line);
        if fields.len() < 5 {
            continue;
        }
        let m = |field: &str, value: &str| field == "*" || field == value;
        let host_ok = m(&fields[0], host) || (host.starts_with('/') && fields[0] == "localhost");
        if host_ok && m(&fields[1], &port) && m(&fields[2], db) && m(&fields[3], user) {
            return Some(fields[4..].join(":"));
        }
    }
    None
}

fn pgpass_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.last_mut().expect("one field").push(n);
                }
            }
            ':' => out.push(String::new()),
            c => out.last_mut().expect("one field").push(c),
        }
    }
    out
}

const PG_BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS applied_migrations (
    name TEXT PRIMARY KEY,
    checksum TEXT NOT NULL,
    applied_at_utc TEXT NOT NULL
)";

/// The advisory lock key migrators of one database share ("rmos" in ASCII + 1).
const MIGRATION_LOCK: i64 = 0x726d_6f73_0001;

fn pg_recorded(client: &mut Client) -> Result<Vec<(String, String, String)>, postgres::Error> {
    let exists: bool = client
        .query_one("SELECT to_regclass('applied_migrations') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    Ok(client
        .query(
            "SELECT name, checksum, applied_at_utc FROM applied_migrations ORDER BY name",
            &[],
        )?
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Status of every PostgreSQL migration against this database.
pub fn status_pg(
    client: &mut Client,
    target: &PgTarget,
    migrations: &[Migration],
) -> Result<Vec<MigrationStatus>, PgError> {
    let rec = pg_recorded(client).map_err(|e| target.sql_error(e))?;
    Ok(migrate::status_from(rec, migrations))
}

/// Apply pending migrations (or, with `dry_run`, only list them), each in its own
/// transaction with its bookkeeping row, under a transaction-level advisory lock so two
/// processes migrating at once apply each file once. Returns the names applied.
pub fn migrate_pg(
    client: &mut Client,
    target: &PgTarget,
    migrations: &[Migration],
    dry_run: bool,
) -> Result<Vec<String>, PgError> {
    let statuses = status_pg(client, target, migrations)?;
    migrate::refuse_changed(&statuses).map_err(|source| PgError::Changed {
        target: target.label.clone(),
        source,
    })?;
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| {
            statuses
                .iter()
                .any(|s| s.name == m.name && s.state == migrate::MigrationState::Pending)
        })
        .collect();
    if dry_run || pending.is_empty() {
        return Ok(pending.iter().map(|m| m.name.to_owned()).collect());
    }
    let mut applied = Vec::new();
    for m in pending {
        let fail = |source| PgError::MigrationFailed {
            target: target.label.clone(),
            name: m.name.to_owned(),
            source,
        };
        let mut tx = client.transaction().map_err(fail)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(fail)?;
        tx.batch_execute(PG_BOOKKEEPING).map_err(fail)?;
        // Another process may have applied it while we waited for the lock.
        let done: Option<String> = tx
            .query_opt(
                "SELECT checksum FROM applied_migrations WHERE name = $1",
                &[&m.name],
            )
            .map_err(fail)?
            .map(|r| r.get(0));
        let sum = migrate::checksum(m.sql);
        if let Some(c) = done {
            if c != sum {
                return Err(PgError::Changed {
                    target: target.label.clone(),
                    source: MigrationError::Changed {
                        name: m.name.to_owned(),
                        recorded: c,
                        current: sum,
                    },
                });
            }
            continue;
        }
        tx.batch_execute(m.sql).map_err(fail)?;
        let now = crate::domain::Timestamp::now().to_pydantic();
        tx.execute(
            "INSERT INTO applied_migrations (name, checksum, applied_at_utc) VALUES ($1, $2, $3)",
            &[&m.name, &sum, &now],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
        applied.push(m.name.to_owned());
    }
    Ok(applied)
}

/// One connection that comes back: opened (and the schema checked) on first use, opened
/// again after the server went away. Reads are retried once on a fresh connection; a
/// write is never retried (its transaction may or may not have committed when the
/// connection broke, so the caller reports it as not done).
pub struct PgConn {
    target: PgTarget,
    client: RefCell<Option<Client>>,
}

impl PgConn {
    /// Connect now (and migrate), so a wrong address or a stopped server is reported at once.
    pub fn open(target: &PgTarget) -> Result<PgConn, PgError> {
        let client = target.open()?;
        Ok(PgConn {
            target: target.clone(),
            client: RefCell::new(Some(client)),
        })
    }

    pub fn target(&self) -> &PgTarget {
        &self.target
    }

    fn ensure(&self) -> Result<std::cell::RefMut<'_, Client>, PgError> {
        let mut slot = self.client.borrow_mut();
        if slot.as_ref().is_none_or(|c| c.is_closed()) {
            *slot = Some(self.target.connect()?);
        }
        Ok(std::cell::RefMut::map(slot, |c| {
            c.as_mut().expect("connected above")
        }))
    }

    /// Run a read (or an idempotent write); on a lost connection, once more on a new one.
    pub fn read<T>(
        &self,
        mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, PgError> {
        let first = {
            let mut c = self.ensure()?;
            f(&mut c)
        };
        match first {
            Err(e)
                if e.is_closed()
                    || self.client.borrow().as_ref().is_some_and(|c| c.is_closed()) =>
            {
                *self.client.borrow_mut() = None;
                let mut c = self.ensure()?;
                f(&mut c).map_err(|e| self.target.sql_error(e))
            }
            other => other.map_err(|e| self.target.sql_error(e)),
        }
    }

    /// Run a write once; a lost connection is reported (and the next call reconnects).
    pub fn write<T, E: From<PgError>>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, E>,
    ) -> Result<T, E> {
        let out = {
            let mut c = self.ensure()?;
            f(&mut c)
        };
        if out.is_err() && self.client.borrow().as_ref().is_some_and(|c| c.is_closed()) {
            *self.client.borrow_mut() = None;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_fields_unescape() {
        assert_eq!(
            pgpass_fields(r"db\:1:5432:*:al\\ice:pa:ss"),
            vec!["db:1", "5432", "*", r"al\ice", "pa", "ss"]
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://alice:secret@db1/rmos"),
            "postgres://alice:***@db1/rmos"
        );
        assert_eq!(
            redact("host=db1 password=secret dbname=rmos"),
            "host=db1 password=*** dbname=rmos"
        );
    }

    #[test]
    fn targets_are_told_from_paths() {
        assert!(is_pg_target("postgres://db1/rmos"));
        assert!(is_pg_target("postgresql://db1/rmos"));
        assert!(is_pg_target("host=/tmp dbname=rmos"));
        assert!(is_pg_target("dbname=rmos"));
        assert!(!is_pg_target("/var/lib/rmos/rmos.db"));
        assert!(!is_pg_target("sqlite:data/rmos.db"));
    }
}
