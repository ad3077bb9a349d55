//! The review store on PostgreSQL, shared by reviewers on many machines: the same assets,
//! decisions and audit chain as the embedded store (the same record hash, so `rmos audit
//! verify` checks either), with the content bytes in the database, reviewer roles in the
//! `rmos_reviewers` table, and each decision appended under a transaction-level advisory
//! lock. The chain head is kept in `review_chain_head`, written in the decision's own
//! transaction. A decision is reported as made only once its transaction committed.

use super::assets::{attach_gate, check_content, prepare, write_attach_link};
use super::chain::{
    ago, decision_reason, next_record, record_hash, walk_chain, DECISION_COLS, GENESIS,
};
use super::*;
use crate::db::pg::{PgConn, PgError, PgTarget, CHANNEL};
use crate::store::runs::ArtifactKey;
use postgres::GenericClient;

/// The advisory lock key every decision takes ("rmos" in ASCII + 2).
const CHAIN_LOCK: i64 = 0x726d_6f73_0002;

const PG_COLS: &str = "a.asset_id, a.asset_type, a.source, a.provider, a.model, a.prompt, a.prompt_hash, a.request_id, a.run_id, \
    a.content_hash, a.content_path, a.content_size, a.mime, a.image_width, a.image_height, a.suggestion_data, a.confidence, \
    a.warnings_json, a.created_at, CASE WHEN d.decision IS NULL OR d.content_hash <> a.content_hash THEN NULL ELSE d.decision END, \
    d.decided_at, d.reviewer, d.note, d.reason, a.rating, d.seq";

fn asset_row(r: &postgres::Row) -> AdvisoryAsset {
    let decision: Option<String> = r.get(19);
    let state = match decision.as_deref() {
        Some("approved") => ReviewState::Approved,
        Some(_) => ReviewState::Rejected,
        None => ReviewState::Pending,
    };
    let t: String = r.get(1);
    AdvisoryAsset {
        asset_id: r.get(0),
        asset_type: AssetType::parse(&t).unwrap_or(AssetType::Suggestion),
        source: r.get(2),
        provider: r.get(3),
        model: r.get(4),
        prompt: r.get(5),
        prompt_hash: r.get(6),
        request_id: r.get(7),
        run_id: r.get(8),
        content_hash: r.get(9),
        content_path: r.get(10),
        content_size: r.get::<_, i64>(11) as u64,
        mime: r.get(12),
        image_width: r.get::<_, Option<i32>>(13).map(|v| v as u32),
        image_height: r.get::<_, Option<i32>>(14).map(|v| v as u32),
        suggestion_data: r
            .get::<_, Option<String>>(15)
            .and_then(|s| serde_json::from_str(&s).ok()),
        confidence: r.get(16),
        warnings: serde_json::from_str(&r.get::<_, String>(17)).unwrap_or_default(),
        created_at: r.get(18),
        reviewed: state != ReviewState::Pending,
        approved_for_workflow: state == ReviewState::Approved,
        reviewed_at: r.get(20),
        reviewer_id: r.get(21),
        review_note: r.get(22),
        rejection_reason: r.get(23),
        rating: r.get(24),
        state,
        decision_seq: r.get(25),
    }
}

pub(crate) fn pg_decision_row(r: &postgres::Row) -> ReviewDecision {
    ReviewDecision {
        seq: r.get(0),
        asset_id: r.get(1),
        content_hash: r.get(2),
        decision: r.get(3),
        reason: r.get(4),
        note: r.get(5),
        reviewer: r.get(6),
        decided_at: r.get(7),
        prev_hash: r.get(8),
        record_hash: r.get(9),
        signature: r.get(10),
        signer: r.get(11),
        imported: r
            .get::<_, Option<String>>(12)
            .and_then(|s| serde_json::from_str(&s).ok()),
        written_back: Vec::new(),
    }
}

/// Assets with their newest decision (as the embedded store's `FROM`).
const PG_FROM: &str = "advisory_assets a LEFT JOIN review_decisions d \
    ON d.seq = (SELECT max(x.seq) FROM review_decisions x WHERE x.asset_id = a.asset_id)";

const PG_STATE: &str = "CASE WHEN d.decision IS NULL OR d.content_hash <> a.content_hash THEN 'pending' ELSE d.decision END";

