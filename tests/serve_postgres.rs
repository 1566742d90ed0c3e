//! `bugstack serve --store postgres://…`: several collectors and fix
//! workers on one Postgres database, one of them `kill -9`ed mid-load.
//! Every acknowledged occurrence is counted once (a batch retried at another
//! collector too), every incident gets one job, and each job runs to
//! completion exactly once across the workers.
//!
//! At the size (`three_collectors_two_workers_eight_sdk_clients_…`):
//! three collectors and two `bugstack worker`s on one database, eight SDK
//! client processes capturing 10,000 occurrences each through one address
//! (a round-robin TCP balancer in the test, as a load balancer would be),
//! one collector `kill -9`ed mid-load and restarted: the SDKs retry a batch
//! whose answer was lost at another collector with the same `batch_id`, the
//! store holds exactly the occurrences each SDK says were acknowledged; one
//! worker is `kill -9`ed in the middle of a job and restarted, that job is
//! taken over once its lease expires, and each incident's fix job runs to
//! completion exactly once.
//!
//! Needs Postgres (a throwaway cluster, see
//! `bugstack::store::postgres::testing`): skipped with a `SKIPPED` line
//! without it, failed under `CI`. Uses the `serve --test-job-runner` test
//! double (feature `test-support`), which records "no fix".

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bugstack::sdk::Options;
use bugstack::store::postgres::testing;
use bugstack::store::{IncidentStore, JobState};
use common::*;

const GROUPS: usize = 6;

fn serve_on(url: &str, data: &std::path::Path) -> Server {
    Server::start_with_token(
        data,
        &[
            "--store",
            url,
            "--test-job-runner",
            "sleep-ms=100",
            "--job-lease-secs",
            "2",
            "--jobs",
            "2",
        ],
    )
}

fn batch(round: usize) -> Vec<u8> {
    gz_batch(
        (0..GROUPS)
            .map(|g| event(&format!("pg-group-{}", (g + round) % GROUPS), Some("1.0")))
            .collect(),
    )
}

