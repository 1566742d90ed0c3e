//! The one assembly of the bugstack-fix pipeline, used by `bugstack fix`,
//! `serve --auto-fix` and `bugstack demo`, and the seam between the job loop
//! and it: [`PipelineRunner`] runs a [`bugstack_fix::Pipeline`] on a claimed
//! job and turns its [`FixReport`] into the store's [`FixOutcome`].
//!
//! [`build_pipeline`] assembles the stages the repository's `bugstack.toml`
//! names:
//!
//! | stage | implementation |
//! |---|---|
//! | context | [`context_builder_for`]: [`RustContextBuilder`] cut to `[model] context_tokens` |
//! | generate | [`generator_for`]: `[model] backend = "offline"`: [`TemplateGenerator`]; `openai` / `anthropic`: [`LlmGenerator`] over [`ModelConfig::language_model`](bugstack_fix::ModelConfig::language_model) |
//! | validate | [`WorktreeValidator`]: the policy's checks in a git worktree; `CARGO_TARGET_DIR` and base-commit judging from [`PipelineOptions`] |
//! | deploy | [`ForgeDeployer`] over the policy's forge ([`forge_from_policy`]), pull request body = [`render_markdown`]; the local forge records its pull requests in the incident store ([`ForgeStore`]s — SQLite and Postgres — implement [`PullRequestStore`]), so `bugstack prs` lists every run's |
//!
//! [`progress_line`] turns the pipeline's progress events into plain lines,
//! [`StageDisplay`] shows them live on a terminal (plain lines otherwise),
//! and [`write_report`] writes a report as `<dir>/reports/<incident>-<run>.{json,md}`.

mod display;
mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bugstack_fix::{
    forge_from_policy, render_markdown, resolve_base, FixGenerator, FixReport, ForgeDeployer, ForgeKind, LlmGenerator,
    ModelBackend, Observer, Pipeline, Policy, PullRequestStore, RepoRef, RustContextBuilder, TemplateGenerator,
    ValidatorOptions, WorktreeValidator, POLICY_FILE,
};

pub use display::{StageDisplay, Stream};
pub use report::{progress_line, write_report, REPORTS_DIR};

use crate::jobs::FixJobRunner;
use crate::store::{ClaimedJob, FixOutcome, ForgeStore, RunPullRequest};
use crate::{Error, Result};

/// How [`build_pipeline`] sets up validation and delivery, besides the
/// policy. The default is what `bugstack fix` and `serve --auto-fix` use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineOptions {
    /// `CARGO_TARGET_DIR` of every validation (base commit and candidates).
    /// `None` (default): the validator's own, one directory per repository
    /// in its private state directory (under `data_dir` when set; see
    /// [`WorktreeValidator::default_target_dir`]), kept between runs so later
    /// validations build warm.
    pub target_dir: Option<PathBuf>,
    /// Run every check on the base commit too, so a check that already fails
    /// there is not blamed on the fix (default `true`). The demo turns it off
    /// to halve its validation time.
    pub judge_against_base: bool,
    /// How the deployer polls the forge's CI before an auto-merge: the first
    /// wait and the longest one (it doubles in between). `None` (default): the
    /// deployer's 5 s and 60 s, suited to a hosted CI; the local forge answers
    /// at once from the validation, so this only matters for GitHub.
    pub ci_polling: Option<(Duration, Duration)>,
    /// bugstack's data directory (absolute): hidden from the checks' sandbox
    /// (the store and its tokens are never visible to a patch's code), and
    /// home of the validation state (`<data>/validate`: shared target
    /// directories and worktrees, 0700, aged out). `None`: the validator's
    /// defaults.
    pub data_dir: Option<PathBuf>,
    /// Deliver the fix: push its branch, open the pull request, merge when
    /// policy allows (default `true`). `false` is `bugstack fix --dry-run`:
    /// the pipeline has no deployer and the forge is never contacted.
    pub deliver: bool,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            target_dir: None,
            judge_against_base: true,
            ci_polling: None,
            data_dir: None,
            deliver: true,
        }
    }
}

impl PipelineOptions {
    /// The validator's options these translate to.
    pub fn validator_options(&self) -> ValidatorOptions {
        ValidatorOptions {
            target_dir: self.target_dir.clone(),
            judge_against_base: self.judge_against_base,
            hidden_paths: self.data_dir.iter().cloned().collect(),
            state_dir: self.data_dir.as_ref().map(|d| d.join("validate")),
            ..ValidatorOptions::default()
        }
    }
}

/// Checks that `repo` is a directory inside a git work tree; the error says
/// which one is missing (`bugstack fix` fixes committed code).
pub fn check_repo(repo: &Path) -> Result<()> {
    if !repo.is_dir() {
        return Err(Error::Config(format!("--repo {}: not a directory", repo.display())));
    }
    let out = bugstack_fix::git::command(repo)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .map_err(|e| Error::io(format!("cannot run git in {}", repo.display()), e))?;
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != "true" {
        return Err(Error::NotAGitRepository(repo.to_path_buf()));
    }
    Ok(())
}

