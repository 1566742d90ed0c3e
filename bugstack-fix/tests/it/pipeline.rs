//! The pipeline's orchestration, with small test doubles for each stage:
//! retries carry failure output back, policy violations never reach the
//! validator, and the decision follows policy.

use crate::support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bugstack_fix::{
    CheckResult, CheckStatus, ContextBuilder, DecisionKind, Deployer, Deployment, Feedback, FixContext, FixGenerator,
    FixReport, Incident, Patch, Policy, Progress, RepoRef, Result, Validation, Validator,
};
use support::{context_at, edit_patch, panic_event, target_frame};

const FILE: &str = "pub fn first(v: &[u32]) -> u32 {\n    v[0]\n}\n";

struct FixedContext;

#[async_trait]
impl ContextBuilder for FixedContext {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        Ok(context_at(
            incident.clone(),
            repo.root.clone(),
            "0".repeat(40),
            target_frame("src/lib.rs", 2, Some(5), Some("demo::first")),
            FILE,
        ))
    }
}

/// Returns the scripted patches in order and records the feedback it saw.
struct Scripted {
    patches: Vec<Patch>,
    seen: Mutex<Vec<Vec<Feedback>>>,
}

#[async_trait]
impl FixGenerator for Scripted {
    fn name(&self) -> String {
        "template".into()
    }
    async fn generate(&self, _: &FixContext, feedback: &[Feedback]) -> Result<Patch> {
        let mut seen = self.seen.lock().unwrap();
        let n = seen.len();
        seen.push(feedback.to_vec());
        self.patches
            .get(n)
            .cloned()
            .ok_or_else(|| bugstack_fix::Error::Generate("out of ideas".into()))
    }
}

/// Passes a patch only when its diff contains `good`.
struct Judge {
    calls: Mutex<u32>,
}

#[async_trait]
impl Validator for Judge {
    async fn validate(&self, _: &FixContext, patch: &Patch, _: &Policy) -> Result<Validation> {
        *self.calls.lock().unwrap() += 1;
        let ok = patch.diff.contains("unwrap_or");
        Ok(Validation {
            sandbox: support::double_sandbox(),
            checks: vec![CheckResult {
                output: if ok {
                    "ok".into()
                } else {
                    "error[E0308]: mismatched types".into()
                },
                ..support::check("test", if ok { CheckStatus::Passed } else { CheckStatus::Failed })
            }],
            regression: crate::support::double_regression(patch, ok),
        })
    }

    async fn reproduce(&self, _: &FixContext, _: &Policy) -> Result<bugstack_fix::Reproduction> {
        Ok(crate::support::double_reproduction())
    }
}

struct RecordingDeployer(Mutex<Vec<DecisionKind>>);

#[async_trait]
impl Deployer for RecordingDeployer {
    async fn deploy(&self, _: &FixContext, report: &FixReport, _: &Policy) -> Result<Deployment> {
        self.0.lock().unwrap().push(report.decision.kind);
        Ok(support::double_deployment(report))
    }
}

fn edit(after: &str) -> Patch {
    let mut p = edit_patch("src/lib.rs", FILE, after);
    p.generator = "template".into();
    p.class = Some("index-oob".into());
    p
}

fn incident() -> Incident {
    Incident::from_event("1", panic_event("index out of bounds: the len is 0 but the index is 0"))
}

fn patches() -> Vec<Patch> {
    let mut outside = edit(&FILE.replace("v[0]", "v[1]"));
    outside.files = vec![".ci/run".into()];
    vec![
        outside,                                                        // rejected by policy
        edit(&FILE.replace("v[0]", "v.first()")),                       // fails the check
        edit(&FILE.replace("v[0]", "v.first().copied().unwrap_or(0)")), // passes
    ]
}

async fn run(
    policy: Policy,
) -> (
    FixReport,
    Arc<Scripted>,
    Arc<Judge>,
    Arc<RecordingDeployer>,
    Vec<Progress>,
) {
    let generator = Arc::new(Scripted {
        patches: patches(),
        seen: Mutex::new(vec![]),
    });
    let judge = Arc::new(Judge { calls: Mutex::new(0) });
    let deployer = Arc::new(RecordingDeployer(Mutex::new(vec![])));
    let progress = Arc::new(Mutex::new(Vec::new()));
    let sink = progress.clone();
    let pipeline = bugstack_fix::Pipeline::new(Arc::new(FixedContext), generator.clone(), judge.clone())
        .with_deployer(deployer.clone())
        .with_observer(move |p: &Progress| sink.lock().unwrap().push(p.clone()));
    let report = pipeline
        .run(&incident(), &RepoRef::new("/nonexistent"), &policy)
        .await
        .unwrap();
    let progress = progress.lock().unwrap().clone();
    (report, generator, judge, deployer, progress)
}

