//! `rmos advisory …` and `rmos audit verify`.

use super::Exit;
use super::{print_json, Ctx, Failure};
use crate::store::advisory::{
    check_signature, reviewer_identity, AdvisoryAsset, AssetType, DecisionRequest, NewAsset,
    ReviewState, SignatureStatus, REJECTION_REASONS,
};
use crate::store::seam::ReviewStore;
use crate::text::{sanitize, sanitize_multiline};
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AdvisoryCommand {
    /// Add an AI-generated asset for review (pending until approved)
    Add {
        /// IMAGE, EXPLANATION, SUGGESTION, VALIDATION (or the reference's image, analysis, pattern…)
        #[arg(long = "type", value_name = "TYPE")]
        asset_type: String,
        /// Content from a file (images, texts)
        #[arg(long, conflicts_with_all = ["text", "json_content"], required_unless_present_any = ["text", "json_content"])]
        file: Option<PathBuf>,
        /// Content as text
        #[arg(long)]
        text: Option<String>,
        /// Structured content from a JSON file, stored in canonical form. (`--json` stays the
        /// machine-output flag of every command, so structured content is `--json-file`.)
        #[arg(long = "json-file", id = "json_content", value_name = "FILE")]
        json_content: Option<PathBuf>,
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        prompt: Option<String>,
        /// The run this asset was generated for
        #[arg(long = "run", value_name = "RUN_ID")]
        run: Option<String>,
        /// Generator confidence, 0..1
        #[arg(long)]
        confidence: Option<f64>,
    },
    /// Assets, newest first
    List {
        #[arg(long, default_value = "pending", value_parser = ["pending", "approved", "rejected", "all"])]
        status: String,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One asset with its content check and decision history
    Show { id: String },
    /// Approve an asset for workflows
    Approve {
        id: String,
        #[arg(long)]
        note: Option<String>,
        /// Refuse unless the content still has this hash (the one you reviewed)
        #[arg(long)]
        expect_hash: Option<String>,
    },
    /// Reject an asset with a reason code
    Reject {
        id: String,
        /// poor_quality, wrong_style, anatomically_incorrect, wrong_guitar_type, wrong_finish, wrong_hardware, artifacts, lighting_issues, composition, not_photorealistic, duplicate, other
        #[arg(long)]
        reason: String,
        #[arg(long)]
        note: Option<String>,
        #[arg(long)]
        expect_hash: Option<String>,
    },
    /// Attach an approved asset to a run (writes the reference's advisory link file)
    Attach {
        id: String,
        #[arg(long = "run", value_name = "RUN_ID")]
        run: String,
    },
    /// Import the reference's advisory asset files (YYYY/MM/DD/adv_*.json); again: bring in
    /// what changed in them since
    Import {
        /// The reference's asset store (default: the data root's advisory_assets, or
        /// $ADVISORY_ASSETS_ROOT)
        dir: Option<PathBuf>,
    },
    /// Write assets with their review state into the reference's asset store (its layout
    /// and format, so its store lists and loads them), and their content into its
    /// content-addressed attachment store (so its blob browser serves
    /// /api/advisory/blobs/<content_hash>/download); again: writes only what changed
    Export {
        /// One asset (repeatable)
        #[arg(
            long = "asset",
            value_name = "ID",
            conflicts_with = "all",
            required_unless_present = "all"
        )]
        asset: Vec<String>,
        /// Every asset
        #[arg(long)]
        all: bool,
        /// The reference's asset store (default: the data root's advisory_assets, or
        /// $ADVISORY_ASSETS_ROOT)
        #[arg(long = "to", value_name = "DIR")]
        to: Option<PathBuf>,
        /// The reference's attachment store, where each asset's content goes as
        /// DIR/ab/cd/<sha256> (default: the data root's run_attachments, or
        /// $RMOS_RUN_ATTACHMENTS_DIR, as the reference finds it)
        #[arg(long = "blobs", value_name = "DIR", conflicts_with = "no_blobs")]
        blobs: Option<PathBuf>,
        /// Leave the attachment store alone (write only the asset files)
        #[arg(long = "no-blobs")]
        no_blobs: bool,
    },
}