/// The review store in a PostgreSQL database.
pub struct PgReviews {
    conn: PgConn,
    read_only: bool,
}

impl PgReviews {
    /// Connect (bringing the schema up to date). The store is read-only for a database
    /// role that may not insert decisions (a viewer, README: Team setup).
    pub fn open(target: &PgTarget) -> Result<PgReviews, AdvisoryError> {
        let conn = PgConn::open(target)?;
        let may_decide: bool = conn.read(|c| {
            Ok(c.query_one(
                "SELECT has_table_privilege('review_decisions', 'INSERT')",
                &[],
            )?
            .get(0))
        })?;
        Ok(PgReviews {
            conn,
            read_only: !may_decide,
        })
    }

    fn target(&self) -> &PgTarget {
        self.conn.target()
    }

    fn writable(&self) -> Result<(), AdvisoryError> {
        if self.read_only {
            return Err(AdvisoryError::Refused(format!(
                "your database role may not record decisions in the {}: ask the database administrator for the reviewer grants (README, Team setup)",
                self.target().label()
            )));
        }
        Ok(())
    }

    fn fetch_asset(
        c: &mut impl GenericClient,
        id: &str,
    ) -> Result<Option<AdvisoryAsset>, postgres::Error> {
        Ok(c.query_opt(
            &format!("SELECT {PG_COLS} FROM {PG_FROM} WHERE a.asset_id = $1"),
            &[&id],
        )?
        .map(|r| asset_row(&r)))
    }

    /// Who may decide, from the `rmos_reviewers` table; `None` when the table is empty
    /// (then the data root's config.json decides).
    fn table_role(
        c: &mut impl GenericClient,
        reviewer: &str,
    ) -> Result<Option<Option<String>>, postgres::Error> {
        let row = c.query_one(
            "SELECT (SELECT count(*) FROM rmos_reviewers), (SELECT role FROM rmos_reviewers WHERE name = $1)",
            &[&reviewer],
        )?;
        let n: i64 = row.get(0);
        Ok((n > 0).then(|| row.get(1)))
    }

    /// Give `name` a role in the `rmos_reviewers` table (`rmos reviewers add --db …`).
    /// Returns whether it changed anything.
    pub fn set_role(&self, name: &str, role: &str) -> Result<bool, AdvisoryError> {
        check_reviewer_name(name)?;
        let now = Timestamp::now().to_pydantic();
        let t = self.target().clone();
        Ok(self.conn.write(|c| {
            let n = c
                .execute(
                    "INSERT INTO rmos_reviewers (name, role, added_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET role = EXCLUDED.role
                     WHERE rmos_reviewers.role IS DISTINCT FROM EXCLUDED.role",
                    &[&name, &role, &now],
                )
                .map_err(|e| t.sql_error(e))?;
            Ok::<_, PgError>(n > 0)
        })?)
    }

    /// Remove `name` from the `rmos_reviewers` table; whether it was there.
    pub fn remove_role(&self, name: &str) -> Result<bool, AdvisoryError> {
        let t = self.target().clone();
        Ok(self.conn.write(|c| {
            c.execute("DELETE FROM rmos_reviewers WHERE name = $1", &[&name])
                .map(|n| n > 0)
                .map_err(|e| t.sql_error(e))
        })?)
    }

    /// The `rmos_reviewers` table: (name, role), by name.
    pub fn roles(&self) -> Result<Vec<(String, String)>, AdvisoryError> {
        Ok(self.conn.read(|c| {
            Ok(
                c.query("SELECT name, role FROM rmos_reviewers ORDER BY name", &[])?
                    .iter()
                    .map(|r| (r.get(0), r.get(1)))
                    .collect(),
            )
        })?)
    }

