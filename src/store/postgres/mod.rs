//! The server store: one Postgres database shared by any number of
//! `bugstack serve` processes and fix workers.
//!
//! ## Connections
//!
//! The store holds an `r2d2` pool of synchronous `postgres` connections
//! ([`PostgresStore::connect`]); every [`IncidentStore`] method checks one
//! out for one transaction. Like the SQLite store, it blocks: call it from
//! `tokio::task::spawn_blocking` in async code (the `postgres` client runs
//! its own small runtime and must not be called on an async worker thread).
//!
//! ## Concurrency
//!
//! Transactions run at `READ COMMITTED` and lock what they change: an
//! incident's row (`FOR UPDATE`) before its count or status moves, a job's
//! row before its lease is checked. A new fingerprint is inserted with
//! `ON CONFLICT DO NOTHING`, so two collectors seeing it at once create one
//! incident. Fix jobs are claimed with `FOR UPDATE SKIP LOCKED` (see
//! `crate::store`'s `tx`). A transaction that Postgres aborts as a deadlock victim or a
//! serialization failure is run again from the start, a few times, before
//! the error is returned.
//!
//! ## Durability
//!
//! A commit returns once Postgres has flushed it (its default
//! `synchronous_commit = on`), so a batch the collector acknowledged
//! survives `kill -9` of the collector and of the database server.
//!
//! The statements are the ones both stores share (`crate::store`'s `tx`,
//! `reads`, `ingest_tx`, ...), run through `sql` (Postgres's `Sql` and
//! rows: `?N` placeholders written `$N`, row locks where the dialect asks
//! for them); this module keeps only what Postgres does its own way:
//! `schema` (migrations), `ingest` (fingerprint locks; a batch's releases,
//! samples and hourly counts in one round trip each), `hours` (a page's
//! charts in one query), `forge` (the local forge and forge sync, from the
//! shared macros); `testing` starts a throwaway cluster for tests.

mod forge;
mod hours;
mod ingest;
mod schema;
mod sql;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;

use std::time::Duration;

use bugstack_core::{Dependency, Event, Timestamp};
use bugstack_fix::{PullRequestState, Triggers};
use postgres::error::SqlState;
use postgres::{IsolationLevel, NoTls, Transaction};
use r2d2_postgres::{r2d2, PostgresConnectionManager};

use super::trigger_settings::TriggerSettings;
use super::types::{
    Cause, ClaimedJob, FixJob, FixOutcome, FixRun, IncidentCursor, IncidentDetail, IncidentRecord, IngestBatch,
    IngestSummary, JobState, PullRequestRecord, ReleaseCheck, ReleaseRecord, ReleaseVerdictRecord, Status,
    TimelineEntry, Totals,
};
use super::types::{HourCount, IncidentFilter, IncidentSearch};
use super::{IncidentStore, NewProject, ProjectRecord, DEFAULT_PROJECT_ID};
use crate::{Error, Result};

