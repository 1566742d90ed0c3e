//! The pages: one module per page, the shared layout and helpers here.
//! Every value is written through maud, which escapes it; `PreEscaped` is
//! used only for the stylesheet, a constant.

pub(crate) mod incident;
pub(crate) mod incidents;
pub(crate) mod pulls;
pub(crate) mod run;

use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use bugstack_core::Timestamp;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::auth::Viewer;

/// `?done=` after an action: which one to confirm.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Flash {
    done: Option<String>,
}

/// The stylesheet (served at `/dashboard.css`: the CSP allows no inline style).
const CSS: &str = include_str!("dashboard.css");

/// `GET /dashboard.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A whole page: head, navigation (with sign-out for a session), `body`.
pub(crate) fn layout(viewer: Option<&Viewer>, title: &str, body: Markup) -> Html<String> {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · bugstack" }
                link rel="stylesheet" href="/dashboard.css";
            }
            body {
                header.top {
                    a.brand href="/" { "bugstack" }
                    @if viewer.is_some() {
                        nav {
                            a href="/" { "Incidents" }
                            a href="/pulls" { "Pull requests" }
                        }
                    }
                    @if let Some(csrf) = viewer.and_then(|v| v.csrf.as_deref()) {
                        form.signout method="post" action="/signout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    };
    Html(page.into_string())
}

/// The sign-in page, with `error` when the last try failed.
pub(crate) fn signin_page(next: &str, error: Option<&str>) -> Html<String> {
    layout(
        None,
        "Sign in",
        html! {
            section.signin {
                h1 { "Sign in" }
                p { "Paste the dashboard token `bugstack serve` printed (or " code { "BUGSTACK_DASHBOARD_TOKEN" } ")." }
                @if let Some(e) = error {
                    p.error id="signin-error" { (e) }
                }
                form method="post" action="/signin" {
                    input type="hidden" name="next" value=(next);
                    label for="token" { "Dashboard token" }
                    input #token type="password" name="token" autocomplete="current-password" required autofocus;
                    button #signin type="submit" { "Sign in" }
                }
            }
        },
    )
}

/// An error page.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Html<String> {
    layout(
        None,
        status.canonical_reason().unwrap_or("Error"),
        html! {
            h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
            p.error id="error-message" { (message) }
            p { a href="/" { "Back to the incidents" } }
        },
    )
}

/// A timestamp as `YYYY-MM-DD HH:MM:SS UTC`, its exact value as the tooltip.
pub(crate) fn when(t: Timestamp) -> Markup {
    let full = t.to_string();
    let short = full.get(..19).unwrap_or(&full).replace('T', " ");
    html! { time datetime=(full) title=(full) { (short) } }
}

/// How long ago `t` was, in the largest whole unit.
pub(crate) fn ago(t: Timestamp, now: Timestamp) -> String {
    let s = now.saturating_since(t).as_secs();
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86_399 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

/// A table `#id` with a header row naming `columns` and a body of `rows`
/// (each a `tr`).
pub(crate) fn table(id: &str, columns: &[&str], rows: impl IntoIterator<Item = Markup>) -> Markup {
    html! {
        table id=(id) {
            thead { tr { @for c in columns { th { (c) } } } }
            tbody { @for r in rows { (r) } }
        }
    }
}

/// A status badge.
pub(crate) fn status_badge(status: &str) -> Markup {
    html! { span class=(format!("badge st-{status}")) { (status) } }
}

/// A link when `url` is an `http(s)` address; the text alone otherwise (an
/// event or a forge never gets to write a `javascript:` link).
pub(crate) fn external_link(url: &str, text: &str) -> Markup {
    let lower = url.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        html! { a href=(url) rel="noopener noreferrer" { (text) } }
    } else {
        html! { (text) }
    }
}

/// `text` cut to `max` characters (head kept) with an ellipsis.
pub(crate) fn cut(text: &str, max: usize) -> String {
    bugstack_core::text::ellipsize(text, max)
}

/// The hidden CSRF field of a form (empty for a bearer client).
pub(crate) fn csrf_field(viewer: &Viewer) -> Markup {
    html! {
        @if let Some(c) = &viewer.csrf {
            input type="hidden" name="csrf" value=(c);
        }
    }
}

/// The name serde gives an enum value (`"auto_merge"`), for display.
pub(crate) fn serde_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_only_for_http() {
        assert!(external_link("https://github.com/x/y/pull/1", "#1")
            .into_string()
            .contains("href"));
        for bad in [
            "javascript:alert(1)",
            " JAVASCRIPT:alert(1)",
            "data:text/html,x",
            "/local",
        ] {
            let h = external_link(bad, "x").into_string();
            assert!(!h.contains("href"), "{bad}: {h}");
        }
    }

    #[test]
    fn ago_reads_well() {
        let now = Timestamp::from_millis(10_000_000);
        assert_eq!(ago(Timestamp::from_millis(10_000_000 - 90_000), now), "1m ago");
        assert_eq!(ago(now, now), "0s ago");
    }
}
