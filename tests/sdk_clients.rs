//! Real SDK clients against the real collector: 8 processes using
//! `bugstack-sdk` capture 10,000 occurrences each from 4 threads; after they
//! flush, the store holds exactly the occurrences each SDK says the collector
//! acknowledged (its `sent` counter), in that client's incidents.
//!
//! The test binary re-runs itself as the client processes (the SDK is one
//! global per process); `BUGSTACK_TEST_SDK_CLIENT` selects that role and is
//! read only here, never by the product.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bugstack::sdk::{Level, Options};
use common::*;

const CLIENTS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
const KINDS: [&str; 4] = ["red", "green", "blue", "amber"];
const PER_CLIENT: usize = 10_000;
const ROLE: &str = "BUGSTACK_TEST_SDK_CLIENT";
const TEST: &str = "sdk_clients_under_load_every_acknowledged_occurrence_is_stored";

fn run_client(name: &str) {
    let guard = bugstack::sdk::init(
        Options::default()
            .no_spool()
            .release("1.0.0")
            .queue_capacity(PER_CLIENT),
    );
    capture_from_four_threads(name, PER_CLIENT, &KINDS, |name, kind| {
        bugstack::sdk::capture_message(&format!("sdk client {name} failed: {kind}"), Level::Error);
    });
    flush_and_print_sdk_stats(name, Duration::from_secs(60));
    drop(guard);
}

#[test]
fn sdk_clients_under_load_every_acknowledged_occurrence_is_stored() {
    if let Ok(name) = std::env::var(ROLE) {
        run_client(&name);
        return;
    }
    let (_dir, data, server) = serve_fresh();
    let children: Vec<_> = CLIENTS
        .iter()
        .map(|name| spawn_sdk_client(TEST, ROLE, name, &server.addr))
        .collect();
    // All eight run at once; collect them afterwards.
    let children: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    let mut sent: BTreeMap<&str, u64> = BTreeMap::new();
    for (name, out) in CLIENTS.iter().zip(&children) {
        let line = &sdk_stats(name, out);
        assert_eq!(kv(line, "captured"), PER_CLIENT as u64, "{line}");
        assert_eq!((kv(line, "spooled"), kv(line, "rejected")), (0, 0), "{line}");
        assert_eq!(kv(line, "sent") + kv(line, "dropped"), PER_CLIENT as u64, "{line}");
        sent.insert(name, kv(line, "sent"));
    }
    let mut stored: BTreeMap<&str, u64> = BTreeMap::new();
    for i in incidents_json(&data) {
        let title = i["title"].as_str().unwrap();
        let name = CLIENTS
            .iter()
            .find(|n| title.starts_with(&format!("sdk client {n} failed")))
            .unwrap_or_else(|| panic!("unexpected incident {title}"));
        *stored.entry(name).or_default() += i["count"].as_u64().unwrap();
        assert_eq!(i["releases"], serde_json::json!(["1.0.0"]));
    }
    assert_eq!(
        stored, sent,
        "stored occurrences per client == acknowledged by the collector"
    );
    assert!(sent.values().sum::<u64>() > 0);
    drop(server);
}
