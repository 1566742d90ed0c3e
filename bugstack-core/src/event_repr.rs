//! How an [`Event`] is read off the wire: every capped part is deserialized
//! through [`bounded`](crate::bounded), so the excess is skipped, never built,
//! and what was cut is counted in [`Event::omitted`].

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

use crate::bounded::{self, Capped, Keep};
use crate::event::{default_schema_version, one, Omitted};
use crate::limits::{
    MAX_BREADCRUMBS, MAX_CHAIN, MAX_FINGERPRINT_PARTS, MAX_FINGERPRINT_PART_BYTES, MAX_FRAMES, MAX_TAGS,
};
use crate::{
    Breadcrumb, ChainLink, Event, EventKind, Fingerprint, Frame, Level, Location, RequestContext, Runtime, ServiceInfo,
    ThreadInfo, Timestamp,
};

fn frames<'de, D: Deserializer<'de>>(d: D) -> Result<Capped<Frame>, D::Error> {
    bounded::capped_seq(d, MAX_FRAMES, Keep::First)
}

fn chain<'de, D: Deserializer<'de>>(d: D) -> Result<Capped<ChainLink>, D::Error> {
    bounded::capped_seq(d, MAX_CHAIN, Keep::First)
}

fn breadcrumbs<'de, D: Deserializer<'de>>(d: D) -> Result<Capped<Breadcrumb>, D::Error> {
    bounded::capped_seq(d, MAX_BREADCRUMBS, Keep::Last)
}

fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<(BTreeMap<String, String>, u64), D::Error> {
    bounded::capped_map(d, MAX_TAGS)
}

fn fingerprint_parts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    bounded::limited_strings(
        d,
        MAX_FINGERPRINT_PARTS,
        MAX_FINGERPRINT_PART_BYTES,
        "fingerprint_parts",
    )
}

/// The wire form of [`Event`], field for field.
#[derive(Deserialize)]
pub(crate) struct EventRepr {
    #[serde(default = "default_schema_version")]
    schema_version: u32,
    #[serde(default, deserialize_with = "bounded::opt_field")]
    event_id: Option<String>,
    kind: EventKind,
    level: Level,
    #[serde(deserialize_with = "bounded::message")]
    message: String,
    #[serde(default, deserialize_with = "chain")]
    chain: Capped<ChainLink>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default, deserialize_with = "frames")]
    frames: Capped<Frame>,
    #[serde(default)]
    thread: Option<ThreadInfo>,
    timestamp: Timestamp,
    #[serde(default, deserialize_with = "bounded::opt_field")]
    release: Option<String>,
    #[serde(default, deserialize_with = "bounded::opt_field")]
    environment: Option<String>,
    #[serde(default)]
    runtime: Option<Runtime>,
    #[serde(default)]
    service: Option<ServiceInfo>,
    #[serde(default)]
    request: Option<RequestContext>,
    #[serde(default, deserialize_with = "tags")]
    tags: (BTreeMap<String, String>, u64),
    #[serde(default, deserialize_with = "breadcrumbs")]
    breadcrumbs: Capped<Breadcrumb>,
    #[serde(default, deserialize_with = "fingerprint_parts")]
    fingerprint_parts: Vec<String>,
    #[serde(default)]
    fingerprint: Option<Fingerprint>,
    #[serde(default = "one")]
    count: u64,
    #[serde(default)]
    first_seen: Option<Timestamp>,
    #[serde(default)]
    last_seen: Option<Timestamp>,
    #[serde(default)]
    omitted: Omitted,
}

impl From<EventRepr> for Event {
    fn from(r: EventRepr) -> Self {
        let omitted = Omitted {
            frames: r.omitted.frames.saturating_add(r.frames.omitted),
            chain: r.omitted.chain.saturating_add(r.chain.omitted),
            breadcrumbs: r.omitted.breadcrumbs.saturating_add(r.breadcrumbs.omitted),
            tags: r.omitted.tags.saturating_add(r.tags.1),
        };
        Event {
            schema_version: r.schema_version,
            event_id: r.event_id,
            kind: r.kind,
            level: r.level,
            message: r.message,
            chain: r.chain.items,
            location: r.location,
            frames: r.frames.items,
            thread: r.thread,
            timestamp: r.timestamp,
            release: r.release,
            environment: r.environment,
            runtime: r.runtime,
            service: r.service,
            request: r.request,
            tags: r.tags.0,
            breadcrumbs: r.breadcrumbs.items,
            fingerprint_parts: r.fingerprint_parts,
            fingerprint: r.fingerprint,
            count: r.count,
            first_seen: r.first_seen,
            last_seen: r.last_seen,
            omitted,
        }
    }
}
