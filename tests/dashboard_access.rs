//! The dashboard's access rules over plain HTTP against the real `bugstack
//! serve` (no browser needed, so they run everywhere): sign-in with the
//! dashboard token only, the session cookie's attributes, redirects without
//! a session, CSRF on every POST made with the session, escaped event text,
//! the security headers, the histogram API.

mod common;

use common::*;
use reqwest::blocking::{Client, Response};
use serde_json::Value;

const XSS: &str = "<img src=x onerror=alert(1)></script><script>alert(2)</script>";

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn form(c: &Client, url: String, cookie: Option<&str>, body: String) -> Response {
    let mut req = c
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body);
    if let Some(s) = cookie {
        req = req.header("cookie", format!("bugstack_session={s}"));
    }
    req.send().unwrap()
}

/// The actor and reason of the last entry of an incident's timeline
/// (`detail` as `GET /v1/incidents/{id}` returns it).
fn last_change(detail: &Value) -> (Option<&str>, Option<&str>) {
    let last = detail["timeline"].as_array().unwrap().last().unwrap();
    (last["actor"].as_str(), last["reason"].as_str())
}

/// `GET url` with the session cookie of `session`.
fn get_signed_in(c: &Client, url: String, session: &str) -> Response {
    c.get(url)
        .header("cookie", format!("bugstack_session={session}"))
        .send()
        .unwrap()
}

#[test]
fn sessions_csrf_and_escaping_over_http() {
    let (_dir, _, server) = serve_fresh();
    let mut e = event("xss", Some("1.0"));
    e.message = XSS.into();
    assert_eq!(post(&client(), &server, gz_batch(vec![e])).status().as_u16(), 202);
    let c = no_redirects();

    // No session: to sign in, and back after.
    let r = c.get(server.url("/incidents/1")).send().unwrap();
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/signin?next=/incidents/1".to_string())
    );
    assert_eq!(c.get(server.url("/signin")).send().unwrap().status().as_u16(), 200);

    // The ingest token does not sign in; the dashboard token does.
    let r = form(
        &c,
        server.url("/signin"),
        None,
        format!("token={TOKEN}&next=/incidents/1"),
    );
    assert_eq!(r.status().as_u16(), 401);
    assert!(r.headers().get("set-cookie").is_none());
    assert!(r.text().unwrap().contains("ingest token"));
    let r = form(
        &c,
        server.url("/signin"),
        None,
        format!("token={DASHBOARD_TOKEN}&next=/incidents/1"),
    );
    assert_eq!((r.status().as_u16(), location(&r)), (303, "/incidents/1".to_string()));
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP here: {cookie}");
    let session = cookie
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix("bugstack_session="))
        .unwrap()
        .to_string();
    // No open redirect after sign-in.
    let r = form(
        &c,
        server.url("/signin"),
        None,
        format!("token={DASHBOARD_TOKEN}&next=//evil.example/"),
    );
    assert_eq!(location(&r), "/");

    // The page: event text escaped, no script allowed at all.
    let r = get_signed_in(&c, server.url("/incidents/1"), &session);
    assert_eq!(r.status().as_u16(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let html = r.text().unwrap();
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;script&gt;"));
    assert!(!html.contains("<img") && !html.contains("<script"), "{html}");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field")
        .to_string();
    assert_eq!(csrf.len(), 64);

    // POSTs with the session: without or with a wrong CSRF token, 403 and
    // nothing changes; with it, the change, recorded as the dashboard's.
    let ignore = server.url("/incidents/1/ignore");
    for body in [String::new(), "csrf=".into(), format!("csrf={}", "0".repeat(64))] {
        let r = form(&c, ignore.clone(), Some(&session), body.clone());
        assert_eq!(r.status().as_u16(), 403, "{body:?}");
    }
    let api = |path: &str| -> Value {
        client()
            .get(server.url(path))
            .bearer_auth(DASHBOARD_TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    assert_eq!(api("/v1/incidents/1")["status"], "open");
    let r = form(&c, ignore.clone(), Some(&session), format!("csrf={csrf}&reason=noise"));
    assert_eq!(
        (r.status().as_u16(), location(&r)),
        (303, "/incidents/1?done=ignore".to_string())
    );
    let detail = api("/v1/incidents/1");
    assert_eq!(detail["status"], "ignored");
    assert_eq!(last_change(&detail), (Some("dashboard"), Some("noise")));
    // An action the lifecycle refuses says why.
    let r = form(&c, ignore, Some(&session), format!("csrf={csrf}"));
    assert_eq!(r.status().as_u16(), 409);
    // Reopen (a fix job queued), then retry (runnable now): the dashboard's.
    for action in ["reopen", "retry"] {
        let r = form(
            &c,
            server.url(&format!("/incidents/1/{action}")),
            Some(&session),
            format!("csrf={csrf}"),
        );
        assert_eq!(r.status().as_u16(), 303, "{action}");
    }
    let detail = api("/v1/incidents/1");
    assert_eq!(detail["status"], "open");
    assert_eq!(
        last_change(&detail),
        (Some("dashboard"), Some("retry requested from the dashboard"))
    );
    assert!(detail["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|j| j["state"] == "queued"));
    // The CSRF token of one session does not serve a request without one.
    let r = form(&c, server.url("/incidents/1/reopen"), None, format!("csrf={csrf}"));
    assert_eq!(r.status().as_u16(), 303);
    assert!(location(&r).starts_with("/signin"));

    // The histogram: one occurrence in the current hour.
    let h = api("/v1/incidents/1/histogram?days=1");
    assert_eq!(h["hours"][0]["count"], 1, "{h}");
    let r = client()
        .get(server.url("/v1/incidents/1/histogram?days=99"))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // Signing out ends the session.
    let r = form(&c, server.url("/signout"), Some(&session), format!("csrf={csrf}"));
    assert_eq!(location(&r), "/signin");
    let r = get_signed_in(&c, server.url("/"), &session);
    assert_eq!(r.status().as_u16(), 303);
}

#[test]
fn secure_cookies_when_asked_and_tokens_must_differ() {
    let dir = tempdir();
    let data = data_path(&dir);
    let server = Server::start_with_token(&data, &["--secure-cookies"]);
    let r = form(
        &no_redirects(),
        server.url("/signin"),
        None,
        format!("token={DASHBOARD_TOKEN}"),
    );
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));
    drop(server);

    let out = serve_refusing(&data, &["--token", TOKEN, "--dashboard-token", TOKEN]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must differ"));
}

/// With `serve --repo` on a repository whose forge is GitHub, the in-app
/// frames of an incident link to their lines at the event's release.
#[test]
fn in_app_frames_link_to_the_repository_on_github() {
    let dir = tempdir();
    let policy = "[forge]\nkind = \"github\"\nrepository = \"acme/inventory\"\n";
    let (root, _remote, release) = common::inventory::repo_with_policy(dir.path(), policy);
    let data = data_path(&dir);
    let server = Server::start_with_token(&data, &["--repo", root.to_str().unwrap(), "--forge-poll-secs", "0"]);
    let e = common::inventory::panic_event(&release);
    assert_eq!(post(&client(), &server, gz_batch(vec![e])).status().as_u16(), 202);
    let html = client()
        .get(server.url("/incidents/1"))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let link = format!("href=\"https://github.com/acme/inventory/blob/{release}/src/lib.rs#L5\"");
    assert!(html.contains(&link), "{html}");
    assert_eq!(
        html.matches("https://github.com/acme/inventory/blob/").count(),
        1,
        "only the in-app frame"
    );
}
