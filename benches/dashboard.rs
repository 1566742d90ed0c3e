//! The dashboard's pages with 10,000 incidents in the store: the incidents
//! list (first page, a search, a status filter, a deep page) and one
//! incident's page, each the store's reads plus the rendering (everything a
//! request does but HTTP). The target is under 100 ms a page.
//!
//! Run: `cargo bench -p bugstack --bench dashboard -- --warm-up-time 1 --measurement-time 3`

// criterion_group!/criterion_main! generate undocumented items.
#![allow(missing_docs)]

use std::time::Duration;

use bugstack::core::{Event, Level, Timestamp};
use bugstack::dashboard::{render_incident_page, render_incidents_page, PAGE_SIZE};
use bugstack::store::{IncidentFilter, IncidentStore, SqliteStore, Status};
use criterion::{criterion_group, criterion_main, Criterion};

#[path = "support/batch.rs"]
#[allow(dead_code)] // `realistic_batch` is the ingest benches'
mod batch;
use batch::realistic_event;

/// Incidents in the store.
const INCIDENTS: usize = 10_000;

/// An event of incident `i`, at `at`: [`realistic_event`]'s frames and
/// request, its own fingerprint, one of 7 releases.
fn event(i: usize, at: Timestamp) -> Event {
    let level = if i % 3 == 0 { Level::Error } else { Level::Fatal };
    let message = format!("called `Option::unwrap()` on a `None` value in handler {i}");
    let mut e = realistic_event(level, message, i, "shop", at);
    e.fingerprint_parts = vec![format!("bench-{i}")];
    e.release = Some(format!("1.{}.0", i % 7));
    e
}

/// A store with [`INCIDENTS`] incidents, each seen in three different hours
/// of the last two weeks; some ignored.
fn store(dir: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(dir).expect("open store");
    let now = Timestamp::now();
    for hours_ago in [300u64, 30, 1] {
        let at = Timestamp::from_millis(now.as_millis() - hours_ago * 3_600_000);
        for chunk in (0..INCIDENTS).collect::<Vec<_>>().chunks(1000) {
            let events: Vec<Event> = chunk.iter().map(|&i| event(i, at)).collect();
            store.ingest(&events, now).expect("ingest");
        }
    }
    let cause = bugstack::store::Cause::new("bench", "bench");
    for id in (1..=i64::try_from(INCIDENTS).unwrap_or(i64::MAX)).step_by(10) {
        store.transition(id, Status::Ignored, &cause).expect("ignore");
    }
    store
}

fn bench_pages(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    assert_eq!(store.totals().expect("totals").incidents, INCIDENTS as u64);
    let now = Timestamp::now();
    let mut group = c.benchmark_group("dashboard_10k_incidents");
    let filter = |status: Option<Status>, text: Option<&str>, page: usize| IncidentFilter {
        project: None,
        status,
        text: text.map(str::to_string),
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    for (name, f) in [
        ("list_first_page", filter(None, None, 0)),
        ("list_search", filter(None, Some("handler 99"), 0)),
        ("list_status_ignored", filter(Some(Status::Ignored), None, 0)),
        ("list_page_150", filter(None, None, 150)),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| render_incidents_page(&store, &f, now).expect("render"));
        });
    }
    group.bench_function("incident_page", |b| {
        b.iter(|| render_incident_page(&store, 5000, now).expect("render"));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench_pages
}
criterion_main!(benches);
