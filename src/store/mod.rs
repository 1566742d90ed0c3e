//! The incident store: incidents keyed by fingerprint, a bounded sample of
//! raw events, durable fix jobs, fix runs with their reports, and the local
//! forge's pull requests.
//!
//! [`IncidentStore`] is the seam: the collector, the job runner and the CLI
//! only talk to the trait, so a server database (Postgres) can replace the
//! embedded [`SqliteStore`] later.
//!
//! ## Incident lifecycle
//!
//! ```text
//! open ──► fixing ──► fix-proposed ──► fixed ──► regressed ──► fixing ...
//!   │        │             │                        │
//!   │        └──► open     └──► open (PR closed)    └──► ignored
//!   └──► ignored ──► open
//! ```
//!
//! [`Status::can_become`] is the whole rule; anything else is
//! [`Error::IllegalTransition`](crate::Error::IllegalTransition).
//!
//! ## Regressions
//!
//! When a fix merges, the incident records the fixing release
//! (`fixed_in_release`) and that release joins its set of *releases that
//! contain the fix*; later releases can be added with
//! [`IncidentStore::add_release_with_fix`]. An occurrence of a `fixed`
//! incident whose `release` is in that set reopens it as `regressed` (and
//! enqueues a new fix job). Occurrences from other releases, or without a
//! release, only update the counts: they are old deployments still running.

mod schema;
mod sqlite;
mod types;

use std::time::Duration;

use bugstack_core::{Event, Timestamp};

pub use bugstack_fix::PullRequestState;
pub use sqlite::{ForgeChange, ForgePullRequest, ForgeSync, SqliteStore, DB_FILE, DEFAULT_MAX_QUEUED_JOBS};
pub use types::{
    pull_request_state_name, ClaimedJob, FixJob, FixOutcome, FixRun, IncidentCursor, IncidentDetail, IncidentQuota,
    IncidentRecord, IngestBatch, IngestSummary, JobState, PullRequestRecord, RunPullRequest, Status, Totals,
};

use crate::Result;

/// How many raw events are kept per incident (the most recent ones).
pub const SAMPLE_SIZE: usize = 20;

/// Default cap on new incidents per hour per token (`serve --max-new-incidents-per-hour`).
pub const DEFAULT_NEW_INCIDENTS_PER_HOUR: u32 = 100;

/// Default number of attempts a fix job gets (a crash mid-run counts as one).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Durable storage for incidents, fix jobs, fix runs and pull requests.
///
/// Every method is one transaction: it either happens completely or not at
/// all, and once it returns `Ok` it survives a crash of the process.
/// Methods block (the SQLite implementation does file I/O): call them from
/// `tokio::task::spawn_blocking` in async code.
pub trait IncidentStore: Send + Sync {
    /// Records a batch of events: each is grouped by
    /// [`Event::fingerprint_or_compute`] into its incident (created `open`
    /// with one queued fix job when new), counts and releases are updated,
    /// the raw event joins the incident's bounded sample, and a `fixed`
    /// incident seen in a release containing its fix becomes `regressed`.
    fn ingest(&self, events: &[Event], received_at: Timestamp) -> Result<IngestSummary>;

    /// Records several batches in **one** transaction (group commit: one
    /// durable write for all of them), as if each were passed to
    /// [`IncidentStore::ingest`] in order. All are stored or none is. The
    /// default calls `ingest` per batch (one transaction each).
    fn ingest_batches(&self, batches: &[Vec<Event>], received_at: Timestamp) -> Result<Vec<IngestSummary>> {
        batches.iter().map(|b| self.ingest(b, received_at)).collect()
    }

    /// Records several batches in one transaction like
    /// [`IncidentStore::ingest_batches`], each under its sender's
    /// [`IncidentQuota`] when it has one: a new fingerprint over the quota
    /// does not create an incident; its events are counted in the sender's
    /// overflow incident.
    fn ingest_with_quotas(&self, batches: &[IngestBatch], received_at: Timestamp) -> Result<Vec<IngestSummary>>;

