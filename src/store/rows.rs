//! Rows as both stores read them: the column lists they share, a row read
//! by column index whatever its driver ([`StoredRow`], implemented by each
//! backend for its own row type), and the records such rows become. Only
//! the SQL that selects the rows stays with each backend.

use bugstack_core::Fingerprint;
use bugstack_fix::PullRequest;

use super::convert::{ts, u64_of, ForgeExtra};
use super::sql::Dialect;
use super::types::{parse_pull_request_state, FixJob, FixRun, IncidentRecord, PullRequestRecord};
use super::{ReleaseCheck, ReleaseRecord, ReleaseVerdictRecord, TimelineEntry};
use crate::Result;

/// The columns of a fix job row, as [`job_of`] reads them.
pub(crate) const JOB_COLUMNS: &str = "id, incident_id, state, attempts, max_attempts, lease_owner, lease_expires_at, \
     not_before, last_error, created_at, updated_at";

/// The columns of a pull request row, as [`RawPr::from_row`] reads them.
pub(crate) const PR_COLUMNS: &str =
    "number, incident_id, title, body, branch, state, decision, created_at, updated_at, url, base, head_sha, forge";

/// The columns of a fix run row, as [`run_of`] reads them.
pub(crate) const RUN_COLUMNS: &str =
    "id, job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number";

/// The columns of an incident (`i`) as [`incident_of`] reads them: its
/// releases in order of first sighting and its releases with the fix,
/// sorted, aggregated the way `dialect` can (a JSON array on SQLite, a
/// `TEXT[]` on Postgres; [`StoredRow::text_list`] reads either).
pub(crate) fn incident_columns(dialect: Dialect) -> &'static str {
    dialect.pick(
        "i.id, i.fingerprint, i.title, i.kind, i.level, i.status, i.count, i.first_seen, \
         i.last_seen, i.fixed_in_release, \
         (SELECT json_group_array(release) FROM (SELECT release FROM incident_releases r \
            WHERE r.incident_id = i.id ORDER BY r.seq)), \
         (SELECT json_group_array(release) FROM (SELECT release FROM releases_with_fix w \
            WHERE w.incident_id = i.id ORDER BY w.release)), i.fix_commit, i.project_id",
        "i.id, i.fingerprint, i.title, i.kind, i.level, i.status, i.count, \
         i.first_seen, i.last_seen, i.fixed_in_release, \
         ARRAY(SELECT r.release FROM incident_releases r WHERE r.incident_id = i.id ORDER BY r.seq), \
         ARRAY(SELECT w.release FROM releases_with_fix w WHERE w.incident_id = i.id ORDER BY w.release), \
         i.fix_commit, i.project_id",
    )
}

/// The columns of a release row, as [`release_of`] reads them.
pub(crate) const RELEASE_COLUMNS: &str = "name, first_live_at, last_live_at, dependencies";

/// One row of a query, its columns read by index. A column of the wrong
/// type is an error, never a panic.
pub(crate) trait StoredRow {
    /// An integer column.
    fn int(&self, i: usize) -> Result<i64>;
    /// A nullable integer column.
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    /// A text column.
    fn text(&self, i: usize) -> Result<String>;
    /// A nullable text column.
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    /// A list of texts, as the backend aggregates one (an incident's
    /// releases); empty for NULL.
    fn text_list(&self, i: usize) -> Result<Vec<String>>;
}

/// A stored attempt count as `u32`.
fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// An incident row ([`incident_columns`]) as a record.
pub(crate) fn incident_of(r: &dyn StoredRow) -> Result<IncidentRecord> {
    Ok(IncidentRecord {
        id: r.int(0)?,
        fingerprint: Fingerprint::from_hex(r.text(1)?),
        title: r.text(2)?,
        kind: r.text(3)?,
        level: r.text(4)?,
        status: r.text(5)?.parse()?,
        count: u64_of(r.int(6)?),
        first_seen: ts(r.int(7)?),
        last_seen: ts(r.int(8)?),
        fixed_in_release: r.opt_text(9)?,
        releases: r.text_list(10)?,
        releases_with_fix: r.text_list(11)?,
        fix_commit: r.opt_text(12)?,
        project: r.int(13)?,
    })
}

