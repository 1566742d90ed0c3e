//! The records the store keeps and returns.

use std::fmt;
use std::str::FromStr;

use bugstack_core::{Dependency, Event, Fingerprint, ReleaseAnnouncement, Timestamp};
use bugstack_fix::PullRequestState;
use serde::{Deserialize, Serialize};

use crate::Error;

pub use crate::status::{JobState, Status, UnknownValue};

/// The name of a pull request state in the store, the JSON output and the
/// CLI (`open`, `merged`, `closed`: its serde name).
pub fn pull_request_state_name(state: PullRequestState) -> &'static str {
    match state {
        PullRequestState::Open => "open",
        PullRequestState::Merged => "merged",
        PullRequestState::Closed => "closed",
    }
}

/// The pull request state a stored name stands for.
pub(crate) fn parse_pull_request_state(s: &str) -> Result<PullRequestState, Error> {
    [
        PullRequestState::Open,
        PullRequestState::Merged,
        PullRequestState::Closed,
    ]
    .into_iter()
    .find(|st| pull_request_state_name(*st) == s)
    .ok_or_else(|| Error::Corrupt {
        column: "pull_requests.state",
        value: s.to_string(),
    })
}

/// One incident: a group of occurrences sharing a fingerprint.
///
/// `title` and everything from the events is attacker-controlled text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentRecord {
    /// The store's id.
    pub id: i64,
    /// The grouping fingerprint.
    pub fingerprint: Fingerprint,
    /// The first line of the first event's message (at most 100 characters).
    pub title: String,
    /// Event kind (`panic`, `error`, ...), from the first event.
    pub kind: String,
    /// Event level, from the first event.
    pub level: String,
    /// Lifecycle status.
    pub status: Status,
    /// Occurrences seen (sum of the events' counts).
    pub count: u64,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Latest occurrence.
    pub last_seen: Timestamp,
    /// Releases the incident was seen in, in order of first sighting.
    pub releases: Vec<String>,
    /// The release the fix merged in, once fixed.
    pub fixed_in_release: Option<String>,
    /// Releases known to contain the fix (occurrences from them are regressions).
    pub releases_with_fix: Vec<String>,
    /// The commit of the fix (the merge or squash commit), once known: set
    /// when the fix merges, or resolved from `fixed_in_release` later.
    #[serde(default)]
    pub fix_commit: Option<String>,
    /// The id of the project it belongs to ([`super::ProjectRecord`]).
    #[serde(default = "default_project_id")]
    pub project: i64,
}

fn default_project_id() -> i64 {
    super::DEFAULT_PROJECT_ID
}

/// An incident with everything the store knows about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: IncidentRecord,
    /// The first event seen (the one fixes are made from).
    pub representative: Event,
    /// The most recent raw events, newest first (at most [`super::SAMPLE_SIZE`]).
    pub samples: Vec<Event>,
    /// Its fix jobs, oldest first.
    pub jobs: Vec<FixJob>,
    /// Its fix runs, oldest first.
    pub runs: Vec<FixRun>,
    /// Its pull requests, newest first.
    pub pull_requests: Vec<PullRequestRecord>,
    /// The versions of the crates on its stack, when a release it was seen
    /// in announced its dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_dependencies: Option<StackDependencies>,
    /// Every status change, oldest first.
    #[serde(default)]
    pub timeline: Vec<TimelineEntry>,
    /// How each release it was seen in relates to the fix (once fixed),
    /// in order of the check.
    #[serde(default)]
    pub release_checks: Vec<ReleaseVerdictRecord>,
}

/// The actor recorded for the changes bugstack makes on its own (a
/// regression found at ingest or by ancestry, a verification).
pub const BUGSTACK_ACTOR: &str = "bugstack";

/// The actor recorded for a change that follows a pull request's state on
/// the forge (merged, closed unmerged).
pub const FORGE_ACTOR: &str = "forge";

/// Who makes a status change, and why: recorded in the incident's timeline.
///
/// `reason` may quote event data (a release name): it is untrusted text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cause {
    /// Who: a person (`--actor`, `$USER`), a fix worker's id, `forge`, or
    /// [`BUGSTACK_ACTOR`].
    pub actor: String,
    /// Why, in a few words.
    pub reason: String,
}

impl Cause {
    /// A change by `actor` for `reason`.
    pub fn new(actor: impl Into<String>, reason: impl Into<String>) -> Self {
        Cause {
            actor: actor.into(),
            reason: reason.into(),
        }
    }

    /// The same actor, with `what` happened in front of the reason ("pull
    /// request #3 closed unmerged: wrong fix").
    pub fn explained(&self, what: impl Into<String>) -> Self {
        let what = what.into();
        let reason = if self.reason.is_empty() {
            what
        } else {
            format!("{what}: {}", self.reason)
        };
        Cause::new(self.actor.clone(), reason)
    }

