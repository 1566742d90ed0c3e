//! The write paths both stores take alike, written once over [`StoreTx`]:
//! status changes (the lifecycle enforced, each change in the timeline),
//! the people's controls (ignore, reopen, retry, resolve, releases with the
//! fix), claiming one incident's job, the lease and finishing a job, and a
//! pull request leaving `open`. [`StoreTx`] (`tx`) holds the statements,
//! one statement (or one read) a method, for both databases; the order of
//! those statements and the decisions between them ([`rules`]) live here.

use std::time::Duration;

use bugstack_core::Timestamp;
use bugstack_fix::{NewPullRequest, PullRequest, PullRequestState};

use super::convert::ForgeExtra;
use super::rows::{HeldJob, RawPr};
use super::rules::{self, commit_of, Change, RetryPlan};
use super::tx::StoreTx;
use super::types::parse_pull_request_state;
use super::{
    Cause, ClaimedJob, FixJob, FixOutcome, FixRun, IncidentRecord, JobState, PullRequestRecord, ReleaseVerdict,
    ReleaseVerdictRecord, Status,
};
use crate::{Error, Result};

/// Moves incident `id` to `to`, enforcing the lifecycle, and records the
/// change with `cause`: the one way a status changes.
pub(crate) fn set_status<T: StoreTx + ?Sized>(
    tx: &mut T,
    id: i64,
    to: Status,
    now: Timestamp,
    cause: &Cause,
) -> Result<()> {
    let from = tx.status_of(id)?;
    rules::check_transition(id, from, to)?;
    tx.write_status(id, to, now)?;
    tx.record(id, Some(from), to, now, cause)
}

/// Marks `incident` fixed in `release` at `commit` (the merge or squash
/// commit, when known; else it is resolved from `release` later):
/// `release` becomes its one release with the fix, and the releases
/// classified or declared against an earlier fix are dropped (an old
/// deployment of the first fix is not a regression of the second).
pub(crate) fn mark_fixed<T: StoreTx + ?Sized>(
    tx: &mut T,
    incident: i64,
    release: &str,
    commit: Option<&str>,
    now: Timestamp,
    cause: &Cause,
) -> Result<()> {
    set_status(tx, incident, Status::Fixed, now, cause)?;
    tx.write_fixed(incident, release, commit, now)?;
    tx.add_release(incident, release)
}

/// Makes `change` to incident `id`.
pub(crate) fn apply<T: StoreTx + ?Sized>(tx: &mut T, id: i64, change: Change<'_>, now: Timestamp) -> Result<()> {
    match change {
        Change::Status(to, cause) => set_status(tx, id, to, now, &cause),
        Change::Fixed { release, cause } => mark_fixed(tx, id, release, commit_of(release), now, &cause),
        Change::Rejected { number, cause } => {
            set_status(tx, id, Status::Open, now, &cause)?;
            tx.reject_patch(number, now)
        }
    }
}

/// A person's status change (see
/// [`IncidentStore::transition`](crate::store::IncidentStore::transition),
/// which refuses `fixed` before it gets here): ignoring cancels the
/// incident's live job, reopening queues one.
pub(crate) fn transition<T: StoreTx + ?Sized>(
    tx: &mut T,
    id: i64,
    to: Status,
    now: Timestamp,
    cause: &Cause,
) -> Result<IncidentRecord> {
    set_status(tx, id, to, now, cause)?;
    match to {
        Status::Ignored => tx.cancel_live_job(id, now)?,
        Status::Open => {
            tx.enqueue_job(id, now)?;
        }
        _ => {}
    }
    tx.incident(id)
}

