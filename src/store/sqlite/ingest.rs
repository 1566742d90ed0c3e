//! The statements of recording a batch of events in SQLite's SQL (the
//! shared path is [`crate::store::ingest`]).

use bugstack_core::{Fingerprint, Timestamp};
use rusqlite::{params, OptionalExtension, Transaction};

use super::rows::{first_row, ms};
use crate::store::grouping::{count_i64, retention_cutoff, Group};
use crate::store::ingest::IngestTx;
use crate::store::quota::overflow_fingerprint;
use crate::store::rules::Found;
use crate::store::{IncidentQuota, IngestSummary, SAMPLE_SIZE};
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
    // The store's one writer connection serializes batches.
    fn lock_fingerprints(
        &mut self,
        _project: i64,
        _groups: &[Group<'_>],
        _quota: Option<&IncidentQuota>,
    ) -> Result<()> {
        Ok(())
    }

    fn find_incident(&mut self, project: i64, fingerprint: &Fingerprint) -> Result<Option<Found>> {
        first_row(
            self,
            "SELECT id, status, count, kind, level FROM incidents WHERE project_id = ?1 AND fingerprint = ?2",
            params![project, fingerprint.as_str()],
            |r| Found::from_row(r),
        )
    }

    fn create_incident(
        &mut self,
        project: i64,
        g: &Group<'_>,
        fingerprint: &Fingerprint,
        title: &str,
        received_at: Timestamp,
    ) -> Result<Option<i64>> {
        // The one writer connection: no other writer can have created it.
        Ok(Some(
            self.prepare_cached(
                "INSERT INTO incidents (fingerprint, title, kind, level, status, count, first_seen,
                     last_seen, representative, created_at, updated_at, project_id)
                 VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?9, ?10) RETURNING id",
            )?
            .query_row(
                params![
                    fingerprint.as_str(),
                    title,
                    g.first.kind.as_str(),
                    g.first.level.as_str(),
                    g.count,
                    g.first_seen,
                    g.last_seen,
                    serde_json::to_string(g.first)?,
                    ms(received_at),
                    project
                ],
                |r| r.get(0),
            )?,
        ))
    }

    fn add_occurrences(&mut self, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
        self.prepare_cached(&format!(
            "UPDATE incidents SET count = {}, first_seen = min(first_seen, ?3),
                 last_seen = max(last_seen, ?4), updated_at = ?5 WHERE id = ?1",
            saturating_add_sql("count", "?2")
        ))?
        .execute(params![id, g.count, g.first_seen, g.last_seen, ms(received_at)])?;
        Ok(())
    }

    fn seen_in_a_release_with_the_fix<'g>(&mut self, id: i64, g: &Group<'g>) -> Result<Option<&'g str>> {
        for (rel, ..) in &g.releases {
            let hit: Option<i64> = self
                .prepare_cached("SELECT 1 FROM releases_with_fix WHERE incident_id = ?1 AND release = ?2")?
                .query_row(params![id, rel], |r| r.get(0))
                .optional()?;
            if hit.is_some() {
                return Ok(Some(rel));
            }
        }
        Ok(None)
    }

    fn job_count(&mut self, id: i64) -> Result<i64> {
        Ok(self
            .prepare_cached("SELECT COUNT(*) FROM fix_jobs WHERE incident_id = ?1")?
            .query_row([id], |r| r.get(0))?)
    }

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

    fn add_to_totals(&mut self, summary: &IngestSummary) -> Result<()> {
        self.execute(
            &format!(
                "UPDATE ingest_totals SET batches = {}, events = {}, occurrences = {}",
                saturating_add_sql("batches", "1"),
                saturating_add_sql("events", "?1"),
                saturating_add_sql("occurrences", "?2")
            ),
            params![
                count_i64(summary.events),
                i64::try_from(summary.occurrences).unwrap_or(i64::MAX)
            ],
        )?;
        Ok(())
    }

    fn created_since(&mut self, source: &str, since_ms: i64) -> Result<i64> {
        Ok(self
            .prepare_cached("SELECT COUNT(*) FROM incidents WHERE source = ?1 AND created_at > ?2")?
            .query_row(params![source, since_ms], |r| r.get(0))?)
    }

    fn set_source(&mut self, id: i64, source: &str) -> Result<()> {
        self.prepare_cached("UPDATE incidents SET source = ?2 WHERE id = ?1")?
            .execute(params![id, source])?;
        Ok(())
    }

    fn find_overflow(&mut self, project: i64, source: &str) -> Result<Option<i64>> {
        Ok(self
            .prepare_cached("SELECT id FROM incidents WHERE project_id = ?1 AND fingerprint = ?2")?
            .query_row(rusqlite::params![project, overflow_fingerprint(source).as_str()], |r| {
                r.get(0)
            })
            .optional()?)
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
