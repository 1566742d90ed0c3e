//! Release names to commits, and ancestry, through the codebase's one git
//! runner ([`bugstack_fix::git::Git`]).
//!
//! A release is (in this order) a name mapped by a `[releases]` pattern of
//! `bugstack.toml` to a tag or commit; a full or abbreviated commit id; a
//! tag of the same name (`v1.2.3`, `shop@1.2.3`, `shop-1.2.3`); or, for a
//! bare version (`1.2.3`), the tag `v1.2.3`. Branch names are never
//! releases (their tip moves). Release names come from events: anything
//! that is not a plain ref name is refused before git sees it.

use std::time::Duration;

use bugstack_fix::git::Git;
use bugstack_fix::ReleasePatterns;

/// Longest release name considered.
const MAX_RELEASE_LEN: usize = 200;

/// What a release name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// A commit, and how it was found (`commit`, `tag v1.2.3`, ...).
    Commit {
        /// The full commit id.
        commit: String,
        /// How the name was resolved.
        how: String,
    },
    /// No commit: why.
    Unknown(String),
}

/// Resolves release names to commits in one repository.
#[derive(Debug, Clone)]
pub struct ReleaseResolver {
    git: Git,
    remote: String,
    patterns: ReleasePatterns,
    fetch_timeout: Duration,
}

/// Whether `name` may be handed to git as (part of) a ref: ASCII letters,
/// digits and `._@+/-`, not starting with `-`, `.` or `/`, without `..`,
/// `@{` or `//`, at most [`MAX_RELEASE_LEN`] bytes.
pub fn is_plain_ref_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RELEASE_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'+' | b'/' | b'-'))
        && !name.starts_with(['-', '.', '/'])
        && !name.ends_with(['/', '.'])
        && !name.ends_with(".lock")
        && !name.contains("..")
        && !name.contains("@{")
        && !name.contains("//")
}

fn is_hex(name: &str) -> bool {
    (4..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_hexdigit())
}

impl ReleaseResolver {
    /// A resolver over the clone at `git`, fetching from `remote`, with
    /// the policy's `[releases]` patterns.
    pub fn new(git: Git, remote: &str, patterns: ReleasePatterns) -> Self {
        ReleaseResolver {
            git,
            remote: remote.to_string(),
            patterns,
            fetch_timeout: Duration::from_secs(120),
        }
    }

    /// Fetches the remote's branches and tags, so releases built from
    /// commits pushed elsewhere resolve. An error says why it failed (the
    /// checks then use what the clone already has).
    pub async fn fetch(&self) -> Result<(), String> {
        if !is_plain_ref_name(&self.remote) {
            return Err(format!("remote {:?} is not a remote name", self.remote));
        }
        let args = ["fetch", "--quiet", "--tags", "--force", self.remote.as_str()];
        let run = self.git.output(&args, &[], None);
        match tokio::time::timeout(self.fetch_timeout, run).await {
            Ok(Ok(out)) if out.success => Ok(()),
            Ok(Ok(out)) => Err(format!("git fetch {} failed: {}", self.remote, out.stderr)),
            Ok(Err(e)) => Err(format!("git fetch {} failed: {e}", self.remote)),
            Err(_) => Err(format!(
                "git fetch {} took longer than {}s",
                self.remote,
                self.fetch_timeout.as_secs()
            )),
        }
    }

    /// The commit `rev` names, if it names one.
    async fn commit(&self, rev: &str) -> Option<String> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .git
            .output(&["rev-parse", "--verify", "--quiet", &spec], &[], None)
            .await
            .ok()?;
        (out.success && !out.stdout.is_empty()).then_some(out.stdout)
    }

    /// A ref name (no pattern applied): a commit id, a tag, or `v` + a
    /// bare version's tag.
    async fn resolve_ref(&self, name: &str) -> Option<Resolution> {
        if is_hex(name) {
            if let Some(commit) = self.commit(name).await {
                return Some(Resolution::Commit {
                    commit,
                    how: "commit".into(),
                });
            }
        }
        if let Some(commit) = self.commit(&format!("refs/tags/{name}")).await {
            return Some(Resolution::Commit {
                commit,
                how: format!("tag {name}"),
            });
        }
        if name.starts_with(|c: char| c.is_ascii_digit()) {
            if let Some(commit) = self.commit(&format!("refs/tags/v{name}")).await {
                return Some(Resolution::Commit {
                    commit,
                    how: format!("tag v{name}"),
                });
            }
        }
        None
    }

    /// Resolves a release name (see the module docs).
    pub async fn resolve(&self, release: &str) -> Resolution {
        if !is_plain_ref_name(release) {
            return Resolution::Unknown("not a commit, tag or release name bugstack can look up".into());
        }
        if let Some(target) = self.patterns.map(release) {
            if !is_plain_ref_name(&target) {
                return Resolution::Unknown(format!("[releases] maps it to {target:?}, which is not a ref name"));
            }
            return match self.resolve_ref(&target).await {
                Some(Resolution::Commit { commit, how }) => Resolution::Commit {
                    commit,
                    how: format!("[releases] pattern → {how}"),
                },
                _ => Resolution::Unknown(format!(
                    "[releases] maps it to {target}, which is no tag or commit of the repository (after a fetch)"
                )),
            };
        }
        self.resolve_ref(release).await.unwrap_or_else(|| {
            Resolution::Unknown(
                "no commit or tag of that name in the repository (after a fetch), and no [releases] pattern matches"
                    .into(),
            )
        })
    }

    /// Whether `commit` has `fix` as an ancestor (or is it).
    pub async fn contains(&self, commit: &str, fix: &str) -> Result<bool, String> {
        let out = self
            .git
            .output(&["merge-base", "--is-ancestor", fix, commit], &[], None)
            .await
            .map_err(|e| e.to_string())?;
        match out.code {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(format!("git merge-base --is-ancestor failed: {}", out.stderr)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ref_names_reach_git() {
        for ok in [
            "v1.2.3",
            "shop@1.2.3",
            "shop-1.2.3",
            "9fceb02",
            "release/2024-05",
            "1.0+build.7",
        ] {
            assert!(is_plain_ref_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-c core.pager=sh",
            "--upload-pack=x",
            ".hidden",
            "a..b",
            "HEAD@{1}",
            "a b",
            "x:y",
            "a/",
            "refs//x",
            "x.lock",
            "ünïcode",
            &"a".repeat(201),
        ] {
            assert!(!is_plain_ref_name(bad), "{bad:?}");
        }
    }
}
