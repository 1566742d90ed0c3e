//! Recording batches of events, written once for both stores over
//! [`IngestTx`] (see [`IncidentStore::ingest`](crate::store::IncidentStore::ingest)):
//! grouping by fingerprint, creating or updating incidents, regressions,
//! releases, the bounded sample, the hourly counts and the totals. The
//! statements are [`IngestTx`]'s.

use bugstack_core::{Event, Timestamp};
use bugstack_fix::Triggers;

use super::convert::u64_of;
use super::flow::{enqueue_capped, set_status};
use super::grouping::{group_events, title_of, Group};
use super::ingest_tx::IngestTx;
use super::quota::{overflow_fingerprint, overflow_title, QuotaState};
use super::rules::{self, Found};
use super::{IncidentQuota, IngestSummary, Status};
use crate::{Error, Result};

/// Records one batch of `project` inside `tx`: each group updates (or
/// creates) its incident, then its releases and samples; the totals count
/// the batch. A new incident gets a fix job only when its first event
/// passes the `triggers` (kind, level, environment) and its count reaches
/// `triggers.min_count` (an incident reaching it later gets its job then);
/// a regression always gets one. At most `triggers.max_queued_jobs` fix
/// jobs are queued at once (see [`enqueue_capped`]).
///
/// With a `quota`, a new fingerprint over the sender's quota creates no
/// incident: its events are counted in the sender's overflow incident.
///
/// Everything happens in `project`: its incidents are the only ones a
/// fingerprint can match, and new incidents are created in it. A
/// fingerprint another writer creates meanwhile is added to, not created
/// twice.
pub(crate) fn ingest_in<T: IngestTx + ?Sized>(
    tx: &mut T,
    project: i64,
    events: &[Event],
    received_at: Timestamp,
    triggers: &Triggers,
    quota: Option<&IncidentQuota>,
) -> Result<IngestSummary> {
    let mut summary = IngestSummary::default();
    let mut quota = quota.map(QuotaState::new);
    let groups = group_events(events, received_at);
    tx.lock_fingerprints(project, &groups, quota.as_ref().map(QuotaState::quota))?;
    for g in &groups {
        let id = match tx.find_incident(project, &g.fingerprint)? {
            None if match quota.as_mut() {
                Some(q) => !q.admit(received_at, |source, since| tx.created_since(source, since))?,
                None => false,
            } =>
            {
                let Some(q) = quota.as_ref().map(QuotaState::quota) else {
                    continue;
                };
                summary.over_quota = summary.over_quota.saturating_add(u64_of(g.count));
                over_quota(tx, project, q, g, received_at)?
            }
            None => match new_incident(tx, project, g, quota.as_ref(), received_at, triggers, &mut summary)? {
                Some(id) => id,
                // Another writer created it after our look-up: add to it.
                None => {
                    let found = tx.find_incident(project, &g.fingerprint)?.ok_or(Error::Corrupt {
                        column: "incidents.fingerprint",
                        value: g.fingerprint.to_string(),
                    })?;
                    existing(tx, &found, g, received_at, triggers, &mut summary)?
                }
            },
            Some(found) => existing(tx, &found, g, received_at, triggers, &mut summary)?,
        };
        tx.record_releases(id, g)?;
        tx.record_samples(id, g, received_at)?;
        tx.record_hours(id, &g.hours, received_at)?;
        summary.occurrences = summary.occurrences.saturating_add(u64_of(g.count));
    }
    summary.events = u64::try_from(events.len()).unwrap_or(u64::MAX);
    tx.add_to_totals(&summary)?;
    Ok(summary)
}

/// Counts a group of a new fingerprint over the sender's `quota` in the
/// sender's overflow incident (created on first use).
fn over_quota<T: IngestTx + ?Sized>(
    tx: &mut T,
    project: i64,
    quota: &IncidentQuota,
    g: &Group<'_>,
    received_at: Timestamp,
) -> Result<i64> {
    if let Some(id) = tx.find_overflow(project, &quota.source)? {
        tx.add_occurrences(id, g, received_at)?;
        return Ok(id);
    }
    let title = overflow_title(&quota.source, quota.new_incidents_per_hour);
    let fingerprint = overflow_fingerprint(&quota.source);
    if let Some(id) = tx.create_incident(project, g, &fingerprint, &title, received_at)? {
        tx.record(id, None, Status::Open, received_at, &rules::overflow_cause())?;
        return Ok(id);
    }
    // Created by another writer meanwhile.
    let id = tx.find_overflow(project, &quota.source)?.ok_or(Error::Corrupt {
        column: "incidents.fingerprint",
        value: fingerprint.to_string(),
    })?;
    tx.add_occurrences(id, g, received_at)?;
    Ok(id)
}

/// A new incident for group `g` (`None` when another writer created its
/// fingerprint first), tagged with the sender of a `quota`, with its job
/// when the triggers want one now.
fn new_incident<T: IngestTx + ?Sized>(
    tx: &mut T,
    project: i64,
    g: &Group<'_>,
    quota: Option<&QuotaState<'_>>,
    received_at: Timestamp,
    triggers: &Triggers,
    summary: &mut IngestSummary,
) -> Result<Option<i64>> {
    let title = title_of(&g.first.message);
    let Some(id) = tx.create_incident(project, g, &g.fingerprint, &title, received_at)? else {
        return Ok(None);
    };
    if let Some(q) = quota {
        tx.set_source(id, &q.quota().source)?;
    }
    summary.new_incidents.push(id);
    let (cause, enqueue) = rules::first_seen(g, triggers);
    tx.record(id, None, Status::Open, received_at, &cause)?;
    if enqueue && enqueue_capped(tx, id, received_at, triggers.max_queued_jobs)? {
        summary.jobs_enqueued += 1;
    }
    Ok(Some(id))
}

/// Adds a group to an existing incident: counts, a regression when it is
/// fixed and seen in a release with the fix, its job when it reaches the
/// triggers' `min_count`.
fn existing<T: IngestTx + ?Sized>(
    tx: &mut T,
    found: &Found,
    g: &Group<'_>,
    received_at: Timestamp,
    triggers: &Triggers,
    summary: &mut IngestSummary,
) -> Result<i64> {
    let id = found.id;
    tx.add_occurrences(id, g, received_at)?;
    if found.status.is_fixed() {
        if let Some(rel) = tx.seen_in_a_release_with_the_fix(id, g)? {
            set_status(tx, id, Status::Regressed, received_at, &rules::regression_cause(rel))?;
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

/// Whether this batch brings an `open` incident that never had a fix job
/// to the triggers' `min_count` (its kind, level and the batch's
/// environment passing the triggers).
fn reaches_min_count<T: IngestTx + ?Sized>(
    tx: &mut T,
    found: &Found,
    g: &Group<'_>,
    triggers: &Triggers,
) -> Result<bool> {
    if !found.may_reach_min_count(g, triggers) || tx.is_overflow(found.id)? {
        return Ok(false);
    }
    Ok(tx.job_count(found.id)? == 0)
}
