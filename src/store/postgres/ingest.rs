//! The statements of recording a batch of events in Postgres's SQL (the
//! shared path is [`crate::store::ingest`]), safe for several collectors
//! writing at once: a new fingerprint is created with
//! `INSERT ... ON CONFLICT DO NOTHING` (a concurrent creator wins and this
//! batch adds to its incident), an existing incident's row is locked
//! (`FOR UPDATE`) before its count and status change.
//!
//! The sender quota's count is read once per batch and transaction: two
//! collectors admitting the same sender's new fingerprints at the same
//! instant may each admit up to the quota's remainder (the quota bounds a
//! flood; it is not an exact meter).

use bugstack_core::{Fingerprint, Timestamp};
use postgres::Transaction;

use super::rows::ms;
use crate::store::grouping::{count_i64, retention_cutoff, Group};
use crate::store::ingest::IngestTx;
use crate::store::quota::overflow_fingerprint;
use crate::store::rules::Found;
use crate::store::{IncidentQuota, IngestSummary, SAMPLE_SIZE};
use crate::Result;

pub(super) use crate::store::convert::saturating_add_sql;

/// Inserts or updates one release of an incident (`$1` incident, `$2`
/// release, `$3` count, `$4` first seen, `$5` last seen); the count
/// saturates.
const RECORD_RELEASE_SQL: &str =
    "INSERT INTO incident_releases AS r (incident_id, release, count, first_seen, last_seen, seq)
     VALUES ($1, $2, $3, $4, $5,
             (SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_releases WHERE incident_id = $1))
     ON CONFLICT (incident_id, release) DO UPDATE SET
         count = CASE WHEN r.count > 9223372036854775807 - excluded.count THEN 9223372036854775807
                      ELSE r.count + excluded.count END,
         first_seen = LEAST(r.first_seen, excluded.first_seen),
         last_seen = GREATEST(r.last_seen, excluded.last_seen)";

