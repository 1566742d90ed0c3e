//! The SDK host: a small program that links `bugstack-sdk` and the crate
//! under test (the repository's work tree, by path), runs the case's
//! reproducer once, and lets the SDK report the panic to the collector, as
//! a service using the crate would.

use std::path::Path;

use crate::case::{repro_as_function, Case};
use crate::error::{Error, Result};
use crate::source::{write, Source};
use crate::Settings;

/// The host package's name for `case` (one per case, so parallel cases never
/// share a binary).
pub fn package_name(case: &Case) -> String {
    let name: String = case
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("heal-bench-host-{name}")
}

/// Writes the host package into `dir`, depending on the crate at `repo`.
pub fn write_host(settings: &Settings, case: &Case, source: &Source, repo: &Path, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir.join("src")).map_err(Error::io(dir))?;
    let features = if case.features.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = case.features.iter().map(|f| format!("{f:?}")).collect();
        format!(", features = [{}]", quoted.join(", "))
    };
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\nbugstack-sdk = {{ path = {sdk:?} }}\n{krate} = {{ path = {repo:?}{features} }}\n\n\
         [workspace]\n\n[profile.dev]\ndebug = \"line-tables-only\"\n",
        name = package_name(case),
        sdk = settings.sdk_dir.display().to_string(),
        krate = case.krate,
        repo = repo.display().to_string(),
    );
    write(&dir.join("Cargo.toml"), &manifest)?;
    // Start from the workspace's lock file: the SDK's dependencies resolve
    // to the versions already built and cached.
    let lock = settings.workspace_lock();
    if lock.is_file() {
        std::fs::copy(&lock, dir.join("Cargo.lock")).map_err(Error::io(&lock))?;
    }
    write(&dir.join("src/repro.rs"), &repro_as_function(&case.repro))?;
    let main = format!(
        "//! Runs the heal-bench case `{case_name}`'s reproducer under bugstack-sdk.\n\
         #[allow(unused_imports, dead_code, unused_variables, unused_mut, unused_extern_crates)]\n\
         mod repro {{\n    include!(\"repro.rs\");\n}}\n\n\
         fn main() {{\n\
         \x20   let guard = bugstack_sdk::init(\n\
         \x20       bugstack_sdk::Options::default().in_app_prefix({lib:?}).no_spool(),\n\
         \x20   );\n\
         \x20   let panicked = std::panic::catch_unwind(repro::repro).is_err();\n\
         \x20   let sent = bugstack_sdk::flush(std::time::Duration::from_secs(30));\n\
         \x20   drop(guard);\n\
         \x20   println!(\"heal-bench-host: panicked={{panicked}} sent={{sent}}\");\n\
         \x20   std::process::exit(if panicked && sent {{ 0 }} else {{ 3 }});\n\
         }}\n",
        case_name = case.name,
        lib = source.lib_name,
    );
    write(&dir.join("src/main.rs"), &main)
}
