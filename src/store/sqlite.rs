//! The embedded store: one SQLite file in the data directory.
//!
//! ## Durability
//!
//! The database runs in WAL mode with `synchronous=FULL`: every commit
//! fsyncs the write-ahead log before it returns, so a batch the collector
//! acknowledged survives `kill -9` of the collector *and* a power cut or OS
//! crash. (`NORMAL` would survive a process crash but could lose the last
//! commits on power loss, and an acknowledged event must never be lost.)
//! The cost is one fsync per committed batch, which is why the collector
//! commits a whole batch in one transaction rather than event by event.
//!
//! Writes go through one connection behind a mutex (SQLite has one writer at
//! a time anyway) and start `BEGIN IMMEDIATE` so they never fail half-way on a
//! lock upgrade; reads use a second connection and, thanks to WAL, never wait
//! for the writer. A busy timeout lets the CLI read while `serve` writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use bugstack_core::{Event, Fingerprint, Timestamp};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::schema;
use super::types::{
    ClaimedJob, FixJob, FixOutcome, FixRun, IncidentDetail, IncidentRecord, IngestSummary, JobState, NewPullRequest,
    PrState, PullRequest, Status, Totals,
};
use super::{IncidentStore, DEFAULT_MAX_ATTEMPTS, SAMPLE_SIZE};
use crate::{Error, Result};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "bugstack.db";

/// Largest count one event may add (larger claimed counts are clamped, so a
/// hostile sender cannot overflow the totals).
const MAX_EVENT_COUNT: u64 = u32::MAX as u64;

/// The SQLite implementation of [`IncidentStore`].
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    pub(super) writer: Mutex<Connection>,
    pub(super) reader: Mutex<Connection>,
}

const INCIDENT_COLUMNS: &str = "i.id, i.fingerprint, i.title, i.kind, i.level, i.status, i.count, i.first_seen, \
     i.last_seen, i.fixed_in_release, \
     (SELECT json_group_array(release) FROM (SELECT release FROM incident_releases r \
        WHERE r.incident_id = i.id ORDER BY r.seq)), \
     (SELECT json_group_array(release) FROM (SELECT release FROM releases_with_fix w \
        WHERE w.incident_id = i.id ORDER BY w.release))";

const JOB_COLUMNS: &str = "id, incident_id, state, attempts, max_attempts, lease_owner, lease_expires_at, not_before, \
     last_error, created_at, updated_at";

pub(super) const PR_COLUMNS: &str =
    "number, incident_id, title, body, branch, state, decision, created_at, updated_at, url, base, head_sha, forge";

const RUN_COLUMNS: &str = "id, job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number";

