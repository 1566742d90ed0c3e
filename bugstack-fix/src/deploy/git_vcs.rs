//! [`GitVcs`]: the built-in [`Vcs`], over the `git` command line.
//!
//! The fix commit is built with plumbing only — the release commit's tree is
//! read into a *temporary* index (`GIT_INDEX_FILE`), the patch is applied to
//! it with `git apply --cached`, and `write-tree` / `commit-tree` /
//! `update-ref` make the commit and the branch. The user's working tree, index
//! and `HEAD` are never touched.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::base::BaseRef;
use super::vcs::{CommitIdentity, FixCommit, Vcs, FIX_BRANCH_PREFIX};
use crate::git::Git;
use crate::policy::ForgeConfig;
use crate::{Error, Patch, Result};

/// The built-in [`Vcs`]: the user's git repository, through the `git`
/// command line (one [`Git`] runner, which clears `GIT_DIR` and friends).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitVcs {
    root: PathBuf,
}

impl GitVcs {
    /// The repository at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        GitVcs { root: root.into() }
    }

    /// The repository's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    async fn git(&self, args: &[&str]) -> Result<String> {
        Git::new(&self.root).run(args).await
    }

    /// The tree of `base` with `patch` applied, written to the object
    /// database through a temporary index.
    async fn patched_tree(&self, base: &str, patch: &Patch) -> Result<String> {
        if let Some(bad) = patch.files.iter().find(|p| !crate::policy::is_inside_repository(p)) {
            return Err(Error::PatchDoesNotApply(format!("{bad} is outside the repository")));
        }
        let tmp = tempfile::Builder::new()
            .prefix("bugstack-index-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary index directory", e))?;
        let env = [("GIT_INDEX_FILE", tmp.path().join("index").into_os_string())];
        Git::new(&self.root).run_with(&["read-tree", base], &env, None).await?;
        let applied = Git::new(&self.root)
            .output(
                &["apply", "--cached", "--whitespace=nowarn", "-"],
                &env,
                Some(patch.diff.as_bytes()),
            )
            .await?;
        if !applied.success {
            return Err(Error::PatchDoesNotApply(format!(
                "git apply on {base}: {}",
                applied.stderr
            )));
        }
        Git::new(&self.root).run_with(&["write-tree"], &env, None).await
    }

    /// A commit of `tree` on top of `parent` with `message`.
    async fn commit_tree(&self, tree: &str, parent: &str, message: &str, identity: &CommitIdentity) -> Result<String> {
        Git::new(&self.root)
            .run_with(
                &["commit-tree", tree, "-p", parent, "-F", "-"],
                &identity.envs(),
                Some(message.as_bytes()),
            )
            .await
    }

    /// The commit a local branch points at, when it exists.
    async fn branch_tip(&self, branch: &str) -> Result<Option<String>> {
        Git::new(&self.root).branch_tip(branch).await
    }

    /// Whether `refname` is checked out in any work tree of the repository.
    async fn checked_out(&self, refname: &str) -> Result<bool> {
        let out = self.git(&["worktree", "list", "--porcelain"]).await?;
        Ok(out.lines().any(|l| l.strip_prefix("branch ") == Some(refname)))
    }

    /// `(tree, parents)` of a commit.
    async fn commit_shape(&self, commit: &str) -> Result<(String, Vec<String>)> {
        let tree = self.git(&["rev-parse", &format!("{commit}^{{tree}}")]).await?;
        let line = self.git(&["rev-list", "--parents", "-n1", commit]).await?;
        let parents = line.split_whitespace().skip(1).map(str::to_string).collect();
        Ok((tree, parents))
    }

    /// The commit `branch` points at on `remote` (a remote name, URL or
    /// path), when it exists there.
    async fn remote_branch(&self, remote: &str, branch: &str) -> Result<Option<String>> {
        let out = self
            .git(&["ls-remote", "--refs", remote, &format!("refs/heads/{branch}")])
            .await?;
        Ok(out.split_whitespace().next().map(str::to_string))
    }

    /// The short name of the ref `name` points to; `None` when it is not a
    /// symbolic ref (or does not exist).
    pub(crate) async fn symbolic_ref(&self, name: &str) -> Result<Option<String>> {
        let out = Git::new(&self.root)
            .output(&["symbolic-ref", "--quiet", "--short", name], &[], None)
            .await?;
        let target = out.stdout.trim();
        Ok((out.success && !target.is_empty()).then(|| target.to_string()))
    }
}

