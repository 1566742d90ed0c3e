//! The GitHub forge's behaviour against a scripted local server speaking
//! GitHub's REST protocol (axum on 127.0.0.1:0, every request recorded).
//! Pushes go to a real local bare remote.

use crate::support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bugstack_fix::{
    DecisionKind, Deployer, Deployment, ForgeDeployer, ForgeKind, GitHubConfig, GitHubForge, Policy, Result,
};
use serde_json::{json, Value};
use support::deploy::*;

const TOKEN: &str = "ghp_test_token_1234567890";

#[derive(Debug, Clone)]
struct Req {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Value,
    at: Instant,
}

impl Req {
    /// Which endpoint: `pulls`, `labels`, `comments`, `status`, `check-runs`, `merge`.
    fn route(&self) -> &'static str {
        let p = &self.path;
        if p.ends_with("/merge") {
            "merge"
        } else if p.ends_with("/labels") {
            "labels"
        } else if p.ends_with("/comments") {
            "comments"
        } else if p.ends_with("/status") {
            "status"
        } else if p.ends_with("/check-runs") {
            "check-runs"
        } else if p.ends_with("/pulls") {
            "pulls"
        } else {
            "other"
        }
    }

    fn key(&self) -> String {
        format!("{} {}", self.method, self.route())
    }
}

#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

fn reply(status: u16, body: Value) -> Reply {
    Reply {
        status,
        headers: Vec::new(),
        body,
    }
}

type Script = Arc<dyn Fn(&Req, usize) -> Reply + Send + Sync>;

struct ServerState {
    script: Script,
    log: Mutex<Vec<Req>>,
}

struct Server {
    url: String,
    state: Arc<ServerState>,
}

impl Server {
    fn log(&self) -> Vec<Req> {
        self.state.log.lock().unwrap().clone()
    }

    fn keys(&self) -> Vec<String> {
        self.log().iter().map(Req::key).collect()
    }
}

async fn handle(
    State(st): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        at: Instant::now(),
    };
    let n = {
        let mut log = st.log.lock().unwrap();
        let n = log.iter().filter(|r| r.key() == req.key()).count();
        log.push(req.clone());
        n
    };
    let r = (st.script)(&req, n);
    let mut b = Response::builder()
        .status(r.status)
        .header("content-type", "application/json; charset=utf-8");
    for (k, v) in r.headers {
        b = b.header(k, v);
    }
    b.body(Body::from(r.body.to_string())).unwrap()
}

async fn serve(script: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> Server {
    let state = Arc::new(ServerState {
        script: Arc::new(script),
        log: Mutex::new(Vec::new()),
    });
    let app = axum::Router::new().fallback(handle).with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { url, state }
}

fn pull(number: u64, branch: &str, sha: &str) -> Value {
    json!({
        "number": number,
        "html_url": format!("https://github.com/octo/shop/pull/{number}"),
        "title": "fix(cart): avoid index-oob panic in cart::total",
        "body": "body",
        "state": "open",
        "merged_at": null,
        "head": { "ref": branch, "sha": sha, "label": format!("octo:{branch}") },
        "base": { "ref": "main", "sha": "0000000000000000000000000000000000000000" },
        "labels": [],
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": "2024-05-01T10:00:00Z"
    })
}

fn branch_of(req: &Req) -> String {
    req.body["head"].as_str().unwrap_or("bugstack/fix-unknown").to_string()
}

/// GitHub on a good day: no open PR, PR #7 created, labels added, CI green,
/// merge succeeds.
fn happy(req: &Req, _n: usize) -> Reply {
    match (req.method.as_str(), req.route()) {
        ("GET", "pulls") => reply(200, json!([])),
        ("POST", "pulls") => reply(201, pull(7, &branch_of(req), "abc")),
        ("POST", "labels") => reply(200, json!([{ "name": "bugstack" }])),
        ("POST", "comments") => reply(201, json!({ "id": 1, "body": req.body["body"] })),
        ("GET", "status") => reply(
            200,
            json!({ "state": "success", "total_count": 1, "statuses": [{ "context": "ci/build", "state": "success" }] }),
        ),
        ("GET", "check-runs") => reply(
            200,
            json!({ "total_count": 1, "check_runs": [{ "name": "test", "status": "completed", "conclusion": "success" }] }),
        ),
        ("PUT", "merge") => reply(
            200,
            json!({ "sha": "5eed000000000000000000000000000000000000", "merged": true, "message": "Pull Request successfully merged" }),
        ),
        _ => reply(404, json!({ "message": "Not Found" })),
    }
}

/// The [`happy`] script, except that `method route` is answered `answer`.
fn happy_except(
    method: &'static str,
    route: &'static str,
    answer: Reply,
) -> impl Fn(&Req, usize) -> Reply + Send + Sync + 'static {
    move |req, n| {
        if (req.method.as_str(), req.route()) == (method, route) {
            answer.clone()
        } else {
            happy(req, n)
        }
    }
}

