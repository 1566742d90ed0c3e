//! Releases classified against a fix by git ancestry, written once over
//! [`Sql`]: which releases of fixed incidents still need a check, the
//! verdicts recorded, and verification of silent live releases. The git
//! work happens outside the store, in the serve process's background task
//! (`crate::release_check`); recording a verdict is a shared write path of
//! [`super::flow`].

use std::time::Duration;

use bugstack_core::Timestamp;

use super::convert::ms;
use super::reads::{big, id_is_null};
use super::rows::{release_check_of, verdict_of};
use super::rules;
use super::sql::Sql;
use super::{ReleaseCheck, ReleaseVerdictRecord};
use crate::Result;

/// See [`IncidentStore::releases_to_check`](crate::store::IncidentStore::releases_to_check):
/// the releases the incident was seen in, and the releases announced live
/// since it was fixed (for verification).
pub(crate) fn releases_to_check<S: Sql + ?Sized>(
    db: &mut S,
    project: Option<i64>,
    limit: usize,
    recheck_unknown_after: Duration,
    now: Timestamp,
) -> Result<Vec<ReleaseCheck>> {
    let recheck_before = rules::recheck_before(now, recheck_unknown_after);
    let dialect = db.dialect();
    let fix = dialect.pick("fix_commit, fixed_in_release", "MAX(fix_commit), MAX(fixed_in_release)");
    let null = id_is_null(dialect, 3);
    db.all_rows(
        &format!(
            "SELECT id, release, {fix}, MAX(seen) AS seen FROM (
                 SELECT i.id, r.release, i.fix_commit, i.fixed_in_release, r.last_seen AS seen
                 FROM incidents i
                 JOIN incident_releases r ON r.incident_id = i.id
                 WHERE i.status IN ('fixed', 'verified') AND ({null} OR i.project_id = ?3)
                 UNION ALL
                 SELECT i.id, l.name, i.fix_commit, i.fixed_in_release, l.last_live_at AS seen
                 FROM incidents i
                 JOIN releases l ON l.project_id = i.project_id AND l.last_live_at >= i.fixed_at
                 WHERE i.status IN ('fixed', 'verified') AND ({null} OR i.project_id = ?3)
             ) c
             WHERE NOT EXISTS (SELECT 1 FROM release_verdicts v WHERE v.incident_id = c.id AND v.release = c.release
                               AND (v.verdict != 'unknown' OR v.checked_at > ?1))
             GROUP BY id, release
             ORDER BY seen DESC, id
             LIMIT ?2"
        ),
        &[&recheck_before, &big(limit), &project],
        release_check_of,
    )
}

/// Incident `id`'s release classifications, in order of the check.
pub(crate) fn verdicts<S: Sql + ?Sized>(db: &mut S, id: i64) -> Result<Vec<ReleaseVerdictRecord>> {
    db.all_rows(
        "SELECT release, verdict, commit_sha, note, checked_at FROM release_verdicts
         WHERE incident_id = ?1 ORDER BY checked_at, release",
        &[&id],
        verdict_of,
    )
}

/// The (incident, live release, silent since) due for verification.
pub(crate) fn due_for_verification<S: Sql + ?Sized>(
    db: &mut S,
    window: Duration,
    now: Timestamp,
) -> Result<Vec<(i64, String, i64)>> {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let dialect = db.dialect();
    let greatest = dialect.greatest();
    let before = dialect.pick("?1 - ?2", "?1::BIGINT - ?2::BIGINT");
    db.all_rows(
        &format!(
            "SELECT i.id, l.name, {greatest}(l.first_live_at, i.fixed_at) AS since
             FROM incidents i
             JOIN release_verdicts v ON v.incident_id = i.id AND v.verdict = 'contains-fix'
             JOIN releases l ON l.project_id = i.project_id AND l.name = v.release
             WHERE i.status = 'fixed'
               AND {greatest}(l.first_live_at, i.fixed_at) <= {before}
               AND NOT EXISTS (SELECT 1 FROM incident_releases r
                               WHERE r.incident_id = i.id AND r.release = l.name)
             ORDER BY i.id, since"
        ),
        &[&ms(now), &window_ms],
        |r| Ok((r.int(0)?, r.text(1)?, r.int(2)?)),
    )
}
