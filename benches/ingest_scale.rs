//! Collector ingest scaling: events per second with SQLite and with
//! Postgres, one collector against three, as ratios from one run.
//!
//! A "collector" here is what `serve` does per batch minus HTTP: inflate
//! and parse a gzip'd batch (`decode_batch`), then store it with its
//! sender's quota and `batch_id` (`ingest_with_quotas`: exactly-once key,
//! grouping, counts, samples, hourly counts, in one transaction). Each
//! collector is a thread with its own store handle (its own SQLite
//! connections, or its own Postgres pool), as each `serve` process has. One
//! iteration: every collector stores one 500-event batch at the same time;
//! the time is the wall time until the last one has committed.
//!
//! - `sqlite/1`: the one-machine shape.
//! - `sqlite/3`: three writers on one SQLite file (not a supported shape:
//!   SQLite has one writer at a time; shown for the ratio).
//! - `postgres/1`, `postgres/3`: one and three collectors on one database,
//!   all sending the same 10 fingerprints (a bug storm every collector sees:
//!   the incidents' rows are contended).
//! - `postgres/3_disjoint`: three collectors, each its own 10 fingerprints
//!   (no shared rows): how far Postgres scales when the load does not meet.
//!
//! Postgres: `BUGSTACK_TEST_POSTGRES_URL` names a server (a role that may
//! create databases), else a throwaway cluster is started as in the tests
//! (`fsync=off`, `synchronous_commit=off`: not durable, so faster than a
//! production server). The summary prints the server's `fsync` and
//! `synchronous_commit`; docs/performance.md has the numbers with both.
//!
//! Run: `cargo bench -p bugstack --features test-support --bench ingest_scale -- --warm-up-time 1 --measurement-time 3`

// criterion_main!-less harness: undocumented items are the bench's own.
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bugstack::core::{decode_batch, encode_batch, ContentEncoding, DecodeLimits, Timestamp};
use bugstack::store::postgres::testing;
use bugstack::store::{IncidentQuota, IncidentStore, IngestBatch, SqliteStore};
use criterion::{Criterion, Throughput};

#[path = "support/batch.rs"]
mod batch;
use batch::realistic_batch;

/// Events per batch.
const N: usize = 500;

/// A realistic encoded batch of `n` events of the service `prefix`.
fn batch(n: usize, prefix: &str) -> Vec<u8> {
    encode_batch(&realistic_batch(n, prefix)).expect("encode")
}

/// Unique batch ids for the whole run.
static BATCH_IDS: AtomicU64 = AtomicU64::new(0);

/// One collector's work on one batch: decode, then store with a quota and
/// a fresh batch id, as `serve` does.
fn collect(store: &dyn IncidentStore, body: &[u8]) {
    let decoded = decode_batch(body, ContentEncoding::Gzip, &DecodeLimits::default()).expect("decode");
    let id = BATCH_IDS.fetch_add(1, Ordering::Relaxed);
    let batch = IngestBatch {
        events: decoded.events,
        quota: Some(IncidentQuota {
            source: "bench-token".into(),
            new_incidents_per_hour: 1000,
        }),
        release: None,
        batch_id: Some(format!("bench-{id}")),
        project: None,
    };
    store.ingest_with_quotas(&[batch], Timestamp::now()).expect("ingest");
}

/// Wall time of `iters` rounds in which every collector stores its body
/// once, all at the same time.
fn rounds(stores: &[Arc<dyn IncidentStore>], bodies: &[Vec<u8>], iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(stores.len() + 1));
    let t = std::thread::scope(|scope| {
        for (store, body) in stores.iter().zip(bodies) {
            let start = start.clone();
            scope.spawn(move || {
                start.wait();
                for _ in 0..iters {
                    collect(store.as_ref(), body);
                }
            });
        }
        start.wait();
        Instant::now()
    });
    t.elapsed()
}

