//! Repository policy: `bugstack.toml` at the repository root.
//!
//! Every key is optional; an absent file means the safe defaults (no
//! auto-merge). Unknown keys are an error that names the key, so a typo never
//! silently turns a safety setting off. See `docs/policy.md` for the schema.

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use crate::lifecycle_policy::{parse_duration, ReleasePatterns, Triggers, VerifyConfig};
use crate::model::ModelConfig;
use crate::{Error, Patch, PolicyViolation, Result};

/// The policy file's name, at the repository root.
pub const POLICY_FILE: &str = "bugstack.toml";

/// The commented template `bugstack init` writes (it parses to the defaults).
pub const POLICY_TEMPLATE: &str = r#"# bugstack policy: how fixes for this repository are made, checked and merged.
# Every key is optional; unknown keys are rejected. Schema: docs/policy.md

# Auto-merge only at or above this confidence score (0.0 - 1.0).
confidence_threshold = 0.8
# Open a pull request at all only at or above this score; a fix below it is
# held in the report. 0.5 holds every fix whose panic was not reproduced and
# fixed; 0.0 also proposes those, marked "not reproduced", for review.
review_threshold = 0.5
# Off by default: fix pull requests stay open for review.
auto_merge = false
# Revised attempts after a candidate fails a check (0 = one attempt only).
retry_limit = 2
# Patches changing more lines (added + removed) are rejected.
max_changed_lines = 40
# Globs of paths a patch may never touch, besides the protected ones that are
# always refused (bugstack.toml, rust-toolchain*, .cargo/**, **/build.rs,
# **/Cargo.toml, Cargo.lock, .github/**, .ci/**; see docs/policy.md).
excluded_paths = ["clippy.toml", ".clippy.toml", "rustfmt.toml", ".rustfmt.toml", ".config/**"]
# Protected globs this repository lets patches touch anyway (never bugstack.toml).
# allow_protected = ["**/Cargo.toml"]
# Checks run inside a sandbox (bubblewrap, no network, read-only system).
# "off" runs them with your rights: unsafe with auto_merge, see docs/security.md.
sandbox = "bubblewrap"

# Checks run on every candidate, in an isolated worktree. With none listed,
# the Rust defaults run: cargo build, cargo test, and cargo clippy / cargo fmt
# --check where the base commit already passes them.
# [[checks]]
# name = "test"
# command = "cargo test"
# timeout_secs = 900

[reproduce]
# Before any fix, search this long for an input that raises the same panic at
# the same place; found, it becomes the fix's regression test. A fix for a
# panic that was not reproduced is never auto-merged.
budget = "60s"

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

[triggers]
# The least level that gets a fix job; warnings and messages are recorded
# and counted, never fixed.
# level = "error"
# kinds = ["panic", "error"]
# min_count = 1
# skip_environments = ["dev"]
# max_queued_jobs = 20

[verify]
# A fixed incident becomes verified when a live release containing the fix
# stays silent this long.
# window = "30m"

[releases]
# Release names mapped to git refs, when they are not a commit or a tag.
# "shop@{version}" = "v{version}"

# A command run after an auto-merge, in this checkout (not sandboxed: it is
# yours, like this file), with BUGSTACK_MERGE_COMMIT set. Absent: nothing runs.
# [deploy]
# command = "./scripts/deploy.sh"
# timeout_secs = 600
"#;

/// Paths a patch may never touch, whatever `excluded_paths` says. A
/// repository's own policy may allow some of them again with
/// `allow_protected`, except [`POLICY_FILE`], which no patch ever changes.
pub const PROTECTED_PATHS: &[&str] = &[
    POLICY_FILE,
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo/**",
    "**/build.rs",
    "**/Cargo.toml",
    "Cargo.lock",
    ".github/**",
    ".ci/**",
];

/// Where checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxMode {
    /// Inside bubblewrap: no network, a read-only system, an empty `HOME`, a
    /// reduced environment, resource limits. Where it cannot start, checks
    /// still run (with a plain warning) but auto-merge is refused.
    #[default]
    Bubblewrap,
    /// No sandbox: checks run with bugstack's own rights, and auto-merge is
    /// allowed anyway. Unsafe: a patch's code runs unconfined.
    Off,
}

/// How a check's result is judged against the base commit's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    /// From the command: `cargo test …` → `tests`; `cargo build|check|clippy
    /// …` → `diagnostics`; anything else → `exit_code`.
    #[default]
    Auto,
    /// Test by test (libtest's per-test lines; `--no-fail-fast` is added).
    Tests,
    /// New compiler diagnostics (cargo's JSON messages; `--message-format=json` is added).
    Diagnostics,
    /// The exit code alone.
    ExitCode,
}

