//! Who may review: the reviewers list of the data root's `config.json`, and the identity
//! a decision is recorded under.

use super::signing::{principal_matches, sign_decision, SignFailure, Signed};
use super::*;

/// Largest `config.json` rmos reads (a reviewers list is a few kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The configured reviewers (`<data>/config.json`, key `reviewers`: name → role), whether
/// their decisions are signed (key `signatures`), the keys allowed to sign
/// (`allowed_signers` beside `config.json`) and the SSH agent to sign with.
#[derive(Debug, Clone, Default)]
pub struct ReviewerPolicy {
    pub roles: Option<Map<String, Value>>,
    pub config_path: PathBuf,
    pub signatures: SignaturePolicy,
    pub signers: AllowedSigners,
    /// The SSH agent's socket (`$SSH_AUTH_SOCK` when loaded).
    pub agent: Option<PathBuf>,
}

impl ReviewerPolicy {
    /// The reviewers list of the data root's `config.json` at `config_path` (absent file:
    /// no list, everyone may review).
    pub fn load(config_path: &Path) -> Result<ReviewerPolicy, AdvisoryError> {
        let config_path = config_path.to_path_buf();
        let mut signatures = SignaturePolicy::Off;
        let roles = match crate::fsio::read::read_regular(&config_path, MAX_CONFIG_BYTES) {
            Ok(b) => {
                crate::fsio::read::check_json_budget(&b).map_err(|e| {
                    AdvisoryError::Invalid(format!("{}: {e}", config_path.display()))
                })?;
                let v: Value = serde_json::from_slice(&b).map_err(|e| {
                    AdvisoryError::Invalid(format!("{}: {e}", config_path.display()))
                })?;
                match v.get("signatures") {
                    None | Some(Value::Null) => {}
                    Some(s) => {
                        signatures = s.as_str().and_then(SignaturePolicy::parse).ok_or_else(|| {
                            AdvisoryError::Invalid(format!(
                                "{}: \"signatures\" is {s}; use \"off\", \"optional\" or \"required\"",
                                config_path.display()
                            ))
                        })?
                    }
                }
                match v.get("reviewers") {
                    None | Some(Value::Null) => None,
                    Some(Value::Object(m)) => Some(m.clone()),
                    Some(_) => {
                        return Err(AdvisoryError::Invalid(format!(
                            "{}: \"reviewers\" must be an object",
                            config_path.display()
                        )))
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(AdvisoryError::Io {
                    op: "read",
                    path: config_path,
                    source,
                })
            }
        };
        let signers = AllowedSigners::load(&allowed_signers_path(&config_path))?;
        let agent = std::env::var_os("SSH_AUTH_SOCK")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        Ok(ReviewerPolicy {
            roles,
            config_path,
            signatures,
            signers,
            agent,
        })
    }

    /// Sign the decision `d` as the policy says: `Ok(None)` when signatures are off, or
    /// optional and no allowed key is at hand; refused under `required` when it cannot be
    /// signed, saying what to do.
    pub(super) fn sign(&self, d: &ReviewDecision) -> Result<Option<Signed>, AdvisoryError> {
        if self.signatures == SignaturePolicy::Off {
            return Ok(None);
        }
        let failure = match sign_decision(d, &self.signers, self.agent.as_deref()) {
            Ok(s) => return Ok(Some(s)),
            Err(f) => f,
        };
        if self.signatures == SignaturePolicy::Optional {
            return Ok(None);
        }
        let who = &d.reviewer;
        let signers = self.signers.path.display();
        let add = format!("rmos reviewers add {who} --key \"$(cat ~/.ssh/id_ed25519.pub)\"");
        let why = match failure {
            SignFailure::NoAllowedKey => format!(
                "decisions must be signed (\"signatures\": \"required\" in {}) and {signers} lists no key for {who:?}: an administrator adds one with `{add}` (the public key of the key in {who}'s SSH agent)",
                self.config_path.display()
            ),
            SignFailure::NoAgent => format!(
                "decisions must be signed (\"signatures\": \"required\" in {}) but no SSH agent is reachable (SSH_AUTH_SOCK is not set): start one on your own machine (`eval \"$(ssh-agent)\"; ssh-add`) and connect with `ssh -A`, or run `eval \"$(ssh-agent)\"; ssh-add` here",
                self.config_path.display()
            ),
            SignFailure::KeyNotInAgent { agent_keys } => format!(
                "decisions must be signed and the SSH agent holds none of the keys {signers} allows for {who:?} (it holds {}): add your key to the agent with `ssh-add`, forward your agent with `ssh -A`, or have your key listed with `{add}`",
                if agent_keys.is_empty() { "no keys".to_owned() } else { agent_keys.join("; ") }
            ),
            SignFailure::Agent(e) => format!(
                "decisions must be signed and signing failed: {e}. Check the agent with `ssh-add -l` (over SSH, a forwarded agent ends with its connection: reconnect with `ssh -A`) and try again"
            ),
        };
        Err(AdvisoryError::Refused(why))
    }
}

/// The `allowed_signers` file of the data root whose `config.json` is at `config_path`.
pub fn allowed_signers_path(config_path: &Path) -> PathBuf {
    config_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("allowed_signers")
}

impl ReviewerPolicy {
    /// May `reviewer` decide? Without an allow-list the local identity is the sole reviewer.
    pub fn check(&self, reviewer: &str) -> Result<(), AdvisoryError> {
        let Some(roles) = &self.roles else {
            return Ok(());
        };
        let refuse = |why: String| AdvisoryError::NotAReviewer {
            reviewer: reviewer.to_owned(),
            why,
            config: self.config_path.display().to_string(),
        };
        match roles.get(reviewer).and_then(Value::as_str) {
            Some("reviewer") => Ok(()),
            Some(role) => Err(refuse(format!("the role is {role:?}, not \"reviewer\""))),
            None => Err(refuse("not in the reviewers list".into())),
        }
    }
}

/// What `rmos reviewers add` changed.
#[derive(Debug, Clone, Serialize)]
pub struct SignerAdded {
    /// The key's SHA-256 fingerprint.
    pub fingerprint: String,
    /// False when `allowed_signers` already allowed this key for the name.
    pub key_added: bool,
    /// True when the reviewer role was added to `config.json`.
    pub role_added: bool,
    /// True when `config.json` had no reviewers list and one was started (from now on only
    /// listed reviewers may decide).
    pub list_created: bool,
}

/// What `rmos reviewers remove` changed.
#[derive(Debug, Clone, Serialize)]
pub struct SignerRemoved {
    /// Keys of the reviewer that may no longer sign (retired or deleted).
    pub keys: Vec<String>,
    /// True when the name's role was removed from `config.json`.
    pub role_removed: bool,
    /// True when the keys' lines were deleted (`--revoke`): past signatures by them then
    /// verify as "unknown key". Otherwise they are retired with `valid-before` (now), and
    /// decisions signed before stay valid.
    pub revoked: bool,
}

/// A reviewer name usable as an `allowed_signers` principal.
pub fn check_reviewer_name(name: &str) -> Result<(), AdvisoryError> {
    let bad = name.is_empty()
        || name.len() > 128
        || name.starts_with(['#', '!'])
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '"' | '*' | '?'));
    if bad {
        return Err(AdvisoryError::Invalid(format!(
            "reviewer name {name:?}: use the name reviewers decide under ($RMOS_REVIEWER or the login name), without spaces, commas, quotes or the wildcards * ? ! #"
        )));
    }
    Ok(())
}

