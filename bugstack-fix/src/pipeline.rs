//! The pipeline: runs context → reproduce → generate → validate (with
//! retries) → score → deploy, and reports progress to an [`Observer`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use bugstack_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::generate::template::TEMPLATE_GENERATOR;
use crate::policy::SandboxMode;
use crate::report::{Attempt, Decision, DecisionKind, FixReport};
use crate::{
    score, CheckResult, Confidence, ContextBuilder, Deployer, Feedback, FixGenerator, Incident, Patch, Policy, RepoRef,
    Reproduction, ReproductionStatus, Result, Validation, Validator, MIN_CONFIDENCE_THRESHOLD,
};

/// Most bytes of failure output fed back to the generator per attempt.
pub(crate) const FEEDBACK_BYTES: usize = 8 * 1024;

/// Most candidates [`Pipeline::run_excluding`] skips in one run as repeats
/// of rejected patches before it stops asking the generator.
pub const MAX_REPEATS_SKIPPED: usize = 8;

/// Something the pipeline did, for progress display and logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// Context building started.
    ContextStarted,
    /// Context is ready.
    ContextBuilt {
        /// Snippets kept.
        snippets: usize,
        /// Tokens they use.
        tokens: usize,
        /// Target file and line, when a frame mapped to the repository.
        target: Option<String>,
    },
    /// The search for a reproducing input finished.
    Reproduced {
        /// Reproduced, not reproduced, or not attempted.
        status: ReproductionStatus,
        /// What reproduced it, or why nothing did.
        detail: String,
    },
    /// An attempt started.
    AttemptStarted {
        /// Attempt number.
        attempt: u32,
    },
    /// A candidate was generated.
    PatchGenerated {
        /// Attempt number.
        attempt: u32,
        /// Files touched.
        files: Vec<String>,
        /// Lines changed.
        changed_lines: u32,
    },
    /// A candidate was rejected before validation.
    PatchRejected {
        /// Attempt number.
        attempt: u32,
        /// Why.
        reason: String,
    },
    /// A check finished.
    CheckFinished {
        /// Attempt number.
        attempt: u32,
        /// The result.
        check: Box<CheckResult>,
    },
    /// Validation finished.
    Validated {
        /// Attempt number.
        attempt: u32,
        /// Whether the candidate passed.
        passed: bool,
    },
    /// The accepted candidate was scored.
    Scored {
        /// The score.
        score: f64,
    },
    /// The decision was made.
    Decided {
        /// It.
        decision: Decision,
    },
    /// Deployment finished.
    Deployed {
        /// Pull request number.
        pull_request: u64,
        /// Whether it was merged.
        merged: bool,
    },
    /// Deployment failed.
    DeployFailed {
        /// Why.
        reason: String,
    },
}

/// Receives [`Progress`] from a running pipeline.
pub trait Observer: Send + Sync {
    /// Called for every progress event, in order.
    fn on_progress(&self, progress: &Progress);
}

impl<F: Fn(&Progress) + Send + Sync> Observer for F {
    fn on_progress(&self, progress: &Progress) {
        self(progress)
    }
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    fn on_progress(&self, _: &Progress) {}
}

