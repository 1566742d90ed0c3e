//! [`RustContextBuilder`]: the built-in [`ContextBuilder`] for Rust
//! repositories.
//!
//! 1. **Revision.** [`RepoRef::revision`] when set; else the event's release
//!    when it names a revision (`<release>`, `v<release>`, `<crate>-v<release>`,
//!    `<crate>-<release>`, a commit id prefix); else `HEAD`, with a warning.
//!    Every file is read from git objects at that commit, never from the
//!    work tree (see [`super::revision`], [`super::objects`]).
//! 2. **Frames.** The panic location and the frames whose source path maps to
//!    a tracked file (see [`super::paths`]), innermost first, repeats
//!    dropped. Registry and standard-library frames are never targets
//!    ([`super::frames`]).
//! 3. **Snippets**, found with `syn`: the failing function (for a method, its
//!    text starts with the enclosing `impl`/`trait` header and a
//!    `// ...` line standing for the lines in between), the functions of
//!    the outer frames, the functions, types and constants the failing
//!    function names (resolved through `use` and the module tree), the
//!    file's `use` block, the tests that call the function, the crate's
//!    `Cargo.toml`. A file that does not parse gives a line window and a
//!    warning instead. See [`super::snippets`], [`super::used_items`] and
//!    [`super::test_snippets`].
//! 4. **Ranking** and the token budget: see [`super::rank`].

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::frames::{map_frames, no_frame_message};
use super::objects;
use super::paths::FileIndex;
use super::rank::{rank_and_cut, SnippetCandidate};
use super::resolve::Session;
use super::revision::resolve_revision;
use super::snippets::{caller_snippets, fit_failing_function, target_snippets};
use super::syntax;
use super::{ContextBuilder, FixContext, RepoRef, Snippet, SnippetKind};
use crate::{Error, Incident, Result};

/// Builds a [`FixContext`] for Rust code with `syn`, reading the repository
/// through git at the event's release.
#[derive(Debug, Clone)]
pub struct RustContextBuilder {
    token_budget: usize,
    max_files: usize,
}

impl Default for RustContextBuilder {
    fn default() -> Self {
        RustContextBuilder {
            token_budget: RustContextBuilder::DEFAULT_TOKEN_BUDGET,
            max_files: RustContextBuilder::DEFAULT_MAX_FILES,
        }
    }
}

#[async_trait]
impl ContextBuilder for RustContextBuilder {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        let this = self.clone();
        let incident = incident.clone();
        let repo = repo.clone();
        tokio::task::spawn_blocking(move || {
            let ctx = this.build_blocking(&incident, &repo);
            // Spans of the files parsed on this (pooled) thread are no longer
            // needed: release them so the span table does not grow forever.
            proc_macro2::extra::invalidate_current_thread_spans();
            ctx
        })
        .await
        .map_err(|e| Error::Context(format!("the context task failed: {e}")))?
    }
}

impl RustContextBuilder {
    /// Default token budget of [`RustContextBuilder`].
    pub const DEFAULT_TOKEN_BUDGET: usize = 6000;
    /// Default number of full files kept in [`FixContext::files`].
    pub const DEFAULT_MAX_FILES: usize = 4;

    /// A builder with the default budget ([`RustContextBuilder::DEFAULT_TOKEN_BUDGET`] tokens,
    /// [`RustContextBuilder::DEFAULT_MAX_FILES`] full files).
    pub fn new() -> Self {
        Self::default()
    }

    /// Cuts snippets to `tokens` (estimated with [`super::estimate_tokens`]).
    pub fn with_token_budget(mut self, tokens: usize) -> Self {
        self.token_budget = tokens;
        self
    }

    /// Keeps at most `files` full files in [`FixContext::files`].
    pub fn with_max_files(mut self, files: usize) -> Self {
        self.max_files = files;
        self
    }

    /// The token budget.
    pub fn token_budget(&self) -> usize {
        self.token_budget
    }

    /// Builds the context on the calling thread (runs `git`, blocks). The
    /// async [`ContextBuilder::build`] runs this on a blocking thread.
    pub fn build_blocking(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        let root = repo.root.as_path();
        objects::check_repository(root)?;
        let mut warnings = Vec::new();
        let commit = resolve_revision(root, incident, repo, &mut warnings)?;
        let index = FileIndex::new(objects::list_files(root, &commit)?);
        let frames = map_frames(&index, &incident.event);
        if frames.is_empty() {
            return Err(Error::Context(no_frame_message(&incident.event, &commit)));
        }
        let mut session = Session::new(root, &commit, index);
        let mut cands = Vec::new();
        let target_fn = target_snippets(&mut session, &frames[0], &mut cands, &mut warnings)?;
        caller_snippets(&mut session, &frames, target_fn.as_ref(), &mut cands, &mut warnings)?;
        if let Some(krate) = session.crate_of(&frames[0].path)? {
            if let Some(text) = session.text(&krate.manifest)? {
                cands.push(SnippetCandidate {
                    snippet: Snippet {
                        kind: SnippetKind::Manifest,
                        path: krate.manifest.clone(),
                        start_line: 1,
                        end_line: syntax::line_count(&text).max(1),
                        item: krate.name.clone(),
                        reason: "manifest of the failing crate".into(),
                        text,
                    },
                    distance: 0,
                    item_start: None,
                });
            }
        }
        let mut files = BTreeMap::new();
        for f in &frames {
            if files.len() >= self.max_files {
                break;
            }
            if !files.contains_key(&f.path) {
                if let Some(text) = session.text(&f.path)? {
                    files.insert(f.path.clone(), text);
                }
            }
        }
        let budget = self.token_budget;
        let target_text = session.text(&frames[0].path)?;
        fit_failing_function(&mut cands, target_text.as_deref(), budget, &frames[0], &mut warnings);
        let ranked = rank_and_cut(cands, budget);
        if ranked.omitted > 0 {
            warnings.push(format!(
                "{} snippet(s) left out to stay within the {budget}-token budget",
                ranked.omitted
            ));
        }
        // Paths are relative to the top level of the work tree; when `root`
        // is a directory inside it, the context names the top level.
        let repo_root = objects::toplevel(root).unwrap_or_else(|| repo.root.clone());
        let base = match &repo.base {
            Some(b) if objects::plain_revision(b) => Some(objects::resolve_commit(root, b).ok_or_else(|| {
                Error::Repo(format!(
                    "base {} is unknown in {}",
                    super::revision::quote(b),
                    root.display()
                ))
            })?),
            Some(b) => {
                return Err(Error::Repo(format!(
                    "{} is not a plain git revision name",
                    super::revision::quote(b)
                )))
            }
            None => None,
        }
        .filter(|b| *b != commit);
        Ok(FixContext {
            incident: incident.clone(),
            repo_root,
            revision: commit,
            base,
            frames,
            snippets: ranked.snippets,
            files,
            token_budget: budget,
            tokens_used: ranked.tokens,
            warnings,
        })
    }
}
