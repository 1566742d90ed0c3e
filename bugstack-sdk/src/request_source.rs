//! Where the context of the request in scope comes from: a ready
//! [`RequestContext`] (set with [`with_request`](crate::with_request)), or the
//! parts the [`tower`](crate::tower) layer kept ([`HttpRequest`]), turned
//! into strings only when an event is prepared. A leaf of the crate's module
//! graph: the request scope and the tower layer both build on it.

#[cfg(feature = "tower")]
use std::collections::BTreeMap;

use bugstack_core::RequestContext;
#[cfg(feature = "tower")]
use bugstack_core::{Scrubber, Shape, REDACTED};

/// Where a request's context comes from: a ready [`RequestContext`], or
/// the parts the tower layer kept, turned into strings (and sensitive
/// headers redacted) only when an event is prepared.
pub(crate) trait RequestSource: Send + Sync {
    /// The context, built now.
    fn context(&self) -> RequestContext;
}

impl RequestSource for RequestContext {
    fn context(&self) -> RequestContext {
        self.clone()
    }
}

#[cfg(feature = "tower")]
/// The path with every query value replaced (no regex work here: the worker
/// scrubs the rest when an event is actually sent).
pub(crate) fn strip_query_values(path_and_query: &str) -> String {
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
#[cfg(feature = "tower")]
#[derive(Clone)]
pub(crate) struct HttpRequest {
    method: http::Method,
    uri: http::Uri,
    #[cfg(feature = "axum")]
    route: Option<axum::extract::MatchedPath>,
    headers: Option<http::HeaderMap>,
    /// The JSON body's shape, when the layer read it.
    pub(crate) payload_shape: Option<Shape>,
}

#[cfg(feature = "tower")]
impl HttpRequest {
    pub(crate) fn of<B>(req: &http::Request<B>, keep_headers: bool) -> Self {
        HttpRequest {
            method: req.method().clone(),
            uri: req.uri().clone(),
            #[cfg(feature = "axum")]
            route: req.extensions().get::<axum::extract::MatchedPath>().cloned(),
            headers: keep_headers.then(|| req.headers().clone()),
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

#[cfg(feature = "tower")]
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

#[cfg(all(test, feature = "tower"))]
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
        let req = http::Request::builder()
            .method("POST")
            .uri("/login?token=abc")
            .header("Authorization", "Bearer xyz")
            .header("Accept", "application/json")
            .body(())
            .unwrap();
        let kept = HttpRequest::of(&req, true);
        let ctx = kept.context();
        assert_eq!(ctx.headers["authorization"], REDACTED);
        assert_eq!(ctx.headers["accept"], "application/json");
        assert_eq!(ctx.path.as_deref(), Some("/login?token=[redacted]"));
        assert_eq!(ctx.method.as_deref(), Some("POST"));
    }
}