/// See [`IncidentStore::retry`](crate::store::IncidentStore::retry): a
/// queued job (also one waiting for its retry time after a failed
/// attempt, its incident still `fixing`) becomes runnable now, or a new one
/// is queued (past the cap and the triggers: a person asked).
pub(crate) fn retry<T: StoreTx + ?Sized>(tx: &mut T, id: i64, now: Timestamp, cause: &Cause) -> Result<FixJob> {
    let status = tx.status_of(id)?;
    rules::check_retry(id, status)?;
    if tx.is_overflow(id)? {
        return Err(Error::Refused(rules::overflow_refusal(id)));
    }
    let live = tx.live_job(id)?;
    let job = match rules::retry_plan(id, status, live.as_ref().map(|j| (j.id, j.state.as_str())))? {
        RetryPlan::Hasten(job) => {
            tx.hasten_job(job, now)?;
            job
        }
        RetryPlan::Enqueue => tx
            .enqueue_job(id, now)?
            .ok_or_else(|| Error::Refused(format!("incident {id} got a fix job from another process; try again")))?,
    };
    tx.stop_wanting_fix(id)?;
    tx.record(id, Some(status), status, now, cause)?;
    tx.job(job)
}

/// See [`IncidentStore::resolve`](crate::store::IncidentStore::resolve): an
/// open or regressed incident fixed by hand in `release`.
pub(crate) fn resolve<T: StoreTx + ?Sized>(
    tx: &mut T,
    id: i64,
    release: &str,
    now: Timestamp,
    cause: &Cause,
) -> Result<IncidentRecord> {
    let status = tx.status_of(id)?;
    rules::check_resolve(id, status, release)?;
    tx.cancel_live_job(id, now)?;
    mark_fixed(tx, id, release, None, now, cause)?;
    tx.incident(id)
}

/// Declares that `release` contains the fix of fixed incident `id`.
pub(crate) fn add_release_with_fix<T: StoreTx + ?Sized>(tx: &mut T, id: i64, release: &str) -> Result<()> {
    let status = tx.status_of(id)?;
    rules::check_release_with_fix(id, status)?;
    tx.add_release(id, release)
}

/// Enqueues a fix job for `incident` if fewer than `cap` jobs are queued;
/// otherwise the incident waits (`fix_wanted`) for [`fill_queue`]. Whether a
/// job was queued now. (Postgres writers at the same instant may each see
/// room: the cap can be passed by the number of concurrent writers, never
/// more.)
pub(crate) fn enqueue_capped<T: StoreTx + ?Sized>(
    tx: &mut T,
    incident: i64,
    now: Timestamp,
    cap: usize,
) -> Result<bool> {
    if tx.queued_jobs()? < cap {
        return Ok(tx.enqueue_job(incident, now)?.is_some());
    }
    tx.want_fix(incident)?;
    Ok(false)
}

/// Queues jobs for waiting incidents (`fix_wanted`) while fewer than `cap`
/// are queued, the most frequent first; a waiting incident that no longer
/// wants a fix (ignored, or fixed by hand) just stops waiting.
fn fill_queue<T: StoreTx + ?Sized>(tx: &mut T, now: Timestamp, cap: usize) -> Result<()> {
    let room = cap.saturating_sub(tx.queued_jobs()?);
    if room == 0 {
        return Ok(());
    }
    for (id, status) in tx.waiting(room)? {
        stop_waiting(tx, id, &status, now)?;
    }
    Ok(())
}

/// Takes incident `id` (with `status`) off the waiting list, queuing its job
/// if it still wants a fix.
fn stop_waiting<T: StoreTx + ?Sized>(tx: &mut T, id: i64, status: &str, now: Timestamp) -> Result<()> {
    tx.stop_wanting_fix(id)?;
    if matches!(status.parse()?, Status::Open | Status::Regressed) {
        tx.enqueue_job(id, now)?;
    }
    Ok(())
}

/// When the most frequent waiting incident is more frequent than every
/// queued one, queues its job too (the claim that follows takes it at once,
/// so the queue is back at its cap when the transaction commits).
fn promote_most_frequent<T: StoreTx + ?Sized>(tx: &mut T, now: Timestamp) -> Result<()> {
    let Some((id, status, count)) = tx.top_waiting()? else {
        return Ok(());
    };
    if tx.best_queued_count(now)?.is_none_or(|best| count > best) {
        stop_waiting(tx, id, &status, now)?;
    }
    Ok(())
}