    /// A change bugstack makes on its own ([`BUGSTACK_ACTOR`]).
    pub fn bugstack(reason: impl Into<String>) -> Self {
        Cause::new(BUGSTACK_ACTOR, reason)
    }
}

/// One status change of an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    pub at: Timestamp,
    /// The status before (`None`: the incident was created).
    pub from: Option<Status>,
    /// The status after (equal to `from` for a control that changes no
    /// status, such as `retry`).
    pub to: Status,
    /// Who ([`Cause::actor`]).
    pub actor: String,
    /// Why ([`Cause::reason`]).
    pub reason: String,
}

/// How a release relates to an incident's fix, found by git ancestry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseVerdict {
    /// The release's commit has the fix commit as an ancestor.
    ContainsFix,
    /// The release's commit is older than the fix (or on another line).
    Older,
    /// The release (or the fix's release) does not resolve to a commit.
    Unknown,
}

impl ReleaseVerdict {
    /// The name used in the store and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseVerdict::ContainsFix => "contains-fix",
            ReleaseVerdict::Older => "older",
            ReleaseVerdict::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ReleaseVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReleaseVerdict {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        [
            ReleaseVerdict::ContainsFix,
            ReleaseVerdict::Older,
            ReleaseVerdict::Unknown,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
        .ok_or_else(|| Error::Corrupt {
            column: "release_verdicts.verdict",
            value: s.to_string(),
        })
    }
}

/// A release of a fixed incident still to be classified (see
/// [`super::IncidentStore::releases_to_check`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseCheck {
    /// The incident.
    pub incident_id: i64,
    /// The release to classify (untrusted: it comes from events).
    pub release: String,
    /// The incident's fix commit, when known.
    pub fix_commit: Option<String>,
    /// The release the fix merged in (resolved to the fix commit when that
    /// is not known yet).
    pub fixed_in_release: Option<String>,
}

/// The classification of one release for one incident's fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseVerdictRecord {
    /// The release.
    pub release: String,
    /// How it relates to the fix.
    pub verdict: ReleaseVerdict,
    /// The commit it resolved to, if it did.
    pub commit: Option<String>,
    /// What was found (e.g. why it is unknown).
    pub note: String,
    /// When it was checked.
    pub checked_at: Timestamp,
}

/// What one [`super::IncidentStore::ingest`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestSummary {
    /// Events recorded.
    pub events: u64,
    /// Occurrences recorded (sum of counts).
    pub occurrences: u64,
    /// Incidents created by this batch.
    pub new_incidents: Vec<i64>,
    /// Incidents that regressed in this batch.
    pub regressed: Vec<i64>,
    /// Fix jobs enqueued by this batch.
    pub jobs_enqueued: u64,
    /// Events of new fingerprints over the sender's new-incident quota,
    /// counted in its quota-overflow incident instead.
    #[serde(default)]
    pub over_quota: u64,
    /// The batch's id was already stored (a retry whose first answer was
    /// lost): nothing was counted again.
    #[serde(default)]
    pub duplicate: bool,
}

/// Where a page of incidents (most recently seen first) continues: after
/// the incident with this `last_seen` and `id`. Written `<last_seen ms>.<id>`
/// (opaque to API clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentCursor {
    /// The last listed incident's `last_seen`, in milliseconds.
    pub last_seen_ms: u64,
    /// The last listed incident's id.
    pub id: i64,
}

impl IncidentCursor {
    /// The cursor continuing after `record`.
    pub fn after(record: &IncidentRecord) -> Self {
        IncidentCursor {
            last_seen_ms: record.last_seen.as_millis(),
            id: record.id,
        }
    }
}

impl fmt::Display for IncidentCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.last_seen_ms, self.id)
    }
}

impl FromStr for IncidentCursor {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::Config(format!(
                "not an incident cursor: {s:?} (use the `next_cursor` of a previous page)"
            ))
        };
        let (seen, id) = s.split_once('.').ok_or_else(bad)?;
        Ok(IncidentCursor {
            last_seen_ms: seen.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// A sender's cap on the incidents its events may create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentQuota {
    /// Who sent the batch: a stable, non-secret name of its token.
    pub source: String,
    /// Most incidents the sender's events may create in any hour; events of
    /// further new fingerprints are counted in one overflow incident per
    /// sender (no fix job).
    pub new_incidents_per_hour: u32,
}

/// A batch to ingest, with its sender's quota (`None`: trusted, no quota).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestBatch {
    /// The events.
    pub events: Vec<Event>,
    /// The sender's quota.
    pub quota: Option<IncidentQuota>,
    /// The sender's release announcement, recorded with the batch
    /// ([`IncidentStore::record_release_seen`](super::IncidentStore::record_release_seen)).
    pub release: Option<ReleaseAnnouncement>,
    /// The batch's idempotency key (the wire batch's `batch_id`): a batch
    /// whose key the same sender used within
    /// [`BATCH_KEY_WINDOW`](super::BATCH_KEY_WINDOW) is not stored again.
    pub batch_id: Option<String>,
    /// The project the batch belongs to (chosen by the sender's token);
    /// `None`: the default project.
    pub project: Option<i64>,
}

