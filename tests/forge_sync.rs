//! Fix pull requests merged or closed by a person on GitHub move their
//! incident, two ways, over real HTTP on loopback:
//! - polling: `forge_sync::poll_once` against a scripted server speaking
//!   GitHub's `GET /repos/{o}/{r}/pulls/{n}`, with ETags and `304`s;
//! - the webhook: `POST /v1/forge/github` on the collector's router, with a
//!   good, a bad and a missing `X-Hub-Signature-256`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bugstack::collector::{forge_hook_router, hmac_sha256, ForgeHookState, FORGE_HOOK_PATH};
use bugstack::core::{Event, EventKind, Level, Secret, Timestamp};
use bugstack::fix::{GitHubConfig, GitHubForge};
use bugstack::forge_sync::poll_once;
use bugstack::store::{ForgeStore, IncidentStore, RunPullRequest, SqliteStore, Status};
use common::propose_next;
use serde_json::{json, Value};

/// An incident whose run proposed GitHub pull request `forge_number`.
fn proposed(s: &SqliteStore, msg: &str, forge_number: i64) -> (i64, i64) {
    let e = Event::new(EventKind::Panic, Level::Fatal, msg, Timestamp::now());
    s.ingest(&[e], Timestamp::now()).unwrap();
    let pr = RunPullRequest {
        url: format!("https://github.com/octo/shop/pull/{forge_number}"),
        title: format!("bugstack: fix {msg}"),
        branch: format!("bugstack/fix-{forge_number}"),
        decision: "review".into(),
        forge_number: Some(forge_number),
        patch_hash: Some(format!("hash-{forge_number}")),
        ..RunPullRequest::default()
    };
    propose_next(s, pr, json!({}))
}

/// The scripted GitHub: each pull request's state and ETag, and every
/// request's `If-None-Match` and `Authorization`.
#[derive(Default)]
struct Script {
    pulls: BTreeMap<u64, (Value, String)>,
    seen: Vec<(u64, Option<String>, Option<String>)>,
}

type Shared = Arc<Mutex<Script>>;

async fn pull(State(script): State<Shared>, Path((_o, _r, n)): Path<(String, String, u64)>, h: HeaderMap) -> Response {
    let mut script = script.lock().unwrap();
    let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    script.seen.push((n, header("if-none-match"), header("authorization")));
    let Some((body, etag)) = script.pulls.get(&n).cloned() else {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response();
    };
    if header("if-none-match").as_deref() == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
    }
    (StatusCode::OK, [("etag", etag)], Json(body)).into_response()
}

