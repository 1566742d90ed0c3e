//! Occurrences per incident per hour (`incident_hours`): written in the
//! ingest transaction, read for charts and searches of the incident list.

use bugstack_core::Timestamp;
use rusqlite::{params, Connection, Transaction};

use super::ingest::saturating_add_sql;
use super::rows::{all_rows, ts, u64_of, RawIncident, INCIDENT_COLUMNS};
use crate::store::grouping::{hour_start, retention_cutoff};
use crate::store::types::{HourCount, IncidentFilter, IncidentSearch};
use crate::Result;

/// Adds `hours` (hour start, occurrences) to incident `id`'s counts and
/// drops its hours older than the retention. Hours already past the
/// retention are not written.
pub(super) fn record_hours(tx: &Transaction<'_>, id: i64, hours: &[(i64, i64)], received_at: Timestamp) -> Result<()> {
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
        RawIncident::from_row,
        RawIncident::into_record,
    )?;
    Ok(IncidentSearch {
        incidents,
        total: u64_of(total),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bugstack_core::{Event, EventKind, Level, Timestamp};

    use crate::store::{IncidentFilter, IncidentStore, SqliteStore, Status, HISTOGRAM_RETENTION_HOURS};

    fn event(msg: &str, at: Timestamp) -> Event {
        Event::new(EventKind::Panic, Level::Error, msg, at)
    }

    #[test]
    fn occurrences_are_counted_per_hour_and_old_hours_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let t0 = Timestamp::from_millis(1_700_000_000_000 - 1_700_000_000_000 % 3_600_000);
        let h = |n: u64| t0.saturating_add(Duration::from_secs(3600 * n));
        store.ingest(&[event("boom", h(0)), event("boom", h(0))], h(0)).unwrap();
        let mut later = event("boom", h(2));
        later.count = 5;
        store.ingest(&[later], h(2)).unwrap();
        // A sender's clock in the future counts in the hour it was received.
        store.ingest(&[event("boom", h(100))], h(3)).unwrap();
        let id = store.incidents().unwrap()[0].id;
        let got: Vec<(u64, u64)> = store
            .histogram(id, t0)
            .unwrap()
            .iter()
            .map(|c| (c.hour.as_millis(), c.count))
            .collect();
        assert_eq!(
            got,
            vec![(h(0).as_millis(), 2), (h(2).as_millis(), 5), (h(3).as_millis(), 1)]
        );
        // Past the retention, the old hours go at the next ingest.
        let far = h(HISTOGRAM_RETENTION_HOURS + 3);
        store.ingest(&[event("boom", far)], far).unwrap();
        let left = store.histogram(id, t0).unwrap();
        assert_eq!(left.len(), 2, "{left:?}");
        assert_eq!(left[1].hour, far);
        assert_eq!(store.histograms(&[id], far).unwrap(), vec![vec![left[1]]]);
    }

    #[test]
    fn search_filters_by_status_and_text_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let now = Timestamp::now();
        for word in ["alpha", "beta", "gamma", "delta", "omega"] {
            store
                .ingest(&[event(&format!("disk full on {word}"), now)], now)
                .unwrap();
        }
        store.ingest(&[event("100% of 50_ items", now)], now).unwrap();
        let all = store.incidents().unwrap();
        let first = all.iter().find(|r| r.title == "disk full on alpha").unwrap().id;
        store
            .transition(first, Status::Ignored, &crate::store::Cause::new("t", "t"))
            .unwrap();
        let page = store
            .search_incidents(&IncidentFilter {
                text: Some("DISK".into()),
                limit: 2,
                offset: 1,
                ..IncidentFilter::default()
            })
            .unwrap();
        assert_eq!((page.total, page.incidents.len()), (5, 2));
        let ignored = store
            .search_incidents(&IncidentFilter {
                status: Some(Status::Ignored),
                limit: 10,
                ..IncidentFilter::default()
            })
            .unwrap();
        assert_eq!(ignored.incidents.iter().map(|r| r.id).collect::<Vec<_>>(), vec![first]);
        // LIKE's wildcards in the text are literal.
        for (text, n) in [("100%", 1), ("50_", 1), ("%", 1), ("_", 1)] {
            let found = store
                .search_incidents(&IncidentFilter {
                    text: Some(text.into()),
                    limit: 10,
                    ..IncidentFilter::default()
                })
                .unwrap();
            assert_eq!(found.total, n, "{text}");
        }
    }
}
