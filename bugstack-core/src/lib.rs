//! # bugstack-core
//!
//! The shared vocabulary of bugstack: the [`Event`] model, [`fingerprint`](mod@fingerprint)ing
//! ("is this the same bug?"), windowed grouping ([`Aggregator`]), secret
//! [`Scrubber`], redacted [`Secret`]s, payload [`Shape`]s, the SDK → collector
//! wire format ([`encode_batch`] / [`decode_batch`]) and cutting [`text`] to a
//! budget.
//!
//! **Architecture invariant:** this crate does no runtime I/O and spawns
//! nothing. It reads the clock only in [`Timestamp::now`]. Everything here is
//! a pure function of its inputs, so the SDK's worker, the collector and the
//! fix engine agree on what an event is and which group it belongs to.
//!
//! ```
//! use bugstack_core::{Event, EventKind, Level, Timestamp, Batch, encode_batch, decode_batch, ContentEncoding, DecodeLimits};
//! let event = Event::new(EventKind::Panic, Level::Fatal, "attempt to divide by zero", Timestamp::now());
//! let body = encode_batch(&Batch::new(Timestamp::now(), vec![event])).unwrap();
//! let batch = decode_batch(&body, ContentEncoding::Gzip, &DecodeLimits::default()).unwrap();
//! assert_eq!(batch.events.len(), 1);
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod aggregate;
mod bounded;
mod error;
pub mod event;
mod event_repr;
pub mod fingerprint;
mod grouping;
pub mod limits;
pub mod release;
pub mod scrub;
mod secret;
pub mod shape;
pub mod text;
mod timestamp;
pub mod wire;

pub use aggregate::{Added, Aggregator, AggregatorConfig};
/// Leaves every empty `Option`, `Vec` and `BTreeMap` field of a serde struct
/// off the serialized form and reads a missing one as empty: it writes
/// `#[serde(default, skip_serializing_if = "Option::is_none")]` (or
/// `Vec::is_empty`, `BTreeMap::is_empty`) on each such field that does not
/// already decide (`skip_serializing_if`, `skip`, `flatten`); a field marked
/// `#[serialize_always]` is left as it is. Put it above `#[derive(...)]`.
pub use bugstack_core_macros::omit_empty;
pub use error::Error;
pub use event::{
    Breadcrumb, ChainLink, Event, EventKind, Frame, Level, Location, Omitted, RequestContext, Runtime, ServiceInfo,
    ThreadInfo, SCHEMA_VERSION,
};
pub use fingerprint::Fingerprint;
pub use grouping::{fingerprint, normalize_message};
pub use release::{dependencies_on_stack, Dependency, ReleaseAnnouncement};
pub use scrub::{ScrubConfig, Scrubber, REDACTED};
pub use secret::Secret;
pub use shape::{Shape, ShapeLimits};
pub use timestamp::Timestamp;
pub use wire::{
    decode_batch, encode_batch, gunzip_limited, gzip as gzip_bytes, Batch, ClientStats, ContentEncoding, DecodeLimits,
    SdkInfo, EVENTS_PATH, MAX_BATCH_ID_LEN,
};
