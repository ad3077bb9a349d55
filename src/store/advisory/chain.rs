//! Review decisions as an append-only hash chain: deciding (under the audit lock, against
//! the state the reviewer saw), the chain head kept beside the database, and verification.

use super::*;

pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of a record that its hash (and its signature) cover: everything but the hash
/// itself and the signature.
pub(super) fn record_fields(d: &ReviewDecision) -> Value {
    let mut v = json!({
        "seq": d.seq, "asset_id": d.asset_id, "content_hash": d.content_hash, "decision": d.decision,
        "reason": d.reason, "note": d.note, "reviewer": d.reviewer, "decided_at": d.decided_at,
        "prev_hash": d.prev_hash,
    });
    // Only imported decisions carry it: records without it hash as they always did.
    if let Some(i) = &d.imported {
        v["imported"] = serde_json::to_value(i).expect("an imported review serializes");
    }
    v
}

/// The decision record that follows the chain's end `last` (its seq and record hash;
/// `None`: the chain is empty), hashed: the one place both databases build a record.
#[allow(clippy::too_many_arguments)]
pub(crate) fn next_record(
    last: Option<(i64, String)>,
    asset_id: &str,
    content_hash: &str,
    approve: bool,
    reason: Option<String>,
    note: Option<&str>,
    reviewer: &str,
    imported: Option<ImportedReview>,
) -> ReviewDecision {
    let (seq, prev) = last
        .map(|(s, h)| (s + 1, h))
        .unwrap_or((1, GENESIS.to_owned()));
    let mut d = ReviewDecision {
        seq,
        asset_id: asset_id.to_owned(),
        content_hash: content_hash.to_owned(),
        decision: if approve { "approved" } else { "rejected" }.into(),
        reason,
        note: note.map(str::to_owned),
        reviewer: reviewer.to_owned(),
        decided_at: Timestamp::now().to_pydantic(),
        prev_hash: prev,
        record_hash: String::new(),
        signature: None,
        signer: None,
        imported,
        written_back: Vec::new(),
    };
    d.record_hash = record_hash(&d);
    d
}

pub(crate) fn record_hash(d: &ReviewDecision) -> String {
    sha256_json(&record_fields(d))
}

/// The reason a decision records: none for an approval; one of [`REJECTION_REASONS`]
/// (lower-cased) for a rejection, which needs one.
pub(crate) fn decision_reason(
    approve: bool,
    reason: Option<&str>,
) -> Result<Option<String>, AdvisoryError> {
    match (approve, reason.map(str::trim).filter(|r| !r.is_empty())) {
        (true, _) => Ok(None),
        (false, None) => Err(AdvisoryError::Refused(format!(
            "a rejection needs a reason: one of {}",
            REJECTION_REASONS.join(", ")
        ))),
        (false, Some(r)) => {
            let r = r.to_lowercase();
            if !REJECTION_REASONS.contains(&r.as_str()) {
                return Err(AdvisoryError::Refused(format!(
                    "unknown reason {r:?}: use one of {}",
                    REJECTION_REASONS.join(", ")
                )));
            }
            Ok(Some(r))
        }
    }
}

/// Walk chain records (oldest first): `Some((seq, why))` at the first one missing, out of
/// order or edited.
pub(crate) fn walk_chain(rows: &[ReviewDecision]) -> Option<(i64, String)> {
    let mut prev = GENESIS.to_owned();
    for (i, d) in rows.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if d.seq != expected_seq {
            return Some((
                d.seq,
                format!(
                    "record {expected_seq} is missing (next record is {})",
                    d.seq
                ),
            ));
        }
        if d.prev_hash != prev {
            return Some((
                d.seq,
                "its prev_hash does not match the record before it (deleted or reordered records)"
                    .into(),
            ));
        }
        if record_hash(d) != d.record_hash {
            return Some((
                d.seq,
                "its content does not match its hash (the record was edited)".into(),
            ));
        }
        prev = d.record_hash.clone();
    }
    None
}

