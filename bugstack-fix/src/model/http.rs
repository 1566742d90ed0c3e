//! HTTP plumbing shared by the built-in backends: the secret API key type,
//! the retry policy (exponential backoff with jitter, `Retry-After`), and one
//! JSON POST that applies it.
//!
//! What is retried: HTTP 429 and 5xx answers, and failures to connect. What
//! is not: every other 4xx (a bad key or a bad request does not get better by
//! asking again) and timeouts (the request may be running on the server).
//! Error messages never contain the API key: the server's error text is
//! scrubbed of it before it is put in a [`ModelError`].

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;

use bugstack_core::Secret;

use super::ModelError;

/// Longest server error text kept in an error message.
const MAX_ERROR_TEXT: usize = 500;

/// How failed calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try (0 = no retry).
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub initial_backoff: Duration,
    /// Cap of the computed backoff.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a server asking for more gets an
    /// error instead of a very long wait.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before retry number `retry` (0-based): exponential,
    /// capped, with "equal jitter" (half fixed, half random) so clients that
    /// failed together do not retry together.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry.min(16)))
            .min(self.max_backoff);
        let half = exp / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(fastrand::u64(0..=jitter_ms))
    }
}

/// The longest delay a server can ask for; larger values are clamped (a
/// hostile or broken `retry-after-ms: 1e300` must not panic or stall).
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The delay a server asks for: `retry-after-ms` (OpenAI), else
/// `Retry-After` as seconds or as an HTTP date; at most [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| !ms.is_nan() && *ms >= 0.0)
    {
        return Some(Duration::try_from_secs_f64(ms / 1000.0).map_or(MAX_RETRY_AFTER, |d| d.min(MAX_RETRY_AFTER)));
    }
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = parse_http_date(value)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)).min(MAX_RETRY_AFTER))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) to seconds since
/// the Unix epoch.
pub(crate) fn parse_http_date(s: &str) -> Option<u64> {
    let rest = s.split_once(", ")?.1;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: i64 = year.parse().ok()?;
    let hms: Vec<u64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, sec] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || *h > 23 || *m > 59 || *sec > 60 {
        return None;
    }
    // Days from civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + (*h as i64) * 3600 + (*m as i64) * 60 + *sec as i64;
    u64::try_from(secs).ok()
}

/// `text` with every occurrence of each secret replaced by `[redacted]`.
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(*s, "[redacted]");
    }
    out
}

/// The human part of an error body: `error.message` (OpenAI and Anthropic
/// both use it), else the body's text, cut short.
fn error_text(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body).ok().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("error"))
            .and_then(|m| m.as_str().map(str::to_string))
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    let text = if text.is_empty() {
        "(empty body)".to_string()
    } else {
        text
    };
    if text.chars().count() > MAX_ERROR_TEXT {
        text.chars().take(MAX_ERROR_TEXT).collect::<String>() + "…"
    } else {
        text
    }
}

/// Whether a status is worth retrying.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// What a backend needs to say about itself in errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    /// Full URL.
    pub(crate) url: &'a str,
    /// The environment variable the key came from, for the 401 hint.
    pub(crate) key_env: Option<&'a str>,
    /// The key, to scrub from error text.
    pub(crate) key: Option<&'a Secret>,
}

/// POSTs `body` as JSON with `headers`, retrying per `retry`; the parsed
/// JSON body of the first 2xx answer.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    retry: &RetryPolicy,
    endpoint: Endpoint<'_>,
    headers: HeaderMap,
    body: &serde_json::Value,
) -> Result<serde_json::Value, ModelError> {
    let secrets: Vec<&str> = endpoint.key.map(Secret::expose).into_iter().collect();
    let mut attempt: u32 = 0;
    loop {
        let sent = client
            .post(endpoint.url)
            .headers(headers.clone())
            .json(body)
            .send()
            .await;
        let (error, wait) = match sent {
            Ok(resp) if resp.status().is_success() => {
                let status = resp.status();
                let text = resp.text().await.map_err(|e| {
                    ModelError::Transport(redact(&format!("reading the answer: {}", error_chain(&e)), &secrets))
                })?;
                return serde_json::from_str(&text).map_err(|e| {
                    ModelError::InvalidResponse(redact(
                        &format!("{status} with a body that is not JSON ({e}): {}", error_text(&text)),
                        &secrets,
                    ))
                });
            }
            Ok(resp) => {
                let status = resp.status();
                let asked = retry_after(resp.headers());
                let text = resp.text().await.unwrap_or_default();
                let mut message = redact(&error_text(&text), &secrets);
                if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                    match (endpoint.key, endpoint.key_env) {
                        (Some(_), Some(var)) => message.push_str(&format!(" (check the API key in ${var})")),
                        (Some(_), None) => message.push_str(" (check the API key)"),
                        (None, _) => {
                            message.push_str(" (no API key was sent; name its variable in [model] api_key_env)")
                        }
                    }
                }
                let error = ModelError::Status {
                    status: status.as_u16(),
                    message,
                };
                if !is_retryable(status) {
                    return Err(error);
                }
                if let Some(asked) = asked.filter(|a| *a > retry.max_retry_after) {
                    return Err(ModelError::Status {
                        status: status.as_u16(),
                        message: format!(
                            "{} (the server asked to retry after {}s, longer than the {}s allowed)",
                            redact(&error_text(&text), &secrets),
                            asked.as_secs(),
                            retry.max_retry_after.as_secs()
                        ),
                    });
                }
                (error, asked)
            }
            Err(e) => {
                let what = if e.is_timeout() { "timed out: " } else { "" };
                let error = ModelError::Transport(redact(&format!("{what}{}", error_chain(&e)), &secrets));
                if !e.is_connect() {
                    return Err(error);
                }
                (error, None)
            }
        };
        if attempt >= retry.max_retries {
            return Err(error);
        }
        tokio::time::sleep(wait.unwrap_or_else(|| retry.backoff(attempt))).await;
        attempt += 1;
    }
}

