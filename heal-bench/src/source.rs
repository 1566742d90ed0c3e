//! A crate release's source, fetched by cargo at run time (never committed):
//! a scratch package depending on `crate = "=VERSION"`, resolved with
//! `cargo metadata`, names the unpacked source in cargo's registry cache.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::case::{Case, REPRO_PATH, REPRO_TARGET};
use crate::error::{Error, Result};
use crate::process::{self, shell};

/// A fetched release.
#[derive(Debug, Clone)]
pub struct Source {
    /// The unpacked package in cargo's registry cache (read only).
    pub dir: PathBuf,
    /// The library target's name (what `use` names).
    pub lib_name: String,
}

/// Fetches `krate` `version` through cargo into its registry cache.
pub fn fetch(work: &Path, krate: &str, version: &str) -> Result<Source> {
    let scratch = work.join(format!("fetch-{krate}-{version}"));
    std::fs::create_dir_all(scratch.join("src")).map_err(Error::io(&scratch))?;
    let manifest = format!(
        "[package]\nname = \"heal-bench-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{krate} = \"={version}\"\n\n[workspace]\n"
    );
    write(&scratch.join("Cargo.toml"), &manifest)?;
    write(&scratch.join("src/lib.rs"), "")?;
    let run = process::run(
        shell(&scratch, "cargo metadata --format-version 1", &[]),
        &format!("cargo metadata ({krate} {version})"),
        Duration::from_secs(600),
    )?;
    if run.status != process::Status::Passed {
        return Err(Error::Fetch {
            krate: krate.into(),
            version: version.into(),
            detail: run.tail(8),
        });
    }
    let json = run
        .output
        .lines()
        .find(|l| l.starts_with('{'))
        .ok_or_else(|| Error::Fetch {
            krate: krate.into(),
            version: version.into(),
            detail: "cargo metadata printed no JSON".into(),
        })?;
    let meta: serde_json::Value = serde_json::from_str(json)?;
    let package = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == krate && p["version"] == version)
        .ok_or_else(|| Error::Fetch {
            krate: krate.into(),
            version: version.into(),
            detail: "not in the resolved graph".into(),
        })?;
    let manifest_path = package["manifest_path"].as_str().unwrap_or_default();
    let dir = Path::new(manifest_path)
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::Fetch {
            krate: krate.into(),
            version: version.into(),
            detail: format!("odd manifest path {manifest_path:?}"),
        })?;
    let lib_name = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib" || k == "rlib"))
        })
        .and_then(|t| t["name"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| krate.replace('-', "_"));
    Ok(Source { dir, lib_name })
}

/// Copies the release's source to `dest` as a standalone package (a
/// `[workspace]` table so no enclosing directory's workspace claims it).
pub fn copy_to(source: &Source, dest: &Path) -> Result<()> {
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(Error::io(dest))?;
    }
    std::fs::create_dir_all(dest).map_err(Error::io(dest))?;
    process::run_ok(
        shell(dest, &format!("cp -R {}/. .", sh_quote(&source.dir)), &[]),
        "cp -R",
        Duration::from_secs(120),
    )?;
    // Registry sources are read-only; the copy must be writable.
    process::run_ok(shell(dest, "chmod -R u+w .", &[]), "chmod", Duration::from_secs(60))?;
    let manifest = dest.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(Error::io(&manifest))?;
    if !text.lines().any(|l| l.trim() == "[workspace]") {
        write(&manifest, &format!("{text}\n[workspace]\n"))?;
    }
    Ok(())
}

/// Adds the case's reproducer to the package at `dir` as the test target
/// `heal_bench_repro`.
pub fn add_repro(case: &Case, dir: &Path) -> Result<()> {
    let path = dir.join(REPRO_PATH);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
    }
    write(&path, &case.repro)?;
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(Error::io(&manifest))?;
    if !text.contains(REPRO_PATH) {
        write(
            &manifest,
            &format!("{text}\n[[test]]\nname = \"{REPRO_TARGET}\"\npath = \"{REPRO_PATH}\"\nharness = true\n"),
        )?;
    }
    Ok(())
}

/// `+`/`-` lines between two versions of the same files (`git diff
/// --no-index --numstat`), a file missing on one side counted whole.
pub fn diff_lines(old: &Path, new: &Path, files: &[String]) -> Result<u32> {
    let mut total = 0;
    for file in files {
        let (a, b) = (old.join(file), new.join(file));
        let a = if a.exists() { a } else { PathBuf::from("/dev/null") };
        let b = if b.exists() { b } else { PathBuf::from("/dev/null") };
        let mut c = std::process::Command::new("git");
        c.args(["diff", "--no-index", "--numstat", "--"]).arg(&a).arg(&b);
        let run = process::run(c, "git diff --numstat", Duration::from_secs(60))?;
        for line in run.output.lines() {
            let mut parts = line.split_whitespace();
            let added: u32 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let removed: u32 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            total += added + removed;
        }
    }
    Ok(total)
}

/// Writes `text` to `path`.
pub fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(Error::io(path))
}

/// `path` quoted for `sh`.
pub fn sh_quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', "'\\''"))
}
