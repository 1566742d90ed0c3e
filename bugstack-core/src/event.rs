//! The event model: one [`Event`] per occurrence, or per aggregated group of
//! identical occurrences (then [`Event::count`] > 1).
//!
//! Every field except the few that identify the occurrence is optional on the
//! wire, so that an older or leaner SDK still produces valid events. The model
//! is versioned by [`SCHEMA_VERSION`]; fields may be added within a version,
//! never removed or changed in meaning.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{omit_empty, Fingerprint, Shape, Timestamp};

/// The version of the event model and of the batch wire format.
pub const SCHEMA_VERSION: u32 = 1;

/// What produced an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A Rust panic caught by the panic hook.
    Panic,
    /// A `std::error::Error` passed to `capture_error`.
    Error,
    /// A plain message passed to `capture_message`.
    Message,
    /// A `tracing` event at or above the configured level.
    Tracing,
}

impl EventKind {
    /// The name used on the wire and in fingerprints (`"panic"`, `"error"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Panic => "panic",
            EventKind::Error => "error",
            EventKind::Message => "message",
            EventKind::Tracing => "tracing",
        }
    }
}

/// Severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Very verbose diagnostics.
    Trace,
    /// Diagnostics.
    Debug,
    /// Informational.
    Info,
    /// Something unexpected that the program recovered from.
    Warning,
    /// An error.
    Error,
    /// An error that ended a thread or the process (panics).
    Fatal,
}

impl Level {
    /// The name used on the wire (`"error"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// One link of an error's `source()` chain, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainLink {
    /// The error's type name (`std::any::type_name`), when known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::bounded::opt_field"
    )]
    pub type_name: Option<String>,
    /// The error's `Display` output.
    #[serde(deserialize_with = "crate::bounded::message")]
    pub message: String,
}

/// A source location (file, line, column).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Source file path as the compiler recorded it (may be relative to the
    /// crate root, absolute, or inside the cargo registry).
    #[serde(deserialize_with = "crate::bounded::field")]
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// One stack frame. Frames are ordered innermost first: `frames[0]` is where
/// the error arose (for a panic, the frame that called `panic!`).
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Frame {
    /// Demangled function path without the hash suffix, e.g.
    /// `shop::cart::Cart::total`.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub function: Option<String>,
    /// Module path of the function, e.g. `shop::cart` (derived from the
    /// function path when the SDK could not do better).
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub module: Option<String>,
    /// Source file of the frame, when debug info has it.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub file: Option<String>,
    /// 1-based line, when debug info has it.
    pub line: Option<u32>,
    /// 1-based column, when debug info has it.
    pub column: Option<u32>,
    /// Whether the frame belongs to the application (as opposed to the
    /// standard library or a dependency), as judged by the SDK.
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_app: bool,
    /// Instruction address in hex (`0x...`), for frames that could not be
    /// symbolicated.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub address: Option<String>,
}

/// The thread an event happened on.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThreadInfo {
    /// The thread's name (`main`, `tokio-runtime-worker`, ...).
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub name: Option<String>,
    /// The thread's id as `std::thread::ThreadId`'s debug output.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub id: Option<String>,
}

/// The Rust toolchain and platform the service was built for and runs on.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Runtime {
    /// `rustc --version` at build time.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub rustc_version: Option<String>,
    /// Target triple at build time, e.g. `x86_64-unknown-linux-gnu`.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub target: Option<String>,
    /// Operating system (`std::env::consts::OS`).
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub os: Option<String>,
    /// CPU architecture (`std::env::consts::ARCH`).
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub arch: Option<String>,
}

/// The service that produced the event.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServiceInfo {
    /// Service name, e.g. `shop`.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub name: Option<String>,
    /// Service version, e.g. `1.4.2`.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub version: Option<String>,
}

/// The HTTP request being handled when the event happened.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequestContext {
    /// HTTP method, e.g. `POST`.
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub method: Option<String>,
    /// Route template, e.g. `/carts/{id}/checkout` (never the concrete path).
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub route: Option<String>,
    /// URL path; query values are removed (`?page=[redacted]`).
    #[serde(deserialize_with = "crate::bounded::opt_field")]
    pub path: Option<String>,
    /// Request headers after scrubbing, names lowercased.
    #[serde(deserialize_with = "headers")]
    pub headers: BTreeMap<String, String>,
    /// The JSON body's shape: types and keys, never values.
    pub payload_shape: Option<Shape>,
}