/// The versions of the crates on an incident's stack, from the dependency
/// list its release announced ([`bugstack_core::dependencies_on_stack`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackDependencies {
    /// The release whose list was used: the incident's latest release that
    /// announced one.
    pub release: String,
    /// The crates on the representative event's stack, innermost first.
    pub dependencies: Vec<Dependency>,
}

impl StackDependencies {
    /// The crates on `event`'s stack with their versions, from the latest of
    /// `releases` (in order of first sighting) that announced a dependency
    /// list; `release` looks a release up by name.
    pub(crate) fn of_latest(
        releases: &[String],
        event: &Event,
        mut release: impl FnMut(&str) -> crate::Result<Option<ReleaseRecord>>,
    ) -> crate::Result<Option<StackDependencies>> {
        for name in releases.iter().rev() {
            let Some(ReleaseRecord {
                dependencies: Some(deps),
                ..
            }) = release(name)?
            else {
                continue;
            };
            return Ok(Some(StackDependencies {
                release: name.clone(),
                dependencies: bugstack_core::dependencies_on_stack(&event.frames, &deps),
            }));
        }
        Ok(None)
    }
}

/// A release an SDK announced live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    /// The release (version, tag or commit), as events carry it.
    pub name: String,
    /// When it was first announced live.
    pub first_live_at: Timestamp,
    /// When it was last announced live.
    pub last_live_at: Timestamp,
    /// Its resolved dependencies, as last sent (`None`: never sent).
    pub dependencies: Option<Vec<Dependency>>,
}

/// Totals of everything ingested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Batches accepted.
    pub batches: u64,
    /// Events accepted.
    pub events: u64,
    /// Occurrences accepted.
    pub occurrences: u64,
    /// Incidents.
    pub incidents: u64,
}

/// A fix job: at most one queued or running per incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixJob {
    /// The store's id.
    pub id: i64,
    /// The incident to fix.
    pub incident_id: i64,
    /// State.
    pub state: JobState,
    /// Attempts started so far (a claim is an attempt, even if it crashed).
    pub attempts: u32,
    /// Attempts allowed.
    pub max_attempts: u32,
    /// The worker holding the lease, while running.
    pub lease_owner: Option<String>,
    /// When the lease runs out, while running.
    pub lease_expires_at: Option<Timestamp>,
    /// Not claimed before this time (retry back-off).
    pub not_before: Timestamp,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
    /// When it was enqueued.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// A job leased to a worker, with what the worker needs to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job (state `running`, lease held by the claimant).
    pub job: FixJob,
    /// Its incident (status `fixing`).
    pub incident: IncidentRecord,
    /// The incident's representative event.
    pub event: Event,
    /// The versions of the crates on its stack, when known.
    pub stack_dependencies: Option<StackDependencies>,
}

impl ClaimedJob {
    /// The incident as the fix pipeline takes it.
    pub fn pipeline_incident(&self) -> bugstack_fix::Incident {
        bugstack_fix::Incident {
            id: self.incident.id.to_string(),
            fingerprint: self.incident.fingerprint.clone(),
            event: self.event.clone(),
            count: self.incident.count,
            first_seen: self.incident.first_seen,
            last_seen: self.incident.last_seen,
            stack_dependencies: self
                .stack_dependencies
                .as_ref()
                .map(|s| s.dependencies.clone())
                .unwrap_or_default(),
        }
    }
}

/// The pull request a fix run produced, as the run reports it to the store
/// (the forge's own view is [`bugstack_fix::deploy::PullRequest`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPullRequest {
    /// The number of a pull request the run's forge already recorded in this
    /// store (through [`bugstack_fix::PullRequestStore`]): the run
    /// links it to the incident instead of recording a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    /// Where the forge says it lives (e.g. a GitHub URL), when known.
    #[serde(default)]
    pub url: String,
    /// Title.
    pub title: String,
    /// Body (the human report).
    pub body: String,
    /// The fix branch.
    pub branch: String,
    /// The pipeline's decision (`merge`, `open-for-review`, ...).
    pub decision: String,
    /// The pull request's number on a remote forge (GitHub), which the
    /// store's own number is not; `None` for the local forge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forge_number: Option<i64>,
    /// The hash of the proposed patch ([`bugstack_fix::patch_hash`]): when
    /// the pull request is closed unmerged, the patch is remembered as
    /// rejected for the incident and never proposed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_hash: Option<String>,
}