impl IngestTx for Transaction<'_> {
    fn lock_fingerprints(&mut self, project: i64, groups: &[Group<'_>], quota: Option<&IncidentQuota>) -> Result<()> {
        let mut keys: Vec<String> = groups.iter().map(|g| format!("{project}:{}", g.fingerprint)).collect();
        if let Some(q) = quota {
            keys.push(format!("{project}:{}", overflow_fingerprint(&q.source)));
        }
        if keys.is_empty() {
            return Ok(());
        }
        keys.sort_unstable();
        keys.dedup();
        // `unnest` yields the array in order, so the locks are taken in order.
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(f, 0)) FROM unnest($1::TEXT[]) AS f",
            &[&keys],
        )?;
        Ok(())
    }

    fn find_incident(&mut self, project: i64, fingerprint: &Fingerprint) -> Result<Option<Found>> {
        let row = self.query_opt(
            "SELECT id, status, count, kind, level FROM incidents
             WHERE project_id = $1 AND fingerprint = $2 FOR UPDATE",
            &[&project, &fingerprint.as_str()],
        )?;
        row.map(|r| Found::from_row(&r)).transpose()
    }

    fn create_incident(
        &mut self,
        project: i64,
        g: &Group<'_>,
        fingerprint: &Fingerprint,
        title: &str,
        received_at: Timestamp,
    ) -> Result<Option<i64>> {
        let representative = serde_json::to_string(g.first)?;
        let row = self.query_opt(
            "INSERT INTO incidents (fingerprint, title, kind, level, status, count, first_seen,
                 last_seen, representative, created_at, updated_at, project_id)
             VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8, $9, $9, $10)
             ON CONFLICT (project_id, fingerprint) DO NOTHING RETURNING id",
            &[
                &fingerprint.as_str(),
                &title,
                &g.first.kind.as_str(),
                &g.first.level.as_str(),
                &g.count,
                &g.first_seen,
                &g.last_seen,
                &representative,
                &ms(received_at),
                &project,
            ],
        )?;
        row.map(|r| r.try_get(0)).transpose().map_err(Into::into)
    }

    fn add_occurrences(&mut self, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
        self.execute(
            &format!(
                "UPDATE incidents SET count = {}, first_seen = LEAST(first_seen, $3),
                     last_seen = GREATEST(last_seen, $4), updated_at = $5 WHERE id = $1",
                saturating_add_sql("count", "$2")
            ),
            &[&id, &g.count, &g.first_seen, &g.last_seen, &ms(received_at)],
        )?;
        Ok(())
    }

    fn seen_in_a_release_with_the_fix<'g>(&mut self, id: i64, g: &Group<'g>) -> Result<Option<&'g str>> {
        for (rel, ..) in &g.releases {
            let hit = self.query_opt(
                "SELECT 1 FROM releases_with_fix WHERE incident_id = $1 AND release = $2",
                &[&id, rel],
            )?;
            if hit.is_some() {
                return Ok(Some(rel));
            }
        }
        Ok(None)
    }

    fn job_count(&mut self, id: i64) -> Result<i64> {
        Ok(self
            .query_one("SELECT COUNT(*) FROM fix_jobs WHERE incident_id = $1", &[&id])?
            .try_get(0)?)
    }

    fn record_releases(&mut self, id: i64, g: &Group<'_>) -> Result<()> {
        if g.releases.is_empty() {
            return Ok(());
        }
        let stmt = self.prepare(RECORD_RELEASE_SQL)?;
        for (rel, count, first, last) in &g.releases {
            self.execute(&stmt, &[&id, rel, count, first, last])?;
        }
        Ok(())
    }

    fn record_samples(&mut self, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
        let events = g
            .recent
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<String>, _>>()?;
        self.execute(
            "INSERT INTO event_samples (incident_id, received_at, event)
             SELECT $1, $2, e FROM unnest($3::TEXT[]) WITH ORDINALITY AS u(e, n) ORDER BY n",
            &[&id, &ms(received_at), &events],
        )?;
        self.execute(
            "DELETE FROM event_samples WHERE incident_id = $1 AND id <= (SELECT id FROM event_samples
                 WHERE incident_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
            &[&id, &super::rows::big(SAMPLE_SIZE)],
        )?;
        Ok(())
    }

    fn record_hours(&mut self, id: i64, hours: &[(i64, i64)], received_at: Timestamp) -> Result<()> {
        let cutoff = retention_cutoff(received_at);
        let (starts, counts): (Vec<i64>, Vec<i64>) = hours
            .iter()
            .filter(|(h, _)| *h >= cutoff)
            .map(|&(h, c)| (h, c.max(0)))
            .unzip();
        // One round trip: the expired rows (before `cutoff`) and the upserted
        // ones (from `cutoff` on) never meet.
        self.execute(
            &format!(
                "WITH expired AS (DELETE FROM incident_hours WHERE incident_id = $1 AND hour < $4)
                 INSERT INTO incident_hours AS h (incident_id, hour, count)
                 SELECT $1, u.hour, u.count FROM unnest($2::BIGINT[], $3::BIGINT[]) AS u(hour, count)
                 ON CONFLICT (incident_id, hour) DO UPDATE SET count = {}",
                saturating_add_sql("h.count", "excluded.count")
            ),
            &[&id, &starts, &counts, &cutoff],
        )?;
        Ok(())
    }

    fn add_to_totals(&mut self, summary: &IngestSummary) -> Result<()> {
        let events = count_i64(summary.events);
        let occurrences = i64::try_from(summary.occurrences).unwrap_or(i64::MAX);
        self.execute(
            &format!(
                "UPDATE ingest_totals SET batches = {}, events = {}, occurrences = {} WHERE id = 1",
                saturating_add_sql("batches", "1"),
                saturating_add_sql("events", "$1"),
                saturating_add_sql("occurrences", "$2")
            ),
            &[&events, &occurrences],
        )?;
        Ok(())
    }

    fn created_since(&mut self, source: &str, since_ms: i64) -> Result<i64> {
        Ok(self
            .query_one(
                "SELECT COUNT(*) FROM incidents WHERE source = $1 AND created_at > $2",
                &[&source, &since_ms],
            )?
            .try_get(0)?)
    }

    fn set_source(&mut self, id: i64, source: &str) -> Result<()> {
        self.execute("UPDATE incidents SET source = $2 WHERE id = $1", &[&id, &source])?;
        Ok(())
    }

    fn find_overflow(&mut self, project: i64, source: &str) -> Result<Option<i64>> {
        self.query_opt(
            "SELECT id FROM incidents WHERE project_id = $1 AND fingerprint = $2 FOR UPDATE",
            &[&project, &overflow_fingerprint(source).as_str()],
        )?
        .map(|r| r.try_get(0))
        .transpose()
        .map_err(Into::into)
    }
}
