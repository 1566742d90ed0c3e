//! The fix-job loop: claims queued fix jobs from the store and runs them
//! through a [`FixJobRunner`], at most `concurrency` at a time.
//!
//! Exactly-once mechanics, all enforced by the store:
//! - a claim is one atomic `UPDATE ... RETURNING` that leases the job to this
//!   worker until `now + lease`; no other worker can claim it meanwhile;
//! - while a job runs, a heartbeat renews the lease every `lease / 3`; if a
//!   renewal fails (the lease was lost, e.g. the process stalled past it) the
//!   run is abandoned at once rather than finished twice;
//! - finishing (outcome or error) is accepted only from the lease holder, in
//!   the same transaction that records the run and moves the incident on;
//! - a worker that dies (`kill -9`, power cut) leaves its job `running` with a
//!   lease that expires; after that any worker — e.g. the restarted collector —
//!   claims it again as a new attempt. A job that exhausts its attempts fails.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bugstack_core::Timestamp;
use tokio::sync::{watch, Notify, Semaphore};

use crate::store::{ClaimedJob, FixOutcome, IncidentStore, JobState};
use crate::{Error, Result};

#[cfg(feature = "test-support")]
mod sleep_runner;
#[cfg(feature = "test-support")]
pub use sleep_runner::SleepRunner;

/// Runs one fix job: the bugstack-fix pipeline in production, a test double in tests.
#[async_trait]
pub trait FixJobRunner: Send + Sync {
    /// A short name for logs (`pipeline`, `test-sleep`, ...).
    fn name(&self) -> &str;

    /// Fixes the job's incident. `Ok` is a finished run (even "no fix
    /// found"); `Err` is a failed attempt that is retried while attempts remain.
    async fn run(&self, job: &ClaimedJob) -> Result<FixOutcome>;
}

/// Runs each job with the runner of its incident's project (each project's
/// pipeline works in that project's repository under its policy). A job of a
/// project without a runner fails its attempt with a message saying so
/// (the job loop claims only the projects in [`ProjectRunners::projects`]).
pub struct ProjectRunners {
    runners: std::collections::BTreeMap<i64, Arc<dyn FixJobRunner>>,
}

impl ProjectRunners {
    /// The runners, by project id.
    pub fn new(runners: std::collections::BTreeMap<i64, Arc<dyn FixJobRunner>>) -> Self {
        ProjectRunners { runners }
    }

    /// The projects that have a runner (what the job loop should claim).
    pub fn projects(&self) -> Vec<i64> {
        self.runners.keys().copied().collect()
    }
}

#[async_trait]
impl FixJobRunner for ProjectRunners {
    fn name(&self) -> &str {
        "pipeline per project"
    }

    async fn run(&self, job: &ClaimedJob) -> Result<FixOutcome> {
        match self.runners.get(&job.incident.project) {
            Some(runner) => runner.run(job).await,
            None => Err(Error::Pipeline(format!(
                "no repository for project #{} on this worker (restart `bugstack serve` after `bugstack project add`)",
                job.incident.project
            ))),
        }
    }
}

/// Settings of the job loop.
#[derive(Debug, Clone)]
pub struct JobLoopConfig {
    /// This worker's lease-owner id (unique per process).
    pub worker_id: String,
    /// Jobs run at the same time.
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// How often to look for jobs when not woken.
    pub poll: Duration,
    /// Back-off before a failed attempt is retried.
    pub retry_after: Duration,
    /// Only the jobs of these projects are claimed (the projects whose
    /// repositories this worker has); `None`: every project's.
    pub projects: Option<Vec<i64>>,
}

impl Default for JobLoopConfig {
    fn default() -> Self {
        JobLoopConfig {
            worker_id: worker_id(),
            concurrency: 2,
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(2),
            retry_after: Duration::from_secs(30),
            projects: None,
        }
    }
}

/// A lease-owner id unique to this process: `<pid>-<random>`.
pub fn worker_id() -> String {
    let mut buf = [0u8; 4];
    let suffix = match getrandom::getrandom(&mut buf) {
        Ok(()) => buf.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        Err(_) => format!("{}", Timestamp::now().as_millis()),
    };
    format!("worker-{}-{suffix}", std::process::id())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task(e.to_string()))?
}

