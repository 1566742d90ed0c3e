//! Releases announced live by SDKs (see
//! [`IncidentStore::record_release_seen`](crate::store::IncidentStore::record_release_seen)),
//! written once over [`Sql`].

use bugstack_core::{Dependency, Event, Timestamp};

use super::convert::ms;
use super::rows::{release_of, RELEASE_COLUMNS};
use super::sql::{Dialect, Sql};
use super::{ReleaseRecord, StackDependencies};
use crate::Result;

/// Upserts one release of `project`: `first_live_at` kept (or moved back),
/// `last_live_at` moved forward, dependencies replaced when `Some`.
pub(crate) fn record_seen<S: Sql + ?Sized>(
    db: &mut S,
    project: i64,
    name: &str,
    at: Timestamp,
    dependencies: Option<&[Dependency]>,
) -> Result<()> {
    let deps = dependencies.map(serde_json::to_string).transpose()?;
    let sql = match db.dialect() {
        Dialect::Sqlite => {
            "INSERT INTO releases (name, first_live_at, last_live_at, dependencies, project_id)
             VALUES (?1, ?2, ?2, ?3, ?4)
             ON CONFLICT(project_id, name) DO UPDATE SET
                 first_live_at = MIN(first_live_at, excluded.first_live_at),
                 last_live_at  = MAX(last_live_at, excluded.last_live_at),
                 dependencies  = COALESCE(excluded.dependencies, dependencies)"
        }
        Dialect::Postgres => {
            "INSERT INTO releases AS l (name, first_live_at, last_live_at, dependencies, project_id)
             VALUES (?1, ?2, ?2, ?3, ?4)
             ON CONFLICT (project_id, name) DO UPDATE SET
                 first_live_at = LEAST(l.first_live_at, excluded.first_live_at),
                 last_live_at  = GREATEST(l.last_live_at, excluded.last_live_at),
                 dependencies  = COALESCE(excluded.dependencies, l.dependencies)"
        }
    };
    db.run(sql, &[&name, &ms(at), &deps, &project])?;
    Ok(())
}

/// One release of `project` by name.
pub(crate) fn release<S: Sql + ?Sized>(db: &mut S, project: i64, name: &str) -> Result<Option<ReleaseRecord>> {
    db.first_row(
        &format!("SELECT {RELEASE_COLUMNS} FROM releases WHERE project_id = ?1 AND name = ?2"),
        &[&project, &name],
        release_of,
    )
}

/// Every release, most recently live first.
pub(crate) fn releases<S: Sql + ?Sized>(db: &mut S) -> Result<Vec<ReleaseRecord>> {
    db.all_rows(
        &format!("SELECT {RELEASE_COLUMNS} FROM releases ORDER BY last_live_at DESC, name"),
        &[],
        release_of,
    )
}

/// The crates on `event`'s stack with their versions, from the latest of
/// `releases` of `project` (in order of first sighting) that announced a
/// dependency list.
pub(crate) fn stack_dependencies<S: Sql + ?Sized>(
    db: &mut S,
    project: i64,
    releases: &[String],
    event: &Event,
) -> Result<Option<StackDependencies>> {
    StackDependencies::of_latest(releases, event, |name| release(db, project, name))
}
