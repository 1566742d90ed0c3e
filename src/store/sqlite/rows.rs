//! Rows as SQLite returns them and the records they become, the conversions
//! between store values and SQLite integers, and the read queries.

use bugstack_core::{Event, Fingerprint};
use rusqlite::{params, Connection, OptionalExtension, Params, Row};

use crate::store::types::{
    parse_pull_request_state, FixJob, FixRun, IncidentCursor, IncidentDetail, IncidentRecord, PullRequestRecord, Totals,
};
use crate::{Error, Result};

pub(super) use crate::store::convert::{after, ms, ts, u64_of, ForgeExtra};

pub(super) const INCIDENT_COLUMNS: &str =
    "i.id, i.fingerprint, i.title, i.kind, i.level, i.status, i.count, i.first_seen, \
     i.last_seen, i.fixed_in_release, \
     (SELECT json_group_array(release) FROM (SELECT release FROM incident_releases r \
        WHERE r.incident_id = i.id ORDER BY r.seq)), \
     (SELECT json_group_array(release) FROM (SELECT release FROM releases_with_fix w \
        WHERE w.incident_id = i.id ORDER BY w.release)), i.fix_commit, i.project_id";

pub(super) const JOB_COLUMNS: &str = "id, incident_id, state, attempts, max_attempts, lease_owner, lease_expires_at, \
     not_before, last_error, created_at, updated_at";

pub(super) const PR_COLUMNS: &str =
    "number, incident_id, title, body, branch, state, decision, created_at, updated_at, url, base, head_sha, forge";

pub(super) const RUN_COLUMNS: &str =
    "id, job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number";

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// Raw columns of an incident row, converted to a record with [`RawIncident::into_record`].
pub(super) struct RawIncident {
    id: i64,
    fingerprint: String,
    title: String,
    kind: String,
    level: String,
    status: String,
    count: i64,
    first_seen: i64,
    last_seen: i64,
    fixed_in_release: Option<String>,
    releases: Option<String>,
    releases_with_fix: Option<String>,
    fix_commit: Option<String>,
    project: i64,
}

impl RawIncident {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawIncident {
            id: r.get(0)?,
            fingerprint: r.get(1)?,
            title: r.get(2)?,
            kind: r.get(3)?,
            level: r.get(4)?,
            status: r.get(5)?,
            count: r.get(6)?,
            first_seen: r.get(7)?,
            last_seen: r.get(8)?,
            fixed_in_release: r.get(9)?,
            releases: r.get(10)?,
            releases_with_fix: r.get(11)?,
            fix_commit: r.get(12)?,
            project: r.get(13)?,
        })
    }

    pub(super) fn into_record(self) -> Result<IncidentRecord> {
        let list = |s: Option<String>| -> Result<Vec<String>> {
            Ok(match s {
                Some(s) => serde_json::from_str(&s)?,
                None => Vec::new(),
            })
        };
        Ok(IncidentRecord {
            id: self.id,
            fingerprint: Fingerprint::from_hex(self.fingerprint),
            title: self.title,
            kind: self.kind,
            level: self.level,
            status: self.status.parse()?,
            count: u64_of(self.count),
            first_seen: ts(self.first_seen),
            last_seen: ts(self.last_seen),
            releases: list(self.releases)?,
            fixed_in_release: self.fixed_in_release,
            releases_with_fix: list(self.releases_with_fix)?,
            fix_commit: self.fix_commit,
            project: self.project,
        })
    }
}

/// Raw columns of a fix job row ([`JOB_COLUMNS`]).
pub(super) struct RawJob {
    id: i64,
    incident_id: i64,
    state: String,
    attempts: i64,
    max_attempts: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    not_before: i64,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl RawJob {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawJob {
            id: r.get(0)?,
            incident_id: r.get(1)?,
            state: r.get(2)?,
            attempts: r.get(3)?,
            max_attempts: r.get(4)?,
            lease_owner: r.get(5)?,
            lease_expires_at: r.get(6)?,
            not_before: r.get(7)?,
            last_error: r.get(8)?,
            created_at: r.get(9)?,
            updated_at: r.get(10)?,
        })
    }

    pub(super) fn into_job(self) -> Result<FixJob> {
        Ok(FixJob {
            id: self.id,
            incident_id: self.incident_id,
            state: self.state.parse()?,
            attempts: u32_of(self.attempts),
            max_attempts: u32_of(self.max_attempts),
            lease_owner: self.lease_owner,
            lease_expires_at: self.lease_expires_at.map(ts),
            not_before: ts(self.not_before),
            last_error: self.last_error,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }
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

impl RawPr {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawPr {
            number: r.get(0)?,
            incident_id: r.get(1)?,
            title: r.get(2)?,
            body: r.get(3)?,
            branch: r.get(4)?,
            state: r.get(5)?,
            decision: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
            url: r.get(9)?,
            base: r.get(10)?,
            head_sha: r.get(11)?,
            forge: r.get(12)?,
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

/// Raw columns of a fix run row ([`RUN_COLUMNS`]).
pub(super) struct RawRun {
    id: i64,
    job_id: i64,
    incident_id: i64,
    attempt: i64,
    worker: String,
    outcome: String,
    report: String,
    finished_at: i64,
    pr_number: Option<i64>,
}

impl RawRun {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawRun {
            id: r.get(0)?,
            job_id: r.get(1)?,
            incident_id: r.get(2)?,
            attempt: r.get(3)?,
            worker: r.get(4)?,
            outcome: r.get(5)?,
            report: r.get(6)?,
            finished_at: r.get(7)?,
            pr_number: r.get(8)?,
        })
    }

    pub(super) fn into_run(self) -> Result<FixRun> {
        Ok(FixRun {
            id: self.id,
            job_id: self.job_id,
            incident_id: self.incident_id,
            attempt: u32_of(self.attempt),
            worker: self.worker,
            outcome: self.outcome,
            report: serde_json::from_str(&self.report)?,
            finished_at: ts(self.finished_at),
            pr_number: self.pr_number,
        })
    }
}

/// Every row `sql` returns for `params`, read with `from_row` and converted
/// with `convert`.
pub(super) fn all_rows<Raw, T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    from_row: fn(&Row<'_>) -> rusqlite::Result<Raw>,
    convert: fn(Raw) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, from_row)?;
    rows.map(|r| r.map_err(Error::from).and_then(convert)).collect()
}

/// All incidents, most recently seen first.
pub(super) fn incidents(conn: &Connection) -> Result<Vec<IncidentRecord>> {
    all_rows(
        conn,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i ORDER BY i.last_seen DESC, i.id DESC"),
        [],
        RawIncident::from_row,
        RawIncident::into_record,
    )
}

/// At most `limit` incidents of `project` (all when `None`) after `after`,
/// most recently seen first (the `incidents_last_seen` and
/// `incidents_project_last_seen` indexes serve the order and the start).
pub(super) fn incidents_page(
    conn: &Connection,
    project: Option<i64>,
    limit: usize,
    after: Option<IncidentCursor>,
) -> Result<Vec<IncidentRecord>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (seen, id) = match after {
        None => (i64::MAX, i64::MAX),
        Some(c) => (i64::try_from(c.last_seen_ms).unwrap_or(i64::MAX), c.id),
    };
    let project_sql = if project.is_some() {
        "i.project_id = ?4 AND "
    } else {
        "?4 IS NULL AND "
    };
    all_rows(
        conn,
        &format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE {project_sql}(i.last_seen, i.id) < (?2, ?3)
             ORDER BY i.last_seen DESC, i.id DESC LIMIT ?1"
        ),
        params![limit, seen, id, project],
        RawIncident::from_row,
        RawIncident::into_record,
    )
}