    /// Copy an asset with its content as it is (`rmos db copy`): nothing is re-derived.
    /// Returns false when an asset with this id is already there.
    pub fn copy_asset(
        &self,
        asset: &AdvisoryAsset,
        extras: &ImportedExtras,
        content: &[u8],
    ) -> Result<bool, AdvisoryError> {
        // The bytes must be what the asset says they are, before they are stored under it.
        check_content(asset, content)?;
        let t = self.target().clone();
        let copied = self.conn.write(|c| {
            let sql = |e| t.sql_error(e);
            let mut tx = c.transaction().map_err(sql)?;
            tx.execute(
                "INSERT INTO advisory_content (content_hash, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&asset.content_hash, &content],
            )
            .map_err(sql)?;
            let n = tx
                .execute(
                    "INSERT INTO advisory_assets (asset_id, asset_type, source, provider, model, prompt, prompt_hash,
                       request_id, run_id, content_hash, content_path, content_size, mime, image_width, image_height,
                       suggestion_data, confidence, warnings_json, created_at, reviewed, approved_for_workflow,
                       reviewed_at, reviewer_id, review_note, rejection_reason, rating, is_favorite, cost_usd, meta_json)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                       $22, $23, $24, $25, $26, $27, $28, $29)
                     ON CONFLICT (asset_id) DO NOTHING",
                    &[
                        &asset.asset_id,
                        &asset.asset_type.as_str(),
                        &asset.source,
                        &asset.provider,
                        &asset.model,
                        &asset.prompt,
                        &asset.prompt_hash,
                        &asset.request_id,
                        &asset.run_id,
                        &asset.content_hash,
                        &asset.content_path,
                        &(asset.content_size as i64),
                        &asset.mime,
                        &asset.image_width.map(|v| v as i32),
                        &asset.image_height.map(|v| v as i32),
                        &asset.suggestion_data.as_ref().map(canonical_json),
                        &asset.confidence,
                        &serde_json::to_string(&asset.warnings).expect("strings serialize"),
                        &asset.created_at,
                        &(asset.reviewed as i32),
                        &(asset.approved_for_workflow as i32),
                        &asset.reviewed_at,
                        &asset.reviewer_id,
                        &asset.review_note,
                        &asset.rejection_reason,
                        &extras.rating,
                        &(extras.is_favorite as i32),
                        &extras.cost_usd,
                        &Value::Object(extras.meta.clone()).to_string(),
                    ],
                )
                .map_err(sql)?;
            tx.execute("SELECT pg_notify($1, 'review')", &[&CHANNEL])
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok::<_, PgError>(n > 0)
        })?;
        if !copied {
            // An asset of this id is there already: only the same content may be.
            let there: Option<String> = self.conn.read(|c| {
                Ok(c.query_opt(
                    "SELECT content_hash FROM advisory_assets WHERE asset_id = $1",
                    &[&asset.asset_id],
                )?
                .map(|r| r.get(0)))
            })?;
            if there.as_deref() != Some(asset.content_hash.as_str()) {
                return Err(AdvisoryError::Refused(format!(
                    "{} already holds an asset {} with other content: copy into an empty database",
                    t.label(),
                    crate::text::sanitize(&asset.asset_id)
                )));
            }
        }
        Ok(copied)
    }

    /// Append copied chain records as they are (`rmos db copy`), in order, after checking
    /// that they continue this database's chain. Returns how many were appended.
    pub fn copy_decisions(&self, records: &[ReviewDecision]) -> Result<u64, AdvisoryError> {
        let t = self.target().clone();
        self.conn.write(|c| {
            let sql = |e| AdvisoryError::Pg(t.sql_error(e));
            let mut tx = c.transaction().map_err(sql)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHAIN_LOCK])
                .map_err(sql)?;
            let last = chain_end(&mut tx).map_err(sql)?;
            // The end the next appended record must continue (seq and record hash).
            let mut end = last.clone().unwrap_or((0, GENESIS.to_owned()));
            let mut n = 0;
            for d in records {
                if last.as_ref().is_some_and(|(s, _)| d.seq <= *s) {
                    // Already there: it must be the same record.
                    let there: Option<String> = tx
                        .query_opt(
                            "SELECT record_hash FROM review_decisions WHERE seq = $1",
                            &[&d.seq],
                        )
                        .map_err(sql)?
                        .map(|r| r.get(0));
                    if there.as_deref() != Some(d.record_hash.as_str()) {
                        return Err(AdvisoryError::Refused(format!(
                            "{} already holds a different decision #{}: copy into an empty database (its chain cannot hold two histories)",
                            t.label(),
                            d.seq
                        )));
                    }
                    continue;
                }
                // Checked before anything is committed: each record continues the chain
                // and hashes to what it says.
                if d.seq != end.0 + 1 || d.prev_hash != end.1 || record_hash(d) != d.record_hash
                {
                    return Err(AdvisoryError::Refused(format!(
                        "decision #{} does not continue the chain (after #{}) or does not hash to its record hash: nothing was copied; run `rmos audit verify` on the source",
                        d.seq, end.0
                    )));
                }
                insert_decision(&mut tx, d).map_err(sql)?;
                end = (d.seq, d.record_hash.clone());
                n += 1;
            }
            // The head moves only forward, to the last record appended.
            if n > 0 {
                if let Some(d) = records.last() {
                    set_head(&mut tx, d).map_err(sql)?;
                }
            }
            tx.execute("SELECT pg_notify($1, 'review')", &[&CHANNEL])
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
            Ok(n)
        })
    }

    /// Every decision, oldest first.
    fn all_decisions(&self) -> Result<Vec<ReviewDecision>, AdvisoryError> {
        Ok(self.conn.read(|c| {
            Ok(c.query(
                &format!("SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq"),
                &[],
            )?
            .iter()
            .map(pg_decision_row)
            .collect())
        })?)
    }
}

