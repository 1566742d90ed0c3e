//! [`Vcs`]: what deployment needs from version control, and the names and
//! identities of fix commits.
//!
//! The trait comes first; the built-in implementation is
//! [`GitVcs`](super::GitVcs), over the `git` command line.

use std::ffi::OsString;

use async_trait::async_trait;
use bugstack_core::Fingerprint;

use super::base::BaseRef;
use crate::policy::ForgeConfig;
use crate::{Patch, Result};

/// What [`ForgeDeployer`](super::ForgeDeployer) needs from the repository:
/// the base a fix is validated on, the fix commit on its branch, and the
/// push. The built-in backend is [`GitVcs`](super::GitVcs); another version
/// control system (a server-side git library, a monorepo tool) plugs in
/// with [`ForgeDeployer::with_vcs`](super::ForgeDeployer::with_vcs).
///
/// # Contract
///
/// - [`prepare_fix_branch`](Vcs::prepare_fix_branch) never touches the
///   user's working tree, index or checked-out branch; it only writes
///   branches named by [`fix_branch_name`] (prefix [`FIX_BRANCH_PREFIX`]),
///   and a re-run with the same change on the same base keeps the commit.
/// - [`push_fix_branch`](Vcs::push_fix_branch) never overwrites a commit
///   bugstack did not make, and never a remote branch that moved since it
///   looked (a lease).
/// - [`base`](Vcs::base) fetches first, so the commit it names is the tip a
///   merge would land on; what it could not do goes in
///   [`BaseRef::warnings`] (an unfetchable remote is a warning, not an
///   error), and the deployer refuses to auto-merge on a base with warnings.
///
/// # Example
///
/// A backend that records what is pushed, and leaves the rest to git
/// (a whole custom stage is in `bugstack-fix/examples/custom_backend.rs`):
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use async_trait::async_trait;
/// use bugstack_fix::{BaseRef, FixCommit, ForgeConfig, ForgeDeployer, GitVcs, LocalForge, Result, Vcs};
///
/// struct AuditedGit {
///     git: GitVcs,
///     pushed: Mutex<Vec<String>>,
/// }
///
/// #[async_trait]
/// impl Vcs for AuditedGit {
///     async fn base(&self, forge: &ForgeConfig) -> Result<BaseRef> {
///         self.git.base(forge).await
///     }
///     async fn resolve_commit(&self, rev: &str) -> Result<String> {
///         self.git.resolve_commit(rev).await
///     }
///     async fn recent_subjects(&self, rev: &str, n: usize) -> Result<Vec<String>> {
///         self.git.recent_subjects(rev, n).await
///     }
///     async fn prepare_fix_branch(&self, branch: &str, commit: &FixCommit<'_>) -> Result<String> {
///         self.git.prepare_fix_branch(branch, commit).await
///     }
///     async fn remote_default_branch(&self, remote: &str) -> Result<Option<String>> {
///         self.git.remote_default_branch(remote).await
///     }
///     async fn push_fix_branch(&self, remote: &str, branch: &str, commit: &str) -> Result<bool> {
///         self.pushed.lock().unwrap().push(format!("{branch} {commit}"));
///         self.git.push_fix_branch(remote, branch, commit).await
///     }
/// }
///
/// # fn build() -> Result<()> {
/// let vcs = Arc::new(AuditedGit { git: GitVcs::new("/srv/shop"), pushed: Mutex::default() });
/// let forge = LocalForge::with_json_store("/srv/git/shop.git", ".bugstack")?;
/// let deployer = ForgeDeployer::with_plain_body(Arc::new(forge)).with_vcs(vcs);
/// # let _ = deployer; Ok(()) }
/// ```
#[async_trait]
pub trait Vcs: Send + Sync {
    /// Fetches the policy's remote and names the base branch and its tip
    /// (see [`resolve_base`](super::resolve_base) for git's rules).
    async fn base(&self, forge: &ForgeConfig) -> Result<BaseRef>;

