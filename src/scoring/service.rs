//! Scoring a design and recording the result as an Art Studio run, in-process through the
//! same run store the console watches (a scored design shows up live).

use super::feasibility::{
    art_studio_summary, score_design, FeasibilityResult, ScoreContext, ScoreError,
};
use super::runs::{create_art_studio_feasibility_run, RunOptions};
use crate::domain::design::Design;
use crate::domain::{JsonMap, RunArtifact};
use crate::store::guard::PersistError;
use crate::store::RunStore;
use serde_json::{json, Value};

/// One scoring request: a design, its context and workflow mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRequest {
    pub design: Design,
    /// The design as given (recorded in the run's request summary).
    pub design_json: Value,
    pub ctx: ScoreContext,
    /// Was a tool id given explicitly (then it is the run's tool_id)?
    pub explicit_tool: bool,
    pub workflow_mode: Option<String>,
}

impl ScoreRequest {
    /// Parse a bare design or `{"design", "ctx", "workflow_mode"}`. Without `ctx` the Art
    /// Studio defaults apply (default-ebony, default-vbit); without `workflow_mode`,
    /// `design_first` (an explicit `null` means none).
    pub fn from_json(v: &Value) -> Result<ScoreRequest, super::RequestError> {
        use super::RequestError::Field;
        let wrapped = v.as_object().is_some_and(|m| m.contains_key("design"));
        let (design_json, ctx_json, mode) = if wrapped {
            let m = v.as_object().expect("checked");
            if let Some(k) = m
                .keys()
                .find(|k| !["design", "ctx", "context", "workflow_mode"].contains(&k.as_str()))
            {
                return Err(Field(format!(
                    "unknown field {k:?} (expected design, ctx, workflow_mode)"
                )));
            }
            let mode = match m.get("workflow_mode") {
                None => Some("design_first".to_owned()),
                Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(Field("workflow_mode must be a string or null".into())),
            };
            (
                m["design"].clone(),
                m.get("ctx").or_else(|| m.get("context")).cloned(),
                mode,
            )
        } else {
            (v.clone(), None, Some("design_first".to_owned()))
        };
        let design = Design::from_json(&design_json)?;
        let (ctx, explicit_tool) = match ctx_json {
            None | Some(Value::Null) => (ScoreContext::art_studio_defaults(), false),
            Some(c) => {
                let explicit = c.get("tool_id").is_some_and(|t| t.is_string());
                (ScoreContext::from_json(&c)?, explicit)
            }
        };
        Ok(ScoreRequest {
            design,
            design_json,
            ctx,
            explicit_tool,
            workflow_mode: mode,
        })
    }

    pub fn score(&self) -> Result<FeasibilityResult, ScoreError> {
        score_design(&self.design, &self.ctx, self.workflow_mode.as_deref())
    }
}

/// Errors of [`score_and_record`].
#[derive(Debug, thiserror::Error)]
pub enum ScoreRunError {
    #[error(transparent)]
    Score(#[from] ScoreError),
    #[error(transparent)]
    Persist(#[from] PersistError),
}

impl ScoreRunError {
    /// See [`StoreError::is_environmental`].
    pub fn is_environmental(&self) -> bool {
        matches!(self, ScoreRunError::Persist(PersistError::Store(e)) if e.is_environmental())
    }
}

/// Where a run came from (`meta.source`, and `request_summary.source` for batches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreSource {
    Single,
    Batch,
}

/// Score and, unless `dry_run`, persist an Art Studio feasibility run with the reference's
/// `create_art_studio_feasibility_run` semantics.
pub fn score_and_record(
    store: &RunStore,
    req: &ScoreRequest,
    source: ScoreSource,
    dry_run: bool,
    opts: RunOptions,
) -> Result<(FeasibilityResult, Option<RunArtifact>), ScoreRunError> {
    let result = req.score()?;
    if dry_run {
        return Ok((result, None));
    }
    let mut summary = JsonMap::new();
    let design = match &req.design {
        crate::domain::design::Design::Spec(s) => s.to_json(),
        crate::domain::design::Design::Legacy(_) => req.design_json.clone(),
    };
    summary.insert("design".into(), design);
    summary.insert(
        "context".into(),
        json!({"material_id": req.ctx.material_id, "tool_id": req.ctx.tool_id, "tool_diameter_mm": req.ctx.tool_diameter_mm}),
    );
    summary.insert("workflow_mode".into(), json!(req.workflow_mode));
    if source == ScoreSource::Batch {
        summary.insert("source".into(), json!("batch"));
    }
    let mut feasibility = art_studio_summary(&result);
    feasibility.insert(
        "details".into(),
        Value::Object(result.calculator_results.clone()),
    );
    let mut opts = opts;
    let src = match source {
        ScoreSource::Single => "feasibility_single",
        ScoreSource::Batch => "feasibility_batch",
    };
    opts.meta.entry("source").or_insert_with(|| json!(src));
    let tool = if req.explicit_tool {
        req.ctx.tool_id.clone().unwrap_or_else(|| "rosette".into())
    } else {
        "rosette".into()
    };
    let artifact = create_art_studio_feasibility_run(store, summary, feasibility, &tool, opts)?;
    Ok((result, Some(artifact)))
}
