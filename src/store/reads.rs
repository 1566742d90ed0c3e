//! The read queries both stores run, written once over [`Sql`]: incidents
//! (all, a page, one, with everything known about it), fix jobs, runs, pull
//! requests, the timeline and the totals. Rows become records through the
//! shared conversions of [`super::rows`].

use bugstack_core::Event;

use super::convert::u64_of;
use super::rows::{incident_columns, incident_of, job_of, run_of, timeline_of, RawPr};
use super::rows::{JOB_COLUMNS, PR_COLUMNS, RUN_COLUMNS};
use super::sql::{Dialect, Sql};
use super::types::{FixJob, FixRun, IncidentCursor, IncidentDetail, IncidentRecord, PullRequestRecord, Totals};
use super::TimelineEntry;
use crate::{Error, Result};

/// A `usize` as a `BIGINT` parameter.
pub(crate) fn big(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `?N IS NULL` for an optional id parameter (Postgres must be told its
/// type).
pub(crate) fn id_is_null(dialect: Dialect, n: u8) -> String {
    format!("?{n}{} IS NULL", dialect.pick("", "::BIGINT"))
}

/// All incidents, most recently seen first.
pub(crate) fn incidents<S: Sql + ?Sized>(db: &mut S) -> Result<Vec<IncidentRecord>> {
    let columns = incident_columns(db.dialect());
    db.all_rows(
        &format!("SELECT {columns} FROM incidents i ORDER BY i.last_seen DESC, i.id DESC"),
        &[],
        incident_of,
    )
}

/// At most `limit` incidents of `project` (all when `None`) after `after`,
/// most recently seen first (on SQLite, the `incidents_last_seen` and
/// `incidents_project_last_seen` indexes serve the order and the start).
pub(crate) fn incidents_page<S: Sql + ?Sized>(
    db: &mut S,
    project: Option<i64>,
    limit: usize,
    after: Option<IncidentCursor>,
) -> Result<Vec<IncidentRecord>> {
    let (seen, id) = match after {
        None => (i64::MAX, i64::MAX),
        Some(c) => (i64::try_from(c.last_seen_ms).unwrap_or(i64::MAX), c.id),
    };
    let dialect = db.dialect();
    let project_sql = match (dialect, project.is_some()) {
        (Dialect::Sqlite, true) => "i.project_id = ?4 AND ",
        (Dialect::Sqlite, false) => "?4 IS NULL AND ",
        (Dialect::Postgres, _) => "(?4::BIGINT IS NULL OR i.project_id = ?4) AND ",
    };
    let columns = incident_columns(dialect);
    db.all_rows(
        &format!(
            "SELECT {columns} FROM incidents i WHERE {project_sql}(i.last_seen, i.id) < (?2, ?3)
             ORDER BY i.last_seen DESC, i.id DESC LIMIT ?1"
        ),
        &[&big(limit), &seen, &id, &project],
        incident_of,
    )
}

/// Incident `id`.
pub(crate) fn incident<S: Sql + ?Sized>(db: &mut S, id: i64) -> Result<IncidentRecord> {
    let columns = incident_columns(db.dialect());
    db.first_row(
        &format!("SELECT {columns} FROM incidents i WHERE i.id = ?1"),
        &[&id],
        incident_of,
    )?
    .ok_or(Error::IncidentNotFound(id))
}

/// The representative event of incident `id`.
pub(crate) fn representative<S: Sql + ?Sized>(db: &mut S, id: i64) -> Result<Event> {
    let event = db.one_row("SELECT representative FROM incidents WHERE id = ?1", &[&id], |r| {
        r.text(0)
    })?;
    Ok(serde_json::from_str(&event)?)
}

/// Incident `id` with its representative event, samples, jobs, runs and
/// pull requests (the caller's transaction is a consistent snapshot).
pub(crate) fn incident_detail<S: Sql + ?Sized>(db: &mut S, id: i64) -> Result<IncidentDetail> {
    let incident = incident(db, id)?;
    let representative = representative(db, id)?;
    let samples = db.all_rows(
        "SELECT event FROM event_samples WHERE incident_id = ?1 ORDER BY id DESC",
        &[&id],
        |r| Ok(serde_json::from_str(&r.text(0)?)?),
    )?;
    let stack_dependencies =
        super::releases::stack_dependencies(db, incident.project, &incident.releases, &representative)?;
    Ok(IncidentDetail {
        jobs: jobs(db, Some(id))?,
        runs: runs(db, id)?,
        pull_requests: pull_requests(db, Some(id))?,
        stack_dependencies,
        timeline: timeline(db, id)?,
        release_checks: super::release_checks::verdicts(db, id)?,
        incident,
        representative,
        samples,
    })
}

/// The fix jobs of `incident` (all when `None`), oldest first.
pub(crate) fn jobs<S: Sql + ?Sized>(db: &mut S, incident: Option<i64>) -> Result<Vec<FixJob>> {
    let null = id_is_null(db.dialect(), 1);
    db.all_rows(
        &format!("SELECT {JOB_COLUMNS} FROM fix_jobs WHERE {null} OR incident_id = ?1 ORDER BY id"),
        &[&incident],
        job_of,
    )
}

/// The fix runs of `incident`, oldest first.
pub(crate) fn runs<S: Sql + ?Sized>(db: &mut S, incident: i64) -> Result<Vec<FixRun>> {
    db.all_rows(
        &format!("SELECT {RUN_COLUMNS} FROM fix_runs WHERE incident_id = ?1 ORDER BY id"),
        &[&incident],
        run_of,
    )
}

/// The pull requests of `incident` (all when `None`), newest first.
pub(crate) fn pull_requests<S: Sql + ?Sized>(db: &mut S, incident: Option<i64>) -> Result<Vec<PullRequestRecord>> {
    let null = id_is_null(db.dialect(), 1);
    db.all_rows(
        &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE {null} OR incident_id = ?1 ORDER BY number DESC"),
        &[&incident],
        |r| RawPr::from_row(r)?.into_record(),
    )
}

/// Pull request `number`'s row, if there is one (`lock`: locked for an
/// update, where the dialect locks rows).
pub(crate) fn pull_request<S: Sql + ?Sized>(db: &mut S, number: i64, lock: bool) -> Result<Option<RawPr>> {
    let lock = if lock { db.dialect().for_update() } else { "" };
    db.first_row(
        &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE number = ?1{lock}"),
        &[&number],
        RawPr::from_row,
    )
}

/// Incident `id`'s timeline, oldest first.
pub(crate) fn timeline<S: Sql + ?Sized>(db: &mut S, id: i64) -> Result<Vec<TimelineEntry>> {
    db.all_rows(
        "SELECT at, from_status, to_status, actor, reason FROM incident_timeline
         WHERE incident_id = ?1 ORDER BY id",
        &[&id],
        timeline_of,
    )
}

/// Totals of everything ingested.
pub(crate) fn totals<S: Sql + ?Sized>(db: &mut S) -> Result<Totals> {
    db.one_row(
        "SELECT t.batches, t.events, t.occurrences, (SELECT COUNT(*) FROM incidents)
         FROM ingest_totals t WHERE t.id = 1",
        &[],
        |r| {
            Ok(Totals {
                batches: u64_of(r.int(0)?),
                events: u64_of(r.int(1)?),
                occurrences: u64_of(r.int(2)?),
                incidents: u64_of(r.int(3)?),
            })
        },
    )
}
