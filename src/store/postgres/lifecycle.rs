//! Incident status changes, as the SQLite store makes them: the lifecycle
//! enforced ([`Status::can_become`]), each change recorded in the timeline
//! with who and why, the people's controls (ignore, reopen, retry, resolve)
//! and the releases that contain a fix.
//!
//! [`set_status`] is the one way a status changes. It reads the status with
//! `FOR UPDATE`, so two processes changing one incident at once take turns
//! and each sees the other's result.

use bugstack_core::Timestamp;
use postgres::Transaction;

use super::jobs::enqueue_job;
use super::rows::{ms, timeline_of};
use crate::store::rules::{self, commit_of, Change, RetryPlan};
use crate::store::{Cause, FixJob, IncidentRecord, Status, TimelineEntry};
use crate::{Error, Result};

/// Incident `id`'s status, its row locked until the transaction ends.
pub(super) fn status_of(tx: &mut Transaction<'_>, id: i64) -> Result<Status> {
    let s: Option<String> = tx
        .query_opt("SELECT status FROM incidents WHERE id = $1 FOR UPDATE", &[&id])?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(s.ok_or(Error::IncidentNotFound(id))?.parse()?)
}

/// Appends a timeline entry for incident `id`: `from` → `to` by `cause`.
pub(super) fn record(
    tx: &mut Transaction<'_>,
    id: i64,
    from: Option<Status>,
    to: Status,
    now: Timestamp,
    cause: &Cause,
) -> Result<()> {
    tx.execute(
        "INSERT INTO incident_timeline (incident_id, at, from_status, to_status, actor, reason)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id,
            &ms(now),
            &from.map(Status::as_str),
            &to.as_str(),
            &cause.actor,
            &cause.reason,
        ],
    )?;
    Ok(())
}

/// Moves incident `id` to `to` inside `tx`, enforcing the lifecycle, and
/// records the change with `cause`.
pub(super) fn set_status(tx: &mut Transaction<'_>, id: i64, to: Status, now: Timestamp, cause: &Cause) -> Result<()> {
    let from = status_of(tx, id)?;
    rules::check_transition(id, from, to)?;
    tx.execute(
        "UPDATE incidents SET status = $2, updated_at = $3 WHERE id = $1",
        &[&id, &to.as_str(), &ms(now)],
    )?;
    record(tx, id, Some(from), to, now, cause)
}

/// Makes `change` to incident `id`.
pub(super) fn apply(tx: &mut Transaction<'_>, id: i64, change: Change<'_>, now: Timestamp) -> Result<()> {
    match change {
        Change::Status(to, cause) => set_status(tx, id, to, now, &cause),
        Change::Fixed { release, cause } => mark_fixed(tx, id, release, commit_of(release), now, &cause),
        Change::Rejected { number, cause } => {
            set_status(tx, id, Status::Open, now, &cause)?;
            super::forge_sync::reject_patch(tx, number, now)
        }
    }
}

/// Marks `incident` fixed in `release` at `commit`: `release` becomes its
/// one release with the fix, and the releases classified or declared
/// against an earlier fix are dropped.
pub(super) fn mark_fixed(
    tx: &mut Transaction<'_>,
    incident: i64,
    release: &str,
    commit: Option<&str>,
    now: Timestamp,
    cause: &Cause,
) -> Result<()> {
    set_status(tx, incident, Status::Fixed, now, cause)?;
    tx.execute(
        "UPDATE incidents SET fixed_in_release = $2, fix_commit = $3, fixed_at = $4 WHERE id = $1",
        &[&incident, &release, &commit, &ms(now)],
    )?;
    tx.execute("DELETE FROM release_verdicts WHERE incident_id = $1", &[&incident])?;
    tx.execute("DELETE FROM releases_with_fix WHERE incident_id = $1", &[&incident])?;
    add_release(tx, incident, release)
}

