//! The store suite: every test below that takes a [`Backend`] runs once on
//! SQLite and once on Postgres (`on_both_stores!` at the end makes the
//! `#[test]`s: `store::tests::sqlite::NAME` and `store::tests::postgres::NAME`).
//! Postgres tests get a fresh database each, in one throwaway cluster per
//! test process ([`testing`]); without Postgres installed they are
//! skipped with a `SKIPPED` line, except under `CI`, where they fail.

use std::sync::Barrier;
use std::time::Duration;

use bugstack_core::{Event, EventKind, Level, Timestamp};
use rusqlite::Connection;

use super::postgres::testing;
use super::*;
use crate::Error;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path()).unwrap();
    (dir, s)
}

/// The database a test runs on.
enum Backend {
    /// A SQLite store in a temporary data directory.
    Sqlite(tempfile::TempDir),
    /// A fresh database of the test cluster.
    Postgres(testing::TestDatabase),
}

impl Backend {
    fn sqlite() -> Self {
        Backend::Sqlite(tempfile::tempdir().unwrap())
    }

    /// `None` when Postgres is missing (and `CI` is not set).
    fn postgres(test: &str) -> Option<Self> {
        testing::fresh_database(test).map(Backend::Postgres)
    }

    /// A new handle on this backend's database (its own connections, as
    /// another process would have).
    fn open(&self) -> Box<dyn IncidentStore> {
        match self {
            Backend::Sqlite(dir) => Box::new(SqliteStore::open(dir.path()).unwrap()),
            Backend::Postgres(db) => Box::new(db.store()),
        }
    }

    /// A new handle on this backend's database as `serve` holds it (with
    /// the local forge's pull requests and forge sync).
    fn open_forge(&self) -> std::sync::Arc<dyn ForgeStore> {
        match self {
            Backend::Sqlite(dir) => std::sync::Arc::new(SqliteStore::open(dir.path()).unwrap()),
            Backend::Postgres(db) => std::sync::Arc::new(db.store()),
        }
    }

    /// Another, empty database of the same kind.
    fn fresh(&self) -> Backend {
        match self {
            Backend::Sqlite(_) => Backend::sqlite(),
            Backend::Postgres(_) => Backend::postgres("fresh").expect("the cluster is running"),
        }
    }
}

/// Makes each named `fn(&Backend)` a `#[test]` on SQLite and on Postgres.
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Backend::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    if let Some(b) = super::Backend::postgres(stringify!($name)) {
                        super::$name(&b);
                    }
                }
            )*
        }
    };
}

fn ev(msg: &str, release: Option<&str>, at: u64) -> Event {
    let mut e = Event::new(EventKind::Panic, Level::Fatal, msg, Timestamp::from_millis(at));
    e.release = release.map(str::to_string);
    e
}

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);
const LEASE: Duration = Duration::from_secs(60);

fn pr() -> RunPullRequest {
    RunPullRequest {
        title: "Fix division by zero".into(),
        body: "body".into(),
        branch: "bugstack/fix-1".into(),
        decision: "open-for-review".into(),
        ..Default::default()
    }
}

fn proposed() -> FixOutcome {
    FixOutcome::Proposed {
        pr: pr(),
        report: serde_json::json!({"k": 1}),
    }
}

#[test]
fn migrations_are_versioned_and_idempotent() {
    let (dir, s) = store();
    assert_eq!(s.schema_version().unwrap(), schema::latest_version());
    drop(s);
    let again = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(again.schema_version().unwrap(), schema::latest_version());
    drop(again);
    let conn = Connection::open(dir.path().join(DB_FILE)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    match SqliteStore::open(dir.path()) {
        Err(Error::SchemaTooNew { found: 99, .. }) => {}
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

/// Processes that start together (`serve` and its workers) open a new
/// database at once: every open succeeds and finds the schema migrated.
#[test]
fn concurrent_opens_of_a_new_store_all_succeed() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let opened: Vec<crate::Result<i64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| SqliteStore::open(dir.path()).and_then(|s| s.schema_version())))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for version in opened {
            assert_eq!(version.unwrap(), schema::latest_version());
        }
    }
}

#[test]
fn store_runs_in_wal_with_full_sync() {
    let (_dir, s) = store();
    let (mode, sync) = s.durability().unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[test]
fn postgres_migrations_are_versioned_and_a_newer_schema_is_refused() {
    let Some(db) = testing::fresh_database("postgres_migrations_are_versioned_and_a_newer_schema_is_refused") else {
        return;
    };
    let s = db.store();
    let latest = PostgresStore::latest_schema_version();
    assert_eq!(s.schema_version().unwrap(), latest);
    drop(s);
    // Opening again applies nothing.
    assert_eq!(db.store().schema_version().unwrap(), latest);
    let mut admin = ::postgres::Client::connect(&db.url, ::postgres::NoTls).unwrap();
    admin
        .execute("INSERT INTO schema_migrations (version) VALUES (99)", &[])
        .unwrap();
    match PostgresStore::connect(&db.url) {
        Err(Error::DatabaseSchemaTooNew { found: 99, .. }) => {}
        other => panic!("expected DatabaseSchemaTooNew, got {other:?}"),
    }
}

/// Several collectors (each its own pool) ingest the same new fingerprints
/// at once: one incident per fingerprint, every occurrence counted once,
/// one job each.
#[test]
fn postgres_concurrent_collectors_create_one_incident_and_count_everything() {
    let Some(db) = testing::fresh_database("postgres_concurrent_collectors_create_one_incident_and_count_everything")
    else {
        return;
    };
    let collectors = 4;
    let barrier = Barrier::new(collectors);
    std::thread::scope(|scope| {
        for c in 0..collectors {
            let (barrier, db) = (&barrier, &db);
            scope.spawn(move || {
                let s = db.store();
                barrier.wait();
                for round in 0..10u64 {
                    // Each collector sends the groups in its own order.
                    let events: Vec<Event> = (0..5)
                        .map(|g| {
                            let g = (g + c) % 5;
                            let mut e = ev(&format!("bug {g}"), Some("1.0"), round);
                            e.fingerprint_parts = vec![format!("bug {g}")];
                            e
                        })
                        .collect();
                    s.ingest(&events, T0).unwrap();
                }
            });
        }
    });
    let s = db.store();
    let list = s.incidents().unwrap();
    assert_eq!(list.len(), 5);
    assert!(list.iter().all(|i| i.count == 40), "{list:?}");
    assert_eq!(s.jobs().unwrap().len(), 5);
    let t = s.totals().unwrap();
    assert_eq!((t.batches, t.events, t.occurrences), (40, 200, 200));
}

fn ingest_groups_by_fingerprint_and_counts_occurrences(b: &Backend) {
    let s = b.open();
    let mut agg = ev("divide by zero", Some("1.0"), 10);
    agg.count = 5;
    agg.last_seen = Some(Timestamp::from_millis(50));
    let batch = vec![
        ev("divide by zero", Some("1.0"), 20),
        agg,
        ev("index out of bounds", None, 30),
    ];
    let sum = s.ingest(&batch, T0).unwrap();
    assert_eq!((sum.events, sum.occurrences, sum.jobs_enqueued), (3, 7, 2));
    assert_eq!(sum.new_incidents.len(), 2);
    let list = s.incidents().unwrap();
    assert_eq!(list.len(), 2);
    let div = list.iter().find(|i| i.title == "divide by zero").unwrap();
    assert_eq!(div.count, 6);
    assert_eq!(div.status, Status::Open);
    assert_eq!(div.first_seen, Timestamp::from_millis(10));
    assert_eq!(div.last_seen, Timestamp::from_millis(50));
    assert_eq!(div.releases, vec!["1.0".to_string()]);
    assert_eq!(div.fingerprint, batch[0].fingerprint_or_compute());
    // A second batch adds to the same incident, a new release is recorded after the first.
    s.ingest(&[ev("divide by zero", Some("1.1"), 60)], T0).unwrap();
    let div = s.incident(div.id).unwrap();
    assert_eq!(div.count, 7);
    assert_eq!(div.releases, vec!["1.0".to_string(), "1.1".to_string()]);
    let t = s.totals().unwrap();
    assert_eq!((t.batches, t.events, t.occurrences, t.incidents), (2, 4, 8, 2));
}

fn a_sent_fingerprint_is_used_as_is(b: &Backend) {
    let s = b.open();
    let mut a = ev("one message", None, 1);
    let mut b = ev("a different message", None, 2);
    let fp = bugstack_core::Fingerprint::from_parts(["custom"]);
    a.fingerprint = Some(fp.clone());
    b.fingerprint = Some(fp.clone());
    s.ingest(&[a, b], T0).unwrap();
    let list = s.incidents().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].fingerprint, fp);
    assert_eq!(list[0].count, 2);
}

fn samples_are_bounded_to_the_most_recent(b: &Backend) {
    let s = b.open();
    for batch in 0..3 {
        let events: Vec<Event> = (0..15)
            .map(|i| {
                let mut e = ev("boom", None, batch * 100 + i);
                e.tags.insert("n".into(), format!("{}", batch * 100 + i));
                e
            })
            .collect();
        s.ingest(&events, T0).unwrap();
    }
    let id = s.incidents().unwrap()[0].id;
    let d = s.incident_detail(id).unwrap();
    assert_eq!(d.samples.len(), SAMPLE_SIZE);
    assert_eq!(d.samples[0].tags["n"], "214", "newest first");
    assert_eq!(d.samples[SAMPLE_SIZE - 1].tags["n"], "110");
    assert_eq!(
        d.representative.tags["n"], "0",
        "the first event stays the representative"
    );
    assert_eq!(d.incident.count, 45);
}

