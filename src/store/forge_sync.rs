//! What keeping pull requests in step with a remote forge (GitHub) needs
//! from the store, written once over [`Sql`]: the forge's own number and
//! the last ETag of each pull request a run recorded (for conditional
//! polling), a merge or close a person made on the forge (the merge commit
//! kept in the pull request's forge record), and the patches a closed pull
//! request rejected (never proposed again for that incident). Each backend
//! answers [`ForgeStore`](super::ForgeStore) with these
//! (`shared_forge_store!`).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::convert::ForgeExtra;
use super::sql::Sql;
use super::{PullRequestRecord, RunPullRequest};
use crate::{Error, Result};

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

/// What `apply_forge_change` ([`ForgeStore::apply_forge_change`](super::ForgeStore::apply_forge_change)) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForgeSync {
    /// The pull request (and its incident) moved on.
    Applied(PullRequestRecord),
    /// It was already in that state: nothing changed.
    Unchanged(PullRequestRecord),
}

/// Records the remote-forge fields a run reports with its pull request.
pub(crate) fn record_run_fields<S: Sql + ?Sized>(db: &mut S, number: i64, pr: &RunPullRequest) -> Result<()> {
    if pr.forge_number.is_none() && pr.patch_hash.is_none() {
        return Ok(());
    }
    db.run(
        "UPDATE pull_requests SET forge_number = COALESCE(?2, forge_number), patch_hash = COALESCE(?3, patch_hash)
         WHERE number = ?1",
        &[&number, &pr.forge_number, &pr.patch_hash],
    )?;
    Ok(())
}

/// Keeps the merge commit in the pull request's forge record.
pub(crate) fn record_merge_commit<S: Sql + ?Sized>(db: &mut S, number: i64, commit: &str) -> Result<()> {
    let Some(forge) = db.first_row("SELECT forge FROM pull_requests WHERE number = ?1", &[&number], |r| {
        r.text(0)
    })?
    else {
        return Ok(());
    };
    let mut extra: ForgeExtra = serde_json::from_str(&forge)?;
    extra.merge_commit = Some(commit.to_string());
    db.run(
        "UPDATE pull_requests SET forge = ?2 WHERE number = ?1",
        &[&number, &serde_json::to_string(&extra)?],
    )?;
    Ok(())
}

/// The open pull requests that live on a remote forge (they have a forge
/// number), oldest first: what `serve` polls.
pub(crate) fn forge_pull_requests<S: Sql + ?Sized>(db: &mut S) -> Result<Vec<ForgePullRequest>> {
    db.all_rows(
        "SELECT p.number, p.forge_number, p.etag, COALESCE(i.project_id, 1) FROM pull_requests p
         LEFT JOIN incidents i ON i.id = p.incident_id
         WHERE p.state = 'open' AND p.forge_number IS NOT NULL ORDER BY p.number",
        &[],
        |r| {
            Ok(ForgePullRequest {
                number: r.int(0)?,
                forge_number: r.int(1)?,
                etag: r.opt_text(2)?,
                project: r.int(3)?,
            })
        },
    )
}

/// The store's number of the pull request numbered `forge_number` on the
/// remote forge, if a run recorded one.
pub(crate) fn pull_request_by_forge_number<S: Sql + ?Sized>(db: &mut S, forge_number: i64) -> Result<Option<i64>> {
    db.first_row(
        "SELECT number FROM pull_requests WHERE forge_number = ?1 ORDER BY number DESC LIMIT 1",
        &[&forge_number],
        |r| r.int(0),
    )
}

/// The remote forge's number of the store's pull request `number` (`None`:
/// a local-forge pull request).
pub(crate) fn forge_number_of<S: Sql + ?Sized>(db: &mut S, number: i64) -> Result<Option<i64>> {
    db.first_row(
        "SELECT forge_number FROM pull_requests WHERE number = ?1",
        &[&number],
        |r| r.opt_int(0),
    )?
    .ok_or(Error::PullRequestNotFound(number))
}

/// Remembers the ETag of the forge's last answer about pull request `number`.
pub(crate) fn set_pull_request_etag<S: Sql + ?Sized>(db: &mut S, number: i64, etag: &str) -> Result<()> {
    db.run(
        "UPDATE pull_requests SET etag = ?2 WHERE number = ?1",
        &[&number, &etag],
    )?;
    Ok(())
}

/// The hashes of the patches rejected for `incident` (their pull request
/// was closed unmerged).
pub(crate) fn rejected_patches<S: Sql + ?Sized>(db: &mut S, incident: i64) -> Result<BTreeSet<String>> {
    let hashes = db.all_rows(
        "SELECT patch_hash FROM rejected_patches WHERE incident_id = ?1",
        &[&incident],
        |r| r.text(0),
    )?;
    Ok(hashes.into_iter().collect())
}
