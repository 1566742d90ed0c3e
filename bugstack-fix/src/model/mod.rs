//! Language models behind one small trait, so no vendor type leaks into the
//! rest of the pipeline. Built-in backends (OpenAI-compatible chat
//! completions, Anthropic Messages) live in submodules.

use async_trait::async_trait;
use bugstack_core::omit_empty;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub(crate) mod anthropic;
mod config;
mod connection;
pub(crate) mod http;
pub(crate) mod openai;

pub use anthropic::AnthropicModel;
pub use config::{ModelBackend, ModelConfig};
pub use http::RetryPolicy;
pub use openai::{MaxTokensField, OpenAiCompatibleModel};

/// A chat model: one request in, one answer out. Implement it to put any
/// backend behind the [`LlmGenerator`](crate::LlmGenerator) (a company
/// gateway, a local inference library, a recorded replay).
///
/// The generator writes the prompt, parses the answer strictly and checks
/// the diff in it; a model only carries text. The built-in backends are
/// [`OpenAiCompatibleModel`] (OpenAI and every server speaking its chat
/// completions API: Ollama, vLLM, llama.cpp, ...) and [`AnthropicModel`].
///
/// # Contract
///
/// - **One call, one answer.** Send [`ChatRequest::system`] as the system
///   instructions and the messages in order; return the text of one
///   answer. Respect [`ChatRequest::max_tokens`], and say when the answer
///   was cut off (`finish_reason` `length` or `max_tokens`): the generator
///   discards a partial answer.
/// - **Retry inside, fail clearly.** Transient failures (timeouts, 429, 5xx)
///   may be retried by the backend itself (see [`RetryPolicy`]); what is
///   left is a [`ModelError`], which fails the attempt with its message.
/// - **Keep secrets out of messages.** A [`ModelError`] ends up in reports
///   and pull requests: never put an API key in it (hold keys as
///   [`bugstack_core::Secret`]).
/// - **The prompt holds untrusted data** (the event, inside a marked data
///   block): don't log it where it could be mistaken for instructions.
///
/// # Example
///
/// A model that answers from a function:
///
/// ```
/// use async_trait::async_trait;
/// use bugstack_fix::{ChatRequest, ChatResponse, LanguageModel, ModelError};
///
/// struct Scripted(fn(&ChatRequest) -> String);
///
/// #[async_trait]
/// impl LanguageModel for Scripted {
///     fn name(&self) -> String {
///         "scripted".into()
///     }
///
///     async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
///         if request.messages.is_empty() {
///             return Err(ModelError::InvalidResponse("nothing to answer".into()));
///         }
///         Ok(ChatResponse {
///             content: (self.0)(request),
///             model: Some(self.name()),
///             finish_reason: Some("stop".into()),
///             usage: None,
///         })
///     }
/// }
/// ```
///
/// [The custom-stages example](crate#custom-stages)
/// (`bugstack-fix/examples/custom_backend.rs`) drives such a model through
/// the [`LlmGenerator`](crate::LlmGenerator) in a
/// [`Pipeline`](crate::Pipeline), feedback and retry included.
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// A short name for reports (`openai:gpt-4o-mini`).
    fn name(&self) -> String;

    /// Sends one request and returns the answer.
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;
}

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
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer's text.
    pub content: String,
    /// The model that answered, as the server names it.
    pub model: Option<String>,
    /// Why it stopped (`stop`, `length`, `end_turn`, ...).
    pub finish_reason: Option<String>,
    /// Token usage, when reported.
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
