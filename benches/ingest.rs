//! Collector ingest throughput, in events per second on one core.
//!
//! `decode+store` is the collector's whole per-batch path minus HTTP: inflate
//! and parse a gzip'd batch (`decode_batch`), then group it by fingerprint and
//! commit it to SQLite in one transaction (WAL, `synchronous=FULL`: one fsync
//! per batch). The two halves are also measured alone. Each iteration is one
//! batch on one thread, so the throughput criterion prints is per core.
//! `collector_commit` shows the fixed cost of a commit (one fsync) and how
//! group commit amortizes it over concurrent batches.
//!
//! Run: `cargo bench -p bugstack --bench ingest -- --warm-up-time 1 --measurement-time 2`

// criterion_group!/criterion_main! generate undocumented items.
#![allow(missing_docs)]

use bugstack::core::{decode_batch, encode_batch, Batch, ContentEncoding, DecodeLimits, Timestamp};
use bugstack::store::{IncidentStore, SqliteStore};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

#[path = "support/batch.rs"]
mod batch;
use batch::realistic_batch;

/// A realistic batch of `n` events of the service `shop`.
fn batch(n: usize) -> Batch {
    realistic_batch(n, "shop")
}

fn bench_ingest(c: &mut Criterion) {
    const N: usize = 500;
    let body = encode_batch(&batch(N)).expect("encode");
    let limits = DecodeLimits::default();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    let mut group = c.benchmark_group("collector_ingest");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    group.bench_function("decode", |b| {
        b.iter(|| decode_batch(&body, ContentEncoding::Gzip, &limits).expect("decode"))
    });
    group.bench_function("store", |b| {
        b.iter_batched(
            || {
                decode_batch(&body, ContentEncoding::Gzip, &limits)
                    .expect("decode")
                    .events
            },
            |events| store.ingest(&events, Timestamp::now()).expect("ingest"),
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decode+store", |b| {
        b.iter(|| {
            let batch = decode_batch(&body, ContentEncoding::Gzip, &limits).expect("decode");
            store.ingest(&batch.events, Timestamp::now()).expect("ingest")
        })
    });
    group.finish();

    // The fixed cost of one commit (dominated by the WAL fsync of
    // synchronous=FULL): a batch of one event.
    let one = decode_batch(
        &encode_batch(&batch(1)).expect("encode"),
        ContentEncoding::Gzip,
        &limits,
    )
    .expect("decode")
    .events;
    let mut group = c.benchmark_group("collector_commit");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.bench_function("one_event_batch", |b| {
        b.iter(|| store.ingest(&one, Timestamp::now()).expect("ingest"))
    });

    // Group commit (what the collector's committer does under concurrent
    // load): 16 one-event batches in one transaction.
    let sixteen: Vec<_> = (0..16).map(|_| one.clone()).collect();
    group.throughput(Throughput::Elements(16));
    group.bench_function("sixteen_one_event_batches_grouped", |b| {
        b.iter(|| store.ingest_batches(&sixteen, Timestamp::now()).expect("ingest"))
    });
    group.finish();
}

criterion_group!(benches, bench_ingest);
criterion_main!(benches);
