//! [`WorktreeValidator`]: the built-in [`Validator`].
//!
//! For each candidate:
//!
//! 1. **Base**: every check not yet cached for this repository, commit and
//!    check runs on the base commit in a fresh worktree (and, when the patch
//!    brings a regression test, `cargo test <name>` with only the test's
//!    hunks applied). Results are cached in the validator, so retries never
//!    re-run base checks.
//! 2. **Candidate**: a fresh worktree at the same commit, `git apply` of the
//!    patch (a patch that does not apply is a failed `apply` check, so the
//!    pipeline can retry with git's message), then each check with its
//!    timeout, judged against the base: `only_if_base_passes` checks are
//!    `Skipped` when the base fails them, and a failure the base already had
//!    is reported but not blamed ([`CheckResult::blames_fix`]).
//!
//! Checks run with `sh -c` in the worktree root, each in its own process
//! group ([`run_command`]); `CARGO_TARGET_DIR` points every run — base and
//! every attempt — at one shared directory so a retry rebuilds
//! incrementally; validations sharing a target directory take turns on a
//! file lock ([`TARGET_LOCK_FILE`]), since cargo would otherwise mix the
//! artifacts of two checkouts. Secrets never reach a check: the forge token and model API
//! key variables named by the policy (plus [`ValidatorOptions::secret_env`])
//! are removed from its environment, and its output is scrubbed.
//!
//! The user's working tree is never touched: worktrees live under
//! [`ValidatorOptions::work_root`] and are removed whatever happens
//! ([`Worktree`]).

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use bugstack_core::Scrubber;
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::git::Git;
use crate::policy::{is_inside_repository, SandboxMode};
use crate::reproduce;
use crate::validate::judge::{plan, verdict};
use crate::validate::path_deps;
use crate::validate::process::{run_command, CommandLine, CommandRun, Parse, RunSpec};
use crate::validate::regression::{is_valid_test_name, test_only_diff, tests_passed};
use crate::validate::sandbox::{hidden_roots, Bubblewrap, SandboxLimits, SandboxReport, SandboxSpec};
use crate::validate::state_dir::{age_out, default_state_dir, ensure_private_dir};
use crate::validate::worktree::Worktree;
use crate::{
    CheckResult, CheckSpec, CheckStatus, Error, FixContext, Patch, Policy, RegressionResult, RegressionTest,
    Reproduction, Result, Validation, Validator,
};

/// Name of the pseudo-check reported when a patch does not apply.
pub const APPLY_CHECK: &str = "apply";

/// Environment variables always removed from checks' environments.
pub const DEFAULT_SECRET_ENV: &[&str] = &[
    "BUGSTACK_TOKEN",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
];

/// Options of a [`WorktreeValidator`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorOptions {
    /// The `CARGO_TARGET_DIR` shared by the base and every attempt. `None`:
    /// `target-<hash of the repository path>` in the state directory.
    pub target_dir: Option<PathBuf>,
    /// Where worktrees are created. `None`: `worktrees-<hash>` in the state
    /// directory.
    pub work_root: Option<PathBuf>,
    /// The private directory (0700, owned by this user) holding default
    /// target directories and worktrees. `None`: the user's cache directory
    /// (`$XDG_CACHE_HOME/bugstack/validate`, `~/.cache/bugstack/validate`).
    pub state_dir: Option<PathBuf>,
    /// Default target directories and worktrees unused for longer than this
    /// are removed when a validation starts.
    pub max_age: Duration,
    /// Most bytes of output kept per check (head and tail).
    pub max_output_bytes: usize,
    /// Run each check on the base commit too and judge against it.
    pub judge_against_base: bool,
    /// After a check blames the fix, report the remaining checks as
    /// `Skipped` instead of running them.
    pub stop_at_first_failure: bool,
    /// Extra environment variables removed from checks (besides
    /// [`DEFAULT_SECRET_ENV`] and the ones the policy names).
    pub secret_env: Vec<String>,
    /// Timeout of each regression-test run.
    pub regression_timeout: Duration,
    /// Directories the sandbox hides from checks besides `HOME` (bugstack's
    /// data directory).
    pub hidden_paths: Vec<PathBuf>,
    /// Resource limits of sandboxed checks.
    pub limits: SandboxLimits,
    /// Timeout of the `cargo fetch` run on the base before sandboxed checks.
    pub fetch_timeout: Duration,
}

