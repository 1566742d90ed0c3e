//! Scrubbing: removes secrets from an event before it leaves the process.
//!
//! - **Headers**: `Authorization`, `Proxy-Authorization`, `Cookie`,
//!   `Set-Cookie`, and any header whose name contains `api-key`, `apikey`,
//!   `token`, `secret`, `password`, `auth`, `session`, `csrf`, `signature`,
//!   `credential` or `private` have their value replaced by [`REDACTED`].
//! - **Text** (messages, error chain, tags, breadcrumbs, header values):
//!   PEM private key blocks, `Cookie:`/`Authorization:` lines, bearer/basic
//!   tokens, passwords in URLs (`postgres://user:pw@host`, `redis://:pw@host`),
//!   pairs whose name contains a secret word — `password=`, `DB_PASSWORD=`,
//!   `SECRET_KEY: …`, `"password": "…"`, `aws_secret_access_key=`,
//!   `GITHUB_TOKEN=`, `STRIPE_API_KEY=` —, well-known API key shapes
//!   (OpenAI/Anthropic `sk-…`, Stripe `sk_live_…`/`rk_live_…`, GitHub
//!   `ghp_…`/`github_pat_…`, AWS `AKIA…`, Slack `xox?-…`, Google `AIza…`),
//!   JWTs, and e-mail addresses.
//! - **Events**: [`Scrubber::scrub_event`] applies all of it to every
//!   free-text field of an event.
//! - **URL paths**: query values are removed (`/search?q=[redacted]`).
//! - Extra regexes from [`ScrubConfig::extra_patterns`]; matches become
//!   [`REDACTED`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use once_cell::sync::Lazy;
use regex::Regex;

use crate::{Error, Event, Shape};

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

/// Words that make a `name=value` / `"name": "value"` pair secret, wherever
/// they appear in the name (`DB_PASSWORD`, `aws_secret_access_key`,
/// `STRIPE_API_KEY`, `GITHUB_TOKEN`, `SECRET_KEY`, ...).
const SECRET_NAME_WORDS: &str =
    r"password|passwd|pwd|secret|api[_\-]?key|access[_\-]?key|private[_\-]?key|token|credential";

