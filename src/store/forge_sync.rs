//! What keeping pull requests in step with a remote forge needs from the
//! store, written once over [`Sql`]: the remote-forge fields a run reports
//! with its pull request, and the merge commit kept in the pull request's
//! forge record.

use super::convert::ForgeExtra;
use super::sql::Sql;
use super::RunPullRequest;
use crate::Result;

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