/// A recent lower-level event recorded before the main event (e.g. a
/// `tracing::info!` a moment before the error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breadcrumb {
    /// When it was recorded.
    pub timestamp: Timestamp,
    /// Its level.
    pub level: Level,
    /// Category, e.g. the `tracing` target.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::bounded::opt_field"
    )]
    pub category: Option<String>,
    /// Its message.
    #[serde(deserialize_with = "crate::bounded::message")]
    pub message: String,
}

/// What the decoder cut from an event to keep it within the
/// [`limits`](crate::limits): how many elements past each cap were skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Omitted {
    /// Frames past [`MAX_FRAMES`](crate::limits::MAX_FRAMES) (the outermost).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub frames: u64,
    /// Chain links past [`MAX_CHAIN`](crate::limits::MAX_CHAIN) (the innermost causes).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chain: u64,
    /// Breadcrumbs past [`MAX_BREADCRUMBS`](crate::limits::MAX_BREADCRUMBS) (the oldest).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub breadcrumbs: u64,
    /// Tags past [`MAX_TAGS`](crate::limits::MAX_TAGS).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub tags: u64,
}

impl Omitted {
    /// Whether nothing was cut.
    pub fn is_empty(&self) -> bool {
        *self == Omitted::default()
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn headers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    crate::bounded::limited_map(d, crate::limits::MAX_HEADERS, "request.headers")
}

/// One occurrence of an error, or an aggregated group of identical ones.
///
/// Deserializing enforces the [`limits`](crate::limits) as it reads (see
/// `event_repr`): what is cut is counted in [`Event::omitted`].
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "crate::event_repr::EventRepr")]
pub struct Event {
    /// Version of the event model this event follows ([`SCHEMA_VERSION`]).
    #[serde(default = "default_schema_version")]
    pub schema_version: u32,
    /// Unique id of this event (assigned by the SDK), when known.
    pub event_id: Option<String>,
    /// What produced the event.
    pub kind: EventKind,
    /// Severity.
    pub level: Level,
    /// The panic message, the outermost error's `Display`, or the message text.
    pub message: String,
    /// The error's `source()` chain, outermost first (empty for panics and
    /// messages).
    pub chain: Vec<ChainLink>,
    /// Where a panic was raised (`std::panic::Location`), when known.
    pub location: Option<Location>,
    /// Stack frames, innermost first.
    pub frames: Vec<Frame>,
    /// The thread it happened on.
    pub thread: Option<ThreadInfo>,
    /// When it happened (for an aggregate: the first occurrence).
    pub timestamp: Timestamp,
    /// Release of the service (a version, git tag or commit), when known.
    pub release: Option<String>,
    /// Deployment environment, e.g. `dev`, `staging`, `prod`.
    pub environment: Option<String>,
    /// Toolchain and platform.
    pub runtime: Option<Runtime>,
    /// The service's name and version.
    pub service: Option<ServiceInfo>,
    /// The request being handled, when the event happened inside one.
    pub request: Option<RequestContext>,
    /// Free-form key/value tags (e.g. `tracing` span fields).
    pub tags: BTreeMap<String, String>,
    /// Recent lower-level events, oldest first.
    pub breadcrumbs: Vec<Breadcrumb>,
    /// User-supplied fingerprint parts that replace the default grouping
    /// (`"{{ default }}"` stands for the default parts). Empty = default.
    pub fingerprint_parts: Vec<String>,
    /// The grouping fingerprint, computed by the SDK's worker or the collector.
    pub fingerprint: Option<Fingerprint>,
    /// Number of occurrences this event stands for (1 for a single occurrence).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// First occurrence in the group (absent: `timestamp`).
    pub first_seen: Option<Timestamp>,
    /// Last occurrence in the group (absent: `timestamp`).
    pub last_seen: Option<Timestamp>,
    /// What the decoder cut to keep the event within the limits.
    #[serde(default, skip_serializing_if = "Omitted::is_empty")]
    pub omitted: Omitted,
}