#[tokio::test]
async fn retries_carry_failures_back_and_policy_rejects_before_validation() {
    let (report, generator, judge, _, progress) = run(Policy {
        auto_merge: true,
        ..Policy::default()
    })
    .await;
    assert_eq!(report.attempts.len(), 3);
    assert!(report.attempts[0].rejected.as_deref().unwrap().contains(".ci/run"));
    assert!(!report.attempts[1].succeeded());
    assert!(report.attempts[2].succeeded());
    // The policy violation never reached the validator.
    assert_eq!(*judge.calls.lock().unwrap(), 2);
    // Each retry saw every earlier failure, including the check output.
    let seen = generator.seen.lock().unwrap();
    assert!(seen[0].is_empty());
    assert!(seen[1][0].failure.contains("is protected"), "{:?}", seen[1]);
    assert!(seen[2][1].failure.contains("mismatched types"), "{:?}", seen[2]);
    assert!(report.fix.as_ref().unwrap().diff.contains("unwrap_or(0)"));
    assert!(progress
        .iter()
        .any(|p| matches!(p, Progress::PatchRejected { attempt: 1, .. })));
    assert!(matches!(progress.last(), Some(Progress::Deployed { .. })));
}

#[tokio::test]
async fn permissive_policy_merges_and_strict_policy_leaves_for_review() {
    let permissive = Policy {
        auto_merge: true,
        confidence_threshold: 0.5,
        ..Policy::default()
    };
    let (report, _, _, deployer, _) = run(permissive).await;
    let c = report.confidence.as_ref().unwrap();
    assert!(c.score >= 0.5, "{c:?}");
    assert!(
        c.signals
            .iter()
            .any(|s| s.name == "touches_panic_line" && s.contribution > 0.0),
        "{c:?}"
    );
    assert_eq!(report.decision.kind, DecisionKind::AutoMerge, "{:?}", report.decision);
    assert!(report.deployment.as_ref().unwrap().merged);

    // Without the search, nothing is reproduced: capped below any threshold.
    let strict = Policy {
        auto_merge: true,
        confidence_threshold: 0.5,
        review_threshold: 0.0,
        reproduce: bugstack_fix::ReproduceConfig {
            enabled: false,
            ..Default::default()
        },
        ..Policy::default()
    };
    let (report, _, _, _, _) = run(strict).await;
    assert_eq!(report.decision.kind, DecisionKind::Review);
    assert!(
        report.decision.reason.contains("below the threshold") && report.decision.reason.contains("not reproduced"),
        "{}",
        report.decision.reason
    );
    assert!(!report.deployment.unwrap().merged);

    let off = Policy::default();
    let (report, _, _, _, _) = run(off).await;
    assert_eq!(report.decision.kind, DecisionKind::Review);
    assert!(report.decision.reason.contains("auto_merge is off"));
    assert_eq!(deployer.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn exhausted_retries_mean_no_fix_and_no_deployment() {
    let (report, _, _, deployer, _) = run(Policy {
        retry_limit: 1,
        ..Policy::default()
    })
    .await;
    assert_eq!(report.attempts.len(), 2);
    assert_eq!(report.decision.kind, DecisionKind::NoFix);
    assert!(report.fix.is_none() && report.deployment.is_none());
    assert!(deployer.0.lock().unwrap().is_empty());
    let json = report.to_json();
    assert!(json.contains("\"no_fix\""), "{json}");
}

#[tokio::test]
async fn a_patch_rejected_before_is_skipped_without_costing_an_attempt() {
    // The passing patch was proposed before and its pull request closed:
    // with a budget of two attempts it is skipped, the reason recorded, and
    // the generator asked again (here: out of ideas, so no fix).
    let rejected: std::collections::BTreeSet<String> =
        [edit(&FILE.replace("v[0]", "v.first().copied().unwrap_or(0)")).normalized_hash()].into();
    let mut scripted = patches();
    scripted.remove(0); // fails the check, then the rejected one
    scripted.push(edit(&FILE.replace("v[0]", "v.get(0).copied().unwrap_or(0)"))); // a new one that passes
    let generator = Arc::new(Scripted {
        patches: scripted,
        seen: Mutex::new(vec![]),
    });
    let judge = Arc::new(Judge { calls: Mutex::new(0) });
    let pipeline = bugstack_fix::Pipeline::new(Arc::new(FixedContext), generator.clone(), judge.clone());
    let policy = Policy {
        retry_limit: 1,
        ..Policy::default()
    };
    let report = pipeline
        .run_excluding(&incident(), &RepoRef::new("/nonexistent"), &policy, &rejected)
        .await
        .unwrap();
    assert_eq!(report.attempts.len(), 3, "{:#?}", report.attempts);
    let why = report.attempts[1].rejected.as_deref().unwrap();
    assert!(
        why.contains("closed unmerged") && why.contains("not proposed again"),
        "{why}"
    );
    assert_eq!(
        *judge.calls.lock().unwrap(),
        2,
        "the repeat never reached the validator"
    );
    let fix = report.fix.as_ref().expect("the new candidate passed");
    assert!(fix.diff.contains("v.get(0)"), "{}", fix.diff);
    // The generator was told about the repeat, so it moves on.
    let told = generator.seen.lock().unwrap()[2][1].failure.clone();
    assert!(told.contains("closed unmerged"), "{told}");
    // Without the rejection the same script's old patch is taken.
    let generator = Arc::new(Scripted {
        patches: generator.patches.clone(),
        seen: Mutex::new(vec![]),
    });
    let pipeline = bugstack_fix::Pipeline::new(Arc::new(FixedContext), generator, judge);
    let report = pipeline
        .run(&incident(), &RepoRef::new("/nonexistent"), &policy)
        .await
        .unwrap();
    assert!(report.fix.unwrap().diff.contains("v.first().copied()"));
}