struct Run {
    fx: Fixture,
    server: Server,
    result: Result<Deployment>,
    elapsed: Duration,
}

fn policy(url: &str) -> Policy {
    let mut p = Policy::default();
    p.forge.kind = ForgeKind::Github;
    p.forge.repository = Some("octo/shop".into());
    p.forge.api_url = Some(url.to_string());
    p.forge.labels = vec!["bugstack".into(), "automated".into()];
    p.forge.ci_timeout_secs = 5;
    p
}

async fn run_with(
    kind: DecisionKind,
    tweak: impl FnOnce(&mut Policy),
    script: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static,
) -> Run {
    let fx = Fixture::conventional();
    let server = serve(script).await;
    let mut policy = policy(&server.url);
    tweak(&mut policy);
    let forge = GitHubForge::new(
        GitHubConfig::from_forge_config(&policy.forge).unwrap(),
        bugstack_core::Secret::new(TOKEN),
    )
    .unwrap();
    let deployer = ForgeDeployer::with_plain_body(Arc::new(forge))
        .with_ci_polling(Duration::from_millis(20), Duration::from_millis(100));
    let ctx = context(&fx, 3);
    let report = report(&ctx, cart_patch(), kind, true);
    let t = Instant::now();
    let result = deployer.deploy(&ctx, &report, &policy).await;
    Run {
        fx,
        server,
        result,
        elapsed: t.elapsed(),
    }
}

async fn run(kind: DecisionKind, script: impl Fn(&Req, usize) -> Reply + Send + Sync + 'static) -> Run {
    run_with(kind, |_| {}, script).await
}

/// `r`'s deployment left its pull request open, never asking to merge it,
/// and its reason says each of `said`.
fn assert_left_open(r: &Run, said: &[&str]) {
    let d = r.result.as_ref().unwrap();
    assert!(!d.merged, "{}", d.reason);
    for words in said {
        assert!(d.reason.contains(words), "{words:?} not in: {}", d.reason);
    }
    assert!(!r.server.keys().contains(&"PUT merge".to_string()));
}

