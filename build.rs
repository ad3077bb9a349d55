//! Embed every `migrations/NNNN_name.sql` file (SQLite) and `migrations/postgres/NNNN_name.sql`
//! file (PostgreSQL) into the binary, in file-name order.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time, not with env!(): a build script compiled for one checkout can be
    // reused by another that shares CARGO_TARGET_DIR, and must look at its own migrations.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut code = String::new();
    for (array, sub) in [("MIGRATIONS", ""), ("PG_MIGRATIONS", "postgres")] {
        let dir = Path::new(&manifest).join("migrations").join(sub);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations/ exists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        names.sort();
        let _ = writeln!(
            code,
            "/// Embedded migrations of migrations/{sub}: (file name, SQL text), in order.\n#[allow(dead_code)]\npub static {array}: &[(&str, &str)] = &["
        );
        for name in &names {
            println!("cargo:rerun-if-changed={}", dir.join(name).display());
            let _ = writeln!(
                code,
                "    ({name:?}, include_str!({:?})),",
                dir.join(name).display().to_string()
            );
        }
        code.push_str("];\n");
    }
    let out =
        Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("migrations.rs");
    std::fs::write(out, code).expect("write generated migrations list");
}
