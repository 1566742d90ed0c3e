//! The GitHub forge: REST v3 over `reqwest`.
//!
//! Endpoints used: `GET/POST /repos/{o}/{r}/pulls`, `POST
//! /repos/{o}/{r}/issues/{n}/labels`, `POST /repos/{o}/{r}/issues/{n}/comments`,
//! `GET /repos/{o}/{r}/commits/{sha}/status`, `GET
//! /repos/{o}/{r}/commits/{sha}/check-runs` and `PUT
//! /repos/{o}/{r}/pulls/{n}/merge` (with `sha`, so a moved head is never
//! merged; no admin override, so branch protection always applies); for
//! keeping incidents in step, `GET /repos/{o}/{r}/pulls/{n}` with
//! `If-None-Match` ([`GitHubForge::poll_pull_request`]) and `PATCH
//! /repos/{o}/{r}/pulls/{n}` (`bugstack close`).
//!
//! Rate limits are honoured: a response with `x-ratelimit-remaining: 0`
//! holds further requests until `x-ratelimit-reset`; a 403/429 with
//! `retry-after` (or an exhausted limit) is retried after the wait, as long
//! as the wait stays under [`GitHubConfig::max_rate_limit_wait`].
//!
//! The token is read from an environment variable, sent only in the
//! `Authorization` header, and never appears in `Debug` output or errors.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bugstack_core::{Secret, Timestamp};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::forge::{CiStatus, Forge, MergeOutcome, NewPullRequest, Opened, PullRequest};
use crate::policy::{ForgeConfig, MergeMethod};
use crate::{Error, FixReport, PullRequestState, Result};

/// The GitHub token from environment variable `var`, trimmed; a clear
/// error naming the variable (never a value) when it is unset or empty.
pub fn token_from_env(var: &str) -> Result<Secret> {
    std::env::var(var)
        .ok()
        .and_then(|t| Secret::non_empty(&t))
        .ok_or_else(|| {
            Error::Deploy(format!(
                "no GitHub token: set the environment variable {var} (forge.token_env in bugstack.toml)"
            ))
        })
}

