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

use bugstack_core::Timestamp;
use postgres::Transaction;

use crate::store::convert::ms;
use crate::store::grouping::{retention_cutoff, Group};
use crate::store::ingest_tx::IngestTx;
use crate::store::quota::overflow_fingerprint;
use crate::store::reads::big;
use crate::store::{IncidentQuota, SAMPLE_SIZE};
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
            &[&id, &big(SAMPLE_SIZE)],
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
}
