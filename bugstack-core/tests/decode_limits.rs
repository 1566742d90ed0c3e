//! Hostile bodies: every repeated part is capped while decoding, so a tiny
//! gzip of millions of elements yields the caps, not millions of values.

use bugstack_core::limits::{
    MAX_BREADCRUMBS, MAX_CHAIN, MAX_FIELD_BYTES, MAX_FINGERPRINT_PARTS, MAX_FRAMES, MAX_HEADERS, MAX_MESSAGE_BYTES,
    MAX_TAGS,
};
use bugstack_core::{decode_batch, gzip_bytes, ContentEncoding, DecodeLimits, Error, Shape};

fn batch_with(event_fields: &str) -> String {
    format!(
        r#"{{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{{"kind":"panic","level":"fatal","message":"boom","timestamp":"2026-01-01T00:00:00Z"{event_fields}}}]}}"#
    )
}

fn decode(json: &str) -> Result<bugstack_core::Batch, Error> {
    let body = gzip_bytes(json.as_bytes()).unwrap();
    decode_batch(&body, ContentEncoding::Gzip, &DecodeLimits::default())
}

fn repeat(item: &str, n: usize) -> String {
    let mut s = String::with_capacity((item.len() + 1) * n);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(item);
    }
    s
}

#[test]
fn millions_of_empty_frames_in_a_tiny_body_are_cut_to_the_cap() {
    let n = 1_500_000;
    let json = batch_with(&format!(r#","frames":[{}]"#, repeat("{}", n)));
    let body = gzip_bytes(json.as_bytes()).unwrap();
    assert!(body.len() < 16 * 1024, "the attack body is tiny: {} bytes", body.len());
    let batch = decode_batch(&body, ContentEncoding::Gzip, &DecodeLimits::default()).unwrap();
    let e = &batch.events[0];
    assert_eq!(e.frames.len(), MAX_FRAMES);
    assert!(e.frames.capacity() <= MAX_FRAMES, "capacity {}", e.frames.capacity());
    assert_eq!(e.omitted.frames, (n - MAX_FRAMES) as u64);
    // The note travels with the event.
    assert!(serde_json::to_string(e).unwrap().contains(r#""omitted":{"frames":"#));
}

#[test]
fn chain_breadcrumbs_and_tags_are_cut_with_a_note() {
    let links = repeat(r#"{"message":"m"}"#, 1000);
    let crumbs: Vec<String> = (0..1000)
        .map(|i| format!(r#"{{"timestamp":"2026-01-01T00:00:00Z","level":"info","message":"c{i}"}}"#))
        .collect();
    let tags: Vec<String> = (0..1000).map(|i| format!(r#""t{i:04}":"v""#)).collect();
    let json = batch_with(&format!(
        r#","chain":[{links}],"breadcrumbs":[{}],"tags":{{{}}}"#,
        crumbs.join(","),
        tags.join(",")
    ));
    let e = &decode(&json).unwrap().events[0];
    assert_eq!(e.chain.len(), MAX_CHAIN);
    assert_eq!(e.breadcrumbs.len(), MAX_BREADCRUMBS);
    assert_eq!(e.breadcrumbs.last().unwrap().message, "c999", "the newest are kept");
    assert_eq!(e.tags.len(), MAX_TAGS);
    assert_eq!(e.omitted.chain, (1000 - MAX_CHAIN) as u64);
    assert_eq!(e.omitted.breadcrumbs, (1000 - MAX_BREADCRUMBS) as u64);
    assert_eq!(e.omitted.tags, (1000 - MAX_TAGS) as u64);
}

#[test]
fn long_strings_are_cut_with_a_marker() {
    let long = "x".repeat(100_000);
    let json = format!(
        r#"{{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{{"kind":"panic","level":"fatal","message":"{long}","timestamp":"2026-01-01T00:00:00Z","release":"{long}","frames":[{{"function":"{long}"}}]}}]}}"#
    );
    let e = &decode(&json).unwrap().events[0];
    assert!(e.message.len() <= MAX_MESSAGE_BYTES && e.message.ends_with('…'));
    assert!(e.release.as_ref().unwrap().len() <= MAX_FIELD_BYTES);
    assert!(e.frames[0].function.as_ref().unwrap().len() <= MAX_FIELD_BYTES);
}

#[test]
fn too_many_fingerprint_parts_or_headers_are_rejected_naming_the_field() {
    let parts = repeat(r#""p""#, MAX_FINGERPRINT_PARTS + 1);
    let err = decode(&batch_with(&format!(r#","fingerprint_parts":[{parts}]"#))).unwrap_err();
    assert!(matches!(err, Error::MalformedJson { .. }), "{err}");
    assert!(err.to_string().contains("fingerprint_parts: more than 16"), "{err}");

    let long = format!(r#","fingerprint_parts":["{}"]"#, "p".repeat(300));
    let err = decode(&batch_with(&long)).unwrap_err();
    assert!(err.to_string().contains("over the limit of 256 bytes"), "{err}");

    let headers: Vec<String> = (0..=MAX_HEADERS).map(|i| format!(r#""h{i}":"v""#)).collect();
    let err = decode(&batch_with(&format!(
        r#","request":{{"headers":{{{}}}}}"#,
        headers.join(",")
    )))
    .unwrap_err();
    assert!(err.to_string().contains("request.headers: more than 100"), "{err}");
}

#[test]
fn a_malformed_client_fingerprint_is_rejected() {
    let err = decode(&batch_with(r#","fingerprint":"DEADBEEF""#)).unwrap_err();
    assert!(err.to_string().contains("64 lowercase hex digits"), "{err}");
    let ok = format!(r#","fingerprint":"{}""#, "ab".repeat(32));
    assert!(decode(&batch_with(&ok)).is_ok());
}

#[test]
fn too_many_events_are_refused_before_any_is_built() {
    let events = repeat(r#"{}"#, 2_000_000);
    let json = format!(r#"{{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{events}]}}"#);
    let err = decode(&json).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyEvents {
                count: 2_000_000,
                limit: 1000
            }
        ),
        "{err}"
    );
}

#[test]
fn deep_payload_shapes_are_truncated() {
    let mut shape = r#"{"type":"null"}"#.to_string();
    for _ in 0..20 {
        shape = format!(r#"{{"type":"object","fields":{{"a":{shape}}}}}"#);
    }
    let json = batch_with(&format!(r#","request":{{"payload_shape":{shape}}}"#));
    let e = &decode(&json).unwrap().events[0];
    let mut s = e.request.as_ref().unwrap().payload_shape.as_ref().unwrap();
    let mut depth = 0;
    while let Shape::Object { fields, .. } = s {
        s = &fields["a"];
        depth += 1;
    }
    assert_eq!(*s, Shape::Truncated);
    assert_eq!(depth, bugstack_core::ShapeLimits::default().max_depth);
}
