//! Releases classified against a fix by git ancestry (the SQLite store's
//! rules): which releases of fixed incidents still need a check, recording
//! a verdict, and verification of silent live releases.

use std::time::Duration;

use bugstack_core::Timestamp;
use postgres::{GenericClient, Transaction};

use super::rows::{big, ms, release_check_of, verdict_of};
use crate::store::rules;
use crate::store::{ReleaseCheck, ReleaseVerdictRecord};
use crate::Result;

/// See [`IncidentStore::releases_to_check`](crate::store::IncidentStore::releases_to_check).
pub(super) fn releases_to_check(
    tx: &mut Transaction<'_>,
    project: Option<i64>,
    limit: usize,
    recheck_unknown_after: Duration,
    now: Timestamp,
) -> Result<Vec<ReleaseCheck>> {
    let recheck_before = rules::recheck_before(now, recheck_unknown_after);
    tx.query(
        "SELECT id, release, MAX(fix_commit), MAX(fixed_in_release), MAX(seen) AS seen FROM (
             SELECT i.id, r.release, i.fix_commit, i.fixed_in_release, r.last_seen AS seen
             FROM incidents i
             JOIN incident_releases r ON r.incident_id = i.id
             WHERE i.status IN ('fixed', 'verified') AND ($3::BIGINT IS NULL OR i.project_id = $3)
             UNION ALL
             SELECT i.id, l.name, i.fix_commit, i.fixed_in_release, l.last_live_at AS seen
             FROM incidents i
             JOIN releases l ON l.project_id = i.project_id AND l.last_live_at >= i.fixed_at
             WHERE i.status IN ('fixed', 'verified') AND ($3::BIGINT IS NULL OR i.project_id = $3)
         ) c
         WHERE NOT EXISTS (SELECT 1 FROM release_verdicts v WHERE v.incident_id = c.id AND v.release = c.release
                           AND (v.verdict != 'unknown' OR v.checked_at > $1))
         GROUP BY id, release
         ORDER BY seen DESC, id
         LIMIT $2",
        &[&recheck_before, &big(limit), &project],
    )?
    .iter()
    .map(|r| release_check_of(r))
    .collect()
}

/// Incident `id`'s release classifications, in order of the check.
pub(super) fn verdicts(tx: &mut Transaction<'_>, id: i64) -> Result<Vec<ReleaseVerdictRecord>> {
    tx.query(
        "SELECT release, verdict, commit_sha, note, checked_at FROM release_verdicts
         WHERE incident_id = $1 ORDER BY checked_at, release",
        &[&id],
    )?
    .iter()
    .map(|r| verdict_of(r))
    .collect()
}

/// The (incident, live release, silent since) due for verification.
pub(super) fn due_for_verification(
    client: &mut impl GenericClient,
    window: Duration,
    now: Timestamp,
) -> Result<Vec<(i64, String, i64)>> {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    client
        .query(
            "SELECT i.id, l.name, GREATEST(l.first_live_at, i.fixed_at) AS since
             FROM incidents i
             JOIN release_verdicts v ON v.incident_id = i.id AND v.verdict = 'contains-fix'
             JOIN releases l ON l.project_id = i.project_id AND l.name = v.release
             WHERE i.status = 'fixed'
               AND GREATEST(l.first_live_at, i.fixed_at) <= $1::BIGINT - $2::BIGINT
               AND NOT EXISTS (SELECT 1 FROM incident_releases r
                               WHERE r.incident_id = i.id AND r.release = l.name)
             ORDER BY i.id, since",
            &[&ms(now), &window_ms],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
}
