//! Releases announced live by SDKs (see
//! [`IncidentStore::record_release_seen`](crate::store::IncidentStore::record_release_seen)).

use bugstack_core::{Dependency, Timestamp};
use postgres::Transaction;

use super::rows::{ms, release_of, RELEASE_COLUMNS};
use crate::store::ReleaseRecord;
use crate::Result;

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

/// One release by name.
pub(super) fn release(tx: &mut Transaction<'_>, project: i64, name: &str) -> Result<Option<ReleaseRecord>> {
    tx.query_opt(
        &format!("SELECT {RELEASE_COLUMNS} FROM releases WHERE project_id = $1 AND name = $2"),
        &[&project, &name],
    )?
    .map(|r| release_of(&r))
    .transpose()
}

/// Every release, most recently live first.
pub(super) fn releases(tx: &mut Transaction<'_>) -> Result<Vec<ReleaseRecord>> {
    tx.query(
        &format!("SELECT {RELEASE_COLUMNS} FROM releases ORDER BY last_live_at DESC, name"),
        &[],
    )?
    .iter()
    .map(|r| release_of(r))
    .collect()
}
