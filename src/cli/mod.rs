//! The command-line interface: argument definitions (clap) and dispatch to the library.
//!
//! Contract (DESIGN.md §9): machine output on stdout (`--json`), human messages on stderr,
//! exit 0 on success, 1 on failure or when violations were found, 2 on usage errors.

mod hash;
mod logs;
mod runs;
pub use runs::VerifyRow;

use crate::config::DataRoot;
use crate::store::StoreError;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// rmos — review console for RMOS manufacturing-decision records.
#[derive(Debug, Parser)]
#[command(name = "rmos", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Data root (default: $RMOS_DATA_DIR or ./data; runs in <data>/runs/rmos or $RMOS_RUNS_DIR)
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Canonical SHA-256 hashes, identical to the reference implementation
    #[command(subcommand)]
    Hash(HashCommand),
    /// Run records: details (and listings)
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Run store maintenance: hash verification
    #[command(subcommand)]
    Runs(RunsCommand),
}

#[derive(Debug, Subcommand)]
pub enum HashCommand {
    /// SHA-256 of the canonical form of a JSON document (sorted keys, compact, Python floats)
    Json(InputArg),
    /// SHA-256 of UTF-8 text, byte for byte
    Text(InputArg),
}

#[derive(Debug, Args)]
pub struct InputArg {
    /// File to read, or - for standard input (default)
    #[arg(value_name = "FILE|-")]
    pub input: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Everything about one run (the reference's run-details shape with --json)
    Show {
        /// The run id (e.g. run_0f3c2a9e7b5d4c1e8a6f2b3d4e5f6a7b)
        run_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Recompute every artifact's feasibility hash; exit 1 on any mismatch or invalid file
    Verify,
}

/// A command failure: the message for stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let code = if matches!(e, StoreError::InvalidRunId { .. }) {
            2
        } else {
            1
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// Global options every command sees.
pub struct Ctx {
    pub root: DataRoot,
    pub json: bool,
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let ctx = Ctx {
        root: DataRoot::resolve(cli.data.as_deref()),
        json: cli.json,
    };
    match cli.command {
        None => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            eprintln!("{}", cmd.render_long_help());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Hash(HashCommand::Json(i))) => hash::json(&ctx, i.input.as_deref()),
        Some(Command::Hash(HashCommand::Text(i))) => hash::text(&ctx, i.input.as_deref()),
        Some(Command::Logs(LogsCommand::Show { run_id })) => logs::show(&ctx, &run_id),
        Some(Command::Runs(RunsCommand::Verify)) => runs::verify(&ctx),
    }
}

/// Print a JSON value on stdout (one document, newline-terminated).
pub(crate) fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)
        .map_err(|e| Failure::new(format!("cannot write output: {e}")))?;
    writeln!(out).map_err(|e| Failure::new(format!("cannot write output: {e}")))
}