static BUILTIN_RULES: Lazy<Vec<Rule>> = Lazy::new(|| {
    vec![
        // PEM private keys, whole blocks (or to the end of a cut text).
        rule(
            r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)",
            "[redacted]",
        ),
        // Cookie and Authorization header lines: the whole value.
        rule(
            r"(?im)\b((?:set-)?cookie\s*:\s*|(?:proxy-)?authorization\s*:\s*(?:(?:bearer|basic|digest|token|negotiate)\s+)?)[^\r\n]+",
            "${1}[redacted]",
        ),
        // scheme://user:password@host (user may be empty, as in
        // redis://:pw@host) — keep the user, drop the password.
        rule(r"(?i)\b([a-z][a-z0-9+.\-]*://[^:/@\s]*):[^@\s/]+@", "${1}:[redacted]@"),
        // Authorization schemes followed by a credential.
        rule(
            r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9\-._~+/]{6,}=*",
            "${1} [redacted]",
        ),
        // name=value, name: value, "name": "value" with a secret-sounding
        // name; a quoted value is redacted whole (spaces included).
        Rule {
            re: Regex::new(&format!(
                r#"(?i)((?:{SECRET_NAME_WORDS})[A-Za-z0-9_.\-]*["']?\s*[=:]\s*)(?:"[^"\r\n]*"?|'[^'\r\n]*'?|[^\s"'&,;]+)"#
            ))
            .expect("static scrub regex compiles"),
            replacement: "${1}[redacted]",
        },
        // Well-known API key shapes.
        rule(r"\bsk-[A-Za-z0-9_\-]{16,}", "[redacted]"),
        rule(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}", "[redacted]"),
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

    /// Scrubs an event in place: its message, the error chain's messages,
    /// breadcrumbs (messages and categories), tag keys and values (a value
    /// under a sensitive key is redacted whole), `fingerprint_parts`, and
    /// the request (headers, path, route, and the payload shape's keys).
    ///
    /// The SDK calls it before an event leaves the process and the collector
    /// again on ingest (an SDK may be old, misconfigured or hostile), so it is
    /// idempotent in effect: scrubbing twice leaks nothing scrubbing once did
    /// not.
    pub fn scrub_event(&self, event: &mut Event) {
        self.scrub_string(&mut event.message);
        for link in &mut event.chain {
            self.scrub_string(&mut link.message);
        }
        let tags = std::mem::take(&mut event.tags);
        for (k, mut v) in tags {
            if self.is_sensitive_name(&k) {
                v = REDACTED.to_string();
            } else {
                self.scrub_string(&mut v);
            }
            event.tags.insert(self.scrub_str(&k).into_owned(), v);
        }
        for b in &mut event.breadcrumbs {
            self.scrub_string(&mut b.message);
            if let Some(c) = &mut b.category {
                self.scrub_string(c);
            }
        }
        for p in &mut event.fingerprint_parts {
            self.scrub_string(p);
        }
        if let Some(req) = &mut event.request {
            self.scrub_headers(&mut req.headers);
            if let Some(p) = &req.path {
                req.path = Some(self.scrub_path(p));
            }
            if let Some(r) = &mut req.route {
                self.scrub_string(r);
            }
            if let Some(shape) = &mut req.payload_shape {
                self.scrub_shape_keys(shape);
            }
        }
    }

    fn scrub_shape_keys(&self, shape: &mut Shape) {
        match shape {
            Shape::Object { fields, .. } => {
                let old = std::mem::take(fields);
                for (k, mut v) in old {
                    self.scrub_shape_keys(&mut v);
                    fields.insert(self.scrub_str(&k).into_owned(), v);
                }
            }
            Shape::Array { items: Some(items) } => self.scrub_shape_keys(items),
            _ => {}
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

    /// `text` scrubbed has no `secret` left and still has `kept`.
    fn assert_redacted(text: &str, secret: &str, kept: &str) {
        let out = s(text);
        assert!(!out.contains(secret), "{secret} leaked: {out}");
        assert!(out.contains(kept), "{out}");
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
        assert_redacted(
            "upstream said 401 for Authorization: Bearer eyAbCdEf0123456789xyz",
            "eyAbCdEf0123456789xyz",
            "Bearer [redacted]",
        );
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
            assert_redacted(&format!("request failed with key {key} (retrying)"), key, "(retrying)");
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
        assert_redacted(
            "cannot reach postgres://app:Pa55w0rd!@db.internal:5432/shop",
            "Pa55w0rd",
            "postgres://app:[redacted]@db.internal:5432/shop",
        );
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
    fn issue_14_shapes_are_caught() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq9\nQ2xYz==\n-----END RSA PRIVATE KEY-----";
        for (text, secret) in [
            (
                r#"config {"user": "app", "password": "correct horse"}"#,
                "correct horse",
            ),
            ("env DB_PASSWORD=hunter22 loaded", "hunter22"),
            ("SECRET_KEY=django-insecure-abc", "django-insecure-abc"),
            ("STRIPE_SECRET: whsecabc123", "whsecabc123"),
            ("GITHUB_TOKEN=gho16charsxyz", "gho16charsxyz"),
            ("API_KEY='k 1 2 3'", "k 1 2 3"),
            (
                "charge failed with sk_live_51HxYzAbCdEf0123",
                "sk_live_51HxYzAbCdEf0123",
            ),
            (&format!("loaded key\n{pem}\nok"), "MIIEpAIBAAKCAQEA7bq9"),
            ("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG", "wJalrXUtnFEMI"),
            ("cannot connect to redis://:s3cretpw@cache:6379/0", "s3cretpw"),
            (
                "request headers:\nCookie: sid=abc123; theme=dark\nAccept: */*",
                "abc123",
            ),
        ] {
            let out = s(text);
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(s("loaded key\n-----BEGIN PRIVATE KEY-----\nMIIE").ends_with("loaded key\n[redacted]"));
        assert!(s("request headers:\nCookie: sid=abc\nAccept: */*").contains("Accept: */*"));
    }

    #[test]
    fn scrub_event_covers_every_text_field() {
        let mut e = Event::new(EventKind::Error, Level::Error, "m", Timestamp::from_millis(0));
        e.breadcrumbs.push(crate::Breadcrumb {
            timestamp: Timestamp::from_millis(0),
            level: Level::Info,
            category: Some("db password=leak1".into()),
            message: "token=leak2".into(),
        });
        e.tags.insert("DB_PASSWORD=leak3".into(), "x".into());
        e.fingerprint_parts.push("tenant api_key=leak4".into());
        e.request = Some(RequestContext {
            route: Some("/u/password=leak5".into()),
            payload_shape: Some(Shape::Object {
                fields: BTreeMap::from([("sk_live_leak6leak6leak6".to_string(), Shape::String)]),
                omitted_keys: 0,
            }),
            ..Default::default()
        });
        Scrubber::default().scrub_event(&mut e);
        let json = serde_json::to_string(&e).unwrap();
        for leak in ["leak1", "leak2", "leak3", "leak4", "leak5", "leak6"] {
            assert!(!json.contains(leak), "{leak} leaked: {json}");
        }
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        let text = "index out of bounds: the len is 3 but the index is 7";
        assert!(matches!(Scrubber::default().scrub_str(text), Cow::Borrowed(_)));
    }
}