/// `[reproduce]`: the search for an input that reproduces the panic before
/// any fix is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReproduceConfig {
    /// Search at all (`false`: every fix is "not reproduced", so never
    /// auto-merged).
    pub enabled: bool,
    /// How long the search may run, building aside: `"60s"`, `"2m"`,
    /// `"500ms"`.
    pub budget: String,
}

impl Default for ReproduceConfig {
    fn default() -> Self {
        ReproduceConfig {
            enabled: true,
            budget: "60s".into(),
        }
    }
}

impl ReproduceConfig {
    /// The budget as a duration (the default, 60 s, when it does not parse;
    /// [`Policy::from_toml_str`] rejects such a value).
    pub fn budget(&self) -> std::time::Duration {
        parse_duration(&self.budget).unwrap_or(std::time::Duration::from_secs(60))
    }
}

/// The lowest `confidence_threshold` a policy may set: above
/// [`NOT_REPRODUCED_CAP`](crate::NOT_REPRODUCED_CAP), so a fix whose panic
/// was not reproduced is never auto-merged.
pub const MIN_CONFIDENCE_THRESHOLD: f64 = 0.5;

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
    /// How the result is judged against the base commit's.
    #[serde(default, skip_serializing_if = "is_auto")]
    pub judge: Judge,
}

fn is_auto(j: &Judge) -> bool {
    *j == Judge::Auto
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
            judge: Judge::Auto,
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

/// The default `excluded_paths`: the checks' own configuration, so a patch
/// cannot loosen the lints that judge it.
pub const DEFAULT_EXCLUDED_PATHS: &[&str] = &[
    "clippy.toml",
    ".clippy.toml",
    "rustfmt.toml",
    ".rustfmt.toml",
    ".config/**",
];

/// The default `review_threshold`: a fix is delivered only when it is
/// proven (its panic reproduced, the reproduction failing on the base and
/// passing with the fix). An unproven fix scores at most
/// [`NOT_REPRODUCED_CAP`](crate::NOT_REPRODUCED_CAP) (0.45), so it is held
/// in the report, never pushed.
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 0.5;

/// The whole `bugstack.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    /// Auto-merge only at or above this confidence (0..=1).
    pub confidence_threshold: f64,
    /// Deliver a fix at all (branch, pull request) only at or above this
    /// confidence (0..=`confidence_threshold`); below it the fix is
    /// [held](crate::DecisionKind::Held) in the report. The default,
    /// [`DEFAULT_REVIEW_THRESHOLD`] (0.5), holds every fix that is not
    /// proven (not reproduced and fixed); 0.0 proposes those too.
    pub review_threshold: f64,
    /// Whether auto-merge is allowed at all.
    pub auto_merge: bool,
    /// Revised attempts after a failed one.
    pub retry_limit: u32,
    /// Most changed lines (added + removed) in a patch.
    pub max_changed_lines: u32,
    /// Globs of paths a patch may never touch (besides [`PROTECTED_PATHS`]).
    pub excluded_paths: Vec<String>,
    /// Globs of [`PROTECTED_PATHS`] this repository lets patches touch
    /// (never [`POLICY_FILE`]).
    pub allow_protected: Vec<String>,
    /// Where checks run.
    pub sandbox: SandboxMode,
    /// Checks to run (empty: [`CheckSpec::rust_defaults`]).
    pub checks: Vec<CheckSpec>,
    /// The search for a reproducing input.
    pub reproduce: ReproduceConfig,
    /// The language model.
    pub model: ModelConfig,
    /// The forge.
    pub forge: ForgeConfig,
    /// Which incidents get a fix job (`[triggers]`).
    pub triggers: Triggers,
    /// When a fixed incident is verified (`[verify]`).
    pub verify: VerifyConfig,
    /// Release names mapped to git refs (`[releases]`).
    pub releases: ReleasePatterns,
    /// The command run after an auto-merge (`[deploy]`); `None`: nothing
    /// runs (the forge's own CD deploys).
    pub deploy: Option<DeployConfig>,
}