/// Claims and runs jobs until `shutdown` turns `true`. Wakes on `wake` (a
/// batch enqueued jobs) or every `config.poll`.
pub async fn run_job_loop(
    store: Arc<dyn IncidentStore>,
    runner: Arc<dyn FixJobRunner>,
    config: JobLoopConfig,
    wake: Arc<Notify>,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = shutdown.changed() => break,
        };
        let (s, owner, lease, projects) = (
            store.clone(),
            config.worker_id.clone(),
            config.lease,
            config.projects.clone(),
        );
        match blocking(move || s.claim_project_job(projects.as_deref(), &owner, lease, Timestamp::now())).await {
            Ok(Some(job)) => {
                let (store, runner, config, stop) = (store.clone(), runner.clone(), config.clone(), shutdown.clone());
                running.spawn(async move {
                    run_one(store, runner, &config, job, stop).await;
                    drop(permit);
                });
                continue;
            }
            Ok(None) => {}
            Err(e) => eprintln!("bugstack: could not claim a fix job: {e}"),
        }
        drop(permit);
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(config.poll) => {}
            _ = shutdown.changed() => break,
        }
        while running.try_join_next().is_some() {}
    }
    // Running jobs see the shutdown too and hand their jobs back to the queue.
    while running.join_next().await.is_some() {}
}

