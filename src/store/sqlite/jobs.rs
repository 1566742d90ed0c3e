//! Durable fix jobs: enqueueing, leases (claim, renew, release) and
//! finishing (an outcome or a failed attempt, each recorded as a run).

use std::time::Duration;

use bugstack_core::Timestamp;
use rusqlite::{params, OptionalExtension, Transaction};

use super::rows::{after, first_row, job_of, ms, JOB_COLUMNS};
use crate::store::flow::{self, set_status, StoreTx};
use crate::store::rules;
use crate::store::{ClaimedJob, Status};
use crate::Result;

/// Jobs waiting in the queue.
fn queued_jobs(tx: &mut Transaction<'_>) -> Result<usize> {
    let n: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM fix_jobs WHERE state = 'queued'")?
        .query_row([], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Enqueues a fix job for `incident` if fewer than `cap` jobs are queued;
/// otherwise the incident waits (`fix_wanted`) for [`fill_queue`]. Whether a
/// job was queued now.
pub(super) fn enqueue_capped(tx: &mut Transaction<'_>, incident: i64, now: Timestamp, cap: usize) -> Result<bool> {
    if queued_jobs(tx)? < cap {
        return Ok(tx.enqueue_job(incident, now)?.is_some());
    }
    tx.prepare_cached("UPDATE incidents SET fix_wanted = 1 WHERE id = ?1")?
        .execute([incident])?;
    Ok(false)
}

/// Queues jobs for waiting incidents (`fix_wanted`) while fewer than `cap`
/// are queued, the most frequent first; a waiting incident that no longer
/// wants a fix (ignored, or fixed by hand) just stops waiting.
fn fill_queue(tx: &mut Transaction<'_>, now: Timestamp, cap: usize) -> Result<()> {
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
fn stop_waiting(tx: &mut Transaction<'_>, id: i64, status: &str, now: Timestamp) -> Result<()> {
    tx.prepare_cached("UPDATE incidents SET fix_wanted = 0 WHERE id = ?1")?
        .execute([id])?;
    if matches!(status.parse()?, Status::Open | Status::Regressed) {
        tx.enqueue_job(id, now)?;
    }
    Ok(())
}

/// When the most frequent waiting incident is more frequent than every
/// queued one, queues its job too (the claim that follows takes it at once,
/// so the queue is back at its cap when the transaction commits).
fn promote_most_frequent(tx: &mut Transaction<'_>, now: Timestamp) -> Result<()> {
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
    tx: &mut Transaction<'_>,
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
            flow::give_up(tx, &job, now)?;
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
                tx.execute(
                    "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
                     WHERE id = ?1",
                    [job.id],
                )?;
                continue;
            }
        }
        return flow::claimed(tx, job).map(Some);
    }
}
