//! Occurrences per incident per hour (`incident_hours`): written in the
//! ingest transaction, read for charts and searches of the incident list.

use bugstack_core::Timestamp;
use rusqlite::{params, Connection};

use super::rows::{all_rows, incident_of, ts, u64_of};
use crate::store::grouping::hour_start;
use crate::store::rows::incident_columns;
use crate::store::sql::Dialect;
use crate::store::types::{HourCount, IncidentFilter, IncidentSearch};
use crate::Result;

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
            "SELECT {} FROM incidents i WHERE {condition}
             ORDER BY i.last_seen DESC, i.id DESC LIMIT ?4 OFFSET ?5",
            incident_columns(Dialect::Sqlite)
        ),
        params![status, text, filter.project, limit, offset],
        incident_of,
    )?;
    Ok(IncidentSearch {
        incidents,
        total: u64_of(total),
    })
}