/// What a fix run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum FixOutcome {
    /// No acceptable fix; the incident goes back to `open`.
    NoFix {
        /// Why.
        reason: String,
        /// The machine-readable report.
        report: serde_json::Value,
    },
    /// A pull request is open for review; the incident is `fix-proposed`.
    Proposed {
        /// The pull request.
        pr: RunPullRequest,
        /// The machine-readable report.
        report: serde_json::Value,
    },
    /// The pull request merged; the incident is `fixed` in `release`.
    Merged {
        /// The pull request.
        pr: RunPullRequest,
        /// The release that contains the fix.
        release: String,
        /// The machine-readable report.
        report: serde_json::Value,
    },
}

impl FixOutcome {
    /// The short name stored with the run (`no-fix`, `proposed`, `merged`).
    pub fn name(&self) -> &'static str {
        match self {
            FixOutcome::NoFix { .. } => "no-fix",
            FixOutcome::Proposed { .. } => "proposed",
            FixOutcome::Merged { .. } => "merged",
        }
    }

    /// The report.
    pub fn report(&self) -> &serde_json::Value {
        match self {
            FixOutcome::NoFix { report, .. }
            | FixOutcome::Proposed { report, .. }
            | FixOutcome::Merged { report, .. } => report,
        }
    }
}

/// One execution of a fix job that reached an end (an outcome or an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixRun {
    /// The store's id.
    pub id: i64,
    /// The job.
    pub job_id: i64,
    /// The incident.
    pub incident_id: i64,
    /// Which attempt of the job this was (1-based).
    pub attempt: u32,
    /// The worker that ran it.
    pub worker: String,
    /// `no-fix`, `proposed`, `merged` or `error`.
    pub outcome: String,
    /// The machine-readable report (for `error`: `{"error": "..."}`).
    pub report: serde_json::Value,
    /// When it finished.
    pub finished_at: Timestamp,
    /// The pull request it opened, if any.
    pub pr_number: Option<i64>,
}

/// A pull request row of the store: what the local forge recorded (through
/// [`bugstack_fix::deploy::PullRequestStore`]) or a run reported, linked to
/// its incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequestRecord {
    /// Number (1, 2, ...).
    pub number: i64,
    /// The incident it fixes (`None` while the run that opened it is still going).
    pub incident_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// The fix branch.
    pub branch: String,
    /// State.
    pub state: PullRequestState,
    /// The pipeline's decision.
    pub decision: String,
    /// Where the forge says it lives.
    pub url: String,
    /// The branch it targets.
    pub base: String,
    /// The fix commit.
    pub head_sha: String,
    /// The commit the merge produced, once merged.
    pub merge_commit: Option<String>,
    /// When it was opened.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Occurrences of one incident in one hour (see
/// [`super::IncidentStore::histogram`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// The start of the hour (UTC).
    pub hour: Timestamp,
    /// Occurrences in it.
    pub count: u64,
}

/// Which incidents a listing shows (see
/// [`super::IncidentStore::search_incidents`]): most recently seen first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentFilter {
    /// Only incidents of this project (`None`: every project's).
    pub project: Option<i64>,
    /// Only incidents in this status.
    pub status: Option<Status>,
    /// Only incidents whose title, kind or level contains this text (ASCII
    /// case-insensitive).
    pub text: Option<String>,
    /// Matching incidents skipped (the page's start).
    pub offset: usize,
    /// Most incidents returned.
    pub limit: usize,
}

impl IncidentFilter {
    /// Whether `record` matches the project, status and text (not the page).
    pub fn matches(&self, record: &IncidentRecord) -> bool {
        let project_ok = self.project.is_none_or(|p| p == record.project);
        let status_ok = self.status.is_none_or(|s| s == record.status);
        let text_ok = match self.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => true,
            Some(t) => {
                let t = t.to_ascii_lowercase();
                [&record.title, &record.kind, &record.level]
                    .iter()
                    .any(|f| f.to_ascii_lowercase().contains(&t))
            }
        };
        project_ok && status_ok && text_ok
    }

    /// The text as a `LIKE` pattern with `\\` as its escape: `%text%`, the
    /// text's own `\\`, `%` and `_` literal; `None` without (blank) text.
    pub(crate) fn like_pattern(&self) -> Option<String> {
        self.text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| format!("%{}%", t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")))
    }
}

/// One page of [`IncidentFilter`]'s matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentSearch {
    /// The page, most recently seen first.
    pub incidents: Vec<IncidentRecord>,
    /// How many incidents match in all.
    pub total: u64,
}
