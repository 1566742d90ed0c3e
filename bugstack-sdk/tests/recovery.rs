//! Delivery failures: a collector returning 500 then recovering loses
//! nothing; 429 + Retry-After is honoured; a rejected token is not retried.
mod common;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bugstack_sdk::{Level, Options};
use common::{Collector, Mode};

/// The SDK is process-global: these tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// This test's turn with the SDK, and a collector for `token` that
/// answers per `mode`.
fn failing_collector(token: &str, mode: Mode) -> (MutexGuard<'static, ()>, Collector) {
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start(token);
    collector.set_mode(mode);
    (serial, collector)
}

fn options(c: &Collector) -> Options {
    c.options()
        .aggregation_window(Duration::from_secs(60))
        .flush_timeout(Duration::from_millis(100))
}

#[test]
fn collector_returning_500_then_recovering_loses_nothing() {
    let (_serial, collector) = failing_collector("tok-500", Mode::Fail500);
    let guard = bugstack_sdk::init(options(&collector));
    for i in 0..30 {
        bugstack_sdk::capture_message(&format!("job {i} failed"), Level::Error);
        bugstack_sdk::capture_error(&std::io::Error::other(format!("kind {}", i % 3 == 0)));
    }
    // (The first flush also waits for the worker to load debug info.)
    assert!(!bugstack_sdk::flush(Duration::from_secs(3)), "collector is down");
    // (Under load the worker may still be warming up: wait for it, bounded.)
    let end = Instant::now() + Duration::from_secs(60);
    while bugstack_sdk::stats().spooled < 60 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = bugstack_sdk::stats();
    assert!(s.failed_requests >= 1, "{s:?}");
    assert_eq!(s.spooled, 60, "kept for later: {s:?}");
    assert_eq!(collector.occurrences(), 0);

    collector.set_mode(Mode::Accept);
    assert!(bugstack_sdk::flush(Duration::from_secs(30)));
    assert_eq!(collector.occurrences(), 60);
    let s = bugstack_sdk::stats();
    assert_eq!((s.sent, s.spooled, s.dropped_spool_full), (60, 0, 0), "{s:?}");
    let reported = collector.batches().last().unwrap().stats.unwrap();
    assert!(reported.captured == 60, "{reported:?}");
    drop(guard);
}

/// The collector stores a batch but its 202 is lost: the SDK retries, and
/// every copy carries the same `batch_id`, so the collector counts it once.
#[test]
fn a_batch_whose_answer_was_lost_is_retried_with_the_same_id() {
    let (_serial, collector) = failing_collector("tok-lost", Mode::StoreThen500);
    let guard = bugstack_sdk::init(options(&collector).aggregation_window(Duration::from_millis(1)));
    bugstack_sdk::capture_message("answer lost", Level::Error);
    assert!(collector.wait_for(Duration::from_secs(60), |c| c.batches().len() >= 2));
    collector.set_mode(Mode::Accept);
    assert!(bugstack_sdk::flush(Duration::from_secs(30)));
    let batches: Vec<_> = collector
        .batches()
        .into_iter()
        .filter(|b| !b.events.is_empty())
        .collect();
    assert!(batches.len() >= 3, "stored twice without an answer, then accepted");
    let id = batches[0].batch_id.clone().expect("the SDK sets a batch id");
    assert!(
        batches.iter().all(|b| b.batch_id.as_deref() == Some(id.as_str())),
        "every copy has the first one's id"
    );
    drop(guard);
}

#[test]
fn too_many_requests_honours_retry_after() {
    let (_serial, collector) = failing_collector("tok-429", Mode::TooMany(1));
    let guard = bugstack_sdk::init(options(&collector).aggregation_window(Duration::from_millis(1)));
    bugstack_sdk::capture_message("rate limited", Level::Error);
    assert!(collector.wait_for(Duration::from_secs(60), |c| c.requests() >= 1));
    let first = Instant::now();
    collector.set_mode(Mode::Accept);
    assert!(collector.wait_for(Duration::from_secs(60), |c| c.occurrences() == 1));
    assert!(
        first.elapsed() >= Duration::from_millis(800),
        "retried only after Retry-After (1 s): {:?}",
        first.elapsed()
    );
    assert_eq!(collector.requests(), 2, "one 429, then one accepted retry");
    drop(guard);
}

