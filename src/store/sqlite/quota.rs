//! The SQLite side of the per-sender quota on new incidents
//! ([`crate::store::quota`] has the rules): the count it reads, the sender
//! tag on each new incident, and the sender's overflow incident.

use rusqlite::{params, OptionalExtension, Transaction};

use crate::store::quota::overflow_fingerprint;
use crate::Result;

/// How many incidents `source` created after `since_ms` (the count
/// [`QuotaState::admit`](crate::store::quota::QuotaState::admit) asks for).
pub(super) fn created_since(tx: &mut Transaction<'_>, source: &str, since_ms: i64) -> Result<i64> {
    Ok(tx
        .prepare_cached("SELECT COUNT(*) FROM incidents WHERE source = ?1 AND created_at > ?2")?
        .query_row(params![source, since_ms], |r| r.get(0))?)
}

/// Tags incident `id` as created by `source`'s batch.
pub(super) fn set_source(tx: &mut Transaction<'_>, id: i64, source: &str) -> Result<()> {
    tx.prepare_cached("UPDATE incidents SET source = ?2 WHERE id = ?1")?
        .execute(params![id, source])?;
    Ok(())
}

/// The id of `source`'s overflow incident, if it exists.
pub(super) fn find_overflow(tx: &mut Transaction<'_>, project: i64, source: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT id FROM incidents WHERE project_id = ?1 AND fingerprint = ?2")?
        .query_row(rusqlite::params![project, overflow_fingerprint(source).as_str()], |r| {
            r.get(0)
        })
        .optional()?)
}
