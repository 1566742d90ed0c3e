//! The incident store: incidents keyed by fingerprint, a bounded sample of
//! raw events, durable fix jobs, fix runs with their reports, and the local
//! forge's pull requests.
//!
//! [`IncidentStore`] is the seam: the collector, the job runner and the CLI
//! only talk to the trait, so the server database ([`PostgresStore`], many
//! processes on one database) can replace the embedded [`SqliteStore`].
//!
//! ## Projects
//!
//! Every incident belongs to a project ([`ProjectRecord`]; a fix job to its
//! incident's): fingerprints group per project, and reads, job claims and
//! release checks can be limited to one. The default project
//! ([`DEFAULT_PROJECT_ID`]) is `serve --repo`'s; see `projects`.
//!
//! ## Incident lifecycle
//!
//! ```text
//! open ──► fixing ──► fix-proposed ──► fixed ──► verified
//!  │ ▲       │             │            │  │        │
//!  │ │       └──► open     └──► open    │  └──► regressed ◄──┘
//!  │ │                  (PR closed)     │         │  ├──► fixing ...
//!  │ │                                  │         │  └──► ignored
//!  │ └── ignored ◄── (ignore)           └─────────┴── (resolve: fixed by hand)
//! ```
//!
//! [`Status::can_become`] is the whole rule; anything else is
//! [`Error::IllegalTransition`](crate::Error::IllegalTransition). Every
//! status change goes through one function that also records it in the
//! incident's timeline ([`TimelineEntry`]: when, from, to, who, why; see
//! [`IncidentStore::timeline`]). `docs/lifecycle.md` has each edge.
//!
//! ## Regressions
//!
//! When a fix merges, the incident records the fixing release
//! (`fixed_in_release`), the fix commit when known, and that release becomes
//! its one *release that contains the fix*; more can be added with
//! [`IncidentStore::add_release_with_fix`]. An occurrence of a `fixed` or
//! `verified` incident whose `release` is in that set makes it `regressed`
//! at ingest (and enqueues a new fix job). Other releases are classified
//! outside ingest by git ancestry (`crate::release_check`, through
//! [`IncidentStore::releases_to_check`] and
//! [`IncidentStore::record_release_verdict`]): one containing the fix
//! regresses the incident and joins the set; older or unknown ones are only
//! counted. Which incidents get a fix job at all is the policy's
//! `[triggers]` ([`SqliteStore::set_triggers`]).

mod batches;
mod convert;
mod flow;
mod forge;
mod forge_sync;
mod grouping;
mod hours;
mod ingest;
mod ingest_tx;
#[macro_use]
mod shared_methods;
pub mod postgres;
mod project_rows;
mod projects;
mod quota;
mod reads;
mod release_checks;
mod releases;
mod rows;
mod rules;
mod schema;
mod sql;
mod sqlite;
mod trigger_settings;
mod tx;
mod types;

use std::time::Duration;

use bugstack_core::{Dependency, Event, Timestamp};

pub use self::postgres::{is_postgres_url, PostgresStore};
pub use bugstack_fix::PullRequestState;
pub use forge_sync::{ForgeChange, ForgePullRequest, ForgeSync};
pub use projects::{
    hash_token, hashes_match, validate_project_name, ForgeSpec, NewProject, ProjectRecord, DEFAULT_PROJECT_ID,
    DEFAULT_PROJECT_NAME, MAX_PROJECT_NAME_LEN,
};
pub use sqlite::{SqliteStore, DB_FILE, DEFAULT_MAX_QUEUED_JOBS};
pub use types::{
    pull_request_state_name, Cause, ClaimedJob, FixJob, FixOutcome, FixRun, IncidentCursor, IncidentDetail,
    IncidentQuota, IncidentRecord, IngestBatch, IngestSummary, JobState, PullRequestRecord, ReleaseCheck,
    ReleaseRecord, ReleaseVerdict, ReleaseVerdictRecord, RunPullRequest, StackDependencies, Status, TimelineEntry,
    Totals, UnknownValue, BUGSTACK_ACTOR, FORGE_ACTOR,
};
pub use types::{HourCount, IncidentFilter, IncidentSearch};

use crate::Result;

/// How many raw events are kept per incident (the most recent ones).
pub const SAMPLE_SIZE: usize = 20;

/// How long hourly occurrence counts are kept ([`IncidentStore::histogram`]):
/// 15 days, one more than the longest chart (14 days).
pub const HISTOGRAM_RETENTION_HOURS: u64 = 15 * 24;

/// Default cap on new incidents per hour per token (`serve --max-new-incidents-per-hour`).
pub const DEFAULT_NEW_INCIDENTS_PER_HOUR: u32 = 100;

