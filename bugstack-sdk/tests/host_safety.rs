//! The SDK's own failures never panic the host: bad endpoints and options,
//! an unwritable spool directory, a `before_send` that panics, an error
//! whose `Display` panics.
mod common;

use std::sync::Mutex;
use std::time::Duration;

use bugstack_sdk::{Level, Options};
use common::Collector;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn bad_endpoints_and_options_give_a_disabled_guard_and_clear_errors() {
    let _s = serial();
    for (endpoint, needle) in [
        ("not a url", "invalid endpoint"),
        ("ftp://collector/", "scheme"),
        ("http://", "invalid endpoint"),
    ] {
        let err = bugstack_sdk::try_init(Options::new().endpoint(endpoint)).unwrap_err();
        assert!(err.to_string().contains(needle), "{endpoint}: {err}");
        let guard = bugstack_sdk::init(Options::new().endpoint(endpoint).debug(true));
        assert!(!guard.is_enabled());
        bugstack_sdk::capture_message("ignored", Level::Error);
        bugstack_sdk::capture_error(&std::io::Error::other("ignored"));
        assert!(bugstack_sdk::flush(Duration::from_millis(10)));
        assert_eq!(bugstack_sdk::stats().captured, 0);
    }
    let err = bugstack_sdk::try_init(Options::new().endpoint("http://127.0.0.1:9").sample_rate(1.5)).unwrap_err();
    assert!(err.to_string().contains("sample_rate"), "{err}");
    let err =
        bugstack_sdk::try_init(Options::new().endpoint("http://127.0.0.1:9").scrub_pattern("(unclosed")).unwrap_err();
    assert!(err.to_string().contains("(unclosed"), "{err}");
    let disabled = bugstack_sdk::init(Options::new());
    assert!(!disabled.is_enabled(), "no endpoint: disabled");
}

#[test]
fn unwritable_spool_dir_falls_back_to_memory_and_still_delivers() {
    let _s = serial();
    let file = std::env::temp_dir().join(format!("bugstack-not-a-dir-{}", std::process::id()));
    std::fs::write(&file, b"x").unwrap();
    let collector = Collector::start("tok-safety");
    let options = collector.options().spool_dir(file.join("spool"));
    let err = bugstack_sdk::try_init(options.clone()).unwrap_err();
    assert!(err.to_string().contains("spool directory"), "{err}");
    let guard = bugstack_sdk::init(options);
    assert!(guard.is_enabled(), "runs without a spool");
    bugstack_sdk::capture_message("still delivered", Level::Error);
    assert!(bugstack_sdk::flush(Duration::from_secs(20)));
    assert_eq!(collector.events()[0].message, "still delivered");
    drop(guard);
    let _ = std::fs::remove_file(&file);
}

#[derive(Debug)]
struct PanickyDisplay;
impl std::fmt::Display for PanickyDisplay {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("Display is broken")
    }
}
impl std::error::Error for PanickyDisplay {}

#[test]
fn panicking_before_send_and_display_never_reach_the_host() {
    let _s = serial();
    let collector = Collector::start("tok-safety");
    let guard = bugstack_sdk::init(collector.options().before_send(|mut e| {
        if e.message.contains("boom") {
            panic!("before_send bug");
        }
        if e.message.contains("drop me") {
            return None;
        }
        e.tags.insert("checked".into(), "yes".into());
        Some(e)
    }));
    bugstack_sdk::capture_message("boom goes the hook", Level::Error);
    bugstack_sdk::capture_message("drop me", Level::Error);
    bugstack_sdk::capture_message("tagged", Level::Error);
    bugstack_sdk::capture_error(&PanickyDisplay);
    assert!(bugstack_sdk::flush(Duration::from_secs(20)));
    let events = collector.events();
    let by_msg = |m: &str| events.iter().find(|e| e.message == m).cloned();
    let boom = by_msg("boom goes the hook").expect("kept unchanged when before_send panics");
    assert!(boom.tags.is_empty());
    assert!(by_msg("drop me").is_none());
    assert_eq!(by_msg("tagged").unwrap().tags["checked"], "yes");
    assert!(by_msg("<Display panicked>").is_some());
    // The host's broken Display is itself reported, as the panic it is.
    assert!(by_msg("Display is broken").is_some());
    let s = bugstack_sdk::stats();
    assert_eq!(s.dropped_filtered, 1, "{s:?}");
    assert_eq!(s.sent, 4, "{s:?}");
    drop(guard);
}