#[test]
fn collectors_and_workers_share_one_postgres_and_count_and_fix_exactly_once() {
    let Some(db) = testing::fresh_database("collectors_and_workers_share_one_postgres") else {
        return;
    };
    let dirs: Vec<_> = (0..3).map(|_| tempdir()).collect();
    // Started at once: their migrations take turns (advisory lock).
    let servers: Vec<Server> = std::thread::scope(|scope| {
        let handles: Vec<_> = dirs
            .iter()
            .map(|d| {
                let url = db.url.clone();
                scope.spawn(move || serve_on(&url, &data_path(d)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(servers[0].stdout_text().contains("bugstack: store Postgres database"));
    let client = client();
    let mut accepted = 0u64;
    let mut servers = servers.into_iter().map(Some).collect::<Vec<_>>();
    for round in 0..30 {
        if round == 10 {
            // One collector dies mid-load; the others keep taking events and
            // its leased jobs are taken over when the lease runs out.
            if let Some(s) = servers[0].take() {
                s.kill9();
            }
        }
        let live: Vec<&Server> = servers.iter().flatten().collect();
        let server = live[round % live.len()];
        let r = post(&client, server, batch(round));
        assert_eq!(r.status().as_u16(), 202, "{}", r.text().unwrap_or_default());
        accepted += GROUPS as u64;
    }
    // One batch retried at another collector (its 202 was lost): counted once.
    let mut retried = bugstack::core::Batch::new(
        bugstack::core::Timestamp::now(),
        vec![event("pg-group-0", Some("1.0")), event("pg-group-1", None)],
    );
    retried.batch_id = Some("retried-batch".into());
    let body = bugstack::core::encode_batch(&retried).unwrap();
    let live: Vec<&Server> = servers.iter().flatten().collect();
    let first: serde_json::Value = post(&client, live[0], body.clone()).json().unwrap();
    let again: serde_json::Value = post(&client, live[1], body).json().unwrap();
    assert_eq!(
        (first["duplicate"].as_bool(), again["duplicate"].as_bool()),
        (Some(false), Some(true))
    );
    accepted += 2;
    let store = db.store();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let jobs = store.jobs().unwrap();
        if jobs.len() == GROUPS && jobs.iter().all(|j| j.state == JobState::Done) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for every fix job to finish: {jobs:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let totals = store.totals().unwrap();
    assert_eq!(
        (totals.occurrences, totals.incidents),
        (accepted, GROUPS as u64),
        "every acknowledged occurrence counted once"
    );
    for incident in store.incidents().unwrap() {
        let runs = store.runs(incident.id).unwrap();
        assert_eq!(runs.len(), 1, "one completed run per incident: {runs:?}");
        assert_eq!(runs[0].outcome, "no-fix");
    }
    // A would-be duplicate run has time to show up; none does.
    std::thread::sleep(Duration::from_secs(2));
    let runs: usize = store
        .incidents()
        .unwrap()
        .iter()
        .map(|i| store.runs(i.id).unwrap().len())
        .sum();
    assert_eq!(runs, GROUPS);
    // The read commands take the same --store.
    let out = bugstack(&["incidents", "--json", "--store", &db.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), GROUPS);
}

#[test]
fn read_commands_never_make_an_empty_database_a_store() {
    let Some(cluster) = testing::cluster("read_commands_never_make_an_empty_database_a_store") else {
        return;
    };
    let mut admin = postgres::Client::connect(&format!("{}/postgres", cluster.base_url()), postgres::NoTls).unwrap();
    admin.batch_execute("CREATE DATABASE empty_for_reads").unwrap();
    let url = format!("{}/empty_for_reads", cluster.base_url());
    let out = bugstack(&["incidents", "--store", &url]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no bugstack store in the Postgres database empty_for_reads"),
        "{err}"
    );
}

#[test]
fn a_store_that_is_not_a_postgres_url_is_refused() {
    let dir = tempdir();
    let out = bugstack(&[
        "serve",
        "--data",
        data_path(&dir).to_str().unwrap(),
        "--store",
        "mysql://db/bugstack",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("takes a Postgres URL"), "{err}");
}

// ---------------------------------------------------------------------------
// At the size: 3 collectors, 2 workers, 8 SDK clients x 10,000.

const SDK_CLIENTS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
const SDK_KINDS: [&str; 4] = ["red", "green", "blue", "amber"];
const PER_CLIENT: u64 = 10_000;
/// Selects the SDK client role when the test binary runs itself (read only
/// here, never by the product).
const ROLE: &str = "BUGSTACK_TEST_PG_SDK_CLIENT";
const SCALE_TEST: &str =
    "three_collectors_two_workers_eight_sdk_clients_one_collector_killed_count_and_fix_exactly_once";

/// What an SDK client captures: an error (a kind the default `[triggers]`
/// queue a fix job for; a message would only be counted).
#[derive(Debug)]
struct ClientError(String);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientError {}

/// One SDK client process: 10,000 captured errors from 4 threads over a few
/// seconds (so batches keep flowing while a collector dies), a short
/// aggregation window (many small batches), then a flush and its counters.
fn run_sdk_client(name: &str) {
    let guard = bugstack::sdk::init(
        Options::default()
            .no_spool()
            .release("1.0.0")
            .queue_capacity(PER_CLIENT as usize)
            .aggregation_window(Duration::from_millis(50))
            .request_timeout(Duration::from_secs(10)),
    );
    capture_from_four_threads(name, PER_CLIENT as usize, &SDK_KINDS, |name, kind| {
        bugstack::sdk::capture_error(&ClientError(format!("sdk client {name} failed: {kind}")));
        std::thread::sleep(Duration::from_millis(3));
    });
    flush_and_print_sdk_stats(name, Duration::from_secs(90));
    drop(guard);
}

/// A round-robin TCP balancer in front of the collectors: each client
/// connection goes to the next collector that accepts one; when that
/// collector dies, the client's connection is closed (its request fails and
/// the SDK sends it again, to the next collector).
struct Balancer {
    addr: String,
    backends: Arc<Mutex<Vec<String>>>,
}

impl Balancer {
    fn start(backends: Vec<String>) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let backends = Arc::new(Mutex::new(backends));
        let pool = backends.clone();
        std::thread::spawn(move || {
            let next = AtomicUsize::new(0);
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let candidates = pool.lock().unwrap().clone();
                let start = next.fetch_add(1, Ordering::Relaxed);
                let backend = (0..candidates.len())
                    .find_map(|i| TcpStream::connect(&candidates[(start + i) % candidates.len()]).ok());
                match backend {
                    Some(backend) => pipe(client, backend),
                    None => drop(client),
                }
            }
        });
        Balancer { addr, backends }
    }

    fn set_backends(&self, backends: Vec<String>) {
        *self.backends.lock().unwrap() = backends;
    }
}

/// Copies bytes both ways until either side ends, then closes both.
fn pipe(a: TcpStream, b: TcpStream) {
    let (a2, b2) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    std::thread::spawn(move || copy_then_close(a, b));
    std::thread::spawn(move || copy_then_close(b2, a2));
}

fn copy_then_close(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// The SDK client processes, killed if the test fails before it has
/// collected them.
struct ClientProcesses(Vec<Option<std::process::Child>>);

impl Drop for ClientProcesses {
    fn drop(&mut self) {
        for child in self.0.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn collector(url: &str, data: &std::path::Path) -> Server {
    Server::start_with_token(data, &["--store", url])
}

fn pg_worker(url: &str, data: &std::path::Path) -> Worker {
    Worker::start(
        data,
        &[
            "--store",
            url,
            "--test-job-runner",
            "sleep-ms=600",
            "--job-lease-secs",
            "3",
            "--jobs",
            "1",
            "--poll-ms",
            "100",
        ],
    )
}

#[test]
fn three_collectors_two_workers_eight_sdk_clients_one_collector_killed_count_and_fix_exactly_once() {
    if let Ok(name) = std::env::var(ROLE) {
        run_sdk_client(&name);
        return;
    }
    let Some(db) = testing::fresh_database(SCALE_TEST) else {
        return;
    };
    let began = Instant::now();
    let dirs: Vec<_> = (0..6).map(|_| tempdir()).collect();
    let mut collectors: Vec<Server> = dirs[..3].iter().map(|d| collector(&db.url, &data_path(d))).collect();
    let mut workers: Vec<Worker> = dirs[3..5].iter().map(|d| pg_worker(&db.url, &data_path(d))).collect();
    let balancer = Balancer::start(collectors.iter().map(|c| c.addr.clone()).collect());

    let mut clients = ClientProcesses(
        SDK_CLIENTS
            .iter()
            .map(|name| Some(spawn_sdk_client(SCALE_TEST, ROLE, name, &balancer.addr)))
            .collect(),
    );

    // Early on, a worker dies just after it has started a job (600 ms of work,
    // one at a time): that job stays leased to the dead worker until the
    // lease (3 s) expires, then a live worker runs it as attempt 2.
    let first_log = data_path(&dirs[3]);
    let started = |log: &[String]| log.iter().filter(|l| l.starts_with("start ")).count();
    let before = started(&runner_log(&first_log));
    wait_until(Duration::from_secs(60), "the first worker to start another job", || {
        started(&runner_log(&first_log)) > before
    });
    workers.remove(0).kill9();
    let dead_log = runner_log(&first_log);
    let in_hand = dead_log
        .iter()
        .rev()
        .find(|l| l.starts_with("start "))
        .map(|l| kv(l, "job"))
        .unwrap();
    assert!(
        !dead_log
            .iter()
            .any(|l| l.starts_with("finish ") && kv(l, "job") == in_hand),
        "killed mid-job: {dead_log:?}"
    );
    workers.insert(0, pg_worker(&db.url, &first_log));

    // Mid-load: once a quarter of the occurrences are stored, one collector
    // dies (whatever it was receiving or committing) and is restarted.
    let store = db.store();
    let quarter = PER_CLIENT * SDK_CLIENTS.len() as u64 / 4;
    wait_until(Duration::from_secs(90), "a quarter of the load to be stored", || {
        store.totals().unwrap().occurrences >= quarter
    });
    let killed = collectors.remove(0);
    let at_kill = store.totals().unwrap().occurrences;
    killed.kill9();
    let restarted = collector(&db.url, &data_path(&dirs[5]));
    collectors.push(restarted);
    balancer.set_backends(collectors.iter().map(|c| c.addr.clone()).collect());

    let outputs: Vec<_> = clients
        .0
        .iter_mut()
        .filter_map(Option::take)
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let mut sent: BTreeMap<&str, u64> = BTreeMap::new();
    let mut failed_requests = 0;
    for (name, out) in SDK_CLIENTS.iter().zip(&outputs) {
        let line = &sdk_stats(name, out);
        assert_eq!(kv(line, "captured"), PER_CLIENT, "{line}");
        assert_eq!(
            (kv(line, "spooled"), kv(line, "rejected"), kv(line, "dropped")),
            (0, 0, 0),
            "{line}"
        );
        assert_eq!(
            kv(line, "sent"),
            PER_CLIENT,
            "every occurrence acknowledged in the end: {line}"
        );
        failed_requests += kv(line, "failed_requests");
        sent.insert(name, kv(line, "sent"));
    }

    // Every acknowledged occurrence is counted exactly once, in its
    // client's incidents.
    let mut stored: BTreeMap<&str, u64> = BTreeMap::new();
    let incidents = store.incidents().unwrap();
    for i in &incidents {
        let name = SDK_CLIENTS
            .iter()
            .find(|n| i.title.starts_with(&format!("sdk client {n} failed")))
            .unwrap_or_else(|| panic!("unexpected incident {}", i.title));
        *stored.entry(name).or_default() += i.count;
        assert_eq!(i.releases, vec!["1.0.0".to_string()]);
    }
    assert_eq!(stored, sent, "stored occurrences per client == acknowledged to it");
    assert_eq!(incidents.len(), SDK_CLIENTS.len() * SDK_KINDS.len());
    assert_eq!(
        store.totals().unwrap().occurrences,
        PER_CLIENT * SDK_CLIENTS.len() as u64
    );

    // Every incident's fix job runs exactly once, across the two workers.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let jobs = store.jobs().unwrap();
        if jobs.len() == incidents.len() && jobs.iter().all(|j| j.state == JobState::Done) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for every incident's fix job to finish: {jobs:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let mut finished_jobs = Vec::new();
    let mut per_worker = Vec::new();
    for d in &dirs[3..5] {
        let finished: Vec<u64> = runner_log(&data_path(d))
            .iter()
            .filter(|l| l.starts_with("finish "))
            .map(|l| kv(l, "job"))
            .collect();
        per_worker.push(finished.len());
        finished_jobs.extend(finished);
    }
    finished_jobs.sort_unstable();
    let total = finished_jobs.len();
    finished_jobs.dedup();
    assert_eq!(
        (total, finished_jobs.len()),
        (incidents.len(), incidents.len()),
        "each job finished once, by one worker: {per_worker:?}"
    );
    assert!(
        per_worker.iter().all(|&n| n > 0),
        "both workers ran jobs: {per_worker:?}"
    );
    let logs: Vec<String> = dirs[3..5].iter().flat_map(|d| runner_log(&data_path(d))).collect();
    let taken_over: Vec<&String> = logs
        .iter()
        .filter(|l| l.starts_with("finish ") && kv(l, "job") == in_hand)
        .collect();
    assert_eq!(taken_over.len(), 1, "{logs:?}");
    assert_eq!(
        kv(taken_over[0], "attempt"),
        2,
        "the dead worker's job, taken over: {logs:?}"
    );
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("start ")).count(),
        incidents.len() + 1,
        "every job started once, the dead worker's twice: {logs:?}"
    );
    for i in &incidents {
        let runs = store.runs(i.id).unwrap();
        assert_eq!(runs.len(), 1, "one run for incident {}: {runs:?}", i.id);
        assert_eq!(runs[0].outcome, "no-fix");
    }
    for w in &workers {
        assert!(
            w.stdout_text().contains("bugstack: store Postgres database"),
            "{}",
            w.stdout_text()
        );
    }
    println!(
        "scale: {} occurrences from {} SDK clients through 3 collectors (one kill -9ed at {at_kill}, restarted), \
         {} fix jobs on 2 workers {per_worker:?} (one kill -9ed in job {in_hand}, restarted), \
         {failed_requests} failed requests retried, {:.1}s",
        PER_CLIENT * SDK_CLIENTS.len() as u64,
        SDK_CLIENTS.len(),
        incidents.len(),
        began.elapsed().as_secs_f64()
    );
    drop(workers);
    drop(collectors);
}