impl AdvisoryStore {
    /// The decision history of an asset, oldest first.
    pub fn history(&self, asset_id: &str) -> Result<Vec<ReviewDecision>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DECISION_COLS} FROM review_decisions WHERE asset_id = ?1 ORDER BY seq"
        ))?;
        let rows = stmt.query_map([asset_id], decision_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    /// Record a decision: approve, or reject with a reason code. Refused when the reviewer
    /// lacks the role, the content changed (`expect_hash`) or no longer matches its hash.
    ///
    /// When the asset is linked to a file of the reference's asset store (imported from it
    /// or exported to it), a review recorded in that file since rmos last synced it refuses
    /// the decision (nothing is recorded); after the decision is committed it is written
    /// into the file, and [`ReviewDecision::written_back`] says how that went.
    pub fn decide(
        &mut self,
        policy: &ReviewerPolicy,
        req: &DecisionRequest<'_>,
    ) -> Result<ReviewDecision, AdvisoryError> {
        self.decide_with(policy, req, None)
    }
    /// [`AdvisoryStore::decide`], for a decision that brings in what a reference file says
    /// (`imported`, covered by the record hash).
    pub(super) fn decide_with(
        &mut self,
        policy: &ReviewerPolicy,
        req: &DecisionRequest<'_>,
        imported: Option<ImportedReview>,
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
        policy.check(reviewer)?;
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
        if imported.is_none() {
            // A review the reference recorded since rmos last synced its file is not
            // overwritten by a decision made without seeing it.
            self.refuse_if_reviewed_there(asset_id)?;
        }
        let reason = decision_reason(approve, reason)?;
        // One lock spans the append and the head file: the head always names the newest
        // committed record, however many reviewers decide at once.
        let lock_path = self.data_dir.join("advisory").join("audit.lock");
        self.refuse_links(&[lock_path.clone(), self.data_dir.join("advisory/.staging")])?;
        let _lock = durable::FileLock::acquire(&lock_path).map_err(|source| AdvisoryError::Io {
            op: "lock",
            path: lock_path.clone(),
            source,
        })?;
        let mut tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last = chain_end(&tx)?;
        if let Some(seen) = expect_previous {
            // Checked inside the write transaction: no decision can slip in between.
            let newest: Option<ReviewDecision> = tx
                .query_row(
                    &format!("SELECT {DECISION_COLS} FROM review_decisions WHERE asset_id = ?1 ORDER BY seq DESC LIMIT 1"),
                    [asset_id],
                    decision_row,
                )
                .optional()?;
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
        let mut d = next_record(
            last.clone(),
            asset_id,
            &asset.content_hash,
            approve,
            reason.clone(),
            note,
            reviewer,
            imported,
        );
        if policy.signatures != SignaturePolicy::Off {
            // The agent may take a while (over `ssh -A`, or asking its owner to confirm):
            // sign outside the write transaction, so other writers of the database are not
            // held up, but under the decision lock, which keeps the chain's end where it is.
            drop(tx);
            let signed = policy.sign(&d)?;
            tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            if chain_end(&tx)? != last {
                return Err(AdvisoryError::Refused(
                    "the decision chain changed while the decision was being signed (a decision written without the decision lock): nothing was recorded; decide again".into(),
                ));
            }
            if let Some(signed) = signed {
                d.signature = Some(signed.pem);
                d.signer = Some(signed.fingerprint);
            }
        }
        let imported_json = d
            .imported
            .as_ref()
            .map(|i| serde_json::to_string(i).expect("an imported review serializes"));
        tx.execute(
            "INSERT INTO review_decisions (seq, asset_id, content_hash, decision, reason, note, reviewer, decided_at, prev_hash, record_hash, signature, signer, imported_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            params![d.seq, d.asset_id, d.content_hash, d.decision, d.reason, d.note, d.reviewer, d.decided_at, d.prev_hash, d.record_hash, d.signature, d.signer, imported_json],
        )?;
        tx.execute(
            "UPDATE advisory_assets SET reviewed = 1, approved_for_workflow = ?2, reviewed_at = ?3, reviewer_id = ?4,
               review_note = ?5, rejection_reason = ?6 WHERE asset_id = ?1",
            params![asset_id, approve as i64, d.decided_at, reviewer, d.note, reason],
        )?;
        tx.commit()?;
        self.write_head(&d);
        // The chain is the record; the reference's files follow it (a failure here is
        // reported with the decision and kept for `rmos advisory export` to retry).
        d.written_back = self.write_back(asset_id);
        Ok(d)
    }
    pub(super) fn head_path(&self) -> PathBuf {
        self.data_dir.join("advisory").join("audit-head.json")
    }
    /// Remember the newest decision outside the database, under the decision lock (best
    /// effort: a crash between the commit and this write leaves the head one record behind,
    /// which verifies; the next decision writes it again).
    pub(super) fn write_head(&self, d: &ReviewDecision) {
        let body = json!({"seq": d.seq, "record_hash": d.record_hash, "decided_at": d.decided_at});
        let path = self.head_path();
        if let Ok(staged) = durable::stage(
            &self.data_dir.join("advisory/.staging"),
            "audit-head",
            body.to_string().as_bytes(),
        ) {
            let _ = staged.replace(&path);
        }
    }
    /// The head file: `Ok(None)` when there is none, `Err` with the reason when it cannot be
    /// read or is not a head record.
    pub(super) fn read_head(&self) -> Result<Option<(i64, String)>, String> {
        let path = self.head_path();
        let bytes = match crate::fsio::read::read_regular(&path, 64 * 1024) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} is not a head record: {e}", path.display()))?;
        match (
            v.get("seq").and_then(Value::as_i64),
            v.get("record_hash").and_then(Value::as_str),
        ) {
            (Some(seq), Some(h)) if seq >= 1 => Ok(Some((seq, h.to_owned()))),
            _ => Err(format!(
                "{} has no seq and record_hash of a decision",
                path.display()
            )),
        }
    }
    /// The sequence number of the chain record with this hash, if the chain holds it.
    pub fn find_record(&self, record_hash: &str) -> Result<Option<i64>, AdvisoryError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq FROM review_decisions WHERE record_hash = ?1",
                [record_hash.to_ascii_lowercase()],
                |r| r.get(0),
            )
            .optional()?)
    }
    /// Every chain record, oldest first (`rmos db copy`).
    pub fn all_decisions(&self) -> Result<Vec<ReviewDecision>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], decision_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
    /// The newest record of the chain (`None` when no decision was made yet).
    pub fn chain_head(&self) -> Result<Option<ReviewDecision>, AdvisoryError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq DESC LIMIT 1"),
                [],
                decision_row,
            )
            .optional()?)
    }
    /// Assets whose `reviewed`/`approved_for_workflow` columns disagree with the decision
    /// chain (edited outside rmos): each with what the columns say and what the chain says.
    pub fn projection_mismatches(&self) -> Result<Vec<String>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT a.asset_id, a.reviewed, a.approved_for_workflow, {STATE} FROM {FROM}"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, reviewed, approved, state) = row?;
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
    /// Check every decision's signature against `signers`, oldest first.
    pub fn verify_signatures(
        &self,
        signers: &AllowedSigners,
    ) -> Result<Vec<SignatureCheck>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq"
        ))?;
        let rows = stmt.query_map([], decision_row)?;
        let mut out = Vec::new();
        for d in rows {
            out.push(check_signature(&d?, signers));
        }
        Ok(out)
    }
    /// Walk the decision chain. Returns the number of records, or where it breaks.
    pub fn verify_chain(&self) -> Result<Result<u64, (i64, String)>, AdvisoryError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {DECISION_COLS} FROM review_decisions ORDER BY seq"
        ))?;
        let rows: Vec<ReviewDecision> = stmt
            .query_map([], decision_row)?
            .collect::<Result<_, _>>()?;
        if let Some(broken) = walk_chain(&rows) {
            return Ok(Err(broken));
        }
        // The chain alone cannot show that its newest records were cut off: the head file
        // written with each decision remembers the newest record. A chain with records but
        // no readable head is a failure (deleting the head must not hide a cut).
        let head = match self.read_head() {
            Ok(h) => h,
            Err(why) => return Ok(Err((rows.len() as i64, why))),
        };
        if head.is_none() && !rows.is_empty() {
            return Ok(Err((
                rows.len() as i64,
                format!(
                    "{} is missing although the chain has {} records: the head was deleted, so a cut-off end of the chain could not be detected. Restore the file from a backup, or check the chain against a head recorded elsewhere with `rmos audit verify --expect-head SEQ:HASH`",
                    self.head_path().display(),
                    rows.len()
                ),
            )));
        }
        if let Some((seq, hash)) = head {
            match rows.get((seq - 1).max(0) as usize) {
                Some(d) if d.seq == seq && d.record_hash == hash => {}
                Some(_) => return Ok(Err((seq, format!("record {seq} differs from the one recorded in {}", self.head_path().display())))),
                None => {
                    return Ok(Err((
                        seq,
                        format!("the chain ends at record {} but {} recorded record {seq}: records were deleted", rows.len(), self.head_path().display()),
                    )))
                }
            }
        }
        Ok(Ok(rows.len() as u64))
    }
}

