//! Rows as Postgres returns them and the records they become, and the read
//! queries. Columns are read with `try_get` (a type mismatch is an error,
//! never a panic); timestamps are milliseconds in `BIGINT`, converted with
//! the SQLite store's helpers so both stores agree to the millisecond.

use bugstack_core::{Event, Fingerprint};
use postgres::{Row, Transaction};

use crate::store::types::{
    parse_pull_request_state, FixJob, FixRun, IncidentCursor, IncidentDetail, IncidentRecord, PullRequestRecord, Totals,
};
use crate::{Error, Result};

pub(super) use crate::store::convert::{after, ms, ts, u64_of};

/// The columns of an incident (`i`), its releases in order of first
/// sighting and its releases with the fix, sorted.
pub(super) const INCIDENT_COLUMNS: &str = "i.id, i.fingerprint, i.title, i.kind, i.level, i.status, i.count, \
     i.first_seen, i.last_seen, i.fixed_in_release, \
     ARRAY(SELECT r.release FROM incident_releases r WHERE r.incident_id = i.id ORDER BY r.seq), \
     ARRAY(SELECT w.release FROM releases_with_fix w WHERE w.incident_id = i.id ORDER BY w.release), \
     i.fix_commit, i.project_id";

pub(super) const JOB_COLUMNS: &str = "id, incident_id, state, attempts, max_attempts, lease_owner, lease_expires_at, \
     not_before, last_error, created_at, updated_at";

pub(super) const PR_COLUMNS: &str =
    "number, incident_id, title, body, branch, state, decision, created_at, updated_at, url, base, head_sha, forge";

pub(super) const RUN_COLUMNS: &str =
    "id, job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number";

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// A `usize` as a `BIGINT` parameter.
pub(super) fn big(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// An incident row ([`INCIDENT_COLUMNS`]) as a record.
pub(super) fn incident_of(r: &Row) -> Result<IncidentRecord> {
    let status: String = r.try_get(5)?;
    Ok(IncidentRecord {
        id: r.try_get(0)?,
        fingerprint: Fingerprint::from_hex(r.try_get::<_, String>(1)?),
        title: r.try_get(2)?,
        kind: r.try_get(3)?,
        level: r.try_get(4)?,
        status: status.parse()?,
        count: u64_of(r.try_get(6)?),
        first_seen: ts(r.try_get(7)?),
        last_seen: ts(r.try_get(8)?),
        fixed_in_release: r.try_get(9)?,
        releases: r.try_get(10)?,
        releases_with_fix: r.try_get(11)?,
        fix_commit: r.try_get(12)?,
        project: r.try_get(13)?,
    })
}

/// A fix job row ([`JOB_COLUMNS`]) as a record.
pub(super) fn job_of(r: &Row) -> Result<FixJob> {
    let state: String = r.try_get(2)?;
    Ok(FixJob {
        id: r.try_get(0)?,
        incident_id: r.try_get(1)?,
        state: state.parse()?,
        attempts: u32_of(r.try_get(3)?),
        max_attempts: u32_of(r.try_get(4)?),
        lease_owner: r.try_get(5)?,
        lease_expires_at: r.try_get::<_, Option<i64>>(6)?.map(ts),
        not_before: ts(r.try_get(7)?),
        last_error: r.try_get(8)?,
        created_at: ts(r.try_get(9)?),
        updated_at: ts(r.try_get(10)?),
    })
}

/// Raw columns of a pull request row ([`PR_COLUMNS`]).
#[derive(Clone)]
pub(super) struct RawPr {
    pub(super) number: i64,
    pub(super) incident_id: Option<i64>,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) branch: String,
    pub(super) state: String,
    pub(super) decision: String,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) url: String,
    pub(super) base: String,
    pub(super) head_sha: String,
    pub(super) forge: String,
}

pub(super) use crate::store::convert::ForgeExtra;