/// A fix job row ([`JOB_COLUMNS`]) as a record.
pub(crate) fn job_of(r: &dyn StoredRow) -> Result<FixJob> {
    Ok(FixJob {
        id: r.int(0)?,
        incident_id: r.int(1)?,
        state: r.text(2)?.parse()?,
        attempts: u32_of(r.int(3)?),
        max_attempts: u32_of(r.int(4)?),
        lease_owner: r.opt_text(5)?,
        lease_expires_at: r.opt_int(6)?.map(ts),
        not_before: ts(r.int(7)?),
        last_error: r.opt_text(8)?,
        created_at: ts(r.int(9)?),
        updated_at: ts(r.int(10)?),
    })
}

/// A fix run row ([`RUN_COLUMNS`]) as a record.
pub(crate) fn run_of(r: &dyn StoredRow) -> Result<FixRun> {
    Ok(FixRun {
        id: r.int(0)?,
        job_id: r.int(1)?,
        incident_id: r.int(2)?,
        attempt: u32_of(r.int(3)?),
        worker: r.text(4)?,
        outcome: r.text(5)?,
        report: serde_json::from_str(&r.text(6)?)?,
        finished_at: ts(r.int(7)?),
        pr_number: r.opt_int(8)?,
    })
}

/// A release row ([`RELEASE_COLUMNS`]) as a record.
pub(crate) fn release_of(r: &dyn StoredRow) -> Result<ReleaseRecord> {
    Ok(ReleaseRecord {
        name: r.text(0)?,
        first_live_at: ts(r.int(1)?),
        last_live_at: ts(r.int(2)?),
        dependencies: r.opt_text(3)?.as_deref().map(serde_json::from_str).transpose()?,
    })
}

/// A timeline row (`at, from_status, to_status, actor, reason`) as an entry.
pub(crate) fn timeline_of(r: &dyn StoredRow) -> Result<TimelineEntry> {
    Ok(TimelineEntry {
        at: ts(r.int(0)?),
        from: r.opt_text(1)?.map(|f| f.parse()).transpose()?,
        to: r.text(2)?.parse()?,
        actor: r.text(3)?,
        reason: r.text(4)?,
    })
}

/// A release verdict row (`release, verdict, commit_sha, note,
/// checked_at`) as a record.
pub(crate) fn verdict_of(r: &dyn StoredRow) -> Result<ReleaseVerdictRecord> {
    Ok(ReleaseVerdictRecord {
        release: r.text(0)?,
        verdict: r.text(1)?.parse()?,
        commit: r.opt_text(2)?,
        note: r.text(3)?,
        checked_at: ts(r.int(4)?),
    })
}

/// A release to check (`incident id, release, fix commit, fixed in
/// release`).
pub(crate) fn release_check_of(r: &dyn StoredRow) -> Result<ReleaseCheck> {
    Ok(ReleaseCheck {
        incident_id: r.int(0)?,
        release: r.text(1)?,
        fix_commit: r.opt_text(2)?,
        fixed_in_release: r.opt_text(3)?,
    })
}

/// A fix run to record: one attempt of a job that reached an end.
pub(crate) struct NewRun<'a> {
    /// The job.
    pub(crate) job: i64,
    /// Its incident.
    pub(crate) incident: i64,
    /// Which attempt of the job.
    pub(crate) attempt: i64,
    /// The worker that ran it.
    pub(crate) worker: &'a str,
    /// The outcome's short name.
    pub(crate) outcome: &'a str,
    /// The machine-readable report.
    pub(crate) report: &'a serde_json::Value,
    /// The pull request it recorded.
    pub(crate) pr_number: Option<i64>,
}

/// An incident's live (queued or running) job, as a claim of the incident
/// reads it.
pub(crate) struct LiveJob {
    /// The job.
    pub(crate) id: i64,
    /// Its state, as stored.
    pub(crate) state: String,
    /// Who holds its lease.
    pub(crate) lease_owner: Option<String>,
    /// When the lease expires, as stored.
    pub(crate) lease_expires_at: Option<i64>,
}

/// The columns of a live job row, as [`LiveJob::from_row`] reads them.
pub(crate) const LIVE_JOB_COLUMNS: &str = "id, state, lease_owner, lease_expires_at";

impl LiveJob {
    /// Reads the columns ([`LIVE_JOB_COLUMNS`]) of `r`.
    pub(crate) fn from_row(r: &dyn StoredRow) -> Result<Self> {
        Ok(LiveJob {
            id: r.int(0)?,
            state: r.text(1)?,
            lease_owner: r.opt_text(2)?,
            lease_expires_at: r.opt_int(3)?,
        })
    }
}

