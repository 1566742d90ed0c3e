//! Per-sender quota on new incidents, as the SQLite store keeps it: at most
//! [`IncidentQuota::new_incidents_per_hour`] incidents created by one
//! token's batches in any hour (a sliding window over
//! `incidents.created_at`); events of further new fingerprints are counted
//! in the sender's one overflow incident, which has no fix job.
//!
//! With several collectors the count is read once per batch and transaction:
//! two collectors admitting the same sender's new fingerprints at the same
//! instant may each admit up to the quota's remainder (the quota bounds a
//! flood; it is not an exact meter).

use bugstack_core::{Fingerprint, Timestamp};
use postgres::Transaction;

use super::rows::ms;
use crate::store::IncidentQuota;
use crate::Result;

/// The quota's window.
const HOUR_MS: i64 = 60 * 60 * 1000;

/// The prefix of an overflow incident's fingerprint (the SQLite store's).
const OVERFLOW_PREFIX: &str = "quota-overflow:";

/// The fingerprint of `source`'s overflow incident (never a real
/// fingerprint: those are 64 hex digits).
pub(super) fn overflow_fingerprint(source: &str) -> Fingerprint {
    Fingerprint::from_hex(format!("{OVERFLOW_PREFIX}{source}"))
}

/// The title of `source`'s overflow incident.
pub(super) fn overflow_title(source: &str, quota: u32) -> String {
    format!("Quota exceeded: token {source} sent more than {quota} new incidents in an hour; events of further new fingerprints are counted here")
}

/// A batch's view of its sender's quota, read once per batch and counted on.
pub(super) struct QuotaState<'q> {
    quota: &'q IncidentQuota,
    created: Option<u64>,
}

impl<'q> QuotaState<'q> {
    /// The state for `quota`, not read yet.
    pub(super) fn new(quota: &'q IncidentQuota) -> Self {
        QuotaState { quota, created: None }
    }

    /// The sender.
    pub(super) fn quota(&self) -> &IncidentQuota {
        self.quota
    }

    /// Whether the sender may create one more incident now; if so it is
    /// counted.
    pub(super) fn admit(&mut self, tx: &mut Transaction<'_>, now: Timestamp) -> Result<bool> {
        let created = match self.created {
            Some(n) => n,
            None => {
                let n: i64 = tx
                    .query_one(
                        "SELECT COUNT(*) FROM incidents WHERE source = $1 AND created_at > $2",
                        &[&self.quota.source, &(ms(now) - HOUR_MS)],
                    )?
                    .try_get(0)?;
                u64::try_from(n).unwrap_or(0)
            }
        };
        let ok = created < u64::from(self.quota.new_incidents_per_hour);
        self.created = Some(if ok { created + 1 } else { created });
        Ok(ok)
    }
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

/// Whether incident `id` is a sender's overflow incident.
pub(super) fn is_overflow(tx: &mut Transaction<'_>, id: i64) -> Result<bool> {
    let fp: Option<String> = tx
        .query_opt("SELECT fingerprint FROM incidents WHERE id = $1", &[&id])?
        .map(|r| r.try_get(0))
        .transpose()?;
    Ok(fp.is_some_and(|f| f.starts_with(OVERFLOW_PREFIX)))
}