/// An error with its sources, `: `-joined (reqwest's own message alone says
/// little: "error sending request").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        s.push_str(": ");
        s.push_str(&src.to_string());
        cur = src.source();
    }
    s
}

/// Builds the HTTP client every backend uses.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, ModelError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("bugstack-fix/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ModelError::Transport(format!("cannot build the HTTP client: {}", error_chain(&e))))
}

/// `base` without trailing slashes, joined with `path`.
pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

/// A header value holding a credential, marked sensitive (kept out of
/// reqwest's `Debug` output).
pub(crate) fn secret_header(value: &str) -> Result<HeaderValue, ModelError> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| ModelError::Transport("the API key contains characters not allowed in an HTTP header".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

/// The text of the parts of an answer typed `text`, joined (other parts,
/// such as tool calls, are left out).
pub(crate) fn text_parts(parts: &[serde_json::Value]) -> String {
    parts
        .iter()
        .filter(|p| p.get("type").and_then(serde_json::Value::as_str) == Some("text"))
        .filter_map(|p| p.get("text").and_then(serde_json::Value::as_str))
        .collect()
}

/// The answer `content` of `body`, with the model it names, why it
/// stopped (`finish_reason`, a string) and its token counts under the
/// vendor's (input, output) names.
pub(crate) fn chat_response(
    body: &serde_json::Value,
    content: String,
    finish_reason: Option<&serde_json::Value>,
    (input, output): (&str, &str),
) -> super::ChatResponse {
    let text = |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_str).map(str::to_string);
    super::ChatResponse {
        content,
        model: text(body.get("model")),
        finish_reason: text(finish_reason),
        usage: usage(body, input, output),
    }
}

/// The token counts of an answer's `usage` object, under the vendor's
/// field names (0 for a missing count).
pub(crate) fn usage(body: &serde_json::Value, input: &str, output: &str) -> Option<super::Usage> {
    let u = body.get("usage")?;
    let count = |k: &str| u.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    Some(super::Usage {
        input_tokens: count(input),
        output_tokens: count(output),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn hostile_retry_after_values_are_clamped_not_panics() {
        for v in ["1e300", "inf", "18446744073709551615000"] {
            let mut h = HeaderMap::new();
            h.insert("retry-after-ms", HeaderValue::from_str(v).unwrap());
            assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER), "{v}");
        }
        let mut h = HeaderMap::new();
        h.insert("retry-after-ms", HeaderValue::from_static("NaN"));
        h.insert(reqwest::header::RETRY_AFTER, HeaderValue::from_static("99999999"));
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn key_is_never_formatted() {
        let k = Secret::new("sk-secret-123");
        assert!(!format!("{k:?}").contains("secret"));
        assert!(!format!("{k}").contains("secret"));
        assert_eq!(
            redact("bad key sk-secret-123!", &["sk-secret-123"]),
            "bad key [redacted]!"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        for _ in 0..50 {
            let b0 = p.backoff(0);
            assert!(
                b0 >= Duration::from_millis(50) && b0 <= Duration::from_millis(100),
                "{b0:?}"
            );
            let b3 = p.backoff(3);
            assert!(
                b3 >= Duration::from_millis(400) && b3 <= Duration::from_millis(800),
                "{b3:?}"
            );
            assert!(p.backoff(30) <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"));
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_http_date("Thu, 01 Foo 1970 00:00:00 GMT"), None);
    }

    #[test]
    fn error_text_prefers_the_message() {
        assert_eq!(error_text(r#"{"error":{"message":"bad key","type":"x"}}"#), "bad key");
        assert_eq!(error_text("  plain text \n"), "plain text");
        assert_eq!(error_text(""), "(empty body)");
        assert!(error_text(&"x".repeat(2000)).chars().count() <= MAX_ERROR_TEXT + 1);
    }

    #[test]
    fn urls_join_cleanly() {
        assert_eq!(
            join_url("http://h/v1/", "/chat/completions"),
            "http://h/v1/chat/completions"
        );
        assert_eq!(join_url("http://h", "v1/messages"), "http://h/v1/messages");
    }
}