/// Adds `release` to incident `id`'s releases with the fix (once).
pub(super) fn add_release(tx: &mut Transaction<'_>, id: i64, release: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO releases_with_fix (incident_id, release) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[&id, &release],
    )?;
    Ok(())
}

/// Cancels incident `id`'s live (queued or running) fix job, if any, and
/// takes it off the waiting list.
fn cancel_live_job(tx: &mut Transaction<'_>, id: i64, now: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
             updated_at = $2 WHERE incident_id = $1 AND state IN ('queued', 'running')",
        &[&id, &ms(now)],
    )?;
    tx.execute("UPDATE incidents SET fix_wanted = FALSE WHERE id = $1", &[&id])?;
    Ok(())
}

/// A person's status change: ignoring cancels the incident's live job,
/// reopening queues one.
pub(super) fn transition(
    tx: &mut Transaction<'_>,
    id: i64,
    to: Status,
    now: Timestamp,
    cause: &Cause,
) -> Result<IncidentRecord> {
    set_status(tx, id, to, now, cause)?;
    match to {
        Status::Ignored => cancel_live_job(tx, id, now)?,
        Status::Open => {
            enqueue_job(tx, id, now)?;
        }
        _ => {}
    }
    super::rows::incident(tx, id)
}

/// See [`IncidentStore::retry`](crate::store::IncidentStore::retry).
pub(super) fn retry(tx: &mut Transaction<'_>, id: i64, now: Timestamp, cause: &Cause) -> Result<FixJob> {
    let status = status_of(tx, id)?;
    rules::check_retry(id, status)?;
    if super::quota::is_overflow(tx, id)? {
        return Err(Error::Refused(rules::overflow_refusal(id)));
    }
    let live: Option<(i64, String)> = tx
        .query_opt(
            "SELECT id, state FROM fix_jobs WHERE incident_id = $1 AND state IN ('queued', 'running') FOR UPDATE",
            &[&id],
        )?
        .map(|r| Ok::<_, postgres::Error>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?;
    let job = match rules::retry_plan(id, status, live.as_ref().map(|(job, state)| (*job, state.as_str())))? {
        RetryPlan::Hasten(job) => {
            tx.execute(
                "UPDATE fix_jobs SET not_before = $2, updated_at = $2 WHERE id = $1",
                &[&job, &ms(now)],
            )?;
            job
        }
        RetryPlan::Enqueue => enqueue_job(tx, id, now)?
            .ok_or_else(|| Error::Refused(format!("incident {id} got a fix job from another process; try again")))?,
    };
    tx.execute("UPDATE incidents SET fix_wanted = FALSE WHERE id = $1", &[&id])?;
    record(tx, id, Some(status), status, now, cause)?;
    super::rows::job(tx, job)
}

/// See [`IncidentStore::resolve`](crate::store::IncidentStore::resolve).
pub(super) fn resolve(
    tx: &mut Transaction<'_>,
    id: i64,
    release: &str,
    now: Timestamp,
    cause: &Cause,
) -> Result<IncidentRecord> {
    let status = status_of(tx, id)?;
    rules::check_resolve(id, status, release)?;
    cancel_live_job(tx, id, now)?;
    mark_fixed(tx, id, release, None, now, cause)?;
    super::rows::incident(tx, id)
}

/// Declares that `release` contains the fix of fixed incident `id`.
pub(super) fn add_release_with_fix(tx: &mut Transaction<'_>, id: i64, release: &str) -> Result<()> {
    let status = status_of(tx, id)?;
    rules::check_release_with_fix(id, status)?;
    add_release(tx, id, release)
}

/// Incident `id`'s timeline, oldest first.
pub(super) fn timeline(tx: &mut Transaction<'_>, id: i64) -> Result<Vec<TimelineEntry>> {
    tx.query(
        "SELECT at, from_status, to_status, actor, reason FROM incident_timeline
         WHERE incident_id = $1 ORDER BY id",
        &[&id],
    )?
    .iter()
    .map(|r| timeline_of(r))
    .collect()
}