fn many_occurrences_of_one_bug_enqueue_exactly_one_job(b: &Backend) {
    let s = b.open();
    for i in 0..50 {
        let events: Vec<Event> = (0..10).map(|j| ev("same bug", None, i * 10 + j)).collect();
        s.ingest(&events, T0).unwrap();
    }
    let jobs = s.jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(s.incidents().unwrap()[0].count, 500);
}

fn illegal_transitions_are_errors(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1)], T0).unwrap();
    let id = s.incidents().unwrap()[0].id;
    match s.transition(id, Status::FixProposed, &Cause::new("tester", "test")) {
        Err(Error::IllegalTransition {
            from: Status::Open,
            to: Status::FixProposed,
            ..
        }) => {}
        other => panic!("expected IllegalTransition, got {other:?}"),
    }
    assert!(s.transition(id, Status::Fixed, &Cause::new("tester", "test")).is_err());
    assert!(matches!(
        s.transition(999, Status::Ignored, &Cause::new("tester", "test")),
        Err(Error::IncidentNotFound(999))
    ));
    // Ignoring cancels the queued job; reopening queues a new one.
    assert_eq!(
        s.transition(id, Status::Ignored, &Cause::new("tester", "test"))
            .unwrap()
            .status,
        Status::Ignored
    );
    assert_eq!(s.jobs().unwrap()[0].state, JobState::Cancelled);
    assert!(s.claim_job("w", LEASE, T0).unwrap().is_none());
    s.transition(id, Status::Open, &Cause::new("tester", "test")).unwrap();
    assert_eq!(s.jobs().unwrap().len(), 2);
    assert!(s.claim_job("w", LEASE, Timestamp::now()).unwrap().is_some());
    assert_eq!(s.incident(id).unwrap().status, Status::Fixing);
}

#[test]
fn every_lifecycle_edge_is_listed() {
    use Status::*;
    let allowed: Vec<(Status, Status)> = Status::ALL
        .iter()
        .flat_map(|&a| Status::ALL.iter().map(move |&b| (a, b)))
        .filter(|(a, b)| a.can_become(*b))
        .collect();
    assert_eq!(
        allowed,
        vec![
            (Open, Fixing),
            (Open, Fixed),
            (Open, Ignored),
            (Fixing, Open),
            (Fixing, FixProposed),
            (FixProposed, Open),
            (FixProposed, Fixed),
            (Fixed, Verified),
            (Fixed, Regressed),
            (Verified, Regressed),
            (Regressed, Fixing),
            (Regressed, Fixed),
            (Regressed, Ignored),
            (Ignored, Open),
        ]
    );
}

/// Runs `work(w, store)` for `n` workers `w` at once, each on a store of
/// its own (its own connections, as separate processes would have), started
/// together at a barrier; their results in worker order. The stores are
/// opened before the threads start: a worker that failed to open would
/// leave the others waiting at the barrier for ever.
fn side_by_side<T: Send>(b: &Backend, n: usize, work: impl Fn(usize, &dyn IncidentStore) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(n);
    let stores: Vec<_> = (0..n).map(|_| b.open()).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = stores
            .into_iter()
            .enumerate()
            .map(|(w, s)| {
                let (barrier, work) = (&barrier, &work);
                scope.spawn(move || {
                    barrier.wait();
                    work(w, &*s)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn concurrent_claims_from_two_connections_get_the_job_once(b: &Backend) {
    b.open().ingest(&[ev("x", None, 1)], T0).unwrap();
    let claimed: Vec<i64> = side_by_side(b, 4, |w, s| {
        s.claim_job(&format!("w{w}"), LEASE, T0).unwrap().map(|c| c.job.id)
    })
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
}

/// Many workers with their own connections drain a queue of many jobs:
/// every job is claimed exactly once (Postgres: `FOR UPDATE SKIP LOCKED`,
/// no worker waits on another's claim; SQLite: one writer at a time).
fn many_workers_claim_every_job_exactly_once(b: &Backend) {
    let s = b.open();
    s.set_max_queued_jobs(100);
    let events: Vec<Event> = (0..30)
        .map(|i| {
            let mut e = ev(&format!("bug {i}"), None, 1);
            e.fingerprint_parts = vec![format!("bug {i}")];
            e
        })
        .collect();
    s.ingest(&events, T0).unwrap();
    let mut claimed: Vec<i64> = side_by_side(b, 4, |w, s| {
        s.set_max_queued_jobs(100);
        let mut mine = Vec::new();
        while let Some(c) = s.claim_job(&format!("w{w}"), LEASE, T0).unwrap() {
            mine.push(c.job.id);
        }
        mine
    })
    .into_iter()
    .flatten()
    .collect();
    claimed.sort_unstable();
    let all: Vec<i64> = s.jobs().unwrap().iter().map(|j| j.id).collect();
    assert_eq!(claimed, all, "each of the 30 jobs claimed once");
    assert!(s
        .jobs()
        .unwrap()
        .iter()
        .all(|j| j.state == JobState::Running && j.attempts == 1));
}

fn an_expired_lease_is_reclaimed_and_the_old_owner_cannot_finish(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1)], T0).unwrap();
    let first = s.claim_job("dead", LEASE, T0).unwrap().unwrap();
    assert_eq!(first.job.attempts, 1);
    assert_eq!(first.incident.status, Status::Fixing);
    // Not claimable while the lease holds.
    assert!(s
        .claim_job("other", LEASE, T0.saturating_add(LEASE / 2))
        .unwrap()
        .is_none());
    // Renewal keeps it.
    s.renew_lease(first.job.id, "dead", LEASE, T0.saturating_add(LEASE / 2))
        .unwrap();
    assert!(s.claim_job("other", LEASE, T0.saturating_add(LEASE)).unwrap().is_none());
    // Expired: claimed again as a new attempt.
    let later = T0.saturating_add(LEASE * 2);
    let second = s.claim_job("other", LEASE, later).unwrap().unwrap();
    assert_eq!((second.job.id, second.job.attempts), (first.job.id, 2));
    assert_eq!(second.job.lease_owner.as_deref(), Some("other"));
    // The first owner can neither renew nor finish.
    assert!(matches!(
        s.renew_lease(first.job.id, "dead", LEASE, later),
        Err(Error::LeaseLost { .. })
    ));
    assert!(matches!(
        s.complete_job(first.job.id, "dead", &proposed(), later),
        Err(Error::LeaseLost { .. })
    ));
    let run = s.complete_job(second.job.id, "other", &proposed(), later).unwrap();
    assert_eq!((run.attempt, run.outcome.as_str()), (2, "proposed"));
    // Finishing twice is refused.
    assert!(matches!(
        s.complete_job(second.job.id, "other", &proposed(), later),
        Err(Error::LeaseLost {
            state: JobState::Done,
            ..
        })
    ));
    assert_eq!(s.runs(first.incident.id).unwrap().len(), 1);
    assert_eq!(s.pull_requests().unwrap().len(), 1);
}

fn a_crash_looping_job_fails_after_its_attempts(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1)], T0).unwrap();
    let mut now = T0;
    for attempt in 1..=DEFAULT_MAX_ATTEMPTS {
        let c = s.claim_job("w", LEASE, now).unwrap().unwrap();
        assert_eq!(c.job.attempts, attempt);
        now = now.saturating_add(LEASE * 2); // the worker "dies"
    }
    assert!(s.claim_job("w", LEASE, now).unwrap().is_none());
    let job = &s.jobs().unwrap()[0];
    assert_eq!(job.state, JobState::Failed);
    assert!(job.last_error.as_deref().unwrap().contains("gave up"));
    assert_eq!(s.incidents().unwrap()[0].status, Status::Open);
}

fn failed_attempts_are_retried_after_a_delay_then_fail(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1)], T0).unwrap();
    let retry = Duration::from_secs(30);
    let mut now = T0;
    for attempt in 1..=DEFAULT_MAX_ATTEMPTS {
        let c = s.claim_job("w", LEASE, now).unwrap().unwrap();
        let state = s.fail_job(c.job.id, "w", "checks failed", retry, now).unwrap();
        if attempt < DEFAULT_MAX_ATTEMPTS {
            assert_eq!(state, JobState::Queued);
            assert!(
                s.claim_job("w", LEASE, now).unwrap().is_none(),
                "not before the retry delay"
            );
            assert_eq!(s.incidents().unwrap()[0].status, Status::Fixing);
        } else {
            assert_eq!(state, JobState::Failed);
        }
        now = now.saturating_add(retry);
    }
    let id = s.incidents().unwrap()[0].id;
    assert_eq!(s.incident(id).unwrap().status, Status::Open);
    let runs = s.runs(id).unwrap();
    assert_eq!(runs.len(), DEFAULT_MAX_ATTEMPTS as usize);
    assert!(runs
        .iter()
        .all(|r| r.outcome == "error" && r.report["error"] == "checks failed"));
}

