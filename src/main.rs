//! The `rmos` binary: parse the command line, run it, map failures to exit codes.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let _ = color_eyre::install();
    let cli = rmos::cli::Cli::parse();
    match rmos::cli::run(cli) {
        Ok(code) => code,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("rmos: {}", rmos::text::sanitize(&f.message));
            }
            ExitCode::from(f.code)
        }
    }
}
