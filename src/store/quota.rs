//! Per-sender quota on new incidents, the same in both backends: at most
//! [`IncidentQuota::new_incidents_per_hour`] incidents created by one
//! token's batches in any hour (a sliding window over
//! `incidents.created_at`, so it survives restarts). Events of further new
//! fingerprints are counted in the sender's one overflow incident, which
//! has no fix job. Each backend's `quota` module holds its SQL.

use bugstack_core::{Fingerprint, Timestamp};

use super::convert::ms;
use super::grouping::HOUR_MS;
use super::IncidentQuota;
use crate::Result;

/// The prefix of an overflow incident's fingerprint.
pub(super) const OVERFLOW_PREFIX: &str = "quota-overflow:";

/// The fingerprint of `source`'s overflow incident (never a real
/// fingerprint: those are 64 hex digits, the collector recomputes others).
pub(super) fn overflow_fingerprint(source: &str) -> Fingerprint {
    Fingerprint::from_hex(format!("{OVERFLOW_PREFIX}{source}"))
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
    /// counted. `created_since(source, since_ms)` counts the incidents
    /// `source` created after `since_ms`; it is asked once, the first time.
    pub(super) fn admit(
        &mut self,
        now: Timestamp,
        created_since: impl FnOnce(&str, i64) -> Result<i64>,
    ) -> Result<bool> {
        let created = match self.created {
            Some(n) => n,
            None => u64::try_from(created_since(&self.quota.source, ms(now) - HOUR_MS)?).unwrap_or(0),
        };
        let ok = created < u64::from(self.quota.new_incidents_per_hour);
        self.created = Some(if ok { created + 1 } else { created });
        Ok(ok)
    }
}
