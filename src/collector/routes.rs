//! The collector's routes and handlers.

use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use bugstack_core::{decode_batch, ContentEncoding, EVENTS_PATH};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use super::{bearer_token, token_matches, ApiError, CollectorState, Sender};
use crate::store::{IncidentCursor, IncidentDetail, IncidentQuota, IngestBatch};
use crate::Error;

/// The collector's routes over `state`.
pub fn router(state: CollectorState) -> Router {
    Router::new()
        .route(EVENTS_PATH, post(post_events))
        .route("/v1/incidents", get(list_incidents))
        .route("/v1/incidents/{id}", get(show_incident))
        .route("/v1/incidents/{id}/histogram", get(incident_histogram))
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .with_state(state)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn not_found() -> ApiError {
    ApiError::not_found(
        "no such route; the API is POST /v1/events, GET /v1/incidents[/{id}], GET /healthz, POST /v1/forge/github",
    )
}

/// Authorizes a write: the token must be a project's ingest token (the
/// default project's, `serve`'s own, or one `bugstack project add` gave);
/// the answer says which project the batch goes to.
async fn authorize(state: &CollectorState, headers: &HeaderMap) -> Result<Sender, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "missing Authorization header; send `Authorization: Bearer <token>` (BUGSTACK_TOKEN)",
        ));
    };
    let sender = token_sender(state, value.to_str().ok().and_then(bearer_token)).await?;
    sender.ok_or_else(|| {
        ApiError::unauthorized(
            "the bearer token is not accepted; use the token `bugstack serve` printed, or the one `bugstack project add` printed for the project (BUGSTACK_TOKEN)",
        )
    })
}

/// A handler's `_: Reader` argument: the request is authorized to read
/// ([`authorize_read`]), or answered with the refusal before the handler runs.
struct Reader;

impl FromRequestParts<CollectorState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &CollectorState) -> Result<Self, ApiError> {
        authorize_read(state, &parts.headers).await.map(|()| Reader)
    }
}

/// Authorizes a read: the dashboard token only. An ingest token (the
/// default project's or another project's) is recognised and refused
/// (`403`): it writes events, it never reads them.
async fn authorize_read(state: &CollectorState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::unauthorized(
            "missing Authorization header; reads need `Authorization: Bearer <dashboard token>` (BUGSTACK_DASHBOARD_TOKEN)",
        ));
    };
    let value = value.to_str().unwrap_or_default();
    if state.read_token.as_deref().is_some_and(|t| token_matches(value, t)) {
        return Ok(());
    }
    if token_sender(state, bearer_token(value)).await?.is_some() {
        return Err(ApiError::forbidden(
            "an ingest token can send events but cannot read them (not even its own project's); use the dashboard token (BUGSTACK_DASHBOARD_TOKEN)",
        ));
    }
    Err(ApiError::unauthorized(
        "the bearer token is not accepted; reads need the dashboard token `bugstack serve` printed (BUGSTACK_DASHBOARD_TOKEN)",
    ))
}

/// The project whose ingest token `token` is, if any (`None` without a
/// bearer token).
async fn token_sender(state: &CollectorState, token: Option<&str>) -> Result<Option<Sender>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    state
        .project_tokens
        .sender(&state.store, &state.token, token)
        .await
        .map_err(|e| ApiError::unavailable(format!("cannot check the token: {e}")))
}

/// The incident id in a path like `example` (which the error shows).
fn incident_id(id: &str, example: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad_request("bad_request", format!("incident id must be a number, e.g. {example}")))
}

/// A store error reading one incident: `404` when there is no such
/// incident, else `503`.
fn incident_error(e: Error) -> ApiError {
    match e {
        Error::IncidentNotFound(id) => ApiError::not_found(format!("no incident with id {id}")),
        e => ApiError::unavailable(e.to_string()),
    }
}

/// The project `?project=NAME` names (`None` without the parameter).
async fn project_param(state: &CollectorState, query: Option<&str>) -> Result<Option<i64>, ApiError> {
    let Some(name) = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("project="))
    else {
        return Ok(None);
    };
    let name = name.to_string();
    let store = state.store.clone();
    let lookup = name.clone();
    match blocking(move || store.project_named(&lookup)).await? {
        Ok(p) => Ok(Some(p.id)),
        Err(Error::ProjectNotFound(_)) => Err(ApiError::not_found(format!(
            "no project named {name:?} (`bugstack project list` shows them)"
        ))),
        Err(e) => Err(ApiError::unavailable(e.to_string())),
    }
}

/// Runs blocking store work off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<Result<T, Error>, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::unavailable(format!("store task failed: {e}")))
}

