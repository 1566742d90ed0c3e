//! The web dashboard `bugstack serve` serves next to the collector: pages
//! rendered on the server from compiled templates (`maud`), no JavaScript
//! and no CDN, so they work offline.
//!
//! | route | what |
//! |---|---|
//! | `GET /signin`, `POST /signin`, `POST /signout` | the dashboard token in, a session cookie out |
//! | `GET /` | incidents: status, level, title, count, sparklines (24 h, 14 d), seen, releases; `?status=&q=&page=` |
//! | `GET /incidents/{id}` | one incident: message, chain, stack, request, environment, breadcrumbs, samples, chart, timeline, runs |
//! | `GET /incidents/{id}/runs/{run}` | a fix run: attempts, checks, diffs, confidence, decision, pull request |
//! | `GET /pulls` | the pull requests |
//! | `POST /incidents/{id}/{ignore,reopen,retry}` | the lifecycle controls |
//! | `POST /pulls/{number}/{merge,close}` | a local-forge pull request's review |
//!
//! **Access** ([`auth`]): the dashboard token (never the SDK's ingest
//! token) signs in for a session cookie (`HttpOnly`, `SameSite=Strict`,
//! `Secure` when served over TLS), or is sent as `Authorization: Bearer`.
//! Without either a page redirects to `/signin`. Every POST made with a
//! session carries the session's CSRF token or is refused with `403`.
//!
//! **Untrusted text:** everything an event carries is written by whoever
//! can reach the service; templates escape every value (maud's default)
//! and links are written only for `http(s)` addresses. A strict
//! `Content-Security-Policy` (no script at all) is a second wall.

mod actions;
pub mod auth;
mod chart;
mod diff;
mod pages;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bugstack_fix::{Policy, PullRequestStore};

pub use auth::{Sessions, SESSION_COOKIE, SESSION_TTL};

use crate::store::IncidentStore;

/// The environment variable holding the dashboard token.
pub const DASHBOARD_TOKEN_ENV: &str = "BUGSTACK_DASHBOARD_TOKEN";

/// The actor recorded in the timeline for the dashboard's actions.
pub const DASHBOARD_ACTOR: &str = "dashboard";

/// Incidents per page of the list.
pub const PAGE_SIZE: usize = 50;

/// What merging or closing a local-forge pull request needs: the
/// repository (its `bugstack.toml` names the bare remote) and the forge's
/// pull-request store.
#[derive(Clone)]
pub struct LocalForgeActions {
    /// The repository checkout.
    pub repo: PathBuf,
    /// Its policy (the forge's remote and merge method).
    pub policy: Policy,
    /// The local forge's pull requests (the SQLite store).
    pub pulls: Arc<dyn PullRequestStore>,
}

/// Links from stack frames to the lines in the repository on GitHub: the
/// repository's web address and its files (`git ls-files` when `serve`
/// started), which frames are matched to by path suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLinks {
    /// `https://github.com/OWNER/NAME`.
    pub web: String,
    /// The repository's files, relative to its root.
    pub files: Vec<String>,
}

impl SourceLinks {
    /// Links for the GitHub repository `owner/name` with `files`; `None`
    /// when `repository` is not a plain `owner/name`.
    pub fn github(repository: &str, files: Vec<String>) -> Option<Self> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && p != ".."
        };
        let (owner, name) = repository.split_once('/')?;
        (ok(owner) && ok(name)).then(|| SourceLinks {
            web: format!("https://github.com/{owner}/{name}"),
            files,
        })
    }

    /// The address of `line` of the repository file a frame's `file` names
    /// (the longest repository path it ends with), at `rev` (the event's
    /// release: a commit or a tag); `None` when no repository file matches.
    pub fn link(&self, file: &str, line: Option<u32>, rev: &str) -> Option<String> {
        let file = file.replace('\\', "/");
        let path = self
            .files
            .iter()
            .filter(|f| file == **f || file.ends_with(&format!("/{f}")))
            .max_by_key(|f| f.len())?;
        let anchor = line.map(|l| format!("#L{l}")).unwrap_or_default();
        Some(format!(
            "{}/blob/{}/{}{anchor}",
            self.web,
            auth::percent_encode(rev),
            auth::percent_encode(path)
        ))
    }
}

