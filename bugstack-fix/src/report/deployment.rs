//! What deployment did ([`Deployment`]), as the report records it: the
//! deploy stage's output, plain data like the other stages' outputs.

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
