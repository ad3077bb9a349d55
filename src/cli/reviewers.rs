//! `rmos reviewers …`: who may review, and with which SSH keys they sign.

use super::{print_json, Ctx, Failure};
use crate::store::advisory::{
    add_signer, remove_signer, AllowedSigners, PgReviews, SignaturePolicy,
};
use crate::text::sanitize;
use clap::Subcommand;
use serde_json::{json, Value};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ReviewersCommand {
    /// Reviewers with their roles and signing keys, and the signature policy
    List,
    /// Allow NAME to sign decisions with an SSH public key (adds the reviewer role if missing)
    Add {
        /// The reviewer name (as `RMOS_REVIEWER` or the login name says it)
        name: String,
        /// One OpenSSH public key line (`ssh-ed25519 AAAA… comment`), or a .pub file
        /// (optional with --db: the role then goes into the shared database's reviewers table)
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
    },
    /// Remove NAME's reviewer role and retire their keys (past signatures stay valid)
    Remove {
        name: String,
        /// Delete the keys instead of retiring them (a lost or stolen key): decisions they
        /// signed then verify as "unknown key"
        #[arg(long)]
        revoke: bool,
    },
}

pub fn reviewers(ctx: &Ctx, cmd: ReviewersCommand) -> Result<ExitCode, Failure> {
    let config_path = ctx.root.data_dir.join("config.json");
    if let Some(t) = &ctx.root.db {
        match &cmd {
            ReviewersCommand::Add { name, key: None } => {
                let store = PgReviews::open(t)?;
                let changed = store.set_role(name, "reviewer")?;
                tell!(
                    "{} {} the reviewer role in the reviewers table of the {} (from now on only the names listed there may decide)",
                    sanitize(name),
                    if changed { "now has" } else { "already had" },
                    t.label()
                );
                return Ok(ExitCode::SUCCESS);
            }
            ReviewersCommand::Add { name, key: Some(_) } => {
                // The role in the shared table; the key below, in this host's allowed_signers.
                let store = PgReviews::open(t)?;
                if store.set_role(name, "reviewer")? {
                    tell!(
                        "{} now has the reviewer role in the reviewers table of the {}",
                        sanitize(name),
                        t.label()
                    );
                }
            }
            ReviewersCommand::Remove { name, .. } => {
                let store = PgReviews::open(t)?;
                if store.remove_role(name)? {
                    tell!(
                        "{} no longer has a role in the reviewers table of the {}",
                        sanitize(name),
                        t.label()
                    );
                } else {
                    tell!(
                        "{} had no role in the reviewers table of the {}",
                        sanitize(name),
                        t.label()
                    );
                }
                if !allowed_signers_lists(&config_path, name) {
                    return Ok(ExitCode::SUCCESS);
                }
            }
            ReviewersCommand::List => {
                let store = PgReviews::open(t)?;
                let roles = store.roles()?;
                if ctx.json {
                    print_json(
                        &json!({"database": t.label(), "reviewers": roles.iter().map(|(n, r)| json!({"name": n, "role": r})).collect::<Vec<_>>()}),
                    )?;
                    return Ok(ExitCode::SUCCESS);
                }
                if roles.is_empty() {
                    say!("the reviewers table of the {} is empty: config.json decides who may review", t.label());
                }
                for (n, r) in &roles {
                    say!("{}  {}", sanitize(n), sanitize(r));
                }
                return Ok(ExitCode::SUCCESS);
            }
        }
    }
    match cmd {
        ReviewersCommand::List => list(ctx),
        ReviewersCommand::Add { name, key } => {
            let Some(key) = key else {
                return Err(Failure::usage(
                    "--key is required: the reviewer's OpenSSH public key (or, with --db, leave it out to add the role to the shared database only)",
                ));
            };
            // A path to a .pub file is read; anything else is the key itself.
            let key_text = if !key
                .trim_start()
                .starts_with(|c: char| c.is_ascii_lowercase())
                || std::path::Path::new(&key).is_file()
            {
                let path = std::path::Path::new(key.trim());
                let bytes = crate::fsio::read::read_regular(path, 64 * 1024).map_err(|e| {
                    Failure::usage(format!(
                        "--key {}: neither an OpenSSH public key line nor a readable .pub file ({e})",
                        sanitize(&key)
                    ))
                })?;
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                key
            };
            let added = add_signer(&config_path, &name, &key_text).map_err(|e| match e {
                crate::store::advisory::AdvisoryError::Invalid(m) => Failure::usage(m),
                other => other.into(),
            })?;
            if ctx.json {
                print_json(&serde_json::to_value(&added).expect("report serializes"))?;
            }
            let name = sanitize(&name);
            if added.key_added {
                tell!(
                    "{name} may now sign review decisions with {}",
                    added.fingerprint
                );
            } else {
                tell!(
                    "{name} may already sign with {}: nothing changed in allowed_signers",
                    added.fingerprint
                );
            }
            if added.list_created {
                tell!("config.json had no reviewers list: it now lists {name} as reviewer, and from now on only listed reviewers may decide (add the others with `rmos reviewers add`)");
            } else if added.role_added {
                tell!("{name} now has the reviewer role in config.json");
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewersCommand::Remove { name, revoke } => {
            let removed = remove_signer(&config_path, &name, revoke).map_err(|e| match e {
                crate::store::advisory::AdvisoryError::Invalid(m) => Failure::usage(m),
                other => other.into(),
            })?;
            if ctx.json {
                print_json(&serde_json::to_value(&removed).expect("report serializes"))?;
            }
            let name = sanitize(&name);
            if removed.role_removed {
                tell!("{name} no longer has a role in config.json");
            }
            for k in &removed.keys {
                if revoke {
                    tell!("deleted {k} of {name} from allowed_signers: decisions it signed now verify as \"unknown key\"");
                } else {
                    tell!("retired {k} of {name} (valid-before now): it signs nothing new; decisions it signed before stay valid");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn list(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let policy = ctx.root.reviewer_policy()?;
    let mut names: Vec<String> = policy
        .roles
        .as_ref()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    for e in &policy.signers.entries {
        for p in &e.principals {
            if !names.contains(p) {
                names.push(p.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for name in &names {
        let role = policy.roles.as_ref().and_then(|m| m.get(name)).map(|r| {
            r.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| r.to_string())
        });
        let keys: Vec<Value> = policy
            .signers
            .entries
            .iter()
            .filter(|e| e.principals.contains(name))
            .map(|e| {
                let now = e.usable_at(None);
                json!({
                    "fingerprint": e.key.fingerprint(ssh_key::HashAlg::Sha256).to_string(),
                    "type": e.key.algorithm().as_str(),
                    "comment": e.key.comment(),
                    "line": e.line,
                    "signs_now": now,
                    "valid_before": e.valid_before.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
                })
            })
            .collect();
        rows.push(json!({"name": name, "role": role, "keys": keys}));
    }
    if ctx.json {
        print_json(&json!({
            "signatures": policy.signatures.as_str(),
            "allowed_signers": policy.signers.path.display().to_string(),
            "open_to_everyone": policy.roles.is_none(),
            "unsupported_lines": policy.signers.unsupported.iter().map(|(l, k)| json!({"line": l, "key_type": k})).collect::<Vec<_>>(),
            "reviewers": rows,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "signatures: {}   allowed signers: {}",
        policy.signatures.as_str(),
        sanitize(&policy.signers.path.display().to_string())
    );
    for (line, kind) in &policy.signers.unsupported {
        say!(
            "line {line} of allowed_signers: a {} key, which rmos cannot verify (Ed25519 and RSA only): it signs nothing here",
            sanitize(kind)
        );
    }
    if policy.roles.is_none() {
        say!(
            "no reviewers list in config.json: anyone may decide (`rmos reviewers add` starts one)"
        );
    }
    for r in &rows {
        let role = r["role"].as_str().unwrap_or("(no role: cannot decide)");
        say!(
            "{}  {}",
            sanitize(r["name"].as_str().unwrap_or("")),
            sanitize(role)
        );
        let keys = r["keys"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        if keys.is_empty() && policy.signatures != SignaturePolicy::Off {
            say!("    no signing key (`rmos reviewers add NAME --key …`)");
        }
        for k in keys {
            let state = match (k["signs_now"].as_bool(), k["valid_before"].as_str()) {
                (Some(true), _) => String::new(),
                (_, Some(b)) => format!("  retired {b}"),
                _ => "  not for review decisions".into(),
            };
            say!(
                "    {} {} {}{}",
                sanitize(k["type"].as_str().unwrap_or("")),
                sanitize(k["fingerprint"].as_str().unwrap_or("")),
                sanitize(k["comment"].as_str().unwrap_or("")),
                state
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether this host's allowed_signers lists keys of `name` (to retire them too).
fn allowed_signers_lists(config_path: &std::path::Path, name: &str) -> bool {
    AllowedSigners::load(&crate::store::advisory::allowed_signers_path(config_path))
        .map(|s| {
            s.entries
                .iter()
                .any(|e| e.principals.iter().any(|p| p == name))
        })
        .unwrap_or(false)
}
