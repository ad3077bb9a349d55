//! `rmos demo`: seed a data root with realistic content through the real pipeline — the
//! scorer and run orchestration, snapshots, a CAM backup, the completeness guard, advisory
//! assets and review decisions — so a newcomer sees a console full of data at once.
//!
//! Nothing is written as a hand-made file: every run goes through the store API, with
//! creation times spread over the last month through the explicit `created_at` option.
//! Ids are deterministic, so seeding twice adds nothing. A marker file records that the
//! data root holds only demo content, which is what `--fresh` is allowed to reset.

use crate::config::DataRoot;
use crate::domain::{JsonMap, RunStatus, Timestamp};
use crate::hashing::sha256_text;
use crate::scoring::runs::{create_run_from_feasibility, RunOptions};
use crate::scoring::service::{score_and_record, ScoreRequest, ScoreSource};
use crate::scoring::snapshots;
use crate::store::advisory::{
    AdvisoryError, AssetType, DecisionRequest, NewAsset, ReviewState, ReviewerPolicy,
};
use crate::store::backups::BackupStore;
use crate::store::guard::{validate_and_persist, PersistError, PersistRequest};
use crate::store::snapshots::{FileStoreError, SnapshotMetadata, SnapshotStore};
use crate::store::StoreError;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The file marking a data root as demo-only.
pub const MARKER: &str = ".rmos-demo";

const DESIGNS: &str = include_str!("../assets/demo/designs.jsonl");

struct DemoAsset {
    id: &'static str,
    kind: AssetType,
    bytes: &'static [u8],
    mime: &'static str,
    ext: &'static str,
    provider: &'static str,
    model: &'static str,
    prompt: &'static str,
    confidence: f64,
    /// None = leave pending; Some(true) approve; Some(false) reject with this reason.
    decision: Option<(bool, &'static str, &'static str)>,
}

const ASSETS: &[DemoAsset] = &[
    DemoAsset {
        id: "adv_demo_img01",
        kind: AssetType::Image,
        bytes: include_bytes!("../assets/demo/rosette_herringbone.png"),
        mime: "image/png",
        ext: "png",
        provider: "openai",
        model: "dall-e-3",
        prompt: "Herringbone rosette, maple and ebony, photorealistic",
        confidence: 0.82,
        decision: Some((true, "", "clean tile geometry")),
    },
    DemoAsset {
        id: "adv_demo_img02",
        kind: AssetType::Image,
        bytes: include_bytes!("../assets/demo/rosette_spiral.png"),
        mime: "image/png",
        ext: "png",
        provider: "openai",
        model: "dall-e-3",
        prompt: "Spiral rosette in walnut and holly",
        confidence: 0.64,
        decision: Some((false, "wrong_style", "spiral reads as a swirl, not tiles")),
    },
    DemoAsset {
        id: "adv_demo_img03",
        kind: AssetType::Image,
        bytes: include_bytes!("../assets/demo/rosette_rings.png"),
        mime: "image/png",
        ext: "png",
        provider: "stability",
        model: "sdxl",
        prompt: "Classic ring rosette, six concentric purflings",
        confidence: 0.71,
        decision: None,
    },
    DemoAsset {
        id: "adv_demo_img04",
        kind: AssetType::Image,
        bytes: include_bytes!("../assets/demo/rosette_abalone.png"),
        mime: "image/png",
        ext: "png",
        provider: "stability",
        model: "sdxl",
        prompt: "Abalone rosette with herringbone border",
        confidence: 0.58,
        decision: None,
    },
    DemoAsset {
        id: "adv_demo_exp01",
        kind: AssetType::Explanation,
        bytes: include_bytes!("../assets/demo/explanation_chipload.txt"),
        mime: "text/plain",
        ext: "txt",
        provider: "anthropic",
        model: "claude",
        prompt: "Explain why run is YELLOW",
        confidence: 0.9,
        decision: Some((true, "", "matches the calculator output")),
    },
    DemoAsset {
        id: "adv_demo_exp02",
        kind: AssetType::Explanation,
        bytes: include_bytes!("../assets/demo/explanation_rings.txt"),
        mime: "text/plain",
        ext: "txt",
        provider: "anthropic",
        model: "claude",
        prompt: "Review the ring stack",
        confidence: 0.77,
        decision: None,
    },
    DemoAsset {
        id: "adv_demo_exp03",
        kind: AssetType::Explanation,
        bytes: include_bytes!("../assets/demo/explanation_spiral.txt"),
        mime: "text/plain",
        ext: "txt",
        provider: "anthropic",
        model: "claude",
        prompt: "Explain the heat warning",
        confidence: 0.69,
        decision: Some((
            false,
            "other",
            "advice contradicts the shop's coolant policy",
        )),
    },
    DemoAsset {
        id: "adv_demo_sug01",
        kind: AssetType::Suggestion,
        bytes: include_bytes!("../assets/demo/suggestion_rings.json"),
        mime: "application/json",
        ext: "json",
        provider: "anthropic",
        model: "claude",
        prompt: "Suggest a lower-risk ring count",
        confidence: 0.74,
        decision: None,
    },
    DemoAsset {
        id: "adv_demo_sug02",
        kind: AssetType::Suggestion,
        bytes: include_bytes!("../assets/demo/suggestion_material.json"),
        mime: "application/json",
        ext: "json",
        provider: "anthropic",
        model: "claude",
        prompt: "Suggest a material",
        confidence: 0.61,
        decision: Some((true, "", "")),
    },
    DemoAsset {
        id: "adv_demo_val01",
        kind: AssetType::Validation,
        bytes: include_bytes!("../assets/demo/validation_channel.json"),
        mime: "application/json",
        ext: "json",
        provider: "rmos-checks",
        model: "channel-v1",
        prompt: "",
        confidence: 0.95,
        decision: None,
    },
    DemoAsset {
        id: "adv_demo_val02",
        kind: AssetType::Validation,
        bytes: include_bytes!("../assets/demo/validation_tiles.json"),
        mime: "application/json",
        ext: "json",
        provider: "rmos-checks",
        model: "tiles-v1",
        prompt: "",
        confidence: 0.99,
        decision: Some((false, "duplicate", "same check as val01")),
    },
];

