//! # bugstack-fix
//!
//! The fix engine: from an [`Incident`] and a git repository to a validated,
//! explained patch delivered as a pull request. Each stage is a trait, so a
//! team can embed the engine in its own tooling and replace any stage:
//!
//! | stage | trait | built in |
//! |---|---|---|
//! | context | [`ContextBuilder`] | [`RustContextBuilder`]: `syn`-based Rust context at the event's release |
//! | reproduce | [`Validator::reproduce`] | [`WorktreeValidator`]: a generated `proptest` harness searches for the panic's input; found, it is the fix's regression test ([`Reproduction`]) |
//! | generate | [`FixGenerator`] (+ [`LanguageModel`]) | [`TemplateGenerator`]: offline templates; [`LlmGenerator`] over [`OpenAiCompatibleModel`] or [`AnthropicModel`] |
//! | validate | [`Validator`] | [`WorktreeValidator`]: the project's checks in an isolated git worktree |
//! | score | [`score()`] | documented formula over reported signals |
//! | deploy | [`Deployer`] (+ [`Forge`]) | [`ForgeDeployer`] over [`LocalForge`] (bare remote) or [`GitHubForge`] |
//!
//! Every public item is at the crate root, under one path; the one module
//! is [`git`], the runner every git process of bugstack goes through.
//!
//! The [`Pipeline`] runs them with the retry budget from the repository's
//! [`Policy`] (`bugstack.toml`) and reports [`Progress`] to an [`Observer`].
//! Every stage's output is plain serde data, recorded in the [`FixReport`].
//!
//! **Trust boundary:** event data is untrusted. It reaches prompts only as
//! delimited data, and a patch may only touch paths the policy allows
//! ([`Policy::check_patch`] runs before any candidate is validated).
//!
//! ## Custom stages
//!
//! Each stage trait documents its contract and an example implementation:
//! [`ContextBuilder`], [`FixGenerator`], [`LanguageModel`], [`Validator`],
//! [`Deployer`] and [`Forge`]. The example below
//! (`bugstack-fix/examples/custom_backend.rs`, run it with
//! `cargo run -p bugstack-fix --example custom_backend`) plugs a custom
//! context builder, generator, model and validator into [`Pipeline`]s and
//! runs them offline:
//!
#![doc = concat!("```no_run\n", include_str!("../examples/custom_backend.rs"), "```")]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod context;
mod deploy;
mod error;
mod generate;
pub mod git;
mod incident;
mod lifecycle_policy;
mod model;
mod panic_class;
mod patch;
mod pipeline;
mod policy;
mod report;
mod reproduce;
mod rust_file;
mod score;
mod validate;

pub use context::{
    estimate_tokens, ContextBuilder, FixContext, RepoFrame, RepoRef, RustContextBuilder, Snippet, SnippetKind,
};
pub use deploy::{
    fix_branch_name, forge_from_policy, local_remote_path, token_from_env, BodyRenderer, CiStatus, Comment,
    CommitIdentity, Deployer, FixCommit, Forge, ForgeDeployer, GitHubConfig, GitHubForge, GitVcs, JsonPullRequestStore,
    LocalForge, MergeOutcome, NewPullRequest, Opened, Person, PullRequest, PullRequestPoll, PullRequestStore, Vcs,
    FIX_BRANCH_PREFIX,
};
pub use deploy::{resolve_base, BaseRef, MAX_DEPLOY_OUTPUT};
pub use error::{Error, PolicyViolation, Result};
pub use generate::{Feedback, FixGenerator, LlmGenerator, TemplateGenerator};
pub use incident::Incident;
pub use lifecycle_policy::{
    parse_duration, ReleasePatterns, Triggers, VerifyConfig, DEFAULT_MAX_QUEUED_JOBS, DEFAULT_VERIFY_WINDOW,
};
pub use model::{
    AnthropicModel, ChatMessage, ChatRequest, ChatResponse, LanguageModel, MaxTokensField, ModelBackend, ModelConfig,
    ModelError, OpenAiCompatibleModel, RetryPolicy, Role, Usage,
};
pub use panic_class::{OverflowOp, PanicClass};
pub use patch::{patch_hash, unified_diff, Candidate, FileEdit, Patch, RegressionTest};
pub use pipeline::{NoopObserver, Observer, Pipeline, Progress, MAX_REPEATS_SKIPPED};
pub use policy::{
    CheckSpec, DeployConfig, ForgeConfig, ForgeKind, MergeMethod, Policy, ReproduceConfig, MIN_CONFIDENCE_THRESHOLD,
    POLICY_FILE, POLICY_TEMPLATE,
};
pub use policy::{Judge, SandboxMode, DEFAULT_EXCLUDED_PATHS, DEFAULT_REVIEW_THRESHOLD, PROTECTED_PATHS};
pub use report::markdown::{render_markdown, MAX_BODY_CHARS};
pub use report::{
    Attempt, Decision, DecisionKind, DeployRun, Deployment, FixReport, PullRequestRef, PullRequestState, REPORT_VERSION,
};
pub use reproduce::{Reproduction, ReproductionStatus, ReproductionTest};
pub use score::{score, Confidence, Signal, NOT_REPRODUCED_CAP, UNTRUSTED_CAP};
pub use validate::worktree::Worktree;
pub use validate::{
    CheckResult, CheckStatus, RegressionResult, Validation, Validator, ValidatorOptions, WorktreeValidator,
    APPLY_CHECK, DEFAULT_SECRET_ENV, TARGET_LOCK_FILE,
};
pub use validate::{CompilerSuggestion, SandboxLimits, SandboxReport, TestJudgement, Verdict};
