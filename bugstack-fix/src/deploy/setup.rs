//! Choosing the forge from `bugstack.toml`'s `[forge]` section.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::forge::Forge;
use super::github::GitHubForge;
use super::local::LocalForge;
use super::store::PullRequestStore;
use crate::git::Git;
use crate::policy::ForgeKind;
use crate::{Error, Policy, Result};

/// The local directory a remote (name, path or `file://` URL) points at, as
/// seen from the repository at `repo_root`.
pub async fn local_remote_path(repo_root: &Path, remote: &str) -> Result<PathBuf> {
    let out = Git::new(repo_root)
        .output(&["remote", "get-url", remote], &[], None)
        .await?;
    let url = if out.success { out.stdout } else { remote.to_string() };
    let path = PathBuf::from(url.strip_prefix("file://").unwrap_or(&url));
    let path = if path.is_relative() { repo_root.join(path) } else { path };
    if path.is_dir() {
        Ok(path)
    } else {
        Err(Error::Deploy(format!(
            "forge.kind = \"local\" needs a remote on this machine, but {remote:?} is {url:?}"
        )))
    }
}

/// The forge `policy.forge` names: the local forge over the bare repository
/// `forge.remote` points at (pull requests recorded in `store`), or GitHub
/// (token from `forge.token_env`).
pub async fn forge_from_policy(
    policy: &Policy,
    repo_root: &Path,
    store: Arc<dyn PullRequestStore>,
) -> Result<Arc<dyn Forge>> {
    Ok(match policy.forge.kind {
        ForgeKind::Local => Arc::new(LocalForge::new(
            local_remote_path(repo_root, &policy.forge.remote).await?,
            store,
        )),
        ForgeKind::Github => Arc::new(GitHubForge::from_forge_config(&policy.forge)?),
    })
}
