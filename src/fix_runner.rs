//! The seam between the job loop and the bugstack-fix pipeline:
//! [`PipelineRunner`] runs a [`bugstack_fix::Pipeline`] on a claimed job and
//! turns its [`FixReport`] into the store's [`FixOutcome`].
//!
//! [`build_pipeline`] assembles the built-in stages the way `bugstack fix`
//! and `serve --auto-fix` use them: the Rust context builder, the offline
//! template generator, the worktree validator, and the forge the policy names
//! (the local forge records its pull requests in the incident store).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bugstack_fix::deploy::{forge_from_policy, ForgeDeployer, PullRequestStore};
use bugstack_fix::policy::ForgeKind;
use bugstack_fix::{
    render_markdown, DecisionKind, FixReport, Observer, Pipeline, Policy, RepoRef, RustContextBuilder,
    ValidatorOptions, WorktreeValidator,
};

use crate::jobs::FixJobRunner;
use crate::store::{ClaimedJob, FixOutcome, NewPullRequest, SqliteStore};
use crate::{Error, Result};

/// The pipeline for `repo` under `policy`: Rust context, offline template
/// generator, worktree validation with the policy's checks, and delivery to
/// the policy's forge (a local forge keeps its pull requests in `store`).
/// The generator follows `[model] backend` ([`crate::fixer::generator_for`]:
/// offline templates, or the LLM generator over the configured model).
/// `observer` receives progress.
pub async fn build_pipeline(
    repo: &Path,
    policy: &Policy,
    store: Arc<SqliteStore>,
    observer: impl Observer + 'static,
) -> Result<PipelineRunner> {
    let generator = crate::fixer::generator_for(policy)?;
    let prs: Arc<dyn PullRequestStore> = store;
    let forge = forge_from_policy(policy, repo, prs)
        .await
        .map_err(|e| Error::Config(format!("cannot set up the forge for {}: {e}", repo.display())))?;
    let deployer = ForgeDeployer::new(forge, Arc::new(render_markdown));
    let pipeline = Pipeline::new(
        Arc::new(RustContextBuilder::new()),
        generator,
        Arc::new(WorktreeValidator::new(ValidatorOptions::default())),
    )
    .with_deployer(Arc::new(deployer))
    .with_observer(observer);
    Ok(PipelineRunner {
        pipeline,
        repo: repo.to_path_buf(),
        policy: policy.clone(),
        forge_records_in_store: policy.forge.kind == ForgeKind::Local,
    })
}

/// Runs fix jobs through the bugstack-fix pipeline against one repository.
#[derive(Debug, Clone)]
pub struct PipelineRunner {
    /// The configured pipeline (context, generator, validator, deployer).
    pub pipeline: Pipeline,
    /// The repository to fix.
    pub repo: PathBuf,
    /// The repository's policy (`bugstack.toml`).
    pub policy: Policy,
    /// Whether the pipeline's forge records its pull requests in this store
    /// (the local forge over [`crate::store::SqliteStore`]); then a run links
    /// that record, otherwise (GitHub) it records the pull request itself.
    pub forge_records_in_store: bool,
}

#[async_trait]
impl FixJobRunner for PipelineRunner {
    fn name(&self) -> &str {
        "pipeline"
    }

    async fn run(&self, job: &ClaimedJob) -> Result<FixOutcome> {
        let report = self.report(job).await?;
        outcome_from_report(&report, self.forge_records_in_store)
    }
}

impl PipelineRunner {
    /// Runs the pipeline on the job's incident and returns its full report.
    pub async fn report(&self, job: &ClaimedJob) -> Result<FixReport> {
        self.pipeline
            .run(&job.pipeline_incident(), &RepoRef::new(&self.repo), &self.policy)
            .await
            .map_err(|e| Error::Pipeline(e.to_string()))
    }
}

