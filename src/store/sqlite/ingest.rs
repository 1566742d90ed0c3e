//! Recording batches of events: grouping by fingerprint, creating or
//! updating incidents, regressions, releases, the bounded sample and the
//! totals (see [`IncidentStore::ingest`](crate::store::IncidentStore::ingest)).

use bugstack_core::{Event, Fingerprint, Timestamp};
use rusqlite::{params, OptionalExtension, Transaction};

use bugstack_fix::Triggers;

use super::quota::{created_since, find_overflow, set_source};
use super::rows::{first_row, ms, u64_of};
use crate::store::flow::{enqueue_capped, set_status, StoreTx};
use crate::store::grouping::{count_i64, group_events, title_of, Group};
use crate::store::quota::{overflow_fingerprint, overflow_title, QuotaState};
use crate::store::rules::{self, Found};
use crate::store::{IncidentQuota, IngestSummary, Status, SAMPLE_SIZE};
use crate::Result;

pub(super) use crate::store::convert::saturating_add_sql;

/// Records one batch inside `tx`: each group updates (or creates) its
/// incident, then its releases and samples; the totals count the batch.
/// A new incident gets a fix job only when its first event passes the
/// `triggers` (kind, level, environment) and its count reaches
/// `triggers.min_count` (an incident reaching it later gets its job then);
/// a regression always gets one. At most `triggers.max_queued_jobs` fix
/// jobs are queued at once (see [`enqueue_capped`]).
///
/// With a `quota`, a new fingerprint over the sender's quota creates no
/// incident: its events are counted in the sender's overflow incident.
///
/// Everything happens in `project`: its incidents are the only ones a
/// fingerprint can match, and new incidents are created in it.
pub(super) fn ingest_in(
    tx: &mut Transaction<'_>,
    project: i64,
    events: &[Event],
    received_at: Timestamp,
    triggers: &Triggers,
    quota: Option<&IncidentQuota>,
) -> Result<IngestSummary> {
    let max_queued_jobs = triggers.max_queued_jobs;
    let mut summary = IngestSummary::default();
    let mut quota = quota.map(QuotaState::new);
    for g in &group_events(events, received_at) {
        let id = match find_incident(tx, project, &g.fingerprint)? {
            None if match quota.as_mut() {
                Some(q) => !q.admit(received_at, |source, since| created_since(tx, source, since))?,
                None => false,
            } =>
            {
                let Some(q) = quota.as_ref().map(QuotaState::quota) else {
                    continue;
                };
                summary.over_quota = summary.over_quota.saturating_add(u64_of(g.count));
                match find_overflow(tx, project, &q.source)? {
                    Some(id) => {
                        add_occurrences(tx, id, g, received_at)?;
                        id
                    }
                    None => {
                        let title = overflow_title(&q.source, q.new_incidents_per_hour);
                        let id =
                            create_incident(tx, project, g, &overflow_fingerprint(&q.source), &title, received_at)?;
                        tx.record(id, None, Status::Open, received_at, &rules::overflow_cause())?;
                        id
                    }
                }
            }
            None => {
                let id = create_incident(tx, project, g, &g.fingerprint, &title_of(&g.first.message), received_at)?;
                if let Some(q) = &quota {
                    set_source(tx, id, &q.quota().source)?;
                }
                summary.new_incidents.push(id);
                let (cause, enqueue) = rules::first_seen(g, triggers);
                tx.record(id, None, Status::Open, received_at, &cause)?;
                if enqueue && enqueue_capped(tx, id, received_at, max_queued_jobs)? {
                    summary.jobs_enqueued += 1;
                }
                id
            }
            Some(found) => {
                let id = found.id;
                add_occurrences(tx, id, g, received_at)?;
                if found.status.is_fixed() {
                    if let Some(rel) = seen_in_a_release_with_the_fix(tx, id, g)? {
                        let cause = rules::regression_cause(rel);
                        set_status(tx, id, Status::Regressed, received_at, &cause)?;
                        summary.regressed.push(id);
                        if enqueue_capped(tx, id, received_at, max_queued_jobs)? {
                            summary.jobs_enqueued += 1;
                        }
                    }
                } else if reaches_min_count(tx, &found, g, triggers)?
                    && enqueue_capped(tx, id, received_at, max_queued_jobs)?
                {
                    summary.jobs_enqueued += 1;
                }
                id
            }
        };
        record_releases(tx, id, g)?;
        record_samples(tx, id, g, received_at)?;
        super::hours::record_hours(tx, id, &g.hours, received_at)?;
        summary.occurrences = summary.occurrences.saturating_add(u64_of(g.count));
    }
    summary.events = u64::try_from(events.len()).unwrap_or(u64::MAX);
    add_to_totals(tx, &summary)?;
    Ok(summary)
}

