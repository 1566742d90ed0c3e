//! Incident status changes, enforcing the lifecycle
//! ([`Status::can_become`]) and recording each one in the incident's
//! timeline with who and why; the people's controls (ignore, reopen,
//! retry, resolve); and the releases that contain a fix.
//!
//! [`set_status`] is the one way a status changes: ingest's regressions,
//! the fix jobs, the pull requests, the release checks, verification and
//! the CLI's controls all go through it.

use bugstack_core::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::jobs::enqueue_job;
use super::rows::{all_rows, job_of, ms, timeline_of, JOB_COLUMNS};
use crate::store::rules::{self, commit_of, Change, RetryPlan};
use crate::store::{Cause, FixJob, IncidentRecord, Status, TimelineEntry};
use crate::{Error, Result};

/// Incident `id`'s status.
pub(super) fn status_of(tx: &Transaction<'_>, id: i64) -> Result<Status> {
    let s: Option<String> = tx
        .query_row("SELECT status FROM incidents WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    Ok(s.ok_or(Error::IncidentNotFound(id))?.parse()?)
}

/// Appends a timeline entry for incident `id`: `from` → `to` by `cause`
/// (`from` is `None` when the incident was just created).
pub(super) fn record(
    tx: &Transaction<'_>,
    id: i64,
    from: Option<Status>,
    to: Status,
    now: Timestamp,
    cause: &Cause,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO incident_timeline (incident_id, at, from_status, to_status, actor, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        id,
        ms(now),
        from.map(Status::as_str),
        to.as_str(),
        cause.actor,
        cause.reason
    ])?;
    Ok(())
}

/// Moves incident `id` to `to` inside `tx`, enforcing the lifecycle, and
/// records the change with `cause`.
pub(super) fn set_status(tx: &Transaction<'_>, id: i64, to: Status, now: Timestamp, cause: &Cause) -> Result<()> {
    let from = status_of(tx, id)?;
    rules::check_transition(id, from, to)?;
    tx.prepare_cached("UPDATE incidents SET status = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, to.as_str(), ms(now)])?;
    record(tx, id, Some(from), to, now, cause)
}

/// Makes `change` to incident `id`.
pub(super) fn apply(tx: &Transaction<'_>, id: i64, change: Change<'_>, now: Timestamp) -> Result<()> {
    match change {
        Change::Status(to, cause) => set_status(tx, id, to, now, &cause),
        Change::Fixed { release, cause } => mark_fixed(tx, id, release, commit_of(release), now, &cause),
        Change::Rejected { number, cause } => {
            set_status(tx, id, Status::Open, now, &cause)?;
            super::forge_sync::reject_patch(tx, number, now)
        }
    }
}

/// Marks `incident` fixed in `release` at `commit` (the merge or squash
/// commit, when known; else it is resolved from `release` later):
/// `release` becomes its one release with the fix, and the releases
/// classified or declared against an earlier fix are dropped (an old
/// deployment of the first fix is not a regression of the second).
pub(super) fn mark_fixed(
    tx: &Transaction<'_>,
    incident: i64,
    release: &str,
    commit: Option<&str>,
    now: Timestamp,
    cause: &Cause,
) -> Result<()> {
    set_status(tx, incident, Status::Fixed, now, cause)?;
    tx.execute(
        "UPDATE incidents SET fixed_in_release = ?2, fix_commit = ?3, fixed_at = ?4 WHERE id = ?1",
        params![incident, release, commit, ms(now)],
    )?;
    tx.execute("DELETE FROM release_verdicts WHERE incident_id = ?1", [incident])?;
    tx.execute("DELETE FROM releases_with_fix WHERE incident_id = ?1", [incident])?;
    tx.execute(
        "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
        params![incident, release],
    )?;
    Ok(())
}

/// Cancels incident `id`'s live (queued or running) fix job, if any, and
/// takes it off the waiting list.
fn cancel_live_job(tx: &Transaction<'_>, id: i64, now: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
             updated_at = ?2 WHERE incident_id = ?1 AND state IN ('queued', 'running')",
        params![id, ms(now)],
    )?;
    tx.execute("UPDATE incidents SET fix_wanted = 0 WHERE id = ?1", [id])?;
    Ok(())
}

/// A person's status change (see
/// [`IncidentStore::transition`](crate::store::IncidentStore::transition),
/// which refuses `fixed` before it gets here): ignoring cancels the
/// incident's live job, reopening queues one.
pub(super) fn transition(
    tx: &Transaction<'_>,
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

/// See [`IncidentStore::retry`](crate::store::IncidentStore::retry): a
/// queued job (also one waiting for its retry time after a failed
/// attempt, its incident still `fixing`) becomes runnable now, or a new one
/// is queued (past the cap and the triggers: a person asked).
pub(super) fn retry(tx: &Transaction<'_>, id: i64, now: Timestamp, cause: &Cause) -> Result<FixJob> {
    let status = status_of(tx, id)?;
    rules::check_retry(id, status)?;
    if super::quota::is_overflow(tx, id)? {
        return Err(Error::Refused(rules::overflow_refusal(id)));
    }
    let live: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, state FROM fix_jobs WHERE incident_id = ?1 AND state IN ('queued', 'running')",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let job = match rules::retry_plan(id, status, live.as_ref().map(|(job, state)| (*job, state.as_str())))? {
        RetryPlan::Hasten(job) => {
            tx.execute(
                "UPDATE fix_jobs SET not_before = ?2, updated_at = ?2 WHERE id = ?1",
                params![job, ms(now)],
            )?;
            job
        }
        RetryPlan::Enqueue => {
            enqueue_job(tx, id, now)?;
            tx.last_insert_rowid()
        }
    };
    tx.execute("UPDATE incidents SET fix_wanted = 0 WHERE id = ?1", [id])?;
    record(tx, id, Some(status), status, now, cause)?;
    tx.query_row(
        &format!("SELECT {JOB_COLUMNS} FROM fix_jobs WHERE id = ?1"),
        [job],
        |r| Ok(job_of(r)),
    )?
}

/// See [`IncidentStore::resolve`](crate::store::IncidentStore::resolve): an
/// open or regressed incident fixed by hand in `release`.
pub(super) fn resolve(
    tx: &Transaction<'_>,
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
pub(super) fn add_release_with_fix(tx: &Transaction<'_>, id: i64, release: &str) -> Result<()> {
    let status = status_of(tx, id)?;
    rules::check_release_with_fix(id, status)?;
    tx.execute(
        "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
        params![id, release],
    )?;
    Ok(())
}

/// Incident `id`'s timeline, oldest first.
pub(super) fn timeline(conn: &Connection, id: i64) -> Result<Vec<TimelineEntry>> {
    all_rows(
        conn,
        "SELECT at, from_status, to_status, actor, reason FROM incident_timeline
         WHERE incident_id = ?1 ORDER BY id",
        [id],
        timeline_of,
    )
}
