//! Stage 3, validate: prove a candidate with the project's own checks.

pub mod diagnostics;
mod judge;
pub mod libtest;
pub mod process;
pub mod regression;
pub mod sandbox;
pub mod worktree;
mod worktree_validator;

pub use libtest::TestJudgement;
pub use sandbox::SandboxReport;

pub use worktree_validator::{ValidatorOptions, WorktreeValidator, APPLY_CHECK, DEFAULT_SECRET_ENV, TARGET_LOCK_FILE};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{FixContext, Patch, Policy, Result};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Exit code 0.
    Passed,
    /// Non-zero exit.
    Failed,
    /// Killed (with its process group) at its timeout.
    TimedOut,
    /// Not run (e.g. a lint the base commit already fails).
    Skipped,
}

/// One check's result on a candidate, next to its result on the base commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check name.
    pub name: String,
    /// The command run.
    pub command: String,
    /// Result with the patch applied.
    pub status: CheckStatus,
    /// Result on the base commit, when it was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_status: Option<CheckStatus>,
    /// Exit code, when the process exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Wall time.
    pub duration_ms: u64,
    /// Combined stdout/stderr, trimmed (head and tail kept).
    pub output: String,
    /// The judgement, when the check was judged test by test or by new
    /// compiler errors rather than by its exit code alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
}

/// How a check was judged against the base commit, beyond exit codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// `tests` or `diagnostics`.
    pub judged_by: String,
    /// Whether the check blames the fix.
    pub blamed: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// Test by test, for `tests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestJudgement>,
    /// Compiler errors the base does not have, for `diagnostics`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_errors: Vec<String>,
}

impl CheckResult {
    /// Whether this check holds the candidate back. With a [`Verdict`], its
    /// word: a test that passed on the base and fails, times out or is gone,
    /// or a new compiler error, blames the fix even when the base failed the
    /// command too. Without one (exit-code judgement): it did not pass, and
    /// the base commit did (or was not run); failures the base already had
    /// are reported, not blamed on the fix.
    pub fn blames_fix(&self) -> bool {
        if let Some(v) = &self.verdict {
            return v.blamed;
        }
        matches!(self.status, CheckStatus::Failed | CheckStatus::TimedOut)
            && !matches!(self.base_status, Some(CheckStatus::Failed | CheckStatus::TimedOut))
    }
}

/// What happened to a patch's regression test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegressionResult {
    /// The test's name.
    pub name: String,
    /// It failed on the base commit (it reproduces the bug).
    pub fails_on_base: bool,
    /// It passes with the fix.
    pub passes_with_fix: bool,
    /// Trimmed output.
    pub output: String,
}

/// The result of validating one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// Each check, in order.
    pub checks: Vec<CheckResult>,
    /// The regression test's outcome, when the patch has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression: Option<RegressionResult>,
    /// Where the checks ran; `None` when the validator does not say (then
    /// the checks count as unconfined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxReport>,
}

impl Validation {
    /// Whether the checks ran inside a sandbox.
    pub fn confined(&self) -> bool {
        self.sandbox.as_ref().is_some_and(SandboxReport::confined)
    }

    /// Whether no check blames the fix (and at least one check ran).
    pub fn passed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Passed) && !self.checks.iter().any(CheckResult::blames_fix)
    }

    /// The failing checks' output for a retry prompt, cut to `max_bytes`.
    pub fn failure_summary(&self, max_bytes: usize) -> String {
        let mut s = String::new();
        for c in self.checks.iter().filter(|c| c.blames_fix()) {
            s.push_str(&format!("check `{}` ({}) {:?}:\n", c.name, c.command, c.status));
            if let Some(v) = &c.verdict {
                s.push_str(&format!("{}\n", v.reason));
                if let Some(t) = &v.tests {
                    for line in t.broken.iter().chain(&t.new_failures) {
                        s.push_str(&format!("- {line}\n"));
                    }
                }
                for e in &v.new_errors {
                    s.push_str(&format!("- {e}\n"));
                }
            }
            s.push_str(&format!("{}\n", c.output));
        }
        bugstack_core::text::trim_middle(&s, max_bytes)
    }
}

/// Applies a candidate somewhere isolated and runs the checks.
#[async_trait]
pub trait Validator: Send + Sync {
    /// Validates `patch` against the repository state of `ctx` under
    /// `policy`'s checks. An `Err` means validation could not run at all; a
    /// failing check is an `Ok` with a failed [`CheckResult`].
    async fn validate(&self, ctx: &FixContext, patch: &Patch, policy: &Policy) -> Result<Validation>;
}
