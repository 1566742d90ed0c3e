//! What the request-context layer costs every request, side by side with
//! `sentry-tower`'s layers, on a trivial axum route driven in-process
//! (`oneshot`, 7 headers, a current-thread runtime), in one run:
//!
//! ```sh
//! cargo bench -p bugstack-sdk --features axum --bench tower_layer -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! - `bare`: the route alone.
//! - `bugstack`: with `RequestContextLayer` (the SDK initialized; nothing is
//!   captured: the happy path).
//! - `bugstack_no_headers`: the same with `.headers(false)` (what the
//!   header map's clone costs).
//! - `sentry`: with `NewSentryLayer::new_from_top()` and `SentryHttpLayer`
//!   (the client initialized with a no-op transport; no transaction).
//! - `sentry_tx`: the same with `SentryHttpLayer::new().enable_transaction()`
//!   (traces not sampled: the default).
//!
//! Times are wall time per request (building the request included, in
//! every variant); the summary prints what each layer adds to `bare`, from
//! criterion's medians.
#![allow(missing_docs)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::Criterion;
use tower::ServiceExt;

mod criterion_results;

use criterion_results::{median_ns, output_dir};

fn request() -> Request<Body> {
    Request::get("/carts/42/items?page=2")
        .header("host", "shop.internal")
        .header("user-agent", "bench/1.0")
        .header("accept", "application/json")
        .header("accept-encoding", "gzip")
        .header("authorization", "Bearer secret-token")
        .header("x-request-id", "0f1e2d3c4b5a")
        .header("cookie", "session=abc")
        .body(Body::empty())
        .expect("valid request")
}

fn route() -> Router {
    Router::new().route("/carts/{id}/items", get(|| async { "ok" }))
}

/// Wall time of `iters` requests to `app`.
fn run(rt: &tokio::runtime::Runtime, app: &Router, iters: u64) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let resp = app.clone().oneshot(request()).await;
            black_box(resp.map(|r| r.status()).ok());
        }
        start.elapsed()
    })
}

struct NoopTransport;
impl sentry::Transport for NoopTransport {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        black_box(envelope);
    }
}

fn main() {
    let dir = output_dir();
    let mut c = Criterion::default().output_directory(&dir).configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // A collector address nothing listens on: nothing is captured anyway.
    let _guard = bugstack_sdk::init(
        bugstack_sdk::Options::new()
            .endpoint("http://127.0.0.1:9")
            .install_panic_hook(false),
    );
    assert!(
        bugstack_sdk::is_enabled(),
        "the layer is a pass-through when the SDK is off"
    );
    let mut o = sentry::ClientOptions::default();
    o.dsn = "https://public@example.invalid/1".parse().ok();
    o.transport = Some(Arc::new(Arc::new(NoopTransport)));
    let _sentry = sentry::init(o);

    let bare = route();
    let bugstack = route().layer(bugstack_sdk::tower::RequestContextLayer::new());
    let bugstack_no_headers = route().layer(bugstack_sdk::tower::RequestContextLayer::new().headers(false));
    let sentry = route()
        .layer(sentry_tower::SentryHttpLayer::new())
        .layer(sentry_tower::NewSentryLayer::<Request<Body>>::new_from_top());
    let sentry_tx = route()
        .layer(sentry_tower::SentryHttpLayer::new().enable_transaction())
        .layer(sentry_tower::NewSentryLayer::<Request<Body>>::new_from_top());

    let mut g = c.benchmark_group("tower_layer");
    for (name, app) in [
        ("bare", &bare),
        ("bugstack", &bugstack),
        ("bugstack_no_headers", &bugstack_no_headers),
        ("sentry", &sentry),
        ("sentry_tx", &sentry_tx),
    ] {
        g.bench_function(name, |b| b.iter_custom(|iters| run(&rt, app, iters)));
    }
    g.finish();
    c.final_summary();

    let m = |name: &str| median_ns(&dir, &format!("tower_layer/{name}"));
    if let (Some(bare), Some(ours), Some(sentry), Some(sentry_tx)) =
        (m("bare"), m("bugstack"), m("sentry"), m("sentry_tx"))
    {
        println!("\n== per request (wall, medians), trivial axum route, 7 headers ==");
        println!("bare                {bare:>8.0} ns");
        let added = |ns: f64| ns - bare;
        println!("bugstack layer      {ours:>8.0} ns  (+{:.0} ns)", added(ours));
        if let Some(nh) = m("bugstack_no_headers") {
            println!("bugstack, no headers{nh:>8.0} ns  (+{:.0} ns)", added(nh));
        }
        println!(
            "sentry layers       {sentry:>8.0} ns  (+{:.0} ns, {:.1}x bugstack's added cost)",
            added(sentry),
            added(sentry) / added(ours).max(1.0)
        );
        println!(
            "sentry + transaction{sentry_tx:>8.0} ns  (+{:.0} ns, {:.1}x bugstack's added cost)",
            added(sentry_tx),
            added(sentry_tx) / added(ours).max(1.0)
        );
    }
}
