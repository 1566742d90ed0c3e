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

/// The live check of `backend` when `key_env` holds an API key (skipped,
/// saying so, when not): the model `connect` makes of its config (the model
/// from `model_env`) answers the ping, and the one it makes with an invalid
/// key gets a clear 401 that does not echo the key. `connect` is the
/// backend's `from_config_with_env`.
async fn live_check<M: LanguageModel>(
    backend: ModelBackend,
    key_env: &str,
    model_env: &str,
    connect: impl Fn(&ModelConfig, &dyn Fn(&str) -> Option<String>) -> Result<M, ModelError>,
) {
    let Some(config) = live_config(backend, key_env, model_env) else {
        return;
    };
    let model = connect(&config, &|name| std::env::var(name).ok()).unwrap();
    let bad_key = "sk-bugstack-invalid-key-000";
    let bad = connect(&config, &|_| Some(bad_key.to_string())).unwrap();
    let answer = model.complete(&ping()).await.unwrap();
    assert!(answer.content.to_lowercase().contains("pong"), "{answer:?}");
    let err = bad.complete(&ping()).await.unwrap_err();
    assert!(matches!(err, ModelError::Status { status: 401, .. }), "{err}");
    assert!(!err.to_string().contains(bad_key), "{err}");
}

#[tokio::test]
async fn openai_live() {
    live_check(ModelBackend::Openai, "OPENAI_API_KEY", "OPENAI_MODEL", |config, env| {
        OpenAiCompatibleModel::from_config_with_env(config, env)
    })
    .await;
}

#[tokio::test]
async fn anthropic_live() {
    live_check(
        ModelBackend::Anthropic,
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_MODEL",
        |config, env| AnthropicModel::from_config_with_env(config, env),
    )
    .await;
}