/// The fix pipeline: any stage can be replaced.
///
/// ```no_run
/// # async fn demo(ctx: std::sync::Arc<dyn bugstack_fix::ContextBuilder>,
/// #   generator: std::sync::Arc<dyn bugstack_fix::FixGenerator>,
/// #   validator: std::sync::Arc<dyn bugstack_fix::Validator>,
/// #   incident: bugstack_fix::Incident) -> bugstack_fix::Result<()> {
/// use bugstack_fix::{Pipeline, Policy, RepoRef};
/// let pipeline = Pipeline::new(ctx, generator, validator)
///     .with_observer(|p: &bugstack_fix::Progress| eprintln!("{p:?}"));
/// let report = pipeline.run(&incident, &RepoRef::new("."), &Policy::default()).await?;
/// println!("{}", report.to_json());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    context: Arc<dyn ContextBuilder>,
    generator: Arc<dyn FixGenerator>,
    validator: Arc<dyn Validator>,
    deployer: Option<Arc<dyn Deployer>>,
    observer: Arc<dyn Observer>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("generator", &self.generator.name())
            .field("deploys", &self.deployer.is_some())
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A pipeline that does not deploy (add a deployer with
    /// [`Pipeline::with_deployer`]).
    pub fn new(
        context: Arc<dyn ContextBuilder>,
        generator: Arc<dyn FixGenerator>,
        validator: Arc<dyn Validator>,
    ) -> Self {
        Pipeline {
            context,
            generator,
            validator,
            deployer: None,
            observer: Arc::new(NoopObserver),
        }
    }

    /// Deploys decided fixes with `deployer`.
    pub fn with_deployer(mut self, deployer: Arc<dyn Deployer>) -> Self {
        self.deployer = Some(deployer);
        self
    }

    /// Sends progress to `observer`.
    pub fn with_observer(mut self, observer: impl Observer + 'static) -> Self {
        self.observer = Arc::new(observer);
        self
    }

    fn emit(&self, p: Progress) {
        self.observer.on_progress(&p);
    }

    /// Runs the pipeline for one incident. `Err` only when no context could
    /// be built; every later failure is recorded in the report.
    pub async fn run(&self, incident: &Incident, repo: &RepoRef, policy: &Policy) -> Result<FixReport> {
        self.run_excluding(incident, repo, policy, &BTreeSet::new()).await
    }

    /// [`Pipeline::run`], skipping every candidate whose
    /// [`Patch::normalized_hash`] is in `rejected` (patches a person already
    /// turned down for this incident: their pull request was closed
    /// unmerged). A skipped candidate is recorded as a rejected attempt with
    /// the reason, fed back so the generator tries its next strategy, and
    /// does not count against the policy's retry budget (at most
    /// [`MAX_REPEATS_SKIPPED`] are skipped in one run).
    pub async fn run_excluding(
        &self,
        incident: &Incident,
        repo: &RepoRef,
        policy: &Policy,
        rejected: &BTreeSet<String>,
    ) -> Result<FixReport> {
        let started_at = Timestamp::now();
        let mut stage_ms = BTreeMap::new();

        self.emit(Progress::ContextStarted);
        let t = Instant::now();
        let ctx = self.context.build(incident, repo).await?;
        stage_ms.insert("context".to_string(), elapsed_ms(t));
        self.emit(Progress::ContextBuilt {
            snippets: ctx.snippets.len(),
            tokens: ctx.tokens_used,
            target: ctx.target().map(|f| format!("{}:{}", f.path, f.line)),
        });

        let t = Instant::now();
        let reproduction = self.reproduce(&ctx, policy).await;
        stage_ms.insert("reproduce".to_string(), elapsed_ms(t));
        self.emit(Progress::Reproduced {
            status: reproduction.status,
            detail: reproduction.detail.clone(),
        });

        let mut attempts: Vec<Attempt> = Vec::new();
        let mut feedback: Vec<Feedback> = Vec::new();
        let mut accepted: Option<(Patch, Validation)> = None;
        let mut validator_broken: Option<String> = None;
        // A candidate that did not build, mended with the compiler's
        // suggestions: the next attempt validates it instead of asking the
        // generator.
        let mut repaired: Option<Patch> = None;
        let (mut gen_ms, mut val_ms) = (0u64, 0u64);
        let budget = policy.retry_limit.saturating_add(1);
        let (mut counted, mut skipped, mut number) = (0u32, 0usize, 0u32);
        while counted < budget {
            number += 1;
            self.emit(Progress::AttemptStarted { attempt: number });
            let t_attempt = Instant::now();
            let t = Instant::now();
            let generated = match repaired.take() {
                Some(p) => Ok(p),
                None => self.generator.generate(&ctx, &feedback).await,
            }
            .map(|p| with_invented_value(&ctx, p));
            gen_ms += elapsed_ms(t);
            let mut repeat = false;
            // A patch a person rejected is skipped whether or not the
            // reproduction's regression test rides with it this time.
            let checked = match generated.map(|p| (p.normalized_hash(), reproduction.attach(p))) {
                Ok((bare, p)) if rejected.contains(&bare) || rejected.contains(&p.normalized_hash()) => {
                    repeat = true;
                    let reason = format!(
                        "the same patch (hash {}) was proposed before and its pull request was closed unmerged: \
                         not proposed again",
                        &bare[..12]
                    );
                    Err((Some(p), reason))
                }
                Ok((_, p)) => match check_candidate(&ctx, policy, &p) {
                    Ok(()) => Ok(p),
                    Err(reason) => Err((Some(p), reason)),
                },
                Err(e) => Err((None, e.to_string())),
            };
            if repeat {
                skipped += 1;
            } else {
                counted += 1;
            }
            let patch = match checked {
                Ok(p) => p,
                Err((patch, reason)) => {
                    self.emit(Progress::PatchRejected {
                        attempt: number,
                        reason: reason.clone(),
                    });
                    feedback.push(Feedback {
                        attempt: number,
                        patch: patch.clone(),
                        failure: reason.clone(),
                    });
                    attempts.push(Attempt {
                        number,
                        patch,
                        rejected: Some(reason),
                        validation: None,
                        duration_ms: elapsed_ms(t_attempt),
                    });
                    if skipped >= MAX_REPEATS_SKIPPED {
                        break;
                    }
                    continue;
                }
            };
            self.emit(Progress::PatchGenerated {
                attempt: number,
                files: patch.files.clone(),
                changed_lines: patch.changed_lines(),
            });
            let t = Instant::now();
            let validated = self.validator.validate(&ctx, &patch, policy).await;
            val_ms += elapsed_ms(t);
            match validated {
                Ok(validation) => {
                    for c in &validation.checks {
                        self.emit(Progress::CheckFinished {
                            attempt: number,
                            check: Box::new(c.clone()),
                        });
                    }
                    let passed = validation.passed();
                    self.emit(Progress::Validated {
                        attempt: number,
                        passed,
                    });
                    attempts.push(Attempt {
                        number,
                        patch: Some(patch.clone()),
                        rejected: None,
                        validation: Some(validation.clone()),
                        duration_ms: elapsed_ms(t_attempt),
                    });
                    if passed {
                        accepted = Some((patch, validation));
                        break;
                    }
                    repaired = crate::generate::repair::repair(&ctx, &patch, &validation);
                    feedback.push(Feedback {
                        attempt: number,
                        failure: validation.failure_summary(FEEDBACK_BYTES),
                        patch: Some(patch),
                    });
                }
                Err(e) => {
                    let reason = format!("validation could not run: {e}");
                    attempts.push(Attempt {
                        number,
                        patch: Some(patch),
                        rejected: Some(reason.clone()),
                        validation: None,
                        duration_ms: elapsed_ms(t_attempt),
                    });
                    validator_broken = Some(reason);
                    break;
                }
            }
        }
        stage_ms.insert("generate".to_string(), gen_ms);
        stage_ms.insert("validate".to_string(), val_ms);

        let confidence: Option<Confidence> = accepted
            .as_ref()
            .map(|(p, v)| score::score(&ctx, p, v, attempts.len() as u32, &reproduction));
        if let Some(c) = &confidence {
            self.emit(Progress::Scored { score: c.score });
        }
        let decision = decide(
            policy,
            accepted.as_ref(),
            confidence.as_ref(),
            &attempts,
            validator_broken,
        );
        let decision = hold_made_up_value_after_accepting(decision, accepted.as_ref(), &reproduction, &ctx);
        self.emit(Progress::Decided {
            decision: decision.clone(),
        });

        let mut report = FixReport {
            incident: incident.clone(),
            reproduction,
            attempts,
            fix: accepted.map(|(p, _)| p),
            confidence,
            stage_ms,
            ..FixReport::new(ctx, self.generator.name(), decision, started_at)
        };

        if report.decision.kind == DecisionKind::AutoMerge {
            self.recheck_base(&mut report, policy).await;
        }
        if report.decision.kind.delivers() {
            if let Some(deployer) = &self.deployer {
                let t = Instant::now();
                match deployer.deploy(&report.context, &report, policy).await {
                    Ok(d) => {
                        self.emit(Progress::Deployed {
                            pull_request: d.pull_request.number,
                            merged: d.merged,
                        });
                        report.deployment = Some(d);
                    }
                    Err(e) => {
                        self.emit(Progress::DeployFailed { reason: e.to_string() });
                        report.deploy_error = Some(e.to_string());
                    }
                }
                report.stage_ms.insert("deploy".to_string(), elapsed_ms(t));
            }
        }
        report.finished_at = Timestamp::now();
        Ok(report)
    }
}