/// The context builder the policy configures: [`RustContextBuilder`] with
/// `[model] context_tokens` as its token budget.
pub fn context_builder_for(policy: &Policy) -> RustContextBuilder {
    RustContextBuilder::new().with_token_budget(policy.model.context_tokens)
}

/// The generator `[model] backend` names: offline templates, or the LLM
/// generator over the configured model (a missing key or model is a
/// configuration error).
pub fn generator_for(policy: &Policy) -> Result<Arc<dyn FixGenerator>> {
    Ok(match policy.model.backend {
        ModelBackend::Offline => Arc::new(TemplateGenerator::new()),
        ModelBackend::Openai | ModelBackend::Anthropic => {
            let model = policy
                .model
                .language_model()
                .map_err(|e| Error::Config(format!("[model] in bugstack.toml: {e}")))?
                .ok_or_else(|| Error::Config("[model]: the backend needs a model".into()))?;
            Arc::new(LlmGenerator::new(model, policy.clone()))
        }
    })
}

/// The pipeline for `repo` under `policy` (see the module docs): `repo` must
/// be a git work tree ([`check_repo`]); a local forge keeps its pull requests
/// in `store`; `options` sets the validation target dir, base-commit judging
/// and CI polling. `observer` receives progress.
pub async fn build_pipeline(
    repo: &Path,
    policy: &Policy,
    store: Arc<dyn ForgeStore>,
    options: &PipelineOptions,
    observer: impl Observer + 'static,
) -> Result<PipelineRunner> {
    check_repo(repo)?;
    let repo = std::fs::canonicalize(repo).map_err(|e| Error::io(format!("cannot resolve {}", repo.display()), e))?;
    let generator = generator_for(policy)?;
    let store_for_rejections = store.clone();
    let mut pipeline = Pipeline::new(
        Arc::new(context_builder_for(policy)),
        generator,
        Arc::new(WorktreeValidator::new(options.validator_options())),
    )
    .with_observer(observer);
    if options.deliver {
        let prs: Arc<dyn PullRequestStore> = store.into_pull_request_store();
        let forge = forge_from_policy(policy, &repo, prs)
            .await
            .map_err(|e| Error::Config(format!("cannot set up the forge for {}: {e}", repo.display())))?;
        let mut deployer = ForgeDeployer::new(forge, Arc::new(render_markdown));
        if let Some((initial, max)) = options.ci_polling {
            deployer = deployer.with_ci_polling(initial, max);
        }
        pipeline = pipeline.with_deployer(Arc::new(deployer));
    }
    Ok(PipelineRunner {
        pipeline,
        repo,
        policy: policy.clone(),
        forge_records_in_store: policy.forge.kind == ForgeKind::Local,
        rejected_from: Some(store_for_rejections),
    })
}

/// Runs fix jobs through the bugstack-fix pipeline against one repository.
#[derive(Debug, Clone)]
pub struct PipelineRunner {
    /// The configured pipeline (context, generator, validator, deployer).
    pub pipeline: Pipeline,
    /// The repository to fix (absolute).
    pub repo: PathBuf,
    /// The repository's policy (`bugstack.toml`).
    pub policy: Policy,
    /// Whether the pipeline's forge records its pull requests in this store
    /// (the local forge over [`crate::store::SqliteStore`]); then a run links
    /// that record, otherwise (GitHub) it records the pull request itself.
    pub forge_records_in_store: bool,
    /// Where the patches a person rejected for an incident are remembered
    /// (pull requests closed unmerged); a run never proposes one of them
    /// again ([`Pipeline::run_excluding`]). `None`: nothing is excluded.
    pub rejected_from: Option<Arc<dyn ForgeStore>>,
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
    ///
    /// The remote is fetched first and the base branch's tip resolved
    /// ([`resolve_base`]): the fix is validated on that tip and committed onto
    /// it, and the policy that governs the run is the one committed there
    /// ([`Policy::load_at`]), never the working tree's or the event's
    /// release's. The event's release only chooses where the context is read.
    pub async fn report(&self, job: &ClaimedJob) -> Result<FixReport> {
        self.report_for(&job.pipeline_incident(), job.incident.id).await
    }

