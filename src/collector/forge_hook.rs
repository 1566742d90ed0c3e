//! `POST /v1/forge/github`: GitHub's `pull_request` webhook, so a fix pull
//! request a person merges or closes on GitHub moves its incident at once
//! (merged: `fixed` at the merge commit; closed unmerged: `open`, the patch
//! remembered as rejected).
//!
//! Every delivery must carry `X-Hub-Signature-256: sha256=<hex>`, the
//! HMAC-SHA256 of the raw body under the secret in
//! `BUGSTACK_GITHUB_WEBHOOK_SECRET`, compared in constant time: a missing or
//! bad signature is `401` and changes nothing. Without a secret the endpoint
//! answers `503` saying how to turn it on. `ping` is `200`; other events and
//! actions are `202` and ignored. The body is capped like an ingest body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bugstack_core::{Secret, Timestamp};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::store::{Cause, ForgeChange, ForgeStore, ForgeSync, FORGE_ACTOR};

/// The webhook's path.
pub const FORGE_HOOK_PATH: &str = "/v1/forge/github";

/// The environment variable holding the webhook secret.
pub const WEBHOOK_SECRET_ENV: &str = "BUGSTACK_GITHUB_WEBHOOK_SECRET";

/// What the webhook needs.
#[derive(Debug, Clone)]
pub struct ForgeHookState {
    /// The store whose pull requests it updates.
    pub store: Arc<dyn ForgeStore>,
    /// The shared secret (`None`: the endpoint is off).
    pub secret: Option<Secret>,
    /// Largest accepted body.
    pub max_body_bytes: usize,
}

/// The webhook route, to merge into the collector's router.
pub fn forge_hook_router(state: ForgeHookState) -> Router {
    let limit = state.max_body_bytes;
    Router::new()
        .route(FORGE_HOOK_PATH, post(github_hook))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// HMAC-SHA256 of `body` under `key` (RFC 2104).
pub fn hmac_sha256(key: &[u8], body: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(body).finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Whether `header` (`sha256=<hex>`) signs `body` under `secret`; the
/// comparison takes the same time wherever the bytes differ.
pub fn signature_matches(secret: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = decode_hex(hex) else {
        return false;
    };
    let expected = hmac_sha256(secret.as_bytes(), body);
    given.len() == expected.len() && bool::from(given.ct_eq(&expected))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    pull_request: EventPull,
}

#[derive(Deserialize)]
struct EventPull {
    number: u64,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    head: EventHead,
}

#[derive(Deserialize)]
struct EventHead {
    sha: String,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

async fn github_hook(State(state): State<ForgeHookState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.secret else {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook_disabled",
            format!("the GitHub webhook is off: start `bugstack serve` with {WEBHOOK_SECRET_ENV} set to the webhook's secret"),
        )
        .into_response();
    };
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    let Some(signature) = signature else {
        return ApiError::unauthorized("missing X-Hub-Signature-256; configure the webhook with a secret")
            .into_response();
    };
    if !signature_matches(secret.expose(), &body, signature) {
        return ApiError::unauthorized(format!(
            "X-Hub-Signature-256 does not match the body under the secret in {WEBHOOK_SECRET_ENV}"
        ))
        .into_response();
    }
    let event = headers
        .get("x-github-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match event {
        "ping" => return answer(StatusCode::OK, json!({ "status": "pong" })),
        "pull_request" => {}
        _ => {
            return answer(
                StatusCode::ACCEPTED,
                json!({ "status": "ignored", "reason": "not a pull_request event" }),
            )
        }
    }
    let event: PullRequestEvent = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => {
            return ApiError::bad_request("invalid_event", format!("not a pull_request event: {e}")).into_response()
        }
    };
    if event.action != "closed" {
        return answer(
            StatusCode::ACCEPTED,
            json!({ "status": "ignored", "reason": "only `closed` changes an incident" }),
        );
    }
    let pull = event.pull_request;
    let change = if pull.merged || pull.merged_at.is_some() {
        ForgeChange::Merged {
            commit: pull.merge_commit_sha.unwrap_or(pull.head.sha),
        }
    } else {
        ForgeChange::Closed
    };
    let store = state.store.clone();
    let Ok(forge_number) = i64::try_from(pull.number) else {
        return answer(
            StatusCode::ACCEPTED,
            json!({ "status": "ignored", "reason": "unknown pull request" }),
        );
    };
    let applied = tokio::task::spawn_blocking(move || {
        let Some(number) = store.pull_request_by_forge_number(forge_number)? else {
            return Ok(None);
        };
        // The webhook is the default project's repository's: another
        // project's pull request with the same number is another one.
        if !of_default_project(store.as_ref(), number)? {
            return Ok(None);
        }
        let cause = Cause::new(FORGE_ACTOR, "GitHub webhook");
        store
            .apply_forge_change(number, &change, &cause, Timestamp::now())
            .map(Some)
    })
    .await;
    match applied {
        Ok(Ok(None)) => answer(
            StatusCode::ACCEPTED,
            json!({ "status": "ignored", "reason": "not a bugstack fix pull request" }),
        ),
        Ok(Ok(Some(ForgeSync::Applied(record)))) => answer(
            StatusCode::OK,
            json!({ "status": "applied", "pull_request": record.number, "incident": record.incident_id,
                    "state": crate::store::pull_request_state_name(record.state) }),
        ),
        Ok(Ok(Some(ForgeSync::Unchanged(record)))) => answer(
            StatusCode::OK,
            json!({ "status": "unchanged", "pull_request": record.number }),
        ),
        Ok(Err(e)) => ApiError::new(StatusCode::CONFLICT, "not_applied", e.to_string()).into_response(),
        Err(e) => ApiError::unavailable(format!("store task failed: {e}")).into_response(),
    }
}

/// Whether the store's pull request `number` belongs to the default project
/// (through its incident; one not linked to an incident yet counts as the
/// default project's).
fn of_default_project(store: &dyn ForgeStore, number: i64) -> crate::Result<bool> {
    let incident = store
        .pull_requests()?
        .into_iter()
        .find(|p| p.number == number)
        .and_then(|p| p.incident_id);
    Ok(match incident {
        Some(id) => store.incident(id)?.project == crate::store::DEFAULT_PROJECT_ID,
        None => true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_githubs_hmac_sha256() {
        // GitHub's documented example ("Validating webhook deliveries").
        let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World!",
            header
        ));
        assert!(!signature_matches("another secret", b"Hello, World!", header));
        assert!(!signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World?",
            header
        ));
        assert!(!signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World!",
            "sha1=757107"
        ));
        assert!(!signature_matches(
            "It's a Secret to Everybody",
            b"Hello, World!",
            "sha256=zz"
        ));
        // RFC 4231 test case 6: a key longer than the block.
        let mac = hmac_sha256(&[0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
}
