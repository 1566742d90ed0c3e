//! The local forge's pull requests as both stores read them, written once
//! over [`Sql`]: each backend implements bugstack-fix's
//! [`PullRequestStore`](bugstack_fix::PullRequestStore) with these and the
//! shared write paths of [`super::flow`] (`shared_pull_request_store!`).

use bugstack_fix::PullRequest;

use super::rows::{RawPr, PR_COLUMNS};
use super::sql::Sql;
use crate::Result;

/// Pull request `number` as the local forge keeps it, if there is one.
pub(crate) fn get<S: Sql + ?Sized>(db: &mut S, number: u64) -> Result<Option<PullRequest>> {
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    super::reads::pull_request(db, number, false)?
        .map(RawPr::into_forge)
        .transpose()
}

/// The newest open pull request from `branch`, if any.
pub(crate) fn find_open<S: Sql + ?Sized>(db: &mut S, branch: &str) -> Result<Option<PullRequest>> {
    db.first_row(
        &format!(
            "SELECT {PR_COLUMNS} FROM pull_requests WHERE branch = ?1 AND state = 'open'
             ORDER BY number DESC LIMIT 1"
        ),
        &[&branch],
        |r| RawPr::from_row(r)?.into_forge(),
    )
}

/// Every pull request, oldest first.
pub(crate) fn list<S: Sql + ?Sized>(db: &mut S) -> Result<Vec<PullRequest>> {
    db.all_rows(
        &format!("SELECT {PR_COLUMNS} FROM pull_requests ORDER BY number"),
        &[],
        |r| RawPr::from_row(r)?.into_forge(),
    )
}
