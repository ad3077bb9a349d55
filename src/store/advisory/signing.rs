//! Signed review decisions: an SSHSIG signature (the format of `ssh-keygen -Y sign`, namespace
//! [`NAMESPACE`]) over a decision record's canonical bytes, made through the reviewer's SSH
//! agent (`SSH_AUTH_SOCK`, forwarded with `ssh -A`: the key never leaves the reviewer's
//! machine), and checked against an OpenSSH `allowed_signers` file in the data root.
//!
//! The agent is spoken to directly over its socket for the two messages needed (list
//! identities, sign); the signature format and every verification are the RustCrypto
//! `ssh-key` crate's.

use super::*;
use ssh_key::{Algorithm, HashAlg, LineEnding, PublicKey, Signature, SshSig};
use std::io::{Read, Write};
use std::time::Duration;

/// The SSHSIG namespace of a review decision: a signature made for git, or for anything
/// else, never verifies as a review decision.
pub const NAMESPACE: &str = "rmos-review@v1";

/// Whether rmos can verify signatures by keys of this algorithm (Ed25519, also on a security
/// key, and RSA; ECDSA and DSA are not built in).
pub fn verifiable(alg: &Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::Ed25519 | Algorithm::SkEd25519 | Algorithm::Rsa { .. }
    )
}

/// Largest `allowed_signers` file rmos reads.
const MAX_SIGNERS_BYTES: u64 = 1024 * 1024;

/// Largest agent answer rmos accepts (an identity list of a few dozen keys is far smaller).
const MAX_AGENT_MESSAGE: usize = 256 * 1024;

/// How long rmos waits for the agent (it may ask its user to confirm: `ssh-add -c`).
const AGENT_TIMEOUT: Duration = Duration::from_secs(60);

/// `"signatures"` in `config.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignaturePolicy {
    /// Decisions are not signed (the default).
    #[default]
    Off,
    /// Signed when the reviewer's agent holds a key allowed for them; unsigned otherwise.
    Optional,
    /// Refused unless signed by a key allowed for the reviewer.
    Required,
}

impl SignaturePolicy {
    pub fn parse(s: &str) -> Option<SignaturePolicy> {
        match s {
            "off" => Some(SignaturePolicy::Off),
            "optional" => Some(SignaturePolicy::Optional),
            "required" => Some(SignaturePolicy::Required),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SignaturePolicy::Off => "off",
            SignaturePolicy::Optional => "optional",
            SignaturePolicy::Required => "required",
        }
    }
}

/// One line of an `allowed_signers` file: `principals [options] keytype base64 [comment]`.
#[derive(Debug, Clone)]
pub struct AllowedSigner {
    /// The line number (from 1), for messages.
    pub line: usize,
    /// Principal patterns (`alice`, `*@example.com`, `!mallory`), as OpenSSH matches them.
    pub principals: Vec<String>,
    pub key: PublicKey,
    /// `namespaces="…"`: the namespaces this key may sign in (`None`: any).
    pub namespaces: Option<Vec<String>>,
    /// `cert-authority`: the key signs certificates, which rmos does not verify.
    pub cert_authority: bool,
    /// `valid-after` / `valid-before`, as UTC times.
    pub valid_after: Option<chrono::NaiveDateTime>,
    pub valid_before: Option<chrono::NaiveDateTime>,
    /// The line as read.
    pub text: String,
}

impl AllowedSigner {
    /// Whether this line lets its key sign review decisions for `reviewer` at `at` (the
    /// decision time; `None`: now).
    pub fn allows(&self, reviewer: &str, at: Option<&str>) -> bool {
        self.usable_at(at) && principal_matches(&self.principals, reviewer)
    }
    /// Whether the key may sign review decisions at `at` at all (namespace, validity).
    pub fn usable_at(&self, at: Option<&str>) -> bool {
        if self.cert_authority {
            return false;
        }
        if let Some(ns) = &self.namespaces {
            if !ns.iter().any(|n| pattern_matches(n, NAMESPACE)) {
                return false;
            }
        }
        let when = match at {
            None => chrono::Utc::now().naive_utc(),
            Some(t) => match Timestamp::parse(t) {
                Ok(t) => t.utc().naive_utc(),
                Err(_) => return self.valid_after.is_none() && self.valid_before.is_none(),
            },
        };
        self.valid_after.is_none_or(|a| when >= a) && self.valid_before.is_none_or(|b| when < b)
    }
    /// The principals as written, for messages.
    pub fn principal_list(&self) -> String {
        self.principals.join(",")
    }
}