/// The store outcome of a pipeline report:
/// - no fix → [`FixOutcome::NoFix`] with the decision's reason;
/// - deployed and merged → [`FixOutcome::Merged`], the fixing release being
///   the fix commit;
/// - deployed, not merged → [`FixOutcome::Proposed`];
/// - in both deployed cases, when `forge_records_in_store` (the local forge
///   over this store: [`bugstack_fix::deploy::PullRequestStore`] is
///   implemented by [`crate::store::SqliteStore`]) the pull request is already
///   recorded and the run links it by number; otherwise (GitHub) the run
///   records it with the forge's URL;
/// - a fix whose deployment failed → an error, so the job is retried;
/// - a fix with no deployer configured → [`FixOutcome::NoFix`] saying so (the
///   patch is in the report).
pub fn outcome_from_report(report: &FixReport, forge_records_in_store: bool) -> Result<FixOutcome> {
    let json = serde_json::to_value(report)?;
    if report.decision.kind == DecisionKind::NoFix || report.fix.is_none() {
        return Ok(FixOutcome::NoFix {
            reason: report.decision.reason.clone(),
            report: json,
        });
    }
    let Some(d) = &report.deployment else {
        if let Some(e) = &report.deploy_error {
            return Err(Error::Task(format!("the fix could not be deployed: {e}")));
        }
        return Ok(FixOutcome::NoFix {
            reason: "a validated fix was found but no deployer is configured; the patch is in the report".into(),
            report: json,
        });
    };
    let pr = NewPullRequest {
        // The forge recorded it in our store when it opened it (local forge
        // over this store's PullRequestStore); link that record.
        number: if forge_records_in_store {
            i64::try_from(d.pull_request.number).ok()
        } else {
            None
        },
        url: d.pull_request.url.clone(),
        title: format!("bugstack: fix {}", report.incident.title()),
        body: pr_body(report),
        branch: d.branch.clone(),
        decision: match report.decision.kind {
            DecisionKind::AutoMerge => "auto-merge",
            DecisionKind::Review => "review",
            DecisionKind::NoFix => "no-fix",
        }
        .into(),
    };
    Ok(if d.merged {
        FixOutcome::Merged {
            pr,
            release: d.commit.clone(),
            report: json,
        }
    } else {
        FixOutcome::Proposed { pr, report: json }
    })
}