#[tokio::test]
async fn happy_path_opens_labels_waits_for_green_ci_and_merges() {
    let r = run(DecisionKind::AutoMerge, |req, n| {
        match (req.method.as_str(), req.route()) {
            ("GET", "status") if n == 0 => reply(
                200,
                json!({ "state": "pending", "statuses": [{ "context": "ci/build", "state": "pending" }] }),
            ),
            _ => happy(req, n),
        }
    })
    .await;
    let d = r.result.unwrap();
    assert!(d.merged, "{}", d.reason);
    assert!(d.reason.contains("merged as 5eed"), "{}", d.reason);
    assert_eq!(d.pull_request.number, 7);
    assert_eq!(d.pull_request.url, "https://github.com/octo/shop/pull/7");
    assert_eq!(r.fx.remote_tip(&d.branch).unwrap(), d.commit, "the branch was pushed");
    assert_eq!(
        r.server.keys(),
        [
            "GET pulls",
            "POST pulls",
            "POST labels",
            "GET status",
            "GET check-runs",
            "GET status",
            "GET check-runs",
            "PUT merge"
        ]
    );
    let log = r.server.log();
    for req in &log {
        assert_eq!(req.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(req.headers["accept"], "application/vnd.github+json");
        assert_eq!(req.headers["x-github-api-version"], "2022-11-28");
        assert!(req.headers["user-agent"].starts_with("bugstack/"));
        assert!(req.path.starts_with("/repos/octo/shop/"), "{}", req.path);
    }
    let branch_q = d.branch.replace('/', "%2F");
    assert!(
        log[0].query.contains(&format!("head=octo%3A{branch_q}")) && log[0].query.contains("state=open"),
        "{}",
        log[0].query
    );
    let open = &log[1].body;
    assert_eq!(open["head"], d.branch.as_str());
    assert_eq!(open["base"], "main");
    assert_eq!(open["title"], "fix(cart): avoid index-oob panic in cart::total");
    assert!(open["body"].as_str().unwrap().contains("index out of bounds"));
    assert_eq!(log[2].path, "/repos/octo/shop/issues/7/labels");
    assert_eq!(log[2].body, json!({ "labels": ["bugstack", "automated"] }));
    assert_eq!(log[3].path, format!("/repos/octo/shop/commits/{}/status", d.commit));
    assert_eq!(log[7].path, "/repos/octo/shop/pulls/7/merge");
    assert_eq!(log[7].body["merge_method"], "squash");
    assert_eq!(
        log[7].body["sha"],
        d.commit.as_str(),
        "merge is pinned to the pushed head"
    );
}

#[tokio::test]
async fn red_ci_leaves_the_pr_open_with_the_reason() {
    let checks = json!({ "total_count": 2, "check_runs": [
        { "name": "build", "status": "completed", "conclusion": "success" },
        { "name": "test", "status": "completed", "conclusion": "failure" }
    ] });
    let r = run(
        DecisionKind::AutoMerge,
        happy_except("GET", "check-runs", reply(200, checks)),
    )
    .await;
    assert_left_open(&r, &["CI failed", "check test failure"]);
}

#[tokio::test]
async fn a_failure_on_the_second_page_of_check_runs_blocks_the_merge() {
    let r = run(DecisionKind::AutoMerge, |req, n| {
        match (req.method.as_str(), req.route()) {
            ("GET", "check-runs") if req.query.contains("page=2") => reply(
                200,
                json!({ "total_count": 101, "check_runs": [
                    { "name": "late-test", "status": "completed", "conclusion": "failure" }
                ] }),
            ),
            ("GET", "check-runs") => {
                let runs: Vec<Value> = (0..100)
                    .map(|i| json!({ "name": format!("job-{i}"), "status": "completed", "conclusion": "success" }))
                    .collect();
                reply(200, json!({ "total_count": 101, "check_runs": runs }))
            }
            _ => happy(req, n),
        }
    })
    .await;
    assert_left_open(&r, &["check late-test failure"]);
}

#[tokio::test]
async fn pending_ci_times_out_and_leaves_the_pr_open() {
    let checks =
        json!({ "total_count": 1, "check_runs": [{ "name": "test", "status": "in_progress", "conclusion": null }] });
    let script = happy_except("GET", "check-runs", reply(200, checks));
    let r = run_with(DecisionKind::AutoMerge, |p| p.forge.ci_timeout_secs = 1, script).await;
    assert_left_open(&r, &["did not finish green within 1s", "check test in_progress"]);
    let keys = r.server.keys();
    assert!(
        keys.iter().filter(|k| *k == "GET status").count() >= 3,
        "polled: {keys:?}"
    );
}

#[tokio::test]
async fn no_ci_at_all_is_never_green() {
    let r = run_with(
        DecisionKind::AutoMerge,
        |p| p.forge.ci_timeout_secs = 0,
        |req, n| match (req.method.as_str(), req.route()) {
            ("GET", "status") => reply(200, json!({ "state": "pending", "total_count": 0, "statuses": [] })),
            ("GET", "check-runs") => reply(200, json!({ "total_count": 0, "check_runs": [] })),
            _ => happy(req, n),
        },
    )
    .await;
    assert_left_open(&r, &["no CI has reported"]);
}

async fn refused_merge(status: u16, message: &str) -> Deployment {
    let refusal = json!({ "message": message, "documentation_url": "https://docs.github.com" });
    let r = run(
        DecisionKind::AutoMerge,
        happy_except("PUT", "merge", reply(status, refusal)),
    )
    .await;
    assert_eq!(r.server.keys().last().unwrap(), "PUT merge");
    r.result.unwrap()
}

#[tokio::test]
async fn merge_refused_405_leaves_the_pr_open() {
    let d = refused_merge(405, "Pull Request is not mergeable").await;
    assert!(!d.merged);
    assert_eq!(d.pull_request.state, bugstack_fix::PullRequestState::Open);
    assert!(
        d.reason.contains("405") && d.reason.contains("Pull Request is not mergeable"),
        "{}",
        d.reason
    );
}

#[tokio::test]
async fn merge_refused_409_head_moved_leaves_the_pr_open() {
    let d = refused_merge(409, "Head branch was modified. Review and try the merge again.").await;
    assert!(!d.merged);
    assert!(
        d.reason.contains("409") && d.reason.contains("head moved") && d.reason.contains(&d.commit),
        "{}",
        d.reason
    );
}

#[tokio::test]
async fn an_existing_pr_422_is_found_and_reused() {
    let r = run(DecisionKind::Review, |req, n| {
        match (req.method.as_str(), req.route()) {
            ("GET", "pulls") if n == 0 => reply(200, json!([])),
            ("GET", "pulls") => {
                let head = req
                    .query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("head="))
                    .unwrap_or_default();
                let branch = head.replace("%3A", ":").replace("%2F", "/");
                let branch = branch.trim_start_matches("octo:").to_string();
                reply(200, json!([pull(17, &branch, "def")]))
            }
            ("POST", "pulls") => reply(
                422,
                json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest", "code": "custom",
                "message": format!("A pull request already exists for octo:{}.", branch_of(req)) }] }),
            ),
            _ => happy(req, n),
        }
    })
    .await;
    let d = r.result.unwrap();
    assert_eq!(d.pull_request.number, 17);
    assert!(!d.merged && d.reason.contains("left open for review"), "{}", d.reason);
    assert_eq!(
        r.server.keys(),
        ["GET pulls", "POST pulls", "GET pulls", "POST comments"]
    );
    let log = r.server.log();
    assert_eq!(log[3].path, "/repos/octo/shop/issues/17/comments");
    assert!(log[3].body["body"].as_str().unwrap().contains("3 occurrence(s)"));
}

