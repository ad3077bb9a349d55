//! The command-line interface: argument definitions (clap) and dispatch to the library.
//!
//! Contract (DESIGN.md §9): machine output on stdout (`--json`), human messages on stderr,
//! exit 0 on success, 1 on failure or when violations were found, 2 on usage errors.

/// A line on stdout through [`out::say`] (escaped for the terminal).
macro_rules! say {
    ($($arg:tt)*) => { $crate::cli::out::say(format_args!($($arg)*)) };
}

/// A line on stderr through [`out::tell`] (escaped for the terminal).
macro_rules! tell {
    ($($arg:tt)*) => { $crate::cli::out::tell(format_args!($($arg)*)) };
}

mod advisory;
mod db;
mod exit;
mod filters;
mod hash;
mod index;
mod input;
mod logs;
pub mod out;
mod progress;
mod reviewers;
mod runs;
mod score;
mod sessions;
mod snapshot;
pub use exit::{Exit, ExitStatus, Failure};
pub use runs::VerifyRow;

use crate::config::DataRoot;
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// rmos — review console for RMOS manufacturing-decision records.
#[derive(Debug, Parser)]
#[command(name = "rmos", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Data root (default: $RMOS_DATA_DIR or ./data; runs in <data>/runs/rmos or $RMOS_RUNS_DIR)
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Shared PostgreSQL database for a team (postgres://USER@HOST/DB or "host=… dbname=…";
    /// password from PGPASSWORD or ~/.pgpass). Default: the embedded rmos.db in the data root
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "RMOS_DB_URL",
        hide_env_values = true
    )]
    pub db: Option<String>,

    /// Machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Whether this invocation opens the interactive console.
    pub fn opens_console(&self) -> bool {
        matches!(
            self.command,
            None | Some(Command::Demo { no_tui: false, .. })
        )
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Seed the data root with demo content through the real pipeline, then open the console
    Demo {
        /// Reset an existing demo data root first (asks for confirmation)
        #[arg(long)]
        fresh: bool,
        /// Do not ask before --fresh resets
        #[arg(long, short = 'y')]
        yes: bool,
        /// Seed only; do not open the console
        #[arg(long)]
        no_tui: bool,
    },
    /// Shell completions (bash, zsh, fish, elvish, powershell) on stdout
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: rmos man > rmos.1
    Man,
    /// Canonical SHA-256 hashes, identical to the reference implementation
    #[command(subcommand)]
    Hash(HashCommand),
    /// Run records: details (and listings)
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Run store maintenance: hash verification
    #[command(subcommand)]
    Runs(RunsCommand),
    /// The derived SQLite run index
    #[command(subcommand)]
    Index(IndexCommand),
    /// Feasibility of a rosette design; records an art_studio run
    Score(ScoreArgs),
    /// Advisory assets: add, review (approve/reject), attach to runs
    #[command(subcommand)]
    Advisory(advisory::AdvisoryCommand),
    /// The review decisions' audit chain
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Reviewers: their roles and the SSH keys that sign their decisions
    #[command(subcommand)]
    Reviewers(reviewers::ReviewersCommand),
    /// Rosette design snapshots
    #[command(subcommand)]
    Snapshot(snapshot::SnapshotCommand),
    /// CAM settings backups
    #[command(subcommand)]
    Backup(snapshot::BackupCommand),
    /// Database migrations
    #[command(subcommand)]
    Db(DbCommand),
    /// Workflow sessions
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Your saved filters (use one as --filter @NAME, or @NAME in the console)
    #[command(subcommand)]
    Filters(filters::FiltersCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the decision chain and check each decision's signature; exit 1 on any edited,
    /// deleted or reordered record (and on signatures the policy does not accept)
    Verify {
        /// Also require the chain to hold this record (a hash printed earlier by `rmos audit
        /// head` and kept elsewhere): detects a chain rewritten or cut before it
        #[arg(long, value_name = "HASH")]
        expect_head: Option<String>,
    },
    /// The newest decision record's sequence number and hash: keep it outside this machine
    /// (a ticket, a commit, an e-mail) and check it later with `audit verify --expect-head`
    Head,
}

#[derive(Debug, Subcommand)]
pub enum IndexCommand {
    /// Drop the index and rebuild it from the artifact files
    Rebuild,
    /// What the index holds
    Status,
    /// Rewrite the reference's `_index.json` in the runs folder from the artifact files
    /// (so runs rmos wrote appear in the reference's lists), keeping its tombstones
    ExportReference,
    /// Keep the index in line with this host's runs folder until stopped (SIGTERM,
    /// Ctrl-C): one per artifact host, publishing into the shared database given by --db
    /// under this host's name (RMOS_HOST, else the system host name). Logs JSON lines on stderr
    Watch {
        /// Seconds between full passes (every file's size and time compared)
        #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(5..=86_400))]
        full_every: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Apply pending migrations
    Migrate {
        /// List what would be applied, change nothing
        #[arg(long)]
        dry_run: bool,
    },
    /// Applied, pending and changed migrations
    Status,
    /// Copy a single-host setup into a shared PostgreSQL database: assets with their
    /// content, the decision chain record for record, sessions and the reviewers list (the
    /// run index is published by each host's `rmos index watch`)
    Copy {
        /// The embedded database: sqlite:DATA_DIR or sqlite:DATA_DIR/rmos.db
        #[arg(long, value_name = "sqlite:PATH")]
        from: String,
        /// The PostgreSQL database (default: --db / RMOS_DB_URL)
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// Workflow sessions, newest first
    List {
        /// Only this status (active, completed, cancelled, error)
        #[arg(long)]
        status: Option<String>,
        /// Only this workflow type (rosette, fret_slotting, ...)
        #[arg(long = "type", value_name = "TYPE")]
        workflow_type: Option<String>,
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
    /// One workflow session
    Show { session_id: String },
}

/// Arguments of `rmos score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// A design (RosetteParamSpec or legacy form) or {"design", "ctx", "workflow_mode"}; - for stdin
    #[arg(
        value_name = "FILE",
        required_unless_present = "batch",
        conflicts_with = "batch"
    )]
    pub file: Option<PathBuf>,
    /// Score one design per line of a JSON Lines file (- for stdin; progress on stderr)
    #[arg(long, value_name = "FILE.jsonl")]
    pub batch: Option<PathBuf>,
    /// Score only; record nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Filters of `rmos logs recent` (the reference's logs v1 parameters plus `--filter`).
#[derive(Debug, Args)]
pub struct RecentArgs {
    /// Mode, exact and case-insensitive (art_studio, saw, router, cam, ...)
    #[arg(long)]
    pub mode: Option<String>,
    /// Tool id, exact and case-insensitive
    #[arg(long)]
    pub tool_id: Option<String>,
    /// Risk level (GREEN, YELLOW, RED, UNKNOWN, ERROR), case-insensitive
    #[arg(long)]
    pub risk_level: Option<String>,
    /// Status (OK, BLOCKED, ERROR), case-insensitive
    #[arg(long)]
    pub status: Option<String>,
    /// Source: meta.source or meta.workflow (`none` matches runs without one)
    #[arg(long)]
    pub source: Option<String>,
    /// Filter expression, e.g. 'risk:red,yellow -status:ok score<50 since:2d' or
    /// '(tool:a OR tool:b) -verify:ok' (it may start with '-': `--filter -risk:green`), or
    /// @NAME for a saved filter (rmos filters)
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub filter: Option<String>,
    /// Entries per page, 1 to 500 (the reference's logs API refuses more)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=500))]
    pub limit: u32,
    /// Continue after this cursor (the next_cursor of the previous page)
    #[arg(long)]
    pub cursor: Option<String>,
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
    /// Recent runs, newest first, filtered in the index (the reference's logs v1 shape)
    Recent(RecentArgs),
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
    /// Runs per hour, day or week for a filter, stacked by risk level (or status)
    Timeline {
        /// Filter expression (as in logs recent), or @NAME
        #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
        filter: Option<String>,
        /// Bucket width: hour, day or week
        #[arg(long, default_value = "day", value_parser = ["hour", "day", "week"])]
        bucket: String,
        /// How many buckets, ending with the newest run's
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1000))]
        buckets: u32,
        /// Stack by risk level or by status
        #[arg(long, default_value = "risk", value_parser = ["risk", "status"])]
        by: String,
    },
    /// What differs between two runs, field by field (decision, warnings, hashes,
    /// feasibility, lineage …)
    Diff {
        /// The first run (as `logs show` takes it)
        a: String,
        /// The second run
        b: String,
    },
    /// The runs derived from a run (their parent_run_id) or executing it as their plan
    /// (lineage.parent_plan_run_id), newest first
    Children {
        /// The parent run's id
        run_id: String,
        /// How many to list (the newest); the total is always counted
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
    },
}

