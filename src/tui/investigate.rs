//! Following a run's links: its parent run, the plan it executes, the runs derived from
//! it and the advisories attached to it, k9s-style — `Enter` in the details lists the
//! links, `Enter` on one opens it, and `Backspace` / `Ctrl-o` walks back the way you came.

use super::app::DetailsPane;
use super::queue::StatusFilter;
use crate::domain::RunArtifact;

/// What a link points at, and why the run points there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `parent_run_id`: the run this one was derived from (re-scored, re-planned).
    Parent,
    /// `lineage.parent_plan_run_id`: the plan this run executes.
    Plan,
    /// A run whose parent (or plan) is this run.
    Child,
    /// An advisory asset in `advisory_inputs`.
    Advisory,
    /// A run a session or snapshot names.
    Run,
}

impl LinkKind {
    pub fn label(self) -> &'static str {
        match self {
            LinkKind::Parent => "parent",
            LinkKind::Plan => "plan",
            LinkKind::Child => "child",
            LinkKind::Advisory => "advisory",
            LinkKind::Run => "run",
        }
    }
}

/// One link of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub kind: LinkKind,
    /// A run_id (parent, plan, child) or an asset id (advisory).
    pub target: String,
    /// A few words about the target (an advisory's kind and review state).
    pub note: String,
}

/// The links of a run, in the order the menu lists them: where it came from (parent,
/// plan), what came from it (children, newest first), then its advisories.
pub fn links_of(a: &RunArtifact, children: &[String]) -> Vec<Link> {
    let mut out = Vec::new();
    let mut push = |kind, target: &str, note: String| {
        let target = target.trim();
        if !target.is_empty()
            && !out
                .iter()
                .any(|l: &Link| l.kind == kind && l.target == target)
        {
            out.push(Link {
                kind,
                target: target.to_owned(),
                note,
            });
        }
    };
    if let Some(p) = &a.parent_run_id {
        push(LinkKind::Parent, p, String::new());
    }
    if let Some(p) = a
        .lineage
        .as_ref()
        .and_then(|l| l.parent_plan_run_id.as_deref())
    {
        push(LinkKind::Plan, p, String::new());
    }
    for c in children {
        push(LinkKind::Child, c, String::new());
    }
    for r in &a.advisory_inputs {
        // The rmos asset a link names, else its key (a content hash or an asset id).
        push(
            LinkKind::Advisory,
            r.rmos_asset_id.as_deref().unwrap_or(&r.advisory_id),
            format!("{}, {}", r.kind, r.status),
        );
    }
    out
}

/// The diff pane (`d`): two runs compared field by field.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffPane {
    /// The older run (or the first marked): what the changes are from.
    pub a: String,
    /// The newer run: what the changes are to.
    pub b: String,
    /// `None` while loading; `Err` when a run could not be read.
    pub changes: Option<Result<Vec<crate::domain::diff::Change>, String>>,
    pub scroll: u16,
}

/// Where `Backspace` / `Ctrl-o` returns to.
#[derive(Debug, Clone, PartialEq)]
pub enum Back {
    /// The details of a run (reloaded on return: the file may have changed meanwhile).
    Run(DetailsPane),
    /// The run list with no details open.
    List,
    /// A sessions or snapshots view, on this record.
    Records {
        kind: super::records::RecordKind,
        id: Option<String>,
    },
    /// The review queue as it was: its status, filter and the asset selected.
    Queue {
        status: StatusFilter,
        filter: String,
        asset_id: Option<String>,
    },
}

/// How deep the back stack goes (older steps are forgotten).
pub const BACK_MAX: usize = 50;

/// Push onto a back stack, forgetting the oldest step past [`BACK_MAX`].
pub fn push_back(stack: &mut Vec<Back>, step: Back) {
    if stack.len() >= BACK_MAX {
        stack.remove(0);
    }
    stack.push(step);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(json: serde_json::Value) -> RunArtifact {
        serde_json::from_value(json).expect("a valid artifact")
    }

    fn base() -> serde_json::Value {
        serde_json::json!({
            "run_id": "run_child",
            "created_at_utc": "2025-12-24T10:00:00Z",
            "mode": "rosette",
            "tool_id": "t",
            "status": "OK",
            "event_type": "feasibility",
            "request_summary": {},
            "feasibility": {},
            "decision": {"risk_level": "GREEN"},
            "hashes": {"feasibility_sha256": "0".repeat(64)}
        })
    }

    #[test]
    fn links_list_parent_plan_children_then_advisories_without_blanks_or_repeats() {
        let mut j = base();
        j["parent_run_id"] = "run_parent".into();
        j["lineage"] = serde_json::json!({"parent_plan_run_id": "run_plan"});
        j["advisory_inputs"] = serde_json::json!([
            {"advisory_id": "adv_1", "kind": "explanation", "status": "REVIEWED"},
            {"advisory_id": "adv_1", "kind": "explanation", "status": "REVIEWED"},
            {"advisory_id": "  ", "kind": "explanation"},
            {"advisory_id": "ab".repeat(32), "kind": "advisory", "rmos_asset_id": "adv_9"}
        ]);
        let a = artifact(j);
        let links = links_of(&a, &["run_c2".into(), "run_c1".into(), "".into()]);
        let got: Vec<(LinkKind, &str)> =
            links.iter().map(|l| (l.kind, l.target.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (LinkKind::Parent, "run_parent"),
                (LinkKind::Plan, "run_plan"),
                (LinkKind::Child, "run_c2"),
                (LinkKind::Child, "run_c1"),
                (LinkKind::Advisory, "adv_1"),
                // A link rmos attached names the content; the asset it names is opened.
                (LinkKind::Advisory, "adv_9"),
            ]
        );
        assert!(links[4].note.contains("explanation"));
    }

    #[test]
    fn a_run_without_lineage_has_no_links() {
        assert!(links_of(&artifact(base()), &[]).is_empty());
    }

    #[test]
    fn the_back_stack_forgets_the_oldest_step_past_its_depth() {
        let mut s = Vec::new();
        for _ in 0..BACK_MAX + 5 {
            push_back(&mut s, Back::List);
        }
        assert_eq!(s.len(), BACK_MAX);
    }
}
