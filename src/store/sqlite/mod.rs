//! The embedded store: one SQLite file in the data directory.
//!
//! ## Durability
//!
//! The database runs in WAL mode with `synchronous=FULL`: every commit
//! fsyncs the write-ahead log before it returns, so a batch the collector
//! acknowledged survives `kill -9` of the collector *and* a power cut or OS
//! crash. (`NORMAL` would survive a process crash but could lose the last
//! commits on power loss, and an acknowledged event must never be lost.)
//! The cost is one fsync per committed batch, which is why the collector
//! commits a whole batch in one transaction rather than event by event.
//!
//! Writes go through one connection behind a mutex (SQLite has one writer at
//! a time anyway) and start `BEGIN IMMEDIATE` so they never fail half-way on a
//! lock upgrade; reads use a second connection and, thanks to WAL, never wait
//! for the writer. A busy timeout lets the CLI read while `serve` writes.
//!
//! The module is split by what the code does: `rows` (rows, conversions,
//! reads), `files` (owner-only permissions), `ingest` (recording batches), `lifecycle` (status changes),
//! `hours` (occurrences per hour, the incident list's search), `quota` (new incidents per sender), `releases` (releases announced live), `release_checks` (verdicts,
//! verification), `jobs` (fix-job leases and runs),
//! `pulls` (the store's pull requests), `batches` (batch ids already
//! stored: exactly-once counting), `forge` (the local forge's
//! [`PullRequestStore`](bugstack_fix::deploy::PullRequestStore)) and `forge_sync` (pull requests kept in step with a
//! remote forge, rejected patches).

mod batches;
mod files;
mod forge;
mod forge_sync;
mod hours;
mod ingest;
mod jobs;
mod lifecycle;
mod projects;
mod pulls;
mod quota;
mod release_checks;
mod releases;
mod rows;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Duration;

use bugstack_core::{Dependency, Event, Timestamp};
use bugstack_fix::{PullRequestState, Triggers};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::schema;
use super::types::{
    Cause, ClaimedJob, FixJob, FixOutcome, FixRun, HourCount, IncidentCursor, IncidentDetail, IncidentFilter,
    IncidentRecord, IncidentSearch, IngestBatch, IngestSummary, JobState, PullRequestRecord, ReleaseCheck,
    ReleaseRecord, ReleaseVerdictRecord, Status, TimelineEntry, Totals,
};
use super::{IncidentStore, NewProject, ProjectRecord, DEFAULT_PROJECT_ID};
use crate::{Error, Result};
pub use forge_sync::{ForgeChange, ForgePullRequest, ForgeSync};

/// Default cap on fix jobs queued at once ([`SqliteStore::set_max_queued_jobs`];
/// `[triggers] max_queued_jobs` in `bugstack.toml`).
pub const DEFAULT_MAX_QUEUED_JOBS: usize = bugstack_fix::DEFAULT_MAX_QUEUED_JOBS;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "bugstack.db";

