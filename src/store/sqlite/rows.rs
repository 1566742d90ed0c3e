//! Rows as SQLite returns them (read by the shared conversions of
//! [`crate::store::rows`]) and the read queries.

use bugstack_core::Event;
use rusqlite::{params, Connection, OptionalExtension, Params, Row};

use crate::store::types::{FixJob, FixRun, IncidentCursor, IncidentDetail, IncidentRecord, PullRequestRecord, Totals};
use crate::{Error, Result};

pub(super) use crate::store::convert::{after, ms, ts, u64_of, ForgeExtra};
pub(super) use crate::store::rows::{
    incident_of, job_of, release_check_of, release_of, run_of, timeline_of, verdict_of, NewRun, RawPr, StoredRow,
    JOB_COLUMNS, PR_COLUMNS, RELEASE_COLUMNS, RUN_COLUMNS,
};

pub(super) const INCIDENT_COLUMNS: &str =
    "i.id, i.fingerprint, i.title, i.kind, i.level, i.status, i.count, i.first_seen, \
     i.last_seen, i.fixed_in_release, \
     (SELECT json_group_array(release) FROM (SELECT release FROM incident_releases r \
        WHERE r.incident_id = i.id ORDER BY r.seq)), \
     (SELECT json_group_array(release) FROM (SELECT release FROM releases_with_fix w \
        WHERE w.incident_id = i.id ORDER BY w.release)), i.fix_commit, i.project_id";

/// A SQLite row, read by the shared conversions of [`crate::store::rows`]
/// (an incident's release lists are JSON arrays here).
impl StoredRow for Row<'_> {
    fn int(&self, i: usize) -> Result<i64> {
        Ok(self.get(i)?)
    }

    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        Ok(self.get(i)?)
    }

    fn text(&self, i: usize) -> Result<String> {
        Ok(self.get(i)?)
    }

    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        Ok(self.get(i)?)
    }

    fn text_list(&self, i: usize) -> Result<Vec<String>> {
        Ok(match self.opt_text(i)? {
            Some(s) => serde_json::from_str(&s)?,
            None => Vec::new(),
        })
    }
}

/// The first row `sql` returns for `params`, if any, read with `read`.
pub(super) fn first_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    read: impl FnOnce(&Row<'_>) -> Result<T>,
) -> Result<Option<T>> {
    conn.query_row(sql, params, |r| Ok(read(r))).optional()?.transpose()
}

/// Every row `sql` returns for `params`, read with `read`.
pub(super) fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    read: fn(&dyn StoredRow) -> Result<T>,
) -> Result<Vec<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| Ok(read(r)))?;
    rows.map(|r| r?).collect()
}

/// All incidents, most recently seen first.
pub(super) fn incidents(conn: &Connection) -> Result<Vec<IncidentRecord>> {
    all_rows(
        conn,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i ORDER BY i.last_seen DESC, i.id DESC"),
        [],
        incident_of,
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
        incident_of,
    )
}

/// Incident `id`.
pub(super) fn incident(conn: &Connection, id: i64) -> Result<IncidentRecord> {
    first_row(
        conn,
        &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = ?1"),
        [id],
        |r| incident_of(r),
    )?
    .ok_or(Error::IncidentNotFound(id))
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
        job_of,
    )
}

/// The fix runs of `incident`, oldest first.
pub(super) fn runs(conn: &Connection, incident: i64) -> Result<Vec<FixRun>> {
    all_rows(
        conn,
        &format!("SELECT {RUN_COLUMNS} FROM fix_runs WHERE incident_id = ?1 ORDER BY id"),
        [incident],
        run_of,
    )
}

/// The pull requests of `incident` (all when `None`), newest first.
pub(super) fn pull_requests(conn: &Connection, incident: Option<i64>) -> Result<Vec<PullRequestRecord>> {
    all_rows(
        conn,
        &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY number DESC"),
        [incident],
        |r| RawPr::from_row(r)?.into_record(),
    )
}

/// Pull request `number`'s row, if there is one.
pub(super) fn pull_request(conn: &Connection, number: i64) -> Result<Option<RawPr>> {
    first_row(
        conn,
        &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE number = ?1"),
        [number],
        |r| RawPr::from_row(r),
    )
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
