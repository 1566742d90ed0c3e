//! `bugstack fix ID --repo PATH`: run the fix pipeline on one incident now.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bugstack_core::Timestamp;
use bugstack_fix::{FixReport, Policy, Progress};

use super::args::FixArgs;
use crate::fix_runner::{build_pipeline, outcome_from_report, PipelineOptions, PipelineRunner, StageDisplay, Stream};
use crate::jobs::worker_id;
use crate::store::{FixOutcome, ForgeStore};
use crate::terminal::sanitize;
use crate::{Error, Result};

/// The lease on the incident's job; a heartbeat renews it every third of it
/// while the run goes on, so a crashed `bugstack fix` frees the job quickly.
const CLI_LEASE: Duration = Duration::from_secs(60);

/// Loads the repository's policy, checking the path first.
pub(crate) fn load_policy(repo: &Path) -> Result<Policy> {
    if !repo.is_dir() {
        return Err(Error::Config(format!("--repo {}: not a directory", repo.display())));
    }
    Ok(Policy::load(repo)?)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

pub(crate) fn fix(args: FixArgs) -> Result<()> {
    let (store, project) = super::project::open_in(&args.scope)?;
    super::project::incident_in(store.as_ref(), args.id, &project)?;
    let policy = super::project::policy_of(&args.repo, &project)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime tokio", e))?;
    runtime.block_on(run(args, policy, store))
}

/// The pipeline for `args.repo`, its progress shown on stderr by the
/// returned display; `deliver: false` for a dry run (nothing pushed or
/// opened).
async fn pipeline(
    args: &FixArgs,
    policy: &Policy,
    store: &Arc<dyn ForgeStore>,
    deliver: bool,
) -> Result<(Arc<StageDisplay>, PipelineRunner)> {
    let display = StageDisplay::new(Stream::Stderr, "bugstack: ");
    let shown = display.clone();
    let observer = move |p: &Progress| shown.show(p);
    let runner = build_pipeline(
        &args.repo,
        policy,
        store.clone(),
        &PipelineOptions {
            data_dir: std::fs::canonicalize(super::data_dir(&args.scope.data)).ok(),
            deliver,
            ..PipelineOptions::default()
        },
        observer,
    )
    .await?;
    Ok((display, runner))
}

/// `bugstack fix ID --dry-run`: context, generate, validate, and the report;
/// no job is claimed, nothing is pushed, no pull request is opened, and the
/// incident does not change.
async fn dry_run(args: FixArgs, policy: Policy, store: Arc<dyn ForgeStore>) -> Result<()> {
    let (display, runner) = pipeline(&args, &policy, &store, false).await?;
    let (s, id) = (store.clone(), args.id);
    let detail = blocking(move || s.incident_detail(id)).await?;
    let incident = bugstack_fix::Incident {
        id: detail.incident.id.to_string(),
        fingerprint: detail.incident.fingerprint.clone(),
        event: detail.representative.clone(),
        count: detail.incident.count,
        first_seen: detail.incident.first_seen,
        last_seen: detail.incident.last_seen,
        stack_dependencies: detail.stack_dependencies.map(|s| s.dependencies).unwrap_or_default(),
    };
    let actor = args.who.actor();
    eprintln!(
        "bugstack: dry run of incident {id} in {} by {}{}",
        args.repo.display(),
        sanitize(&actor, 80),
        args.who
            .reason()
            .map(|r| format!(": {}", sanitize(r, 200)))
            .unwrap_or_default()
    );
    let report = runner.report_for(&incident, id).await;
    display.finish();
    let report = report?;
    if args.json {
        println!("{}", report.to_json());
        return Ok(());
    }
    print_decision(&report, "decision (not acted on)");
    if let Some(fix) = &report.fix {
        for line in fix.diff.lines().take(400) {
            println!("{}", sanitize(line, 300));
        }
    }
    println!("dry run: nothing pushed, no pull request opened, incident {id} unchanged");
    Ok(())
}

async fn run(args: FixArgs, policy: Policy, store: Arc<dyn ForgeStore>) -> Result<()> {
    if args.dry_run {
        return dry_run(args, policy, store).await;
    }
    let (display, runner) = pipeline(&args, &policy, &store, true).await?;
    let owner = format!("cli-{}", worker_id());
    let (s, o, id) = (store.clone(), owner.clone(), args.id);
    let job = blocking(move || s.claim_incident_job(id, &o, CLI_LEASE, Timestamp::now())).await?;
    eprintln!(
        "bugstack: fixing incident {id} in {} (job {}, attempt {})",
        args.repo.display(),
        job.job.id,
        job.job.attempts
    );
    let job_id = job.job.id;
    let heartbeat = {
        let (s, o) = (store.clone(), owner.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CLI_LEASE / 3).await;
                let (s, o) = (s.clone(), o.clone());
                if let Err(e) = blocking(move || s.renew_lease(job_id, &o, CLI_LEASE, Timestamp::now())).await {
                    eprintln!("bugstack: could not renew the job's lease: {e}");
                }
            }
        })
    };
    let result = runner
        .report(&job)
        .await
        .and_then(|report| outcome_from_report(&report, runner.forge_records_in_store).map(|o| (report, o)));
    display.finish();
    heartbeat.abort();
    let (report, outcome) = match result {
        Ok(r) => r,
        Err(e) => {
            let (s, o, msg) = (store.clone(), owner.clone(), e.to_string());
            blocking(move || s.fail_job(job_id, &o, &msg, Duration::ZERO, Timestamp::now())).await?;
            return Err(e);
        }
    };
    let (s, o, out) = (store.clone(), owner, outcome.clone());
    let run = blocking(move || s.complete_job(job_id, &o, &out, Timestamp::now())).await?;
    let incident = store.incident(id)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        print_summary(&report, &outcome, run.pr_number, &incident.status.to_string());
        println!(
            "full report: bugstack show {id} --json (the run with \"id\": {} in \"runs\")",
            run.id
        );
    }
    Ok(())
}

/// The decision, the confidence, the root cause and the changed files
/// (event-derived text made terminal-safe).
fn print_decision(report: &FixReport, label: &str) {
    println!(
        "{label}: {:?}: {}",
        report.decision.kind,
        sanitize(&report.decision.reason, 300)
    );
    if let Some(c) = &report.confidence {
        println!("confidence: {:.2}", c.score);
    }
    if let Some(fix) = &report.fix {
        println!("root cause: {}", sanitize(&fix.root_cause, 300));
        println!("changed: {}", sanitize(&fix.files.join(", "), 300));
    }
}

fn print_summary(report: &FixReport, outcome: &FixOutcome, pr: Option<i64>, status: &str) {
    print_decision(report, "decision");
    match (outcome, pr) {
        (FixOutcome::Merged { release, .. }, Some(n)) => {
            println!("pull request #{n}: merged in {}", sanitize(release, 80))
        }
        (FixOutcome::Proposed { .. }, Some(n)) => println!("pull request #{n}: open for review (bugstack prs)"),
        _ => {}
    }
    if let Some(run) = report.deployment.as_ref().and_then(|d| d.deploy_command.as_ref()) {
        println!(
            "deploy command: {} ({})",
            if run.success {
                "succeeded"
            } else {
                "FAILED, not retried"
            },
            match (run.timed_out, run.exit_code) {
                (true, _) => "timed out".to_string(),
                (false, Some(code)) => format!("exit {code}"),
                (false, None) => "did not run".to_string(),
            }
        );
        for line in run.output.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev() {
            println!("  {}", sanitize(line, 300));
        }
    }
    println!("incident status: {status}");
}