impl Default for ValidatorOptions {
    fn default() -> Self {
        ValidatorOptions {
            target_dir: None,
            work_root: None,
            state_dir: None,
            max_age: Duration::from_secs(14 * 24 * 3600),
            max_output_bytes: 16 * 1024,
            judge_against_base: true,
            stop_at_first_failure: true,
            secret_env: Vec::new(),
            regression_timeout: Duration::from_secs(900),
            hidden_paths: Vec::new(),
            limits: SandboxLimits::default(),
            fetch_timeout: Duration::from_secs(600),
        }
    }
}

/// Validates candidates in isolated git worktrees (see the module docs).
#[derive(Debug, Default)]
pub struct WorktreeValidator {
    options: ValidatorOptions,
    base_cache: Mutex<BaseCache>,
    /// The outside directories of each repository and commit
    /// ([`path_deps`]): read once, not for every attempt.
    outside_dirs: Mutex<HashMap<(PathBuf, String), Vec<PathBuf>>>,
    scrubber: Scrubber,
    sandbox: tokio::sync::OnceCell<std::result::Result<Bubblewrap, String>>,
}

/// Most base results kept; the oldest go first (a long-running server sees
/// many revisions).
const BASE_CACHE_ENTRIES: usize = 512;

/// Base-commit results by repository, commit and check.
#[derive(Debug, Default)]
struct BaseCache {
    runs: HashMap<String, CommandRun>,
    order: VecDeque<String>,
}

impl BaseCache {
    fn insert(&mut self, key: String, run: CommandRun) {
        if self.runs.insert(key.clone(), run).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > BASE_CACHE_ENTRIES {
            if let Some(old) = self.order.pop_front() {
                self.runs.remove(&old);
            }
        }
    }
}

/// Per-run settings shared by every command of one validation.
struct Env {
    repo: PathBuf,
    work_root: PathBuf,
    target_dir: PathBuf,
    commit: String,
    vars: Vec<(OsString, OsString)>,
    remove: Vec<String>,
    max_output: usize,
    sandbox: Option<Bubblewrap>,
    /// Directories outside the repository its build reads, bound back
    /// read-only into the sandbox ([`path_deps`]).
    readable: Vec<PathBuf>,
}

impl WorktreeValidator {
    /// A validator with `options`.
    pub fn new(options: ValidatorOptions) -> Self {
        WorktreeValidator {
            options,
            base_cache: Mutex::new(BaseCache::default()),
            outside_dirs: Mutex::new(HashMap::new()),
            scrubber: Scrubber::default(),
            sandbox: tokio::sync::OnceCell::new(),
        }
    }

    /// Its options.
    pub fn options(&self) -> &ValidatorOptions {
        &self.options
    }

    /// The private directory holding default target directories and
    /// worktrees ([`ValidatorOptions::state_dir`]).
    pub fn state_dir(&self) -> PathBuf {
        self.options.state_dir.clone().unwrap_or_else(default_state_dir)
    }

    /// The default shared target directory for a repository:
    /// `target-<hash of the repository path>` in the state directory.
    pub fn default_target_dir(&self, repo_root: &Path) -> PathBuf {
        self.state_dir().join(format!("target-{}", path_hash(repo_root)))
    }

    /// The default worktree root for a repository.
    pub fn default_work_root(&self, repo_root: &Path) -> PathBuf {
        self.state_dir().join(format!("worktrees-{}", path_hash(repo_root)))
    }

    /// Number of cached base results (for tests and diagnostics).
    pub fn cached_base_results(&self) -> usize {
        self.base_cache.lock().map(|c| c.runs.len()).unwrap_or(0)
    }

    fn cached(&self, key: &str) -> Option<CommandRun> {
        self.base_cache.lock().ok()?.runs.get(key).cloned()
    }

    fn store(&self, key: String, run: CommandRun) {
        if let Ok(mut c) = self.base_cache.lock() {
            c.insert(key, run);
        }
    }