fn merge_fixes_and_a_release_with_the_fix_regresses(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", Some("1.0"), 1)], T0).unwrap();
    let c = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    let id = c.incident.id;
    s.complete_job(c.job.id, "w", &proposed(), T0).unwrap();
    assert_eq!(s.incident(id).unwrap().status, Status::FixProposed);
    let prs = s.pull_requests().unwrap();
    assert_eq!(prs[0].state, PullRequestState::Open);
    let merged = s.merge_pull_request(prs[0].number, "1.1", &tester(), T0).unwrap();
    assert_eq!(merged.state, PullRequestState::Merged);
    assert!(
        s.merge_pull_request(prs[0].number, "1.1", &tester(), T0).is_err(),
        "merging twice"
    );
    let inc = s.incident(id).unwrap();
    assert_eq!(
        (inc.status, inc.fixed_in_release.as_deref()),
        (Status::Fixed, Some("1.1"))
    );
    // An old deployment still running 1.0, or an event with no release: still fixed.
    let sum = s.ingest(&[ev("x", Some("1.0"), 2), ev("x", None, 3)], T0).unwrap();
    assert!(sum.regressed.is_empty());
    assert_eq!(s.incident(id).unwrap().status, Status::Fixed);
    // A later release declared to contain the fix: regression, and a new fix job.
    s.add_release_with_fix(id, "1.2").unwrap();
    let sum = s.ingest(&[ev("x", Some("1.2"), 4)], T0).unwrap();
    assert_eq!(sum.regressed, vec![id]);
    assert_eq!(sum.jobs_enqueued, 1);
    let inc = s.incident(id).unwrap();
    assert_eq!(inc.status, Status::Regressed);
    assert_eq!(inc.count, 4);
    assert_eq!(inc.releases_with_fix, vec!["1.1".to_string(), "1.2".to_string()]);
    let again = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    assert_eq!(again.incident.status, Status::Fixing);
}

fn the_fixing_release_itself_regresses_and_a_merged_outcome_is_fixed_at_once(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", Some("1.0"), 1)], T0).unwrap();
    let c = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    let outcome = FixOutcome::Merged {
        pr: pr(),
        release: "abc123".into(),
        report: serde_json::json!({}),
    };
    s.complete_job(c.job.id, "w", &outcome, T0).unwrap();
    assert_eq!(s.incident(c.incident.id).unwrap().status, Status::Fixed);
    assert_eq!(s.pull_requests().unwrap()[0].state, PullRequestState::Merged);
    let sum = s.ingest(&[ev("x", Some("abc123"), 2)], T0).unwrap();
    assert_eq!(sum.regressed, vec![c.incident.id]);
}

fn closing_a_pr_reopens_and_no_fix_reopens(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1), ev("y", None, 1)], T0).unwrap();
    let a = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    s.complete_job(a.job.id, "w", &proposed(), T0).unwrap();
    let n = s.pull_requests().unwrap()[0].number;
    assert_eq!(
        s.close_pull_request(n, &tester(), T0).unwrap().state,
        PullRequestState::Closed
    );
    assert_eq!(s.incident(a.incident.id).unwrap().status, Status::Open);
    assert!(matches!(
        s.close_pull_request(42, &tester(), T0),
        Err(Error::PullRequestNotFound(42))
    ));
    let b = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    let nofix = FixOutcome::NoFix {
        reason: "no template".into(),
        report: serde_json::json!({"decision": "no-fix"}),
    };
    let run = s.complete_job(b.job.id, "w", &nofix, T0).unwrap();
    assert_eq!(run.report["decision"], "no-fix");
    assert_eq!(s.incident(b.incident.id).unwrap().status, Status::Open);
    let d = s.incident_detail(b.incident.id).unwrap();
    assert_eq!(d.runs.len(), 1);
    assert_eq!(d.jobs[0].state, JobState::Done);
}

fn hostile_counts_and_text_are_stored_safely(b: &Backend) {
    let s = b.open();
    let mut e = ev("'); DROP TABLE incidents; --\u{1b}[2J", None, u64::MAX);
    e.count = u64::MAX;
    s.ingest(&[e.clone(), e], T0).unwrap();
    let i = &s.incidents().unwrap()[0];
    assert_eq!(i.count, 2 * u64::from(u32::MAX));
    assert!(i.title.starts_with("'); DROP TABLE"));
    assert_eq!(s.totals().unwrap().incidents, 1);
}

fn a_released_job_is_claimable_at_once_without_losing_an_attempt(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1)], T0).unwrap();
    let c = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    assert!(matches!(
        s.release_job(c.job.id, "other", T0),
        Err(Error::LeaseLost { .. })
    ));
    s.release_job(c.job.id, "w", T0).unwrap();
    let again = s.claim_job("w2", LEASE, T0).unwrap().unwrap();
    assert_eq!((again.job.id, again.job.attempts), (c.job.id, 1));
    assert_eq!(again.incident.status, Status::Fixing);
}

mod properties {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    use super::*;

    /// Batches of (group, count, release) triples.
    type Batches = Vec<Vec<(u8, u64, Option<u8>)>>;

    fn batches() -> impl Strategy<Value = Batches> {
        prop::collection::vec(
            prop::collection::vec((0u8..6, 1u64..50, prop::option::of(0u8..3)), 0..40),
            1..6,
        )
    }

    /// Whatever the batches, every occurrence is counted exactly once, in
    /// the incident of its fingerprint, with one job per incident and a
    /// bounded sample.
    fn ingest_accounts_for_every_occurrence(b: &Backend, batches: &Batches) -> Result<(), TestCaseError> {
        let s = b.open();
        let mut expected: BTreeMap<String, u64> = BTreeMap::new();
        let mut releases: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for batch in batches {
            let events: Vec<Event> = batch
                .iter()
                .map(|(group, count, rel)| {
                    let mut e = ev(&format!("bug in module_{group}"), None, u64::from(*group));
                    e.fingerprint_parts = vec![format!("g{group}")];
                    e.count = *count;
                    e.release = rel.map(|r| format!("1.{r}"));
                    e
                })
                .collect();
            for e in &events {
                let fp = e.fingerprint_or_compute().to_string();
                *expected.entry(fp.clone()).or_default() += e.count;
                if let Some(r) = &e.release {
                    releases.entry(fp).or_default().insert(r.clone());
                }
            }
            let sum = s.ingest(&events, T0).unwrap();
            prop_assert_eq!(sum.occurrences, events.iter().map(|e| e.count).sum::<u64>());
        }
        let list = s.incidents().unwrap();
        let got: BTreeMap<String, u64> = list.iter().map(|i| (i.fingerprint.to_string(), i.count)).collect();
        prop_assert_eq!(&got, &expected);
        for i in &list {
            let want: BTreeSet<String> = releases.get(i.fingerprint.as_str()).cloned().unwrap_or_default();
            prop_assert_eq!(i.releases.iter().cloned().collect::<BTreeSet<_>>(), want);
            prop_assert!(s.incident_detail(i.id).unwrap().samples.len() <= SAMPLE_SIZE);
        }
        prop_assert_eq!(s.jobs().unwrap().len(), expected.len());
        let t = s.totals().unwrap();
        prop_assert_eq!(t.occurrences, expected.values().sum::<u64>());
        prop_assert_eq!(t.batches as usize, batches.len());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn ingest_accounts_for_every_occurrence_on_sqlite(batches in batches()) {
            ingest_accounts_for_every_occurrence(&Backend::sqlite(), &batches)?;
        }
    }

    proptest! {
        // A database per case: fewer cases keep the suite's time down.
        #![proptest_config(ProptestConfig::with_cases(8))]

        #[test]
        fn ingest_accounts_for_every_occurrence_on_postgres(batches in batches()) {
            if let Some(b) = Backend::postgres("ingest_accounts_for_every_occurrence") {
                ingest_accounts_for_every_occurrence(&b, &batches)?;
            }
        }
    }
}

fn ingest_batches_is_one_transaction_with_per_batch_summaries(b: &Backend) {
    let s = b.open();
    let batches = vec![
        vec![ev("a", None, 1), ev("a", None, 2)],
        vec![ev("a", None, 3), ev("b", None, 4)],
        Vec::new(),
    ];
    let sums = s.ingest_batches(&batches, T0).unwrap();
    assert_eq!(sums.len(), 3);
    assert_eq!((sums[0].occurrences, sums[0].new_incidents.len()), (2, 1));
    assert_eq!(
        (sums[1].occurrences, sums[1].new_incidents.len()),
        (2, 1),
        "only b is new in batch 2"
    );
    assert_eq!(sums[2].events, 0);
    let t = s.totals().unwrap();
    assert_eq!((t.batches, t.events, t.occurrences, t.incidents), (3, 4, 4, 2));
    assert_eq!(s.jobs().unwrap().len(), 2);
}

fn an_incident_job_is_claimed_by_id_once_and_recreated_when_needed(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1), ev("y", None, 1)], T0).unwrap();
    let y = s.incidents().unwrap().into_iter().find(|i| i.title == "y").unwrap().id;
    let c = s.claim_incident_job(y, "cli", LEASE, T0).unwrap();
    assert_eq!(
        (c.incident.id, c.incident.status, c.job.attempts),
        (y, Status::Fixing, 1)
    );
    // Held: neither the CLI nor the job loop gets it again.
    assert!(s
        .claim_incident_job(y, "other", LEASE, T0)
        .unwrap_err()
        .to_string()
        .contains("right now"));
    let next = s.claim_job("loop", LEASE, T0).unwrap().unwrap();
    assert_ne!(next.incident.id, y);
    // After a no-fix run the incident is open with no live job: a new job is made.
    let nofix = FixOutcome::NoFix {
        reason: "none".into(),
        report: serde_json::json!({}),
    };
    s.complete_job(c.job.id, "cli", &nofix, T0).unwrap();
    let again = s.claim_incident_job(y, "cli", LEASE, T0).unwrap();
    assert_ne!(again.job.id, c.job.id);
    s.complete_job(again.job.id, "cli", &proposed(), T0).unwrap();
    assert!(s
        .claim_incident_job(y, "cli", LEASE, T0)
        .unwrap_err()
        .to_string()
        .contains("fix-proposed"));
    assert!(matches!(
        s.claim_incident_job(99, "cli", LEASE, T0),
        Err(Error::IncidentNotFound(99))
    ));
}