/// `[deploy]`: the project's own deploy command, run after bugstack merged a
/// fix, in the repository checkout (not the checks' sandbox: it is trusted
/// as the policy is, both read from the base branch's tip).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// Run as `sh -c <command>` with `BUGSTACK_MERGE_COMMIT`,
    /// `BUGSTACK_BRANCH`, `BUGSTACK_BASE_BRANCH` and `BUGSTACK_PR_NUMBER` set.
    pub command: String,
    /// Killed (its whole process group) after this long.
    #[serde(default = "default_deploy_timeout")]
    pub timeout_secs: u64,
}

fn default_deploy_timeout() -> u64 {
    600
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            confidence_threshold: 0.8,
            review_threshold: DEFAULT_REVIEW_THRESHOLD,
            auto_merge: false,
            retry_limit: 2,
            max_changed_lines: 40,
            excluded_paths: DEFAULT_EXCLUDED_PATHS.iter().map(|s| s.to_string()).collect(),
            allow_protected: Vec::new(),
            sandbox: SandboxMode::Bubblewrap,
            checks: Vec::new(),
            reproduce: ReproduceConfig::default(),
            model: ModelConfig::default(),
            forge: ForgeConfig::default(),
            triggers: Triggers::default(),
            verify: VerifyConfig::default(),
            releases: ReleasePatterns::default(),
            deploy: None,
        }
    }
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

    /// Reads `bugstack.toml` as committed at `commit` (the base branch's
    /// tip): the policy that governs a fix is never the working tree's, the
    /// event's release's, or a patch's. The defaults when the commit has no
    /// such file.
    pub async fn load_at(repo_root: &Path, commit: &str) -> Result<Policy> {
        let git = crate::git::Git::new(repo_root);
        let object = format!("{commit}:{POLICY_FILE}");
        if git.run(&["cat-file", "-e", &object]).await.is_err() {
            git.resolve_commit(commit).await?;
            return Ok(Policy::default());
        }
        let text = git.read_file(commit, POLICY_FILE).await?;
        Policy::from_toml_str(&text).map_err(|e| match e {
            Error::Policy { reason, .. } => Error::Policy {
                path: Some(Path::new(&format!("{commit}:{POLICY_FILE}")).to_path_buf()),
                reason,
            },
            other => other,
        })
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if !(0.0..=1.0).contains(&self.confidence_threshold) {
            return Err(format!(
                "confidence_threshold must be between 0 and 1, got {}",
                self.confidence_threshold
            ));
        }
        if self.confidence_threshold < MIN_CONFIDENCE_THRESHOLD {
            return Err(format!(
                "confidence_threshold must be at least {MIN_CONFIDENCE_THRESHOLD} (a fix whose panic was not reproduced scores at most {}, and must never be auto-merged), got {}",
                crate::NOT_REPRODUCED_CAP,
                self.confidence_threshold
            ));
        }
        if !(0.0..=self.confidence_threshold).contains(&self.review_threshold) {
            return Err(format!(
                "review_threshold must be between 0 and confidence_threshold ({}), got {}",
                self.confidence_threshold, self.review_threshold
            ));
        }
        match parse_duration(&self.reproduce.budget) {
            Ok(d) if !d.is_zero() => {}
            Ok(_) => return Err("reproduce.budget: 0 leaves no time to search; set enabled = false instead".into()),
            Err(e) => return Err(format!("reproduce.budget: {e}")),
        }
        for g in &self.excluded_paths {
            Glob::new(g).map_err(|e| format!("excluded_paths: bad glob {g:?}: {e}"))?;
        }
        for g in &self.allow_protected {
            let glob = Glob::new(g).map_err(|e| format!("allow_protected: bad glob {g:?}: {e}"))?;
            if glob.compile_matcher().is_match(POLICY_FILE) {
                return Err(format!(
                    "allow_protected: {g:?} would let a patch rewrite {POLICY_FILE}, which is never allowed"
                ));
            }
        }
        self.triggers.validate()?;
        crate::lifecycle_policy::parse_duration(&self.verify.window).map_err(|e| format!("verify.window: {e}"))?;
        self.releases.validate()?;
        if let Some(d) = &self.deploy {
            if d.command.trim().is_empty() {
                return Err("deploy: command is empty (remove [deploy] to run nothing)".into());
            }
            if d.timeout_secs == 0 {
                return Err("deploy: timeout_secs = 0".into());
            }
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
        let (set, globs) = glob_set(self.excluded_paths.iter().map(String::as_str));
        ExcludedPaths { set, globs }
    }

    /// Whether a patch may not touch `path` (repository-relative): the
    /// protected or excluded glob it matches.
    pub fn excluded_glob(&self, path: &str) -> Option<String> {
        self.protected()
            .refused(path)
            .or_else(|| self.excluded().first_match(path).map(str::to_string))
    }

    /// Every glob a patch may not touch: the protected ones the repository
    /// does not allow, then `excluded_paths`.
    pub fn refused_globs(&self) -> Vec<String> {
        let protected = self.protected();
        let mut out: Vec<String> = PROTECTED_PATHS
            .iter()
            .filter(|g| **g == POLICY_FILE || !protected.allowed.1.iter().any(|a| a == *g))
            .map(|g| g.to_string())
            .collect();
        out.extend(self.excluded_paths.iter().cloned());
        out
    }

    /// Checks a patch against the policy: every path the diff names (not
    /// only [`Patch::files`]: renames, copies and quoted names count too)
    /// inside the repository, neither protected ([`PROTECTED_PATHS`], less
    /// `allow_protected`) nor excluded; no symbolic link, mode change or
    /// binary patch; size within the limit; not empty.
    pub fn check_patch(&self, patch: &Patch) -> std::result::Result<(), PolicyViolation> {
        if patch.files.is_empty() || patch.changed_lines() == 0 {
            return Err(PolicyViolation::Empty);
        }
        let headers = diff_headers(&patch.diff);
        if let Some((path, what)) = headers.unsafe_changes.first() {
            return Err(PolicyViolation::UnsafeChange {
                path: path.clone(),
                what: what.clone(),
            });
        }
        let excluded = self.excluded();
        let protected = self.protected();
        let mut paths: Vec<&String> = patch.files.iter().collect();
        paths.extend(headers.paths.iter());
        for path in paths {
            if !is_inside_repository(path) {
                return Err(PolicyViolation::OutsideRepository { path: path.clone() });
            }
            if let Some(glob) = protected.refused(path) {
                return Err(PolicyViolation::ProtectedPath {
                    path: path.clone(),
                    glob,
                });
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

    fn protected(&self) -> ProtectedPaths {
        ProtectedPaths {
            protected: glob_set(PROTECTED_PATHS.iter().copied()),
            allowed: glob_set(self.allow_protected.iter().map(String::as_str)),
        }
    }
}

fn glob_set<'a>(globs: impl Iterator<Item = &'a str>) -> (GlobSet, Vec<String>) {
    let mut builder = GlobSetBuilder::new();
    let mut kept = Vec::new();
    for g in globs {
        if let Ok(glob) = Glob::new(g) {
            builder.add(glob);
            kept.push(g.to_string());
        }
    }
    (builder.build().unwrap_or_else(|_| GlobSet::empty()), kept)
}

/// [`PROTECTED_PATHS`] less what the repository allows.
struct ProtectedPaths {
    protected: (GlobSet, Vec<String>),
    allowed: (GlobSet, Vec<String>),
}

impl ProtectedPaths {
    /// The protected glob `path` matches, unless the repository allows it;
    /// [`POLICY_FILE`] (in any letter case, at any depth) always.
    fn refused(&self, path: &str) -> Option<String> {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.eq_ignore_ascii_case(POLICY_FILE) {
            return Some(POLICY_FILE.to_string());
        }
        let hit = self.protected.0.matches(path).into_iter().min()?;
        if self.allowed.0.is_match(path) {
            return None;
        }
        Some(self.protected.1[hit].clone())
    }
}

/// What a diff's header lines say, read the way `git apply` reads them.
#[derive(Debug, Default)]
struct DiffHeaders {
    /// Every path named by `diff --git`, `---`/`+++`, `rename`/`copy` lines.
    paths: Vec<String>,
    /// (path, what) for symbolic links, mode changes and binary patches.
    unsafe_changes: Vec<(String, String)>,
}

fn diff_headers(diff: &str) -> DiffHeaders {
    let mut out = DiffHeaders::default();
    let lines: Vec<&str> = diff.lines().collect();
    let mut current = String::new();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim_end_matches('\r');
        if let Some(rest) = line.strip_prefix("diff --git ") {
            let names = git_header_names(rest);
            current = names.last().cloned().unwrap_or_default();
            out.paths.extend(names);
        } else if let Some(p) = line
            .strip_prefix("--- ")
            .filter(|_| lines.get(i + 1).is_some_and(|n| n.starts_with("+++ ")))
        {
            out.paths.extend(header_path(p));
        } else if let Some(p) = line.strip_prefix("+++ ") {
            if let Some(p) = header_path(p) {
                current = p.clone();
                out.paths.push(p);
            }
        } else if let Some(p) = ["rename from ", "rename to ", "copy from ", "copy to "]
            .iter()
            .find_map(|k| line.strip_prefix(k))
        {
            out.paths.push(unquote(p));
        } else if let Some(mode) = ["new file mode ", "deleted file mode ", "new mode ", "old mode "]
            .iter()
            .find_map(|k| line.strip_prefix(k))
        {
            let mode = mode.trim();
            let plain = mode == "100644" || (line.starts_with("deleted") && mode == "100755");
            if !plain && !line.starts_with("old mode") {
                let what = if mode == "120000" {
                    "a symbolic link".to_string()
                } else if mode == "160000" {
                    "a submodule".to_string()
                } else {
                    format!("mode {mode}")
                };
                out.unsafe_changes.push((current.clone(), what));
            }
        } else if line == "GIT binary patch" || (line.starts_with("Binary files ") && line.ends_with(" differ")) {
            out.unsafe_changes.push((current.clone(), "a binary patch".into()));
        }
    }
    out
}

/// A `---`/`+++` path without its `a/`/`b/` prefix; `None` for `/dev/null`.
fn header_path(raw: &str) -> Option<String> {
    let raw = raw.split('\t').next().unwrap_or(raw).trim();
    let p = unquote(raw);
    if p == "/dev/null" {
        return None;
    }
    Some(strip_side(&p).to_string())
}

fn strip_side(p: &str) -> &str {
    p.strip_prefix("a/").or_else(|| p.strip_prefix("b/")).unwrap_or(p)
}

/// The two names of a `diff --git` line. Unquoted names may contain spaces,
/// so every split at ` b/` is taken (checking too many paths only ever
/// refuses more).
fn git_header_names(rest: &str) -> Vec<String> {
    if rest.starts_with('"') {
        let mut names = Vec::new();
        let mut rest = rest;
        while let Some((name, after)) = take_quoted(rest) {
            names.push(strip_side(&name).to_string());
            rest = after.trim_start();
            if !rest.starts_with('"') {
                if !rest.is_empty() {
                    names.push(strip_side(&unquote(rest)).to_string());
                }
                break;
            }
        }
        return names;
    }
    let mut names = Vec::new();
    for (i, _) in rest.match_indices(" b/") {
        names.push(strip_side(&rest[..i]).to_string());
        let second = &rest[i + 1..];
        names.push(strip_side(&unquote(second)).to_string());
    }
    if names.is_empty() {
        names.push(strip_side(rest).to_string());
    }
    names
}

/// A C-quoted name at the start of `s` (as git writes and `git apply`
/// reads them) and the text after it.
fn take_quoted(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => return Some((c_unescape(&body[..i]), &body[i + 1..])),
            _ => {}
        }
    }
    None
}

