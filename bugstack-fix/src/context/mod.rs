//! Stage 1, context: from an incident and a repository to the few pieces of
//! source code that matter — the [`FixContext`].
//!
//! A [`ContextBuilder`] maps the event's frames to files of the repository at
//! the event's release, then gathers the erroring function, the items it uses,
//! the tests that exercise it and the manifest, ranked and cut to a token
//! budget.

use std::collections::BTreeMap;
use std::path::PathBuf;

use async_trait::async_trait;
use bugstack_core::omit_empty;
use serde::{Deserialize, Serialize};

use crate::{Incident, Result};

mod frames;
mod objects;
mod paths;
mod rank;
mod resolve;
mod revision;
mod rust;
mod snippets;
mod syntax;
mod test_snippets;
mod used_items;

pub use rust::RustContextBuilder;

/// Stage 1: the few pieces of a repository that matter for an incident.
///
/// A context builder reads the repository at the revision that failed and
/// returns a [`FixContext`]: the event's frames mapped to files of the
/// repository (the fix target first), ranked source snippets cut to a token
/// budget, and the full text of the files a fix may edit. The context is
/// plain data, recorded in the report, so a run can be replayed without the
/// repository. The built-in builder is [`RustContextBuilder`].
///
/// # Contract
///
/// - **Read, never write.** The repository's work tree, index and refs are
///   left as they are (the built-in builder reads git objects at the
///   event's release, not the work tree).
/// - **The target comes first.** [`FixContext::frames`]`[0]` is where the
///   fix most likely goes, and [`FixContext::files`] holds the full text of
///   each file a generator may edit (generators edit exact byte spans).
/// - **Event data is untrusted.** File paths, function names and release
///   names come from production: never hand them to a shell or to git as
///   options.
/// - **An error stops the run.** Return one when no useful context exists
///   (no frame maps to the repository, unknown revision); the pipeline
///   records it as the run's outcome.
/// - **Don't block the executor.** Run git and parsing on a blocking thread
///   (`tokio::task::spawn_blocking`).
///
/// # Example
///
/// A builder serving one file from memory (a test double, or code that does
/// not live in a git repository):
///
/// ```
/// use std::collections::BTreeMap;
///
/// use async_trait::async_trait;
/// use bugstack_fix::{ContextBuilder, Error, FixContext, Incident, RepoFrame, RepoRef, Result};
///
/// struct OneFile {
///     path: String,
///     text: String,
/// }
///
/// #[async_trait]
/// impl ContextBuilder for OneFile {
///     async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
///         let location = incident.event.location.as_ref()
///             .filter(|l| l.file.ends_with(&self.path))
///             .ok_or_else(|| Error::Context(format!("the panic is not in {}", self.path)))?;
///         Ok(FixContext {
///             base: repo.base.clone(),
///             frames: vec![RepoFrame {
///                 frame_index: None,
///                 path: self.path.clone(),
///                 line: location.line,
///                 column: location.column,
///                 function: None,
///             }],
///             files: BTreeMap::from([(self.path.clone(), self.text.clone())]),
///             ..FixContext::new(incident.clone(), repo.root.clone(), "in-memory")
///         })
///     }
/// }
/// ```
///
/// [The custom-stages example](crate#custom-stages)
/// (`bugstack-fix/examples/custom_backend.rs`) runs such a builder in a
/// [`Pipeline`](crate::Pipeline) with a custom generator, model and
/// validator.
#[async_trait]
pub trait ContextBuilder: Send + Sync {
    /// Builds the context, or says why it cannot (no frame maps to the
    /// repository, unknown revision, ...).
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext>;
}

/// Which repository, and at which revision, to build context from.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoRef {
    /// The repository's root directory (its work tree is only read through
    /// git objects, never modified).
    pub root: PathBuf,
    /// Git revision to read at (tag, branch or commit). `None`: use the
    /// event's release when it names a revision, else `HEAD` with a warning.
    pub revision: Option<String>,
    /// The commit a fix is validated on and merged into: the base branch's
    /// tip, resolved by the caller after fetching (see
    /// [`crate::deploy::resolve_base`]). `None`: the context's revision. The
    /// event never chooses it.
    pub base: Option<String>,
}

