//! SDK configuration: [`Options`], built in code or read from `BUGSTACK_*`
//! environment variables.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bugstack_core::Event;

/// A hook run on the worker thread on every event just before it is
/// aggregated: return `None` to drop the event (counted as filtered), or the
/// event, changed as you like. A panic inside it is caught and the event is
/// kept unchanged.
pub type BeforeSend = Arc<dyn Fn(Event) -> Option<Event> + Send + Sync>;

/// The environment variables [`Options::default`] reads.
pub const ENV_VARS: [&str; 5] = [
    "BUGSTACK_ENDPOINT",
    "BUGSTACK_TOKEN",
    "BUGSTACK_RELEASE",
    "BUGSTACK_ENVIRONMENT",
    "BUGSTACK_SERVICE",
];

/// Configuration of the SDK, builder style.
///
/// [`Options::default`] reads `BUGSTACK_ENDPOINT`, `BUGSTACK_TOKEN`,
/// `BUGSTACK_RELEASE`, `BUGSTACK_ENVIRONMENT` and `BUGSTACK_SERVICE`;
/// [`Options::new`] reads nothing. With no endpoint, [`init`](crate::init)
/// returns a disabled guard and every capture is a no-op.
///
/// ```
/// use std::time::Duration;
/// let options = bugstack_sdk::Options::new()
///     .endpoint("http://127.0.0.1:7878")
///     .token("project-token")
///     .release(bugstack_sdk::release_name!())
///     .environment("staging")
///     .queue_capacity(4096)
///     .sample_rate(1.0)
///     .in_app_prefix("my_service")
///     .spool_dir(std::env::temp_dir().join("bugstack-spool-doc"))
///     .flush_timeout(Duration::from_secs(2));
/// assert_eq!(options.endpoint_str(), Some("http://127.0.0.1:7878"));
/// ```
#[derive(Clone)]
pub struct Options {
    pub(crate) endpoint: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) release: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    pub(crate) queue_capacity: usize,
    pub(crate) sample_rate: f64,
    pub(crate) in_app_prefixes: Vec<String>,
    pub(crate) scrub_patterns: Vec<String>,
    pub(crate) scrub_headers: Vec<String>,
    pub(crate) before_send: Option<BeforeSend>,
    pub(crate) spool_dir: Option<PathBuf>,
    pub(crate) max_spool_bytes: u64,
    pub(crate) max_pending_events: usize,
    pub(crate) debug: bool,
    pub(crate) install_panic_hook: bool,
    pub(crate) persist_panics_synchronously: bool,
    pub(crate) request_timeout: Duration,
    pub(crate) flush_timeout: Duration,
    pub(crate) aggregation_window: Duration,
    pub(crate) max_groups: usize,
    pub(crate) max_batch_events: usize,
    pub(crate) max_frames: usize,
    pub(crate) max_breadcrumbs: usize,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("release", &self.release)
            .field("environment", &self.environment)
            .field("service_name", &self.service_name)
            .field("queue_capacity", &self.queue_capacity)
            .field("sample_rate", &self.sample_rate)
            .field("in_app_prefixes", &self.in_app_prefixes)
            .field("spool_dir", &self.spool_dir)
            .field("debug", &self.debug)
            .finish_non_exhaustive()
    }
}

