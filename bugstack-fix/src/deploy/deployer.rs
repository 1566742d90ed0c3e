//! [`ForgeDeployer`]: the [`Deployer`] that commits the fix on its branch,
//! pushes it, opens (or reuses) the pull request on a [`Forge`], and merges
//! it only when the decision is auto-merge *and* the forge's CI for the head
//! commit is green.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::command::{run_deploy_command, Merged};
use super::forge::{CiStatus, Forge, MergeOutcome, NewPullRequest, PullRequest};
use super::git_vcs::GitVcs;
use super::message::{fix_commit_message, CommitStyle};
use super::vcs::{fix_branch_name, CommitIdentity, FixCommit, Vcs};
use crate::{DecisionKind, Deployer, Deployment, Error, FixContext, FixReport, Policy, PullRequestState, Result};

/// Renders a report as a pull request body (Markdown).
pub type BodyRenderer = Arc<dyn Fn(&FixReport) -> String + Send + Sync>;

/// How many recent subjects are read to learn the commit style.
const STYLE_SAMPLE: usize = 30;

/// Delivers fixes through a [`Forge`].
///
/// ```no_run
/// # async fn demo(pipeline: bugstack_fix::Pipeline) -> bugstack_fix::Result<()> {
/// use std::sync::Arc;
/// use bugstack_fix::{ForgeDeployer, LocalForge};
///
/// // Branches go to a bare repository, pull requests to ./.bugstack/pulls.json.
/// let forge = LocalForge::with_json_store("/srv/git/shop.git", ".bugstack")?;
/// let deployer = ForgeDeployer::with_plain_body(Arc::new(forge));
/// let pipeline = pipeline.with_deployer(Arc::new(deployer));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ForgeDeployer {
    forge: Arc<dyn Forge>,
    body: BodyRenderer,
    identity: CommitIdentity,
    poll_initial: Duration,
    poll_max: Duration,
    vcs: Option<Arc<dyn Vcs>>,
}

