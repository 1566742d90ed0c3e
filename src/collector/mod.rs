//! The collector: the HTTP API that services' SDKs post events to.
//!
//! | route | auth | what |
//! |---|---|---|
//! | `POST /v1/events` | ingest bearer | ingest a batch (wire format of `bugstack-core`) into the token's project |
//! | `GET /v1/incidents?limit=&cursor=&project=` | dashboard bearer | a page of incidents (of one project with `project=NAME`), most recently seen first, and the `next` page's cursor |
//! | `GET /v1/incidents/{id}?project=` | dashboard bearer | one incident with samples, jobs, runs, PRs (`404` when not in `project`) |
//! | `GET /v1/incidents/{id}/histogram?days=` | dashboard bearer | occurrences per hour (default 14 days, at most 15) |
//! | `GET /healthz` | none | liveness: `{"status":"ok"}` |
//!
//! Load shedding: at most [`CollectorState::inflight`] batches are received
//! and stored at once; beyond that the answer is `429` with `Retry-After: 1`
//! (the SDK retries). A body that takes longer than
//! [`CollectorState::body_timeout`] to arrive gets `408`. Of the batches in
//! flight, only [`CollectorState::decode_slots`] are inflated and held at
//! once, which bounds memory whatever the number of clients. Decoded batches
//! are written by the [`Committer`], many per transaction.
//!
//! The ingest token writes events and never reads them: the read routes
//! want the dashboard token ([`CollectorState::with_read_token`]) and
//! answer an ingest token (the default project's or another project's)
//! with `403`.
//!
//! Projects: `serve`'s token is the default project's; each project added
//! with `bugstack project add` has its own ([`ProjectTokens`]). The token a
//! batch comes with selects its project, so one project's token can never
//! write into another's incidents.
//!
//! Every event is scrubbed ([`scrub_event`]) before it is stored, whatever
//! the sender did.
//!
//! Every error is JSON: `{"error": "<kind>", "message": "<what was wrong>"}`
//! (see [`ApiError`]). A batch is committed to the store in one transaction
//! *before* the 2xx is sent, so an acknowledged event is durable.

mod auth;
mod commit;
mod error;
mod forge_hook;
mod projects;
mod routes;
mod sanitize;

use std::sync::Arc;
use std::time::Duration;

use bugstack_core::{DecodeLimits, Scrubber};
use tokio::sync::{Notify, Semaphore};

pub use auth::{bearer_token, generate_token, token_id, token_matches};
pub use commit::{Committer, MAX_GROUP_EVENTS};
pub use error::ApiError;
pub use forge_hook::{
    forge_hook_router, hmac_sha256, signature_matches, ForgeHookState, FORGE_HOOK_PATH, WEBHOOK_SECRET_ENV,
};
pub use projects::{ProjectTokens, Sender, MAX_REMEMBERED_TOKENS};
pub use routes::{router, DEFAULT_HISTOGRAM_DAYS, DEFAULT_PAGE_LIMIT, MAX_DRAINS, MAX_DRAIN_BYTES, MAX_PAGE_LIMIT};
pub use sanitize::scrub_event;

use crate::store::{IncidentQuota, IncidentStore, DEFAULT_NEW_INCIDENTS_PER_HOUR};
use crate::Result;