/// A short Markdown body for the stored pull request (the deployer writes the
/// full one on the forge).
fn pr_body(report: &FixReport) -> String {
    let mut body = format!(
        "Incident {} ({} occurrences)\n\n",
        report.incident.id, report.incident.count
    );
    if let Some(fix) = &report.fix {
        body.push_str(&format!(
            "**Root cause:** {}\n\n{}\n\n",
            fix.root_cause, fix.explanation
        ));
        body.push_str(&format!("Changed files: {}\n\n", fix.files.join(", ")));
    }
    if let Some(c) = &report.confidence {
        body.push_str(&format!("Confidence: {:.2}\n\n", c.score));
    }
    body.push_str(&format!("Decision: {}\n", report.decision.reason));
    body
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use bugstack_core::{Event, EventKind, Level, Timestamp};
    use bugstack_fix::{
        ContextBuilder, Decision, Deployment, Feedback, FixContext, FixGenerator, Incident, Patch, PullRequestRef,
        PullRequestState,
    };

    use super::*;

    fn incident() -> Incident {
        Incident::from_event(
            "7",
            Event::new(
                EventKind::Panic,
                Level::Fatal,
                "attempt to divide by zero",
                Timestamp::from_millis(1),
            ),
        )
    }

    fn context() -> FixContext {
        FixContext {
            incident: incident(),
            repo_root: PathBuf::from("/repo"),
            revision: "HEAD".into(),
            frames: Vec::new(),
            snippets: Vec::new(),
            files: BTreeMap::new(),
            token_budget: 1000,
            tokens_used: 0,
            warnings: Vec::new(),
        }
    }

    fn report(kind: DecisionKind, fix: bool, deployment: Option<Deployment>, deploy_error: Option<&str>) -> FixReport {
        FixReport {
            report_version: 1,
            incident: incident(),
            context: context(),
            generator: "template".into(),
            attempts: Vec::new(),
            fix: fix.then(|| Patch {
                files: vec!["src/cart.rs".into()],
                root_cause: "unchecked divisor".into(),
                ..Patch::default()
            }),
            confidence: None,
            decision: Decision {
                kind,
                reason: "because".into(),
            },
            deployment,
            deploy_error: deploy_error.map(str::to_string),
            started_at: Timestamp::from_millis(1),
            finished_at: Timestamp::from_millis(2),
            stage_ms: BTreeMap::new(),
        }
    }

    fn deployment(merged: bool) -> Deployment {
        Deployment {
            branch: "bugstack/fix-abc".into(),
            commit: "c0ffee".into(),
            pull_request: PullRequestRef {
                number: 1,
                url: "local".into(),
                state: if merged {
                    PullRequestState::Merged
                } else {
                    PullRequestState::Open
                },
            },
            merged,
            reason: "policy".into(),
        }
    }

    fn outcome_from_report_t(r: &FixReport) -> Result<FixOutcome> {
        outcome_from_report(r, false)
    }

    #[test]
    fn reports_map_to_outcomes() {
        let o = outcome_from_report_t(&report(DecisionKind::NoFix, false, None, None)).unwrap();
        assert!(matches!(&o, FixOutcome::NoFix { reason, .. } if reason == "because"));
        assert_eq!(o.report()["decision"]["kind"], "no_fix");

        let o = outcome_from_report_t(&report(DecisionKind::Review, true, Some(deployment(false)), None)).unwrap();
        match o {
            FixOutcome::Proposed { pr, .. } => {
                assert_eq!(
                    (pr.branch.as_str(), pr.decision.as_str()),
                    ("bugstack/fix-abc", "review")
                );
                assert!(pr.title.contains("attempt to divide by zero"));
                assert!(pr.body.contains("unchecked divisor"));
            }
            other => panic!("expected Proposed, got {other:?}"),
        }

        let o = outcome_from_report_t(&report(DecisionKind::AutoMerge, true, Some(deployment(true)), None)).unwrap();
        assert!(matches!(&o, FixOutcome::Merged { release, .. } if release == "c0ffee"));

        let e = outcome_from_report_t(&report(DecisionKind::Review, true, None, Some("push rejected"))).unwrap_err();
        assert!(e.to_string().contains("push rejected"));

        let o = outcome_from_report_t(&report(DecisionKind::Review, true, None, None)).unwrap();
        assert!(matches!(&o, FixOutcome::NoFix { reason, .. } if reason.contains("no deployer")));
    }

    struct Ctx;
    #[async_trait]
    impl ContextBuilder for Ctx {
        async fn build(&self, _: &Incident, _: &RepoRef) -> bugstack_fix::Result<FixContext> {
            Ok(context())
        }
    }

    struct NoIdea;
    #[async_trait]
    impl FixGenerator for NoIdea {
        fn name(&self) -> String {
            "no-idea".into()
        }
        async fn generate(&self, _: &FixContext, _: &[Feedback]) -> bugstack_fix::Result<Patch> {
            Err(bugstack_fix::Error::Generate("no template matches".into()))
        }
    }

    struct NeverCalled;
    #[async_trait]
    impl bugstack_fix::Validator for NeverCalled {
        async fn validate(
            &self,
            _: &FixContext,
            _: &Patch,
            _: &Policy,
        ) -> bugstack_fix::Result<bugstack_fix::Validation> {
            panic!("no patch, nothing to validate")
        }
    }

    #[tokio::test]
    async fn the_runner_drives_the_pipeline_and_stores_its_report() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::SqliteStore::open(dir.path()).unwrap();
        use crate::store::IncidentStore;
        let e = Event::new(
            EventKind::Panic,
            Level::Fatal,
            "attempt to divide by zero",
            Timestamp::now(),
        );
        store.ingest(&[e], Timestamp::now()).unwrap();
        let job = store
            .claim_job("w", std::time::Duration::from_secs(60), Timestamp::now())
            .unwrap()
            .unwrap();
        let runner = PipelineRunner {
            pipeline: Pipeline::new(Arc::new(Ctx), Arc::new(NoIdea), Arc::new(NeverCalled)),
            repo: dir.path().to_path_buf(),
            policy: Policy::default(),
            forge_records_in_store: true,
        };
        let outcome = runner.run(&job).await.unwrap();
        assert_eq!(outcome.name(), "no-fix");
        let run = store.complete_job(job.job.id, "w", &outcome, Timestamp::now()).unwrap();
        assert_eq!(run.report["generator"], "no-idea");
        assert_eq!(
            run.report["attempts"].as_array().unwrap().len(),
            3,
            "1 + retry_limit attempts"
        );
    }
}
