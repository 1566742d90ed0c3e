//! The LLM generator: a [`FixGenerator`] over any [`LanguageModel`].
//!
//! One attempt is one model call: the prompt ([`prompt`]) carries trusted
//! instructions in the system message and the event as delimited untrusted
//! data; the reply ([`reply`]) must follow a strict tagged format. The
//! candidate leaves the generator only when
//!
//! 1. the answer was not cut off (`finish_reason` `length` / `max_tokens`),
//! 2. every section is present and well-formed and the diff parses,
//! 3. the diff respects the policy (excluded paths, changed-lines limit),
//! 4. the diff applies to the files at the context's revision, and
//! 5. it adds the named regression test.
//!
//! Any failure is an [`Error`] that says which rule broke; the pipeline
//! counts it as a failed attempt and feeds the reason back into the next
//! prompt. The diff that leaves the generator is recomputed from the applied
//! files, so its headers and hunk counts are exactly what `git apply`
//! expects, whatever small mistakes the model made in them.

pub(crate) mod prompt;
pub(crate) mod reply;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bugstack_core::text::short_id;

use crate::git::Git;
use crate::model::{ChatMessage, ChatRequest, LanguageModel};
use crate::patch::{parse_diff, unified_diff, RegressionTest};
use crate::{Error, Feedback, FixContext, FixGenerator, Patch, Policy, Result};

/// Generates fixes with a language model.
pub struct LlmGenerator {
    model: Arc<dyn LanguageModel>,
    policy: Policy,
    max_tokens: u32,
    temperature: Option<f32>,
    feedback_budget: usize,
}

impl fmt::Debug for LlmGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmGenerator")
            .field("model", &self.model.name())
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("feedback_budget", &self.feedback_budget)
            .finish_non_exhaustive()
    }
}

impl LlmGenerator {
    /// Default cap of the answer's length.
    pub const DEFAULT_MAX_TOKENS: u32 = 4096;
    /// Default bytes of earlier attempts' diffs and failure output in a retry
    /// prompt.
    pub const DEFAULT_FEEDBACK_BUDGET: usize = 12 * 1024;

    /// A generator asking `model`, enforcing `policy` (the repository's
    /// `bugstack.toml`) on every candidate.
    pub fn new(model: Arc<dyn LanguageModel>, policy: Policy) -> Self {
        LlmGenerator {
            model,
            policy,
            max_tokens: LlmGenerator::DEFAULT_MAX_TOKENS,
            temperature: Some(0.2),
            feedback_budget: LlmGenerator::DEFAULT_FEEDBACK_BUDGET,
        }
    }

