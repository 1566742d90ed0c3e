//! The decisions both stores make alike, apart from their SQL: which of a
//! person's controls an incident allows, what a retry or a claim does with
//! the incident's live job, the lease check, what a finished or failed
//! job does to its incident, and the words recorded for each. A backend
//! reads what a rule needs, asks the rule, and writes what it says.

use bugstack_fix::{PullRequest, PullRequestState, Triggers};

use std::time::Duration;

use bugstack_core::Timestamp;

use super::convert::{ms, ts, u64_of};
use super::grouping::Group;
use super::rows::{LiveJob, StoredRow};
use super::types::parse_pull_request_state;
use super::{
    pull_request_state_name, Cause, FixJob, FixOutcome, JobState, ReleaseVerdictRecord, RunPullRequest, Status,
    FORGE_ACTOR,
};
use crate::{Error, Result};

/// `release` as a fix commit when it is a full commit id (what the pipeline
/// reports for a merge: the merge or squash commit); `None` for a release
/// name, which is resolved to its commit later.
pub(crate) fn commit_of(release: &str) -> Option<&str> {
    let hex = release.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && matches!(release.len(), 40 | 64)).then_some(release)
}

/// Refuses a change of incident `id` from `from` to `to` that the lifecycle
/// does not allow ([`Status::can_become`]).
pub(crate) fn check_transition(id: i64, from: Status, to: Status) -> Result<()> {
    if from.can_become(to) {
        Ok(())
    } else {
        Err(Error::IllegalTransition { id, from, to })
    }
}

/// Why incident `id`, which counts the events over a token's new-incident
/// quota, is never fixed.
pub(crate) fn overflow_refusal(id: i64) -> String {
    format!("incident {id} counts the events over a token's new-incident quota; it is not a bug to fix")
}

/// What a retry does with the incident's job.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RetryPlan {
    /// Make queued job `.0` runnable now.
    Hasten(i64),
    /// Queue a new job.
    Enqueue,
}

/// Refuses a person's retry of incident `id` in `status` unless it is open,
/// regressed, or `fixing` (with a queued job: a failed attempt waiting for
/// its retry time).
pub(crate) fn check_retry(id: i64, status: Status) -> Result<()> {
    if matches!(status, Status::Open | Status::Regressed | Status::Fixing) {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "incident {id} is {status}; only an open or regressed incident can be retried"
        )))
    }
}

/// What a retry of incident `id` in `status` ([`check_retry`]) does, given
/// its live (queued or running) job as (id, state); an error when refused.
pub(crate) fn retry_plan(id: i64, status: Status, live: Option<(i64, &str)>) -> Result<RetryPlan> {
    match live {
        Some((_, "running")) => Err(Error::Refused(format!(
            "incident {id} has a fix job running right now; wait for it to finish"
        ))),
        Some((job, _)) => Ok(RetryPlan::Hasten(job)),
        None if status != Status::Fixing => Ok(RetryPlan::Enqueue),
        None => Err(Error::Refused(format!(
            "incident {id} is being fixed right now; wait for its job to finish"
        ))),
    }
}

/// Refuses a fix made by hand of incident `id` in `status` in `release`
/// unless the incident is open or regressed and the release is named.
pub(crate) fn check_resolve(id: i64, status: Status, release: &str) -> Result<()> {
    if !matches!(status, Status::Open | Status::Regressed) {
        return Err(Error::IllegalTransition {
            id,
            from: status,
            to: Status::Fixed,
        });
    }
    if release.trim().is_empty() {
        return Err(Error::Config(
            "the release of a fix made by hand is empty; name the release (a commit, tag or release name) that contains it"
                .into(),
        ));
    }
    Ok(())
}

/// Refuses a release with the fix for incident `id` in `status` unless it
/// is fixed (or regressed).
pub(crate) fn check_release_with_fix(id: i64, status: Status) -> Result<()> {
    if status.is_fixed() || status == Status::Regressed {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "incident {id} is {status}; only a fixed incident has releases with the fix"
        )))
    }
}

/// Why a claimed job's incident becomes `fixing`.
pub(crate) fn claim_cause(owner: &str, job: i64) -> Cause {
    Cause::new(owner, format!("fix job {job} claimed"))
}

/// The error recorded on a job whose workers kept dying (or losing the
/// lease), and why its incident goes back to `open`.
pub(crate) fn give_up(job: &FixJob) -> (String, Cause) {
    let error = format!(
        "gave up after {} attempts: the worker stopped before finishing (crash or lost lease)",
        job.max_attempts
    );
    let cause = Cause::bugstack(format!(
        "fix job {} gave up after {} attempts (the worker stopped before finishing)",
        job.id, job.max_attempts
    ));
    (error, cause)
}

