//! The store's side of the `pull_requests` table: the pull request a fix
//! run reports, and merging or closing one by hand. (The local forge's side
//! is in `forge`.)

use bugstack_core::Timestamp;
use bugstack_fix::PullRequestState;
use rusqlite::{params, Transaction};

use super::rows::ms;
use crate::store::{pull_request_state_name, RunPullRequest};
use crate::{Error, Result};

/// Records the pull request a run of `incident`'s job produced, in `state`,
/// and returns its number: a pull request the run's forge already recorded
/// here ([`RunPullRequest::number`]) is linked to the incident, any other
/// is inserted.
pub(super) fn record_run_pull_request(
    tx: &mut Transaction<'_>,
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