/// 2,000 distinct fingerprints (one attacker holding the SDK token) queue
/// at most the cap of fix jobs, not 2,000; the rest wait and are queued as
/// jobs are claimed, the most frequent incidents first.
fn queued_fix_jobs_are_capped_and_the_most_frequent_are_served_first(b: &Backend) {
    let s = b.open();
    s.set_max_queued_jobs(20);
    let ev = |msg: &str, _: Option<&str>, at: u64| {
        let mut e = ev(msg, None, at);
        e.fingerprint_parts = vec![msg.to_string()];
        e
    };
    let mut events: Vec<Event> = (0..2000).map(|i| ev(&format!("flood {i}"), None, 1_000)).collect();
    // Incident "flood 1500" is seen 50 times, "flood 1999" 30 times.
    for _ in 0..49 {
        events.push(ev("flood 1500", None, 1_000));
    }
    for _ in 0..29 {
        events.push(ev("flood 1999", None, 1_000));
    }
    for chunk in events.chunks(500) {
        s.ingest(chunk, T0).unwrap();
    }
    assert_eq!(s.totals().unwrap().incidents, 2000);
    let queued = s.jobs().unwrap().iter().filter(|j| j.state == JobState::Queued).count();
    assert_eq!(queued, 20, "the queue is capped");
    let first = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    assert_eq!(first.incident.title, "flood 1500");
    let second = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    assert_eq!(second.incident.title, "flood 1999");
    let queued = s.jobs().unwrap().iter().filter(|j| j.state == JobState::Queued).count();
    assert_eq!(queued, 20, "still at the cap after the claims");
    // An incident ignored while waiting is not queued later.
    let waiting = s
        .incidents()
        .unwrap()
        .into_iter()
        .find(|i| i.title == "flood 1990")
        .unwrap();
    assert!(s.incident_detail(waiting.id).unwrap().jobs.is_empty());
    s.transition(waiting.id, Status::Ignored, &Cause::new("tester", "test"))
        .unwrap();
    let mut claimed = 2;
    while let Some(job) = s.claim_job("w", LEASE, T0).unwrap() {
        assert_ne!(job.incident.id, waiting.id);
        s.complete_job(
            job.job.id,
            "w",
            &FixOutcome::NoFix {
                reason: "test".into(),
                report: serde_json::json!({}),
            },
            T0,
        )
        .unwrap();
        claimed += 1;
        if claimed == 60 {
            break;
        }
    }
    assert_eq!(claimed, 60, "waiting incidents keep being served");
}

/// The per-sender quota counts the incidents created in the last hour only;
/// the overflow incident collects the rest and cannot be fixed.
fn the_new_incident_quota_slides_over_an_hour(b: &Backend) {
    let s = b.open();
    let quota = IncidentQuota {
        source: "abc".into(),
        new_incidents_per_hour: 2,
    };
    let batch = |names: &[&str]| IngestBatch {
        events: names
            .iter()
            .map(|n| {
                let mut e = ev(n, None, 1_000);
                e.fingerprint_parts = vec![n.to_string()];
                e
            })
            .collect(),
        quota: Some(quota.clone()),
        release: None,
        batch_id: None,
        project: None,
    };
    let first = s.ingest_with_quotas(&[batch(&["a", "b", "c"])], T0).unwrap();
    assert_eq!((first[0].new_incidents.len(), first[0].over_quota), (2, 1));
    let later = T0.saturating_add(Duration::from_secs(30 * 60));
    let second = s.ingest_with_quotas(&[batch(&["d"])], later).unwrap();
    assert_eq!((second[0].new_incidents.len(), second[0].over_quota), (0, 1));
    let next_hour = T0.saturating_add(Duration::from_secs(61 * 60));
    let third = s.ingest_with_quotas(&[batch(&["e", "f", "g"])], next_hour).unwrap();
    assert_eq!((third[0].new_incidents.len(), third[0].over_quota), (2, 1));
    let list = s.incidents().unwrap();
    let overflow: Vec<_> = list.iter().filter(|i| i.title.starts_with("Quota exceeded")).collect();
    assert_eq!(overflow.len(), 1);
    assert_eq!(overflow[0].count, 3);
    assert!(matches!(
        s.claim_incident_job(overflow[0].id, "w", LEASE, next_hour),
        Err(Error::Config(_))
    ));
    // Local ingest (no quota) is not limited.
    s.ingest(
        &(0..10).map(|i| ev(&format!("local {i}"), None, 1)).collect::<Vec<_>>(),
        T0,
    )
    .unwrap();
}

/// A release announcement is upserted: first_live_at kept, last_live_at
/// moved forward, dependencies replaced only when sent; it travels with an
/// ingested batch in the same transaction.
fn releases_are_upserted_as_announced(b: &Backend) {
    use bugstack_core::{Dependency, ReleaseAnnouncement};
    let s = b.open();
    assert_eq!(s.release("shop@1").unwrap(), None);
    let v1 = [Dependency::new("serde", "1.0.1"), Dependency::new("tokio", "1.40.0")];
    let t1 = T0.saturating_add(Duration::from_secs(60));
    let t2 = T0.saturating_add(Duration::from_secs(120));
    s.record_release_seen("shop@1", t1, Some(&v1)).unwrap();
    s.record_release_seen("shop@1", t2, None).unwrap();
    let r = s.release("shop@1").unwrap().unwrap();
    assert_eq!((r.first_live_at, r.last_live_at), (t1, t2));
    assert_eq!(r.dependencies.as_deref(), Some(&v1[..]), "None keeps the list");
    // An older announcement arriving late moves neither end the wrong way.
    s.record_release_seen("shop@1", T0, None).unwrap();
    let r = s.release("shop@1").unwrap().unwrap();
    assert_eq!((r.first_live_at, r.last_live_at), (T0, t2));
    let v2 = [Dependency::new("serde", "1.0.2")];
    s.record_release_seen("shop@1", t2, Some(&v2)).unwrap();
    assert_eq!(
        s.release("shop@1").unwrap().unwrap().dependencies.as_deref(),
        Some(&v2[..])
    );

    let mut announcement = ReleaseAnnouncement::new("shop@2", T0);
    announcement.dependencies = Some(vec![Dependency::new("axum", "0.8.0")]);
    let later = T0.saturating_add(Duration::from_secs(600));
    let batch = IngestBatch {
        events: vec![ev("boom", Some("shop@2"), 1_000)],
        quota: None,
        release: Some(announcement),
        batch_id: None,
        project: None,
    };
    s.ingest_with_quotas(&[batch], later).unwrap();
    let r = s.release("shop@2").unwrap().unwrap();
    assert_eq!(
        (r.first_live_at, r.last_live_at),
        (later, later),
        "the collector's clock"
    );
    assert_eq!(r.dependencies.unwrap()[0].name, "axum");
    let names: Vec<String> = s.releases().unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["shop@2", "shop@1"], "most recently live first");
}

/// A claimed job carries the versions of the crates on its stack, from its
/// latest release's announced dependencies, into the pipeline's incident.
fn a_claimed_job_carries_the_crates_on_its_stack(b: &Backend) {
    use bugstack_core::{Dependency, Frame};
    let s = b.open();
    let deps = [Dependency::new("tokio", "1.48.0"), Dependency::new("serde", "1.0.0")];
    s.record_release_seen("shop@1", T0, Some(&deps)).unwrap();
    let mut e = ev("boom", Some("shop@1"), 1_000);
    e.frames = vec![Frame {
        function: Some("tokio::runtime::block_on".into()),
        ..Frame::default()
    }];
    s.ingest(&[e], T0).unwrap();
    let job = s.claim_job("w", LEASE, T0).unwrap().expect("a job");
    let incident = job.pipeline_incident();
    assert_eq!(incident.stack_dependencies, [deps[0].clone()]);
    let detail = s.incident_detail(job.incident.id).unwrap();
    assert_eq!(detail.stack_dependencies.unwrap().release, "shop@1");
}

/// A batch sent again with the same id (its 202 was lost) is counted once,
/// within its sender's keys and the window; a batch without an id always
/// counts.
fn a_retried_batch_is_counted_once(b: &Backend) {
    let s = b.open();
    let batch = |id: Option<&str>, source: &str| IngestBatch {
        events: vec![ev("x", Some("1.0"), 1), ev("y", None, 2)],
        quota: Some(IncidentQuota {
            source: source.into(),
            new_incidents_per_hour: 100,
        }),
        release: None,
        batch_id: id.map(str::to_string),
        project: None,
    };
    let first = s.ingest_with_quotas(&[batch(Some("b-1"), "a")], T0).unwrap();
    assert_eq!((first[0].duplicate, first[0].occurrences), (false, 2));
    // The retry, and in one group a new batch with its own retry.
    let again = s
        .ingest_with_quotas(
            &[
                batch(Some("b-1"), "a"),
                batch(Some("b-2"), "a"),
                batch(Some("b-2"), "a"),
            ],
            T0,
        )
        .unwrap();
    let dup: Vec<(bool, u64)> = again.iter().map(|x| (x.duplicate, x.occurrences)).collect();
    assert_eq!(dup, [(true, 0), (false, 2), (true, 0)]);
    // Another sender's ids are its own; no id, no deduplication.
    let other = s
        .ingest_with_quotas(&[batch(Some("b-1"), "other"), batch(None, "a"), batch(None, "a")], T0)
        .unwrap();
    assert!(other.iter().all(|x| !x.duplicate));
    let t = s.totals().unwrap();
    assert_eq!((t.batches, t.occurrences), (5, 10), "each batch counted once");
    assert_eq!(s.incidents().unwrap().iter().map(|i| i.count).sum::<u64>(), 10);
    // Past the window the key is forgotten.
    let later = T0.saturating_add(BATCH_KEY_WINDOW + Duration::from_secs(1));
    let after = s.ingest_with_quotas(&[batch(Some("b-1"), "a")], later).unwrap();
    assert!(!after[0].duplicate);
}

