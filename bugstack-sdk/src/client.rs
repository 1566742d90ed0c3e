//! The process-wide client: set by `init`, read lock-free by every capture.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use bugstack_core::{AggregatorConfig, ReleaseAnnouncement, ScrubConfig, Scrubber, ServiceInfo, Timestamp};
use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};
use reqwest::Url;

use crate::capture::RawEvent;
use crate::diag::DebugLog;
use crate::options::Options;
use crate::prepare::{runtime_info, Prepared, Preparer};
use crate::spool::Spool;
use crate::stats::{Counters, Stats};
use crate::symbolize::{InApp, Resolver};
use crate::transport::events_url;
use crate::worker::{Control, WorkerConfig};
use crate::Error;

static CLIENT: ArcSwapOption<Client> = ArcSwapOption::const_empty();

/// The state captures need: the queue's sending side and the counters.
pub(crate) struct Client {
    /// Boxed so a queue slot is one pointer: the queue's own memory stays
    /// small whatever its capacity.
    events: Sender<Box<RawEvent>>,
    control: Sender<Control>,
    /// Wakes the worker when the event queue is half full.
    wake: Sender<()>,
    pub(crate) counters: Arc<Counters>,
    sample_rate: f64,
    queue_capacity: usize,
    /// Set when panics are written straight to the spool (`panic = "abort"`).
    sync_panics: Option<(Arc<Preparer>, Arc<Spool>)>,
    pub(crate) log: Arc<DebugLog>,
}

/// Runs `f` with the current client, if the SDK is initialized.
pub(crate) fn with_client<R>(f: impl FnOnce(&Client) -> R) -> Option<R> {
    let guard = CLIENT.load();
    guard.as_deref().map(f)
}

impl Client {
    /// Counts a capture and decides whether it goes ahead: not when sampling
    /// drops it, and not when the queue is already full (then it is dropped
    /// and counted before any work is spent on it).
    pub(crate) fn admit(&self) -> bool {
        Counters::add(&self.counters.captured, 1);
        if self.events.is_full() {
            Counters::add(&self.counters.dropped_queue_full, 1);
            return false;
        }
        if self.sample_rate < 1.0 && fastrand::f64() >= self.sample_rate {
            Counters::add(&self.counters.dropped_filtered, 1);
            return false;
        }
        true
    }

    /// Hands an occurrence to the worker; a full queue drops and counts it.
    /// The worker polls the queue; it is woken only when the queue is half
    /// full (see `worker::IDLE_POLL`).
    pub(crate) fn enqueue(&self, raw: RawEvent) {
        match self.events.try_send(Box::new(raw)) {
            Ok(()) => {
                if self.events.len() * 2 >= self.queue_capacity {
                    // Capacity 1: while a wake is pending this is one failed
                    // `try_send`, no syscall.
                    let _ = self.wake.try_send(());
                }
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                Counters::add(&self.counters.dropped_queue_full, 1)
            }
        }
    }

    /// Processes and spools a panic on the calling thread (no network, no
    /// `before_send`) when the client persists panics synchronously; else,
    /// like any capture, queues it.
    pub(crate) fn persist_now(&self, raw: RawEvent) {
        let Some((preparer, spool)) = &self.sync_panics else {
            return self.enqueue(raw);
        };
        let mut resolver = Resolver::default();
        let Prepared::Keep(event) = preparer.prepare(raw, &mut resolver, false) else {
            return;
        };
        match spool.write(std::slice::from_ref(&*event), None) {
            Ok(w) => {
                Counters::add(&self.counters.dropped_spool_full, w.dropped);
                if w.stored {
                    Counters::add(&self.counters.spooled, event.count.max(1));
                }
            }
            Err(e) => self.log.log(|| format!("could not spool a panic: {e}")),
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let mut s = self.counters.snapshot();
        s.queued = self.events.len() as u64;
        s.queue_capacity = self.queue_capacity as u64;
        s
    }

    /// Asks the worker to deliver everything; true when it all went out.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (reply, answer) = bounded(1);
        if self.control.try_send(Control::Flush { deadline, reply }).is_err() {
            return false;
        }
        answer
            .recv_deadline(deadline + Duration::from_millis(50))
            .unwrap_or(false)
    }
}

