//! `rmos hash json|text`.

use super::{print_json, Ctx, Failure};
use crate::hashing::{canonical_json, sha256_text};
use crate::store::runs::describe_json_error;
use serde_json::{json, Value};
use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

fn read_input(input: Option<&Path>) -> Result<(String, Vec<u8>), Failure> {
    match input {
        None => read_stdin(),
        Some(p) if p.as_os_str() == "-" => read_stdin(),
        Some(p) => {
            let bytes = std::fs::read(p)
                .map_err(|e| Failure::new(format!("cannot read {}: {e}", p.display())))?;
            Ok((p.display().to_string(), bytes))
        }
    }
}

fn read_stdin() -> Result<(String, Vec<u8>), Failure> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new(format!("cannot read standard input: {e}")))?;
    Ok(("standard input".into(), bytes))
}

fn utf8<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, Failure> {
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(format!(
            "{name} is not UTF-8 text (invalid byte at offset {}): the reference hashes UTF-8 only",
            e.valid_up_to()
        ))
    })
}

pub fn json(ctx: &Ctx, input: Option<&Path>) -> Result<ExitCode, Failure> {
    let (name, bytes) = read_input(input)?;
    let text = utf8(&name, &bytes)?;
    if text.trim().is_empty() {
        return Err(Failure::new(format!(
            "{name} is empty: expected a JSON document"
        )));
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Failure::new(format!("{name}: {}", describe_json_error(&e))))?;
    let canonical = canonical_json(&value);
    let sha = sha256_text(&canonical);
    if ctx.json {
        print_json(&json!({"sha256": sha, "canonical_utf8_len": canonical.len()}))?;
    } else {
        println!("{sha}");
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
        println!("{sha}");
    }
    Ok(ExitCode::SUCCESS)
}
