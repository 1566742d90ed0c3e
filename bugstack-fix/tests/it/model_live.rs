//! Live calls to the real OpenAI and Anthropic APIs. Opt-in: each runs only
//! when its key is in the environment (`OPENAI_API_KEY`,
//! `ANTHROPIC_API_KEY`; models from `OPENAI_MODEL` / `ANTHROPIC_MODEL`) and
//! prints that it was skipped otherwise.

use crate::support::model::ping;

use bugstack_fix::{AnthropicModel, LanguageModel, ModelBackend, ModelConfig, ModelError, OpenAiCompatibleModel};

/// `backend`'s config, its model from `model_env`, when `key_env` holds an
/// API key; `None` (and says the test is skipped) when not.
fn live_config(backend: ModelBackend, key_env: &str, model_env: &str) -> Option<ModelConfig> {
    if std::env::var_os(key_env).is_none() {
        println!("skipped: {key_env} not set");
        return None;
    }
    Some(ModelConfig {
        backend,
        model: std::env::var(model_env).ok(),
        ..ModelConfig::default()
    })
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
    let Some(config) = live_config(ModelBackend::Openai, "OPENAI_API_KEY", "OPENAI_MODEL") else {
        return;
    };
    let model = OpenAiCompatibleModel::from_config(&config).unwrap();
    let bad_key = "sk-bugstack-invalid-key-000";
    let bad = model.clone().with_api_key(bad_key);
    assert_pongs_and_a_bad_key_is_refused(&model, &bad, bad_key).await;
}

#[tokio::test]
async fn anthropic_live() {
    let Some(config) = live_config(ModelBackend::Anthropic, "ANTHROPIC_API_KEY", "ANTHROPIC_MODEL") else {
        return;
    };
    let model = AnthropicModel::from_config(&config).unwrap();
    let bad_key = "sk-ant-bugstack-invalid-000";
    let bad = AnthropicModel::new(model.model(), bad_key).unwrap();
    assert_pongs_and_a_bad_key_is_refused(&model, &bad, bad_key).await;
}