fn github_pull(n: u64, state: &str, merged: bool) -> Value {
    json!({
        "number": n,
        "html_url": format!("https://github.com/octo/shop/pull/{n}"),
        "title": "bugstack: fix",
        "body": null,
        "state": state,
        "merged": merged,
        "merged_at": if merged { json!("2026-12-05T03:00:00Z") } else { Value::Null },
        "merge_commit_sha": "f00dfeed",
        "head": { "ref": format!("bugstack/fix-{n}"), "sha": "abc123" },
        "base": { "ref": "main", "sha": "0000" },
        "labels": [],
    })
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_with_etags_syncs_merges_and_closes_and_a_304_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (merged_incident, merged_pr) = proposed(&store, "boom", 41);
    let (closed_incident, closed_pr) = proposed(&store, "bang", 42);
    let script: Shared = Arc::default();
    {
        let mut s = script.lock().unwrap();
        s.pulls.insert(41, (github_pull(41, "open", false), "\"e41-1\"".into()));
        s.pulls.insert(42, (github_pull(42, "open", false), "\"e42-1\"".into()));
    }
    let url = serve(
        Router::new()
            .route("/repos/{o}/{r}/pulls/{n}", get(pull))
            .with_state(script.clone()),
    )
    .await;
    let mut cfg = GitHubConfig::new("octo", "shop");
    cfg.api_url = url;
    let forge = GitHubForge::new(cfg, Secret::new("ghp_poll_token")).unwrap();

    // First look: both open, ETags stored, nothing moves.
    let s = poll_once(&store, &forge).await.unwrap();
    assert_eq!((s.checked, s.not_modified, s.merged, s.closed), (2, 0, 0, 0), "{s:?}");
    assert_eq!(store.incident(merged_incident).unwrap().status, Status::FixProposed);
    // Second look: unchanged, so 304s, sent with the stored ETags.
    let s = poll_once(&store, &forge).await.unwrap();
    assert_eq!((s.checked, s.not_modified), (2, 2), "{s:?}");
    {
        let seen = &script.lock().unwrap().seen;
        assert_eq!(seen[2].1.as_deref(), Some("\"e41-1\""));
        assert_eq!(seen[3].1.as_deref(), Some("\"e42-1\""));
        assert_eq!(seen[0].1, None, "the first request is unconditional");
        assert!(seen.iter().all(|r| r.2.as_deref() == Some("Bearer ghp_poll_token")));
    }
    // A person merges #41 and closes #42 on GitHub.
    {
        let mut s = script.lock().unwrap();
        s.pulls
            .insert(41, (github_pull(41, "closed", true), "\"e41-2\"".into()));
        s.pulls
            .insert(42, (github_pull(42, "closed", false), "\"e42-2\"".into()));
    }
    let s = poll_once(&store, &forge).await.unwrap();
    assert_eq!((s.merged, s.closed), (1, 1), "{s:?}");
    let fixed = store.incident(merged_incident).unwrap();
    assert_eq!(
        (fixed.status, fixed.fixed_in_release.as_deref()),
        (Status::Fixed, Some("f00dfeed")),
        "fixed at the merge commit GitHub reports"
    );
    let prs = store.pull_requests().unwrap();
    let merged = prs.iter().find(|p| p.number == merged_pr).unwrap();
    assert_eq!(merged.merge_commit.as_deref(), Some("f00dfeed"));
    assert_eq!(store.incident(closed_incident).unwrap().status, Status::Open);
    assert_eq!(store.rejected_patches(closed_incident).unwrap().len(), 1);
    assert!(prs.iter().any(|p| p.number == closed_pr));
    // Nothing open is left: the next poll asks nothing.
    let before = script.lock().unwrap().seen.len();
    let s = poll_once(&store, &forge).await.unwrap();
    assert_eq!(s.checked, 0);
    assert_eq!(script.lock().unwrap().seen.len(), before);
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mac = hmac_sha256(secret.as_bytes(), body);
    format!("sha256={}", mac.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn closed_event(n: u64, merged: bool) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "action": "closed",
        "number": n,
        "pull_request": github_pull(n, "closed", merged),
        "repository": { "full_name": "octo/shop" },
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_applies_signed_closes_and_merges_and_refuses_bad_signatures() {
    const SECRET: &str = "whsec-loopback";
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let (merged_incident, _) = proposed(&store, "boom", 7);
    let (closed_incident, _) = proposed(&store, "bang", 8);
    let url = serve(forge_hook_router(ForgeHookState {
        store: store.clone(),
        secret: Some(Secret::new(SECRET)),
        max_body_bytes: 64 * 1024,
    }))
    .await;
    let http = reqwest::Client::new();
    let post = |event: &'static str, body: Vec<u8>, signature: Option<String>| {
        let mut req = http
            .post(format!("{url}{FORGE_HOOK_PATH}"))
            .header("x-github-event", event)
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = signature {
            req = req.header("x-hub-signature-256", s);
        }
        req.send()
    };

    // Missing and bad signatures: 401, nothing changes.
    let body = closed_event(7, true);
    let r = post("pull_request", body.clone(), None).await.unwrap();
    assert_eq!(r.status(), 401);
    let r = post("pull_request", body.clone(), Some(sign("wrong secret", &body)))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let r = post("pull_request", tampered, Some(sign(SECRET, &body))).await.unwrap();
    assert_eq!(r.status(), 401, "the signature covers the raw body");
    assert_eq!(store.incident(merged_incident).unwrap().status, Status::FixProposed);

    // ping: 200; other events: 202 and ignored.
    let ping = br#"{"zen":"Keep it logically awesome."}"#.to_vec();
    let r = post("ping", ping.clone(), Some(sign(SECRET, &ping))).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = post("push", ping.clone(), Some(sign(SECRET, &ping))).await.unwrap();
    assert_eq!(r.status(), 202);

    // Signed merge: fixed at the merge commit; delivered twice: unchanged.
    let r = post("pull_request", body.clone(), Some(sign(SECRET, &body)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["status"], "applied", "{answer}");
    let fixed = store.incident(merged_incident).unwrap();
    assert_eq!(
        (fixed.status, fixed.fixed_in_release.as_deref()),
        (Status::Fixed, Some("f00dfeed"))
    );
    let r = post("pull_request", body.clone(), Some(sign(SECRET, &body)))
        .await
        .unwrap();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(answer["status"], "unchanged", "{answer}");

    // Signed close: open again, the patch rejected.
    let body = closed_event(8, false);
    let r = post("pull_request", body.clone(), Some(sign(SECRET, &body)))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(store.incident(closed_incident).unwrap().status, Status::Open);
    assert_eq!(store.rejected_patches(closed_incident).unwrap().len(), 1);

    // A pull request bugstack did not open: 202, ignored.
    let body = closed_event(999, true);
    let r = post("pull_request", body.clone(), Some(sign(SECRET, &body)))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);

    // Too large: refused before it is read whole.
    let big = vec![b' '; 128 * 1024];
    let r = post("pull_request", big.clone(), Some(sign(SECRET, &big)))
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_secret_the_webhook_is_off_and_says_how_to_turn_it_on() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let url = serve(forge_hook_router(ForgeHookState {
        store,
        secret: None,
        max_body_bytes: 1024,
    }))
    .await;
    let r = reqwest::Client::new()
        .post(format!("{url}{FORGE_HOOK_PATH}"))
        .header("x-github-event", "ping")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let text = r.text().await.unwrap();
    assert!(text.contains("BUGSTACK_GITHUB_WEBHOOK_SECRET"), "{text}");
}
