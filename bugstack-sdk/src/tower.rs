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

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bugstack_core::{Shape, ShapeLimits};

use crate::request_context::{TaskScope, TASK_SCOPE};
use crate::request_source::HttpRequest;
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
        let mut kept = HttpRequest::of(&req, config.headers);
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
    use crate::request_source::RequestSource;

    #[test]
    fn the_layer_keeps_headers_only_when_configured() {
        let req = Request::builder()
            .uri("/x")
            .header("Accept", "application/json")
            .body(())
            .unwrap();
        let with = RequestContextLayer::new();
        assert_eq!(HttpRequest::of(&req, with.config.headers).context().headers.len(), 1);
        assert!(HttpRequest::of(&req, false).context().headers.is_empty());
    }
}