/// A job's row as the lease check reads it.
pub(crate) struct HeldJob {
    /// The job's incident.
    pub(crate) incident: i64,
    /// Attempts so far (this one included).
    pub(crate) attempts: i64,
    /// Attempts allowed.
    pub(crate) max_attempts: i64,
    /// Its state, as stored.
    pub(crate) state: String,
    /// Who holds its lease.
    pub(crate) lease_owner: Option<String>,
}

impl HeldJob {
    /// The run that ends this attempt of job `job` by `worker`: `outcome`
    /// with `report`, and the pull request it recorded.
    pub(crate) fn run<'a>(
        &self,
        job: i64,
        worker: &'a str,
        outcome: &'a str,
        report: &'a serde_json::Value,
        pr_number: Option<i64>,
    ) -> NewRun<'a> {
        NewRun {
            job,
            incident: self.incident,
            attempt: self.attempts,
            worker,
            outcome,
            report,
            pr_number,
        }
    }
}

/// The columns of a job row as the lease check reads them
/// ([`HeldJob::from_row`]).
pub(crate) const HELD_JOB_COLUMNS: &str = "incident_id, attempts, max_attempts, state, lease_owner";

impl HeldJob {
    /// Reads the columns ([`HELD_JOB_COLUMNS`]) of `r`.
    pub(crate) fn from_row(r: &dyn StoredRow) -> Result<Self> {
        Ok(HeldJob {
            incident: r.int(0)?,
            attempts: r.int(1)?,
            max_attempts: r.int(2)?,
            state: r.text(3)?,
            lease_owner: r.opt_text(4)?,
        })
    }
}

/// Raw columns of a pull request row ([`PR_COLUMNS`]).
#[derive(Clone)]
pub(crate) struct RawPr {
    /// The store's number.
    pub(crate) number: i64,
    /// The incident, once a run linked it.
    pub(crate) incident_id: Option<i64>,
    /// Title.
    pub(crate) title: String,
    /// Body.
    pub(crate) body: String,
    /// Head branch.
    pub(crate) branch: String,
    /// State, as stored.
    pub(crate) state: String,
    /// Decision, as stored.
    pub(crate) decision: String,
    /// Opened, as stored.
    pub(crate) created_at: i64,
    /// Last changed, as stored.
    pub(crate) updated_at: i64,
    /// Web address.
    pub(crate) url: String,
    /// Base branch.
    pub(crate) base: String,
    /// Head commit.
    pub(crate) head_sha: String,
    /// The local forge's record ([`ForgeExtra`]) as JSON.
    pub(crate) forge: String,
}

impl RawPr {
    /// Reads the columns of `r`.
    pub(crate) fn from_row(r: &dyn StoredRow) -> Result<Self> {
        Ok(RawPr {
            number: r.int(0)?,
            incident_id: r.opt_int(1)?,
            title: r.text(2)?,
            body: r.text(3)?,
            branch: r.text(4)?,
            state: r.text(5)?,
            decision: r.text(6)?,
            created_at: r.int(7)?,
            updated_at: r.int(8)?,
            url: r.text(9)?,
            base: r.text(10)?,
            head_sha: r.text(11)?,
            forge: r.text(12)?,
        })
    }

    /// The local forge's record of the pull request.
    pub(crate) fn extra(&self) -> Result<ForgeExtra> {
        Ok(serde_json::from_str(&self.forge)?)
    }

    /// The pull request as the local forge keeps it.
    pub(crate) fn into_forge(self) -> Result<PullRequest> {
        let extra = self.extra()?;
        let state = parse_pull_request_state(&self.state)?;
        Ok(PullRequest {
            number: u64::try_from(self.number).unwrap_or(0),
            url: self.url,
            title: self.title,
            body: self.body,
            branch: self.branch,
            base: self.base,
            head_sha: self.head_sha,
            state,
            decision: extra.decision,
            labels: extra.labels,
            comments: extra.comments,
            merge_commit: extra.merge_commit,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }

    /// The pull request as a record.
    pub(crate) fn into_record(self) -> Result<PullRequestRecord> {
        let extra = self.extra()?;
        Ok(PullRequestRecord {
            number: self.number,
            incident_id: self.incident_id,
            title: self.title,
            body: self.body,
            branch: self.branch,
            state: parse_pull_request_state(&self.state)?,
            decision: self.decision,
            url: self.url,
            base: self.base,
            head_sha: self.head_sha,
            merge_commit: extra.merge_commit,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }
}
