//! The wire format between SDK and collector (see `docs/wire-format.md`).
//!
//! `POST {endpoint}/v1/events` with `Content-Type: application/json`,
//! `Content-Encoding: gzip`, `Authorization: Bearer <token>`, and a body that
//! is a gzip'd JSON [`Batch`]. [`decode_batch`] is safe on hostile input: it
//! checks the compressed size, inflates at most
//! [`DecodeLimits::max_decompressed_bytes`] (+1 byte to detect overflow, so a
//! gzip bomb never allocates past the limit), then checks the schema version
//! and the event count in a first pass that builds nothing, then parses the
//! events with every repeated part capped as it is read ([`crate::limits`]) —
//! each failure a distinct [`Error`].

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::{Deserialize, Serialize};

use crate::{omit_empty, Error, Event, ReleaseAnnouncement, Timestamp, SCHEMA_VERSION};

/// The path events are posted to, relative to the endpoint.
pub const EVENTS_PATH: &str = "/v1/events";

/// Longest accepted [`Batch::batch_id`], in bytes.
pub const MAX_BATCH_ID_LEN: usize = 128;

/// Schema versions [`decode_batch`] accepts.
pub const SUPPORTED_SCHEMA_VERSIONS: &[u32] = &[SCHEMA_VERSION];

/// The SDK that sent a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SdkInfo {
    /// SDK name, e.g. `bugstack-sdk`.
    pub name: String,
    /// SDK version.
    pub version: String,
}

/// The sender's own delivery counters, reported so the collector can show
/// what never arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientStats {
    /// Occurrences captured since start.
    #[serde(default)]
    pub captured: u64,
    /// Occurrences dropped because the capture queue was full.
    #[serde(default)]
    pub dropped_queue_full: u64,
    /// Occurrences dropped by sampling or `before_send`.
    #[serde(default)]
    pub dropped_filtered: u64,
    /// Events dropped because the spool was full (oldest first).
    #[serde(default)]
    pub dropped_spool_full: u64,
    /// Events currently waiting in the disk spool.
    #[serde(default)]
    pub spooled: u64,
    /// Events delivered (acknowledged with 2xx).
    #[serde(default)]
    pub sent: u64,
}

/// A batch of events: the body of one `POST /v1/events`.
#[omit_empty]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Wire format version ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When the batch was sent.
    pub sent_at: Timestamp,
    /// The events, each one occurrence or one aggregated group.
    #[serialize_always]
    pub events: Vec<Event>,
    /// The sending SDK, when it says.
    pub sdk: Option<SdkInfo>,
    /// The sender's delivery counters, when it reports them.
    pub stats: Option<ClientStats>,
    /// The sender's release announcement: present in the first batch a
    /// process sends after it starts (optional; see [`ReleaseAnnouncement`]).
    pub release: Option<ReleaseAnnouncement>,
    /// The batch's idempotency key (optional; at most [`MAX_BATCH_ID_LEN`]
    /// bytes): a sender that retries a batch (its answer was lost) sends it
    /// again with the same id, and the collector counts it once. Unique per
    /// sender; the SDK sets a random one and keeps it across its retries and
    /// its disk spool.
    pub batch_id: Option<String>,
}

impl Batch {
    /// A batch of the current schema version.
    pub fn new(sent_at: Timestamp, events: Vec<Event>) -> Self {
        Batch {
            schema_version: SCHEMA_VERSION,
            sent_at,
            events,
            sdk: None,
            stats: None,
            release: None,
            batch_id: None,
        }
    }

    /// Total occurrences in the batch (sum of the events' counts).
    pub fn occurrences(&self) -> u64 {
        self.events.iter().map(|e| e.count).sum()
    }
}

/// Bounds enforced by [`decode_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted body as received (compressed).
    pub max_compressed_bytes: usize,
    /// Largest accepted body after decompression.
    pub max_decompressed_bytes: usize,
    /// Most events in one batch.
    pub max_events: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_compressed_bytes: 1024 * 1024,
            max_decompressed_bytes: 16 * 1024 * 1024,
            max_events: 1000,
        }
    }
}

/// How a body is encoded (the `Content-Encoding` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEncoding {
    /// `gzip`.
    Gzip,
    /// No encoding (`identity` or no header).
    Identity,
}

impl ContentEncoding {
    /// Parses a `Content-Encoding` header value; `None` means identity.
    pub fn from_header(value: Option<&str>) -> Result<Self, Error> {
        match value.map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(ContentEncoding::Identity),
            Some(v) if v.is_empty() || v == "identity" => Ok(ContentEncoding::Identity),
            Some(v) if v == "gzip" || v == "x-gzip" => Ok(ContentEncoding::Gzip),
            Some(v) => Err(Error::UnsupportedEncoding(v)),
        }
    }
}