/// What the dashboard's handlers share.
#[derive(Clone)]
pub struct DashboardState {
    /// The incident store.
    pub store: Arc<dyn IncidentStore>,
    /// The dashboard token (sign-in and `Authorization: Bearer`).
    pub token: Arc<str>,
    /// The SDK's ingest token: recognised only to refuse it (`403`).
    pub ingest_token: Arc<str>,
    /// The signed-in sessions.
    pub sessions: Arc<Sessions>,
    /// Whether cookies are marked `Secure` (the dashboard is served over TLS).
    pub secure_cookies: bool,
    /// Merging and closing local-forge pull requests, when `serve` knows the
    /// repository and its forge is the local one.
    pub local_forge: Option<LocalForgeActions>,
    /// Links from frames to the repository's lines, when its forge is GitHub.
    pub source_links: Option<Arc<SourceLinks>>,
}

impl DashboardState {
    /// A dashboard over `store` that accepts `token`, refuses the ingest
    /// token, sets no `Secure` cookies and has no local-forge actions.
    pub fn new(store: Arc<dyn IncidentStore>, token: impl Into<Arc<str>>, ingest_token: impl Into<Arc<str>>) -> Self {
        DashboardState {
            store,
            token: token.into(),
            ingest_token: ingest_token.into(),
            sessions: Arc::new(Sessions::default()),
            secure_cookies: false,
            local_forge: None,
            source_links: None,
        }
    }
}

impl std::fmt::Debug for DashboardState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a token.
        f.debug_struct("DashboardState")
            .field("secure_cookies", &self.secure_cookies)
            .field("local_forge", &self.local_forge.as_ref().map(|l| l.repo.clone()))
            .finish_non_exhaustive()
    }
}

/// The dashboard's routes over `state` (merge with the collector's router).
pub fn dashboard_router(state: DashboardState) -> Router {
    Router::new()
        .route("/", get(pages::incidents::list))
        .route("/incidents/{id}", get(pages::incident::show))
        .route("/incidents/{id}/runs/{run}", get(pages::run::show))
        .route("/pulls", get(pages::pulls::list))
        .route("/incidents/{id}/{action}", post(actions::incident_action))
        .route("/pulls/{number}/{action}", post(actions::pull_action))
        .route("/signin", get(auth::signin_page).post(auth::signin))
        .route("/signout", post(auth::signout))
        .route("/dashboard.css", get(pages::stylesheet))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// The policy every dashboard answer carries: no script, no framing, no
/// sniffing, no referrer; styles only from the page itself.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Why a page or an action could not be served.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// No such incident, run or pull request.
    #[error("{0}")]
    NotFound(String),
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The action is not allowed now (e.g. an illegal transition).
    #[error("{0}")]
    Refused(String),
    /// A bearer token that is neither the dashboard's nor the ingest token.
    #[error("the bearer token is not accepted; use the dashboard token ({DASHBOARD_TOKEN_ENV})")]
    Unauthorized,
    /// A POST without the session's CSRF token.
    #[error("the form's CSRF token is missing or wrong; reload the page and try again")]
    Csrf,
    /// The SDK's ingest token was presented: it writes events, never reads.
    #[error("the ingest token can send events but cannot read them; use the dashboard token ({DASHBOARD_TOKEN_ENV})")]
    IngestToken,
    /// The store failed.
    #[error("the incident store failed: {0}")]
    Store(String),
}