/// Connections the pool opens at most, by default (`?pool_size=` is not a
/// Postgres parameter; use [`PostgresStore::connect_with`]).
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// How long a method waits for a free connection before it fails.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times a transaction Postgres aborted (deadlock, serialization
/// failure) is run again before the error is returned.
const MAX_RETRIES: u32 = 10;

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// The Postgres implementation of [`IncidentStore`].
pub struct PostgresStore {
    pool: Pool,
    /// The database as messages name it (never the password).
    database: String,
    /// Which incidents get a fix job, and the queue's cap.
    triggers: TriggerSettings,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// Whether `url` names a Postgres database (`postgres://` or
/// `postgresql://`) rather than a SQLite data directory.
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The database `config` names, for messages: `NAME on HOST:PORT`, without
/// user or password.
fn describe(config: &postgres::Config) -> String {
    let db = config.get_dbname().unwrap_or("(default database)");
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("Postgres database {db} on {host}:{port}")
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:pass@host:port/db`)
    /// with a pool of at most [`DEFAULT_POOL_SIZE`] connections and applies
    /// pending migrations (refusing a schema newer than this build).
    pub fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, DEFAULT_POOL_SIZE)
    }

    /// Connects to a database that already holds a bugstack store (what
    /// the read commands do: they never make an empty database a store by
    /// mistake); pending migrations are applied.
    pub fn connect_existing(url: &str) -> Result<Self> {
        Self::connect_inner(url, DEFAULT_POOL_SIZE, false)
    }

    /// [`PostgresStore::connect`] with a pool of at most `pool_size`
    /// connections (at least 1).
    pub fn connect_with(url: &str, pool_size: u32) -> Result<Self> {
        Self::connect_inner(url, pool_size, true)
    }

    fn connect_inner(url: &str, pool_size: u32, create: bool) -> Result<Self> {
        let config: postgres::Config = url.parse().map_err(|e| {
            Error::Config(format!(
                "not a Postgres URL ({e}); expected postgres://USER@HOST:PORT/DB"
            ))
        })?;
        let database = describe(&config);
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A broken connection is found when it fails (`has_broken`);
            // no round trip on every checkout.
            .test_on_check_out(false)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(manager)
            .map_err(|e| Error::PostgresPool(format!("cannot connect to the {database}: {e}")))?;
        let store = PostgresStore {
            pool,
            database,
            triggers: TriggerSettings::default(),
        };
        let mut conn = store.conn()?;
        if !create && schema::version(&mut *conn)? == 0 {
            return Err(Error::Config(format!(
                "no bugstack store in the {} (run `bugstack serve --store URL` on it first)",
                store.database
            )));
        }
        schema::migrate(&mut conn, &store.database)?;
        drop(conn);
        Ok(store)
    }

    /// The database, as messages name it (no credentials).
    pub fn database(&self) -> &str {
        &self.database
    }

    /// The schema version this build writes (the last migration's).
    pub fn latest_schema_version() -> i64 {
        schema::latest_version()
    }

    /// The schema version of the database.
    pub fn schema_version(&self) -> Result<i64> {
        schema::version(&mut *self.conn()?)
    }

    /// Sets which incidents get a fix job (see the SQLite store's
    /// `set_triggers`).
    pub fn set_triggers(&self, triggers: Triggers) {
        self.triggers.set(triggers);
    }

    /// Caps the fix jobs queued at once (at least 1).
    pub fn set_max_queued_jobs(&self, cap: usize) {
        self.triggers.set_cap(cap);
    }

    /// A pooled connection.
    fn conn(&self) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>> {
        self.pool
            .get()
            .map_err(|e| Error::PostgresPool(format!("no connection to the {}: {e}", self.database)))
    }

    /// Runs `f` in one read-write transaction, committed when `f` succeeds
    /// and rolled back when it fails; run again (from the start) when
    /// Postgres aborted it as a deadlock victim or serialization failure.
    fn write<T>(&self, mut f: impl FnMut(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let mut attempt = 0;
        loop {
            let result = conn.transaction().map_err(Error::from).and_then(|mut tx| {
                let out = f(&mut tx)?;
                tx.commit()?;
                Ok(out)
            });
            match result {
                Err(Error::Postgres(e)) if attempt < MAX_RETRIES && is_retryable(&e) => {
                    attempt += 1;
                    // Back off a little longer each time, staggered by process.
                    let jitter = u64::from(std::process::id() % 7);
                    std::thread::sleep(Duration::from_millis(5 * u64::from(attempt) + jitter));
                }
                other => return other,
            }
        }
    }

    /// Runs `f` in one read-only `REPEATABLE READ` transaction (a
    /// consistent snapshot of several reads).
    fn read<T>(&self, f: impl FnOnce(&mut Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let mut tx = conn
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Whether Postgres aborted the transaction in a way that running it again
/// can fix.
fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_DEADLOCK_DETECTED || *c == SqlState::T_R_SERIALIZATION_FAILURE
    )
}

impl IncidentStore for PostgresStore {
    shared_store_methods!();

    fn incident_detail(&self, id: i64) -> Result<IncidentDetail> {
        self.read(|tx| crate::store::reads::incident_detail(tx, id))
    }

    fn histograms(&self, ids: &[i64], since: Timestamp) -> Result<Vec<Vec<HourCount>>> {
        self.read(|tx| hours::histograms(tx, ids, since))
    }
}
