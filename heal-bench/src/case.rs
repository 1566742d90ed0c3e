//! A benchmark case: `cases/NAME/case.toml` and `cases/NAME/repro.rs`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The file every reproducer is written to, relative to the crate root, and
/// the name of its test target (`cargo test --test heal_bench_repro`). It
/// lives outside `tests/` so it never collides with the crate's own tests.
pub const REPRO_PATH: &str = "heal_bench/repro.rs";
/// The reproducer's test target name.
pub const REPRO_TARGET: &str = "heal_bench_repro";

/// One real panic bug, fixed upstream in a later release.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short unique name (the directory's name).
    pub name: String,
    /// The crate's name on crates.io.
    #[serde(rename = "crate")]
    pub krate: String,
    /// The release that panics.
    pub buggy: String,
    /// The first release with the upstream fix.
    pub fixed: String,
    /// Panic class: overflow, index-oob, slice-range, unwrap-none,
    /// unwrap-err, div-zero, char-boundary, explicit-panic, capacity, ...
    pub class: String,
    /// A substring of the panic message the reproducer raises on `buggy`.
    pub panic_message: String,
    /// `file:line` of the panic inside the crate on `buggy`.
    pub panic_location: String,
    /// The crate's own suite: a command run at the crate root that passes on
    /// `buggy` (and must stay green on a fix).
    #[serde(default = "default_suite")]
    pub suite: String,
    /// Cargo features the reproducer needs (`--features`), if any.
    #[serde(default)]
    pub features: Vec<String>,
    /// The files upstream's fix changed (non-test source), diffed between
    /// the two releases at run time to size the upstream fix.
    pub fix_files: Vec<String>,
    /// The upstream fix's size in +/- lines of non-test source, when counted
    /// by hand from the fix commit (the release diff of `fix_files` can hold
    /// unrelated changes too).
    #[serde(default)]
    pub upstream_fix_lines: Option<u32>,
    /// Where the bug is described: advisory, issue, pull request or the
    /// changelog entry.
    pub source: String,
    /// Notes on the case.
    #[serde(default)]
    pub notes: String,
    /// The reproducer's text (`repro.rs`), not part of `case.toml`.
    #[serde(skip)]
    pub repro: String,
    /// The case's directory.
    #[serde(skip)]
    pub dir: PathBuf,
}

fn default_suite() -> String {
    "cargo test".into()
}

impl Case {
    /// Reads `dir/case.toml` and `dir/repro.rs`.
    pub fn load(dir: &Path) -> Result<Case> {
        let path = dir.join("case.toml");
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        let mut case: Case = toml::from_str(&text).map_err(|e| Error::Case {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let repro_path = dir.join("repro.rs");
        case.repro = std::fs::read_to_string(&repro_path).map_err(Error::io(&repro_path))?;
        case.dir = dir.to_path_buf();
        let bad = |message: &str| Error::Case {
            path: path.clone(),
            message: message.into(),
        };
        if dir.file_name().and_then(|n| n.to_str()) != Some(case.name.as_str()) {
            return Err(bad("`name` must be the directory's name"));
        }
        if !case.repro.contains("fn repro()") {
            return Err(bad("repro.rs must hold one `#[test] fn repro()`"));
        }
        if case.panic_location.rsplit_once(':').is_none() {
            return Err(bad("`panic_location` must be `file:line`"));
        }
        if case.fix_files.is_empty() {
            return Err(bad("`fix_files` must name at least one file"));
        }
        Ok(case)
    }

    /// The `--features` arguments for cargo, empty when none.
    pub fn feature_args(&self) -> String {
        if self.features.is_empty() {
            String::new()
        } else {
            format!(" --features {}", self.features.join(","))
        }
    }

    /// The command that runs the reproducer at the crate root.
    pub fn repro_command(&self) -> String {
        format!("cargo test --test {REPRO_TARGET}{}", self.feature_args())
    }
}

/// Every case under `cases_dir`, sorted by name; only those in `only` when
/// it is not empty (an unknown name is an error).
pub fn load_all(cases_dir: &Path, only: &[String]) -> Result<Vec<Case>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir)
        .map_err(Error::io(cases_dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    let mut cases = dirs.iter().map(|d| Case::load(d)).collect::<Result<Vec<_>>>()?;
    if !only.is_empty() {
        for name in only {
            if !cases.iter().any(|c| &c.name == name) {
                return Err(Error::UnknownCase(name.clone()));
            }
        }
        cases.retain(|c| only.contains(&c.name));
    }
    Ok(cases)
}

/// The reproducer as a plain function callable from the SDK host
/// (`pub fn repro()`, without `#[test]`).
///
/// The host `include!`s it inside a module, where a file's inner doc
/// comments (`//!`) and inner attributes (`#![allow(..)]`) are not allowed:
/// they become plain comments.
pub fn repro_as_function(repro: &str) -> String {
    let lines: Vec<String> = repro
        .lines()
        .map(|line| {
            let code = line.trim_start();
            if code.starts_with("//!") || code.starts_with("#![") {
                format!("// {code}")
            } else {
                line.to_string()
            }
        })
        .collect();
    (lines.join("\n") + "\n")
        .replace("#[test]", "")
        .replace("pub fn repro()", "fn repro()")
        .replace("fn repro()", "pub fn repro()")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reproducer_becomes_a_public_function() {
        let f = repro_as_function("use x::y;\n#[test]\nfn repro() {\n    y(0);\n}\n");
        assert!(f.contains("pub fn repro()"), "{f}");
        assert!(!f.contains("#[test]"), "{f}");
        let f = repro_as_function("//! Found by fuzzing.\n#![allow(unused)]\nuse x::y;\n#[test]\nfn repro() {}\n");
        assert!(
            f.starts_with("// //! Found by fuzzing.\n// #![allow(unused)]\nuse x::y;\n"),
            "{f}"
        );
    }
}
