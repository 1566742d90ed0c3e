//! Repository policy: `bugstack.toml` at the repository root.
//!
//! Every key is optional; an absent file means the safe defaults (no
//! auto-merge). Unknown keys are an error that names the key, so a typo never
//! silently turns a safety setting off. See `docs/policy.md` for the schema.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Error, Patch, Result};

/// The policy file's name, at the repository root.
pub const POLICY_FILE: &str = "bugstack.toml";

/// The commented template `bugstack init` writes (it parses to the defaults).
pub const POLICY_TEMPLATE: &str = r#"# bugstack policy: how fixes for this repository are made, checked and merged.
# Every key is optional; unknown keys are rejected. Schema: docs/policy.md

# Auto-merge only at or above this confidence score (0.0 - 1.0).
confidence_threshold = 0.8
# Off by default: fix pull requests stay open for review.
auto_merge = false
# Revised attempts after a candidate fails a check (0 = one attempt only).
retry_limit = 2
# Patches changing more lines (added + removed) are rejected.
max_changed_lines = 40
# Globs of paths a patch may never touch.
excluded_paths = [".ci/**", ".github/**", "**/build.rs", "**/Cargo.toml", "Cargo.lock", ".cargo/**"]

# Checks run on every candidate, in an isolated worktree. With none listed,
# the Rust defaults run: cargo build, cargo test, and cargo clippy / cargo fmt
# --check where the base commit already passes them.
# [[checks]]
# name = "test"
# command = "cargo test"
# timeout_secs = 900

[model]
# offline (templates, no code leaves the machine) | openai | anthropic
backend = "offline"
# model = "gpt-4o-mini"
# base_url = "http://localhost:11434/v1"   # any OpenAI-compatible server
# api_key_env = "OPENAI_API_KEY"

[forge]
# local (branch on a local remote, PR recorded by bugstack) | github
kind = "local"
# remote = "origin"
# base_branch = "main"
# repository = "owner/name"               # github only
# labels = ["bugstack"]
# merge_method = "squash"
"#;

/// Which model backend generates fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelBackend {
    /// The offline template generator: no model, no code sent anywhere.
    #[default]
    Offline,
    /// An OpenAI-compatible chat completions server (OpenAI, Ollama, vLLM,
    /// llama.cpp server, ...).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
}

/// `[model]`: the language model used by the LLM generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// The backend.
    pub backend: ModelBackend,
    /// Model name.
    pub model: Option<String>,
    /// Base URL of the API (defaults to the vendor's).
    pub base_url: Option<String>,
    /// Environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// Most tokens of context sent to the model.
    pub context_tokens: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            backend: ModelBackend::Offline,
            model: None,
            base_url: None,
            api_key_env: None,
            timeout_secs: 120,
            context_tokens: 6000,
        }
    }
}

/// Where fixes are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForgeKind {
    /// A branch pushed to a local remote, the PR recorded by bugstack.
    #[default]
    Local,
    /// GitHub pull requests through the REST API.
    Github,
}

/// How a pull request is merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMethod {
    /// One squashed commit.
    #[default]
    Squash,
    /// A merge commit.
    Merge,
    /// Rebase the commits.
    Rebase,
}

/// `[forge]`: where fixes are delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForgeConfig {
    /// The forge.
    pub kind: ForgeKind,
    /// Git remote to push fix branches to.
    pub remote: String,
    /// Branch pull requests target (default: the remote's default branch).
    pub base_branch: Option<String>,
    /// `owner/name` on GitHub.
    pub repository: Option<String>,
    /// GitHub API base URL (for GitHub Enterprise or a test server).
    pub api_url: Option<String>,
    /// Environment variable holding the forge token.
    pub token_env: String,
    /// Labels added to fix pull requests.
    pub labels: Vec<String>,
    /// How pull requests are merged.
    pub merge_method: MergeMethod,
    /// How long to wait for the pull request's own CI before giving up.
    pub ci_timeout_secs: u64,
}

impl Default for ForgeConfig {
    fn default() -> Self {
        ForgeConfig {
            kind: ForgeKind::Local,
            remote: "origin".into(),
            base_branch: None,
            repository: None,
            api_url: None,
            token_env: "GITHUB_TOKEN".into(),
            labels: vec!["bugstack".into()],
            merge_method: MergeMethod::Squash,
            ci_timeout_secs: 1800,
        }
    }
}

/// One `[[checks]]` entry: a command run in the candidate's worktree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    /// Short name (`build`, `test`, `clippy`).
    pub name: String,
    /// Shell command (run with `sh -c` in the worktree root).
    pub command: String,
    /// Killed (with its process group) after this long.
    #[serde(default = "default_check_timeout")]
    pub timeout_secs: u64,
    /// Run only when the base commit passes it (lint-style checks a repo
    /// may not be clean for).
    #[serde(default)]
    pub only_if_base_passes: bool,
}

fn default_check_timeout() -> u64 {
    900
}

