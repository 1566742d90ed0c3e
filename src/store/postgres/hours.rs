//! Occurrences per incident per hour (`incident_hours`, migration 3): written
//! in the ingest transaction, read for the dashboard's charts and the
//! incident list's search — the SQLite store's `hours`, rule for rule.

use bugstack_core::Timestamp;
use postgres::Transaction;

use super::rows::{big, incident_of, ts, u64_of};
use crate::store::grouping::hour_start;
use crate::store::rows::incident_columns;
use crate::store::sql::Dialect;
use crate::store::types::{HourCount, IncidentFilter, IncidentSearch};
use crate::Result;

/// Incident `id`'s hours from the hour of `since` on, oldest first.
pub(super) fn histogram(tx: &mut Transaction<'_>, id: i64, since: Timestamp) -> Result<Vec<HourCount>> {
    tx.query(
        "SELECT hour, count FROM incident_hours WHERE incident_id = $1 AND hour >= $2 ORDER BY hour",
        &[&id, &hour_start(since)],
    )?
    .iter()
    .map(|r| {
        Ok(HourCount {
            hour: ts(r.try_get(0)?),
            count: u64_of(r.try_get(1)?),
        })
    })
    .collect()
}

/// [`histogram`] of each of `ids` (one query), in the order of `ids`.
pub(super) fn histograms(tx: &mut Transaction<'_>, ids: &[i64], since: Timestamp) -> Result<Vec<Vec<HourCount>>> {
    let rows = tx.query(
        "SELECT incident_id, hour, count FROM incident_hours
         WHERE incident_id = ANY($1) AND hour >= $2 ORDER BY incident_id, hour",
        &[&ids, &hour_start(since)],
    )?;
    let mut by_id: std::collections::HashMap<i64, Vec<HourCount>> = std::collections::HashMap::new();
    for r in &rows {
        by_id.entry(r.try_get(0)?).or_default().push(HourCount {
            hour: ts(r.try_get(1)?),
            count: u64_of(r.try_get(2)?),
        });
    }
    Ok(ids
        .iter()
        .map(|id| by_id.get(id).cloned().unwrap_or_default())
        .collect())
}

/// One page of the incidents matching `filter` and the number matching.
/// The text matches title, kind or level with `ILIKE` (its wildcards in the
/// text are literal): ASCII case-insensitive like SQLite's `LIKE`, and under
/// a non-C database locale other letters fold too.
pub(super) fn search(tx: &mut Transaction<'_>, filter: &IncidentFilter) -> Result<IncidentSearch> {
    let status = filter.status.map(|s| s.to_string());
    let text = filter.like_pattern();
    let condition = "($1::TEXT IS NULL OR i.status = $1) AND ($2::TEXT IS NULL OR i.title ILIKE $2 ESCAPE '\\' \
                     OR i.kind ILIKE $2 ESCAPE '\\' OR i.level ILIKE $2 ESCAPE '\\') \
                     AND ($3::BIGINT IS NULL OR i.project_id = $3)";
    let total: i64 = tx
        .query_one(
            &format!("SELECT COUNT(*) FROM incidents i WHERE {condition}"),
            &[&status, &text, &filter.project],
        )?
        .try_get(0)?;
    let incidents = tx
        .query(
            &format!(
                "SELECT {} FROM incidents i WHERE {condition}
                 ORDER BY i.last_seen DESC, i.id DESC LIMIT $4 OFFSET $5",
                incident_columns(Dialect::Postgres)
            ),
            &[&status, &text, &filter.project, &big(filter.limit), &big(filter.offset)],
        )?
        .iter()
        .map(|r| incident_of(r))
        .collect::<Result<_>>()?;
    Ok(IncidentSearch {
        incidents,
        total: u64_of(total),
    })
}
