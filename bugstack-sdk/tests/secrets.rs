//! Secrets in headers, paths, messages, error chains and breadcrumbs never
//! appear in what reaches the collector; the request context does.
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bugstack_sdk::{Level, RequestContext};
use common::Collector;

#[derive(Debug, thiserror::Error)]
#[error("cannot reach postgres://app:Pa55w0rd-XYZ@db.internal/shop")]
struct ConnectError;

#[test]
fn secrets_never_reach_the_collector() {
    let collector = Collector::start("tok-secrets");
    let guard = bugstack_sdk::init(
        collector
            .options()
            .scrub_pattern(r"\bACCT-\d{6}\b")
            .scrub_header("x-tenant"),
    );
    let headers = BTreeMap::from([
        (
            "Authorization".to_string(),
            "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.sigsigsig".to_string(),
        ),
        ("Cookie".to_string(), "sid=cookie-secret-123".to_string()),
        ("X-Api-Key".to_string(), "apikey-secret-456".to_string()),
        ("X-Tenant".to_string(), "tenant-secret-789".to_string()),
        ("Accept".to_string(), "application/json".to_string()),
    ]);
    let ctx = RequestContext {
        method: Some("POST".into()),
        route: Some("/login".into()),
        path: Some("/login?email=alice@example.com&token=query-secret-000".into()),
        headers,
        payload_shape: None,
    };
    bugstack_sdk::with_request(ctx, || {
        // Inside the request's scope: its events carry it.
        bugstack_sdk::add_breadcrumb(Level::Info, Some("auth"), "retrying with password=crumb-secret-111");
        bugstack_sdk::capture_message(
            "login failed for alice@example.com with password=hunter2-secret and key sk-proj-abcdefghijklmnop1234 on ACCT-123456",
            Level::Error,
        );
        bugstack_sdk::capture_error(&ConnectError);
    });
    assert!(bugstack_sdk::flush(Duration::from_secs(20)));
    let bodies = collector.bodies().join("\n");
    for secret in [
        "c2VjcmV0LXBheWxvYWQ",
        "cookie-secret-123",
        "apikey-secret-456",
        "tenant-secret-789",
        "query-secret-000",
        "alice@example.com",
        "hunter2-secret",
        "sk-proj-abcdefghijklmnop1234",
        "ACCT-123456",
        "Pa55w0rd-XYZ",
        "crumb-secret-111",
        "tok-secrets",
    ] {
        assert!(!bodies.contains(secret), "{secret} leaked into the payload");
    }
    let events = collector.events();
    assert_eq!(events.len(), 2);
    for e in &events {
        let req = e.request.as_ref().expect("request context attached");
        assert_eq!(req.route.as_deref(), Some("/login"));
        assert_eq!(req.headers["accept"], "application/json");
        assert_eq!(req.headers["authorization"], "[redacted]");
        assert_eq!(e.breadcrumbs.len(), 1);
    }
    drop(guard);
}