/// The `allowed_signers` file of a data root (`<data>/allowed_signers`): which keys may sign
/// review decisions as which reviewer.
#[derive(Debug, Clone, Default)]
pub struct AllowedSigners {
    pub path: PathBuf,
    pub entries: Vec<AllowedSigner>,
    /// Lines with keys rmos cannot verify (ECDSA, DSA), by number: they allow nothing here
    /// (a file shared with git may hold them).
    pub unsupported: Vec<(usize, String)>,
}

impl AllowedSigners {
    /// Read the file at `path` (absent: no signer is allowed).
    pub fn load(path: &Path) -> Result<AllowedSigners, AdvisoryError> {
        match crate::fsio::read::read_regular(path, MAX_SIGNERS_BYTES) {
            Ok(b) => {
                let text = String::from_utf8(b).map_err(|_| {
                    AdvisoryError::Invalid(format!("{}: not UTF-8 text", path.display()))
                })?;
                AllowedSigners::parse(&text, path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AllowedSigners {
                path: path.to_path_buf(),
                ..AllowedSigners::default()
            }),
            Err(source) => Err(AdvisoryError::Io {
                op: "read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parse `allowed_signers` text; an unreadable line is an error naming its number.
    pub fn parse(text: &str, path: &Path) -> Result<AllowedSigners, AdvisoryError> {
        let mut entries = Vec::new();
        let mut unsupported = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(kind) = unsupported_key_type(line) {
                unsupported.push((i + 1, kind.to_owned()));
                continue;
            }
            let entry = parse_line(line, i + 1).map_err(|why| {
                AdvisoryError::Invalid(format!(
                    "{} line {}: {why} (expected `principal[,principal] [options] keytype base64 [comment]`, as `ssh-keygen -Y verify` reads it)",
                    path.display(),
                    i + 1
                ))
            })?;
            entries.push(entry);
        }
        Ok(AllowedSigners {
            path: path.to_path_buf(),
            entries,
            unsupported,
        })
    }

    /// The keys allowed to sign review decisions as `reviewer` now.
    pub fn keys_for(&self, reviewer: &str) -> Vec<&PublicKey> {
        self.entries
            .iter()
            .filter(|e| e.allows(reviewer, None))
            .map(|e| &e.key)
            .collect()
    }

    /// The lines naming `key` that may sign review decisions at `at`.
    fn lines_with_key(&self, key: &PublicKey, at: &str) -> Vec<&AllowedSigner> {
        self.entries
            .iter()
            .filter(|e| e.key.key_data() == key.key_data() && e.usable_at(Some(at)))
            .collect()
    }
}

/// The key type of a line (or a bare key) whose key rmos cannot verify, if it is one.
pub(super) fn unsupported_key_type(line: &str) -> Option<&str> {
    line.split([' ', '\t', ','])
        .find(|t| t.starts_with("ecdsa-sha2-") || t.starts_with("sk-ecdsa-") || *t == "ssh-dss")
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-")
        || t.starts_with("ecdsa-sha2-")
        || t.starts_with("sk-ssh-")
        || t.starts_with("sk-ecdsa-")
        || t.starts_with("rsa-sha2-")
}

/// Options of an `allowed_signers` line: (name, value).
type Options = Vec<(String, Option<String>)>;

/// Split the options field (`a,b="x,y z",c`) off the front of `rest`: returns the options
/// and what follows. Quoted values may hold commas and spaces.
fn split_options(rest: &str) -> Result<(Options, &str), String> {
    let mut opts = Vec::new();
    let bytes = rest.as_bytes();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && !matches!(bytes[i], b'=' | b',' | b' ' | b'\t') {
            i += 1;
        }
        let name = rest[start..i].to_ascii_lowercase();
        if name.is_empty() {
            return Err("an empty option".into());
        }
        let mut value = None;
        if i < bytes.len() && bytes[i] == b'=' {
            i += 1;
            if i < bytes.len() && bytes[i] == b'"' {
                i += 1;
                let vstart = i;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += 1;
                }
                if i == bytes.len() {
                    return Err(format!("option {name}: unterminated quote"));
                }
                value = Some(rest[vstart..i].to_owned());
                i += 1;
            } else {
                let vstart = i;
                while i < bytes.len() && !matches!(bytes[i], b',' | b' ' | b'\t') {
                    i += 1;
                }
                value = Some(rest[vstart..i].to_owned());
            }
        }
        opts.push((name, value));
        if i < bytes.len() && bytes[i] == b',' {
            i += 1;
            continue;
        }
        return Ok((opts, rest[i..].trim_start()));
    }
}

/// `YYYYMMDD[HHMM[SS]][Z]` (OpenSSH's validity times; rmos reads them as UTC).
fn parse_validity(s: &str) -> Option<chrono::NaiveDateTime> {
    let s = s.trim_end_matches(['Z', 'z']);
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = chrono::NaiveDate::parse_from_str(s.get(..8)?, "%Y%m%d").ok()?;
    let (h, m, sec) = match s.len() {
        8 => (0, 0, 0),
        12 => (s[8..10].parse().ok()?, s[10..12].parse().ok()?, 0),
        14 => (
            s[8..10].parse().ok()?,
            s[10..12].parse().ok()?,
            s[12..14].parse().ok()?,
        ),
        _ => return None,
    };
    date.and_hms_opt(h, m, sec)
}

pub(super) fn parse_line(line: &str, number: usize) -> Result<AllowedSigner, String> {
    let (principals, rest) = line
        .split_once([' ', '\t'])
        .ok_or("a principal and a key are needed")?;
    let principals: Vec<String> = principals.split(',').map(str::to_owned).collect();
    if principals.iter().any(String::is_empty) {
        return Err("an empty principal".into());
    }
    let rest = rest.trim_start();
    let first = rest.split([' ', '\t']).next().unwrap_or("");
    let (options, key_text) = if is_key_type(first) {
        (Vec::new(), rest)
    } else {
        split_options(rest)?
    };
    let mut e = AllowedSigner {
        line: number,
        principals,
        key: PublicKey::from_openssh(key_text).map_err(|err| format!("no public key: {err}"))?,
        namespaces: None,
        cert_authority: false,
        valid_after: None,
        valid_before: None,
        text: line.to_owned(),
    };
    for (name, value) in options {
        match (name.as_str(), value) {
            ("cert-authority", None) => e.cert_authority = true,
            ("namespaces", Some(v)) => {
                e.namespaces = Some(v.split(',').map(|s| s.trim().to_owned()).collect())
            }
            ("valid-after", Some(v)) => {
                e.valid_after = Some(
                    parse_validity(&v)
                        .ok_or(format!("valid-after={v:?} is not YYYYMMDD[HHMM[SS]]"))?,
                )
            }
            ("valid-before", Some(v)) => {
                e.valid_before = Some(
                    parse_validity(&v)
                        .ok_or(format!("valid-before={v:?} is not YYYYMMDD[HHMM[SS]]"))?,
                )
            }
            (other, _) => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(e)
}

/// OpenSSH's wildcard match: `*` any run, `?` one character.
fn pattern_matches(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A principal pattern list: any negated (`!x`) match refuses, else any match allows.
pub(super) fn principal_matches(patterns: &[String], name: &str) -> bool {
    let mut ok = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(neg) if pattern_matches(neg, name) => return false,
            Some(_) => {}
            None => ok |= pattern_matches(p, name),
        }
    }
    ok
}

/// The bytes a decision's signature covers: the canonical JSON of the record, the same
/// form its record hash is taken over (sequence number, asset id, content hash, decision,
/// reason, note, reviewer, time, previous record hash). The signature itself is not part of
/// them, nor of the record hash.
pub fn signed_message(d: &ReviewDecision) -> Vec<u8> {
    canonical_json(&chain::record_fields(d)).into_bytes()
}

/// What `rmos audit verify` found for one decision's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Signed by a key that `allowed_signers` allows for the record's reviewer.
    Valid,
    /// No signature (made without one, or imported/legacy).
    Unsigned,
    /// A signature that holds, by a key `allowed_signers` does not list.
    UnknownKey,
    /// A signature that holds, by a listed key, but of another reviewer than the record names.
    WrongSigner,
    /// Not a signature of this record (edited record, copied or damaged signature).
    BadSignature,
}

impl SignatureStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Valid => "valid",
            SignatureStatus::Unsigned => "unsigned",
            SignatureStatus::UnknownKey => "unknown key",
            SignatureStatus::WrongSigner => "wrong signer",
            SignatureStatus::BadSignature => "bad signature",
        }
    }
    /// Whether this finding fails `rmos audit verify` under `policy`: under `required`
    /// anything but a valid signature; under `optional` a signature that is present but not
    /// this record's or not this reviewer's; under `off` nothing.
    pub fn fails_under(self, policy: SignaturePolicy) -> bool {
        match policy {
            SignaturePolicy::Off => false,
            SignaturePolicy::Optional => matches!(
                self,
                SignatureStatus::BadSignature | SignatureStatus::WrongSigner
            ),
            SignaturePolicy::Required => self != SignatureStatus::Valid,
        }
    }
}

