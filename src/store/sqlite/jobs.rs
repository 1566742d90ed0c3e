//! Durable fix jobs: enqueueing, leases (claim, renew, release) and
//! finishing (an outcome or a failed attempt, each recorded as a run).

use std::time::Duration;

use bugstack_core::Timestamp;
use rusqlite::{params, OptionalExtension, Transaction};

use super::lifecycle::{apply, set_status, status_of};
use super::pulls::record_run_pull_request;
use super::rows::{after, first_row, job_of, ms, run_of, NewRun, JOB_COLUMNS, RUN_COLUMNS};
use crate::store::rules::{self, LiveJob};
use crate::store::{ClaimedJob, FixJob, FixOutcome, FixRun, JobState, Status, DEFAULT_MAX_ATTEMPTS};
use crate::{Error, Result};

/// Enqueues a fix job for `incident` unless one is already queued or running.
pub(super) fn enqueue_job(tx: &Transaction<'_>, incident: i64, now: Timestamp) -> Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO fix_jobs (incident_id, state, attempts, max_attempts, not_before, created_at, updated_at)
         VALUES (?1, 'queued', 0, ?2, ?3, ?3, ?3)",
        params![incident, DEFAULT_MAX_ATTEMPTS, ms(now)],
    )?;
    Ok(n > 0)
}

