//! Recording batches of events, as the SQLite store does (see
//! [`IncidentStore::ingest`](crate::store::IncidentStore::ingest)), safe
//! for several collectors writing at once: a new fingerprint is created
//! with `INSERT ... ON CONFLICT DO NOTHING` (a concurrent creator wins and
//! this batch adds to its incident), an existing incident's row is locked
//! (`FOR UPDATE`) before its count and status change.

use bugstack_core::{Fingerprint, Timestamp};
use bugstack_fix::Triggers;
use postgres::Transaction;

use super::quota::{created_since, find_overflow, set_source};
use super::rows::{ms, u64_of};
use crate::store::flow::{enqueue_capped, set_status, StoreTx};
use crate::store::grouping::{count_i64, group_events, title_of, Group};
use crate::store::quota::{overflow_fingerprint, overflow_title, QuotaState};
use crate::store::rules::{self, Found};
use crate::store::{IncidentQuota, IngestSummary, Status, SAMPLE_SIZE};
use crate::Result;

pub(super) use crate::store::convert::saturating_add_sql;

/// Records one batch of `project` inside `tx` (see the SQLite store's
/// `ingest_in`, which this mirrors rule for rule).
pub(super) fn ingest_in(
    tx: &mut Transaction<'_>,
    project: i64,
    events: &[bugstack_core::Event],
    received_at: Timestamp,
    triggers: &Triggers,
    quota: Option<&IncidentQuota>,
) -> Result<IngestSummary> {
    let max_queued_jobs = triggers.max_queued_jobs;
    let mut summary = IngestSummary::default();
    let mut quota = quota.map(QuotaState::new);
    let groups = group_events(events, received_at);
    lock_fingerprints(tx, project, &groups, quota.as_ref().map(QuotaState::quota))?;
    for g in &groups {
        let found = find_incident(tx, project, &g.fingerprint)?;
        let id = match found {
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
                        match create_incident(tx, project, g, &overflow_fingerprint(&q.source), &title, received_at)? {
                            Some(id) => {
                                tx.record(id, None, Status::Open, received_at, &rules::overflow_cause())?;
                                id
                            }
                            None => {
                                // Created by another collector meanwhile.
                                let id = find_overflow(tx, project, &q.source)?.ok_or(crate::Error::Corrupt {
                                    column: "incidents.fingerprint",
                                    value: overflow_fingerprint(&q.source).to_string(),
                                })?;
                                add_occurrences(tx, id, g, received_at)?;
                                id
                            }
                        }
                    }
                }
            }
            None => match create_incident(tx, project, g, &g.fingerprint, &title_of(&g.first.message), received_at)? {
                Some(id) => {
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
                // Another collector created it after our look-up: add to it.
                None => {
                    let found = find_incident(tx, project, &g.fingerprint)?.ok_or(crate::Error::Corrupt {
                        column: "incidents.fingerprint",
                        value: g.fingerprint.to_string(),
                    })?;
                    existing(tx, &found, g, received_at, triggers, &mut summary)?
                }
            },
            Some(found) => existing(tx, &found, g, received_at, triggers, &mut summary)?,
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

/// Takes a transaction advisory lock per fingerprint of the batch (and the
/// sender's overflow incident), in sorted order: concurrent batches over the
/// same fingerprints, whatever their order, then touch those incidents one
/// after the other instead of deadlocking.
///
/// The keys name the project too: the same fingerprint in two projects is
/// two incidents, which need not wait for each other.
fn lock_fingerprints(
    tx: &mut Transaction<'_>,
    project: i64,
    groups: &[Group<'_>],
    quota: Option<&IncidentQuota>,
) -> Result<()> {
    let mut keys: Vec<String> = groups.iter().map(|g| format!("{project}:{}", g.fingerprint)).collect();
    if let Some(q) = quota {
        keys.push(format!("{project}:{}", overflow_fingerprint(&q.source)));
    }
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    // `unnest` yields the array in order, so the locks are taken in order.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(f, 0)) FROM unnest($1::TEXT[]) AS f",
        &[&keys],
    )?;
    Ok(())
}

/// Adds a group to an existing incident: counts, a regression when it is
/// fixed and seen in a release with the fix, its job when it reaches the
/// triggers' `min_count`.
fn existing(
    tx: &mut Transaction<'_>,
    found: &Found,
    g: &Group<'_>,
    received_at: Timestamp,
    triggers: &Triggers,
    summary: &mut IngestSummary,
) -> Result<i64> {
    let id = found.id;
    add_occurrences(tx, id, g, received_at)?;
    if found.status.is_fixed() {
        if let Some(rel) = seen_in_a_release_with_the_fix(tx, id, g)? {
            let cause = rules::regression_cause(rel);
            set_status(tx, id, Status::Regressed, received_at, &cause)?;
            summary.regressed.push(id);
            if enqueue_capped(tx, id, received_at, triggers.max_queued_jobs)? {
                summary.jobs_enqueued += 1;
            }
        }
    } else if reaches_min_count(tx, found, g, triggers)?
        && enqueue_capped(tx, id, received_at, triggers.max_queued_jobs)?
    {
        summary.jobs_enqueued += 1;
    }
    Ok(id)
}

/// The incident of `project` with `fingerprint`, if there is one, its row
/// locked until the transaction ends.
fn find_incident(tx: &mut Transaction<'_>, project: i64, fingerprint: &Fingerprint) -> Result<Option<Found>> {
    let row = tx.query_opt(
        "SELECT id, status, count, kind, level FROM incidents
         WHERE project_id = $1 AND fingerprint = $2 FOR UPDATE",
        &[&project, &fingerprint.as_str()],
    )?;
    row.map(|r| Found::from_row(&r)).transpose()
}

/// Whether this batch brings an `open` incident that never had a fix job
/// to the triggers' `min_count`.
fn reaches_min_count(tx: &mut Transaction<'_>, found: &Found, g: &Group<'_>, triggers: &Triggers) -> Result<bool> {
    if !found.may_reach_min_count(g, triggers) || tx.is_overflow(found.id)? {
        return Ok(false);
    }
    let jobs: i64 = tx
        .query_one("SELECT COUNT(*) FROM fix_jobs WHERE incident_id = $1", &[&found.id])?
        .try_get(0)?;
    Ok(jobs == 0)
}

/// A new `open` incident of `project` for the group with `fingerprint` and
/// `title` (`None` when another writer created that fingerprint first).
fn create_incident(
    tx: &mut Transaction<'_>,
    project: i64,
    g: &Group<'_>,
    fingerprint: &Fingerprint,
    title: &str,
    received_at: Timestamp,
) -> Result<Option<i64>> {
    let representative = serde_json::to_string(g.first)?;
    let row = tx.query_opt(
        "INSERT INTO incidents (fingerprint, title, kind, level, status, count, first_seen,
             last_seen, representative, created_at, updated_at, project_id)
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $9, $10)
         ON CONFLICT (project_id, fingerprint) DO NOTHING RETURNING id",
        &[
            &fingerprint.as_str(),
            &title,
            &g.first.kind.as_str(),
            &g.first.level.as_str(),
            &g.count,
            &g.first_seen,
            &g.last_seen,
            &representative,
            &ms(received_at),
            &project,
        ],
    )?;
    row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
}