impl RepoRef {
    /// The repository at `root`, revision chosen from the event.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        RepoRef {
            root: root.into(),
            revision: None,
            base: None,
        }
    }

    /// The same repository, fixes validated on and merged into `commit`.
    pub fn with_base(mut self, commit: impl Into<String>) -> Self {
        self.base = Some(commit.into());
        self
    }

    /// The same repository at an explicit revision.
    pub fn at(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }
}

/// A stack frame mapped to a file of the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoFrame {
    /// Index of the frame in the event's `frames` (0 = innermost); `None`
    /// for the panic location when it is not one of the frames.
    pub frame_index: Option<usize>,
    /// Path relative to the repository root, `/`-separated.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// The frame's function path, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

/// What a snippet is, which also orders snippets by importance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnippetKind {
    /// The function the error arose in (with its enclosing impl header).
    FailingFunction,
    /// A function further up the stack.
    Caller,
    /// A function the failing function calls.
    Callee,
    /// A type (struct, enum, alias, trait) the failing function names.
    Type,
    /// A constant or static the failing function names.
    Constant,
    /// `use` declarations of the failing file.
    Imports,
    /// A test that exercises the failing function.
    Test,
    /// The crate manifest (`Cargo.toml`).
    Manifest,
}

/// A piece of source code in the context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snippet {
    /// What it is.
    pub kind: SnippetKind,
    /// Path relative to the repository root.
    pub path: String,
    /// First line (1-based, inclusive).
    pub start_line: u32,
    /// Last line (1-based, inclusive).
    pub end_line: u32,
    /// The item's name (`Cart::total`, `MAX_ITEMS`), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// Why it was included, in a few words ("called at cart.rs:41").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The source text of lines `start_line..=end_line`.
    pub text: String,
}

/// Everything a generator needs, as plain data (recorded in the report, so a
/// run can be replayed without the repository).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixContext {
    /// The incident being fixed (untrusted event data inside).
    pub incident: Incident,
    /// The repository root.
    pub repo_root: PathBuf,
    /// The commit the context was read at (full id).
    pub revision: String,
    /// The commit the fix is validated on and merged into (full id), when
    /// it is not `revision` ([`RepoRef::base`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Frames that map to repository files, innermost first. The first one
    /// is the fix target.
    pub frames: Vec<RepoFrame>,
    /// Ranked snippets, most important first, within the token budget.
    pub snippets: Vec<Snippet>,
    /// Full text at `revision` of the files the in-repo frames point into
    /// (path → text), so generators can edit exact byte spans.
    pub files: BTreeMap<String, String>,
    /// Token budget the snippets were cut to.
    pub token_budget: usize,
    /// Estimated tokens the snippets use.
    pub tokens_used: usize,
    /// Things the user should know ("release unknown; used HEAD").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl FixContext {
    /// The context of `incident` at commit `revision` of `repo_root`,
    /// before anything is read: no frames, snippets, files or warnings, and
    /// no token budget. A [`ContextBuilder`] fills in the rest:
    ///
    /// ```
    /// # use bugstack_fix::{FixContext, Incident};
    /// # fn read(incident: Incident) -> FixContext {
    /// FixContext {
    ///     token_budget: 6_000,
    ///     ..FixContext::new(incident, "/srv/shop", "4f2c0d9")
    /// }
    /// # }
    /// ```
    pub fn new(incident: Incident, repo_root: impl Into<PathBuf>, revision: impl Into<String>) -> FixContext {
        FixContext {
            incident,
            repo_root: repo_root.into(),
            revision: revision.into(),
            base: None,
            frames: Vec::new(),
            snippets: Vec::new(),
            files: BTreeMap::new(),
            token_budget: 0,
            tokens_used: 0,
            warnings: Vec::new(),
        }
    }

    /// The commit a candidate is applied to, validated on and committed
    /// onto: [`FixContext::base`], else [`FixContext::revision`].
    pub fn validation_commit(&self) -> &str {
        self.base.as_deref().unwrap_or(&self.revision)
    }

    /// The innermost in-repo frame: where the fix most likely goes.
    pub fn target(&self) -> Option<&RepoFrame> {
        self.frames.first()
    }

    /// The full text of a file in [`FixContext::files`].
    pub fn file(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }
}

/// Rough token estimate for budgets: one token per ~4 bytes of source.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(4)
}