/// See [`IncidentStore::claim_job`](crate::store::IncidentStore::claim_job):
/// the queue is first topped up to `cap` from the waiting incidents, then
/// the runnable job of the most frequent incident is claimed. A job whose
/// workers kept dying is given up; one whose incident no longer wants a fix
/// is cancelled.
pub(crate) fn claim_next<T: StoreTx + ?Sized>(
    tx: &mut T,
    projects: Option<&[i64]>,
    owner: &str,
    lease: Duration,
    now: Timestamp,
    cap: usize,
) -> Result<Option<ClaimedJob>> {
    fill_queue(tx, now, cap)?;
    promote_most_frequent(tx, now)?;
    while let Some(job) = tx.take_runnable_job(projects, owner, lease, now)? {
        if job.attempts > job.max_attempts {
            give_up(tx, &job, now)?;
            continue;
        }
        match tx.status_of(job.incident_id)? {
            Status::Open | Status::Regressed => set_status(
                tx,
                job.incident_id,
                Status::Fixing,
                now,
                &rules::claim_cause(owner, job.id),
            )?,
            // Retry after a failed attempt or a crashed worker.
            Status::Fixing => {}
            // The incident no longer wants a fix.
            _ => {
                tx.cancel_job(job.id)?;
                continue;
            }
        }
        return claimed(tx, job).map(Some);
    }
    Ok(None)
}

/// A claimed job with its incident and representative event.
pub(crate) fn claimed<T: StoreTx + ?Sized>(tx: &mut T, job: FixJob) -> Result<ClaimedJob> {
    let incident = tx.incident(job.incident_id)?;
    let event = tx.representative(job.incident_id)?;
    let stack_dependencies = tx.stack_dependencies(incident.project, &incident.releases, &event)?;
    Ok(ClaimedJob {
        job,
        incident,
        event,
        stack_dependencies,
    })
}

/// Fails a job whose workers kept dying (or losing the lease) rather than
/// crash-loop; its incident goes back to `open`.
pub(crate) fn give_up<T: StoreTx + ?Sized>(tx: &mut T, job: &FixJob, now: Timestamp) -> Result<()> {
    let (error, cause) = rules::give_up(job);
    tx.give_up_job(job.id, &error)?;
    if tx.status_of(job.incident_id)? == Status::Fixing {
        set_status(tx, job.incident_id, Status::Open, now, &cause)?;
    }
    Ok(())
}

/// See [`IncidentStore::claim_incident_job`](crate::store::IncidentStore::claim_incident_job).
pub(crate) fn claim_incident<T: StoreTx + ?Sized>(
    tx: &mut T,
    incident: i64,
    owner: &str,
    lease: Duration,
    now: Timestamp,
) -> Result<ClaimedJob> {
    let status = tx.status_of(incident)?;
    if tx.is_overflow(incident)? {
        return Err(Error::Config(rules::overflow_refusal(incident)));
    }
    let live = tx.live_job(incident)?;
    let job = match rules::claim_plan(incident, status, live, super::convert::ms(now))? {
        Some(id) => id,
        None => tx.enqueue_job(incident, now)?.ok_or_else(|| {
            Error::Config(format!(
                "incident {incident} got a fix job from another process; try again"
            ))
        })?,
    };
    let job = tx.take_job(job, owner, lease, now)?;
    if matches!(status, Status::Open | Status::Regressed) {
        set_status(tx, incident, Status::Fixing, now, &rules::claim_cause(owner, job.id))?;
    }
    claimed(tx, job)
}

/// Checks that `owner` holds the lease of running job `job`, returning its
/// row — or [`Error::LeaseLost`].
fn held_job<T: StoreTx + ?Sized>(tx: &mut T, job: i64, owner: &str) -> Result<HeldJob> {
    let held = tx.held_job(job)?.ok_or(Error::JobNotFound(job))?;
    rules::check_lease(job, owner, &held.state, held.lease_owner.as_deref())?;
    Ok(held)
}

