//! Incident status changes, enforcing the lifecycle
//! ([`Status::can_become`]), and the releases that contain a fix.

use bugstack_core::Timestamp;
use rusqlite::{params, OptionalExtension, Transaction};

use super::jobs::enqueue_job;
use super::rows::ms;
use crate::store::{IncidentRecord, Status};
use crate::{Error, Result};

/// Incident `id`'s status.
pub(super) fn status_of(tx: &Transaction<'_>, id: i64) -> Result<Status> {
    let s: Option<String> = tx
        .query_row("SELECT status FROM incidents WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    s.ok_or(Error::IncidentNotFound(id))?.parse()
}

/// Moves incident `id` to `to` inside `tx`, enforcing the lifecycle.
pub(super) fn set_status(tx: &Transaction<'_>, id: i64, to: Status, now: Timestamp) -> Result<()> {
    let from = status_of(tx, id)?;
    if !from.can_become(to) {
        return Err(Error::IllegalTransition { id, from, to });
    }
    tx.execute(
        "UPDATE incidents SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, to.as_str(), ms(now)],
    )?;
    Ok(())
}

/// Marks `incident` fixed in `release`, which joins its releases with the fix.
pub(super) fn mark_fixed(tx: &Transaction<'_>, incident: i64, release: &str, now: Timestamp) -> Result<()> {
    set_status(tx, incident, Status::Fixed, now)?;
    tx.execute(
        "UPDATE incidents SET fixed_in_release = ?2 WHERE id = ?1",
        params![incident, release],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
        params![incident, release],
    )?;
    Ok(())
}

/// A person's status change (see
/// [`IncidentStore::transition`](crate::store::IncidentStore::transition),
/// which refuses `fixed` before it gets here): ignoring cancels the
/// incident's live job, reopening queues one.
pub(super) fn transition(tx: &Transaction<'_>, id: i64, to: Status, now: Timestamp) -> Result<IncidentRecord> {
    set_status(tx, id, to, now)?;
    match to {
        Status::Ignored => {
            tx.execute(
                "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
                     updated_at = ?2 WHERE incident_id = ?1 AND state IN ('queued', 'running')",
                params![id, ms(now)],
            )?;
        }
        Status::Open => {
            enqueue_job(tx, id, now)?;
        }
        _ => {}
    }
    super::rows::incident(tx, id)
}

/// Declares that `release` contains the fix of fixed incident `id`.
pub(super) fn add_release_with_fix(tx: &Transaction<'_>, id: i64, release: &str) -> Result<()> {
    let status = status_of(tx, id)?;
    if !matches!(status, Status::Fixed | Status::Regressed) {
        return Err(Error::Config(format!(
            "incident {id} is {status}; only a fixed incident has releases with the fix"
        )));
    }
    tx.execute(
        "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
        params![id, release],
    )?;
    Ok(())
}
