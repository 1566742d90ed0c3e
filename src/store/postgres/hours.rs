//! Occurrences per incident per hour (`incident_hours`, migration 3): the
//! charts of a page of the incident list in one query (`ANY`), which the
//! SQLite store reads one incident at a time (both read one incident's
//! with [`crate::store::hours`]).

use bugstack_core::Timestamp;
use postgres::Transaction;

use crate::store::convert::{ts, u64_of};
use crate::store::grouping::hour_start;
use crate::store::types::HourCount;
use crate::Result;

/// [`histogram`](crate::store::hours::histogram) of each of `ids` (one query), in the order of `ids`.
pub(super) fn histograms(tx: &mut Transaction<'_>, ids: &[i64], since: Timestamp) -> Result<Vec<Vec<HourCount>>> {
    let rows = tx.query(
        "SELECT incident_id, hour, count FROM incident_hours
         WHERE incident_id = ANY($1) AND hour >= $2 ORDER BY incident_id, hour",
        &[&ids, &hour_start(since)],
    )?;
    let mut by_id: std::collections::HashMap<i64, Vec<HourCount>> = std::collections::HashMap::new();
    for r in &rows {
        by_id.entry(r.try_get(0)?).or_default().push(HourCount {
            hour: ts(r.try_get(1)?),
            count: u64_of(r.try_get(2)?),
        });
    }
    Ok(ids
        .iter()
        .map(|id| by_id.get(id).cloned().unwrap_or_default())
        .collect())
}
