//! The lead's Pipeline driving the WorktreeValidator: a first candidate that
//! breaks a check the base passes is blamed, its check output goes back to
//! the generator, the revised candidate passes, and the Markdown report
//! shows both attempts. Context and generator are tiny test doubles.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bugstack_core::{Event, EventKind, Level, Timestamp};
use bugstack_fix::{
    render_markdown, CheckSpec, ContextBuilder, DecisionKind, Feedback, FileEdit, FixContext, FixGenerator, Incident,
    Patch, Policy, RepoFrame, RepoRef, Result, ValidatorOptions, WorktreeValidator,
};

const LIB: &str = "fn total() {\n    keep();\n    bug();\n}\n";

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Ctx;

#[async_trait]
impl ContextBuilder for Ctx {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> Result<FixContext> {
        Ok(FixContext {
            incident: incident.clone(),
            repo_root: repo.root.clone(),
            revision: git(&repo.root, &["rev-parse", "HEAD"]),
            frames: vec![RepoFrame {
                frame_index: Some(0),
                path: "src/lib.txt".into(),
                line: 3,
                column: None,
                function: Some("total".into()),
            }],
            snippets: Vec::new(),
            files: BTreeMap::from([("src/lib.txt".to_string(), LIB.to_string())]),
            token_budget: 100,
            tokens_used: 10,
            warnings: Vec::new(),
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
    let repo = tempfile::TempDir::new().unwrap();
    git(repo.path(), &["init", "-q"]);
    for (k, v) in [
        ("user.name", "t"),
        ("user.email", "t@example.invalid"),
        ("commit.gpgsign", "false"),
    ] {
        git(repo.path(), &["config", k, v]);
    }
    std::fs::create_dir_all(repo.path().join("src")).unwrap();
    std::fs::write(repo.path().join("src/lib.txt"), LIB).unwrap();
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "-q", "-m", "base"]);
    let work = tempfile::TempDir::new().unwrap();
    let validator = Arc::new(WorktreeValidator::new(ValidatorOptions {
        work_root: Some(work.path().join("wt")),
        target_dir: Some(work.path().join("target")),
        ..ValidatorOptions::default()
    }));
    let generator = Arc::new(TwoTries::default());
    let policy = Policy {
        checks: vec![
            CheckSpec::new("fixed", "grep -q fixed src/lib.txt"),
            CheckSpec::new("keep", "grep -q keep src/lib.txt || { echo 'keep() is gone'; exit 1; }"),
        ],
        auto_merge: true,
        confidence_threshold: 0.5,
        ..Policy::default()
    };
    let pipeline = bugstack_fix::Pipeline::new(Arc::new(Ctx), generator.clone(), validator);
    let event = Event::new(
        EventKind::Panic,
        Level::Fatal,
        "bug() panicked",
        Timestamp::from_millis(1_700_000_000_000),
    );
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
    assert_eq!(report.decision.kind, DecisionKind::AutoMerge, "{:?}", report.decision);

    let md = render_markdown(&report);
    assert!(md.contains("#### Attempt 1: failed"), "{md}");
    assert!(md.contains("#### Attempt 2: passed (accepted)"), "{md}");
    assert!(md.contains("keep() is gone"), "{md}");
    assert!(md.contains("### Decision: auto-merge"), "{md}");

    assert_eq!(
        git(repo.path(), &["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(git(repo.path(), &["worktree", "list"]).lines().count(), 1);
}
