//! Anthropic Messages (`POST {base_url}/v1/messages`, `x-api-key`,
//! `anthropic-version: 2023-06-01`, `max_tokens` required, `system` as a
//! top-level field).

use std::fmt;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{json, Value};

use bugstack_core::Secret;

use super::connection::{connection_methods, Call, Connection};
use super::http;
use super::ModelConfig;
use super::{ChatRequest, ChatResponse, LanguageModel, ModelError};

/// A client of Anthropic's Messages API.
#[derive(Clone)]
pub struct AnthropicModel {
    conn: Connection,
    api_key: Secret,
}

impl fmt::Debug for AnthropicModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.conn.debug(f, "AnthropicModel", &[("api_key", &"[redacted]")])
    }
}

impl AnthropicModel {
    /// Anthropic's API base URL (the path `/v1/messages` is appended).
    pub const DEFAULT_BASE_URL: &'static str = "https://api.anthropic.com";
    /// The model used when `[model] model` is unset.
    pub const DEFAULT_MODEL: &'static str = "claude-sonnet-4-5";
    /// The environment variable the key is read from by default.
    pub const DEFAULT_KEY_ENV: &'static str = "ANTHROPIC_API_KEY";
    /// The API version sent in `anthropic-version`.
    pub const API_VERSION: &'static str = "2023-06-01";

    /// A client for `model` with `api_key`, at Anthropic's URL (change it
    /// with [`AnthropicModel::with_base_url`]).
    pub fn new(model: impl Into<String>, api_key: impl Into<String>) -> Result<Self, ModelError> {
        Ok(AnthropicModel {
            conn: Connection::new(AnthropicModel::DEFAULT_BASE_URL.to_string(), model.into())?,
            api_key: Secret::new(api_key),
        })
    }

    /// From `[model]`, reading environment variables through `env`. The key
    /// (from `api_key_env`, default `ANTHROPIC_API_KEY`) is required.
    pub fn from_config_with_env(
        config: &ModelConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ModelError> {
        let settings = config.backend_settings(AnthropicModel::DEFAULT_MODEL, AnthropicModel::DEFAULT_KEY_ENV, env);
        let api_key = settings
            .key
            .ok_or_else(|| ModelError::MissingApiKey(settings.key_env.clone()))?;
        let mut conn = Connection::new(AnthropicModel::DEFAULT_BASE_URL.to_string(), settings.model)?;
        conn.set_timeout(settings.timeout)?;
        if let Some(url) = &config.base_url {
            conn.base_url = url.clone();
        }
        conn.key_env = Some(settings.key_env);
        Ok(AnthropicModel { conn, api_key })
    }

    /// Another base URL (a proxy, a test server).
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.conn.base_url = base_url.into();
        self
    }

    connection_methods!();

    /// The JSON body sent for `request`.
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!({"role": m.role, "content": m.content}))
            .collect();
        let mut body = json!({
            "model": self.conn.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        });
        if !request.system.is_empty() {
            body["system"] = json!(request.system);
        }
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        body
    }
}

/// Reads a Messages answer: its text blocks, joined, strictly.
pub(crate) fn parse_response(body: &Value) -> Result<ChatResponse, ModelError> {
    let invalid = |what: &str| ModelError::InvalidResponse(format!("message {what}"));
    if let Some(t) = body.get("type").and_then(Value::as_str) {
        if t != "message" {
            return Err(invalid(&format!("has type {t:?}, expected \"message\"")));
        }
    }
    let blocks = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("has no `content` array"))?;
    let content = http::text_parts(blocks);
    if content.trim().is_empty() {
        return Err(invalid("has no text block"));
    }
    let usage = ("input_tokens", "output_tokens");
    Ok(http::chat_response(body, content, body.get("stop_reason"), usage))
}

#[async_trait]
impl LanguageModel for AnthropicModel {
    fn name(&self) -> String {
        self.conn.name("anthropic")
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let mut headers = HeaderMap::new();
        headers.insert("x-api-key", http::secret_header(self.api_key.expose())?);
        headers.insert(
            "anthropic-version",
            HeaderValue::from_static(AnthropicModel::API_VERSION),
        );
        let call = Call {
            path: "v1/messages",
            key: Some(&self.api_key),
            key_env: Some(self.conn.key_env.as_deref().unwrap_or(AnthropicModel::DEFAULT_KEY_ENV)),
            headers,
        };
        self.conn.chat(call, &self.request_body(request), parse_response).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChatMessage;

    #[test]
    fn config_requires_a_key() {
        let cfg = ModelConfig::default();
        let err = AnthropicModel::from_config_with_env(&cfg, |_| None).unwrap_err();
        assert!(err.to_string().contains("ANTHROPIC_API_KEY"), "{err}");
        let c = AnthropicModel::from_config_with_env(&cfg, |_| Some("sk-ant-secret".into())).unwrap();
        assert_eq!(c.base_url(), AnthropicModel::DEFAULT_BASE_URL);
        assert_eq!(c.name(), format!("anthropic:{}", AnthropicModel::DEFAULT_MODEL));
        assert!(!format!("{c:?}").contains("sk-ant-secret"));
    }

    #[test]
    fn system_is_top_level_and_max_tokens_present() {
        let c = AnthropicModel::new("claude", "k").unwrap();
        let body = c.request_body(&ChatRequest {
            system: "sys".into(),
            messages: vec![ChatMessage::user("hi")],
            max_tokens: 99,
            temperature: None,
        });
        assert_eq!(body["system"], "sys");
        assert_eq!(body["max_tokens"], 99);
        assert_eq!(body["messages"], json!([{"role": "user", "content": "hi"}]));
        assert!(body.get("temperature").is_none());
    }

    #[test]
    fn strict_parsing() {
        let ok = json!({"type": "message", "model": "claude", "content": [{"type": "text", "text": "a"},
            {"type": "tool_use", "id": "x"}, {"type": "text", "text": "b"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 5, "output_tokens": 2}});
        let r = parse_response(&ok).unwrap();
        assert_eq!(r.content, "ab");
        assert_eq!(r.finish_reason.as_deref(), Some("end_turn"));
        for bad in [
            json!({}),
            json!({"type": "error", "content": []}),
            json!({"content": []}),
            json!({"content": [{"type": "tool_use"}]}),
            json!({"content": "text"}),
        ] {
            let e = parse_response(&bad).unwrap_err();
            assert!(matches!(e, ModelError::InvalidResponse(_)), "{bad}: {e}");
        }
    }
}
