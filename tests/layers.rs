//! The modules form layers, and imports point down: a module may use the modules of the
//! layers below it, never one beside or above it. ARCHITECTURE.md draws the layers; this
//! test reads every source file and fails on an import that runs the wrong way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layers from the bottom up. A module may import modules of lower layers only.
const LAYERS: &[(&str, &[&str])] = &[
    ("foundations", &["text", "hashing", "advice", "fsio"]),
    ("domain", &["domain", "filter", "preview"]),
    ("domain views", &["api"]),
    ("database", &["db"]),
    ("storage", &["store"]),
    ("services", &["scoring", "invariants"]),
    ("configuration", &["config", "prefs"]),
    ("composition", &["demo"]),
    ("console", &["tui"]),
    ("command line", &["cli"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, ms)| ms.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/store/index/query.rs` → `store`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_owned()
}

/// Every `crate::name` a source text refers to outside comments, including the names
/// inside `use crate::{a, b::c}`.
fn crate_refs(text: &str) -> Vec<(usize, String)> {
    let mut refs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // Top-level names of the group, up to its closing brace (one line).
                let mut depth = 0;
                let mut name = String::new();
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            refs.push((n + 1, std::mem::take(&mut name)));
                        }
                        _ => name.push(ch),
                    }
                }
                refs.push((n + 1, name));
            } else {
                refs.push((n + 1, after.to_owned()));
            }
            rest = after;
        }
    }
    refs.into_iter()
        .filter_map(|(n, r)| {
            let head: String = r
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!head.is_empty()).then_some((n, head))
        })
        .collect()
}

#[test]
fn imports_point_down_the_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut unknown = BTreeMap::new();
    let mut violations = Vec::new();
    for file in &files {
        let module = module_of(&src, file);
        if module == "lib" || module == "main" {
            continue; // the crate root and the binary see everything
        }
        let Some(own) = layer_of(&module) else {
            unknown.insert(module.clone(), file.clone());
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, target) in crate_refs(&text) {
            if target == module {
                continue;
            }
            match layer_of(&target) {
                Some(t) if t < own => {}
                Some(t) => violations.push(format!(
                    "{}:{line}: {module} ({}) imports {target} ({}), which is not below it",
                    file.strip_prefix(root).unwrap().display(),
                    LAYERS[own].0,
                    LAYERS[t].0,
                )),
                None => {
                    unknown.insert(target, file.clone());
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "modules without a layer (add them to LAYERS here and to ARCHITECTURE.md): {unknown:?}"
    );
    assert!(
        violations.is_empty(),
        "imports that point up or sideways (move the code down a layer, or pass what it needs in):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_imports() {
    let refs = crate_refs(
        "use crate::{store::runs::{A, B}, domain};\nlet x = crate::tui::run(); // crate::cli in a comment\n",
    );
    let names: Vec<_> = refs.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["store", "domain", "tui"]);
}
