//! HTTP routes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::cart::{average_price_cents, Cart, Item};

/// The shop's in-memory state.
#[derive(Debug, Clone, Default)]
pub struct Shop {
    carts: Arc<Mutex<HashMap<u64, Cart>>>,
}

/// A cart's summary.
#[derive(Debug, Serialize)]
pub struct Summary {
    /// Units in the cart.
    pub units: u64,
    /// Total in cents.
    pub total_cents: u64,
    /// Average unit price in cents (`null` for an empty cart).
    pub average_price_cents: Option<u64>,
}

async fn create_cart(State(shop): State<Shop>) -> (StatusCode, Json<serde_json::Value>) {
    let mut carts = shop.carts.lock().unwrap_or_else(|e| e.into_inner());
    let id = carts.len() as u64 + 1;
    carts.insert(id, Cart::default());
    (StatusCode::CREATED, Json(serde_json::json!({ "id": id })))
}

async fn add_item(
    State(shop): State<Shop>,
    Path(id): Path<u64>,
    Json(item): Json<Item>,
) -> StatusCode {
    let mut carts = shop.carts.lock().unwrap_or_else(|e| e.into_inner());
    match carts.get_mut(&id) {
        Some(cart) => {
            cart.items.push(item);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn summary(
    State(shop): State<Shop>,
    Path(id): Path<u64>,
) -> Result<Json<Summary>, StatusCode> {
    let cart = {
        let carts = shop.carts.lock().unwrap_or_else(|e| e.into_inner());
        carts.get(&id).cloned().ok_or(StatusCode::NOT_FOUND)?
    };
    Ok(Json(Summary {
        units: cart.unit_count(),
        total_cents: cart.total_cents(),
        average_price_cents: average_price_cents(&cart),
    }))
}

async fn healthz() -> &'static str {
    "ok"
}

/// The shop's router.
pub fn app() -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/carts", post(create_cart))
        .route("/carts/{id}/items", post(add_item))
        .route("/carts/{id}/summary", get(summary))
        .with_state(Shop::default())
}
