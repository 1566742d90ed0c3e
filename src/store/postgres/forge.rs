//! The local forge's pull requests in the Postgres store: [`PostgresStore`]
//! implements bugstack-fix's [`PullRequestStore`] with the SQLite store's
//! rules (a pull request opened mid-run has no incident until the run links
//! it; once linked, a merge or close moves the incident on in the same
//! transaction).

use bugstack_fix::{NewPullRequest, PullRequest, PullRequestStore};
use postgres::Transaction;

use super::rows::{RawPr, PR_COLUMNS};
use super::PostgresStore;
use crate::store::convert::forge_error;
use crate::store::flow;

fn get_in(tx: &mut Transaction<'_>, number: u64) -> crate::Result<Option<RawPr>> {
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    crate::store::reads::pull_request(tx, number, false)
}

impl PullRequestStore for PostgresStore {
    fn create(&self, new: &NewPullRequest, url_for: &dyn Fn(u64) -> String) -> bugstack_fix::Result<PullRequest> {
        self.write(|tx| flow::create_pull_request(tx, new, url_for))
            .map_err(forge_error)
    }

    fn get(&self, number: u64) -> bugstack_fix::Result<Option<PullRequest>> {
        self.read(|tx| get_in(tx, number)?.map(RawPr::into_forge).transpose())
            .map_err(forge_error)
    }

    fn find_open(&self, branch: &str) -> bugstack_fix::Result<Option<PullRequest>> {
        self.read(|tx| {
            tx.query_opt(
                &format!(
                    "SELECT {PR_COLUMNS} FROM pull_requests WHERE branch = $1 AND state = 'open'
                     ORDER BY number DESC LIMIT 1"
                ),
                &[&branch],
            )?
            .map(|r| RawPr::from_row(&r)?.into_forge())
            .transpose()
        })
        .map_err(forge_error)
    }

    fn update(&self, number: u64, change: &mut dyn FnMut(&mut PullRequest)) -> bugstack_fix::Result<PullRequest> {
        self.write(|tx| flow::update_pull_request(tx, number, &mut *change))
            .map_err(forge_error)
    }

    fn list(&self) -> bugstack_fix::Result<Vec<PullRequest>> {
        self.read(|tx| {
            tx.query(&format!("SELECT {PR_COLUMNS} FROM pull_requests ORDER BY number"), &[])?
                .iter()
                .map(|r| RawPr::from_row(r)?.into_forge())
                .collect()
        })
        .map_err(forge_error)
    }
}
