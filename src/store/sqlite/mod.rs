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
//!
//! The statements are the ones both stores share (`crate::store`'s `tx`,
//! `reads`, `ingest_tx`, ...), run through `sql` (SQLite's [`Sql`] and rows);
//! this module keeps only what SQLite does its own way: `ingest` (writing a
//! batch's releases, samples and hourly counts), `files` (owner-only
//! permissions) and `forge` (the local forge's
//! [`PullRequestStore`](bugstack_fix::deploy::PullRequestStore) and forge
//! sync, from the shared macros).
//!
//! [`Sql`]: crate::store::sql::Sql

mod files;
mod forge;
mod ingest;
mod sql;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bugstack_core::{Dependency, Event, Timestamp};
use bugstack_fix::{PullRequestState, Triggers};
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use super::schema;
use super::trigger_settings::TriggerSettings;
use super::types::{
    Cause, ClaimedJob, FixJob, FixOutcome, FixRun, HourCount, IncidentCursor, IncidentDetail, IncidentFilter,
    IncidentRecord, IncidentSearch, IngestBatch, IngestSummary, JobState, PullRequestRecord, ReleaseCheck,
    ReleaseRecord, ReleaseVerdictRecord, Status, TimelineEntry, Totals,
};
use super::{IncidentStore, NewProject, ProjectRecord, DEFAULT_PROJECT_ID};
use crate::{Error, Result};

/// Default cap on fix jobs queued at once ([`SqliteStore::set_max_queued_jobs`];
/// `[triggers] max_queued_jobs` in `bugstack.toml`).
pub const DEFAULT_MAX_QUEUED_JOBS: usize = bugstack_fix::DEFAULT_MAX_QUEUED_JOBS;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "bugstack.db";

/// The SQLite implementation of [`IncidentStore`].
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
    /// Which incidents get a fix job, and the queue's cap
    /// ([`SqliteStore::set_triggers`]).
    triggers: TriggerSettings,
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding the lock leaves the connection usable: an open
    // transaction is rolled back when its guard is dropped.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(sql::STATEMENT_CACHE_CAPACITY);
    let mode: String = retry_busy(|| conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Config(format!(
            "the store could not switch to WAL mode (got {mode}); is the data directory on a network filesystem?"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `f` again while SQLite answers "busy" or "locked", for up to
/// [`BUSY_TIMEOUT`]. Where waiting could deadlock (two connections that
/// both read a new database and then switch it to WAL), SQLite answers
/// busy at once instead of waiting, busy timeout or not: processes that
/// start together on a new data directory would fail to open it.
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store in data directory `dir`
    /// (`dir/bugstack.db`), applying pending migrations. On Unix the
    /// directory is made `0700` (created so, or tightened).
    pub fn open(dir: &Path) -> Result<Self> {
        files::prepare_dir(dir)?;
        Self::open_file(&dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the store in the database file `path`. On
    /// Unix the file and its `-wal` / `-shm` companions are `0600` (created
    /// so, or tightened).
    pub fn open_file(path: &Path) -> Result<Self> {
        files::prepare_db_file(path)?;
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
            triggers: TriggerSettings::default(),
        })
    }

    /// Sets which incidents get a fix job (`[triggers]`: level, kinds,
    /// minimum count, environments left alone, queue cap). Default:
    /// [`Triggers::default`], errors and panics at once.
    pub fn set_triggers(&self, triggers: Triggers) {
        self.triggers.set(triggers);
    }

    /// Caps the fix jobs queued at once (at least 1; default
    /// [`DEFAULT_MAX_QUEUED_JOBS`]). A new or regressed incident beyond the
    /// cap waits and is queued when there is room, the most frequent first,
    /// so a flood of distinct fingerprints cannot queue a flood of jobs.
    pub fn set_max_queued_jobs(&self, cap: usize) {
        self.triggers.set_cap(cap);
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

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE` on the writer),
    /// committed when `f` succeeds and rolled back when it fails.
    fn write<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = lock(&self.writer);
        let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on the reader connection.
    fn read<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut lock(&self.reader))
    }
}

impl IncidentStore for SqliteStore {
    shared_store_methods!();

    fn incident_detail(&self, id: i64) -> Result<IncidentDetail> {
        // Read in one transaction: a consistent snapshot.
        let mut conn = lock(&self.reader);
        let mut tx = conn.transaction()?;
        let detail = crate::store::reads::incident_detail(&mut tx, id)?;
        tx.commit()?;
        Ok(detail)
    }

    fn histograms(&self, ids: &[i64], since: Timestamp) -> Result<Vec<Vec<HourCount>>> {
        self.read(|conn| {
            ids.iter()
                .map(|&id| crate::store::hours::histogram(conn, id, since))
                .collect()
        })
    }
}
