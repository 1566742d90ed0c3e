//! `bugstack worker`: runs fix jobs from the shared store, without the
//! collector. The job loop is `serve --auto-fix`'s (`fix_jobs`): claims with
//! leases (`FOR UPDATE SKIP LOCKED` on Postgres), a heartbeat while a job
//! runs, a dead worker's job taken over once its lease expires, running jobs
//! handed back to the queue on Ctrl-C or SIGTERM.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bugstack_core::Secret;
use tokio::sync::{watch, Notify};

use super::args::{DataArgs, WorkerArgs};
use super::fix_jobs::{job_runner, prepare_data_dir, project_checkouts, start_job_loop};
use super::serve::shutdown_signal;
use super::{data_dir, open_existing};
use crate::store::{is_postgres_url, ForgeStore, IncidentStore, PostgresStore};
use crate::{Error, Result};

/// The store a worker runs on and how to name it: the Postgres database of
/// `--store` / `BUGSTACK_STORE` (the data directory is created for reports
/// and logs), else the SQLite store in the data directory. Either must hold
/// a bugstack store already.
fn open_store(data: &DataArgs, dir: &Path) -> Result<(Arc<dyn ForgeStore>, String)> {
    match data.store.as_ref().map(Secret::expose) {
        Some(url) if is_postgres_url(url) => {
            prepare_data_dir(dir)?;
            let store = PostgresStore::connect_existing(url)?;
            let name = store.database().to_string();
            Ok((Arc::new(store), name))
        }
        _ => {
            let store = open_existing(data)?;
            Ok((store, dir.join(crate::store::DB_FILE).display().to_string()))
        }
    }
}

/// Runs `bugstack worker` until Ctrl-C or SIGTERM.
pub(crate) fn worker(args: WorkerArgs) -> Result<()> {
    let dir = data_dir(&args.data);
    let policy = args.repo.as_deref().map(super::fix::load_policy).transpose()?;
    let no_repo = || {
        Error::Config(
            "bugstack worker needs the repository to fix: pass --repo PATH (or set BUGSTACK_REPO), or add a project whose repository is on this machine"
                .into(),
        )
    };
    let needs_project = policy.is_none() && !args.fix.has_test_runner();
    // Without --repo, the missing repository is the first thing to say.
    let (forge_store, store_name) =
        open_store(&args.data, &dir).map_err(|e| if needs_project { no_repo() } else { e })?;
    // The added projects whose repositories are on this machine are fixed
    // here too, each in its own checkout under its own policy.
    let projects = project_checkouts(forge_store.as_ref())?;
    if needs_project && projects.is_empty() {
        return Err(no_repo());
    }
    let mut triggers = policy.as_ref().map(|p| p.triggers.clone()).unwrap_or_default();
    if let Some(cap) = args.max_queued_jobs {
        triggers.max_queued_jobs = cap;
    }
    forge_store.set_triggers(triggers);
    let store: Arc<dyn IncidentStore> = forge_store.clone().into_incident_store();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime tokio", e))?;
    runtime.block_on(async move {
        let repo = args.repo.as_deref().zip(policy.as_ref());
        let runner = job_runner(&args.fix, repo, &projects, &forge_store, &dir)
            .await?
            .ok_or_else(|| Error::Config("bugstack worker has no fix runner: pass --repo PATH".into()))?;
        println!("bugstack: store {store_name}");
        if let Some(repo) = &args.repo {
            println!("bugstack: fixing {}", repo.display());
        }
        for p in &projects {
            println!("bugstack: fixing project {} in {}", p.project.name, p.repo.display());
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let poll = Duration::from_millis(args.poll_ms.max(10));
        // Nothing here queues jobs, so nothing wakes the loop: it polls.
        let job_loop = start_job_loop(store, runner, &args.fix, poll, Arc::new(Notify::new()), stop_rx);
        println!(
            "bugstack: worker ready: looking for fix jobs every {} ms (Ctrl-C or SIGTERM stops it; running jobs go back to the queue)",
            poll.as_millis()
        );
        shutdown_signal().await;
        let _ = stop_tx.send(true);
        if let Err(e) = job_loop.await {
            eprintln!("bugstack: the fix-job loop ended abnormally: {e}");
        }
        println!("bugstack: stopped");
        Ok(())
    })
}
