//! Conversions both stores share: timestamps as stored (milliseconds since
//! the epoch in a 64-bit integer) and the local forge's record of a pull
//! request beyond the columns.

use std::time::Duration;

use bugstack_core::Timestamp;

/// A timestamp as stored (milliseconds since the epoch).
pub(crate) fn ms(t: Timestamp) -> i64 {
    i64::try_from(t.as_millis()).unwrap_or(i64::MAX)
}

/// A stored timestamp.
pub(crate) fn ts(v: i64) -> Timestamp {
    Timestamp::from_millis(u64::try_from(v).unwrap_or(0))
}

/// `now + d`, as stored.
pub(crate) fn after(now: Timestamp, d: Duration) -> i64 {
    ms(now.saturating_add(d))
}

/// A stored count (never negative) as `u64`.
pub(crate) fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// `column + param` saturating at `i64::MAX`, for both stores: SQLite turns
/// an overflowing integer sum into a REAL (which the store would then fail
/// to read back), Postgres raises an error on an overflowing `BIGINT` sum.
/// `param` must not be negative.
pub(crate) fn saturating_add_sql(column: &str, param: &str) -> String {
    format!("CASE WHEN {column} > 9223372036854775807 - {param} THEN 9223372036854775807 ELSE {column} + {param} END")
}

/// A store error as the local forge reports it.
pub(crate) fn forge_error(e: impl std::fmt::Display) -> bugstack_fix::Error {
    bugstack_fix::Error::Deploy(format!("pull request store: {e}"))
}

/// What the local forge records about a pull request beyond the columns
/// (stored as JSON in `pull_requests.forge`).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct ForgeExtra {
    #[serde(default)]
    pub(crate) decision: Option<bugstack_fix::Decision>,
    #[serde(default)]
    pub(crate) labels: Vec<String>,
    #[serde(default)]
    pub(crate) comments: Vec<bugstack_fix::Comment>,
    #[serde(default)]
    pub(crate) merge_commit: Option<String>,
}

impl ForgeExtra {
    /// What the store keeps of `pr` beyond the columns.
    pub(crate) fn of(pr: &bugstack_fix::PullRequest) -> Self {
        ForgeExtra {
            decision: pr.decision.clone(),
            labels: pr.labels.clone(),
            comments: pr.comments.clone(),
            merge_commit: pr.merge_commit.clone(),
        }
    }
}
