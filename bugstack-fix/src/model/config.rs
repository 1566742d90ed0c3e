//! Picks the backend `[model]` in `bugstack.toml` names.

use std::sync::Arc;

use super::{AnthropicModel, LanguageModel, ModelError, OpenAiCompatibleModel};
use crate::policy::{ModelBackend, ModelConfig};

/// The language model `[model]` configures, its key read from the process
/// environment; `None` for the offline backend (no model).
pub fn from_config(config: &ModelConfig) -> Result<Option<Arc<dyn LanguageModel>>, ModelError> {
    from_config_with_env(config, |name| std::env::var(name).ok())
}

/// [`from_config`], reading environment variables through `env`.
pub fn from_config_with_env(
    config: &ModelConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Arc<dyn LanguageModel>>, ModelError> {
    Ok(match config.backend {
        ModelBackend::Offline => None,
        ModelBackend::Openai => Some(Arc::new(OpenAiCompatibleModel::from_config_with_env(config, env)?)),
        ModelBackend::Anthropic => Some(Arc::new(AnthropicModel::from_config_with_env(config, env)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_by_name() {
        let env = |_: &str| Some("k-123456".to_string());
        assert!(from_config_with_env(&ModelConfig::default(), env).unwrap().is_none());
        let cfg = |backend| ModelConfig {
            backend,
            model: Some("m".into()),
            ..ModelConfig::default()
        };
        let m = from_config_with_env(&cfg(ModelBackend::Openai), env).unwrap().unwrap();
        assert_eq!(m.name(), "openai:m");
        let m = from_config_with_env(&cfg(ModelBackend::Anthropic), env)
            .unwrap()
            .unwrap();
        assert_eq!(m.name(), "anthropic:m");
        let err = from_config_with_env(&cfg(ModelBackend::Anthropic), |_| None)
            .err()
            .unwrap();
        assert!(matches!(err, ModelError::MissingApiKey(_)));
    }
}
