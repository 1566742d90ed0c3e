//! The states an incident and a fix job can be in, with the names the
//! store, the JSON output and the CLI use. A leaf module: the error type
//! names these states, and the store keeps them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// `Display` and `FromStr` for a unit enum through its `as_str` and `ALL`:
/// it prints as its name, and parses from it; any other text is an
/// [`UnknownValue`] of `column`.
macro_rules! named_by_as_str {
    ($ty:ident, $column:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownValue::new($column, s))
            }
        }
    };
}

/// A state name this build does not know, read back from a column (a store
/// written by another build, or edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value in {column}: {value:?}")]
pub struct UnknownValue {
    /// Table and column.
    pub column: &'static str,
    /// The value found.
    pub value: String,
}

impl UnknownValue {
    /// `value` is not a known name in `column`.
    pub fn new(column: &'static str, value: &str) -> Self {
        UnknownValue {
            column,
            value: value.to_string(),
        }
    }
}

/// Where an incident is in its life (see the [store module docs](crate::store)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Seen, no fix under way.
    Open,
    /// A fix job is running.
    Fixing,
    /// A fix pull request is open.
    FixProposed,
    /// The fix merged (in `fixed_in_release`).
    Fixed,
    /// A release containing the fix is live and the fingerprint stayed
    /// silent from it for the verification window.
    Verified,
    /// Seen again in a release that contains the fix.
    Regressed,
    /// A person decided not to fix it.
    Ignored,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 7] = [
        Status::Open,
        Status::Fixing,
        Status::FixProposed,
        Status::Fixed,
        Status::Verified,
        Status::Regressed,
        Status::Ignored,
    ];

    /// The name used in the store, the JSON output and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Fixing => "fixing",
            Status::FixProposed => "fix-proposed",
            Status::Fixed => "fixed",
            Status::Verified => "verified",
            Status::Regressed => "regressed",
            Status::Ignored => "ignored",
        }
    }

    /// Whether the lifecycle allows going from `self` to `to` (the edges
    /// of docs/lifecycle.md).
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        matches!(
            (self, to),
            (Open, Fixing)
                | (Open, Ignored)
                | (Open, Fixed)
                | (Fixing, FixProposed)
                | (Fixing, Open)
                | (FixProposed, Fixed)
                | (FixProposed, Open)
                | (Fixed, Verified)
                | (Fixed, Regressed)
                | (Verified, Regressed)
                | (Regressed, Fixing)
                | (Regressed, Ignored)
                | (Regressed, Fixed)
                | (Ignored, Open)
        )
    }

    /// Whether the incident's fix has merged (`fixed` or `verified`): an
    /// occurrence from a release containing the fix is a regression.
    pub fn is_fixed(self) -> bool {
        matches!(self, Status::Fixed | Status::Verified)
    }
}

named_by_as_str!(Status, "incidents.status");

/// State of a fix job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a worker (possibly until its retry time).
    Queued,
    /// Leased to a worker until `lease_expires_at`.
    Running,
    /// Finished with an outcome (see the job's run).
    Done,
    /// Gave up after its attempts ran out.
    Failed,
    /// Dropped because its incident no longer wants a fix (e.g. ignored).
    Cancelled,
}

impl JobState {
    /// Every state, in a job's order.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The name used in the store and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

named_by_as_str!(JobState, "fix_jobs.state");