impl Default for Options {
    /// Options from the `BUGSTACK_*` environment variables (see [`ENV_VARS`]).
    fn default() -> Self {
        Options::from_lookup(|name| std::env::var(name).ok())
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl Options {
    /// Options with every setting at its built-in default and nothing read
    /// from the environment (no endpoint: disabled).
    pub fn new() -> Self {
        Options::from_lookup(|_| None)
    }

    /// Options whose endpoint, token, release, environment and service name
    /// come from `lookup(variable name)` ([`ENV_VARS`]); empty values count as
    /// unset. [`Options::default`] is `from_lookup` over the process environment.
    ///
    /// ```
    /// let o = bugstack_sdk::Options::from_lookup(|k| match k {
    ///     "BUGSTACK_ENDPOINT" => Some("http://collector:7878".into()),
    ///     "BUGSTACK_SERVICE" => Some("shop".into()),
    ///     _ => None,
    /// });
    /// assert_eq!(o.endpoint_str(), Some("http://collector:7878"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Options {
            endpoint: non_empty(lookup("BUGSTACK_ENDPOINT")),
            token: non_empty(lookup("BUGSTACK_TOKEN")),
            release: non_empty(lookup("BUGSTACK_RELEASE")),
            environment: non_empty(lookup("BUGSTACK_ENVIRONMENT")),
            service_name: non_empty(lookup("BUGSTACK_SERVICE")),
            service_version: None,
            queue_capacity: 1024,
            sample_rate: 1.0,
            in_app_prefixes: Vec::new(),
            scrub_patterns: Vec::new(),
            scrub_headers: Vec::new(),
            before_send: None,
            spool_dir: None,
            max_spool_bytes: 16 * 1024 * 1024,
            max_pending_events: 10_000,
            debug: false,
            install_panic_hook: true,
            persist_panics_synchronously: cfg!(panic = "abort"),
            request_timeout: Duration::from_secs(5),
            flush_timeout: Duration::from_secs(2),
            aggregation_window: Duration::from_secs(5),
            max_groups: 256,
            max_batch_events: 200,
            max_frames: 128,
            max_breadcrumbs: 32,
        }
    }

