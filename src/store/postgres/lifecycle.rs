//! Incident timelines. Status changes (the lifecycle enforced, each change
//! recorded in the timeline with who and why) and the people's controls
//! are the shared write paths of [`crate::store::flow`], run here with
//! [`super::tx`]'s statements, which lock the rows they decide on.

use postgres::Transaction;

use super::rows::timeline_of;
use crate::store::TimelineEntry;
use crate::Result;

/// Incident `id`'s timeline, oldest first.
pub(super) fn timeline(tx: &mut Transaction<'_>, id: i64) -> Result<Vec<TimelineEntry>> {
    tx.query(
        "SELECT at, from_status, to_status, actor, reason FROM incident_timeline
         WHERE incident_id = $1 ORDER BY id",
        &[&id],
    )?
    .iter()
    .map(|r| timeline_of(r))
    .collect()
}
