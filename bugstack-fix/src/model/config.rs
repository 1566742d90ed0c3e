//! Picks the backend `[model]` in `bugstack.toml` names
//! ([`ModelConfig::language_model`]).

use std::sync::Arc;

use super::{AnthropicModel, LanguageModel, ModelError, OpenAiCompatibleModel};
use crate::policy::{ModelBackend, ModelConfig};

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
