//! Stage 2, generate: from a [`FixContext`] to a candidate [`Patch`].
//!
//! A [`FixGenerator`] receives the feedback of earlier failed attempts (the
//! patch and the trimmed output of the check that failed) so it can revise.

pub mod template;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{FixContext, Patch, Result};

pub mod llm;

pub use llm::LlmGenerator;
pub use template::TemplateGenerator;

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

/// Produces candidate patches.
#[async_trait]
pub trait FixGenerator: Send + Sync {
    /// A short name for reports (`template`, `llm:openai:gpt-4o-mini`).
    fn name(&self) -> String;

    /// A candidate for `ctx`, revised in the light of `feedback` (empty on
    /// the first attempt). An error counts as a failed attempt.
    async fn generate(&self, ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch>;
}