/// One decision's signature check.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    pub seq: i64,
    pub asset_id: String,
    pub reviewer: String,
    pub status: SignatureStatus,
    /// The signing key's SHA-256 fingerprint, when there is a readable signature.
    pub signer: Option<String>,
    /// The principals `allowed_signers` lists for the signing key.
    pub signer_principals: Vec<String>,
    /// Why, in words.
    pub detail: String,
}

/// Check one decision's signature against `signers`.
pub fn check_signature(d: &ReviewDecision, signers: &AllowedSigners) -> SignatureCheck {
    let mut c = SignatureCheck {
        seq: d.seq,
        asset_id: d.asset_id.clone(),
        reviewer: d.reviewer.clone(),
        status: SignatureStatus::Unsigned,
        signer: None,
        signer_principals: Vec::new(),
        detail: "no signature".into(),
    };
    let Some(pem) = &d.signature else {
        if d.signer.is_some() {
            c.status = SignatureStatus::BadSignature;
            c.detail = "a signer is recorded but the signature is missing (removed)".into();
        }
        return c;
    };
    let bad = |mut c: SignatureCheck, why: String| {
        c.status = SignatureStatus::BadSignature;
        c.detail = why;
        c
    };
    let sig = match SshSig::from_pem(pem) {
        Ok(s) => s,
        Err(e) => return bad(c, format!("not an SSH signature: {e}")),
    };
    let key = PublicKey::from(sig.public_key().clone());
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    c.signer = Some(fingerprint.clone());
    if sig.namespace() != NAMESPACE {
        return bad(
            c,
            format!(
                "signed for namespace {:?}, not {NAMESPACE:?}: not a review decision signature",
                sig.namespace()
            ),
        );
    }
    if !verifiable(&key.algorithm()) {
        return bad(
            c,
            format!(
                "signed with a {} key, which rmos cannot verify (it verifies Ed25519 and RSA keys)",
                key.algorithm().as_str()
            ),
        );
    }
    if let Err(e) = key.verify(NAMESPACE, &signed_message(d), &sig) {
        return bad(
            c,
            format!("the signature by {fingerprint} does not match this record ({e}): the record was edited after signing, or the signature belongs to another record"),
        );
    }
    if d.signer.as_deref() != Some(fingerprint.as_str()) {
        return bad(
            c,
            format!(
                "the recorded signer {:?} is not the signing key {fingerprint}",
                d.signer.as_deref().unwrap_or("")
            ),
        );
    }
    let lines = signers.lines_with_key(&key, &d.decided_at);
    if lines.is_empty() {
        c.status = SignatureStatus::UnknownKey;
        c.detail = format!(
            "signed by {fingerprint}, which {} does not allow to sign review decisions at {}",
            signers.path.display(),
            d.decided_at
        );
        return c;
    }
    c.signer_principals = lines.iter().flat_map(|l| l.principals.clone()).collect();
    if lines
        .iter()
        .any(|l| l.allows(&d.reviewer, Some(&d.decided_at)))
    {
        c.status = SignatureStatus::Valid;
        c.detail = format!("signed by {} ({fingerprint})", d.reviewer);
    } else {
        c.status = SignatureStatus::WrongSigner;
        c.detail = format!(
            "signed by {fingerprint}, the key of {}, but the record names {:?}",
            c.signer_principals.join(","),
            d.reviewer
        );
    }
    c
}