/// Keeps the SDK running; dropping it flushes (bounded by
/// [`Options::flush_timeout`]), then lets the worker spool what is left
/// (bounded by a second `flush_timeout`) and stop. Dropping it blocks the
/// dropping thread for at most those two timeouts; inside an async runtime,
/// drop it at the end of `main` or from `spawn_blocking`. A disabled guard
/// (no endpoint, or a setup error) does nothing.
///
/// ```
/// let guard = bugstack_sdk::init(bugstack_sdk::Options::new());
/// assert!(guard.flush(std::time::Duration::from_millis(10)));
/// ```
#[must_use = "dropping the guard shuts the SDK down"]
pub struct Guard {
    client: Option<Arc<Client>>,
    done: Option<Receiver<()>>,
    flush_timeout: Duration,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("enabled", &self.is_enabled()).finish()
    }
}

impl Guard {
    /// Whether this guard holds a running client (not the disabled guard of
    /// an `init` without an endpoint).
    pub(crate) fn is_active(&self) -> bool {
        self.client.is_some()
    }

    pub(crate) fn disabled() -> Self {
        Guard {
            client: None,
            done: None,
            flush_timeout: Duration::ZERO,
        }
    }

    /// Whether this guard runs a client (false: no endpoint, or setup failed).
    pub fn is_enabled(&self) -> bool {
        self.client.is_some()
    }

    /// Delivers everything captured so far; true when it all went out
    /// within `timeout`. Same as [`flush`](crate::flush) for this guard's client.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.client.as_ref().is_none_or(|c| c.flush(timeout))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        let delivered = client.flush(self.flush_timeout);
        if !delivered {
            let spooled = client.counters.spooled.load(Relaxed);
            client
                .log
                .log(|| format!("shutting down with {spooled} occurrences undelivered"));
        }
        // Uninstall only if no later `init` replaced this client.
        let current = CLIENT.load_full();
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, &client)) {
            CLIENT.store(None);
        }
        let _ = client
            .control
            .send_timeout(Control::Shutdown, Duration::from_millis(100));
        // The worker spools what is left (no network), bounded by a second
        // `flush_timeout`.
        if let Some(done) = self.done.take() {
            let _ = done.recv_timeout(self.flush_timeout.max(Duration::from_millis(100)));
        }
    }
}

/// The name under the executable's file stem (`my-svc-0a1b2c3d4e5f6a7b` →
/// `my_svc`), the default in-app prefix.
fn exe_crate_name() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let stem = exe.file_stem()?.to_str()?.to_string();
    let name = match stem.rsplit_once('-') {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => head.to_string(),
        _ => stem,
    };
    Some(name.replace('-', "_"))
}

/// `name@version` → (`name`, `version`).
fn split_release(release: &str) -> Option<(&str, &str)> {
    let (name, version) = release.split_once('@')?;
    (!name.is_empty() && !version.is_empty()).then_some((name, version))
}