impl From<crate::Error> for DashboardError {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        match e {
            E::IncidentNotFound(id) => DashboardError::NotFound(format!("no incident with id {id}")),
            E::PullRequestNotFound(n) => DashboardError::NotFound(format!("no pull request #{n}")),
            E::ProjectNotFound(name) => DashboardError::NotFound(format!("no project named {name:?}")),
            e @ (E::IllegalTransition { .. } | E::Refused(_) | E::Config(_)) => DashboardError::Refused(e.to_string()),
            other => DashboardError::Store(other.to_string()),
        }
    }
}

impl DashboardError {
    fn status(&self) -> StatusCode {
        match self {
            DashboardError::NotFound(_) => StatusCode::NOT_FOUND,
            DashboardError::BadRequest(_) => StatusCode::BAD_REQUEST,
            DashboardError::Refused(_) => StatusCode::CONFLICT,
            DashboardError::Unauthorized => StatusCode::UNAUTHORIZED,
            DashboardError::Csrf | DashboardError::IngestToken => StatusCode::FORBIDDEN,
            DashboardError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for DashboardError {
    fn into_response(self) -> Response {
        let status = self.status();
        (status, pages::error_page(status, &self.to_string())).into_response()
    }
}

/// The incidents page (`GET /`) for `filter`'s page as a signed-in viewer
/// sees it at `now`: the store's reads and the rendering, without HTTP
/// (what `benches/dashboard.rs` times).
pub fn render_incidents_page(
    store: &dyn IncidentStore,
    filter: &crate::store::IncidentFilter,
    now: bugstack_core::Timestamp,
) -> Result<String, DashboardError> {
    let viewer = auth::Viewer {
        csrf: Some(String::new()),
        session: None,
    };
    let data = pages::incidents::load_list(store, filter, now)?;
    let page = filter.offset / PAGE_SIZE + 1;
    let body = pages::incidents::render_list(&viewer, filter, page, &data, now);
    Ok(pages::layout(Some(&viewer), "Incidents", body).0)
}

/// The page of incident `id` (`GET /incidents/{id}`) as a signed-in viewer
/// sees it at `now`, without HTTP (what `benches/dashboard.rs` times).
pub fn render_incident_page(
    store: &dyn IncidentStore,
    id: i64,
    now: bugstack_core::Timestamp,
) -> Result<String, DashboardError> {
    let viewer = auth::Viewer {
        csrf: Some(String::new()),
        session: None,
    };
    Ok(pages::incident::page(store, &viewer, id, now, None, None)?.0)
}

/// Runs blocking store work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DashboardError> + Send + 'static,
) -> Result<T, DashboardError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DashboardError::Store(format!("store task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_link_to_repository_lines_by_path_suffix() {
        let links = SourceLinks::github("acme/shop", vec!["src/cart.rs".into(), "src/lib.rs".into()]).unwrap();
        assert_eq!(
            links.link("/build/home/shop/src/cart.rs", Some(12), "v1.2").as_deref(),
            Some("https://github.com/acme/shop/blob/v1.2/src/cart.rs#L12")
        );
        assert_eq!(
            links.link("src/lib.rs", None, "abc").as_deref(),
            Some("https://github.com/acme/shop/blob/abc/src/lib.rs")
        );
        assert_eq!(links.link("/rustc/x/library/core/src/option.rs", Some(1), "v1"), None);
        assert_eq!(
            links.link("/x/mysrc/cart.rs", Some(1), "v1"),
            None,
            "whole components only"
        );
        // A hostile release cannot leave the path.
        let l = links.link("src/cart.rs", Some(1), "\"><script>?x#y").unwrap();
        assert!(
            l.starts_with("https://github.com/acme/shop/blob/%22%3E%3Cscript%3E%3Fx%23y/"),
            "{l}"
        );
        for bad in ["acme", "acme/shop/x", "javascript:alert(1)/x", "../x"] {
            assert_eq!(SourceLinks::github(bad, Vec::new()), None, "{bad}");
        }
    }
}
