//! A throwaway PostgreSQL cluster for the tests: `initdb` + `pg_ctl` in a temp folder,
//! reached through a Unix socket only (`listen_addresses = ''`), run as the `postgres`
//! user when the tests run as root (PostgreSQL refuses to run as root). One cluster per
//! test binary, started by the first test that asks and stopped when the binary exits;
//! each test gets a database of its own.
//!
//! Needs PostgreSQL's server programs (`.ci/run` installs the `postgresql` package): where
//! they are missing, [`Pg::database`] records a skip (listed at the end of `cargo test`)
//! and returns `None` — a failure when `CI` is set.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

/// The running cluster of this test binary.
pub struct Cluster {
    /// Owns the data folder and the socket folder (removed after the server stopped).
    dir: PathBuf,
    bin: PathBuf,
    /// Run the server programs as this user (`Some("postgres")` when running as root).
    as_user: Option<String>,
    pub socket_dir: PathBuf,
    pub port: u16,
    stopped: Mutex<bool>,
    /// The superuser's password, when the cluster asks for one.
    pub password: Option<String>,
}

/// One test's database in the shared cluster.
pub struct TestDb {
    pub name: String,
    /// A key-value connection string (`host=… port=… user=postgres dbname=…`).
    pub conninfo: String,
    /// The same database as a `postgres://` URL (socket folder percent-encoded).
    pub url: String,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(1);

fn pg_bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("RMOS_PG_BIN").map(PathBuf::from) {
        return d.join("initdb").is_file().then_some(d);
    }
    // Debian installs the server programs per major version, out of PATH.
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    if let Some(b) = versions.pop() {
        return Some(b);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

impl Cluster {
    fn cmd(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        match &self.as_user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(u).arg("--").arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }

    fn start() -> Result<Cluster, String> {
        Cluster::start_with(None)
    }

    /// Start a cluster; with `password`, local connections need it (SCRAM), as on a
    /// server set up for a team.
    fn start_with(password: Option<&str>) -> Result<Cluster, String> {
        let bin = pg_bin_dir().ok_or_else(|| {
            "PostgreSQL is not installed (no initdb/pg_ctl in /usr/lib/postgresql/*/bin or on PATH; apt-get install postgresql, or set RMOS_PG_BIN)".to_owned()
        })?;
        let as_user = if is_root() {
            let ok = Command::new("id")
                .arg("-u")
                .arg("postgres")
                .output()
                .is_ok_and(|o| o.status.success());
            if !ok {
                return Err("running as root and there is no `postgres` user to run the server as (the postgresql package creates it)".into());
            }
            Some("postgres".to_owned())
        } else {
            None
        };
        // A short path: the socket's full name must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("rmos-pg-")
            .tempdir_in("/tmp")
            .map_err(|e| format!("temp folder: {e}"))?
            .keep();
        if let Some(u) = &as_user {
            let st = Command::new("chown")
                .arg(u)
                .arg(&dir)
                .status()
                .map_err(|e| format!("chown: {e}"))?;
            if !st.success() {
                return Err(format!("cannot chown {} to {u}", dir.display()));
            }
        }
        // The port only names the socket file (no TCP); distinct per cluster all the same.
        static CLUSTERS: AtomicU32 = AtomicU32::new(0);
        let port = 20_000
            + ((std::process::id() * 7 + CLUSTERS.fetch_add(1, Ordering::Relaxed)) % 40_000) as u16;
        let mut c = Cluster {
            socket_dir: dir.clone(),
            dir,
            bin,
            as_user,
            port,
            stopped: Mutex::new(true),
            password: password.map(str::to_owned),
        };
        let data = c.data_dir();
        let mut initdb = c.cmd("initdb");
        match password {
            None => {
                initdb.args(["-A", "trust"]);
            }
            Some(pw) => {
                let file = c.dir.join("pwfile");
                std::fs::write(&file, pw).map_err(|e| format!("pwfile: {e}"))?;
                if let Some(u) = &c.as_user {
                    let _ = Command::new("chown").arg(u).arg(&file).status();
                }
                initdb
                    .args(["-A", "scram-sha-256"])
                    .arg(format!("--pwfile={}", file.display()));
            }
        }
        let out = initdb
            .args(["-U", "postgres", "-E", "UTF8", "--no-sync", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| format!("initdb: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        c.pg_ctl_start()?;
        *c.stopped.get_mut().unwrap() = false;
        static AT_EXIT: std::sync::Once = std::sync::Once::new();
        // SAFETY: stop_at_exit is an extern "C" fn without arguments.
        AT_EXIT.call_once(|| unsafe {
            libc::atexit(stop_at_exit);
        });
        Ok(c)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let opts = format!(
            "-c listen_addresses='' -k {} -p {} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            self.socket_dir.display(),
            self.port
        );
        let out = self
            .cmd("pg_ctl")
            .args(["-w", "-s", "-D"])
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-o", &opts, "start"])
            .output()
            .map_err(|e| format!("pg_ctl start: {e}"))?;
        if !out.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            return Err(format!(
                "pg_ctl start failed: {}{log}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    fn pg_ctl_stop(&self, mode: &str) {
        let _ = self
            .cmd("pg_ctl")
            .args(["-w", "-s", "-m", mode, "-D"])
            .arg(self.data_dir())
            .arg("stop")
            .output();
    }

    /// Stop the server (fast shutdown: clients are disconnected) and start it again on the
    /// same socket, as a server restart mid-session.
    pub fn restart(&self, down_for: std::time::Duration) {
        self.pg_ctl_stop("fast");
        std::thread::sleep(down_for);
        self.pg_ctl_start().expect("restart PostgreSQL");
    }

    /// Stop the server; [`Cluster::start_again`] brings it back.
    pub fn stop(&self) {
        self.pg_ctl_stop("fast");
    }

    pub fn start_again(&self) {
        self.pg_ctl_start().expect("start PostgreSQL again");
    }

    /// Superuser connection string to database `db`.
    pub fn conninfo(&self, db: &str) -> String {
        format!(
            "host={} port={} user=postgres dbname={db}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// [`Cluster::conninfo`] with the password, for the harness's own connections.
    fn admin_conninfo(&self, db: &str) -> String {
        match &self.password {
            Some(pw) => format!(
                "{} password='{}'",
                self.conninfo(db),
                pw.replace('\\', "\\\\").replace('\'', "\\'")
            ),
            None => self.conninfo(db),
        }
    }

    fn shutdown(&self) {
        let mut stopped = self.stopped.lock().unwrap_or_else(|e| e.into_inner());
        if *stopped {
            return;
        }
        *stopped = true;
        self.pg_ctl_stop("immediate");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

extern "C" fn stop_at_exit() {
    if let Some(Ok(c)) = CLUSTER.get() {
        c.shutdown();
    }
}

/// This test binary's cluster, started on first use; `None` (a skip is recorded, a failure
/// under `CI`) when PostgreSQL is not installed. Any other failure to start fails the test.
pub fn cluster() -> Option<&'static Cluster> {
    match CLUSTER.get_or_init(Cluster::start) {
        Ok(c) => Some(c),
        Err(why) if why.starts_with("PostgreSQL is not installed") => {
            super::skip::skip(super::skip::Needs::Tool, why);
            None
        }
        Err(why) => panic!("cannot start a throwaway PostgreSQL cluster: {why}"),
    }
}

/// A cluster of the calling test's own (for tests that stop and start the server, which
/// would break the shared cluster's other tests); stopped when dropped.
pub fn private_cluster() -> Option<Private> {
    private_cluster_with(None)
}

/// A private cluster whose connections need `password` (or any, with `None`).
pub fn private_cluster_with(password: Option<&str>) -> Option<Private> {
    match Cluster::start_with(password) {
        Ok(c) => Some(Private(c)),
        Err(why) if why.starts_with("PostgreSQL is not installed") => {
            super::skip::skip(super::skip::Needs::Tool, &why);
            None
        }
        Err(why) => panic!("cannot start a throwaway PostgreSQL cluster: {why}"),
    }
}

/// A cluster owned by one test.
pub struct Private(pub Cluster);

impl Drop for Private {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

impl Private {
    /// A fresh database in this cluster.
    pub fn database(&self) -> TestDb {
        new_database(&self.0)
    }
}

/// A fresh, empty database for the calling test (see [`cluster`] for `None`).
pub fn database() -> Option<TestDb> {
    Some(new_database(cluster()?))
}

fn new_database(c: &Cluster) -> TestDb {
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = postgres::Client::connect(&c.admin_conninfo("postgres"), postgres::NoTls)
        .expect("connect to the test cluster");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a test database");
    let encoded: String = c
        .socket_dir
        .to_string_lossy()
        .bytes()
        .map(|b| match b {
            b'/' => "%2F".to_owned(),
            b => (b as char).to_string(),
        })
        .collect();
    TestDb {
        conninfo: c.conninfo(&name),
        url: format!("postgres://postgres@{encoded}:{}/{name}", c.port),
        name,
    }
}

/// The path of the cluster's server log (for failure messages).
pub fn server_log() -> Option<PathBuf> {
    match CLUSTER.get() {
        Some(Ok(c)) => Some(c.dir.join("server.log")),
        _ => None,
    }
}

/// The cluster of a private one (its socket folder and port).
pub fn cluster_of(p: &Private) -> &Cluster {
    &p.0
}