#[tokio::test]
async fn an_open_pr_for_the_fingerprint_gets_a_comment_not_a_twin() {
    let r = run(DecisionKind::Review, |req, n| {
        match (req.method.as_str(), req.route()) {
            ("GET", "pulls") => {
                let q = req.query.replace("%3A", ":").replace("%2F", "/");
                let branch = q
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("head=octo:"))
                    .unwrap()
                    .to_string();
                reply(200, json!([pull(9, &branch, "old")]))
            }
            _ => happy(req, n),
        }
    })
    .await;
    let d = r.result.unwrap();
    assert_eq!(d.pull_request.number, 9);
    assert_eq!(r.server.keys(), ["GET pulls", "POST comments"]);
}

#[tokio::test]
async fn a_bad_token_is_a_clear_error_that_never_shows_the_token() {
    let r = run(DecisionKind::AutoMerge, |_, _| {
        reply(
            401,
            json!({ "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest" }),
        )
    })
    .await;
    let err = r.result.unwrap_err().to_string();
    assert!(
        err.contains("401") && err.contains("Bad credentials") && err.contains("GITHUB_TOKEN"),
        "{err}"
    );
    assert!(!err.contains(TOKEN), "{err}");
    assert_eq!(r.server.keys(), ["GET pulls"]);
}