impl RawPr {
    pub(super) fn from_row(r: &Row) -> Result<Self> {
        Ok(RawPr {
            number: r.try_get(0)?,
            incident_id: r.try_get(1)?,
            title: r.try_get(2)?,
            body: r.try_get(3)?,
            branch: r.try_get(4)?,
            state: r.try_get(5)?,
            decision: r.try_get(6)?,
            created_at: r.try_get(7)?,
            updated_at: r.try_get(8)?,
            url: r.try_get(9)?,
            base: r.try_get(10)?,
            head_sha: r.try_get(11)?,
            forge: r.try_get(12)?,
        })
    }

    pub(super) fn extra(&self) -> Result<ForgeExtra> {
        Ok(serde_json::from_str(&self.forge)?)
    }

    pub(super) fn into_record(self) -> Result<PullRequestRecord> {
        let extra = self.extra()?;
        Ok(PullRequestRecord {
            number: self.number,
            incident_id: self.incident_id,
            title: self.title,
            body: self.body,
            branch: self.branch,
            state: parse_pull_request_state(&self.state)?,
            decision: self.decision,
            url: self.url,
            base: self.base,
            head_sha: self.head_sha,
            merge_commit: extra.merge_commit,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }
}

/// A fix run row ([`RUN_COLUMNS`]) as a record.
pub(super) fn run_of(r: &Row) -> Result<FixRun> {
    let report: String = r.try_get(6)?;
    Ok(FixRun {
        id: r.try_get(0)?,
        job_id: r.try_get(1)?,
        incident_id: r.try_get(2)?,
        attempt: u32_of(r.try_get(3)?),
        worker: r.try_get(4)?,
        outcome: r.try_get(5)?,
        report: serde_json::from_str(&report)?,
        finished_at: ts(r.try_get(7)?),
        pr_number: r.try_get(8)?,
    })
}

/// All incidents, most recently seen first.
pub(super) fn incidents(tx: &mut Transaction<'_>) -> Result<Vec<IncidentRecord>> {
    tx.query(
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i ORDER BY i.last_seen DESC, i.id DESC"),
        &[],
    )?
    .iter()
    .map(incident_of)
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
    rows.iter().map(incident_of).collect()
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

/// The representative event of incident `id`.
pub(super) fn representative(tx: &mut Transaction<'_>, id: i64) -> Result<Event> {
    let event: String = tx
        .query_one("SELECT representative FROM incidents WHERE id = $1", &[&id])?
        .try_get(0)?;
    Ok(serde_json::from_str(&event)?)
}

/// Incident `id` with everything the store knows about it (the caller's
/// transaction is a consistent snapshot).
pub(super) fn incident_detail(tx: &mut Transaction<'_>, id: i64) -> Result<IncidentDetail> {
    let incident = incident(tx, id)?;
    let representative = representative(tx, id)?;
    let samples = tx
        .query(
            "SELECT event FROM event_samples WHERE incident_id = $1 ORDER BY id DESC",
            &[&id],
        )?
        .iter()
        .map(|r| Ok(serde_json::from_str(&r.try_get::<_, String>(0)?)?))
        .collect::<Result<Vec<Event>>>()?;
    let stack_dependencies =
        super::releases::stack_dependencies(tx, incident.project, &incident.releases, &representative)?;
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
    .map(job_of)
    .collect()
}

/// One fix job.
pub(super) fn job(tx: &mut Transaction<'_>, id: i64) -> Result<FixJob> {
    let row = tx
        .query_opt(&format!("SELECT {JOB_COLUMNS} FROM fix_jobs WHERE id = $1"), &[&id])?
        .ok_or(Error::JobNotFound(id))?;
    job_of(&row)
}

/// The fix runs of `incident`, oldest first.
pub(super) fn runs(tx: &mut Transaction<'_>, incident: i64) -> Result<Vec<FixRun>> {
    tx.query(
        &format!("SELECT {RUN_COLUMNS} FROM fix_runs WHERE incident_id = $1 ORDER BY id"),
        &[&incident],
    )?
    .iter()
    .map(run_of)
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
