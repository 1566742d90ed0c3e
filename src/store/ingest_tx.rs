//! The statements of one ingest transaction ([`IngestTx`], run by
//! [`super::ingest`]). Those both databases run alike are written here once
//! over [`Sql`]; each backend implements only what it does its own way:
//! taking the batch's fingerprint locks (Postgres; SQLite's one writer
//! connection serializes batches), and writing releases, samples and hourly
//! counts (Postgres in one round trip each, with `unnest`). On Postgres a
//! new fingerprint is created with `ON CONFLICT DO NOTHING` (a concurrent
//! creator wins and the batch adds to its incident), and an existing
//! incident's row is locked (`FOR UPDATE`) before its count and status
//! change.

use bugstack_core::{Fingerprint, Timestamp};

use super::convert::{ms, saturating_add_sql};
use super::grouping::{count_i64, Group};
use super::quota::overflow_fingerprint;
use super::rules::Found;
use super::sql::Sql;
use super::tx::StoreTx;
use super::{IncidentQuota, IngestSummary};
use crate::Result;

/// The statements of one ingest transaction.
pub(crate) trait IngestTx: StoreTx + Sql {
    /// Makes concurrent batches over the same fingerprints of `project` (and
    /// the sender's overflow incident) take turns instead of deadlocking.
    /// Nothing by default: one writer at a time.
    fn lock_fingerprints(&mut self, project: i64, groups: &[Group<'_>], quota: Option<&IncidentQuota>) -> Result<()> {
        let _ = (project, groups, quota);
        Ok(())
    }

    /// The incident of `project` with `fingerprint`, if there is one.
    fn find_incident(&mut self, project: i64, fingerprint: &Fingerprint) -> Result<Option<Found>> {
        let lock = self.dialect().for_update();
        self.first_row(
            &format!(
                "SELECT id, status, count, kind, level FROM incidents
                 WHERE project_id = ?1 AND fingerprint = ?2{lock}"
            ),
            &[&project, &fingerprint.as_str()],
            Found::from_row,
        )
    }

    /// A new `open` incident of `project` for group `g` with `fingerprint`
    /// and `title`, its first event the representative (`None` when another
    /// writer created that fingerprint first; SQLite's one writer connection
    /// always creates it).
    fn create_incident(
        &mut self,
        project: i64,
        g: &Group<'_>,
        fingerprint: &Fingerprint,
        title: &str,
        received_at: Timestamp,
    ) -> Result<Option<i64>> {
        let on_conflict = self
            .dialect()
            .pick("", "\n             ON CONFLICT (project_id, fingerprint) DO NOTHING");
        self.first_row(
            &format!(
                "INSERT INTO incidents (fingerprint, title, kind, level, status, count, first_seen,
                     last_seen, representative, created_at, updated_at, project_id)
                 VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?9, ?10){on_conflict} RETURNING id"
            ),
            &[
                &fingerprint.as_str(),
                &title,
                &g.first.kind.as_str(),
                &g.first.level.as_str(),
                &g.count,
                &g.first_seen,
                &g.last_seen,
                &serde_json::to_string(g.first)?,
                &ms(received_at),
                &project,
            ],
            |r| r.int(0),
        )
    }

    /// Adds the group's occurrences to incident `id`'s count and time span.
    fn add_occurrences(&mut self, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()> {
        let dialect = self.dialect();
        let (least, greatest) = (dialect.pick("min", "LEAST"), dialect.greatest());
        self.run(
            &format!(
                "UPDATE incidents SET count = {}, first_seen = {least}(first_seen, ?3),
                     last_seen = {greatest}(last_seen, ?4), updated_at = ?5 WHERE id = ?1",
                saturating_add_sql("count", "?2")
            ),
            &[&id, &g.count, &g.first_seen, &g.last_seen, &ms(received_at)],
        )?;
        Ok(())
    }

    /// The first of the group's releases known by name to contain incident
    /// `id`'s fix (releases named otherwise are classified by git ancestry
    /// after ingest, outside this transaction).
    fn seen_in_a_release_with_the_fix<'g>(&mut self, id: i64, g: &Group<'g>) -> Result<Option<&'g str>> {
        for (rel, ..) in &g.releases {
            let hit = self.first_row(
                "SELECT 1 FROM releases_with_fix WHERE incident_id = ?1 AND release = ?2",
                &[&id, rel],
                |_| Ok(()),
            )?;
            if hit.is_some() {
                return Ok(Some(rel));
            }
        }
        Ok(None)
    }

    /// How many fix jobs incident `id` ever had.
    fn job_count(&mut self, id: i64) -> Result<i64> {
        self.one_row("SELECT COUNT(*) FROM fix_jobs WHERE incident_id = ?1", &[&id], |r| {
            r.int(0)
        })
    }

    /// Adds the group's releases to incident `id`'s, in order of first
    /// sighting.
    fn record_releases(&mut self, id: i64, g: &Group<'_>) -> Result<()>;

    /// Adds the group's recent events to incident `id`'s sample and drops
    /// all but the [`SAMPLE_SIZE`](super::SAMPLE_SIZE) most recent.
    fn record_samples(&mut self, id: i64, g: &Group<'_>, received_at: Timestamp) -> Result<()>;

    /// Adds `hours` (hour start, occurrences) to incident `id`'s counts and
    /// drops its hours older than the retention. Hours already past the
    /// retention are not written.
    fn record_hours(&mut self, id: i64, hours: &[(i64, i64)], received_at: Timestamp) -> Result<()>;

    /// Counts the batch in the ingest totals (one row, id 1).
    fn add_to_totals(&mut self, summary: &IngestSummary) -> Result<()> {
        let events = count_i64(summary.events);
        let occurrences = i64::try_from(summary.occurrences).unwrap_or(i64::MAX);
        let one_row = self.dialect().pick("", " WHERE id = 1");
        self.run(
            &format!(
                "UPDATE ingest_totals SET batches = {}, events = {}, occurrences = {}{one_row}",
                saturating_add_sql("batches", "1"),
                saturating_add_sql("events", "?1"),
                saturating_add_sql("occurrences", "?2")
            ),
            &[&events, &occurrences],
        )?;
        Ok(())
    }

    /// How many incidents `source` created after `since_ms` (the count
    /// [`QuotaState::admit`](super::quota::QuotaState::admit) asks for).
    fn created_since(&mut self, source: &str, since_ms: i64) -> Result<i64> {
        self.one_row(
            "SELECT COUNT(*) FROM incidents WHERE source = ?1 AND created_at > ?2",
            &[&source, &since_ms],
            |r| r.int(0),
        )
    }

    /// Tags incident `id` as created by `source`'s batch.
    fn set_source(&mut self, id: i64, source: &str) -> Result<()> {
        self.run("UPDATE incidents SET source = ?2 WHERE id = ?1", &[&id, &source])?;
        Ok(())
    }

    /// The id of `source`'s overflow incident in `project`, if it exists.
    fn find_overflow(&mut self, project: i64, source: &str) -> Result<Option<i64>> {
        let lock = self.dialect().for_update();
        self.first_row(
            &format!("SELECT id FROM incidents WHERE project_id = ?1 AND fingerprint = ?2{lock}"),
            &[&project, &overflow_fingerprint(source).as_str()],
            |r| r.int(0),
        )
    }
}