impl CheckSpec {
    /// A check with the default timeout.
    pub fn new(name: &str, command: &str) -> Self {
        CheckSpec {
            name: name.into(),
            command: command.into(),
            timeout_secs: default_check_timeout(),
            only_if_base_passes: false,
        }
    }

    /// The Rust defaults: build, test, and clippy / fmt only where the base
    /// commit already passes them.
    pub fn rust_defaults() -> Vec<CheckSpec> {
        vec![
            CheckSpec::new("build", "cargo build --all-targets"),
            CheckSpec::new("test", "cargo test"),
            CheckSpec {
                only_if_base_passes: true,
                ..CheckSpec::new("clippy", "cargo clippy --all-targets -- -D warnings")
            },
            CheckSpec {
                only_if_base_passes: true,
                ..CheckSpec::new("fmt", "cargo fmt --all -- --check")
            },
        ]
    }
}

/// The whole `bugstack.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Auto-merge only at or above this confidence (0..=1).
    pub confidence_threshold: f64,
    /// Whether auto-merge is allowed at all.
    pub auto_merge: bool,
    /// Revised attempts after a failed one.
    pub retry_limit: u32,
    /// Most changed lines (added + removed) in a patch.
    pub max_changed_lines: u32,
    /// Globs of paths a patch may never touch.
    pub excluded_paths: Vec<String>,
    /// Checks to run (empty: [`CheckSpec::rust_defaults`]).
    pub checks: Vec<CheckSpec>,
    /// The language model.
    pub model: ModelConfig,
    /// The forge.
    pub forge: ForgeConfig,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            confidence_threshold: 0.8,
            auto_merge: false,
            retry_limit: 2,
            max_changed_lines: 40,
            excluded_paths: [
                ".ci/**",
                ".github/**",
                "**/build.rs",
                "**/Cargo.toml",
                "Cargo.lock",
                ".cargo/**",
            ]
            .map(String::from)
            .to_vec(),
            checks: Vec::new(),
            model: ModelConfig::default(),
            forge: ForgeConfig::default(),
        }
    }
}

/// Why a patch breaks policy.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "violation", rename_all = "snake_case")]
pub enum PolicyViolation {
    /// It touches a path matching an excluded glob.
    #[error("{path} matches excluded path {glob:?}")]
    ExcludedPath {
        /// The path.
        path: String,
        /// The glob it matched.
        glob: String,
    },
    /// It touches a path outside the repository or inside `.git`.
    #[error("{path} is outside the repository's files")]
    OutsideRepository {
        /// The path.
        path: String,
    },
    /// It changes too many lines.
    #[error("{changed} changed lines, over the limit of {limit}")]
    TooManyLines {
        /// Lines added + removed.
        changed: u32,
        /// The limit.
        limit: u32,
    },
    /// It changes nothing.
    #[error("the patch changes nothing")]
    Empty,
}

impl Policy {
    /// Parses a policy from TOML text. Unknown keys and bad values are
    /// errors that name the key.
    pub fn from_toml_str(text: &str) -> Result<Policy> {
        let policy: Policy = toml::from_str(text).map_err(|e| Error::Policy {
            path: None,
            reason: e.message().to_string() + &e.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default(),
        })?;
        policy
            .validate()
            .map_err(|reason| Error::Policy { path: None, reason })?;
        Ok(policy)
    }