async fn post_events(
    State(state): State<CollectorState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let sender = authorize(&state, &headers).await?;
    let encoding = match headers.get(header::CONTENT_ENCODING) {
        None => ContentEncoding::Identity,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| ApiError::bad_request("bad_request", "Content-Encoding header is not ASCII"))?;
            ContentEncoding::from_header(Some(v))?
        }
    };
    // Shed load before reading the body; the permit is held until the batch is stored.
    let _permit = state
        .inflight
        .clone()
        .try_acquire_owned()
        .map_err(|_| ApiError::overloaded())?;
    let limit = state.limits.max_compressed_bytes;
    // Refuse a declared oversize body before reading any of it.
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
    {
        if len > u64::try_from(limit).unwrap_or(u64::MAX) {
            drain_in_background(&state, &headers, body);
            return Err(ApiError::too_large(format!(
                "request body is {len} bytes, over the limit of {limit} bytes"
            )));
        }
    }
    // A chunked body is cut off as soon as it passes the limit.
    let mut body = body;
    let read = tokio::time::timeout(state.body_timeout, read_limited(&mut body, limit));
    let Ok(read) = read.await else {
        return Err(ApiError::body_timeout(state.body_timeout.as_secs()));
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(ReadError::TooLarge) => {
            drain_in_background(&state, &headers, body);
            return Err(ApiError::too_large(format!(
                "request body is over the limit of {limit} bytes"
            )));
        }
        Err(ReadError::Body(e)) => {
            return Err(ApiError::bad_request(
                "bad_request",
                format!("could not read the body: {e}"),
            ))
        }
    };
    let limits = state.limits;
    // Inflating and parsing is CPU work and can take up to the decompressed
    // limit in memory: at most `decode_slots` batches are inflated and held
    // until committed at once (the rest wait here), off the async workers.
    let _slot = state
        .decode_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("the collector is shutting down"))?;
    let scrubber = state.scrubber.clone();
    let batch = tokio::task::spawn_blocking(move || {
        let mut batch = decode_batch(&bytes, encoding, &limits)?;
        for e in &mut batch.events {
            super::scrub_event(&scrubber, e);
        }
        Ok::<_, bugstack_core::Error>(batch)
    })
    .await
    .map_err(|e| ApiError::unavailable(format!("decode task failed: {e}")))??;
    let summary = state
        .committer
        .commit_batch(IngestBatch {
            events: batch.events,
            quota: Some(IncidentQuota {
                source: sender.source,
                new_incidents_per_hour: state.quota.new_incidents_per_hour,
            }),
            release: batch.release,
            batch_id: batch.batch_id,
            project: Some(sender.project),
        })
        .await
        .map_err(|_| {
            ApiError::unavailable("the incident store could not save the batch; nothing was stored, retry later")
        })?;
    if summary.jobs_enqueued > 0 {
        state.jobs_enqueued.notify_one();
    }
    // 202: stored durably; fixing happens later.
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "accepted": summary.events,
            "occurrences": summary.occurrences,
            "new_incidents": summary.new_incidents,
            "regressed": summary.regressed,
            "over_quota": summary.over_quota,
            "duplicate": summary.duplicate,
        })),
    ))
}

/// Incidents listed per page when `?limit=` is not given.
pub const DEFAULT_PAGE_LIMIT: usize = 50;

/// Most incidents one page may list.
pub const MAX_PAGE_LIMIT: usize = 500;

/// `value` of query parameter `name` as a number from 1 to `max`, or a
/// `400 bad_request` that says so.
fn number_param<T>(name: &str, value: &str, max: T) -> Result<T, ApiError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + From<u8> + Copy,
{
    value
        .parse::<T>()
        .ok()
        .filter(|n| (T::from(1)..=max).contains(n))
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad_request",
                format!("{name} must be a number from 1 to {max}, got {value:?}"),
            )
        })
}

/// `?limit=N&cursor=C` of `GET /v1/incidents` (unknown parameters ignored).
fn page_params(query: Option<&str>) -> Result<(usize, Option<IncidentCursor>), ApiError> {
    let mut limit = DEFAULT_PAGE_LIMIT;
    let mut cursor = None;
    for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" => {
                limit = number_param("limit", value, MAX_PAGE_LIMIT)?;
            }
            "cursor" => {
                cursor = Some(
                    value
                        .parse::<IncidentCursor>()
                        .map_err(|e| ApiError::bad_request("bad_request", e.to_string()))?,
                );
            }
            _ => {}
        }
    }
    Ok((limit, cursor))
}

