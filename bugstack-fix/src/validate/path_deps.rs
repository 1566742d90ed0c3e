//! The directories outside the repository that its build reads: path
//! dependencies (`path = "../lib"`), `[patch]`es and `package.workspace`
//! links that leave the repository, and the workspaces those belong to
//! (whose `Cargo.toml` a `version.workspace = true` reads).
//!
//! The checks' sandbox hides `/tmp`, `HOME` and bugstack's own data; a
//! project whose path dependency lives under one of them would not build
//! there. These directories are bound back into the sandbox, read-only.
//!
//! They are read from the manifests **at the commit under validation**,
//! never from a candidate's: a patch (steerable by whoever sent the event)
//! cannot name a directory to be shown to the checks. A directory that is
//! (or holds) a hidden one — `HOME` itself, `/tmp` itself, bugstack's data —
//! is never bound.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::git::Git;

/// Most outside manifests followed (a chain of path dependencies).
const MAX_OUTSIDE_MANIFESTS: usize = 256;

/// The directories outside `repo` that the manifests of `commit` reach,
/// with the workspaces they belong to; none that is, or holds, one of
/// `protected` (the directories the sandbox hides).
pub(super) async fn outside_dirs(git: &Git, repo: &Path, commit: &str, protected: &[PathBuf]) -> Vec<PathBuf> {
    let files = git.list_files(commit).await.unwrap_or_default();
    let mut reached = Vec::new();
    for file in files.iter().filter(|f| f.rsplit('/').next() == Some("Cargo.toml")) {
        let Ok(text) = git.read_file(commit, file).await else {
            continue;
        };
        let dir = repo.join(file);
        let dir = dir.parent().unwrap_or(repo);
        reached.extend(manifest_paths(&text, dir));
    }
    follow(repo, reached, protected)
}

/// Follows the outside directories `start` names through their own
/// manifests, read from disk: each reached directory, and the workspace
/// root above it, is kept unless protected.
fn follow(repo: &Path, start: Vec<PathBuf>, protected: &[PathBuf]) -> Vec<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut keep = BTreeSet::new();
    let mut queue = start;
    while let Some(dir) = queue.pop() {
        let dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| normalize(&dir));
        if dir.starts_with(repo) || !seen.insert(dir.clone()) || seen.len() > MAX_OUTSIDE_MANIFESTS {
            continue;
        }
        let allowed = |d: &Path| !protected.iter().any(|p| p.starts_with(d));
        if !allowed(&dir) {
            continue;
        }
        keep.insert(dir.clone());
        for manifest_dir in std::iter::once(dir.clone()).chain(workspace_root(&dir, &allowed)) {
            if manifest_dir != dir {
                keep.insert(manifest_dir.clone());
            }
            if let Ok(text) = std::fs::read_to_string(manifest_dir.join("Cargo.toml")) {
                queue.extend(manifest_paths(&text, &manifest_dir));
            }
        }
    }
    // A directory inside another kept one needs no bind of its own.
    let all: Vec<PathBuf> = keep.into_iter().collect();
    all.iter()
        .filter(|d| !all.iter().any(|o| o != *d && d.starts_with(o)))
        .cloned()
        .collect()
}

/// The nearest directory above `dir` whose `Cargo.toml` has a
/// `[workspace]`, when binding it is `allowed`.
fn workspace_root(dir: &Path, allowed: &impl Fn(&Path) -> bool) -> Option<PathBuf> {
    for up in dir.ancestors().skip(1) {
        if !allowed(up) {
            return None;
        }
        let Ok(text) = std::fs::read_to_string(up.join("Cargo.toml")) else {
            continue;
        };
        if text.parse::<toml::Table>().is_ok_and(|t| t.contains_key("workspace")) {
            return Some(up.to_path_buf());
        }
    }
    None
}

