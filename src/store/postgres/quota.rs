//! The Postgres side of the per-sender quota on new incidents
//! ([`crate::store::quota`] has the rules): the count it reads, the sender
//! tag on each new incident, and the sender's overflow incident.
//!
//! With several collectors the count is read once per batch and transaction:
//! two collectors admitting the same sender's new fingerprints at the same
//! instant may each admit up to the quota's remainder (the quota bounds a
//! flood; it is not an exact meter).

use postgres::Transaction;

use crate::store::quota::overflow_fingerprint;
use crate::Result;

/// How many incidents `source` created after `since_ms` (the count
/// [`QuotaState::admit`](crate::store::quota::QuotaState::admit) asks for).
pub(super) fn created_since(tx: &mut Transaction<'_>, source: &str, since_ms: i64) -> Result<i64> {
    Ok(tx
        .query_one(
            "SELECT COUNT(*) FROM incidents WHERE source = $1 AND created_at > $2",
            &[&source, &since_ms],
        )?
        .try_get(0)?)
}

/// Tags incident `id` as created by `source`'s batch.
pub(super) fn set_source(tx: &mut Transaction<'_>, id: i64, source: &str) -> Result<()> {
    tx.execute("UPDATE incidents SET source = $2 WHERE id = $1", &[&id, &source])?;
    Ok(())
}

/// The id of `source`'s overflow incident, if it exists (its row locked).
pub(super) fn find_overflow(tx: &mut Transaction<'_>, project: i64, source: &str) -> Result<Option<i64>> {
    tx.query_opt(
        "SELECT id FROM incidents WHERE project_id = $1 AND fingerprint = $2 FOR UPDATE",
        &[&project, &overflow_fingerprint(source).as_str()],
    )?
    .map(|r| r.try_get(0))
    .transpose()
    .map_err(Into::into)
}
