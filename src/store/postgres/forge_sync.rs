//! What keeping pull requests in step with a remote forge needs from the
//! store (the SQLite store's `forge_sync`, same types and rules): the
//! forge's number and last ETag of each pull request, a merge or close made
//! on the forge, and the patches a closed pull request rejected.

use std::collections::BTreeSet;

use bugstack_core::Timestamp;
use bugstack_fix::PullRequestState;

use super::PostgresStore;
use crate::store::{Cause, ForgeChange, ForgePullRequest, ForgeSync};
use crate::{Error, Result};

impl PostgresStore {
    /// The open pull requests that live on a remote forge, oldest first.
    pub fn forge_pull_requests(&self) -> Result<Vec<ForgePullRequest>> {
        self.read(|tx| {
            tx.query(
                "SELECT p.number, p.forge_number, p.etag, COALESCE(i.project_id, 1) FROM pull_requests p
                 LEFT JOIN incidents i ON i.id = p.incident_id
                 WHERE p.state = 'open' AND p.forge_number IS NOT NULL ORDER BY p.number",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(ForgePullRequest {
                    number: r.try_get(0)?,
                    forge_number: r.try_get(1)?,
                    etag: r.try_get(2)?,
                    project: r.try_get(3)?,
                })
            })
            .collect()
        })
    }

    /// The store's number of the pull request numbered `forge_number` on the
    /// remote forge, if a run recorded one.
    pub fn pull_request_by_forge_number(&self, forge_number: i64) -> Result<Option<i64>> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT number FROM pull_requests WHERE forge_number = $1 ORDER BY number DESC LIMIT 1",
                &[&forge_number],
            )?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(Into::into)
        })
    }

    /// The remote forge's number of the store's pull request `number`
    /// (`None`: a local-forge pull request).
    pub fn forge_number_of(&self, number: i64) -> Result<Option<i64>> {
        self.read(|tx| {
            let row = tx
                .query_opt("SELECT forge_number FROM pull_requests WHERE number = $1", &[&number])?
                .ok_or(Error::PullRequestNotFound(number))?;
            Ok(row.try_get(0)?)
        })
    }

    /// Remembers the ETag of the forge's last answer about pull request `number`.
    pub fn set_pull_request_etag(&self, number: i64, etag: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE pull_requests SET etag = $2 WHERE number = $1",
                &[&number, &etag],
            )?;
            Ok(())
        })
    }

    /// The hashes of the patches rejected for `incident`.
    pub fn rejected_patches(&self, incident: i64) -> Result<BTreeSet<String>> {
        self.read(|tx| {
            tx.query(
                "SELECT patch_hash FROM rejected_patches WHERE incident_id = $1",
                &[&incident],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }

    shared_apply_forge_change!();
}