/// Global options every command sees.
pub struct Ctx {
    pub root: DataRoot,
    pub json: bool,
}

impl Ctx {
    /// Open the run index, saying on stderr when it is kept outside a read-only data root.
    pub fn open_index(
        &self,
    ) -> Result<Box<dyn crate::store::seam::RunCatalog>, crate::store::index::IndexError> {
        let index = self.root.catalog()?;
        // A shared index is a server's: the data root's write access does not matter.
        let note = match self.root.db {
            Some(_) => None,
            None => self.root.index_note_for(Path::new(&index.location())),
        };
        if let Some(note) = note {
            tell!("note: {}", crate::text::sanitize(&note));
        }
        Ok(index)
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let ctx = Ctx {
        root: DataRoot::resolve(cli.data.as_deref()).with_db(cli.db.as_deref())?,
        json: cli.json,
    };
    match cli.command {
        None => console(&ctx),
        Some(Command::Demo { fresh, yes, no_tui }) => demo(&ctx, fresh, yes, no_tui),
        Some(Command::Completions { shell }) => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "rmos", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Man) => {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map_err(output_error)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Hash(HashCommand::Json(i))) => hash::json(&ctx, i.input.as_deref()),
        Some(Command::Hash(HashCommand::Text(i))) => hash::text(&ctx, i.input.as_deref()),
        Some(Command::Logs(LogsCommand::Show { run_id })) => logs::show(&ctx, &run_id),
        Some(Command::Runs(RunsCommand::Verify)) => runs::verify(&ctx),
        Some(Command::Runs(RunsCommand::Diff { a, b })) => runs::diff(&ctx, &a, &b),
        Some(Command::Runs(RunsCommand::Children { run_id, limit })) => {
            runs::children(&ctx, &run_id, limit as usize)
        }
        Some(Command::Runs(RunsCommand::Timeline {
            filter,
            bucket,
            buckets,
            by,
        })) => runs::timeline(&ctx, filter.as_deref(), &bucket, buckets as usize, &by),
        Some(Command::Logs(LogsCommand::Recent(args))) => logs::recent(&ctx, &args),
        Some(Command::Index(IndexCommand::Rebuild)) => index::rebuild(&ctx),
        Some(Command::Index(IndexCommand::Status)) => index::status(&ctx),
        Some(Command::Index(IndexCommand::ExportReference)) => index::export_reference(&ctx),
        Some(Command::Index(IndexCommand::Watch { full_every })) => index::watch(&ctx, full_every),
        Some(Command::Db(DbCommand::Migrate { dry_run })) => db::migrate(&ctx, dry_run),
        Some(Command::Advisory(cmd)) => advisory::advisory(&ctx, cmd),
        Some(Command::Audit(AuditCommand::Verify { expect_head })) => {
            advisory::audit_verify(&ctx, expect_head.as_deref())
        }
        Some(Command::Audit(AuditCommand::Head)) => advisory::audit_head(&ctx),
        Some(Command::Reviewers(cmd)) => reviewers::reviewers(&ctx, cmd),
        Some(Command::Snapshot(cmd)) => snapshot::snapshot(&ctx, cmd),
        Some(Command::Backup(cmd)) => snapshot::backup(&ctx, cmd),
        Some(Command::Score(args)) => match (&args.batch, &args.file) {
            (Some(batch), _) => score::batch(&ctx, batch, args.dry_run),
            (None, Some(file)) => score::single(&ctx, file, args.dry_run),
            (None, None) => Err(Failure::usage(
                "rmos score needs FILE or --batch FILE.jsonl",
            )),
        },
        Some(Command::Db(DbCommand::Status)) => db::status(&ctx),
        Some(Command::Db(DbCommand::Copy { from, to })) => db::copy(&ctx, &from, to.as_deref()),
        Some(Command::Sessions(SessionsCommand::List {
            status,
            workflow_type,
            limit,
        })) => sessions::list(
            &ctx,
            status.as_deref(),
            workflow_type.as_deref(),
            limit as usize,
        ),
        Some(Command::Sessions(SessionsCommand::Show { session_id })) => {
            sessions::show(&ctx, &session_id)
        }
        Some(Command::Filters(cmd)) => filters::run(&ctx, cmd),
    }
}

