//! What deployment did ([`Deployment`]), as the report records it: the
//! deploy stage's output, plain data like the other stages' outputs.

use bugstack_core::omit_empty;
use serde::{Deserialize, Serialize};

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
#[omit_empty]
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
    /// The commit the merge produced on the base branch, when merged.
    pub merge_commit: Option<String>,
    /// What the `[deploy]` command did after the merge, when one ran.
    pub deploy_command: Option<DeployRun>,
}

/// What the deploy command did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRun {
    /// The command, as configured.
    pub command: String,
    /// Whether it exited 0 in time.
    pub success: bool,
    /// Its exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Whether it was killed at its timeout.
    pub timed_out: bool,
    /// Wall time.
    pub duration_ms: u64,
    /// Combined stdout and stderr, trimmed and scrubbed.
    pub output: String,
}
