//! The statements of the shared write paths ([`super::flow`]): [`StoreTx`],
//! one statement (or one read) a method, written once over [`Sql`], so
//! every transaction of either backend is a [`StoreTx`].
//!
//! On Postgres the reads the paths decide on lock their rows
//! ([`Dialect::for_update`]), so two processes changing one incident, job
//! or pull request at once take turns and each sees the other's result; on
//! SQLite the store's one writer connection serializes writers, so nothing
//! locks rows.
//!
//! A claim picks the runnable job of the most frequent incident, on
//! Postgres with `FOR UPDATE OF j SKIP LOCKED`: a job another worker is
//! claiming right now is skipped (that worker gets it), never waited for
//! and never handed out twice. A running job whose lease expired is
//! runnable again (its worker died), and the claim counts a new attempt.
//! Finishing checks the lease with the job's row locked, so a worker that
//! lost its lease cannot finish.

use std::time::Duration;

use bugstack_core::{Event, Timestamp};
use bugstack_fix::{NewPullRequest, PullRequest, PullRequestState};

use super::convert::{after, ms, ForgeExtra};
use super::quota::OVERFLOW_PREFIX;
use super::reads::big;
use super::rows::RUN_COLUMNS;
use super::rows::{job_of, run_of, HeldJob, LiveJob, NewRun, RawPr, HELD_JOB_COLUMNS, JOB_COLUMNS, LIVE_JOB_COLUMNS};
use super::sql::{Dialect, Ids, Sql};
use super::{
    pull_request_state_name, Cause, FixJob, FixRun, IncidentRecord, JobState, ReleaseVerdictRecord, RunPullRequest,
    StackDependencies, Status, DEFAULT_MAX_ATTEMPTS,
};
use crate::{Error, Result};

/// The statements of one write transaction that the shared write paths
/// run, written once for both databases. A read that the dialect locks
/// (Postgres's `FOR UPDATE`) stays locked until the transaction ends.
pub(crate) trait StoreTx: Sql {
    /// Incident `id`'s status.
    fn status_of(&mut self, id: i64) -> Result<Status> {
        let lock = self.dialect().for_update();
        let s = self.first_row(
            &format!("SELECT status FROM incidents WHERE id = ?1{lock}"),
            &[&id],
            |r| r.text(0),
        )?;
        Ok(s.ok_or(Error::IncidentNotFound(id))?.parse()?)
    }