fn asset_json(a: &AdvisoryAsset) -> Value {
    let mut v = serde_json::to_value(a).expect("asset serializes");
    v["status"] = json!(a.state.as_str());
    v
}

fn print_asset(a: &AdvisoryAsset) {
    say!(
        "{}  {}  [{}]",
        sanitize(&a.asset_id),
        a.asset_type.as_str(),
        a.state.as_str()
    );
    say!(
        "  source      {} / {} / {}",
        sanitize(&a.source),
        sanitize(a.provider.as_deref().unwrap_or("-")),
        sanitize(a.model.as_deref().unwrap_or("-"))
    );
    say!("  created     {}", sanitize(&a.created_at));
    say!(
        "  content     {} ({} bytes, {})",
        sanitize(&a.content_hash),
        a.content_size,
        sanitize(&a.mime)
    );
    if let (Some(w), Some(h)) = (a.image_width, a.image_height) {
        say!("  image       {w}×{h}");
    }
    if let Some(c) = a.confidence {
        say!("  confidence  {c:.2}");
    }
    if let Some(p) = &a.prompt {
        say!("  prompt      {}", sanitize(p));
    }
    if let Some(r) = &a.reviewer_id {
        say!(
            "  reviewed    by {} at {}",
            sanitize(r),
            sanitize(a.reviewed_at.as_deref().unwrap_or(""))
        );
    }
    if let Some(r) = &a.rejection_reason {
        say!("  reason      {}", sanitize(r));
    }
    if let Some(n) = &a.review_note {
        say!("  note        {}", sanitize(n));
    }
}