/// Runs one claimed job to its end, keeping its lease alive meanwhile. If
/// `shutdown` turns `true` first, the run is dropped and the job handed back
/// to the queue ([`IncidentStore::release_job`]).
pub async fn run_one(
    store: Arc<dyn IncidentStore>,
    runner: Arc<dyn FixJobRunner>,
    config: &JobLoopConfig,
    job: ClaimedJob,
    mut shutdown: watch::Receiver<bool>,
) {
    let (job_id, incident_id, attempt) = (job.job.id, job.incident.id, job.job.attempts);
    println!(
        "bugstack: fix job {job_id} for incident {incident_id}: attempt {attempt}/{} started ({})",
        job.job.max_attempts,
        runner.name()
    );
    let heartbeat = {
        let (store, owner, lease) = (store.clone(), config.worker_id.clone(), config.lease);
        async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let (s, o) = (store.clone(), owner.clone());
                if let Err(e) = blocking(move || s.renew_lease(job_id, &o, lease, Timestamp::now())).await {
                    return e;
                }
            }
        }
    };
    let result = tokio::select! {
        r = runner.run(&job) => r,
        lost = heartbeat => {
            eprintln!("bugstack: fix job {job_id}: abandoned, its lease could not be renewed: {lost}");
            return;
        }
        () = async { drop(shutdown.wait_for(|stop| *stop).await) } => {
            let (s, o) = (store.clone(), config.worker_id.clone());
            match blocking(move || s.release_job(job_id, &o, Timestamp::now())).await {
                Ok(()) => println!("bugstack: fix job {job_id}: interrupted by shutdown, back in the queue"),
                Err(e) => eprintln!("bugstack: fix job {job_id}: interrupted by shutdown, not released: {e}"),
            }
            return;
        }
    };
    let (owner, retry_after) = (config.worker_id.clone(), config.retry_after);
    match result {
        Ok(outcome) => {
            let name = outcome.name();
            match blocking(move || store.complete_job(job_id, &owner, &outcome, Timestamp::now())).await {
                Ok(run) => println!(
                    "bugstack: fix job {job_id} for incident {incident_id}: {name} (run {})",
                    run.id
                ),
                Err(e) => eprintln!("bugstack: fix job {job_id}: result not recorded: {e}"),
            }
        }
        Err(err) => {
            let msg = err.to_string();
            let m = msg.clone();
            match blocking(move || store.fail_job(job_id, &owner, &m, retry_after, Timestamp::now())).await {
                Ok(JobState::Queued) => {
                    eprintln!("bugstack: fix job {job_id} attempt {attempt} failed, will retry: {msg}")
                }
                Ok(state) => eprintln!("bugstack: fix job {job_id} attempt {attempt} failed ({state}): {msg}"),
                Err(e) => eprintln!("bugstack: fix job {job_id}: failure not recorded: {e}"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use bugstack_core::{Event, EventKind, Level};

    use super::*;
    use crate::store::{SqliteStore, Status};

    /// Fails each incident's first attempt, then finds no fix; tracks concurrency.
    struct Flaky {
        calls: AtomicUsize,
        now: AtomicUsize,
        max: AtomicUsize,
        failed_once: std::sync::Mutex<std::collections::HashSet<i64>>,
    }

    #[async_trait]
    impl FixJobRunner for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        async fn run(&self, job: &ClaimedJob) -> Result<FixOutcome> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let cur = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(cur, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            if self.failed_once.lock().unwrap().insert(job.incident.id) {
                return Err(Error::Task("simulated check failure".into()));
            }
            Ok(FixOutcome::NoFix {
                reason: "none".into(),
                report: serde_json::json!({"incident": job.incident.id}),
            })
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_are_retried_bounded_and_finished_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let events: Vec<Event> = (0..5)
            .map(|i| {
                Event::new(
                    EventKind::Panic,
                    Level::Fatal,
                    format!("bug number {i} in module {i}x"),
                    Timestamp::now(),
                )
            })
            .map(|mut e| {
                e.fingerprint_parts = vec![e.message.clone()];
                e
            })
            .collect();
        store.ingest(&events, Timestamp::now()).unwrap();
        assert_eq!(store.jobs().unwrap().len(), 5);
        let runner = Arc::new(Flaky {
            calls: AtomicUsize::new(0),
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            failed_once: Default::default(),
        });
        let config = JobLoopConfig {
            concurrency: 2,
            lease: Duration::from_secs(10),
            poll: Duration::from_millis(20),
            retry_after: Duration::from_millis(10),
            ..JobLoopConfig::default()
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let handle = tokio::spawn(run_job_loop(
            store.clone(),
            runner.clone(),
            config,
            Arc::new(Notify::new()),
            stop_rx,
        ));
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while store.jobs().unwrap().iter().any(|j| j.state != JobState::Done) {
            assert!(
                std::time::Instant::now() < deadline,
                "jobs did not finish: {:?}",
                store.jobs().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        stop_tx.send(true).unwrap();
        handle.await.unwrap();
        assert_eq!(
            runner.calls.load(Ordering::SeqCst),
            10,
            "each incident: one failure, one success"
        );
        assert!(runner.max.load(Ordering::SeqCst) <= 2, "concurrency bound");
        for i in store.incidents().unwrap() {
            assert_eq!(i.status, Status::Open);
            let runs = store.runs(i.id).unwrap();
            let outcomes: Vec<&str> = runs.iter().map(|r| r.outcome.as_str()).collect();
            assert_eq!(outcomes, vec!["error", "no-fix"]);
            assert_eq!(runs[1].attempt, 2);
        }
    }

    /// Records which runner ran a job.
    struct Named(&'static str, Arc<std::sync::Mutex<Vec<&'static str>>>);

    #[async_trait]
    impl FixJobRunner for Named {
        fn name(&self) -> &str {
            self.0
        }

        async fn run(&self, _job: &ClaimedJob) -> Result<FixOutcome> {
            self.1.lock().unwrap().push(self.0);
            Ok(FixOutcome::NoFix {
                reason: "test".into(),
                report: serde_json::json!({}),
            })
        }
    }

    #[tokio::test]
    async fn each_job_runs_with_its_projects_runner() {
        use crate::store::{hash_token, IncidentQuota, IngestBatch, NewProject, SqliteStore, DEFAULT_PROJECT_ID};
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let shop = store
            .add_project(
                &NewProject {
                    name: "shop".into(),
                    token_hash: hash_token("t"),
                    repo: "/srv/shop".into(),
                    forge: None,
                },
                Timestamp::now(),
            )
            .unwrap();
        let batch = |project: i64| IngestBatch {
            events: vec![bugstack_core::Event::new(
                bugstack_core::EventKind::Panic,
                bugstack_core::Level::Fatal,
                "boom",
                Timestamp::now(),
            )],
            quota: Some(IncidentQuota {
                source: format!("s{project}"),
                new_incidents_per_hour: 10,
            }),
            project: Some(project),
            ..IngestBatch::default()
        };
        store
            .ingest_with_quotas(&[batch(DEFAULT_PROJECT_ID), batch(shop.id)], Timestamp::now())
            .unwrap();
        let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut runners: std::collections::BTreeMap<i64, Arc<dyn FixJobRunner>> = std::collections::BTreeMap::new();
        runners.insert(shop.id, Arc::new(Named("shop", ran.clone())));
        let runners = ProjectRunners::new(runners);
        assert_eq!(runners.projects(), vec![shop.id]);
        let lease = Duration::from_secs(60);
        let job = store
            .claim_project_job(Some(&[shop.id]), "w", lease, Timestamp::now())
            .unwrap()
            .unwrap();
        assert!(runners.run(&job).await.is_ok());
        assert_eq!(*ran.lock().unwrap(), vec!["shop"]);
        // A job of a project without a runner fails its attempt, saying why.
        let other = store.claim_job("w", lease, Timestamp::now()).unwrap().unwrap();
        assert_eq!(other.incident.project, DEFAULT_PROJECT_ID);
        let err = runners.run(&other).await.unwrap_err().to_string();
        assert!(err.contains("no repository for project #1"), "{err}");
    }
}