impl Pipeline {
    /// The reproduction step, between context and generate: the validator's
    /// search ([`Validator::reproduce`]) unless the policy turned it off; a
    /// search that could not run is "not reproduced", with the reason.
    async fn reproduce(&self, ctx: &crate::FixContext, policy: &Policy) -> Reproduction {
        if !policy.reproduce.enabled {
            return Reproduction::not_attempted("reproduce.enabled = false in bugstack.toml");
        }
        match self.validator.reproduce(ctx, policy).await {
            Ok(r) => r,
            Err(e) => Reproduction::not_reproduced(format!("the search could not run: {e}")),
        }
    }

    /// Before an auto-merge: when the base branch moved since the fix was
    /// validated, validates it again on the new tip (recorded as one more
    /// attempt). A fix that no longer passes there is not delivered; when
    /// the deployer cannot be asked, the fix is left for review.
    async fn recheck_base(&self, report: &mut FixReport, policy: &Policy) {
        let Some(deployer) = &self.deployer else { return };
        let validated = report.context.validation_commit().to_string();
        let tip = match deployer.current_base(&report.context, policy).await {
            Ok(Some(tip)) if tip != validated => tip,
            Ok(_) => return,
            Err(e) => {
                report.decision = Decision {
                    kind: DecisionKind::Review,
                    reason: format!(
                        "cannot tell whether the base branch moved since validation ({e}): left for review"
                    ),
                };
                return;
            }
        };
        let Some(patch) = report.fix.clone() else { return };
        let mut ctx = report.context.clone();
        ctx.base = Some(tip.clone());
        let number = report.attempts.len() as u32 + 1;
        self.emit(Progress::AttemptStarted { attempt: number });
        let t = Instant::now();
        let validated_again = self.validator.validate(&ctx, &patch, policy).await;
        let (validation, problem) = match validated_again {
            Ok(v) if v.passed() => (Some(v), None),
            Ok(v) => (Some(v), Some("the fix fails its checks there".to_string())),
            Err(e) => (None, Some(format!("validation could not run there: {e}"))),
        };
        if let Some(v) = &validation {
            for c in &v.checks {
                self.emit(Progress::CheckFinished {
                    attempt: number,
                    check: Box::new(c.clone()),
                });
            }
            self.emit(Progress::Validated {
                attempt: number,
                passed: problem.is_none(),
            });
        }
        report.attempts.push(Attempt {
            number,
            patch: Some(patch),
            rejected: problem
                .as_ref()
                .map(|p| format!("re-validated on the moved base {tip}: {p}")),
            validation,
            duration_ms: elapsed_ms(t),
        });
        match problem {
            None => {
                report.context = ctx;
                report.decision.reason = format!(
                    "{}; validated again on the base branch's new tip {tip}",
                    report.decision.reason
                );
            }
            Some(p) => {
                report.decision = Decision {
                    kind: DecisionKind::NoFix,
                    reason: format!(
                        "the base branch moved from {validated} to {tip} after validation, and {p}: not delivered"
                    ),
                };
            }
        }
        self.emit(Progress::Decided {
            decision: report.decision.clone(),
        });
    }
}

