//! Live calls to the real OpenAI and Anthropic APIs. Opt-in: each runs only
//! when its key is in the environment (`OPENAI_API_KEY`,
//! `ANTHROPIC_API_KEY`; models from `OPENAI_MODEL` / `ANTHROPIC_MODEL`) and
//! prints that it was skipped otherwise.

use bugstack_fix::model::{Anthropic, ChatMessage, ChatRequest, LanguageModel, ModelError, OpenAiCompatible};
use bugstack_fix::policy::{ModelBackend, ModelConfig};

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

#[tokio::test]
async fn openai_live() {
    if std::env::var_os("OPENAI_API_KEY").is_none() {
        println!("skipped: OPENAI_API_KEY not set");
        return;
    }
    let model = OpenAiCompatible::from_config(&config(ModelBackend::Openai, "OPENAI_MODEL")).unwrap();
    let answer = model.complete(&ping()).await.unwrap();
    assert!(answer.content.to_lowercase().contains("pong"), "{answer:?}");
    // A wrong key gives a clear 401 that does not echo the key.
    let bad = model.clone().with_api_key("sk-bugstack-invalid-key-000");
    let err = bad.complete(&ping()).await.unwrap_err();
    assert!(matches!(err, ModelError::Status { status: 401, .. }), "{err}");
    assert!(!err.to_string().contains("sk-bugstack-invalid-key-000"), "{err}");
}

#[tokio::test]
async fn anthropic_live() {
    if std::env::var_os("ANTHROPIC_API_KEY").is_none() {
        println!("skipped: ANTHROPIC_API_KEY not set");
        return;
    }
    let model = Anthropic::from_config(&config(ModelBackend::Anthropic, "ANTHROPIC_MODEL")).unwrap();
    let answer = model.complete(&ping()).await.unwrap();
    assert!(answer.content.to_lowercase().contains("pong"), "{answer:?}");
    let bad = Anthropic::new(model.model(), "sk-ant-bugstack-invalid-000").unwrap();
    let err = bad.complete(&ping()).await.unwrap_err();
    assert!(matches!(err, ModelError::Status { status: 401, .. }), "{err}");
    assert!(!err.to_string().contains("sk-ant-bugstack-invalid-000"), "{err}");
}
