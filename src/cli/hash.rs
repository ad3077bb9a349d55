//! `rmos hash json|text`.

use super::input::{read_input, read_json_input, utf8};
use super::{print_json, Ctx, Failure};
use crate::hashing::{canonical_json, sha256_text};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

pub fn json(ctx: &Ctx, input: Option<&Path>) -> Result<ExitCode, Failure> {
    let value = read_json_input(input.unwrap_or(Path::new("-")))?;
    let canonical = canonical_json(&value);
    let sha = sha256_text(&canonical);
    if ctx.json {
        print_json(&json!({"sha256": sha, "canonical_utf8_len": canonical.len()}))?;
    } else {
        say!("{sha}");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn text(ctx: &Ctx, input: Option<&Path>) -> Result<ExitCode, Failure> {
    let (name, bytes) = read_input(input)?;
    let text = utf8(&name, &bytes)?;
    let sha = sha256_text(text);
    if ctx.json {
        print_json(&json!({"sha256": sha, "utf8_len": text.len()}))?;
    } else {
        say!("{sha}");
    }
    Ok(ExitCode::SUCCESS)
}