/// Jobs waiting in the queue.
fn queued_jobs(tx: &Transaction<'_>) -> Result<usize> {
    let n: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM fix_jobs WHERE state = 'queued'")?
        .query_row([], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Enqueues a fix job for `incident` if fewer than `cap` jobs are queued;
/// otherwise the incident waits (`fix_wanted`) for [`fill_queue`]. Whether a
/// job was queued now.
pub(super) fn enqueue_capped(tx: &Transaction<'_>, incident: i64, now: Timestamp, cap: usize) -> Result<bool> {
    if queued_jobs(tx)? < cap {
        return enqueue_job(tx, incident, now);
    }
    tx.prepare_cached("UPDATE incidents SET fix_wanted = 1 WHERE id = ?1")?
        .execute([incident])?;
    Ok(false)
}

/// Queues jobs for waiting incidents (`fix_wanted`) while fewer than `cap`
/// are queued, the most frequent first; a waiting incident that no longer
/// wants a fix (ignored, or fixed by hand) just stops waiting.
fn fill_queue(tx: &Transaction<'_>, now: Timestamp, cap: usize) -> Result<()> {
    let room = cap.saturating_sub(queued_jobs(tx)?);
    if room == 0 {
        return Ok(());
    }
    let waiting: Vec<(i64, String)> = tx
        .prepare_cached("SELECT id, status FROM incidents WHERE fix_wanted = 1 ORDER BY count DESC, id LIMIT ?1")?
        .query_map([i64::try_from(room).unwrap_or(i64::MAX)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, status) in waiting {
        stop_waiting(tx, id, &status, now)?;
    }
    Ok(())
}

/// Takes incident `id` (with `status`) off the waiting list, queuing its job
/// if it still wants a fix.
fn stop_waiting(tx: &Transaction<'_>, id: i64, status: &str, now: Timestamp) -> Result<()> {
    tx.prepare_cached("UPDATE incidents SET fix_wanted = 0 WHERE id = ?1")?
        .execute([id])?;
    if matches!(status.parse()?, Status::Open | Status::Regressed) {
        enqueue_job(tx, id, now)?;
    }
    Ok(())
}

/// When the most frequent waiting incident is more frequent than every
/// queued one, queues its job too (the claim that follows takes it at once,
/// so the queue is back at its cap when the transaction commits).
fn promote_most_frequent(tx: &Transaction<'_>, now: Timestamp) -> Result<()> {
    let top: Option<(i64, String, i64)> = tx
        .prepare_cached(
            "SELECT id, status, count FROM incidents WHERE fix_wanted = 1
             AND status IN ('open', 'regressed') ORDER BY count DESC, id LIMIT 1",
        )?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((id, status, count)) = top else {
        return Ok(());
    };
    let best_queued: Option<i64> = tx
        .prepare_cached(
            "SELECT MAX(i.count) FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
             WHERE j.state = 'queued' AND j.not_before <= ?1",
        )?
        .query_row([ms(now)], |r| r.get(0))?;
    if best_queued.is_none_or(|best| count > best) {
        stop_waiting(tx, id, &status, now)?;
    }
    Ok(())
}

/// See [`IncidentStore::claim_job`](crate::store::IncidentStore::claim_job):
/// the queue is first topped up to `cap` from the waiting incidents, then
/// the runnable job of the most frequent incident is claimed.
pub(super) fn claim_next(
    tx: &Transaction<'_>,
    projects: Option<&[i64]>,
    owner: &str,
    lease: Duration,
    now: Timestamp,
    cap: usize,
) -> Result<Option<ClaimedJob>> {
    fill_queue(tx, now, cap)?;
    promote_most_frequent(tx, now)?;
    // The projects as a JSON array (`json_each`), NULL for all of them.
    let projects = projects.map(serde_json::to_string).transpose()?;
    loop {
        let job = first_row(
            tx,
            &format!(
                "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,
                     lease_expires_at = ?2, updated_at = ?3
                 WHERE id = (SELECT j.id FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
                             WHERE ((j.state = 'queued' AND j.not_before <= ?3)
                                    OR (j.state = 'running' AND j.lease_expires_at <= ?3))
                               AND (?4 IS NULL OR i.project_id IN (SELECT value FROM json_each(?4)))
                             ORDER BY i.count DESC, j.id LIMIT 1)
                 RETURNING {JOB_COLUMNS}"
            ),
            params![owner, after(now, lease), ms(now), projects],
            |r| job_of(r),
        )?;
        let Some(job) = job else {
            return Ok(None);
        };
        if job.attempts > job.max_attempts {
            give_up(tx, &job, now)?;
            continue;
        }
        match status_of(tx, job.incident_id)? {
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
                tx.execute(
                    "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
                     WHERE id = ?1",
                    [job.id],
                )?;
                continue;
            }
        }
        return claimed(tx, job).map(Some);
    }
}

/// Fails a job whose workers kept dying (or losing the lease) rather than
/// crash-loop; its incident goes back to `open`.
fn give_up(tx: &Transaction<'_>, job: &FixJob, now: Timestamp) -> Result<()> {
    let (error, cause) = rules::give_up(job);
    tx.execute(
        "UPDATE fix_jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
             last_error = ?2 WHERE id = ?1",
        params![job.id, error],
    )?;
    if status_of(tx, job.incident_id)? == Status::Fixing {
        set_status(tx, job.incident_id, Status::Open, now, &cause)?;
    }
    Ok(())
}

/// A claimed job with its incident and representative event.
fn claimed(tx: &Transaction<'_>, job: FixJob) -> Result<ClaimedJob> {
    let incident = super::rows::incident(tx, job.incident_id)?;
    let event = super::rows::representative(tx, job.incident_id)?;
    let stack_dependencies = super::releases::stack_dependencies(tx, incident.project, &incident.releases, &event)?;
    Ok(ClaimedJob {
        job,
        incident,
        event,
        stack_dependencies,
    })
}

/// See [`IncidentStore::claim_incident_job`](crate::store::IncidentStore::claim_incident_job).
pub(super) fn claim_incident(
    tx: &Transaction<'_>,
    incident: i64,
    owner: &str,
    lease: Duration,
    now: Timestamp,
) -> Result<ClaimedJob> {
    let status = status_of(tx, incident)?;
    if super::quota::is_overflow(tx, incident)? {
        return Err(Error::Config(rules::overflow_refusal(incident)));
    }
    let live = tx
        .query_row(
            "SELECT id, state, lease_owner, lease_expires_at FROM fix_jobs
             WHERE incident_id = ?1 AND state IN ('queued', 'running')",
            [incident],
            |r| {
                Ok(LiveJob {
                    id: r.get(0)?,
                    state: r.get(1)?,
                    lease_owner: r.get(2)?,
                    lease_expires_at: r.get(3)?,
                })
            },
        )
        .optional()?;
    let job_id = match rules::claim_plan(incident, status, live, ms(now))? {
        Some(id) => id,
        None => {
            enqueue_job(tx, incident, now)?;
            tx.last_insert_rowid()
        }
    };
    let job = tx.query_row(
        &format!(
            "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2,
                 lease_expires_at = ?3, updated_at = ?4, max_attempts = max(max_attempts, attempts + 1)
             WHERE id = ?1 RETURNING {JOB_COLUMNS}"
        ),
        params![job_id, owner, after(now, lease), ms(now)],
        |r| Ok(job_of(r)),
    )??;
    if matches!(status, Status::Open | Status::Regressed) {
        set_status(tx, incident, Status::Fixing, now, &rules::claim_cause(owner, job.id))?;
    }
    claimed(tx, job)
}

/// Checks that `owner` holds the lease of running job `job`, returning
/// (incident id, attempts, max attempts) — or [`Error::LeaseLost`].
fn held_job(tx: &Transaction<'_>, job: i64, owner: &str) -> Result<(i64, i64, i64)> {
    let row: Option<(i64, i64, i64, String, Option<String>)> = tx
        .query_row(
            "SELECT incident_id, attempts, max_attempts, state, lease_owner FROM fix_jobs WHERE id = ?1",
            [job],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (incident, attempts, max, state, lease_owner) = row.ok_or(Error::JobNotFound(job))?;
    rules::check_lease(job, owner, &state, lease_owner.as_deref())?;
    Ok((incident, attempts, max))
}

/// See [`IncidentStore::renew_lease`](crate::store::IncidentStore::renew_lease).
pub(super) fn renew(tx: &Transaction<'_>, job: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<()> {
    held_job(tx, job, owner)?;
    tx.execute(
        "UPDATE fix_jobs SET lease_expires_at = ?2, updated_at = ?3 WHERE id = ?1",
        params![job, after(now, lease), ms(now)],
    )?;
    Ok(())
}

/// See [`IncidentStore::complete_job`](crate::store::IncidentStore::complete_job).
pub(super) fn complete(
    tx: &Transaction<'_>,
    job: i64,
    owner: &str,
    outcome: &FixOutcome,
    now: Timestamp,
) -> Result<FixRun> {
    let (incident, attempts, _) = held_job(tx, job, owner)?;
    tx.execute(
        "UPDATE fix_jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
             updated_at = ?2 WHERE id = ?1",
        params![job, ms(now)],
    )?;
    let pr_number = match rules::outcome_pull_request(outcome) {
        Some((pr, state)) => Some(record_run_pull_request(tx, incident, pr, state, now)?),
        None => None,
    };
    for change in rules::outcome_changes(owner, outcome, pr_number) {
        apply(tx, incident, change, now)?;
    }
    let run = NewRun {
        job,
        incident,
        attempt: attempts,
        worker: owner,
        outcome: outcome.name(),
        report: outcome.report(),
        pr_number,
    };
    insert_run(tx, &run, now)
}

/// See [`IncidentStore::fail_job`](crate::store::IncidentStore::fail_job).
pub(super) fn fail(
    tx: &Transaction<'_>,
    job: i64,
    owner: &str,
    error: &str,
    retry_after: Duration,
    now: Timestamp,
) -> Result<JobState> {
    let (incident, attempts, max) = held_job(tx, job, owner)?;
    let (state, change) = rules::after_failure(job, owner, attempts, max, error);
    tx.execute(
        "UPDATE fix_jobs SET state = ?2, lease_owner = NULL, lease_expires_at = NULL, last_error = ?3,
             not_before = ?4, updated_at = ?5 WHERE id = ?1",
        params![job, state.as_str(), error, after(now, retry_after), ms(now)],
    )?;
    if let Some(change) = change {
        apply(tx, incident, change, now)?;
    }
    let run = NewRun {
        job,
        incident,
        attempt: attempts,
        worker: owner,
        outcome: "error",
        report: &serde_json::json!({ "error": error }),
        pr_number: None,
    };
    insert_run(tx, &run, now)?;
    Ok(state)
}

/// See [`IncidentStore::release_job`](crate::store::IncidentStore::release_job).
pub(super) fn release(tx: &Transaction<'_>, job: i64, owner: &str, now: Timestamp) -> Result<()> {
    held_job(tx, job, owner)?;
    tx.execute(
        "UPDATE fix_jobs SET state = 'queued', attempts = max(attempts - 1, 0), lease_owner = NULL,
             lease_expires_at = NULL, not_before = ?2, updated_at = ?2 WHERE id = ?1",
        params![job, ms(now)],
    )?;
    Ok(())
}

/// Records `run`, finished `now`.
fn insert_run(tx: &Transaction<'_>, run: &NewRun<'_>, now: Timestamp) -> Result<FixRun> {
    tx.query_row(
        &format!(
            "INSERT INTO fix_runs (job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING {RUN_COLUMNS}"
        ),
        params![
            run.job,
            run.incident,
            run.attempt,
            run.worker,
            run.outcome,
            serde_json::to_string(run.report)?,
            ms(now),
            run.pr_number
        ],
        |r| Ok(run_of(r)),
    )?
}