/// The incident of `project` with `fingerprint`, if there is one.
fn find_incident(tx: &mut Transaction<'_>, project: i64, fingerprint: &Fingerprint) -> Result<Option<Found>> {
    first_row(
        tx,
        "SELECT id, status, count, kind, level FROM incidents WHERE project_id = ?1 AND fingerprint = ?2",
        params![project, fingerprint.as_str()],
        |r| Found::from_row(r),
    )
}

/// Whether this batch brings an `open` incident that never had a fix job
/// to the triggers' `min_count` (its kind, level and the batch's
/// environment passing the triggers).
fn reaches_min_count(tx: &mut Transaction<'_>, found: &Found, g: &Group<'_>, triggers: &Triggers) -> Result<bool> {
    if !found.may_reach_min_count(g, triggers) || tx.is_overflow(found.id)? {
        return Ok(false);
    }
    let jobs: i64 = tx
        .prepare_cached("SELECT COUNT(*) FROM fix_jobs WHERE incident_id = ?1")?
        .query_row([found.id], |r| r.get(0))?;
    Ok(jobs == 0)
}

/// A new `open` incident of `project` for the group with `fingerprint` and
/// `title`, its first event the representative.
fn create_incident(
    tx: &mut Transaction<'_>,
    project: i64,
    g: &Group<'_>,
    fingerprint: &Fingerprint,
    title: &str,
    received_at: Timestamp,
) -> Result<i64> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO incidents (fingerprint, title, kind, level, status, count, first_seen,
                 last_seen, representative, created_at, updated_at, project_id)
             VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?9, ?10) RETURNING id",
        )?
        .query_row(
            params![
                fingerprint.as_str(),
                title,
                g.first.kind.as_str(),
                g.first.level.as_str(),
                g.count,
                g.first_seen,
                g.last_seen,
                serde_json::to_string(g.first)?,
                ms(received_at),
                project
            ],
            |r| r.get(0),
        )?)
}

/// Adds the group's occurrences to incident `id`'s count and time span.
fn add_occurrences(tx: &mut Transaction<'_>, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
    tx.prepare_cached(&format!(
        "UPDATE incidents SET count = {}, first_seen = min(first_seen, ?3),
             last_seen = max(last_seen, ?4), updated_at = ?5 WHERE id = ?1",
        saturating_add_sql("count", "?2")
    ))?
    .execute(params![id, g.count, g.first_seen, g.last_seen, ms(received_at)])?;
    Ok(())
}

/// The first of the group's releases known by name to contain incident
/// `id`'s fix (releases named otherwise are classified by git ancestry
/// after ingest, outside this transaction).
fn seen_in_a_release_with_the_fix<'g>(tx: &mut Transaction<'_>, id: i64, g: &Group<'g>) -> Result<Option<&'g str>> {
    for (rel, ..) in &g.releases {
        let hit: Option<i64> = tx
            .prepare_cached("SELECT 1 FROM releases_with_fix WHERE incident_id = ?1 AND release = ?2")?
            .query_row(params![id, rel], |r| r.get(0))
            .optional()?;
        if hit.is_some() {
            return Ok(Some(rel));
        }
    }
    Ok(None)
}

/// Inserts or updates one release of an incident: `?1` incident, `?2`
/// release, `?3` count, `?4` first seen, `?5` last seen. The next `seq` is
/// read from the `incident_releases_seq` index (one lookup, whatever the
/// number of releases).
/// (The count saturates like [`saturating_add_sql`].)
pub(super) const RECORD_RELEASE_SQL: &str =
    "INSERT INTO incident_releases (incident_id, release, count, first_seen, last_seen, seq)
     VALUES (?1, ?2, ?3, ?4, ?5,
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_releases WHERE incident_id = ?1))
     ON CONFLICT (incident_id, release) DO UPDATE SET
         count = CASE WHEN count > 9223372036854775807 - excluded.count THEN 9223372036854775807
                      ELSE count + excluded.count END,
         first_seen = min(first_seen, excluded.first_seen),
         last_seen = max(last_seen, excluded.last_seen)";

/// Adds the group's releases to incident `id`'s, in order of first sighting.
fn record_releases(tx: &mut Transaction<'_>, id: i64, g: &Group<'_>) -> Result<()> {
    for (rel, count, first, last) in &g.releases {
        tx.prepare_cached(RECORD_RELEASE_SQL)?
            .execute(params![id, rel, count, first, last])?;
    }
    Ok(())
}

