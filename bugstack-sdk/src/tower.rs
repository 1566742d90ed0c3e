//! `tower` integration (feature `tower`; feature `axum` adds route templates):
//! a [`tower::Layer`](::tower::Layer) that records the request's method,
//! route template (axum's `MatchedPath`), path (query values removed),
//! headers (sensitive ones redacted; the rest are scrubbed on the worker) and,
//! opt-in, the JSON payload's *shape* (keys and types, never values, size-capped).
//! Every event captured while the handler runs — a panic, `capture_error`, a
//! `tracing` error — carries that request's context, across `.await` points
//! and worker threads (a tokio task-local scopes the handler's future).
//!
//! ```
//! use axum::{routing::post, Router};
//! let app: Router = Router::new()
//!     .route("/carts/{id}/checkout", post(|| async { "ok" }))
//!     .layer(bugstack_sdk::tower::RequestContextLayer::new().with_payload_shape(16 * 1024));
//! # let _ = app;
//! ```
//!
//! The body type must implement `From<Bytes>` (axum's `Body` does) so that a
//! body read for its shape can be handed on to the handler.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bugstack_core::{RequestContext, Scrubber, Shape, ShapeLimits, REDACTED};

use crate::request_context::{RequestSource, TaskScope, TASK_SCOPE};
use bytes::Bytes;
use http::Request;
use http_body_util::BodyExt;

/// Records the request context for events captured inside the inner service.
#[derive(Debug, Clone)]
pub struct RequestContextLayer {
    config: Arc<Config>,
}

#[derive(Debug, Clone)]
struct Config {
    headers: bool,
    max_payload: Option<usize>,
    shape_limits: ShapeLimits,
}

impl Default for RequestContextLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestContextLayer {
    /// Method, route, path and headers; no payload shape.
    pub fn new() -> Self {
        RequestContextLayer {
            config: Arc::new(Config {
                headers: true,
                max_payload: None,
                shape_limits: ShapeLimits::default(),
            }),
        }
    }

    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// Records the shape of JSON bodies (`Content-Type: application/json`)
    /// whose `Content-Length` is at most `max_bytes`. Off by default: it reads
    /// the body before the handler does (then hands the same bytes on).
    pub fn with_payload_shape(mut self, max_bytes: usize) -> Self {
        self.config_mut().max_payload = Some(max_bytes);
        self
    }

    /// Whether headers are recorded (default true).
    pub fn headers(mut self, on: bool) -> Self {
        self.config_mut().headers = on;
        self
    }

    /// Bounds on the recorded payload shape.
    pub fn shape_limits(mut self, limits: ShapeLimits) -> Self {
        self.config_mut().shape_limits = limits;
        self
    }
}

impl<S> ::tower::Layer<S> for RequestContextLayer {
    type Service = RequestContextService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestContextService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`RequestContextLayer`].
#[derive(Debug, Clone)]
pub struct RequestContextService<S> {
    inner: S,
    config: Arc<Config>,
}

pin_project_lite::pin_project! {
    /// The future of [`RequestContextService`]: the inner service's future,
    /// run inside the request's task-local scope — no allocation of its
    /// own. Only with [`RequestContextLayer::with_payload_shape`], whose
    /// body read needs its own state, is it boxed.
    pub struct ResponseFuture<F, R, E> {
        #[pin]
        state: State<F, R, E>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, R, E> {
        // The SDK is off: the inner future as is.
        Plain { #[pin] fut: F },
        // The inner future in the request's scope.
        Scoped { #[pin] fut: tokio::task::futures::TaskLocalFuture<TaskScope, F> },
        // Reading the body for its shape first (opt-in).
        Boxed { fut: Pin<Box<dyn Future<Output = Result<R, E>> + Send>> },
    }
}

impl<F, R, E> Future for ResponseFuture<F, R, E>
where
    F: Future<Output = Result<R, E>>,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Plain { fut } => fut.poll(cx),
            StateProj::Scoped { fut } => fut.poll(cx),
            StateProj::Boxed { fut } => fut.as_mut().poll(cx),
        }
    }
}

impl<F, R, E> std::fmt::Debug for ResponseFuture<F, R, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