    /// Cap of the answer's length in tokens.
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Sampling temperature (`None`: the server's default).
    pub fn with_temperature(mut self, temperature: Option<f32>) -> Self {
        self.temperature = temperature;
        self
    }

    /// Bytes of earlier attempts' diffs and failure output in a retry prompt.
    pub fn with_feedback_budget(mut self, bytes: usize) -> Self {
        self.feedback_budget = bytes;
        self
    }

    /// The request sent for `ctx` after the failed attempts in `feedback`.
    pub fn request(&self, ctx: &FixContext, feedback: &[Feedback]) -> ChatRequest {
        let nonce = format!("{:016x}", fastrand::u64(..));
        ChatRequest {
            system: prompt::system_prompt(&self.policy),
            messages: vec![ChatMessage::user(prompt::user_prompt(
                ctx,
                feedback,
                self.feedback_budget,
                &nonce,
            ))],
            max_tokens: self.max_tokens,
            temperature: self.temperature,
        }
    }

    /// Turns a model's answer into a checked candidate.
    pub async fn candidate(&self, ctx: &FixContext, answer: &str) -> Result<Patch> {
        let reply = reply::parse_reply(answer)?;
        let parsed = Patch::from_diff(reply.diff.clone())
            .map_err(|e| Error::Generate(format!("the model's <diff> is not a usable unified diff: {e}")))?;
        self.policy.check_patch(&parsed)?;

        // Apply to the files at the context's revision.
        let mut files = ctx.files.clone();
        let file_diffs = parse_diff(&reply.diff)?;
        for fd in &file_diffs {
            let Some(old) = &fd.old_path else { continue };
            if fd.new_path.is_none() {
                return Err(Error::Generate(format!(
                    "the diff deletes {old}; a fix must not delete files"
                )));
            }
            if fd.new_path.as_deref() != Some(old.as_str()) {
                return Err(Error::Generate(format!(
                    "the diff renames {old}; a fix must not rename files"
                )));
            }
            if !files.contains_key(old) {
                let text = Git::new(&ctx.repo_root)
                    .read_file(&ctx.revision, old)
                    .await
                    .map_err(|_| {
                        Error::PatchDoesNotApply(format!(
                            "{old}: not a file of the repository at {}",
                            short_id(&ctx.revision)
                        ))
                    })?;
                files.insert(old.clone(), text);
            }
        }
        let after = parsed.apply_to(&files)?;

        // Recompute a canonical diff from the applied files.
        let mut diff = String::new();
        let mut created = BTreeMap::new();
        for fd in &file_diffs {
            let path = fd.path().to_string();
            let new_text = after.get(&path).cloned().unwrap_or_default();
            match &fd.old_path {
                Some(_) => diff.push_str(&unified_diff(
                    &path,
                    files.get(&path).map_or("", String::as_str),
                    &new_text,
                )),
                None => {
                    diff.push_str(&new_file_diff(&path, &new_text));
                    created.insert(path, new_text);
                }
            }
        }
        let mut patch = Patch::from_diff(diff)
            .map_err(|e| Error::Generate(format!("the model's diff changes nothing once applied ({e})")))?;
        self.policy.check_patch(&patch)?;

        // The regression test must be added by the diff.
        let test_fn = reply.test_name.rsplit("::").next().unwrap_or_default();
        let defines = |text: &str| text.contains(&format!("fn {test_fn}("));
        let before_has = files.get(&reply.test_path).is_some_and(|t| defines(t));
        let after_has = after.get(&reply.test_path).is_some_and(|t| defines(t));
        if !after_has || before_has {
            return Err(Error::Generate(format!(
                "the regression test {} is not added by the diff in {} (no new `fn {test_fn}(` there)",
                reply.test_name, reply.test_path
            )));
        }

        patch.generator = self.name();
        patch.root_cause = reply.root_cause;
        patch.explanation = reply.explanation;
        patch.regression_test = Some(RegressionTest {
            path: reply.test_path,
            name: reply.test_name,
            features: Vec::new(),
        });
        patch.model_confidence = Some(reply.confidence);
        Ok(patch)
    }
}

/// A git diff creating `path` with `text`.
fn new_file_diff(path: &str, text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut d = format!(
        "diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{} @@\n",
        lines.len()
    );
    for l in &lines {
        d.push('+');
        d.push_str(l);
        d.push('\n');
    }
    if !text.ends_with('\n') {
        d.push_str("\\ No newline at end of file\n");
    }
    d
}

/// Finish reasons that mean the answer was cut off.
const TRUNCATED: [&str; 2] = ["length", "max_tokens"];

#[async_trait]
impl FixGenerator for LlmGenerator {
    fn name(&self) -> String {
        format!("llm:{}", self.model.name())
    }

    async fn generate(&self, ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch> {
        let request = self.request(ctx, feedback);
        let response = self.model.complete(&request).await?;
        if let Some(reason) = response.finish_reason.as_deref().filter(|r| TRUNCATED.contains(r)) {
            return Err(Error::Generate(format!(
                "the model's answer was cut off (finish_reason {reason:?}, max_tokens {}); a partial answer is not used",
                self.max_tokens
            )));
        }
        self.candidate(ctx, &response.content).await
    }
}