/// Copies of one batch reaching several collectors at once (each its own
/// connection) are counted once.
fn copies_of_a_batch_at_several_collectors_count_once(b: &Backend) {
    let collectors = 4;
    let barrier = Barrier::new(collectors);
    let duplicates: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..collectors)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let s = b.open();
                    let batch = IngestBatch {
                        events: vec![ev("x", Some("1.0"), 1)],
                        quota: None,
                        release: None,
                        batch_id: Some("the-batch".into()),
                        project: None,
                    };
                    barrier.wait();
                    s.ingest_with_quotas(&[batch], T0).unwrap()[0].duplicate
                })
            })
            .collect();
        handles.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
    });
    assert_eq!(duplicates, collectors - 1);
    let s = b.open();
    assert_eq!(s.totals().unwrap().occurrences, 1);
    assert_eq!(s.incidents().unwrap()[0].count, 1);
}

fn forge_new(branch: &str) -> bugstack_fix::NewPullRequest {
    bugstack_fix::NewPullRequest {
        title: "Fix: divide by zero".into(),
        body: "Root cause: ...".into(),
        branch: branch.into(),
        base: "main".into(),
        head_sha: "1111".into(),
        decision: Some(bugstack_fix::Decision {
            kind: bugstack_fix::DecisionKind::Review,
            reason: "below threshold".into(),
        }),
    }
}

fn local_url(n: u64) -> String {
    format!("local://pulls/{n}")
}

/// The local forge's contract (bugstack-fix's `PullRequestStore`): numbers,
/// lookups, updates that keep the number, and the CLI's view of the same
/// rows.
fn the_store_keeps_the_local_forge_contract(b: &Backend) {
    use bugstack_fix::PullRequestStore;
    let s = b.open_forge();
    let a = s.create(&forge_new("bugstack/fix-a"), &local_url).unwrap();
    let second = s.create(&forge_new("bugstack/fix-b"), &local_url).unwrap();
    assert_eq!((a.number, second.number), (1, 2));
    assert_eq!(a.url, "local://pulls/1");
    assert_eq!(a.state, PullRequestState::Open);
    assert_eq!(a.decision.as_ref().unwrap().kind, bugstack_fix::DecisionKind::Review);
    assert_eq!(PullRequestStore::get(s.as_ref(), 2).unwrap().unwrap(), second);
    assert!(PullRequestStore::get(s.as_ref(), 3).unwrap().is_none());
    assert_eq!(s.find_open("bugstack/fix-b").unwrap().unwrap().number, 2);
    assert!(s.find_open("bugstack/fix-c").unwrap().is_none());
    let updated = s
        .update(1, &mut |p| {
            p.number = 99; // the store keeps the number
            p.labels.push("bugstack".into());
            p.comments.push(bugstack_fix::Comment {
                at: Timestamp::from_millis(5),
                body: "checks passed".into(),
            });
            p.head_sha = "2222".into();
        })
        .unwrap();
    assert_eq!(updated.number, 1);
    let again = PullRequestStore::get(s.as_ref(), 1).unwrap().unwrap();
    assert_eq!(
        (again.labels.clone(), again.head_sha.as_str()),
        (vec!["bugstack".to_string()], "2222")
    );
    assert_eq!(again.comments[0].body, "checks passed");
    assert!(again.updated_at >= a.updated_at);
    s.update(1, &mut |p| p.state = PullRequestState::Closed).unwrap();
    assert!(s.find_open("bugstack/fix-a").unwrap().is_none());
    let all = s.list().unwrap();
    assert_eq!(all.iter().map(|p| p.number).collect::<Vec<_>>(), vec![1, 2]);
    assert!(s
        .update(7, &mut |_| {})
        .unwrap_err()
        .to_string()
        .contains("no pull request #7"));
    // The CLI view sees the same records.
    let view = IncidentStore::pull_requests(s.as_ref()).unwrap();
    assert_eq!(view.len(), 2);
    assert_eq!(
        (view[1].number, view[1].incident_id, view[1].state),
        (1, None, PullRequestState::Closed)
    );
    assert_eq!(view[0].decision, "review");
}

/// A run's outcome naming the local forge's pull request `number`.
fn proposed_local(number: u64) -> FixOutcome {
    FixOutcome::Proposed {
        pr: RunPullRequest {
            number: Some(i64::try_from(number).unwrap()),
            decision: "review".into(),
            ..RunPullRequest::default()
        },
        report: serde_json::json!({}),
    }
}

/// The forge opens a pull request mid-run (no incident yet); the run links
/// it, and the forge's merge later fixes the incident.
fn a_forge_pull_request_is_linked_by_the_run_and_its_merge_fixes_the_incident(b: &Backend) {
    let s = b.open_forge();
    s.ingest(&[ev("boom", None, 1)], T0).unwrap();
    let job = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    let pr = s.create(&forge_new("bugstack/fix-boom"), &local_url).unwrap();
    assert_eq!(IncidentStore::pull_requests(s.as_ref()).unwrap()[0].incident_id, None);
    s.complete_job(job.job.id, "w", &proposed_local(pr.number), T0).unwrap();
    let view = &IncidentStore::pull_requests(s.as_ref()).unwrap()[0];
    assert_eq!((view.number, view.incident_id), (1, Some(job.incident.id)));
    assert_eq!(s.incident(job.incident.id).unwrap().status, Status::FixProposed);
    assert_eq!(s.runs(job.incident.id).unwrap()[0].pr_number, Some(1));
    // Reviewed and merged later through the forge: the incident is fixed.
    s.update(1, &mut |p| {
        p.state = PullRequestState::Merged;
        p.merge_commit = Some("abc123".into());
    })
    .unwrap();
    let inc = s.incident(job.incident.id).unwrap();
    assert_eq!(
        (inc.status, inc.fixed_in_release.as_deref()),
        (Status::Fixed, Some("abc123"))
    );
    let view = &IncidentStore::pull_requests(s.as_ref()).unwrap()[0];
    assert_eq!(
        (view.state, view.merge_commit.as_deref()),
        (PullRequestState::Merged, Some("abc123"))
    );
    // A later comment changes nothing.
    s.update(1, &mut |p| p.labels.push("merged".into())).unwrap();
    assert_eq!(s.incident(job.incident.id).unwrap().status, Status::Fixed);
}

/// A run naming an unknown pull request is refused; a linked pull request
/// closed on the forge reopens its incident.
fn a_closed_forge_pull_request_reopens_and_unknown_numbers_are_refused(b: &Backend) {
    let s = b.open_forge();
    s.ingest(&[ev("boom", None, 1)], T0).unwrap();
    let job = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    assert!(matches!(
        s.complete_job(job.job.id, "w", &proposed_local(5), T0),
        Err(Error::PullRequestNotFound(5))
    ));
    let pr = s.create(&forge_new("bugstack/fix-boom"), &local_url).unwrap();
    s.complete_job(job.job.id, "w", &proposed_local(pr.number), T0).unwrap();
    s.update(pr.number, &mut |p| p.state = PullRequestState::Closed)
        .unwrap();
    assert_eq!(s.incident(job.incident.id).unwrap().status, Status::Open);
}

/// Forge sync: a close on the forge reopens the incident and rejects the
/// patch, a merge fixes it at its commit, a repeat changes nothing.
/// An incident whose run proposed forge pull request `forge_number` with
/// patch `hash`; returns (incident, store number).
fn proposed_on_forge(s: &dyn ForgeStore, msg: &str, forge_number: i64, hash: &str) -> (i64, i64) {
    s.ingest(&[ev(msg, None, 1)], T0).unwrap();
    let job = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    let outcome = FixOutcome::Proposed {
        pr: RunPullRequest {
            url: format!("https://github.com/o/r/pull/{forge_number}"),
            title: "Fix".into(),
            branch: format!("bugstack/fix-{forge_number}"),
            decision: "review".into(),
            forge_number: Some(forge_number),
            patch_hash: Some(hash.into()),
            ..RunPullRequest::default()
        },
        report: serde_json::json!({}),
    };
    let run = s.complete_job(job.job.id, "w", &outcome, T0).unwrap();
    (job.incident.id, run.pr_number.unwrap())
}