/// Serializes `batch` to JSON and gzips it (the body to POST).
pub fn encode_batch(batch: &Batch) -> Result<Vec<u8>, Error> {
    let json = serde_json::to_vec(batch).map_err(|e| Error::Encode(e.to_string()))?;
    gzip(&json)
}

/// Gzips bytes at the default level.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>, Error> {
    let mut enc = GzEncoder::new(Vec::with_capacity(bytes.len() / 4 + 64), Compression::default());
    enc.write_all(bytes).map_err(|e| Error::Encode(e.to_string()))?;
    enc.finish().map_err(|e| Error::Encode(e.to_string()))
}

/// Inflates a gzip body, reading at most `limit` bytes of output: a body that
/// would inflate past it is rejected without allocating more than `limit + 1`
/// bytes.
pub fn gunzip_limited(body: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit.saturating_add(1)));
    GzDecoder::new(body)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| Error::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(Error::DecompressedTooLarge { limit });
    }
    Ok(out)
}

/// A first pass over the body that builds nothing: the version, and how
/// many events there are (counted as [`serde::de::IgnoredAny`]), so a batch
/// over [`DecodeLimits::max_events`] is refused before any event is built.
#[derive(Deserialize)]
struct VersionProbe {
    schema_version: Option<serde_json::Value>,
    #[serde(default)]
    events: EventCount,
}

#[derive(Default)]
struct EventCount(usize);

impl<'de> Deserialize<'de> for EventCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counter;
        impl<'de> serde::de::Visitor<'de> for Counter {
            type Value = EventCount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of events")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<EventCount, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(EventCount(n))
            }
        }
        d.deserialize_seq(Counter)
    }
}

/// Decodes a request body into a [`Batch`], enforcing `limits`.
pub fn decode_batch(body: &[u8], encoding: ContentEncoding, limits: &DecodeLimits) -> Result<Batch, Error> {
    if body.len() > limits.max_compressed_bytes {
        return Err(Error::BodyTooLarge {
            size: body.len(),
            limit: limits.max_compressed_bytes,
        });
    }
    let inflated;
    let json: &[u8] = match encoding {
        ContentEncoding::Gzip => {
            inflated = gunzip_limited(body, limits.max_decompressed_bytes)?;
            &inflated
        }
        ContentEncoding::Identity => body,
    };
    // Check the version before the full parse so a future format gets a
    // version error rather than a confusing field error.
    let probe: VersionProbe = serde_json::from_slice(json).map_err(malformed)?;
    match probe.schema_version {
        None => return Err(Error::MissingSchemaVersion),
        Some(v) => match v.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if SUPPORTED_SCHEMA_VERSIONS.contains(&n) => {}
            _ => {
                return Err(Error::UnsupportedSchemaVersion {
                    found: v.to_string(),
                    supported: SUPPORTED_SCHEMA_VERSIONS.to_vec(),
                })
            }
        },
    }
    if probe.events.0 > limits.max_events {
        return Err(Error::TooManyEvents {
            count: probe.events.0,
            limit: limits.max_events,
        });
    }
    // Each event's repeated parts and strings are capped as they are read
    // (`crate::limits`), so memory stays proportional to the kept data.
    let batch: Batch = serde_json::from_slice(json).map_err(malformed)?;
    if let Some(id) = &batch.batch_id {
        if id.is_empty() || id.len() > MAX_BATCH_ID_LEN {
            return Err(Error::InvalidBatchId {
                len: id.len(),
                limit: MAX_BATCH_ID_LEN,
            });
        }
    }
    Ok(batch)
}

