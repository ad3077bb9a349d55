//! What the benchmarks share.

/// The value after `--name` on the command line, if given.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Whether `--name` is on the command line.
#[allow(dead_code)] // not every benchmark has switches
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}