    /// The full id of the commit `rev` names.
    async fn resolve_commit(&self, rev: &str) -> Result<String>;

    /// Subjects of up to `n` recent non-merge commits reachable from `rev`,
    /// newest first (to write the fix commit in the project's style).
    async fn recent_subjects(&self, rev: &str, n: usize) -> Result<Vec<String>>;

    /// Creates or moves the fix branch `branch` to `commit` (its patch on
    /// its base), and returns the commit's id. When the branch already
    /// holds exactly that change on that base, its commit is kept; when the
    /// branch is checked out somewhere it is not moved (the commit is still
    /// returned, for pushing).
    async fn prepare_fix_branch(&self, branch: &str, commit: &FixCommit<'_>) -> Result<String>;

    /// The remote's default branch, when it can be told.
    async fn remote_default_branch(&self, remote: &str) -> Result<Option<String>>;

    /// Pushes `commit` to `branch` on `remote` with a lease; returns whether
    /// anything changed there.
    async fn push_fix_branch(&self, remote: &str, branch: &str, commit: &str) -> Result<bool>;
}

/// The commit [`Vcs::prepare_fix_branch`] puts on a fix branch: `patch` on
/// `base`, with `message`, by `identity`.
#[derive(Debug, Clone, Copy)]
pub struct FixCommit<'a> {
    /// The commit the patch applies to (any revision
    /// [`Vcs::resolve_commit`] names).
    pub base: &'a str,
    /// The change.
    pub patch: &'a Patch,
    /// The commit message.
    pub message: &'a str,
    /// Author and committer.
    pub identity: &'a CommitIdentity,
}

/// Every fix branch starts with this; bugstack only ever rewrites branches
/// that do.
pub const FIX_BRANCH_PREFIX: &str = "bugstack/fix-";

/// The fix branch for a fingerprint: `bugstack/fix-<short fingerprint>`.
pub fn fix_branch_name(fingerprint: &Fingerprint) -> String {
    format!("{FIX_BRANCH_PREFIX}{}", fingerprint.short())
}

/// A name and e-mail address for commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Name.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

impl Person {
    /// `bugstack <bugstack@localhost>`.
    pub fn bugstack() -> Self {
        Person {
            name: "bugstack".into(),
            email: "bugstack@localhost".into(),
        }
    }
}

/// Author and committer of fix commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitIdentity {
    /// The author.
    pub author: Person,
    /// The committer.
    pub committer: Person,
}

impl Default for CommitIdentity {
    fn default() -> Self {
        CommitIdentity {
            author: Person::bugstack(),
            committer: Person::bugstack(),
        }
    }
}

impl CommitIdentity {
    /// From `GIT_AUTHOR_NAME` / `GIT_AUTHOR_EMAIL` / `GIT_COMMITTER_NAME` /
    /// `GIT_COMMITTER_EMAIL`, each falling back to `bugstack <bugstack@localhost>`
    /// (the user's git configuration is not consulted).
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Like [`CommitIdentity::from_env`] with a custom variable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str, default: String| {
            lookup(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .unwrap_or(default)
        };
        let d = Person::bugstack();
        CommitIdentity {
            author: Person {
                name: get("GIT_AUTHOR_NAME", d.name.clone()),
                email: get("GIT_AUTHOR_EMAIL", d.email.clone()),
            },
            committer: Person {
                name: get("GIT_COMMITTER_NAME", d.name),
                email: get("GIT_COMMITTER_EMAIL", d.email),
            },
        }
    }

    pub(crate) fn envs(&self) -> Vec<(&'static str, OsString)> {
        vec![
            ("GIT_AUTHOR_NAME", self.author.name.clone().into()),
            ("GIT_AUTHOR_EMAIL", self.author.email.clone().into()),
            ("GIT_COMMITTER_NAME", self.committer.name.clone().into()),
            ("GIT_COMMITTER_EMAIL", self.committer.email.clone().into()),
        ]
    }
}
