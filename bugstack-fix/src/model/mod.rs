//! Language models behind one small trait, so no vendor type leaks into the
//! rest of the pipeline. Built-in backends (OpenAI-compatible chat
//! completions, Anthropic Messages) live in submodules.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub mod anthropic;
mod config;
pub mod http;
pub mod openai;

pub use anthropic::Anthropic;
pub use config::{from_config, from_config_with_env};
pub use http::RetryPolicy;
pub use openai::{MaxTokensField, OpenAiCompatible};

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The user (our prompt).
    User,
    /// The model (a previous answer).
    Assistant,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Author.
    pub role: Role,
    /// Text.
    pub content: String,
}

impl ChatMessage {
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// A request to a chat model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// System instructions (trusted: written by bugstack, never by events).
    pub system: String,
    /// The conversation, oldest first.
    pub messages: Vec<ChatMessage>,
    /// Most tokens the answer may use.
    pub max_tokens: u32,
    /// Sampling temperature, when the caller cares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
}

/// Token accounting of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Answer tokens.
    pub output_tokens: u64,
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer's text.
    pub content: String,
    /// The model that answered, as the server names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why it stopped (`stop`, `length`, `end_turn`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Token usage, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// Why a model call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No API key in the configured environment variable.
    #[error("no API key: set the environment variable {0}")]
    MissingApiKey(String),
    /// The server could not be reached or timed out.
    #[error("could not reach the model server: {0}")]
    Transport(String),
    /// The server answered with an error status.
    #[error("model server answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The server's error message (trimmed).
        message: String,
    },
    /// The server's answer is not what the protocol says.
    #[error("model server sent an invalid response: {0}")]
    InvalidResponse(String),
}

/// A chat model. Implement this to plug in any backend.
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// A short name for reports (`openai:gpt-4o-mini`).
    fn name(&self) -> String;

    /// Sends one request and returns the answer.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;
}