pub fn advisory(ctx: &Ctx, cmd: AdvisoryCommand) -> Result<ExitCode, Failure> {
    let mut store = ctx.root.reviews()?;
    match cmd {
        AdvisoryCommand::Add {
            asset_type,
            file,
            text,
            json_content: json_file,
            source,
            provider,
            model,
            prompt,
            run,
            confidence,
        } => {
            let t = AssetType::parse(&asset_type).ok_or_else(|| {
                Failure::usage(format!(
                    "unknown type {asset_type:?}: use IMAGE, EXPLANATION, SUGGESTION or VALIDATION"
                ))
            })?;
            let (content, mime, ext, data) = if let Some(f) = file {
                let cannot = |e: std::io::Error| {
                    Failure::new(format!(
                        "cannot read {}: {e}{}",
                        f.display(),
                        crate::advice::io(&e)
                    ))
                };
                // At most 64 MB is read, whatever the file is (a device, a FIFO).
                let bytes =
                    crate::fsio::read::read_user_input(&f, crate::store::advisory::MAX_ASSET_BYTES)
                        .map_err(cannot)?;
                let ext = f
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("")
                    .to_lowercase();
                let mime = match ext.as_str() {
                    "png" => "image/png",
                    "jpg" | "jpeg" => "image/jpeg",
                    "gif" => "image/gif",
                    "json" => "application/json",
                    "md" => "text/markdown",
                    _ => "text/plain",
                };
                if t == AssetType::Image && crate::store::advisory::image_size(&bytes).is_none() {
                    return Err(Failure::new(format!(
                        "{} is not a PNG, JPEG or GIF image",
                        f.display()
                    )));
                }
                (bytes, mime.to_owned(), ext, None)
            } else if let Some(s) = text {
                (
                    s.into_bytes(),
                    "text/plain".to_owned(),
                    "txt".to_owned(),
                    None,
                )
            } else {
                let f = json_file.expect("clap requires one content option");
                let v = super::input::read_json_input(&f)?;
                (
                    crate::hashing::canonical_json(&v).into_bytes(),
                    "application/json".to_owned(),
                    "json".to_owned(),
                    Some(v),
                )
            };
            if let Some(r) = &run {
                ctx.root
                    .run_store()
                    .get(r)
                    .map_err(|e| Failure::new(e.to_string()))?;
            }
            let a = store.add(NewAsset {
                asset_type: Some(t),
                content,
                mime,
                extension: ext,
                source,
                provider,
                model,
                prompt,
                run_id: run,
                confidence,
                suggestion_data: data,
                ..Default::default()
            })?;
            if ctx.json {
                print_json(&asset_json(&a))?;
            } else {
                say!("{}", a.asset_id);
                tell!(
                    "added {} ({}), pending review",
                    a.asset_id,
                    a.asset_type.as_str()
                );
            }
        }
        AdvisoryCommand::List { status, limit } => {
            let state = match status.as_str() {
                "pending" => Some(ReviewState::Pending),
                "approved" => Some(ReviewState::Approved),
                "rejected" => Some(ReviewState::Rejected),
                _ => None,
            };
            let list = store.list(state, limit)?;
            let (p, a, r) = store.counts()?;
            if ctx.json {
                let assets: Vec<Value> = list.iter().map(asset_json).collect();
                print_json(
                    &json!({"assets": assets, "total": list.len(), "counts": {"pending": p, "approved": a, "rejected": r}}),
                )?;
            } else {
                for x in &list {
                    say!(
                        "{:<18} {:<11} {:<9} {:<12} {}",
                        sanitize(&x.asset_id),
                        x.asset_type.as_str(),
                        x.state.as_str(),
                        sanitize(x.provider.as_deref().unwrap_or("-")),
                        sanitize(&x.created_at)
                    );
                }
                tell!("{p} pending, {a} approved, {r} rejected");
            }
        }
        AdvisoryCommand::Show { id } => {
            let a = store.get(&id)?;
            // By its id or by the content hash a run's link names: the asset's own id on.
            let id = a.asset_id.clone();
            let check = store.content(&a);
            let history = store.history(&id)?;
            // Each decision's signature, checked against the allowed signers in force.
            let signers = ctx.root.reviewer_policy()?.signers;
            let checks: Vec<_> = history
                .iter()
                .map(|d| check_signature(d, &signers))
                .collect();
            let files = store.reference_files(&id)?;
            if ctx.json {
                let mut v = asset_json(&a);
                v["content_ok"] = json!(check.is_ok());
                v["content_error"] = json!(check.as_ref().err().map(|e| e.to_string()));
                v["history"] = serde_json::to_value(&history).expect("history serializes");
                if let Some(list) = v["history"].as_array_mut() {
                    for (h, c) in list.iter_mut().zip(&checks) {
                        h["signature_status"] = json!(c.status);
                        h["signature_detail"] = json!(c.detail);
                    }
                }
                v["reference_files"] = serde_json::to_value(&files).expect("files serialize");
                let extras = store.extras(&id)?;
                v["is_favorite"] = json!(extras.is_favorite);
                v["cost_usd"] = json!(extras.cost_usd);
                v["meta"] = Value::Object(extras.meta);
                print_json(&v)?;
            } else {
                print_asset(&a);
                match &check {
                    Ok(bytes) if a.mime.starts_with("text") || a.mime == "application/json" => {
                        say!("\n{}", sanitize_multiline(&String::from_utf8_lossy(bytes)));
                    }
                    Ok(_) => {}
                    Err(e) => say!("  CONTENT     {}", sanitize(&e.to_string())),
                }
                for (d, c) in history.iter().zip(&checks) {
                    say!(
                        "  #{:<4} {} {} by {}{}  [{}]",
                        d.seq,
                        sanitize(&d.decided_at),
                        sanitize(&d.decision),
                        sanitize(&d.reviewer),
                        d.reason
                            .as_deref()
                            .map(|r| format!(" ({})", sanitize(r)))
                            .unwrap_or_default(),
                        match c.status {
                            SignatureStatus::Valid => "signature verified".to_owned(),
                            other => other.as_str().to_owned(),
                        }
                    );
                    if let Some(i) = &d.imported {
                        say!(
                            "        imported: the file says reviewed by {} at {}{}",
                            sanitize(i.reviewed_by.as_deref().unwrap_or("(no reviewer named)")),
                            sanitize(i.reviewed_at_utc.as_deref().unwrap_or("(no time given)")),
                            i.rejection_reason
                                .as_deref()
                                .map(|r| format!(", reason {:?}", sanitize(r)))
                                .unwrap_or_default()
                        );
                    }
                }
                for f in &files {
                    match &f.error {
                        None => say!(
                            "  reference   {} (holds {})",
                            sanitize(&f.path.display().to_string()),
                            f.synced_seq
                                .map(|s| format!("decision #{s}"))
                                .unwrap_or_else(|| "no decision".into())
                        ),
                        Some(e) => say!(
                            "  reference   {} OUT OF DATE: {}",
                            sanitize(&f.path.display().to_string()),
                            sanitize(e)
                        ),
                    }
                }
            }
        }
        AdvisoryCommand::Approve {
            id,
            note,
            expect_hash,
        } => decide(ctx, &mut *store, &id, true, None, note, expect_hash)?,
        AdvisoryCommand::Reject {
            id,
            reason,
            note,
            expect_hash,
        } => decide(
            ctx,
            &mut *store,
            &id,
            false,
            Some(reason),
            note,
            expect_hash,
        )?,
        AdvisoryCommand::Attach { id, run } => {
            let (link, new) = store.attach(&ctx.root.run_store(), &id, &run)?;
            let name = link.file_name;
            if ctx.json {
                print_json(
                    &json!({"asset_id": id, "run_id": run, "attached": new, "link_file": name}),
                )?;
            } else if new {
                tell!("attached {id} to {run} ({name})");
            } else {
                tell!("{id} was already attached to {run}");
            }
        }
        AdvisoryCommand::Import { dir } => {
            let dir = dir.unwrap_or_else(|| ctx.root.advisory_assets_dir.clone());
            if !dir.is_dir() {
                return Err(Failure::new(format!(
                    "{} is not a folder: give the reference's advisory asset store (its advisory_assets folder)",
                    dir.display()
                )));
            }
            let policy = ctx.root.reviewer_policy()?;
            let importer = reviewer_identity();
            let report = store.import_reference_dir(&dir, &policy, &importer)?;
            for p in &report.problems {
                tell!("skipped {}", sanitize(p));
            }
            for n in &report.notes {
                tell!("{}", sanitize(n));
            }
            if ctx.json {
                print_json(&serde_json::to_value(&report).expect("report serializes"))?;
            } else {
                tell!(
                    "imported {} assets from {} ({} updated from changed files, {} already imported, left unchanged)",
                    report.imported,
                    dir.display(),
                    report.updated,
                    report.present
                );
            }
            if !report.problems.is_empty() {
                return Ok(Exit::Failure.into());
            }
        }
        AdvisoryCommand::Export {
            asset,
            all,
            to,
            blobs,
            no_blobs,
        } => {
            let root = to.unwrap_or_else(|| ctx.root.advisory_assets_dir.clone());
            let blobs =
                (!no_blobs).then(|| blobs.unwrap_or_else(|| ctx.root.run_attachments_dir.clone()));
            let ids = (!all).then_some(asset.as_slice());
            let report = store.export_reference(ids, &root, blobs.as_deref())?;
            for p in &report.problems {
                tell!("not exported: {}", sanitize(p));
            }
            if ctx.json {
                print_json(&serde_json::to_value(&report).expect("report serializes"))?;
            } else {
                for w in &report.written {
                    say!("{}", sanitize(w));
                }
                tell!(
                    "wrote {} asset files into {} ({} already up to date)",
                    report.written.len(),
                    root.display(),
                    report.unchanged
                );
                if let Some(b) = &blobs {
                    for w in &report.blobs_written {
                        say!("{}", sanitize(w));
                    }
                    tell!(
                        "put {} blobs into the attachment store {} ({} already there, verified)",
                        report.blobs_written.len(),
                        b.display(),
                        report.blobs_present
                    );
                }
            }
            if !report.problems.is_empty() {
                return Ok(Exit::Failure.into());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn decide(
    ctx: &Ctx,
    store: &mut dyn ReviewStore,
    id: &str,
    approve: bool,
    reason: Option<String>,
    note: Option<String>,
    expect_hash: Option<String>,
) -> Result<(), Failure> {
    if let Some(r) = &reason {
        if !REJECTION_REASONS.contains(&r.to_lowercase().as_str()) {
            return Err(Failure::usage(format!(
                "unknown reason {r:?}: use one of {}",
                REJECTION_REASONS.join(", ")
            )));
        }
    }
    let policy = ctx.root.reviewer_policy()?;
    let reviewer = reviewer_identity();
    let req = DecisionRequest {
        reviewer: &reviewer,
        asset_id: id,
        approve,
        reason: reason.as_deref(),
        note: note.as_deref(),
        expect_hash: expect_hash.as_deref(),
        expect_previous: None,
    };
    let d = store.decide(&policy, &req)?;
    // The decision stands; a reference file it could not be written into is reported, and
    // the command fails so scripts notice (the message says how to retry).
    let behind: Vec<&str> = d
        .written_back
        .iter()
        .filter_map(|w| w.error.as_deref())
        .collect();
    if ctx.json {
        print_json(&serde_json::to_value(&d).expect("decision serializes"))?;
    } else {
        tell!(
            "{} {} by {} (decision #{}{})",
            d.decision,
            sanitize(id),
            sanitize(&reviewer),
            d.seq,
            match &d.signer {
                Some(k) => format!(", signed with {}", sanitize(k)),
                None => String::new(),
            }
        );
        for w in d.written_back.iter().filter(|w| w.error.is_none()) {
            tell!(
                "written into the reference's {}",
                sanitize(&w.path.display().to_string())
            );
        }
    }
    if !behind.is_empty() {
        return Err(Failure::new(
            behind
                .iter()
                .map(|e| sanitize(e))
                .collect::<Vec<_>>()
                .join("\nrmos: "),
        ));
    }
    Ok(())
}

/// `rmos audit verify [--expect-head HASH]`.
pub fn audit_verify(ctx: &Ctx, expect_head: Option<&str>) -> Result<ExitCode, Failure> {
    let store = ctx.root.reviews()?;
    let result = store.verify_chain()?;
    let projection = store.projection_mismatches()?;
    let policy = ctx.root.reviewer_policy()?;
    let signatures = store.verify_signatures(&policy.signers)?;
    let sig_failures = signatures
        .iter()
        .filter(|c| c.status.fails_under(policy.signatures))
        .count();
    let mut counts = serde_json::Map::new();
    for status in [
        SignatureStatus::Valid,
        SignatureStatus::Unsigned,
        SignatureStatus::UnknownKey,
        SignatureStatus::WrongSigner,
        SignatureStatus::BadSignature,
    ] {
        let n = signatures.iter().filter(|c| c.status == status).count();
        counts.insert(
            serde_json::to_value(status)
                .expect("a status serializes")
                .as_str()
                .expect("a status is a string")
                .to_owned(),
            json!(n),
        );
    }
    // The anchor: a record hash kept elsewhere must still be in the (intact) chain.
    let anchor = match expect_head {
        None => None,
        Some(h) => {
            let h = h.trim().rsplit(':').next().unwrap_or("").to_owned();
            if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Failure::usage(format!(
                    "--expect-head {}: expected the 64-hex record hash printed by `rmos audit head`",
                    sanitize(&h)
                )));
            }
            Some((store.find_record(&h)?, h))
        }
    };
    let (ok, records, broken) = match &result {
        Ok(n) => (true, *n, None),
        Err((seq, why)) => (false, 0, Some(json!({"seq": seq, "reason": why}))),
    };
    let anchor_ok = anchor.as_ref().is_none_or(|(seq, _)| seq.is_some());
    if ctx.json {
        print_json(&json!({
            "ok": ok && projection.is_empty() && anchor_ok && sig_failures == 0,
            "records": records,
            "signatures": {
                "policy": policy.signatures.as_str(),
                "allowed_signers": policy.signers.path.display().to_string(),
                "failures": sig_failures,
                "counts": counts,
                "records": signatures,
            },
            "broken_at": broken,
            "state_mismatches": projection,
            "expected_head": anchor.as_ref().map(|(seq, h)| json!({"record_hash": h, "found_at": seq})),
        }))?;
    }
    let mut failed = false;
    match &result {
        Ok(n) => tell!("audit chain intact: {n} review decisions"),
        Err((seq, why)) => {
            tell!("audit chain BROKEN at record {seq}: {why}");
            failed = true;
        }
    }
    for m in &projection {
        tell!("state mismatch: {}", sanitize(m));
        failed = true;
    }
    match &anchor {
        Some((Some(seq), h)) => tell!("anchored record {h} is record {seq} of the chain"),
        Some((None, h)) => {
            tell!("anchored record {h} is NOT in the chain: the chain was rewritten or cut before it since it was recorded");
            failed = true;
        }
        None => {}
    }
    for c in &signatures {
        let fails = c.status.fails_under(policy.signatures);
        // Unsigned records are listed one by one only where they fail.
        if c.status == SignatureStatus::Valid || (c.status == SignatureStatus::Unsigned && !fails) {
            continue;
        }
        tell!(
            "record {} ({} by {}): {}{} — {}",
            c.seq,
            sanitize(&c.asset_id),
            sanitize(&c.reviewer),
            c.status.as_str(),
            if fails {
                ""
            } else {
                " (accepted: signatures are optional)"
            },
            sanitize(&c.detail)
        );
    }
    if !signatures.is_empty() {
        let n = |s: SignatureStatus| signatures.iter().filter(|c| c.status == s).count();
        tell!(
            "signatures ({}): {} valid, {} unsigned, {} unknown key, {} wrong signer, {} bad signature",
            policy.signatures.as_str(),
            n(SignatureStatus::Valid),
            n(SignatureStatus::Unsigned),
            n(SignatureStatus::UnknownKey),
            n(SignatureStatus::WrongSigner),
            n(SignatureStatus::BadSignature)
        );
    }
    if sig_failures > 0 {
        tell!(
            "{sig_failures} decisions without a signature that {} accepts under \"signatures\": \"{}\"",
            sanitize(&policy.signers.path.display().to_string()),
            policy.signatures.as_str()
        );
        failed = true;
    }
    Ok(if failed {
        Exit::Failure.into()
    } else {
        ExitCode::SUCCESS
    })
}

/// `rmos audit head`: the newest record, to keep outside the machine.
pub fn audit_head(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let store = ctx.root.reviews()?;
    let head = store.chain_head()?;
    if ctx.json {
        print_json(&json!({
            "seq": head.as_ref().map(|d| d.seq),
            "record_hash": head.as_ref().map(|d| d.record_hash.clone()),
            "decided_at": head.as_ref().map(|d| d.decided_at.clone()),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    match head {
        Some(d) => {
            say!("{}:{}", d.seq, sanitize(&d.record_hash));
            tell!(
                "record {} of {} — keep this line elsewhere; `rmos audit verify --expect-head {}` checks the chain still holds it",
                d.seq,
                sanitize(&d.decided_at),
                sanitize(&d.record_hash)
            );
        }
        None => tell!("no review decisions yet"),
    }
    Ok(ExitCode::SUCCESS)
}
