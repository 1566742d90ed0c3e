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

/// The crate's own dependencies (and dev-dependencies) that the reproducer
/// names (`use num_traits::Num;`), as lines of the host's
/// `[dependencies]`, with the crate's own version requirements: the
/// reproducer was checked as a test of the crate, where they are in scope.
/// Path and git dependencies are left out (their paths are the crate's).
fn used_dependencies(repo: &Path, repro: &str, krate: &str) -> String {
    let Some(manifest) = std::fs::read_to_string(repo.join("Cargo.toml"))
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
    else {
        return String::new();
    };
    let mut lines = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for section in ["dependencies", "dev-dependencies"] {
        let Some(deps) = manifest.get(section).and_then(toml::Value::as_table) else {
            continue;
        };
        for (key, spec) in deps {
            let code_name = key.replace('-', "_");
            if key == krate || key == "bugstack-sdk" || !names_crate(repro, &code_name) || seen.contains(key) {
                continue;
            }
            let (version, package) = match spec {
                toml::Value::String(v) => (v.as_str(), None),
                toml::Value::Table(t) if !t.contains_key("path") && !t.contains_key("git") => (
                    t.get("version").and_then(toml::Value::as_str).unwrap_or("*"),
                    t.get("package").and_then(toml::Value::as_str),
                ),
                _ => continue,
            };
            let package = package.map(|p| format!(", package = {p:?}")).unwrap_or_default();
            lines.push_str(&format!("{key} = {{ version = {version:?}{package} }}\n"));
            seen.insert(key);
        }
    }
    lines
}

/// Whether `code` names the crate `name` as a path's first segment
/// (`name::x`, `use name;`, `extern crate name;`).
fn names_crate(code: &str, name: &str) -> bool {
    code.match_indices(name).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = &code[at + name.len()..];
        let starts = !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':');
        starts && (after.starts_with("::") || after.starts_with(';') || after.starts_with(" as "))
    })
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
         [dependencies]\nbugstack-sdk = {{ path = {sdk:?} }}\n{krate} = {{ path = {repo:?}{features} }}\n{used}\n\
         [workspace]\n\n[profile.dev]\ndebug = \"line-tables-only\"\n",
        name = package_name(case),
        used = used_dependencies(repo, &case.repro, &case.krate),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_depends_on_the_crates_dependencies_the_reproducer_names() {
        let dir = std::env::temp_dir().join(format!("heal-bench-host-deps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"num-bigint\"\nversion = \"0.4.2\"\n\n[dependencies]\nnum-traits = { version = \"0.2.11\", default-features = false }\nnum-integer = \"0.1.42\"\nlocal = { path = \"../local\" }\n\n[dev-dependencies]\nrand_alt = { version = \"0.8\", package = \"rand\" }\nserde_test = \"1\"\n",
        )
        .unwrap();
        let repro = "use num_bigint::BigUint;\nuse num_traits::Num;\nextern crate rand_alt;\nfn f() { local::x(); my_num_integer::y(); }\n";
        let used = used_dependencies(&dir, repro, "num-bigint");
        assert_eq!(
            used,
            "num-traits = { version = \"0.2.11\" }\nrand_alt = { version = \"0.8\", package = \"rand\" }\n"
        );
        assert_eq!(used_dependencies(&dir.join("none"), repro, "num-bigint"), "");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
