//! The store's side of the `pull_requests` table: the pull request a fix
//! run reports, and merging or closing one by hand (the SQLite store's
//! rules).

use bugstack_core::Timestamp;
use bugstack_fix::PullRequestState;
use postgres::Transaction;

use super::lifecycle::apply;
use super::rows::ms;
use crate::store::rules;
use crate::store::{pull_request_state_name, Cause, PullRequestRecord, RunPullRequest};
use crate::{Error, Result};

/// Records the pull request a run of `incident`'s job produced, in `state`,
/// and returns its number (a pull request the run's forge already recorded
/// here is linked to the incident).
pub(super) fn record_run_pull_request(
    tx: &mut Transaction<'_>,
    incident: i64,
    pr: &RunPullRequest,
    state: PullRequestState,
    now: Timestamp,
) -> Result<i64> {
    let state = pull_request_state_name(state);
    let number = match pr.number {
        Some(number) => {
            let n = tx.execute(
                "UPDATE pull_requests SET incident_id = $2, decision = $3, updated_at = $5,
                     state = CASE WHEN $4::TEXT = 'merged' THEN 'merged' ELSE state END
                 WHERE number = $1 AND (incident_id IS NULL OR incident_id = $2)",
                &[&number, &incident, &pr.decision, &state, &ms(now)],
            )?;
            if n == 0 {
                return Err(Error::PullRequestNotFound(number));
            }
            number
        }
        None => tx
            .query_one(
                "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at, updated_at, url)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8) RETURNING number",
                &[
                    &incident,
                    &pr.title,
                    &pr.body,
                    &pr.branch,
                    &state,
                    &pr.decision,
                    &ms(now),
                    &pr.url,
                ],
            )?
            .try_get(0)?,
    };
    super::forge_sync::record_run_fields(tx, number, pr)?;
    Ok(number)
}

/// Moves open pull request `number` to `to` (merged in `release`, or
/// closed) and its incident with it.
pub(super) fn set_state(
    tx: &mut Transaction<'_>,
    number: i64,
    to: PullRequestState,
    release: Option<&str>,
    cause: &Cause,
    now: Timestamp,
) -> Result<PullRequestRecord> {
    let row = tx
        .query_opt(
            "SELECT incident_id, state FROM pull_requests WHERE number = $1 FOR UPDATE",
            &[&number],
        )?
        .ok_or(Error::PullRequestNotFound(number))?;
    let incident: Option<i64> = row.try_get(0)?;
    let state: String = row.try_get(1)?;
    rules::check_open_pull_request(number, &state, to)?;
    tx.execute(
        "UPDATE pull_requests SET state = $2, updated_at = $3 WHERE number = $1",
        &[&number, &pull_request_state_name(to), &ms(now)],
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
