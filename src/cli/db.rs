//! `rmos db migrate|status|copy`.

use super::Exit;
use super::{print_json, Ctx, Failure};
use crate::db::{self, migrate};
use std::process::ExitCode;

pub fn migrate(ctx: &Ctx, dry_run: bool) -> Result<ExitCode, Failure> {
    if let Some(t) = &ctx.root.db {
        let mut client = t.connect()?;
        let names = db::pg::migrate_pg(&mut client, t, &migrate::embedded_postgres(), dry_run)?;
        return report_migrate(ctx, dry_run, &names, t.label());
    }
    let path = ctx.root.db_path();
    let mut conn = db::connect(&path)?;
    let names = migrate::migrate(&mut conn, &migrate::embedded(), dry_run)
        .map_err(|e| Failure::new(format!("database {}: {e}", path.display())))?;
    report_migrate(ctx, dry_run, &names, &path.display().to_string())
}

fn report_migrate(
    ctx: &Ctx,
    dry_run: bool,
    names: &[String],
    database: &str,
) -> Result<ExitCode, Failure> {
    if ctx.json {
        print_json(
            &serde_json::json!({"dry_run": dry_run, "applied": names, "database": database}),
        )?;
    } else if names.is_empty() {
        tell!("{database}: up to date, nothing to apply");
    } else {
        let verb = if dry_run { "would apply" } else { "applied" };
        for n in names {
            say!("{verb} {n}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let (rows, database) = match &ctx.root.db {
        Some(t) => {
            let mut client = t.connect()?;
            (
                db::pg::status_pg(&mut client, t, &migrate::embedded_postgres())?,
                t.label().to_owned(),
            )
        }
        None => {
            let path = ctx.root.db_path();
            let conn = db::connect(&path)?;
            let rows = migrate::status(&conn, &migrate::embedded())
                .map_err(|e| Failure::new(format!("database {}: {e}", path.display())))?;
            (rows, path.display().to_string())
        }
    };
    let changed = rows
        .iter()
        .any(|r| matches!(r.state, migrate::MigrationState::Changed { .. }));
    if ctx.json {
        print_json(&serde_json::json!({"database": database, "migrations": rows}))?;
    } else {
        for r in &rows {
            let state = match &r.state {
                migrate::MigrationState::Applied { applied_at_utc } => {
                    format!("applied {applied_at_utc}")
                }
                migrate::MigrationState::Pending => "pending".into(),
                migrate::MigrationState::Changed { .. } => "CHANGED since it was applied".into(),
                migrate::MigrationState::Unknown { applied_at_utc } => {
                    format!("applied {applied_at_utc} by another rmos version (unknown here)")
                }
            };
            say!("{:<36} {state}", r.name);
        }
    }
    Ok(if changed {
        Exit::Failure.into()
    } else {
        ExitCode::SUCCESS
    })
}

/// `rmos db copy --from sqlite:PATH [--to URL]`.
pub fn copy(ctx: &Ctx, from: &str, to: Option<&str>) -> Result<ExitCode, Failure> {
    let Some(path) = from.strip_prefix("sqlite:") else {
        return Err(Failure::usage(format!(
            "--from {}: give the embedded database as sqlite:DATA_DIR or sqlite:DATA_DIR/rmos.db",
            crate::text::sanitize(from)
        )));
    };
    let path = std::path::Path::new(path);
    let (db_file, data_dir) = if path.is_dir() {
        (path.join("rmos.db"), path.to_path_buf())
    } else {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        (path.to_path_buf(), dir.to_path_buf())
    };
    let target = match to {
        Some(t) => db::pg::PgTarget::parse(t)?,
        None => ctx.root.db.clone().ok_or_else(|| {
            Failure::usage("say where to copy to: --to postgres://… (or --db / RMOS_DB_URL)")
        })?,
    };
    let report = crate::store::dbcopy::copy_sqlite_to_pg(&db_file, &data_dir, &target)?;
    if ctx.json {
        print_json(&serde_json::to_value(&report).expect("report serializes"))?;
    }
    tell!(
        "copied {} into the {}: {} assets ({} already there), {} decisions ({} already there; the chain verifies: {} records), {} sessions ({} already there), {} reviewer roles",
        db_file.display(),
        target.label(),
        report.assets_copied,
        report.assets_already_there,
        report.decisions_copied,
        report.decisions_already_there,
        report.chain_records,
        report.sessions_copied,
        report.sessions_already_there,
        report.reviewers_copied
    );
    tell!("the run index is not copied: start `rmos index watch --db …` on each artifact host");
    Ok(ExitCode::SUCCESS)
}
