//! `rmos filters list|save|delete`: this user's named filters (see `prefs`), used as
//! `@name` in `--filter` and in the console's filter bar.

use super::{print_json, Ctx, Failure};
use crate::prefs::{Prefs, PrefsError};
use crate::text::sanitize;
use clap::Subcommand;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum FiltersCommand {
    /// The saved filters, by name
    List,
    /// Save a filter under a name (replacing one of that name); use it as @NAME
    Save {
        /// 1–64 letters, digits, '_', '-' or '.'
        name: String,
        /// The filter expression (it must parse), e.g. '(risk:red OR status:blocked) since:1w'
        #[arg(allow_hyphen_values = true)]
        expression: String,
    },
    /// Delete a saved filter
    Delete { name: String },
}

impl From<PrefsError> for Failure {
    fn from(e: PrefsError) -> Failure {
        match e {
            PrefsError::BadName(_) | PrefsError::BadFilter { .. } => Failure::usage(e.to_string()),
            _ => Failure::new(e.to_string()),
        }
    }
}

pub fn run(ctx: &Ctx, cmd: FiltersCommand) -> Result<ExitCode, Failure> {
    let prefs = Prefs::for_user();
    match cmd {
        FiltersCommand::List => {
            let all = prefs.saved_filters()?;
            if ctx.json {
                let filters: serde_json::Map<String, serde_json::Value> = all
                    .into_iter()
                    .map(|(k, v)| (k, serde_json::Value::String(v)))
                    .collect();
                print_json(&serde_json::json!({ "filters": filters }))?;
            } else if all.is_empty() {
                tell!(
                    "no saved filters — `rmos filters save NAME 'EXPR'` saves one ({})",
                    prefs.dir().display()
                );
            } else {
                let width = all.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (name, expr) in all {
                    say!("@{:<width$}  {}", sanitize(&name), sanitize(&expr));
                }
            }
        }
        FiltersCommand::Save { name, expression } => {
            let replaced = prefs.save_filter(&name, &expression)?;
            let saved = prefs.saved_filter(&name)?;
            tell!(
                "{} @{}: {}",
                if replaced { "replaced" } else { "saved" },
                sanitize(&name),
                sanitize(&saved)
            );
        }
        FiltersCommand::Delete { name } => {
            if !prefs.delete_filter(&name)? {
                return Err(Failure::new(format!(
                    "no saved filter named {:?} (rmos filters list shows them)",
                    sanitize(&name)
                )));
            }
            tell!("deleted @{}", sanitize(&name));
        }
    }
    Ok(ExitCode::SUCCESS)
}
