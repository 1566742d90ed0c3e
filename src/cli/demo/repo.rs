//! The demo's repository: a copy of the shop in a fresh git repository with
//! a local bare remote as `origin`.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The policy the demo writes: auto-merge a validated fix whose confidence
/// reaches 0.8 (a one-attempt template fix at the panic line scores ~0.9),
/// checks = build + test only (fast), offline generator, local forge.
pub const DEMO_POLICY: &str = r#"# The bugstack demo's policy (written by `bugstack demo`).
confidence_threshold = 0.8
auto_merge = true
retry_limit = 1
max_changed_lines = 40

[[checks]]
name = "build"
command = "cargo build --locked"
timeout_secs = 900

[[checks]]
name = "test"
command = "cargo test --locked"
timeout_secs = 900

[model]
backend = "offline"

[forge]
kind = "local"
remote = "origin"
base_branch = "main"
ci_timeout_secs = 60
"#;

/// Runs `git` in `dir` with a fixed identity and no user configuration
/// influence on commits; stdout, trimmed.
pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = bugstack_fix::git::command(dir)
        .args([
            "-c",
            "user.name=bugstack demo",
            "-c",
            "user.email=demo@bugstack.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .args(args)
        .output()
        .map_err(|e| Error::io(format!("cannot run git in {}", dir.display()), e))?;
    if !out.status.success() {
        return Err(Error::Config(format!(
            "git {} in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Copies `from` into `to` recursively, skipping `target/` and `.git/`.
fn copy_tree(from: &Path, to: &Path) -> Result<usize> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(format!("cannot create {}", to.display()), e))?;
    let mut files = 0;
    let entries = std::fs::read_dir(from).map_err(|e| Error::io(format!("cannot read {}", from.display()), e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("cannot read {}", from.display()), e))?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        let kind = entry
            .file_type()
            .map_err(|e| Error::io(format!("cannot stat {}", src.display()), e))?;
        if kind.is_dir() {
            files += copy_tree(&src, &dst)?;
        } else if kind.is_file() {
            std::fs::copy(&src, &dst).map_err(|e| Error::io(format!("cannot copy {}", src.display()), e))?;
            files += 1;
        }
    }
    Ok(files)
}

/// The prepared repository.
#[derive(Debug, Clone)]
pub(crate) struct DemoRepo {
    /// The work tree.
    pub(crate) root: PathBuf,
    /// The initial commit (the buggy release).
    pub(crate) commit: String,
}

/// Copies the shop at `shop` into `<base>/shop`, points its bugstack-sdk
/// dependency at `sdk` (absolute), writes the demo policy, commits, and
/// pushes `main` to a bare remote `<base>/shop.git` added as `origin`.
pub(crate) fn prepare(shop: &Path, sdk: &Path, base: &Path) -> Result<DemoRepo> {
    if !shop.join("Cargo.toml").is_file() {
        return Err(Error::Config(format!(
            "{}: not the shop example (no Cargo.toml); pass --shop-dir",
            shop.display()
        )));
    }
    let root = base.join("shop");
    let files = copy_tree(shop, &root)?;
    let manifest = root.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| Error::io(format!("cannot read {}", manifest.display()), e))?;
    let sdk_path = sdk.display().to_string().replace('\\', "/");
    let rewritten = text.replace("path = \"../../bugstack-sdk\"", &format!("path = {:?}", sdk_path));
    std::fs::write(&manifest, rewritten).map_err(|e| Error::io(format!("cannot write {}", manifest.display()), e))?;
    let policy = root.join(bugstack_fix::POLICY_FILE);
    std::fs::write(&policy, DEMO_POLICY).map_err(|e| Error::io(format!("cannot write {}", policy.display()), e))?;
    let ignore = root.join(".gitignore");
    std::fs::write(&ignore, "/target\n").map_err(|e| Error::io(format!("cannot write {}", ignore.display()), e))?;

    // The shop's Cargo.lock was written against the SDK of its time; let
    // cargo bring it up to date with this checkout's SDK before the release
    // is committed, so every later build can be `--locked`.
    let status = super::service::cargo_in(&root, &["metadata", "--format-version", "1", "--quiet"], &[])?;
    if !status.success() {
        return Err(Error::Config(format!(
            "cargo could not resolve the shop's dependencies in {} ({status})",
            root.display()
        )));
    }

    git(&root, &["init", "--quiet", "--initial-branch=main"])?;
    git(&root, &["add", "--all"])?;
    git(&root, &["commit", "--quiet", "-m", "shop: the demo service"])?;
    let commit = git(&root, &["rev-parse", "HEAD"])?;
    let remote = base.join("shop.git");
    git(
        base,
        &["init", "--quiet", "--bare", "--initial-branch=main", "shop.git"],
    )?;
    let remote_str = remote.display().to_string();
    git(&root, &["remote", "add", "origin", &remote_str])?;
    git(&root, &["push", "--quiet", "--set-upstream", "origin", "main"])?;
    println!("      {files} files copied from {}", shop.display());
    println!(
        "      repository {} at {}",
        root.display(),
        &commit[..12.min(commit.len())]
    );
    println!("      remote     {} (origin)", remote.display());
    Ok(DemoRepo { root, commit })
}

/// Fast-forwards the work tree to `origin/main`; the new `HEAD`.
pub(crate) fn pull(repo: &DemoRepo) -> Result<String> {
    git(&repo.root, &["fetch", "--quiet", "origin", "main"])?;
    git(&repo.root, &["merge", "--quiet", "--ff-only", "origin/main"])?;
    git(&repo.root, &["rev-parse", "HEAD"])
}