/// Which job a person's claim of incident `incident` in `status` takes, at
/// `now` as stored: the live job (`Some`), or a new one to queue (`None`);
/// an error when the incident cannot be fixed now.
pub(crate) fn claim_plan(incident: i64, status: Status, live: Option<LiveJob>, now: i64) -> Result<Option<i64>> {
    match live {
        Some(LiveJob {
            state,
            lease_owner: Some(holder),
            lease_expires_at: Some(until),
            ..
        }) if state == "running" && until > now => Err(Error::Config(format!(
            "incident {incident} is being fixed right now by {holder}; try again when it finishes"
        ))),
        Some(live) => Ok(Some(live.id)),
        None if matches!(status, Status::Open | Status::Regressed) => Ok(None),
        None => Err(Error::Config(format!(
            "incident {incident} is {status}; only an open or regressed incident can be fixed"
        ))),
    }
}

/// Checks that `owner` holds the lease of job `job`, found in `state` with
/// its lease held by `lease_owner` — or [`Error::LeaseLost`].
pub(crate) fn check_lease(job: i64, owner: &str, state: &str, lease_owner: Option<&str>) -> Result<()> {
    let state: JobState = state.parse()?;
    if state != JobState::Running || lease_owner != Some(owner) {
        return Err(Error::LeaseLost {
            job,
            owner: owner.to_string(),
            state,
        });
    }
    Ok(())
}

/// A change of an incident's status, with why.
pub(crate) enum Change<'a> {
    /// To this status.
    Status(Status, Cause),
    /// To `fixed` in `release` ([`commit_of`] it, when a commit).
    Fixed {
        /// The release with the fix.
        release: &'a str,
        /// Why.
        cause: Cause,
    },
    /// Back to `open`: its pull request `number` closed unmerged, so that
    /// patch is rejected for the incident.
    Rejected {
        /// The pull request.
        number: i64,
        /// Why.
        cause: Cause,
    },
}

/// The pull request a job finished with `outcome` records, and its state.
pub(crate) fn outcome_pull_request(outcome: &FixOutcome) -> Option<(&RunPullRequest, PullRequestState)> {
    match outcome {
        FixOutcome::NoFix { .. } => None,
        FixOutcome::Proposed { pr, .. } => Some((pr, PullRequestState::Open)),
        FixOutcome::Merged { pr, .. } => Some((pr, PullRequestState::Merged)),
    }
}

/// What a job finished by `owner` with `outcome` does to its incident, in
/// order, its pull request (if any) recorded as number `pr`.
pub(crate) fn outcome_changes<'a>(owner: &str, outcome: &'a FixOutcome, pr: Option<i64>) -> Vec<Change<'a>> {
    let n = pr.unwrap_or_default();
    match outcome {
        FixOutcome::NoFix { reason, .. } => vec![Change::Status(
            Status::Open,
            Cause::new(owner, format!("no fix: {reason}")),
        )],
        FixOutcome::Proposed { .. } => vec![Change::Status(
            Status::FixProposed,
            Cause::new(owner, format!("pull request #{n} opened for review")),
        )],
        FixOutcome::Merged { release, .. } => vec![
            Change::Status(
                Status::FixProposed,
                Cause::new(owner, format!("pull request #{n} opened")),
            ),
            Change::Fixed {
                release,
                cause: Cause::new(owner, format!("pull request #{n} merged at {release}")),
            },
        ],
    }
}

/// What a failed attempt (the `attempts`th of at most `max`) makes of job
/// `job`: queued again, or failed for good, when its incident goes back to
/// `open` (the change returned).
pub(crate) fn after_failure(
    job: i64,
    owner: &str,
    attempts: i64,
    max: i64,
    error: &str,
) -> (JobState, Option<Change<'static>>) {
    if attempts < max {
        return (JobState::Queued, None);
    }
    let cause = Cause::new(
        owner,
        format!("fix job {job} failed after {attempts} attempts: {error}"),
    );
    (JobState::Failed, Some(Change::Status(Status::Open, cause)))
}

/// What a fix-proposed incident does when its pull request `number` leaves
/// `open` as `after`: fixed at the merge commit (else the head) when
/// merged, back to `open` when closed unmerged (its patch then rejected).
pub(crate) fn pull_request_change(number: i64, after: &PullRequest) -> Option<Change<'_>> {
    match after.state {
        PullRequestState::Merged => {
            let release = after.merge_commit.as_deref().unwrap_or(&after.head_sha);
            Some(Change::Fixed {
                release,
                cause: Cause::new(FORGE_ACTOR, format!("pull request #{number} merged at {release}")),
            })
        }
        PullRequestState::Closed => Some(Change::Rejected {
            number,
            cause: Cause::new(FORGE_ACTOR, format!("pull request #{number} closed unmerged")),
        }),
        PullRequestState::Open => None,
    }
}