    /// The directories outside `repo` its manifests at `commit` name,
    /// remembered per repository and commit (at most
    /// `BASE_CACHE_ENTRIES`, then forgotten all at once).
    async fn outside_dirs(&self, git: &Git, repo: &Path, commit: &str) -> Vec<PathBuf> {
        let key = (repo.to_path_buf(), commit.to_string());
        if let Some(dirs) = self.outside_dirs.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return dirs;
        }
        let dirs = path_deps::outside_dirs(git, repo, commit, &hidden_roots(&self.options.hidden_paths)).await;
        if let Ok(mut m) = self.outside_dirs.lock() {
            if m.len() >= BASE_CACHE_ENTRIES {
                m.clear();
            }
            m.insert(key, dirs.clone());
        }
        dirs
    }

    /// Where checks run under `mode`: the sandbox, or why there is none.
    async fn sandbox_for(&self, mode: SandboxMode) -> (Option<Bubblewrap>, SandboxReport) {
        if mode == SandboxMode::Off {
            return (
                None,
                SandboxReport {
                    kind: "none".into(),
                    detail: "sandbox = \"off\" in bugstack.toml: checks ran with bugstack's own rights".into(),
                },
            );
        }
        match self.sandbox.get_or_init(Bubblewrap::detect).await {
            Ok(bw) => (
                Some(bw.clone()),
                SandboxReport {
                    kind: "bubblewrap".into(),
                    detail: bw.describe(),
                },
            ),
            Err(why) => (
                None,
                SandboxReport {
                    kind: "none".into(),
                    detail: format!("no sandbox could start, checks ran unconfined and auto-merge is refused: {why}"),
                },
            ),
        }
    }

    /// Runs one command of a validation in `dir` (a worktree): inside the
    /// sandbox when there is one, its output read as `parse` says.
    async fn run(
        &self,
        env: &Env,
        dir: &Path,
        command: CommandLine,
        timeout: Duration,
        parse: Parse,
    ) -> Result<CommandRun> {
        let command = if parse == Parse::Raw {
            command
        } else {
            command.merged_output()
        };
        let command = match &env.sandbox {
            Some(bw) => bw.wrap(
                &command,
                &SandboxSpec {
                    writable: &[dir, env.target_dir.as_path()],
                    hidden: &self.options.hidden_paths,
                    readable: &env.readable,
                    env: &env.vars,
                    dir,
                    limits: self.options.limits,
                },
            ),
            None => command,
        };
        let mut run = run_command(RunSpec {
            command: &command,
            dir,
            timeout,
            env: &env.vars,
            env_remove: &env.remove,
            max_output: env.max_output,
            parse,
        })
        .await?;
        run.output = self.scrubber.scrub_str(&run.output).into_owned();
        Ok(run)
    }

    /// `cargo fetch` in the base worktree, outside the sandbox (which has no
    /// network), once per repository and commit; a failure is kept as a
    /// note (the offline checks then say what is missing).
    async fn fetch_dependencies(&self, env: &Env, dir: &Path) -> Result<()> {
        if env.sandbox.is_none() || !dir.join("Cargo.toml").is_file() {
            return Ok(());
        }
        let key = [env.repo.to_string_lossy().as_ref(), &env.commit, "\u{1}fetch"].join("\0");
        if self.cached(&key).is_some() {
            return Ok(());
        }
        let run = self.cargo_fetch(env, dir).await?;
        self.store(key, run);
        Ok(())
    }

    /// `cargo fetch` in `dir` with `env`, outside the sandbox (it needs the
    /// network), within [`ValidatorOptions::fetch_timeout`].
    async fn cargo_fetch(&self, env: &Env, dir: &Path) -> Result<CommandRun> {
        run_command(RunSpec {
            command: &CommandLine::Argv(vec!["cargo".into(), "fetch".into()]),
            dir,
            timeout: self.options.fetch_timeout,
            env: &env.vars,
            env_remove: &env.remove,
            max_output: env.max_output,
            parse: Parse::Raw,
        })
        .await
    }

    /// Runs the base checks (and the regression test on the base) that are
    /// not cached yet, in one base worktree.
    async fn run_base(
        &self,
        env: &Env,
        missing: &[(String, CheckSpec)],
        regression: Option<(String, String, RegressionTest)>,
    ) -> Result<()> {
        if missing.is_empty() && regression.is_none() {
            return Ok(());
        }
        let wt = Worktree::create(&env.repo, &env.work_root, &env.commit).await?;
        let result = async {
            self.fetch_dependencies(env, wt.path()).await?;
            for (key, check) in missing {
                let planned = plan(check);
                let run = self
                    .run(
                        env,
                        wt.path(),
                        CommandLine::Shell(planned.command),
                        Duration::from_secs(check.timeout_secs),
                        planned.parse,
                    )
                    .await?;
                self.store(key.clone(), run);
            }
            if let Some((key, test_diff, test)) = regression {
                let run = if !test_diff.is_empty() {
                    match wt.apply(&test_diff).await {
                        Ok(()) => None,
                        Err(msg) => Some(CommandRun::not_run(
                            CheckStatus::Skipped,
                            format!("the test's hunks do not apply to the base commit: {msg}"),
                        )),
                    }
                } else {
                    None
                };
                let run = match run {
                    Some(r) => r,
                    None => {
                        self.run(
                            env,
                            wt.path(),
                            regression_command(&test),
                            self.options.regression_timeout,
                            Parse::Raw,
                        )
                        .await?
                    }
                };
                self.store(key, run);
            }
            Ok::<(), Error>(())
        }
        .await;
        let removed = wt.remove().await;
        result.and(removed)
    }

    async fn run_candidate(
        &self,
        env: &Env,
        patch: &Patch,
        checks: &[(String, CheckSpec)],
        regression: Option<&RegressionTest>,
    ) -> Result<(Validation, Option<CommandRun>)> {
        let wt = Worktree::create(&env.repo, &env.work_root, &env.commit).await?;
        let result = self.candidate_in(&wt, env, patch, checks, regression).await;
        let removed = wt.remove().await;
        let validation = result?;
        removed?;
        Ok(validation)
    }

    async fn candidate_in(
        &self,
        wt: &Worktree,
        env: &Env,
        patch: &Patch,
        checks: &[(String, CheckSpec)],
        regression: Option<&RegressionTest>,
    ) -> Result<(Validation, Option<CommandRun>)> {
        if let Err(msg) = wt.apply(&patch.diff).await {
            let validation = Validation {
                checks: vec![apply_failure(format!(
                    "the patch does not apply to the base commit:\n{msg}"
                ))],
                regression: None,
                sandbox: None,
            };
            return Ok((validation, None));
        }
        let mut results = Vec::new();
        let mut blamed = false;
        for (key, check) in checks {
            let base = if self.options.judge_against_base {
                self.cached(key)
            } else {
                None
            };
            let base_status = base.as_ref().map(|b| b.status);
            let skip_reason = if check.only_if_base_passes && base_status.is_some_and(|s| s != CheckStatus::Passed) {
                Some(format!(
                    "skipped: the base commit does not pass `{}` ({:?}), so it is not required",
                    check.command,
                    base_status.unwrap_or(CheckStatus::Skipped)
                ))
            } else if blamed && self.options.stop_at_first_failure {
                Some("skipped: an earlier check failed".to_string())
            } else {
                None
            };
            if let Some(reason) = skip_reason {
                results.push(CheckResult {
                    name: check.name.clone(),
                    command: self.scrubber.scrub_str(&check.command).into_owned(),
                    status: CheckStatus::Skipped,
                    base_status,
                    exit_code: None,
                    duration_ms: 0,
                    output: reason,
                    verdict: None,
                });
                continue;
            }
            let planned = plan(check);
            let run = self
                .run(
                    env,
                    wt.path(),
                    CommandLine::Shell(planned.command.clone()),
                    Duration::from_secs(check.timeout_secs),
                    planned.parse,
                )
                .await?;
            let verdict = verdict(base.as_ref(), &run);
            let result = CheckResult {
                name: check.name.clone(),
                command: self.scrubber.scrub_str(&planned.command).into_owned(),
                status: run.status,
                base_status,
                exit_code: run.exit_code,
                duration_ms: run.duration_ms,
                output: run.output,
                verdict,
            };
            blamed |= result.blames_fix();
            results.push(result);
        }
        let regression_run = match regression {
            Some(_) if blamed => Some(CommandRun::not_run(
                CheckStatus::Skipped,
                "not run: a check failed with the fix",
            )),
            Some(test) => Some(
                self.run(
                    env,
                    wt.path(),
                    regression_command(test),
                    self.options.regression_timeout,
                    Parse::Raw,
                )
                .await?,
            ),
            None => None,
        };
        let validation = Validation {
            checks: results,
            regression: None,
            sandbox: None,
        };
        Ok((validation, regression_run))
    }
}