    /// The collector's base URL, e.g. `https://bugstack.internal:7878`
    /// (events go to `{endpoint}/v1/events`).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = non_empty(Some(endpoint.into()));
        self
    }

    /// The configured endpoint, if any.
    pub fn endpoint_str(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The project token sent as `Authorization: Bearer <token>`.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = non_empty(Some(token.into()));
        self
    }

    /// The release (version, tag or commit). [`release_name!`](crate::release_name)
    /// gives `crate@version`; with that form the crate name also becomes the
    /// default service name and in-app prefix.
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = non_empty(Some(release.into()));
        self
    }

    /// The deployment environment (`prod`, `staging`, ...).
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = non_empty(Some(environment.into()));
        self
    }

    /// The service's name and, optionally, version.
    pub fn service(mut self, name: impl Into<String>, version: Option<String>) -> Self {
        self.service_name = non_empty(Some(name.into()));
        self.service_version = non_empty(version);
        self
    }

    /// Capacity of the capture queue between the calling threads and the
    /// worker (default 1024). When it is full, captures are dropped and counted.
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Fraction of captures kept, `0.0..=1.0` (default 1.0).
    pub fn sample_rate(mut self, rate: f64) -> Self {
        self.sample_rate = rate;
        self
    }

    /// Adds a module path prefix (e.g. `my_service` or `my_service::api`)
    /// whose frames count as in-app. Default: the host crate's name (from
    /// the release's `crate@version` form, else the executable's name).
    pub fn in_app_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.in_app_prefixes.push(prefix.into().replace('-', "_"));
        self
    }

    /// Adds a regex (Rust `regex` syntax) whose matches are redacted from
    /// every text field, on top of the built-in secret patterns.
    pub fn scrub_pattern(mut self, pattern: impl Into<String>) -> Self {
        self.scrub_patterns.push(pattern.into());
        self
    }

    /// Adds a header name whose value is always redacted.
    pub fn scrub_header(mut self, name: impl Into<String>) -> Self {
        self.scrub_headers.push(name.into());
        self
    }

    /// Sets the [`BeforeSend`] hook.
    ///
    /// ```
    /// let o = bugstack_sdk::Options::new().before_send(|mut e| {
    ///     e.tags.insert("team".into(), "payments".into());
    ///     Some(e)
    /// });
    /// # let _ = o;
    /// ```
    pub fn before_send(mut self, hook: impl Fn(Event) -> Option<Event> + Send + Sync + 'static) -> Self {
        self.before_send = Some(Arc::new(hook));
        self
    }

    /// A directory where batches that could not be delivered are kept (and
    /// sent after a restart). Without one, undelivered batches are kept in
    /// memory (bounded) and lost at exit.
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool_dir = Some(dir.into());
        self
    }

    /// Bound on the spool's total size in bytes (default 16 MiB); past it the
    /// oldest files are dropped and counted.
    pub fn max_spool_bytes(mut self, bytes: u64) -> Self {
        self.max_spool_bytes = bytes;
        self
    }

    /// Bound on undelivered occurrences kept in memory when there is no spool
    /// directory (default 10,000); past it the oldest batches are dropped and counted.
    pub fn max_pending_events(mut self, n: usize) -> Self {
        self.max_pending_events = n.max(1);
        self
    }

    /// Logs the SDK's own trouble (delivery failures, bad options) to
    /// stderr, rate-limited. Never logs tokens or event contents.
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = on;
        self
    }

    /// Whether `init` installs the panic hook (default true).
    pub fn install_panic_hook(mut self, on: bool) -> Self {
        self.install_panic_hook = on;
        self
    }

    /// Whether the panic hook writes the panic straight to the spool
    /// (resolving symbols on the panicking thread, no network) instead of
    /// queueing it. Default: on when built with `panic = "abort"`, where the
    /// process dies right after the hook and the worker never sees the queue.
    /// Needs a [`spool_dir`](Options::spool_dir) (without one, panics are
    /// queued as usual). `before_send` does not run on this path: a panic
    /// inside a panic hook would abort the process at once.
    pub fn persist_panics_synchronously(mut self, on: bool) -> Self {
        self.persist_panics_synchronously = on;
        self
    }

    /// Timeout of one HTTP request to the collector (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long dropping the [`Guard`](crate::Guard) waits for delivery (default 2 s).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Length of the aggregation window (default 5 s): identical occurrences
    /// within it travel as one event with a count.
    pub fn aggregation_window(mut self, window: Duration) -> Self {
        self.aggregation_window = window;
        self
    }

    /// Most distinct groups per aggregation window (default 256); further
    /// groups are sent as single events, never dropped.
    pub fn max_groups(mut self, n: usize) -> Self {
        self.max_groups = n.max(1);
        self
    }

    /// Most events per HTTP request (default 200).
    pub fn max_batch_events(mut self, n: usize) -> Self {
        self.max_batch_events = n.clamp(1, 1000);
        self
    }

    /// Most stack frames kept per event (default 128).
    pub fn max_frames(mut self, n: usize) -> Self {
        self.max_frames = n.max(1);
        self
    }

    /// Size of the breadcrumb ring (default 32).
    pub fn max_breadcrumbs(mut self, n: usize) -> Self {
        self.max_breadcrumbs = n;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_variable_and_ignores_empty_ones() {
        let o = Options::from_lookup(|k| match k {
            "BUGSTACK_ENDPOINT" => Some(" http://c:1 ".into()),
            "BUGSTACK_TOKEN" => Some("t0k".into()),
            "BUGSTACK_RELEASE" => Some("shop@1.2.3".into()),
            "BUGSTACK_ENVIRONMENT" => Some("prod".into()),
            "BUGSTACK_SERVICE" => Some("".into()),
            _ => None,
        });
        assert_eq!(o.endpoint.as_deref(), Some("http://c:1"));
        assert_eq!(o.token.as_deref(), Some("t0k"));
        assert_eq!(o.release.as_deref(), Some("shop@1.2.3"));
        assert_eq!(o.environment.as_deref(), Some("prod"));
        assert_eq!(o.service_name, None);
    }

    #[test]
    fn builder_overrides_and_debug_hides_the_token() {
        let o = Options::new()
            .endpoint("http://x")
            .token("super-secret-token")
            .queue_capacity(0);
        assert_eq!(o.queue_capacity, 1);
        let dbg = format!("{o:?}");
        assert!(!dbg.contains("super-secret-token"), "{dbg}");
        assert!(Options::new().endpoint.is_none());
    }
}