fn forge_changes_move_incidents_and_reject_patches(b: &Backend) {
    let s = b.open_forge();
    let s = s.as_ref();
    let (a, pa) = proposed_on_forge(s, "boom", 41, "hash-a");
    let (bb, pb) = proposed_on_forge(s, "bang", 42, "hash-b");
    let open: Vec<(i64, i64)> = s
        .forge_pull_requests()
        .unwrap()
        .iter()
        .map(|p| (p.number, p.forge_number))
        .collect();
    assert_eq!(open, vec![(pa, 41), (pb, 42)]);
    assert_eq!(s.pull_request_by_forge_number(42).unwrap(), Some(pb));
    assert_eq!(s.pull_request_by_forge_number(7).unwrap(), None);
    assert_eq!(s.forge_number_of(pa).unwrap(), Some(41));
    s.set_pull_request_etag(pa, "W/\"abc\"").unwrap();
    assert_eq!(s.forge_pull_requests().unwrap()[0].etag.as_deref(), Some("W/\"abc\""));
    let closed = s.apply_forge_change(pa, &ForgeChange::Closed, &tester(), T0).unwrap();
    assert!(matches!(closed, ForgeSync::Applied(ref r) if r.state == PullRequestState::Closed));
    assert_eq!(s.incident(a).unwrap().status, Status::Open);
    assert_eq!(
        s.rejected_patches(a).unwrap().into_iter().collect::<Vec<_>>(),
        ["hash-a"]
    );
    assert!(s.rejected_patches(bb).unwrap().is_empty());
    // Reported again (webhook and poller): nothing changes.
    let again = s.apply_forge_change(pa, &ForgeChange::Closed, &tester(), T0).unwrap();
    assert!(matches!(again, ForgeSync::Unchanged(_)));
    let merge = ForgeChange::Merged {
        commit: "c0ffee".into(),
    };
    let ForgeSync::Applied(record) = s.apply_forge_change(pb, &merge, &tester(), T0).unwrap() else {
        panic!("expected a change")
    };
    assert_eq!(
        (record.state, record.merge_commit.as_deref()),
        (PullRequestState::Merged, Some("c0ffee"))
    );
    let inc = s.incident(bb).unwrap();
    assert_eq!(
        (inc.status, inc.fixed_in_release.as_deref()),
        (Status::Fixed, Some("c0ffee"))
    );
    assert!(
        s.forge_pull_requests().unwrap().is_empty(),
        "nothing open is left to poll"
    );
    assert!(matches!(
        s.apply_forge_change(99, &ForgeChange::Closed, &tester(), T0),
        Err(Error::PullRequestNotFound(99))
    ));
}

/// Closing a forge pull request by hand rejects its patch too.
fn closing_by_hand_rejects_the_patch_too(b: &Backend) {
    let s = b.open_forge();
    let (a, pa) = proposed_on_forge(s.as_ref(), "boom", 5, "hash-a");
    s.close_pull_request(pa, &tester(), T0).unwrap();
    assert_eq!(s.rejected_patches(a).unwrap().len(), 1);
}

fn tester() -> Cause {
    Cause::new("tester", "test")
}

fn triggers_decide_which_incidents_get_a_job_and_min_count_queues_it_later(b: &Backend) {
    let s = b.open();
    s.set_triggers(bugstack_fix::Triggers {
        min_count: 3,
        skip_environments: vec!["dev".into()],
        ..bugstack_fix::Triggers::default()
    });
    let mut warn = Event::new(EventKind::Message, Level::Warning, "disk full", T0);
    warn.fingerprint_parts = vec!["w".into()];
    let mut dev = ev("dev only", None, 1);
    dev.environment = Some("dev".into());
    let first = s.ingest(&[warn.clone(), dev.clone(), ev("boom", None, 1)], T0).unwrap();
    assert_eq!(first.jobs_enqueued, 0, "below min_count, a warning, a dev event");
    let second = s.ingest(&[ev("boom", None, 2), dev.clone(), warn.clone()], T0).unwrap();
    assert_eq!(second.jobs_enqueued, 0);
    let third = s.ingest(&[ev("boom", None, 3), dev.clone(), dev, warn], T0).unwrap();
    assert_eq!(third.jobs_enqueued, 1, "the third panic reaches min_count");
    let jobs = s.jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    let boom = s.incident(jobs[0].incident_id).unwrap();
    assert_eq!((boom.title.as_str(), boom.count), ("boom", 3));
    // More occurrences queue no more jobs, and the job's end does not requeue one.
    s.ingest(&[ev("boom", None, 4)], T0).unwrap();
    assert_eq!(s.jobs().unwrap().len(), 1);
}

fn a_release_containing_the_fix_regresses_and_a_silent_live_one_verifies(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("a", Some("1.0"), 1), ev("b", Some("1.0"), 1)], T0)
        .unwrap();
    let (a, b) = (1, 2);
    for id in [a, b] {
        s.resolve(id, "v2", &tester(), T0).unwrap();
    }
    assert_eq!(
        s.incident(a).unwrap().fix_commit,
        None,
        "a release name: resolved later"
    );
    s.record_fix_commit(a, "f1x").unwrap();
    assert_eq!(s.incident(a).unwrap().fix_commit.as_deref(), Some("f1x"));

    // b is seen in 1.0 (older) and 3.0 (contains the fix).
    let later = T0.saturating_add(Duration::from_secs(1));
    s.ingest(&[ev("b", Some("3.0"), 2)], later).unwrap();
    let todo = s.releases_to_check(10, Duration::from_secs(300), later).unwrap();
    let mut names: Vec<(i64, &str)> = todo.iter().map(|c| (c.incident_id, c.release.as_str())).collect();
    names.sort();
    assert_eq!(names, vec![(a, "1.0"), (b, "1.0"), (b, "3.0")]);
    let verdict = |release: &str, v: ReleaseVerdict| ReleaseVerdictRecord {
        release: release.into(),
        verdict: v,
        commit: Some("c0ffee".into()),
        note: "n".into(),
        checked_at: later,
    };
    assert!(!s
        .record_release_verdict(b, &verdict("1.0", ReleaseVerdict::Older))
        .unwrap());
    assert_eq!(s.incident(b).unwrap().status, Status::Fixed);
    assert!(s
        .record_release_verdict(b, &verdict("3.0", ReleaseVerdict::ContainsFix))
        .unwrap());
    let inc = s.incident(b).unwrap();
    assert_eq!(inc.status, Status::Regressed);
    assert!(inc.releases_with_fix.contains(&"3.0".to_string()));
    let last = s.timeline(b).unwrap().pop().unwrap();
    assert_eq!(
        (last.from, last.to, last.actor.as_str()),
        (Some(Status::Fixed), Status::Regressed, "bugstack")
    );
    assert_eq!(
        s.jobs()
            .unwrap()
            .iter()
            .filter(|j| j.incident_id == b && j.state == JobState::Queued)
            .count(),
        1
    );
    // A verdict for an incident no longer fixed is ignored.
    assert!(!s
        .record_release_verdict(b, &verdict("4.0", ReleaseVerdict::ContainsFix))
        .unwrap());

    // a: release 3.0 goes live after the fix and contains it; silent for the window → verified.
    s.record_release_seen("3.0", later, None).unwrap();
    let todo = s.releases_to_check(10, Duration::from_secs(300), later).unwrap();
    assert!(
        todo.iter().any(|c| c.incident_id == a && c.release == "3.0"),
        "{todo:?}"
    );
    assert!(!s
        .record_release_verdict(a, &verdict("3.0", ReleaseVerdict::ContainsFix))
        .unwrap());
    let window = Duration::from_secs(60);
    assert_eq!(
        s.verify_fixed(window, later.saturating_add(Duration::from_secs(59)))
            .unwrap(),
        Vec::<i64>::new()
    );
    assert_eq!(s.verify_fixed(window, later.saturating_add(window)).unwrap(), vec![a]);
    assert_eq!(s.incident(a).unwrap().status, Status::Verified);
    // It comes back from that release: regressed at ingest.
    let back = s.ingest(&[ev("a", Some("3.0"), 5)], later).unwrap();
    assert_eq!(back.regressed, vec![a]);
}

fn a_new_fix_forgets_the_releases_of_the_old_one(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", Some("1.0"), 1)], T0).unwrap();
    s.resolve(1, "1.1", &tester(), T0).unwrap();
    s.ingest(&[ev("x", Some("1.1"), 2)], T0).unwrap();
    assert_eq!(s.incident(1).unwrap().status, Status::Regressed);
    s.resolve(1, "1.2", &tester(), T0).unwrap();
    let again = s.ingest(&[ev("x", Some("1.1"), 3)], T0).unwrap();
    assert_eq!(
        again.regressed,
        Vec::<i64>::new(),
        "1.1 is an old deployment of the first fix"
    );
    assert_eq!(s.incident(1).unwrap().releases_with_fix, vec!["1.2".to_string()]);
}

fn retry_queues_a_job_now_and_is_refused_when_it_cannot_run(b: &Backend) {
    let s = b.open();
    s.ingest(&[ev("x", None, 1)], T0).unwrap();
    let c = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    assert!(
        matches!(s.retry(1, &tester(), T0), Err(Error::Refused(_))),
        "a job is running"
    );
    s.fail_job(c.job.id, "w", "boom", Duration::from_secs(3600), T0)
        .unwrap();
    // Back in the queue, an hour away (the incident still `fixing`): runnable now.
    assert!(s.claim_job("w", LEASE, T0).unwrap().is_none());
    let job = s.retry(1, &tester(), T0).unwrap();
    assert_eq!((job.id, job.not_before), (c.job.id, T0));
    assert_eq!(s.claim_job("w", LEASE, T0).unwrap().unwrap().job.id, c.job.id);
    let b2 = b.fresh();
    let s = b2.open();
    s.ingest(&[ev("y", None, 1)], T0).unwrap();
    s.transition(1, Status::Ignored, &tester()).unwrap();
    assert!(matches!(s.retry(1, &tester(), T0), Err(Error::Refused(_))));
    s.transition(1, Status::Open, &tester()).unwrap();
    let job = s.retry(1, &tester(), T0).unwrap();
    assert_eq!((job.state, job.not_before), (JobState::Queued, T0));
    assert_eq!(s.timeline(1).unwrap().len(), 4, "created, ignored, reopened, retried");
    assert!(matches!(s.timeline(99), Err(Error::IncidentNotFound(99))));
}