/// Incident `id`.
pub(super) fn incident(conn: &Connection, id: i64) -> Result<IncidentRecord> {
    let raw = conn
        .query_row(
            &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = ?1"),
            [id],
            RawIncident::from_row,
        )
        .optional()?
        .ok_or(Error::IncidentNotFound(id))?;
    raw.into_record()
}

/// The representative event of incident `id`.
pub(super) fn representative(conn: &Connection, id: i64) -> Result<Event> {
    let event: String = conn.query_row("SELECT representative FROM incidents WHERE id = ?1", [id], |r| r.get(0))?;
    Ok(serde_json::from_str(&event)?)
}

/// Incident `id` with its representative event, samples, jobs, runs and
/// pull requests, read in one transaction (a consistent snapshot).
pub(super) fn incident_detail(conn: &mut Connection, id: i64) -> Result<IncidentDetail> {
    let tx = conn.transaction()?;
    let incident = incident(&tx, id)?;
    let representative = representative(&tx, id)?;
    let samples = {
        let mut stmt = tx.prepare_cached("SELECT event FROM event_samples WHERE incident_id = ?1 ORDER BY id DESC")?;
        let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        rows.map(|r| Ok(serde_json::from_str(&r?)?))
            .collect::<Result<Vec<Event>>>()?
    };
    let stack_dependencies =
        super::releases::stack_dependencies(&tx, incident.project, &incident.releases, &representative)?;
    let detail = IncidentDetail {
        incident,
        representative,
        samples,
        jobs: jobs(&tx, Some(id))?,
        runs: runs(&tx, id)?,
        pull_requests: pull_requests(&tx, Some(id))?,
        stack_dependencies,
        timeline: super::lifecycle::timeline(&tx, id)?,
        release_checks: super::release_checks::verdicts(&tx, id)?,
    };
    tx.commit()?;
    Ok(detail)
}

/// The fix jobs of `incident` (all when `None`), oldest first.
pub(super) fn jobs(conn: &Connection, incident: Option<i64>) -> Result<Vec<FixJob>> {
    all_rows(
        conn,
        &format!("SELECT {JOB_COLUMNS} FROM fix_jobs WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY id"),
        [incident],
        RawJob::from_row,
        RawJob::into_job,
    )
}

/// The fix runs of `incident`, oldest first.
pub(super) fn runs(conn: &Connection, incident: i64) -> Result<Vec<FixRun>> {
    all_rows(
        conn,
        &format!("SELECT {RUN_COLUMNS} FROM fix_runs WHERE incident_id = ?1 ORDER BY id"),
        [incident],
        RawRun::from_row,
        RawRun::into_run,
    )
}

/// The pull requests of `incident` (all when `None`), newest first.
pub(super) fn pull_requests(conn: &Connection, incident: Option<i64>) -> Result<Vec<PullRequestRecord>> {
    all_rows(
        conn,
        &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY number DESC"),
        [incident],
        RawPr::from_row,
        RawPr::into_record,
    )
}

/// Pull request `number`'s row, if there is one.
pub(super) fn pull_request(conn: &Connection, number: i64) -> Result<Option<RawPr>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE number = ?1"),
            [number],
            RawPr::from_row,
        )
        .optional()?)
}

/// Totals of everything ingested.
pub(super) fn totals(conn: &Connection) -> Result<Totals> {
    let (batches, events, occurrences): (i64, i64, i64) = conn.query_row(
        "SELECT batches, events, occurrences FROM ingest_totals WHERE id = 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let incidents: i64 = conn.query_row("SELECT COUNT(*) FROM incidents", [], |r| r.get(0))?;
    Ok(Totals {
        batches: u64_of(batches),
        events: u64_of(events),
        occurrences: u64_of(occurrences),
        incidents: u64_of(incidents),
    })
}
