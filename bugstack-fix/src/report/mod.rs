//! The fix report: what a run did, as JSON for machines and as the pull
//! request body for people.

mod deployment;
pub(crate) mod location;
pub(crate) mod markdown;

pub use deployment::{DeployRun, Deployment, PullRequestRef, PullRequestState};

use std::collections::BTreeMap;

use bugstack_core::{omit_empty, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{Confidence, FixContext, Incident, Patch, Reproduction, Validation};

/// Version of the report's JSON layout.
pub const REPORT_VERSION: u32 = 1;

/// One attempt at a fix.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based attempt number.
    pub number: u32,
    /// The candidate, when the generator produced one.
    pub patch: Option<Patch>,
    /// Why the candidate went no further than generation (generator error,
    /// policy violation, does not apply), when it did not.
    pub rejected: Option<String>,
    /// The checks' results, when it was validated.
    pub validation: Option<Validation>,
    /// Wall time of the attempt.
    pub duration_ms: u64,
}

impl Attempt {
    /// Whether this attempt produced a validated fix.
    pub fn succeeded(&self) -> bool {
        self.patch.is_some() && self.validation.as_ref().is_some_and(Validation::passed)
    }
}

/// What the pipeline decided to do with its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Open a pull request and merge it (policy allows).
    AutoMerge,
    /// Open a pull request and leave it for review.
    Review,
    /// No validated fix: nothing to deliver.
    NoFix,
    /// A validated fix below the policy's `review_threshold` (with 0.5:
    /// not proven, its panic not reproduced and fixed): kept in the
    /// report, not delivered.
    Held,
}

impl DecisionKind {
    /// Whether the fix is delivered (a branch and a pull request).
    pub fn delivers(self) -> bool {
        matches!(self, DecisionKind::AutoMerge | DecisionKind::Review)
    }

    /// Its name in stores and outputs: `auto-merge`, `review`, `no-fix`,
    /// `held`.
    pub fn name(self) -> &'static str {
        match self {
            DecisionKind::AutoMerge => "auto-merge",
            DecisionKind::Review => "review",
            DecisionKind::NoFix => "no-fix",
            DecisionKind::Held => "held",
        }
    }
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// What.
    pub kind: DecisionKind,
    /// Why, in plain words.
    pub reason: String,
}

/// Everything one pipeline run did.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixReport {
    /// [`REPORT_VERSION`].
    pub report_version: u32,
    /// The incident.
    pub incident: Incident,
    /// The context the generator saw.
    pub context: FixContext,
    /// The generator used.
    pub generator: String,
    /// What the search for a reproducing input found, before any fix.
    #[serde(default)]
    pub reproduction: Reproduction,
    /// Every attempt, in order.
    #[serialize_always]
    pub attempts: Vec<Attempt>,
    /// The accepted patch (the last attempt's, when it succeeded).
    pub fix: Option<Patch>,
    /// Its confidence.
    pub confidence: Option<Confidence>,
    /// What to do with it.
    pub decision: Decision,
    /// What deployment did, when it ran.
    pub deployment: Option<Deployment>,
    /// Why deployment failed, when it did.
    pub deploy_error: Option<String>,
    /// When the run started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// Wall time per stage (`context`, `reproduce`, `generate`, `validate`,
    /// `deploy`).
    #[serialize_always]
    pub stage_ms: BTreeMap<String, u64>,
}

impl FixReport {
    /// The report of a run on `context` by `generator` that started `at`
    /// and decided `decision` before any attempt: no reproduction,
    /// attempts, fix, confidence or deployment yet. A run fills in what it
    /// did; a run that stops early (no fix generated) is this.
    pub fn new(context: FixContext, generator: impl Into<String>, decision: Decision, at: Timestamp) -> FixReport {
        FixReport {
            report_version: REPORT_VERSION,
            incident: context.incident.clone(),
            context,
            generator: generator.into(),
            reproduction: Reproduction::default(),
            attempts: Vec::new(),
            fix: None,
            confidence: None,
            decision,
            deployment: None,
            deploy_error: None,
            started_at: at,
            finished_at: at,
            stage_ms: BTreeMap::new(),
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize report: {e}\"}}"))
    }
}
