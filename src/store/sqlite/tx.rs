//! The statements of the shared write paths ([`crate::store::flow`]) in
//! SQLite's SQL. The store's one writer connection serializes writers, so
//! nothing here locks rows.

use std::time::Duration;

use bugstack_core::{Event, Timestamp};
use bugstack_fix::{NewPullRequest, PullRequest, PullRequestState};
use rusqlite::{params, OptionalExtension, Transaction};

use super::rows::{after, first_row, job_of, ms, run_of, NewRun, RawPr, JOB_COLUMNS, RUN_COLUMNS};
use crate::store::convert::ForgeExtra;
use crate::store::flow::{HeldJob, StoreTx};
use crate::store::quota::OVERFLOW_PREFIX;
use crate::store::rules::LiveJob;
use crate::store::{
    pull_request_state_name, Cause, FixJob, FixRun, IncidentRecord, JobState, ReleaseVerdictRecord, RunPullRequest,
    StackDependencies, Status,
};
use crate::{Error, Result};

impl StoreTx for Transaction<'_> {
    fn status_of(&mut self, id: i64) -> Result<Status> {
        let s: Option<String> = self
            .query_row("SELECT status FROM incidents WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        Ok(s.ok_or(Error::IncidentNotFound(id))?.parse()?)
    }

    fn write_status(&mut self, id: i64, to: Status, now: Timestamp) -> Result<()> {
        self.prepare_cached("UPDATE incidents SET status = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![id, to.as_str(), ms(now)])?;
        Ok(())
    }

    fn record(&mut self, id: i64, from: Option<Status>, to: Status, now: Timestamp, cause: &Cause) -> Result<()> {
        self.prepare_cached(
            "INSERT INTO incident_timeline (incident_id, at, from_status, to_status, actor, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id,
            ms(now),
            from.map(Status::as_str),
            to.as_str(),
            cause.actor,
            cause.reason
        ])?;
        Ok(())
    }

    fn write_fixed(&mut self, id: i64, release: &str, commit: Option<&str>, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE incidents SET fixed_in_release = ?2, fix_commit = ?3, fixed_at = ?4 WHERE id = ?1",
            params![id, release, commit, ms(now)],
        )?;
        self.execute("DELETE FROM release_verdicts WHERE incident_id = ?1", [id])?;
        self.execute("DELETE FROM releases_with_fix WHERE incident_id = ?1", [id])?;
        Ok(())
    }

    fn add_release(&mut self, id: i64, release: &str) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
            params![id, release],
        )?;
        Ok(())
    }

    fn incident(&mut self, id: i64) -> Result<IncidentRecord> {
        super::rows::incident(self, id)
    }

    fn representative(&mut self, id: i64) -> Result<Event> {
        super::rows::representative(self, id)
    }

    fn stack_dependencies(
        &mut self,
        project: i64,
        releases: &[String],
        event: &Event,
    ) -> Result<Option<StackDependencies>> {
        super::releases::stack_dependencies(self, project, releases, event)
    }

    fn is_overflow(&mut self, id: i64) -> Result<bool> {
        let fp: Option<String> = self
            .prepare_cached("SELECT fingerprint FROM incidents WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?;
        Ok(fp.is_some_and(|f| f.starts_with(OVERFLOW_PREFIX)))
    }

    fn stop_wanting_fix(&mut self, id: i64) -> Result<()> {
        self.prepare_cached("UPDATE incidents SET fix_wanted = 0 WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    fn queued_jobs(&mut self) -> Result<usize> {
        let n: i64 = self
            .prepare_cached("SELECT COUNT(*) FROM fix_jobs WHERE state = 'queued'")?
            .query_row([], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn want_fix(&mut self, id: i64) -> Result<()> {
        self.prepare_cached("UPDATE incidents SET fix_wanted = 1 WHERE id = ?1")?
            .execute([id])?;
        Ok(())
    }

    fn waiting(&mut self, limit: usize) -> Result<Vec<(i64, String)>> {
        Ok(self
            .prepare_cached("SELECT id, status FROM incidents WHERE fix_wanted = 1 ORDER BY count DESC, id LIMIT ?1")?
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn top_waiting(&mut self) -> Result<Option<(i64, String, i64)>> {
        Ok(self
            .prepare_cached(
                "SELECT id, status, count FROM incidents WHERE fix_wanted = 1
                 AND status IN ('open', 'regressed') ORDER BY count DESC, id LIMIT 1",
            )?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    fn best_queued_count(&mut self, now: Timestamp) -> Result<Option<i64>> {
        Ok(self
            .prepare_cached(
                "SELECT MAX(i.count) FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
                 WHERE j.state = 'queued' AND j.not_before <= ?1",
            )?
            .query_row([ms(now)], |r| r.get(0))?)
    }

    fn take_runnable_job(
        &mut self,
        projects: Option<&[i64]>,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<FixJob>> {
        // The projects as a JSON array (`json_each`), NULL for all of them.
        let projects = projects.map(serde_json::to_string).transpose()?;
        first_row(
            self,
            &format!(
                "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,
                     lease_expires_at = ?2, updated_at = ?3
                 WHERE id = (SELECT j.id FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
                             WHERE ((j.state = 'queued' AND j.not_before <= ?3)
                                    OR (j.state = 'running' AND j.lease_expires_at <= ?3))
                               AND (?4 IS NULL OR i.project_id IN (SELECT value FROM json_each(?4)))
                             ORDER BY i.count DESC, j.id LIMIT 1)
                 RETURNING {JOB_COLUMNS}"
            ),
            params![owner, after(now, lease), ms(now), projects],
            |r| job_of(r),
        )
    }

    fn cancel_job(&mut self, job: i64) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?1",
            [job],
        )?;
        Ok(())
    }

    fn enqueue_job(&mut self, id: i64, now: Timestamp) -> Result<Option<i64>> {
        let n = self.execute(
            "INSERT OR IGNORE INTO fix_jobs (incident_id, state, attempts, max_attempts, not_before, created_at,
                 updated_at)
             VALUES (?1, 'queued', 0, ?2, ?3, ?3, ?3)",
            params![id, crate::store::DEFAULT_MAX_ATTEMPTS, ms(now)],
        )?;
        Ok((n > 0).then(|| self.last_insert_rowid()))
    }

    fn live_job(&mut self, id: i64) -> Result<Option<LiveJob>> {
        Ok(self
            .query_row(
                "SELECT id, state, lease_owner, lease_expires_at FROM fix_jobs
                 WHERE incident_id = ?1 AND state IN ('queued', 'running')",
                [id],
                |r| {
                    Ok(LiveJob {
                        id: r.get(0)?,
                        state: r.get(1)?,
                        lease_owner: r.get(2)?,
                        lease_expires_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn cancel_live_job(&mut self, id: i64, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
                 updated_at = ?2 WHERE incident_id = ?1 AND state IN ('queued', 'running')",
            params![id, ms(now)],
        )?;
        self.stop_wanting_fix(id)
    }

    fn hasten_job(&mut self, job: i64, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET not_before = ?2, updated_at = ?2 WHERE id = ?1",
            params![job, ms(now)],
        )?;
        Ok(())
    }

    fn job(&mut self, id: i64) -> Result<FixJob> {
        first_row(
            self,
            &format!("SELECT {JOB_COLUMNS} FROM fix_jobs WHERE id = ?1"),
            [id],
            |r| job_of(r),
        )?
        .ok_or(Error::JobNotFound(id))
    }

    fn take_job(&mut self, job: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<FixJob> {
        self.query_row(
            &format!(
                "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2,
                     lease_expires_at = ?3, updated_at = ?4, max_attempts = max(max_attempts, attempts + 1)
                 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            ),
            params![job, owner, after(now, lease), ms(now)],
            |r| Ok(job_of(r)),
        )?
    }

    fn held_job(&mut self, job: i64) -> Result<Option<HeldJob>> {
        Ok(self
            .query_row(
                "SELECT incident_id, attempts, max_attempts, state, lease_owner FROM fix_jobs WHERE id = ?1",
                [job],
                |r| {
                    Ok(HeldJob {
                        incident: r.get(0)?,
                        attempts: r.get(1)?,
                        max_attempts: r.get(2)?,
                        state: r.get(3)?,
                        lease_owner: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    fn write_lease(&mut self, job: i64, lease: Duration, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET lease_expires_at = ?2, updated_at = ?3 WHERE id = ?1",
            params![job, after(now, lease), ms(now)],
        )?;
        Ok(())
    }

    fn finish_job(&mut self, job: i64, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
                 updated_at = ?2 WHERE id = ?1",
            params![job, ms(now)],
        )?;
        Ok(())
    }

    fn fail_job(
        &mut self,
        job: i64,
        state: JobState,
        error: &str,
        retry_after: Duration,
        now: Timestamp,
    ) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET state = ?2, lease_owner = NULL, lease_expires_at = NULL, last_error = ?3,
                 not_before = ?4, updated_at = ?5 WHERE id = ?1",
            params![job, state.as_str(), error, after(now, retry_after), ms(now)],
        )?;
        Ok(())
    }

    fn give_up_job(&mut self, job: i64, error: &str) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
                 last_error = ?2 WHERE id = ?1",
            params![job, error],
        )?;
        Ok(())
    }

    fn requeue_job(&mut self, job: i64, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE fix_jobs SET state = 'queued', attempts = max(attempts - 1, 0), lease_owner = NULL,
                 lease_expires_at = NULL, not_before = ?2, updated_at = ?2 WHERE id = ?1",
            params![job, ms(now)],
        )?;
        Ok(())
    }

    fn insert_run(&mut self, run: &NewRun<'_>, now: Timestamp) -> Result<FixRun> {
        self.query_row(
            &format!(
                "INSERT INTO fix_runs (job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING {RUN_COLUMNS}"
            ),
            params![
                run.job,
                run.incident,
                run.attempt,
                run.worker,
                run.outcome,
                serde_json::to_string(run.report)?,
                ms(now),
                run.pr_number
            ],
            |r| Ok(run_of(r)),
        )?
    }

    fn record_run_pull_request(
        &mut self,
        incident: i64,
        pr: &RunPullRequest,
        state: PullRequestState,
        now: Timestamp,
    ) -> Result<i64> {
        if let Some(number) = pr.number {
            // The run's forge already recorded it here: link it to the incident.
            let n = self.execute(
                "UPDATE pull_requests SET incident_id = ?2, decision = ?3, updated_at = ?5,
                     state = CASE WHEN ?4 = 'merged' THEN 'merged' ELSE state END
                 WHERE number = ?1 AND (incident_id IS NULL OR incident_id = ?2)",
                params![number, incident, pr.decision, pull_request_state_name(state), ms(now)],
            )?;
            if n == 0 {
                return Err(Error::PullRequestNotFound(number));
            }
            super::forge_sync::record_run_fields(self, number, pr)?;
            return Ok(number);
        }
        let number = self.query_row(
            "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at, updated_at, url)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING number",
            params![
                incident,
                pr.title,
                pr.body,
                pr.branch,
                pull_request_state_name(state),
                pr.decision,
                ms(now),
                pr.url
            ],
            |r| r.get(0),
        )?;
        super::forge_sync::record_run_fields(self, number, pr)?;
        Ok(number)
    }

    fn pull_request_state(&mut self, number: i64) -> Result<Option<(Option<i64>, String)>> {
        Ok(self
            .query_row(
                "SELECT incident_id, state FROM pull_requests WHERE number = ?1",
                [number],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    fn write_pull_request_state(&mut self, number: i64, to: PullRequestState, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE pull_requests SET state = ?2, updated_at = ?3 WHERE number = ?1",
            params![number, pull_request_state_name(to), ms(now)],
        )?;
        Ok(())
    }

    fn pull_request(&mut self, number: i64) -> Result<Option<RawPr>> {
        super::rows::pull_request(self, number)
    }

    fn reject_patch(&mut self, number: i64, now: Timestamp) -> Result<()> {
        self.execute(
            "INSERT OR IGNORE INTO rejected_patches (incident_id, patch_hash, pr_number, rejected_at)
             SELECT incident_id, patch_hash, number, ?2 FROM pull_requests
             WHERE number = ?1 AND incident_id IS NOT NULL AND patch_hash IS NOT NULL",
            params![number, ms(now)],
        )?;
        Ok(())
    }

    fn write_fix_commit(&mut self, id: i64, commit: &str) -> Result<()> {
        self.execute(
            "UPDATE incidents SET fix_commit = ?2 WHERE id = ?1 AND fix_commit IS NULL",
            params![id, commit],
        )?;
        Ok(())
    }

    fn write_verdict(&mut self, incident: i64, v: &ReleaseVerdictRecord) -> Result<()> {
        self.execute(
            "INSERT INTO release_verdicts (incident_id, release, verdict, commit_sha, note, checked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (incident_id, release) DO UPDATE SET verdict = excluded.verdict,
                 commit_sha = excluded.commit_sha, note = excluded.note, checked_at = excluded.checked_at",
            params![
                incident,
                v.release,
                v.verdict.as_str(),
                v.commit,
                v.note,
                ms(v.checked_at)
            ],
        )?;
        Ok(())
    }

    fn seen_in(&mut self, id: i64, release: &str) -> Result<bool> {
        let seen: Option<i64> = self
            .query_row(
                "SELECT 1 FROM incident_releases WHERE incident_id = ?1 AND release = ?2",
                params![id, release],
                |r| r.get(0),
            )
            .optional()?;
        Ok(seen.is_some())
    }

    fn due_for_verification(&mut self, window: Duration, now: Timestamp) -> Result<Vec<(i64, String, i64)>> {
        super::release_checks::due_for_verification(self, window, now)
    }

    fn insert_pull_request(&mut self, new: &NewPullRequest, extra: &ForgeExtra, now: Timestamp) -> Result<i64> {
        Ok(self.query_row(
            "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at, updated_at,
                 base, head_sha, forge)
             VALUES (NULL, ?1, ?2, ?3, 'open', ?4, ?5, ?5, ?6, ?7, ?8) RETURNING number",
            params![
                new.title,
                new.body,
                new.branch,
                new.decision.as_ref().map_or("", |d| d.kind.name()),
                ms(now),
                new.base,
                new.head_sha,
                serde_json::to_string(extra)?
            ],
            |r| r.get(0),
        )?)
    }

    fn write_pull_request_url(&mut self, number: i64, url: &str) -> Result<()> {
        self.execute(
            "UPDATE pull_requests SET url = ?2 WHERE number = ?1",
            params![number, url],
        )?;
        Ok(())
    }

    fn pull_request_for_update(&mut self, number: i64) -> Result<Option<RawPr>> {
        super::rows::pull_request(self, number)
    }

    fn write_pull_request(&mut self, number: i64, pr: &PullRequest, extra: &ForgeExtra, now: Timestamp) -> Result<()> {
        self.execute(
            "UPDATE pull_requests SET title = ?2, body = ?3, branch = ?4, state = ?5, updated_at = ?6, url = ?7,
                 base = ?8, head_sha = ?9, forge = ?10 WHERE number = ?1",
            params![
                number,
                pr.title,
                pr.body,
                pr.branch,
                pull_request_state_name(pr.state),
                ms(now),
                pr.url,
                pr.base,
                pr.head_sha,
                serde_json::to_string(extra)?
            ],
        )?;
        Ok(())
    }
}