/// What the collector's handlers share.
#[derive(Clone)]
pub struct CollectorState {
    /// The incident store (read API).
    pub store: Arc<dyn IncidentStore>,
    /// Writes ingested batches to the store with group commit.
    pub committer: Committer,
    /// The default project's ingest token (`serve`'s `--token`: writes only).
    pub token: Arc<str>,
    /// The other projects' ingest tokens found so far (each selects its
    /// project: a batch is stored in its token's project, never another).
    pub project_tokens: ProjectTokens,
    /// The token the read routes accept (the dashboard's); `None`: reads
    /// are refused to everyone.
    pub read_token: Option<Arc<str>>,
    /// Size and count limits for request bodies.
    pub limits: DecodeLimits,
    /// Woken when a batch enqueues fix jobs, so the job loop need not poll.
    pub jobs_enqueued: Arc<Notify>,
    /// Batches being received or stored at once; when none is free the
    /// collector sheds load with `429 Too Many Requests` and `Retry-After`.
    pub inflight: Arc<Semaphore>,
    /// Longest time a client may take to send a batch's body (`408` after).
    pub body_timeout: Duration,
    /// Batches inflated, parsed and waiting for their commit at once (the
    /// others wait for a slot). Bounds memory to about
    /// `slots × max_decompressed_bytes` whatever `inflight` is, while letting
    /// several batches share one commit.
    pub decode_slots: Arc<Semaphore>,
    /// Applied to every event before it is stored ([`scrub_event`]).
    pub scrubber: Arc<Scrubber>,
    /// The default token's quota on new incidents (keyed by [`token_id`]);
    /// every project token gets the same limit under its own name.
    pub quota: IncidentQuota,
    /// Refused bodies being drained after their `413` ([`MAX_DRAINS`]).
    pub drains: Arc<Semaphore>,
}

/// The collector's limits: `serve`'s flags, or the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectorLimits {
    /// Size and count limits for request bodies.
    pub decode: DecodeLimits,
    /// Batches received or stored at once (at least 1); more get `429`.
    pub max_inflight: usize,
    /// Longest time a client may take to send a batch's body (`408` after).
    pub body_timeout: Duration,
    /// Most incidents one token's events may create in an hour; events of
    /// further new fingerprints are counted in its overflow incident.
    pub new_incidents_per_hour: u32,
}

impl Default for CollectorLimits {
    fn default() -> Self {
        CollectorLimits {
            decode: DecodeLimits::default(),
            max_inflight: DEFAULT_MAX_INFLIGHT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            new_incidents_per_hour: DEFAULT_NEW_INCIDENTS_PER_HOUR,
        }
    }
}

impl CollectorState {
    /// The state of a collector over `store` that accepts `token`: starts
    /// the [`Committer`] and sizes the load-shedding semaphores from
    /// `limits` ([`default_decode_slots`] decode slots). `jobs_enqueued` is
    /// notified when a batch enqueues fix jobs.
    pub fn new(
        store: Arc<dyn IncidentStore>,
        token: impl Into<Arc<str>>,
        limits: &CollectorLimits,
        jobs_enqueued: Arc<Notify>,
    ) -> Result<Self> {
        let token: Arc<str> = token.into();
        Ok(CollectorState {
            committer: Committer::start(store.clone())?,
            store,
            quota: IncidentQuota {
                source: token_id(&token),
                new_incidents_per_hour: limits.new_incidents_per_hour.max(1),
            },
            token,
            project_tokens: ProjectTokens::default(),
            read_token: None,
            limits: limits.decode,
            jobs_enqueued,
            inflight: Arc::new(Semaphore::new(limits.max_inflight.max(1))),
            body_timeout: limits.body_timeout,
            decode_slots: Arc::new(Semaphore::new(default_decode_slots())),
            scrubber: Arc::new(Scrubber::default()),
            drains: Arc::new(Semaphore::new(MAX_DRAINS)),
        })
    }
}

impl CollectorState {
    /// The same state, its read routes accepting `token` (which must not be
    /// the ingest token: that one can never read).
    pub fn with_read_token(mut self, token: impl Into<Arc<str>>) -> Result<Self> {
        let token: Arc<str> = token.into();
        if token.is_empty() || *token == *self.token {
            return Err(crate::Error::Config(
                "the dashboard token must be set and differ from the ingest token (the ingest token cannot read)"
                    .into(),
            ));
        }
        self.read_token = Some(token);
        Ok(self)
    }
}

/// Default number of batches handled at once before answering 429.
pub const DEFAULT_MAX_INFLIGHT: usize = 64;

/// Default number of batches decoded and committed at once: 4 per core, at least 8.
pub fn default_decode_slots() -> usize {
    (std::thread::available_parallelism().map_or(2, usize::from) * 4).max(8)
}

/// Default time allowed for receiving one request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for CollectorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("CollectorState")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}
