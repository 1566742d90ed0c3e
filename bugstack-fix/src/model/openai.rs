//! OpenAI-compatible chat completions (`POST {base_url}/chat/completions`):
//! OpenAI itself, and the servers that speak its protocol — Ollama
//! (`http://localhost:11434/v1`), vLLM (`http://host:8000/v1`), llama.cpp
//! server (`http://host:8080/v1`), ...

use std::fmt;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, AUTHORIZATION};
use serde_json::{json, Value};

use bugstack_core::Secret;

use super::connection::{connection_methods, Call, Connection};
use super::http;
use super::ModelConfig;
use super::{ChatRequest, ChatResponse, LanguageModel, ModelError};

/// Which request field carries the answer's token limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokensField {
    /// `max_tokens`: what Ollama, vLLM and llama.cpp server read.
    MaxTokens,
    /// `max_completion_tokens`: OpenAI's current field (its reasoning
    /// models reject `max_tokens`).
    MaxCompletionTokens,
}

impl MaxTokensField {
    /// `max_completion_tokens` for OpenAI itself, `max_tokens` elsewhere.
    pub fn for_base_url(base_url: &str) -> Self {
        if base_url.trim_end_matches('/') == OpenAiCompatibleModel::DEFAULT_BASE_URL {
            MaxTokensField::MaxCompletionTokens
        } else {
            MaxTokensField::MaxTokens
        }
    }

    fn key(self) -> &'static str {
        match self {
            MaxTokensField::MaxTokens => "max_tokens",
            MaxTokensField::MaxCompletionTokens => "max_completion_tokens",
        }
    }
}

/// A client of an OpenAI-compatible chat completions server.
#[derive(Clone)]
pub struct OpenAiCompatibleModel {
    conn: Connection,
    max_tokens_field: MaxTokensField,
    api_key: Option<Secret>,
}

impl fmt::Debug for OpenAiCompatibleModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let api_key = self.api_key.as_ref().map(|_| "[redacted]");
        self.conn.debug(
            f,
            "OpenAiCompatibleModel",
            &[("max_tokens_field", &self.max_tokens_field), ("api_key", &api_key)],
        )
    }
}

impl OpenAiCompatibleModel {
    /// OpenAI's API base URL.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";
    /// The model used when `[model] model` is unset.
    pub const DEFAULT_MODEL: &'static str = "gpt-4o-mini";
    /// The environment variable the key is read from by default.
    pub const DEFAULT_KEY_ENV: &'static str = "OPENAI_API_KEY";

    /// A client for `model` at `base_url` (e.g. `http://localhost:11434/v1`),
    /// without an API key (add one with [`OpenAiCompatibleModel::with_api_key`]).
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Result<Self, ModelError> {
        let base_url = base_url.into();
        Ok(OpenAiCompatibleModel {
            max_tokens_field: MaxTokensField::for_base_url(&base_url),
            conn: Connection::new(base_url, model.into())?,
            api_key: None,
        })
    }

    /// From `[model]`, reading environment variables through `env`. The key
    /// comes from `api_key_env` (default `OPENAI_API_KEY`). It is required
    /// for OpenAI itself and when `api_key_env` is set explicitly; a local
    /// server at another `base_url` (Ollama, ...) may go without.
    pub fn from_config_with_env(
        config: &ModelConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ModelError> {
        let base_url = config
            .base_url
            .clone()
            .unwrap_or_else(|| OpenAiCompatibleModel::DEFAULT_BASE_URL.to_string());
        let settings = config.backend_settings(
            OpenAiCompatibleModel::DEFAULT_MODEL,
            OpenAiCompatibleModel::DEFAULT_KEY_ENV,
            env,
        );
        let key_required =
            config.api_key_env.is_some() || base_url.trim_end_matches('/') == OpenAiCompatibleModel::DEFAULT_BASE_URL;
        let mut client = OpenAiCompatibleModel::new(base_url, settings.model)?.with_timeout(settings.timeout)?;
        match settings.key {
            Some(k) => {
                client.api_key = Some(k);
                client.conn.key_env = Some(settings.key_env);
            }
            None if key_required => return Err(ModelError::MissingApiKey(settings.key_env)),
            None => {}
        }
        Ok(client)
    }

    /// Sends `key` as a bearer token.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    connection_methods!();

    /// Which field carries the token limit (default:
    /// [`MaxTokensField::for_base_url`]).
    pub fn with_max_tokens_field(mut self, field: MaxTokensField) -> Self {
        self.max_tokens_field = field;
        self
    }

    /// The JSON body sent for `request`.
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if !request.system.is_empty() {
            messages.push(json!({"role": "system", "content": request.system}));
        }
        for m in &request.messages {
            messages.push(json!({"role": m.role, "content": m.content}));
        }
        let mut body = json!({
            "model": self.conn.model,
            "messages": messages,
        });
        body[self.max_tokens_field.key()] = json!(request.max_tokens);
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        body
    }
}

