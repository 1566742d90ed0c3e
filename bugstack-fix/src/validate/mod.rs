//! Stage 3, validate: prove a candidate with the project's own checks.

mod diagnostics;
mod judge;
mod libtest;
mod path_deps;
pub(crate) mod process;
pub(crate) mod regression;
mod sandbox;
mod state_dir;
pub(crate) mod worktree;
mod worktree_validator;

pub use diagnostics::CompilerSuggestion;
pub use libtest::TestJudgement;
pub use sandbox::{SandboxLimits, SandboxReport};

pub use worktree_validator::{ValidatorOptions, WorktreeValidator, APPLY_CHECK, DEFAULT_SECRET_ENV, TARGET_LOCK_FILE};

use async_trait::async_trait;
use bugstack_core::omit_empty;
use serde::{Deserialize, Serialize};

use crate::{FixContext, Patch, Policy, Reproduction, Result};

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
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check name.
    pub name: String,
    /// The command run.
    pub command: String,
    /// Result with the patch applied.
    pub status: CheckStatus,
    /// Result on the base commit, when it was run.
    pub base_status: Option<CheckStatus>,
    /// Exit code, when the process exited.
    pub exit_code: Option<i32>,
    /// Wall time.
    pub duration_ms: u64,
    /// Combined stdout/stderr, trimmed (head and tail kept).
    pub output: String,
    /// The judgement, when the check was judged test by test or by new
    /// compiler errors rather than by its exit code alone.
    pub verdict: Option<Verdict>,
}

/// How a check was judged against the base commit, beyond exit codes.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// `tests` or `diagnostics`.
    pub judged_by: String,
    /// Whether the check blames the fix.
    pub blamed: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// Test by test, for `tests`.
    pub tests: Option<TestJudgement>,
    /// Compiler errors the base does not have, for `diagnostics`.
    pub new_errors: Vec<String>,
    /// The compiler's suggested edits for those errors, for
    /// compiler-guided repair.
    pub suggestions: Vec<CompilerSuggestion>,
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

    /// Whether no check blames the fix (and at least one check ran), and
    /// the patch's regression test, when it has one that reproduces the bug
    /// (fails on the base), passes with the fix: a candidate that still
    /// panics on the reproducing input, panics elsewhere on it, or hangs,
    /// has not fixed the bug.
    pub fn passed(&self) -> bool {
        self.checks.iter().any(|c| c.status == CheckStatus::Passed)
            && !self.checks.iter().any(CheckResult::blames_fix)
            && !self.regression_blames_fix()
    }

    /// Whether the regression test reproduces the bug on the base and does
    /// not pass with the fix.
    pub fn regression_blames_fix(&self) -> bool {
        self.regression
            .as_ref()
            .is_some_and(|r| r.fails_on_base && !r.passes_with_fix)
    }

    /// The failing checks' output for a retry prompt, cut to `max_bytes`.
    pub fn failure_summary(&self, max_bytes: usize) -> String {
        let mut s = String::new();
        if let Some(r) = self.regression.as_ref().filter(|_| self.regression_blames_fix()) {
            s.push_str(&format!(
                "regression test `{}` reproduces the bug and still fails with the fix (a panic on the reproducing input, at the same or a new place, or no return within its timeout):\n{}\n",
                r.name, r.output
            ));
        }
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

/// Stage 3: proves a candidate with the project's own checks.
///
/// The pipeline validates every candidate that passed the policy's patch
/// checks. A [`Validation`] that [passed](Validation::passed) makes the
/// candidate the fix; otherwise the failing checks' output goes back to the
/// generator as feedback for the next attempt. The built-in validator is
/// [`WorktreeValidator`] (a detached git worktree per attempt, each check in
/// its own process group with a timeout).
///
/// # Contract
///
/// - **Isolated.** Apply the patch somewhere of its own (a worktree, a
///   container, memory), never to the user's working tree, and clean up
///   whatever happens.
/// - **The policy's checks**, in order ([`Policy::effective_checks`]): one
///   [`CheckResult`] each, output trimmed (head and tail kept).
/// - **Judged against the base.** Set [`CheckResult::base_status`] when the
///   check was also run without the patch: a failure the base commit
///   already had is reported, not blamed on the fix
///   ([`CheckResult::blames_fix`]).
/// - **The regression test**, when the patch has one: whether it fails on
///   the base and passes with the fix ([`Validation::regression`]).
/// - **Failing checks are results, not errors.** Return `Err` only when
///   validation could not run at all; the pipeline then stops retrying, as
///   every further attempt would fail the same way.
/// - **No secrets in checks.** The project's commands run code from the
///   patch: keep forge tokens and model keys out of their environment.
///
/// # Example
///
/// A validator that checks a candidate in memory (the failing line no longer
/// unwraps), for tests of the other stages:
///
/// ```
/// use async_trait::async_trait;
/// use bugstack_fix::{CheckResult, CheckStatus, FixContext, Patch, Policy, Result, SandboxReport, Validation, Validator};
///
/// struct NoUnwrapOnTargetLine;
///
/// #[async_trait]
/// impl Validator for NoUnwrapOnTargetLine {
///     async fn validate(&self, ctx: &FixContext, patch: &Patch, _policy: &Policy) -> Result<Validation> {
///         let target = ctx.target().expect("the context has a target");
///         let (status, output) = match patch.apply_to(&ctx.files) {
///             Err(e) => (CheckStatus::Failed, e.to_string()),
///             Ok(files) => match files[&target.path].lines().nth(target.line as usize - 1) {
///                 Some(line) if !line.contains(".unwrap()") => (CheckStatus::Passed, line.trim().to_string()),
///                 other => (CheckStatus::Failed, format!("still unwraps: {other:?}")),
///             },
///         };
///         Ok(Validation {
///             checks: vec![CheckResult {
///                 name: "no-unwrap".into(),
///                 command: "(in memory)".into(),
///                 status,
///                 base_status: Some(CheckStatus::Failed),
///                 exit_code: None,
///                 duration_ms: 0,
///                 output,
///                 verdict: None,
///             }],
///             regression: None,
///             // Nothing from the patch runs: it is read in memory.
///             sandbox: Some(SandboxReport {
///                 kind: "in-process".into(),
///                 detail: "the patch is read in memory; no code from it runs".into(),
///             }),
///         })
///     }
/// }
/// ```
///
/// [The custom-stages example](crate#custom-stages)
/// (`bugstack-fix/examples/custom_backend.rs`) runs such a validator in a
/// [`Pipeline`](crate::Pipeline).
#[async_trait]
pub trait Validator: Send + Sync {
    /// Validates `patch` against the repository state of `ctx` under
    /// `policy`'s checks. An `Err` means validation could not run at all; a
    /// failing check is an `Ok` with a failed [`CheckResult`].
    async fn validate(&self, ctx: &FixContext, patch: &Patch, policy: &Policy) -> Result<Validation>;

    /// Searches, before any fix, for an input that raises `ctx`'s panic at
    /// the same place, within `policy.reproduce`'s budget and in the same
    /// confinement as the checks. The pipeline adds a found reproduction's
    /// regression test to every candidate ([`Reproduction::attach`]).
    ///
    /// The default makes no search ([`Reproduction::not_attempted`]): fixes
    /// are then scored "not reproduced" and never auto-merged.
    /// [`WorktreeValidator`] searches with a generated `proptest` harness.
    async fn reproduce(&self, ctx: &FixContext, policy: &Policy) -> Result<Reproduction> {
        let _ = (ctx, policy);
        Ok(Reproduction::not_attempted(
            "this validator does not search for a reproduction",
        ))
    }
}