/// See [`IncidentStore::renew_lease`](crate::store::IncidentStore::renew_lease).
pub(crate) fn renew<T: StoreTx + ?Sized>(
    tx: &mut T,
    job: i64,
    owner: &str,
    lease: Duration,
    now: Timestamp,
) -> Result<()> {
    held_job(tx, job, owner)?;
    tx.write_lease(job, lease, now)
}

/// See [`IncidentStore::complete_job`](crate::store::IncidentStore::complete_job).
pub(crate) fn complete<T: StoreTx + ?Sized>(
    tx: &mut T,
    job: i64,
    owner: &str,
    outcome: &FixOutcome,
    now: Timestamp,
) -> Result<FixRun> {
    let held = held_job(tx, job, owner)?;
    tx.finish_job(job, now)?;
    let pr_number = match rules::outcome_pull_request(outcome) {
        Some((pr, state)) => Some(tx.record_run_pull_request(held.incident, pr, state, now)?),
        None => None,
    };
    for change in rules::outcome_changes(owner, outcome, pr_number) {
        apply(tx, held.incident, change, now)?;
    }
    let run = held.run(job, owner, outcome.name(), outcome.report(), pr_number);
    tx.insert_run(&run, now)
}

/// See [`IncidentStore::fail_job`](crate::store::IncidentStore::fail_job).
pub(crate) fn fail<T: StoreTx + ?Sized>(
    tx: &mut T,
    job: i64,
    owner: &str,
    error: &str,
    retry_after: Duration,
    now: Timestamp,
) -> Result<JobState> {
    let held = held_job(tx, job, owner)?;
    let (state, change) = rules::after_failure(job, owner, held.attempts, held.max_attempts, error);
    tx.fail_job(job, state, error, retry_after, now)?;
    if let Some(change) = change {
        apply(tx, held.incident, change, now)?;
    }
    let report = serde_json::json!({ "error": error });
    tx.insert_run(&held.run(job, owner, "error", &report, None), now)?;
    Ok(state)
}

/// See [`IncidentStore::release_job`](crate::store::IncidentStore::release_job).
pub(crate) fn release<T: StoreTx + ?Sized>(tx: &mut T, job: i64, owner: &str, now: Timestamp) -> Result<()> {
    held_job(tx, job, owner)?;
    tx.requeue_job(job, now)
}

/// Moves open pull request `number` to `to` (merged in `release`, or
/// closed) and its incident with it: fixed in `release`, or back to `open`,
/// the change recorded as `cause`'s.
pub(crate) fn set_pull_request_state<T: StoreTx + ?Sized>(
    tx: &mut T,
    number: i64,
    to: PullRequestState,
    release: Option<&str>,
    cause: &Cause,
    now: Timestamp,
) -> Result<PullRequestRecord> {
    let (incident, state) = tx
        .pull_request_state(number)?
        .ok_or(Error::PullRequestNotFound(number))?;
    rules::check_open_pull_request(number, &state, to)?;
    tx.write_pull_request_state(number, to, now)?;
    if let Some(incident) = incident {
        apply(
            tx,
            incident,
            rules::manual_pull_request_change(number, release, cause),
            now,
        )?;
    }
    tx.pull_request(number)?
        .ok_or(Error::PullRequestNotFound(number))?
        .into_record()
}

/// The local forge's new pull request (see
/// [`PullRequestStore::create`](bugstack_fix::PullRequestStore::create)):
/// open, its address from `url_for` its number.
pub(crate) fn create_pull_request<T: StoreTx + ?Sized>(
    tx: &mut T,
    new: &NewPullRequest,
    url_for: &dyn Fn(u64) -> String,
) -> Result<PullRequest> {
    let extra = ForgeExtra {
        decision: new.decision.clone(),
        ..ForgeExtra::default()
    };
    let number = tx.insert_pull_request(new, &extra, Timestamp::now())?;
    tx.write_pull_request_url(number, &url_for(u64::try_from(number).unwrap_or(0)))?;
    tx.pull_request(number)?
        .ok_or(Error::PullRequestNotFound(number))?
        .into_forge()
}