/// Why a body could not be read.
enum ReadError {
    /// It passed the limit (the rest is unread).
    TooLarge,
    /// The connection failed.
    Body(axum::Error),
}

/// Reads `body` up to `limit` bytes, leaving the rest unread when it is longer.
async fn read_limited(body: &mut Body, limit: usize) -> Result<Bytes, ReadError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ReadError::Body)?;
        if let Some(data) = frame.data_ref() {
            if buf.len().saturating_add(data.len()) > limit {
                return Err(ReadError::TooLarge);
            }
            buf.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(buf))
}

/// Most bytes of a refused body read and discarded after the `413`.
pub const MAX_DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// Refused bodies drained at once (beyond, the connection is just closed).
pub const MAX_DRAINS: usize = 8;

/// Keeps reading (and discarding) a refused body for a while after its
/// `413`, so a client that sends its whole body before reading the answer
/// (Python's urllib, many others) gets the `413` instead of a connection
/// reset: closing a socket with unread data makes the kernel send RST,
/// which destroys the answer in flight. Bounded: at most [`MAX_DRAIN_BYTES`]
/// within the body timeout, [`MAX_DRAINS`] at once. Skipped for a client
/// that asked `Expect: 100-continue` (it waits for the answer before sending).
fn drain_in_background(state: &CollectorState, headers: &HeaderMap, mut body: Body) {
    let expects_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if expects_continue {
        return;
    }
    let Ok(permit) = state.drains.clone().try_acquire_owned() else {
        return;
    };
    let timeout = state.body_timeout;
    tokio::spawn(async move {
        let _permit = permit;
        let mut left = MAX_DRAIN_BYTES;
        let _ = tokio::time::timeout(timeout, async {
            while let Some(Ok(frame)) = body.frame().await {
                let n = frame.data_ref().map_or(0, Bytes::len);
                if n >= left {
                    break;
                }
                left -= n;
            }
        })
        .await;
    });
}

async fn list_incidents(State(state): State<CollectorState>, _: Reader, uri: Uri) -> Result<Json<Value>, ApiError> {
    let (limit, after) = page_params(uri.query())?;
    let project = project_param(&state, uri.query()).await?;
    let store = state.store.clone();
    // One more than asked tells whether there is a next page.
    let mut list = blocking(move || store.incidents_page(project, limit + 1, after))
        .await?
        .map_err(|e| ApiError::unavailable(e.to_string()))?;
    let more = list.len() > limit;
    list.truncate(limit);
    let next_cursor = list
        .last()
        .filter(|_| more)
        .map(|r| IncidentCursor::after(r).to_string());
    let project_name = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("project="))
        .map(|p| format!("&project={p}"))
        .unwrap_or_default();
    let next = next_cursor
        .as_ref()
        .map(|c| format!("/v1/incidents?limit={limit}&cursor={c}{project_name}"));
    Ok(Json(
        json!({ "incidents": list, "next_cursor": next_cursor, "next": next }),
    ))
}

async fn show_incident(
    State(state): State<CollectorState>,
    _: Reader,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Json<IncidentDetail>, ApiError> {
    let project = project_param(&state, uri.query()).await?;
    let id = incident_id(&id, "/v1/incidents/1")?;
    let store = state.store.clone();
    let detail = blocking(move || store.incident_detail(id))
        .await?
        .map_err(incident_error)?;
    if project.is_some_and(|p| p != detail.incident.project) {
        return Err(ApiError::not_found(format!("no incident with id {id} in that project")));
    }
    Ok(Json(detail))
}

/// Days of hourly counts `GET /v1/incidents/{id}/histogram` returns by default.
pub const DEFAULT_HISTOGRAM_DAYS: u64 = 14;

async fn incident_histogram(
    State(state): State<CollectorState>,
    _: Reader,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let id = incident_id(&id, "/v1/incidents/1/histogram")?;
    let max_days = crate::store::HISTOGRAM_RETENTION_HOURS / 24;
    let mut days = DEFAULT_HISTOGRAM_DAYS;
    for pair in uri.query().unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        if let Some(v) = pair.strip_prefix("days=") {
            days = number_param("days", v, max_days)?;
        }
    }
    let now = bugstack_core::Timestamp::now();
    let since = bugstack_core::Timestamp::from_millis(now.as_millis().saturating_sub(days * 86_400_000));
    let store = state.store.clone();
    let hours = blocking(move || store.histogram(id, since))
        .await?
        .map_err(incident_error)?;
    Ok(Json(
        json!({ "incident": id, "days": days, "since": since, "hours": hours }),
    ))
}