fn chain_end(c: &mut impl GenericClient) -> Result<Option<(i64, String)>, postgres::Error> {
    Ok(c.query_opt(
        "SELECT seq, record_hash FROM review_decisions ORDER BY seq DESC LIMIT 1",
        &[],
    )?
    .map(|r| (r.get(0), r.get(1))))
}

fn insert_decision(c: &mut impl GenericClient, d: &ReviewDecision) -> Result<(), postgres::Error> {
    let imported_json = d
        .imported
        .as_ref()
        .map(|i| serde_json::to_string(i).expect("an imported review serializes"));
    c.execute(
        "INSERT INTO review_decisions (seq, asset_id, content_hash, decision, reason, note, reviewer, decided_at, prev_hash, record_hash, signature, signer, imported_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        &[&d.seq, &d.asset_id, &d.content_hash, &d.decision, &d.reason, &d.note, &d.reviewer, &d.decided_at, &d.prev_hash, &d.record_hash, &d.signature, &d.signer, &imported_json],
    )?;
    c.execute(
        "UPDATE advisory_assets SET reviewed = 1, approved_for_workflow = $2, reviewed_at = $3, reviewer_id = $4,
           review_note = $5, rejection_reason = $6 WHERE asset_id = $1",
        &[&d.asset_id, &((d.decision == "approved") as i32), &d.decided_at, &d.reviewer, &d.note, &d.reason],
    )?;
    Ok(())
}

fn set_head(c: &mut impl GenericClient, d: &ReviewDecision) -> Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO review_chain_head (one, seq, record_hash, decided_at) VALUES (TRUE, $1, $2, $3)
         ON CONFLICT (one) DO UPDATE SET seq = EXCLUDED.seq, record_hash = EXCLUDED.record_hash, decided_at = EXCLUDED.decided_at",
        &[&d.seq, &d.record_hash, &d.decided_at],
    )?;
    Ok(())
}

impl crate::store::seam::ReviewStore for PgReviews {
    fn is_read_only(&self) -> bool {
        self.read_only
    }

    fn add(&self, new: NewAsset) -> Result<AdvisoryAsset, AdvisoryError> {
        self.writable()?;
        let p = prepare(new)?;
        let t = self.target().clone();
        let inserted = self.conn.write(|c| {
            let sql = |e| t.sql_error(e);
            let mut tx = c.transaction().map_err(sql)?;
            tx.execute(
                "INSERT INTO advisory_content (content_hash, bytes) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&p.hash, &p.new.content],
            )
            .map_err(sql)?;
            let n = tx
                .execute(
                    "INSERT INTO advisory_assets (asset_id, asset_type, source, provider, model, prompt, prompt_hash,
                       request_id, run_id, content_hash, content_path, content_size, mime, image_width, image_height,
                       suggestion_data, confidence, warnings_json, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
                     ON CONFLICT (asset_id) DO NOTHING",
                    &[
                        &p.id,
                        &p.asset_type.as_str(),
                        &p.source,
                        &p.new.provider,
                        &p.new.model,
                        &p.new.prompt,
                        &p.new.prompt.as_deref().map(prompt_hash),
                        &p.new.request_id,
                        &p.new.run_id,
                        &p.hash,
                        &p.rel,
                        &(p.new.content.len() as i64),
                        &p.new.mime,
                        &p.width.map(|v| v as i32),
                        &p.height.map(|v| v as i32),
                        &p.new.suggestion_data.as_ref().map(canonical_json),
                        &p.new.confidence,
                        &serde_json::to_string(&p.new.warnings).expect("strings serialize"),
                        &p.created,
                    ],
                )
                .map_err(sql)?;
            if n > 0 {
                tx.execute("SELECT pg_notify($1, 'review')", &[&CHANNEL])
                    .map_err(sql)?;
            }
            tx.commit().map_err(sql)?;
            Ok::<_, PgError>(n > 0)
        })?;
        if !inserted {
            return Err(AdvisoryError::Exists(p.id));
        }
        self.get(&p.id)
    }