/// Why a decision could not be signed.
#[derive(Debug)]
pub(super) enum SignFailure {
    /// No agent to ask.
    NoAgent,
    /// `allowed_signers` lists no key for the reviewer.
    NoAllowedKey,
    /// The agent holds none of the reviewer's allowed keys.
    KeyNotInAgent { agent_keys: Vec<String> },
    /// The agent could not be reached or refused.
    Agent(String),
}

/// A signature made for a record: the SSHSIG PEM and the key's fingerprint.
pub(super) struct Signed {
    pub pem: String,
    pub fingerprint: String,
}

/// Sign `d` through the agent at `agent` with a key `signers` allows for `d.reviewer`.
pub(super) fn sign_decision(
    d: &ReviewDecision,
    signers: &AllowedSigners,
    agent: Option<&Path>,
) -> Result<Signed, SignFailure> {
    let allowed = signers.keys_for(&d.reviewer);
    if allowed.is_empty() {
        return Err(SignFailure::NoAllowedKey);
    }
    let agent = agent.ok_or(SignFailure::NoAgent)?;
    let mut conn = AgentConn::connect(agent).map_err(SignFailure::Agent)?;
    let identities = conn.identities().map_err(SignFailure::Agent)?;
    let chosen = identities.iter().find_map(|(blob, _)| {
        let k = PublicKey::from_bytes(blob).ok()?;
        allowed
            .iter()
            .any(|a| a.key_data() == k.key_data())
            .then_some((blob, k))
    });
    let Some((blob, key)) = chosen else {
        return Err(SignFailure::KeyNotInAgent {
            agent_keys: identities
                .iter()
                .filter_map(|(b, c)| {
                    let k = PublicKey::from_bytes(b).ok()?;
                    Some(format!("{} {c}", k.fingerprint(HashAlg::Sha256)))
                })
                .collect(),
        });
    };
    let msg = signed_message(d);
    let data = SshSig::signed_data(NAMESPACE, HashAlg::Sha512, &msg)
        .map_err(|e| SignFailure::Agent(e.to_string()))?;
    // RSA keys sign with SHA-512 (SSH_AGENT_RSA_SHA2_512), as `ssh-keygen -Y sign` does.
    let flags = if key.algorithm().is_rsa() { 4 } else { 0 };
    let raw = conn.sign(blob, &data, flags).map_err(SignFailure::Agent)?;
    let mut r = Reader(&raw);
    let alg = r
        .string()
        .and_then(|a| String::from_utf8(a.to_vec()).ok())
        .ok_or_else(|| SignFailure::Agent("the agent's signature is malformed".into()))?;
    let mut bytes = r
        .string()
        .ok_or_else(|| SignFailure::Agent("the agent's signature is malformed".into()))?
        .to_vec();
    if alg.starts_with("sk-") {
        // A security key's signature goes on with its flags and counter.
        bytes.extend_from_slice(r.0);
    }
    let signature = Algorithm::new(&alg)
        .and_then(|a| Signature::new(a, bytes))
        .map_err(|e| SignFailure::Agent(format!("the agent's signature ({alg}): {e}")))?;
    let sig = SshSig::new(
        key.key_data().clone(),
        NAMESPACE,
        HashAlg::Sha512,
        signature,
    )
    .map_err(|e| SignFailure::Agent(e.to_string()))?;
    // What is stored must verify: an agent that answered with something else is an error.
    key.verify(NAMESPACE, &msg, &sig)
        .map_err(|e| SignFailure::Agent(format!("the agent's signature does not verify ({e})")))?;
    Ok(Signed {
        pem: sig
            .to_pem(LineEnding::LF)
            .map_err(|e| SignFailure::Agent(e.to_string()))?,
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
    })
}

