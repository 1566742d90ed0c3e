//! The statements of recording a batch of events in SQLite's SQL (the
//! shared path is [`crate::store::ingest`]).

use bugstack_core::Timestamp;
use rusqlite::{params, Transaction};

use crate::store::convert::ms;
use crate::store::grouping::{retention_cutoff, Group};
use crate::store::ingest_tx::IngestTx;
use crate::store::SAMPLE_SIZE;
use crate::Result;

pub(super) use crate::store::convert::saturating_add_sql;

/// Inserts or updates one release of an incident: `?1` incident, `?2`
/// release, `?3` count, `?4` first seen, `?5` last seen. The next `seq` is
/// read from the `incident_releases_seq` index (one lookup, whatever the
/// number of releases).
/// (The count saturates like [`saturating_add_sql`].)
pub(super) const RECORD_RELEASE_SQL: &str =
    "INSERT INTO incident_releases (incident_id, release, count, first_seen, last_seen, seq)
     VALUES (?1, ?2, ?3, ?4, ?5,
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_releases WHERE incident_id = ?1))
     ON CONFLICT (incident_id, release) DO UPDATE SET
         count = CASE WHEN count > 9223372036854775807 - excluded.count THEN 9223372036854775807
                      ELSE count + excluded.count END,
         first_seen = min(first_seen, excluded.first_seen),
         last_seen = max(last_seen, excluded.last_seen)";

impl IngestTx for Transaction<'_> {
    fn record_releases(&mut self, id: i64, g: &Group<'_>) -> Result<()> {
        for (rel, count, first, last) in &g.releases {
            self.prepare_cached(RECORD_RELEASE_SQL)?
                .execute(params![id, rel, count, first, last])?;
        }
        Ok(())
    }

    fn record_samples(&mut self, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
        let mut insert =
            self.prepare_cached("INSERT INTO event_samples (incident_id, received_at, event) VALUES (?1, ?2, ?3)")?;
        for e in &g.recent {
            insert.execute(params![id, ms(received_at), serde_json::to_string(e)?])?;
        }
        self.prepare_cached(
            "DELETE FROM event_samples WHERE incident_id = ?1 AND id <= (SELECT id FROM event_samples
                 WHERE incident_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![id, SAMPLE_SIZE])?;
        Ok(())
    }

    fn record_hours(&mut self, id: i64, hours: &[(i64, i64)], received_at: Timestamp) -> Result<()> {
        let cutoff = retention_cutoff(received_at);
        let sql = format!(
            "INSERT INTO incident_hours (incident_id, hour, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (incident_id, hour) DO UPDATE SET count = {}",
            saturating_add_sql("count", "excluded.count")
        );
        let mut upsert = self.prepare_cached(&sql)?;
        for &(hour, count) in hours.iter().filter(|(h, _)| *h >= cutoff) {
            upsert.execute(params![id, hour, count.max(0)])?;
        }
        self.prepare_cached("DELETE FROM incident_hours WHERE incident_id = ?1 AND hour < ?2")?
            .execute(params![id, cutoff])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bugstack_core::{Event, EventKind, Level};
    use rusqlite::{Connection, StatementStatus};

    use super::*;
    use crate::store::{IncidentStore, SqliteStore, DB_FILE};

    fn ev(group: &str, release: &str) -> Event {
        let mut e = Event::new(EventKind::Panic, Level::Fatal, "boom", Timestamp::from_millis(1_000));
        e.fingerprint_parts = vec![group.to_string()];
        e.release = Some(release.to_string());
        e
    }

    /// SQLite VM steps one new release of incident `id` costs.
    fn steps_for_a_new_release(conn: &Connection, id: i64, release: &str) -> i32 {
        let mut st = conn.prepare(RECORD_RELEASE_SQL).unwrap();
        st.reset_status(StatementStatus::VmStep);
        st.execute(params![id, release, 1, 1, 1]).unwrap();
        st.get_status(StatementStatus::VmStep)
    }

    /// Ingest is linear in the number of distinct releases: recording a new
    /// release costs the same number of SQLite steps whether the incident
    /// has 10 releases or 3,000 (before the `incident_releases_seq` index the
    /// `MAX(seq)` lookup scanned them all, so the cost grew with the count).
    #[test]
    fn a_new_release_costs_the_same_whatever_the_number_of_releases() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        s.ingest(
            &(0..10).map(|r| ev("g", &format!("r{r}"))).collect::<Vec<_>>(),
            Timestamp::now(),
        )
        .unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let few = steps_for_a_new_release(&conn, 1, "few");
        for chunk in 0..3 {
            let batch: Vec<Event> = (0..1000).map(|r| ev("g", &format!("r{chunk}-{r}"))).collect();
            s.ingest(&batch, Timestamp::now()).unwrap();
        }
        let many = steps_for_a_new_release(&conn, 1, "many");
        assert!(many <= few + 10, "{few} steps with 11 releases, {many} with 3,011");
        let seq: i64 = conn
            .query_row(
                "SELECT seq FROM incident_releases WHERE incident_id = 1 AND release = 'many'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(seq, 3012);
    }

    /// Counts saturate at `i64::MAX` instead of turning into REALs the store
    /// can no longer read.
    #[test]
    fn counts_saturate_instead_of_overflowing() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(dir.path()).unwrap();
        s.ingest(&[ev("g", "1.0")], Timestamp::now()).unwrap();
        let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
        let near = i64::MAX - 5;
        conn.execute("UPDATE incidents SET count = ?1", [near]).unwrap();
        conn.execute("UPDATE incident_releases SET count = ?1", [near]).unwrap();
        conn.execute(
            "UPDATE ingest_totals SET batches = ?1, events = ?1, occurrences = ?1",
            [near],
        )
        .unwrap();
        let mut e = ev("g", "1.0");
        e.count = 1000;
        s.ingest(&[e.clone(), e], Timestamp::now()).unwrap();
        let types: (String, String, String) = conn
            .query_row(
                "SELECT typeof(i.count), typeof(r.count), typeof(t.occurrences)
                 FROM incidents i, incident_releases r, ingest_totals t",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(types, ("integer".into(), "integer".into(), "integer".into()));
        let i = &s.incidents().unwrap()[0];
        assert_eq!(i.count, u64::try_from(i64::MAX).unwrap());
        let totals = s.totals().unwrap();
        assert_eq!(totals.occurrences, u64::try_from(i64::MAX).unwrap());
        assert_eq!(totals.batches, u64::try_from(near + 1).unwrap());
        // Still readable and still saturated after more.
        s.ingest(&[ev("g", "1.0")], Timestamp::now()).unwrap();
        assert_eq!(s.incident(i.id).unwrap().count, u64::try_from(i64::MAX).unwrap());
    }
}
