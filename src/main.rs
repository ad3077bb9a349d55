//! The `rmos` binary: parse the command line, run it, map failures to exit codes.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let _ = color_eyre::install();
    let cli = rmos::cli::Cli::parse();
    if !cli.opens_console() {
        // Like other Unix tools, end quietly when the reader of our output goes away
        // (`rmos logs recent | head`). Writes are crash-safe, so stopping there loses
        // nothing. The console keeps Rust's default (EPIPE as an error) for its terminal.
        // SAFETY: called before any other thread exists; SIG_DFL is a valid disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let code = match rmos::cli::run(cli) {
        Ok(code) => code,
        Err(f) => {
            if !f.message.is_empty() {
                rmos::cli::out::tell(format_args!("rmos: {}", rmos::text::sanitize(&f.message)));
            }
            ExitCode::from(f.code())
        }
    };
    // RMOS_PEAK_RSS=1: report this process's peak memory (for the memory tests and anyone
    // checking a large store; wait4's figure also counts the parent's memory at spawn).
    if std::env::var_os("RMOS_PEAK_RSS").is_some_and(|v| v == "1") {
        let hwm = rmos::store::index::peak_rss_kb();
        rmos::cli::out::tell(format_args!("rmos: peak RSS {hwm} kB"));
    }
    code
}
