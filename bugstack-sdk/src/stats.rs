//! Delivery counters, readable with [`stats`](crate::stats) and reported in
//! every batch as [`ClientStats`].

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use bugstack_core::ClientStats;

/// A snapshot of the SDK's counters. All counts are occurrences (an
/// aggregated event of count 500 counts 500).
///
/// ```
/// let s = bugstack_sdk::stats();
/// assert!(s.captured >= s.sent);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Occurrences captured since `init` (including those dropped later).
    pub captured: u64,
    /// Dropped because the capture queue was full.
    pub dropped_queue_full: u64,
    /// Dropped by sampling or `before_send`.
    pub dropped_filtered: u64,
    /// Dropped because the spool (or the in-memory pending buffer) was full, oldest first.
    pub dropped_spool_full: u64,
    /// Lost in spooled batches that could not be read back (a corrupt or
    /// unreadable file, set aside and never retried).
    pub spool_quarantined: u64,
    /// Rejected by the collector with a non-retryable status (4xx other than 408/429).
    pub rejected: u64,
    /// Waiting in the spool (or the in-memory pending buffer) for delivery.
    pub spooled: u64,
    /// Delivered (acknowledged with 2xx).
    pub sent: u64,
    /// HTTP requests that failed (connection error, timeout, 5xx, 408, 429).
    pub failed_requests: u64,
    /// Events currently in the capture queue.
    pub queued: u64,
    /// Capacity of the capture queue.
    pub queue_capacity: u64,
}

impl Stats {
    /// The subset reported to the collector inside each batch.
    pub fn to_client_stats(&self) -> ClientStats {
        ClientStats {
            captured: self.captured,
            dropped_queue_full: self.dropped_queue_full,
            dropped_filtered: self.dropped_filtered,
            dropped_spool_full: self.dropped_spool_full,
            spooled: self.spooled,
            sent: self.sent,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) captured: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_filtered: AtomicU64,
    pub(crate) dropped_spool_full: AtomicU64,
    pub(crate) spool_quarantined: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) spooled: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) failed_requests: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            captured: self.captured.load(Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Relaxed),
            dropped_filtered: self.dropped_filtered.load(Relaxed),
            dropped_spool_full: self.dropped_spool_full.load(Relaxed),
            spool_quarantined: self.spool_quarantined.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            spooled: self.spooled.load(Relaxed),
            sent: self.sent.load(Relaxed),
            failed_requests: self.failed_requests.load(Relaxed),
            queued: 0,
            queue_capacity: 0,
        }
    }
}
