//! What every built-in HTTP backend keeps and does alike: the server and
//! model it asks, the variable its key came from, its timeout and retry
//! policy, its client; the builder methods over them; one JSON POST.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use bugstack_core::Secret;

use super::http::{self, Endpoint, RetryPolicy};
use super::{ChatResponse, ModelConfig, ModelError};

/// A backend's connection to its server (never its key).
#[derive(Clone)]
pub(crate) struct Connection {
    /// The API base URL.
    pub(crate) base_url: String,
    /// The model name sent in requests.
    pub(crate) model: String,
    /// The environment variable the key came from, for the 401 hint.
    pub(crate) key_env: Option<String>,
    /// Per-request timeout.
    timeout: Duration,
    /// How failed calls are retried.
    pub(crate) retry: RetryPolicy,
    client: reqwest::Client,
}

impl Connection {
    /// `model` at `base_url`, with the default timeout and retry policy.
    pub(crate) fn new(base_url: String, model: String) -> Result<Self, ModelError> {
        let timeout = Duration::from_secs(ModelConfig::default().timeout_secs);
        Ok(Connection {
            base_url,
            model,
            key_env: None,
            timeout,
            retry: RetryPolicy::default(),
            client: http::client(timeout)?,
        })
    }

    /// Another per-request timeout (the client is rebuilt for it).
    pub(crate) fn set_timeout(&mut self, timeout: Duration) -> Result<(), ModelError> {
        self.client = http::client(timeout)?;
        self.timeout = timeout;
        Ok(())
    }

    /// The backend's `Debug`: `name { base_url, model, <own fields>,
    /// timeout, retry }`.
    pub(crate) fn debug(&self, f: &mut fmt::Formatter<'_>, name: &str, own: &[(&str, &dyn fmt::Debug)]) -> fmt::Result {
        let mut d = f.debug_struct(name);
        d.field("base_url", &self.base_url).field("model", &self.model);
        for (field, value) in own {
            d.field(field, value);
        }
        d.field("timeout", &self.timeout).field("retry", &self.retry).finish()
    }

    /// The backend's [`LanguageModel::name`](super::LanguageModel::name):
    /// `provider:model`.
    pub(crate) fn name(&self, provider: &str) -> String {
        format!("{provider}:{}", self.model)
    }

    /// One chat call: POSTs `body` as `call` says, retrying per the policy
    /// ([`http::post_json`]), and reads the answer with `parse`. The key is
    /// scrubbed from errors, its variable named in a 401's hint.
    pub(crate) async fn chat(
        &self,
        call: Call<'_>,
        body: &Value,
        parse: fn(&Value) -> Result<ChatResponse, ModelError>,
    ) -> Result<ChatResponse, ModelError> {
        let url = http::join_url(&self.base_url, call.path);
        let endpoint = Endpoint {
            url: &url,
            key_env: call.key_env,
            key: call.key,
        };
        let answer = http::post_json(&self.client, &self.retry, endpoint, call.headers, body).await?;
        parse(&answer)
    }
}

/// Where and how a backend sends its chat request ([`Connection::chat`]).
pub(crate) struct Call<'a> {
    /// The path under the base URL.
    pub(crate) path: &'a str,
    /// The API key, if any.
    pub(crate) key: Option<&'a Secret>,
    /// The variable the key came from.
    pub(crate) key_env: Option<&'a str>,
    /// The headers, the key's among them.
    pub(crate) headers: HeaderMap,
}

/// The public builder methods and accessors of a backend with a `conn:
/// Connection` field, written once for all of them.
macro_rules! connection_methods {
    () => {
        /// From `[model]` in `bugstack.toml`, reading the key from the process
        /// environment (see `from_config_with_env`).
        pub fn from_config(config: &crate::model::ModelConfig) -> Result<Self, crate::model::ModelError> {
            Self::from_config_with_env(config, |name| std::env::var(name).ok())
        }

        /// Per-request timeout (connect timeout: the same, at most 10 s).
        pub fn with_timeout(mut self, timeout: std::time::Duration) -> Result<Self, crate::model::ModelError> {
            self.conn.set_timeout(timeout)?;
            Ok(self)
        }

        /// How failed calls are retried.
        pub fn with_retry(mut self, retry: crate::model::RetryPolicy) -> Self {
            self.conn.retry = retry;
            self
        }

        /// The model name sent in requests.
        pub fn model(&self) -> &str {
            &self.conn.model
        }

        /// The API base URL.
        pub fn base_url(&self) -> &str {
            &self.conn.base_url
        }
    };
}

pub(crate) use connection_methods;
