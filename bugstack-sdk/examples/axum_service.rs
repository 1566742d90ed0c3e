//! An axum service with bugstack: one line of setup, plus the tower layer
//! that attaches each request's context to the errors and panics inside it.
//!
//! ```sh
//! BUGSTACK_ENDPOINT=http://127.0.0.1:7878 BUGSTACK_TOKEN=dev-token \
//!   cargo run -p bugstack-sdk --example axum_service --features axum,tracing
//! curl -X POST localhost:3000/carts/7/checkout -H 'content-type: application/json' -d '{"items":[]}'
//! curl localhost:3000/carts/0/total   # panics: divide by zero
//! ```
//!
//! Without `BUGSTACK_ENDPOINT` the SDK is disabled and the service runs as usual.
//! Set `EXAMPLE_EXIT_AFTER_MS` to stop the server after that long (used in CI smoke runs).

use std::time::Duration;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug)]
struct PaymentDeclined {
    cart: u32,
}

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "payment declined for cart {}", self.cart)
    }
}

impl std::error::Error for PaymentDeclined {}

async fn checkout(Path(cart): Path<u32>, Json(_order): Json<serde_json::Value>) -> StatusCode {
    tokio::time::sleep(Duration::from_millis(5)).await;
    let err = PaymentDeclined { cart };
    bugstack_sdk::capture_error(&err); // carries this request's method, route, headers, payload shape
    StatusCode::PAYMENT_REQUIRED
}

async fn total(Path(cart): Path<u32>) -> String {
    tracing::info!(cart, "computing total"); // a breadcrumb
    let items = 12u32;
    format!("{}", items / cart) // cart 0 panics: captured with the request's context
}

#[tokio::main]
async fn main() {
    // The one-line setup: reads BUGSTACK_ENDPOINT, BUGSTACK_TOKEN, BUGSTACK_RELEASE, ...
    let _guard = bugstack_sdk::init(bugstack_sdk::Options::default().release(bugstack_sdk::release_name!()));

    // Optional: `tracing::error!` becomes an event, lower levels become breadcrumbs.
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(bugstack_sdk::tracing::BugstackLayer::new()),
    );

    let app = Router::new()
        .route("/carts/{id}/checkout", post(checkout))
        .route("/carts/{id}/total", get(total))
        .layer(bugstack_sdk::tower::RequestContextLayer::new().with_payload_shape(64 * 1024));

    let listener = match tokio::net::TcpListener::bind("127.0.0.1:3000").await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:3000: {e}");
            return;
        }
    };
    println!(
        "listening on http://127.0.0.1:3000 (bugstack enabled: {})",
        bugstack_sdk::is_enabled()
    );
    let stop = async {
        match std::env::var("EXAMPLE_EXIT_AFTER_MS").ok().and_then(|v| v.parse().ok()) {
            Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stop).await {
        eprintln!("server error: {e}");
    }
    // Dropping `_guard` flushes what is left (bounded by Options::flush_timeout).
}
