//! # bugstack-sdk
//!
//! In-process error capture for Rust services. The calling thread only
//! records what it must (message, location, *unresolved* stack addresses,
//! thread, request context) and `try_send`s it onto a bounded queue; one
//! background worker thread resolves symbols, scrubs secrets, fingerprints,
//! aggregates identical occurrences, batches, gzips and delivers them to the
//! bugstack collector. Nothing on the calling thread blocks, grows without
//! bound, or can panic the host; every dropped occurrence is counted
//! ([`stats`]) and reported in the next batch.
//!
//! ## Setup (four lines)
//!
//! ```no_run
//! use std::time::Duration;
//! let _guard = bugstack_sdk::init(bugstack_sdk::Options::default().release(bugstack_sdk::release_name!()));
//! # let err = std::io::Error::other("boom");
//! bugstack_sdk::capture_error(&err);
//! bugstack_sdk::capture_message("cache rebuilt from scratch", bugstack_sdk::Level::Warning);
//! let delivered: bool = bugstack_sdk::flush(Duration::from_secs(5));
//! ```
//!
//! `Options::default()` reads `BUGSTACK_ENDPOINT`, `BUGSTACK_TOKEN`,
//! `BUGSTACK_RELEASE`, `BUGSTACK_ENVIRONMENT` and `BUGSTACK_SERVICE`. With no
//! endpoint, [`init`] returns a disabled guard and every call is a no-op.
//! Dropping the guard flushes with a short timeout
//! ([`Options::flush_timeout`]).
//!
//! ## Features
//!
//! - `tracing`: [`tracing::BugstackLayer`], turning `error!` events into
//!   bugstack events (span fields as tags) and lower-level ones into breadcrumbs.
//! - `tower` (and `axum` for route templates): [`tower::RequestContextLayer`],
//!   which attaches the request's method, route, path, scrubbed headers and
//!   (opt-in) JSON payload shape to every event captured inside its handler.
//! - `anyhow`: [`capture_anyhow`], which reports the stack the `anyhow::Error`
//!   carries instead of the capture site's.
//! - `fast-unwind` (default): the fast stack walk on Linux x86_64 (below).
//!   Without it, walks use the system unwinder (lock-free on Unix).
//!
//! ## Locks and the stack walk
//!
//! The SDK takes no lock on the calling thread: the client is read through
//! `arc-swap`, counters are relaxed atomics, the queue is a lock-free bounded
//! channel, and the stack walk shares nothing between threads. On Linux
//! x86_64 (feature `fast-unwind`, on by default) the walk unwinds with
//! `framehop` from the calling function's registers, with each address's
//! unwind rule cached per thread and stack reads bounded to the thread's own
//! stack: tens of nanoseconds a frame. The unwind tables it needs are read from the
//! module files by the worker, on its own thread, when it starts. Until
//! then, and for anything the fast walker does not know (a module loaded
//! later, an alternate signal stack), the walk falls back to the system
//! unwinder (`_Unwind_Backtrace`), called without `backtrace`'s process-wide
//! lock where that unwinder is thread-safe (Unix). The `unsafe` code this
//! takes lives in one module (`stack`), each block with its argument.
//!
//! ## Where the stack comes from
//!
//! [`capture_error`] records the stack of the *capture site*. When the error
//! carries its own `std::backtrace::Backtrace`, pass it to
//! [`capture_error_with_backtrace`] (std has no stable way to ask an error
//! for it: `std::error::request_ref` is unstable). `anyhow::Error` exposes
//! its backtrace, so [`capture_anyhow`] uses it automatically. A std
//! backtrace can only be read through its `Debug` output, which resolves its
//! symbols on the calling thread: that path costs what resolution costs
//! (milliseconds), unlike the default path.
#![deny(unsafe_code)] // the one exception: `stack` (the stack walk), each block argued there
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod batch_id;
mod breadcrumbs;
mod capture;
mod client;
mod diag;
mod error;
#[cfg(target_os = "linux")]
mod exe_symbols;
mod hook;
#[cfg(target_os = "linux")]
mod maps;
mod options;
mod prepare;
mod repeats;
mod request_context;
mod request_source;
mod ring;
mod spool;
mod stack;
mod stats;
mod symbolize;
mod transport;
mod worker;