/// Every directory a manifest in `dir` names by `path`: dependencies of
/// every kind and target, workspace dependencies, patches, replacements,
/// and `package.workspace`.
fn manifest_paths(text: &str, dir: &Path) -> Vec<PathBuf> {
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut push = |p: &str| out.push(normalize(&dir.join(p)));
    let dep_tables = |t: &toml::Table| -> Vec<toml::Table> {
        [
            "dependencies",
            "dev-dependencies",
            "dev_dependencies",
            "build-dependencies",
            "build_dependencies",
        ]
        .iter()
        .filter_map(|k| t.get(*k).and_then(|v| v.as_table()).cloned())
        .collect()
    };
    let mut tables = dep_tables(&table);
    if let Some(targets) = table.get("target").and_then(|v| v.as_table()) {
        for t in targets.values().filter_map(|v| v.as_table()) {
            tables.extend(dep_tables(t));
        }
    }
    if let Some(ws) = table.get("workspace").and_then(|v| v.as_table()) {
        tables.extend(dep_tables(ws));
    }
    if let Some(patches) = table.get("patch").and_then(|v| v.as_table()) {
        tables.extend(patches.values().filter_map(|v| v.as_table()).cloned());
    }
    if let Some(replace) = table.get("replace").and_then(|v| v.as_table()) {
        tables.push(replace.clone());
    }
    for dep in tables.iter().flat_map(|t| t.values()) {
        if let Some(p) = dep.get("path").and_then(|p| p.as_str()) {
            push(p);
        }
    }
    if let Some(p) = table
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(|w| w.as_str())
    {
        push(p);
    }
    out
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn every_kind_of_path_is_read() {
        let text = r#"
[package]
name = "a"
workspace = "../ws"
[dependencies]
x = { path = "../x" }
y = "1"
[dev-dependencies]
z = { path = "./vendor/z" }
[target.'cfg(unix)'.build-dependencies]
u = { path = "/opt/u" }
[workspace.dependencies]
w = { path = "../../w" }
[patch.crates-io]
p = { path = "../p" }
"#;
        let got = manifest_paths(text, Path::new("/r/a"));
        let want: Vec<PathBuf> = ["/r/x", "/r/a/vendor/z", "/opt/u", "/w", "/r/p", "/r/ws"]
            .iter()
            .map(PathBuf::from)
            .collect();
        for w in &want {
            assert!(got.contains(w), "{w:?} missing from {got:?}");
        }
        assert_eq!(got.len(), want.len(), "{got:?}");
        assert!(manifest_paths("not toml [", Path::new("/r")).is_empty());
    }

    #[test]
    fn an_outside_dependency_brings_its_workspace_and_its_own_dependencies() {
        let base = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(base.path()).unwrap();
        let repo = base.join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        // A workspace elsewhere whose member the repo uses; the member
        // depends on a crate outside that workspace too.
        write(&base.join("sdk/Cargo.toml"), "[workspace]\nmembers = [\"client\"]\n");
        write(
            &base.join("sdk/client/Cargo.toml"),
            "[package]\nname = \"client\"\nversion.workspace = true\n[dependencies]\nutil = { path = \"../../util\" }\n",
        );
        write(&base.join("util/Cargo.toml"), "[package]\nname = \"util\"\n");
        // An inside path dependency needs nothing.
        write(&repo.join("inner/Cargo.toml"), "[package]\nname = \"inner\"\n");
        let got = follow(
            &repo,
            vec![base.join("sdk/client"), repo.join("inner")],
            &[base.join("secret-data")],
        );
        assert_eq!(got, vec![base.join("sdk"), base.join("util")]);
    }

    #[test]
    fn a_protected_directory_is_never_bound() {
        let base = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(base.path()).unwrap();
        let repo = base.join("home/repo");
        write(&base.join("home/lib/Cargo.toml"), "[package]\nname = \"lib\"\n");
        // A workspace at HOME itself is not bound; the dependency is.
        write(&base.join("home/Cargo.toml"), "[workspace]\n");
        let protected = [base.join("home/.bugstack"), base.join("home")];
        let got = follow(
            &repo,
            vec![base.join("home/lib"), base.join("home"), base.clone()],
            &protected,
        );
        assert_eq!(got, vec![base.join("home/lib")]);
    }
}
