//! Finding and reading a `Cargo.lock`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One resolved package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
}

/// The lock file found and the packages it resolves.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) path: PathBuf,
    pub(crate) packages: Vec<Package>,
}

#[derive(Deserialize)]
struct LockFile {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(Deserialize)]
struct LockPackage {
    name: String,
    version: String,
    /// `registry+...` or `git+...`; absent for the workspace's own (and
    /// path) packages, which are the service itself, not its dependencies.
    source: Option<String>,
}

/// The nearest `Cargo.lock` at or above `dir`.
pub(crate) fn find(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().map(|d| d.join("Cargo.lock")).find(|p| p.is_file())
}

/// The dependencies in a lock file's text: every package with a `source`
/// (registry or git), sorted by name and version, without duplicates.
pub(crate) fn parse(text: &str) -> Result<Vec<Package>, String> {
    let lock: LockFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut packages: Vec<Package> = lock
        .package
        .into_iter()
        .filter(|p| p.source.is_some())
        .map(|p| Package {
            name: p.name,
            version: p.version,
        })
        .collect();
    packages.sort();
    packages.dedup();
    Ok(packages)
}

/// Finds the lock file above `manifest_dir` and reads its dependencies; the
/// error says what to do.
pub(crate) fn find_and_read(manifest_dir: &Path) -> Result<Found, String> {
    let path = find(manifest_dir).ok_or_else(|| {
        format!(
            "no Cargo.lock at or above {}; run `cargo generate-lockfile` (or any cargo build) first",
            manifest_dir.display()
        )
    })?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let packages = parse(&text).map_err(|e| format!("{} is not a valid Cargo.lock: {e}", path.display()))?;
    Ok(Found { path, packages })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
version = 4

[[package]]
name = "shop"
version = "0.1.0"
dependencies = ["tokio"]

[[package]]
name = "tokio"
version = "1.48.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "00"

[[package]]
name = "serde"
version = "1.0.228"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "mylib"
version = "0.3.0"
source = "git+https://example.invalid/mylib#abc"
"#;

    #[test]
    fn registry_and_git_packages_sorted_workspace_members_left_out() {
        let p = parse(LOCK).unwrap();
        let names: Vec<(&str, &str)> = p.iter().map(|p| (p.name.as_str(), p.version.as_str())).collect();
        assert_eq!(names, [("mylib", "0.3.0"), ("serde", "1.0.228"), ("tokio", "1.48.0")]);
    }

    #[test]
    fn the_nearest_lock_above_the_manifest_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let member = dir.path().join("crates").join("svc");
        std::fs::create_dir_all(&member).unwrap();
        assert!(find_and_read(&member).unwrap_err().contains("no Cargo.lock"));
        std::fs::write(dir.path().join("Cargo.lock"), LOCK).unwrap();
        let found = find_and_read(&member).unwrap();
        assert_eq!(found.path, dir.path().join("Cargo.lock"));
        assert_eq!(found.packages.len(), 3);
        std::fs::write(member.join("Cargo.lock"), "[[package]]\nname = 1").unwrap();
        let err = find_and_read(&member).unwrap_err();
        assert!(err.contains("not a valid Cargo.lock"), "{err}");
    }
}