/// What a demo seeding did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DemoReport {
    pub runs_added: usize,
    pub runs_present: usize,
    pub snapshots_added: usize,
    pub assets_added: usize,
    pub decisions_added: usize,
    pub backups_added: usize,
}

/// Errors of the demo.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Refused(String),
    #[error("demo: {0}")]
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> DemoError {
    DemoError::Failed(e.to_string())
}

/// A deterministic run id in the generated form, so re-seeding finds the same runs.
fn demo_run_id(n: usize) -> String {
    format!("run_{}", &sha256_text(&format!("rmos-demo-v1/{n}"))[..32])
}

/// A deterministic creation time `days` days and some minutes before `now`.
fn backdate(now: Timestamp, n: usize) -> Timestamp {
    let days = (n * 7919) % 30;
    let minutes = (n * 104_729) % (24 * 60);
    now.minus_seconds((days * 86_400 + minutes * 60) as i64)
}

fn is_dup(e: &PersistError) -> bool {
    matches!(e, PersistError::Store(StoreError::AlreadyExists { .. }))
}

/// Does `root` hold anything (runs, database, assets)?
fn has_content(root: &DataRoot) -> bool {
    root.runs_dir.exists() || root.db_path().exists() || root.data_dir.join("advisory").exists()
}

/// Seed `root` (idempotent).
pub fn seed(root: &DataRoot) -> Result<DemoReport, DemoError> {
    let marker = root.data_dir.join(MARKER);
    if has_content(root) && !marker.exists() {
        return Err(DemoError::Refused(format!(
            "{} already holds data that rmos demo did not create; the demo only seeds an empty or demo data root (use --data DIR for a new one)",
            root.data_dir.display()
        )));
    }
    std::fs::create_dir_all(&root.data_dir).map_err(failed)?;
    // The marker is appended to: one that is a link would have rmos write wherever it points.
    crate::fsio::durable::refuse_link(&marker).map_err(|e| DemoError::Refused(e.to_string()))?;
    if !marker.exists() {
        write_marker(&marker)?;
    }
    let store = root.run_store();
    let now = Timestamp::now();
    let mut report = DemoReport::default();
    let count = |r: Result<(), PersistError>, report: &mut DemoReport| -> Result<(), DemoError> {
        match r {
            Ok(()) => report.runs_added += 1,
            Err(e) if is_dup(&e) => report.runs_present += 1,
            Err(e) => return Err(failed(e)),
        }
        Ok(())
    };

    // 1. Score the demo designs (the real scorer), backdated over the last month.
    for (n, line) in DESIGNS.lines().enumerate() {
        let v: Value = serde_json::from_str(line).map_err(failed)?;
        let req = ScoreRequest::from_json(&v).map_err(failed)?;
        let opts = RunOptions {
            run_id: Some(demo_run_id(n)),
            created_at: Some(backdate(now, n)),
            ..Default::default()
        };
        let source = if n % 3 == 0 {
            ScoreSource::Batch
        } else {
            ScoreSource::Single
        };
        let r = match score_and_record(&store, &req, source, false, opts) {
            Ok(_) => Ok(()),
            Err(crate::scoring::service::ScoreRunError::Persist(e)) => Err(e),
            Err(crate::scoring::service::ScoreRunError::Score(e)) => {
                // A tool the scorer cannot handle is recorded as an ERROR run, not lost.
                let feasibility = json!({"risk_level": "ERROR", "score": 0.0, "warnings": [e.to_string()], "details": {"engine": "rosette_scorer"}});
                let summary = json!({"design": v["design"], "context": v["ctx"]});
                let opts = RunOptions {
                    run_id: Some(demo_run_id(n)),
                    created_at: Some(backdate(now, n)),
                    ..Default::default()
                };
                let tool = req.ctx.tool_id.clone().unwrap_or_default();
                create_run_from_feasibility(
                    &store,
                    "art_studio",
                    &tool,
                    obj(summary),
                    obj(feasibility),
                    opts,
                )
                .map(|_| ())
            }
        };
        count(r, &mut report)?;
    }

    // 2. CAM toolpath checks from the router pipeline (GREEN and YELLOW decisions).
    for k in 0..8 {
        let n = 100 + k;
        let ok = k % 3 != 2;
        let feasibility = json!({
            "risk_level": if ok { "GREEN" } else { "YELLOW" },
            "score": if ok { 88.0 + k as f64 } else { 71.5 },
            "warnings": if ok { json!([]) } else { json!(["Stepover above 40% of tool diameter"]) },
            "details": {"engine": "toolpath_check_v1", "stepover_pct": if ok { 35 } else { 45 }, "passes": 2 + k % 3},
        });
        let request = json!({"design": {"dxf": format!("rosette_channel_{k}.dxf")}, "context": {"tool_id": "endmill_3mm", "material_id": "maple_hard"}});
        let mut meta = JsonMap::new();
        meta.insert("source".into(), json!("toolpath_check"));
        let opts = RunOptions {
            run_id: Some(demo_run_id(n)),
            created_at: Some(backdate(now, n)),
            meta,
            ..Default::default()
        };
        let summary = crate::hashing::summarize_request(&request);
        let r = create_run_from_feasibility(
            &store,
            "cam",
            "endmill_3mm",
            obj(summary),
            obj(feasibility),
            opts,
        )
        .map(|_| ());
        count(r, &mut report)?;
    }

    // 3. A request that reached the store without its hash or risk: the completeness
    //    guard records a BLOCKED substitute instead of losing it.
    let mut req = PersistRequest::new(demo_run_id(200), "router", "vbit60", RunStatus::Ok);
    req.request_summary = obj(json!({"keys": ["design"], "note": "client sent no feasibility"}));
    req.created_at = Some(backdate(now, 200));
    count(validate_and_persist(&store, req).map(|_| ()), &mut report)?;

    // 4. Lineage: re-scorings, a plan and its executions, a workflow session.
    lineage(root, &store, now, &mut report, &count)?;

    // 5. Snapshots of a few designs (each records a snapshot run); one is the baseline.
    let snaps = SnapshotStore::new(root.snapshots_dir.clone());
    for (i, (name, tags, with_feasibility)) in [
        ("Herringbone classic", vec!["demo", "herringbone"], true),
        ("Walnut spiral", vec!["demo", "spiral"], true),
        ("Plain rings (no feasibility)", vec!["demo"], false),
    ]
    .into_iter()
    .enumerate()
    {
        let line = DESIGNS
            .lines()
            .nth(i * 4 + 1)
            .ok_or_else(|| failed("design list too short"))?;
        let v: Value = serde_json::from_str(line).map_err(failed)?;
        let Ok(crate::domain::design::Design::Spec(spec)) =
            crate::domain::design::Design::from_json(&v["design"])
        else {
            continue;
        };
        let meta = SnapshotMetadata {
            name: Some(name.into()),
            tags: tags.into_iter().map(String::from).collect(),
            created_by: Some("demo".into()),
            ..Default::default()
        };
        let id = format!("snap_demo_{:02}", i + 1);
        match snapshots::export(&snaps, &store, &spec, Some(&id), meta, with_feasibility) {
            Ok(w) => {
                report.snapshots_added += 1;
                if let Some(run) = &w.run_id {
                    remember(root, "run", run)?;
                }
            }
            Err(FileStoreError::Exists { .. }) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    if snaps.baseline().map_err(failed)?.is_none() {
        snaps.set_baseline("snap_demo_01", true).map_err(failed)?;
    }

    // 6. A CAM settings backup.
    let backups = BackupStore::new(root.backups_dir.clone());
    if backups.list().map_err(failed)?.is_empty() {
        let settings = json!({"posts": ["grbl", "linuxcnc", "mach4"], "machines": {"shapeoko_5": {"x_mm": 1200, "y_mm": 600, "spindle_max_rpm": 24000}}, "tools": {"vbit60": {"angle_deg": 60}, "endmill_3mm": {"diameter_mm": 3.0, "flutes": 2}}});
        let entry = backups.write(settings).map_err(failed)?;
        remember(root, "backup", &entry.name)?;
        report.backups_added += 1;
    }

    // 7. Advisory assets, some decided, some pending; decisions go through the chain.
    let mut adv = root.open_advisory().map_err(failed)?;
    let open_policy = ReviewerPolicy::default();
    for (i, a) in ASSETS.iter().enumerate() {
        let added = adv.add(NewAsset {
            asset_type: Some(a.kind),
            content: a.bytes.to_vec(),
            mime: a.mime.into(),
            extension: a.ext.into(),
            provider: Some(a.provider.into()),
            model: Some(a.model.into()),
            prompt: (!a.prompt.is_empty()).then(|| a.prompt.into()),
            confidence: Some(a.confidence),
            asset_id: Some(a.id.into()),
            run_id: Some(demo_run_id(i % 30)),
            created_at: Some(backdate(now, 300 + i)),
            suggestion_data: (a.mime == "application/json")
                .then(|| serde_json::from_slice(a.bytes).ok())
                .flatten(),
            ..Default::default()
        });
        match added {
            Ok(_) => report.assets_added += 1,
            Err(AdvisoryError::Exists(_)) => {}
            Err(e) => return Err(failed(e)),
        }
        let asset = adv.get(a.id).map_err(failed)?;
        if let (Some((approve, reason, note)), ReviewState::Pending) = (a.decision, asset.state) {
            let req = DecisionRequest {
                reviewer: "demo-reviewer",
                asset_id: a.id,
                approve,
                reason: (!reason.is_empty()).then_some(reason),
                note: (!note.is_empty()).then_some(note),
                expect_hash: Some(&asset.content_hash),
                expect_previous: None,
            };
            adv.decide(&open_policy, &req).map_err(failed)?;
            report.decisions_added += 1;
        }
    }
    // The approved explanation is attached to the run it explains.
    let _ = adv.attach(&store, "adv_demo_exp01", &demo_run_id(0));
    Ok(report)
}

/// A creation time `secs` seconds after demo run `n`'s (never in the future).
fn after(now: Timestamp, n: usize, secs: i64) -> Timestamp {
    let days = ((n * 7919) % 30) as i64;
    let minutes = ((n * 104_729) % (24 * 60)) as i64;
    now.minus_seconds((days * 86_400 + minutes * 60 - secs).max(60))
}

/// The demo's workflow session.
const DEMO_SESSION: &str = "ws_demo_rosette_01";

type Count<'a> = dyn Fn(Result<(), PersistError>, &mut DemoReport) -> Result<(), DemoError> + 'a;

/// Runs that point at other runs, as a shop's records do: a design re-scored after an
/// edit (drift against its parent) and re-scored again, a CAM plan with the toolpath
/// runs that execute it, and a workflow session whose steps each recorded a run.
fn lineage(
    root: &DataRoot,
    store: &crate::store::runs::RunStore,
    now: Timestamp,
    report: &mut DemoReport,
    count: &Count<'_>,
) -> Result<(), DemoError> {
    use crate::store::guard::RunLinks;
    let design_line = |i: usize| -> Result<Value, DemoError> {
        let line = DESIGNS
            .lines()
            .nth(i)
            .ok_or_else(|| failed("design list too short"))?;
        serde_json::from_str(line).map_err(failed)
    };
    let score_of = |run: &str| store.get(run).ok().and_then(|(a, _)| a.decision.score);

    // Design 1 re-scored twice: in ebony instead of basswood (the score drifts from its
    // parent's), then the same again (no drift).
    let parent = demo_run_id(1);
    let mut v = design_line(1)?;
    v["ctx"]["material_id"] = json!("ebony_african");
    let req = ScoreRequest::from_json(&v).map_err(failed)?;
    let (result, _) = score_and_record(
        store,
        &req,
        ScoreSource::Single,
        true,
        RunOptions::default(),
    )
    .map_err(failed)?;
    for (k, (n, from)) in [(210, parent.clone()), (211, demo_run_id(210))]
        .into_iter()
        .enumerate()
    {
        let baseline = score_of(&from);
        let delta = baseline.map(|b| result.score - b);
        let drift = delta.is_some_and(|d| d.abs() >= 0.01);
        let summary = json!({
            "baseline_run_id": from,
            "baseline_score": baseline,
            "score": result.score,
            "score_delta": delta.map(|d| (d * 100.0).round() / 100.0),
            "changed_inputs": if k == 0 { json!(["ctx.material_id"]) } else { json!([]) },
        });
        let opts = RunOptions {
            run_id: Some(demo_run_id(n)),
            created_at: Some(after(now, 1, 3_600 * (k as i64 + 2))),
            links: RunLinks {
                parent_run_id: Some(from),
                drift_detected: Some(drift),
                drift_summary: Some(obj(summary)),
                ..Default::default()
            },
            ..Default::default()
        };
        let r = score_and_record(store, &req, ScoreSource::Single, false, opts);
        count(
            match r {
                Ok(_) => Ok(()),
                Err(crate::scoring::service::ScoreRunError::Persist(e)) => Err(e),
                Err(e) => return Err(failed(e)),
            },
            report,
        )?;
    }

    // A CAM plan and the toolpath runs executing it (the reference records the plan both
    // as the parent and in the lineage).
    let plan = demo_run_id(220);
    let mut meta = JsonMap::new();
    meta.insert("source".into(), json!("cam_plan"));
    let feasibility = json!({"risk_level": "GREEN", "score": 91.0, "warnings": [], "details": {"engine": "cam_plan_v1", "operations": ["rough", "finish"]}});
    let request = json!({"design": {"dxf": "rosette_channel_plan.dxf"}, "context": {"tool_id": "endmill_3mm", "material_id": "maple_hard"}});
    let opts = RunOptions {
        run_id: Some(plan.clone()),
        created_at: Some(backdate(now, 220)),
        meta,
        ..Default::default()
    };
    let summary = crate::hashing::summarize_request(&request);
    count(
        create_run_from_feasibility(
            store,
            "cam",
            "endmill_3mm",
            obj(summary),
            obj(feasibility),
            opts,
        )
        .map(|_| ()),
        report,
    )?;
    for (k, op) in ["rough", "finish"].into_iter().enumerate() {
        let n = 221 + k;
        let ok = op == "rough";
        let feasibility = json!({
            "risk_level": if ok { "GREEN" } else { "YELLOW" },
            "score": if ok { 89.0 } else { 74.0 },
            "warnings": if ok { json!([]) } else { json!(["Finish pass stepdown near the tool's limit"]) },
            "details": {"engine": "toolpath_check_v1", "operation": op},
        });
        let request = json!({"design": {"dxf": "rosette_channel_plan.dxf", "operation": op}, "context": {"tool_id": "endmill_3mm", "material_id": "maple_hard"}});
        let mut meta = JsonMap::new();
        meta.insert("source".into(), json!("toolpath_check"));
        let opts = RunOptions {
            run_id: Some(demo_run_id(n)),
            created_at: Some(after(now, 220, 1_800 * (k as i64 + 1))),
            meta,
            links: RunLinks {
                parent_run_id: Some(plan.clone()),
                parent_plan_run_id: Some(plan.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        let summary = crate::hashing::summarize_request(&request);
        count(
            create_run_from_feasibility(
                store,
                "cam",
                "endmill_3mm",
                obj(summary),
                obj(feasibility),
                opts,
            )
            .map(|_| ()),
            report,
        )?;
    }

    // A rosette workflow session: each step scored a variant of one design.
    let steps = ["design", "material", "tooling", "review"];
    let runs: Vec<String> = (0..steps.len()).map(|k| demo_run_id(230 + k)).collect();
    for (k, run) in runs.iter().enumerate() {
        let mut v = design_line(2)?;
        let id = v["design"]["inner_diameter_mm"].as_f64().unwrap_or(94.0);
        v["design"]["inner_diameter_mm"] = json!(id + k as f64);
        let req = ScoreRequest::from_json(&v).map_err(failed)?;
        let opts = RunOptions {
            run_id: Some(run.clone()),
            created_at: Some(after(now, 230, 900 * k as i64)),
            links: RunLinks {
                workflow_session_id: Some(DEMO_SESSION.into()),
                parent_run_id: k.checked_sub(1).map(|p| runs[p].clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        count(
            match score_and_record(store, &req, ScoreSource::Single, false, opts) {
                Ok(_) => Ok(()),
                Err(crate::scoring::service::ScoreRunError::Persist(e)) => Err(e),
                Err(e) => return Err(failed(e)),
            },
            report,
        )?;
    }
    let sessions = root.sessions().map_err(failed)?;
    match sessions.get(DEMO_SESSION) {
        Ok(_) => {}
        Err(crate::store::sessions::SessionError::NotFound(_)) => {
            sessions
                .create(crate::store::sessions::NewSession {
                    session_id: Some(DEMO_SESSION.into()),
                    workflow_type: "rosette".into(),
                    current_step: steps[0].into(),
                    context: Some(json!({"design": "spiral and mosaic rings", "goal": "fit a 94 mm soundhole channel"})),
                    material_id: Some("ebony_african".into()),
                    tool_id: Some("default-vbit".into()),
                    user_id: Some("demo".into()),
                    ..Default::default()
                })
                .map_err(failed)?;
            sessions
                .update(
                    DEMO_SESSION,
                    crate::store::sessions::SessionUpdate {
                        current_step: Some(steps[steps.len() - 1].into()),
                        add_run_ids: runs.clone(),
                        state_data: Some(json!({"steps_done": steps})),
                        ..Default::default()
                    },
                )
                .map_err(failed)?;
        }
        Err(e) => return Err(failed(e)),
    }
    Ok(())
}

fn obj(v: Value) -> JsonMap {
    match v {
        Value::Object(m) => m,
        _ => JsonMap::new(),
    }
}

fn write_marker(marker: &Path) -> Result<(), DemoError> {
    std::fs::write(
        marker,
        b"This data root was created by `rmos demo`; `rmos demo --fresh` may reset it.\n",
    )
    .map_err(failed)
}

/// Note in the marker file something the demo created under a name it does not choose
/// itself (a snapshot's run, a backup), so `--fresh` knows it may delete it.
fn remember(root: &DataRoot, kind: &str, name: &str) -> Result<(), DemoError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(root.data_dir.join(MARKER))
        .map_err(failed)?;
    writeln!(f, "{kind} {name}").map_err(failed)?;
    f.sync_all().map_err(failed)
}

/// The highest fixed demo run number (designs and the guard's substitute).
const DEMO_RUN_IDS: usize = 400;

/// Remove what `rmos demo` created in a demo data root, and nothing else.
///
/// Refused, with nothing deleted, when the root carries no demo marker, when the runs,
/// snapshots or backups folder is redirected by an environment variable (it is then
/// somebody else's folder, e.g. a luthiers-toolbox tree), or when any part of the data root
/// is reached through a symbolic link. Within the runs, snapshots and backups folders only
/// the demo's own files go (its fixed run ids and those listed in the marker, their advisory
/// links, `snap_demo_*` snapshots, the listed backup); anything else stays and is reported.
pub fn reset(root: &DataRoot) -> Result<ResetReport, DemoError> {
    let marker = root.data_dir.join(MARKER);
    match std::fs::symlink_metadata(&marker) {
        Ok(m) if m.is_file() => {}
        _ => {
            if has_content(root) {
                return Err(DemoError::Refused(format!(
                    "{} was not created by rmos demo: --fresh only resets demo data roots and never deletes other records",
                    root.data_dir.display()
                )));
            }
            return Ok(ResetReport::default());
        }
    }
    let standard = DataRoot::at(&root.data_dir);
    for (var, part, expected) in [
        ("RMOS_RUNS_DIR", &root.runs_dir, &standard.runs_dir),
        (
            "ART_STUDIO_SNAPSHOTS_DIR",
            &root.snapshots_dir,
            &standard.snapshots_dir,
        ),
        ("CAM_BACKUP_DIR", &root.backups_dir, &standard.backups_dir),
    ] {
        if part != expected {
            return Err(DemoError::Refused(format!(
                "{var} points at {}, outside the demo data root {}: --fresh never deletes in a folder given by an environment variable. Unset {var} to reset the demo; nothing was deleted",
                part.display(),
                root.data_dir.display()
            )));
        }
    }
    let db = root.db_path();
    let parts = [
        root.runs_dir.clone(),
        root.snapshots_dir.clone(),
        root.backups_dir.clone(),
        root.data_dir.join("advisory"),
        db.clone(),
        root.data_dir.join("rmos.db-wal"),
        root.data_dir.join("rmos.db-shm"),
    ];
    for p in &parts {
        crate::fsio::durable::refuse_links_below(&root.data_dir, p)
            .map_err(|e| DemoError::Refused(format!("{e}; --fresh deleted nothing")))?;
    }
    // Bounded: the marker lists a few dozen names.
    let listed = crate::fsio::read::read_regular(&marker, 1024 * 1024)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let listed = |kind: &str, name: &str| {
        listed
            .lines()
            .any(|l| l.split_once(' ') == Some((kind, name)))
    };
    let fixed: std::collections::HashSet<String> = (0..=DEMO_RUN_IDS).map(demo_run_id).collect();
    let is_demo_run = |stem: &str| {
        let run = stem.split("_advisory_").next().unwrap_or(stem);
        fixed.contains(run) || listed("run", run)
    };
    let mut report = ResetReport::default();
    // Runs: only the demo's files; empty partitions go too.
    let store = root.run_store();
    for partition in store.partitions().map_err(failed)? {
        let dir = store.partition_dir(&partition);
        let entries = std::fs::read_dir(&dir).map_err(failed)?;
        for e in entries.flatten() {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let is_file = e.file_type().is_ok_and(|t| t.is_file());
            match name.strip_suffix(".json") {
                Some(stem) if is_file && is_demo_run(stem) => {
                    std::fs::remove_file(e.path()).map_err(failed)?;
                    report.removed += 1;
                }
                _ => report.kept.push(e.path()),
            }
        }
        let _ = std::fs::remove_dir(&dir);
    }
    let _ = std::fs::remove_dir_all(root.runs_dir.join(crate::store::runs::PRIVATE_DIR));
    // Snapshots: the demo's ids only.
    if let Ok(entries) = std::fs::read_dir(&root.snapshots_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_file = e.file_type().is_ok_and(|t| t.is_file());
            if is_file && name.starts_with("snap_demo_") && name.ends_with(".json") {
                std::fs::remove_file(e.path()).map_err(failed)?;
                report.removed += 1;
            } else if !name.starts_with('.') {
                report.kept.push(e.path());
            }
        }
    }
    // Backups: the one the demo wrote.
    if let Ok(entries) = std::fs::read_dir(&root.backups_dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".json").unwrap_or(&name);
            if e.file_type().is_ok_and(|t| t.is_file())
                && (listed("backup", &name) || listed("backup", stem))
            {
                std::fs::remove_file(e.path()).map_err(failed)?;
                report.removed += 1;
            } else if !name.starts_with('.') {
                report.kept.push(e.path());
            }
        }
    }
    // The review queue and the database live only in the data root itself. (This process
    // holds no connection to it now; the next one creates it afresh.)
    crate::db::forget(&db);
    for p in &parts[3..] {
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).map_err(failed)?,
            Ok(_) => std::fs::remove_file(p).map_err(failed)?,
            Err(_) => {}
        }
    }
    if report.kept.is_empty() {
        // Still a demo root, with nothing of its own left to list.
        write_marker(&marker)?;
    }
    Ok(report)
}

/// What `reset` did.
#[derive(Debug, Default)]
pub struct ResetReport {
    /// Demo files removed (runs, links, snapshots, backups).
    pub removed: usize,
    /// Files left because the demo did not create them.
    pub kept: Vec<PathBuf>,
}
