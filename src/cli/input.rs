//! Reading command input: a FILE argument or `-` for standard input, as UTF-8 text or as
//! one JSON document, with errors that name the input and say what is wrong.

use super::Failure;
use crate::fsio::read::{check_json_budget, read_at_most, read_user_input};
use serde_json::Value;
use std::path::Path;

/// Largest input a command reads (a design, a snapshot document, a JSON to hash): 64 MB.
pub(crate) const MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The bytes of FILE, or of standard input for `None` or `-`, with a name for messages.
pub(crate) fn read_input(input: Option<&Path>) -> Result<(String, Vec<u8>), Failure> {
    match input {
        Some(p) if p.as_os_str() != "-" => {
            let bytes = read_user_input(p, MAX_INPUT_BYTES).map_err(|e| {
                Failure::new(format!(
                    "cannot read {}: {e}{}",
                    p.display(),
                    crate::advice::io(&e)
                ))
            })?;
            Ok((p.display().to_string(), bytes))
        }
        _ => {
            let bytes = read_at_most(std::io::stdin().lock(), None, MAX_INPUT_BYTES)
                .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
            Ok(("standard input".into(), bytes))
        }
    }
}

/// The bytes as UTF-8 text.
pub(crate) fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(format!(
            "{name} is not UTF-8 text (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// One JSON document from FILE or `-`: empty, non-UTF-8 and malformed input are refused
/// with the position of the problem.
pub(crate) fn read_json_input(input: &Path) -> Result<Value, Failure> {
    let (name, bytes) = read_input(Some(input))?;
    let text = utf8(&name, &bytes)?;
    if text.trim().is_empty() {
        return Err(Failure::new(format!(
            "{name} is empty: expected a JSON document"
        )));
    }
    check_json_budget(text.as_bytes()).map_err(|e| Failure::new(format!("{name}: {e}")))?;
    serde_json::from_str(text).map_err(|e| {
        Failure::new(format!(
            "{name}: {}",
            crate::store::runs::describe_json_error(&e)
        ))
    })
}