impl std::fmt::Debug for ForgeDeployer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForgeDeployer")
            .field("forge", &self.forge.name())
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl ForgeDeployer {
    /// A deployer over `forge` that renders pull request bodies with `body`.
    pub fn new(forge: Arc<dyn Forge>, body: BodyRenderer) -> Self {
        ForgeDeployer {
            forge,
            body,
            identity: CommitIdentity::from_env(),
            poll_initial: Duration::from_secs(5),
            poll_max: Duration::from_secs(60),
            vcs: None,
        }
    }

    /// A deployer with the built-in plain body (incident, root cause, patch,
    /// checks, confidence and decision; event text fenced). For the full
    /// report, pass [`render_markdown`](crate::render_markdown) to
    /// [`ForgeDeployer::new`].
    pub fn with_plain_body(forge: Arc<dyn Forge>) -> Self {
        Self::new(forge, Arc::new(super::body::plain_body))
    }

    /// Commits as `identity` (default: [`CommitIdentity::from_env`]).
    pub fn with_identity(mut self, identity: CommitIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// Works on the repository through `vcs` (default: a [`GitVcs`] at the
    /// fix context's `repo_root`).
    pub fn with_vcs(mut self, vcs: Arc<dyn Vcs>) -> Self {
        self.vcs = Some(vcs);
        self
    }

    /// The repository backend for a fix in `ctx`.
    fn vcs(&self, ctx: &FixContext) -> Arc<dyn Vcs> {
        match &self.vcs {
            Some(vcs) => Arc::clone(vcs),
            None => Arc::new(GitVcs::new(&ctx.repo_root)),
        }
    }

    /// CI polling: first wait `initial`, doubling up to `max` between looks
    /// (defaults 5 s and 60 s). The overall limit is the policy's
    /// `forge.ci_timeout_secs`.
    pub fn with_ci_polling(mut self, initial: Duration, max: Duration) -> Self {
        self.poll_initial = initial.max(Duration::from_millis(1));
        self.poll_max = max.max(self.poll_initial);
        self
    }

    /// Polls the forge's CI for `sha` with backoff until it settles or
    /// `timeout` passes (then the last pending state is returned).
    pub async fn wait_for_ci(&self, sha: &str, report: &FixReport, timeout: Duration) -> Result<CiStatus> {
        let deadline = Instant::now() + timeout;
        let mut wait = self.poll_initial;
        loop {
            let status = self.forge.ci_status(sha, report).await?;
            let CiStatus::Pending(detail) = status else {
                return Ok(status);
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(CiStatus::Pending(detail));
            }
            tokio::time::sleep(wait.min(deadline - now)).await;
            wait = (wait * 2).min(self.poll_max);
        }
    }

    fn occurrence_comment(report: &FixReport, branch: &str, commit: &str) -> String {
        let inc = &report.incident;
        format!(
            "bugstack saw this incident again: **{} occurrence(s)** so far (last seen {}).\n\n\
             Fix branch `{branch}` is at `{commit}`. Decision for this run: {:?} — {}\n",
            inc.count, inc.last_seen, report.decision.kind, report.decision.reason
        )
    }

    async fn decide_merge(
        &self,
        ctx: &FixContext,
        pr: &PullRequest,
        report: &FixReport,
        policy: &Policy,
    ) -> Result<(Option<String>, String)> {
        if report.decision.kind != DecisionKind::AutoMerge {
            return Ok((None, format!("left open for review: {}", report.decision.reason)));
        }
        let validated = ctx.validation_commit();
        if let Some(tip) = self.current_base(ctx, policy).await? {
            if tip != validated {
                return Ok((
                    None,
                    format!(
                        "not merged: the base branch moved to {tip} after the fix was validated on {validated}; \
                         left open for review"
                    ),
                ));
            }
        }
        let timeout = Duration::from_secs(policy.forge.ci_timeout_secs);
        match self.wait_for_ci(&pr.head_sha, report, timeout).await? {
            CiStatus::Success => {}
            CiStatus::Failure(why) => {
                return Ok((
                    None,
                    format!("not merged: CI failed for {}: {why}; left open for review", pr.head_sha),
                ))
            }
            CiStatus::Pending(why) => {
                return Ok((
                    None,
                    format!(
                        "not merged: CI for {} did not finish green within {}s ({why}); left open for review",
                        pr.head_sha, policy.forge.ci_timeout_secs
                    ),
                ))
            }
        }
        Ok(match self.forge.merge(pr, policy.forge.merge_method).await? {
            MergeOutcome::Merged { sha } => (
                Some(sha.clone()),
                format!("merged as {sha} after green CI: {}", report.decision.reason),
            ),
            MergeOutcome::NotMerged { reason } => (None, format!("not merged: {reason}; left open for review")),
        })
    }
}

#[async_trait]
impl Deployer for ForgeDeployer {
    async fn current_base(&self, ctx: &FixContext, policy: &Policy) -> Result<Option<String>> {
        let base = self.vcs(ctx).base(&policy.forge).await?;
        Ok(base.warnings.is_empty().then_some(base.commit))
    }

    async fn deploy(&self, ctx: &FixContext, report: &FixReport, policy: &Policy) -> Result<Deployment> {
        let patch = report
            .fix
            .as_ref()
            .ok_or_else(|| Error::Deploy("the report has no validated fix to deploy".into()))?;
        if !report.decision.kind.delivers() {
            return Err(Error::Deploy(format!(
                "the decision is {}: {}",
                report.decision.kind.name(),
                report.decision.reason
            )));
        }
        let vcs = self.vcs(ctx);
        let branch = fix_branch_name(&ctx.incident.fingerprint);
        // The commit the fix was validated on: the merged tree is the
        // validated tree (never the event's release).
        let release = vcs.resolve_commit(ctx.validation_commit()).await?;
        let style = CommitStyle::detect(&vcs.recent_subjects(&release, STYLE_SAMPLE).await?);
        let message = fix_commit_message(&style, ctx, patch);
        let fix = FixCommit {
            base: &release,
            patch,
            message: &message,
            identity: &self.identity,
        };
        let commit = vcs.prepare_fix_branch(&branch, &fix).await?;
        let remote = policy.forge.remote.as_str();
        vcs.push_fix_branch(remote, &branch, &commit).await?;
        let base = match &policy.forge.base_branch {
            Some(b) => b.clone(),
            None => vcs.remote_default_branch(remote).await?.ok_or_else(|| {
                Error::Deploy(format!(
                    "cannot tell the default branch of remote {remote:?}; set forge.base_branch in bugstack.toml"
                ))
            })?,
        };

        // From here on the pull request exists: a failing side step (comment,
        // labels, CI, merge) is reported in the reason instead of losing it.
        let mut notes = Vec::new();
        let comment = Self::occurrence_comment(report, &branch, &commit);
        let (mut pr, reused) = match self.forge.find_open_pull_request(&branch).await? {
            Some(pr) => (pr, true),
            None => {
                let title = message.lines().next().unwrap_or_default().to_string();
                let opened = self
                    .forge
                    .open_pull_request(&NewPullRequest {
                        title,
                        body: (self.body)(report),
                        branch: branch.clone(),
                        base,
                        head_sha: commit.clone(),
                        decision: Some(report.decision.clone()),
                    })
                    .await?;
                if !opened.already_existed && !policy.forge.labels.is_empty() {
                    if let Err(e) = self
                        .forge
                        .add_labels(opened.pull_request.number, &policy.forge.labels)
                        .await
                    {
                        notes.push(format!("labels not added: {e}"));
                    }
                }
                (opened.pull_request, opened.already_existed)
            }
        };
        if reused {
            if let Err(e) = self.forge.comment(pr.number, &comment).await {
                notes.push(format!("occurrence comment not posted: {e}"));
            }
        }
        // What we pushed is the head the merge must match.
        pr.head_sha = commit.clone();
        let (merge_commit, mut reason) = match self.decide_merge(ctx, &pr, report, policy).await {
            Ok(decided) => decided,
            Err(e) => (None, format!("not merged: {e}; left open for review")),
        };
        let merged = merge_commit.is_some();
        // The project's own deploy command, after a merge bugstack made.
        let deploy_command = match (&merge_commit, &policy.deploy) {
            (Some(commit), Some(cfg)) => {
                let run = run_deploy_command(
                    cfg,
                    &ctx.repo_root,
                    Merged {
                        commit,
                        branch: &branch,
                        base: &pr.base,
                        pull_request: pr.number,
                    },
                )
                .await;
                if !run.success {
                    notes.push(format!(
                        "the deploy command failed ({}); it is not retried",
                        match (run.timed_out, run.exit_code) {
                            (true, _) => format!("killed after {}s", cfg.timeout_secs),
                            (false, Some(code)) => format!("exit {code}"),
                            (false, None) => "did not run".to_string(),
                        }
                    ));
                }
                Some(run)
            }
            _ => None,
        };
        if reused {
            reason = format!("reused open pull request #{} for this fingerprint; {reason}", pr.number);
        }
        for note in notes {
            reason.push_str(&format!(" ({note})"));
        }
        let mut pull_request = pr.to_ref();
        if merged {
            pull_request.state = PullRequestState::Merged;
        }
        Ok(Deployment {
            branch,
            commit,
            pull_request,
            merged,
            reason,
            merge_commit,
            deploy_command,
        })
    }
}