pub(crate) fn default_schema_version() -> u32 {
    SCHEMA_VERSION
}

pub(crate) fn one() -> u64 {
    1
}

impl Event {
    /// A new single-occurrence event with the given kind, level, message and
    /// timestamp; everything else empty.
    pub fn new(kind: EventKind, level: Level, message: impl Into<String>, at: Timestamp) -> Self {
        Event {
            schema_version: SCHEMA_VERSION,
            event_id: None,
            kind,
            level,
            message: message.into(),
            chain: Vec::new(),
            location: None,
            frames: Vec::new(),
            thread: None,
            timestamp: at,
            release: None,
            environment: None,
            runtime: None,
            service: None,
            request: None,
            tags: BTreeMap::new(),
            breadcrumbs: Vec::new(),
            fingerprint_parts: Vec::new(),
            fingerprint: None,
            count: 1,
            first_seen: None,
            last_seen: None,
            omitted: Omitted::default(),
        }
    }

    /// First occurrence (falls back to [`Event::timestamp`]).
    pub fn first_seen(&self) -> Timestamp {
        self.first_seen.unwrap_or(self.timestamp)
    }

    /// Last occurrence (falls back to [`Event::timestamp`]).
    pub fn last_seen(&self) -> Timestamp {
        self.last_seen.unwrap_or(self.timestamp)
    }

    /// The frames judged to belong to the application, innermost first.
    pub fn in_app_frames(&self) -> impl Iterator<Item = &Frame> {
        self.frames.iter().filter(|f| f.in_app)
    }

    /// The outermost error type name, when the event has a chain.
    pub fn error_type(&self) -> Option<&str> {
        self.chain.first().and_then(|l| l.type_name.as_deref())
    }

    /// The event's fingerprint: the stored one, or one computed now.
    pub fn fingerprint_or_compute(&self) -> Fingerprint {
        self.fingerprint.clone().unwrap_or_else(|| crate::fingerprint(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_json_event_gets_defaults() {
        let e: Event = serde_json::from_str(
            r#"{"kind":"panic","level":"fatal","message":"boom","timestamp":"2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(e.schema_version, SCHEMA_VERSION);
        assert_eq!(e.count, 1);
        assert_eq!(e.first_seen(), e.timestamp);
        assert_eq!(e.last_seen(), e.timestamp);
        assert!(e.frames.is_empty() && e.tags.is_empty());
    }

    #[test]
    fn unknown_kind_is_rejected() {
        let r: Result<Event, _> = serde_json::from_str(
            r#"{"kind":"explosion","level":"fatal","message":"x","timestamp":"2026-01-01T00:00:00Z"}"#,
        );
        assert!(r.unwrap_err().to_string().contains("explosion"));
    }

    #[test]
    fn empty_fields_are_not_serialized() {
        let e = Event::new(EventKind::Message, Level::Info, "hi", Timestamp::from_millis(0));
        let s = serde_json::to_string(&e).unwrap();
        assert!(
            !s.contains("frames") && !s.contains("tags") && !s.contains("request"),
            "{s}"
        );
    }

    #[test]
    fn defaults_that_say_nothing_are_not_serialized_and_still_decode() {
        assert_eq!(serde_json::to_string(&Frame::default()).unwrap(), "{}");
        let e = Event::new(EventKind::Message, Level::Info, "hi", Timestamp::from_millis(0));
        let s = serde_json::to_string(&e).unwrap();
        assert!(
            !s.contains("count") && !s.contains("omitted") && !s.contains("in_app"),
            "{s}"
        );
        let back: Event = serde_json::from_str(&s).unwrap();
        assert_eq!(back, e);
        let f: Frame = serde_json::from_str(r#"{"in_app":true}"#).unwrap();
        assert!(f.in_app);
    }

    #[test]
    fn levels_are_ordered_by_severity() {
        assert!(Level::Trace < Level::Info && Level::Warning < Level::Error && Level::Error < Level::Fatal);
        assert_eq!(Level::Warning.as_str(), "warning");
        assert_eq!(EventKind::Tracing.as_str(), "tracing");
    }
}
