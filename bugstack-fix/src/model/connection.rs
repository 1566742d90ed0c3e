//! What every built-in HTTP backend keeps and does alike: the server and
//! model it asks, the variable its key came from, its timeout and retry
//! policy, its client; the builder methods over them; one JSON POST.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use bugstack_core::Secret;

use super::http::{self, Endpoint, RetryPolicy};
use super::{ModelConfig, ModelError};

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

    /// POSTs `body` to `path` under the base URL with `headers`, retrying
    /// per the policy ([`http::post_json`]); `key` is scrubbed from errors,
    /// `key_env` named in a 401's hint.
    pub(crate) async fn post(
        &self,
        path: &str,
        key: Option<&Secret>,
        key_env: Option<&str>,
        headers: HeaderMap,
        body: &Value,
    ) -> Result<Value, ModelError> {
        let url = http::join_url(&self.base_url, path);
        let endpoint = Endpoint {
            url: &url,
            key_env,
            key,
        };
        http::post_json(&self.client, &self.retry, endpoint, headers, body).await
    }
}

/// The public builder methods and accessors of a backend with a `conn:
/// Connection` field, written once for all of them.
macro_rules! connection_methods {
    () => {
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
