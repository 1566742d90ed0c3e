//! The local forge's pull requests in the Postgres store: [`PostgresStore`]
//! implements bugstack-fix's [`PullRequestStore`](bugstack_fix::PullRequestStore) with the SQLite store's
//! rules (a pull request opened mid-run has no incident until the run links
//! it; once linked, a merge or close moves the incident on in the same
//! transaction).

use bugstack_core::Timestamp;
use bugstack_fix::PullRequestState;

use super::PostgresStore;
use crate::store::{Cause, ForgeChange, ForgePullRequest, ForgeSync};
use crate::Result;

shared_pull_request_store!(PostgresStore);

shared_forge_store!(PostgresStore);