/// See [`crate::try_init`]: checks the options, builds what the worker and
/// the panic path share, starts the worker, then installs the client (the
/// crate root installs the panic hook after it).
pub(crate) fn try_init(options: Options) -> Result<Guard, Error> {
    let Some(endpoint) = options.endpoint.as_deref() else {
        return Ok(Guard::disabled());
    };
    let url = events_url(endpoint)?;
    check_sample_rate(options.sample_rate)?;
    let scrubber = Scrubber::new(&ScrubConfig {
        extra_patterns: options.scrub_patterns.clone(),
        extra_headers: options.scrub_headers.clone(),
    })?;
    let spool = open_spool(&options)?;
    let preparer = Arc::new(preparer(&options, scrubber));
    crate::breadcrumbs::set_capacity(options.max_breadcrumbs);
    let log = Arc::new(DebugLog::new(options.debug));
    let counters = Arc::new(Counters::default());
    let worker = start_worker(&options, url, &preparer, spool.clone(), &counters, &log)?;
    let sync_panics = match (spool, options.persist_panics_synchronously) {
        (Some(spool), true) => Some((preparer, spool)),
        _ => None,
    };
    let client = Arc::new(Client {
        events: worker.events,
        control: worker.control,
        wake: worker.wake,
        counters,
        sample_rate: options.sample_rate,
        queue_capacity: options.queue_capacity,
        sync_panics,
        log,
    });
    CLIENT.store(Some(Arc::clone(&client)));
    Ok(Guard {
        client: Some(client),
        done: Some(worker.done),
        flush_timeout: options.flush_timeout,
    })
}

fn check_sample_rate(rate: f64) -> Result<(), Error> {
    if !(0.0..=1.0).contains(&rate) || rate.is_nan() {
        return Err(Error::InvalidOption {
            name: "sample_rate",
            reason: format!("{rate} is not within 0.0..=1.0"),
        });
    }
    Ok(())
}

/// The spool ([`Options::spool_dir`]), unless it is off.
fn open_spool(options: &Options) -> Result<Option<Arc<Spool>>, Error> {
    match options.spool.dir_for(&spool_service_name(options)) {
        Some(dir) => Ok(Some(Arc::new(Spool::open(&dir, options.max_spool_bytes)?))),
        None => Ok(None),
    }
}

/// The name the default spool directory is named after: the service's,
/// else the release's crate name, else the executable's.
fn spool_service_name(options: &Options) -> String {
    let release_parts = options.release.as_deref().and_then(split_release);
    service_info(options, release_parts)
        .and_then(|s| s.name)
        .or_else(exe_crate_name)
        .unwrap_or_else(|| "default".to_string())
}

/// What prepares every event: the options' release, environment, limits and
/// `before_send`, the service, the runtime, in-app prefixes and `scrubber`.
fn preparer(options: &Options, scrubber: Scrubber) -> Preparer {
    let release_parts = options.release.as_deref().and_then(split_release);
    Preparer {
        release: options.release.clone(),
        environment: options.environment.clone(),
        service: service_info(options, release_parts),
        runtime: runtime_info(),
        in_app: InApp::new(in_app_prefixes(options, release_parts)),
        scrubber,
        before_send: options.before_send.clone(),
        max_frames: options.max_frames,
    }
}

/// The configured in-app prefixes; by default the release's crate name and
/// the executable's.
fn in_app_prefixes(options: &Options, release_parts: Option<(&str, &str)>) -> Vec<String> {
    let mut prefixes = options.in_app_prefixes.clone();
    if prefixes.is_empty() {
        if let Some((name, _)) = release_parts {
            prefixes.push(name.replace('-', "_"));
        }
        if let Some(name) = exe_crate_name() {
            if !prefixes.contains(&name) {
                prefixes.push(name);
            }
        }
    }
    prefixes
}

/// The service's name and version: the configured ones, by default the
/// release's (`name@version`); `None` when neither is known.
fn service_info(options: &Options, release_parts: Option<(&str, &str)>) -> Option<ServiceInfo> {
    let service = ServiceInfo {
        name: options
            .service_name
            .clone()
            .or_else(|| release_parts.map(|(n, _)| n.to_string())),
        version: options
            .service_version
            .clone()
            .or_else(|| release_parts.map(|(_, v)| v.to_string())),
    };
    (service.name.is_some() || service.version.is_some()).then_some(service)
}

/// The client's ends of the worker's channels.
struct WorkerChannels {
    events: Sender<Box<RawEvent>>,
    control: Sender<Control>,
    wake: Sender<()>,
    /// Signalled when the worker has stopped.
    done: Receiver<()>,
}

