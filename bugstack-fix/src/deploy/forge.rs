//! The [`Forge`] trait: where pull requests live (the local forge, GitHub).

use async_trait::async_trait;
use bugstack_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::policy::MergeMethod;
use crate::{Decision, FixReport, PullRequestRef, PullRequestState, Result};

/// Where pull requests live: the [`ForgeDeployer`](crate::ForgeDeployer)'s
/// view of a code host.
///
/// The deployer pushes the fix branch with git, then asks the forge to find
/// or open the pull request, label and comment on it, report CI for the
/// head commit and, when policy allows, merge it. Object-safe: held as
/// `Arc<dyn Forge>`. The built-in forges are
/// [`LocalForge`](crate::LocalForge) (a bare repository, pull
/// requests in a [`PullRequestStore`](crate::PullRequestStore)) and
/// [`GitHubForge`](crate::GitHubForge) (REST v3).
///
/// # Contract
///
/// - **One open pull request per branch.** [`Forge::open_pull_request`]
///   returns the existing one (`already_existed`) rather than a duplicate,
///   so a re-run converges.
/// - **Merge only the reviewed head.** [`Forge::merge`] merges only while
///   the pull request's head is still [`PullRequest::head_sha`]; a refusal
///   (conflict, head moved, branch protection) is
///   `Ok(`[`MergeOutcome::NotMerged`]`)`, not an error.
/// - **CI is one look.** [`Forge::ci_status`] answers for the commit right
///   now; the deployer does the waiting and polling.
/// - **Errors name the forge's complaint** and never carry credentials
///   (hold tokens as [`bugstack_core::Secret`]).
///
/// # Example
///
/// A forge that keeps pull requests in memory and never merges (for tests,
/// or a dry run in front of a real host):
///
/// ```
/// use std::sync::Mutex;
///
/// use async_trait::async_trait;
/// use bugstack_core::Timestamp;
/// use bugstack_fix::{CiStatus, Comment, Forge, MergeOutcome, NewPullRequest, Opened, PullRequest};
/// use bugstack_fix::MergeMethod;
/// use bugstack_fix::{Error, FixReport, PullRequestState, Result};
///
/// #[derive(Default)]
/// struct InMemory(Mutex<Vec<PullRequest>>);
///
/// impl InMemory {
///     fn with<T>(&self, number: u64, f: impl FnOnce(&mut PullRequest) -> T) -> Result<T> {
///         let mut prs = self.0.lock().map_err(|_| Error::Deploy("lock poisoned".into()))?;
///         let pr = prs.iter_mut().find(|p| p.number == number)
///             .ok_or_else(|| Error::Deploy(format!("no pull request #{number}")))?;
///         Ok(f(pr))
///     }
/// }
///
/// #[async_trait]
/// impl Forge for InMemory {
///     fn name(&self) -> &str {
///         "in-memory"
///     }
///
///     async fn find_open_pull_request(&self, branch: &str) -> Result<Option<PullRequest>> {
///         let prs = self.0.lock().map_err(|_| Error::Deploy("lock poisoned".into()))?;
///         Ok(prs.iter().find(|p| p.branch == branch && p.state == PullRequestState::Open).cloned())
///     }
///
///     async fn open_pull_request(&self, new: &NewPullRequest) -> Result<Opened> {
///         if let Some(pull_request) = self.find_open_pull_request(&new.branch).await? {
///             return Ok(Opened { pull_request, already_existed: true });
///         }
///         let mut prs = self.0.lock().map_err(|_| Error::Deploy("lock poisoned".into()))?;
///         let number = prs.len() as u64 + 1;
///         let now = Timestamp::now();
///         let pr = PullRequest {
///             number,
///             url: format!("memory://pulls/{number}"),
///             title: new.title.clone(),
///             body: new.body.clone(),
///             branch: new.branch.clone(),
///             base: new.base.clone(),
///             head_sha: new.head_sha.clone(),
///             state: PullRequestState::Open,
///             decision: new.decision.clone(),
///             labels: Vec::new(),
///             comments: Vec::new(),
///             merge_commit: None,
///             created_at: now,
///             updated_at: now,
///         };
///         prs.push(pr.clone());
///         Ok(Opened { pull_request: pr, already_existed: false })
///     }
///
///     async fn comment(&self, number: u64, body: &str) -> Result<()> {
///         self.with(number, |pr| pr.comments.push(Comment { at: Timestamp::now(), body: body.into() }))
///     }
///
///     async fn add_labels(&self, number: u64, labels: &[String]) -> Result<()> {
///         self.with(number, |pr| pr.labels.extend_from_slice(labels))
///     }
///
///     async fn ci_status(&self, _head_sha: &str, report: &FixReport) -> Result<CiStatus> {
///         // No CI here: the report's own validation is the verdict.
///         Ok(if report.fix.is_some() { CiStatus::Success } else { CiStatus::Failure("no fix".into()) })
///     }
///
///     async fn merge(&self, _pr: &PullRequest, _method: MergeMethod) -> Result<MergeOutcome> {
///         Ok(MergeOutcome::NotMerged { reason: "this forge never merges".into() })
///     }
/// }
/// ```
///
/// [The custom-stages example](crate#custom-stages)
/// (`bugstack-fix/examples/custom_backend.rs`) shows custom stages plugged
/// into a [`Pipeline`](crate::Pipeline); a forge goes in through
/// [`ForgeDeployer::new`](crate::ForgeDeployer::new).
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
