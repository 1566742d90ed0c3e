//! The serialized form of every part of an event and a batch, byte for byte:
//! the wire (and what stores keep) must not change when the model's code does.

use bugstack_core::{
    Batch, ClientStats, Event, EventKind, Frame, Level, ReleaseAnnouncement, RequestContext, Runtime, SdkInfo,
    ServiceInfo, ThreadInfo, Timestamp,
};

fn at(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

const FULL_EVENT: &str = r#"{"schema_version":1,"event_id":"ev-1","kind":"error","level":"error","message":"boom","chain":[{"type_name":"io::Error","message":"outer"},{"message":"inner"}],"location":{"file":"src/cart.rs","line":7,"column":3},"frames":[{"function":"shop::cart::total","module":"shop::cart","file":"src/cart.rs","line":7,"column":3,"in_app":true,"address":"0x1"},{}],"thread":{"name":"main","id":"ThreadId(1)"},"timestamp":"1970-01-01T00:00:01.000Z","release":"shop@1.0.0","environment":"prod","runtime":{"rustc_version":"rustc 1.90.0","target":"x86_64-unknown-linux-gnu","os":"linux","arch":"x86_64"},"service":{"name":"shop","version":"1.0.0"},"request":{"method":"POST","route":"/carts/{id}","path":"/carts/1","headers":{"accept":"*/*"},"payload_shape":{"type":"array"}},"tags":{"user":"42"},"breadcrumbs":[{"timestamp":"1970-01-01T00:00:00.900Z","level":"info","category":"shop","message":"checkout"}],"fingerprint_parts":["{{ default }}","cart"],"fingerprint":"abababababababababababababababababababababababababababababababab","count":3,"first_seen":"1970-01-01T00:00:01.000Z","last_seen":"1970-01-01T00:00:02.000Z","omitted":{"frames":1,"chain":2,"breadcrumbs":3,"tags":4}}"#;

const SPARSE_EVENT: &str = r#"{"schema_version":1,"kind":"panic","level":"fatal","message":"x","frames":[{}],"thread":{},"timestamp":"1970-01-01T00:00:00.000Z","runtime":{},"service":{},"request":{}}"#;

const BATCH: &str = r#"{"schema_version":1,"sent_at":"1970-01-01T00:00:05.000Z","events":[{"schema_version":1,"kind":"message","level":"info","message":"hi","timestamp":"1970-01-01T00:00:00.001Z"}],"sdk":{"name":"bugstack-sdk","version":"0.1.0"},"stats":{"captured":1,"dropped_queue_full":0,"dropped_filtered":0,"dropped_spool_full":0,"spooled":0,"sent":0},"release":{"name":"shop@1.0.0","started_at":"1970-01-01T00:00:00.000Z"},"batch_id":"b-1"}"#;

/// Every field of [`FULL_EVENT`] is set (an empty one would be left out),
/// so reading it and writing it again must give the same bytes.
#[test]
fn a_full_event_reads_and_writes_back_byte_for_byte() {
    let e: Event = serde_json::from_str(FULL_EVENT).unwrap();
    assert_eq!(serde_json::to_string(&e).unwrap(), FULL_EVENT);
    assert_eq!(e.omitted.tags, 4);
    assert!(e.frames[0].address.is_some() && e.frames[1] == Frame::default());
}

#[test]
fn a_sparse_event_leaves_every_empty_field_out() {
    let mut e = Event::new(EventKind::Panic, Level::Fatal, "x", at(0));
    e.frames = vec![Frame::default()];
    e.thread = Some(ThreadInfo::default());
    e.runtime = Some(Runtime::default());
    e.service = Some(ServiceInfo::default());
    e.request = Some(RequestContext::default());
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(json, SPARSE_EVENT);
    assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), e);
}

#[test]
fn a_batch_serializes_as_before_and_reads_back() {
    let mut b = Batch::new(
        at(5_000),
        vec![Event::new(EventKind::Message, Level::Info, "hi", at(1))],
    );
    b.sdk = Some(SdkInfo {
        name: "bugstack-sdk".into(),
        version: "0.1.0".into(),
    });
    b.stats = Some(ClientStats {
        captured: 1,
        ..ClientStats::default()
    });
    b.release = Some(ReleaseAnnouncement::new("shop@1.0.0", at(0)));
    b.batch_id = Some("b-1".into());
    let json = serde_json::to_string(&b).unwrap();
    assert_eq!(json, BATCH);
    assert_eq!(serde_json::from_str::<Batch>(&json).unwrap(), b);
    let empty = Batch::new(at(5_000), Vec::new());
    let json = serde_json::to_string(&empty).unwrap();
    assert_eq!(serde_json::from_str::<Batch>(&json).unwrap(), empty);
    assert!(
        !json.contains("sdk") && !json.contains("stats") && !json.contains("batch_id"),
        "{json}"
    );
}
