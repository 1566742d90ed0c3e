//! The [`Forge`] trait: where pull requests live (the local forge, GitHub).

use async_trait::async_trait;
use bugstack_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::policy::MergeMethod;
use crate::{Decision, FixReport, PullRequestRef, PullRequestState, Result};

/// A pull request to open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPullRequest {
    /// Title.
    pub title: String,
    /// Body (Markdown: the human report).
    pub body: String,
    /// The fix branch (head).
    pub branch: String,
    /// The branch it targets.
    pub base: String,
    /// The fix commit the branch points at.
    pub head_sha: String,
    /// The pipeline's decision, recorded with the pull request.
    pub decision: Option<Decision>,
}

/// A comment on a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// When it was made.
    pub at: Timestamp,
    /// Its text.
    pub body: String,
}

/// A pull request as a forge reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Number on the forge.
    pub number: u64,
    /// Web or local address.
    pub url: String,
    /// Title.
    pub title: String,
    /// Body.
    #[serde(default)]
    pub body: String,
    /// The head branch.
    pub branch: String,
    /// The base branch.
    pub base: String,
    /// The head commit.
    pub head_sha: String,
    /// State.
    pub state: PullRequestState,
    /// The pipeline's decision, when the forge records it (the local forge does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Comments (the local forge records them; GitHub's are not fetched).
    #[serde(default)]
    pub comments: Vec<Comment>,
    /// The commit the merge produced on the base branch, once merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit: Option<String>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl PullRequest {
    /// The short reference recorded in a [`crate::Deployment`].
    pub fn to_ref(&self) -> PullRequestRef {
        PullRequestRef {
            number: self.number,
            url: self.url.clone(),
            state: self.state,
        }
    }
}

/// What [`Forge::open_pull_request`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opened {
    /// The pull request.
    pub pull_request: PullRequest,
    /// Whether it was already open (the forge refused a duplicate and the
    /// existing one was found instead).
    pub already_existed: bool,
}

/// The CI verdict for a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum CiStatus {
    /// Every reported check finished green.
    Success,
    /// Something is still running, or nothing has reported yet.
    Pending(String),
    /// A check failed (which, and how).
    Failure(String),
}

/// What a merge attempt did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MergeOutcome {
    /// Merged; the commit now on the base branch.
    Merged {
        /// The merge (or squash, or fast-forwarded) commit.
        sha: String,
    },
    /// Not merged: the forge refused (conflict, head moved, protection).
    NotMerged {
        /// Why, in the forge's words.
        reason: String,
    },
}

/// A place pull requests live. Object-safe: held as `Arc<dyn Forge>`.
#[async_trait]
pub trait Forge: Send + Sync {
    /// Short name for reports (`local`, `github`).
    fn name(&self) -> &str;

    /// The open pull request whose head is `branch`, when there is one.
    async fn find_open_pull_request(&self, branch: &str) -> Result<Option<PullRequest>>;

    /// Opens a pull request. When the forge says one is already open for
    /// the branch, that one is returned.
    async fn open_pull_request(&self, new: &NewPullRequest) -> Result<Opened>;

    /// Comments on pull request `number`.
    async fn comment(&self, number: u64, body: &str) -> Result<()>;

    /// Adds labels to pull request `number`.
    async fn add_labels(&self, number: u64, labels: &[String]) -> Result<()>;

    /// The CI verdict for `head_sha` right now (one look, no waiting).
    /// `report` is the run that produced the commit (the local forge's CI
    /// *is* the report's validation).
    async fn ci_status(&self, head_sha: &str, report: &FixReport) -> Result<CiStatus>;

    /// Merges `pr` with `method` only if its head is still `pr.head_sha`.
    /// A refusal is `Ok(MergeOutcome::NotMerged)`, not an error.
    async fn merge(&self, pr: &PullRequest, method: MergeMethod) -> Result<MergeOutcome>;
}