    /// Writes incident `id`'s status (the lifecycle already checked).
    fn write_status(&mut self, id: i64, to: Status, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE incidents SET status = ?2, updated_at = ?3 WHERE id = ?1",
            &[&id, &to.as_str(), &ms(now)],
        )?;
        Ok(())
    }

    /// Appends a timeline entry for incident `id`: `from` → `to` by `cause`
    /// (`from` is `None` when the incident was just created).
    fn record(&mut self, id: i64, from: Option<Status>, to: Status, now: Timestamp, cause: &Cause) -> Result<()> {
        self.run(
            "INSERT INTO incident_timeline (incident_id, at, from_status, to_status, actor, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                &id,
                &ms(now),
                &from.map(Status::as_str),
                &to.as_str(),
                &cause.actor,
                &cause.reason,
            ],
        )?;
        Ok(())
    }

    /// Writes that incident `id` was fixed in `release` at `commit` `now`,
    /// and drops the releases classified or declared against an earlier fix
    /// (its releases with the fix included).
    fn write_fixed(&mut self, id: i64, release: &str, commit: Option<&str>, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE incidents SET fixed_in_release = ?2, fix_commit = ?3, fixed_at = ?4 WHERE id = ?1",
            &[&id, &release, &commit, &ms(now)],
        )?;
        self.run("DELETE FROM release_verdicts WHERE incident_id = ?1", &[&id])?;
        self.run("DELETE FROM releases_with_fix WHERE incident_id = ?1", &[&id])?;
        Ok(())
    }

    /// Adds `release` to incident `id`'s releases with the fix (once).
    fn add_release(&mut self, id: i64, release: &str) -> Result<()> {
        let sql = self.dialect().pick(
            "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
            "INSERT INTO releases_with_fix (incident_id, release) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        );
        self.run(sql, &[&id, &release])?;
        Ok(())
    }

    /// Incident `id`.
    fn incident(&mut self, id: i64) -> Result<IncidentRecord> {
        super::reads::incident(self, id)
    }

    /// The representative event of incident `id`.
    fn representative(&mut self, id: i64) -> Result<Event> {
        super::reads::representative(self, id)
    }

    /// The crates on `event`'s stack with their versions, from the latest of
    /// `releases` of `project` that announced a dependency list.
    fn stack_dependencies(
        &mut self,
        project: i64,
        releases: &[String],
        event: &Event,
    ) -> Result<Option<StackDependencies>> {
        super::releases::stack_dependencies(self, project, releases, event)
    }

    /// Whether incident `id` counts a sender's events over its quota.
    fn is_overflow(&mut self, id: i64) -> Result<bool> {
        let fp = self.first_row("SELECT fingerprint FROM incidents WHERE id = ?1", &[&id], |r| r.text(0))?;
        Ok(fp.is_some_and(|f| f.starts_with(OVERFLOW_PREFIX)))
    }

    /// Takes incident `id` off the list of incidents waiting for room in
    /// the queue.
    fn stop_wanting_fix(&mut self, id: i64) -> Result<()> {
        let no = self.dialect().pick("0", "FALSE");
        self.run(&format!("UPDATE incidents SET fix_wanted = {no} WHERE id = ?1"), &[&id])?;
        Ok(())
    }

    /// How many jobs wait in the queue.
    fn queued_jobs(&mut self) -> Result<usize> {
        let n = self.one_row("SELECT COUNT(*) FROM fix_jobs WHERE state = 'queued'", &[], |r| {
            r.int(0)
        })?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Puts incident `id` on the list of incidents waiting for room in the
    /// queue.
    fn want_fix(&mut self, id: i64) -> Result<()> {
        let yes = self.dialect().pick("1", "TRUE");
        self.run(
            &format!("UPDATE incidents SET fix_wanted = {yes} WHERE id = ?1"),
            &[&id],
        )?;
        Ok(())
    }

    /// Up to `limit` waiting incidents as (id, status), the most frequent
    /// first.
    // On Postgres, waiting rows another worker is promoting are skipped.
    fn waiting(&mut self, limit: usize) -> Result<Vec<(i64, String)>> {
        let (wanted, skip) = wanted_skip_locked(self.dialect());
        self.all_rows(
            &format!("SELECT id, status FROM incidents WHERE {wanted} ORDER BY count DESC, id LIMIT ?1{skip}"),
            &[&big(limit)],
            |r| Ok((r.int(0)?, r.text(1)?)),
        )
    }

    /// The most frequent waiting incident that still wants a fix, as (id,
    /// status, count).
    fn top_waiting(&mut self) -> Result<Option<(i64, String, i64)>> {
        let (wanted, skip) = wanted_skip_locked(self.dialect());
        self.first_row(
            &format!(
                "SELECT id, status, count FROM incidents WHERE {wanted}
                 AND status IN ('open', 'regressed') ORDER BY count DESC, id LIMIT 1{skip}"
            ),
            &[],
            |r| Ok((r.int(0)?, r.text(1)?, r.int(2)?)),
        )
    }

    /// The count of the most frequent incident with a job runnable `now`.
    fn best_queued_count(&mut self, now: Timestamp) -> Result<Option<i64>> {
        self.one_row(
            "SELECT MAX(i.count) FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
             WHERE j.state = 'queued' AND j.not_before <= ?1",
            &[&ms(now)],
            |r| r.opt_int(0),
        )
    }

    /// Starts an attempt, by `owner` and leased for `lease`, of the runnable
    /// job (queued and due, or running with its lease expired) of the most
    /// frequent incident of `projects` (all when `None`).
    fn take_runnable_job(
        &mut self,
        projects: Option<&[i64]>,
        owner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<FixJob>> {
        // SQLite reads the projects as a JSON array (`json_each`), Postgres
        // as a `BIGINT[]`; NULL for all of them.
        let (in_projects, skip) = match self.dialect() {
            Dialect::Sqlite => ("?4 IS NULL OR i.project_id IN (SELECT value FROM json_each(?4))", ""),
            Dialect::Postgres => (
                "?4::BIGINT[] IS NULL OR i.project_id = ANY(?4)",
                "\n                             FOR UPDATE OF j SKIP LOCKED",
            ),
        };
        self.first_row(
            &format!(
                "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,
                     lease_expires_at = ?2, updated_at = ?3
                 WHERE id = (SELECT j.id FROM fix_jobs j JOIN incidents i ON i.id = j.incident_id
                             WHERE ((j.state = 'queued' AND j.not_before <= ?3)
                                    OR (j.state = 'running' AND j.lease_expires_at <= ?3))
                               AND ({in_projects})
                             ORDER BY i.count DESC, j.id LIMIT 1{skip})
                 RETURNING {JOB_COLUMNS}"
            ),
            &[&owner, &after(now, lease), &ms(now), &Ids::new(projects)?],
            job_of,
        )
    }

    /// Cancels job `job`.
    fn cancel_job(&mut self, job: i64) -> Result<()> {
        self.run(
            "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?1",
            &[&job],
        )?;
        Ok(())
    }

    /// Queues a fix job for incident `id` unless one is live; the new job.
    fn enqueue_job(&mut self, id: i64, now: Timestamp) -> Result<Option<i64>> {
        let sql = self.dialect().pick(
            // The unique index on live jobs ignores a second one.
            "INSERT OR IGNORE INTO fix_jobs (incident_id, state, attempts, max_attempts, not_before, created_at,
                 updated_at)
             VALUES (?1, 'queued', 0, ?2, ?3, ?3, ?3) RETURNING id",
            // `WHERE NOT EXISTS` first, so the usual no-op takes no id from
            // the sequence; `ON CONFLICT` for a concurrent enqueue.
            "INSERT INTO fix_jobs (incident_id, state, attempts, max_attempts, not_before, created_at, updated_at)
             SELECT ?1, 'queued', 0, ?2, ?3, ?3, ?3
             WHERE NOT EXISTS (SELECT 1 FROM fix_jobs WHERE incident_id = ?1 AND state IN ('queued', 'running'))
             ON CONFLICT DO NOTHING RETURNING id",
        );
        self.first_row(sql, &[&id, &i64::from(DEFAULT_MAX_ATTEMPTS), &ms(now)], |r| r.int(0))
    }

    /// Incident `id`'s live (queued or running) job.
    fn live_job(&mut self, id: i64) -> Result<Option<LiveJob>> {
        let lock = self.dialect().for_update();
        self.first_row(
            &format!(
                "SELECT {LIVE_JOB_COLUMNS} FROM fix_jobs
                 WHERE incident_id = ?1 AND state IN ('queued', 'running'){lock}"
            ),
            &[&id],
            LiveJob::from_row,
        )
    }

    /// Cancels incident `id`'s live job, if any, and takes the incident off
    /// the waiting list.
    fn cancel_live_job(&mut self, id: i64, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
                 updated_at = ?2 WHERE incident_id = ?1 AND state IN ('queued', 'running')",
            &[&id, &ms(now)],
        )?;
        self.stop_wanting_fix(id)
    }

    /// Makes queued job `job` runnable `now`.
    fn hasten_job(&mut self, job: i64, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE fix_jobs SET not_before = ?2, updated_at = ?2 WHERE id = ?1",
            &[&job, &ms(now)],
        )?;
        Ok(())
    }

    /// Job `id`.
    fn job(&mut self, id: i64) -> Result<FixJob> {
        self.first_row(
            &format!("SELECT {JOB_COLUMNS} FROM fix_jobs WHERE id = ?1"),
            &[&id],
            job_of,
        )?
        .ok_or(Error::JobNotFound(id))
    }

    /// Starts an attempt of job `job` by `owner`, leased for `lease` (a job
    /// a person asked for gets one more attempt when it has run out).
    fn take_job(&mut self, job: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<FixJob> {
        let greatest = self.dialect().greatest();
        self.one_row(
            &format!(
                "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2,
                     lease_expires_at = ?3, updated_at = ?4, max_attempts = {greatest}(max_attempts, attempts + 1)
                 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            ),
            &[&job, &owner, &after(now, lease), &ms(now)],
            job_of,
        )
    }

    /// Job `job`'s row for the lease check, if there is one.
    fn held_job(&mut self, job: i64) -> Result<Option<HeldJob>> {
        let lock = self.dialect().for_update();
        self.first_row(
            &format!("SELECT {HELD_JOB_COLUMNS} FROM fix_jobs WHERE id = ?1{lock}"),
            &[&job],
            HeldJob::from_row,
        )
    }

    /// Moves `job`'s lease to expire `lease` after `now`.
    fn write_lease(&mut self, job: i64, lease: Duration, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE fix_jobs SET lease_expires_at = ?2, updated_at = ?3 WHERE id = ?1",
            &[&job, &after(now, lease), &ms(now)],
        )?;
        Ok(())
    }

    /// Marks job `job` done.
    fn finish_job(&mut self, job: i64, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE fix_jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
                 updated_at = ?2 WHERE id = ?1",
            &[&job, &ms(now)],
        )?;
        Ok(())
    }

    /// Writes a failed attempt of job `job`: `state`, `error`, runnable
    /// again `retry_after` after `now`.
    fn fail_job(
        &mut self,
        job: i64,
        state: JobState,
        error: &str,
        retry_after: Duration,
        now: Timestamp,
    ) -> Result<()> {
        self.run(
            "UPDATE fix_jobs SET state = ?2, lease_owner = NULL, lease_expires_at = NULL, last_error = ?3,
                 not_before = ?4, updated_at = ?5 WHERE id = ?1",
            &[&job, &state.as_str(), &error, &after(now, retry_after), &ms(now)],
        )?;
        Ok(())
    }

    /// Gives up on job `job` with `error`.
    fn give_up_job(&mut self, job: i64, error: &str) -> Result<()> {
        self.run(
            "UPDATE fix_jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
                 last_error = ?2 WHERE id = ?1",
            &[&job, &error],
        )?;
        Ok(())
    }

    /// Puts running job `job` back in the queue, its attempt not counted.
    fn requeue_job(&mut self, job: i64, now: Timestamp) -> Result<()> {
        let greatest = self.dialect().greatest();
        self.run(
            &format!(
                "UPDATE fix_jobs SET state = 'queued', attempts = {greatest}(attempts - 1, 0), lease_owner = NULL,
                     lease_expires_at = NULL, not_before = ?2, updated_at = ?2 WHERE id = ?1"
            ),
            &[&job, &ms(now)],
        )?;
        Ok(())
    }

    /// Records `run`, finished `now`.
    fn insert_run(&mut self, run: &NewRun<'_>, now: Timestamp) -> Result<FixRun> {
        self.one_row(
            &format!(
                "INSERT INTO fix_runs (job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING {RUN_COLUMNS}"
            ),
            &[
                &run.job,
                &run.incident,
                &run.attempt,
                &run.worker,
                &run.outcome,
                &serde_json::to_string(run.report)?,
                &ms(now),
                &run.pr_number,
            ],
            run_of,
        )
    }

    /// Records the pull request a run of `incident`'s job produced, in
    /// `state`, and returns its number: a pull request the run's forge
    /// already recorded in the store ([`RunPullRequest::number`]) is linked
    /// to the incident, any other is inserted.
    fn record_run_pull_request(
        &mut self,
        incident: i64,
        pr: &RunPullRequest,
        state: PullRequestState,
        now: Timestamp,
    ) -> Result<i64> {
        let state = pull_request_state_name(state);
        let number = match pr.number {
            // The run's forge already recorded it here: link it to the incident.
            Some(number) => {
                let merged = self.dialect().pick("?4", "?4::TEXT");
                let n = self.run(
                    &format!(
                        "UPDATE pull_requests SET incident_id = ?2, decision = ?3, updated_at = ?5,
                             state = CASE WHEN {merged} = 'merged' THEN 'merged' ELSE state END
                         WHERE number = ?1 AND (incident_id IS NULL OR incident_id = ?2)"
                    ),
                    &[&number, &incident, &pr.decision, &state, &ms(now)],
                )?;
                if n == 0 {
                    return Err(Error::PullRequestNotFound(number));
                }
                number
            }
            None => self.one_row(
                "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at, updated_at, url)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING number",
                &[
                    &incident,
                    &pr.title,
                    &pr.body,
                    &pr.branch,
                    &state,
                    &pr.decision,
                    &ms(now),
                    &pr.url,
                ],
                |r| r.int(0),
            )?,
        };
        super::forge_sync::record_run_fields(self, number, pr)?;
        Ok(number)
    }

    /// Pull request `number`'s incident and state (as stored).
    fn pull_request_state(&mut self, number: i64) -> Result<Option<(Option<i64>, String)>> {
        let lock = self.dialect().for_update();
        self.first_row(
            &format!("SELECT incident_id, state FROM pull_requests WHERE number = ?1{lock}"),
            &[&number],
            |r| Ok((r.opt_int(0)?, r.text(1)?)),
        )
    }

    /// Writes pull request `number`'s state.
    fn write_pull_request_state(&mut self, number: i64, to: PullRequestState, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE pull_requests SET state = ?2, updated_at = ?3 WHERE number = ?1",
            &[&number, &pull_request_state_name(to), &ms(now)],
        )?;
        Ok(())
    }

    /// Pull request `number`'s row.
    fn pull_request(&mut self, number: i64) -> Result<Option<RawPr>> {
        super::reads::pull_request(self, number, false)
    }

    /// Rejects the patch of closed pull request `number` for its incident.
    fn reject_patch(&mut self, number: i64, now: Timestamp) -> Result<()> {
        let sql = self.dialect().pick(
            "INSERT OR IGNORE INTO rejected_patches (incident_id, patch_hash, pr_number, rejected_at)
             SELECT incident_id, patch_hash, number, ?2 FROM pull_requests
             WHERE number = ?1 AND incident_id IS NOT NULL AND patch_hash IS NOT NULL",
            "INSERT INTO rejected_patches (incident_id, patch_hash, pr_number, rejected_at)
             SELECT incident_id, patch_hash, number, ?2 FROM pull_requests
             WHERE number = ?1 AND incident_id IS NOT NULL AND patch_hash IS NOT NULL
             ON CONFLICT DO NOTHING",
        );
        self.run(sql, &[&number, &ms(now)])?;
        Ok(())
    }

    /// Writes incident `id`'s fix commit unless one is known.
    fn write_fix_commit(&mut self, id: i64, commit: &str) -> Result<()> {
        self.run(
            "UPDATE incidents SET fix_commit = ?2 WHERE id = ?1 AND fix_commit IS NULL",
            &[&id, &commit],
        )?;
        Ok(())
    }

    /// Writes (or replaces) how release `v.release` relates to incident
    /// `incident`'s fix.
    fn write_verdict(&mut self, incident: i64, v: &ReleaseVerdictRecord) -> Result<()> {
        self.run(
            "INSERT INTO release_verdicts (incident_id, release, verdict, commit_sha, note, checked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (incident_id, release) DO UPDATE SET verdict = excluded.verdict,
                 commit_sha = excluded.commit_sha, note = excluded.note, checked_at = excluded.checked_at",
            &[
                &incident,
                &v.release,
                &v.verdict.as_str(),
                &v.commit,
                &v.note,
                &ms(v.checked_at),
            ],
        )?;
        Ok(())
    }

    /// Whether incident `id` was seen in `release`.
    fn seen_in(&mut self, id: i64, release: &str) -> Result<bool> {
        let seen = self.first_row(
            "SELECT 1 FROM incident_releases WHERE incident_id = ?1 AND release = ?2",
            &[&id, &release],
            |_| Ok(()),
        )?;
        Ok(seen.is_some())
    }

    /// The (incident, live release, silent since) due for verification with
    /// `window` at `now`.
    fn due_for_verification(&mut self, window: Duration, now: Timestamp) -> Result<Vec<(i64, String, i64)>> {
        super::release_checks::due_for_verification(self, window, now)
    }

    /// Inserts the open pull request `new`, with `extra`, opened `now`; its
    /// number.
    fn insert_pull_request(&mut self, new: &NewPullRequest, extra: &ForgeExtra, now: Timestamp) -> Result<i64> {
        self.one_row(
            "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at, updated_at,
                 base, head_sha, forge)
             VALUES (NULL, ?1, ?2, ?3, 'open', ?4, ?5, ?5, ?6, ?7, ?8) RETURNING number",
            &[
                &new.title,
                &new.body,
                &new.branch,
                &new.decision.as_ref().map_or("", |d| d.kind.name()),
                &ms(now),
                &new.base,
                &new.head_sha,
                &serde_json::to_string(extra)?,
            ],
            |r| r.int(0),
        )
    }

    /// Writes pull request `number`'s web address.
    fn write_pull_request_url(&mut self, number: i64, url: &str) -> Result<()> {
        self.run("UPDATE pull_requests SET url = ?2 WHERE number = ?1", &[&number, &url])?;
        Ok(())
    }

    /// Pull request `number`'s row, locked for an update.
    // Locked first on Postgres: two updates of one pull request take turns.
    fn pull_request_for_update(&mut self, number: i64) -> Result<Option<RawPr>> {
        super::reads::pull_request(self, number, true)
    }

    /// Writes pull request `number` as `pr` (with `extra`) changed `now`.
    fn write_pull_request(&mut self, number: i64, pr: &PullRequest, extra: &ForgeExtra, now: Timestamp) -> Result<()> {
        self.run(
            "UPDATE pull_requests SET title = ?2, body = ?3, branch = ?4, state = ?5, updated_at = ?6, url = ?7,
                 base = ?8, head_sha = ?9, forge = ?10 WHERE number = ?1",
            &[
                &number,
                &pr.title,
                &pr.body,
                &pr.branch,
                &pull_request_state_name(pr.state),
                &ms(now),
                &pr.url,
                &pr.base,
                &pr.head_sha,
                &serde_json::to_string(extra)?,
            ],
        )?;
        Ok(())
    }
}

/// Every connection and transaction of either backend runs the shared write
/// paths.
impl<T: Sql + ?Sized> StoreTx for T {}

/// How a read finds the incidents waiting for room in the queue
/// (`fix_wanted`, an integer on SQLite, a boolean on Postgres), and what
/// it appends so that, on Postgres, rows another worker is promoting are
/// skipped.
fn wanted_skip_locked(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Sqlite => ("fix_wanted = 1", ""),
        Dialect::Postgres => ("fix_wanted", "\n                 FOR UPDATE SKIP LOCKED"),
    }
}
