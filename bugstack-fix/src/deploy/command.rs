//! The project's own deploy command (`[deploy]` in `bugstack.toml`), run
//! after an auto-merge. It is trusted as the policy is (both come from the
//! base branch's tip), so it runs in the repository checkout with the
//! operator's environment, not in the checks' sandbox; it is killed with its
//! process group after `timeout_secs`. Its output is kept bounded and
//! scrubbed of secrets; a failure is reported, never retried.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use crate::policy::DeployConfig;
use crate::report::DeployRun;
use crate::validate::process::{run_command, CommandLine, Parse, RunSpec};
use crate::validate::CheckStatus;

/// Most bytes of the deploy command's output kept (head and tail).
pub const MAX_DEPLOY_OUTPUT: usize = 16 * 1024;

/// Where the merged fix is, for the command's environment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Merged<'a> {
    /// The merge (or squash) commit on the base branch.
    pub commit: &'a str,
    /// The fix branch.
    pub branch: &'a str,
    /// The base branch.
    pub base: &'a str,
    /// The pull request's number.
    pub pull_request: u64,
}

/// Runs `cfg.command` in `repo_root` for the merge `merged`.
pub(crate) async fn run_deploy_command(cfg: &DeployConfig, repo_root: &Path, merged: Merged<'_>) -> DeployRun {
    let env: Vec<(OsString, OsString)> = [
        ("BUGSTACK_MERGE_COMMIT", merged.commit.to_string()),
        ("BUGSTACK_BRANCH", merged.branch.to_string()),
        ("BUGSTACK_BASE_BRANCH", merged.base.to_string()),
        ("BUGSTACK_PR_NUMBER", merged.pull_request.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (OsString::from(k), OsString::from(v)))
    .collect();
    let command = CommandLine::Shell(cfg.command.clone()).merged_output();
    let spec = RunSpec {
        command: &command,
        dir: repo_root,
        timeout: Duration::from_secs(cfg.timeout_secs),
        env: &env,
        env_remove: &[],
        max_output: MAX_DEPLOY_OUTPUT,
        parse: Parse::Raw,
    };
    let scrub = |s: &str| bugstack_core::Scrubber::default().scrub_str(s.trim()).into_owned();
    match run_command(spec).await {
        Ok(run) => DeployRun {
            command: cfg.command.clone(),
            success: run.status == CheckStatus::Passed,
            exit_code: run.exit_code,
            timed_out: run.status == CheckStatus::TimedOut,
            duration_ms: run.duration_ms,
            output: scrub(&run.output),
        },
        Err(e) => DeployRun {
            command: cfg.command.clone(),
            success: false,
            exit_code: None,
            timed_out: false,
            duration_ms: 0,
            output: scrub(&format!("could not start: {e}")),
        },
    }
}