/// The data root's configuration files, changed under one lock, each replaced atomically.
struct ConfigFiles {
    config_path: PathBuf,
    signers_path: PathBuf,
    staging: PathBuf,
    _lock: durable::FileLock,
}

impl ConfigFiles {
    fn lock(config_path: &Path) -> Result<ConfigFiles, AdvisoryError> {
        let dir = config_path.parent().unwrap_or(Path::new("."));
        let lock_path = dir.join("advisory").join("config.lock");
        durable::ensure_dir(&dir.join("advisory")).map_err(|source| AdvisoryError::Io {
            op: "create",
            path: dir.join("advisory"),
            source,
        })?;
        let lock = durable::FileLock::acquire(&lock_path).map_err(|source| AdvisoryError::Io {
            op: "lock",
            path: lock_path.clone(),
            source,
        })?;
        Ok(ConfigFiles {
            config_path: config_path.to_path_buf(),
            signers_path: allowed_signers_path(config_path),
            staging: dir.join("advisory").join(".staging"),
            _lock: lock,
        })
    }
    fn read_text(&self, path: &Path) -> Result<Option<String>, AdvisoryError> {
        match crate::fsio::read::read_regular(path, MAX_CONFIG_BYTES) {
            Ok(b) => String::from_utf8(b)
                .map(Some)
                .map_err(|_| AdvisoryError::Invalid(format!("{}: not UTF-8 text", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(AdvisoryError::Io {
                op: "read",
                path: path.to_path_buf(),
                source,
            }),
        }
    }
    fn write(&self, path: &Path, text: &str) -> Result<(), AdvisoryError> {
        let hint = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("config");
        let staged = durable::stage(&self.staging, hint, text.as_bytes()).map_err(|e| match e {
            CreateError::Io { op, path, source } => AdvisoryError::Io { op, path, source },
            CreateError::Exists => AdvisoryError::Invalid(format!("{} exists", path.display())),
        })?;
        staged.replace(path).map_err(|source| AdvisoryError::Io {
            op: "replace",
            path: path.to_path_buf(),
            source,
        })
    }
    fn read_config(&self) -> Result<Map<String, Value>, AdvisoryError> {
        let Some(text) = self.read_text(&self.config_path)? else {
            return Ok(Map::new());
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(AdvisoryError::Invalid(format!(
                "{} is not a JSON object",
                self.config_path.display()
            ))),
            Err(e) => Err(AdvisoryError::Invalid(format!(
                "{}: {e}",
                self.config_path.display()
            ))),
        }
    }
    fn write_config(&self, config: &Map<String, Value>) -> Result<(), AdvisoryError> {
        let mut text = serde_json::to_string_pretty(config).expect("a JSON map serializes");
        text.push('\n');
        self.write(&self.config_path, &text)
    }
}

/// Allow `key` (an OpenSSH public key line) to sign review decisions as `name`: a line in
/// `allowed_signers` (limited to the review namespace), and the reviewer role in
/// `config.json` when the name has none. A key already allowed for another name is refused:
/// one key, one reviewer.
pub fn add_signer(config_path: &Path, name: &str, key: &str) -> Result<SignerAdded, AdvisoryError> {
    check_reviewer_name(name)?;
    if let Some(kind) = super::signing::unsupported_key_type(key.trim()) {
        return Err(AdvisoryError::Invalid(format!(
            "{kind} keys cannot sign review decisions here: rmos verifies Ed25519 (also on a security key) and RSA keys; make one with `ssh-keygen -t ed25519` and add it to your agent"
        )));
    }
    let key = ssh_key::PublicKey::from_openssh(key.trim()).map_err(|e| {
        AdvisoryError::Invalid(format!(
            "the key is not an OpenSSH public key ({e}): give one line of a .pub file, e.g. `ssh-ed25519 AAAA… alice@laptop` (`ssh-add -L` lists the agent's)"
        ))
    })?;
    if !super::signing::verifiable(&key.algorithm()) {
        return Err(AdvisoryError::Invalid(format!(
            "{} keys cannot sign review decisions here: rmos verifies Ed25519 (also on a security key) and RSA keys; make one with `ssh-keygen -t ed25519` and add it to your agent",
            key.algorithm().as_str()
        )));
    }
    let fingerprint = key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
    let files = ConfigFiles::lock(config_path)?;
    let mut config = files.read_config()?;
    // The role first, without writing: a refusal must leave both files as they were.
    let (role_added, list_created) = match config.get("reviewers") {
        None | Some(Value::Null) => (true, true),
        Some(Value::Object(m)) => match m.get(name) {
            None => (true, false),
            Some(Value::String(r)) if r == "reviewer" => (false, false),
            Some(other) => {
                return Err(AdvisoryError::Invalid(format!(
                    "{name} has the role {other} in {}, not \"reviewer\": change it there first if {name} is to review",
                    config_path.display()
                )))
            }
        },
        Some(_) => {
            return Err(AdvisoryError::Invalid(format!(
                "{}: \"reviewers\" must be an object",
                config_path.display()
            )))
        }
    };
    let text = files.read_text(&files.signers_path)?.unwrap_or_default();
    let signers = AllowedSigners::parse(&text, &files.signers_path)?;
    let mut key_added = true;
    for e in signers
        .entries
        .iter()
        .filter(|e| e.key.key_data() == key.key_data())
    {
        if e.principals.len() == 1 && e.principals[0] == name && e.allows(name, None) {
            key_added = false;
        } else if e.usable_at(None) && !principal_matches(&e.principals, name) {
            return Err(AdvisoryError::Invalid(format!(
                "the key {fingerprint} is already allowed for {} ({} line {}): one key signs for one reviewer; each reviewer adds their own key",
                e.principal_list(),
                files.signers_path.display(),
                e.line
            )));
        }
    }
    if key_added {
        let mut line = format!(
            "{name} namespaces=\"{NAMESPACE}\" {}",
            key.to_openssh()
                .map_err(|e| AdvisoryError::Invalid(e.to_string()))?
        );
        line = line.trim_end().to_owned();
        let mut text = text;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&line);
        text.push('\n');
        files.write(&files.signers_path, &text)?;
    }
    if role_added {
        let reviewers = config
            .entry("reviewers")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = reviewers {
            m.insert(name.to_owned(), Value::String("reviewer".into()));
        } else {
            *reviewers = json!({ name: "reviewer" });
        }
        files.write_config(&config)?;
    }
    Ok(SignerAdded {
        fingerprint,
        key_added,
        role_added,
        list_created,
    })
}

/// Stop `name` from signing and reviewing: their `allowed_signers` lines are retired with
/// `valid-before` set to now (decisions they signed before stay verifiable), or deleted
/// with `revoke` (a lost or stolen key: their past signatures then verify as unknown), and
/// their role leaves `config.json`.
pub fn remove_signer(
    config_path: &Path,
    name: &str,
    revoke: bool,
) -> Result<SignerRemoved, AdvisoryError> {
    check_reviewer_name(name)?;
    let files = ConfigFiles::lock(config_path)?;
    let mut config = files.read_config()?;
    let text = files.read_text(&files.signers_path)?.unwrap_or_default();
    let now = chrono::Utc::now().format("%Y%m%d%H%M%SZ").to_string();
    let mut out = String::new();
    let mut keys = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            out.push_str(raw);
            out.push('\n');
            continue;
        }
        if super::signing::unsupported_key_type(line).is_some() {
            out.push_str(raw);
            out.push('\n');
            continue;
        }
        let e = super::signing::parse_line(line, i + 1).map_err(|why| {
            AdvisoryError::Invalid(format!(
                "{} line {}: {why}",
                files.signers_path.display(),
                i + 1
            ))
        })?;
        if !e.principals.iter().any(|p| p == name) {
            out.push_str(raw);
            out.push('\n');
            continue;
        }
        let key_text = e
            .key
            .to_openssh()
            .map_err(|err| AdvisoryError::Invalid(err.to_string()))?;
        let others: Vec<&String> = e.principals.iter().filter(|p| *p != name).collect();
        if !others.is_empty() {
            // The other principals keep the line as it was, without this name.
            let rest = line[line.find([' ', '\t']).unwrap_or(line.len())..].trim_start();
            let others: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
            out.push_str(&format!("{} {rest}\n", others.join(",")));
        }
        let fingerprint = e.key.fingerprint(ssh_key::HashAlg::Sha256).to_string();
        if e.valid_before
            .is_some_and(|b| b <= chrono::Utc::now().naive_utc())
        {
            // Already retired: kept as it was for the decisions it signed, unless revoked.
            if revoke {
                keys.push(fingerprint);
            } else if others.is_empty() {
                out.push_str(raw);
                out.push('\n');
            }
            continue;
        }
        keys.push(fingerprint);
        if !revoke {
            let mut opts = Vec::new();
            if let Some(ns) = &e.namespaces {
                opts.push(format!("namespaces=\"{}\"", ns.join(",")));
            }
            if let Some(a) = e.valid_after {
                opts.push(format!("valid-after=\"{}Z\"", a.format("%Y%m%d%H%M%S")));
            }
            opts.push(format!("valid-before=\"{now}\""));
            out.push_str(&format!(
                "{name} {} {}\n",
                opts.join(","),
                key_text.trim_end()
            ));
        }
    }
    let role_removed = match config.get_mut("reviewers") {
        Some(Value::Object(m)) => m.shift_remove(name).is_some(),
        _ => false,
    };
    if keys.is_empty() && !role_removed {
        return Err(AdvisoryError::Invalid(format!(
            "{name} has neither a reviewer role in {} nor a key in {}: nothing to remove (`rmos reviewers list` shows who has)",
            config_path.display(),
            files.signers_path.display()
        )));
    }
    if !keys.is_empty() {
        files.write(&files.signers_path, &out)?;
    }
    if role_removed {
        files.write_config(&config)?;
    }
    Ok(SignerRemoved {
        keys,
        role_removed,
        revoked: revoke,
    })
}

