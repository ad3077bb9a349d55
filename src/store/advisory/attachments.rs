//! The reference's content-addressed attachment store, the one its blob browser reads
//! (`GET /api/advisory/blobs/{sha256}/download`, and the run-scoped
//! `/api/rmos/runs/{run_id}/advisory/blobs/...` routes).
//!
//! Layout (`rmos/runs_v2/attachments.py` there): `<root>/<sha[0:2]>/<sha[2:4]>/<sha>`, the
//! raw bytes under their lower-case hex SHA-256, no extension, no metadata file beside them
//! (the MIME type and file name the reference's writer returns are not stored). `<root>` is
//! `$RMOS_RUN_ATTACHMENTS_DIR`, else `services/api/data/run_attachments` — the
//! `run_attachments` folder of the reference's data folder. Its reader looks for the
//! no-extension name first, then a few extensions, and serves the bytes without checking
//! their hash; so rmos writes only bytes that hash to the name, never replaces a blob, and
//! reports one whose bytes hash to something else instead of taking it as present.

use crate::fsio::durable::{self, CreateError};
use crate::hashing::sha256_bytes;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What putting one blob did.
#[derive(Debug, PartialEq)]
pub(super) enum Blob {
    /// Created at this path.
    Written(PathBuf),
    /// Already there with these bytes (verified).
    Present,
}

/// Where the reference keeps the blob of `sha256` (lower-case hex) under `root`.
pub(super) fn blob_path(root: &Path, sha256: &str) -> PathBuf {
    root.join(&sha256[..2]).join(&sha256[2..4]).join(sha256)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// SHA-256 of a regular file, read in pieces (a blob there may be of any size).
fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = crate::fsio::read::open_regular(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// The blob already at `path`: present when its bytes hash to `sha256`, else why not.
fn check_existing(path: &Path, sha256: &str) -> Result<Blob, String> {
    match hash_file(path) {
        Ok(actual) if actual == sha256 => Ok(Blob::Present),
        Ok(actual) => Err(format!(
            "{} is there, but its bytes hash to {actual}, not to its name: the reference serves them unchecked as this content; rmos does not replace it — move it away (or delete it) and export again",
            path.display()
        )),
        Err(e) => Err(format!(
            "{} is there but cannot be checked: {e}{}",
            path.display(),
            crate::advice::io(&e)
        )),
    }
}

/// Put `bytes` into the attachment store at `root` under `sha256`, the hash of the bytes:
/// created once (staged and fsynced in its shard folder under a dot-name the reference's
/// lookup never matches, moved into place without replacing, the folder fsynced); an
/// existing blob is verified, never rewritten.
pub(super) fn put_blob(root: &Path, sha256: &str, bytes: &[u8]) -> Result<Blob, String> {
    if !is_sha256_hex(sha256) {
        return Err(format!(
            "its content hash {sha256:?} is not a lower-case hex SHA-256, so it has no name in the attachment store"
        ));
    }
    let actual = sha256_bytes(bytes);
    if actual != sha256 {
        return Err(format!(
            "its content hashes to {actual}, not to {sha256}: not written to the attachment store"
        ));
    }
    let path = blob_path(root, sha256);
    let shard = path.parent().expect("a blob path has a shard folder");
    durable::refuse_links_below(root, &path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    match std::fs::symlink_metadata(&path) {
        Ok(_) => return check_existing(&path, sha256),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot look at {}: {e}", path.display())),
    }
    match durable::create_new(shard, &path, bytes) {
        Ok(()) => Ok(Blob::Written(path)),
        // Written meanwhile (by the reference or another rmos): check what is there.
        Err(CreateError::Exists) => check_existing(&path, sha256),
        Err(CreateError::Io { op, path, source }) => Err(format!(
            "cannot {op} {}: {source}{}",
            path.display(),
            crate::advice::io(&source)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_two_shard_levels_without_extension() {
        let sha = sha256_bytes(b"x");
        assert_eq!(
            blob_path(Path::new("/r"), &sha),
            PathBuf::from(format!("/r/{}/{}/{sha}", &sha[..2], &sha[2..4]))
        );
    }

    #[test]
    fn create_once_verify_after_and_refuse_bytes_of_another_hash() {
        let dir = tempfile::tempdir().unwrap();
        let sha = sha256_bytes(b"blob");
        let Blob::Written(p) = put_blob(dir.path(), &sha, b"blob").unwrap() else {
            panic!("first put writes")
        };
        assert_eq!(std::fs::read(&p).unwrap(), b"blob");
        assert_eq!(put_blob(dir.path(), &sha, b"blob").unwrap(), Blob::Present);
        // No staging leftovers in the shard folder.
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        std::fs::write(&p, b"blub").unwrap();
        let err = put_blob(dir.path(), &sha, b"blob").unwrap_err();
        assert!(err.contains("not to its name"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), b"blub", "never rewritten");
        assert!(put_blob(dir.path(), &sha, b"other").is_err());
        assert!(put_blob(dir.path(), "ABC", b"blob").is_err());
    }
}