    fn get(&self, asset_id: &str) -> Result<AdvisoryAsset, AdvisoryError> {
        self.conn
            .read(|c| Self::fetch_asset(c, asset_id))?
            .ok_or_else(|| AdvisoryError::NotFound(asset_id.to_owned()))
    }

    fn list(
        &self,
        state: Option<ReviewState>,
        limit: usize,
    ) -> Result<Vec<AdvisoryAsset>, AdvisoryError> {
        let state = state.map(|s| s.as_str().to_owned());
        Ok(self.conn.read(|c| {
            Ok(c.query(
                &format!(
                    "SELECT {PG_COLS} FROM {PG_FROM} WHERE ($1::text IS NULL OR {PG_STATE} = $1)
                     ORDER BY a.created_at DESC, a.asset_id DESC LIMIT $2"
                ),
                &[&state, &(limit as i64)],
            )?
            .iter()
            .map(asset_row)
            .collect())
        })?)
    }

    fn counts(&self) -> Result<(u64, u64, u64), AdvisoryError> {
        Ok(self.conn.read(|c| {
            let r = c.query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE {PG_STATE} = 'pending'),
                            count(*) FILTER (WHERE {PG_STATE} = 'approved'),
                            count(*) FILTER (WHERE {PG_STATE} = 'rejected') FROM {PG_FROM}"
                ),
                &[],
            )?;
            Ok((
                r.get::<_, i64>(0) as u64,
                r.get::<_, i64>(1) as u64,
                r.get::<_, i64>(2) as u64,
            ))
        })?)
    }

    fn content(&self, asset: &AdvisoryAsset) -> Result<Vec<u8>, AdvisoryError> {
        let bytes: Option<Vec<u8>> = self.conn.read(|c| {
            Ok(c.query_opt(
                "SELECT bytes FROM advisory_content WHERE content_hash = $1",
                &[&asset.content_hash],
            )?
            .map(|r| r.get(0)))
        })?;
        let bytes = bytes.ok_or_else(|| AdvisoryError::Corrupted {
            asset_id: asset.asset_id.clone(),
            detail: format!(
                "the {} holds no content with hash {}",
                self.target().label(),
                asset.content_hash
            ),
        })?;
        check_content(asset, &bytes)?;
        Ok(bytes)
    }

    fn history(&self, asset_id: &str) -> Result<Vec<ReviewDecision>, AdvisoryError> {
        Ok(self.conn.read(|c| {
            Ok(c.query(
                &format!(
                    "SELECT {DECISION_COLS} FROM review_decisions WHERE asset_id = $1 ORDER BY seq"
                ),
                &[&asset_id],
            )?
            .iter()
            .map(pg_decision_row)
            .collect())
        })?)
    }

    fn decide(
        &mut self,
        policy: &ReviewerPolicy,
        req: &DecisionRequest<'_>,
    ) -> Result<ReviewDecision, AdvisoryError> {
        self.writable()?;
        let DecisionRequest {
            reviewer,
            asset_id,
            approve,
            reason,
            note,
            expect_hash,
            expect_previous,
        } = *req;
        let asset = self.get(asset_id)?;
        if let Some(h) = expect_hash {
            if !h.eq_ignore_ascii_case(&asset.content_hash) {
                return Err(AdvisoryError::Refused(format!(
                    "{asset_id} changed since it was shown: content is {} but the decision was made on {h}; look at it again",
                    asset.content_hash
                )));
            }
        }
        self.content(&asset)?;
        let reason = decision_reason(approve, reason)?;
        let t = self.target().clone();
        self.conn.write(|c| {
            let sql = |e| AdvisoryError::Pg(t.sql_error(e));
            let mut tx = c.transaction().map_err(sql)?;
            // Every decider waits here: the chain's end cannot move until this commits.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&CHAIN_LOCK])
                .map_err(sql)?;
            match Self::table_role(&mut tx, reviewer).map_err(sql)? {
                None => policy.check(reviewer)?,
                Some(Some(role)) if role == "reviewer" => {}
                Some(role) => {
                    return Err(AdvisoryError::NotAReviewer {
                        reviewer: reviewer.to_owned(),
                        why: match role {
                            Some(r) => format!("the role is {r:?}, not \"reviewer\""),
                            None => "the name is not in the reviewers table".into(),
                        },
                        config: format!(
                            "the rmos_reviewers table of the {} (rmos reviewers add {reviewer} --db …)",
                            t.label()
                        ),
                    })
                }
            }
            // The asset as it is now, under the lock: its content and newest decision.
            let now = Self::fetch_asset(&mut tx, asset_id)
                .map_err(sql)?
                .ok_or_else(|| AdvisoryError::NotFound(asset_id.to_owned()))?;
            if now.content_hash != asset.content_hash {
                return Err(AdvisoryError::Refused(format!(
                    "{asset_id} changed while the decision was being made: look at it again"
                )));
            }
            if let Some(seen) = expect_previous {
                let newest = tx
                    .query_opt(
                        &format!("SELECT {DECISION_COLS} FROM review_decisions WHERE asset_id = $1 ORDER BY seq DESC LIMIT 1"),
                        &[&asset_id],
                    )
                    .map_err(sql)?
                    .map(|r| pg_decision_row(&r));
                if let Some(d) = newest.filter(|d| Some(d.seq) != seen) {
                    return Err(AdvisoryError::DecidedMeanwhile {
                        asset_id: asset_id.to_owned(),
                        ago: ago(&d.decided_at),
                        decision: d.decision,
                        by: d.reviewer,
                        at: d.decided_at,
                    });
                }
            }
            let last = chain_end(&mut tx).map_err(sql)?;
            let mut d = next_record(
                last,
                asset_id,
                &asset.content_hash,
                approve,
                reason.clone(),
                note,
                reviewer,
                None,
            );
            // Signed under the lock (the agent may take a moment; other deciders wait).
            if let Some(signed) = policy.sign(&d)? {
                d.signature = Some(signed.pem);
                d.signer = Some(signed.fingerprint);
            }
            insert_decision(&mut tx, &d).map_err(sql)?;
            set_head(&mut tx, &d).map_err(sql)?;
            tx.execute("SELECT pg_notify($1, 'review')", &[&CHANNEL])
                .map_err(sql)?;
            // Reported as made only when this returns: a lost connection here is an error,
            // and the decision may or may not be there (`rmos advisory show` tells).
            tx.commit().map_err(|e| {
                AdvisoryError::Refused(format!(
                    "the {} did not confirm the decision ({}{}): it may not have been recorded — check with `rmos advisory show {asset_id}` before deciding again",
                    t.label(),
                    crate::db::pg::describe(&e),
                    crate::db::pg::advice(&e)
                ))
            })?;
            Ok(d)
        })
    }

    fn attach(
        &self,
        runs: &RunStore,
        asset_id: &str,
        run_id: &str,
    ) -> Result<(ArtifactKey, bool), AdvisoryError> {
        self.writable()?;
        let asset = self.get(asset_id)?;
        attach_gate(self.verify_chain()?, &asset)?;
        self.content(&asset)?;
        write_attach_link(runs, &asset, run_id)
    }

    fn import_reference_dir(
        &mut self,
        dir: &Path,
        _policy: &ReviewerPolicy,
        _importer: &str,
    ) -> Result<ImportReport, AdvisoryError> {
        Err(AdvisoryError::Refused(format!(
            "importing the reference's asset folder {} works on the embedded database only: import it with `rmos --data DIR advisory import` (no --db), then move it over with `rmos db copy --from sqlite:DIR/rmos.db --to …`",
            dir.display()
        )))
    }

    fn chain_head(&self) -> Result<Option<ReviewDecision>, AdvisoryError> {
        Ok(self.conn.read(|c| {
            Ok(c.query_opt(
                &format!("SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq DESC LIMIT 1"),
                &[],
            )?
            .map(|r| pg_decision_row(&r)))
        })?)
    }

    fn find_record(&self, record_hash: &str) -> Result<Option<i64>, AdvisoryError> {
        let h = record_hash.to_ascii_lowercase();
        Ok(self.conn.read(|c| {
            Ok(c.query_opt(
                "SELECT seq FROM review_decisions WHERE record_hash = $1",
                &[&h],
            )?
            .map(|r| r.get(0)))
        })?)
    }

    fn verify_chain(&self) -> Result<Result<u64, (i64, String)>, AdvisoryError> {
        let rows = self.all_decisions()?;
        if let Some(broken) = walk_chain(&rows) {
            return Ok(Err(broken));
        }
        let head: Option<(i64, String)> = self.conn.read(|c| {
            Ok(
                c.query_opt("SELECT seq, record_hash FROM review_chain_head", &[])?
                    .map(|r| (r.get(0), r.get(1))),
            )
        })?;
        match head {
            None if !rows.is_empty() => Ok(Err((
                rows.len() as i64,
                format!(
                    "the review_chain_head row is missing although the chain has {} records: a cut-off end of the chain could not be detected. Check the chain against a head recorded elsewhere with `rmos audit verify --expect-head SEQ:HASH`",
                    rows.len()
                ),
            ))),
            None => Ok(Ok(0)),
            Some((seq, hash)) => match rows.get((seq - 1).max(0) as usize) {
                Some(d) if d.seq == seq && d.record_hash == hash => Ok(Ok(rows.len() as u64)),
                Some(_) => Ok(Err((
                    seq,
                    format!("record {seq} differs from the one recorded in review_chain_head"),
                ))),
                None => Ok(Err((
                    seq,
                    format!(
                        "the chain ends at record {} but review_chain_head recorded record {seq}: records were deleted",
                        rows.len()
                    ),
                ))),
            },
        }
    }

    fn projection_mismatches(&self) -> Result<Vec<String>, AdvisoryError> {
        let rows: Vec<(String, i32, i32, String)> = self.conn.read(|c| {
            Ok(c.query(
                &format!(
                    "SELECT a.asset_id, a.reviewed, a.approved_for_workflow, {PG_STATE} FROM {PG_FROM} ORDER BY a.asset_id"
                ),
                &[],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect())
        })?;
        let mut out = Vec::new();
        for (id, reviewed, approved, state) in rows {
            let cached = match (reviewed != 0, approved != 0) {
                (_, true) => "approved",
                (true, false) => "rejected",
                (false, false) => "pending",
            };
            if cached != state {
                out.push(format!(
                    "asset {id}: the advisory_assets table says {cached} but the decision chain says {state} (changed outside rmos; rmos acts on the chain)"
                ));
            }
        }
        Ok(out)
    }

    fn verify_signatures(
        &self,
        signers: &AllowedSigners,
    ) -> Result<Vec<SignatureCheck>, AdvisoryError> {
        Ok(self
            .all_decisions()?
            .iter()
            .map(|d| check_signature(d, signers))
            .collect())
    }

    fn extras(&self, asset_id: &str) -> Result<ImportedExtras, AdvisoryError> {
        let row: Option<(Option<i64>, i32, Option<f64>, String)> = self.conn.read(|c| {
            Ok(c.query_opt(
                "SELECT rating, is_favorite, cost_usd, meta_json FROM advisory_assets WHERE asset_id = $1",
                &[&asset_id],
            )?
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))))
        })?;
        let (rating, fav, cost, meta) =
            row.ok_or_else(|| AdvisoryError::NotFound(asset_id.to_owned()))?;
        Ok(ImportedExtras {
            rating,
            is_favorite: fav != 0,
            cost_usd: cost,
            meta: serde_json::from_str(&meta).unwrap_or_default(),
        })
    }

    fn reference_files(&self, _asset_id: &str) -> Result<Vec<ReferenceFile>, AdvisoryError> {
        // Assets on the shared database are never linked to a reference asset folder
        // (import and export run on the embedded database).
        Ok(Vec::new())
    }

    fn export_reference(
        &mut self,
        _ids: Option<&[String]>,
        root: &Path,
        _blobs: Option<&Path>,
    ) -> Result<ExportReport, AdvisoryError> {
        Err(AdvisoryError::Refused(format!(
            "exporting into the reference's asset folder {} works on the embedded database only (its files live on one host)",
            root.display()
        )))
    }
}
