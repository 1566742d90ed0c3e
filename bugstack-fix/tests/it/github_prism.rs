//! GitHub conformance: the GitHub forge against Prism serving GitHub's
//! official OpenAPI description (`@octokit/openapi`), so a request that does
//! not match GitHub's API (path, query, body) gets a 422 and fails the test.
//!
//! The description is trimmed to the operations the forge uses (plus the
//! components they reference), `nullable` without `type` is stripped (else
//! Prism silently stops validating), and `application/vnd.github+json` is
//! aliased to `application/json` in every response (else Prism answers
//! GitHub's own media type with 406). One Prism per test binary, killed
//! with its process group on drop. Without `.peers` the test is skipped
//! with a notice, unless `CI` is set.

use crate::support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bugstack_fix::{DecisionKind, Deployer, Forge, ForgeDeployer, ForgeKind, GitHubConfig, GitHubForge, Policy};
use reqwest::Method;
use serde_json::{json, Map, Value};
use support::deploy::*;
use support::prism::{peers, Prism};

/// The operations the GitHub forge calls.
const OPERATIONS: &[(&str, &[&str])] = &[
    ("/repos/{owner}/{repo}/pulls", &["get", "post"]),
    ("/repos/{owner}/{repo}/issues/{issue_number}/labels", &["post"]),
    ("/repos/{owner}/{repo}/issues/{issue_number}/comments", &["post"]),
    ("/repos/{owner}/{repo}/commits/{ref}/status", &["get"]),
    ("/repos/{owner}/{repo}/commits/{ref}/check-runs", &["get"]),
    ("/repos/{owner}/{repo}/pulls/{pull_number}/merge", &["put"]),
    ("/repos/{owner}/{repo}/pulls/{pull_number}", &["get", "patch"]),
];

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// Prism trap 1: `nullable` on a schema without `type` turns validation off.
fn strip_untyped_nullable(v: &mut Value) -> usize {
    let mut n = 0;
    match v {
        Value::Object(m) => {
            if m.contains_key("nullable") && !m.contains_key("type") {
                m.remove("nullable");
                n += 1;
            }
            n += m.values_mut().map(strip_untyped_nullable).sum::<usize>();
        }
        Value::Array(a) => n += a.iter_mut().map(strip_untyped_nullable).sum::<usize>(),
        _ => {}
    }
    n
}

/// Prism trap 3: serve GitHub's media type wherever JSON is served.
fn alias_media_type(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(content)) = m.get_mut("content") {
                if content.keys().all(|k| k.contains('/')) {
                    if let Some(json) = content.get("application/json").cloned() {
                        content.insert("application/vnd.github+json".into(), json);
                    }
                }
            }
            m.values_mut().for_each(alias_media_type);
        }
        Value::Array(a) => a.iter_mut().for_each(alias_media_type),
        _ => {}
    }
}

