//! The deployer inside the lead's [`Pipeline`]: stage doubles for context,
//! generation and validation (their real implementations live elsewhere),
//! the real local forge chosen from the policy, real git.

use crate::support;

use std::sync::Arc;

use async_trait::async_trait;
use bugstack_fix::{
    forge_from_policy, CheckStatus, ContextBuilder, DecisionKind, Feedback, FixContext, FixGenerator, ForgeDeployer,
    Incident, JsonPullRequestStore, Patch, Pipeline, Policy, PullRequestState, PullRequestStore, RepoRef, Result,
    Validation, Validator,
};
use support::deploy::*;

struct FixedContext(FixContext);

#[async_trait]
impl ContextBuilder for FixedContext {
    async fn build(&self, _: &Incident, _: &RepoRef) -> Result<FixContext> {
        Ok(self.0.clone())
    }
}

/// Always the same fix (the cart fix, or one of its variants).
struct FixedGenerator(Patch);

#[async_trait]
impl FixGenerator for FixedGenerator {
    fn name(&self) -> String {
        "template".into()
    }
    async fn generate(&self, _: &FixContext, _: &[Feedback]) -> Result<Patch> {
        Ok(self.0.clone())
    }
}

/// Green checks; the panic reproduced (or, with `false`, not: the fix is
/// then not proven), by the given input when there is one.
struct GreenValidator(bool, Option<&'static str>);

#[async_trait]
impl Validator for GreenValidator {
    async fn validate(&self, _: &FixContext, patch: &Patch, _: &Policy) -> Result<Validation> {
        Ok(Validation {
            sandbox: support::double_sandbox(),
            checks: vec![check("build", CheckStatus::Passed), check("test", CheckStatus::Passed)],
            regression: crate::support::double_regression(patch, true),
        })
    }

    async fn reproduce(&self, _: &FixContext, _: &Policy) -> Result<bugstack_fix::Reproduction> {
        Ok(if self.0 {
            let mut r = crate::support::double_reproduction();
            if let Some(input) = self.1 {
                r.input = Some(input.into());
            }
            r
        } else {
            bugstack_fix::Reproduction::not_reproduced("no input among 900 cases")
        })
    }
}

async fn run(fx: &Fixture, policy: &Policy) -> (bugstack_fix::FixReport, Arc<JsonPullRequestStore>) {
    run_with(fx, policy, true, FixedGenerator(cart_patch())).await
}

async fn run_with(
    fx: &Fixture,
    policy: &Policy,
    reproduced: bool,
    generator: FixedGenerator,
) -> (bugstack_fix::FixReport, Arc<JsonPullRequestStore>) {
    run_reproduced_by(fx, policy, reproduced.then_some(None), generator).await
}

/// `run_with`, the panic reproduced by `input` (`Some(None)`: the double's
/// own input; `None`: not reproduced).
async fn run_reproduced_by(
    fx: &Fixture,
    policy: &Policy,
    input: Option<Option<&'static str>>,
    generator: FixedGenerator,
) -> (bugstack_fix::FixReport, Arc<JsonPullRequestStore>) {
    let store = Arc::new(JsonPullRequestStore::open(fx.store_dir()).unwrap());
    let forge = forge_from_policy(policy, &fx.repo, store.clone()).await.unwrap();
    let ctx = context(fx, 5);
    let pipeline = Pipeline::new(
        Arc::new(FixedContext(ctx.clone())),
        Arc::new(generator),
        Arc::new(GreenValidator(input.is_some(), input.flatten())),
    )
    .with_deployer(Arc::new(ForgeDeployer::with_plain_body(forge)));
    let report = pipeline
        .run(&ctx.incident, &RepoRef::new(&fx.repo).at(&fx.release), policy)
        .await
        .unwrap();
    (report, store)
}

#[tokio::test]
async fn a_permissive_policy_merges_and_a_strict_one_leaves_the_pr_open() {
    let fx = Fixture::conventional();
    let permissive = Policy::from_toml_str("auto_merge = true\nconfidence_threshold = 0.5\n").unwrap();
    let (report, store) = run(&fx, &permissive).await;
    assert_eq!(
        report.decision.kind,
        DecisionKind::AutoMerge,
        "{}",
        report.decision.reason
    );
    let d = report
        .deployment
        .as_ref()
        .unwrap_or_else(|| panic!("{:?}", report.deploy_error));
    assert!(d.merged, "{}", d.reason);
    assert_eq!(fx.remote_tip("main").unwrap(), d.commit);
    assert_eq!(store.list().unwrap()[0].state, PullRequestState::Merged);
    assert!(report.stage_ms.contains_key("deploy"));

    let fx = Fixture::conventional();
    let strict = Policy::default();
    let (report, store) = run(&fx, &strict).await;
    assert_eq!(report.decision.kind, DecisionKind::Review);
    let d = report.deployment.unwrap();
    assert!(!d.merged);
    assert!(d.reason.contains("auto_merge is off"), "{}", d.reason);
    assert_eq!(fx.remote_tip("main").unwrap(), fx.release);
    assert_eq!(store.list().unwrap()[0].state, PullRequestState::Open);
}

/// `review_threshold = 0.5`: a fix whose panic was not reproduced (capped at
/// 0.45) is held — no branch, no pull request — and the report keeps the
/// patch and says why; the same policy proposes a proven fix.
#[tokio::test]
async fn below_the_review_threshold_an_unproven_fix_is_held() {
    let fx = Fixture::conventional();
    let policy = Policy::from_toml_str("review_threshold = 0.5\n").unwrap();
    let (report, store) = run_with(&fx, &policy, false, FixedGenerator(cart_patch())).await;
    assert_eq!(report.decision.kind, DecisionKind::Held, "{}", report.decision.reason);
    assert!(
        report
            .decision
            .reason
            .contains("below review_threshold 0.50 (not reproduced"),
        "{}",
        report.decision.reason
    );
    assert!(report.fix.is_some() && report.deployment.is_none() && report.deploy_error.is_none());
    assert!(store.list().unwrap().is_empty());
    assert_eq!(fx.remote_tip("main").unwrap(), fx.release);
    let md = bugstack_fix::render_markdown(&report);
    assert!(md.contains("### Decision: held (not proposed)"), "{md}");

    let fx = Fixture::conventional();
    let (report, store) = run_with(&fx, &policy, true, FixedGenerator(cart_patch())).await;
    assert_eq!(report.decision.kind, DecisionKind::Review, "{}", report.decision.reason);
    assert_eq!(store.list().unwrap()[0].state, PullRequestState::Open);
}

/// A reproduced fix that leaves a maintainer's call is proposed, never
/// auto-merged, whatever its score, and its pull request says which call:
/// an existing error naming none of the panic's words (fancy-regex's
/// matcher returning `BacktrackLimitExceeded` for a slice out of range;
/// the `error_choice` signal −0.10), or a value made up where the code
/// panicked (fancy-regex's `get()` answering `0` for a slot past the end,
/// which let a bad pattern compile).
#[tokio::test]
async fn a_fix_leaving_a_maintainers_call_is_never_auto_merged() {
    let permissive = Policy::from_toml_str("auto_merge = true\nconfidence_threshold = 0.5\n").unwrap();
    let borrowing = Patch {
        borrowed_error: Some("Error::BacktrackLimitExceeded".into()),
        ..cart_patch()
    };
    let inventing = Patch {
        invented_value: Some("`0`".into()),
        ..cart_patch()
    };
    for (patch, reason, review) in [
        (
            borrowing,
            "returns `Error::BacktrackLimitExceeded`",
            "**Review the error:** the fix returns Error\\:\\:BacktrackLimitExceeded",
        ),
        (
            inventing,
            "the fix gives `0`, a value the code never chose",
            "**Review the value:** where the code panicked, the fix now gives \\`0\\`",
        ),
    ] {
        let borrowed = patch.borrowed_error.is_some();
        let fx = Fixture::conventional();
        let (report, store) = run_with(&fx, &permissive, true, FixedGenerator(patch)).await;
        let why = &report.decision.reason;
        assert_eq!(report.decision.kind, DecisionKind::Review, "{why}");
        assert!(why.contains(reason) && why.contains("auto-merge refused"), "{why}");
        let confidence = report.confidence.as_ref().unwrap();
        assert!(confidence.score >= 0.5, "{confidence:?}");
        let signal = confidence.signals.iter().find(|s| s.name == "error_choice");
        assert_eq!(
            signal.map(|s| s.contribution),
            borrowed.then_some(-0.10),
            "{confidence:?}"
        );
        let prs = store.list().unwrap();
        assert_eq!(prs[0].state, PullRequestState::Open);
        assert!(prs[0].body.contains("auto-merge refused"), "{}", prs[0].body);
        let md = bugstack_fix::render_markdown(&report);
        assert!(md.contains(review), "{md}");
        assert_eq!(fx.remote_tip("main").unwrap(), fx.release);
    }
}

/// The reproducing input went through the crate's own fallible
/// constructor (`fixture::Pattern::new(..).unwrap()`), which accepted it,
/// and the panic came later: a fix that makes up a value at the panic
/// hides the bad input, so it is held, not proposed, and the report says
/// where to look. A fix that makes up nothing, or an input that takes no
/// such constructor, is proposed as before.
#[tokio::test]
async fn a_made_up_value_after_a_constructor_accepted_the_input_is_held() {
    const THROUGH_CTOR: &str = "fixture::f(&fixture::Pattern::new(\"\\\\1\").unwrap())";
    let policy = Policy::default();
    let inventing = Patch {
        invented_value: Some("`0`".into()),
        ..cart_patch()
    };
    let fx = Fixture::conventional();
    let (report, store) = run_reproduced_by(
        &fx,
        &policy,
        Some(Some(THROUGH_CTOR)),
        FixedGenerator(inventing.clone()),
    )
    .await;
    let why = &report.decision.reason;
    assert_eq!(report.decision.kind, DecisionKind::Held, "{why}");
    assert!(
        why.contains("accepted by `fixture::Pattern::new`") && why.contains("gives `0`"),
        "{why}"
    );
    assert!(report.fix.is_some() && report.deployment.is_none());
    assert!(store.list().unwrap().is_empty());

    for (patch, input) in [(cart_patch(), Some(THROUGH_CTOR)), (inventing, None)] {
        let fx = Fixture::conventional();
        let (report, store) = run_reproduced_by(&fx, &policy, Some(input), FixedGenerator(patch)).await;
        assert_eq!(report.decision.kind, DecisionKind::Review, "{}", report.decision.reason);
        assert_eq!(store.list().unwrap()[0].state, PullRequestState::Open);
    }
}

/// A model's patch does not say what it makes up: the pipeline reads its
/// fallback (`unwrap_or(0)`) from the diff, and the proven fix is proposed,
/// never auto-merged. The same model's fix without a fallback merges.
#[tokio::test]
async fn a_models_fallback_value_is_read_from_its_diff_and_never_auto_merged() {
    let permissive = Policy::from_toml_str("auto_merge = true\nconfidence_threshold = 0.5\n").unwrap();
    let model = |after: &str| {
        FixedGenerator(Patch {
            generator: "llm:openai:scripted".into(),
            ..support::described(
                support::deploy::cart_edit(after),
                "index-oob",
                "`total` indexes `items[0]` of an empty cart.",
                "Start from 0 when the cart is empty.",
            )
        })
    };
    let fallback = "pub fn total(items: &[u32]) -> u32 {\n    let first = items.first().copied().unwrap_or(0);\n    first + items.iter().skip(1).sum::<u32>()\n}\n";
    let fx = Fixture::conventional();
    let (report, store) = run_with(&fx, &permissive, true, model(fallback)).await;
    assert_eq!(report.decision.kind, DecisionKind::Review, "{}", report.decision.reason);
    let invented = report.fix.as_ref().and_then(|p| p.invented_value.clone());
    assert_eq!(
        invented.as_deref(),
        Some("a fallback value (`let first = items.first().copied().unwrap_or(0);`)")
    );
    assert!(
        report.decision.reason.contains("auto-merge refused"),
        "{}",
        report.decision.reason
    );
    assert_eq!(store.list().unwrap()[0].state, PullRequestState::Open);

    // A fallback in the test module it adds is the test's business.
    let with_test = format!(
        "{}\n#[cfg(test)]\nmod tests {{\n    #[test]\n    fn empty() {{\n        assert_eq!(super::total(&[]), std::env::var(\"N\").map_or(0, |_| 0));\n    }}\n}}\n",
        support::deploy::AFTER
    );
    for after in [support::deploy::AFTER, with_test.as_str()] {
        let fx = Fixture::conventional();
        let (report, _) = run_with(&fx, &permissive, true, model(after)).await;
        assert_eq!(report.fix.as_ref().and_then(|p| p.invented_value.clone()), None);
        assert_eq!(
            report.decision.kind,
            DecisionKind::AutoMerge,
            "{}",
            report.decision.reason
        );
    }
}

#[tokio::test]
async fn the_users_work_tree_is_untouched_by_a_pipeline_run() {
    let fx = Fixture::conventional();
    let before = fx.make_dirty();
    let policy = Policy::from_toml_str("auto_merge = true\nconfidence_threshold = 0.5\n").unwrap();
    let (report, _) = run(&fx, &policy).await;
    assert!(report.deployment.unwrap().merged);
    assert_eq!(fx.snapshot(), before);
}

#[tokio::test]
async fn a_local_forge_needs_a_local_remote() {
    let fx = Fixture::conventional();
    support::git(&fx.repo, &["remote", "add", "web", "https://example.invalid/shop.git"]);
    let mut policy = Policy::default();
    policy.forge.remote = "web".into();
    let store = Arc::new(JsonPullRequestStore::open(fx.store_dir()).unwrap());
    let err = match forge_from_policy(&policy, &fx.repo, store).await {
        Ok(_) => panic!("a web remote is not a local forge"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("web") && err.contains("example.invalid"), "{err}");
}
