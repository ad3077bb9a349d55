//! Who may review: the reviewers list of the data root's `config.json`, and the identity
//! a decision is recorded under.

use super::*;

/// Largest `config.json` rmos reads (a reviewers list is a few kilobytes).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The configured reviewers (`<data>/config.json`, key `reviewers`: name → role).
#[derive(Debug, Clone, Default)]
pub struct ReviewerPolicy {
    pub roles: Option<Map<String, Value>>,
    pub config_path: PathBuf,
}

impl ReviewerPolicy {
    /// The reviewers list of the data root's `config.json` at `config_path` (absent file:
    /// no list, everyone may review).
    pub fn load(config_path: &Path) -> Result<ReviewerPolicy, AdvisoryError> {
        let config_path = config_path.to_path_buf();
        let roles = match crate::fsio::read::read_regular(&config_path, MAX_CONFIG_BYTES) {
            Ok(b) => {
                crate::fsio::read::check_json_budget(&b).map_err(|e| {
                    AdvisoryError::Invalid(format!("{}: {e}", config_path.display()))
                })?;
                let v: Value = serde_json::from_slice(&b).map_err(|e| {
                    AdvisoryError::Invalid(format!("{}: {e}", config_path.display()))
                })?;
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
        Ok(ReviewerPolicy { roles, config_path })
    }

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