fn trimmed_spec(full: &Value) -> Value {
    let mut paths = Map::new();
    for (path, methods) in OPERATIONS {
        let item = full["paths"][*path]
            .as_object()
            .unwrap_or_else(|| panic!("{path} not in spec"));
        let kept: Map<String, Value> = item
            .iter()
            .filter(|(k, _)| methods.contains(&k.as_str()) || k.as_str() == "parameters")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        assert!(kept.len() > methods.len() - 1, "{path}: methods missing");
        paths.insert(path.to_string(), Value::Object(kept));
    }
    let paths = Value::Object(paths);
    let mut todo = BTreeSet::new();
    collect_refs(&paths, &mut todo);
    let mut seen = BTreeSet::new();
    let mut components: Map<String, Value> = Map::new();
    while let Some(r) = todo.pop_first() {
        if !seen.insert(r.clone()) {
            continue;
        }
        let parts: Vec<&str> = r.trim_start_matches("#/").splitn(3, '/').collect();
        let [_, kind, name] = parts[..] else {
            panic!("unexpected $ref {r}")
        };
        let def = full["components"][kind][name].clone();
        assert!(!def.is_null(), "dangling $ref {r}");
        collect_refs(&def, &mut todo);
        components
            .entry(kind.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .unwrap()
            .insert(name.to_string(), def);
    }
    let mut spec = json!({
        "openapi": full["openapi"],
        "info": full["info"],
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": components,
    });
    strip_untyped_nullable(&mut spec);
    alias_media_type(&mut spec);
    spec
}

/// Prism serving GitHub's description, trimmed to [`OPERATIONS`].
async fn github_prism(peers: PathBuf) -> Prism {
    let full: Value = serde_json::from_slice(
        &std::fs::read(peers.join("node_modules/@octokit/openapi/generated/api.github.com.json")).unwrap(),
    )
    .unwrap();
    let spec = serde_json::to_string(&trimmed_spec(&full)).unwrap();
    tokio::task::spawn_blocking(move || {
        Prism::serve(&peers, "github.json", &spec, "/repos/octo/shop/commits/abc/status")
    })
    .await
    .unwrap()
}

fn policy(url: &str) -> Policy {
    let mut p = Policy::default();
    p.forge.kind = ForgeKind::Github;
    p.forge.repository = Some("octo/shop".into());
    p.forge.api_url = Some(url.to_string());
    p.forge.ci_timeout_secs = 5;
    p
}

/// `body` sent to `path` on `prism` as GitHub's REST API is called.
async fn send(prism: &Prism, method: Method, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .request(method, format!("{}{path}", prism.url))
        .header("accept", "application/vnd.github+json")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_forge_conforms_to_the_official_openapi_description() {
    let Some(peers) = peers("GitHub conformance") else {
        return;
    };
    let prism = github_prism(peers).await;

    // 1. Validation is on: requests that break GitHub's API get 422 (and
    //    Prism names what is wrong).
    for (method, path, body, what, named) in [
        (
            Method::POST,
            "/repos/octo/shop/pulls",
            json!({ "title": "no head", "base": "main" }),
            "missing `head`",
            Some("head"),
        ),
        (
            Method::PUT,
            "/repos/octo/shop/pulls/7/merge",
            json!({ "merge_method": "bogus" }),
            "an unknown merge_method",
            None,
        ),
        (
            Method::PATCH,
            "/repos/octo/shop/pulls/1347",
            json!({ "state": "bogus" }),
            "an unknown pull request state",
            None,
        ),
    ] {
        let bad = send(&prism, method, path, body).await;
        assert_eq!(bad.status(), 422, "{what} must be rejected");
        if let Some(named) = named {
            let why = bad.headers()["sl-violations"].to_str().unwrap().to_string();
            assert!(why.contains(named), "{why}");
        }
    }

    // 2. The whole deployment, auto-merge: every request the forge makes is
    //    valid (a 422 would surface as an error).
    let fx = Fixture::conventional();
    let policy = policy(&prism.url);
    let forge = Arc::new(
        GitHubForge::new(
            GitHubConfig::from_forge_config(&policy.forge).unwrap(),
            bugstack_core::Secret::new("ghp_conformance"),
        )
        .unwrap(),
    );
    let deployer = ForgeDeployer::with_plain_body(forge.clone())
        .with_ci_polling(Duration::from_millis(50), Duration::from_millis(200));
    let ctx = context(&fx, 2);
    let d = deployer
        .deploy(
            &ctx,
            &report(&ctx, cart_patch(), DecisionKind::AutoMerge, true),
            &policy,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\nprism log:\n{}", prism.log_text()));
    // Prism's examples: PR #1347, combined status success, a neutral check
    // run, and a successful merge.
    assert_eq!(d.pull_request.number, 1347);
    assert!(d.merged, "{}", d.reason);
    assert_eq!(fx.remote_tip(&d.branch).unwrap(), d.commit);

    // 3. Each operation on its own, including the ones a first deployment
    //    does not need (comment on a reused PR).
    let pr = forge.find_open_pull_request("new-topic").await.unwrap().unwrap();
    assert_eq!(pr.number, 1347);
    assert!(forge.find_open_pull_request(&d.branch).await.unwrap().is_none());
    forge.comment(1347, "seen again: 3 occurrences").await.unwrap();
    forge
        .add_labels(1347, &["bugstack".to_string(), "bug".to_string()])
        .await
        .unwrap();
    let report = report(&ctx, cart_patch(), DecisionKind::AutoMerge, true);
    assert_eq!(
        forge.ci_status(&d.commit, &report).await.unwrap(),
        bugstack_fix::CiStatus::Success
    );
    for method in [
        bugstack_fix::MergeMethod::Squash,
        bugstack_fix::MergeMethod::Merge,
        bugstack_fix::MergeMethod::Rebase,
    ] {
        let out = forge.merge(&pr, method).await.unwrap();
        assert!(matches!(out, bugstack_fix::MergeOutcome::Merged { .. }), "{out:?}");
    }

    // 4. Keeping incidents in step: the conditional poll of one pull request
    //    (with and without an ETag) and closing one are valid requests.
    for etag in [None, Some("\"an-etag\"")] {
        let polled = forge
            .poll_pull_request(1347, etag)
            .await
            .unwrap_or_else(|e| panic!("{e}\nprism log:\n{}", prism.log_text()));
        let bugstack_fix::PullRequestPoll::Current { pull_request, .. } = polled else {
            panic!("Prism always answers 200")
        };
        assert_eq!(pull_request.number, 1347);
    }
    let closed = forge
        .close_pull_request(1347)
        .await
        .unwrap_or_else(|e| panic!("{e}\nprism log:\n{}", prism.log_text()));
    assert_eq!(closed.number, 1347);

    let log = prism.log_text();
    assert!(!log.contains("ghp_conformance"), "token leaked into the mock's log");
}