fn apply_failure(output: String) -> CheckResult {
    CheckResult {
        name: APPLY_CHECK.into(),
        command: "git apply".into(),
        status: CheckStatus::Failed,
        base_status: None,
        exit_code: None,
        duration_ms: 0,
        output,
        verdict: None,
    }
}

/// The command running a regression test: an integration test file
/// (`[CRATE/]tests/NAME.rs`) is built and run alone (`cargo test --test
/// NAME`), so a crate whose other test targets no longer compile (an old
/// release's unit tests under today's compiler) can still be judged by it;
/// any other test by name (`cargo test NAME`).
pub(crate) fn regression_command(test: &RegressionTest) -> CommandLine {
    let path = Path::new(&test.path);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let dir = path.parent();
    let in_tests = dir.and_then(Path::file_name).is_some_and(|d| d == "tests");
    let plain_stem = !stem.is_empty() && stem.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let integration = in_tests && plain_stem && path.extension().is_some_and(|e| e == "rs");
    let mut argv: Vec<String> = vec!["cargo".into(), "test".into()];
    if let Some(krate) = dir
        .and_then(Path::parent)
        .filter(|d| integration && !d.as_os_str().is_empty())
    {
        argv.push("--manifest-path".into());
        argv.push(krate.join("Cargo.toml").to_string_lossy().into_owned());
    }
    if !test.features.is_empty() {
        argv.push("--features".into());
        argv.push(test.features.join(","));
    }
    if integration {
        argv.extend(["--test".into(), stem.to_string()]);
    }
    argv.push(test.name.clone());
    CommandLine::Argv(argv)
}

