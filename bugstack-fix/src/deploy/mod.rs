//! Stage 5, deploy: a branch, a pull request, and a merge only when policy
//! allows.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{FixContext, FixReport, Policy, Result};

mod base;
pub mod body;
mod deployer;
pub mod forge;
pub mod github;
pub mod local;
pub mod message;
mod setup;
pub mod store;
pub mod vcs;

pub use base::{resolve_base, BaseRef};
pub use deployer::{BodyRenderer, ForgeDeployer};
pub use forge::{CiStatus, Comment, Forge, MergeOutcome, NewPullRequest, Opened, PullRequest};
pub use github::{token_from_env, GitHubConfig, GitHubForge};
pub use local::LocalForge;
pub use setup::{forge_from_policy, local_remote_path};
pub use store::{JsonPullRequestStore, PullRequestStore};
pub use vcs::{fix_branch_name, CommitIdentity, Person, Vcs};

/// State of a pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestState {
    /// Open for review.
    Open,
    /// Merged.
    Merged,
    /// Closed without merging.
    Closed,
}

/// A pull request as the pipeline knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRef {
    /// Number on the forge.
    pub number: u64,
    /// Web or local address.
    pub url: String,
    /// Current state.
    pub state: PullRequestState,
}

/// What deployment did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The fix branch.
    pub branch: String,
    /// The fix commit.
    pub commit: String,
    /// The pull request.
    pub pull_request: PullRequestRef,
    /// Whether it was merged.
    pub merged: bool,
    /// Why it was or was not merged.
    pub reason: String,
}

/// Delivers a validated fix.
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