    /// Reads `bugstack.toml` from a repository root; the defaults when the
    /// file is absent.
    pub fn load(repo_root: &Path) -> Result<Policy> {
        let path = repo_root.join(POLICY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Policy::from_toml_str(&text).map_err(|e| match e {
                Error::Policy { reason, .. } => Error::Policy {
                    path: Some(path),
                    reason,
                },
                other => other,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policy::default()),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if !(0.0..=1.0).contains(&self.confidence_threshold) {
            return Err(format!(
                "confidence_threshold must be between 0 and 1, got {}",
                self.confidence_threshold
            ));
        }
        for g in &self.excluded_paths {
            Glob::new(g).map_err(|e| format!("excluded_paths: bad glob {g:?}: {e}"))?;
        }
        for c in &self.checks {
            if c.command.trim().is_empty() {
                return Err(format!("checks: check {:?} has an empty command", c.name));
            }
            if c.timeout_secs == 0 {
                return Err(format!("checks: check {:?} has timeout_secs = 0", c.name));
            }
        }
        Ok(())
    }

    /// The checks to run: the configured ones, or the Rust defaults.
    pub fn effective_checks(&self) -> Vec<CheckSpec> {
        if self.checks.is_empty() {
            CheckSpec::rust_defaults()
        } else {
            self.checks.clone()
        }
    }

    fn excluded(&self) -> ExcludedPaths {
        let mut builder = GlobSetBuilder::new();
        let mut globs = Vec::new();
        for g in &self.excluded_paths {
            if let Ok(glob) = Glob::new(g) {
                builder.add(glob);
                globs.push(g.clone());
            }
        }
        ExcludedPaths {
            set: builder.build().unwrap_or_else(|_| GlobSet::empty()),
            globs,
        }
    }

    /// Whether `path` (repository-relative) matches an excluded glob; the
    /// glob when it does.
    pub fn excluded_glob(&self, path: &str) -> Option<String> {
        self.excluded().first_match(path).map(str::to_string)
    }

    /// Checks a patch against the policy: every path inside the repository
    /// and not excluded, size within the limit, not empty.
    pub fn check_patch(&self, patch: &Patch) -> std::result::Result<(), PolicyViolation> {
        if patch.files.is_empty() || patch.changed_lines() == 0 {
            return Err(PolicyViolation::Empty);
        }
        let excluded = self.excluded();
        for path in &patch.files {
            if !is_inside_repository(path) {
                return Err(PolicyViolation::OutsideRepository { path: path.clone() });
            }
            if let Some(glob) = excluded.first_match(path) {
                return Err(PolicyViolation::ExcludedPath {
                    path: path.clone(),
                    glob: glob.to_string(),
                });
            }
        }
        if patch.changed_lines() > self.max_changed_lines {
            return Err(PolicyViolation::TooManyLines {
                changed: patch.changed_lines(),
                limit: self.max_changed_lines,
            });
        }
        Ok(())
    }
}

/// The excluded-path globs compiled into one set.
struct ExcludedPaths {
    set: GlobSet,
    /// The globs in the set, in the policy's order (index = match index).
    globs: Vec<String>,
}

impl ExcludedPaths {
    /// The first glob (in the policy's order) that matches `path`.
    fn first_match(&self, path: &str) -> Option<&str> {
        self.set.matches(path).into_iter().min().map(|i| self.globs[i].as_str())
    }
}

/// Whether a patch path stays inside the repository's files: relative, no
/// `..` component, not inside `.git`.
pub(crate) fn is_inside_repository(path: &str) -> bool {
    let p = path.replace('\\', "/");
    !p.is_empty() && !p.starts_with('/') && !p.contains(':') && !p.split('/').any(|c| c == ".." || c == ".git")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(files: &[&str], added: u32, removed: u32) -> Patch {
        Patch {
            files: files.iter().map(|s| s.to_string()).collect(),
            lines_added: added,
            lines_removed: removed,
            ..Patch::default()
        }
    }

    #[test]
    fn template_parses_to_defaults() {
        assert_eq!(Policy::from_toml_str(POLICY_TEMPLATE).unwrap(), Policy::default());
        assert_eq!(Policy::from_toml_str("").unwrap(), Policy::default());
        assert!(!Policy::default().auto_merge);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Policy::from_toml_str("auto_merge = true\nauto_merj = false\n").unwrap_err();
        assert!(err.to_string().contains("auto_merj"), "{err}");
        let err = Policy::from_toml_str("[model]\nbackend = \"offline\"\ntemprature = 1\n").unwrap_err();
        assert!(err.to_string().contains("temprature"), "{err}");
        let err = Policy::from_toml_str("[model]\nbackend = \"gpt5\"\n").unwrap_err();
        assert!(err.to_string().contains("gpt5"), "{err}");
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Policy::from_toml_str("confidence_threshold = 1.5").is_err());
        assert!(Policy::from_toml_str("excluded_paths = [\"a/{b\"]").is_err());
        assert!(Policy::from_toml_str("[[checks]]\nname = \"x\"\ncommand = \"\"\n").is_err());
    }

    #[test]
    fn absent_file_means_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Policy::load(dir.path()).unwrap(), Policy::default());
        std::fs::write(dir.path().join(POLICY_FILE), "retry_limit = 'x'").unwrap();
        let err = Policy::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains(POLICY_FILE), "{err}");
    }

    #[test]
    fn excluded_paths_and_sizes_are_enforced() {
        let p = Policy::default();
        assert!(p.check_patch(&patch(&["src/lib.rs"], 3, 1)).is_ok());
        for bad in [
            ".ci/run",
            ".github/workflows/ci.yml",
            "build.rs",
            "crates/x/build.rs",
            "Cargo.toml",
            "Cargo.lock",
        ] {
            let v = p.check_patch(&patch(&["src/lib.rs", bad], 1, 1)).unwrap_err();
            assert!(matches!(v, PolicyViolation::ExcludedPath { .. }), "{bad}: {v}");
        }
        for bad in ["../etc/passwd", "/etc/passwd", ".git/hooks/pre-commit", "src/../../x"] {
            let v = p.check_patch(&patch(&[bad], 1, 0)).unwrap_err();
            assert!(matches!(v, PolicyViolation::OutsideRepository { .. }), "{bad}: {v}");
        }
        let v = p.check_patch(&patch(&["src/lib.rs"], 30, 11)).unwrap_err();
        assert_eq!(v, PolicyViolation::TooManyLines { changed: 41, limit: 40 });
        assert_eq!(p.check_patch(&patch(&[], 0, 0)).unwrap_err(), PolicyViolation::Empty);
    }

    #[test]
    fn default_checks_are_rust_ones() {
        let names: Vec<_> = Policy::default()
            .effective_checks()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, ["build", "test", "clippy", "fmt"]);
    }
}