    /// [`PipelineRunner::report`] for `incident` (the store's incident `id`)
    /// without a claimed job: what `bugstack fix --dry-run` runs, with a
    /// pipeline built with [`PipelineOptions::deliver`] off.
    pub async fn report_for(&self, incident: &bugstack_fix::Incident, id: i64) -> Result<FixReport> {
        let fail = |e: bugstack_fix::Error| Error::Pipeline(e.to_string());
        let mut base = resolve_base(&self.repo, &self.policy.forge).await.map_err(fail)?;
        let mut policy = Policy::load_at(&self.repo, &base.commit).await.map_err(fail)?;
        if policy.forge.remote != self.policy.forge.remote || policy.forge.base_branch != self.policy.forge.base_branch
        {
            base = resolve_base(&self.repo, &policy.forge).await.map_err(fail)?;
            policy = Policy::load_at(&self.repo, &base.commit).await.map_err(fail)?;
        }
        let mut warnings = base.warnings.clone();
        if policy.model != self.policy.model {
            warnings.push(format!(
                "[model] in {POLICY_FILE} on {} differs from the one bugstack started with; restart it to use the new one",
                base.branch
            ));
        }
        let repo = RepoRef::new(&self.repo).with_base(base.commit.clone());
        let rejected = match &self.rejected_from {
            Some(store) => {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.rejected_patches(id))
                    .await
                    .map_err(|e| Error::Task(format!("reading the rejected patches: {e}")))??
            }
            None => std::collections::BTreeSet::new(),
        };
        let mut report = self
            .pipeline
            .run_excluding(incident, &repo, &policy, &rejected)
            .await
            .map_err(fail)?;
        report.context.warnings.extend(warnings);
        Ok(report)
    }
}

