//! The dashboard in a real browser: headless Chromium driven through
//! chromedriver (W3C WebDriver) against the real `bugstack serve`, after
//! real SDK traffic (this test binary re-runs itself as the SDK client;
//! `BUGSTACK_TEST_DASHBOARD_CLIENT` selects that role and is read only here).
//!
//! Signs in, opens the list and an incident, clicks through to a fix run and
//! its diff, ignores and reopens an incident, checks that an XSS payload in
//! an event shows as text and runs nothing, that no session means sign-in,
//! and that a POST without the CSRF token is refused. Screenshots go to
//! `target/dashboard-screenshots/` (or `$CARGO_TARGET_DIR/...`).
//!
//! Skips (saying so) where Chromium is not installed; under `CI` that fails.

mod common;
#[path = "common/webdriver.rs"]
mod webdriver;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use bugstack::core::Timestamp;
use bugstack::fix::{
    Attempt, CheckResult, CheckStatus, Confidence, Decision, DecisionKind, FixContext, FixReport, Patch, Signal,
    Validation,
};
use bugstack::sdk::{Level, Options, RequestContext};
use bugstack::store::{FixOutcome, IncidentStore, RunPullRequest, SqliteStore};
use common::*;
use serde_json::Value;
use webdriver::Browser;

const ROLE: &str = "BUGSTACK_TEST_DASHBOARD_CLIENT";
const TEST: &str = "the_dashboard_in_a_real_browser";

/// The panic the client raises (the incident that gets a fix run).
const PANIC: &str = "index out of bounds: the len is 3 but the index is 7";

/// Attacker-written event text: markup, a script end tag, a `javascript:` link.
const XSS: &str = "checkout failed <img src=x onerror=alert(1)> </script><script>alert(2)</script> \
                   <a href=\"javascript:alert(3)\">details</a>";

fn run_client() {
    let guard = bugstack::sdk::init(Options::default().no_spool().release("2.4.1").environment("production"));
    let request = RequestContext {
        method: Some("GET".into()),
        route: Some("/carts/{id}/items/{n}".into()),
        path: Some("/carts/7/items/7".into()),
        ..RequestContext::default()
    };
    bugstack::sdk::with_request(request, || {
        bugstack::sdk::add_breadcrumb(Level::Info, Some("http"), "GET /carts/7 → 200");
        bugstack::sdk::add_breadcrumb(Level::Warning, Some("cart"), "cart 7 has 3 items");
        let items = [1, 2, 3];
        let at = std::hint::black_box(7usize);
        let r = std::panic::catch_unwind(|| items[at]);
        assert!(r.is_err());
    });
    bugstack::sdk::capture_message(XSS, Level::Error);
    assert!(bugstack::sdk::flush(Duration::from_secs(30)), "flush timed out");
    drop(guard);
}

/// Where screenshots go.
fn screenshots() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
        .join("dashboard-screenshots")
}

const DIFF: &str = "diff --git a/src/cart.rs b/src/cart.rs\n--- a/src/cart.rs\n+++ b/src/cart.rs\n\
@@ -10,3 +10,3 @@ impl Cart {\n     pub fn item(&self, n: usize) -> Option<u32> {\n\
-        Some(self.items[n])\n+        self.items.get(n).copied()\n     }\n";

fn check(name: &str, status: CheckStatus, output: &str) -> CheckResult {
    CheckResult {
        name: name.into(),
        command: format!("cargo {name}"),
        status,
        base_status: Some(CheckStatus::Passed),
        exit_code: Some(i32::from(status != CheckStatus::Passed)),
        duration_ms: 2345,
        output: output.into(),
        verdict: None,
    }
}