/// Reads a chat completions answer: the first choice's text, strictly.
pub(crate) fn parse_response(body: &Value) -> Result<ChatResponse, ModelError> {
    let invalid = |what: &str| ModelError::InvalidResponse(format!("chat completion {what}"));
    let choice = body
        .get("choices")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("has no `choices` array"))?
        .first()
        .ok_or_else(|| invalid("has an empty `choices` array"))?;
    let message = choice
        .get("message")
        .ok_or_else(|| invalid("choice has no `message`"))?;
    let content = match message.get("content") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => return Err(invalid("has an empty answer")),
        Some(Value::Array(parts)) => {
            let text = http::text_parts(parts);
            if text.trim().is_empty() {
                return Err(invalid("has no text part"));
            }
            text
        }
        _ => {
            let refusal = message.get("refusal").and_then(Value::as_str);
            return Err(match refusal {
                Some(r) => invalid(&format!("was refused by the model: {r}")),
                None => invalid("has no text content"),
            });
        }
    };
    let usage = ("prompt_tokens", "completion_tokens");
    Ok(http::chat_response(body, content, choice.get("finish_reason"), usage))
}

#[async_trait]
impl LanguageModel for OpenAiCompatibleModel {
    fn name(&self) -> String {
        self.conn.name("openai")
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &self.api_key {
            headers.insert(AUTHORIZATION, http::secret_header(&format!("Bearer {}", key.expose()))?);
        }
        let call = Call {
            path: "chat/completions",
            key: self.api_key.as_ref(),
            key_env: self.conn.key_env.as_deref(),
            headers,
        };
        self.conn.chat(call, &self.request_body(request), parse_response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChatMessage;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn config_keys() {
        let cfg = ModelConfig::default();
        let err = OpenAiCompatibleModel::from_config_with_env(&cfg, env(&[])).unwrap_err();
        assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
        let c = OpenAiCompatibleModel::from_config_with_env(&cfg, env(&[("OPENAI_API_KEY", "sk-live-xyz")])).unwrap();
        assert_eq!(c.base_url(), OpenAiCompatibleModel::DEFAULT_BASE_URL);
        assert_eq!(c.model(), OpenAiCompatibleModel::DEFAULT_MODEL);
        assert!(!format!("{c:?}").contains("sk-live-xyz"));
        // A local server needs no key.
        let local = ModelConfig {
            base_url: Some("http://localhost:11434/v1".into()),
            model: Some("llama3.2".into()),
            ..ModelConfig::default()
        };
        let c = OpenAiCompatibleModel::from_config_with_env(&local, env(&[])).unwrap();
        assert_eq!(c.name(), "openai:llama3.2");
        // ... unless a key variable is named explicitly.
        let named = ModelConfig {
            api_key_env: Some("VLLM_KEY".into()),
            ..local
        };
        let err = OpenAiCompatibleModel::from_config_with_env(&named, env(&[])).unwrap_err();
        assert!(err.to_string().contains("VLLM_KEY"), "{err}");
    }

    #[test]
    fn body_has_system_first() {
        let c = OpenAiCompatibleModel::new("http://x/v1", "m").unwrap();
        let body = c.request_body(&ChatRequest {
            system: "sys".into(),
            messages: vec![ChatMessage::user("hi")],
            max_tokens: 10,
            temperature: Some(0.0),
        });
        assert_eq!(body["messages"][0], json!({"role": "system", "content": "sys"}));
        assert_eq!(body["messages"][1], json!({"role": "user", "content": "hi"}));
        assert_eq!(body["max_tokens"], 10);
        assert!(body.get("max_completion_tokens").is_none());
        assert_eq!(body["model"], "m");
        let openai = OpenAiCompatibleModel::new(OpenAiCompatibleModel::DEFAULT_BASE_URL, "gpt-5").unwrap();
        let body = openai.request_body(&ChatRequest {
            system: String::new(),
            messages: vec![ChatMessage::user("hi")],
            max_tokens: 10,
            temperature: None,
        });
        assert_eq!(body["max_completion_tokens"], 10);
        assert!(body.get("max_tokens").is_none() && body.get("temperature").is_none());
        assert_eq!(body["messages"].as_array().unwrap().len(), 1, "no empty system message");
    }

    #[test]
    fn strict_parsing() {
        let ok = json!({"model": "m", "choices": [{"message": {"role": "assistant", "content": "hey"},
            "finish_reason": "stop"}], "usage": {"prompt_tokens": 3, "completion_tokens": 1}});
        let r = parse_response(&ok).unwrap();
        assert_eq!(r.content, "hey");
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
        assert_eq!(r.usage.unwrap().input_tokens, 3);
        for bad in [
            json!({}),
            json!({"choices": []}),
            json!({"choices": [{}]}),
            json!({"choices": [{"message": {"content": null}}]}),
            json!({"choices": [{"message": {"content": "  "}}]}),
            json!({"choices": [{"message": {"content": null, "refusal": "no"}}]}),
        ] {
            let e = parse_response(&bad).unwrap_err();
            assert!(matches!(e, ModelError::InvalidResponse(_)), "{bad}: {e}");
        }
    }
}
