//! Rows as Postgres returns them and the records they become, and the read
//! queries. Columns are read with `try_get` (a type mismatch is an error,
//! never a panic); timestamps are milliseconds in `BIGINT`, converted with
//! the SQLite store's helpers so both stores agree to the millisecond.

use bugstack_core::Event;
use postgres::{Row, Transaction};

use crate::store::flow::StoreTx;
use crate::store::types::{FixJob, FixRun, IncidentCursor, IncidentDetail, IncidentRecord, PullRequestRecord, Totals};
use crate::{Error, Result};

pub(super) use crate::store::convert::{after, ms, ts, u64_of, ForgeExtra};
pub(super) use crate::store::rows::{
    incident_of, job_of, release_check_of, release_of, run_of, timeline_of, verdict_of, NewRun, RawPr, StoredRow,
    JOB_COLUMNS, PR_COLUMNS, RELEASE_COLUMNS, RUN_COLUMNS,
};

/// The columns of an incident (`i`), its releases in order of first
/// sighting and its releases with the fix, sorted.
pub(super) const INCIDENT_COLUMNS: &str = "i.id, i.fingerprint, i.title, i.kind, i.level, i.status, i.count, \
     i.first_seen, i.last_seen, i.fixed_in_release, \
     ARRAY(SELECT r.release FROM incident_releases r WHERE r.incident_id = i.id ORDER BY r.seq), \
     ARRAY(SELECT w.release FROM releases_with_fix w WHERE w.incident_id = i.id ORDER BY w.release), \
     i.fix_commit, i.project_id";

/// A `usize` as a `BIGINT` parameter.
pub(super) fn big(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// A Postgres row, read by the shared conversions of [`crate::store::rows`]
/// (an incident's release lists are `TEXT[]` here).
impl StoredRow for Row {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.try_get(i)?)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.try_get(i)?)
    }

    fn text(&self, i: usize) -> Result<String> {
        Ok(self.try_get(i)?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.try_get(i)?)
    }

    fn text_list(&self, i: usize) -> Result<Vec<String>> {
        Ok(self.try_get::<_, Option<Vec<String>>>(i)?.unwrap_or_default())
    }
}

/// All incidents, most recently seen first.
pub(super) fn incidents(tx: &mut Transaction<'_>) -> Result<Vec<IncidentRecord>> {
    tx.query(
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i ORDER BY i.last_seen DESC, i.id DESC"),
        &[],
    )?
    .iter()
    .map(|r| incident_of(r))
    .collect()
}

/// At most `limit` incidents of `project` (all when `None`) after `after`,
/// most recently seen first.
pub(super) fn incidents_page(
    tx: &mut Transaction<'_>,
    project: Option<i64>,
    limit: usize,
    after: Option<IncidentCursor>,
) -> Result<Vec<IncidentRecord>> {
    let limit = big(limit);
    let (seen, id) = match after {
        None => (i64::MAX, i64::MAX),
        Some(c) => (i64::try_from(c.last_seen_ms).unwrap_or(i64::MAX), c.id),
    };
    let rows = tx.query(
        &format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i
             WHERE ($4::BIGINT IS NULL OR i.project_id = $4) AND (i.last_seen, i.id) < ($2, $3)
             ORDER BY i.last_seen DESC, i.id DESC LIMIT $1"
        ),
        &[&limit, &seen, &id, &project],
    )?;
    rows.iter().map(|r| incident_of(r)).collect()
}

/// Incident `id`.
pub(super) fn incident(tx: &mut Transaction<'_>, id: i64) -> Result<IncidentRecord> {
    let row = tx
        .query_opt(
            &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = $1"),
            &[&id],
        )?
        .ok_or(Error::IncidentNotFound(id))?;
    incident_of(&row)
}

/// Incident `id` with everything the store knows about it (the caller's
/// transaction is a consistent snapshot).
pub(super) fn incident_detail(tx: &mut Transaction<'_>, id: i64) -> Result<IncidentDetail> {
    let incident = incident(tx, id)?;
    let representative = tx.representative(id)?;
    let samples = tx
        .query(
            "SELECT event FROM event_samples WHERE incident_id = $1 ORDER BY id DESC",
            &[&id],
        )?
        .iter()
        .map(|r| Ok(serde_json::from_str(&r.try_get::<_, String>(0)?)?))
        .collect::<Result<Vec<Event>>>()?;
    let stack_dependencies = tx.stack_dependencies(incident.project, &incident.releases, &representative)?;
    Ok(IncidentDetail {
        jobs: jobs(tx, Some(id))?,
        runs: runs(tx, id)?,
        pull_requests: pull_requests(tx, Some(id))?,
        stack_dependencies,
        timeline: super::lifecycle::timeline(tx, id)?,
        release_checks: super::release_checks::verdicts(tx, id)?,
        incident,
        representative,
        samples,
    })
}

/// The fix jobs of `incident` (all when `None`), oldest first.
pub(super) fn jobs(tx: &mut Transaction<'_>, incident: Option<i64>) -> Result<Vec<FixJob>> {
    tx.query(
        &format!("SELECT {JOB_COLUMNS} FROM fix_jobs WHERE $1::BIGINT IS NULL OR incident_id = $1 ORDER BY id"),
        &[&incident],
    )?
    .iter()
    .map(|r| job_of(r))
    .collect()
}

/// The fix runs of `incident`, oldest first.
pub(super) fn runs(tx: &mut Transaction<'_>, incident: i64) -> Result<Vec<FixRun>> {
    tx.query(
        &format!("SELECT {RUN_COLUMNS} FROM fix_runs WHERE incident_id = $1 ORDER BY id"),
        &[&incident],
    )?
    .iter()
    .map(|r| run_of(r))
    .collect()
}

/// The pull requests of `incident` (all when `None`), newest first.
pub(super) fn pull_requests(tx: &mut Transaction<'_>, incident: Option<i64>) -> Result<Vec<PullRequestRecord>> {
    tx.query(
        &format!(
            "SELECT {PR_COLUMNS} FROM pull_requests WHERE $1::BIGINT IS NULL OR incident_id = $1 ORDER BY number DESC"
        ),
        &[&incident],
    )?
    .iter()
    .map(|r| RawPr::from_row(r)?.into_record())
    .collect()
}

/// Pull request `number`'s row, if there is one.
pub(super) fn pull_request(tx: &mut Transaction<'_>, number: i64) -> Result<Option<RawPr>> {
    tx.query_opt(
        &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE number = $1"),
        &[&number],
    )?
    .map(|r| RawPr::from_row(&r))
    .transpose()
}

/// Totals of everything ingested.
pub(super) fn totals(tx: &mut Transaction<'_>) -> Result<Totals> {
    let row = tx.query_one(
        "SELECT t.batches, t.events, t.occurrences, (SELECT COUNT(*) FROM incidents)
         FROM ingest_totals t WHERE t.id = 1",
        &[],
    )?;
    Ok(Totals {
        batches: u64_of(row.try_get(0)?),
        events: u64_of(row.try_get(1)?),
        occurrences: u64_of(row.try_get(2)?),
        incidents: u64_of(row.try_get(3)?),
    })
}