/// A fix run for incident `id`, recorded through the store as a fix worker
/// would: a claimed job completed with a proposed pull request and its report.
fn record_fix_run(data: &std::path::Path, id: i64) {
    let store = SqliteStore::open(data).unwrap();
    let job = store
        .claim_incident_job(id, "worker-test", Duration::from_secs(60), Timestamp::now())
        .unwrap();
    let incident = job.pipeline_incident();
    let patch = Patch {
        diff: DIFF.into(),
        files: vec!["src/cart.rs".into()],
        lines_added: 1,
        lines_removed: 1,
        generator: "template".into(),
        class: Some("index-oob".into()),
        root_cause: "`items[n]` indexes past the end when n >= len".into(),
        explanation: "Return None for an index past the end (the function's own error channel).".into(),
        ..Patch::default()
    };
    let green = Validation {
        checks: vec![
            check("build", CheckStatus::Passed, "Compiling shop v0.1.0"),
            check("test", CheckStatus::Passed, "test result: ok. 9 passed; 0 failed"),
        ],
        regression: None,
        sandbox: None,
    };
    let context = FixContext {
        token_budget: 1000,
        tokens_used: 100,
        ..FixContext::new(incident, "/repo", "HEAD")
    };
    let decision = Decision {
        kind: DecisionKind::Review,
        reason: "confidence 0.42 is below the threshold 0.8: left for review".into(),
    };
    let report = FixReport {
        attempts: vec![
            Attempt {
                number: 1,
                patch: Some(patch.clone()),
                rejected: None,
                validation: Some(Validation {
                    checks: vec![check("test", CheckStatus::Failed, "thread 'x' panicked <b>bold</b>")],
                    ..green.clone()
                }),
                duration_ms: 5000,
            },
            Attempt {
                number: 2,
                patch: Some(patch.clone()),
                rejected: None,
                validation: Some(green),
                duration_ms: 4000,
            },
        ],
        fix: Some(patch),
        confidence: Some(Confidence {
            score: 0.42,
            signals: vec![
                Signal {
                    name: "checks_pass".into(),
                    observed: "2 of 2 checks pass".into(),
                    contribution: 0.3,
                    untrusted: false,
                },
                Signal {
                    name: "touches_panic_line".into(),
                    observed: "yes".into(),
                    contribution: 0.05,
                    untrusted: true,
                },
            ],
        }),
        stage_ms: BTreeMap::from([("validate".to_string(), 9000)]),
        ..FixReport::new(context, "template", decision, Timestamp::now())
    };
    let outcome = FixOutcome::Proposed {
        pr: RunPullRequest {
            title: "Fix: index out of bounds in Cart::item".into(),
            body: "the report".into(),
            branch: "bugstack/fix-cart-item".into(),
            decision: "review".into(),
            url: "javascript:alert(4)".into(),
            ..RunPullRequest::default()
        },
        report: serde_json::to_value(&report).unwrap(),
    };
    store
        .complete_job(job.job.id, "worker-test", &outcome, Timestamp::now())
        .unwrap();
}

