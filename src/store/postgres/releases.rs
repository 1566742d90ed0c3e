//! Releases announced live by SDKs (see
//! [`IncidentStore::record_release_seen`](crate::store::IncidentStore::record_release_seen)).

use bugstack_core::{Dependency, Event, Timestamp};
use postgres::{Row, Transaction};

use super::rows::{ms, ts};
use crate::store::{ReleaseRecord, StackDependencies};
use crate::Result;

const COLUMNS: &str = "name, first_live_at, last_live_at, dependencies";

/// Upserts one release: `first_live_at` kept (or moved back), `last_live_at`
/// moved forward, dependencies replaced when `Some`.
pub(super) fn record_seen(
    tx: &mut Transaction<'_>,
    project: i64,
    name: &str,
    at: Timestamp,
    dependencies: Option<&[Dependency]>,
) -> Result<()> {
    let deps = dependencies.map(serde_json::to_string).transpose()?;
    tx.execute(
        "INSERT INTO releases AS l (name, first_live_at, last_live_at, dependencies, project_id)
         VALUES ($1, $2, $2, $3, $4)
         ON CONFLICT (project_id, name) DO UPDATE SET
             first_live_at = LEAST(l.first_live_at, excluded.first_live_at),
             last_live_at  = GREATEST(l.last_live_at, excluded.last_live_at),
             dependencies  = COALESCE(excluded.dependencies, l.dependencies)",
        &[&name, &ms(at), &deps, &project],
    )?;
    Ok(())
}

fn record_of(r: &Row) -> Result<ReleaseRecord> {
    let dependencies: Option<String> = r.try_get(3)?;
    Ok(ReleaseRecord {
        name: r.try_get(0)?,
        first_live_at: ts(r.try_get(1)?),
        last_live_at: ts(r.try_get(2)?),
        dependencies: dependencies.as_deref().map(serde_json::from_str).transpose()?,
    })
}

/// One release by name.
pub(super) fn release(tx: &mut Transaction<'_>, project: i64, name: &str) -> Result<Option<ReleaseRecord>> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM releases WHERE project_id = $1 AND name = $2"),
        &[&project, &name],
    )?
    .map(|r| record_of(&r))
    .transpose()
}

/// Every release, most recently live first.
pub(super) fn releases(tx: &mut Transaction<'_>) -> Result<Vec<ReleaseRecord>> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM releases ORDER BY last_live_at DESC, name"),
        &[],
    )?
    .iter()
    .map(record_of)
    .collect()
}

/// The crates on `event`'s stack with their versions, from the latest of
/// `releases` (in order of first sighting) that announced a dependency list.
pub(super) fn stack_dependencies(
    tx: &mut Transaction<'_>,
    project: i64,
    releases: &[String],
    event: &Event,
) -> Result<Option<StackDependencies>> {
    StackDependencies::of_latest(releases, event, |name| release(tx, project, name))
}
