//! The routes, end to end through the router.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req
        .body(Body::from(body.unwrap_or_default().to_string()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn summary_of_a_filled_cart() {
    let app = shop::app();
    let (status, body) = call(&app, "POST", "/carts", None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let item = r#"{"sku":"tea","price_cents":450,"qty":2}"#;
    assert_eq!(
        call(&app, "POST", "/carts/1/items", Some(item)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, body) = call(&app, "GET", "/carts/1/summary", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("\"total_cents\":900") && body.contains("\"average_price_cents\":450"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_cart_is_404() {
    assert_eq!(
        call(&shop::app(), "GET", "/carts/9/summary", None).await.0,
        StatusCode::NOT_FOUND
    );
}
