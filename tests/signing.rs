//! Signed review decisions with real keys and a real agent: keys made by `ssh-keygen`, held
//! by an `ssh-agent` of the test's own, signatures cross-checked with OpenSSH's
//! `ssh-keygen -Y verify` and `-Y sign`, and tampering detected.

mod common;

use common::skip::{skip, Needs};
use rmos::store::advisory::{
    check_signature, signed_message, AdvisoryStore, AllowedSigners, ReviewDecision,
    SignatureStatus, NAMESPACE,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

/// OpenSSH's tools, or a skip (a failure under CI, where .ci/run installs them).
fn openssh() -> bool {
    for t in ["ssh-keygen", "ssh-agent", "ssh-add"] {
        if !have(t) {
            skip(
                Needs::Tool,
                &format!("{t} is not installed (package openssh-client)"),
            );
            return false;
        }
    }
    true
}

/// An ssh-agent of this test's own, in the foreground, killed when dropped.
struct Agent {
    child: Child,
    sock: PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let sock = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        for _ in 0..200 {
            if sock.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert!(sock.exists(), "ssh-agent made no socket");
        Agent { child, sock }
    }
    fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.sock)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A key pair made by ssh-keygen: `dir/name` and `dir/name.pub`.
fn keygen(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let path = dir.join(name);
    let mut c = Command::new("ssh-keygen");
    c.args(["-q", "-t", kind, "-N", "", "-C"])
        .arg(format!("{name}@test"))
        .arg("-f")
        .arg(&path);
    if kind == "rsa" {
        c.args(["-b", "2048"]);
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn pubkey(key: &Path) -> String {
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_owned()
}

fn fingerprint(key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(key.with_extension("pub"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned()
}

fn rmos(data: &Path, reviewer: &str, agent: Option<&Path>, args: &[&str]) -> Output {
    let mut c = common::rmos_cmd(data);
    c.args(args).env("RMOS_REVIEWER", reviewer);
    match agent {
        Some(a) => c.env("SSH_AUTH_SOCK", a),
        None => c.env_remove("SSH_AUTH_SOCK"),
    };
    c.output().unwrap()
}

fn ok(o: &Output) -> &Output {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", err(o)))
}

fn add_asset(data: &Path, text: &str) -> String {
    let o = rmos(
        data,
        "alice",
        None,
        &[
            "--json",
            "advisory",
            "add",
            "--type",
            "EXPLANATION",
            "--text",
            text,
        ],
    );
    json(ok(&o))["asset_id"].as_str().unwrap().to_owned()
}

fn set_policy(data: &Path, policy: &str) {
    let path = data.join("config.json");
    let mut v: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    v["signatures"] = Value::String(policy.into());
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

fn history(data: &Path) -> Vec<ReviewDecision> {
    let store = AdvisoryStore::open(&data.join("rmos.db"), data, true).unwrap();
    let mut all = Vec::new();
    for a in store.list(None, 1000).unwrap() {
        all.extend(store.history(&a.asset_id).unwrap());
    }
    all.sort_by_key(|d| d.seq);
    all
}

fn signers(data: &Path) -> AllowedSigners {
    AllowedSigners::load(&data.join("allowed_signers")).unwrap()
}

/// `ssh-keygen -Y verify` of a record's signature as `principal`.
fn openssh_verifies(dir: &Path, data: &Path, d: &ReviewDecision, principal: &str) -> bool {
    let msg = dir.join(format!("msg-{}", d.seq));
    let sig = dir.join(format!("sig-{}", d.seq));
    std::fs::write(&msg, signed_message(d)).unwrap();
    std::fs::write(&sig, d.signature.as_deref().unwrap()).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", NAMESPACE, "-I", principal, "-f"])
        .arg(data.join("allowed_signers"))
        .arg("-s")
        .arg(&sig)
        .stdin(std::fs::File::open(&msg).unwrap())
        .output()
        .unwrap();
    out.status.success()
}

/// `ssh-keygen -Y sign` of a record's bytes with a key file: the PEM signature.
fn openssh_sign(dir: &Path, d: &ReviewDecision, key: &Path) -> String {
    let msg = dir.join(format!("tosign-{}", d.seq));
    std::fs::write(&msg, signed_message(d)).unwrap();
    let _ = std::fs::remove_file(msg.with_extension("sig"));
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(key)
        .arg(&msg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ssh-keygen -Y sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sig = msg.into_os_string();
    sig.push(".sig");
    std::fs::read_to_string(sig).unwrap()
}

struct Team {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    data: PathBuf,
    agent: Agent,
    alice: PathBuf,
    bob: PathBuf,
    carol: PathBuf,
    mallory: PathBuf,
}

/// A data root with reviewers alice and bob (ed25519) and carol (RSA) in allowed_signers,
/// and an agent holding alice's, carol's and mallory's keys (mallory's is not allowed).
fn team() -> Team {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let alice = keygen(&dir, "alice", "ed25519");
    let bob = keygen(&dir, "bob", "ed25519");
    let carol = keygen(&dir, "carol", "rsa");
    let mallory = keygen(&dir, "mallory", "ed25519");
    for (name, key) in [("alice", &alice), ("bob", &bob), ("carol", &carol)] {
        let o = rmos(
            &data,
            "admin",
            None,
            &["reviewers", "add", name, "--key", &pubkey(key)],
        );
        ok(&o);
    }
    let agent = Agent::start(tmp.path());
    for k in [&alice, &carol, &mallory] {
        agent.add(k);
    }
    Team {
        _tmp: tmp,
        dir,
        data,
        agent,
        alice,
        bob,
        carol,
        mallory,
    }
}

#[test]
fn signed_decisions_verify_in_rmos_and_in_openssh_and_back() {
    if !openssh() {
        return;
    }
    let t = team();
    set_policy(&t.data, "required");
    let a1 = add_asset(&t.data, "first");
    let a2 = add_asset(&t.data, "second");
    let o = rmos(
        &t.data,
        "alice",
        Some(&t.agent.sock),
        &["advisory", "approve", &a1],
    );
    assert!(err(ok(&o)).contains(&fingerprint(&t.alice)), "{}", err(&o));
    let o = rmos(
        &t.data,
        "carol",
        Some(&t.agent.sock),
        &[
            "advisory",
            "reject",
            &a2,
            "--reason",
            "duplicate",
            "--note",
            "same as #1",
        ],
    );
    assert!(err(ok(&o)).contains(&fingerprint(&t.carol)), "{}", err(&o));

    let v = json(ok(&rmos(
        &t.data,
        "x",
        None,
        &["--json", "audit", "verify"],
    )));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["signatures"]["counts"]["valid"], 2, "{v}");
    assert_eq!(v["signatures"]["records"][1]["status"], "valid");
    assert_eq!(
        v["signatures"]["records"][1]["signer"],
        fingerprint(&t.carol)
    );

    // The decision history marks each decision.
    let o = rmos(&t.data, "x", None, &["advisory", "show", &a1]);
    assert!(String::from_utf8_lossy(&ok(&o).stdout).contains("[signature verified]"));

    // OpenSSH accepts rmos's signatures (ed25519 and RSA), for the right name only.
    let h = history(&t.data);
    assert_eq!(h.len(), 2);
    assert!(openssh_verifies(&t.dir, &t.data, &h[0], "alice"));
    assert!(openssh_verifies(&t.dir, &t.data, &h[1], "carol"));
    assert!(!openssh_verifies(&t.dir, &t.data, &h[0], "bob"));

    // rmos accepts OpenSSH's signatures over the same bytes, made from the key files.
    let signers = signers(&t.data);
    for (d, key) in [(&h[0], &t.alice), (&h[1], &t.carol)] {
        let mut d = d.clone();
        d.signature = Some(openssh_sign(&t.dir, &d, key));
        d.signer = Some(fingerprint(key));
        let c = check_signature(&d, &signers);
        assert_eq!(c.status, SignatureStatus::Valid, "{}", c.detail);
    }
}

#[test]
fn required_refuses_a_decision_it_cannot_sign_and_says_what_to_do() {
    if !openssh() {
        return;
    }
    let t = team();
    set_policy(&t.data, "required");
    let a = add_asset(&t.data, "x");
    // No agent at all.
    let o = rmos(&t.data, "alice", None, &["advisory", "approve", &a]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("ssh -A") && err(&o).contains("ssh-agent"),
        "{}",
        err(&o)
    );
    // An agent without bob's key.
    let o = rmos(
        &t.data,
        "bob",
        Some(&t.agent.sock),
        &["advisory", "approve", &a],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("ssh-add") && err(&o).contains("rmos reviewers add bob"),
        "{}",
        err(&o)
    );
    assert!(
        err(&o).contains(&fingerprint(&t.mallory)),
        "lists the agent's keys: {}",
        err(&o)
    );
    // A name without a key: mallory, given the role by hand.
    let cfg = t.data.join("config.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
    v["reviewers"]["mallory"] = "reviewer".into();
    std::fs::write(&cfg, v.to_string()).unwrap();
    let o = rmos(
        &t.data,
        "mallory",
        Some(&t.agent.sock),
        &["advisory", "approve", &a],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("lists no key for \"mallory\""),
        "{}",
        err(&o)
    );
    assert!(history(&t.data).is_empty(), "nothing was recorded");

    // Optional: no agent, an unsigned decision; verify accepts it until signatures are required.
    set_policy(&t.data, "optional");
    ok(&rmos(&t.data, "bob", None, &["advisory", "approve", &a]));
    ok(&rmos(
        &t.data,
        "alice",
        Some(&t.agent.sock),
        &["advisory", "reject", &a, "--reason", "other"],
    ));
    let h = history(&t.data);
    assert!(h[0].signature.is_none() && h[1].signature.is_some());
    let v = json(ok(&rmos(
        &t.data,
        "x",
        None,
        &["--json", "audit", "verify"],
    )));
    assert_eq!(v["signatures"]["counts"]["unsigned"], 1, "{v}");
    set_policy(&t.data, "required");
    let o = rmos(&t.data, "x", None, &["--json", "audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(json(&o)["ok"], false);
    assert!(
        err(&o).contains("record 1") && err(&o).contains("unsigned"),
        "{}",
        err(&o)
    );
}

#[test]
fn tampered_signatures_are_detected() {
    if !openssh() {
        return;
    }
    let t = team();
    let extra = Agent::start(&t.dir);
    extra.add(&t.bob);
    set_policy(&t.data, "required");
    let a1 = add_asset(&t.data, "one");
    let a2 = add_asset(&t.data, "two");
    ok(&rmos(
        &t.data,
        "alice",
        Some(&t.agent.sock),
        &["advisory", "approve", &a1],
    ));
    ok(&rmos(
        &t.data,
        "bob",
        Some(&extra.sock),
        &["advisory", "approve", &a2],
    ));
    let h = history(&t.data);
    let signers = signers(&t.data);
    let status = |d: &ReviewDecision| check_signature(d, &signers).status;
    assert_eq!(status(&h[0]), SignatureStatus::Valid);
    assert_eq!(status(&h[1]), SignatureStatus::Valid);

    // The reviewer changed to another allowed name, alice's signature kept.
    let mut d = h[0].clone();
    d.reviewer = "bob".into();
    assert_eq!(status(&d), SignatureStatus::BadSignature);
    // ... and re-signed by alice, whose key is not bob's.
    d.signature = Some(openssh_sign(&t.dir, &d, &t.alice));
    assert_eq!(status(&d), SignatureStatus::WrongSigner);
    // Re-signed by a key allowed_signers does not list.
    let mut d = h[0].clone();
    d.signature = Some(openssh_sign(&t.dir, &d, &t.mallory));
    d.signer = Some(fingerprint(&t.mallory));
    assert_eq!(status(&d), SignatureStatus::UnknownKey);
    // A signature copied from another record.
    let mut d = h[0].clone();
    d.signature = h[1].signature.clone();
    d.signer = h[1].signer.clone();
    assert_eq!(status(&d), SignatureStatus::BadSignature);
    // Signed in another namespace (a git commit signature, say).
    let mut d = h[0].clone();
    let msg = t.dir.join("git-msg");
    std::fs::write(&msg, signed_message(&d)).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "git", "-f"])
        .arg(&t.alice)
        .arg(&msg)
        .output()
        .unwrap();
    assert!(out.status.success());
    d.signature = Some(std::fs::read_to_string(t.dir.join("git-msg.sig")).unwrap());
    assert_eq!(status(&d), SignatureStatus::BadSignature);

    // In the database, by someone with write access: audit verify names each record.
    let conn = rusqlite::Connection::open(t.data.join("rmos.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER review_decisions_append_only_update;
         UPDATE review_decisions SET reviewer = 'bob' WHERE seq = 1;
         UPDATE review_decisions SET signature = (SELECT signature FROM review_decisions WHERE seq = 1),
                                     signer = (SELECT signer FROM review_decisions WHERE seq = 1) WHERE seq = 2;",
    )
    .unwrap();
    drop(conn);
    let o = rmos(&t.data, "x", None, &["--json", "audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let records = v["signatures"]["records"].as_array().unwrap();
    assert_eq!(records[0]["status"], "bad_signature", "{v}");
    assert_eq!(records[1]["status"], "bad_signature", "{v}");
    let o = rmos(&t.data, "x", None, &["audit", "verify"]);
    assert!(
        err(&o).contains("record 2") && err(&o).contains("bad signature"),
        "{}",
        err(&o)
    );
}

#[test]
fn reviewers_are_added_listed_retired_and_revoked() {
    if !openssh() {
        return;
    }
    let t = team();
    let signers_file = t.data.join("allowed_signers");
    let text = std::fs::read_to_string(&signers_file).unwrap();
    assert_eq!(text.lines().count(), 3, "one line per reviewer: {text}");
    assert!(text
        .lines()
        .all(|l| l.contains("namespaces=\"rmos-review@v1\"")));
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(t.data.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["reviewers"]["carol"], "reviewer");

    // Adding the same key again changes nothing; a key of another reviewer is refused.
    let o = rmos(
        &t.data,
        "admin",
        None,
        &["reviewers", "add", "alice", "--key", &pubkey(&t.alice)],
    );
    assert!(err(ok(&o)).contains("already"));
    let o = rmos(
        &t.data,
        "admin",
        None,
        &["reviewers", "add", "dave", "--key", &pubkey(&t.alice)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("already allowed for alice"), "{}", err(&o));
    let o = rmos(
        &t.data,
        "admin",
        None,
        &["reviewers", "add", "dave", "--key", "ssh-ed25519 AAAAnot"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("not an OpenSSH public key"), "{}", err(&o));
    let ecdsa = keygen(&t.dir, "dave", "ecdsa");
    let o = rmos(
        &t.data,
        "admin",
        None,
        &["reviewers", "add", "dave", "--key", &pubkey(&ecdsa)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("ssh-keygen -t ed25519"), "{}", err(&o));
    assert_eq!(
        std::fs::read_to_string(&signers_file).unwrap(),
        text,
        "refusals change nothing"
    );

    let v = json(ok(&rmos(
        &t.data,
        "x",
        None,
        &["--json", "reviewers", "list"],
    )));
    let names: Vec<&str> = v["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob", "carol"]);
    assert_eq!(v["reviewers"][2]["keys"][0]["type"], "ssh-rsa");

    // alice signs, then leaves: her key is retired, her decision stays valid, she decides no more.
    set_policy(&t.data, "required");
    let a = add_asset(&t.data, "x");
    ok(&rmos(
        &t.data,
        "alice",
        Some(&t.agent.sock),
        &["advisory", "approve", &a],
    ));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    ok(&rmos(
        &t.data,
        "admin",
        None,
        &["reviewers", "remove", "alice"],
    ));
    assert!(std::fs::read_to_string(&signers_file)
        .unwrap()
        .contains("valid-before="));
    ok(&rmos(&t.data, "x", None, &["audit", "verify"]));
    let v = json(ok(&rmos(
        &t.data,
        "x",
        None,
        &["--json", "reviewers", "list"],
    )));
    assert_eq!(v["reviewers"][2]["name"], "alice");
    assert_eq!(v["reviewers"][2]["keys"][0]["signs_now"], false);
    let o = rmos(
        &t.data,
        "alice",
        Some(&t.agent.sock),
        &["advisory", "reject", &a, "--reason", "other"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));

    // A revoked key (lost or stolen): what it signed no longer verifies.
    ok(&rmos(
        &t.data,
        "admin",
        None,
        &["reviewers", "add", "alice", "--key", &pubkey(&t.alice)],
    ));
    ok(&rmos(
        &t.data,
        "admin",
        None,
        &["reviewers", "remove", "alice", "--revoke"],
    ));
    assert!(!std::fs::read_to_string(&signers_file)
        .unwrap()
        .contains("alice"));
    let o = rmos(&t.data, "x", None, &["--json", "audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        json(&o)["signatures"]["records"][0]["status"],
        "unknown_key"
    );
    let o = rmos(&t.data, "admin", None, &["reviewers", "remove", "alice"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "nothing left to remove: {}",
        err(&o)
    );
}

#[test]
fn imported_and_earlier_decisions_are_unsigned_never_verified() {
    if !openssh() {
        return;
    }
    let t = team();
    // A decision made while signatures were off.
    let a = add_asset(&t.data, "before");
    ok(&rmos(
        &t.data,
        "alice",
        Some(&t.agent.sock),
        &["advisory", "approve", &a],
    ));
    // A reference asset file that claims a review, imported under "required" without an
    // agent: the asset comes in pending, the refusal is told, nothing is forged.
    set_policy(&t.data, "required");
    let refdir = t.dir.join("ref/2025/12/23");
    std::fs::create_dir_all(&refdir).unwrap();
    std::fs::write(
        refdir.join("adv_0123456789ab.json"),
        r#"{"asset_id": "adv_0123456789ab", "asset_type": "pattern", "created_at_utc": "2025-12-23T18:05:00Z",
            "source": "ai_suggestion", "suggestion_data": {"tiles": 24}, "reviewed": true,
            "approved_for_workflow": true, "reviewed_by": "ross"}"#,
    )
    .unwrap();
    let o = rmos(
        &t.data,
        "alice",
        None,
        &[
            "--json",
            "advisory",
            "import",
            t.dir.join("ref").to_str().unwrap(),
        ],
    );
    let v = json(ok(&o));
    assert_eq!(v["imported"], 1, "{v}");
    assert!(
        err(&o).contains("imported as pending") && err(&o).contains("ssh -A"),
        "{}",
        err(&o)
    );
    let shown = json(ok(&rmos(
        &t.data,
        "x",
        None,
        &["--json", "advisory", "show", "adv_0123456789ab"],
    )));
    assert_eq!(shown["status"], "pending");
    // With her agent, the import is alice's signed decision.
    let t2 = team();
    set_policy(&t2.data, "required");
    let o = rmos(
        &t2.data,
        "alice",
        Some(&t2.agent.sock),
        &["advisory", "import", t.dir.join("ref").to_str().unwrap()],
    );
    ok(&o);
    assert_eq!(
        history(&t2.data)[0].signer.as_deref(),
        Some(fingerprint(&t2.alice).as_str())
    );

    // The earlier decision is shown and verified as unsigned, and fails under required.
    let shown = json(ok(&rmos(
        &t.data,
        "x",
        None,
        &["--json", "advisory", "show", &a],
    )));
    assert_eq!(shown["history"][0]["signature_status"], "unsigned");
    let o = rmos(&t.data, "x", None, &["advisory", "show", &a]);
    let text = String::from_utf8_lossy(&ok(&o).stdout).into_owned();
    assert!(
        text.contains("[unsigned]") && !text.contains("verified"),
        "{text}"
    );
    let o = rmos(&t.data, "x", None, &["--json", "audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    assert_eq!(v["records"], 1, "the chain itself is intact: {v}");
    assert_eq!(v["signatures"]["records"][0]["status"], "unsigned");
}

#[test]
fn a_chain_written_before_signatures_existed_stays_valid() {
    // No keys needed: the migration and the record hash, with the binary alone.
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let a = add_asset(data, "old");
    ok(&rmos(data, "alice", None, &["advisory", "approve", &a]));
    ok(&rmos(
        data,
        "alice",
        None,
        &["advisory", "reject", &a, "--reason", "other"],
    ));
    // Back to the schema before migration 0006, as an older rmos left it.
    let conn = rusqlite::Connection::open(data.join("rmos.db")).unwrap();
    conn.execute_batch(
        "ALTER TABLE review_decisions DROP COLUMN signature;
         ALTER TABLE review_decisions DROP COLUMN signer;
         DELETE FROM applied_migrations WHERE name LIKE '0006%';",
    )
    .unwrap();
    drop(conn);
    // Opening applies the migration; the chain verifies; its records are unsigned.
    let v = json(ok(&rmos(data, "x", None, &["--json", "audit", "verify"])));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["records"], 2);
    assert_eq!(v["signatures"]["counts"]["unsigned"], 2);
    // The record hash is the one it always was: the nine fields, no signature.
    for d in history(data) {
        let fields = serde_json::json!({
            "seq": d.seq, "asset_id": d.asset_id, "content_hash": d.content_hash,
            "decision": d.decision, "reason": d.reason, "note": d.note, "reviewer": d.reviewer,
            "decided_at": d.decided_at, "prev_hash": d.prev_hash,
        });
        assert_eq!(rmos::hashing::sha256_json(&fields), d.record_hash);
        assert_eq!(
            signed_message(&d),
            rmos::hashing::canonical_json(&fields).into_bytes(),
            "the signature covers exactly the hashed bytes"
        );
    }
}
