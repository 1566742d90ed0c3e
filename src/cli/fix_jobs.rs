//! What `serve --auto-fix` and `bugstack worker` share: the data directory
//! they prepare, the fix-job runner they build and the job loop they start
//! (`jobs::run_job_loop`: claims with leases, heartbeats, hand-back on
//! shutdown). Neither command has a job loop of its own.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::args::FixJobArgs;
use crate::fix_runner::{build_pipeline, progress_line, PipelineOptions};
use crate::jobs::{run_job_loop, FixJobRunner, JobLoopConfig};
use crate::store::{ForgeStore, IncidentStore};
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

/// The runner of this process's fix jobs: the test double when one is asked
/// for, else the fix pipeline on `repo` under `policy` (printing its
/// progress), else `None` (no repository: no fix jobs here).
pub(super) async fn job_runner(
    args: &FixJobArgs,
    repo: Option<(&Path, &bugstack_fix::Policy)>,
    store: &Arc<dyn ForgeStore>,
    dir: &Path,
) -> Result<Option<Arc<dyn FixJobRunner>>> {
    if let Some(test_double) = test_runner(args, dir)? {
        return Ok(Some(test_double));
    }
    let Some((repo, policy)) = repo else {
        return Ok(None);
    };
    let observer = |p: &bugstack_fix::Progress| println!("bugstack: {}", progress_line(p));
    let options = PipelineOptions {
        data_dir: std::fs::canonicalize(dir).ok(),
        ..PipelineOptions::default()
    };
    let pipeline = build_pipeline(repo, policy, store.clone(), &options, observer).await?;
    Ok(Some(Arc::new(pipeline)))
}

/// Starts the job loop: `args.jobs` fix jobs at a time, each leased for
/// `args.job_lease_secs`, looking for work when `wake` fires or every
/// `poll`, until `stop` turns `true` (running jobs are then handed back to
/// the queue). Prints what it runs with.
pub(super) fn start_job_loop(
    store: Arc<dyn IncidentStore>,
    runner: Arc<dyn FixJobRunner>,
    args: &FixJobArgs,
    poll: Duration,
    wake: Arc<Notify>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let config = JobLoopConfig {
        concurrency: args.jobs.max(1),
        lease: Duration::from_secs(args.job_lease_secs.max(1)),
        poll,
        ..JobLoopConfig::default()
    };
    println!(
        "bugstack: fix jobs: {} runner, {} at a time, worker {}, lease {}s",
        runner.name(),
        config.concurrency,
        config.worker_id,
        config.lease.as_secs()
    );
    tokio::spawn(run_job_loop(store, runner, config, wake, stop))
}
