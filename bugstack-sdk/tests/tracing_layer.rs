//! `tracing::error!` becomes an event with span fields as tags; lower-level
//! events become breadcrumbs in a bounded ring.
mod common;

use std::time::Duration;

use bugstack_core::{EventKind, Level};
use bugstack_sdk::tracing::BugstackLayer;
use common::Collector;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn error_events_carry_span_fields_and_breadcrumbs() {
    let collector = Collector::start("tok-tracing");
    let guard = bugstack_sdk::init(collector.options().max_breadcrumbs(5));
    let subscriber = tracing_subscriber::registry().with(BugstackLayer::new().event_level(tracing::Level::WARN));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("checkout", order_id = 42, customer = tracing::field::Empty);
        let _enter = span.enter();
        span.record("customer", "bob@example.com");
        for i in 0..8 {
            tracing::info!(step = i, "loading cart step {i}");
        }
        tracing::debug!("below the breadcrumb level");
        let inner = tracing::info_span!("charge", provider = "acme");
        let _inner = inner.enter();
        tracing::warn!(code = 503, "payment provider unavailable");
        tracing::error!(password = "hunter2", "charge failed token=abcdef123");
    });
    assert!(bugstack_sdk::flush(Duration::from_secs(20)));
    let events = collector.events();
    assert_eq!(events.len(), 2, "{events:#?}");
    let warn = events.iter().find(|e| e.level == Level::Warning).unwrap();
    assert_eq!(warn.kind, EventKind::Tracing);
    assert_eq!(warn.message, "payment provider unavailable");
    assert_eq!(warn.tags["order_id"], "42");
    assert_eq!(warn.tags["provider"], "acme");
    assert_eq!(warn.tags["code"], "503");
    assert_eq!(warn.tags["customer"], "[email]", "span fields are scrubbed too");
    assert_eq!(warn.tags["target"], "tracing_layer");
    assert!(warn.location.as_ref().unwrap().file.ends_with("tracing_layer.rs"));
    let crumbs: Vec<_> = warn.breadcrumbs.iter().map(|b| b.message.as_str()).collect();
    assert_eq!(crumbs.len(), 5, "bounded ring: {crumbs:?}");
    assert_eq!(crumbs.last(), Some(&"loading cart step 7"));
    assert!(!crumbs.iter().any(|c| c.contains("below")));
    let err = events.iter().find(|e| e.level == Level::Error).unwrap();
    assert_eq!(err.tags["password"], "[redacted]");
    assert!(!err.message.contains("abcdef123"), "{}", err.message);
    drop(guard);
}