/// Where and how to talk to GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubConfig {
    /// API base URL, without a trailing slash.
    pub api_url: String,
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// `Accept` header (default [`GitHubForge::MEDIA_TYPE`]).
    pub accept: String,
    /// `User-Agent` header.
    pub user_agent: String,
    /// The variable the token came from (named in errors).
    pub token_env: String,
    /// Longest wait for a rate limit to reset before giving up.
    pub max_rate_limit_wait: Duration,
    /// Most retries of one request after rate limiting.
    pub max_retries: u32,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl GitHubConfig {
    /// Defaults for `owner/repo` on the public API.
    pub fn new(owner: impl Into<String>, repo: impl Into<String>) -> Self {
        GitHubConfig {
            api_url: GitHubForge::DEFAULT_API_URL.into(),
            owner: owner.into(),
            repo: repo.into(),
            accept: GitHubForge::MEDIA_TYPE.into(),
            user_agent: format!("bugstack/{}", env!("CARGO_PKG_VERSION")),
            token_env: "GITHUB_TOKEN".into(),
            max_rate_limit_wait: Duration::from_secs(300),
            max_retries: 3,
            request_timeout: Duration::from_secs(30),
        }
    }

    /// From `[forge]` in `bugstack.toml`: `repository = "owner/name"`,
    /// optional `api_url`, `token_env`.
    pub fn from_forge_config(forge: &ForgeConfig) -> Result<Self> {
        let repository = forge.repository.as_deref().ok_or_else(|| Error::Policy {
            path: None,
            reason: "forge.repository (\"owner/name\") is required for the github forge".into(),
        })?;
        let (owner, repo) = repository
            .split_once('/')
            .filter(|(o, r)| valid_name(o) && valid_name(r))
            .ok_or_else(|| Error::Policy {
                path: None,
                reason: format!("forge.repository must be \"owner/name\", got {repository:?}"),
            })?;
        let mut cfg = GitHubConfig::new(owner, repo);
        if let Some(url) = &forge.api_url {
            cfg.api_url = url.trim_end_matches('/').to_string();
        }
        cfg.token_env = forge.token_env.clone();
        Ok(cfg)
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && !s.chars().all(|c| c == '.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// What [`GitHubForge::poll_pull_request`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullRequestPoll {
    /// Unchanged since the answer whose ETag was sent.
    NotModified,
    /// The pull request now, and the ETag to send next time.
    Current {
        /// The pull request.
        pull_request: Box<PullRequest>,
        /// The answer's `ETag`, when GitHub sent one.
        etag: Option<String>,
    },
}

/// GitHub pull requests through the REST API.
pub struct GitHubForge {
    http: reqwest::Client,
    cfg: GitHubConfig,
    token: Secret,
    blocked_until: Mutex<Option<SystemTime>>,
}

impl std::fmt::Debug for GitHubForge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubForge")
            .field("cfg", &self.cfg)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// A response, read whole.
#[derive(Debug)]
struct ApiResponse {
    status: StatusCode,
    body: String,
    /// The `ETag` header, when the answer had one.
    etag: Option<String>,
}

impl ApiResponse {
    fn json<T: for<'de> Deserialize<'de>>(&self, what: &str) -> Result<T> {
        serde_json::from_str(&self.body)
            .map_err(|e| Error::Deploy(format!("GitHub sent an unexpected answer to {what}: {e}")))
    }

    /// GitHub's `message` plus any `errors[].message`.
    fn message(&self) -> String {
        let Ok(v) = serde_json::from_str::<Value>(&self.body) else {
            return bugstack_core::text::trim_middle(self.body.trim(), 300);
        };
        let mut parts: Vec<String> = v
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .into_iter()
            .collect();
        if let Some(errors) = v.get("errors").and_then(Value::as_array) {
            parts.extend(
                errors
                    .iter()
                    .filter_map(|e| e.get("message").and_then(Value::as_str).map(str::to_string)),
            );
        }
        bugstack_core::text::trim_middle(&parts.join(": "), 300)
    }
}

#[derive(Debug, Deserialize)]
struct GhRef {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
}

#[derive(Debug, Deserialize)]
struct GhLabel {
    name: String,
}

#[derive(Debug, Deserialize)]
struct GhPull {
    number: u64,
    html_url: String,
    title: String,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    head: GhRef,
    base: GhRef,
    #[serde(default)]
    labels: Vec<GhLabel>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

fn timestamp(s: Option<&str>) -> Timestamp {
    s.and_then(|s| s.parse().ok()).unwrap_or_else(Timestamp::now)
}

impl From<GhPull> for PullRequest {
    fn from(p: GhPull) -> Self {
        let state = match (p.state.as_str(), p.merged_at.is_some()) {
            ("open", _) => PullRequestState::Open,
            (_, true) => PullRequestState::Merged,
            _ => PullRequestState::Closed,
        };
        PullRequest {
            number: p.number,
            url: p.html_url,
            title: p.title,
            body: p.body.unwrap_or_default(),
            branch: p.head.name,
            base: p.base.name,
            head_sha: p.head.sha,
            state,
            decision: None,
            labels: p.labels.into_iter().map(|l| l.name).collect(),
            comments: Vec::new(),
            // For an open pull request GitHub names its test merge here.
            merge_commit: if state == PullRequestState::Merged {
                p.merge_commit_sha
            } else {
                None
            },
            created_at: timestamp(p.created_at.as_deref()),
            updated_at: timestamp(p.updated_at.as_deref()),
        }
    }
}

#[derive(Debug, Deserialize)]
struct GhStatus {
    #[serde(default)]
    context: String,
    state: String,
}

#[derive(Debug, Deserialize)]
struct GhCombinedStatus {
    #[serde(default)]
    statuses: Vec<GhStatus>,
    #[serde(default)]
    total_count: usize,
}

#[derive(Debug, Deserialize)]
struct GhCheckRun {
    name: String,
    status: String,
    #[serde(default)]
    conclusion: Option<String>,
}

#[derive(Debug, Deserialize)]
struct GhCheckRuns {
    #[serde(default)]
    check_runs: Vec<GhCheckRun>,
    #[serde(default)]
    total_count: usize,
}

/// Most pages of statuses or check runs read for one commit (100 each).
const MAX_CI_PAGES: usize = 10;

#[derive(Debug, Deserialize)]
struct GhMerge {
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    message: Option<String>,
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// How long a rate-limited response asks us to wait, if it is one.
fn rate_limit_wait(status: StatusCode, headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    if !matches!(status.as_u16(), 403 | 429) {
        return None;
    }
    if let Some(secs) = header_u64(headers, "retry-after") {
        return Some(Duration::from_secs(secs));
    }
    if header_u64(headers, "x-ratelimit-remaining") == Some(0) {
        let reset = header_u64(headers, "x-ratelimit-reset").map(|s| UNIX_EPOCH + Duration::from_secs(s));
        return Some(match reset {
            Some(at) => at.duration_since(now).unwrap_or_default() + Duration::from_secs(1),
            None => Duration::from_secs(60),
        });
    }
    None
}

impl GitHubForge {
    /// The public GitHub API.
    pub const DEFAULT_API_URL: &'static str = "https://api.github.com";
    /// GitHub's JSON media type (the default `Accept`).
    pub const MEDIA_TYPE: &'static str = "application/vnd.github+json";
    /// The REST API version requested.
    pub const API_VERSION: &'static str = "2022-11-28";

    /// A client for `cfg` authenticating with `token`.
    pub fn new(cfg: GitHubConfig, token: Secret) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .build()
            .map_err(|e| Error::Deploy(format!("cannot build the HTTP client: {e}")))?;
        Ok(GitHubForge {
            http,
            cfg,
            token,
            blocked_until: Mutex::new(None),
        })
    }

    /// From `[forge]` in `bugstack.toml`, the token read from `forge.token_env`.
    pub fn from_forge_config(forge: &ForgeConfig) -> Result<Self> {
        let cfg = GitHubConfig::from_forge_config(forge)?;
        let token = token_from_env(&cfg.token_env)?;
        Self::new(cfg, token)
    }

    /// The configuration.
    pub fn config(&self) -> &GitHubConfig {
        &self.cfg
    }

    fn repo_path(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.cfg.owner, self.cfg.repo)
    }

    fn hold_until(&self, until: Option<SystemTime>) {
        let mut guard = self
            .blocked_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *guard = until;
    }

    async fn wait_for_quota(&self) -> Result<()> {
        let until = *self
            .blocked_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(until) = until {
            if let Ok(wait) = until.duration_since(SystemTime::now()) {
                if wait > self.cfg.max_rate_limit_wait {
                    return Err(Error::Deploy(format!(
                        "GitHub rate limit exhausted for another {}s (more than the {}s this client waits)",
                        wait.as_secs(),
                        self.cfg.max_rate_limit_wait.as_secs()
                    )));
                }
                tokio::time::sleep(wait).await;
            }
            self.hold_until(None);
        }
        Ok(())
    }

    /// Every item of a paginated list (100 a page, at most [`MAX_CI_PAGES`]
    /// pages): `split` takes a page apart into its items and the total count.
    async fn all_pages<P: serde::de::DeserializeOwned, T>(
        &self,
        path: &str,
        what: &str,
        split: impl Fn(P) -> (Vec<T>, usize),
    ) -> Result<Vec<T>> {
        let mut all = Vec::new();
        for page in 1..=MAX_CI_PAGES {
            let page = page.to_string();
            let q = [("per_page", "100"), ("page", page.as_str())];
            let resp = self
                .request_expecting(Method::GET, path, &q, None, StatusCode::OK)
                .await?;
            let (items, total) = split(resp.json(what)?);
            let last = items.is_empty();
            all.extend(items);
            if last || all.len() >= total {
                break;
            }
        }
        Ok(all)
    }

    /// Sends one request (retrying after rate limits) and reads the answer.
    /// 401 is an error here; other statuses are for the caller.
    async fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<ApiResponse> {
        self.request_conditional(method, path, query, body, None).await
    }

    /// [`Self::request`] that must be answered `expected`; any other answer
    /// is an [`Error::Deploy`] naming it.
    async fn request_expecting(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        expected: StatusCode,
    ) -> Result<ApiResponse> {
        let verb = method.clone();
        let resp = self.request(method, path, query, body).await?;
        if resp.status != expected {
            return Err(Self::unexpected(verb.as_str(), path, &resp));
        }
        Ok(resp)
    }

    /// [`Self::request_expecting`] sending the JSON `body`, without a
    /// query.
    async fn send_expecting(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        expected: StatusCode,
    ) -> Result<ApiResponse> {
        self.request_expecting(method, path, &[], Some(body), expected).await
    }

    /// [`Self::request`] with `If-None-Match: etag` when given (a `304`
    /// answer does not count against GitHub's rate limit).
    async fn request_conditional(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        if_none_match: Option<&str>,
    ) -> Result<ApiResponse> {
        let url = format!("{}{path}", self.cfg.api_url);
        let mut retries = 0;
        loop {
            self.wait_for_quota().await?;
            let mut req = self
                .http
                .request(method.clone(), &url)
                .header(ACCEPT, &self.cfg.accept)
                .header(USER_AGENT, &self.cfg.user_agent)
                .header("X-GitHub-Api-Version", GitHubForge::API_VERSION);
            let mut auth = HeaderValue::from_str(&format!("Bearer {}", self.token.expose())).map_err(|_| {
                Error::Deploy(format!(
                    "the token in {} is not a valid header value",
                    self.cfg.token_env
                ))
            })?;
            auth.set_sensitive(true);
            req = req.header(AUTHORIZATION, auth);
            if let Some(etag) = if_none_match {
                req = req.header(reqwest::header::IF_NONE_MATCH, etag);
            }
            if !query.is_empty() {
                req = req.query(query);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req
                .send()
                .await
                .map_err(|e| Error::Deploy(format!("GitHub {method} {path}: {}", e.without_url())))?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let text = resp.text().await.map_err(|e| {
                Error::Deploy(format!(
                    "GitHub {method} {path}: reading the answer: {}",
                    e.without_url()
                ))
            })?;
            let now = SystemTime::now();
            if let Some(wait) = rate_limit_wait(status, &headers, now) {
                if retries >= self.cfg.max_retries || wait > self.cfg.max_rate_limit_wait {
                    return Err(Error::Deploy(format!(
                        "GitHub rate limit: {method} {path} refused ({status}); retry in {}s",
                        wait.as_secs()
                    )));
                }
                retries += 1;
                self.hold_until(Some(now + wait));
                continue;
            }
            if header_u64(&headers, "x-ratelimit-remaining") == Some(0) {
                if let Some(reset) = header_u64(&headers, "x-ratelimit-reset") {
                    self.hold_until(Some(UNIX_EPOCH + Duration::from_secs(reset)));
                }
            }
            let etag = headers
                .get(reqwest::header::ETAG)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let resp = ApiResponse {
                status,
                body: text,
                etag,
            };
            if status == StatusCode::UNAUTHORIZED {
                return Err(Error::Deploy(format!(
                    "GitHub rejected the token from {} (401 {}): check that it is valid and not expired",
                    self.cfg.token_env,
                    resp.message()
                )));
            }
            return Ok(resp);
        }
    }

    /// Pull request `number` as GitHub has it now, asked conditionally:
    /// with the `etag` of an earlier answer, an unchanged pull request is
    /// [`PullRequestPoll::NotModified`] (GitHub's `304`, which spares the
    /// rate limit). A merged one carries its merge commit
    /// ([`PullRequest::merge_commit`]).
    pub async fn poll_pull_request(&self, number: u64, etag: Option<&str>) -> Result<PullRequestPoll> {
        let path = self.repo_path(&format!("/pulls/{number}"));
        let resp = self.request_conditional(Method::GET, &path, &[], None, etag).await?;
        match resp.status {
            StatusCode::NOT_MODIFIED => Ok(PullRequestPoll::NotModified),
            StatusCode::OK => {
                let pr: GhPull = resp.json("reading a pull request")?;
                Ok(PullRequestPoll::Current {
                    pull_request: Box::new(pr.into()),
                    etag: resp.etag,
                })
            }
            _ => Err(Self::unexpected("GET", &path, &resp)),
        }
    }

    /// Closes pull request `number` without merging it
    /// (`PATCH /repos/{o}/{r}/pulls/{n}` with `state: closed`).
    pub async fn close_pull_request(&self, number: u64) -> Result<PullRequest> {
        let path = self.repo_path(&format!("/pulls/{number}"));
        let resp = self
            .send_expecting(Method::PATCH, &path, &json!({ "state": "closed" }), StatusCode::OK)
            .await?;
        let pr: GhPull = resp.json("closing a pull request")?;
        Ok(pr.into())
    }

    fn unexpected(method: &str, path: &str, resp: &ApiResponse) -> Error {
        Error::Deploy(format!(
            "GitHub {method} {path} answered {}: {}",
            resp.status,
            resp.message()
        ))
    }
}

#[async_trait]
impl Forge for GitHubForge {
    fn name(&self) -> &str {
        "github"
    }

    async fn find_open_pull_request(&self, branch: &str) -> Result<Option<PullRequest>> {
        let path = self.repo_path("/pulls");
        let head = format!("{}:{branch}", self.cfg.owner);
        let resp = self
            .request_expecting(
                Method::GET,
                &path,
                &[("head", &head), ("state", "open")],
                None,
                StatusCode::OK,
            )
            .await?;
        let pulls: Vec<GhPull> = resp.json("listing pull requests")?;
        Ok(pulls
            .into_iter()
            .map(PullRequest::from)
            .find(|p| p.branch == branch && p.state == PullRequestState::Open))
    }

    async fn open_pull_request(&self, new: &NewPullRequest) -> Result<Opened> {
        let path = self.repo_path("/pulls");
        let body = json!({ "title": new.title, "head": new.branch, "base": new.base, "body": new.body });
        let resp = self.request(Method::POST, &path, &[], Some(&body)).await?;
        if resp.status == StatusCode::CREATED {
            let pr: GhPull = resp.json("opening a pull request")?;
            return Ok(Opened {
                pull_request: pr.into(),
                already_existed: false,
            });
        }
        if resp.status == StatusCode::UNPROCESSABLE_ENTITY && resp.message().contains("pull request already exists") {
            return match self.find_open_pull_request(&new.branch).await? {
                Some(pr) => Ok(Opened {
                    pull_request: pr,
                    already_existed: true,
                }),
                None => Err(Error::Deploy(format!(
                    "GitHub says a pull request for {} already exists, but none is open",
                    new.branch
                ))),
            };
        }
        Err(Self::unexpected("POST", &path, &resp))
    }

    async fn comment(&self, number: u64, body: &str) -> Result<()> {
        let path = self.repo_path(&format!("/issues/{number}/comments"));
        self.send_expecting(Method::POST, &path, &json!({ "body": body }), StatusCode::CREATED)
            .await?;
        Ok(())
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> Result<()> {
        let path = self.repo_path(&format!("/issues/{number}/labels"));
        self.send_expecting(Method::POST, &path, &json!({ "labels": labels }), StatusCode::OK)
            .await?;
        Ok(())
    }

    async fn ci_status(&self, head_sha: &str, _report: &FixReport) -> Result<CiStatus> {
        // Both lists are paginated: a commit with more than one page of
        // statuses or check runs must not be judged on the first page alone.
        let status_path = self.repo_path(&format!("/commits/{head_sha}/status"));
        let statuses = self
            .all_pages(&status_path, "the combined commit status", |p: GhCombinedStatus| {
                (p.statuses, p.total_count)
            })
            .await?;
        let runs_path = self.repo_path(&format!("/commits/{head_sha}/check-runs"));
        let runs = self
            .all_pages(&runs_path, "the check runs", |p: GhCheckRuns| {
                (p.check_runs, p.total_count)
            })
            .await?;
        Ok(combine_ci(&statuses, &runs))
    }

    async fn merge(&self, pr: &PullRequest, method: MergeMethod) -> Result<MergeOutcome> {
        let path = self.repo_path(&format!("/pulls/{}/merge", pr.number));
        let merge_method = match method {
            MergeMethod::Squash => "squash",
            MergeMethod::Merge => "merge",
            MergeMethod::Rebase => "rebase",
        };
        let body = json!({
            "merge_method": merge_method,
            "sha": pr.head_sha,
            "commit_title": format!("{} (#{})", pr.title, pr.number),
        });
        let resp = self.request(Method::PUT, &path, &[], Some(&body)).await?;
        match resp.status.as_u16() {
            200 => {
                let m: GhMerge = resp.json("the merge")?;
                match (m.merged, m.sha) {
                    (true, Some(sha)) => Ok(MergeOutcome::Merged { sha }),
                    _ => Ok(MergeOutcome::NotMerged {
                        reason: m.message.unwrap_or_else(|| "GitHub did not merge".into()),
                    }),
                }
            }
            405 => Ok(MergeOutcome::NotMerged {
                reason: format!("GitHub: not mergeable (405): {}", resp.message()),
            }),
            409 => Ok(MergeOutcome::NotMerged {
                reason: format!("GitHub: head moved since {} (409): {}", pr.head_sha, resp.message()),
            }),
            403 => Ok(MergeOutcome::NotMerged {
                reason: format!("GitHub refused the merge (403): {}", resp.message()),
            }),
            _ => Err(Self::unexpected("PUT", &path, &resp)),
        }
    }
}

/// One verdict from commit statuses and check runs: any failure fails;
/// anything unfinished (or nothing reported at all) is pending.
fn combine_ci(statuses: &[GhStatus], runs: &[GhCheckRun]) -> CiStatus {
    // The combined endpoint lists the latest status per context first.
    let mut seen = std::collections::BTreeSet::new();
    let latest: Vec<&GhStatus> = statuses.iter().filter(|s| seen.insert(s.context.clone())).collect();
    let mut failed = Vec::new();
    let mut pending = Vec::new();
    for s in &latest {
        match s.state.as_str() {
            "success" => {}
            "pending" => pending.push(format!("status {} pending", s.context)),
            other => failed.push(format!("status {} {other}", s.context)),
        }
    }
    for r in runs {
        if r.status != "completed" {
            pending.push(format!("check {} {}", r.name, r.status));
            continue;
        }
        match r.conclusion.as_deref() {
            Some("success" | "neutral" | "skipped") => {}
            Some(other) => failed.push(format!("check {} {other}", r.name)),
            None => pending.push(format!("check {} has no conclusion", r.name)),
        }
    }
    if !failed.is_empty() {
        CiStatus::Failure(failed.join(", "))
    } else if !pending.is_empty() {
        CiStatus::Pending(pending.join(", "))
    } else if latest.is_empty() && runs.is_empty() {
        CiStatus::Pending("no CI has reported for this commit yet".into())
    } else {
        CiStatus::Success
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(context: &str, state: &str) -> GhStatus {
        GhStatus {
            context: context.into(),
            state: state.into(),
        }
    }

    fn run(name: &str, status: &str, conclusion: Option<&str>) -> GhCheckRun {
        GhCheckRun {
            name: name.into(),
            status: status.into(),
            conclusion: conclusion.map(str::to_string),
        }
    }

    #[test]
    fn ci_verdicts_combine_statuses_and_check_runs() {
        assert_eq!(
            combine_ci(&[st("ci", "success")], &[run("test", "completed", Some("success"))]),
            CiStatus::Success
        );
        assert!(matches!(combine_ci(&[], &[]), CiStatus::Pending(_)));
        assert!(matches!(
            combine_ci(&[st("ci", "success")], &[run("test", "in_progress", None)]),
            CiStatus::Pending(_)
        ));
        let CiStatus::Failure(why) = combine_ci(&[st("ci", "failure")], &[run("lint", "completed", Some("timed_out"))])
        else {
            panic!("expected failure");
        };
        assert!(
            why.contains("status ci failure") && why.contains("check lint timed_out"),
            "{why}"
        );
        // Only the latest status per context counts.
        assert_eq!(
            combine_ci(&[st("ci", "success"), st("ci", "failure")], &[]),
            CiStatus::Success
        );
    }

    #[test]
    fn rate_limit_waits_come_from_headers() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &h, now), None);
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h, now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(rate_limit_wait(StatusCode::OK, &h, now), None);
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert("x-ratelimit-reset", HeaderValue::from_static("1010"));
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h, now),
            Some(Duration::from_secs(11))
        );
    }

    #[test]
    fn tokens_are_redacted_and_repositories_checked() {
        let forge = GitHubForge::new(GitHubConfig::new("o", "r"), Secret::new("ghp_secret123")).unwrap();
        assert!(!format!("{forge:?}").contains("ghp_secret123"));
        let mut cfg = ForgeConfig {
            repository: Some("owner/name".into()),
            ..ForgeConfig::default()
        };
        assert_eq!(GitHubConfig::from_forge_config(&cfg).unwrap().repo, "name");
        for bad in ["owner", "a/b/c", "../x", "o/"] {
            cfg.repository = Some(bad.into());
            assert!(GitHubConfig::from_forge_config(&cfg).is_err(), "{bad}");
        }
        let err = token_from_env("BUGSTACK_TEST_SURELY_UNSET_TOKEN").unwrap_err();
        assert!(err.to_string().contains("BUGSTACK_TEST_SURELY_UNSET_TOKEN"), "{err}");
    }
}