/// Name of the lock file in the shared target directory.
pub const TARGET_LOCK_FILE: &str = ".bugstack-validate.lock";

/// Takes the shared target directory for one validation.
///
/// Cargo names a workspace's artifacts relative to the workspace root, so
/// two checkouts building into one target directory at the same time would
/// run each other's code. Validations sharing a target directory (in this
/// process or another) therefore take turns, on an advisory `flock`.
async fn lock_target_dir(dir: &Path) -> Result<Flock<std::fs::File>> {
    let path = dir.join(TARGET_LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => {
                // The lock file's time is the target directory's last use
                // (see `state_dir::age_out`).
                let _ = lock.set_modified(std::time::SystemTime::now());
                return Ok(lock);
            }
            Err((f, Errno::EWOULDBLOCK)) => {
                file = f;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err((_, e)) => return Err(Error::Validate(format!("cannot lock {}: {e}", path.display()))),
        }
    }
}

/// FNV-1a of a path: a stable, short directory-name suffix.
fn path_hash(p: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in p.to_string_lossy().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

impl WorktreeValidator {
    /// The settings shared by every command of one validation (or search):
    /// repository, commit, sandbox, target directory (locked while the
    /// returned guard lives), environment.
    async fn prepare(&self, ctx: &FixContext, policy: &Policy) -> Result<(Env, SandboxReport, Flock<std::fs::File>)> {
        let repo = std::fs::canonicalize(&ctx.repo_root)
            .map_err(|e| Error::io(format!("opening repository {}", ctx.repo_root.display()), e))?;
        let git = Git::new(&repo);
        let commit = git.resolve_commit(ctx.validation_commit()).await?;
        let (sandbox, sandbox_report) = self.sandbox_for(policy.sandbox).await;
        let readable = match sandbox {
            Some(_) => self.outside_dirs(&git, &repo, &commit).await,
            None => Vec::new(),
        };
        if self.options.target_dir.is_none() || self.options.work_root.is_none() {
            let state = self.state_dir();
            ensure_private_dir(&state)?;
            age_out(&state, self.options.max_age, std::time::SystemTime::now());
        }
        let target_dir = self
            .options
            .target_dir
            .clone()
            .unwrap_or_else(|| self.default_target_dir(&repo));
        let work_root = self
            .options
            .work_root
            .clone()
            .unwrap_or_else(|| self.default_work_root(&repo));
        std::fs::create_dir_all(&target_dir)
            .map_err(|e| Error::io(format!("creating target dir {}", target_dir.display()), e))?;
        let target_lock = lock_target_dir(&target_dir).await?;
        let mut remove: Vec<String> = DEFAULT_SECRET_ENV.iter().map(|s| s.to_string()).collect();
        remove.push(policy.forge.token_env.clone());
        remove.extend(policy.model.api_key_env.clone());
        remove.extend(self.options.secret_env.iter().cloned());
        let env = Env {
            repo: repo.clone(),
            work_root,
            target_dir: target_dir.clone(),
            commit: commit.clone(),
            vars: vec![
                ("CARGO_TARGET_DIR".into(), target_dir.into_os_string()),
                ("CARGO_TERM_COLOR".into(), "never".into()),
            ],
            remove,
            max_output: self.options.max_output_bytes,
            sandbox,
            readable,
        };
        Ok((env, sandbox_report, target_lock))
    }
}

#[async_trait]
impl Validator for WorktreeValidator {
    async fn validate(&self, ctx: &FixContext, patch: &Patch, policy: &Policy) -> Result<Validation> {
        if let Some(bad) = patch.files.iter().find(|f| !is_inside_repository(f)) {
            return Ok(Validation {
                checks: vec![apply_failure(format!("{bad} is outside the repository's files"))],
                regression: None,
                sandbox: None,
            });
        }
        let (env, sandbox_report, _target_lock) = self.prepare(ctx, policy).await?;
        let (repo, commit) = (env.repo.clone(), env.commit.clone());

        let repo_key = repo.to_string_lossy().into_owned();
        let checks: Vec<(String, CheckSpec)> = policy
            .effective_checks()
            .into_iter()
            .map(|c| {
                let key = [
                    repo_key.as_str(),
                    &commit,
                    &c.name,
                    &c.command,
                    &c.timeout_secs.to_string(),
                ]
                .join("\0");
                (key, c)
            })
            .collect();
        let missing: Vec<(String, CheckSpec)> = if self.options.judge_against_base {
            checks
                .iter()
                .filter(|(k, _)| self.cached(k).is_none())
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        let regression = patch.regression_test.as_ref().map(|t| {
            let test_diff = test_only_diff(&patch.diff, &t.path, &t.name);
            let key = [repo_key.as_str(), &commit, "\u{1}regression", &t.name, &test_diff].join("\0");
            (key, test_diff, t.clone())
        });
        let valid_name = patch
            .regression_test
            .as_ref()
            .is_none_or(|t| is_valid_test_name(&t.name));
        let base_regression = regression
            .clone()
            .filter(|(k, _, _)| valid_name && self.cached(k).is_none());
        self.run_base(&env, &missing, base_regression).await?;

        let run_name = patch.regression_test.as_ref().filter(|_| valid_name);
        let (mut validation, with_fix) = self.run_candidate(&env, patch, &checks, run_name).await?;
        validation.sandbox = Some(sandbox_report);
        let applied = !validation.checks.iter().any(|c| c.name == APPLY_CHECK);
        if let (Some(test), Some((key, _, _)), true) = (&patch.regression_test, regression, applied) {
            validation.regression = Some(match with_fix {
                Some(run) => self.regression_result(&test.name, self.cached(&key), run),
                None => RegressionResult {
                    name: test.name.clone(),
                    fails_on_base: false,
                    passes_with_fix: false,
                    output: "not run: the test name is not a Rust test path".into(),
                },
            });
        }
        Ok(validation)
    }

    async fn reproduce(&self, ctx: &FixContext, policy: &Policy) -> Result<Reproduction> {
        let started = std::time::Instant::now();
        let (env, _report, _target_lock) = self.prepare(ctx, policy).await?;
        let wt = Worktree::create(&env.repo, &env.work_root, &env.commit).await?;
        let result = self.reproduce_in(&wt, &env, ctx, policy).await;
        let removed = wt.remove().await;
        let mut reproduction = result?;
        removed?;
        reproduction.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(reproduction)
    }
}

/// Time the search harness gets to start and report, beyond its budget.
const SEARCH_GRACE: Duration = Duration::from_secs(30);
/// Rounds of a search that may end the process before it gives up.
const MAX_ENDED_ROUNDS: usize = 16;
/// Rounds with steps that may end the process before the search turns
/// steps off (a `reserve(n)` step asking for gigabytes): the rounds
/// without them are not given up for them.
const MAX_ENDED_STEPPED_ROUNDS: usize = 4;
/// Address space of the search's process, in KiB (4 GiB): a generated case
/// that asks for more (a length or key of 2^32) fails at once, ending its
/// round, instead of filling the sandbox's 16 GiB first.
const SEARCH_ADDRESS_SPACE_KB: u64 = 4 << 20;

impl WorktreeValidator {
    /// Writes the search harness into the checkout `wt`, fetches its
    /// dependencies (outside the sandbox, like the base's `cargo fetch`),
    /// builds and runs it inside the sandbox within the policy's budget.
    async fn reproduce_in(&self, wt: &Worktree, env: &Env, ctx: &FixContext, policy: &Policy) -> Result<Reproduction> {
        let budget = policy.reproduce.budget();
        let mut plan = match reproduce::plan(ctx, wt.path(), budget) {
            Ok(p) => p,
            Err(why) => return Ok(Reproduction::not_reproduced(why)),
        };
        let call = plan.call().to_string();
        let with_call = |r: Reproduction| Reproduction {
            call: Some(call.clone()),
            ..r
        };
        for (rel, text) in &plan.files {
            let path = wt.path().join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
            }
            std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        }
        let harness = wt.path().join(reproduce::harness::HARNESS_DIR);
        // The target's own lock file pins its dependencies; proptest is added.
        let mut dir = Some(wt.path().join(plan.crate_dir()));
        while let Some(d) = dir {
            let lock = d.join("Cargo.lock");
            if lock.is_file() {
                std::fs::copy(&lock, harness.join("Cargo.lock"))
                    .map_err(|e| Error::io(format!("copying {}", lock.display()), e))?;
                break;
            }
            dir = d.parent().filter(|p| p.starts_with(wt.path())).map(Path::to_path_buf);
        }
        let fetch = self.cargo_fetch(env, &harness).await?;
        if fetch.status != CheckStatus::Passed {
            return Ok(with_call(Reproduction::not_reproduced(format!(
                "the harness's dependencies could not be fetched: {}",
                bugstack_core::text::trim_middle(&fetch.output, 1024)
            ))));
        }
        let manifest = harness.join("Cargo.toml").to_string_lossy().into_owned();
        // A shell line (the sandbox runs argv commands from elsewhere): the
        // manifest is our own path, single-quoted.
        // `vars`: `NAME=value ` assignments for the harness (numbers only).
        let cargo_test = |vars: &str, extra: &str| {
            CommandLine::Shell(format!(
                "{vars}cargo test --offline --manifest-path '{}' --test {} {extra}",
                manifest.replace('\'', "'\\''"),
                reproduce::harness::HARNESS_TEST
            ))
        };
        // The callee may be behind Cargo features the defaults leave out
        // (rustc: "gated behind the `maths` feature"): built again with them.
        let mut features = Vec::new();
        let mut steps_dropped = false;
        let build = loop {
            let build = self
                .run(
                    env,
                    wt.path(),
                    cargo_test("", "--no-run"),
                    self.options.regression_timeout,
                    Parse::Raw,
                )
                .await?;
            if build.status != CheckStatus::Failed {
                break build;
            }
            let gated = reproduce::harness::gated_features(&build.output);
            if gated.is_empty() || !features.is_empty() {
                // Steps that do not build (a bound misread) are dropped,
                // not the search.
                let Some((rel, text)) = plan.drop_steps() else {
                    break build;
                };
                steps_dropped = true;
                let path = wt.path().join(rel);
                std::fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
                continue;
            }
            features = gated;
            let path = harness.join("Cargo.toml");
            std::fs::write(&path, plan.manifest_with(&features))
                .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
            let fetch = self.cargo_fetch(env, &harness).await?;
            if fetch.status != CheckStatus::Passed {
                return Ok(with_call(Reproduction::not_reproduced(format!(
                    "the harness's dependencies with features {} could not be fetched: {}",
                    features.join(", "),
                    bugstack_core::text::trim_middle(&fetch.output, 1024)
                ))));
            }
        };
        if build.status != CheckStatus::Passed {
            return Ok(with_call(Reproduction::not_reproduced(format!(
                "the harness did not build ({:?}): {}",
                build.status,
                bugstack_core::text::trim_middle(&build.output, 2048)
            ))));
        }
        // A round that ends the process (an allocation that fails, an
        // abort) costs that round, not the search: the harness is run again
        // from the next round, with what is left of the budget.
        let started = std::time::Instant::now();
        let mut resume = String::new();
        let mut ended = Vec::new();
        let mut steps_off = false;
        let run = loop {
            let left = budget.saturating_sub(started.elapsed());
            let run = self
                .run(
                    env,
                    wt.path(),
                    cargo_test(
                        &format!("ulimit -v {SEARCH_ADDRESS_SPACE_KB} 2>/dev/null; {resume}"),
                        "-- --nocapture --test-threads=1",
                    ),
                    left + SEARCH_GRACE,
                    Parse::Raw,
                )
                .await?;
            if run.status == CheckStatus::TimedOut {
                return Ok(with_call(Reproduction::not_reproduced(format!(
                    "the search did not finish within {} s (a generated case may hang)",
                    (budget + SEARCH_GRACE).as_secs()
                ))));
            }
            match reproduce::harness::resume_point(&run.output) {
                Some(at) if ended.len() < MAX_ENDED_ROUNDS && started.elapsed() < budget => {
                    use reproduce::harness::{
                        stepped_round, BUDGET_ENV, CASES_ENV, FROM_ROUND_ENV, STEPS_OFF_ENV, UNSHRUNK_ENV,
                    };
                    ended.push(at.round);
                    let stepped_ended = ended.iter().filter(|r| stepped_round(**r)).count();
                    steps_off |= plan.has_steps() && stepped_ended >= MAX_ENDED_STEPPED_ROUNDS;
                    let left = budget.saturating_sub(started.elapsed()).as_millis();
                    // Ended while shrinking a failing case: that round
                    // again, its case as found; else the next round.
                    resume = if at.shrinking {
                        format!("{FROM_ROUND_ENV}={0} {UNSHRUNK_ENV}={0} ", at.round)
                    } else {
                        format!("{FROM_ROUND_ENV}={} ", at.round + 1)
                    };
                    resume.push_str(&format!("{BUDGET_ENV}={left} {CASES_ENV}={} ", at.cases));
                    if steps_off {
                        resume.push_str(&format!("{STEPS_OFF_ENV}=1 "));
                    }
                }
                _ => break run,
            }
        };
        let mut reproduction = plan.conclude(wt.path(), &run.output, &features);
        if !ended.is_empty() {
            reproduction.detail.push_str(&format!(
                " (the process ended {} time(s), an allocation that failed or an abort, in round(s) {}: the search went on from the next round, or ran the round again without shrinking when it ended while shrinking)",
                ended.len(),
                ended.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        if steps_dropped {
            reproduction.detail.push_str(
                " (the harness did not build with steps, calls that change the receiver first: searched without them)",
            );
        }
        if steps_off {
            reproduction.detail.push_str(&format!(
                " (rounds with steps ended the process {MAX_ENDED_STEPPED_ROUNDS} times: the search went on without them)"
            ));
        }
        Ok(reproduction)
    }

    fn regression_result(&self, name: &str, base: Option<CommandRun>, with_fix: CommandRun) -> RegressionResult {
        let fails_on_base = base
            .as_ref()
            .is_some_and(|b| matches!(b.status, CheckStatus::Failed | CheckStatus::TimedOut));
        let passes_with_fix = with_fix.status == CheckStatus::Passed && tests_passed(&with_fix.output) >= 1;
        let base_out = base.map(|b| b.output).unwrap_or_else(|| "(not run)".into());
        let half = self.options.max_output_bytes / 2;
        RegressionResult {
            name: name.to_string(),
            fails_on_base,
            passes_with_fix,
            output: format!(
                "on the base commit with only the test added:\n{}\n\nwith the fix:\n{}",
                bugstack_core::text::trim_middle(&base_out, half),
                bugstack_core::text::trim_middle(&with_fix.output, half)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regression_test_runs_with_the_features_it_needs() {
        let argv = |t: &RegressionTest| match regression_command(t) {
            CommandLine::Argv(a) => a.join(" "),
            CommandLine::Shell(s) => s,
        };
        let mut test = RegressionTest {
            path: "tests/bugstack_repro_ln_1972.rs".into(),
            name: "bugstack_repro_ln_1972".into(),
            features: Vec::new(),
        };
        assert_eq!(
            argv(&test),
            "cargo test --test bugstack_repro_ln_1972 bugstack_repro_ln_1972"
        );
        test.features = vec!["maths".into(), "std".into()];
        assert_eq!(
            argv(&test),
            "cargo test --features maths,std --test bugstack_repro_ln_1972 bugstack_repro_ln_1972"
        );
        test.path = "src/lib.rs".into();
        assert_eq!(argv(&test), "cargo test --features maths,std bugstack_repro_ln_1972");
    }

    #[test]
    fn base_cache_is_bounded_oldest_first() {
        let run = CommandRun::not_run(CheckStatus::Passed, "");
        let mut c = BaseCache::default();
        for i in 0..BASE_CACHE_ENTRIES + 10 {
            c.insert(format!("k{i}"), run.clone());
        }
        assert_eq!(c.runs.len(), BASE_CACHE_ENTRIES);
        assert!(!c.runs.contains_key("k0") && c.runs.contains_key(&format!("k{}", BASE_CACHE_ENTRIES + 9)));
        c.insert("k20".into(), run);
        assert_eq!(c.order.len(), BASE_CACHE_ENTRIES);
    }
}
