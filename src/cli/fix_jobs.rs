//! What `serve --auto-fix` and `bugstack worker` share: the data directory
//! they prepare, the fix-job runner they build and the job loop they start
//! (`jobs::run_job_loop`: claims with leases, heartbeats, hand-back on
//! shutdown). Neither command has a job loop of its own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::args::FixJobArgs;
use crate::fix_runner::{build_pipeline, progress_line, PipelineOptions};
use crate::jobs::{run_job_loop, FixJobRunner, JobLoopConfig, ProjectRunners};
use crate::store::{ForgeStore, IncidentStore, ProjectRecord, DEFAULT_PROJECT_ID};
use crate::{Error, Result};

/// Creates the data directory `dir` (owner-only on Unix, as the SQLite
/// store makes it): with Postgres it still holds this process's token,
/// reports and logs.
pub(super) fn prepare_data_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(|e| Error::io(format!("cannot create data directory {}", dir.display()), e))
}

/// The test double `--test-job-runner` asks for, if any (feature `test-support`).
#[cfg(feature = "test-support")]
fn test_runner(args: &FixJobArgs, dir: &Path) -> Result<Option<Arc<dyn FixJobRunner>>> {
    let Some(spec) = &args.test_job_runner else {
        return Ok(None);
    };
    Ok(Some(Arc::new(crate::jobs::SleepRunner::from_spec(spec, dir)?)))
}

/// Without the `test-support` feature there is no test double.
#[cfg(not(feature = "test-support"))]
fn test_runner(_: &FixJobArgs, _: &Path) -> Result<Option<Arc<dyn FixJobRunner>>> {
    Ok(None)
}

/// A project (other than the default) whose repository is on this machine.
pub(super) struct ProjectCheckout {
    /// The project as stored.
    pub(super) project: ProjectRecord,
    /// Its repository here.
    pub(super) repo: PathBuf,
    /// Its `bugstack.toml` (with its forge).
    pub(super) policy: bugstack_fix::Policy,
}

/// The added projects whose repositories are here, each with its policy
/// (its `bugstack.toml` with its forge), their triggers set in the store.
/// A project whose repository is elsewhere (a URL, another machine) or
/// whose policy does not load is said so once: its events are collected
/// under the default triggers, its fix jobs and release checks run wherever
/// its repository is.
pub(super) fn project_checkouts(store: &dyn ForgeStore) -> Result<Vec<ProjectCheckout>> {
    let mut here = Vec::new();
    for project in store.projects()?.into_iter().filter(|p| !p.is_default()) {
        let repo = PathBuf::from(project.repo.clone().unwrap_or_default());
        let loaded = if repo.is_dir() {
            super::project::policy_of(&repo, &project).map(Some)
        } else {
            Ok(None)
        };
        match loaded {
            Ok(Some(policy)) => {
                store.set_project_triggers(project.id, policy.triggers.clone());
                here.push(ProjectCheckout { project, repo, policy });
            }
            Ok(None) => {
                store.set_project_triggers(project.id, bugstack_fix::Triggers::default());
                println!(
                    "bugstack: project {}: repository {} is not on this machine (events are collected; fixes run where it is)",
                    project.name,
                    repo.display()
                );
            }
            Err(e) => {
                store.set_project_triggers(project.id, bugstack_fix::Triggers::default());
                eprintln!(
                    "bugstack: project {}: {e} (events are collected under the default triggers; no fixes here)",
                    project.name
                );
            }
        }
    }
    Ok(here)
}

/// What runs this process's fix jobs, and whose jobs it claims.
pub(super) struct JobRunner {
    /// The runner (one pipeline, or one per project).
    pub(super) runner: Arc<dyn FixJobRunner>,
    /// The projects whose jobs are claimed (`None`: every project's, for the
    /// test double).
    pub(super) projects: Option<Vec<i64>>,
}

/// The runner of this process's fix jobs: the test double when one is asked
/// for (it runs every project's jobs), else the fix pipeline of each project
/// whose repository is here — the default project's on `default` (`--repo`
/// under its policy), each added project's in its own checkout under its own
/// policy — printing their progress; `None` when no repository is here.
/// A job is only ever claimed by a process with its project's repository.
pub(super) async fn job_runner(
    args: &FixJobArgs,
    default: Option<(&Path, &bugstack_fix::Policy)>,
    projects: &[ProjectCheckout],
    store: &Arc<dyn ForgeStore>,
    dir: &Path,
) -> Result<Option<JobRunner>> {
    if let Some(test_double) = test_runner(args, dir)? {
        return Ok(Some(JobRunner {
            runner: test_double,
            projects: None,
        }));
    }
    let observer = |p: &bugstack_fix::Progress| println!("bugstack: {}", progress_line(p));
    let options = PipelineOptions {
        data_dir: std::fs::canonicalize(dir).ok(),
        ..PipelineOptions::default()
    };
    let mut runners: BTreeMap<i64, Arc<dyn FixJobRunner>> = BTreeMap::new();
    if let Some((repo, policy)) = default {
        let pipeline = build_pipeline(repo, policy, store.clone(), &options, observer).await?;
        runners.insert(DEFAULT_PROJECT_ID, Arc::new(pipeline));
    }
    for p in projects {
        match build_pipeline(&p.repo, &p.policy, store.clone(), &options, observer).await {
            Ok(pipeline) => {
                runners.insert(p.project.id, Arc::new(pipeline));
            }
            Err(e) => eprintln!(
                "bugstack: project {}: its fix jobs do not run here: {e}",
                p.project.name
            ),
        }
    }
    Ok(match runners.len() {
        0 => None,
        1 => runners.pop_first().map(|(id, runner)| JobRunner {
            runner,
            projects: Some(vec![id]),
        }),
        _ => {
            let runners = ProjectRunners::new(runners);
            let projects = Some(runners.projects());
            Some(JobRunner {
                runner: Arc::new(runners),
                projects,
            })
        }
    })
}

/// Starts the job loop: `args.jobs` fix jobs of `runner`'s projects at a
/// time, each leased for `args.job_lease_secs`, looking for work when
/// `wake` fires or every `poll`, until `stop` turns `true` (running jobs are
/// then handed back to the queue). Prints what it runs with.
pub(super) fn start_job_loop(
    store: Arc<dyn IncidentStore>,
    runner: JobRunner,
    args: &FixJobArgs,
    poll: Duration,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let config = JobLoopConfig {
        concurrency: args.jobs.max(1),
        lease: Duration::from_secs(args.job_lease_secs.max(1)),
        poll,
        projects: runner.projects,
        ..JobLoopConfig::default()
    };
    let runner = runner.runner;
    println!(
        "bugstack: fix jobs: {} runner, {} at a time, worker {}, lease {}s",
        runner.name(),
        config.concurrency,
        config.worker_id,
        config.lease.as_secs()
    );
    tokio::spawn(run_job_loop(store, runner, config, wake, stop))
}
