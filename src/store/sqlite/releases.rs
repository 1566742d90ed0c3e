//! Releases announced live by SDKs (see
//! [`IncidentStore::record_release_seen`](crate::store::IncidentStore::record_release_seen)).

use bugstack_core::{Dependency, Event, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::rows::{ms, ts};
use crate::store::{ReleaseRecord, StackDependencies};
use crate::Result;

const COLUMNS: &str = "name, first_live_at, last_live_at, dependencies";

/// Upserts one release: `first_live_at` kept (or moved back), `last_live_at`
/// moved forward, dependencies replaced when `Some`.
pub(super) fn record_seen(
    conn: &Connection,
    project: i64,
    name: &str,
    at: Timestamp,
    dependencies: Option<&[Dependency]>,
) -> Result<()> {
    let deps = dependencies.map(serde_json::to_string).transpose()?;
    conn.execute(
        "INSERT INTO releases (name, first_live_at, last_live_at, dependencies, project_id)
         VALUES (?1, ?2, ?2, ?3, ?4)
         ON CONFLICT(project_id, name) DO UPDATE SET
             first_live_at = MIN(first_live_at, excluded.first_live_at),
             last_live_at  = MAX(last_live_at, excluded.last_live_at),
             dependencies  = COALESCE(excluded.dependencies, dependencies)",
        params![name, ms(at), deps, project],
    )?;
    Ok(())
}

struct RawRelease {
    name: String,
    first_live_at: i64,
    last_live_at: i64,
    dependencies: Option<String>,
}

impl RawRelease {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawRelease {
            name: r.get(0)?,
            first_live_at: r.get(1)?,
            last_live_at: r.get(2)?,
            dependencies: r.get(3)?,
        })
    }

    fn into_record(self) -> Result<ReleaseRecord> {
        let dependencies = self.dependencies.as_deref().map(serde_json::from_str).transpose()?;
        Ok(ReleaseRecord {
            name: self.name,
            first_live_at: ts(self.first_live_at),
            last_live_at: ts(self.last_live_at),
            dependencies,
        })
    }
}

/// One release of `project` by name.
pub(super) fn release(conn: &Connection, project: i64, name: &str) -> Result<Option<ReleaseRecord>> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM releases WHERE project_id = ?1 AND name = ?2"),
        params![project, name],
        RawRelease::from_row,
    )
    .optional()?
    .map(RawRelease::into_record)
    .transpose()
}

/// Every release, most recently live first.
pub(super) fn releases(conn: &Connection) -> Result<Vec<ReleaseRecord>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM releases ORDER BY last_live_at DESC, name"
    ))?;
    let raw = stmt
        .query_map([], RawRelease::from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    raw.into_iter().map(RawRelease::into_record).collect()
}

/// The crates on `event`'s stack with their versions, from the latest of
/// `releases` (in order of first sighting) that announced a dependency list.
pub(super) fn stack_dependencies(
    conn: &Connection,
    project: i64,
    releases: &[String],
    event: &Event,
) -> Result<Option<StackDependencies>> {
    StackDependencies::of_latest(releases, event, |name| release(conn, project, name))
}
