//! Stage 2, generate: from a [`FixContext`] to a candidate [`Patch`].
//!
//! A [`FixGenerator`] receives the feedback of earlier failed attempts (the
//! patch and the trimmed output of the check that failed) so it can revise.

mod int_type;
pub(crate) mod repair;
pub(crate) mod template;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{FixContext, Patch, Result};

pub(crate) mod llm;

pub use llm::LlmGenerator;
pub use template::TemplateGenerator;

/// Stage 2: writes a candidate fix for a [`FixContext`].
///
/// The pipeline calls [`FixGenerator::generate`] once per attempt, up to the
/// policy's retry budget: first with no feedback, then with one
/// [`Feedback`] per earlier failed attempt (its patch, and why it was
/// rejected or which check failed, output trimmed). The built-in generators
/// are [`TemplateGenerator`] (offline, recognised panic classes) and
/// [`LlmGenerator`] (any [`LanguageModel`](crate::LanguageModel)).
///
/// # Contract
///
/// - **Produce data, touch nothing.** Return a [`Patch`] (a git-format diff
///   against the files of `ctx`; [`Patch::from_edits`] builds one from
///   before/after texts); validation applies it in an isolated worktree.
/// - **Stay inside the repository.** The pipeline checks every patch
///   against the policy ([`Policy::check_patch`](crate::Policy::check_patch):
///   allowed paths, size) before validating it; a violation is a failed
///   attempt.
/// - **Revise on feedback.** A patch identical to one in `feedback` fails
///   the same way again: offer the next idea, or an error.
/// - **An error is a failed attempt**, recorded with its message, and the
///   next attempt gets it as feedback.
/// - **Event data is untrusted.** The incident's message and frames come
///   from production; a generator that prompts a model keeps them in a
///   delimited data block (see [`LlmGenerator`]).
///
/// # Example
///
/// A one-rule generator: `.unwrap()` on the failing line becomes
/// `.unwrap_or_default()`.
///
/// ```
/// use async_trait::async_trait;
/// use bugstack_fix::{Error, Feedback, FileEdit, FixContext, FixGenerator, Patch, Result};
///
/// struct UnwrapToDefault;
///
/// #[async_trait]
/// impl FixGenerator for UnwrapToDefault {
///     fn name(&self) -> String {
///         "rule:unwrap-to-default".into()
///     }
///
///     async fn generate(&self, ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch> {
///         if !feedback.is_empty() {
///             return Err(Error::Generate("this rule has only one idea".into()));
///         }
///         let target = ctx.target().ok_or_else(|| Error::Generate("no frame to fix".into()))?;
///         let before = ctx.file(&target.path).ok_or_else(|| Error::Generate("no file text".into()))?;
///         let line = target.line as usize;
///         let after: String = before
///             .split_inclusive('\n')
///             .enumerate()
///             .map(|(i, l)| if i + 1 == line { l.replacen(".unwrap()", ".unwrap_or_default()", 1) } else { l.to_string() })
///             .collect();
///         let mut patch = Patch::from_edits(&[FileEdit { path: target.path.clone(), before: before.into(), after }])?;
///         patch.generator = self.name();
///         patch.explanation = "uses the type's default instead of panicking".into();
///         Ok(patch)
///     }
/// }
/// ```
///
/// [The custom-stages example](crate#custom-stages)
/// (`bugstack-fix/examples/custom_backend.rs`) runs this generator in a
/// [`Pipeline`](crate::Pipeline), and a custom model behind
/// [`LlmGenerator`].
#[async_trait]
pub trait FixGenerator: Send + Sync {
    /// A short name for reports (`template`, `llm:openai:gpt-4o-mini`).
    fn name(&self) -> String;

    /// A candidate for `ctx`, revised in the light of `feedback` (empty on
    /// the first attempt). An error counts as a failed attempt.
    async fn generate(&self, ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch>;
}

/// What an earlier attempt produced and why it failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feedback {
    /// The attempt's number (1-based).
    pub attempt: u32,
    /// Its patch, when it produced one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<Patch>,
    /// Why it failed: policy violation, apply error, or the failing checks'
    /// trimmed output.
    pub failure: String,
}
