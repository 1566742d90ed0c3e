//! A collector that never answers must never block the calling threads, and
//! a million captures against it keep memory bounded (drops are counted).
mod common;

use std::time::Duration;

use bugstack_sdk::Level;
use common::{Collector, Mode};

fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn hung_collector_never_blocks_capture_and_memory_stays_bounded() {
    let collector = Collector::start("tok-hung");
    collector.set_mode(Mode::Hang);
    let capacity = 256;
    let guard = bugstack_sdk::init(
        collector
            .options()
            .queue_capacity(capacity)
            .request_timeout(Duration::from_secs(120))
            .aggregation_window(Duration::from_millis(1))
            .flush_timeout(Duration::from_millis(200)),
    );
    bugstack_sdk::capture_message("first", Level::Error);
    assert!(
        collector.wait_for(Duration::from_secs(60), |c| c.hung() == 1),
        "the worker is now stuck in a request the collector never answers"
    );

    // While the worker is stuck, captures still return: a million of them.
    let before = rss_bytes();
    let n = 1_000_000u64;
    for i in 0..n {
        if i % 2 == 0 {
            bugstack_sdk::capture_message("while hung", Level::Error);
        } else {
            bugstack_sdk::capture_error(&std::io::Error::other("still hung"));
        }
    }
    let after = rss_bytes();
    assert_eq!(
        collector.hung(),
        1,
        "all captures returned before the collector ever answered"
    );
    assert_eq!(collector.requests(), 1);
    let s = bugstack_sdk::stats();
    assert_eq!(s.captured, n + 1);
    assert!(s.queued <= capacity as u64, "{s:?}");
    assert!(s.dropped_queue_full >= n - capacity as u64, "drops are counted: {s:?}");
    if let (Some(b), Some(a)) = (before, after) {
        assert!(a.saturating_sub(b) < 64 << 20, "RSS grew by {} bytes", a - b);
    }
    assert!(
        !bugstack_sdk::flush(Duration::from_millis(100)),
        "flush reports that nothing could be delivered while the worker is stuck"
    );

    // Recovery: the hung request fails, the retry is accepted.
    collector.set_mode(Mode::Accept);
    collector.release_hung();
    assert!(bugstack_sdk::flush(Duration::from_secs(30)));
    let s = bugstack_sdk::stats();
    assert_eq!(
        s.sent + s.dropped_queue_full,
        s.captured,
        "nothing lost silently: {s:?}"
    );
    assert_eq!(collector.occurrences(), s.sent);
    assert!(collector.events().iter().any(|e| e.message == "first"));
    drop(guard);
}