    /// All incidents, most recently seen first.
    fn incidents(&self) -> Result<Vec<IncidentRecord>>;

    /// At most `limit` incidents, most recently seen first, starting after
    /// `after` (from the start when `None`): one page of
    /// [`IncidentStore::incidents`].
    fn incidents_page(&self, limit: usize, after: Option<IncidentCursor>) -> Result<Vec<IncidentRecord>>;

    /// One incident.
    fn incident(&self, id: i64) -> Result<IncidentRecord>;

    /// One incident with its representative event, recent samples, jobs,
    /// runs and pull requests.
    fn incident_detail(&self, id: i64) -> Result<IncidentDetail>;

    /// Moves an incident to `to`, if the lifecycle allows it.
    fn transition(&self, id: i64, to: Status) -> Result<IncidentRecord>;

    /// Declares that `release` contains the fix of a fixed incident, so an
    /// occurrence from it is a regression.
    fn add_release_with_fix(&self, id: i64, release: &str) -> Result<()>;

    /// Claims the runnable fix job of the most frequent incident (oldest
    /// first among equals) for `owner` for `lease`: a queued job whose retry
    /// time has come, or a running job whose lease expired (its worker died). The claim is one atomic `UPDATE ... RETURNING`, so
    /// two workers never get the same job; the incident moves to `fixing`.
    fn claim_job(&self, owner: &str, lease: Duration, now: Timestamp) -> Result<Option<ClaimedJob>>;

    /// Claims the fix job of one incident for `owner` (what `bugstack fix ID`
    /// does): its queued job, or its running job whose lease expired, or — when
    /// it has none and is `open` or `regressed` — a new one. Refused while
    /// another worker holds the job, or when the incident is not fixable now.
    fn claim_incident_job(&self, incident: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<ClaimedJob>;

    /// Extends the lease of a job `owner` is running
    /// ([`Error::LeaseLost`](crate::Error::LeaseLost) when it no longer holds it).
    fn renew_lease(&self, job: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<()>;

    /// Finishes a job `owner` holds with the runner's outcome: records the
    /// run and its report, the pull request if any, and moves the incident
    /// on (`open` when no fix, `fix-proposed`, or `fixed` when merged) — all
    /// in one transaction, and only while `owner` still holds the lease.
    fn complete_job(&self, job: i64, owner: &str, outcome: &FixOutcome, now: Timestamp) -> Result<FixRun>;

    /// Records a failed attempt of a job `owner` holds: queued again after
    /// `retry_after` while attempts remain, else `failed` (the incident goes
    /// back to `open`). Returns the job's new state.
    fn fail_job(&self, job: i64, owner: &str, error: &str, retry_after: Duration, now: Timestamp) -> Result<JobState>;

    /// Hands a job `owner` holds back to the queue without counting the
    /// attempt (a graceful shutdown interrupted it), so the next start runs it
    /// at once instead of waiting for the lease to expire.
    fn release_job(&self, job: i64, owner: &str, now: Timestamp) -> Result<()>;

    /// All fix jobs, oldest first.
    fn jobs(&self) -> Result<Vec<FixJob>>;

    /// All fix runs of an incident, oldest first.
    fn runs(&self, incident: i64) -> Result<Vec<FixRun>>;

    /// All local-forge pull requests, newest first.
    fn pull_requests(&self) -> Result<Vec<PullRequestRecord>>;

    /// Marks an open pull request merged: its incident moves from
    /// `fix-proposed` to `fixed` with `release` as the fixing release.
    fn merge_pull_request(&self, number: i64, release: &str, now: Timestamp) -> Result<PullRequestRecord>;

    /// Marks an open pull request closed unmerged: its incident moves from
    /// `fix-proposed` back to `open`.
    fn close_pull_request(&self, number: i64, now: Timestamp) -> Result<PullRequestRecord>;

    /// Totals of everything ingested so far.
    fn totals(&self) -> Result<Totals>;
}

#[cfg(test)]
mod tests;
