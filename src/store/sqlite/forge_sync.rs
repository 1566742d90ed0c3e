//! What keeping pull requests in step with a remote forge (GitHub) needs
//! from the store: the forge's own number and the last ETag of each pull
//! request a run recorded (for conditional polling), a merge or close a
//! person made on the forge, and the patches a closed pull request rejected
//! (never proposed again for that incident).

use std::collections::BTreeSet;

use bugstack_core::Timestamp;
use bugstack_fix::PullRequestState;
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::SqliteStore;
use crate::store::{Cause, PullRequestRecord};
use crate::Result;

/// An open pull request that lives on a remote forge, as polling needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgePullRequest {
    /// The store's number (what `bugstack prs` shows).
    pub number: i64,
    /// The number on the forge.
    pub forge_number: i64,
    /// The ETag of the forge's last answer about it, if any.
    pub etag: Option<String>,
    /// The project of its incident (each project's repository has its own
    /// pull request numbers on the forge).
    pub project: i64,
}

/// What the forge said happened to a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeChange {
    /// Merged; the commit the merge produced on the base branch.
    Merged {
        /// The merge (or squash) commit.
        commit: String,
    },
    /// Closed without merging.
    Closed,
}

/// What [`SqliteStore::apply_forge_change`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeSync {
    /// The pull request (and its incident) moved on.
    Applied(PullRequestRecord),
    /// It was already in that state: nothing changed.
    Unchanged(PullRequestRecord),
}

impl SqliteStore {
    /// The open pull requests that live on a remote forge (they have a
    /// forge number), oldest first: what `serve` polls.
    pub fn forge_pull_requests(&self) -> Result<Vec<ForgePullRequest>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT p.number, p.forge_number, p.etag, COALESCE(i.project_id, 1) FROM pull_requests p
                 LEFT JOIN incidents i ON i.id = p.incident_id
                 WHERE p.state = 'open' AND p.forge_number IS NOT NULL ORDER BY p.number",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ForgePullRequest {
                    number: r.get(0)?,
                    forge_number: r.get(1)?,
                    etag: r.get(2)?,
                    project: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// The store's number of the pull request numbered `forge_number` on the
    /// remote forge, if a run recorded one.
    pub fn pull_request_by_forge_number(&self, forge_number: i64) -> Result<Option<i64>> {
        self.read(|conn| {
            Ok(conn
                .query_row(
                    "SELECT number FROM pull_requests WHERE forge_number = ?1 ORDER BY number DESC LIMIT 1",
                    [forge_number],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    /// The remote forge's number of the store's pull request `number`
    /// (`None`: a local-forge pull request).
    pub fn forge_number_of(&self, number: i64) -> Result<Option<i64>> {
        self.read(|conn| {
            let n: Option<Option<i64>> = conn
                .query_row(
                    "SELECT forge_number FROM pull_requests WHERE number = ?1",
                    [number],
                    |r| r.get(0),
                )
                .optional()?;
            n.ok_or(crate::Error::PullRequestNotFound(number))
        })
    }

    /// Remembers the ETag of the forge's last answer about pull request `number`.
    pub fn set_pull_request_etag(&self, number: i64, etag: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE pull_requests SET etag = ?2 WHERE number = ?1",
                params![number, etag],
            )?;
            Ok(())
        })
    }

    /// The hashes of the patches rejected for `incident` (their pull request
    /// was closed unmerged).
    pub fn rejected_patches(&self, incident: i64) -> Result<BTreeSet<String>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT patch_hash FROM rejected_patches WHERE incident_id = ?1")?;
            let rows = stmt.query_map([incident], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<rusqlite::Result<BTreeSet<_>>>()?)
        })
    }

    shared_apply_forge_change!();
}