#[async_trait]
impl Vcs for GitVcs {
    // The full id of the commit `rev` names.
    async fn resolve_commit(&self, rev: &str) -> Result<String> {
        self.git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
            .await
            .map_err(|_| Error::Repo(format!("no commit named {rev:?} in {}", self.root.display())))
    }

    // Subjects of up to `n` recent non-merge commits reachable from `rev`,
    // newest first.
    async fn recent_subjects(&self, rev: &str, n: usize) -> Result<Vec<String>> {
        let out = self
            .git(&["log", "--no-merges", &format!("-n{n}"), "--format=%s", rev, "--"])
            .await?;
        Ok(out.lines().map(str::to_string).collect())
    }

    // Creates or moves the fix branch `branch` to a commit of `base` plus
    // `patch`, and returns the commit. When the branch already holds exactly
    // that change on that base, its commit is kept (a re-run does not
    // rewrite the branch); when the branch is checked out in a work tree it
    // is not moved (the commit is still returned, for pushing).
    async fn prepare_fix_branch(&self, branch: &str, fix: &FixCommit<'_>) -> Result<String> {
        ensure_fix_branch(branch)?;
        let base = self.resolve_commit(fix.base).await?;
        let tree = self.patched_tree(&base, fix.patch).await?;
        let old = self.branch_tip(branch).await?;
        if let Some(old) = &old {
            let (old_tree, parents) = self.commit_shape(old).await?;
            if old_tree == tree && parents == [base.clone()] {
                return Ok(old.clone());
            }
        }
        let commit = self.commit_tree(&tree, &base, fix.message, fix.identity).await?;
        let refname = format!("refs/heads/{branch}");
        if self.checked_out(&refname).await? {
            // Someone is looking at the branch in a work tree: moving it would
            // change what they see. The commit is pushed all the same.
            return Ok(commit);
        }
        let expected = old.unwrap_or_default();
        self.git(&["update-ref", "-m", "bugstack: fix branch", &refname, &commit, &expected])
            .await?;
        Ok(commit)
    }

    // The remote's default branch: the branch its `HEAD` points at; when
    // the remote does not say (its `HEAD` names a branch that does not
    // exist), the one this clone recorded for it (`refs/remotes/<remote>/HEAD`,
    // set by `git clone`); else the branch checked out here, when the
    // remote has it. `None` when none of these tells.
    async fn remote_default_branch(&self, remote: &str) -> Result<Option<String>> {
        let out = self.git(&["ls-remote", "--symref", remote, "HEAD"]).await?;
        let advertised = out.lines().find_map(|l| {
            l.strip_prefix("ref: refs/heads/")
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string)
        });
        if advertised.is_some() {
            return Ok(advertised);
        }
        let tracked = self.symbolic_ref(&format!("refs/remotes/{remote}/HEAD")).await?;
        let prefix = format!("{remote}/");
        if let Some(branch) = tracked
            .as_deref()
            .and_then(|t| t.strip_prefix(&prefix))
            .filter(|b| !b.is_empty())
        {
            return Ok(Some(branch.to_string()));
        }
        let Some(current) = self.symbolic_ref("HEAD").await? else {
            return Ok(None);
        };
        Ok(self.remote_branch(remote, &current).await?.map(|_| current))
    }

    // Pushes `commit` to `refs/heads/<branch>` on `remote`, with a lease on
    // the value the remote had when we looked (so a concurrent push is never
    // overwritten). Only fix branches can be pushed this way, and only over
    // a commit bugstack made (one carrying the fingerprint trailer): a
    // branch someone added commits to is left alone, with an error. Returns
    // whether anything changed on the remote.
    async fn push_fix_branch(&self, remote: &str, branch: &str, commit: &str) -> Result<bool> {
        ensure_fix_branch(branch)?;
        let current = self.remote_branch(remote, branch).await?;
        if current.as_deref() == Some(commit) {
            return Ok(false);
        }
        if let Some(tip) = &current {
            if !self.made_by_bugstack(remote, tip).await? {
                return Err(Error::Deploy(format!(
                    "{branch} on {remote} is at {tip}, a commit bugstack did not make; not overwriting it \
                     (delete the branch or let its pull request be reviewed)"
                )));
            }
        }
        let refname = format!("refs/heads/{branch}");
        let lease = format!("--force-with-lease={refname}:{}", current.unwrap_or_default());
        self.git(&["push", "--porcelain", &lease, remote, &format!("{commit}:{refname}")])
            .await
            .map_err(|e| Error::Deploy(format!("pushing {branch} to {remote}: {e}")))?;
        Ok(true)
    }

    async fn base(&self, forge: &ForgeConfig) -> Result<BaseRef> {
        super::base::resolve_base(&self.root, forge).await
    }
}

