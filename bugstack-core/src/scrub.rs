//! Scrubbing: removes secrets from an event before it leaves the process.
//!
//! - **Headers**: `Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, and any header whose name contains `api-key`, `apikey`,
//!   `token`, `secret`, `password`, `auth`, `session`, `csrf`, `signature`,
//!   `credential` or `private` have their value replaced by [`REDACTED`].
//! - **Text** (messages, error chain, tags, breadcrumbs, header values):
//!   bearer/basic tokens, passwords in URLs (`postgres://user:pw@host`),
//!   `password=`/`token=`/`api_key=`-style pairs, well-known API key shapes
//!   (OpenAI/Anthropic `sk-…`, GitHub `ghp_…`/`github_pat_…`, AWS `AKIA…`,
//!   Slack `xox?-…`, Google `AIza…`), JWTs, and e-mail addresses.
//! - **URL paths**: query values are removed (`/search?q=[redacted]`).
//! - Extra regexes from [`ScrubConfig::extra_patterns`]; matches become
//!   [`REDACTED`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use once_cell::sync::Lazy;
use regex::Regex;

use crate::{Error, Event};

/// What a scrubbed value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// What an e-mail address is replaced with.
pub const REDACTED_EMAIL: &str = "[email]";

const SENSITIVE_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "set-cookie"];

const SENSITIVE_NAME_PARTS: &[&str] = &[
    "api-key",
    "apikey",
    "api_key",
    "token",
    "secret",
    "password",
    "passwd",
    "auth",
    "session",
    "csrf",
    "xsrf",
    "signature",
    "credential",
    "private",
];

struct Rule {
    re: Regex,
    replacement: &'static str,
}

fn rule(re: &str, replacement: &'static str) -> Rule {
    Rule {
        re: Regex::new(re).expect("static scrub regex compiles"),
        replacement,
    }
}

static BUILTIN_RULES: Lazy<Vec<Rule>> = Lazy::new(|| {
    vec![
        // scheme://user:password@host — keep the user, drop the password.
        rule(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]+):[^@\s/]+@", "${1}:[redacted]@"),
        // Authorization schemes followed by a credential.
        rule(
            r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9\-._~+/]{6,}=*",
            "${1} [redacted]",
        ),
        // key=value / key: value pairs with a secret-sounding key.
        rule(
            r#"(?i)\b((?:password|passwd|pwd|secret|client_secret|api[_\-]?key|access[_\-]?key|access[_\-]?token|refresh[_\-]?token|auth[_\-]?token|token)\s*[=:]\s*"?)[^\s"&,;]+"#,
            "${1}[redacted]",
        ),
        // Well-known API key shapes.
        rule(r"\bsk-[A-Za-z0-9_\-]{16,}", "[redacted]"),
        rule(r"\bgh[pousr]_[A-Za-z0-9]{20,}", "[redacted]"),
        rule(r"\bgithub_pat_[A-Za-z0-9_]{20,}", "[redacted]"),
        rule(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "[redacted]"),
        rule(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}", "[redacted]"),
        rule(r"\bAIza[0-9A-Za-z_\-]{35}", "[redacted]"),
        // JSON Web Tokens.
        rule(
            r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]+",
            "[redacted]",
        ),
        // E-mail addresses.
        rule(
            r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}",
            "[email]",
        ),
    ]
});

/// Extra scrubbing configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScrubConfig {
    /// Extra regexes (Rust `regex` syntax); each match becomes [`REDACTED`].
    pub extra_patterns: Vec<String>,
    /// Extra header names (case-insensitive) whose values are always redacted.
    pub extra_headers: Vec<String>,
}

/// Removes secrets from events and strings. Cheap to share; build it once.
#[derive(Debug, Default)]
pub struct Scrubber {
    extra: Vec<Regex>,
    extra_headers: Vec<String>,
}

