//! Exactly-once counting, written once over [`Sql`]: the batch ids each
//! sender used within [`BATCH_KEY_WINDOW`], so a retried batch is stored
//! once (see [`IngestBatch::batch_id`](crate::store::IngestBatch::batch_id)).
//!
//! The key is inserted in the batch's transaction. On Postgres, with
//! `ON CONFLICT DO NOTHING`: a copy arriving at another collector at the
//! same time waits for the first copy's transaction, and finds the key when
//! it committed (or inserts it when it rolled back). So each batch is
//! counted once, whichever collector receives each copy.

use bugstack_core::Timestamp;

use super::convert::ms;
use super::sql::Sql;
use super::BATCH_KEY_WINDOW;
use crate::Result;

/// Remembers `source`'s batch `id` received `now`; `false` when it was
/// already there (the batch is a retry: do not store it again).
pub(crate) fn remember<S: Sql + ?Sized>(db: &mut S, source: &str, id: &str, now: Timestamp) -> Result<bool> {
    let sql = db.dialect().pick(
        "INSERT OR IGNORE INTO batch_keys (source, batch_id, received_at) VALUES (?1, ?2, ?3)",
        "INSERT INTO batch_keys (source, batch_id, received_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    );
    Ok(db.run(sql, &[&source, &id, &ms(now)])? > 0)
}

/// Forgets the batch ids received before the window that ends `now`.
pub(crate) fn forget_old<S: Sql + ?Sized>(db: &mut S, now: Timestamp) -> Result<()> {
    let window = i64::try_from(BATCH_KEY_WINDOW.as_millis()).unwrap_or(i64::MAX);
    db.run(
        "DELETE FROM batch_keys WHERE received_at < ?1",
        &[&ms(now).saturating_sub(window)],
    )?;
    Ok(())
}