/// Adds the group's occurrences to incident `id`'s count and time span.
fn add_occurrences(tx: &mut Transaction<'_>, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
    tx.execute(
        &format!(
            "UPDATE incidents SET count = {}, first_seen = LEAST(first_seen, $3),
                 last_seen = GREATEST(last_seen, $4), updated_at = $5 WHERE id = $1",
            saturating_add_sql("count", "$2")
        ),
        &[&id, &g.count, &g.first_seen, &g.last_seen, &ms(received_at)],
    )?;
    Ok(())
}

/// The first of the group's releases known by name to contain incident
/// `id`'s fix.
fn seen_in_a_release_with_the_fix<'g>(tx: &mut Transaction<'_>, id: i64, g: &Group<'g>) -> Result<Option<&'g str>> {
    for (rel, ..) in &g.releases {
        let hit = tx.query_opt(
            "SELECT 1 FROM releases_with_fix WHERE incident_id = $1 AND release = $2",
            &[&id, rel],
        )?;
        if hit.is_some() {
            return Ok(Some(rel));
        }
    }
    Ok(None)
}

/// Inserts or updates one release of an incident (`$1` incident, `$2`
/// release, `$3` count, `$4` first seen, `$5` last seen); the count
/// saturates.
const RECORD_RELEASE_SQL: &str =
    "INSERT INTO incident_releases AS r (incident_id, release, count, first_seen, last_seen, seq)
     VALUES ($1, $2, $3, $4, $5,
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_releases WHERE incident_id = $1))
     ON CONFLICT (incident_id, release) DO UPDATE SET
         count = CASE WHEN r.count > 9223372036854775807 - excluded.count THEN 9223372036854775807
                      ELSE r.count + excluded.count END,
         first_seen = LEAST(r.first_seen, excluded.first_seen),
         last_seen = GREATEST(r.last_seen, excluded.last_seen)";

/// Adds the group's releases to incident `id`'s, in order of first sighting
/// (the incident's row is locked, so `seq` is not raced).
fn record_releases(tx: &mut Transaction<'_>, id: i64, g: &Group<'_>) -> Result<()> {
    if g.releases.is_empty() {
        return Ok(());
    }
    let stmt = tx.prepare(RECORD_RELEASE_SQL)?;
    for (rel, count, first, last) in &g.releases {
        tx.execute(&stmt, &[&id, rel, count, first, last])?;
    }
    Ok(())
}

/// Adds the group's recent events to incident `id`'s sample and drops all
/// but the [`SAMPLE_SIZE`] most recent.
fn record_samples(tx: &mut Transaction<'_>, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
    let events = g
        .recent
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<String>, _>>()?;
    tx.execute(
        "INSERT INTO event_samples (incident_id, received_at, event)
         SELECT $1, $2, e FROM unnest($3::TEXT[]) WITH ORDINALITY AS u(e, n) ORDER BY n",
        &[&id, &ms(received_at), &events],
    )?;
    tx.execute(
        "DELETE FROM event_samples WHERE incident_id = $1 AND id <= (SELECT id FROM event_samples
             WHERE incident_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        &[&id, &super::rows::big(SAMPLE_SIZE)],
    )?;
    Ok(())
}

/// Counts the batch in the ingest totals.
fn add_to_totals(tx: &mut Transaction<'_>, summary: &IngestSummary) -> Result<()> {
    let events = count_i64(summary.events);
    let occurrences = i64::try_from(summary.occurrences).unwrap_or(i64::MAX);
    tx.execute(
        &format!(
            "UPDATE ingest_totals SET batches = {}, events = {}, occurrences = {} WHERE id = 1",
            saturating_add_sql("batches", "1"),
            saturating_add_sql("events", "$1"),
            saturating_add_sql("occurrences", "$2")
        ),
        &[&events, &occurrences],
    )?;
    Ok(())
}