/// Hourly counts on both stores: occurrences add up per hour (a sender's
/// clock in the future counts in the hour received), hours past the
/// retention go at the next ingest, several incidents' hours come back in
/// one call in the order asked, and an unknown incident is an error.
fn hourly_counts_are_kept_per_incident_and_old_hours_dropped(b: &Backend) {
    let s = b.open();
    let t0 = Timestamp::from_millis(1_700_000_000_000 - 1_700_000_000_000 % 3_600_000);
    let h = |n: u64| t0.saturating_add(Duration::from_secs(3600 * n));
    let at = |msg: &str, t: Timestamp| Event::new(EventKind::Panic, Level::Error, msg, t);
    s.ingest(&[at("boom", h(0)), at("boom", h(0)), at("other", h(1))], h(1))
        .unwrap();
    let mut later = at("boom", h(2));
    later.count = 5;
    s.ingest(&[later], h(2)).unwrap();
    s.ingest(&[at("boom", h(100))], h(3)).unwrap();
    let by_title = |t: &str| s.incidents().unwrap().into_iter().find(|i| i.title == t).unwrap().id;
    let (boom, other) = (by_title("boom"), by_title("other"));
    let pairs = |v: &[HourCount]| v.iter().map(|c| (c.hour, c.count)).collect::<Vec<_>>();
    assert_eq!(
        pairs(&s.histogram(boom, t0).unwrap()),
        vec![(h(0), 2), (h(2), 5), (h(3), 1)]
    );
    // `since` counts from the start of its hour.
    assert_eq!(
        pairs(&s.histogram(boom, h(2).saturating_add(Duration::from_secs(60))).unwrap()),
        vec![(h(2), 5), (h(3), 1)]
    );
    assert_eq!(
        s.histograms(&[other, 999, boom], h(3)).unwrap(),
        vec![vec![], vec![], vec![HourCount { hour: h(3), count: 1 }]],
        "in the order of the ids; none for an unknown one"
    );
    assert_eq!(pairs(&s.histogram(other, t0).unwrap()), vec![(h(1), 1)]);
    assert!(matches!(s.histogram(999, t0), Err(Error::IncidentNotFound(999))));
    // Past the retention, the old hours go at the next ingest.
    let far = h(HISTOGRAM_RETENTION_HOURS + 3);
    s.ingest(&[at("boom", far)], far).unwrap();
    assert_eq!(pairs(&s.histogram(boom, t0).unwrap()), vec![(h(3), 1), (far, 1)]);
    // A retried batch adds nothing to the hours either.
    let batch = |id: &str| IngestBatch {
        events: vec![at("boom", far)],
        quota: None,
        batch_id: Some(id.to_string()),
        release: None,
        project: None,
    };
    s.ingest_with_quotas(&[batch("b1"), batch("b1")], far).unwrap();
    assert_eq!(pairs(&s.histogram(boom, far).unwrap()), vec![(far, 2)]);
}

/// Several writers adding to the same incident's hour at once lose no
/// occurrence.
fn concurrent_writers_add_to_one_hour(b: &Backend) {
    side_by_side(b, 4, |_, s| {
        for _ in 0..10 {
            s.ingest(&[ev("hot", None, 1_700_000_000_000)], T0).unwrap();
        }
    });
    let s = b.open();
    let id = s.incidents().unwrap()[0].id;
    let hours = s.histogram(id, Timestamp::from_millis(0)).unwrap();
    assert_eq!(hours.iter().map(|c| c.count).sum::<u64>(), 40, "{hours:?}");
    assert_eq!(hours.len(), 1);
}

/// The incident list's search: status and text filters (case-insensitive,
/// LIKE's wildcards literal), the page and the total, most recently seen
/// first.
fn search_filters_by_status_and_text_and_pages(b: &Backend) {
    let s = b.open();
    for (n, word) in ["alpha", "beta", "gamma", "delta", "omega"].iter().enumerate() {
        s.ingest(&[ev(&format!("disk full on {word}"), None, 1_000 + n as u64)], T0)
            .unwrap();
    }
    s.ingest(&[ev("100% of 50_ items", None, 2_000)], T0).unwrap();
    let all = s.incidents().unwrap();
    let id = |t: &str| all.iter().find(|r| r.title == t).unwrap().id;
    s.transition(id("disk full on alpha"), Status::Ignored, &tester())
        .unwrap();
    let page = s
        .search_incidents(&IncidentFilter {
            text: Some("  DISK ".into()),
            limit: 2,
            offset: 1,
            ..IncidentFilter::default()
        })
        .unwrap();
    assert_eq!(page.total, 5);
    assert_eq!(
        page.incidents.iter().map(|r| r.title.as_str()).collect::<Vec<_>>(),
        vec!["disk full on delta", "disk full on gamma"],
        "most recently seen first, after the first"
    );
    let ignored = s
        .search_incidents(&IncidentFilter {
            status: Some(Status::Ignored),
            limit: 10,
            ..IncidentFilter::default()
        })
        .unwrap();
    assert_eq!(
        ignored.incidents.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![id("disk full on alpha")]
    );
    let both = s
        .search_incidents(&IncidentFilter {
            status: Some(Status::Open),
            text: Some("a".into()),
            limit: 10,
            ..IncidentFilter::default()
        })
        .unwrap();
    assert_eq!(both.total, 5, "every open one: their kind, panic, has an a");
    for (text, n) in [
        ("100%", 1),
        ("50_", 1),
        ("%", 1),
        ("_", 1),
        ("\\", 0),
        ("panic", 6),
        ("FATAL", 6),
    ] {
        let found = s
            .search_incidents(&IncidentFilter {
                text: Some(text.into()),
                limit: 10,
                ..IncidentFilter::default()
            })
            .unwrap();
        assert_eq!(found.total, n, "{text}");
    }
    let everything = s
        .search_incidents(&IncidentFilter {
            limit: 100,
            ..IncidentFilter::default()
        })
        .unwrap();
    assert_eq!(
        everything.incidents,
        s.incidents().unwrap(),
        "no filter: the whole list in order"
    );
}

/// A project named `name` with token `token` (stored as its hash).
fn new_project(name: &str, token: &str) -> NewProject {
    NewProject {
        name: name.into(),
        token_hash: hash_token(token),
        repo: format!("/srv/{name}"),
        forge: None,
    }
}

/// A batch of `project` sent with `token` (its quota under the token's name).
fn project_batch(project: i64, token: &str, events: Vec<Event>) -> IngestBatch {
    IngestBatch {
        events,
        quota: Some(IncidentQuota {
            source: format!("token-{token}"),
            new_incidents_per_hour: 100,
        }),
        project: Some(project),
        ..IngestBatch::default()
    }
}

fn projects_are_added_once_and_found_by_their_token_hash(b: &Backend) {
    let s = b.open();
    let default = s.projects().unwrap();
    assert_eq!(default.len(), 1, "the default project is always there");
    assert_eq!(
        (default[0].id, default[0].name.as_str()),
        (DEFAULT_PROJECT_ID, DEFAULT_PROJECT_NAME)
    );
    let shop = s.add_project(&new_project("shop", "tok-shop"), T0).unwrap();
    let mut billing = new_project("billing", "tok-billing");
    billing.forge = Some("github:acme/billing".into());
    let billing = s.add_project(&billing, T0).unwrap();
    assert_ne!(shop.id, DEFAULT_PROJECT_ID);
    assert_eq!(shop.repo.as_deref(), Some("/srv/shop"));
    assert_eq!(billing.forge.as_deref(), Some("github:acme/billing"));
    let names: Vec<String> = s.projects().unwrap().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["default", "billing", "shop"], "the default first, then by name");
    // Found by the hash of its token, and only by it.
    let found = s.project_by_token_hash(&hash_token("tok-shop")).unwrap().unwrap();
    assert_eq!(found, shop);
    assert_eq!(
        s.project_by_token_hash(&hash_token("tok-billing")).unwrap().unwrap().id,
        billing.id
    );
    assert!(s.project_by_token_hash(&hash_token("tok-sho")).unwrap().is_none());
    assert!(
        s.project_by_token_hash("tok-shop").unwrap().is_none(),
        "the token itself is not stored"
    );
    // Another handle (process) sees them; names and tokens are unique.
    let other = b.open();
    assert_eq!(other.project_named("shop").unwrap(), shop);
    assert!(matches!(other.project_named("nope"), Err(Error::ProjectNotFound(n)) if n == "nope"));
    assert!(matches!(
        other.add_project(&new_project("shop", "another"), T0),
        Err(Error::ProjectExists(n)) if n == "shop"
    ));
    assert!(matches!(
        other.add_project(&new_project("shop2", "tok-shop"), T0),
        Err(Error::ProjectExists(_))
    ));
    assert!(matches!(
        other.add_project(&new_project("default", "x"), T0),
        Err(Error::ProjectExists(_))
    ));
    assert_eq!(s.projects().unwrap().len(), 3);
}

