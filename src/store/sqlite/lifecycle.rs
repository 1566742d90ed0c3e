//! Incident timelines. Status changes (the lifecycle enforced, each change
//! recorded in the timeline with who and why) and the people's controls
//! are the shared write paths of [`crate::store::flow`], which
//! [`set_status`](crate::store::flow::set_status) is the one way through:
//! ingest's regressions, the fix jobs, the pull requests, the release
//! checks, verification and the CLI's controls all go through it.

use rusqlite::Connection;

use super::rows::{all_rows, timeline_of};
use crate::store::TimelineEntry;
use crate::Result;

/// Incident `id`'s timeline, oldest first.
pub(super) fn timeline(conn: &Connection, id: i64) -> Result<Vec<TimelineEntry>> {
    all_rows(
        conn,
        "SELECT at, from_status, to_status, actor, reason FROM incident_timeline
         WHERE incident_id = ?1 ORDER BY id",
        [id],
        timeline_of,
    )
}
