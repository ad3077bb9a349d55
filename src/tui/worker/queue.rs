//! The review-queue worker: lists, previews and decisions on the advisory store.

use crate::config::DataRoot;
use crate::store::advisory::check_signature;
use crate::store::advisory::{
    reviewer_identity, AdvisoryAsset, AssetType, DecisionRequest, ReviewState,
};
use crate::store::seam::ReviewStore;
use crate::tui::msg::Msg;
use crate::tui::queue::{PreviewBody, PreviewData, QueueCmd, StatusFilter};
use std::sync::mpsc;
use tokio::sync::mpsc::UnboundedSender;

/// Start the review-queue worker: its own advisory-store connection (opened on first use
/// and again after a failure), answering [`QueueCmd`]s in order with [`Msg`]s. Separate
/// from the query workers, so a decision being written never delays a page of runs and
/// the queue works even when the run index cannot be opened.
pub fn spawn_queue_worker(root: DataRoot, out: UnboundedSender<Msg>) -> mpsc::Sender<QueueCmd> {
    let (tx, rx) = mpsc::channel::<QueueCmd>();
    std::thread::Builder::new()
        .name("rmos-queue".into())
        .spawn(move || {
            let mut store: Option<Box<dyn ReviewStore>> = None;
            while let Ok(q) = rx.recv() {
                // A read-only store may have been opened as immutable (no writer at the
                // time): open it afresh for each listing so a writer that started since is
                // seen.
                if matches!(q, QueueCmd::Load(_))
                    && store.as_ref().is_some_and(|s| s.is_read_only())
                {
                    store = None;
                }
                if store.is_none() {
                    match root.reviews() {
                        Ok(s) => store = Some(s),
                        Err(e) => {
                            if out.send(queue_unavailable(q, &e.to_string())).is_err() {
                                return;
                            }
                            continue;
                        }
                    }
                }
                let s = store.as_deref_mut().expect("opened above");
                if out.send(queue_answer(s, &root, q)).is_err() {
                    return;
                }
            }
        })
        .expect("spawn queue worker");
    tx
}

/// The answer to a queue command when the review store cannot be opened.
fn queue_unavailable(q: QueueCmd, error: &str) -> Msg {
    let error = format!("the review queue is unavailable: {error}");
    match q {
        QueueCmd::Load(_) => Msg::QueueFailed(error),
        QueueCmd::Preview(asset_id) => Msg::Preview {
            asset_id,
            data: Box::new(PreviewData {
                content_hash: String::new(),
                body: PreviewBody::Unavailable(error.clone()),
                error: Some(error),
                history: Vec::new(),
                signatures: Vec::new(),
            }),
        },
        QueueCmd::Decide(batch) => Msg::Decided {
            outcomes: batch
                .items
                .into_iter()
                .map(|it| (it.asset_id, Err(error.clone())))
                .collect(),
        },
    }
}

fn queue_answer(store: &mut dyn ReviewStore, root: &DataRoot, q: QueueCmd) -> Msg {
    match q {
        QueueCmd::Load(status) => {
            let state = match status {
                StatusFilter::Pending => Some(ReviewState::Pending),
                StatusFilter::Approved => Some(ReviewState::Approved),
                StatusFilter::Rejected => Some(ReviewState::Rejected),
                StatusFilter::All => None,
            };
            match store
                .list(state, 2_000)
                .and_then(|assets| Ok((assets, store.counts()?)))
            {
                Ok((assets, counts)) => Msg::Queue {
                    status,
                    assets,
                    counts,
                },
                Err(e) => Msg::QueueFailed(e.to_string()),
            }
        }
        QueueCmd::Preview(asset_id) => {
            let data = match store.get(&asset_id) {
                Ok(a) => {
                    let mut data = load_preview(store, &a);
                    if let Ok(policy) = root.reviewer_policy() {
                        data.signatures = data
                            .history
                            .iter()
                            .map(|d| check_signature(d, &policy.signers).status)
                            .collect();
                    }
                    data
                }
                Err(e) => PreviewData {
                    content_hash: String::new(),
                    body: PreviewBody::Unavailable(e.to_string()),
                    error: Some(e.to_string()),
                    history: Vec::new(),
                    signatures: Vec::new(),
                },
            };
            Msg::Preview {
                asset_id,
                data: Box::new(data),
            }
        }
        QueueCmd::Decide(batch) => {
            let reviewer = reviewer_identity();
            let policy = match root.reviewer_policy() {
                Ok(p) => p,
                Err(e) => {
                    let outcomes = batch
                        .items
                        .iter()
                        .map(|it| (it.asset_id.clone(), Err(e.to_string())))
                        .collect();
                    return Msg::Decided { outcomes };
                }
            };
            let verb = if batch.approve {
                "approved"
            } else {
                "rejected"
            };
            let outcomes = batch
                .items
                .iter()
                .map(|it| {
                    let req = DecisionRequest {
                        reviewer: &reviewer,
                        asset_id: &it.asset_id,
                        approve: batch.approve,
                        reason: batch.reason.as_deref(),
                        note: batch.note.as_deref(),
                        expect_hash: Some(&it.content_hash),
                        expect_previous: Some(it.seen_decision),
                    };
                    (
                        it.asset_id.clone(),
                        store
                            .decide(&policy, &req)
                            .map(|_| verb.to_owned())
                            .map_err(|e| e.to_string()),
                    )
                })
                .collect();
            Msg::Decided { outcomes }
        }
    }
}