/// The reviewer identity: `$RMOS_REVIEWER`, else the OS user.
pub fn reviewer_identity() -> String {
    for var in ["RMOS_REVIEWER", "USER", "LOGNAME"] {
        if let Some(v) = std::env::var_os(var)
            .and_then(|v| v.into_string().ok())
            .filter(|v| !v.trim().is_empty())
        {
            return v.trim().to_owned();
        }
    }
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    os_user_name(uid).unwrap_or_else(|| format!("uid{uid}"))
}

/// The passwd entry's name for `uid`, through the re-entrant `getpwuid_r` (this runs on
/// worker threads; `getpwuid` returns a shared static buffer).
pub(super) fn os_user_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 1024];
    loop {
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer refers to memory owned here for the duration of the call;
        // on success `found` points at `entry`, whose strings live in `buf`.
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || entry.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name is a NUL-terminated string inside `buf`, still alive here.
        let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
        return name.to_str().ok().map(str::to_owned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_os_user_name_comes_from_the_passwd_entry() {
        // uid 0 is "root" on every Linux system; an unused uid has no entry.
        assert_eq!(os_user_name(0).as_deref(), Some("root"));
        assert_eq!(os_user_name(4_000_000_000), None);
        // Threads asking at once each get their own answer (getpwuid_r, not getpwuid).
        let names: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(|| os_user_name(0)))
            .map(|h| h.join().unwrap())
            .collect();
        assert!(names.iter().all(|n| n.as_deref() == Some("root")));
    }
}
