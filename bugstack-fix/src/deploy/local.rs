//! The local forge: the embedded default, no network. Fix branches live on a
//! local bare repository (the configured remote); pull requests are records
//! in a [`PullRequestStore`]; merging happens inside the bare repository
//! with plumbing (`merge-base`, `merge-tree --write-tree`, `commit-tree`,
//! `update-ref`), so no work tree is ever checked out. CI is the report's own
//! validation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bugstack_core::Timestamp;

use super::forge::{CiStatus, Comment, Forge, MergeOutcome, NewPullRequest, Opened, PullRequest};
use super::store::{JsonPullRequestStore, PullRequestStore};
use super::vcs::CommitIdentity;
use crate::git::Git;
use crate::policy::MergeMethod;
use crate::{Error, FixReport, PullRequestState, Result};

/// Pull requests on a local bare repository.
#[derive(Clone)]
pub struct LocalForge {
    remote: PathBuf,
    store: Arc<dyn PullRequestStore>,
    identity: CommitIdentity,
}

impl std::fmt::Debug for LocalForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalForge")
            .field("remote", &self.remote)
            .finish_non_exhaustive()
    }
}

impl LocalForge {
    /// A forge over the bare repository at `remote`, recording pull requests
    /// in `store`. Merge commits are made by [`CommitIdentity::from_env`].
    pub fn new(remote: impl Into<PathBuf>, store: Arc<dyn PullRequestStore>) -> Self {
        LocalForge {
            remote: remote.into(),
            store,
            identity: CommitIdentity::from_env(),
        }
    }

    /// A forge over `remote` with pull requests in `<store_dir>/pulls.json`.
    pub fn with_json_store(remote: impl Into<PathBuf>, store_dir: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(remote, Arc::new(JsonPullRequestStore::open(store_dir)?)))
    }

    /// Uses `identity` for merge commits.
    pub fn with_identity(mut self, identity: CommitIdentity) -> Self {
        self.identity = identity;
        self
    }

    /// The bare repository.
    pub fn remote(&self) -> &Path {
        &self.remote
    }

    /// The pull request store.
    pub fn store(&self) -> &Arc<dyn PullRequestStore> {
        &self.store
    }

    fn url(&self, number: u64) -> String {
        format!("local://{}/pulls/{number}", self.remote.display())
    }

    async fn tip(&self, branch: &str) -> Result<Option<String>> {
        Git::new(&self.remote).branch_tip(branch).await
    }
}

#[async_trait]
impl Forge for LocalForge {
    fn name(&self) -> &str {
        "local"
    }

    async fn find_open_pull_request(&self, branch: &str) -> Result<Option<PullRequest>> {
        let Some(pr) = self.store.find_open(branch)? else {
            return Ok(None);
        };
        // A push moves the head, as on a real forge.
        match self.tip(branch).await? {
            Some(tip) if tip != pr.head_sha => {
                Ok(Some(self.store.update(pr.number, &mut |p| p.head_sha = tip.clone())?))
            }
            _ => Ok(Some(pr)),
        }
    }

    async fn open_pull_request(&self, new: &NewPullRequest) -> Result<Opened> {
        match self.tip(&new.branch).await? {
            Some(tip) if tip == new.head_sha => {}
            Some(tip) => {
                return Err(Error::Deploy(format!(
                    "branch {} on {} is at {tip}, not {}",
                    new.branch,
                    self.remote.display(),
                    new.head_sha
                )))
            }
            None => {
                return Err(Error::Deploy(format!(
                    "branch {} was not pushed to {}",
                    new.branch,
                    self.remote.display()
                )))
            }
        }
        if self.tip(&new.base).await?.is_none() {
            return Err(Error::Deploy(format!(
                "base branch {} does not exist on {}",
                new.base,
                self.remote.display()
            )));
        }
        if let Some(existing) = self.find_open_pull_request(&new.branch).await? {
            return Ok(Opened {
                pull_request: existing,
                already_existed: true,
            });
        }
        let pr = self.store.create(new, &|n| self.url(n))?;
        Ok(Opened {
            pull_request: pr,
            already_existed: false,
        })
    }

    async fn comment(&self, number: u64, body: &str) -> Result<()> {
        self.store.update(number, &mut |p| {
            p.comments.push(Comment {
                at: Timestamp::now(),
                body: body.to_string(),
            })
        })?;
        Ok(())
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        self.store.update(number, &mut |p| {
            for l in labels {
                if !p.labels.contains(l) {
                    p.labels.push(l.clone());
                }
            }
        })?;
        Ok(())
    }