/// How long a batch's id is remembered (per sender): a retry of the same
/// batch within this window is counted once. SDKs retry within minutes, and
/// replay their spool after a restart; a key older than this is forgotten.
pub const BATCH_KEY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Longest batch id the stores remember (longer ones are refused by the
/// collector as malformed).
pub const MAX_BATCH_ID_LEN: usize = bugstack_core::MAX_BATCH_ID_LEN;

/// Default number of attempts a fix job gets (a crash mid-run counts as one).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// Durable storage for incidents, fix jobs, fix runs and pull requests.
///
/// Every method is one transaction: it either happens completely or not at
/// all, and once it returns `Ok` it survives a crash of the process.
/// Methods block (the SQLite implementation does file I/O): call them from
/// `tokio::task::spawn_blocking` in async code.
pub trait IncidentStore: Send + Sync {
    /// Sets which incidents get a fix job (`[triggers]`: level, kinds,
    /// minimum count, environments left alone, queue cap). Default:
    /// [`Triggers::default`](bugstack_fix::Triggers::default), errors and
    /// panics at once. Kept in memory: each process sets its own.
    fn set_triggers(&self, triggers: bugstack_fix::Triggers);

    /// Caps the fix jobs queued at once (at least 1; default
    /// [`DEFAULT_MAX_QUEUED_JOBS`]). A new or regressed incident beyond the
    /// cap waits and is queued when there is room, the most frequent first.
    fn set_max_queued_jobs(&self, cap: usize);

    /// Sets the triggers of one project's incidents (its repository's
    /// `[triggers]`), in place of [`IncidentStore::set_triggers`]' for that
    /// project. The queue cap stays the store's
    /// ([`IncidentStore::set_max_queued_jobs`]): the queue is shared. Kept
    /// in memory: each process sets its own.
    fn set_project_triggers(&self, project: i64, triggers: bugstack_fix::Triggers);

    /// Adds a project ([`NewProject`]: its name, its token's hash, its
    /// repository and forge). Refused when the name (or the token's hash)
    /// is taken.
    fn add_project(&self, project: &NewProject, now: Timestamp) -> Result<ProjectRecord>;

    /// Every project, the default one first, then by name.
    fn projects(&self) -> Result<Vec<ProjectRecord>>;

    /// The project named `name`
    /// ([`Error::ProjectNotFound`](crate::Error::ProjectNotFound) when there is none).
    fn project_named(&self, name: &str) -> Result<ProjectRecord> {
        self.projects()?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| crate::Error::ProjectNotFound(name.to_string()))
    }

    /// The project whose ingest token has the hash `token_hash`
    /// ([`hash_token`]), if any; the stored hash is compared in constant
    /// time. (The default project's token is `serve`'s and is not stored.)
    fn project_by_token_hash(&self, token_hash: &str) -> Result<Option<ProjectRecord>>;

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
    /// overflow incident. A batch with a [`IngestBatch::batch_id`] its
    /// sender (the quota's source) already used within [`BATCH_KEY_WINDOW`]
    /// is not stored again: its summary says [`IngestSummary::duplicate`].
    fn ingest_with_quotas(&self, batches: &[IngestBatch], received_at: Timestamp) -> Result<Vec<IngestSummary>>;

    /// All incidents of every project, most recently seen first.
    fn incidents(&self) -> Result<Vec<IncidentRecord>>;

    /// At most `limit` incidents of `project` (every project's when
    /// `None`), most recently seen first, starting after `after` (from the
    /// start when `None`): one page of [`IncidentStore::incidents`].
    fn incidents_page(
        &self,
        project: Option<i64>,
        limit: usize,
        after: Option<IncidentCursor>,
    ) -> Result<Vec<IncidentRecord>>;

    /// One incident.
    fn incident(&self, id: i64) -> Result<IncidentRecord>;

    /// One incident with its representative event, recent samples, jobs,
    /// runs and pull requests.
    fn incident_detail(&self, id: i64) -> Result<IncidentDetail>;

    /// A person's status change: moves an incident to `to`, if the
    /// lifecycle allows it, recorded in its timeline with `cause`. Ignoring
    /// cancels its live fix job; reopening (`open`) queues one. `fixed` is
    /// refused here (see [`IncidentStore::resolve`]).
    fn transition(&self, id: i64, to: Status, cause: &Cause) -> Result<IncidentRecord>;

    /// Queues a fix job for an `open` or `regressed` incident now (past the
    /// queue cap and the triggers: a person asked), or makes its queued job
    /// runnable now (also a job waiting to retry a failed attempt); recorded
    /// in its timeline. Refused while a job runs.
    fn retry(&self, id: i64, cause: &Cause, now: Timestamp) -> Result<FixJob>;

    /// A fix made by hand: an `open` or `regressed` incident becomes
    /// `fixed` in `release` (a commit, tag or release name, resolved to the
    /// fix commit by the release checks); its live job is cancelled.
    fn resolve(&self, id: i64, release: &str, cause: &Cause, now: Timestamp) -> Result<IncidentRecord>;

    /// An incident's status changes, oldest first.
    fn timeline(&self, id: i64) -> Result<Vec<TimelineEntry>>;

    /// At most `limit` releases of `fixed` or `verified` incidents not yet
    /// classified against the fix (or classified `unknown` at least
    /// `recheck_unknown_after` ago), the most recently seen first.
    fn releases_to_check(
        &self,
        limit: usize,
        recheck_unknown_after: Duration,
        now: Timestamp,
    ) -> Result<Vec<ReleaseCheck>> {
        self.project_releases_to_check(None, limit, recheck_unknown_after, now)
    }

    /// [`IncidentStore::releases_to_check`] for the incidents of `project`
    /// only (`None`: every project's): a project's releases are resolved in
    /// its own repository.
    fn project_releases_to_check(
        &self,
        project: Option<i64>,
        limit: usize,
        recheck_unknown_after: Duration,
        now: Timestamp,
    ) -> Result<Vec<ReleaseCheck>>;

    /// Records the commit a fixed incident's `fixed_in_release` resolved
    /// to (kept if one is already known; nothing when the incident is no
    /// longer fixed).
    fn record_fix_commit(&self, id: i64, commit: &str) -> Result<()>;

    /// Records how a release relates to a fixed incident's fix. A release
    /// containing the fix joins its releases with the fix; when the incident
    /// was seen in it, the incident becomes `regressed` (recorded by
    /// [`BUGSTACK_ACTOR`]) with a new fix job, and this returns `true`.
    /// Ignored (`false`) when the incident is no longer fixed.
    fn record_release_verdict(&self, incident: i64, verdict: &ReleaseVerdictRecord) -> Result<bool>;

    /// Verification: every `fixed` incident with a live release (announced
    /// by an SDK: [`IncidentStore::record_release_seen`]) that contains its
    /// fix and has sent no occurrence of it for `window` since it went live
    /// (or since the fix, if later) becomes `verified`, recorded by
    /// [`BUGSTACK_ACTOR`]. Returns the verified incidents. (An occurrence
    /// from such a release makes it `regressed` instead, at ingest.)
    fn verify_fixed(&self, window: Duration, now: Timestamp) -> Result<Vec<i64>>;

    /// Declares that `release` contains the fix of a fixed incident, so an
    /// occurrence from it is a regression.
    fn add_release_with_fix(&self, id: i64, release: &str) -> Result<()>;

    /// Claims the runnable fix job of the most frequent incident (oldest
    /// first among equals) for `owner` for `lease`: a queued job whose retry
    /// time has come, or a running job whose lease expired (its worker died). The claim is one atomic `UPDATE ... RETURNING`, so
    /// two workers never get the same job; the incident moves to `fixing`.
    /// Jobs of every project: [`IncidentStore::claim_project_job`] with `None`.
    fn claim_job(&self, owner: &str, lease: Duration, now: Timestamp) -> Result<Option<ClaimedJob>> {
        self.claim_project_job(None, owner, lease, now)
    }

    /// [`IncidentStore::claim_job`] among the jobs of `projects` only (a
    /// worker claims the jobs of the projects whose repositories it has);
    /// `None`: every project's.
    fn claim_project_job(
        &self,
        projects: Option<&[i64]>,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<ClaimedJob>>;

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
    /// `fix-proposed` to `fixed` with `release` as the fixing release, the
    /// change recorded in its timeline as `cause`'s.
    fn merge_pull_request(
        &self,
        number: i64,
        release: &str,
        cause: &Cause,
        now: Timestamp,
    ) -> Result<PullRequestRecord>;

    /// Marks an open pull request closed unmerged: its incident moves from
    /// `fix-proposed` back to `open` (recorded as `cause`'s), and its patch
    /// is remembered as rejected for the incident.
    fn close_pull_request(&self, number: i64, cause: &Cause, now: Timestamp) -> Result<PullRequestRecord>;

    /// Totals of everything ingested so far.
    fn totals(&self) -> Result<Totals>;

    /// Records that release `name` was announced live at `at`: created with
    /// `first_live_at = last_live_at = at` when new; otherwise
    /// `first_live_at` is kept (an earlier `at` moves it back) and
    /// `last_live_at` moves forward to `at` (never back). `dependencies`
    /// replace the stored list when `Some`; `None` keeps it. Releases are a
    /// project's (the same name in two projects is two releases): this
    /// records one of the default project; a batch's announcement
    /// ([`IngestBatch::release`]) is recorded in the batch's project.
    fn record_release_seen(&self, name: &str, at: Timestamp, dependencies: Option<&[Dependency]>) -> Result<()>;

    /// One release of the default project, if it was ever announced.
    fn release(&self, name: &str) -> Result<Option<ReleaseRecord>>;

    /// Every announced release (of every project), most recently live first.
    fn releases(&self) -> Result<Vec<ReleaseRecord>>;

    /// One page of the incidents matching `filter`, most recently seen
    /// first, and how many match in all. The default filters
    /// [`IncidentStore::incidents`] in memory; a store should answer it with
    /// a query.
    fn search_incidents(&self, filter: &IncidentFilter) -> Result<IncidentSearch> {
        let matching: Vec<IncidentRecord> = self.incidents()?.into_iter().filter(|r| filter.matches(r)).collect();
        let total = u64::try_from(matching.len()).unwrap_or(u64::MAX);
        let incidents = matching.into_iter().skip(filter.offset).take(filter.limit).collect();
        Ok(IncidentSearch { incidents, total })
    }

    /// Incident `id`'s occurrences per hour from the hour of `since` on,
    /// oldest first; hours without occurrences are left out. Kept for
    /// [`HISTOGRAM_RETENTION_HOURS`]. The default knows no counts (empty).
    fn histogram(&self, id: i64, since: Timestamp) -> Result<Vec<HourCount>> {
        let _ = (id, since);
        Ok(Vec::new())
    }

    /// [`IncidentStore::histogram`] of several incidents at once (one query
    /// for a page of the list), in the order of `ids`.
    fn histograms(&self, ids: &[i64], since: Timestamp) -> Result<Vec<Vec<HourCount>>> {
        ids.iter().map(|&id| self.histogram(id, since)).collect()
    }
}

/// What `serve` needs of a store beyond [`IncidentStore`]: the local
/// forge's pull requests ([`PullRequestStore`](bugstack_fix::PullRequestStore))
/// and keeping pull requests in step with a remote forge (polling, the
/// webhook, rejected patches). Implemented by [`SqliteStore`] and
/// [`PostgresStore`] alike (the same queries, in the backend's read or
/// write transaction).
pub trait ForgeStore: IncidentStore + bugstack_fix::PullRequestStore + std::fmt::Debug {
    /// This store as an [`IncidentStore`].
    fn into_incident_store(self: std::sync::Arc<Self>) -> std::sync::Arc<dyn IncidentStore>;

    /// This store as the local forge's [`PullRequestStore`](bugstack_fix::PullRequestStore).
    fn into_pull_request_store(self: std::sync::Arc<Self>) -> std::sync::Arc<dyn bugstack_fix::PullRequestStore>;

    /// The open pull requests that live on a remote forge (they have a
    /// forge number), oldest first: what `serve` polls.
    fn forge_pull_requests(&self) -> Result<Vec<ForgePullRequest>>;

    /// The store's number of the pull request numbered `forge_number` on the
    /// remote forge, if a run recorded one.
    fn pull_request_by_forge_number(&self, forge_number: i64) -> Result<Option<i64>>;

    /// The remote forge's number of the store's pull request `number`
    /// (`None`: a local-forge pull request).
    fn forge_number_of(&self, number: i64) -> Result<Option<i64>>;

    /// Remembers the ETag of the forge's last answer about pull request `number`.
    fn set_pull_request_etag(&self, number: i64, etag: &str) -> Result<()>;

    /// The hashes of the patches rejected for `incident` (their pull request
    /// was closed unmerged).
    fn rejected_patches(&self, incident: i64) -> Result<std::collections::BTreeSet<String>>;

    /// Applies what the forge says happened to pull request `number`
    /// (merged in a commit, or closed unmerged) with the same effect as
    /// [`IncidentStore::merge_pull_request`] /
    /// [`close_pull_request`](IncidentStore::close_pull_request), plus the
    /// merge commit kept on the pull request. Idempotent: a pull request
    /// already in that state is [`ForgeSync::Unchanged`] (a webhook and the
    /// poller may both report the same merge).
    fn apply_forge_change(&self, number: i64, change: &ForgeChange, cause: &Cause, now: Timestamp)
        -> Result<ForgeSync>;
}

#[cfg(test)]
mod tests;
