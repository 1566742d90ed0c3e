//! Structure-aware fuzzing as property tests: the decoder, the timestamp
//! parser and the scrubber never panic on any input, and the limits hold.
//!
//! The normal suite runs proptest's default 256 cases per test; a long run
//! (see docs/fuzzing.md) sets `PROPTEST_CASES`:
//! `PROPTEST_CASES=1000000 cargo test -p bugstack-core --release --test fuzz fuzz_`.

use bugstack_core::limits::{MAX_BREADCRUMBS, MAX_CHAIN, MAX_FIELD_BYTES, MAX_FRAMES, MAX_MESSAGE_BYTES, MAX_TAGS};
use bugstack_core::{decode_batch, ContentEncoding, DecodeLimits, Event, Scrubber, Timestamp};
use proptest::prelude::*;

/// A JSON string literal of arbitrary (sometimes long) text.
fn json_str() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z:/._ -]{0,40}",
        (any::<char>(), 0usize..40_000).prop_map(|(c, n)| c.to_string().repeat(n)),
    ]
    .prop_map(|s| serde_json::to_string(&s).unwrap())
}

/// A timestamp-like string, often valid, sometimes subtly not.
fn timestamp_like() -> impl Strategy<Value = String> {
    (
        "[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}",
        "(\\.[0-9]{0,12})?",
        "(Z|z|[+-][0-9]{2}:[0-9]{2}|[+-][0-9:]{0,6}|)",
    )
        .prop_map(|(a, b, c)| format!("{a}{b}{c}"))
}

/// Mostly valid timestamps, sometimes timestamp-like junk.
fn event_timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (0u64..4_000_000_000_000).prop_map(|ms| Timestamp::from_millis(ms).to_string()),
        1 => timestamp_like(),
    ]
}

fn list(item: BoxedStrategy<String>, max: usize) -> impl Strategy<Value = String> {
    // A few distinct items repeated to reach large counts cheaply.
    (prop::collection::vec(item, 1..4), 0..max).prop_map(|(items, n)| {
        let all: Vec<&str> = (0..n).map(|i| items[i % items.len()].as_str()).collect();
        format!("[{}]", all.join(","))
    })
}

fn frame() -> BoxedStrategy<String> {
    (
        prop::option::of(json_str()),
        any::<bool>(),
        prop::option::of(any::<u32>()),
    )
        .prop_map(|(f, in_app, line)| {
            let mut parts = vec![format!(r#""in_app":{in_app}"#)];
            if let Some(f) = f {
                parts.push(format!(r#""function":{f}"#));
            }
            if let Some(l) = line {
                parts.push(format!(r#""line":{l}"#));
            }
            format!("{{{}}}", parts.join(","))
        })
        .boxed()
}

fn breadcrumb() -> BoxedStrategy<String> {
    (event_timestamp(), json_str())
        .prop_map(|(t, m)| format!(r#"{{"timestamp":"{t}","level":"info","message":{m}}}"#))
        .boxed()
}

fn event_json() -> impl Strategy<Value = String> {
    (
        json_str(),
        event_timestamp(),
        list(frame(), 1200),
        list(breadcrumb(), 300),
        (0usize..400, json_str()),
        list("[0-9a-fA-Fx]{0,70}".prop_map(|s| format!("{s:?}")).boxed(), 3),
        prop::option::of("[0-9a-fA-F]{60,68}"),
        list(json_str().boxed(), 40),
    )
        .prop_map(|(msg, ts, frames, crumbs, (ntags, tagv), chainish, fp, parts)| {
            let tags: Vec<String> = (0..ntags).map(|i| format!(r#""t{i}":{tagv}"#)).collect();
            let fp = fp.map(|f| format!(r#","fingerprint":"{f}""#)).unwrap_or_default();
            let _ = chainish;
            format!(
                r#"{{"kind":"panic","level":"fatal","message":{msg},"timestamp":"{ts}","frames":{frames},"breadcrumbs":{crumbs},"tags":{{{}}},"chain":[{{"message":{msg}}}],"fingerprint_parts":{parts}{fp}}}"#,
                tags.join(",")
            )
        })
}

fn check_limits(e: &Event) -> Result<(), TestCaseError> {
    prop_assert!(e.frames.len() <= MAX_FRAMES);
    prop_assert!(e.chain.len() <= MAX_CHAIN);
    prop_assert!(e.breadcrumbs.len() <= MAX_BREADCRUMBS);
    prop_assert!(e.tags.len() <= MAX_TAGS);
    prop_assert!(e.message.len() <= MAX_MESSAGE_BYTES);
    prop_assert!(e.tags.values().all(|v| v.len() <= MAX_FIELD_BYTES));
    prop_assert!(e
        .frames
        .iter()
        .all(|f| f.function.as_ref().is_none_or(|s| s.len() <= MAX_FIELD_BYTES)));
    if let Some(fp) = &e.fingerprint {
        prop_assert!(
            fp.as_str().len() == 64
                && fp
                    .as_str()
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn fuzz_decode_batch_structured(events in prop::collection::vec(event_json(), 0..3), junk in 0u8..4) {
        let mut json = format!(r#"{{"schema_version":1,"sent_at":"2026-01-01T00:00:00Z","events":[{}]}}"#, events.join(",")).into_bytes();
        if junk == 1 {
            json.truncate(json.len() / 2);
        }
        match decode_batch(&json, ContentEncoding::Identity, &DecodeLimits::default()) {
            Ok(batch) => {
                prop_assert!(junk != 1);
                for e in &batch.events {
                    check_limits(e)?;
                }
                // What decodes re-encodes and decodes to the same thing.
                let again = decode_batch(&bugstack_core::encode_batch(&batch).unwrap(), ContentEncoding::Gzip, &DecodeLimits::default()).unwrap();
                prop_assert_eq!(again, batch);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn fuzz_decode_batch_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode_batch(&bytes, ContentEncoding::Gzip, &DecodeLimits::default());
        let _ = decode_batch(&bytes, ContentEncoding::Identity, &DecodeLimits::default());
    }

    #[test]
    fn fuzz_timestamp_round_trips(ms in 0u64..253_402_300_799_999) {
        let t = Timestamp::from_millis(ms);
        prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn fuzz_timestamp_parser_never_panics(s in prop_oneof![timestamp_like(), any::<String>()]) {
        if let Ok(t) = s.parse::<Timestamp>() {
            prop_assert_eq!(t.to_string().parse::<Timestamp>().unwrap(), t);
        }
    }

    #[test]
    fn fuzz_scrubber_never_panics(s in any::<String>(), path in "[/?&=#a-z%@:]{0,40}") {
        let sc = Scrubber::default();
        let _ = sc.scrub_str(&s);
        let _ = sc.scrub_path(&path);
        let mut e = Event::new(bugstack_core::EventKind::Error, bugstack_core::Level::Error, s.clone(), Timestamp::from_millis(0));
        e.tags.insert(s.clone(), s);
        sc.scrub_event(&mut e);
    }
}