    async fn ci_status(&self, _head_sha: &str, report: &FixReport) -> Result<CiStatus> {
        let Some(fix) = &report.fix else {
            return Ok(CiStatus::Failure("the report has no validated fix".into()));
        };
        let validation = report
            .attempts
            .iter()
            .rev()
            .find(|a| a.patch.as_ref() == Some(fix))
            .and_then(|a| a.validation.as_ref());
        Ok(match validation {
            None => CiStatus::Failure("the fix was never validated".into()),
            Some(v) if v.passed() => CiStatus::Success,
            Some(v) => {
                let failed: Vec<&str> = v
                    .checks
                    .iter()
                    .filter(|c| c.blames_fix())
                    .map(|c| c.name.as_str())
                    .collect();
                CiStatus::Failure(if failed.is_empty() {
                    "no check passed".into()
                } else {
                    format!("failed checks: {}", failed.join(", "))
                })
            }
        })
    }

    async fn merge(&self, pr: &PullRequest, method: MergeMethod) -> Result<MergeOutcome> {
        let not_merged = |reason: String| Ok(MergeOutcome::NotMerged { reason });
        let current = self.store.get(pr.number)?;
        if current.as_ref().map(|p| p.state) != Some(PullRequestState::Open) {
            return not_merged(format!("pull request #{} is not open", pr.number));
        }
        let Some(head) = self.tip(&pr.branch).await? else {
            return not_merged(format!("branch {} no longer exists", pr.branch));
        };
        if head != pr.head_sha {
            return not_merged(format!(
                "head of {} moved to {head} (expected {}); not merged",
                pr.branch, pr.head_sha
            ));
        }
        let Some(base) = self.tip(&pr.base).await? else {
            return not_merged(format!("base branch {} does not exist", pr.base));
        };
        let fast_forward = Git::new(&self.remote)
            .output(&["merge-base", "--is-ancestor", &base, &head], &[], None)
            .await?
            .success;
        let new_tip = if fast_forward {
            head.clone()
        } else {
            let merged = Git::new(&self.remote)
                .output(
                    &[
                        "merge-tree",
                        "--write-tree",
                        "--name-only",
                        "--no-messages",
                        &base,
                        &head,
                    ],
                    &[],
                    None,
                )
                .await?;
            if merged.code == Some(1) {
                let files: Vec<&str> = merged.stdout.lines().skip(1).filter(|l| !l.is_empty()).collect();
                return not_merged(format!(
                    "merge conflict with {} in: {}",
                    pr.base,
                    if files.is_empty() {
                        "(unknown files)".to_string()
                    } else {
                        files.join(", ")
                    }
                ));
            }
            if !merged.success {
                return Err(Error::Git {
                    command: "merge-tree --write-tree".into(),
                    dir: self.remote.clone(),
                    stderr: merged.stderr,
                });
            }
            let tree = merged.stdout.lines().next().unwrap_or_default().to_string();
            let (message, parents) = match method {
                MergeMethod::Squash => (format!("{} (#{})\n", pr.title, pr.number), vec![base.clone()]),
                MergeMethod::Merge | MergeMethod::Rebase => (
                    format!("Merge pull request #{} from {}\n\n{}\n", pr.number, pr.branch, pr.title),
                    vec![base.clone(), head.clone()],
                ),
            };
            let mut args = vec!["commit-tree".to_string(), tree];
            for p in parents {
                args.extend(["-p".to_string(), p]);
            }
            args.extend(["-F".to_string(), "-".to_string()]);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env = self.identity.envs();
            Git::new(&self.remote)
                .run_with(&args, &env, Some(message.as_bytes()))
                .await?
        };
        let refname = format!("refs/heads/{}", pr.base);
        let moved = Git::new(&self.remote)
            .output(
                &["update-ref", "-m", "bugstack: merge", &refname, &new_tip, &base],
                &[],
                None,
            )
            .await?;
        if !moved.success {
            return not_merged(format!("{} moved during the merge: {}", pr.base, moved.stderr));
        }
        self.store.update(pr.number, &mut |p| {
            p.state = PullRequestState::Merged;
            p.merge_commit = Some(new_tip.clone());
        })?;
        Ok(MergeOutcome::Merged { sha: new_tip })
    }
}
