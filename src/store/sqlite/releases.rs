//! Releases announced live by SDKs (see
//! [`IncidentStore::record_release_seen`](crate::store::IncidentStore::record_release_seen)).

use bugstack_core::{Dependency, Event, Timestamp};
use rusqlite::{params, Connection};

use super::rows::{all_rows, first_row, ms, release_of, RELEASE_COLUMNS};
use crate::store::{ReleaseRecord, StackDependencies};
use crate::Result;

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

/// One release of `project` by name.
pub(super) fn release(conn: &Connection, project: i64, name: &str) -> Result<Option<ReleaseRecord>> {
    first_row(
        conn,
        &format!("SELECT {RELEASE_COLUMNS} FROM releases WHERE project_id = ?1 AND name = ?2"),
        params![project, name],
        |r| release_of(r),
    )
}

/// Every release, most recently live first.
pub(super) fn releases(conn: &Connection) -> Result<Vec<ReleaseRecord>> {
    all_rows(
        conn,
        &format!("SELECT {RELEASE_COLUMNS} FROM releases ORDER BY last_live_at DESC, name"),
        [],
        release_of,
    )
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