/// The local forge's update of pull request `number` (see
/// [`PullRequestStore::update`](bugstack_fix::PullRequestStore::update)):
/// `change` applied and written, and a linked incident moved on when the
/// pull request leaves `open`.
pub(crate) fn update_pull_request<T: StoreTx + ?Sized>(
    tx: &mut T,
    number: u64,
    change: &mut dyn FnMut(&mut PullRequest),
) -> Result<PullRequest> {
    let wanted = i64::try_from(number).unwrap_or(i64::MAX);
    let raw = tx
        .pull_request_for_update(wanted)?
        .ok_or(Error::PullRequestNotFound(wanted))?;
    let before = parse_pull_request_state(&raw.state)?;
    let mut pr = raw.clone().into_forge()?;
    change(&mut pr);
    pr.number = number;
    let now = Timestamp::now();
    pr.updated_at = now;
    tx.write_pull_request(raw.number, &pr, &ForgeExtra::of(&pr), now)?;
    follow_pull_request(tx, &raw, before, &pr, now)?;
    Ok(pr)
}

/// Moves a linked incident on when its pull request (`raw`, `before` the
/// update) leaves `open` as `after`.
pub(crate) fn follow_pull_request<T: StoreTx + ?Sized>(
    tx: &mut T,
    raw: &RawPr,
    before: PullRequestState,
    after: &PullRequest,
    now: Timestamp,
) -> Result<()> {
    let Some(incident) = raw.incident_id else {
        return Ok(());
    };
    if before != PullRequestState::Open || tx.status_of(incident)? != Status::FixProposed {
        return Ok(());
    }
    match rules::pull_request_change(raw.number, after) {
        Some(change) => apply(tx, incident, change, now),
        None => Ok(()),
    }
}

/// See [`IncidentStore::record_fix_commit`](crate::store::IncidentStore::record_fix_commit):
/// nothing when the incident regressed (or was reopened) since the check
/// started.
pub(crate) fn record_fix_commit<T: StoreTx + ?Sized>(tx: &mut T, id: i64, commit: &str) -> Result<()> {
    if !tx.status_of(id)?.is_fixed() {
        return Ok(());
    }
    tx.write_fix_commit(id, commit)
}

/// See [`IncidentStore::record_release_verdict`](crate::store::IncidentStore::record_release_verdict):
/// a release containing the fix joins the incident's releases with the fix
/// (so later occurrences from it regress at ingest, by name), and makes a
/// fixed or verified incident seen in it `regressed` with a fix job (at
/// most `max_queued_jobs` queued). Nothing when the incident was fixed
/// again (or regressed) since the check started.
pub(crate) fn record_release_verdict<T: StoreTx + ?Sized>(
    tx: &mut T,
    incident: i64,
    v: &ReleaseVerdictRecord,
    max_queued_jobs: usize,
) -> Result<bool> {
    if !tx.status_of(incident)?.is_fixed() {
        return Ok(false);
    }
    tx.write_verdict(incident, v)?;
    if v.verdict != ReleaseVerdict::ContainsFix {
        return Ok(false);
    }
    tx.add_release(incident, &v.release)?;
    if !tx.seen_in(incident, &v.release)? {
        return Ok(false);
    }
    let cause = rules::verdict_regression_cause(v);
    set_status(tx, incident, Status::Regressed, v.checked_at, &cause)?;
    enqueue_capped(tx, incident, v.checked_at, max_queued_jobs)?;
    Ok(true)
}

/// See [`IncidentStore::verify_fixed`](crate::store::IncidentStore::verify_fixed)
/// (an incident changed by another process since the look-up is skipped).
pub(crate) fn verify_fixed<T: StoreTx + ?Sized>(tx: &mut T, window: Duration, now: Timestamp) -> Result<Vec<i64>> {
    let mut verified = Vec::new();
    for (id, release, since) in tx.due_for_verification(window, now)? {
        if verified.contains(&id) || tx.status_of(id)? != Status::Fixed {
            continue;
        }
        let cause = rules::verification_cause(&release, since, window);
        set_status(tx, id, Status::Verified, now, &cause)?;
        verified.push(id);
    }
    Ok(verified)
}