#[test]
fn the_dashboard_in_a_real_browser() {
    if std::env::var_os(ROLE).is_some() {
        run_client();
        return;
    }
    let Some(browser) = Browser::start() else {
        return;
    };
    let shots = screenshots();
    let dir = tempdir();
    let data = data_path(&dir);
    // A repository on the local forge, so the pull requests page can close
    // (and merge) its pull requests.
    let (root, _remote, _release) = common::inventory::repo(dir.path());
    let server = Server::start_with_token(&data, &["--repo", root.to_str().unwrap()]);
    assert!(
        server
            .stdout_text()
            .contains(&format!("dashboard on http://{}/", server.addr)),
        "{}",
        server.stdout_text()
    );

    // Real SDK traffic: a panic (with breadcrumbs and a request) and an
    // event whose message is an XSS payload.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(ROLE, "1")
        .env("BUGSTACK_ENDPOINT", format!("http://{}", server.addr))
        .env("BUGSTACK_TOKEN", TOKEN)
        .env_remove("BUGSTACK_RELEASE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let api = client();
    let list = || -> Vec<Value> {
        let v: Value = api
            .get(server.url("/v1/incidents"))
            .bearer_auth(DASHBOARD_TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["incidents"].as_array().cloned().unwrap_or_default()
    };
    wait_until(Duration::from_secs(20), "two incidents", || list().len() == 2);
    let incidents = list();
    let id_of = |prefix: &str| {
        incidents
            .iter()
            .find(|i| i["title"].as_str().unwrap().starts_with(prefix))
            .and_then(|i| i["id"].as_i64())
            .unwrap_or_else(|| panic!("no incident {prefix}: {incidents:?}"))
    };
    let (panic_id, xss_id) = (id_of("index out of bounds"), id_of("checkout failed"));
    record_fix_run(&data, panic_id);

    // No session: any page sends the browser to sign in.
    browser.goto(&server.url(&format!("/incidents/{panic_id}")));
    assert!(browser.url().contains("/signin?next="), "{}", browser.url());
    browser.screenshot(&shots.join("signin.png"));
    // A wrong token (the ingest token) is refused.
    browser.type_into(&browser.find("#token"), TOKEN);
    browser.click(&browser.find("#signin"));
    browser.wait_for("#signin-error");
    assert!(browser.text_of("#signin-error").contains("ingest token"));
    // The dashboard token signs in, back to the page asked for.
    browser.type_into(&browser.find("#token"), DASHBOARD_TOKEN);
    browser.click(&browser.find("#signin"));
    browser.wait_for("#incident-title");
    assert!(
        browser.url().ends_with(&format!("/incidents/{panic_id}")),
        "{}",
        browser.url()
    );
    let cookie = browser
        .cookies()
        .into_iter()
        .find(|c| c["name"] == "bugstack_session")
        .expect("a session cookie");
    assert_eq!(
        (cookie["httpOnly"].as_bool(), cookie["sameSite"].as_str()),
        (Some(true), Some("Strict"))
    );

    // The list: both incidents, with counts and sparklines.
    browser.click(&browser.find("header a.brand"));
    browser.wait_for("#incidents");
    let table = browser.text_of("#incidents");
    assert!(table.contains(PANIC), "{table}");
    assert!(
        table.contains("checkout failed <img src=x onerror=alert(1)>"),
        "{table}"
    );
    assert_eq!(browser.find_all("#incidents svg.spark").len(), 4);
    browser.screenshot(&shots.join("incidents.png"));
    // Filtering by text.
    browser.type_into(&browser.find("input[name=q]"), "bounds");
    browser.click(&browser.find(".filters button"));
    browser.wait_url("q=bounds");
    assert_eq!(browser.find_all("#incidents tbody tr").len(), 1);

    // One incident: message, stack, request, environment, breadcrumbs, timeline.
    browser.click(&browser.find("a.incident-link"));
    browser.wait_for("#message");
    assert_eq!(browser.text_of("#message"), PANIC);
    assert_eq!(browser.text_of("#status"), "fix-proposed");
    assert!(!browser.find_all("#stack tbody tr").is_empty());
    let request = browser.text_of("#request");
    assert!(request.contains("/carts/{id}/items/{n}"), "{request}");
    let env = browser.text_of("#environment");
    assert!(env.contains("2.4.1") && env.contains("production"), "{env}");
    assert!(browser.text_of("#breadcrumbs").contains("cart 7 has 3 items"));
    assert!(browser.text_of("#timeline").contains("worker-test"));
    assert_eq!(browser.find_all("svg.bars").len(), 1);
    browser.screenshot(&shots.join("incident.png"));

    // Through to the fix run and its diff.
    browser.click(&browser.find("a.run-link"));
    browser.wait_for("#fix-diff");
    assert!(browser.title().starts_with("Run "), "{}", browser.title());
    assert_eq!(
        browser.text_of("#fix-diff .d-add"),
        "+        self.items.get(n).copied()"
    );
    assert_eq!(browser.text_of("#fix-diff .d-del"), "-        Some(self.items[n])");
    assert_eq!(browser.text_of("#confidence"), "0.42");
    let signals = browser.text_of("#signals");
    assert!(
        signals.contains("checks_pass") && signals.contains("untrusted"),
        "{signals}"
    );
    assert!(browser.text_of("#decision").contains("left for review"));
    assert_eq!(browser.find_all(".attempt").len(), 2);
    // The pull request's `javascript:` address is not a link.
    assert!(browser.find_all("#pull-request a[href^=javascript]").is_empty());
    browser.resize(1280, 1600);
    browser.screenshot(&shots.join("fix-run.png"));
    browser.resize(1280, 900);

    // The pull requests page.
    browser.goto(&server.url("/pulls"));
    assert!(browser
        .text_of("#pulls")
        .contains("Fix: index out of bounds in Cart::item"));
    assert!(browser.find_all("#pulls a[href^=javascript]").is_empty());
    browser.screenshot(&shots.join("pulls.png"));
    // Close it: the pull request is closed, its incident open again, by the
    // dashboard.
    browser.click(&browser.find("#close-1"));
    browser.wait_for("#flash");
    assert!(browser.text_of("#flash").starts_with("Closed"));
    assert!(browser.text_of("#pulls").contains("closed"));
    assert!(
        browser.find_all("#close-1").is_empty(),
        "no Close on a closed pull request"
    );
    browser.goto(&server.url(&format!("/incidents/{panic_id}")));
    assert_eq!(browser.text_of("#status"), "open");
    let timeline = browser.text_of("#timeline");
    assert!(
        timeline.contains("dashboard") && timeline.contains("closed from the dashboard"),
        "{timeline}"
    );

    // The XSS payload: shown as text, nothing ran, no markup made.
    browser.goto(&server.url(&format!("/incidents/{xss_id}")));
    assert_eq!(browser.text_of("#message"), XSS);
    assert_eq!(
        browser.text_of("#incident-title"),
        format!("{}…", XSS.chars().take(100).collect::<String>())
    );
    assert_eq!(browser.dialog(), None, "a dialog opened: the payload ran");
    for tag in ["img", "script", "a"] {
        assert!(
            browser
                .find_all(&format!("main #message {tag}, main h1 {tag}"))
                .is_empty(),
            "the payload made a <{tag}>"
        );
    }
    assert!(browser.find_all("main img").is_empty());
    browser.screenshot(&shots.join("xss.png"));

    // Ignore, then reopen: each recorded as the dashboard's.
    browser.click(&browser.find("#action-ignore"));
    browser.wait_for("#action-reopen");
    assert_eq!(browser.text_of("#status"), "ignored");
    assert_eq!(browser.text_of("#flash"), "Ignored.");
    browser.click(&browser.find("#action-reopen"));
    browser.wait_for("#action-ignore");
    assert_eq!(browser.text_of("#status"), "open");
    let actors: Vec<String> = browser
        .find_all("#timeline td.actor")
        .iter()
        .map(|e| browser.text(e))
        .collect();
    assert_eq!(actors.iter().filter(|a| *a == "dashboard").count(), 2, "{actors:?}");

    // A POST with the session but without its CSRF token is refused, and
    // changes nothing; with a wrong one too.
    let session = cookie["value"].as_str().unwrap().to_string();
    let plain = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for body in ["", "csrf=0000"] {
        let r = plain
            .post(server.url(&format!("/incidents/{xss_id}/ignore")))
            .header("cookie", format!("bugstack_session={session}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{body:?}");
    }
    browser.goto(&server.url(&format!("/incidents/{xss_id}")));
    assert_eq!(browser.text_of("#status"), "open", "the refused POST changed nothing");

    // Without a session: the page redirects to sign-in, the API is 401, and
    // the ingest token cannot read.
    let r = plain.get(server.url(&format!("/incidents/{xss_id}"))).send().unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(r.headers()["location"].to_str().unwrap().starts_with("/signin?next="));
    let r = plain.get(server.url("/")).bearer_auth(TOKEN).send().unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = plain.get(server.url("/")).bearer_auth("not-a-token").send().unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // The dashboard token as a bearer token opens the pages (for scripts).
    let r = plain
        .get(server.url("/pulls"))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().unwrap().contains("bugstack/fix-cart-item"));
    assert_eq!(
        plain.get(server.url("/v1/incidents")).send().unwrap().status().as_u16(),
        401
    );
    let r = plain
        .get(server.url(&format!("/v1/incidents/{panic_id}/histogram")))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .unwrap();
    let h: Value = r.json().unwrap();
    assert_eq!(h["hours"].as_array().map(Vec::len), Some(1), "{h}");
    assert_eq!(h["hours"][0]["count"], 1);
    // Signing out ends the session.
    browser.click(&browser.find("form.signout button"));
    browser.wait_url("/signin");
    browser.goto(&server.url("/"));
    assert!(browser.url().contains("/signin"), "{}", browser.url());
    drop(server);
}
