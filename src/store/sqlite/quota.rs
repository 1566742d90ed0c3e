//! Per-sender quota on new incidents: at most
//! [`IncidentQuota::new_incidents_per_hour`] incidents created by one token's
//! batches in any hour (a sliding window over `incidents.created_at`, so it
//! survives restarts). Events of further new fingerprints are counted in the
//! sender's one overflow incident, which has no fix job.

use bugstack_core::{Fingerprint, Timestamp};
use rusqlite::{params, OptionalExtension, Transaction};

use super::rows::ms;
use crate::store::IncidentQuota;
use crate::Result;

/// The quota's window.
const HOUR_MS: i64 = 60 * 60 * 1000;

/// The fingerprint of `source`'s overflow incident (never a real
/// fingerprint: those are 64 hex digits, the collector recomputes others).
pub(super) fn overflow_fingerprint(source: &str) -> Fingerprint {
    Fingerprint::from_hex(format!("quota-overflow:{source}"))
}

/// The title of `source`'s overflow incident.
pub(super) fn overflow_title(source: &str, quota: u32) -> String {
    format!("Quota exceeded: token {source} sent more than {quota} new incidents in an hour; events of further new fingerprints are counted here")
}

/// A batch's view of its sender's quota: how many incidents the sender
/// created in the last hour, read once per batch and counted on.
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
    pub(super) fn admit(&mut self, tx: &Transaction<'_>, now: Timestamp) -> Result<bool> {
        let created = match self.created {
            Some(n) => n,
            None => {
                let n: i64 = tx
                    .prepare_cached("SELECT COUNT(*) FROM incidents WHERE source = ?1 AND created_at > ?2")?
                    .query_row(params![self.quota.source, ms(now) - HOUR_MS], |r| r.get(0))?;
                u64::try_from(n).unwrap_or(0)
            }
        };
        let ok = created < u64::from(self.quota.new_incidents_per_hour);
        self.created = Some(if ok { created + 1 } else { created });
        Ok(ok)
    }
}

/// Tags incident `id` as created by `source`'s batch.
pub(super) fn set_source(tx: &Transaction<'_>, id: i64, source: &str) -> Result<()> {
    tx.prepare_cached("UPDATE incidents SET source = ?2 WHERE id = ?1")?
        .execute(params![id, source])?;
    Ok(())
}

/// The id of `source`'s overflow incident, if it exists.
pub(super) fn find_overflow(tx: &Transaction<'_>, project: i64, source: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT id FROM incidents WHERE project_id = ?1 AND fingerprint = ?2")?
        .query_row(rusqlite::params![project, overflow_fingerprint(source).as_str()], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Whether incident `id` is a sender's overflow incident.
pub(super) fn is_overflow(tx: &Transaction<'_>, id: i64) -> Result<bool> {
    let fp: Option<String> = tx
        .prepare_cached("SELECT fingerprint FROM incidents WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(fp.is_some_and(|f| f.starts_with("quota-overflow:")))
}
