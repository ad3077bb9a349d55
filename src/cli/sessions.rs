//! `rmos sessions list|show`.

use super::{print_json, Ctx, Failure};
use crate::text::sanitize;
use std::process::ExitCode;

pub fn list(
    ctx: &Ctx,
    status: Option<&str>,
    workflow_type: Option<&str>,
    limit: usize,
) -> Result<ExitCode, Failure> {
    let rows = ctx.root.sessions()?.list(status, workflow_type, limit)?;
    if ctx.json {
        print_json(&serde_json::json!({"sessions": rows, "total": rows.len()}))?;
    } else if rows.is_empty() {
        tell!("no workflow sessions");
    } else {
        for s in &rows {
            say!(
                "{}  {:<10} {:<14} step {:<16} {} runs  {}",
                sanitize(&s.session_id),
                sanitize(&s.status),
                sanitize(&s.workflow_type),
                sanitize(&s.current_step),
                s.run_ids.len(),
                sanitize(&s.updated_at_utc)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(ctx: &Ctx, id: &str) -> Result<ExitCode, Failure> {
    let s = ctx.root.sessions()?.get(id)?;
    if ctx.json {
        print_json(&serde_json::to_value(&s).expect("session serializes"))?;
    } else {
        let pretty = serde_json::to_string_pretty(&s).unwrap_or_default();
        say!("{}", crate::text::sanitize_multiline(&pretty));
    }
    Ok(ExitCode::SUCCESS)
}