fn malformed(e: serde_json::Error) -> Error {
    Error::MalformedJson {
        line: e.line(),
        column: e.column(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, Level};

    fn batch(n: usize) -> Batch {
        let events = (0..n)
            .map(|i| {
                Event::new(
                    EventKind::Panic,
                    Level::Fatal,
                    format!("boom {i}"),
                    Timestamp::from_millis(i as u64),
                )
            })
            .collect();
        Batch::new(Timestamp::from_millis(42), events)
    }

    #[test]
    fn round_trip() {
        let b = batch(3);
        let body = encode_batch(&b).unwrap();
        assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic");
        let back = decode_batch(&body, ContentEncoding::Gzip, &DecodeLimits::default()).unwrap();
        assert_eq!(back, b);
        assert_eq!(back.occurrences(), 3);
    }

    #[test]
    fn identity_encoding_is_accepted() {
        let json = serde_json::to_vec(&batch(1)).unwrap();
        assert!(decode_batch(&json, ContentEncoding::Identity, &DecodeLimits::default()).is_ok());
    }

    #[test]
    fn gzip_bomb_is_rejected_without_inflating_past_the_limit() {
        // 10 MiB of zeros compresses to ~10 KiB.
        let bomb = gzip(&vec![0u8; 10 * 1024 * 1024]).unwrap();
        assert!(bomb.len() < 64 * 1024, "bomb is {} bytes", bomb.len());
        let limits = DecodeLimits {
            max_decompressed_bytes: 1024 * 1024,
            ..Default::default()
        };
        let err = decode_batch(&bomb, ContentEncoding::Gzip, &limits).unwrap_err();
        assert!(
            matches!(err, Error::DecompressedTooLarge { limit } if limit == 1024 * 1024),
            "{err}"
        );
        assert!(err.to_string().contains("1048576"), "{err}");
    }

    #[test]
    fn oversize_compressed_body_is_rejected_before_inflating() {
        let limits = DecodeLimits {
            max_compressed_bytes: 10,
            ..Default::default()
        };
        let err = decode_batch(&[0u8; 11], ContentEncoding::Gzip, &limits).unwrap_err();
        assert!(matches!(err, Error::BodyTooLarge { size: 11, limit: 10 }), "{err}");
    }

    #[test]
    fn corrupt_gzip_is_a_gzip_error() {
        let err = decode_batch(b"definitely not gzip", ContentEncoding::Gzip, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, Error::Gzip(_)), "{err}");
    }

    #[test]
    fn malformed_json_says_where() {
        let err = decode_batch(
            b"{\"schema_version\": 1, \"events\": [",
            ContentEncoding::Identity,
            &DecodeLimits::default(),
        )
        .unwrap_err();
        match err {
            Error::MalformedJson { line, column, .. } => assert!(line == 1 && column > 0),
            other => panic!("expected MalformedJson, got {other}"),
        }
    }

    #[test]
    fn a_bad_event_is_malformed_with_the_field_named() {
        let body = br#"{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{"kind":"panic","level":"fatal","timestamp":"2026-01-01T00:00:00Z"}]}"#;
        let err = decode_batch(body, ContentEncoding::Identity, &DecodeLimits::default()).unwrap_err();
        assert!(err.to_string().contains("message"), "{err}");
    }

    #[test]
    fn unknown_and_missing_schema_versions() {
        let err = decode_batch(
            br#"{"schema_version": 99, "events": []}"#,
            ContentEncoding::Identity,
            &DecodeLimits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::UnsupportedSchemaVersion { found, .. } if found == "99"),
            "{err}"
        );
        let err = decode_batch(
            br#"{"schema_version": "one"}"#,
            ContentEncoding::Identity,
            &DecodeLimits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::UnsupportedSchemaVersion { .. }), "{err}");
        let err = decode_batch(
            br#"{"events": []}"#,
            ContentEncoding::Identity,
            &DecodeLimits::default(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::MissingSchemaVersion), "{err}");
    }

    #[test]
    fn too_many_events() {
        let body = encode_batch(&batch(11)).unwrap();
        let limits = DecodeLimits {
            max_events: 10,
            ..Default::default()
        };
        let err = decode_batch(&body, ContentEncoding::Gzip, &limits).unwrap_err();
        assert!(matches!(err, Error::TooManyEvents { count: 11, limit: 10 }), "{err}");
    }

    #[test]
    fn a_release_announcement_travels_and_old_batches_still_decode() {
        let mut b = batch(1);
        let mut a = ReleaseAnnouncement::new("shop@1.4.2", Timestamp::from_millis(7));
        a.dependencies = Some(vec![crate::Dependency::new("tokio", "1.48.0")]);
        b.release = Some(a.clone());
        let back = decode_batch(
            &encode_batch(&b).unwrap(),
            ContentEncoding::Gzip,
            &DecodeLimits::default(),
        )
        .unwrap();
        assert_eq!(back.release, Some(a));
        // A batch from before the field existed.
        let old = br#"{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[]}"#;
        let back = decode_batch(old, ContentEncoding::Identity, &DecodeLimits::default()).unwrap();
        assert_eq!(back.release, None);
        // A bad announcement is a malformed batch naming the field.
        let bad = br#"{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[],"release":{"name":"x","started_at":"2026-01-01T00:00:00Z","dependencies":[{"name":"a"}]}}"#;
        let err = decode_batch(bad, ContentEncoding::Identity, &DecodeLimits::default()).unwrap_err();
        assert!(err.to_string().contains("version"), "{err}");
    }

    #[test]
    fn content_encoding_header() {
        assert_eq!(
            ContentEncoding::from_header(Some("GZIP")).unwrap(),
            ContentEncoding::Gzip
        );
        assert_eq!(ContentEncoding::from_header(None).unwrap(), ContentEncoding::Identity);
        assert!(ContentEncoding::from_header(Some("br"))
            .unwrap_err()
            .to_string()
            .contains("br"));
    }
}
