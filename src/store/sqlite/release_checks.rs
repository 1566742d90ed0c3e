//! Releases classified against a fix by git ancestry: which releases of
//! fixed incidents still need a check, and recording a check's verdict (a
//! release containing the fix that the incident was seen in makes it
//! `regressed`). The git work happens outside the store, in the serve
//! process's background task (`crate::release_check`).

use std::time::Duration;

use bugstack_core::Timestamp;
use rusqlite::{params, Connection};

use super::rows::{all_rows, ms, release_check_of, verdict_of};
use crate::store::rules;
use crate::store::{ReleaseCheck, ReleaseVerdictRecord};
use crate::Result;

/// See [`IncidentStore::releases_to_check`](crate::store::IncidentStore::releases_to_check).
pub(super) fn releases_to_check(
    conn: &Connection,
    project: Option<i64>,
    limit: usize,
    recheck_unknown_after: Duration,
    now: Timestamp,
) -> Result<Vec<ReleaseCheck>> {
    let recheck_before = rules::recheck_before(now, recheck_unknown_after);
    // The releases the incident was seen in, and the releases announced
    // live since it was fixed (for verification).
    let mut stmt = conn.prepare_cached(
        "SELECT id, release, fix_commit, fixed_in_release, MAX(seen) AS seen FROM (
             SELECT i.id, r.release, i.fix_commit, i.fixed_in_release, r.last_seen AS seen
             FROM incidents i
             JOIN incident_releases r ON r.incident_id = i.id
             WHERE i.status IN ('fixed', 'verified') AND (?3 IS NULL OR i.project_id = ?3)
             UNION ALL
             SELECT i.id, l.name, i.fix_commit, i.fixed_in_release, l.last_live_at AS seen
             FROM incidents i
             JOIN releases l ON l.project_id = i.project_id AND l.last_live_at >= i.fixed_at
             WHERE i.status IN ('fixed', 'verified') AND (?3 IS NULL OR i.project_id = ?3)
         ) c
         WHERE NOT EXISTS (SELECT 1 FROM release_verdicts v WHERE v.incident_id = c.id AND v.release = c.release
                           AND (v.verdict != 'unknown' OR v.checked_at > ?1))
         GROUP BY id, release
         ORDER BY seen DESC, id
         LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        params![recheck_before, i64::try_from(limit).unwrap_or(i64::MAX), project],
        |r| Ok(release_check_of(r)),
    )?;
    rows.map(|r| r?).collect()
}

/// Incident `id`'s release classifications, in order of the check.
pub(super) fn verdicts(conn: &Connection, id: i64) -> Result<Vec<ReleaseVerdictRecord>> {
    all_rows(
        conn,
        "SELECT release, verdict, commit_sha, note, checked_at FROM release_verdicts
         WHERE incident_id = ?1 ORDER BY checked_at, release",
        [id],
        verdict_of,
    )
}

/// The (incident, live release, silent since) due for verification.
pub(super) fn due_for_verification(
    conn: &Connection,
    window: Duration,
    now: Timestamp,
) -> Result<Vec<(i64, String, i64)>> {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let due = conn
        .prepare_cached(
            "SELECT i.id, l.name, max(l.first_live_at, i.fixed_at) AS since
             FROM incidents i
             JOIN release_verdicts v ON v.incident_id = i.id AND v.verdict = 'contains-fix'
             JOIN releases l ON l.project_id = i.project_id AND l.name = v.release
             WHERE i.status = 'fixed'
               AND max(l.first_live_at, i.fixed_at) <= ?1 - ?2
               AND NOT EXISTS (SELECT 1 FROM incident_releases r
                               WHERE r.incident_id = i.id AND r.release = l.name)
             ORDER BY i.id, since",
        )?
        .query_map(params![ms(now), window_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(due)
}