fn fingerprints_group_per_project_and_reads_are_scoped(b: &Backend) {
    let s = b.open();
    let shop = s.add_project(&new_project("shop", "tok-shop"), T0).unwrap();
    // The same bug in the default project (local ingest and its token) and in shop.
    s.ingest(&[ev("boom", Some("1.0"), 1)], T0).unwrap();
    let summaries = s
        .ingest_with_quotas(
            &[
                project_batch(DEFAULT_PROJECT_ID, "tok-default", vec![ev("boom", Some("1.0"), 2)]),
                project_batch(
                    shop.id,
                    "tok-shop",
                    vec![ev("boom", Some("1.0"), 3), ev("boom", None, 4)],
                ),
                project_batch(shop.id, "tok-shop", vec![ev("only in shop", None, 5)]),
            ],
            T0,
        )
        .unwrap();
    assert_eq!(summaries[0].new_incidents.len(), 0, "the default project's boom exists");
    assert_eq!(summaries[1].new_incidents.len(), 1, "shop's boom is its own incident");
    assert_eq!(summaries[2].new_incidents.len(), 1);
    let all = s.incidents().unwrap();
    assert_eq!(all.len(), 3);
    let booms: Vec<&IncidentRecord> = all.iter().filter(|r| r.title == "boom").collect();
    assert_eq!(booms.len(), 2);
    assert_eq!(booms[0].fingerprint, booms[1].fingerprint);
    let of = |p: i64| booms.iter().find(|r| r.project == p).unwrap();
    assert_eq!(of(DEFAULT_PROJECT_ID).count, 2);
    assert_eq!(of(shop.id).count, 2);
    // Both have a fix job of their own.
    assert_eq!(s.jobs().unwrap().len(), 3);
    // A page of one project holds only its incidents.
    let page = s.incidents_page(Some(shop.id), 10, None).unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|r| r.project == shop.id));
    let first = s.incidents_page(Some(shop.id), 1, None).unwrap();
    let rest = s
        .incidents_page(Some(shop.id), 10, Some(IncidentCursor::after(&first[0])))
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert!(rest[0].project == shop.id && rest[0].id != first[0].id);
    let default_page = s.incidents_page(Some(DEFAULT_PROJECT_ID), 10, None).unwrap();
    assert_eq!(default_page.len(), 1);
    assert_eq!(default_page[0].project, DEFAULT_PROJECT_ID);
    assert_eq!(s.incidents_page(None, 10, None).unwrap().len(), 3);
    // So does a search.
    let found = s
        .search_incidents(&IncidentFilter {
            project: Some(shop.id),
            text: Some("boom".into()),
            limit: 10,
            ..IncidentFilter::default()
        })
        .unwrap();
    assert_eq!(found.total, 1);
    assert_eq!(found.incidents[0].project, shop.id);
    // The incident's detail and a claimed job name the project.
    assert_eq!(s.incident_detail(of(shop.id).id).unwrap().incident.project, shop.id);
}

fn a_worker_claims_only_the_jobs_of_its_projects(b: &Backend) {
    let s = b.open();
    let shop = s.add_project(&new_project("shop", "tok-shop"), T0).unwrap();
    let billing = s.add_project(&new_project("billing", "tok-billing"), T0).unwrap();
    s.ingest_with_quotas(
        &[
            project_batch(shop.id, "tok-shop", vec![ev("shop bug", None, 1)]),
            project_batch(billing.id, "tok-billing", vec![ev("billing bug", None, 1); 5]),
        ],
        T0,
    )
    .unwrap();
    assert!(s.claim_project_job(Some(&[]), "w", LEASE, T0).unwrap().is_none());
    assert!(s
        .claim_project_job(Some(&[DEFAULT_PROJECT_ID]), "w", LEASE, T0)
        .unwrap()
        .is_none());
    // The more frequent billing bug would come first; shop's worker gets shop's.
    let job = s.claim_project_job(Some(&[shop.id]), "w", LEASE, T0).unwrap().unwrap();
    assert_eq!(
        (job.incident.project, job.incident.title.as_str()),
        (shop.id, "shop bug")
    );
    assert!(s.claim_project_job(Some(&[shop.id]), "w", LEASE, T0).unwrap().is_none());
    let job = s.claim_job("w", LEASE, T0).unwrap().unwrap();
    assert_eq!(job.incident.project, billing.id);
}

fn each_project_keeps_its_own_triggers(b: &Backend) {
    let s = b.open();
    let shop = s.add_project(&new_project("shop", "tok-shop"), T0).unwrap();
    // shop's policy wants 3 occurrences first; the default project's queues at once.
    s.set_project_triggers(
        shop.id,
        bugstack_fix::Triggers {
            min_count: 3,
            ..bugstack_fix::Triggers::default()
        },
    );
    let sums = s
        .ingest_with_quotas(
            &[
                project_batch(DEFAULT_PROJECT_ID, "tok-default", vec![ev("boom", None, 1)]),
                project_batch(shop.id, "tok-shop", vec![ev("boom", None, 1)]),
            ],
            T0,
        )
        .unwrap();
    assert_eq!((sums[0].jobs_enqueued, sums[1].jobs_enqueued), (1, 0));
    let sums = s
        .ingest_with_quotas(&[project_batch(shop.id, "tok-shop", vec![ev("boom", None, 2); 2])], T0)
        .unwrap();
    assert_eq!(
        sums[0].jobs_enqueued, 1,
        "shop's third occurrence reaches its min_count"
    );
}

#[test]
fn existing_incidents_join_the_default_project_on_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        // A store as the previous release left it (schema 10), with an incident.
        let conn = Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..10] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 10).unwrap();
        conn.execute(
            "INSERT INTO incidents (id, fingerprint, title, kind, level, status, count, first_seen, last_seen,
                 representative, created_at, updated_at)
             VALUES (7, ?1, 'boom', 'panic', 'fatal', 'open', 4, 1, 2, ?2, 1, 2)",
            rusqlite::params![
                ev("boom", None, 1).fingerprint_or_compute().as_str(),
                serde_json::to_string(&ev("boom", None, 1)).unwrap()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO fix_jobs (incident_id, state, max_attempts, not_before, created_at, updated_at)
             VALUES (7, 'queued', 3, 0, 1, 1)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO releases (name, first_live_at, last_live_at) VALUES ('1.0', 5, 6)",
            [],
        )
        .unwrap();
    }
    let s = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), schema::latest_version());
    let old = s.incident(7).unwrap();
    assert_eq!((old.project, old.count), (DEFAULT_PROJECT_ID, 4));
    // Its fingerprint still groups in the default project, and the job is still there.
    let sum = s.ingest(&[ev("boom", None, 3)], T0).unwrap();
    assert!(sum.new_incidents.is_empty());
    assert_eq!(s.incident(7).unwrap().count, 5);
    assert_eq!(s.jobs().unwrap()[0].incident_id, 7);
    assert_eq!(
        s.release("1.0").unwrap().unwrap().last_live_at,
        Timestamp::from_millis(6)
    );
    let shop = s.add_project(&new_project("shop", "t"), T0).unwrap();
    assert_eq!(shop.id, 2);
}

fn releases_announced_live_are_a_projects_own(b: &Backend) {
    let s = b.open();
    let shop = s.add_project(&new_project("shop", "tok-shop"), T0).unwrap();
    let announce = |project: i64, deps: &'static str| {
        let mut batch = project_batch(project, "t", vec![]);
        let mut announcement = bugstack_core::ReleaseAnnouncement::new("1.0", T0);
        announcement.dependencies = Some(vec![bugstack_core::Dependency::new(deps, "1.0.0")]);
        batch.release = Some(announcement);
        batch
    };
    s.ingest_with_quotas(&[announce(DEFAULT_PROJECT_ID, "serde"), announce(shop.id, "tokio")], T0)
        .unwrap();
    // Two releases named 1.0, one per project; the default project's is `release`'s.
    assert_eq!(s.releases().unwrap().len(), 2);
    let default = s.release("1.0").unwrap().unwrap();
    assert_eq!(default.dependencies.unwrap()[0].name, "serde");
}

on_both_stores!(
    ingest_groups_by_fingerprint_and_counts_occurrences,
    a_sent_fingerprint_is_used_as_is,
    samples_are_bounded_to_the_most_recent,
    many_occurrences_of_one_bug_enqueue_exactly_one_job,
    illegal_transitions_are_errors,
    concurrent_claims_from_two_connections_get_the_job_once,
    many_workers_claim_every_job_exactly_once,
    an_expired_lease_is_reclaimed_and_the_old_owner_cannot_finish,
    a_crash_looping_job_fails_after_its_attempts,
    failed_attempts_are_retried_after_a_delay_then_fail,
    merge_fixes_and_a_release_with_the_fix_regresses,
    the_fixing_release_itself_regresses_and_a_merged_outcome_is_fixed_at_once,
    closing_a_pr_reopens_and_no_fix_reopens,
    hostile_counts_and_text_are_stored_safely,
    a_released_job_is_claimable_at_once_without_losing_an_attempt,
    ingest_batches_is_one_transaction_with_per_batch_summaries,
    an_incident_job_is_claimed_by_id_once_and_recreated_when_needed,
    queued_fix_jobs_are_capped_and_the_most_frequent_are_served_first,
    the_new_incident_quota_slides_over_an_hour,
    releases_are_upserted_as_announced,
    a_claimed_job_carries_the_crates_on_its_stack,
    triggers_decide_which_incidents_get_a_job_and_min_count_queues_it_later,
    a_release_containing_the_fix_regresses_and_a_silent_live_one_verifies,
    a_new_fix_forgets_the_releases_of_the_old_one,
    retry_queues_a_job_now_and_is_refused_when_it_cannot_run,
    a_retried_batch_is_counted_once,
    copies_of_a_batch_at_several_collectors_count_once,
    the_store_keeps_the_local_forge_contract,
    a_forge_pull_request_is_linked_by_the_run_and_its_merge_fixes_the_incident,
    a_closed_forge_pull_request_reopens_and_unknown_numbers_are_refused,
    forge_changes_move_incidents_and_reject_patches,
    closing_by_hand_rejects_the_patch_too,
    hourly_counts_are_kept_per_incident_and_old_hours_dropped,
    concurrent_writers_add_to_one_hour,
    search_filters_by_status_and_text_and_pages,
    projects_are_added_once_and_found_by_their_token_hash,
    fingerprints_group_per_project_and_reads_are_scoped,
    a_worker_claims_only_the_jobs_of_its_projects,
    each_project_keeps_its_own_triggers,
    releases_announced_live_are_a_projects_own,
);