/// A `--filter` argument as a filter: `@NAME` expands a saved filter; a parse error is a
/// usage error with its position. No argument is the empty filter.
pub(crate) fn filter_arg(typed: Option<&str>) -> Result<crate::filter::Filter, Failure> {
    use crate::filter::Filter;
    let Some(typed) = typed else {
        return Ok(Filter::default());
    };
    let text = crate::prefs::Prefs::for_user()
        .expand(typed)
        .map_err(|e| Failure::usage(format!("--filter {typed:?}: {e}")))?;
    Filter::parse(&text).map_err(|e| Failure::usage(format!("--filter {text:?}: {e}")))
}

/// `rmos demo`.
fn demo(ctx: &Ctx, fresh: bool, yes: bool, no_tui: bool) -> Result<ExitCode, Failure> {
    use std::io::{BufRead, IsTerminal};
    let root = &ctx.root;
    if fresh {
        if !yes {
            if !std::io::stdin().is_terminal() {
                return Err(Failure::usage(
                    "--fresh deletes the demo data; confirm with --yes when not at a terminal",
                ));
            }
            out::prompt(format_args!(
                "Reset the demo data in {}? Runs, assets and decisions there are deleted. [y/N] ",
                root.data_dir.display()
            ));
            let mut answer = String::new();
            let _ = std::io::stdin().lock().read_line(&mut answer);
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                tell!("nothing was changed");
                return Ok(ExitCode::SUCCESS);
            }
        }
        let reset = crate::demo::reset(root).map_err(|e| Failure::new(e.to_string()))?;
        if !reset.kept.is_empty() {
            tell!(
                "kept {} files the demo did not create, e.g. {}",
                reset.kept.len(),
                crate::text::sanitize(&reset.kept[0].display().to_string())
            );
        }
    }
    let report = crate::demo::seed(root).map_err(|e| Failure::new(e.to_string()))?;
    if ctx.json {
        print_json(&serde_json::to_value(&report).expect("report serializes"))?;
    }
    tell!(
        "demo data in {}: {} runs added ({} already there), {} snapshots, {} advisory assets, {} review decisions, {} backup",
        root.data_dir.display(),
        report.runs_added,
        report.runs_present,
        report.snapshots_added,
        report.assets_added,
        report.decisions_added,
        report.backups_added
    );
    if no_tui {
        return Ok(ExitCode::SUCCESS);
    }
    console(ctx)
}

/// `rmos` with no subcommand: the console on a terminal; otherwise an explanation.
fn console(ctx: &Ctx) -> Result<ExitCode, Failure> {
    use std::io::IsTerminal;
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        use clap::CommandFactory;
        tell!(
            "rmos: the console needs a terminal (stdin and stdout are not both a TTY).\n\
             Use the command-line interface instead, for example:\n  \
             rmos logs recent --json\n  rmos logs show RUN_ID\n  rmos runs verify\n"
        );
        tell!("{}", Cli::command().render_help());
        // A usage error: scripts that run `rmos` without a terminal learn it failed.
        return Ok(Exit::Usage.into());
    }
    crate::tui::run_terminal(ctx.root.clone())
        .map_err(|e| Failure::new(format!("console: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// A failure writing to stdout. A closed pipe (`rmos … | head`) ends the command quietly.
pub(crate) fn output_error(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::quiet()
    } else {
        Failure::new(format!("cannot write output: {e}"))
    }
}

/// Print a JSON value on stdout (one document, newline-terminated).
pub(crate) fn print_json(value: &serde_json::Value) -> Result<(), Failure> {
    out::json(value).map_err(output_error)
}