/// The store outcome of a pipeline report:
/// - no fix → [`FixOutcome::NoFix`] with the decision's reason;
/// - deployed and merged → [`FixOutcome::Merged`], the fixing release being
///   the commit the merge produced on the base branch (the fix commit when
///   the forge did not say);
/// - deployed, not merged → [`FixOutcome::Proposed`];
/// - in both deployed cases, when `forge_records_in_store` (the local forge
///   over this store: [`bugstack_fix::PullRequestStore`] is
///   implemented by [`crate::store::SqliteStore`]) the pull request is already
///   recorded and the run links it by number; otherwise (GitHub) the run
///   records it with the forge's URL;
/// - a fix whose deployment failed → an error, so the job is retried;
/// - a fix with no deployer configured → [`FixOutcome::NoFix`] saying so (the
///   patch is in the report).
pub fn outcome_from_report(report: &FixReport, forge_records_in_store: bool) -> Result<FixOutcome> {
    let json = serde_json::to_value(report)?;
    if !report.decision.kind.delivers() || report.fix.is_none() {
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
    let pr = RunPullRequest {
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
        decision: report.decision.kind.name().into(),
        // A remote forge's number, so its merge or close can be synced.
        forge_number: if forge_records_in_store {
            None
        } else {
            i64::try_from(d.pull_request.number).ok()
        },
        patch_hash: report.fix.as_ref().map(bugstack_fix::Patch::normalized_hash),
    };
    Ok(if d.merged {
        FixOutcome::Merged {
            pr,
            // The commit on the base branch (a squash or merge commit when
            // the merge was not a fast-forward), else the fix commit.
            release: d.merge_commit.clone().unwrap_or_else(|| d.commit.clone()),
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
    use std::sync::Arc;

    use bugstack_core::{Event, EventKind, Level, Timestamp};
    use bugstack_fix::DecisionKind;
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

    fn report(kind: DecisionKind, fix: bool, deployment: Option<Deployment>, deploy_error: Option<&str>) -> FixReport {
        let decision = Decision {
            kind,
            reason: "because".into(),
        };
        FixReport {
            fix: fix.then(|| Patch {
                files: vec!["src/cart.rs".into()],
                root_cause: "unchecked divisor".into(),
                ..Patch::default()
            }),
            deployment,
            deploy_error: deploy_error.map(str::to_string),
            ..FixReport::new(
                FixContext::new(incident(), "/repo", "HEAD"),
                "template",
                decision,
                Timestamp::from_millis(1),
            )
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
            merge_commit: None,
            deploy_command: None,
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
        let mut squashed = deployment(true);
        squashed.merge_commit = Some("5eed".into());
        let o = outcome_from_report_t(&report(DecisionKind::AutoMerge, true, Some(squashed), None)).unwrap();
        assert!(
            matches!(&o, FixOutcome::Merged { release, .. } if release == "5eed"),
            "{o:?}"
        );

        let e = outcome_from_report_t(&report(DecisionKind::Review, true, None, Some("push rejected"))).unwrap_err();
        assert!(e.to_string().contains("push rejected"));

        let o = outcome_from_report_t(&report(DecisionKind::Review, true, None, None)).unwrap();
        assert!(matches!(&o, FixOutcome::NoFix { reason, .. } if reason.contains("no deployer")));
    }

    #[test]
    fn the_generator_follows_the_model_backend() {
        let offline = Policy::default();
        assert_eq!(generator_for(&offline).unwrap().name(), "template");
        let mut llm = Policy::default();
        llm.model.backend = ModelBackend::Openai;
        llm.model.model = Some("m".into());
        llm.model.api_key_env = Some("BUGSTACK_TEST_SURELY_UNSET_KEY".into());
        let err = generator_for(&llm).err().expect("no API key: an error");
        assert!(matches!(err, Error::Config(ref m) if m.starts_with("[model]")), "{err}");
    }

    #[test]
    fn a_directory_that_is_not_a_git_repository_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_repo(dir.path()).unwrap_err();
        assert!(matches!(err, Error::NotAGitRepository(_)), "{err}");
        let err = err.to_string();
        assert!(err.ends_with("not a git repository"), "{err}");
        let err = check_repo(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
        let out = bugstack_fix::git::command(dir.path())
            .args(["init", "-q"])
            .output()
            .unwrap();
        assert!(out.status.success());
        check_repo(dir.path()).unwrap();
    }

    /// A committed crate whose failing function has a caller and a test, so
    /// the full context has more than one snippet.
    fn crate_with_a_divide_by_zero(dir: &Path) -> Incident {
        let lib = "//! Stock arithmetic.\n\n\
            /// How many times the stock on hand covers what was sold.\n\
            pub fn restock_ratio(on_hand: u32, sold: u32) -> u32 {\n    on_hand / sold\n}\n\n\
            /// The ratio of every item, for the weekly report.\n\
            pub fn weekly(items: &[(u32, u32)]) -> Vec<u32> {\n    \
            items.iter().map(|&(on_hand, sold)| restock_ratio(on_hand, sold)).collect()\n}\n\n\
            #[cfg(test)]\nmod tests {\n    use super::*;\n\n    #[test]\n    \
            fn ratio_of_stock_to_sales() {\n        assert_eq!(restock_ratio(10, 2), 5);\n    }\n}\n";
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"inventory\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        )
        .unwrap();
        std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
        for args in [
            &["init", "-q"][..],
            &["add", "."],
            &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "lib"],
        ] {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let mut event = Event::new(
            EventKind::Panic,
            Level::Fatal,
            "attempt to divide by zero",
            Timestamp::from_millis(1),
        );
        event.frames = vec![bugstack_core::Frame {
            function: Some("inventory::restock_ratio".into()),
            file: Some("/build/inventory/src/lib.rs".into()),
            line: Some(5),
            in_app: true,
            ..bugstack_core::Frame::default()
        }];
        Incident::from_event("1", event)
    }

    #[test]
    fn the_context_budget_is_the_policys_context_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let incident = crate_with_a_divide_by_zero(dir.path());
        let repo = RepoRef::new(dir.path());
        let mut policy = Policy::default();
        let full = context_builder_for(&policy).build_blocking(&incident, &repo).unwrap();
        assert_eq!(full.token_budget, RustContextBuilder::DEFAULT_TOKEN_BUDGET);
        policy.model.context_tokens = 30;
        let tiny = context_builder_for(&policy).build_blocking(&incident, &repo).unwrap();
        assert_eq!(tiny.token_budget, 30);
        assert!(tiny.tokens_used <= 30, "{} tokens used", tiny.tokens_used);
        assert!(
            tiny.snippets.len() < full.snippets.len() && tiny.tokens_used < full.tokens_used,
            "a 30-token budget keeps less than the default: {} snippets / {} tokens vs {} / {}",
            tiny.snippets.len(),
            tiny.tokens_used,
            full.snippets.len(),
            full.tokens_used
        );
    }

    #[test]
    fn default_options_keep_the_validator_and_deployer_defaults() {
        let o = PipelineOptions::default();
        assert_eq!(o.validator_options().target_dir, None);
        assert!(o.validator_options().judge_against_base);
        assert_eq!(o.ci_polling, None);
        let demo = PipelineOptions {
            target_dir: Some(PathBuf::from("/t")),
            judge_against_base: false,
            ci_polling: Some((Duration::from_millis(200), Duration::from_secs(5))),
            data_dir: None,
            deliver: true,
        };
        let v = demo.validator_options();
        assert_eq!(
            (v.target_dir.as_deref(), v.judge_against_base),
            (Some(Path::new("/t")), false)
        );
    }

    struct Ctx;
    #[async_trait]
    impl ContextBuilder for Ctx {
        async fn build(&self, _: &Incident, _: &RepoRef) -> bugstack_fix::Result<FixContext> {
            Ok(FixContext::new(incident(), "/repo", "HEAD"))
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
        // A repository with one commit on `main` and no remote: the base is
        // the local branch.
        for args in [
            &["init", "-q", "-b", "main"][..],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                "init",
            ][..],
        ] {
            let st = std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .status()
                .unwrap();
            assert!(st.success());
        }
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
            rejected_from: None,
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