/// The path with every query value replaced (no regex work here: the worker
/// scrubs the rest when an event is actually sent).
fn strip_query_values(path_and_query: &str) -> String {
    let Some((path, query)) = path_and_query.split_once('?') else {
        return path_and_query.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) => format!("{k}={REDACTED}"),
            None => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// What the layer keeps of a request: cheap clones only (the method, the
/// URI, the matched route, the header map). Strings, truncation and
/// redaction happen in [`RequestSource::context`], on the worker, and only
/// when an event is captured.
#[derive(Clone)]
pub(crate) struct HttpRequest {
    method: http::Method,
    uri: http::Uri,
    #[cfg(feature = "axum")]
    route: Option<axum::extract::MatchedPath>,
    headers: Option<http::HeaderMap>,
    payload_shape: Option<Shape>,
}

impl HttpRequest {
    fn of<B>(req: &Request<B>, config: &Config) -> Self {
        HttpRequest {
            method: req.method().clone(),
            uri: req.uri().clone(),
            #[cfg(feature = "axum")]
            route: req.extensions().get::<axum::extract::MatchedPath>().cloned(),
            headers: config.headers.then(|| req.headers().clone()),
            payload_shape: None,
        }
    }

    #[cfg(feature = "axum")]
    fn route(&self) -> Option<String> {
        self.route.as_ref().map(|m| m.as_str().to_string())
    }

    #[cfg(not(feature = "axum"))]
    fn route(&self) -> Option<String> {
        None
    }
}

impl RequestSource for HttpRequest {
    fn context(&self) -> RequestContext {
        let mut headers = BTreeMap::new();
        if let Some(map) = &self.headers {
            // Name-based redaction here; values are regex-scrubbed with the rest of the event.
            let scrubber = Scrubber::default();
            for (name, value) in map {
                let name = name.as_str().to_string();
                let value = if scrubber.is_sensitive_name(&name) {
                    REDACTED.to_string()
                } else {
                    String::from_utf8_lossy(value.as_bytes()).into_owned()
                };
                headers.insert(name, bugstack_core::text::truncate_owned(value, 1024));
            }
        }
        let path = self
            .uri
            .path_and_query()
            .map_or_else(|| self.uri.path().to_string(), |pq| strip_query_values(pq.as_str()));
        RequestContext {
            method: Some(self.method.as_str().to_string()),
            route: self.route(),
            path: Some(path),
            headers,
            payload_shape: self.payload_shape.clone(),
        }
    }
}

fn wants_shape<B>(req: &Request<B>, max: usize) -> bool {
    let headers = req.headers();
    let json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
    let small = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|n| n <= max);
    json && small
}

impl<S, B> ::tower::Service<Request<B>> for RequestContextService<S>
where
    S: ::tower::Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: 'static,
    S::Error: 'static,
    B: http_body::Body<Data = Bytes> + From<Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let config = Arc::clone(&self.config);
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !crate::is_enabled() {
            return ResponseFuture {
                state: State::Plain { fut: inner.call(req) },
            };
        }
        let mut kept = HttpRequest::of(&req, &config);
        let Some(max) = config.max_payload.filter(|&max| wants_shape(&req, max)) else {
            return ResponseFuture {
                state: State::Scoped {
                    fut: TASK_SCOPE.scope(TaskScope::new(kept), inner.call(req)),
                },
            };
        };
        let fut = Box::pin(async move {
            let (parts, body) = req.into_parts();
            // A body that fails to read reaches the handler empty, as it
            // would have failed there too.
            let bytes = match http_body_util::Limited::new(body, max).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => Bytes::new(),
            };
            if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
                kept.payload_shape = Some(Shape::of(&value, &config.shape_limits));
            }
            let req = Request::from_parts(parts, B::from(bytes));
            TASK_SCOPE.scope(TaskScope::new(kept), inner.call(req)).await
        });
        ResponseFuture {
            state: State::Boxed { fut },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_stripped_without_regexes() {
        assert_eq!(
            strip_query_values("/a?x=1&y&z=secret"),
            "/a?x=[redacted]&y&z=[redacted]"
        );
        assert_eq!(strip_query_values("/carts/42"), "/carts/42");
    }

    #[test]
    fn sensitive_headers_are_redacted_in_the_layer() {
        let req = Request::builder()
            .method("POST")
            .uri("/login?token=abc")
            .header("Authorization", "Bearer xyz")
            .header("Accept", "application/json")
            .body(())
            .unwrap();
        let kept = HttpRequest::of(&req, &RequestContextLayer::new().config);
        let ctx = kept.context();
        assert_eq!(ctx.headers["authorization"], REDACTED);
        assert_eq!(ctx.headers["accept"], "application/json");
        assert_eq!(ctx.path.as_deref(), Some("/login?token=[redacted]"));
        assert_eq!(ctx.method.as_deref(), Some("POST"));
    }
}
