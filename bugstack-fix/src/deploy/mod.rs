//! Stage 5, deploy: a branch, a pull request, and a merge only when policy
//! allows.

use crate::{Deployment, FixContext, FixReport, Policy, Result};
use async_trait::async_trait;

mod base;
pub(crate) mod body;
pub(crate) mod command;
mod deployer;
pub(crate) mod forge;
mod git_vcs;
pub(crate) mod github;
pub(crate) mod local;
pub(crate) mod message;
mod setup;
pub(crate) mod store;
pub(crate) mod vcs;

pub use base::{resolve_base, BaseRef};
pub use command::MAX_DEPLOY_OUTPUT;
pub use deployer::{BodyRenderer, ForgeDeployer};
pub use forge::{CiStatus, Comment, Forge, MergeOutcome, NewPullRequest, Opened, PullRequest};
pub use git_vcs::GitVcs;
pub use github::{token_from_env, GitHubConfig, GitHubForge, PullRequestPoll};
pub use local::LocalForge;
pub use setup::{forge_from_policy, local_remote_path};
pub use store::{JsonPullRequestStore, PullRequestStore};
pub use vcs::{fix_branch_name, CommitIdentity, FixCommit, Person, Vcs, FIX_BRANCH_PREFIX};

/// Stage 5: delivers a decided fix (a branch, a pull request, a merge only
/// when policy allows).
///
/// The pipeline calls a deployer (when it has one, see
/// [`Pipeline::with_deployer`](crate::Pipeline::with_deployer)) once per run
/// whose decision is not [`NoFix`](crate::DecisionKind::NoFix), with the
/// finished report: its [`fix`](FixReport::fix) and
/// [`decision`](FixReport::decision). The built-in deployer is
/// [`ForgeDeployer`], over a [`Forge`] ([`LocalForge`], [`GitHubForge`]).
///
/// # Contract
///
/// - **Never touch the user's checkout.** Build the fix commit without the
///   working tree, index or `HEAD` (the built-in deployer commits through a
///   temporary index), on a branch of its own.
/// - **Merge only when told.** Merge only when the decision is
///   [`AutoMerge`](crate::DecisionKind::AutoMerge) and the forge agrees
///   (CI green, head unchanged); otherwise leave the pull request for
///   review. [`Deployment::merged`] and [`Deployment::reason`] say which.
/// - **Re-runs converge.** Deploying the same fix again reuses its branch
///   and pull request instead of opening another.
/// - **Untrusted text stays quoted.** The report carries event data: a pull
///   request body escapes it (see [`render_markdown`](crate::render_markdown)).
/// - **An error is recorded, not fatal.** The report keeps it as
///   [`FixReport::deploy_error`]; the run's decision stands.
///
/// # Example
///
/// A deployer that only prints what it would deliver (a dry run):
///
/// ```
/// use async_trait::async_trait;
/// use bugstack_fix::{Deployer, Deployment, Error, FixContext, FixReport, Policy, PullRequestRef, PullRequestState, Result};
///
/// struct DryRun;
///
/// #[async_trait]
/// impl Deployer for DryRun {
///     async fn deploy(&self, _ctx: &FixContext, report: &FixReport, _policy: &Policy) -> Result<Deployment> {
///         let fix = report.fix.as_ref().ok_or_else(|| Error::Deploy("the report has no fix".into()))?;
///         println!("would open a pull request with:\n{}", fix.diff);
///         Ok(Deployment {
///             branch: "dry-run".into(),
///             commit: String::new(),
///             pull_request: PullRequestRef { number: 0, url: "(dry run)".into(), state: PullRequestState::Open },
///             merged: false,
///             reason: "dry run: nothing delivered".into(),
///             merge_commit: None,
///             deploy_command: None,
///         })
///     }
/// }
/// ```
///
/// [The custom-stages example](crate#custom-stages)
/// (`bugstack-fix/examples/custom_backend.rs`) shows the other stages
/// plugged into a [`Pipeline`](crate::Pipeline).
#[async_trait]
pub trait Deployer: Send + Sync {
    /// Creates the branch and pull request for `report`'s final patch and
    /// merges it when `report.decision` says so and the forge agrees.
    async fn deploy(&self, ctx: &FixContext, report: &FixReport, policy: &Policy) -> Result<Deployment>;

    /// The commit a fix for `ctx` would merge into now (the base branch's
    /// tip, freshly fetched), when this deployer can tell. Before an
    /// auto-merge the pipeline compares it with the commit the fix was
    /// validated on ([`FixContext::validation_commit`]) and validates again
    /// on the new tip when the base moved. The default: it cannot tell.
    async fn current_base(&self, ctx: &FixContext, policy: &Policy) -> Result<Option<String>> {
        let _ = (ctx, policy);
        Ok(None)
    }
}
