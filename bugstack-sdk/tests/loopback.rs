//! 4 threads × (500 panics + 500 chained errors) reach a real loopback
//! collector as a handful of gzip'd, authenticated batches whose counts add up.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use bugstack_core::EventKind;
use common::errors::{DbError, SaveError};
use common::Collector;

static PREVIOUS_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[inline(never)]
fn find_order(id: u32) -> u32 {
    if id > 0 {
        panic!("order {id} not found");
    }
    id
}

#[inline(never)]
fn save_order() -> Result<(), SaveError> {
    Err(SaveError(DbError))
}

#[test]
fn panics_and_errors_from_four_threads_arrive_aggregated_and_authenticated() {
    // A hook installed before init: it must keep running (it also keeps the
    // 2,000 panic messages off stderr).
    std::panic::set_hook(Box::new(|info| {
        if info.location().is_some_and(|l| l.line() < 45) {
            PREVIOUS_HOOK_CALLS.fetch_add(1, SeqCst);
        } else {
            eprintln!("{info}");
        }
    }));
    let collector = Collector::start("tok-loopback-123");
    let guard = bugstack_sdk::init(
        collector
            .options()
            .release("loopback@1.2.3")
            .dependencies(bugstack_sdk::dependencies!())
            .environment("test")
            .queue_capacity(8192)
            .aggregation_window(Duration::from_secs(120)),
    );
    assert!(guard.is_enabled());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::Builder::new()
                .name(format!("load-{t}"))
                .spawn(|| {
                    for i in 0..500u32 {
                        assert!(std::panic::catch_unwind(|| find_order(i + 1)).is_err());
                        if let Err(e) = save_order() {
                            bugstack_sdk::capture_error(&e);
                        }
                    }
                })
                .unwrap()
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(
        bugstack_sdk::flush(Duration::from_secs(60)),
        "flush delivers everything"
    );

    assert_eq!(
        PREVIOUS_HOOK_CALLS.load(SeqCst),
        2000,
        "previous hook ran for every panic"
    );
    assert_eq!(collector.unauthorized(), 0);
    assert_eq!(collector.bad_encoding(), 0, "gzip + application/json");
    // The release is announced once, in the first batch, with the lock's
    // dependencies.
    let batches = collector.batches();
    let announced: Vec<_> = batches.iter().filter_map(|b| b.release.as_ref()).collect();
    assert_eq!(announced.len(), 1, "announced once");
    assert!(batches[0].release.is_some(), "in the first batch");
    assert_eq!(announced[0].name, "loopback@1.2.3");
    let deps = announced[0].dependencies.as_ref().expect("dependencies sent");
    assert!(deps.iter().any(|d| d.name == "crossbeam-channel"), "{deps:?}");
    let events = collector.events();
    let panics: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Panic).collect();
    let errors: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Error).collect();
    assert_eq!(panics.iter().map(|e| e.count).sum::<u64>(), 2000);
    assert_eq!(errors.iter().map(|e| e.count).sum::<u64>(), 2000);
    assert_eq!(panics.len(), 1, "identical panics are one event: {panics:#?}");
    assert_eq!(errors.len(), 1, "identical errors are one event");
    assert!(collector.requests() <= 6, "{} requests", collector.requests());

    let p = panics[0];
    assert_eq!(p.message, "order 1 not found");
    assert!(
        p.location.as_ref().unwrap().file.ends_with("loopback.rs"),
        "{:?}",
        p.location
    );
    let top = p.frames.iter().find(|f| f.in_app).expect("an in-app frame");
    assert!(
        top.function.as_deref().unwrap().contains("find_order"),
        "{:#?}",
        p.frames
    );
    let names: Vec<_> = p
        .frames
        .iter()
        .take(14)
        .map(|f| f.function.clone().unwrap_or_default())
        .collect();
    assert!(p.frames[0].in_app, "panic machinery is trimmed: {names:#?}");
    assert!(p.thread.as_ref().unwrap().name.as_deref().unwrap().starts_with("load-"));
    assert!(p.fingerprint.is_some());
    let rt = p.runtime.as_ref().unwrap();
    assert!(rt.rustc_version.as_deref().unwrap().starts_with("rustc "));
    assert!(rt.target.is_some() && rt.os.is_some() && rt.arch.is_some());
    assert_eq!(p.release.as_deref(), Some("loopback@1.2.3"));
    assert_eq!(p.environment.as_deref(), Some("test"));
    let svc = p.service.as_ref().unwrap();
    assert_eq!(
        (svc.name.as_deref(), svc.version.as_deref()),
        (Some("loopback"), Some("1.2.3"))
    );

    let e = errors[0];
    assert_eq!(e.message, "could not save order");
    assert_eq!(e.chain.len(), 2);
    assert!(e.chain[0].type_name.as_deref().unwrap().ends_with("SaveError"));
    assert_eq!(e.chain[1].type_name.as_deref(), Some("DbError"));
    assert_eq!(e.chain[1].message, "connection reset by peer");
    assert!(e
        .frames
        .iter()
        .find(|f| f.in_app)
        .unwrap()
        .function
        .as_deref()
        .unwrap()
        .contains("panics_and_errors"));

    let batches = collector.batches();
    let last = batches.last().unwrap();
    assert_eq!(last.sdk.as_ref().unwrap().name, "bugstack-sdk");
    assert!(last.stats.is_some(), "client stats travel in each batch");

    let stats = bugstack_sdk::stats();
    assert_eq!(stats.captured, 4000);
    assert_eq!(stats.sent, 4000);
    assert_eq!(
        stats.dropped_queue_full + stats.dropped_filtered + stats.dropped_spool_full,
        0
    );
    drop(guard);
    assert!(!bugstack_sdk::is_enabled());
}
