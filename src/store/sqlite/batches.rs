//! Exactly-once counting: the batch ids each sender used within
//! [`BATCH_KEY_WINDOW`], so a retried batch is stored once (see
//! [`IngestBatch::batch_id`](crate::store::IngestBatch::batch_id)).

use bugstack_core::Timestamp;
use rusqlite::{params, Transaction};

use super::rows::ms;
use crate::store::BATCH_KEY_WINDOW;
use crate::Result;

/// Remembers `source`'s batch `id` received `now`; `false` when it was
/// already there (the batch is a retry: do not store it again).
pub(super) fn remember(tx: &mut Transaction<'_>, source: &str, id: &str, now: Timestamp) -> Result<bool> {
    let n = tx
        .prepare_cached("INSERT OR IGNORE INTO batch_keys (source, batch_id, received_at) VALUES (?1, ?2, ?3)")?
        .execute(params![source, id, ms(now)])?;
    Ok(n > 0)
}

/// Forgets the batch ids received before the window that ends `now`.
pub(super) fn forget_old(tx: &mut Transaction<'_>, now: Timestamp) -> Result<()> {
    let window = i64::try_from(BATCH_KEY_WINDOW.as_millis()).unwrap_or(i64::MAX);
    tx.prepare_cached("DELETE FROM batch_keys WHERE received_at < ?1")?
        .execute([ms(now).saturating_sub(window)])?;
    Ok(())
}
