//! `rmos snapshot …` and `rmos backup …`.

use super::{print_json, Ctx, Failure};
use crate::domain::design::Design;
use crate::scoring::snapshots;
use crate::store::backups::BackupStore;
use crate::store::snapshots::{MetadataPatch, Snapshot, SnapshotMetadata, SnapshotStore};
use crate::text::sanitize;
use clap::Subcommand;
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Save a design (RosetteParamSpec JSON) as a new snapshot and record a snapshot run
    Export {
        /// The design file, or - for stdin
        file: PathBuf,
        /// Snapshot id (default: snap_ + 12 hex); an existing id is never overwritten
        #[arg(long)]
        id: Option<String>,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        notes: Option<String>,
        /// A tag (repeat for several)
        #[arg(long = "tag")]
        tags: Vec<String>,
        #[arg(long)]
        created_by: Option<String>,
        /// Do not compute feasibility
        #[arg(long)]
        no_feasibility: bool,
    },
    /// Import a snapshot document (fingerprint recomputed; a mismatch is a warning)
    Import { file: PathBuf },
    /// Snapshots, newest first
    List {
        #[arg(long)]
        tag: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// One snapshot
    Show { id: String },
    /// Change a snapshot's metadata
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        notes: Option<String>,
        /// Replace the tags (repeat for several)
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Remove all tags
        #[arg(long, conflicts_with = "tags")]
        clear_tags: bool,
    },
    /// Delete a snapshot
    Delete { id: String },
    /// Show the baseline, or make ID the baseline (--clear to unset it)
    Baseline {
        id: Option<String>,
        #[arg(long, requires = "id")]
        clear: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Write a CAM settings backup (posts/, machines.json, tools.json of --from)
    Write {
        /// Settings directory (default: <data>/cam)
        #[arg(long)]
        from: Option<PathBuf>,
    },
    /// Backups by name
    List,
    /// One backup's content
    Show { name: String },
    /// Delete a backup
    Delete { name: String },
}

fn print_snapshot(s: &Snapshot) {
    say!(
        "{}  {}",
        sanitize(&s.snapshot_id),
        if s.baseline { "[baseline]" } else { "" }
    );
    say!(
        "  name         {}",
        sanitize(s.metadata.name.as_deref().unwrap_or("-"))
    );
    say!("  fingerprint  {}", sanitize(&s.design_fingerprint));
    say!("  created      {}", sanitize(&s.created_at_utc));
    say!("  tags         {}", sanitize(&s.metadata.tags.join(", ")));
    if let Some(f) = &s.feasibility {
        say!(
            "  feasibility  {} {}",
            sanitize(
                &f.get("overall_score")
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            ),
            sanitize(f.get("risk_bucket").and_then(|v| v.as_str()).unwrap_or(""))
        );
    }
    say!(
        "  run          {}",
        sanitize(s.run_id.as_deref().unwrap_or("-"))
    );
}