/// The SQLite implementation of [`IncidentStore`].
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// Which incidents get a fix job, and the queue's cap
    /// ([`SqliteStore::set_triggers`]).
    triggers: RwLock<Triggers>,
    /// Triggers of the projects that have their own
    /// ([`IncidentStore::set_project_triggers`]).
    project_triggers: RwLock<HashMap<i64, Triggers>>,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves the connection usable: an open
    // transaction is rolled back when its guard is dropped.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Config(format!(
            "the store could not switch to WAL mode (got {mode}); is the data directory on a network filesystem?"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the store in data directory `dir`
    /// (`dir/bugstack.db`), applying pending migrations. On Unix the
    /// directory is made `0700` (created so, or tightened).
    pub fn open(dir: &Path) -> Result<Self> {
        files::prepare_dir(dir)?;
        Self::open_file(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the store in the database file `path`. On
    /// Unix the file and its `-wal` / `-shm` companions are `0600` (created
    /// so, or tightened).
    pub fn open_file(path: &Path) -> Result<Self> {
        files::prepare_db_file(path)?;
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        // Migrations run with foreign keys off (table rebuilds), then on.
        writer.pragma_update(None, "foreign_keys", "OFF")?;
        schema::migrate(&mut writer, path)?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        let reader = Connection::open(path)?;
        configure(&reader)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
            triggers: RwLock::new(Triggers::default()),
            project_triggers: RwLock::new(HashMap::new()),
        })
    }

    /// Sets which incidents get a fix job (`[triggers]`: level, kinds,
    /// minimum count, environments left alone, queue cap). Default:
    /// [`Triggers::default`], errors and panics at once.
    pub fn set_triggers(&self, triggers: Triggers) {
        let cap = triggers.max_queued_jobs.max(1);
        *self.triggers.write().unwrap_or_else(|p| p.into_inner()) = Triggers {
            max_queued_jobs: cap,
            ..triggers
        };
    }

    fn triggers(&self) -> Triggers {
        self.triggers.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The triggers of `project`'s incidents: its own when set, else the
    /// store's; the queue cap is always the store's.
    fn triggers_for(&self, project: i64) -> Triggers {
        let global = self.triggers();
        match self
            .project_triggers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&project)
        {
            Some(own) => Triggers {
                max_queued_jobs: global.max_queued_jobs,
                ..own.clone()
            },
            None => global,
        }
    }

    /// Caps the fix jobs queued at once (at least 1; default
    /// [`DEFAULT_MAX_QUEUED_JOBS`]). A new or regressed incident beyond the
    /// cap waits and is queued when there is room, the most frequent first,
    /// so a flood of distinct fingerprints cannot queue a flood of jobs.
    pub fn set_max_queued_jobs(&self, cap: usize) {
        self.triggers.write().unwrap_or_else(|p| p.into_inner()).max_queued_jobs = cap.max(1);
    }

    fn job_cap(&self) -> usize {
        self.triggers.read().unwrap_or_else(|p| p.into_inner()).max_queued_jobs
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(lock(&self.reader).query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The writer connection's journal mode and `synchronous` level
    /// (`("wal", 2)`: WAL with FULL sync).
    pub fn durability(&self) -> Result<(String, i64)> {
        let conn = lock(&self.writer);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        Ok((mode, sync))
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE` on the writer),
    /// committed when `f` succeeds and rolled back when it fails.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on the reader connection.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&lock(&self.reader))
    }
}

impl IncidentStore for SqliteStore {
    fn set_triggers(&self, triggers: Triggers) {
        SqliteStore::set_triggers(self, triggers);
    }

    fn set_max_queued_jobs(&self, cap: usize) {
        SqliteStore::set_max_queued_jobs(self, cap);
    }

    fn set_project_triggers(&self, project: i64, triggers: Triggers) {
        self.project_triggers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(project, triggers);
    }

    fn add_project(&self, project: &NewProject, now: Timestamp) -> Result<ProjectRecord> {
        self.write(|tx| projects::add(tx, project, now))
    }

    fn projects(&self) -> Result<Vec<ProjectRecord>> {
        self.read(projects::list)
    }

    fn project_by_token_hash(&self, token_hash: &str) -> Result<Option<ProjectRecord>> {
        self.read(|conn| projects::by_token_hash(conn, token_hash))
    }

    fn ingest(&self, events: &[Event], received_at: Timestamp) -> Result<IngestSummary> {
        let triggers = self.triggers_for(DEFAULT_PROJECT_ID);
        self.write(|tx| ingest::ingest_in(tx, DEFAULT_PROJECT_ID, events, received_at, &triggers, None))
    }

    fn ingest_batches(&self, batches: &[Vec<Event>], received_at: Timestamp) -> Result<Vec<IngestSummary>> {
        let triggers = self.triggers_for(DEFAULT_PROJECT_ID);
        self.write(|tx| {
            batches
                .iter()
                .map(|events| ingest::ingest_in(tx, DEFAULT_PROJECT_ID, events, received_at, &triggers, None))
                .collect()
        })
    }

    fn ingest_with_quotas(&self, batches: &[IngestBatch], received_at: Timestamp) -> Result<Vec<IngestSummary>> {
        self.write(|tx| {
            if batches.iter().any(|b| b.batch_id.is_some()) {
                batches::forget_old(tx, received_at)?;
            }
            batches
                .iter()
                .map(|b| {
                    if let Some(id) = &b.batch_id {
                        let source = b.quota.as_ref().map_or("", |q| q.source.as_str());
                        if !batches::remember(tx, source, id, received_at)? {
                            return Ok(IngestSummary {
                                duplicate: true,
                                ..IngestSummary::default()
                            });
                        }
                    }
                    if let Some(r) = &b.release {
                        releases::record_seen(
                            tx,
                            b.project.unwrap_or(DEFAULT_PROJECT_ID),
                            &r.name,
                            received_at,
                            r.dependencies.as_deref(),
                        )?;
                    }
                    let project = b.project.unwrap_or(DEFAULT_PROJECT_ID);
                    let triggers = self.triggers_for(project);
                    ingest::ingest_in(tx, project, &b.events, received_at, &triggers, b.quota.as_ref())
                })
                .collect()
        })
    }

    fn incidents(&self) -> Result<Vec<IncidentRecord>> {
        self.read(rows::incidents)
    }

    fn incidents_page(
        &self,
        project: Option<i64>,
        limit: usize,
        after: Option<IncidentCursor>,
    ) -> Result<Vec<IncidentRecord>> {
        self.read(|conn| rows::incidents_page(conn, project, limit, after))
    }

    fn incident(&self, id: i64) -> Result<IncidentRecord> {
        self.read(|conn| rows::incident(conn, id))
    }

    fn incident_detail(&self, id: i64) -> Result<IncidentDetail> {
        rows::incident_detail(&mut lock(&self.reader), id)
    }

    fn transition(&self, id: i64, to: Status, cause: &Cause) -> Result<IncidentRecord> {
        if to == Status::Fixed {
            return Err(Error::Config(
                "an incident becomes fixed when its pull request merges, or by hand with `bugstack resolve ID --release R` (it needs the fixing release)".into(),
            ));
        }
        let now = Timestamp::now();
        self.write(|tx| lifecycle::transition(tx, id, to, now, cause))
    }

    fn retry(&self, id: i64, cause: &Cause, now: Timestamp) -> Result<FixJob> {
        self.write(|tx| lifecycle::retry(tx, id, now, cause))
    }

    fn resolve(&self, id: i64, release: &str, cause: &Cause, now: Timestamp) -> Result<IncidentRecord> {
        self.write(|tx| lifecycle::resolve(tx, id, release, now, cause))
    }

    fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>> {
        self.read(|conn| {
            rows::incident(conn, id)?;
            lifecycle::timeline(conn, id)
        })
    }

    fn project_releases_to_check(
        &self,
        project: Option<i64>,
        limit: usize,
        recheck_unknown_after: Duration,
        now: Timestamp,
    ) -> Result<Vec<ReleaseCheck>> {
        self.read(|conn| release_checks::releases_to_check(conn, project, limit, recheck_unknown_after, now))
    }

    fn record_fix_commit(&self, id: i64, commit: &str) -> Result<()> {
        self.write(|tx| release_checks::record_fix_commit(tx, id, commit))
    }

    fn record_release_verdict(&self, incident: i64, verdict: &ReleaseVerdictRecord) -> Result<bool> {
        let cap = self.job_cap();
        self.write(|tx| release_checks::record_release_verdict(tx, incident, verdict, cap))
    }

    fn verify_fixed(&self, window: Duration, now: Timestamp) -> Result<Vec<i64>> {
        // Nothing due most of the time: found on the reader, without taking
        // the writer (this runs every poll of `serve`'s release checks).
        if self
            .read(|conn| release_checks::due_for_verification(conn, window, now))?
            .is_empty()
        {
            return Ok(Vec::new());
        }
        self.write(|tx| release_checks::verify_fixed(tx, window, now))
    }

    fn add_release_with_fix(&self, id: i64, release: &str) -> Result<()> {
        self.write(|tx| lifecycle::add_release_with_fix(tx, id, release))
    }

    fn claim_project_job(
        &self,
        projects: Option<&[i64]>,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<ClaimedJob>> {
        let cap = self.job_cap();
        self.write(|tx| jobs::claim_next(tx, projects, owner, lease, now, cap))
    }

    fn claim_incident_job(&self, incident: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<ClaimedJob> {
        self.write(|tx| jobs::claim_incident(tx, incident, owner, lease, now))
    }

    fn renew_lease(&self, job: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<()> {
        self.write(|tx| jobs::renew(tx, job, owner, lease, now))
    }

    fn complete_job(&self, job: i64, owner: &str, outcome: &FixOutcome, now: Timestamp) -> Result<FixRun> {
        self.write(|tx| jobs::complete(tx, job, owner, outcome, now))
    }

    fn fail_job(&self, job: i64, owner: &str, error: &str, retry_after: Duration, now: Timestamp) -> Result<JobState> {
        self.write(|tx| jobs::fail(tx, job, owner, error, retry_after, now))
    }

    fn release_job(&self, job: i64, owner: &str, now: Timestamp) -> Result<()> {
        self.write(|tx| jobs::release(tx, job, owner, now))
    }

    fn jobs(&self) -> Result<Vec<FixJob>> {
        self.read(|conn| rows::jobs(conn, None))
    }

    fn runs(&self, incident: i64) -> Result<Vec<FixRun>> {
        self.read(|conn| rows::runs(conn, incident))
    }

    fn pull_requests(&self) -> Result<Vec<PullRequestRecord>> {
        self.read(|conn| rows::pull_requests(conn, None))
    }

    fn merge_pull_request(
        &self,
        number: i64,
        release: &str,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<PullRequestRecord> {
        self.write(|tx| pulls::set_state(tx, number, PullRequestState::Merged, Some(release), cause, now))
    }

    fn close_pull_request(&self, number: i64, cause: &Cause, now: Timestamp) -> Result<PullRequestRecord> {
        self.write(|tx| pulls::set_state(tx, number, PullRequestState::Closed, None, cause, now))
    }

    fn totals(&self) -> Result<Totals> {
        self.read(rows::totals)
    }

    fn record_release_seen(&self, name: &str, at: Timestamp, dependencies: Option<&[Dependency]>) -> Result<()> {
        self.write(|tx| releases::record_seen(tx, DEFAULT_PROJECT_ID, name, at, dependencies))
    }

    fn release(&self, name: &str) -> Result<Option<ReleaseRecord>> {
        self.read(|conn| releases::release(conn, DEFAULT_PROJECT_ID, name))
    }

    fn releases(&self) -> Result<Vec<ReleaseRecord>> {
        self.read(releases::releases)
    }

    fn search_incidents(&self, filter: &IncidentFilter) -> Result<IncidentSearch> {
        self.read(|conn| hours::search(conn, filter))
    }

    fn histogram(&self, id: i64, since: Timestamp) -> Result<Vec<HourCount>> {
        self.read(|conn| {
            rows::incident(conn, id)?;
            hours::histogram(conn, id, since)
        })
    }

    fn histograms(&self, ids: &[i64], since: Timestamp) -> Result<Vec<Vec<HourCount>>> {
        self.read(|conn| ids.iter().map(|&id| hours::histogram(conn, id, since)).collect())
    }
}
