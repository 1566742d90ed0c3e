//! The base: the branch a fix merges into, and the commit it is validated
//! on. Resolved from the policy's `[forge]` after fetching the remote, never
//! from the event (whose release may name any revision).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::git_vcs::GitVcs;
use super::vcs::Vcs;
use crate::git::Git;
use crate::policy::ForgeConfig;
use crate::{Error, Result};

/// The branch fixes merge into and its tip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseRef {
    /// Branch name (`main`).
    pub branch: String,
    /// Its tip (full commit id): what a fix is applied to and validated on.
    pub commit: String,
    /// What the user should know (the remote could not be fetched, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Fetches `forge.remote` and resolves the base branch's tip: the branch
/// is `forge.base_branch`, else the remote's default branch; its tip is the
/// fetched remote-tracking ref, else (remote unreachable) the one this clone
/// last fetched, else the local branch of that name. A repository with no
/// such remote uses the branch checked out here. Each fallback is a warning.
pub async fn resolve_base(repo_root: &Path, forge: &ForgeConfig) -> Result<BaseRef> {
    let vcs = GitVcs::new(repo_root);
    let git = Git::new(repo_root);
    let remote = forge.remote.as_str();
    let mut warnings = Vec::new();
    let has_remote = git
        .output(&["remote", "get-url", "--", remote], &[], None)
        .await?
        .success;
    let branch = match (&forge.base_branch, has_remote) {
        (Some(b), _) => b.clone(),
        (None, true) => match vcs.remote_default_branch(remote).await {
            Ok(Some(b)) => b,
            Ok(None) | Err(_) => vcs.symbolic_ref("HEAD").await?.ok_or_else(|| {
                Error::Deploy(format!(
                    "cannot tell the default branch of remote {remote:?}; set forge.base_branch in bugstack.toml"
                ))
            })?,
        },
        (None, false) => vcs.symbolic_ref("HEAD").await?.ok_or_else(|| {
            Error::Deploy(format!(
                "no remote {remote:?} and no branch checked out: set forge.base_branch in bugstack.toml"
            ))
        })?,
    };
    if !valid_branch_name(&branch) {
        return Err(Error::Deploy(format!("{branch:?} is not a branch name")));
    }
    let tracking = format!("refs/remotes/{remote}/{branch}");
    if has_remote {
        let spec = format!("+refs/heads/{branch}:{tracking}");
        let fetched = git
            .output(&["fetch", "--quiet", "--no-tags", remote, &spec], &[], None)
            .await?;
        if !fetched.success {
            warnings.push(format!(
                "could not fetch {branch} from {remote} ({}); using the last fetched state",
                fetched.stderr.lines().last().unwrap_or("no reason given")
            ));
        }
        if let Ok(commit) = vcs.resolve_commit(&tracking).await {
            return Ok(BaseRef {
                branch,
                commit,
                warnings,
            });
        }
        warnings.push(format!("{remote} has no branch {branch}; using the local branch"));
    } else {
        warnings.push(format!("no remote {remote:?}: validating on the local branch {branch}"));
    }
    let commit = vcs
        .resolve_commit(&format!("refs/heads/{branch}"))
        .await
        .map_err(|_| Error::Deploy(format!("the base branch {branch} exists neither on {remote} nor here")))?;
    Ok(BaseRef {
        branch,
        commit,
        warnings,
    })
}

fn valid_branch_name(b: &str) -> bool {
    !b.is_empty()
        && !b.starts_with('-')
        && !b.contains("..")
        && !b.contains(|c: char| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c))
}
