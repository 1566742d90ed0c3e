//! Where criterion keeps the SDK benches' results, and a bench's median read
//! back from them (for the side-by-side summary each bench prints).

use std::path::{Path, PathBuf};

/// Criterion's output directory: `CRITERION_HOME`, else the workspace's
/// `target/criterion`.
pub(crate) fn output_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    // target/<profile>/deps/<bench>-<hash> → target/criterion
    std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(|t| t.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The median time, in ns, of the bench criterion stored under `dir/id`
/// (`group_bench` for `bench_function("group/bench")`, `group/bench` for a
/// benchmark group's), when it ran.
pub(crate) fn median_ns(dir: &Path, id: &str) -> Option<f64> {
    let path = dir.join(id).join("new").join("estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}
