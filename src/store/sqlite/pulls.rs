//! The store's side of the `pull_requests` table: the pull request a fix
//! run reports, and merging or closing one by hand. (The local forge's side
//! is in `forge`.)

use bugstack_core::Timestamp;
use bugstack_fix::PullRequestState;
use rusqlite::{params, OptionalExtension, Transaction};

use super::lifecycle::apply;
use super::rows::ms;
use crate::store::rules;
use crate::store::{pull_request_state_name, Cause, PullRequestRecord, RunPullRequest};
use crate::{Error, Result};

/// Records the pull request a run of `incident`'s job produced, in `state`,
/// and returns its number: a pull request the run's forge already recorded
/// here ([`RunPullRequest::number`]) is linked to the incident, any other
/// is inserted.
pub(super) fn record_run_pull_request(
    tx: &Transaction<'_>,
    incident: i64,
    pr: &RunPullRequest,
    state: PullRequestState,
    now: Timestamp,
) -> Result<i64> {
    if let Some(number) = pr.number {
        // The run's forge already recorded it here: link it to the incident.
        let n = tx.execute(
            "UPDATE pull_requests SET incident_id = ?2, decision = ?3, updated_at = ?5,
                 state = CASE WHEN ?4 = 'merged' THEN 'merged' ELSE state END
             WHERE number = ?1 AND (incident_id IS NULL OR incident_id = ?2)",
            params![number, incident, pr.decision, pull_request_state_name(state), ms(now)],
        )?;
        if n == 0 {
            return Err(Error::PullRequestNotFound(number));
        }
        super::forge_sync::record_run_fields(tx, number, pr)?;
        return Ok(number);
    }
    let number = tx.query_row(
        "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at, updated_at, url)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING number",
        params![
            incident,
            pr.title,
            pr.body,
            pr.branch,
            pull_request_state_name(state),
            pr.decision,
            ms(now),
            pr.url
        ],
        |r| r.get(0),
    )?;
    super::forge_sync::record_run_fields(tx, number, pr)?;
    Ok(number)
}

/// Moves open pull request `number` to `to` (merged in `release`, or
/// closed) and its incident with it: fixed in `release`, or back to `open`,
/// the change recorded as `cause`'s.
pub(super) fn set_state(
    tx: &Transaction<'_>,
    number: i64,
    to: PullRequestState,
    release: Option<&str>,
    cause: &Cause,
    now: Timestamp,
) -> Result<PullRequestRecord> {
    let row: Option<(Option<i64>, String)> = tx
        .query_row(
            "SELECT incident_id, state FROM pull_requests WHERE number = ?1",
            [number],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (incident, state) = row.ok_or(Error::PullRequestNotFound(number))?;
    rules::check_open_pull_request(number, &state, to)?;
    tx.execute(
        "UPDATE pull_requests SET state = ?2, updated_at = ?3 WHERE number = ?1",
        params![number, pull_request_state_name(to), ms(now)],
    )?;
    if let Some(incident) = incident {
        apply(
            tx,
            incident,
            rules::manual_pull_request_change(number, release, cause),
            now,
        )?;
    }
    super::rows::pull_request(tx, number)?
        .ok_or(Error::PullRequestNotFound(number))?
        .into_record()
}