/// Refuses to merge or close (`to`) pull request `number`, found in
/// `state` as stored, unless it is open.
pub(crate) fn check_open_pull_request(number: i64, state: &str, to: PullRequestState) -> Result<()> {
    let state = parse_pull_request_state(state)?;
    if state == PullRequestState::Open {
        return Ok(());
    }
    Err(Error::Config(format!(
        "pull request #{number} is {}, only an open pull request can be {}",
        pull_request_state_name(state),
        if to == PullRequestState::Merged {
            "merged"
        } else {
            "closed"
        }
    )))
}

/// What merging (in `release`) or closing (`None`) pull request `number` by
/// hand, with `cause`, does to its incident.
pub(crate) fn manual_pull_request_change<'a>(number: i64, release: Option<&'a str>, cause: &Cause) -> Change<'a> {
    match release {
        Some(release) => Change::Fixed {
            release,
            cause: cause.explained(format!("pull request #{number} merged in {release}")),
        },
        None => Change::Rejected {
            number,
            cause: cause.explained(format!("pull request #{number} closed unmerged")),
        },
    }
}

/// What ingest needs to know of an existing incident.
pub(crate) struct Found {
    /// The incident.
    pub(crate) id: i64,
    /// Its status.
    pub(crate) status: Status,
    /// Occurrences before this batch.
    pub(crate) count: i64,
    /// Its first event's kind, as stored.
    pub(crate) kind: String,
    /// Its first event's level, as stored.
    pub(crate) level: String,
}

impl Found {
    /// The columns `id, status, count, kind, level` of an incident row.
    pub(crate) fn from_row(r: &dyn StoredRow) -> Result<Self> {
        Ok(Found {
            id: r.int(0)?,
            status: r.text(1)?.parse()?,
            count: r.int(2)?,
            kind: r.text(3)?,
            level: r.text(4)?,
        })
    }

    /// Whether group `g` may bring this incident to the triggers'
    /// `min_count`: it is `open`, the batch crosses the count, and its kind,
    /// level and the batch's environment pass the triggers. (It does when,
    /// besides, it counts no quota overflow and never had a fix job.)
    pub(crate) fn may_reach_min_count(&self, g: &Group<'_>, triggers: &Triggers) -> bool {
        let before = u64_of(self.count);
        let after = before.saturating_add(u64_of(g.count));
        if self.status != Status::Open || triggers.count_reached(before) || !triggers.count_reached(after) {
            return false;
        }
        let (Ok(kind), Ok(level)) = (
            serde_json::from_value(serde_json::Value::String(self.kind.clone())),
            serde_json::from_value(serde_json::Value::String(self.level.clone())),
        ) else {
            return false;
        };
        triggers.wants(kind, level, g.first.environment.as_deref())
    }
}

/// Why a new incident for group `g` was opened, and whether it gets a fix
/// job now (its first event passes the `triggers` and its count reaches
/// their `min_count`).
pub(crate) fn first_seen(g: &Group<'_>, triggers: &Triggers) -> (Cause, bool) {
    let wanted = triggers.wants_fix(g.first);
    let reached = triggers.count_reached(u64_of(g.count));
    let reason = match (wanted, reached) {
        (false, _) => "first seen (below the fix triggers: recorded and counted, no fix job)",
        (true, false) => "first seen (a fix job once it reaches the triggers' min_count)",
        (true, true) => "first seen",
    };
    (Cause::bugstack(reason), wanted && reached)
}

/// Why a sender's overflow incident was opened.
pub(crate) fn overflow_cause() -> Cause {
    Cause::bugstack("counts the events of new fingerprints over a token's quota")
}

/// Why a fixed incident regressed: it was seen in `release`, which
/// contains the fix.
pub(crate) fn regression_cause(release: &str) -> Cause {
    Cause::bugstack(format!("seen again in release {release}, which contains the fix"))
}

/// The oldest check of a release classified `unknown` that is not checked
/// again yet: `recheck_unknown_after` before `now`, as stored.
pub(crate) fn recheck_before(now: Timestamp, recheck_unknown_after: Duration) -> i64 {
    ms(now).saturating_sub(i64::try_from(recheck_unknown_after.as_millis()).unwrap_or(i64::MAX))
}

/// Why a fixed incident regressed: it was seen in the release of verdict
/// `v`, which contains the fix.
pub(crate) fn verdict_regression_cause(v: &ReleaseVerdictRecord) -> Cause {
    let commit = v.commit.as_deref().unwrap_or("?");
    Cause::bugstack(format!(
        "seen again in release {} (commit {}), which contains the fix",
        v.release,
        commit.get(..12).unwrap_or(commit)
    ))
}

/// Why a fixed incident is verified: live `release` contains the fix, live
/// since `since` (as stored), and sent no occurrence for `window`.
pub(crate) fn verification_cause(release: &str, since: i64, window: Duration) -> Cause {
    Cause::bugstack(format!(
        "release {release} contains the fix, live since {}, and sent no occurrence for {}s",
        ts(since),
        window.as_secs()
    ))
}