#[cfg(feature = "tower")]
pub mod tower;
#[cfg(feature = "tracing")]
pub mod tracing;

use std::time::Duration;

pub use breadcrumbs::add_breadcrumb;
pub use bugstack_core::{Breadcrumb, Dependency, Event, Level, RequestContext};
pub use client::Guard;
pub use error::Error;
pub use options::{BeforeSend, Options, ENV_VARS};
pub use request_context::{current_request, with_request};
pub use stats::Stats;

use bugstack_core::EventKind;
use capture::{error_chain, RawEvent, RawFrames};

/// `"<crate name>@<crate version>"` of the crate that invokes it, for
/// [`Options::release`].
///
/// ```
/// assert_eq!(bugstack_sdk::release_name!(), concat!("bugstack_sdk@", env!("CARGO_PKG_VERSION")).replace('_', "-"));
/// ```
#[macro_export]
macro_rules! release_name {
    () => {
        concat!(env!("CARGO_PKG_NAME"), "@", env!("CARGO_PKG_VERSION"))
    };
}

/// The resolved dependencies of the crate that invokes it, for
/// [`Options::dependencies`]: the name and version of every package in the
/// nearest `Cargo.lock` at or above its `CARGO_MANIFEST_DIR` (a workspace
/// member finds the workspace's lock) that comes from a registry or git —
/// the workspace's own packages are the service itself and are left out.
/// Read at build time into a `&'static [Dependency]`; the crate is rebuilt
/// whenever the lock changes. No `Cargo.lock` is a compile error saying so.
///
/// ```
/// let deps: &'static [bugstack_sdk::Dependency] = bugstack_sdk::dependencies!();
/// assert!(deps.iter().any(|d| d.name == "serde_json"));
/// assert!(!deps.iter().any(|d| d.name == "bugstack-sdk"), "workspace members are left out");
/// ```
#[macro_export]
macro_rules! dependencies {
    () => {
        $crate::__private::dependencies_in!($crate)
    };
}

/// What the SDK's macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use bugstack_sdk_macros::dependencies_in;
}

/// Starts the SDK. Never fails and never panics: with no endpoint, or when
/// the options are invalid (logged to stderr when [`Options::debug`] is on),
/// it returns a disabled guard. An unusable spool directory does not disable
/// the SDK: it then runs without a spool. Use [`try_init`] to see errors.
///
/// ```
/// let guard = bugstack_sdk::init(bugstack_sdk::Options::new());
/// assert!(!guard.is_enabled()); // no endpoint: a no-op
/// ```
pub fn init(options: Options) -> Guard {
    let debug = options.debug;
    match try_init(options.clone()) {
        Ok(g) => g,
        Err(Error::Spool { path, source }) => {
            if debug {
                eprintln!(
                    "[bugstack] spool directory {} unusable ({source}); running without a spool",
                    path.display()
                );
            }
            init(options.no_spool())
        }
        Err(e) => {
            if debug {
                eprintln!("[bugstack] disabled: {e}");
            }
            Guard::disabled()
        }
    }
}

/// Starts the SDK, reporting invalid options (endpoint, sample rate, scrub
/// patterns, spool directory) as an [`Error`].
///
/// ```
/// let err = bugstack_sdk::try_init(bugstack_sdk::Options::new().endpoint("ftp://nope")).unwrap_err();
/// assert!(err.to_string().contains("endpoint"));
/// ```
pub fn try_init(options: Options) -> Result<Guard, Error> {
    let install_hook = options.install_panic_hook;
    let guard = client::try_init(options)?;
    if install_hook && guard.is_active() {
        hook::install();
    }
    Ok(guard)
}

/// Whether the SDK is initialized and enabled.
pub fn is_enabled() -> bool {
    client::with_client(|_| ()).is_some()
}

