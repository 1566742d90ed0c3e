//! Occurrences per incident per hour (`incident_hours`): written in the
//! ingest transaction, read for charts and searches of the incident list.

use bugstack_core::Timestamp;
use rusqlite::{params, Connection, Transaction};

use super::ingest::saturating_add_sql;
use super::rows::{all_rows, incident_of, ts, u64_of, INCIDENT_COLUMNS};
use crate::store::grouping::{hour_start, retention_cutoff};
use crate::store::types::{HourCount, IncidentFilter, IncidentSearch};
use crate::Result;

/// Adds `hours` (hour start, occurrences) to incident `id`'s counts and
/// drops its hours older than the retention. Hours already past the
/// retention are not written.
pub(super) fn record_hours(
    tx: &mut Transaction<'_>,
    id: i64,
    hours: &[(i64, i64)],
    received_at: Timestamp,
) -> Result<()> {
    let cutoff = retention_cutoff(received_at);
    let sql = format!(
        "INSERT INTO incident_hours (incident_id, hour, count) VALUES (?1, ?2, ?3)
         ON CONFLICT (incident_id, hour) DO UPDATE SET count = {}",
        saturating_add_sql("count", "excluded.count")
    );
    let mut upsert = tx.prepare_cached(&sql)?;
    for &(hour, count) in hours.iter().filter(|(h, _)| *h >= cutoff) {
        upsert.execute(params![id, hour, count.max(0)])?;
    }
    tx.prepare_cached("DELETE FROM incident_hours WHERE incident_id = ?1 AND hour < ?2")?
        .execute(params![id, cutoff])?;
    Ok(())
}

/// Incident `id`'s hours from the hour of `since` on, oldest first.
pub(super) fn histogram(conn: &Connection, id: i64, since: Timestamp) -> Result<Vec<HourCount>> {
    let since = hour_start(since);
    let mut stmt = conn
        .prepare_cached("SELECT hour, count FROM incident_hours WHERE incident_id = ?1 AND hour >= ?2 ORDER BY hour")?;
    let rows = stmt.query_map(params![id, since], |r| {
        Ok(HourCount {
            hour: ts(r.get(0)?),
            count: u64_of(r.get(1)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One page of the incidents matching `filter` and the number matching.
pub(super) fn search(conn: &Connection, filter: &IncidentFilter) -> Result<IncidentSearch> {
    let status = filter.status.map(|s| s.to_string());
    let text = filter.like_pattern();
    let condition = "(?1 IS NULL OR i.status = ?1) AND (?2 IS NULL OR i.title LIKE ?2 ESCAPE '\\' \
                     OR i.kind LIKE ?2 ESCAPE '\\' OR i.level LIKE ?2 ESCAPE '\\') \
                     AND (?3 IS NULL OR i.project_id = ?3)";
    let (limit, offset) = (
        i64::try_from(filter.limit).unwrap_or(i64::MAX),
        i64::try_from(filter.offset).unwrap_or(i64::MAX),
    );
    let total: i64 = conn
        .prepare_cached(&format!("SELECT COUNT(*) FROM incidents i WHERE {condition}"))?
        .query_row(params![status, text, filter.project], |r| r.get(0))?;
    let incidents = all_rows(
        conn,
        &format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE {condition}
             ORDER BY i.last_seen DESC, i.id DESC LIMIT ?4 OFFSET ?5"
        ),
        params![status, text, filter.project, limit, offset],
        incident_of,
    )?;
    Ok(IncidentSearch {
        incidents,
        total: u64_of(total),
    })
}
