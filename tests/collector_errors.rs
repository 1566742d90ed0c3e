//! Every bad request gets the right status and a JSON error body, and loses
//! nothing: the store holds exactly the good batches afterwards.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn read_response(s: &mut TcpStream) -> String {
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).expect("collector answered");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A connection to `server` that has sent the head of an authorized
/// chunked `POST /v1/events` (no chunk yet); reads time out after `timeout`.
fn chunked_post(server: &Server, timeout: Duration) -> TcpStream {
    let mut tcp = TcpStream::connect(&server.addr).unwrap();
    tcp.set_read_timeout(Some(timeout)).unwrap();
    write!(
        tcp,
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    tcp
}

fn error_of(resp: reqwest::blocking::Response) -> (u16, String, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().expect("error body is JSON");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        body["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn bad_requests_get_clear_json_errors_and_lose_nothing() {
    let dir = tempdir();
    let data = data_path(&dir);
    // Small limits so the oversize cases are cheap.
    let server = Server::start_with_token(
        &data,
        &[
            "--max-body-bytes",
            "65536",
            "--max-decompressed-bytes",
            "262144",
            "--max-events",
            "100",
        ],
    );
    let c = client();
    let good = gz_batch(vec![event("good", Some("1.0")), event("good", Some("1.0"))]);

    // healthz needs no token.
    let h: Value = c.get(server.url("/healthz")).send().unwrap().json().unwrap();
    assert_eq!(h["status"], "ok");

    // Missing and wrong tokens: 401 before anything else.
    let r = c.post(server.url("/v1/events")).body(good.clone()).send().unwrap();
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let (s, kind, msg) = error_of(r);
    assert_eq!((s, kind.as_str()), (401, "unauthorized"));
    assert!(msg.contains("missing Authorization"), "{msg}");
    let r = events_request(&c, &server, "test-token-0123456788", "gzip", good.clone())
        .send()
        .unwrap();
    let (s, kind, msg) = error_of(r);
    assert_eq!((s, kind.as_str()), (401, "unauthorized"));
    assert!(msg.contains("not accepted") && !msg.contains(TOKEN), "{msg}");
    let r = c.get(server.url("/v1/incidents")).send().unwrap();
    assert_eq!(r.status().as_u16(), 401, "the read API needs the token too");

    // Oversize (declared length): 413.
    let (s, kind, msg) = error_of(post(&c, &server, vec![0u8; 70_000]));
    assert_eq!((s, kind.as_str()), (413, "too_large"));
    assert!(msg.contains("65536"), "{msg}");

    // Oversize without a length (chunked): cut off at the limit, 413.
    let mut tcp = chunked_post(&server, Duration::from_secs(10));
    for _ in 0..3 {
        // The server may answer and close before all chunks are written.
        let _ = write!(tcp, "9c40\r\n{}\r\n", "x".repeat(40_000));
    }
    let text = read_response(&mut tcp);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("too_large"), "{text}");

    // Gzip bomb: 64 MiB of zeros in a few KiB; 413 without inflating it.
    let bomb = bugstack::core::wire::gzip(&vec![0u8; 64 * 1024 * 1024]).unwrap();
    assert!(bomb.len() < 65536);
    let (s, kind, msg) = error_of(post(&c, &server, bomb));
    assert_eq!((s, kind.as_str()), (413, "too_large"));
    assert!(msg.contains("262144"), "{msg}");

    // Too many events: 413.
    let many = gz_batch((0..101).map(|_| event("many", None)).collect());
    let (s, kind, msg) = error_of(post(&c, &server, many));
    assert_eq!((s, kind.as_str()), (413, "too_large"));
    assert!(msg.contains("101") && msg.contains("100"), "{msg}");

    // Not gzip at all: 400.
    let (s, kind, _) = error_of(post(&c, &server, b"plain text, not gzip".to_vec()));
    assert_eq!((s, kind.as_str()), (400, "bad_gzip"));

    // Malformed JSON: 400 saying where.
    let bad = bugstack::core::wire::gzip(br#"{"schema_version": 1, "events": [ {"#).unwrap();
    let (s, kind, msg) = error_of(post(&c, &server, bad));
    assert_eq!((s, kind.as_str()), (400, "malformed"));
    assert!(msg.contains("line 1"), "{msg}");

    // A valid JSON batch with an invalid event names the field.
    let bad_event = br#"{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{"kind":"panic","level":"fatal","timestamp":"2026-01-01T00:00:00Z"}]}"#;
    let r = c
        .post(server.url("/v1/events"))
        .bearer_auth(TOKEN)
        .body(bad_event.to_vec())
        .send()
        .unwrap();
    let (s, kind, msg) = error_of(r);
    assert_eq!((s, kind.as_str()), (400, "malformed"));
    assert!(msg.contains("message"), "{msg}");

    // Unknown and missing schema versions: 400.
    let future =
        bugstack::core::wire::gzip(br#"{"schema_version": 99, "sent_at":"2026-01-01T00:00:00Z", "events": []}"#)
            .unwrap();
    let (s, kind, msg) = error_of(post(&c, &server, future));
    assert_eq!((s, kind.as_str()), (400, "unsupported_schema"));
    assert!(msg.contains("99"), "{msg}");
    let none = bugstack::core::wire::gzip(br#"{"events": []}"#).unwrap();
    let (s, kind, _) = error_of(post(&c, &server, none));
    assert_eq!((s, kind.as_str()), (400, "unsupported_schema"));

    // Unsupported content encoding: 415.
    let r = events_request(&c, &server, TOKEN, "br", good.clone()).send().unwrap();
    let (s, kind, msg) = error_of(r);
    assert_eq!((s, kind.as_str()), (415, "unsupported_encoding"));
    assert!(msg.contains("br"), "{msg}");

    // Read API errors. The ingest token writes, never reads.
    let (s, kind, msg) = error_of(c.get(server.url("/v1/incidents")).bearer_auth(TOKEN).send().unwrap());
    assert_eq!((s, kind.as_str()), (403, "forbidden"), "{msg}");
    assert!(msg.contains("dashboard token") && !msg.contains(TOKEN), "{msg}");
    let get = |path: &str| c.get(server.url(path)).bearer_auth(DASHBOARD_TOKEN).send().unwrap();
    let (s, kind, _) = error_of(get("/v1/incidents/999"));
    assert_eq!((s, kind.as_str()), (404, "not_found"));
    let (s, kind, _) = error_of(get("/v1/incidents/abc"));
    assert_eq!((s, kind.as_str()), (400, "bad_request"));
    let (s, kind, _) = error_of(get("/nope"));
    assert_eq!((s, kind.as_str()), (404, "not_found"));

    // Nothing above was stored; the good batch is, exactly.
    let listed: Value = get("/v1/incidents").json().unwrap();
    assert!(listed["incidents"].as_array().unwrap().is_empty(), "{listed:?}");
    let r = post(&c, &server, good);
    assert_eq!(r.status().as_u16(), 202);
    let ack: Value = r.json().unwrap();
    assert_eq!(
        (ack["accepted"].as_u64(), ack["occurrences"].as_u64()),
        (Some(2), Some(2))
    );
    let page: Value = get("/v1/incidents").json().unwrap();
    assert_eq!(page["next"], Value::Null);
    let listed = page["incidents"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["count"], 2);
    assert_eq!(listed[0]["status"], "open");
    assert_eq!(listed[0]["releases"], serde_json::json!(["1.0"]));
    let id = listed[0]["id"].as_i64().unwrap();
    let detail: Value = get(&format!("/v1/incidents/{id}")).json().unwrap();
    assert_eq!(detail["samples"].as_array().unwrap().len(), 2);
    assert_eq!(detail["jobs"].as_array().unwrap().len(), 1);
    assert_eq!(detail["jobs"][0]["state"], "queued");
}

/// A declared oversize body is refused from its headers: the collector
/// answers 413 while the client has sent only a few bytes of it.
#[test]
fn oversize_is_refused_before_the_body_is_read() {
    let dir = tempdir();
    let server = Server::start_with_token(&data_path(&dir), &["--max-body-bytes", "1024"]);
    let mut s = TcpStream::connect(&server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Encoding: gzip\r\nContent-Length: 104857600\r\n\r\n"
    )
    .unwrap();
    s.write_all(&[0u8; 100]).unwrap();
    // The remaining ~100 MB are never sent; the answer must still come.
    let text = read_response(&mut s);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("too_large"), "{text}");
}

/// Load shedding and slow bodies: with one batch allowed in flight, a second
/// concurrent batch gets 429 + Retry-After; the stalled one gets 408 when its
/// body does not arrive in time; then batches are accepted again.
#[test]
fn overload_is_429_and_a_stalled_body_is_408() {
    let dir = tempdir();
    let server = Server::start_with_token(&data_path(&dir), &["--max-inflight", "1", "--body-timeout-secs", "15"]);
    let c = client();
    let body = gz_batch(vec![event("shed", None)]);
    let mut slow = stalled_request_holding_the_slot(&server, &c, &body);
    let r = post(&c, &server, body.clone());
    assert_eq!(r.headers()["retry-after"], "1");
    let (s, kind, _) = error_of(r);
    assert_eq!((s, kind.as_str()), (429, "overloaded"));
    let text = read_response(&mut slow);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"timeout\""), "{text}");
    assert_eq!(post(&c, &server, body).status().as_u16(), 202);
}

/// Opens a request whose body stalls and returns it once it holds the one
/// in-flight slot (a probe batch is shed with 429). The stalled request is
/// itself shed when it reaches the collector while a probe holds the slot
/// (a race a loaded machine loses often): it is then opened again.
fn stalled_request_holding_the_slot(server: &Server, c: &reqwest::blocking::Client, body: &[u8]) -> TcpStream {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        let mut slow = TcpStream::connect(&server.addr).unwrap();
        write!(
            slow,
            "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n{{\"schema"
        )
        .unwrap();
        slow.set_nonblocking(true).unwrap();
        loop {
            let status = post(c, server, body.to_vec()).status().as_u16();
            if status == 429 {
                slow.set_nonblocking(false).unwrap();
                slow.set_read_timeout(Some(Duration::from_secs(40))).unwrap();
                return slow;
            }
            last = format!("a probe got {status}");
            let mut byte = [0u8; 1];
            match slow.peek(&mut byte) {
                // Answered already: the stalled request was shed itself.
                Ok(_) => {
                    last = "the stalled request was shed".into();
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("the stalled request's connection failed: {e}"),
            }
            if std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    panic!("no stalled request held the slot within 60 s (last: {last})");
}

/// The collector scrubs every event it stores, whatever the sender did: a
/// raw event (another SDK, or an attacker holding the SDK token) carrying
/// secrets is stored without them — in the incident, its samples and the
/// database files on disk.
#[test]
fn secrets_in_raw_events_are_scrubbed_on_ingest() {
    let (_dir, data, server) = serve_fresh();
    let c = client();
    // (shape, text, secret). Caught by today's scrubber:
    let caught = [
        ("key=value", "login failed: password=hunter2pw", "hunter2pw"),
        (
            "URL password",
            "connect postgres://app:pgsecret9@db:5432/x",
            "pgsecret9",
        ),
        (
            "bearer",
            "upstream said: Authorization: Bearer abcdef0123456789tok",
            "abcdef0123456789tok",
        ),
        (
            "OpenAI key",
            "key sk-proj0123456789abcdefXYZ",
            "sk-proj0123456789abcdefXYZ",
        ),
    ];
    // The seven shapes the issue found stored verbatim.
    let shapes = [
        (
            "JSON password",
            r#"body {"user": "a", "password": "hunter2"}"#,
            "hunter2",
        ),
        ("env password", "DB_PASSWORD=envsecret77 in env", "envsecret77"),
        (
            "Stripe key",
            "stripe sk_live_51Habcdefghijklmnop",
            "sk_live_51Habcdefghijklmnop",
        ),
        (
            "PEM key",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        ),
        (
            "AWS secret",
            "aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYzz",
            "wJalrXUtnFEMIK7MDENGbPxRfiCYzz",
        ),
        ("redis password", "redis://:redispw42@cache:6379", "redispw42"),
        ("Cookie line", "request had\nCookie: sid=cookiesecret5", "cookiesecret5"),
    ];
    let mut e = event("secrets", Some("1.0"));
    let all: Vec<_> = caught.iter().chain(shapes.iter()).collect();
    e.message = all.iter().map(|(_, text, _)| *text).collect::<Vec<_>>().join("\n");
    e.tags.insert("note".into(), "password=tagsecret1".into());
    e.fingerprint_parts = vec!["password=partsecret1".into()];
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("Cookie".to_string(), "sid=headercookie1".to_string());
    headers.insert("X-Api-Key".to_string(), "headerkey1".to_string());
    e.request = Some(bugstack::core::RequestContext {
        method: Some("POST".into()),
        path: Some("/login?token=querysecret1".into()),
        headers,
        ..Default::default()
    });
    assert_eq!(post(&c, &server, gz_batch(vec![e])).status().as_u16(), 202);

    let get = |path: &str| -> String {
        c.get(server.url(path))
            .bearer_auth(DASHBOARD_TOKEN)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let detail = get("/v1/incidents/1");
    let list = get("/v1/incidents");
    drop(server);
    let mut on_disk = Vec::new();
    for name in ["bugstack.db", "bugstack.db-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(name)) {
            on_disk.extend(bytes);
        }
    }
    let on_disk = String::from_utf8_lossy(&on_disk);
    let stored = |needle: &str| detail.contains(needle) || list.contains(needle) || on_disk.contains(needle);
    let always = [
        "tagsecret1",
        "partsecret1",
        "headercookie1",
        "headerkey1",
        "querysecret1",
    ];
    for (shape, _, secret) in caught.iter() {
        assert!(!stored(secret), "{shape}: {secret} was stored");
    }
    for secret in always {
        assert!(!stored(secret), "{secret} was stored");
    }
    for (shape, _, secret) in shapes.iter() {
        assert!(!stored(secret), "{shape}: {secret} was stored");
    }
    assert!(detail.contains("[redacted]"), "{detail}");
}

/// A token's events create at most `--max-new-incidents-per-hour`
/// incidents; events of further new fingerprints are still counted, in one
/// clearly titled overflow incident of that token (without a fix job), and
/// known incidents keep counting normally.
#[test]
fn new_incidents_over_the_token_quota_go_to_one_overflow_incident() {
    let dir = tempdir();
    let server = Server::start_with_token(&data_path(&dir), &["--max-new-incidents-per-hour", "5"]);
    let c = client();
    let first: Vec<_> = (0..3).map(|i| event(&format!("bug-{i}"), None)).collect();
    let ack: Value = post(&c, &server, gz_batch(first)).json().unwrap();
    assert_eq!(ack["over_quota"], 0);
    let flood: Vec<_> = (0..20).map(|i| event(&format!("bug-{i}"), None)).collect();
    let ack: Value = post(&c, &server, gz_batch(flood)).json().unwrap();
    assert_eq!(ack["new_incidents"].as_array().unwrap().len(), 2);
    assert_eq!(ack["over_quota"], 15);
    assert_eq!(ack["occurrences"], 20);
    let listed: Vec<Value> = c
        .get(server.url("/v1/incidents"))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .unwrap()
        .json::<Value>()
        .map(|v| v.get("incidents").cloned().unwrap_or(v))
        .unwrap()
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(listed.len(), 6, "{listed:#?}");
    let overflow: Vec<&Value> = listed
        .iter()
        .filter(|i| i["title"].as_str().unwrap().starts_with("Quota exceeded"))
        .collect();
    assert_eq!(overflow.len(), 1);
    assert_eq!(overflow[0]["count"], 15);
    let total: u64 = listed.iter().map(|i| i["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 23, "every event is counted");
    let id = overflow[0]["id"].as_i64().unwrap();
    let detail: Value = c
        .get(server.url(&format!("/v1/incidents/{id}")))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        detail["jobs"].as_array().unwrap().is_empty(),
        "no fix job for the overflow"
    );
}

/// `GET /v1/incidents` is paginated: `?limit=` (default 50, at most 500) and
/// the `next_cursor` / `next` of the previous page; every incident is listed
/// once, most recently seen first.
#[test]
fn the_incident_list_is_paginated() {
    let dir = tempdir();
    let server = Server::start_with_token(&data_path(&dir), &[]);
    let c = client();
    let events: Vec<_> = (0..7).map(|i| event(&format!("page-{i}"), None)).collect();
    assert_eq!(post(&c, &server, gz_batch(events)).status().as_u16(), 202);
    let get = |path: &str| c.get(server.url(path)).bearer_auth(DASHBOARD_TOKEN).send().unwrap();
    let mut ids = Vec::new();
    let mut path = "/v1/incidents?limit=3".to_string();
    let mut pages = 0;
    loop {
        let page: Value = get(&path).json().unwrap();
        pages += 1;
        ids.extend(
            page["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
        match page["next"].as_str() {
            Some(next) => {
                assert!(next.contains(page["next_cursor"].as_str().unwrap()));
                path = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, (1..=7).collect::<Vec<_>>(), "{ids:?}");
    let all: Value = get("/v1/incidents").json().unwrap();
    assert_eq!(all["incidents"].as_array().unwrap().len(), 7);
    for bad in ["limit=0", "limit=501", "limit=x", "cursor=nope"] {
        let (s, kind, _) = error_of(get(&format!("/v1/incidents?{bad}")));
        assert_eq!((s, kind.as_str()), (400, "bad_request"), "{bad}");
    }
}

/// A 40 MiB body is answered with a 413 the client can read, even by a
/// client that sends the whole body before reading (as Python's urllib
/// does): the collector answers, keeps reading and discarding the body for a
/// bounded amount, then closes, so the answer is not destroyed by a reset.
#[test]
fn a_40_mib_body_gets_a_readable_413() {
    let dir = tempdir();
    let server = Server::start_with_token(&data_path(&dir), &[]);
    let body = vec![b'x'; 40 * 1024 * 1024];
    // Declared length, whole body written before reading.
    let mut tcp = TcpStream::connect(&server.addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        tcp,
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    tcp.write_all(&body)
        .expect("the collector keeps reading the refused body");
    let text = read_response(&mut tcp);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection: close"), "{text}");
    assert!(text.contains("too_large"), "{text}");
    // Chunked, whole body written before reading.
    let mut tcp = chunked_post(&server, Duration::from_secs(30));
    for chunk in body.chunks(1024 * 1024) {
        write!(tcp, "{:x}\r\n", chunk.len()).unwrap();
        tcp.write_all(chunk).unwrap();
        tcp.write_all(b"\r\n").unwrap();
    }
    tcp.write_all(b"0\r\n\r\n").unwrap();
    let text = read_response(&mut tcp);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    // reqwest reads the status too.
    let r = post(&client(), &server, body);
    assert_eq!(r.status().as_u16(), 413);
}
