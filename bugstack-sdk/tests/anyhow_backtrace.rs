//! Errors that carry their own backtrace report *that* stack (where the error
//! arose), not the capture site's.
mod common;

use std::time::Duration;

use anyhow::Context as _;
use common::Collector;

#[inline(never)]
fn deep_origin() -> anyhow::Result<()> {
    Err(anyhow::anyhow!("origin failure"))
}

#[inline(never)]
fn middle() -> anyhow::Result<()> {
    deep_origin().context("middle failed")
}

#[inline(never)]
fn report_site(err: &anyhow::Error) {
    bugstack_sdk::capture_anyhow(err);
}

#[derive(Debug)]
struct StdError {
    backtrace: std::backtrace::Backtrace,
}
impl std::fmt::Display for StdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("std error with a backtrace")
    }
}
impl std::error::Error for StdError {}

#[inline(never)]
fn std_origin() -> StdError {
    StdError {
        backtrace: std::backtrace::Backtrace::force_capture(),
    }
}

#[inline(never)]
fn std_report_site(err: &StdError) {
    bugstack_sdk::capture_error_with_backtrace(err, &err.backtrace);
}

fn in_app_functions(e: &bugstack_core::Event) -> Vec<String> {
    e.frames
        .iter()
        .filter(|f| f.in_app)
        .filter_map(|f| f.function.clone())
        .collect()
}

#[test]
fn errors_report_the_stack_they_carry() {
    // anyhow captures a backtrace only when asked to (read once per process).
    std::env::set_var("RUST_LIB_BACKTRACE", "1");
    let collector = Collector::start("tok-anyhow");
    let guard = bugstack_sdk::init(collector.options());
    let err = middle().unwrap_err();
    report_site(&err);
    std_report_site(&std_origin());
    assert!(bugstack_sdk::flush(Duration::from_secs(20)));
    let events = collector.events();
    let a = events
        .iter()
        .find(|e| e.message == "middle failed")
        .expect("anyhow event");
    assert_eq!(a.chain.len(), 2);
    assert_eq!(a.chain[1].message, "origin failure");
    let funcs = in_app_functions(a);
    assert!(
        funcs[0].ends_with("deep_origin"),
        "innermost in-app frame is the origin: {funcs:?}"
    );
    assert!(!funcs.iter().any(|f| f.contains("report_site")), "{funcs:?}");
    assert!(a.frames.iter().any(|f| f.line.is_some() && f.file.is_some()));

    let s = events
        .iter()
        .find(|e| e.message == "std error with a backtrace")
        .unwrap();
    let funcs = in_app_functions(s);
    assert!(funcs[0].ends_with("std_origin"), "{funcs:?}");
    assert!(!funcs.iter().any(|f| f.contains("std_report_site")), "{funcs:?}");
    drop(guard);
}