impl GitVcs {
    /// Whether `commit` (fetched from `remote` when missing here) carries the
    /// fingerprint trailer of a bugstack fix commit.
    async fn made_by_bugstack(&self, remote: &str, commit: &str) -> Result<bool> {
        let object = format!("{commit}^{{commit}}");
        let present = Git::new(&self.root)
            .output(&["cat-file", "-e", &object], &[], None)
            .await?
            .success;
        if !present {
            self.git(&["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, commit])
                .await?;
        }
        let message = self.git(&["log", "-1", "--format=%B", commit]).await?;
        let trailer = format!("\n{}: ", super::message::FINGERPRINT_TRAILER);
        Ok(message.contains(&trailer))
    }
}

fn ensure_fix_branch(branch: &str) -> Result<()> {
    let rest = branch.strip_prefix(FIX_BRANCH_PREFIX).unwrap_or_default();
    if rest.is_empty() || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::Deploy(format!(
            "refusing to write branch {branch:?}: bugstack only writes {FIX_BRANCH_PREFIX}<fingerprint> branches"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::vcs::{fix_branch_name, Person};
    use bugstack_core::Fingerprint;

    #[test]
    fn identity_falls_back_to_bugstack() {
        let id = CommitIdentity::from_lookup(|k| (k == "GIT_AUTHOR_NAME").then(|| "Ada".to_string()));
        assert_eq!(id.author.name, "Ada");
        assert_eq!(id.author.email, "bugstack@localhost");
        assert_eq!(id.committer, Person::bugstack());
    }

    fn git(dir: &Path, args: &[&str]) {
        let ok = crate::git::command(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    }

    #[tokio::test]
    async fn default_branch_falls_back_when_the_remote_head_dangles() {
        let dir = tempfile::tempdir().unwrap();
        // The bare remote's HEAD names `trunk`, which was never pushed.
        git(dir.path(), &["init", "-q", "--bare", "-b", "trunk", "remote.git"]);
        git(dir.path(), &["init", "-q", "-b", "main", "work"]);
        let work = dir.path().join("work");
        git(&work, &["commit", "-q", "--allow-empty", "-m", "init"]);
        git(&work, &["remote", "add", "origin", "../remote.git"]);
        let vcs = GitVcs::new(&work);
        // Nothing on the remote yet: nothing tells.
        git(&work, &["checkout", "-q", "-b", "feature"]);
        assert_eq!(vcs.remote_default_branch("origin").await.unwrap(), None);
        // The checked-out branch, once the remote has it.
        git(&work, &["push", "-q", "origin", "feature", "main"]);
        assert_eq!(
            vcs.remote_default_branch("origin").await.unwrap().as_deref(),
            Some("feature")
        );
        // What the clone recorded beats the checked-out branch.
        git(&work, &["remote", "set-head", "origin", "main"]);
        assert_eq!(
            vcs.remote_default_branch("origin").await.unwrap().as_deref(),
            Some("main")
        );
    }

    #[test]
    fn only_fix_branches_are_written() {
        assert!(ensure_fix_branch("bugstack/fix-0123456789ab").is_ok());
        for bad in ["main", "bugstack/fix-", "bugstack/fix-x/../main", "bugstack/fix-a b"] {
            assert!(ensure_fix_branch(bad).is_err(), "{bad}");
        }
        assert_eq!(
            fix_branch_name(&Fingerprint::from_hex("0123456789abcdef0123")),
            "bugstack/fix-0123456789ab"
        );
    }
}