pub(super) fn ms(t: Timestamp) -> i64 {
    i64::try_from(t.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn ts(v: i64) -> Timestamp {
    Timestamp::from_millis(u64::try_from(v).unwrap_or(0))
}

fn after(now: Timestamp, d: Duration) -> i64 {
    ms(now.saturating_add(d))
}

fn count_i64(c: u64) -> i64 {
    i64::try_from(c.min(MAX_EVENT_COUNT)).unwrap_or(i64::MAX)
}

fn u64_of(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn u32_of(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// The first line of a message, cut to 100 characters.
fn title_of(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    let mut t: String = first.chars().take(100).collect();
    if first.chars().count() > 100 {
        t.push('…');
    }
    t
}

pub(super) fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves the connection usable: an open
    // transaction is rolled back when its guard is dropped.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(10))?;
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Config(format!(
            "the store could not switch to WAL mode (got {mode}); is the data directory on a network filesystem?"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// Raw columns of an incident row, converted to a record with [`RawIncident::into_record`].
struct RawIncident {
    id: i64,
    fingerprint: String,
    title: String,
    kind: String,
    level: String,
    status: String,
    count: i64,
    first_seen: i64,
    last_seen: i64,
    fixed_in_release: Option<String>,
    releases: Option<String>,
    releases_with_fix: Option<String>,
}

impl RawIncident {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawIncident {
            id: r.get(0)?,
            fingerprint: r.get(1)?,
            title: r.get(2)?,
            kind: r.get(3)?,
            level: r.get(4)?,
            status: r.get(5)?,
            count: r.get(6)?,
            first_seen: r.get(7)?,
            last_seen: r.get(8)?,
            fixed_in_release: r.get(9)?,
            releases: r.get(10)?,
            releases_with_fix: r.get(11)?,
        })
    }

    fn into_record(self) -> Result<IncidentRecord> {
        let list = |s: Option<String>| -> Result<Vec<String>> {
            Ok(match s {
                Some(s) => serde_json::from_str(&s)?,
                None => Vec::new(),
            })
        };
        Ok(IncidentRecord {
            id: self.id,
            fingerprint: Fingerprint::from_hex(self.fingerprint),
            title: self.title,
            kind: self.kind,
            level: self.level,
            status: self.status.parse()?,
            count: u64_of(self.count),
            first_seen: ts(self.first_seen),
            last_seen: ts(self.last_seen),
            releases: list(self.releases)?,
            fixed_in_release: self.fixed_in_release,
            releases_with_fix: list(self.releases_with_fix)?,
        })
    }
}

struct RawJob {
    id: i64,
    incident_id: i64,
    state: String,
    attempts: i64,
    max_attempts: i64,
    lease_owner: Option<String>,
    lease_expires_at: Option<i64>,
    not_before: i64,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl RawJob {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawJob {
            id: r.get(0)?,
            incident_id: r.get(1)?,
            state: r.get(2)?,
            attempts: r.get(3)?,
            max_attempts: r.get(4)?,
            lease_owner: r.get(5)?,
            lease_expires_at: r.get(6)?,
            not_before: r.get(7)?,
            last_error: r.get(8)?,
            created_at: r.get(9)?,
            updated_at: r.get(10)?,
        })
    }

    fn into_job(self) -> Result<FixJob> {
        Ok(FixJob {
            id: self.id,
            incident_id: self.incident_id,
            state: self.state.parse()?,
            attempts: u32_of(self.attempts),
            max_attempts: u32_of(self.max_attempts),
            lease_owner: self.lease_owner,
            lease_expires_at: self.lease_expires_at.map(ts),
            not_before: ts(self.not_before),
            last_error: self.last_error,
            created_at: ts(self.created_at),
            updated_at: ts(self.updated_at),
        })
    }
}

/// What the local forge records about a pull request beyond the columns
/// (stored as JSON in `pull_requests.forge`).
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct ForgeExtra {
    #[serde(default)]
    pub(super) decision: Option<bugstack_fix::Decision>,
    #[serde(default)]
    pub(super) labels: Vec<String>,
    #[serde(default)]
    pub(super) comments: Vec<bugstack_fix::Comment>,
    #[serde(default)]
    pub(super) merge_commit: Option<String>,
}

#[derive(Clone)]
pub(super) struct RawPr {
    pub(super) number: i64,
    pub(super) incident_id: Option<i64>,
    pub(super) title: String,
    pub(super) body: String,
    pub(super) branch: String,
    pub(super) state: String,
    pub(super) decision: String,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) url: String,
    pub(super) base: String,
    pub(super) head_sha: String,
    pub(super) forge: String,
}

impl RawPr {
    pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawPr {
            number: r.get(0)?,
            incident_id: r.get(1)?,
            title: r.get(2)?,
            body: r.get(3)?,
            branch: r.get(4)?,
            state: r.get(5)?,
            decision: r.get(6)?,
            created_at: r.get(7)?,
            updated_at: r.get(8)?,
            url: r.get(9)?,
            base: r.get(10)?,
            head_sha: r.get(11)?,
            forge: r.get(12)?,
        })
    }

    pub(super) fn extra(&self) -> Result<ForgeExtra> {
        Ok(serde_json::from_str(&self.forge)?)
    }

    pub(super) fn into_pr(self) -> Result<PullRequest> {
        let extra = self.extra()?;
        Ok(PullRequest {
            number: self.number,
            incident_id: self.incident_id,
            title: self.title,
            body: self.body,
            branch: self.branch,
            state: self.state.parse()?,
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

struct RawRun {
    id: i64,
    job_id: i64,
    incident_id: i64,
    attempt: i64,
    worker: String,
    outcome: String,
    report: String,
    finished_at: i64,
    pr_number: Option<i64>,
}

impl RawRun {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(RawRun {
            id: r.get(0)?,
            job_id: r.get(1)?,
            incident_id: r.get(2)?,
            attempt: r.get(3)?,
            worker: r.get(4)?,
            outcome: r.get(5)?,
            report: r.get(6)?,
            finished_at: r.get(7)?,
            pr_number: r.get(8)?,
        })
    }

    fn into_run(self) -> Result<FixRun> {
        Ok(FixRun {
            id: self.id,
            job_id: self.job_id,
            incident_id: self.incident_id,
            attempt: u32_of(self.attempt),
            worker: self.worker,
            outcome: self.outcome,
            report: serde_json::from_str(&self.report)?,
            finished_at: ts(self.finished_at),
            pr_number: self.pr_number,
        })
    }
}

/// One fingerprint's share of an ingested batch.
struct Group<'a> {
    fingerprint: Fingerprint,
    first: &'a Event,
    count: i64,
    first_seen: i64,
    last_seen: i64,
    /// (release, count, first_seen, last_seen), in order of appearance.
    releases: Vec<(&'a str, i64, i64, i64)>,
    /// The most recent events, oldest first (at most SAMPLE_SIZE).
    recent: std::collections::VecDeque<&'a Event>,
}

fn group_events(events: &[Event]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut index: HashMap<Fingerprint, usize> = HashMap::new();
    for e in events {
        let fp = e.fingerprint_or_compute();
        let count = count_i64(e.count);
        let (first_seen, last_seen) = (ms(e.first_seen()), ms(e.last_seen()));
        let i = match index.get(&fp) {
            Some(&i) => i,
            None => {
                index.insert(fp.clone(), groups.len());
                groups.push(Group {
                    fingerprint: fp,
                    first: e,
                    count: 0,
                    first_seen,
                    last_seen,
                    releases: Vec::new(),
                    recent: std::collections::VecDeque::new(),
                });
                groups.len() - 1
            }
        };
        let Some(g) = groups.get_mut(i) else { continue };
        g.count = g.count.saturating_add(count);
        g.first_seen = g.first_seen.min(first_seen);
        g.last_seen = g.last_seen.max(last_seen);
        if let Some(rel) = e.release.as_deref() {
            match g.releases.iter_mut().find(|r| r.0 == rel) {
                Some(r) => {
                    r.1 = r.1.saturating_add(count);
                    r.2 = r.2.min(first_seen);
                    r.3 = r.3.max(last_seen);
                }
                None => g.releases.push((rel, count, first_seen, last_seen)),
            }
        }
        if g.recent.len() == SAMPLE_SIZE {
            g.recent.pop_front();
        }
        g.recent.push_back(e);
    }
    groups
}

pub(super) fn status_of(tx: &Transaction<'_>, id: i64) -> Result<Status> {
    let s: Option<String> = tx
        .query_row("SELECT status FROM incidents WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    s.ok_or(Error::IncidentNotFound(id))?.parse()
}

/// Moves incident `id` to `to` inside `tx`, enforcing the lifecycle.
pub(super) fn set_status(tx: &Transaction<'_>, id: i64, to: Status, now: Timestamp) -> Result<()> {
    let from = status_of(tx, id)?;
    if !from.can_become(to) {
        return Err(Error::IllegalTransition { id, from, to });
    }
    tx.execute(
        "UPDATE incidents SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, to.as_str(), ms(now)],
    )?;
    Ok(())
}

/// Enqueues a fix job for `incident` unless one is already queued or running.
fn enqueue_job(tx: &Transaction<'_>, incident: i64, now: Timestamp) -> Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO fix_jobs (incident_id, state, attempts, max_attempts, not_before, created_at, updated_at)
         VALUES (?1, 'queued', 0, ?2, ?3, ?3, ?3)",
        params![incident, DEFAULT_MAX_ATTEMPTS, ms(now)],
    )?;
    Ok(n > 0)
}

fn insert_pr(tx: &Transaction<'_>, incident: i64, pr: &NewPullRequest, state: PrState, now: Timestamp) -> Result<i64> {
    if let Some(number) = pr.number {
        // The run's forge already recorded it here: link it to the incident.
        let n = tx.execute(
            "UPDATE pull_requests SET incident_id = ?2, decision = ?3, updated_at = ?5,
                 state = CASE WHEN ?4 = 'merged' THEN 'merged' ELSE state END
             WHERE number = ?1 AND (incident_id IS NULL OR incident_id = ?2)",
            params![number, incident, pr.decision, state.as_str(), ms(now)],
        )?;
        if n == 0 {
            return Err(Error::PullRequestNotFound(number));
        }
        return Ok(number);
    }
    Ok(tx.query_row(
        "INSERT INTO pull_requests (incident_id, title, body, branch, state, decision, created_at, updated_at, url)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING number",
        params![
            incident,
            pr.title,
            pr.body,
            pr.branch,
            state.as_str(),
            pr.decision,
            ms(now),
            pr.url
        ],
        |r| r.get(0),
    )?)
}

pub(super) fn mark_fixed(tx: &Transaction<'_>, incident: i64, release: &str, now: Timestamp) -> Result<()> {
    set_status(tx, incident, Status::Fixed, now)?;
    tx.execute(
        "UPDATE incidents SET fixed_in_release = ?2 WHERE id = ?1",
        params![incident, release],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
        params![incident, release],
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn insert_run(
    tx: &Transaction<'_>,
    job: i64,
    incident: i64,
    attempt: i64,
    worker: &str,
    outcome: &str,
    report: &serde_json::Value,
    now: Timestamp,
    pr_number: Option<i64>,
) -> Result<FixRun> {
    let raw = tx.query_row(
        &format!(
            "INSERT INTO fix_runs (job_id, incident_id, attempt, worker, outcome, report, finished_at, pr_number)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING {RUN_COLUMNS}"
        ),
        params![
            job,
            incident,
            attempt,
            worker,
            outcome,
            serde_json::to_string(report)?,
            ms(now),
            pr_number
        ],
        RawRun::from_row,
    )?;
    raw.into_run()
}

/// Checks that `owner` holds the lease of running job `job`, returning
/// (incident id, attempts) — or [`Error::LeaseLost`].
fn held_job(tx: &Transaction<'_>, job: i64, owner: &str) -> Result<(i64, i64, i64)> {
    let row: Option<(i64, i64, i64, String, Option<String>)> = tx
        .query_row(
            "SELECT incident_id, attempts, max_attempts, state, lease_owner FROM fix_jobs WHERE id = ?1",
            [job],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (incident, attempts, max, state, lease_owner) = row.ok_or(Error::JobNotFound(job))?;
    let state: JobState = state.parse()?;
    if state != JobState::Running || lease_owner.as_deref() != Some(owner) {
        return Err(Error::LeaseLost {
            job,
            owner: owner.to_string(),
            state,
        });
    }
    Ok((incident, attempts, max))
}

/// Records one batch inside `tx` (see [`IncidentStore::ingest`]).
fn ingest_in(tx: &Transaction<'_>, events: &[Event], received_at: Timestamp) -> Result<IngestSummary> {
    let groups = group_events(events);
    let now = ms(received_at);
    let mut summary = IngestSummary::default();
    for g in &groups {
        let existing: Option<(i64, String)> = tx
            .prepare_cached("SELECT id, status FROM incidents WHERE fingerprint = ?1")?
            .query_row([g.fingerprint.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let id = match existing {
            None => {
                let id: i64 = tx
                    .prepare_cached(
                        "INSERT INTO incidents (fingerprint, title, kind, level, status, count, first_seen,
                             last_seen, representative, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?8, ?9, ?9) RETURNING id",
                    )?
                    .query_row(
                        params![
                            g.fingerprint.as_str(),
                            title_of(&g.first.message),
                            g.first.kind.as_str(),
                            g.first.level.as_str(),
                            g.count,
                            g.first_seen,
                            g.last_seen,
                            serde_json::to_string(g.first)?,
                            now
                        ],
                        |r| r.get(0),
                    )?;
                summary.new_incidents.push(id);
                if enqueue_job(tx, id, received_at)? {
                    summary.jobs_enqueued += 1;
                }
                id
            }
            Some((id, status)) => {
                tx.prepare_cached(
                    "UPDATE incidents SET count = count + ?2, first_seen = min(first_seen, ?3),
                         last_seen = max(last_seen, ?4), updated_at = ?5 WHERE id = ?1",
                )?
                .execute(params![id, g.count, g.first_seen, g.last_seen, now])?;
                if status.parse::<Status>()? == Status::Fixed {
                    let mut regressed = false;
                    for (rel, ..) in &g.releases {
                        let hit: Option<i64> = tx
                            .prepare_cached("SELECT 1 FROM releases_with_fix WHERE incident_id = ?1 AND release = ?2")?
                            .query_row(params![id, rel], |r| r.get(0))
                            .optional()?;
                        regressed |= hit.is_some();
                    }
                    if regressed {
                        set_status(tx, id, Status::Regressed, received_at)?;
                        summary.regressed.push(id);
                        if enqueue_job(tx, id, received_at)? {
                            summary.jobs_enqueued += 1;
                        }
                    }
                }
                id
            }
        };
        for (rel, count, first, last) in &g.releases {
            tx.prepare_cached(
                "INSERT INTO incident_releases (incident_id, release, count, first_seen, last_seen, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5,
                         (SELECT COALESCE(MAX(seq), 0) + 1 FROM incident_releases WHERE incident_id = ?1))
                 ON CONFLICT (incident_id, release) DO UPDATE SET count = count + excluded.count,
                     first_seen = min(first_seen, excluded.first_seen),
                     last_seen = max(last_seen, excluded.last_seen)",
            )?
            .execute(params![id, rel, count, first, last])?;
        }
        {
            let mut insert =
                tx.prepare_cached("INSERT INTO event_samples (incident_id, received_at, event) VALUES (?1, ?2, ?3)")?;
            for e in &g.recent {
                insert.execute(params![id, now, serde_json::to_string(e)?])?;
            }
        }
        tx.prepare_cached(
            "DELETE FROM event_samples WHERE incident_id = ?1 AND id <= (SELECT id FROM event_samples
                 WHERE incident_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
        )?
        .execute(params![id, SAMPLE_SIZE])?;
        summary.occurrences = summary.occurrences.saturating_add(u64_of(g.count));
    }
    summary.events = u64::try_from(events.len()).unwrap_or(u64::MAX);
    tx.execute(
        "UPDATE ingest_totals SET batches = batches + 1, events = events + ?1, occurrences = occurrences + ?2",
        params![
            count_i64(summary.events),
            i64::try_from(summary.occurrences).unwrap_or(i64::MAX)
        ],
    )?;
    Ok(summary)
}

impl SqliteStore {
    /// Opens (creating if needed) the store in data directory `dir`
    /// (`dir/bugstack.db`), applying pending migrations.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create data directory", dir.display(), e))?;
        Self::open_file(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the store in the database file `path`.
    pub fn open_file(path: &Path) -> Result<Self> {
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        // Migrations run with foreign keys off (table rebuilds), then on.
        writer.pragma_update(None, "foreign_keys", "OFF")?;
        schema::migrate(&mut writer, path)?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        let reader = Connection::open(path)?;
        configure(&reader)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(lock(&self.reader).query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    /// The writer connection's journal mode and `synchronous` level
    /// (`("wal", 2)`: WAL with FULL sync).
    pub fn durability(&self) -> Result<(String, i64)> {
        let conn = lock(&self.writer);
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
        Ok((mode, sync))
    }

    fn incident_in(conn: &Connection, id: i64) -> Result<IncidentRecord> {
        let raw = conn
            .query_row(
                &format!("SELECT {INCIDENT_COLUMNS} FROM incidents i WHERE i.id = ?1"),
                [id],
                RawIncident::from_row,
            )
            .optional()?
            .ok_or(Error::IncidentNotFound(id))?;
        raw.into_record()
    }

    fn jobs_in(conn: &Connection, incident: Option<i64>) -> Result<Vec<FixJob>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {JOB_COLUMNS} FROM fix_jobs WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([incident], RawJob::from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawJob::into_job))
            .collect()
    }

    fn prs_in(conn: &Connection, incident: Option<i64>) -> Result<Vec<PullRequest>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {PR_COLUMNS} FROM pull_requests WHERE ?1 IS NULL OR incident_id = ?1 ORDER BY number DESC"
        ))?;
        let rows = stmt.query_map([incident], RawPr::from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawPr::into_pr)).collect()
    }

    fn runs_in(conn: &Connection, incident: i64) -> Result<Vec<FixRun>> {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {RUN_COLUMNS} FROM fix_runs WHERE incident_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([incident], RawRun::from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawRun::into_run))
            .collect()
    }

    fn pr_state(tx: &Transaction<'_>, number: i64) -> Result<(Option<i64>, PrState)> {
        let row: Option<(Option<i64>, String)> = tx
            .query_row(
                "SELECT incident_id, state FROM pull_requests WHERE number = ?1",
                [number],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (incident, state) = row.ok_or(Error::PullRequestNotFound(number))?;
        Ok((incident, state.parse()?))
    }

    fn set_pr_state(&self, number: i64, to: PrState, release: Option<&str>, now: Timestamp) -> Result<PullRequest> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (incident, state) = Self::pr_state(&tx, number)?;
        if state != PrState::Open {
            return Err(Error::Config(format!(
                "pull request #{number} is {state}, only an open pull request can be {}",
                if to == PrState::Merged { "merged" } else { "closed" }
            )));
        }
        tx.execute(
            "UPDATE pull_requests SET state = ?2, updated_at = ?3 WHERE number = ?1",
            params![number, to.as_str(), ms(now)],
        )?;
        if let Some(incident) = incident {
            match release {
                Some(release) => mark_fixed(&tx, incident, release, now)?,
                None => set_status(&tx, incident, Status::Open, now)?,
            }
        }
        let raw = tx.query_row(
            &format!("SELECT {PR_COLUMNS} FROM pull_requests WHERE number = ?1"),
            [number],
            RawPr::from_row,
        )?;
        tx.commit()?;
        raw.into_pr()
    }
}

impl IncidentStore for SqliteStore {
    fn ingest(&self, events: &[Event], received_at: Timestamp) -> Result<IngestSummary> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let summary = ingest_in(&tx, events, received_at)?;
        tx.commit()?;
        Ok(summary)
    }

    fn ingest_batches(&self, batches: &[Vec<Event>], received_at: Timestamp) -> Result<Vec<IngestSummary>> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let summaries = batches
            .iter()
            .map(|events| ingest_in(&tx, events, received_at))
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(summaries)
    }

    fn incidents(&self) -> Result<Vec<IncidentRecord>> {
        let conn = lock(&self.reader);
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i ORDER BY i.last_seen DESC, i.id DESC"
        ))?;
        let rows = stmt.query_map([], RawIncident::from_row)?;
        rows.map(|r| r.map_err(Error::from).and_then(RawIncident::into_record))
            .collect()
    }

    fn incident(&self, id: i64) -> Result<IncidentRecord> {
        Self::incident_in(&lock(&self.reader), id)
    }

    fn incident_detail(&self, id: i64) -> Result<IncidentDetail> {
        let mut conn = lock(&self.reader);
        // One read transaction: a consistent snapshot of the incident and its parts.
        let tx = conn.transaction()?;
        let incident = Self::incident_in(&tx, id)?;
        let representative: String =
            tx.query_row("SELECT representative FROM incidents WHERE id = ?1", [id], |r| r.get(0))?;
        let samples = {
            let mut stmt =
                tx.prepare_cached("SELECT event FROM event_samples WHERE incident_id = ?1 ORDER BY id DESC")?;
            let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
            rows.map(|r| Ok(serde_json::from_str(&r?)?))
                .collect::<Result<Vec<Event>>>()?
        };
        let detail = IncidentDetail {
            incident,
            representative: serde_json::from_str(&representative)?,
            samples,
            jobs: Self::jobs_in(&tx, Some(id))?,
            runs: Self::runs_in(&tx, id)?,
            pull_requests: Self::prs_in(&tx, Some(id))?,
        };
        tx.commit()?;
        Ok(detail)
    }

    fn transition(&self, id: i64, to: Status) -> Result<IncidentRecord> {
        if to == Status::Fixed {
            return Err(Error::Config(
                "an incident becomes fixed when its pull request merges (it needs the fixing release)".into(),
            ));
        }
        let now = Timestamp::now();
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        set_status(&tx, id, to, now)?;
        match to {
            Status::Ignored => {
                tx.execute(
                    "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL,
                         updated_at = ?2 WHERE incident_id = ?1 AND state IN ('queued', 'running')",
                    params![id, ms(now)],
                )?;
            }
            Status::Open => {
                enqueue_job(&tx, id, now)?;
            }
            _ => {}
        }
        let record = Self::incident_in(&tx, id)?;
        tx.commit()?;
        Ok(record)
    }

    fn add_release_with_fix(&self, id: i64, release: &str) -> Result<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = status_of(&tx, id)?;
        if !matches!(status, Status::Fixed | Status::Regressed) {
            return Err(Error::Config(format!(
                "incident {id} is {status}; only a fixed incident has releases with the fix"
            )));
        }
        tx.execute(
            "INSERT OR IGNORE INTO releases_with_fix (incident_id, release) VALUES (?1, ?2)",
            params![id, release],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn claim_job(&self, owner: &str, lease: Duration, now: Timestamp) -> Result<Option<ClaimedJob>> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        loop {
            let raw = tx
                .query_row(
                    &format!(
                        "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?1,
                             lease_expires_at = ?2, updated_at = ?3
                         WHERE id = (SELECT id FROM fix_jobs
                                     WHERE (state = 'queued' AND not_before <= ?3)
                                        OR (state = 'running' AND lease_expires_at <= ?3)
                                     ORDER BY id LIMIT 1)
                         RETURNING {JOB_COLUMNS}"
                    ),
                    params![owner, after(now, lease), ms(now)],
                    RawJob::from_row,
                )
                .optional()?;
            let Some(raw) = raw else {
                tx.commit()?;
                return Ok(None);
            };
            let job = raw.into_job()?;
            if job.attempts > job.max_attempts {
                // Its workers kept dying (or losing the lease): give up rather than crash-loop.
                tx.execute(
                    "UPDATE fix_jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL,
                         last_error = ?2 WHERE id = ?1",
                    params![
                        job.id,
                        format!(
                            "gave up after {} attempts: the worker stopped before finishing (crash or lost lease)",
                            job.max_attempts
                        )
                    ],
                )?;
                if status_of(&tx, job.incident_id)? == Status::Fixing {
                    set_status(&tx, job.incident_id, Status::Open, now)?;
                }
                continue;
            }
            match status_of(&tx, job.incident_id)? {
                Status::Open | Status::Regressed => set_status(&tx, job.incident_id, Status::Fixing, now)?,
                // Retry after a failed attempt or a crashed worker.
                Status::Fixing => {}
                // The incident no longer wants a fix.
                _ => {
                    tx.execute(
                        "UPDATE fix_jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
                         WHERE id = ?1",
                        [job.id],
                    )?;
                    continue;
                }
            }
            let incident = Self::incident_in(&tx, job.incident_id)?;
            let event: String = tx.query_row(
                "SELECT representative FROM incidents WHERE id = ?1",
                [job.incident_id],
                |r| r.get(0),
            )?;
            let event = serde_json::from_str(&event)?;
            tx.commit()?;
            return Ok(Some(ClaimedJob { job, incident, event }));
        }
    }

    fn claim_incident_job(&self, incident: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<ClaimedJob> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let status = status_of(&tx, incident)?;
        let live: Option<(i64, String, Option<String>, Option<i64>)> = tx
            .query_row(
                "SELECT id, state, lease_owner, lease_expires_at FROM fix_jobs
                 WHERE incident_id = ?1 AND state IN ('queued', 'running')",
                [incident],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let job_id = match live {
            Some((_, state, Some(holder), Some(until))) if state == "running" && until > ms(now) => {
                return Err(Error::Config(format!(
                    "incident {incident} is being fixed right now by {holder}; try again when it finishes"
                )))
            }
            Some((id, ..)) => id,
            None if matches!(status, Status::Open | Status::Regressed) => {
                enqueue_job(&tx, incident, now)?;
                tx.last_insert_rowid()
            }
            None => {
                return Err(Error::Config(format!(
                    "incident {incident} is {status}; only an open or regressed incident can be fixed"
                )))
            }
        };
        let raw = tx.query_row(
            &format!(
                "UPDATE fix_jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2,
                     lease_expires_at = ?3, updated_at = ?4, max_attempts = max(max_attempts, attempts + 1)
                 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            ),
            params![job_id, owner, after(now, lease), ms(now)],
            RawJob::from_row,
        )?;
        let job = raw.into_job()?;
        if matches!(status, Status::Open | Status::Regressed) {
            set_status(&tx, incident, Status::Fixing, now)?;
        }
        let record = Self::incident_in(&tx, incident)?;
        let event: String = tx.query_row("SELECT representative FROM incidents WHERE id = ?1", [incident], |r| {
            r.get(0)
        })?;
        let event = serde_json::from_str(&event)?;
        tx.commit()?;
        Ok(ClaimedJob {
            job,
            incident: record,
            event,
        })
    }

    fn renew_lease(&self, job: i64, owner: &str, lease: Duration, now: Timestamp) -> Result<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        held_job(&tx, job, owner)?;
        tx.execute(
            "UPDATE fix_jobs SET lease_expires_at = ?2, updated_at = ?3 WHERE id = ?1",
            params![job, after(now, lease), ms(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn complete_job(&self, job: i64, owner: &str, outcome: &FixOutcome, now: Timestamp) -> Result<FixRun> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (incident, attempts, _) = held_job(&tx, job, owner)?;
        tx.execute(
            "UPDATE fix_jobs SET state = 'done', lease_owner = NULL, lease_expires_at = NULL, last_error = NULL,
                 updated_at = ?2 WHERE id = ?1",
            params![job, ms(now)],
        )?;
        let pr_number = match outcome {
            FixOutcome::NoFix { .. } => {
                set_status(&tx, incident, Status::Open, now)?;
                None
            }
            FixOutcome::Proposed { pr, .. } => {
                let n = insert_pr(&tx, incident, pr, PrState::Open, now)?;
                set_status(&tx, incident, Status::FixProposed, now)?;
                Some(n)
            }
            FixOutcome::Merged { pr, release, .. } => {
                let n = insert_pr(&tx, incident, pr, PrState::Merged, now)?;
                set_status(&tx, incident, Status::FixProposed, now)?;
                mark_fixed(&tx, incident, release, now)?;
                Some(n)
            }
        };
        let run = insert_run(
            &tx,
            job,
            incident,
            attempts,
            owner,
            outcome.name(),
            outcome.report(),
            now,
            pr_number,
        )?;
        tx.commit()?;
        Ok(run)
    }

    fn fail_job(&self, job: i64, owner: &str, error: &str, retry_after: Duration, now: Timestamp) -> Result<JobState> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (incident, attempts, max) = held_job(&tx, job, owner)?;
        let state = if attempts < max {
            JobState::Queued
        } else {
            JobState::Failed
        };
        tx.execute(
            "UPDATE fix_jobs SET state = ?2, lease_owner = NULL, lease_expires_at = NULL, last_error = ?3,
                 not_before = ?4, updated_at = ?5 WHERE id = ?1",
            params![job, state.as_str(), error, after(now, retry_after), ms(now)],
        )?;
        if state == JobState::Failed {
            set_status(&tx, incident, Status::Open, now)?;
        }
        insert_run(
            &tx,
            job,
            incident,
            attempts,
            owner,
            "error",
            &serde_json::json!({ "error": error }),
            now,
            None,
        )?;
        tx.commit()?;
        Ok(state)
    }

    fn release_job(&self, job: i64, owner: &str, now: Timestamp) -> Result<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        held_job(&tx, job, owner)?;
        tx.execute(
            "UPDATE fix_jobs SET state = 'queued', attempts = max(attempts - 1, 0), lease_owner = NULL,
                 lease_expires_at = NULL, not_before = ?2, updated_at = ?2 WHERE id = ?1",
            params![job, ms(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn jobs(&self) -> Result<Vec<FixJob>> {
        Self::jobs_in(&lock(&self.reader), None)
    }

    fn runs(&self, incident: i64) -> Result<Vec<FixRun>> {
        Self::runs_in(&lock(&self.reader), incident)
    }

    fn pull_requests(&self) -> Result<Vec<PullRequest>> {
        Self::prs_in(&lock(&self.reader), None)
    }

    fn merge_pull_request(&self, number: i64, release: &str, now: Timestamp) -> Result<PullRequest> {
        self.set_pr_state(number, PrState::Merged, Some(release), now)
    }

    fn close_pull_request(&self, number: i64, now: Timestamp) -> Result<PullRequest> {
        self.set_pr_state(number, PrState::Closed, None, now)
    }

    fn totals(&self) -> Result<Totals> {
        let conn = lock(&self.reader);
        let (batches, events, occurrences): (i64, i64, i64) = conn.query_row(
            "SELECT batches, events, occurrences FROM ingest_totals WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let incidents: i64 = conn.query_row("SELECT COUNT(*) FROM incidents", [], |r| r.get(0))?;
        Ok(Totals {
            batches: u64_of(batches),
            events: u64_of(events),
            occurrences: u64_of(occurrences),
            incidents: u64_of(incidents),
        })
    }
}
