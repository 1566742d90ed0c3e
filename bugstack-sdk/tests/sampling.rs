//! Sampling drops before any work is done, and every drop is counted.
mod common;

use std::time::Duration;

use bugstack_sdk::Level;
use common::Collector;

#[test]
fn sample_rate_zero_drops_everything_and_counts_it() {
    let collector = Collector::start("tok-sampling");
    let guard = bugstack_sdk::init(collector.options().sample_rate(0.0));
    for _ in 0..100 {
        bugstack_sdk::capture_message("sampled out", Level::Error);
        bugstack_sdk::capture_error(&std::io::Error::other("sampled out"));
    }
    let _ = std::panic::catch_unwind(|| panic!("sampled out too"));
    assert!(bugstack_sdk::flush(Duration::from_secs(10)));
    let s = bugstack_sdk::stats();
    assert_eq!((s.captured, s.dropped_filtered, s.sent), (201, 201, 0), "{s:?}");
    assert_eq!(collector.requests(), 0);
    drop(guard);
}
