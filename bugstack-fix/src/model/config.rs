//! `[model]` in `bugstack.toml` ([`ModelConfig`]) and the backend it names
//! ([`ModelConfig::language_model`]).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use bugstack_core::Secret;

use super::{AnthropicModel, LanguageModel, ModelError, OpenAiCompatibleModel};

/// Which model backend generates fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelBackend {
    /// The offline template generator: no model, no code sent anywhere.
    #[default]
    Offline,
    /// An OpenAI-compatible chat completions server (OpenAI, Ollama, vLLM,
    /// llama.cpp server, ...).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
}

/// `[model]`: the language model used by the LLM generator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// The backend.
    pub backend: ModelBackend,
    /// Model name.
    pub model: Option<String>,
    /// Base URL of the API (defaults to the vendor's).
    pub base_url: Option<String>,
    /// Environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    /// Per-request timeout.
    pub timeout_secs: u64,
    /// Most tokens of context sent to the model.
    pub context_tokens: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            backend: ModelBackend::Offline,
            model: None,
            base_url: None,
            api_key_env: None,
            timeout_secs: 120,
            context_tokens: 6000,
        }
    }
}

impl ModelConfig {
    /// The language model this `[model]` section configures, its key read
    /// from the process environment; `None` for the offline backend (no
    /// model).
    pub fn language_model(&self) -> Result<Option<Arc<dyn LanguageModel>>, ModelError> {
        self.language_model_with_env(|name| std::env::var(name).ok())
    }

    /// [`ModelConfig::language_model`], reading environment variables
    /// through `env`.
    pub fn language_model_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Arc<dyn LanguageModel>>, ModelError> {
        Ok(match self.backend {
            ModelBackend::Offline => None,
            ModelBackend::Openai => Some(Arc::new(OpenAiCompatibleModel::from_config_with_env(self, env)?)),
            ModelBackend::Anthropic => Some(Arc::new(AnthropicModel::from_config_with_env(self, env)?)),
        })
    }

    /// What a built-in backend takes from this section: the model (else
    /// `default_model`), the key variable (else `default_key_env`) and the
    /// non-empty key `env` holds in it, the timeout.
    pub(crate) fn backend_settings(
        &self,
        default_model: &str,
        default_key_env: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> BackendSettings {
        let key_env = self.api_key_env.clone().unwrap_or_else(|| default_key_env.to_string());
        BackendSettings {
            model: self.model.clone().unwrap_or_else(|| default_model.to_string()),
            key: env(&key_env).and_then(|k| Secret::non_empty(&k)),
            key_env,
            timeout: Duration::from_secs(self.timeout_secs),
        }
    }
}

/// A built-in backend's settings, read from `[model]` and the environment
/// ([`ModelConfig::backend_settings`]).
pub(crate) struct BackendSettings {
    /// The model name.
    pub(crate) model: String,
    /// The variable the key is read from.
    pub(crate) key_env: String,
    /// The key, when that variable holds a non-empty one.
    pub(crate) key: Option<Secret>,
    /// Per-request timeout.
    pub(crate) timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_by_name() {
        let env = |_: &str| Some("k-123456".to_string());
        assert!(ModelConfig::default().language_model_with_env(env).unwrap().is_none());
        let cfg = |backend| ModelConfig {
            backend,
            model: Some("m".into()),
            ..ModelConfig::default()
        };
        let m = cfg(ModelBackend::Openai).language_model_with_env(env).unwrap().unwrap();
        assert_eq!(m.name(), "openai:m");
        let m = cfg(ModelBackend::Anthropic)
            .language_model_with_env(env)
            .unwrap()
            .unwrap();
        assert_eq!(m.name(), "anthropic:m");
        let err = cfg(ModelBackend::Anthropic)
            .language_model_with_env(|_| None)
            .err()
            .unwrap();
        assert!(matches!(err, ModelError::MissingApiKey(_)));
    }
}