/// Policy check and in-memory apply check of a fresh candidate; the reason
/// on failure.
fn check_candidate(ctx: &crate::FixContext, policy: &Policy, patch: &Patch) -> std::result::Result<(), String> {
    if let Err(v) = policy.check_patch(patch) {
        return Err(format!("rejected by policy: {v}"));
    }
    // Files the context does not carry (a new test file) are checked by the
    // validator's `git apply`; the ones it carries must apply here.
    let known = patch.files.iter().all(|f| ctx.files.contains_key(f));
    if known {
        patch.apply_to(&ctx.files).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// What to do with the result, by policy: merge only with auto-merge on, a
/// validated patch whose checks ran in the sandbox (unless the policy turned
/// the sandbox off), and confidence at or above the threshold.
pub(crate) fn decide(
    policy: &Policy,
    fix: Option<&(Patch, Validation)>,
    confidence: Option<&Confidence>,
    attempts: &[Attempt],
    validator_broken: Option<String>,
) -> Decision {
    let (Some((patch, validation)), Some(confidence)) = (fix, confidence) else {
        let reason = validator_broken.unwrap_or_else(|| {
            let last = attempts
                .last()
                .and_then(|a| a.rejected.clone().or_else(|| Some("a check failed".into())))
                .unwrap_or_else(|| "no attempt was made".into());
            format!(
                "no candidate passed the checks in {} attempt(s); last: {last}",
                attempts.len()
            )
        });
        return Decision {
            kind: DecisionKind::NoFix,
            reason,
        };
    };
    let review = |reason: String| Decision {
        kind: DecisionKind::Review,
        reason,
    };
    // What keeps the score down when the fix is not proven.
    let unproven = confidence
        .signals
        .iter()
        .find(|s| s.name == "reproduction" && s.contribution <= 0.0)
        .map(|s| format!(" ({})", s.observed))
        .unwrap_or_default();
    if confidence.score < policy.review_threshold {
        // An unproven fix can still be had for review, by asking.
        let hint = if unproven.is_empty() {
            ""
        } else {
            " (review_threshold = 0.0 in bugstack.toml proposes unproven fixes for review)"
        };
        return Decision {
            kind: DecisionKind::Held,
            reason: format!(
                "confidence {:.2} is below review_threshold {:.2}{unproven}: held in the report, not proposed{hint}",
                confidence.score, policy.review_threshold
            ),
        };
    }
    if !policy.auto_merge {
        return review("auto_merge is off in bugstack.toml: left for review".into());
    }
    if policy.sandbox != SandboxMode::Off && !validation.confined() {
        let why = validation.sandbox.as_ref().map_or_else(
            || "the validator did not say where they ran".to_string(),
            |s| s.detail.clone(),
        );
        return review(format!(
            "the checks did not run in a sandbox ({why}): auto-merge refused, left for review"
        ));
    }
    // A policy built in code skips `Policy::from_toml_str`'s floor: apply it here.
    let threshold = policy.confidence_threshold.max(MIN_CONFIDENCE_THRESHOLD);
    if confidence.score < threshold {
        return review(format!(
            "confidence {:.2} is below the threshold {:.2}{unproven}: left for review",
            confidence.score, threshold
        ));
    }
    if let Err(v) = policy.check_patch(patch) {
        return review(format!("policy: {v}"));
    }
    if let Some(e) = &patch.borrowed_error {
        return review(format!(
            "the fix returns `{e}`, an existing error that names none of the panic's words (callers may be told the wrong cause): auto-merge refused, left for review"
        ));
    }
    if let Some(v) = &patch.invented_value {
        return review(format!(
            "where the code panicked the fix gives {v}, a value the code never chose (callers may want an error): auto-merge refused, left for review"
        ));
    }
    Decision {
        kind: DecisionKind::AutoMerge,
        reason: format!(
            "all checks green, reproduced and fixed, confidence {:.2} ≥ threshold {:.2}, auto_merge on",
            confidence.score, threshold
        ),
    }
}

/// A fix that makes up a value where the code panicked is held, not
/// proposed, when the reproduction shows the crate's own fallible
/// constructor accepted the input and the panic came later
/// ([`Reproduction::accepted_by`]): `Regex::new` let in a pattern the
/// matcher cannot run, and `0` from the matcher's slot reader would hide
/// that the pattern should have been refused. The report keeps the fix and
/// says where to look.
fn hold_made_up_value_after_accepting(
    decision: Decision,
    fix: Option<&(Patch, Validation)>,
    reproduction: &Reproduction,
    ctx: &crate::FixContext,
) -> Decision {
    if !matches!(decision.kind, DecisionKind::Review | DecisionKind::AutoMerge) {
        return decision;
    }
    let Some(value) = fix.and_then(|(p, _)| p.invented_value.as_deref()) else {
        return decision;
    };
    let frames = ctx.incident.event.frames.iter().filter_map(|f| f.function.as_deref());
    let Some(ctor) = reproduction.accepted_by(frames) else {
        return decision;
    };
    Decision {
        kind: DecisionKind::Held,
        reason: format!(
            "the reproducing input was accepted by `{ctor}`, which can refuse its input, and panicked later; where it panicked the fix gives {value}, which hides the bad value instead of refusing it: held in the report, not proposed (look at what `{ctor}` lets in)"
        ),
    }
}

/// The patch with [`Patch::invented_value`] read from its diff when its
/// generator does not say (any but the built-in template generator, which
/// reads it from the syntax tree): a model's `unwrap_or(0)` is as made up as
/// a template's.
/// Test code it adds (a `#[cfg(test)]` module, a `#[test]` function) is
/// left out: a test may fall back as it likes. The patched files are read
/// only when a line falls back, each parsed once.
fn with_invented_value(ctx: &crate::FixContext, mut patch: Patch) -> Patch {
    if patch.invented_value.is_none() && patch.generator != TEMPLATE_GENERATOR {
        let patched = std::cell::OnceCell::new();
        let tests = std::cell::RefCell::new(BTreeMap::<String, Vec<std::ops::RangeInclusive<usize>>>::new());
        patch.invented_value = patch.fallback_in_diff(|path, line| {
            let patched: &BTreeMap<String, String> =
                patched.get_or_init(|| patch.apply_to(&ctx.files).unwrap_or_default());
            let mut tests = tests.borrow_mut();
            let ranges = tests.entry(path.to_string()).or_insert_with(|| {
                patched
                    .get(path)
                    .map_or_else(Vec::new, |t| crate::rust_file::test_lines(t))
            });
            ranges.iter().any(|r| r.contains(&line))
        });
    }
    patch
}

fn elapsed_ms(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}
