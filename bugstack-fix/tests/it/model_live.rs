//! Live calls to the real OpenAI and Anthropic APIs. Opt-in: each runs only
//! when its key is in the environment (`OPENAI_API_KEY`,
//! `ANTHROPIC_API_KEY`; models from `OPENAI_MODEL` / `ANTHROPIC_MODEL`) and
//! prints that it was skipped otherwise.

use bugstack_fix::{
    AnthropicModel, ChatMessage, ChatRequest, LanguageModel, ModelBackend, ModelConfig, ModelError,
    OpenAiCompatibleModel,
};

fn ping() -> ChatRequest {
    ChatRequest {
        system: "Answer with one word.".into(),
        messages: vec![ChatMessage::user("Reply with the word pong.")],
        max_tokens: 16,
        temperature: Some(0.0),
    }
}

fn config(backend: ModelBackend, model_env: &str) -> ModelConfig {
    ModelConfig {
        backend,
        model: std::env::var(model_env).ok(),
        ..ModelConfig::default()
    }
}

/// Whether `var` holds an API key; says the test is skipped when not.
fn key_in_env(var: &str) -> bool {
    let set = std::env::var_os(var).is_some();
    if !set {
        println!("skipped: {var} not set");
    }
    set
}

/// `model` answers the ping; `bad` (the same model with the invalid key
/// `bad_key`) gets a clear 401 that does not echo the key.
async fn assert_pongs_and_a_bad_key_is_refused(model: &impl LanguageModel, bad: &impl LanguageModel, bad_key: &str) {
    let answer = model.complete(&ping()).await.unwrap();
    assert!(answer.content.to_lowercase().contains("pong"), "{answer:?}");
    let err = bad.complete(&ping()).await.unwrap_err();
    assert!(matches!(err, ModelError::Status { status: 401, .. }), "{err}");
    assert!(!err.to_string().contains(bad_key), "{err}");
}

#[tokio::test]
async fn openai_live() {
    if !key_in_env("OPENAI_API_KEY") {
        return;
    }
    let model = OpenAiCompatibleModel::from_config(&config(ModelBackend::Openai, "OPENAI_MODEL")).unwrap();
    let bad_key = "sk-bugstack-invalid-key-000";
    let bad = model.clone().with_api_key(bad_key);
    assert_pongs_and_a_bad_key_is_refused(&model, &bad, bad_key).await;
}

#[tokio::test]
async fn anthropic_live() {
    if !key_in_env("ANTHROPIC_API_KEY") {
        return;
    }
    let model = AnthropicModel::from_config(&config(ModelBackend::Anthropic, "ANTHROPIC_MODEL")).unwrap();
    let bad_key = "sk-ant-bugstack-invalid-000";
    let bad = AnthropicModel::new(model.model(), bad_key).unwrap();
    assert_pongs_and_a_bad_key_is_refused(&model, &bad, bad_key).await;
}
