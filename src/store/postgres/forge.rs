//! The local forge's pull requests in the Postgres store: [`PostgresStore`]
//! implements bugstack-fix's [`PullRequestStore`] with the SQLite store's
//! rules (a pull request opened mid-run has no incident until the run links
//! it; once linked, a merge or close moves the incident on in the same
//! transaction).

use bugstack_core::Timestamp;
use bugstack_fix::{NewPullRequest, PullRequest, PullRequestStore};
use postgres::Transaction;

use super::rows::{ms, ForgeExtra, RawPr, PR_COLUMNS};
use super::PostgresStore;
use crate::store::flow;
use crate::store::pull_request_state_name;
use crate::store::types::parse_pull_request_state;

fn fix_err(e: impl std::fmt::Display) -> bugstack_fix::Error {
    bugstack_fix::Error::Deploy(format!("pull request store: {e}"))
}

fn get_in(tx: &mut Transaction<'_>, number: u64) -> crate::Result<Option<RawPr>> {
    let Ok(number) = i64::try_from(number) else {
        return Ok(None);
    };
    super::rows::pull_request(tx, number)
}

impl PullRequestStore for PostgresStore {
    fn create(&self, new: &NewPullRequest, url_for: &dyn Fn(u64) -> String) -> bugstack_fix::Result<PullRequest> {
        self.write(|tx| {
            let extra = ForgeExtra {
                decision: new.decision.clone(),
                ..ForgeExtra::default()
            };
            let now = ms(Timestamp::now());
            let number: i64 = tx
                .query_one(
                    "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at,
                         updated_at, base, head_sha, forge)
                     VALUES (NULL, $1, $2, $3, 'open', $4, $5, $5, $6, $7, $8) RETURNING number",
                    &[
                        &new.title,
                        &new.body,
                        &new.branch,
                        &new.decision.as_ref().map_or("", |d| d.kind.name()),
                        &now,
                        &new.base,
                        &new.head_sha,
                        &serde_json::to_string(&extra)?,
                    ],
                )?
                .try_get(0)?;
            let url = url_for(u64::try_from(number).unwrap_or(0));
            tx.execute("UPDATE pull_requests SET url = $2 WHERE number = $1", &[&number, &url])?;
            let raw = super::rows::pull_request(tx, number)?.ok_or(crate::Error::PullRequestNotFound(number))?;
            raw.into_forge()
        })
        .map_err(fix_err)
    }

    fn get(&self, number: u64) -> bugstack_fix::Result<Option<PullRequest>> {
        self.read(|tx| get_in(tx, number)?.map(RawPr::into_forge).transpose())
            .map_err(fix_err)
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
        .map_err(fix_err)
    }

    fn update(&self, number: u64, change: &mut dyn FnMut(&mut PullRequest)) -> bugstack_fix::Result<PullRequest> {
        self.write(|tx| {
            let wanted = i64::try_from(number).unwrap_or(i64::MAX);
            // Lock first: two updates of one pull request take turns.
            tx.execute("SELECT 1 FROM pull_requests WHERE number = $1 FOR UPDATE", &[&wanted])?;
            let raw = get_in(tx, number)?.ok_or(crate::Error::PullRequestNotFound(wanted))?;
            let before = parse_pull_request_state(&raw.state)?;
            let mut pr = raw.clone().into_forge()?;
            change(&mut pr);
            pr.number = number;
            let now = Timestamp::now();
            pr.updated_at = now;
            let extra = ForgeExtra {
                decision: pr.decision.clone(),
                labels: pr.labels.clone(),
                comments: pr.comments.clone(),
                merge_commit: pr.merge_commit.clone(),
            };
            tx.execute(
                "UPDATE pull_requests SET title = $2, body = $3, branch = $4, state = $5, updated_at = $6, url = $7,
                     base = $8, head_sha = $9, forge = $10 WHERE number = $1",
                &[
                    &raw.number,
                    &pr.title,
                    &pr.body,
                    &pr.branch,
                    &pull_request_state_name(pr.state),
                    &ms(now),
                    &pr.url,
                    &pr.base,
                    &pr.head_sha,
                    &serde_json::to_string(&extra)?,
                ],
            )?;
            flow::follow_pull_request(tx, &raw, before, &pr, now)?;
            Ok(pr)
        })
        .map_err(fix_err)
    }

    fn list(&self) -> bugstack_fix::Result<Vec<PullRequest>> {
        self.read(|tx| {
            tx.query(&format!("SELECT {PR_COLUMNS} FROM pull_requests ORDER BY number"), &[])?
                .iter()
                .map(|r| RawPr::from_row(r)?.into_forge())
                .collect()
        })
        .map_err(fix_err)
    }
}