/// Adds the group's recent events to incident `id`'s sample and drops all
/// but the [`SAMPLE_SIZE`] most recent.
fn record_samples(tx: &mut Transaction<'_>, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
    let mut insert =
        tx.prepare_cached("INSERT INTO event_samples (incident_id, received_at, event) VALUES (?1, ?2, ?3)")?;
    for e in &g.recent {
        insert.execute(params![id, ms(received_at), serde_json::to_string(e)?])?;
    }
    tx.prepare_cached(
        "DELETE FROM event_samples WHERE incident_id = ?1 AND id <= (SELECT id FROM event_samples
             WHERE incident_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![id, SAMPLE_SIZE])?;
    Ok(())
}

/// Counts the batch in the ingest totals.
fn add_to_totals(tx: &mut Transaction<'_>, summary: &IngestSummary) -> Result<()> {
    tx.execute(
        &format!(
            "UPDATE ingest_totals SET batches = {}, events = {}, occurrences = {}",
            saturating_add_sql("batches", "1"),
            saturating_add_sql("events", "?1"),
            saturating_add_sql("occurrences", "?2")
        ),
        params![
            count_i64(summary.events),
            i64::try_from(summary.occurrences).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use bugstack_core::{EventKind, Level};
    use rusqlite::{Connection, StatementStatus};

    use super::*;
    use crate::store::{IncidentStore, SqliteStore, DB_FILE};

    fn ev(group: &str, release: &str) -> Event {
        let mut e = Event::new(EventKind::Panic, Level::Fatal, "boom", Timestamp::from_millis(1_000));
        e.fingerprint_parts = vec![group.to_string()];
        e.release = Some(release.to_string());
        e
    }

    /// SQLite VM steps one new release of incident `id` costs.
    fn steps_for_a_new_release(conn: &Connection, id: i64, release: &str) -> i32 {
        let mut st = conn.prepare(RECORD_RELEASE_SQL).unwrap();
        st.reset_status(StatementStatus::VmStep);
        st.execute(params![id, release, 1, 1, 1]).unwrap();
        st.get_status(StatementStatus::VmStep)
    }

    /// Ingest is linear in the number of distinct releases: recording a new
    /// release costs the same number of SQLite steps whether the incident
    /// has 10 releases or 3,000 (before the `incident_releases_seq` index the
    /// `MAX(seq)` lookup scanned them all, so the cost grew with the count).
    #[test]
    fn a_new_release_costs_the_same_whatever_the_number_of_releases() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        s.ingest(
            &(0..10).map(|r| ev("g", &format!("r{r}"))).collect::<Vec<_>>(),
            Timestamp::now(),
        )
        .unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let few = steps_for_a_new_release(&conn, 1, "few");
        for chunk in 0..3 {
            let batch: Vec<Event> = (0..1000).map(|r| ev("g", &format!("r{chunk}-{r}"))).collect();
            s.ingest(&batch, Timestamp::now()).unwrap();
        }
        let many = steps_for_a_new_release(&conn, 1, "many");
        assert!(many <= few + 10, "{few} steps with 11 releases, {many} with 3,011");
        let seq: i64 = conn
            .query_row(
                "SELECT seq FROM incident_releases WHERE incident_id = 1 AND release = 'many'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(seq, 3012);
    }

    /// Counts saturate at `i64::MAX` instead of turning into REALs the store
    /// can no longer read.
    #[test]
    fn counts_saturate_instead_of_overflowing() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        s.ingest(&[ev("g", "1.0")], Timestamp::now()).unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let near = i64::MAX - 5;
        conn.execute("UPDATE incidents SET count = ?1", [near]).unwrap();
        conn.execute("UPDATE incident_releases SET count = ?1", [near]).unwrap();
        conn.execute(
            "UPDATE ingest_totals SET batches = ?1, events = ?1, occurrences = ?1",
            [near],
        )
        .unwrap();
        let mut e = ev("g", "1.0");
        e.count = 1000;
        s.ingest(&[e.clone(), e], Timestamp::now()).unwrap();
        let types: (String, String, String) = conn
            .query_row(
                "SELECT typeof(i.count), typeof(r.count), typeof(t.occurrences)
                 FROM incidents i, incident_releases r, ingest_totals t",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(types, ("integer".into(), "integer".into(), "integer".into()));
        let i = &s.incidents().unwrap()[0];
        assert_eq!(i.count, u64::try_from(i64::MAX).unwrap());
        let totals = s.totals().unwrap();
        assert_eq!(totals.occurrences, u64::try_from(i64::MAX).unwrap());
        assert_eq!(totals.batches, u64::try_from(near + 1).unwrap());
        // Still readable and still saturated after more.
        s.ingest(&[ev("g", "1.0")], Timestamp::now()).unwrap();
        assert_eq!(s.incident(i.id).unwrap().count, u64::try_from(i64::MAX).unwrap());
    }
}
