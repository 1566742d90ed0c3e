//! The collector's JSON error responses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// An error answered to an API client as
/// `{"error": "<kind>", "message": "<what was wrong>"}` with a fitting status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable kind (see `docs/collector.md`).
    pub kind: &'static str,
    /// What was wrong, for a person.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    message: &'a str,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
        }
    }

    /// 401: missing or wrong token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`: a valid token that may not do this (the ingest
    /// token reading).
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 413 `too_large`: the body is over a size or event-count limit.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 400: the request is not valid.
    pub fn bad_request(kind: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, kind, message)
    }

    /// 404: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 429: too many batches in flight; retry after a second.
    pub fn overloaded() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "overloaded",
            "the collector is handling as many batches as it allows; retry after 1 second",
        )
    }

    /// 408: the body did not arrive in time.
    pub fn body_timeout(secs: u64) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request body did not arrive within {secs} seconds"),
        )
    }

    /// 503: the store failed; the sender should retry later.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", message)
    }
}

impl From<bugstack_core::Error> for ApiError {
    fn from(e: bugstack_core::Error) -> Self {
        use bugstack_core::Error as E;
        let message = e.to_string();
        match e {
            E::BodyTooLarge { .. } | E::DecompressedTooLarge { .. } | E::TooManyEvents { .. } => {
                Self::too_large(message)
            }
            E::Gzip(_) => Self::bad_request("bad_gzip", message),
            E::InvalidFingerprint { .. } => Self::bad_request("bad_fingerprint", message),
            E::MalformedJson { .. } | E::InvalidBatchId { .. } => Self::bad_request("malformed", message),
            E::MissingSchemaVersion | E::UnsupportedSchemaVersion { .. } => {
                Self::bad_request("unsupported_schema", message)
            }
            E::UnsupportedEncoding(_) => Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_encoding", message),
            _ => Self::bad_request("bad_request", message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(Body {
                error: self.kind,
                message: &self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of a refused body is not wanted: no keep-alive.
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bugstack_core::{decode_batch, ContentEncoding, DecodeLimits};

    #[test]
    fn a_malformed_client_fingerprint_is_a_400_saying_why() {
        let body = br#"{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{"kind":"panic","level":"fatal","message":"m","timestamp":"2026-01-01T00:00:00Z","fingerprint":"../../refs/heads/main"}]}"#;
        let err: ApiError = decode_batch(body, ContentEncoding::Identity, &DecodeLimits::default())
            .unwrap_err()
            .into();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message
                .contains("fingerprint must be exactly 64 lowercase hex digits"),
            "{}",
            err.message
        );
        let err: ApiError = bugstack_core::Fingerprint::parse("ABC").unwrap_err().into();
        assert_eq!((err.status, err.kind), (StatusCode::BAD_REQUEST, "bad_fingerprint"));
    }

    #[test]
    fn a_field_over_its_limit_is_a_400_naming_it() {
        let parts = vec!["\"p\""; 17].join(",");
        let body = format!(
            r#"{{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{{"kind":"panic","level":"fatal","message":"m","timestamp":"2026-01-01T00:00:00Z","fingerprint_parts":[{parts}]}}]}}"#
        );
        let err: ApiError = decode_batch(body.as_bytes(), ContentEncoding::Identity, &DecodeLimits::default())
            .unwrap_err()
            .into();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(
            err.message.contains("fingerprint_parts: more than 16"),
            "{}",
            err.message
        );
    }
}
