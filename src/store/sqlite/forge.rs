//! The local forge's pull requests live in the incident store:
//! [`SqliteStore`] implements bugstack-fix's
//! [`PullRequestStore`](bugstack_fix::PullRequestStore), so a
//! `LocalForge` built over it records, comments on, labels and merges pull
//! requests in the same `pull_requests` table that `bugstack prs` reads.
//!
//! A pull request the forge opens during a fix run has no incident yet; the
//! run links it when it finishes ([`IncidentStore::complete_job`](crate::store::IncidentStore::complete_job) with
//! [`RunPullRequest::number`](crate::store::RunPullRequest::number)). Once linked, a forge update that merges
//! or closes it moves the incident on in the same transaction (merged:
//! `fix-proposed → fixed` in the merge commit; closed: `fix-proposed → open`),
//! so a pull request reviewed and merged later still closes the loop.

use bugstack_core::Timestamp;
use bugstack_fix::PullRequestState;

use super::SqliteStore;
use crate::store::{Cause, ForgeChange, ForgePullRequest, ForgeSync};
use crate::Result;

shared_pull_request_store!(SqliteStore);

shared_forge_store!(SqliteStore);

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use bugstack_fix::PullRequestStore;

    use super::*;
    use crate::store::{schema, IncidentStore, PullRequestState, Status, DB_FILE};

    #[test]
    fn migration_2_keeps_version_1_pull_requests_and_their_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DB_FILE);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute_batch(
                "INSERT INTO incidents (id, fingerprint, title, kind, level, status, count, first_seen, last_seen,
                     representative, created_at, updated_at)
                 VALUES (1, 'f', 't', 'panic', 'fatal', 'fix-proposed', 3, 0, 0,
                     '{\"kind\":\"panic\",\"level\":\"fatal\",\"message\":\"t\",\"timestamp\":\"2026-01-01T00:00:00Z\"}', 0, 0);
                 INSERT INTO fix_jobs (id, incident_id, state, attempts, max_attempts, not_before, created_at, updated_at)
                 VALUES (1, 1, 'done', 1, 3, 0, 0, 0);
                 INSERT INTO pull_requests (number, incident_id, title, body, branch, state, decision, created_at, updated_at)
                 VALUES (1, 1, 'Fix t', 'body', 'bugstack/fix-f', 'open', 'review', 0, 0);
                 INSERT INTO fix_runs (job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number)
                 VALUES (1, 1, 1, 'w', 'proposed', '{}', 0, 1);",
            )
            .unwrap();
        }
        let s = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(s.schema_version().unwrap(), schema::latest_version());
        let view = &IncidentStore::pull_requests(&s).unwrap()[0];
        assert_eq!(
            (view.number, view.incident_id, view.branch.as_str()),
            (1, Some(1), "bugstack/fix-f")
        );
        assert_eq!(s.runs(1).unwrap()[0].pr_number, Some(1));
        let forge = s.get(1).unwrap().unwrap();
        assert_eq!((forge.state, forge.url.as_str()), (PullRequestState::Open, ""));
        s.update(1, &mut |p| p.state = PullRequestState::Merged).unwrap();
        assert_eq!(s.incident(1).unwrap().status, Status::Fixed);
    }
}
