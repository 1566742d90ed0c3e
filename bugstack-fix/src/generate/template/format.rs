//! Keeping rustfmt-clean files rustfmt-clean.
//!
//! Edits already take their neighbours' indentation and the file's line
//! endings. When the file was rustfmt-clean before the edit (rustfmt leaves
//! it unchanged), the edited text is passed through rustfmt too, so a
//! replacement that grew past the line width is wrapped the way the
//! project's `cargo fmt --check` expects. Only the edited lines can change:
//! everything else was already in rustfmt's form. When rustfmt is missing,
//! fails, or the file was not clean, the edit is kept as written.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to run rustfmt for one file of a repository.
#[derive(Debug, Clone)]
pub(crate) struct Rustfmt {
    edition: String,
    config_dir: Option<PathBuf>,
    /// Where rustfmt runs: the file's directory, so that it finds the
    /// project's configuration the way `cargo fmt` does (formatting stdin,
    /// rustfmt looks for `rustfmt.toml` from its working directory up —
    /// not from bugstack's own).
    work_dir: Option<PathBuf>,
    crlf: bool,
}

impl Rustfmt {
    /// Settings for `file` (repository-relative) in `repo_root`: the
    /// edition of the nearest `Cargo.toml` above it, the repository's
    /// `rustfmt.toml` when there is one, and the file's line endings.
    pub(crate) fn for_file(repo_root: &Path, file: &str, crlf: bool) -> Self {
        let mut edition = None;
        let mut dir = repo_root.join(file);
        while dir.pop() && dir.starts_with(repo_root) {
            if let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) {
                // Cargo's default edition when a manifest names none.
                edition = Some(manifest_edition(&text).unwrap_or_else(|| "2015".into()));
                break;
            }
        }
        let config_dir = [repo_root.join("rustfmt.toml"), repo_root.join(".rustfmt.toml")]
            .into_iter()
            .find(|p| p.is_file())
            .map(|_| repo_root.to_path_buf());
        let work_dir = repo_root
            .join(file)
            .parent()
            .filter(|d| d.is_dir())
            .map(Path::to_path_buf);
        Rustfmt {
            work_dir,
            edition: edition.unwrap_or_else(|| "2021".into()),
            config_dir,
            crlf,
        }
    }

    /// `text` as rustfmt formats it; `None` when rustfmt is missing or fails.
    pub(crate) fn run(&self, text: &str) -> Option<String> {
        let mut cmd = Command::new("rustfmt");
        cmd.args(["--emit", "stdout", "--edition", &self.edition]);
        if let Some(dir) = &self.config_dir {
            cmd.arg("--config-path").arg(dir);
        }
        if let Some(dir) = &self.work_dir {
            cmd.current_dir(dir);
        }
        if self.crlf {
            cmd.args(["--config", "newline_style=Windows"]);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let input = text.to_string();
        // Write from another thread so a large file cannot deadlock on a
        // full stdout pipe.
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().ok()?;
        writer.join().ok()?.ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8(out.stdout).ok()
    }

    /// Whether `text` is already in rustfmt's form.
    pub(crate) fn is_clean(&self, text: &str) -> bool {
        self.run(text).is_some_and(|f| f == text)
    }
}

fn manifest_edition(text: &str) -> Option<String> {
    let value: toml::Value = toml::from_str(text).ok()?;
    let package = value.get("package")?;
    match package.get("edition")? {
        toml::Value::String(s) => Some(s.clone()),
        // `edition.workspace = true`: assume the current edition.
        _ => Some("2021".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_manifest_edition() {
        assert_eq!(
            manifest_edition("[package]\nname = \"x\"\nedition = \"2018\"\n").as_deref(),
            Some("2018")
        );
        assert_eq!(manifest_edition("[package]\nname = \"x\"\n"), None);
        assert_eq!(manifest_edition("not toml ["), None);
    }

    #[test]
    fn follows_the_repositorys_configuration_not_bugstacks() {
        // A line that fits rustfmt's defaults' chain width only under a
        // wider `max_width` (like the one of the directory tests run in).
        let long = "fn f(x: u32, by: usize) -> u32 {\n    u32::try_from(by).ok().and_then(|n| x.checked_shl(n)).unwrap_or(0)\n}\n";
        let repo = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(repo.path().join("src")).unwrap();
        std::fs::write(
            repo.path().join("Cargo.toml"),
            "[package]\nname = \"x\"\nedition = \"2021\"\n",
        )
        .unwrap();
        std::fs::write(repo.path().join("src/lib.rs"), long).unwrap();
        let fmt = Rustfmt::for_file(repo.path(), "src/lib.rs", false);
        let Some(out) = fmt.run(long) else {
            eprintln!("SKIPPED: rustfmt is not installed");
            return;
        };
        assert!(
            out.contains("        .and_then(|n| x.checked_shl(n))\n"),
            "defaults wrap the chain: {out}"
        );
        std::fs::write(repo.path().join("rustfmt.toml"), "max_width = 120\n").unwrap();
        let fmt = Rustfmt::for_file(repo.path(), "src/lib.rs", false);
        assert_eq!(fmt.run(long).as_deref(), Some(long), "the repository's width is used");
    }

    #[test]
    fn formats_only_clean_files() {
        let fmt = Rustfmt {
            edition: "2021".into(),
            config_dir: None,
            work_dir: None,
            crlf: false,
        };
        if fmt.run("fn a() {}\n").is_none() {
            eprintln!("SKIPPED: rustfmt is not installed");
            return;
        }
        let clean = "fn a() {\n    let x = 1;\n}\n";
        let edited = "fn a() {\n    let x =   1;\n}\n";
        assert!(fmt.is_clean(clean));
        assert_eq!(fmt.run(edited).as_deref(), Some(clean));
        assert!(!fmt.is_clean(edited));
        assert!(fmt.run("fn (").is_none());
    }
}