/// Captures an error: its `Display`, its `source()` chain with type names, and
/// the stack at this call (resolved later, on the worker).
///
/// ```
/// let err = "x".parse::<u32>().unwrap_err();
/// bugstack_sdk::capture_error(&err); // a no-op until `init`
/// let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
/// bugstack_sdk::capture_error(&*boxed);
/// ```
pub fn capture_error<E: std::error::Error + ?Sized + 'static>(err: &E) {
    client::record(|| RawEvent::error(error_chain(err), RawFrames::Unresolved(crate::stack::walk())));
}

/// Captures an error with the stack it carries (e.g. a
/// `std::backtrace::Backtrace` field captured where the error arose) instead
/// of the capture site's. A backtrace that was not captured (`RUST_BACKTRACE`
/// unset) falls back to the capture site's stack. Reading a std backtrace
/// resolves its symbols on this thread (see the crate docs).
///
/// ```
/// let bt = std::backtrace::Backtrace::force_capture();
/// let err = std::io::Error::other("disk full");
/// bugstack_sdk::capture_error_with_backtrace(&err, &bt);
/// ```
pub fn capture_error_with_backtrace<E: std::error::Error + ?Sized + 'static>(
    err: &E,
    backtrace: &std::backtrace::Backtrace,
) {
    client::record(|| RawEvent::error(error_chain(err), frames_of(backtrace)));
}

fn frames_of(backtrace: &std::backtrace::Backtrace) -> RawFrames {
    if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
        RawFrames::StdDebug(bugstack_core::text::truncate_owned(
            format!("{backtrace:?}"),
            256 * 1024,
        ))
    } else {
        RawFrames::Unresolved(crate::stack::walk())
    }
}

/// Captures an `anyhow::Error`: its chain, and the backtrace it carries when
/// one was captured (`RUST_BACKTRACE`/`RUST_LIB_BACKTRACE`), else the stack
/// at this call.
///
/// ```
/// let err = anyhow::anyhow!("payment declined").context("checkout failed");
/// bugstack_sdk::capture_anyhow(&err);
/// ```
#[cfg(feature = "anyhow")]
pub fn capture_anyhow(err: &anyhow::Error) {
    let e: &(dyn std::error::Error + Send + Sync + 'static) = err.as_ref();
    client::record(|| RawEvent::error(error_chain(e), frames_of(err.backtrace())));
}

/// Captures a plain message at `level`, with the stack at this call.
///
/// ```
/// bugstack_sdk::capture_message("inventory sync skipped", bugstack_sdk::Level::Warning);
/// ```
pub fn capture_message(message: &str, level: Level) {
    client::record(|| {
        RawEvent::new(
            EventKind::Message,
            level,
            message.to_string(),
            RawFrames::Unresolved(crate::stack::walk()),
        )
    });
}

/// Captures an event with tags (the `tracing` layer's path).
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn capture_with_tags(
    kind: EventKind,
    level: Level,
    message: String,
    tags: std::collections::BTreeMap<String, String>,
    location: Option<bugstack_core::Location>,
) {
    client::record(|| {
        let mut raw = RawEvent::new(kind, level, message, RawFrames::Unresolved(crate::stack::walk()));
        raw.tags = tags;
        raw.location = location;
        raw
    });
}

/// Delivers everything captured so far (including spooled batches). Returns
/// true when it all went out within `timeout` (batches the collector rejected
/// for good, e.g. 401, count as done: see [`Stats::rejected`]); false
/// otherwise — what was not delivered stays queued or spooled for later, or,
/// if the spool had to drop it, is counted in [`Stats::dropped_spool_full`].
/// A collector that stays down makes `flush` retry (with backoff) until
/// `timeout`. True when the SDK is not initialized.
///
/// ```
/// assert!(bugstack_sdk::flush(std::time::Duration::from_millis(10)));
/// ```
pub fn flush(timeout: Duration) -> bool {
    client::with_client(|c| c.flush(timeout)).unwrap_or(true)
}

/// The current client's counters (all zero when not initialized).
///
/// ```
/// let s = bugstack_sdk::stats();
/// assert_eq!(s.dropped_queue_full, 0);
/// ```
pub fn stats() -> Stats {
    client::with_client(|c| c.stats()).unwrap_or_default()
}