/// This process's release announcement (sent once, see
/// [`WorkerConfig::announcement`]): the release, when one is configured,
/// with the dependencies the options carry (at most the decoders' cap).
fn announcement(options: &Options, started_at: Timestamp) -> Option<ReleaseAnnouncement> {
    let name = options.release.clone()?;
    let mut a = ReleaseAnnouncement::new(name, started_at);
    a.dependencies = options.dependencies.map(|deps| {
        deps.iter()
            .take(bugstack_core::limits::MAX_DEPENDENCIES)
            .cloned()
            .collect()
    });
    Some(a)
}

/// Starts the worker thread (`bugstack-worker`) that prepares, aggregates
/// and delivers events to `url`.
fn start_worker(
    options: &Options,
    url: Url,
    preparer: &Arc<Preparer>,
    spool: Option<Arc<Spool>>,
    counters: &Arc<Counters>,
    log: &Arc<DebugLog>,
) -> Result<WorkerChannels, Error> {
    let (events_tx, events_rx) = bounded(options.queue_capacity);
    let (control_tx, control_rx) = bounded(16);
    let (wake_tx, wake_rx) = bounded(1);
    let (done_tx, done_rx) = bounded(1);
    let cfg = WorkerConfig {
        events: events_rx,
        control: control_rx,
        wake: wake_rx,
        done: done_tx,
        counters: Arc::clone(counters),
        preparer: Arc::clone(preparer),
        spool,
        log: Arc::clone(log),
        url,
        token: options.token.clone(),
        request_timeout: options.request_timeout,
        aggregation: AggregatorConfig {
            window: options.aggregation_window,
            max_groups: options.max_groups,
        },
        max_batch_events: options.max_batch_events,
        max_pending_events: options.max_pending_events as u64,
        announcement: announcement(options, Timestamp::now()),
    };
    std::thread::Builder::new()
        .name("bugstack-worker".into())
        .spawn(move || crate::worker::run(cfg))
        .map_err(Error::Worker)?;
    Ok(WorkerChannels {
        events: events_tx,
        control: control_tx,
        wake: wake_tx,
        done: done_rx,
    })
}

/// Records one occurrence with the current client, if the SDK is
/// initialized: the capture is counted, sampling or a full queue may drop it
/// before any work is spent on it, and only then is it built with `build`
/// (on the calling thread: the cheap part) and handed to the worker.
pub(crate) fn record(build: impl FnOnce() -> RawEvent) {
    with_admitted_client(|client| client.enqueue(build()));
}

/// [`record`] for a panic, from the panic hook: when the client persists
/// panics synchronously (a `panic = "abort"` host) it is processed and
/// spooled on the panicking thread, else queued like any capture.
pub(crate) fn record_panic(build: impl FnOnce() -> RawEvent) {
    with_admitted_client(|client| client.persist_now(build()));
}

fn with_admitted_client(f: impl FnOnce(&Client)) {
    with_client(|client| {
        if client.admit() {
            f(client);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_and_exe_names() {
        assert_eq!(split_release("shop@1.2.3"), Some(("shop", "1.2.3")));
        assert_eq!(split_release("1.2.3"), None);
        assert_eq!(split_release("@1"), None);
        let name = exe_crate_name().unwrap();
        assert_eq!(name, "bugstack_sdk", "unit test binary is named after the crate");
    }

    #[test]
    fn default_spool_is_named_after_the_service() {
        let home = |k: &str| (k == "HOME").then(|| "/home/ada".to_string());
        let base = std::path::Path::new("/home/ada/.local/state/bugstack");
        let o = Options::from_lookup(home).service("shop", None);
        assert_eq!(o.spool.dir_for(&spool_service_name(&o)), Some(base.join("shop")));
        let o = Options::from_lookup(home).release("cart-api@1.0.0");
        assert_eq!(o.spool.dir_for(&spool_service_name(&o)), Some(base.join("cart-api")));
        let o = Options::from_lookup(home);
        assert_eq!(
            o.spool.dir_for(&spool_service_name(&o)),
            Some(base.join("bugstack_sdk"))
        );
    }
}
