//! SDK configuration: [`Options`], built in code or read from `BUGSTACK_*`
//! environment variables.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bugstack_core::{Dependency, Event};

/// A hook run on the worker thread on every event just before it is
/// aggregated: return `None` to drop the event (counted as filtered), or the
/// event, changed as you like. A panic inside it is caught and the event is
/// kept unchanged.
pub type BeforeSend = Arc<dyn Fn(Event) -> Option<Event> + Send + Sync>;

/// The environment variables [`Options::default`] reads. (It also reads
/// `XDG_STATE_HOME`, `HOME` and `TMPDIR` to place the default spool.)
pub const ENV_VARS: [&str; 6] = [
    "BUGSTACK_ENDPOINT",
    "BUGSTACK_TOKEN",
    "BUGSTACK_RELEASE",
    "BUGSTACK_ENVIRONMENT",
    "BUGSTACK_SERVICE",
    "BUGSTACK_SPOOL_DIR",
];

/// Where undelivered batches are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpoolSetting {
    /// No spool: undelivered batches wait in memory and are lost at exit.
    Off,
    /// This directory.
    Dir(PathBuf),
    /// `<base>/<service>`, the service's name known only at `init`.
    PerService(PathBuf),
}

impl SpoolSetting {
    /// The default spool, from `lookup(variable)`: `BUGSTACK_SPOOL_DIR`
    /// (`off` disables it), else `$XDG_STATE_HOME/bugstack/<service>`, else
    /// `$HOME/.local/state/bugstack/<service>`, else
    /// `<temp dir>/bugstack/<service>`. Relative `XDG_STATE_HOME` and `HOME`
    /// are ignored (the XDG spec says so).
    pub(crate) fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Self {
        if let Some(dir) = non_empty(lookup("BUGSTACK_SPOOL_DIR")) {
            if dir.eq_ignore_ascii_case("off") {
                return SpoolSetting::Off;
            }
            return SpoolSetting::Dir(PathBuf::from(dir));
        }
        let absolute = |name: &str| non_empty(lookup(name)).map(PathBuf::from).filter(|p| p.is_absolute());
        let base = if let Some(state) = absolute("XDG_STATE_HOME") {
            state.join("bugstack")
        } else if let Some(home) = absolute("HOME") {
            home.join(".local").join("state").join("bugstack")
        } else {
            absolute("TMPDIR").unwrap_or_else(std::env::temp_dir).join("bugstack")
        };
        SpoolSetting::PerService(base)
    }

    /// The directory for a service called `service` (`None` when off).
    pub(crate) fn dir_for(&self, service: &str) -> Option<PathBuf> {
        match self {
            SpoolSetting::Off => None,
            SpoolSetting::Dir(dir) => Some(dir.clone()),
            SpoolSetting::PerService(base) => Some(base.join(path_component(service))),
        }
    }
}

/// `name` as one safe path component: letters, digits, `-`, `_` and `.`
/// kept, anything else `_`; never empty, `.` or `..`.
fn path_component(name: &str) -> String {
    let s: String = name
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        "default".to_string()
    } else {
        s
    }
}