/// The newest record's sequence number and hash (`None`: no decision yet).
fn chain_end(conn: &Connection) -> Result<Option<(i64, String)>, AdvisoryError> {
    Ok(conn
        .query_row(
            "SELECT seq, record_hash FROM review_decisions ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// "12 s ago", "3 min ago", … for a decision time (its text when it does not parse).
pub(crate) fn ago(at: &str) -> String {
    match Timestamp::parse(at) {
        Ok(t) => {
            let secs = (Timestamp::now().utc() - t.utc()).num_seconds().max(0);
            match secs {
                0..=119 => format!("{secs} s ago"),
                120..=7199 => format!("{} min ago", secs / 60),
                7200..=172_799 => format!("{} h ago", secs / 3600),
                _ => format!("{} days ago", secs / 86_400),
            }
        }
        Err(_) => "earlier".to_owned(),
    }
}

/// The columns of a review decision, in the order [`decision_row`] reads them.
pub(super) const DECISION_COLS: &str =
    "seq, asset_id, content_hash, decision, reason, note, reviewer, decided_at, prev_hash, record_hash, signature, signer, imported_json";

pub(super) fn decision_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReviewDecision> {
    Ok(ReviewDecision {
        seq: r.get(0)?,
        asset_id: r.get(1)?,
        content_hash: r.get(2)?,
        decision: r.get(3)?,
        reason: r.get(4)?,
        note: r.get(5)?,
        reviewer: r.get(6)?,
        decided_at: r.get(7)?,
        prev_hash: r.get(8)?,
        record_hash: r.get(9)?,
        signature: r.get(10)?,
        signer: r.get(11)?,
        imported: r
            .get::<_, Option<String>>(12)?
            .and_then(|s| serde_json::from_str(&s).ok()),
        written_back: Vec::new(),
    })
}