/// Largest preview image kept in memory (pixels per side).
const PREVIEW_MAX: u32 = 120;

/// An image asset's preview: its thumbnail, or why there is none (with its size and type).
fn image_body(bytes: &[u8], mime: &str) -> PreviewBody {
    match crate::preview::decode(bytes) {
        Ok(img) => {
            let t = crate::preview::thumbnail_of(&img, PREVIEW_MAX);
            PreviewBody::Image {
                width: t.width,
                height: t.height,
                px_w: t.px_w,
                px_h: t.px_h,
                pixels: t.pixels,
                full: Some(std::sync::Arc::new(crate::preview::full(img))),
            }
        }
        Err(why) => PreviewBody::Unavailable(format!("{why} ({} bytes, {mime})", bytes.len())),
    }
}

/// Read, check and prepare an asset's content for the preview pane.
pub fn load_preview(store: &dyn ReviewStore, a: &AdvisoryAsset) -> PreviewData {
    let history = store.history(&a.asset_id).unwrap_or_default();
    let bytes = match store.content(a) {
        Ok(b) => b,
        Err(e) => {
            return PreviewData {
                content_hash: a.content_hash.clone(),
                body: PreviewBody::Unavailable(e.to_string()),
                error: Some(e.to_string()),
                history,
                signatures: Vec::new(),
            }
        }
    };
    let body = match a.asset_type {
        AssetType::Image => image_body(&bytes, &a.mime),
        _ => match crate::fsio::read::check_json_budget(&bytes)
            .map_err(|_| ())
            .and_then(|()| serde_json::from_slice::<serde_json::Value>(&bytes).map_err(|_| ()))
        {
            Ok(v)
                if a.mime == "application/json"
                    || matches!(
                        a.asset_type,
                        AssetType::Suggestion | AssetType::Validation | AssetType::Pattern
                    ) =>
            {
                PreviewBody::Json(v)
            }
            _ => PreviewBody::Text(String::from_utf8_lossy(&bytes).into_owned()),
        },
    };
    PreviewData {
        content_hash: a.content_hash.clone(),
        body,
        error: None,
        history,
        signatures: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unopenable_review_store_answers_every_queue_command_in_its_own_terms() {
        use crate::tui::queue::{DecisionBatch, DecisionItem};
        assert!(matches!(
            queue_unavailable(QueueCmd::Load(StatusFilter::All), "locked"),
            Msg::QueueFailed(e) if e.contains("locked")
        ));
        // A preview that cannot load says why (it never stays "loading").
        let Msg::Preview { asset_id, data } =
            queue_unavailable(QueueCmd::Preview("adv_1".into()), "locked")
        else {
            panic!("a preview answer")
        };
        assert_eq!(asset_id, "adv_1");
        assert!(matches!(data.body, PreviewBody::Unavailable(ref e) if e.contains("locked")));
        // Every asset of a decision is reported as not written.
        let item = |id: &str| DecisionItem {
            asset_id: id.into(),
            content_hash: "h".into(),
            asset_type: "image".into(),
            current: None,
            seen_decision: None,
        };
        let batch = DecisionBatch {
            items: vec![item("a1"), item("a2")],
            approve: true,
            reason: None,
            note: None,
        };
        let Msg::Decided { outcomes } = queue_unavailable(QueueCmd::Decide(batch), "locked") else {
            panic!("a decision answer")
        };
        assert_eq!(outcomes.len(), 2);
        assert!(outcomes
            .iter()
            .all(|(_, r)| r.as_ref().is_err_and(|e| e.contains("locked"))));
    }

    #[test]
    fn an_image_without_a_preview_names_its_size_and_type() {
        match image_body(b"BM not a bitmap", "image/bmp") {
            PreviewBody::Unavailable(why) => assert_eq!(
                why,
                "preview shows PNG, JPEG, WebP and GIF images (15 bytes, image/bmp)"
            ),
            other => panic!("{other:?}"),
        }
        match image_body(b"GIF89a....", "image/gif") {
            PreviewBody::Unavailable(why) => {
                assert!(why.starts_with("cannot decode the GIF"), "{why}");
                assert!(why.ends_with("(10 bytes, image/gif)"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }
}