/// Configuration of the SDK, builder style.
///
/// [`Options::default`] reads `BUGSTACK_ENDPOINT`, `BUGSTACK_TOKEN`,
/// `BUGSTACK_RELEASE`, `BUGSTACK_ENVIRONMENT`, `BUGSTACK_SERVICE` and
/// `BUGSTACK_SPOOL_DIR`, and spools by default (see [`Options::spool_dir`]);
/// [`Options::new`] reads nothing and has no spool. With no endpoint, [`init`](crate::init)
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
    pub(crate) spool: SpoolSetting,
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
    pub(crate) dependencies: Option<&'static [Dependency]>,
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
            .field("spool", &self.spool)
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
    /// from the environment (no endpoint: disabled; no spool unless
    /// [`spool_dir`](Options::spool_dir) sets one).
    pub fn new() -> Self {
        Options::from_lookup(|_| None).no_spool()
    }

    /// Options whose endpoint, token, release, environment, service name and
    /// spool directory come from `lookup(variable name)` ([`ENV_VARS`]);
    /// empty values count as unset. The spool is on by default: see
    /// [`Options::spool_dir`] for where it goes (`XDG_STATE_HOME`, `HOME`
    /// and `TMPDIR` are read through `lookup` too). [`Options::default`] is
    /// `from_lookup` over the process environment.
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
        let spool = SpoolSetting::from_lookup(&lookup);
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
            spool,
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
            dependencies: None,
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

    /// The service's resolved dependencies, sent once per process start
    /// with the release announcement (so it needs a
    /// [`release`](Options::release)): the collector stores them with the
    /// release, `bugstack show` lists the versions of the crates on an
    /// incident's stack, and the fix engine sees them. Embed them at build
    /// time with [`dependencies!`](crate::dependencies):
    ///
    /// ```
    /// let options = bugstack_sdk::Options::new()
    ///     .release(bugstack_sdk::release_name!())
    ///     .dependencies(bugstack_sdk::dependencies!());
    /// # let _ = options;
    /// ```
    pub fn dependencies(mut self, dependencies: &'static [Dependency]) -> Self {
        self.dependencies = Some(dependencies);
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

    /// The directory where batches that could not be delivered are kept
    /// (and sent after a restart, by this or another process of the
    /// service). Created `0700`, its files `0600` (Unix).
    ///
    /// [`Options::default`] spools to `$BUGSTACK_SPOOL_DIR` when set (`off`
    /// disables the spool), else to a per-user state directory:
    /// `$XDG_STATE_HOME/bugstack/<service>`, else
    /// `~/.local/state/bugstack/<service>`, else
    /// `<temp dir>/bugstack/<service>`, where `<service>` is the service's
    /// name (the configured one, else the release's crate name, else the
    /// executable's). [`Options::new`] has no spool. Without one,
    /// undelivered batches are kept in memory (bounded) and lost at exit.
    pub fn spool_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spool = SpoolSetting::Dir(dir.into());
        self
    }

    /// No spool: undelivered batches are kept in memory (bounded by
    /// [`max_pending_events`](Options::max_pending_events)) and lost at exit.
    pub fn no_spool(mut self) -> Self {
        self.spool = SpoolSetting::Off;
        self
    }

    /// The spool directory `init` would use for a service called `service`
    /// (`None`: no spool).
    ///
    /// ```
    /// let o = bugstack_sdk::Options::from_lookup(|k| (k == "HOME").then(|| "/home/ada".to_string()));
    /// assert_eq!(
    ///     o.spool_dir_for("shop").as_deref(),
    ///     Some(std::path::Path::new("/home/ada/.local/state/bugstack/shop"))
    /// );
    /// assert_eq!(bugstack_sdk::Options::new().spool_dir_for("shop"), None);
    /// ```
    pub fn spool_dir_for(&self, service: &str) -> Option<PathBuf> {
        self.spool.dir_for(service)
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

    /// Most stack frames kept per event (default 128), from 1 to
    /// [`bugstack_core::limits::MAX_FRAMES`] (256): a larger value is
    /// clamped to it, since the collector would cut the rest anyway.
    pub fn max_frames(mut self, n: usize) -> Self {
        self.max_frames = n.clamp(1, bugstack_core::limits::MAX_FRAMES);
        self
    }

    /// Size of the breadcrumb ring (default 32), at most
    /// [`bugstack_core::limits::MAX_BREADCRUMBS`] (100): a larger value is
    /// clamped to it, since the collector would cut the rest anyway.
    pub fn max_breadcrumbs(mut self, n: usize) -> Self {
        self.max_breadcrumbs = n.min(bugstack_core::limits::MAX_BREADCRUMBS);
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

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn spool_is_on_by_default_in_a_per_user_state_directory() {
        let p = |s: &str| Some(PathBuf::from(s));
        let all = [
            ("XDG_STATE_HOME", "/state"),
            ("HOME", "/home/ada"),
            ("TMPDIR", "/scratch"),
        ];
        assert_eq!(
            Options::from_lookup(lookup(&all)).spool_dir_for("shop"),
            p("/state/bugstack/shop")
        );
        let no_xdg = [("HOME", "/home/ada"), ("TMPDIR", "/scratch")];
        assert_eq!(
            Options::from_lookup(lookup(&no_xdg)).spool_dir_for("shop"),
            p("/home/ada/.local/state/bugstack/shop")
        );
        // Relative values are ignored, as the XDG spec says.
        let relative = [("XDG_STATE_HOME", "state"), ("HOME", "home"), ("TMPDIR", "/scratch")];
        assert_eq!(
            Options::from_lookup(lookup(&relative)).spool_dir_for("shop"),
            p("/scratch/bugstack/shop")
        );
        assert_eq!(
            Options::from_lookup(|_| None).spool_dir_for("shop"),
            Some(std::env::temp_dir().join("bugstack").join("shop"))
        );
        // The service name is one path component, whatever it contains.
        assert_eq!(
            Options::from_lookup(lookup(&all)).spool_dir_for("../../etc/x y"),
            p("/state/bugstack/.._.._etc_x_y")
        );
        assert_eq!(
            Options::from_lookup(lookup(&all)).spool_dir_for(".."),
            p("/state/bugstack/default")
        );
    }

    #[test]
    fn spool_dir_variable_sets_or_disables_it() {
        let set = [("BUGSTACK_SPOOL_DIR", " /var/spool/shop "), ("HOME", "/home/ada")];
        assert_eq!(
            Options::from_lookup(lookup(&set)).spool_dir_for("shop"),
            Some(PathBuf::from("/var/spool/shop"))
        );
        for off in ["off", "OFF", "Off"] {
            let vars = [("BUGSTACK_SPOOL_DIR", off), ("HOME", "/home/ada")];
            assert_eq!(Options::from_lookup(lookup(&vars)).spool_dir_for("shop"), None, "{off}");
        }
        let empty = [("BUGSTACK_SPOOL_DIR", ""), ("HOME", "/home/ada")];
        assert_eq!(
            Options::from_lookup(lookup(&empty)).spool_dir_for("shop"),
            Some(PathBuf::from("/home/ada/.local/state/bugstack/shop"))
        );
        // Builders override the environment; `new` reads nothing and has no spool.
        let o = Options::from_lookup(lookup(&set)).no_spool();
        assert_eq!(o.spool_dir_for("shop"), None);
        let o = Options::from_lookup(lookup(&set)).spool_dir("/elsewhere");
        assert_eq!(o.spool_dir_for("shop"), Some(PathBuf::from("/elsewhere")));
        assert_eq!(Options::new().spool_dir_for("shop"), None);
    }

    #[test]
    fn frame_and_breadcrumb_caps_are_clamped_to_the_decoders_limits() {
        use bugstack_core::limits::{MAX_BREADCRUMBS, MAX_FRAMES};
        let o = Options::new().max_frames(10_000).max_breadcrumbs(10_000);
        assert_eq!((o.max_frames, o.max_breadcrumbs), (MAX_FRAMES, MAX_BREADCRUMBS));
        let o = Options::new().max_frames(0).max_breadcrumbs(0);
        assert_eq!((o.max_frames, o.max_breadcrumbs), (1, 0));
        let o = Options::new().max_frames(64).max_breadcrumbs(50);
        assert_eq!((o.max_frames, o.max_breadcrumbs), (64, 50));
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