fn output_dir() -> PathBuf {
    // target/<profile>/deps/ingest_scale-<hash> → target/criterion
    std::env::current_exe()
        .ok()
        .and_then(|p| p.ancestors().nth(3).map(|t| t.join("criterion")))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

fn median_ns(dir: &Path, group: &str, bench: &str) -> Option<f64> {
    let path = dir.join(group).join(bench).join("new").join("estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn bench(c: &mut Criterion, name: &str, stores: &[Arc<dyn IncidentStore>], bodies: &[Vec<u8>]) {
    let mut group = c.benchmark_group("ingest_scale");
    group.throughput(Throughput::Elements((N * stores.len()) as u64));
    group.sample_size(10);
    group.bench_function(name, |b| b.iter_custom(|iters| rounds(stores, bodies, iters)));
    group.finish();
}

fn main() {
    let dir = output_dir();
    let mut c = Criterion::default().output_directory(&dir).configure_from_args();
    let shared = batch(N, "shop");
    let disjoint: Vec<Vec<u8>> = (0..3).map(|k| batch(N, &format!("service{k}"))).collect();

    let sqlite_dir = tempfile::tempdir().expect("tempdir");
    let sqlite =
        |_: usize| -> Arc<dyn IncidentStore> { Arc::new(SqliteStore::open(sqlite_dir.path()).expect("open SQLite")) };
    let one: Vec<_> = (0..1).map(sqlite).collect();
    bench(&mut c, "sqlite_1", &one, std::slice::from_ref(&shared));
    let three: Vec<_> = (0..3).map(sqlite).collect();
    bench(&mut c, "sqlite_3", &three, &vec![shared.clone(); 3]);

    let Some(cluster) = testing::cluster("ingest_scale") else {
        eprintln!("ingest_scale: no Postgres: only SQLite measured");
        return;
    };
    let db = cluster.fresh_database();
    let settings = {
        let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).expect("connect");
        let show = |admin: &mut postgres::Client, what: &str| -> String {
            admin
                .query_one(&format!("SHOW {what}"), &[])
                .and_then(|r| r.try_get::<_, String>(0))
                .unwrap_or_else(|e| format!("? ({e})"))
        };
        let version = show(&mut admin, "server_version");
        format!(
            "Postgres {version}, fsync={}, synchronous_commit={}",
            show(&mut admin, "fsync"),
            show(&mut admin, "synchronous_commit")
        )
    };
    // Each collector's pool, as `serve` opens it (default size).
    let pg = |_: usize| -> Arc<dyn IncidentStore> {
        Arc::new(bugstack::store::PostgresStore::connect(&db.url).expect("connect Postgres"))
    };
    let one: Vec<_> = (0..1).map(pg).collect();
    bench(&mut c, "postgres_1", &one, std::slice::from_ref(&shared));
    let three: Vec<_> = (0..3).map(pg).collect();
    bench(&mut c, "postgres_3", &three, &vec![shared.clone(); 3]);
    bench(&mut c, "postgres_3_disjoint", &three, &disjoint);
    c.final_summary();

    let rate = |bench: &str, collectors: usize| {
        median_ns(&dir, "ingest_scale", bench).map(|ns| (N * collectors) as f64 / (ns / 1e9))
    };
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "n/a".into(),
    };
    let show = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:>9.0} events/s"));
    let (s1, s3) = (rate("sqlite_1", 1), rate("sqlite_3", 3));
    let (p1, p3, pd) = (
        rate("postgres_1", 1),
        rate("postgres_3", 3),
        rate("postgres_3_disjoint", 3),
    );
    println!("\n== collector ingest, decode + store, {N}-event batches (criterion medians) ==");
    println!("server: {settings}");
    println!("sqlite    1 collector                 {}", show(s1));
    println!(
        "sqlite    3 writers, one file         {}  3 vs 1: {}",
        show(s3),
        ratio(s3, s1)
    );
    println!(
        "postgres  1 collector                 {}  vs sqlite 1: {}",
        show(p1),
        ratio(p1, s1)
    );
    println!(
        "postgres  3 collectors, shared groups {}  3 vs 1: {}",
        show(p3),
        ratio(p3, p1)
    );
    println!(
        "postgres  3 collectors, own groups    {}  3 vs 1: {}",
        show(pd),
        ratio(pd, p1)
    );
}