fn epoch_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test]
async fn an_exhausted_rate_limit_waits_for_the_reset_and_retries() {
    let r = run(DecisionKind::Review, |req, n| {
        match (req.method.as_str(), req.route()) {
            ("GET", "pulls") if n == 0 => Reply {
                status: 403,
                headers: vec![
                    ("x-ratelimit-remaining".into(), "0".into()),
                    ("x-ratelimit-reset".into(), (epoch_now() + 1).to_string()),
                ],
                body: json!({ "message": "API rate limit exceeded for user ID 1." }),
            },
            // A success that uses the last request of the window holds the next one.
            ("POST", "pulls") => Reply {
                status: 201,
                headers: vec![
                    ("x-ratelimit-remaining".into(), "0".into()),
                    // Whole seconds: +2 is at least one second away.
                    ("x-ratelimit-reset".into(), (epoch_now() + 2).to_string()),
                ],
                body: pull(7, &branch_of(req), "abc"),
            },
            ("POST", "labels") if n == 0 => Reply {
                status: 429,
                headers: vec![("retry-after".into(), "1".into())],
                body: json!({ "message": "You have exceeded a secondary rate limit." }),
            },
            _ => happy(req, n),
        }
    })
    .await;
    let d = r.result.unwrap();
    assert_eq!(d.pull_request.number, 7);
    assert_eq!(
        r.server.keys(),
        ["GET pulls", "GET pulls", "POST pulls", "POST labels", "POST labels"]
    );
    let log = r.server.log();
    let gap = |a: usize, b: usize| log[b].at.duration_since(log[a].at);
    assert!(
        gap(0, 1) >= Duration::from_millis(900),
        "waited for the reset: {:?}",
        gap(0, 1)
    );
    assert!(
        gap(2, 3) >= Duration::from_millis(900),
        "held after remaining=0: {:?}",
        gap(2, 3)
    );
    assert!(
        gap(3, 4) >= Duration::from_millis(900),
        "honoured retry-after: {:?}",
        gap(3, 4)
    );
}

#[tokio::test]
async fn a_rate_limit_reset_too_far_away_is_an_error_not_a_hang() {
    let r = run(DecisionKind::Review, |_, _| Reply {
        status: 403,
        headers: vec![
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), (epoch_now() + 3600).to_string()),
        ],
        body: json!({ "message": "API rate limit exceeded" }),
    })
    .await;
    let err = r.result.unwrap_err().to_string();
    assert!(err.contains("rate limit"), "{err}");
    assert_eq!(r.server.keys(), ["GET pulls"]);
    assert!(r.elapsed < Duration::from_secs(60));
}

#[tokio::test]
async fn an_unexpected_answer_is_an_error_naming_the_endpoint() {
    let invalid = json!({ "message": "Validation Failed", "errors": [{ "message": "base does not exist" }] });
    let r = run(DecisionKind::Review, happy_except("POST", "pulls", reply(422, invalid))).await;
    let err = r.result.unwrap_err().to_string();
    assert!(
        err.contains("POST /repos/octo/shop/pulls") && err.contains("422") && err.contains("base does not exist"),
        "{err}"
    );
}

#[tokio::test]
async fn failing_side_steps_keep_the_pr_and_say_why() {
    let r = run(DecisionKind::AutoMerge, |req, n| {
        match (req.method.as_str(), req.route()) {
            ("POST", "labels") => reply(403, json!({ "message": "Resource not accessible by integration" })),
            ("GET", "status") => reply(500, json!({ "message": "Server Error" })),
            _ => happy(req, n),
        }
    })
    .await;
    let d = r.result.unwrap();
    assert_eq!(d.pull_request.number, 7);
    assert!(!d.merged);
    assert!(
        d.reason.contains("not merged") && d.reason.contains("500"),
        "{}",
        d.reason
    );
    assert!(
        d.reason.contains("labels not added") && d.reason.contains("Resource not accessible"),
        "{}",
        d.reason
    );
    assert!(!r.server.keys().contains(&"PUT merge".to_string()));
}
