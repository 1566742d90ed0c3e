//! The lead's Pipeline driving the WorktreeValidator: a first candidate that
//! breaks a check the base passes is blamed, its check output goes back to
//! the generator, the revised candidate passes, and the Markdown report
//! shows both attempts. Context and generator are tiny test doubles.

use crate::support;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bugstack_fix::{
    render_markdown, CheckSpec, ContextBuilder, DecisionKind, Feedback, FileEdit, FixContext, FixGenerator, Incident,
    Patch, Policy, RepoRef, Result,
};
use support::{context_at, git, panic_event, target_frame, validator, Repo};

const LIB: &str = "fn total() {\n    keep();\n    bug();\n}\n";

struct Ctx;

#[async_trait]
impl ContextBuilder for Ctx {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        Ok(FixContext {
            token_budget: 100,
            tokens_used: 10,
            ..context_at(
                incident.clone(),
                repo.root.clone(),
                git(&repo.root, &["rev-parse", "HEAD"]),
                target_frame("src/lib.txt", 3, None, Some("total")),
                LIB,
            )
        })
    }
}

/// First a candidate that breaks `keep()`, then — once it has seen the
/// failure output — the real fix.
#[derive(Default)]
struct TwoTries {
    seen: Mutex<Vec<Feedback>>,
}

#[async_trait]
impl FixGenerator for TwoTries {
    fn name(&self) -> String {
        "two-tries".into()
    }

    async fn generate(&self, _ctx: &FixContext, feedback: &[Feedback]) -> Result<Patch> {
        *self.seen.lock().unwrap() = feedback.to_vec();
        let after = if feedback.iter().any(|f| f.failure.contains("keep() is gone")) {
            LIB.replace("bug()", "fixed()")
        } else {
            LIB.replace("    keep();\n", "").replace("bug()", "fixed()")
        };
        let mut p = Patch::from_edits(&[FileEdit {
            path: "src/lib.txt".into(),
            before: LIB.into(),
            after,
        }])?;
        p.generator = "two-tries".into();
        p.root_cause = "bug() is called".into();
        Ok(p)
    }
}

#[tokio::test]
async fn failed_check_output_drives_a_successful_retry() {
    let repo = Repo::with_files(&[("src/lib.txt", LIB)], "base");
    let work = tempfile::TempDir::new().unwrap();
    let validator = Arc::new(validator(work.path()));
    let generator = Arc::new(TwoTries::default());
    let policy = Policy {
        checks: vec![
            CheckSpec::new("fixed", "grep -q fixed src/lib.txt"),
            CheckSpec::new("keep", "grep -q keep src/lib.txt || { echo 'keep() is gone'; exit 1; }"),
        ],
        auto_merge: true,
        confidence_threshold: 0.5,
        // Propose unproven fixes too (the default holds them).
        review_threshold: 0.0,
        ..Policy::default()
    };
    let pipeline = bugstack_fix::Pipeline::new(Arc::new(Ctx), generator.clone(), validator);
    let event = panic_event("bug() panicked");
    let report = pipeline
        .run(&Incident::from_event("7", event), &RepoRef::new(repo.path()), &policy)
        .await
        .unwrap();

    assert_eq!(report.attempts.len(), 2, "{}", report.to_json());
    let first = report.attempts[0].validation.as_ref().unwrap();
    assert!(!first.passed());
    assert!(first.checks[1].blames_fix());
    let seen = generator.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].failure.contains("keep() is gone"), "{}", seen[0].failure);
    assert!(report.attempts[1].succeeded());
    // `src/lib.txt` is no crate: nothing can be reproduced, so no auto-merge.
    assert_eq!(report.decision.kind, DecisionKind::Review, "{:?}", report.decision);
    assert!(
        report.decision.reason.contains("not reproduced"),
        "{:?}",
        report.decision
    );

    let md = render_markdown(&report);
    assert!(md.contains("#### Attempt 1: failed"), "{md}");
    assert!(md.contains("#### Attempt 2: passed (accepted)"), "{md}");
    assert!(md.contains("keep() is gone"), "{md}");
    assert!(md.contains("### Reproduction: not reproduced"), "{md}");

    assert_eq!(repo.git(&["status", "--porcelain", "--untracked-files=all"]), "");
    assert_eq!(repo.git(&["worktree", "list"]).lines().count(), 1);
}
