//! Durable fix jobs shared by many workers: enqueueing, leases (claim,
//! renew, release) and finishing, with the SQLite store's rules.
//!
//! A claim picks the runnable job of the most frequent incident with
//! `FOR UPDATE OF j SKIP LOCKED`: a job another worker is claiming right now
//! is skipped (that worker gets it), never waited for and never handed out
//! twice. A running job whose lease expired is runnable again (its worker
//! died), and the claim counts a new attempt. Finishing checks the lease
//! with the job's row locked, so a worker that lost its lease cannot finish.

use std::time::Duration;

use bugstack_core::Timestamp;
use postgres::Transaction;

use super::rows::{after, big, job_of, ms, JOB_COLUMNS};
use crate::store::flow::{self, set_status, StoreTx};
use crate::store::rules;
use crate::store::{ClaimedJob, Status};
use crate::Result;

/// Jobs waiting in the queue.
fn queued_jobs(tx: &mut Transaction<'_>) -> Result<usize> {
    let n: i64 = tx
        .query_one("SELECT COUNT(*) FROM fix_jobs WHERE state = 'queued'", &[])?
        .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Enqueues a fix job for `incident` if fewer than `cap` jobs are queued;
/// otherwise the incident waits (`fix_wanted`). Whether a job was queued
/// now. (Writers at the same instant may each see room: the cap can be
/// passed by the number of concurrent writers, never more.)
pub(super) fn enqueue_capped(tx: &mut Transaction<'_>, incident: i64, now: Timestamp, cap: usize) -> Result<bool> {
    if queued_jobs(tx)? < cap {
        return Ok(tx.enqueue_job(incident, now)?.is_some());
    }
    tx.execute("UPDATE incidents SET fix_wanted = TRUE WHERE id = $1", &[&incident])?;
    Ok(false)
}

/// Queues jobs for waiting incidents while fewer than `cap` are queued, the
/// most frequent first (waiting rows another worker is promoting are
/// skipped).
fn fill_queue(tx: &mut Transaction<'_>, now: Timestamp, cap: usize) -> Result<()> {
    let room = cap.saturating_sub(queued_jobs(tx)?);
    if room == 0 {
        return Ok(());
    }
    let waiting = tx.query(
        "SELECT id, status FROM incidents WHERE fix_wanted ORDER BY count DESC, id LIMIT $1
         FOR UPDATE SKIP LOCKED",
        &[&big(room)],
    )?;
    for r in waiting {
        stop_waiting(tx, r.try_get(0)?, &r.try_get::<_, String>(1)?, now)?;
    }
    Ok(())
}

/// Takes incident `id` (with `status`) off the waiting list, queuing its job
/// if it still wants a fix.
fn stop_waiting(tx: &mut Transaction<'_>, id: i64, status: &str, now: Timestamp) -> Result<()> {
    tx.execute("UPDATE incidents SET fix_wanted = FALSE WHERE id = $1", &[&id])?;
    if matches!(status.parse()?, Status::Open | Status::Regressed) {
        tx.enqueue_job(id, now)?;
    }
    Ok(())
}

/// When the most frequent waiting incident is more frequent than every
/// queued one, queues its job too.
fn promote_most_frequent(tx: &mut Transaction<'_>, now: Timestamp) -> Result<()> {
    let top = tx.query_opt(
        "SELECT id, status, count FROM incidents WHERE fix_wanted
         AND status IN ('open', 'regressed') ORDER BY count DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED",
        &[],
    )?;
    let Some(top) = top else {
        return Ok(());
    };
    let (id, status, count): (i64, String, i64) = (top.try_get(0)?, top.try_get(1)?, top.try_get(2)?);
    let best_queued: Option<i64> = tx
        .query_one(
            "SELECT MAX(i.count) FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
             WHERE j.state = 'queued' AND j.not_before <= $1",
            &[&ms(now)],
        )?
        .try_get(0)?;
    if best_queued.is_none_or(|best| count > best) {
        stop_waiting(tx, id, &status, now)?;
    }
    Ok(())
}

/// See [`IncidentStore::claim_job`](crate::store::IncidentStore::claim_job).
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
    let projects: Option<Vec<i64>> = projects.map(<[i64]>::to_vec);
    loop {
        let row = tx.query_opt(
            &format!(
                "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1,
                     lease_expires_at = $2, updated_at = $3
                 WHERE id = (SELECT j.id FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
                             WHERE ((j.state = 'queued' AND j.not_before <= $3)
                                    OR (j.state = 'running' AND j.lease_expires_at <= $3))
                               AND ($4::BIGINT[] IS NULL OR i.project_id = ANY($4))
                             ORDER BY i.count DESC, j.id LIMIT 1
                             FOR UPDATE OF j SKIP LOCKED)
                 RETURNING {JOB_COLUMNS}"
            ),
            &[&owner, &after(now, lease), &ms(now), &projects],
        )?;
        let Some(row) = row else {
            return Ok(None);
        };
        let job = job_of(&row)?;
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
                     WHERE id = $1",
                    &[&job.id],
                )?;
                continue;
            }
        }
        return flow::claimed(tx, job).map(Some);
    }
}
