//! Tests that cannot run here say so, loudly, and never silently where they should run.
//!
//! A skip is recorded in `target/tmp/skipped/<this cargo run>/`; the last test target of
//! `cargo test` (`tests/zz_skipped.rs`) prints every record of its run on one line. Where
//! the environment promised what the test needs, the skip is a failure instead:
//! `RMOS_REQUIRE_PRIVILEGED_TESTS` (set by `.ci/run` as root where tmpfs mounts work) for
//! root and mounts; `RMOS_REQUIRE_USER_NAMESPACES` (set by `.ci/run` where `unshare --user`
//! works) for user namespaces; `CI` for the tools `.ci/run` installs (tmux, sqlite3, OpenSSH's
//! ssh-keygen, ssh-agent and ssh-add, PostgreSQL's server programs).

use std::io::Write;
use std::path::PathBuf;

/// What the environment is expected to provide.
#[derive(Clone, Copy, Debug)]
pub enum Needs {
    /// Root and tmpfs mounts: required when `RMOS_REQUIRE_PRIVILEGED_TESTS` is set.
    Privilege,
    /// A user namespace of the test's own (`unshare --user`): required when
    /// `RMOS_REQUIRE_USER_NAMESPACES` is set.
    UserNamespace,
    /// A tool `.ci/run` installs: required when `CI` is set.
    Tool,
}

/// The folder of this `cargo test` run's records: named after the parent process (cargo)
/// and its start time, so a later run never shows an earlier run's skips.
pub fn run_dir() -> PathBuf {
    // SAFETY: getppid has no preconditions.
    let ppid = unsafe { libc::getppid() };
    let started = std::fs::read_to_string(format!("/proc/{ppid}/stat"))
        .ok()
        .and_then(|s| {
            // Field 22 (start time), counted after the command name's closing parenthesis.
            let rest = &s[s.rfind(')')? + 2..];
            rest.split(' ').nth(19).map(str::to_owned)
        })
        .unwrap_or_else(|| "0".into());
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("skipped")
        .join(format!("{ppid}-{started}"))
}

/// The calling test does not run (or part of it does not), because of `why`. Fails the
/// test instead when the environment promised what it needs.
pub fn skip(needs: Needs, why: &str) {
    let test = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .unwrap_or("?")
        .to_owned();
    let crate_name = env!("CARGO_CRATE_NAME");
    match needs {
        Needs::Privilege => assert!(
            std::env::var_os("RMOS_REQUIRE_PRIVILEGED_TESTS").is_none(),
            "{crate_name}::{test} cannot run ({why}), and RMOS_REQUIRE_PRIVILEGED_TESTS says it must"
        ),
        Needs::UserNamespace => assert!(
            std::env::var_os("RMOS_REQUIRE_USER_NAMESPACES").is_none(),
            "{crate_name}::{test} cannot run ({why}), and RMOS_REQUIRE_USER_NAMESPACES says it must"
        ),
        Needs::Tool => assert!(
            std::env::var_os("CI").is_none(),
            "{crate_name}::{test} cannot run ({why}), and CI is set (.ci/run installs what it needs)"
        ),
    }
    eprintln!("SKIPPED: {crate_name}::{test}: {why}");
    let dir = run_dir();
    let record = (|| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{crate_name}--{test}")))?;
        writeln!(
            f,
            "{crate_name}::{test}\t{}",
            why.replace(['\n', '\t'], " ")
        )
    })();
    if let Err(e) = record {
        eprintln!("(could not record the skip in {}: {e})", dir.display());
    }
}
