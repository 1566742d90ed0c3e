//! Occurrences per incident per hour (`incident_hours`), written in the
//! ingest transaction ([`super::ingest_tx`]) and read here, once over
//! [`Sql`], for the dashboard's charts and the incident list's search.

use bugstack_core::Timestamp;

use super::convert::{ts, u64_of};
use super::grouping::hour_start;
use super::reads::big;
use super::rows::{incident_columns, incident_of};
use super::sql::{Dialect, Sql};
use super::types::{HourCount, IncidentFilter, IncidentSearch};
use crate::Result;

/// Incident `id`'s hours from the hour of `since` on, oldest first.
pub(crate) fn histogram<S: Sql + ?Sized>(db: &mut S, id: i64, since: Timestamp) -> Result<Vec<HourCount>> {
    db.all_rows(
        "SELECT hour, count FROM incident_hours WHERE incident_id = ?1 AND hour >= ?2 ORDER BY hour",
        &[&id, &hour_start(since)],
        |r| {
            Ok(HourCount {
                hour: ts(r.int(0)?),
                count: u64_of(r.int(1)?),
            })
        },
    )
}

/// The condition a search's incidents (`i`) meet: `?1` their status, `?2`
/// a text their title, kind or level matches (its wildcards in the text
/// are literal), `?3` their project; each `NULL` for any. Postgres matches
/// with `ILIKE`: ASCII case-insensitive like SQLite's `LIKE`, and under a
/// non-C database locale other letters fold too.
fn search_condition(dialect: Dialect) -> &'static str {
    dialect.pick(
        "(?1 IS NULL OR i.status = ?1) AND (?2 IS NULL OR i.title LIKE ?2 ESCAPE '\\' \
         OR i.kind LIKE ?2 ESCAPE '\\' OR i.level LIKE ?2 ESCAPE '\\') \
         AND (?3 IS NULL OR i.project_id = ?3)",
        "(?1::TEXT IS NULL OR i.status = ?1) AND (?2::TEXT IS NULL OR i.title ILIKE ?2 ESCAPE '\\' \
         OR i.kind ILIKE ?2 ESCAPE '\\' OR i.level ILIKE ?2 ESCAPE '\\') \
         AND (?3::BIGINT IS NULL OR i.project_id = ?3)",
    )
}

/// One page of the incidents matching `filter` and the number matching.
pub(crate) fn search<S: Sql + ?Sized>(db: &mut S, filter: &IncidentFilter) -> Result<IncidentSearch> {
    let status = filter.status.map(|s| s.to_string());
    let text = filter.like_pattern();
    let dialect = db.dialect();
    let condition = search_condition(dialect);
    let total = db.one_row(
        &format!("SELECT COUNT(*) FROM incidents i WHERE {condition}"),
        &[&status, &text, &filter.project],
        |r| r.int(0),
    )?;
    let columns = incident_columns(dialect);
    let incidents = db.all_rows(
        &format!(
            "SELECT {columns} FROM incidents i WHERE {condition}
             ORDER BY i.last_seen DESC, i.id DESC LIMIT ?4 OFFSET ?5"
        ),
        &[&status, &text, &filter.project, &big(filter.limit), &big(filter.offset)],
        incident_of,
    )?;
    Ok(IncidentSearch {
        incidents,
        total: u64_of(total),
    })
}