#[test]
fn rejected_token_is_counted_and_not_retried() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start("tok-right");
    let guard = bugstack_sdk::init(options(&collector).token("tok-wrong"));
    bugstack_sdk::capture_message("nobody will see this", Level::Error);
    assert!(bugstack_sdk::flush(Duration::from_secs(10)), "nothing left to retry");
    assert_eq!(collector.unauthorized(), 1);
    assert!(bugstack_sdk::flush(Duration::from_millis(300)));
    assert_eq!(collector.requests(), 1, "a 401 is not retried");
    let s = bugstack_sdk::stats();
    assert_eq!((s.rejected, s.sent, s.spooled), (1, 0, 0), "{s:?}");
    drop(guard);
}

#[test]
fn oversize_batches_are_split_not_dropped() {
    let (_serial, collector) = failing_collector("tok-413", Mode::MaxEvents(3));
    let guard = bugstack_sdk::init(options(&collector));
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    ];
    for w in words {
        bugstack_sdk::capture_message(&format!("{w} failed"), Level::Error);
    }
    assert!(bugstack_sdk::flush(Duration::from_secs(20)));
    assert_eq!(collector.occurrences(), 10);
    assert!(collector.batches().iter().all(|b| b.events.len() <= 3));
    let s = bugstack_sdk::stats();
    assert_eq!((s.sent, s.rejected), (10, 0), "{s:?}");
    drop(guard);
}

#[test]
fn spool_stays_bounded_and_counts_what_it_drops() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("bugstack-bounded-spool-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let max = 40_000u64;
    let collector = Collector::start("tok-spool-bound");
    collector.set_mode(Mode::Fail500);
    let guard = bugstack_sdk::init(options(&collector).spool_dir(&dir).max_spool_bytes(max).max_frames(4));
    let spool_bytes = || -> u64 {
        std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    };
    let words = ["alpha", "bravo", "charlie", "delta", "echo"];
    for round in ["north", "south", "east", "west", "up", "down", "left", "right"] {
        for w in words {
            bugstack_sdk::capture_message(&format!("{w} {round} failed"), Level::Error);
        }
        assert!(!bugstack_sdk::flush(Duration::from_millis(300)));
        assert!(spool_bytes() <= max, "spool over its bound: {}", spool_bytes());
    }
    let s = bugstack_sdk::stats();
    assert!(s.dropped_spool_full > 0, "oldest batches dropped and counted: {s:?}");
    collector.set_mode(Mode::Accept);
    assert!(bugstack_sdk::flush(Duration::from_secs(30)));
    let s = bugstack_sdk::stats();
    assert_eq!(s.captured, 40);
    assert_eq!(collector.occurrences() + s.dropped_spool_full, 40, "{s:?}");
    assert_eq!(s.spooled, 0);
    drop(guard);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreadable_spool_entry_is_set_aside_and_the_rest_delivered() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let collector = Collector::start("tok-quarantine");
    let spool = std::env::temp_dir().join(format!("bugstack-quarantine-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&spool);
    std::fs::create_dir_all(&spool).unwrap();
    // Oldest first: a directory under a batch's name, then invalid JSON.
    std::fs::create_dir(spool.join("0000000000001-1-00000000-n4.json")).unwrap();
    std::fs::write(spool.join("0000000000002-1-00000001-n3.json"), b"{not json").unwrap();
    let guard = bugstack_sdk::init(options(&collector).spool_dir(&spool));
    bugstack_sdk::capture_message("after the bad entries", Level::Error);
    // Before the fix, the worker retried the directory forever and this
    // flush never came back: run it where a hang is a failure, not a stall.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(bugstack_sdk::flush(Duration::from_secs(10)));
    });
    let flushed = rx.recv_timeout(Duration::from_secs(30));
    assert_eq!(flushed, Ok(true), "flush returned and delivered everything");
    let s = bugstack_sdk::stats();
    assert_eq!(s.spool_quarantined, 7, "{s:?}");
    assert_eq!(s.spooled, 0, "{s:?}");
    assert!(collector.events().iter().any(|e| e.message == "after the bad entries"));
    drop(guard);
    assert!(spool.join("0000000000001-1-00000000-n4.unreadable").is_dir());
    assert!(spool.join("0000000000002-1-00000001-n3.corrupt").is_file());
    let _ = std::fs::remove_dir_all(&spool);
}
