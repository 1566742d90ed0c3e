//! HTTP delivery from the worker thread: `POST {endpoint}/v1/events` with a
//! gzip'd batch, a bearer token, timeouts, exponential backoff with jitter,
//! and `429`/`Retry-After`.

use std::time::Duration;

use bugstack_core::{encode_batch, Batch, ClientStats, Event, ReleaseAnnouncement, SdkInfo, Timestamp, EVENTS_PATH};
use reqwest::blocking::Client as HttpClient;
use reqwest::{StatusCode, Url};

use crate::Error;

/// Longest wait honoured from a `Retry-After` header.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// First backoff delay.
const BACKOFF_BASE: Duration = Duration::from_millis(250);
/// Longest backoff delay.
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// What one delivery attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Sent {
    /// 2xx.
    Ok,
    /// Worth retrying (connection error, timeout, 5xx, 408, 429), after
    /// `retry_after` when the collector said so.
    Retry {
        retry_after: Option<Duration>,
        reason: String,
    },
    /// Rejected for good (4xx other than 408/429, or the batch cannot be
    /// encoded); `too_large` for 413, where a smaller batch may pass.
    Rejected { reason: String, too_large: bool },
}

/// Validates and normalizes an endpoint into the events URL.
pub(crate) fn events_url(endpoint: &str) -> Result<Url, Error> {
    let shown = || {
        // Never repeat credentials embedded in the URL.
        match endpoint.split_once('@') {
            Some((_, host)) if endpoint.contains("://") => format!("<credentials>@{host}"),
            _ => endpoint.to_string(),
        }
    };
    let url = Url::parse(endpoint).map_err(|e| Error::InvalidEndpoint {
        endpoint: shown(),
        reason: e.to_string(),
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(Error::InvalidEndpoint {
            endpoint: shown(),
            reason: format!("scheme {:?} is not http or https", url.scheme()),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::InvalidEndpoint {
            endpoint: shown(),
            reason: "no host".into(),
        });
    }
    let base = endpoint.trim_end_matches('/');
    Url::parse(&format!("{base}{EVENTS_PATH}")).map_err(|e| Error::InvalidEndpoint {
        endpoint: shown(),
        reason: e.to_string(),
    })
}

/// The worker's HTTP client. Build it on the worker thread: a blocking
/// reqwest client must not be created or dropped inside an async runtime.
pub(crate) struct Transport {
    http: Option<HttpClient>,
    url: Url,
    token: Option<String>,
    default_timeout: Duration,
}

impl Transport {
    pub(crate) fn new(url: Url, token: Option<String>, timeout: Duration) -> (Self, Option<String>) {
        let built = HttpClient::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .user_agent(concat!("bugstack-sdk/", env!("CARGO_PKG_VERSION")))
            .build();
        let (http, err) = match built {
            Ok(c) => (Some(c), None),
            Err(e) => (
                None,
                Some(format!("could not build the HTTP client: {}", e.without_url())),
            ),
        };
        (
            Transport {
                http,
                url,
                token,
                default_timeout: timeout,
            },
            err,
        )
    }

    /// Posts `events` as one gzip'd batch with id `batch_id` (the same on
    /// every retry of that batch) carrying `stats` and, when given, a release
    /// announcement.
    pub(crate) fn send(
        &self,
        events: &[Event],
        batch_id: &str,
        release: Option<&ReleaseAnnouncement>,
        stats: ClientStats,
        timeout: Option<Duration>,
    ) -> Sent {
        let Some(http) = &self.http else {
            return Sent::Retry {
                retry_after: None,
                reason: "no HTTP client".into(),
            };
        };
        let mut batch = Batch::new(Timestamp::now(), events.to_vec());
        batch.sdk = Some(SdkInfo {
            name: "bugstack-sdk".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        });
        batch.stats = Some(stats);
        batch.release = release.cloned();
        batch.batch_id = Some(batch_id.to_string());
        let body = match encode_batch(&batch) {
            Ok(b) => b,
            Err(e) => {
                return Sent::Rejected {
                    reason: e.to_string(),
                    too_large: false,
                }
            }
        };
        let mut req = http
            .post(self.url.clone())
            .timeout(timeout.unwrap_or(self.default_timeout).max(Duration::from_millis(1)))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        match req.send() {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_retry_after);
                classify(status, retry_after)
            }
            Err(e) => Sent::Retry {
                retry_after: None,
                reason: e.without_url().to_string(),
            },
        }
    }
}

fn classify(status: StatusCode, retry_after: Option<Duration>) -> Sent {
    if status.is_success() {
        Sent::Ok
    } else if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        Sent::Retry {
            retry_after,
            reason: format!("collector answered {status}"),
        }
    } else {
        Sent::Rejected {
            reason: format!("collector answered {status}"),
            too_large: status == StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

/// `Retry-After` in delay-seconds form, fractions accepted, clamped to
/// [`MAX_RETRY_AFTER`] (`1e300` and `inf` included: `Duration::from_secs_f64`
/// would panic on them). NaN, negative values and an HTTP date give `None`
/// (backoff applies).
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let secs: f64 = v.trim().parse().ok()?;
    if secs.is_nan() || secs < 0.0 {
        return None;
    }
    let max = MAX_RETRY_AFTER.as_secs_f64();
    Some(if secs >= max {
        MAX_RETRY_AFTER
    } else {
        Duration::from_secs_f64(secs)
    })
}

/// The delay before retry number `failures` (1-based): exponential from
/// 250 ms, capped at 60 s, with "equal jitter" (half fixed, half random).
pub(crate) fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let d = exp.min(BACKOFF_MAX);
    let half = d / 2;
    half + Duration::from_millis(fastrand::u64(0..=half.as_millis() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_validation() {
        assert_eq!(
            events_url("http://127.0.0.1:7878/").unwrap().as_str(),
            "http://127.0.0.1:7878/v1/events"
        );
        assert_eq!(
            events_url("https://c.example/base").unwrap().as_str(),
            "https://c.example/base/v1/events"
        );
        for bad in ["not a url", "ftp://x/", "http://"] {
            assert!(events_url(bad).is_err(), "{bad}");
        }
        let err = events_url("ftp://user:hunter2@x/").unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn status_classes() {
        assert_eq!(classify(StatusCode::ACCEPTED, None), Sent::Ok);
        for status in [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::REQUEST_TIMEOUT] {
            assert!(matches!(classify(status, None), Sent::Retry { .. }), "{status}");
        }
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3))),
            Sent::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        for status in [StatusCode::UNAUTHORIZED, StatusCode::PAYLOAD_TOO_LARGE] {
            assert!(matches!(classify(status, None), Sent::Rejected { .. }), "{status}");
        }
    }

    #[test]
    fn retry_after_and_backoff_bounds() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("99999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_retry_after("0.25"), Some(Duration::from_millis(250)));
        for huge in ["1e300", "inf", "+infinity", "1e309", "18446744073709551616"] {
            assert_eq!(parse_retry_after(huge), Some(MAX_RETRY_AFTER), "{huge}");
        }
        for bad in ["NaN", "-1", "-inf", "-0.5", ""] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
        assert_eq!(parse_retry_after("-0"), Some(Duration::ZERO));
        for n in 1..40 {
            let d = backoff(n);
            let full = BACKOFF_BASE.saturating_mul(1u32 << (n - 1).min(16)).min(BACKOFF_MAX);
            assert!(d >= full / 2 && d <= full, "{n}: {d:?}");
        }
    }
}