pub fn snapshot(ctx: &Ctx, cmd: SnapshotCommand) -> Result<ExitCode, Failure> {
    let store = SnapshotStore::new(ctx.root.snapshots_dir.clone());
    let runs = ctx.root.run_store();
    match cmd {
        SnapshotCommand::Export {
            file,
            id,
            name,
            description,
            notes,
            tags,
            created_by,
            no_feasibility,
        } => {
            let v = super::input::read_json_input(&file)?;
            let spec = match Design::from_json(&v).map_err(|e| Failure::new(format!("{}: {e}", file.display())))? {
                Design::Spec(s) => s,
                Design::Legacy(_) => {
                    return Err(Failure::new("snapshots hold Art Studio designs (RosetteParamSpec); this is the legacy ring_count form"))
                }
            };
            let meta = SnapshotMetadata {
                name,
                description,
                notes,
                tags,
                created_by,
                source: None,
            };
            let w = snapshots::export(&store, &runs, &spec, id.as_deref(), meta, !no_feasibility)?;
            if ctx.json {
                print_json(
                    &json!({"snapshot_id": w.snapshot.snapshot_id, "design_fingerprint": w.snapshot.design_fingerprint, "run_id": w.run_id, "feasibility": w.snapshot.feasibility}),
                )?;
            } else {
                print_snapshot(&w.snapshot);
            }
        }
        SnapshotCommand::Import { file } => {
            let v = super::input::read_json_input(&file)?;
            let w = snapshots::import(&store, &runs, &v)?;
            for warning in &w.warnings {
                tell!("warning: {}", sanitize(warning));
            }
            if ctx.json {
                print_json(
                    &json!({"snapshot": w.snapshot, "run_id": w.run_id, "warnings": w.warnings}),
                )?;
            } else {
                print_snapshot(&w.snapshot);
            }
        }
        SnapshotCommand::List { tag, limit, offset } => {
            let (list, invalid) = store.list(tag.as_deref(), limit, offset)?;
            if ctx.json {
                print_json(
                    &json!({"snapshots": list, "total": list.len(), "invalid_files": invalid}),
                )?;
            } else {
                if list.is_empty() {
                    tell!("no snapshots");
                }
                for s in &list {
                    say!(
                        "{:<20} {:<16} {}  {}{}",
                        sanitize(&s.snapshot_id),
                        sanitize(&s.design_fingerprint),
                        sanitize(s.metadata.name.as_deref().unwrap_or("-")),
                        sanitize(&s.metadata.tags.join(",")),
                        if s.baseline { "  [baseline]" } else { "" }
                    );
                }
            }
            if invalid > 0 {
                tell!("note: {invalid} snapshot files could not be read and were skipped");
            }
        }
        SnapshotCommand::Show { id } => {
            let s = store.get(&id)?;
            if ctx.json {
                print_json(&serde_json::to_value(&s).expect("snapshot serializes"))?;
            } else {
                print_snapshot(&s);
            }
        }
        SnapshotCommand::Update {
            id,
            name,
            description,
            notes,
            tags,
            clear_tags,
        } => {
            let patch = MetadataPatch {
                name,
                description,
                notes,
                tags: if clear_tags {
                    Some(Vec::new())
                } else if tags.is_empty() {
                    None
                } else {
                    Some(tags)
                },
            };
            let s = store.update_metadata(&id, patch)?;
            if ctx.json {
                print_json(&serde_json::to_value(&s).expect("snapshot serializes"))?;
            } else {
                print_snapshot(&s);
            }
        }
        SnapshotCommand::Delete { id } => {
            store.delete(&id)?;
            if ctx.json {
                print_json(&json!({"snapshot_id": id, "deleted": true}))?;
            } else {
                tell!("deleted snapshot {}", sanitize(&id));
            }
        }
        SnapshotCommand::Baseline { id, clear } => {
            let s = match id {
                Some(id) => Some(store.set_baseline(&id, !clear)?),
                None => store.baseline()?,
            };
            if ctx.json {
                print_json(&json!({"baseline": s}))?;
            } else {
                match s {
                    Some(s) if s.baseline => print_snapshot(&s),
                    Some(s) => tell!("{} is no longer the baseline", sanitize(&s.snapshot_id)),
                    None => tell!("no baseline snapshot"),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn backup(ctx: &Ctx, cmd: BackupCommand) -> Result<ExitCode, Failure> {
    let store = BackupStore::new(ctx.root.backups_dir.clone());
    match cmd {
        BackupCommand::Write { from } => {
            let dir = from.unwrap_or_else(|| ctx.root.data_dir.join("cam"));
            let entry = store.write(BackupStore::gather(&dir))?;
            if ctx.json {
                print_json(&json!({"status": "ok", "name": entry.name, "bytes": entry.bytes}))?;
            } else {
                say!("{}", entry.name);
            }
        }
        BackupCommand::List => {
            let list = store.list()?;
            if ctx.json {
                print_json(&serde_json::to_value(&list).expect("entries serialize"))?;
            } else {
                if list.is_empty() {
                    tell!(
                        "no backups in {} — `rmos backup write` makes one",
                        ctx.root.backups_dir.display()
                    );
                }
                for e in &list {
                    say!("{:<40} {} bytes", sanitize(&e.name), e.bytes);
                }
            }
        }
        BackupCommand::Show { name } => {
            let v = store.show(&name)?;
            if ctx.json {
                print_json(&v)?;
            } else {
                say!(
                    "{}",
                    crate::text::sanitize_multiline(
                        &serde_json::to_string_pretty(&v).unwrap_or_default()
                    )
                );
            }
        }
        BackupCommand::Delete { name } => {
            store.delete(&name)?;
            if ctx.json {
                print_json(&json!({"name": name, "deleted": true}))?;
            } else {
                tell!("deleted backup {}", sanitize(&name));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