impl Scrubber {
    /// A scrubber with the built-in rules plus `config`'s. Fails when an
    /// extra pattern is not a valid regex (the error names it).
    pub fn new(config: &ScrubConfig) -> Result<Self, Error> {
        let extra = config
            .extra_patterns
            .iter()
            .map(|p| {
                Regex::new(p).map_err(|e| Error::InvalidScrubPattern {
                    pattern: p.clone(),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Scrubber {
            extra,
            extra_headers: config.extra_headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
        })
    }

    /// Whether a header (or tag) name marks its value as secret.
    pub fn is_sensitive_name(&self, name: &str) -> bool {
        let n = name.to_ascii_lowercase();
        SENSITIVE_HEADERS.contains(&n.as_str())
            || SENSITIVE_NAME_PARTS.iter().any(|p| n.contains(p))
            || self.extra_headers.contains(&n)
    }

    /// `text` with every secret-looking value replaced.
    pub fn scrub_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for r in BUILTIN_RULES.iter() {
            if let Cow::Owned(s) = r.re.replace_all(&out, r.replacement) {
                out = Cow::Owned(s);
            }
        }
        for re in &self.extra {
            if let Cow::Owned(s) = re.replace_all(&out, REDACTED) {
                out = Cow::Owned(s);
            }
        }
        out
    }

    /// Scrubs `text` in place.
    pub fn scrub_string(&self, text: &mut String) {
        if let Cow::Owned(s) = self.scrub_str(text) {
            *text = s;
        }
    }

    /// Lowercases header names, redacts sensitive headers, scrubs the rest.
    pub fn scrub_headers(&self, headers: &mut BTreeMap<String, String>) {
        let old = std::mem::take(headers);
        for (name, value) in old {
            let name = name.to_ascii_lowercase();
            let value = if self.is_sensitive_name(&name) {
                REDACTED.to_string()
            } else {
                self.scrub_str(&value).into_owned()
            };
            headers.insert(name, value);
        }
    }

    /// A URL path with query values removed and the fragment dropped:
    /// `/a?x=1&y` → `/a?x=[redacted]&y`.
    pub fn scrub_path(&self, path: &str) -> String {
        let path = path.split('#').next().unwrap_or_default();
        let (base, query) = match path.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (path, None),
        };
        let mut out = self.scrub_str(base).into_owned();
        if let Some(q) = query {
            out.push('?');
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) => format!("{}={REDACTED}", self.scrub_str(k)),
                    None => self.scrub_str(pair).into_owned(),
                })
                .collect();
            out.push_str(&pairs.join("&"));
        }
        out
    }

    /// Scrubs every free-text and header field of an event in place.
    pub fn scrub_event(&self, event: &mut Event) {
        self.scrub_string(&mut event.message);
        for link in &mut event.chain {
            self.scrub_string(&mut link.message);
        }
        for (k, v) in event.tags.iter_mut() {
            if self.is_sensitive_name(k) {
                *v = REDACTED.to_string();
            } else {
                self.scrub_string(v);
            }
        }
        for b in &mut event.breadcrumbs {
            self.scrub_string(&mut b.message);
        }
        if let Some(req) = &mut event.request {
            self.scrub_headers(&mut req.headers);
            if let Some(p) = &req.path {
                req.path = Some(self.scrub_path(p));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChainLink, EventKind, Level, RequestContext, Timestamp};

    fn s(text: &str) -> String {
        Scrubber::default().scrub_str(text).into_owned()
    }

    #[test]
    fn each_sensitive_header_is_redacted() {
        let mut h = BTreeMap::new();
        for (k, v) in [
            ("Authorization", "Bearer abc.def.ghi"),
            ("Cookie", "sid=s3cr3t"),
            ("Set-Cookie", "sid=s3cr3t; HttpOnly"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
            ("X-Api-Key", "k-12345"),
            ("X-Auth-Token", "t-12345"),
            ("X-Client-Secret", "cs-12345"),
            ("Accept", "application/json"),
        ] {
            h.insert(k.to_string(), v.to_string());
        }
        Scrubber::default().scrub_headers(&mut h);
        for k in [
            "authorization",
            "cookie",
            "set-cookie",
            "proxy-authorization",
            "x-api-key",
            "x-auth-token",
            "x-client-secret",
        ] {
            assert_eq!(h[k], REDACTED, "{k}");
        }
        assert_eq!(h["accept"], "application/json");
    }

    #[test]
    fn bearer_tokens_in_text() {
        let out = s("upstream said 401 for Authorization: Bearer eyAbCdEf0123456789xyz");
        assert!(!out.contains("eyAbCdEf0123456789xyz"), "{out}");
        assert!(out.contains("Bearer [redacted]"), "{out}");
    }

    #[test]
    fn api_keys_of_known_shapes() {
        for key in [
            "sk-proj-abcdefghijklmnop1234",
            "sk-ant-api03-abcdefghijklmnopqrstuv",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "github_pat_11ABCDEFG0123456789_abcdefghij",
            "AKIAIOSFODNN7EXAMPLE",
            "xoxb-123456789012-abcdefghij",
            "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        ] {
            let out = s(&format!("request failed with key {key} (retrying)"));
            assert!(!out.contains(key), "{key} leaked: {out}");
            assert!(out.contains("(retrying)"), "{out}");
        }
    }

    #[test]
    fn key_value_secrets() {
        let out = s("connect failed: password=hunter2 user=bob api_key: \"abc123\" token=zzz");
        for secret in ["hunter2", "abc123", "zzz"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(out.contains("user=bob"), "{out}");
    }

    #[test]
    fn passwords_in_urls() {
        let out = s("cannot reach postgres://app:Pa55w0rd!@db.internal:5432/shop");
        assert!(!out.contains("Pa55w0rd"), "{out}");
        assert!(out.contains("postgres://app:[redacted]@db.internal:5432/shop"), "{out}");
    }

    #[test]
    fn emails_in_messages() {
        let out = s("no account for alice.smith+shop@mail.example.co.uk");
        assert_eq!(out, "no account for [email]");
    }

    #[test]
    fn jwts() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let out = s(&format!("bad session {jwt}"));
        assert!(!out.contains("dBjftJeZ"), "{out}");
    }

    #[test]
    fn extra_patterns_and_headers() {
        let sc = Scrubber::new(&ScrubConfig {
            extra_patterns: vec![r"\bACCT-\d{6}\b".into()],
            extra_headers: vec!["X-Tenant".into()],
        })
        .unwrap();
        assert_eq!(sc.scrub_str("account ACCT-123456 locked"), "account [redacted] locked");
        let mut h = BTreeMap::from([("X-Tenant".to_string(), "acme".to_string())]);
        sc.scrub_headers(&mut h);
        assert_eq!(h["x-tenant"], REDACTED);
    }

    #[test]
    fn invalid_extra_pattern_is_a_clear_error() {
        let err = Scrubber::new(&ScrubConfig {
            extra_patterns: vec!["(unclosed".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("(unclosed"), "{err}");
    }

    #[test]
    fn query_values_are_removed_from_paths() {
        let sc = Scrubber::default();
        assert_eq!(
            sc.scrub_path("/search?q=shoes&page=2&flag#frag"),
            "/search?q=[redacted]&page=[redacted]&flag"
        );
        assert_eq!(sc.scrub_path("/carts/42"), "/carts/42");
    }

    #[test]
    fn whole_event_is_scrubbed() {
        let mut e = Event::new(
            EventKind::Error,
            Level::Error,
            "login failed for bob@example.com",
            Timestamp::from_millis(0),
        );
        e.chain.push(ChainLink {
            type_name: None,
            message: "db: postgres://u:pw123@h/db".into(),
        });
        e.tags.insert("session_id".into(), "abcdef".into());
        e.tags.insert("route".into(), "token=xyz789".into());
        e.request = Some(RequestContext {
            path: Some("/login?email=bob@example.com".into()),
            headers: BTreeMap::from([("Cookie".into(), "sid=1".into())]),
            ..Default::default()
        });
        Scrubber::default().scrub_event(&mut e);
        let json = serde_json::to_string(&e).unwrap();
        for secret in ["bob@example.com", "pw123", "abcdef", "xyz789", "sid=1"] {
            assert!(!json.contains(secret), "{secret} leaked: {json}");
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let text = "index out of bounds: the len is 3 but the index is 7";
        assert!(matches!(Scrubber::default().scrub_str(text), Cow::Borrowed(_)));
    }
}