/// `s` unquoted when it is a C-quoted string, else as it is.
fn unquote(s: &str) -> String {
    let s = s.trim();
    match take_quoted(s) {
        Some((name, _)) => name,
        None => s.to_string(),
    }
}

fn c_unescape(s: &str) -> String {
    let mut bytes = Vec::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            bytes.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|x| (b'0'..=b'7').contains(x)));
        if let Some(d) = octal {
            let v = d.iter().fold(0u32, |acc, x| acc * 8 + u32::from(x - b'0'));
            bytes.push(u8::try_from(v).unwrap_or(b'?'));
            i += 4;
            continue;
        }
        bytes.push(match c {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 7,
            b'b' => 8,
            b'f' => 12,
            b'v' => 11,
            other => other,
        });
        i += 2;
    }
    String::from_utf8_lossy(&bytes).into_owned()
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
        let e = Policy::from_toml_str("review_threshold = 0.9").unwrap_err().to_string();
        assert!(
            e.contains("review_threshold must be between 0 and confidence_threshold (0.8)"),
            "{e}"
        );
        assert_eq!(
            Policy::from_toml_str("review_threshold = 0.5")
                .unwrap()
                .review_threshold,
            0.5
        );
        let low = Policy::from_toml_str("confidence_threshold = 0.3")
            .unwrap_err()
            .to_string();
        assert!(low.contains("at least 0.5"), "{low}");
        assert!(Policy::from_toml_str("[reproduce]\nbudget = \"soon\"").is_err());
        assert!(Policy::from_toml_str("[reproduce]\nbudget = \"0s\"").is_err());
        let p = Policy::from_toml_str("[reproduce]\nbudget = \"2m\"").unwrap();
        assert_eq!(p.reproduce.budget(), std::time::Duration::from_secs(120));
        assert_eq!(parse_duration("500ms"), Ok(std::time::Duration::from_millis(500)));
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
            "bugstack.toml",
            "rust-toolchain.toml",
            ".cargo/config.toml",
        ] {
            let v = p.check_patch(&patch(&["src/lib.rs", bad], 1, 1)).unwrap_err();
            assert!(matches!(v, PolicyViolation::ProtectedPath { .. }), "{bad}: {v}");
        }
        for bad in ["clippy.toml", ".config/nextest.toml", "rustfmt.toml"] {
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

    fn diff_patch(diff: &str) -> Patch {
        Patch {
            diff: diff.to_string(),
            files: vec!["src/lib.rs".into()],
            lines_added: 1,
            lines_removed: 1,
            ..Patch::default()
        }
    }

    #[test]
    fn excluded_paths_do_not_loosen_protection() {
        let p = Policy::from_toml_str("excluded_paths = []").unwrap();
        let v = p.check_patch(&patch(&["Cargo.toml"], 1, 1)).unwrap_err();
        assert!(matches!(v, PolicyViolation::ProtectedPath { .. }), "{v}");
        let p = Policy::from_toml_str("allow_protected = [\"**/Cargo.toml\"]").unwrap();
        assert!(p.check_patch(&patch(&["crates/a/Cargo.toml"], 1, 1)).is_ok());
        assert!(p.check_patch(&patch(&["Cargo.lock"], 1, 1)).is_err());
        assert!(!p.refused_globs().contains(&"**/Cargo.toml".to_string()));
        for allow in ["bugstack.toml", "*.toml", "**", "bugstack.*"] {
            let err = Policy::from_toml_str(&format!("allow_protected = [{allow:?}]")).unwrap_err();
            assert!(err.to_string().contains("never allowed"), "{allow}: {err}");
        }
        let p = Policy::from_toml_str("allow_protected = [\"*.lock\"]").unwrap();
        for bad in ["BUGSTACK.TOML", "sub/bugstack.toml"] {
            let v = p.check_patch(&patch(&[bad], 1, 1)).unwrap_err();
            assert!(matches!(v, PolicyViolation::ProtectedPath { .. }), "{bad}: {v}");
        }
    }

    #[test]
    fn every_path_the_diff_names_is_checked() {
        let p = Policy::default();
        let cases = [
            // `files` says src/lib.rs, the diff renames the policy away.
            "diff --git a/bugstack.toml b/src/lib.rs\nsimilarity index 90%\nrename from bugstack.toml\nrename to src/lib.rs\n",
            // A C-quoted name that git apply unquotes to bugstack.toml.
            "diff --git \"a/bugstack\\056toml\" \"b/bugstack\\056toml\"\n--- \"a/bugstack\\056toml\"\n+++ \"b/bugstack\\056toml\"\n@@ -1 +1 @@\n-a\n+b\n",
            "--- a/src/lib.rs\n+++ b/Cargo.toml\n@@ -1 +1 @@\n-a\n+b\n",
            "diff --git a/.github/x.yml b/.github/x.yml\nnew file mode 100644\n",
        ];
        for diff in cases {
            let v = p.check_patch(&diff_patch(diff)).unwrap_err();
            assert!(matches!(v, PolicyViolation::ProtectedPath { .. }), "{diff}: {v}");
        }
        let link = "diff --git a/src/key.rs b/src/key.rs\nnew file mode 120000\n--- /dev/null\n+++ b/src/key.rs\n@@ -0,0 +1 @@\n+/root/.ssh/id_rsa\n";
        let v = p.check_patch(&diff_patch(link)).unwrap_err();
        assert_eq!(
            v,
            PolicyViolation::UnsafeChange {
                path: "src/key.rs".into(),
                what: "a symbolic link".into()
            }
        );
        let exec = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n";
        assert!(matches!(
            p.check_patch(&diff_patch(exec)).unwrap_err(),
            PolicyViolation::UnsafeChange { .. }
        ));
        let bin = "diff --git a/src/x.bin b/src/x.bin\nGIT binary patch\nliteral 1\n";
        assert!(matches!(
            p.check_patch(&diff_patch(bin)).unwrap_err(),
            PolicyViolation::UnsafeChange { .. }
        ));
        let ok = "diff --git a/src/a b.rs b/src/a b.rs\n--- a/src/a b.rs\n+++ b/src/a b.rs\n@@ -1 +1 @@\n-a\n+b\n";
        assert!(p.check_patch(&diff_patch(ok)).is_ok());
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