/// SSH wire-format strings out of a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (h, t) = self.0.split_first_chunk::<4>()?;
        self.0 = t;
        Some(u32::from_be_bytes(*h))
    }
    fn string(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        if n > self.0.len() {
            return None;
        }
        let (s, t) = self.0.split_at(n);
        self.0 = t;
        Some(s)
    }
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// A connection to an SSH agent (the two requests of the agent protocol rmos needs).
struct AgentConn {
    stream: std::os::unix::net::UnixStream,
    path: PathBuf,
}

const AGENT_FAILURE: u8 = 5;
const AGENTC_REQUEST_IDENTITIES: u8 = 11;
const AGENT_IDENTITIES_ANSWER: u8 = 12;
const AGENTC_SIGN_REQUEST: u8 = 13;
const AGENT_SIGN_RESPONSE: u8 = 14;

impl AgentConn {
    fn connect(path: &Path) -> Result<AgentConn, String> {
        let stream = std::os::unix::net::UnixStream::connect(path)
            .map_err(|e| format!("cannot connect to the SSH agent at {}: {e}", path.display()))?;
        let _ = stream.set_read_timeout(Some(AGENT_TIMEOUT));
        let _ = stream.set_write_timeout(Some(AGENT_TIMEOUT));
        Ok(AgentConn {
            stream,
            path: path.to_path_buf(),
        })
    }
    fn request(&mut self, kind: u8, body: &[u8]) -> Result<(u8, Vec<u8>), String> {
        let io_err = |e: std::io::Error| format!("SSH agent at {}: {e}", self.path.display());
        let mut msg = Vec::with_capacity(5 + body.len());
        msg.extend_from_slice(&(body.len() as u32 + 1).to_be_bytes());
        msg.push(kind);
        msg.extend_from_slice(body);
        self.stream.write_all(&msg).map_err(io_err)?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).map_err(io_err)?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_AGENT_MESSAGE {
            return Err(format!(
                "SSH agent at {}: an answer of {len} bytes is not an agent message",
                self.path.display()
            ));
        }
        let mut answer = vec![0u8; len];
        self.stream.read_exact(&mut answer).map_err(io_err)?;
        let body = answer.split_off(1);
        Ok((answer[0], body))
    }
    /// The agent's keys: (public key blob, comment).
    fn identities(&mut self) -> Result<Vec<(Vec<u8>, String)>, String> {
        let (kind, body) = self.request(AGENTC_REQUEST_IDENTITIES, &[])?;
        if kind != AGENT_IDENTITIES_ANSWER {
            return Err(format!(
                "the SSH agent at {} refused to list its keys",
                self.path.display()
            ));
        }
        let malformed = || {
            format!(
                "the SSH agent at {} sent a malformed key list",
                self.path.display()
            )
        };
        let mut r = Reader(&body);
        let n = r.u32().ok_or_else(malformed)?;
        let mut out = Vec::new();
        for _ in 0..n {
            let blob = r.string().ok_or_else(malformed)?.to_vec();
            let comment = String::from_utf8_lossy(r.string().ok_or_else(malformed)?).into_owned();
            out.push((blob, comment));
        }
        Ok(out)
    }
    /// The agent's signature blob (algorithm and signature) over `data` with `key_blob`.
    fn sign(&mut self, key_blob: &[u8], data: &[u8], flags: u32) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        put_string(&mut body, key_blob);
        put_string(&mut body, data);
        body.extend_from_slice(&flags.to_be_bytes());
        let (kind, answer) = self.request(AGENTC_SIGN_REQUEST, &body)?;
        match kind {
            AGENT_SIGN_RESPONSE => Reader(&answer).string().map(<[u8]>::to_vec).ok_or_else(|| {
                format!("the SSH agent at {} sent a malformed signature", self.path.display())
            }),
            AGENT_FAILURE => Err(format!(
                "the SSH agent at {} refused to sign (a confirmation declined, or a locked agent: `ssh-add -X` unlocks it)",
                self.path.display()
            )),
            other => Err(format!(
                "the SSH agent at {} answered message type {other} to a sign request",
                self.path.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHHB08EQrBLej630e8ztnaweLidjL4HxfTzl4QC3iqAp";

    #[test]
    fn allowed_signers_lines_parse_as_openssh_writes_them() {
        let text = format!(
            "# team\nalice {ED} alice@laptop\nbob,carol namespaces=\"git,rmos-review@v1\",valid-after=20260101 {ED}\n*@example.com cert-authority {ED}\ndave ecdsa-sha2-nistp256 AAAAE2VjZHNh dave@git\n"
        );
        let s = AllowedSigners::parse(&text, Path::new("allowed_signers")).unwrap();
        assert_eq!(s.entries.len(), 3);
        // A key rmos cannot verify (a file shared with git may hold one) allows nothing.
        assert_eq!(s.unsupported, [(5, "ecdsa-sha2-nistp256".to_owned())]);
        assert!(s.keys_for("dave").is_empty());
        assert_eq!(s.entries[0].principals, ["alice"]);
        assert_eq!(s.entries[1].principals, ["bob", "carol"]);
        assert_eq!(s.entries[1].namespaces.as_ref().unwrap().len(), 2);
        assert!(s.entries[2].cert_authority);
        assert_eq!(s.keys_for("alice").len(), 1);
        assert_eq!(s.keys_for("carol").len(), 1);
        // A certificate authority signs certificates, not decisions.
        assert!(s.keys_for("x@example.com").is_empty());
        assert!(s.keys_for("mallory").is_empty());
    }

    #[test]
    fn bad_lines_name_their_number_and_the_problem() {
        for (text, says) in [
            ("alice\n", "a principal and a key"),
            ("alice ssh-ed25519 AAAA\n", "no public key"),
            (
                &format!("alice frobnicate {ED}\n") as &str,
                "unknown option \"frobnicate\"",
            ),
            (
                &format!("alice valid-before=\"tomorrow\" {ED}\n"),
                "valid-before",
            ),
        ] {
            let e = AllowedSigners::parse(&format!("# c\n{text}"), Path::new("a_s"))
                .unwrap_err()
                .to_string();
            assert!(e.contains("a_s line 2") && e.contains(says), "{e}");
        }
    }

    #[test]
    fn namespaces_and_validity_limit_a_key() {
        let text = format!(
            "alice namespaces=\"git\" {ED}\nbob valid-before=20200101 {ED}\ncarol valid-after=20200101Z,valid-before=20200201 {ED}\n"
        );
        let s = AllowedSigners::parse(&text, Path::new("a")).unwrap();
        assert!(s.keys_for("alice").is_empty());
        assert!(s.keys_for("bob").is_empty());
        assert!(s.entries[2].allows("carol", Some("2020-01-15T00:00:00Z")));
        assert!(!s.entries[2].allows("carol", Some("2020-02-15T00:00:00Z")));
    }

    #[test]
    fn principal_patterns_match_as_openssh_does() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(principal_matches(&p(&["*@example.com"]), "a@example.com"));
        assert!(!principal_matches(&p(&["*@example.com"]), "a@example.org"));
        assert!(principal_matches(&p(&["al?ce"]), "alice"));
        assert!(!principal_matches(&p(&["*", "!mallory"]), "mallory"));
        assert!(principal_matches(&p(&["*", "!mallory"]), "alice"));
        assert!(!principal_matches(&p(&["alice"]), "alice2"));
    }

    #[test]
    fn the_policy_decides_which_findings_fail() {
        use SignatureStatus::*;
        for s in [Valid, Unsigned, UnknownKey, WrongSigner, BadSignature] {
            assert!(!s.fails_under(SignaturePolicy::Off));
            assert_eq!(s.fails_under(SignaturePolicy::Required), s != Valid);
        }
        assert!(BadSignature.fails_under(SignaturePolicy::Optional));
        assert!(WrongSigner.fails_under(SignaturePolicy::Optional));
        assert!(!Unsigned.fails_under(SignaturePolicy::Optional));
    }
}
