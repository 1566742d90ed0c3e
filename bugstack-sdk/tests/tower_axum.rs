//! The tower layer under axum on a multi-thread runtime: a panic or a
//! captured error inside a handler carries *that* request's context, across
//! `.await` points, with concurrent requests never mixing their contexts.
mod common;

use std::time::Duration;

use axum::extract::Path;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::{body::Body, Json, Router};
use bugstack_core::{EventKind, Shape};
use bugstack_sdk::tower::RequestContextLayer;
use common::Collector;
use tower::ServiceExt;

async fn checkout(Path(id): Path<u32>, Json(_body): Json<serde_json::Value>) -> StatusCode {
    bugstack_sdk::add_breadcrumb(bugstack_sdk::Level::Info, Some("cart"), &format!("cart {id} loaded"));
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(2)).await;
    // Other requests record theirs meanwhile, possibly on this same thread.
    tracing::info!("cart {id} priced");
    tokio::task::yield_now().await;
    bugstack_sdk::capture_error(&std::io::Error::other(format!("checkout of cart {id} failed")));
    StatusCode::INTERNAL_SERVER_ERROR
}

async fn explode(Path(id): Path<u32>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(2)).await;
    tokio::task::yield_now().await;
    if id > 0 {
        panic!("handler exploded");
    }
    "unreachable"
}

async fn traced() -> &'static str {
    tokio::task::yield_now().await;
    tracing::error!("tracing error inside a request");
    "ok"
}

fn app() -> Router {
    Router::new()
        .route("/carts/{id}/checkout", post(checkout))
        .route("/boom/{id}", get(explode))
        .route("/traced", get(traced))
        .layer(RequestContextLayer::new().with_payload_shape(4096))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_events_carry_their_own_request_context() {
    use tracing_subscriber::layer::SubscriberExt;
    let _sub = tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(bugstack_sdk::tracing::BugstackLayer::new()),
    );
    let collector = tokio::task::spawn_blocking(|| Collector::start("tok-tower"))
        .await
        .unwrap();
    let options = collector.options().aggregation_window(Duration::from_secs(60));
    let guard = bugstack_sdk::init(options);

    let mut tasks = Vec::new();
    for id in 1..=20u32 {
        let app = app();
        tasks.push(tokio::spawn(async move {
            let body = serde_json::json!({"items": [{"sku": "SECRET-SKU", "qty": 2}], "coupon": null}).to_string();
            let req = Request::post(format!("/carts/{id}/checkout?session=s3cr3t-{id}"))
                .header("content-type", "application/json")
                .header("content-length", body.len())
                .header("authorization", "Bearer tower-secret-token")
                .header("x-request-id", format!("req-{id}"))
                .body(Body::from(body))
                .unwrap();
            let resp = app.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // A panicking handler: the panic ends its task; the hook saw the context.
    let panicked = tokio::spawn(app().oneshot(Request::get("/boom/7").body(Body::empty()).unwrap())).await;
    assert!(panicked.is_err_and(|e| e.is_panic()));
    let resp = app()
        .oneshot(Request::get("/traced").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // Outside any request: no context.
    bugstack_sdk::capture_message("outside", bugstack_sdk::Level::Error);

    let delivered = tokio::task::spawn_blocking(|| bugstack_sdk::flush(Duration::from_secs(30)))
        .await
        .unwrap();
    assert!(delivered);
    let events = collector.events();
    let errors: Vec<_> = events.iter().filter(|e| e.kind == EventKind::Error).collect();
    assert_eq!(errors.iter().map(|e| e.count).sum::<u64>(), 20);
    // Aggregation keeps the first occurrence's context; check it is coherent.
    for e in &errors {
        let req = e.request.as_ref().expect("context attached");
        let id: u32 = e.message.split_whitespace().nth(3).unwrap().parse().unwrap();
        assert_eq!(req.method.as_deref(), Some("POST"));
        assert_eq!(req.route.as_deref(), Some("/carts/{id}/checkout"));
        assert_eq!(
            req.path.as_deref(),
            Some(format!("/carts/{id}/checkout?session=[redacted]").as_str())
        );
        assert_eq!(
            req.headers["x-request-id"],
            format!("req-{id}"),
            "context of this very request"
        );
        assert_eq!(req.headers["authorization"], "[redacted]");
        let crumbs: Vec<&str> = e.breadcrumbs.iter().map(|b| b.message.as_str()).collect();
        assert_eq!(
            crumbs,
            [format!("cart {id} loaded"), format!("cart {id} priced")],
            "this request's breadcrumbs, and only those"
        );
        match req.payload_shape.as_ref().expect("shape recorded") {
            Shape::Object { fields, .. } => assert!(fields.contains_key("items") && fields.contains_key("coupon")),
            other => panic!("unexpected shape {other:?}"),
        }
    }
    let panic = events
        .iter()
        .find(|e| e.kind == EventKind::Panic)
        .expect("panic captured");
    assert_eq!(panic.message, "handler exploded");
    let req = panic.request.as_ref().expect("panic carries the request");
    assert_eq!(req.route.as_deref(), Some("/boom/{id}"));
    assert_eq!(req.path.as_deref(), Some("/boom/7"));
    let traced = events
        .iter()
        .find(|e| e.kind == EventKind::Tracing)
        .expect("tracing event");
    assert_eq!(traced.request.as_ref().unwrap().route.as_deref(), Some("/traced"));
    let outside = events.iter().find(|e| e.message == "outside").unwrap();
    assert!(outside.request.is_none());
    let bodies = collector.bodies().join("\n");
    for secret in ["SECRET-SKU", "tower-secret-token", "s3cr3t-"] {
        assert!(!bodies.contains(secret), "{secret} leaked");
    }
    tokio::task::spawn_blocking(move || drop(guard)).await.unwrap();
}
